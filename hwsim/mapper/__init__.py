"""The mapper: the spatial unrolling, tiling and loop order of each layer.

The mapspace (LOMA/CoSA style):

* **spatial**: per axis, unrollings of one or two of its allowed dimensions whose factors
  fit the axis (divisors of the remaining bound, or the axis-filling factor with padding);
* **temporal**: every distribution of the prime factors of the remaining bounds over the
  levels that allow each dimension (the outermost takes the rest);
* **loop orders** per level, pruned for equivalence: two orders are one when, for every
  operand, the same set of loops trails the innermost loop that operand depends on, since
  the cost model sees nothing else of an order (this subsumes orders differing only in
  bound-1 loops or in loops irrelevant to every operand kept there);
* **bypass**: each (level, operand) pair the spec's ``may_bypass`` names is kept or bypassed
  (every subset; none when no level allows bypass).

Search: :func:`map_layer` samples that space at random (seeded), each spatial candidate in
turn with its share of ``samples``, moving on after a run of samples without improvement (the
victory condition); then it refines the candidates' bests by local moves, by successive halving:
``refine`` moves in rounds of equal budget over the candidates still in, the better half staying
after each round, so the best unrolling need not be the best sampled one. All compiled
(:mod:`hwsim.mapper.fastmodel`). ``exhaustive=True`` enumerates the pruned space instead: the ground
truth on small layers.

Constraints: a dataflow (``ws``, ``os``, ``is``: the stationary operand's irrelevant loops
innermost at every level and only dims it depends on unrolled; ``rs``: Eyeriss row
stationary, filter rows S and output rows Q both unrolled), a minimum spatial utilization,
and the spec's own mapping constraints: per-axis dims, per-level ``temporal_dims``, factors pinned, bounded
(``min_factors``/``max_factors``) or whole (``whole_dims``) at levels and axes, and loop orders full (``order``) or
partial (``inner_order``). :func:`hwsim.core.mapping.constraint_problems` is their rule; the generation follows it
(spatial options per axis, prime factors placed within the bounds, local moves that keep them, the enumeration's
per-dim distributions and orders pruned before their product) rather than filtering finished mappings.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from hwsim.core.arch import Architecture, SpatialAxis
from hwsim.core.errors import Problem, SpecError
from hwsim.core.mapping import Mapping, check_mapping
from hwsim.core.spec import MAX_NUMBER
from hwsim.core.workload import DIMS, Layer
from hwsim.cost.analytical import CostReport, evaluate_mapping

__all__ = ["DATAFLOWS", "DEFAULT_SAMPLES", "OBJECTIVES", "MapperOptions", "constraint_array", "enumerate_mapspace", "greedy_mapping", "map_layer", "spatial_candidates"]

OBJECTIVES = ("edp", "energy", "delay")
DATAFLOWS = ("ws", "os", "is", "rs")
_STATIONARY = {"ws": 0, "is": 1, "os": 2}  # operand index in (weights, inputs, outputs)
DEFAULT_SAMPLES = 20_000  # mapper samples per layer: the one default of hwsim run, hwsim map, hwsim sweep and MapperOptions


@dataclass(frozen=True)
class MapperOptions:
    """How to search. ``objective`` may be a lexicographic list such as ``("delay", "energy")``."""

    objective: str | tuple[str, ...] = "edp"
    samples: int = DEFAULT_SAMPLES
    victory: int = 300
    refine: int = 3_000
    spatial_candidates: int = 24
    seed: int = 0
    dataflow: str | None = None
    min_utilization: float = 0.0
    exhaustive: bool = False
    exhaustive_limit: int = 3_000_000
    fixed_factors: tuple[tuple[str, str, int], ...] = ()  # (level, dim, bound), added to the spec's own
    fixed_orders: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (level, dims outer→inner)

    @property
    def objectives(self) -> tuple[str, ...]:
        obj = self.objective
        return tuple(o.strip() for o in obj.split(",")) if isinstance(obj, str) else tuple(obj)

    def problems(self) -> list[Problem]:
        out = []
        bad = [o for o in self.objectives if o not in OBJECTIVES]
        if bad or not self.objectives:
            out.append(Problem("objective", self.objective, f"expected one or more of {', '.join(OBJECTIVES)}"))
        if self.dataflow is not None and self.dataflow not in DATAFLOWS:
            out.append(Problem("dataflow", self.dataflow, f"expected one of {', '.join(DATAFLOWS)}"))
        if not 0.0 <= self.min_utilization <= 1.0:
            out.append(Problem("min_utilization", self.min_utilization, "expected a fraction between 0 and 1"))
        for name in ("samples", "victory", "spatial_candidates"):
            if getattr(self, name) < 1:
                out.append(Problem(name, getattr(self, name), "expected a positive integer"))
        if self.refine < 0:
            out.append(Problem("refine", self.refine, "expected a non-negative integer"))
        return out


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1 and p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def _spatial_options(size: int, dims: tuple[str, ...], remaining: dict[str, int]) -> list[dict[str, int]]:
    """Unrollings of up to two dims on one axis; no factor larger than its quotient needs."""
    opts: list[dict[str, int]] = [{}]
    seen: set[tuple[tuple[str, int], ...]] = {()}
    live = [d for d in dims if remaining.get(d, 1) > 1]
    for d in live:
        b = remaining[d]
        for f in sorted({min(b, size), *(x for x in range(2, min(b, size) + 1) if b % x == 0)}):
            f = math.ceil(b / math.ceil(b / f))
            for opt in ({d: f}, *({d: f, d2: math.ceil(remaining[d2] / math.ceil(remaining[d2] / min(remaining[d2], size // f)))}
                                  for d2 in live if d2 != d and size // f >= 2)):  # fmt: skip
                key = tuple(sorted(opt.items()))
                if key not in seen and all(v >= 1 for v in opt.values()):
                    seen.add(key)
                    opts.append(dict(opt))
    return opts


def _dataflow_dims(layer: Layer, dataflow: str | None) -> set[str] | None:
    if dataflow in _STATIONARY:
        return set(layer.operands[_STATIONARY[dataflow]].relevant_dims)
    if dataflow == "rs":
        return {"S", "Q", "C", "K", "N", "G"}
    return None


def _axis_options(axis: SpatialAxis, dims: tuple[str, ...], remaining: dict[str, int]) -> list[dict[str, int]]:
    """The axis's unrollings meeting its constraints: its pinned and whole dimensions at their factors (a whole one at
    all that is left of it) with the free options of :func:`_spatial_options` in what the pins leave of the axis, then
    only those within its min_factors and max_factors."""
    pinned = {d: n for d, n in axis.fixed_factors if n > 1} | {d: remaining.get(d, 1) for d in axis.whole_dims}
    pinned = {d: n for d, n in pinned.items() if n > 1}
    free = tuple(d for d in dims if d not in pinned and d not in dict(axis.fixed_factors))
    if pinned:
        if math.prod(pinned.values()) > axis.size:
            return []
        opts = [{**pinned, **o} for o in _spatial_options(axis.size // math.prod(pinned.values()), free, remaining)]
    else:
        opts = _spatial_options(axis.size, free, remaining)
    if axis.min_factors or axis.max_factors:
        opts = [o for o in opts if all(o.get(d, 1) >= n for d, n in axis.min_factors) and all(o.get(d, 1) <= n for d, n in axis.max_factors)]
    return opts


def spatial_candidates(layer: Layer, arch: Architecture, keep: int | None, options: MapperOptions | None = None) -> list[list[dict[str, int]]]:
    """Spatial unrollings, best spatial utilization first (all of them when ``keep`` is None), meeting the axes'
    constraints (a dimension whole at a level or at another axis is not unrolled)."""
    options = options or MapperOptions()
    out_rel = layer.operand("outputs").relevant_dims
    flow = _dataflow_dims(layer, options.dataflow)
    beams: list[tuple[float, list[dict[str, int]], dict[str, int]]] = [(1.0, [], dict(layer.dims))]
    for j, axis in enumerate(arch.axes):
        whole_elsewhere = {d for lv in arch.levels for d in lv.whole_dims} | {d for k, a in enumerate(arch.axes) if k != j for d in a.whole_dims}
        dims = tuple(d for d in axis.dims if (axis.reduction or d in out_rel) and (flow is None or d in flow) and d not in whole_elsewhere)
        grown = []
        seen = set()
        for _, chosen, remaining in beams:
            for opt in _axis_options(axis, dims, remaining):
                rem = dict(remaining)
                for d, f in opt.items():
                    rem[d] = math.ceil(rem[d] / f)
                new = [*chosen, opt]
                key = tuple(tuple(sorted(c.items())) for c in new)
                if key in seen or not _tight(layer, new):
                    continue
                seen.add(key)
                fan = math.prod(math.prod(c.values()) for c in new)
                padded = math.prod(rem[d] for d in DIMS) * fan
                grown.append((layer.macs / padded * fan, new, rem))
        grown.sort(key=lambda t: -t[0])
        beams = grown if keep is None else grown[: keep * 3]
    total = arch.num_macs
    result = []
    for _, chosen, _ in beams:
        used = layer.macs / math.prod(math.ceil(layer.dims[d] / math.prod(c.get(d, 1) for c in chosen)) for d in DIMS)
        if used / total + 1e-12 < options.min_utilization:
            continue
        if options.dataflow == "rs":
            spatial_dims = {d for c in chosen for d, f in c.items() if f > 1}
            if not {"S", "Q"} <= spatial_dims and layer.dims["S"] > 1:
                continue
        result.append(chosen)
    return result if keep is None else result[:keep]


def constrained_arch(arch: Architecture, options: MapperOptions) -> Architecture:
    """``arch`` with the options' pins (``--fix LEVEL.DIM=N``, ``--order LEVEL=D1,D2``) added to its levels' own
    constraints (an option's pin or order replacing the level's for that dim or level); the architecture unchanged
    when there are none."""
    if not options.fixed_factors and not options.fixed_orders:
        return arch
    names = [lv.name for lv in arch.levels]
    problems = []
    pins: dict[str, dict[str, int]] = {}
    for name, d, n in options.fixed_factors:
        if name not in names or d not in DIMS or not 1 <= n <= MAX_NUMBER:
            problems.append(Problem(f"--fix {name}.{d}", f"{name}.{d}={n}", f"expected LEVEL.DIM=N with a level of {arch.name} ({', '.join(names)}), "
                                                                              f"a dim of {''.join(DIMS)} and 1 ≤ N ≤ {MAX_NUMBER:g}"))  # fmt: skip
            continue
        pins.setdefault(name, {})[d] = n
    orders: dict[str, tuple[str, ...]] = {}
    for name, order in options.fixed_orders:
        if name not in names or any(d not in DIMS for d in order) or len(set(order)) != len(order):
            problems.append(Problem(f"--order {name}", f"{name}={','.join(order)}", f"expected LEVEL=D1,D2,... with a level of {arch.name} and distinct dims"))
            continue
        orders[name] = tuple(order)
    if problems:
        raise SpecError("mapping constraints", problems)
    levels = []
    for lv in arch.levels:
        mine = pins.get(lv.name, {})
        fixed = tuple((d, n) for d, n in lv.fixed_factors if d not in mine) + tuple(mine.items())
        lo = tuple((d, n) for d, n in lv.min_factors if d not in mine)
        hi = tuple((d, n) for d, n in lv.max_factors if d not in mine)
        levels.append(replace(lv, fixed_factors=fixed, min_factors=lo, max_factors=hi, whole_dims=tuple(d for d in lv.whole_dims if d not in mine),
                              loop_order=orders.get(lv.name, lv.loop_order), inner_order=() if lv.name in orders else lv.inner_order))  # fmt: skip
    return replace(arch, levels=tuple(levels))


def constraint_array(arch: Architecture, options: MapperOptions, layer: Layer | None = None) -> np.ndarray:
    """The compiled search's ``fixed`` array (:data:`hwsim.mapper.fastmodel.PIN` ...) from the levels' constraints and the
    options' (:func:`constrained_arch`); with ``layer``, a dimension whole at a level is pinned there to its bound and
    to 1 at the other levels, and one whole at an axis to 1 at every level."""
    from hwsim.mapper import fastmodel as fm

    arch = constrained_arch(arch, options)
    nl = len(arch.levels)
    fixed = fm.no_constraints(nl)
    for l, lv in enumerate(arch.levels):
        for d, n in lv.fixed_factors:
            fixed[l, fm.PIN + DIMS.index(d)] = n
        for d, n in lv.min_factors:
            fixed[l, fm.MIN + DIMS.index(d)] = n
        for d, n in lv.max_factors:
            fixed[l, fm.MAX + DIMS.index(d)] = n
        fixed[l, fm.BOUNDED] = bool(lv.min_factors or lv.max_factors)
        if lv.loop_order is not None:
            fixed[l, fm.ORDER : fm.ORDER + len(DIMS)] = [DIMS.index(d) for d in lv.loop_order] + [DIMS.index(d) for d in DIMS if d not in lv.loop_order]
        fixed[l, fm.N_INNER] = len(lv.inner_order)
        fixed[l, fm.INNER : fm.INNER + len(lv.inner_order)] = [DIMS.index(d) for d in lv.inner_order]
    fixed[:, fm.ANY_BOUNDED] = fixed[:, fm.BOUNDED].any()
    if layer is not None:
        for l, lv in enumerate(arch.levels):
            for d in lv.whole_dims:
                k = DIMS.index(d)
                fixed[:, fm.PIN + k] = 1
                fixed[l, fm.PIN + k] = layer.dims[d]
        for d in (d for a in arch.axes for d in a.whole_dims):
            fixed[:, fm.PIN + DIMS.index(d)] = 1
    return fixed


def _tight(layer: Layer, chosen: list[dict[str, int]]) -> bool:
    """No spatial factor larger than needed, with the rest of each bound as one more factor."""
    for d, b in layer.dims.items():
        factors = [c[d] for c in chosen if c.get(d, 1) > 1]
        if not factors:
            continue
        factors.append(math.ceil(b / math.prod(factors)))
        total = math.prod(factors)
        if any(f > 1 and total // f * (f - 1) >= b for f in factors):
            return False
    return True


def _spatial_array(cands: list[list[dict[str, int]]]) -> np.ndarray:
    return np.array([[[c.get(d, 1) for d in DIMS] for c in cand] for cand in cands], np.int64).reshape(len(cands), -1, len(DIMS))


def _distributions(q: int, levels: list[int]) -> list[dict[int, int]]:
    """Every way to split q's prime factors over the given levels (as level → factor)."""
    results: set[tuple[tuple[int, int], ...]] = set()

    def rec(primes: list[int], acc: dict[int, int]) -> None:
        if not primes:
            results.add(tuple(sorted((lv, f) for lv, f in acc.items() if f > 1)))
            return
        p, rest = primes[0], primes[1:]
        for lv in levels:
            acc[lv] = acc.get(lv, 1) * p
            rec(rest, acc)
            acc[lv] //= p

    rec(_prime_factors(q), {})
    return [dict(r) for r in sorted(results)]


def _inner_last(order: tuple[int, ...], inner: tuple[int, ...]) -> tuple[int, ...]:
    """``order`` with the dims of ``inner`` (a level's inner_order) last, in that order; the others keep theirs."""
    return (*(d for d in order if d not in inner), *(d for d in inner if d in order))


def _order_classes(layer: Layer, dims: tuple[int, ...], inner: tuple[int, ...] = (), prune: bool = True) -> list[tuple[int, ...]]:
    """One order per equivalence class: same trailing-irrelevant loop set for every operand; only orders with the
    dims of ``inner`` innermost, in that order (a level's inner_order); every such order when not ``prune``."""
    if len(dims) <= 1:
        return [dims]
    rel = [{DIMS.index(d) for d in op.relevant_dims} for op in layer.operands]
    classes: dict[tuple[frozenset[int], ...], tuple[int, ...]] = {}
    last = tuple(d for d in inner if d in dims)
    free = tuple(d for d in dims if d not in last)
    if not prune:
        return [(*head, *last) for head in itertools.permutations(free)]
    for head in itertools.permutations(free):
        perm = (*head, *last)
        sig = []
        for r in rel:
            tail: list[int] = []
            for d in reversed(perm):
                if d in r:
                    break
                tail.append(d)
            sig.append(frozenset(tail))
        classes.setdefault(tuple(sig), perm)
    return list(classes.values())


def enumerate_mapspace(
    layer: Layer, arch: Architecture, options: MapperOptions | None = None, batch: int = 65_536, _prune_orders: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The whole pruned mapspace as batches of encoded (factors, orders, bypass masks): every tiling and order with
    every bypass mask the spec allows."""
    from hwsim.mapper import fastmodel

    options = options or MapperOptions()
    nl, na, nd = len(arch.levels), len(arch.axes), len(DIMS)
    stationary = _STATIONARY.get(options.dataflow or "", -1)
    fixed = constraint_array(arch, options, layer)
    pin, lo, hi = fixed[:, fastmodel.PIN : fastmodel.PIN + nd], fixed[:, fastmodel.MIN : fastmodel.MIN + nd], fixed[:, fastmodel.MAX : fastmodel.MAX + nd]
    allowed = {k: [lv for lv, level in enumerate(arch.levels) if (level.temporal_dims is None or DIMS[k] in level.temporal_dims)
                   and pin[lv, k] == 0] for k in range(nd)}  # fmt: skip
    order_cache: dict[tuple[tuple[int, ...], int, tuple[int, ...]], np.ndarray] = {}
    pairs = sum(len(lv.may_bypass) for lv in arch.levels)
    if 2**pairs > options.exhaustive_limit:
        raise SpecError(f"exhaustive mapping of layer {layer.name!r}",
                        [Problem("mapspace", f"more than {options.exhaustive_limit} mappings ({2**pairs} bypass choices)",
                                 "expected a small layer for --exhaustive")])  # fmt: skip
    masks = fastmodel.bypass_masks(arch)
    fb: list[np.ndarray] = []
    ob: list[np.ndarray] = []
    bb: list[np.ndarray] = []
    pending = 0
    for chosen in spatial_candidates(layer, arch, None, options):
        spatial = _spatial_array([chosen])[0]
        per_dim = []
        for k in range(nd):
            pinned = int(np.where(pin[:, k] > 0, pin[:, k], 1).prod())
            q = math.ceil(layer.dims[DIMS[k]] / (int(spatial[:, k].prod()) * pinned))
            dists = _distributions(q, allowed[k]) if allowed[k] else ([{}] if q == 1 else [])
            if (lo[:, k] > 1).any() or (hi[:, k] > 0).any():  # the levels' factor bounds, per dim before the product
                dists = [x for x in dists if all(x.get(lv, 1) >= lo[lv, k] and (hi[lv, k] == 0 or x.get(lv, 1) <= hi[lv, k]) for lv in allowed[k])]
            per_dim.append(dists)
        for combo in itertools.product(*per_dim):
            factors = np.ones((nl + na, len(DIMS)), np.int64)
            factors[nl:] = spatial
            factors[:nl] = np.where(pin > 0, pin, 1)
            for k, dist in enumerate(combo):
                for lv, f in dist.items():
                    factors[lv, k] = f
            level_opts = []
            for lv in range(nl):
                present = tuple(d for d in range(len(DIMS)) if factors[lv, d] > 1)
                inner = tuple(int(d) for d in fixed[lv, fastmodel.INNER : fastmodel.INNER + fixed[lv, fastmodel.N_INNER]])
                key = (present, stationary, inner)
                if fixed[lv, fastmodel.ORDER] >= 0:
                    level_opts.append(fixed[lv, fastmodel.ORDER : fastmodel.ORDER + nd][None, :])
                    continue
                if key not in order_cache:
                    if stationary >= 0:
                        rel = {DIMS.index(x) for x in layer.operands[stationary].relevant_dims}
                        opts = [_inner_last(tuple(sorted(present, key=lambda x: x not in rel)), inner)]
                    else:
                        opts = _order_classes(layer, present, inner, prune=_prune_orders)
                    order_cache[key] = np.array([(*o, *(d for d in range(len(DIMS)) if d not in o)) for o in opts], np.int64)
                level_opts.append(order_cache[key])
            idx = np.array(list(itertools.product(*(range(len(x)) for x in level_opts))), np.int64).reshape(-1, nl)
            orders = np.stack([level_opts[lv][idx[:, lv]] for lv in range(nl)], axis=1)
            step = max(1, batch // len(idx))  # every order with every bypass mask, mask by mask, a batch's worth at a time
            for start in range(0, len(masks), step):
                chunk = masks[start : start + step]
                count = len(idx) * len(chunk)
                fb.append(np.broadcast_to(factors, (count, *factors.shape)))
                ob.append(orders if len(chunk) == 1 else np.tile(orders, (len(chunk), 1, 1)))
                bb.append(np.repeat(chunk, len(idx)))
                pending += count
                if pending >= batch:
                    yield np.concatenate(fb), np.concatenate(ob), np.concatenate(bb)
                    fb, ob, bb, pending = [], [], [], 0
    if fb:
        yield np.concatenate(fb), np.concatenate(ob), np.concatenate(bb)


def _scores(out: np.ndarray, objectives: tuple[str, ...], clock_hz: float) -> np.ndarray:
    cols = {"energy": out[:, 0], "delay": out[:, 1], "edp": out[:, 0] * out[:, 1] / clock_hz}
    return np.stack([cols[o] for o in objectives], axis=1)


def _no_mapping(layer: Layer, arch: Architecture, options: MapperOptions) -> SpecError:
    cands = spatial_candidates(layer, arch, 1, options)
    if not cands:
        return SpecError(
            f"no valid mapping of layer {layer.name!r} on {arch.name!r}",
            [Problem("spatial", options.dataflow or "any", f"expected a spatial unrolling meeting the constraints "
                     f"(dataflow {options.dataflow or 'any'}, min_utilization {options.min_utilization:g})")],
        )  # fmt: skip
    # The smallest tiles: everything temporal at the outermost level.
    chosen = cands[0]
    rem = {d: math.ceil(layer.dims[d] / math.prod(c.get(d, 1) for c in chosen)) for d in DIMS}
    m = Mapping.build([[(d, r) for d, r in rem.items() if r > 1]] + [[] for _ in arch.levels[1:]], [list(c.items()) for c in chosen])
    return SpecError(f"no valid mapping of layer {layer.name!r} on {arch.name!r}", check_mapping(layer, arch, m))


def map_layer(layer: Layer, arch: Architecture, options: MapperOptions | None = None) -> CostReport:
    """The best mapping found for ``layer`` on ``arch`` and its cost (the reference model's).

    Raises :class:`SpecError` when no valid mapping exists (e.g. a buffer too small for even
    the smallest tile), with the reasons.
    """
    from hwsim.mapper import fastmodel

    options = options or MapperOptions()
    bad = options.problems()
    if bad:
        raise SpecError("mapper options", bad)
    packed = fastmodel.Packed.build(layer, arch)
    if options.exhaustive:
        best = _exhaustive(layer, arch, options, packed)
        if best is None:
            raise _no_mapping(layer, arch, options)
        mapping = fastmodel.decode(best[0], best[1], arch, best[2])
    else:
        cands = spatial_candidates(layer, arch, options.spatial_candidates, options)
        if not cands:
            raise _no_mapping(layer, arch, options)
        f, o, b, out, _ = fastmodel.search(
            packed, _spatial_array(cands), options.objectives, max_samples=options.samples, victory=options.victory,
            refine=options.refine, seed=options.seed, stationary=_STATIONARY.get(options.dataflow or "", -1),
            fixed=constraint_array(arch, options, layer),
        )  # fmt: skip
        if out[2] != 1.0:
            raise _no_mapping(layer, arch, options)
        mapping = fastmodel.decode(f, o, arch, b)
    return evaluate_mapping(layer, arch, mapping)


def greedy_mapping(layer: Layer, arch: Architecture, dataflow: str = "ws") -> Mapping:
    """A fixed textbook schedule, no search: the dataflow's best-utilization unrolling, then each
    on-chip level from the innermost filled greedily (dims in N G K C P Q R S order, prime by prime,
    while the tiles fit), the rest at DRAM, and the dataflow's stationary loop order everywhere."""
    from hwsim.core.mapping import capacity_problems

    options = MapperOptions(dataflow=dataflow)
    cands = spatial_candidates(layer, arch, 1, options)
    if not cands:
        raise _no_mapping(layer, arch, options)
    chosen = cands[0]
    remaining = {d: math.ceil(layer.dims[d] / math.prod(c.get(d, 1) for c in chosen)) for d in DIMS}
    rel = layer.operands[_STATIONARY[dataflow]].relevant_dims if dataflow in _STATIONARY else frozenset(DIMS)
    levels: list[dict[str, int]] = [{} for _ in arch.levels]

    def build() -> Mapping:
        temporal = [[(d, f[d]) for d in sorted(f, key=lambda x: (x not in rel, DIMS.index(x)))] for f in levels]
        temporal[0] = [(d, r) for d, r in sorted(remaining.items(), key=lambda x: (x[0] not in rel, DIMS.index(x[0]))) if r > 1]
        return Mapping.build(temporal, [list(c.items()) for c in chosen])

    for i in range(len(arch.levels) - 1, 0, -1):
        allowed = arch.levels[i].temporal_dims
        for d in DIMS:
            if allowed is not None and d not in allowed:
                continue
            for p in _prime_factors(remaining[d]):
                levels[i][d] = levels[i].get(d, 1) * p
                remaining[d] //= p
                if capacity_problems(layer, arch, build(), range(1, i + 1)):
                    levels[i][d] //= p
                    remaining[d] *= p
                    break
    return build()


def mapspace_size(layer: Layer, arch: Architecture, options: MapperOptions | None = None) -> int:
    return sum(len(f) for f, _, _ in enumerate_mapspace(layer, arch, options))


def _exhaustive(layer: Layer, arch: Architecture, options: MapperOptions, packed: object) -> tuple[np.ndarray, np.ndarray, int] | None:
    from hwsim.mapper import fastmodel

    assert isinstance(packed, fastmodel.Packed)
    best: tuple[np.ndarray, np.ndarray, int] | None = None
    best_score: np.ndarray | None = None
    seen = 0
    for factors, orders, bypass in enumerate_mapspace(layer, arch, options):
        seen += len(factors)
        if seen > options.exhaustive_limit:
            raise SpecError(
                f"exhaustive mapping of layer {layer.name!r}",
                [Problem("mapspace", f"more than {options.exhaustive_limit} mappings", "expected a small layer for --exhaustive")],
            )
        out = fastmodel.evaluate_batch(packed, factors, orders, bypass)
        ok = (out[:, 2] == 1.0) & fastmodel.padding_ok(factors, packed.bounds)
        if not ok.any():
            continue
        scores = _scores(out[ok], options.objectives, arch.clock_hz)
        idx = np.lexsort(scores.T[::-1])[0]
        if best_score is None or tuple(scores[idx]) < tuple(best_score):
            best_score = scores[idx]
            k = np.flatnonzero(ok)[idx]
            best = (factors[k].copy(), orders[k].copy(), int(bypass[k]))
    return best
