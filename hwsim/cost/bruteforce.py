"""A brute-force loop-nest interpreter: slow, obviously right, for small layers only.

It walks every iteration of the loops above each child level, builds the actual sets of
tensor elements each instance's tile holds, takes unions across multicast instances with
Python sets, and remembers which partial sums exist. The analytical model
(:func:`hwsim.cost.analytical.access_counts`) must give exactly the same numbers.

Zero-skipping (``mac_fraction`` below 1: the share of MACs the unit performs) is an expectation,
each MAC performed with that probability independently of the others (exact for uniform zeros
when the MACs accumulating into one output use distinct skipped elements, as a convolution's do):

* the MACs' accesses to the level they read from scale by it (a skipped MAC reads nothing;
  a multicast read is charged as the documented model does, the union times the fraction), and
  their partial-sum updates too;
* an output element updated ``u`` times in its parent's life is read back for every performed
  update but its first performed one: ``E = s·u − P(at least one performed) = s·u − 1 + (1 − s)^u``,
  counted element by element;
* transfers between storage levels are not affected (a tile moves whether or not its MACs run).

Padding (loops over-covering a bound): DRAM holds the real tensors only. Every access across the edge between DRAM
and its child (DRAM's reads, updates and read-backs, the child's fills) skips an element whose coordinate on a
tensor axis with one term that loops (``c·x``, c > 0, the other terms' dims without loops) lies beyond the real tensor
(``x`` at or past the dim's bound); a sliding window (two terms that loop) keeps the padded iterations' halo. Below DRAM the padded tiles move as they are.
"""

from __future__ import annotations

import itertools
import math

from hwsim.core.arch import Architecture
from hwsim.core.mapping import Mapping, level_starts
from hwsim.core.mapping import loop_strides as _strides  # tests/test_overlap imports it by this name
from hwsim.core.workload import Layer, Operand
from hwsim.cost.analytical import Accesses

__all__ = ["brute_force_counts"]

MAX_ITERATIONS = 2_000_000


def _element(op: Operand, dims: dict[str, int]) -> tuple[int, ...]:
    return tuple(sum(c * dims.get(d, 0) for d, c in axis) for axis in op.axes)


def _real(layer: Layer, mapping: Mapping, op: Operand):
    """Whether an element of ``op`` lies inside the real tensor along its axes with one term that loops (padding's
    elements do not); a sliding window (two terms that loop) keeps its halo."""
    extents = mapping.padded_bounds()
    limits = []
    for x, axis in enumerate(op.axes):
        looping = [(d, c) for d, c in axis if c != 0 and extents.get(d, 1) > 1]
        if len(looping) == 1 and looping[0][1] > 0:
            d, c = looping[0]
            limits.append((x, c * layer.dims.get(d, 1)))

    def real(e: tuple[int, ...]) -> bool:
        return all(e[x] < limit for x, limit in limits)

    return real


def brute_force_counts(layer: Layer, arch: Architecture, mapping: Mapping, mac_fraction: float = 1.0) -> dict[tuple[str, str], Accesses]:
    """Every (level name, operand name) pair's reads, fills and updates, walked iteration by iteration
    (expected values when the MAC unit performs only ``mac_fraction`` of the MACs, see the module docstring)."""
    s = mac_fraction
    nest = mapping.nest(arch)
    if math.prod(lp.bound for lp in nest) > MAX_ITERATIONS:
        raise ValueError("brute_force_counts is for small layers only")
    n = len(arch.levels)
    starts = level_starts(nest, n)
    strides = _strides(nest)
    axes = {a.name: a for a in arch.axes}
    counts: dict[tuple[str, str], Accesses] = {}

    def tile(op: Operand, fixed: dict[int, int], inside: range) -> set[tuple[int, ...]]:
        base: dict[str, int] = {}
        for k, i in fixed.items():
            base[nest[k].dim] = base.get(nest[k].dim, 0) + i * strides[k]
        elems = set()
        for combo in itertools.product(*(range(nest[k].bound) for k in inside)):
            dims = dict(base)
            for k, i in zip(inside, combo, strict=True):
                dims[nest[k].dim] = dims.get(nest[k].dim, 0) + i * strides[k]
            elems.add(_element(op, dims))
        return elems

    for op in layer.operands:
        chain = mapping.chain(arch, op.name)
        for i in chain[:-1]:
            counts[(arch.levels[i].name, op.name)] = Accesses()
        for p, c in itertools.pairwise(chain):
            parent = counts[(arch.levels[p].name, op.name)]
            child = counts.get((arch.levels[c].name, op.name)) if c < n else None
            temporal = [k for k in range(starts[c]) if not nest[k].spatial]
            above_p = [k for k in range(starts[p]) if nest[k].spatial]
            between = [k for k in range(starts[p], starts[c]) if nest[k].spatial]

            shares = {k: (axes[nest[k].axis or ""].reduction if op.is_output else axes[nest[k].axis or ""].multicast) for k in between}
            sharing = [k for k in between if shares[k]]
            separate = [k for k in between if not shares[k]]
            inside = range(starts[c], len(nest))
            relevant = [k for k in temporal if nest[k].dim in op.relevant_dims]
            real = _real(layer, mapping, op) if p == 0 else (lambda e: True)
            seen: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
            updates_of: dict[tuple[int, ...], dict[tuple[int, ...], int]] = {}  # parent instance → output element → MAC updates
            previous: tuple[int, ...] | None = None
            for t_idx in itertools.product(*(range(nest[k].bound) for k in temporal)):
                at = dict(zip(temporal, t_idx, strict=True))
                # A MAC touches its operands every iteration; a storage child only when its tile changes.
                key = t_idx if c == n else tuple(at[k] for k in relevant)
                if key == previous:
                    continue
                previous = key
                for p_idx in itertools.product(*(range(nest[k].bound) for k in above_p)):
                    known = seen.setdefault(p_idx, set())
                    for s_idx in itertools.product(*(range(nest[k].bound) for k in separate)):
                        union: set[tuple[int, ...]] = set()
                        for m_idx in itertools.product(*(range(nest[k].bound) for k in sharing)):
                            fixed = {**at, **dict(zip(above_p, p_idx, strict=True)),
                                     **dict(zip(separate, s_idx, strict=True)), **dict(zip(sharing, m_idx, strict=True))}  # fmt: skip
                            elems = {e for e in tile(op, fixed, inside) if real(e)}
                            union |= elems
                            if child is not None and not op.is_output:
                                child.fills += len(elems)
                        if op.is_output and child is None:  # the MACs update their partial sums
                            per_element = updates_of.setdefault(p_idx, {})
                            for e in union:
                                per_element[e] = per_element.get(e, 0) + 1
                        elif op.is_output:
                            old = len(union & known)
                            parent.updates += len(union)
                            parent.reads += old
                            if child is not None:
                                child.fills += old
                            known |= union
                        else:
                            parent.reads += len(union) * (s if child is None else 1)
            for per_element in updates_of.values():
                for u in per_element.values():
                    parent.updates += s * u
                    parent.reads += s * u - 1 + (1 - s) ** u  # every performed update but the first reads
    return counts
