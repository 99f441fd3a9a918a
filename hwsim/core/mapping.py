"""Mappings: the loop nest that schedules one layer on one architecture.

A mapping gives, per storage level, its temporal loops (outer to inner) and, per spatial
axis, the dimensions unrolled on it. The full nest is::

    level 0 temporal loops
      spatial loops of the axes below level 0
        level 1 temporal loops
          ...
            MAC

A level holds the tile touched by every loop from its own temporal loops inwards. Factors of
a dimension multiply to at least its bound; an imperfect factorization pads the last
(outermost) factor and the padding is counted as work (it shows as lost utilization).
"""

from __future__ import annotations

import math
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass

from hwsim.core.arch import Architecture, Level, SpatialAxis, element_bits
from hwsim.core.errors import Problem, SpecError
from hwsim.core.workload import DIMS, Layer

__all__ = ["Loop", "Mapping", "capacity_problems", "check_mapping", "constraint_problems", "format_nest", "tile_bytes", "validate_mapping"]

Factors = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Loop:
    dim: str
    bound: int
    level: int
    axis: str | None = None

    @property
    def spatial(self) -> bool:
        return self.axis is not None


@dataclass(frozen=True)
class Mapping:
    """``temporal[i]``: (dim, bound) loops of level i, outer→inner; ``spatial[j]``: (dim, factor) on axis j.

    ``bypass`` lists (level name, operand) pairs that this mapping sends past a level that
    could keep them (Timeloop's per-mapping keep/bypass); the outermost level cannot be bypassed.
    """

    temporal: tuple[Factors, ...]
    spatial: tuple[Factors, ...]
    bypass: tuple[tuple[str, str], ...] = ()

    def kept(self, arch: Architecture, level: int) -> tuple[str, ...]:
        """Operands that level ``level`` holds under this mapping."""
        lv = arch.levels[level]
        return tuple(o for o in lv.keeps if (lv.name, o) not in self.bypass)

    @staticmethod
    def build(
        temporal: list[list[tuple[str, int]]] | list[MappingABC[str, int]],
        spatial: list[list[tuple[str, int]]] | list[MappingABC[str, int]],
        bypass: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    ) -> Mapping:
        def norm(xs: list) -> tuple[Factors, ...]:
            return tuple(tuple((d, int(n)) for d, n in (x.items() if isinstance(x, MappingABC) else x)) for x in xs)

        return Mapping(norm(temporal), norm(spatial), tuple((str(lv), str(o)) for lv, o in bypass))

    def nest(self, arch: Architecture) -> list[Loop]:
        """The whole nest, outermost first, with loops of bound 1 dropped."""
        loops: list[Loop] = []
        for i in range(len(arch.levels)):
            loops += [Loop(d, n, i) for d, n in self.temporal[i] if n > 1]
            for j, axis in enumerate(arch.axes):
                if axis.below == arch.levels[i].name:
                    loops += [Loop(d, n, i, axis.name) for d, n in self.spatial[j] if n > 1]
        return loops

    def chain(self, arch: Architecture, operand: str) -> list[int]:
        """Indices of the levels holding ``operand``, outermost first, then ``len(levels)`` for the MACs."""
        n = len(arch.levels)
        return [i for i in range(n) if operand in self.kept(arch, i)] + [n]

    def padded_bounds(self) -> dict[str, int]:
        out = {d: 1 for d in DIMS}
        for group in (*self.temporal, *self.spatial):
            for d, n in group:
                out[d] = out.get(d, 1) * n
        return out

    def spatial_factor(self, axis_index: int) -> int:
        return math.prod(n for _, n in self.spatial[axis_index])

    @property
    def active_macs(self) -> int:
        return math.prod(self.spatial_factor(j) for j in range(len(self.spatial)))

    @property
    def temporal_iterations(self) -> int:
        return math.prod(n for group in self.temporal for _, n in group)


def tile_extents(nest: list[Loop], start: int) -> dict[str, int]:
    """Per-dim extent of the tile spanned by ``nest[start:]``."""
    t: dict[str, int] = {}
    for lp in nest[start:]:
        t[lp.dim] = t.get(lp.dim, 1) * lp.bound
    return t


def level_starts(nest: list[Loop], n_levels: int) -> list[int]:
    """Index in ``nest`` where each level's temporal loops begin; entry n_levels is the MACs."""
    return [next((k for k, lp in enumerate(nest) if lp.level >= i), len(nest)) for i in range(n_levels)] + [len(nest)]


def loop_strides(nest: list[Loop]) -> list[int]:
    """How far each loop's index advances its dim: the product of the bounds of the inner loops on that dim."""
    return [math.prod(inner.bound for inner in nest[k + 1 :] if inner.dim == lp.dim) for k, lp in enumerate(nest)]


def check_mapping(layer: Layer, arch: Architecture, mapping: Mapping) -> list[Problem]:
    """Every reason ``mapping`` is not a valid schedule of ``layer`` on ``arch`` (empty if valid)."""
    problems: list[Problem] = []
    add = problems.append
    if len(mapping.temporal) != len(arch.levels):
        add(Problem("temporal", len(mapping.temporal), f"expected one loop list per level ({len(arch.levels)})"))
        return problems
    if len(mapping.spatial) != len(arch.axes):
        add(Problem("spatial", len(mapping.spatial), f"expected one factor list per spatial axis ({len(arch.axes)})"))
        return problems
    for i, group in enumerate(mapping.temporal):
        lv = arch.levels[i]
        for k, (d, n) in enumerate(group):
            where = f"temporal[{lv.name}][{k}]"
            if d not in DIMS:
                add(Problem(where, d, f"expected a dimension in {', '.join(DIMS)}"))
            if not isinstance(n, int) or n < 1:
                add(Problem(where, n, "expected a positive integer loop bound"))
    names = [lv.name for lv in arch.levels]
    for k, (lv_name, o) in enumerate(mapping.bypass):
        if lv_name not in names[1:] or o not in arch.levels[names.index(lv_name)].keeps:
            add(Problem(f"bypass[{k}]", (lv_name, o), "expected a (level, operand) pair the level keeps, below the outermost level"))
    outputs = layer.operand("outputs")
    for j, group in enumerate(mapping.spatial):
        axis = arch.axes[j]
        for d, n in group:
            where = f"spatial[{axis.name}].{d}"
            if d not in axis.dims and n > 1:
                add(Problem(where, n, f"expected only {', '.join(axis.dims)} unrolled on axis {axis.name}"))
            if n > 1 and not axis.reduction and d not in outputs.relevant_dims:
                add(Problem(where, n, f"expected no output-reducing dimension on axis {axis.name} (it has no spatial reduction)"))
        f = mapping.spatial_factor(j)
        if f > axis.size:
            add(Problem(f"spatial[{axis.name}]", f, f"expected a fan-out of at most the axis size {axis.size}"))
    # Bounds multiply out; padding is allowed but no factor may be larger than needed.
    bounds = layer.dims
    for d in DIMS:
        factors = [n for grp in (*mapping.temporal, *mapping.spatial) for dd, n in grp if dd == d and n > 1]
        total = math.prod(factors)
        want = bounds.get(d, 1)
        if total < want:
            add(Problem(f"factors[{d}]", total, f"expected the factors of {d} to multiply to at least its bound {want}"))
        elif any(total // f * (f - 1) >= want for f in factors):
            add(Problem(f"factors[{d}]", factors, f"expected no factor of {d} larger than needed to cover its bound {want}"))
    problems += constraint_problems(arch, mapping)
    return problems or capacity_problems(layer, arch, mapping)


def constraint_problems(arch: Architecture, mapping: Mapping) -> list[Problem]:
    """Every mapping constraint of ``arch``'s levels and axes that ``mapping`` breaks (empty if it meets them all): the one
    rule the mapper's generation follows and :func:`check_mapping` applies to given mappings.

    Per level, over its temporal loops (a dimension's factor is the product of its loops there, 1 without one):
    ``temporal_dims`` (no loop > 1 over another dimension), ``fixed_factors`` (the factor equals the pin),
    ``min_factors``/``max_factors`` (the factor is within them), ``whole_dims`` (no other level or axis has a factor > 1
    of the dimension), ``loop_order`` (its loops > 1 follow that order) and ``inner_order`` (its loops > 1 over those
    dimensions are its innermost, in that order); per axis, the same factor rules over the axis's unrolling."""
    problems: list[Problem] = []
    add = problems.append
    slots: list[tuple[str, dict[str, int]]] = []
    for i, lv in enumerate(arch.levels):
        loops = [(d, n) for d, n in mapping.temporal[i] if n > 1]
        f: dict[str, int] = {}
        for d, n in loops:
            f[d] = f.get(d, 1) * n
        slots.append((f"temporal[{lv.name}]", f))
        where = f"temporal[{lv.name}]"
        if lv.temporal_dims is not None:
            for d in f:
                if d not in lv.temporal_dims:
                    add(Problem(f"{where}.{d}", f[d], f"expected temporal loops at {lv.name} only over {', '.join(lv.temporal_dims) or 'no dimension'}"))
        seq = [d for d, _ in loops]
        if lv.loop_order is not None:
            rank = {d: k for k, d in enumerate(lv.loop_order)}
            ranks = [rank.get(d, len(rank) + DIMS.index(d)) for d in seq]
            if ranks != sorted(ranks) or len(set(seq)) != len(seq):
                add(Problem(f"{where}.order", seq, f"expected the loops in the level's order {','.join(lv.loop_order)} (outer first)"))
        if lv.inner_order:
            listed = [d for d in seq if d in lv.inner_order]
            tail = seq[len(seq) - len(listed):]
            if tail != listed or listed != [d for d in lv.inner_order if d in listed]:
                add(Problem(f"{where}.order", seq, f"expected loops over {','.join(lv.inner_order)} innermost, in that order (outer first)"))
    for j, axis in enumerate(arch.axes):
        f = {}
        for d, n in mapping.spatial[j]:
            if n > 1:
                f[d] = f.get(d, 1) * n
        slots.append((f"spatial[{axis.name}]", f))
    owners: list[Level | SpatialAxis] = [*arch.levels, *arch.axes]
    for k, (where, f) in enumerate(slots):
        c = owners[k]
        for d, n in c.fixed_factors:
            if f.get(d, 1) != n:
                add(Problem(f"{where}.{d}", f.get(d, 1), f"expected the factor pinned to {n}"))
        for d, n in c.min_factors:
            if f.get(d, 1) < n:
                add(Problem(f"{where}.{d}", f.get(d, 1), f"expected a factor of at least {n} (min_factors)"))
        for d, n in c.max_factors:
            if f.get(d, 1) > n:
                add(Problem(f"{where}.{d}", f.get(d, 1), f"expected a factor of at most {n} (max_factors)"))
        for d in c.whole_dims:
            split = [w for kk, (w, g) in enumerate(slots) if kk != k and g.get(d, 1) > 1]
            if split:
                add(Problem(f"{where}.{d}", ", ".join(split), f"expected {d} whole here (whole_dims: no other level or axis splitting it)"))
    return problems


def tile_bytes(layer: Layer, arch: Architecture, mapping: Mapping, level: int) -> float:
    """Bytes one instance of ``level`` needs for its tiles (twice that if double-buffered)."""
    nest = mapping.nest(arch)
    t = tile_extents(nest, level_starts(nest, len(arch.levels))[level])
    lv = arch.levels[level]
    bits = sum(layer.operand(o).footprint(t) * element_bits(layer.operand(o), lv) for o in mapping.kept(arch, level))
    return bits / 8 * (2 if lv.double_buffered else 1)


def capacity_problems(layer: Layer, arch: Architecture, mapping: Mapping, levels: range | None = None) -> list[Problem]:
    out = []
    for i in levels if levels is not None else range(len(arch.levels)):
        lv = arch.levels[i]
        if lv.size_bytes is None:
            continue
        need = tile_bytes(layer, arch, mapping, i)
        if need > lv.size_bytes:
            out.append(Problem(f"capacity[{lv.name}]", f"{need:g} bytes", f"expected tiles to fit in {lv.size_bytes:g} bytes per instance"))
    return out


def validate_mapping(layer: Layer, arch: Architecture, mapping: Mapping) -> None:
    problems = check_mapping(layer, arch, mapping)
    if problems:
        raise SpecError(f"mapping of {layer.name!r} on {arch.name!r}", problems)


def format_nest(layer: Layer, arch: Architecture, mapping: Mapping) -> str:
    """The mapping as a loop nest, with each level's tile sizes (elements per instance)."""
    nest = mapping.nest(arch)
    starts = level_starts(nest, len(arch.levels))
    lines: list[str] = []
    depth = 0
    for i, lv in enumerate(arch.levels):
        t = tile_extents(nest, starts[i])
        tiles = " ".join(f"{o}:{layer.operand(o).footprint(t)}" for o in mapping.kept(arch, i))
        inst = arch.instances(i)
        lines.append(f"{'  ' * depth}{lv.name}{f' ×{inst}' if inst > 1 else ''} [ {tiles} ]")
        for lp in nest[starts[i] : starts[i + 1]]:
            tag = f" (spatial {lp.axis})" if lp.spatial else ""
            lines.append(f"{'  ' * depth}| for {lp.dim} in [0:{lp.bound}){tag}")
            depth += 1
    lines.append(f"{'  ' * depth}<< MAC >>")
    return "\n".join(lines)
