"""The default mapper: a valid, sensible mapping per layer, quickly.

It is deliberately simple (the fast, high-quality mapper is its own piece of work):

1. **Spatial**: for each axis, in nest order, candidate unrollings of one or two of the
   allowed dimensions whose factor product fits the axis; the candidates with the best
   spatial utilization (after padding) are kept.
2. **Temporal**: for each spatial candidate, a number of seeded random samples. Each sample
   fills the on-chip levels from the innermost outwards, growing tiles by prime factors of
   the remaining bounds in a random dimension priority while the level's capacity allows,
   puts what is left at DRAM and draws a random loop order per level (plus the canonical
   weight-, output- and input-stationary orders).
3. Every sample is costed by the analytical model and the best by the objective is kept.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from hwsim.analytical import CostReport, evaluate_mapping
from hwsim.arch import Architecture
from hwsim.errors import Problem, SpecError
from hwsim.mapping import Mapping, check_mapping
from hwsim.workload import DIMS, Layer

__all__ = ["OBJECTIVES", "MapperOptions", "map_layer"]

OBJECTIVES = ("edp", "energy", "delay")


@dataclass(frozen=True)
class MapperOptions:
    objective: str = "edp"
    samples: int = 60
    spatial_candidates: int = 6
    seed: int = 0


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


def _score(report: CostReport, objective: str) -> float:
    if objective == "energy":
        return report.energy_pj
    if objective == "delay":
        return report.cycles
    return report.energy_pj * report.cycles


def _spatial_options(size: int, dims: tuple[str, ...], remaining: dict[str, int]) -> list[dict[str, int]]:
    """Unrollings of up to two dims on one axis; factors chosen so no factor is wasted."""
    opts: list[dict[str, int]] = [{}]
    live = [d for d in dims if remaining.get(d, 1) > 1]
    for d in live:
        b = remaining[d]
        for f in {min(b, size), *(x for x in range(2, min(b, size) + 1) if b % x == 0)}:
            f = math.ceil(b / math.ceil(b / f))
            opts.append({d: f})
            rest = size // f
            for d2 in live:
                if d2 == d or rest < 2:
                    continue
                b2 = remaining[d2]
                g = min(b2, rest)
                g = math.ceil(b2 / math.ceil(b2 / g))
                if g > 1:
                    opts.append({d: f, d2: g})
    return opts


def _spatial_candidates(layer: Layer, arch: Architecture, keep: int) -> list[list[dict[str, int]]]:
    out_rel = layer.operand("outputs").relevant_dims
    bounds = layer.dims
    beams: list[tuple[float, list[dict[str, int]], dict[str, int]]] = [(1.0, [], dict(bounds))]
    for axis in arch.axes:
        dims = tuple(d for d in axis.dims if axis.reduction or d in out_rel)
        grown = []
        for _, chosen, remaining in beams:
            for opt in _spatial_options(axis.size, dims, remaining):
                rem = dict(remaining)
                for d, f in opt.items():
                    rem[d] = math.ceil(rem[d] / f)
                grown.append((0.0, [*chosen, opt], rem))
        # Useful fraction of the array over the candidates: real MACs / padded MAC slots.
        scored = []
        seen = set()
        for _, chosen, rem in grown:
            key = tuple(tuple(sorted(c.items())) for c in chosen)
            if key in seen:
                continue
            seen.add(key)
            fan = math.prod(math.prod(c.values()) for c in chosen)
            padded = math.prod(rem[d] for d in DIMS) * fan
            scored.append((layer.macs / padded * fan, chosen, rem))
        scored.sort(key=lambda t: -t[0])
        beams = scored[: keep * 3]
    return [chosen for _, chosen, _ in beams[:keep]]


def _temporal_sample(
    layer: Layer, arch: Architecture, spatial: list[dict[str, int]], rng: random.Random, order_style: str
) -> Mapping:
    n = len(arch.levels)
    remaining = dict(layer.dims)
    for opt in spatial:
        for d, f in opt.items():
            remaining[d] = math.ceil(remaining[d] / f)
    # Spatial factors inside each level (axes below it or below any level inside it).
    below = [arch.level_index(a.below) for a in arch.axes]
    inside_spatial = [
        {d: math.prod(opt.get(d, 1) for opt, b in zip(spatial, below, strict=True) if b >= i) for d in DIMS} for i in range(n)
    ]
    factors: list[dict[str, int]] = [{} for _ in range(n)]
    # Fill on-chip levels from the innermost outwards.
    for i in range(n - 1, 0, -1):
        lv = arch.levels[i]
        allowed = [d for d in DIMS if lv.temporal_dims is None or d in lv.temporal_dims]
        rng.shuffle(allowed)
        for d in allowed:
            for q in _prime_factors(remaining[d]):
                factors[i][d] = factors[i].get(d, 1) * q
                # Growing a tile at one level grows the tiles of every level above it too.
                if all(_fits(layer, arch, factors, inside_spatial, j) for j in range(1, i + 1)):
                    remaining[d] //= q
                else:
                    factors[i][d] //= q
                    break
    factors[0] = {d: r for d, r in remaining.items() if r > 1}
    temporal = [_order(layer, f, order_style, rng) for f in factors]
    return Mapping.build(temporal, [list(s.items()) for s in spatial])


def _fits(layer: Layer, arch: Architecture, factors: list[dict[str, int]], inside_spatial: list[dict[str, int]], i: int) -> bool:
    lv = arch.levels[i]
    if lv.size_bytes is None:
        return True
    tile = {d: inside_spatial[i][d] * math.prod(f.get(d, 1) for f in factors[i:]) for d in DIMS}
    bits = sum(layer.operand(o).footprint(tile) * layer.operand(o).onchip_bits for o in lv.keeps)
    return bits / 8 * (2 if lv.double_buffered else 1) <= lv.size_bytes


_STATIONARY = {"weight": "weights", "output": "outputs", "input": "inputs"}


def _order(layer: Layer, factors: dict[str, int], style: str, rng: random.Random) -> list[tuple[str, int]]:
    items = [(d, f) for d, f in factors.items() if f > 1]
    if style in _STATIONARY:
        # Loops the stationary operand ignores go innermost, so it stays put.
        rel = layer.operand(_STATIONARY[style]).relevant_dims
        items.sort(key=lambda it: (it[0] not in rel, DIMS.index(it[0])))
    else:
        rng.shuffle(items)
    return items


def candidate_mappings(layer: Layer, arch: Architecture, options: MapperOptions) -> Iterator[Mapping]:
    rng = random.Random(options.seed)
    for spatial in _spatial_candidates(layer, arch, options.spatial_candidates):
        for k in range(options.samples):
            style = ("weight", "output", "input")[k] if k < 3 else "random"
            yield _temporal_sample(layer, arch, spatial, rng, style)


def map_layer(layer: Layer, arch: Architecture, options: MapperOptions | None = None) -> CostReport:
    """The best mapping found for ``layer`` on ``arch`` and its cost.

    Raises :class:`SpecError` when no valid mapping exists (e.g. a buffer too small for
    even the smallest tile), listing the reasons of the last candidate tried.
    """
    options = options or MapperOptions()
    if options.objective not in OBJECTIVES:
        raise SpecError("mapper", [Problem("objective", options.objective, f"expected one of {', '.join(OBJECTIVES)}")])
    best: CostReport | None = None
    best_score = math.inf
    last: list[Problem] = []
    seen: set[Mapping] = set()
    for mapping in candidate_mappings(layer, arch, options):
        if mapping in seen:
            continue
        seen.add(mapping)
        problems = check_mapping(layer, arch, mapping)
        if problems:
            last = problems
            continue
        report = evaluate_mapping(layer, arch, mapping, check=False)
        score = _score(report, options.objective)
        if score < best_score:
            best, best_score = report, score
    if best is None:
        raise SpecError(f"no valid mapping of layer {layer.name!r} on {arch.name!r}", last)
    return best
