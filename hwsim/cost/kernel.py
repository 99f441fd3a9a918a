"""The closed-form cost model, written once: a numba kernel over named arrays.

A (layer, architecture) pair is packed into :class:`Packed`, a mapping into a :class:`Nest` (any loop nest and its
keep mask: the levels' keeps less the mapping's bypass); :func:`cost` fills :class:`Costs` with every figure of the
model. Its callers are thin: :mod:`hwsim.cost.analytical` (one mapping, the ``CostReport``), :mod:`hwsim.mapper.fastmodel`
(encoded mappings by the million) and :mod:`hwsim.cost.cycle` (which places the per-edge figures on folds).
The semantics are docs/architecture.md's ("Semantics of the analytical model"); the brute-force interpreter
(:mod:`hwsim.cost.bruteforce`) is the independent oracle. ``import hwsim`` does not import numba: callers import this lazily.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba as nb
import numpy as np

from hwsim.core.arch import Architecture, may_bypass_problems
from hwsim.core.errors import SpecError
from hwsim.core.mapping import Mapping, level_starts
from hwsim.core.workload import DIMS, Layer
from hwsim.cost.precision import check_numbers, cycles_per_mac, energy_per_mac_pj
from hwsim.cost.sparsity import check_sparsity, element_bits, gate_fraction, skip_dims, skip_fraction, unstructured_skip

__all__ = ["OPERANDS", "Costs", "Nest", "Packed", "Work", "capacity_bits", "compiled", "compiled_inline", "compute_cycles", "contiguous", "cost", "cost_inline", "new_costs", "run", "workspace"]

# Compiled functions run without numba's reference counting (its atomic counts on the named tuples' arrays cost more
# than the model) and so allocate nothing: callers hand them every array they write. Cached on disk.
_FLAGS: dict[str, Any] = {"cache": True, "_nrt": False, "error_model": "numpy"}
compiled = nb.njit(**_FLAGS)
compiled_inline = nb.njit(inline="always", **_FLAGS)

ND = len(DIMS)
OPERANDS = ("weights", "inputs", "outputs")  # operand o of every (level, operand) array
MAX_TENSOR_AXES = 6
MAX_TERMS = 3
_INF = np.inf


class Packed(NamedTuple):
    """A (layer, architecture) pair as named arrays: levels outermost first, operands in OPERANDS order."""

    # levels
    keeps: np.ndarray  # (L, 3) bool: the level may keep the operand
    may_bypass: np.ndarray  # (L, 3) bool: the mapper may also bypass the kept operand there (Level.may_bypass)
    double_buffered: np.ndarray  # (L,) bool
    ports: np.ndarray  # (L,) int64
    word_bits: np.ndarray  # (L,) float64
    size_bits: np.ndarray  # (L,) float64, bits per instance; -1: unbounded
    read_pj: np.ndarray  # (L,) float64, per word
    write_pj: np.ndarray  # (L,) float64, per word (fills)
    update_pj: np.ndarray  # (L,) float64, per word (updates: partial sums written back; Level.update_pj)
    update_differs: bool  # some level's update energy differs from its write energy
    clusters: np.ndarray  # (L,) float64: the level's instances over its cluster_size (rows one access serves in full)
    clustered: bool  # some level has cluster_size > 1
    read_bw: np.ndarray  # (L,) float64, bits per cycle; inf: unbounded
    write_bw: np.ndarray  # (L,) float64
    elem_bits: np.ndarray  # (L, 3) float64: bits per element of the operand at the level (format, metadata)
    temporal_ok: np.ndarray  # (L, 8) bool: the level may hold temporal loops over the dim
    # spatial axes
    axis_level: np.ndarray  # (A,) int64: the level the axis fans out below
    axis_size: np.ndarray  # (A,) int64
    multicast: np.ndarray  # (A,) bool
    reduction: np.ndarray  # (A,) bool
    # operands
    is_output: np.ndarray  # (3,) bool
    final_bits: np.ndarray  # (3,) float64: bits of a finished element (outputs leave DRAM-side at it)
    n_tensor_axes: np.ndarray  # (3,) int64
    relevant: np.ndarray  # (3, 8) bool: the operand's index depends on the dim
    simple: np.ndarray  # (3,) bool: every tensor axis is one dim with coefficient 1
    proj: np.ndarray  # (3, 6, 3, 2) int64: [operand, tensor axis, term] → (dim, coefficient); dim -1: no term
    # layer and MAC unit
    bounds: np.ndarray  # (8,) int64
    skip_dims: np.ndarray  # (8,) bool: dims the skipped operands depend on
    macs: int
    mac_pj: float  # energy of one MAC at the layer's widths
    gate_fraction: float  # share of the MAC energy not gated on zeros
    cycles_per_mac: float
    mac_fraction: float  # share of the MACs performed (the rest skipped as zeros)
    structured_skip: bool  # the skipped zeros are N:M (the units share every fold's work evenly)
    leakage_mw: float
    clock_hz: float
    # the PE array's fill and drain (systolic arrays: the innermost level, below every axis, runs no loops of its own)
    systolic: bool  # pays fill/drain per fold (hwsim.cost.cycle.CycleOptions.systolic may override it)
    pe_first: int  # the first level below every spatial axis (inside the PEs); L: none
    skew: float  # Σ (axis size − 1): cycles operands take to cross the array
    preload: float  # the first axis' size: cycles to load a stationary input operand down the array
    fold_overhead: float  # cycles every fill/drain adds beyond skew and preload (a generated design's pipeline; default 0)
    # the architecture's semantics options (hwsim.core.arch.Semantics)
    sliding_window: bool  # a tile stepping along a sliding window is filled with its new part only
    overlapped_cycles: bool  # latency = the longest of compute and every level's transfers
    whole_vectors: bool  # an instance's accesses of an operand are billed in whole words, per action
    per_pe_windows: bool  # a multicast to PEs whose windows overlap sends each PE its window (no union)
    psum_fill_per_pe: bool  # partial sums read back into a spatial-reduction group fill every PE of it
    mac_operand_reuse: bool  # MACs fed across a fan-out keep an input operand over the inner loops that ignore it
    utilized_leakage: bool  # leakage in the storage instances the mapping uses only, none for the MACs
    level_leak_mw: np.ndarray  # (L,) float64: leakage of one instance of each level (0 at DRAM)

    @staticmethod
    def build(layer: Layer, arch: Architecture) -> Packed:
        """The layer and architecture as the kernel's named arrays (sparsity formats and precisions checked first)."""
        check_sparsity(layer, arch.levels, f"layer {layer.name!r} on {arch.name!r}")
        check_numbers(layer, arch.mac, f"layer {layer.name!r} on {arch.name!r}")
        levels, axes = arch.levels, arch.axes
        bad = may_bypass_problems(levels)
        if bad:
            raise SpecError(f"architecture {arch.name!r}", bad)
        ops = [layer.operand(n) for n in OPERANDS]
        names = [lv.name for lv in levels]
        proj = np.zeros((3, MAX_TENSOR_AXES, MAX_TERMS, 2), np.int64)
        proj[:, :, :, 0] = -1
        for o, op in enumerate(ops):
            if len(op.axes) > MAX_TENSOR_AXES or any(len(ax) > MAX_TERMS for ax in op.axes):
                raise ValueError(f"operand {op.name} has more tensor axes or terms than the compiled model supports")
            for x, tensor_axis in enumerate(op.axes):
                for t, (dim, coef) in enumerate(tensor_axis):
                    proj[o, x, t] = (DIMS.index(dim), coef)
        spread = skip_dims(layer, arch.mac)
        pe_first = max((names.index(ax.below) for ax in axes), default=len(levels) - 1) + 1 if axes else len(levels)
        return Packed(
            keeps=np.array([[op.name in lv.keeps for op in ops] for lv in levels], np.bool_).reshape(len(levels), 3),
            may_bypass=np.array([[op.name in lv.may_bypass for op in ops] for lv in levels], np.bool_).reshape(len(levels), 3),
            double_buffered=np.array([lv.double_buffered for lv in levels], np.bool_),
            ports=np.array([lv.ports for lv in levels], np.int64),
            word_bits=np.array([lv.word_bits for lv in levels], np.float64),
            size_bits=np.array([-1.0 if lv.size_bytes is None else lv.size_bytes * 8 for lv in levels], np.float64),
            read_pj=np.array([lv.read_energy_pj for lv in levels], np.float64),
            write_pj=np.array([lv.write_energy_pj for lv in levels], np.float64),
            update_pj=np.array([lv.update_pj for lv in levels], np.float64),
            update_differs=any(lv.update_pj != lv.write_energy_pj for lv in levels),
            clusters=np.array([max(arch.instances(i) // max(lv.cluster_size, 1), 1) for i, lv in enumerate(levels)], np.float64),
            clustered=any(lv.cluster_size > 1 for lv in levels),
            read_bw=np.array([_INF if bw is None else bw for bw in (lv.read_bandwidth_bits_per_cycle for lv in levels)], np.float64),
            write_bw=np.array([_INF if bw is None else bw for bw in (lv.write_bandwidth_bits_per_cycle for lv in levels)], np.float64),
            elem_bits=np.array([[element_bits(op, lv) for op in ops] for lv in levels], np.float64).reshape(len(levels), 3),
            temporal_ok=np.array([[lv.temporal_dims is None or d in lv.temporal_dims for d in DIMS] for lv in levels], np.bool_),
            axis_level=np.array([names.index(ax.below) for ax in axes], np.int64),
            axis_size=np.array([ax.size for ax in axes], np.int64),
            multicast=np.array([ax.multicast for ax in axes], np.bool_),
            reduction=np.array([ax.reduction for ax in axes], np.bool_),
            is_output=np.array([op.is_output for op in ops], np.bool_),
            final_bits=np.array([op.bits for op in ops], np.float64),
            n_tensor_axes=np.array([len(op.axes) for op in ops], np.int64),
            relevant=np.array([[d in op.relevant_dims for d in DIMS] for op in ops], np.bool_),
            simple=np.array([all(len(ax) == 1 and ax[0][1] == 1 for ax in op.axes) for op in ops], np.bool_),
            proj=proj,
            bounds=np.array([layer.dims.get(d, 1) for d in DIMS], np.int64),
            skip_dims=np.array([d in spread for d in DIMS], np.bool_),
            macs=int(layer.macs),
            mac_pj=float(energy_per_mac_pj(layer, arch.mac)),
            gate_fraction=float(gate_fraction(layer, arch.mac)),
            cycles_per_mac=float(cycles_per_mac(layer, arch.mac)),
            mac_fraction=float(skip_fraction(layer, arch.mac)),
            structured_skip=not unstructured_skip(layer, arch.mac),
            leakage_mw=float(arch.leakage_mw),
            clock_hz=float(arch.clock_hz),
            systolic=pe_first < len(levels) and levels[-1].temporal_dims == (),
            pe_first=pe_first,
            skew=float(sum(ax.size - 1 for ax in axes)),
            preload=float(axes[0].size if axes else 0),
            fold_overhead=0.0,
            sliding_window=arch.semantics.sliding_window,
            overlapped_cycles=arch.semantics.overlapped_cycles,
            whole_vectors=arch.semantics.whole_vectors,
            per_pe_windows=arch.semantics.per_pe_windows,
            psum_fill_per_pe=arch.semantics.psum_fill_per_pe,
            mac_operand_reuse=arch.semantics.mac_operand_reuse,
            utilized_leakage=arch.semantics.utilized_leakage,
            level_leak_mw=np.array([0.0 if lv.kind == "dram" else lv.leakage_mw for lv in levels], np.float64),
        )


class Nest(NamedTuple):
    """A mapping's loop nest as the kernel's arrays, one entry per loop, outermost first."""

    dim: np.ndarray  # int64: index into DIMS
    bound: np.ndarray  # int64
    axis: np.ndarray  # int64: the spatial axis; -1 for a temporal loop
    starts: np.ndarray  # (L+1,): position of each level's first loop; starts[L] = the number of loops
    keep: np.ndarray  # (L, 3) bool: the levels holding each operand (keeps less the mapping's bypass)


class Costs(NamedTuple):
    """Every figure of one mapping; L levels, edges indexed by (child c, operand o) with c = L for the MACs."""

    # per (level, operand): elements summed over the level's instances
    reads: np.ndarray  # (L, 3)
    fills: np.ndarray  # (L, 3)
    updates: np.ndarray  # (L, 3)
    access_energy: np.ndarray  # (L, 3) pJ
    # per level
    read_bits: np.ndarray  # (L,)
    write_bits: np.ndarray  # (L,)
    level_energy: np.ndarray  # (L,) pJ
    transfer: np.ndarray  # (L,) cycles of one instance's reads or writes, the longer (both together with one port)
    # per transfer edge (parent → child c) of operand o; every child has one parent per operand
    parent: np.ndarray  # (L+1, 3) int64: the parent level; -1: no edge into c
    last: np.ndarray  # (L+1, 3) int64: nest position of the innermost temporal loop above the child that reloads it; -1: none
    parent_read_bits: np.ndarray  # (L+1, 3): bits read from the parent per event (the parent's element bits)
    parent_write_bits: np.ndarray  # (L+1, 3): outputs: bits written back to the parent per event (finished ones at DRAM at their final bits)
    child_write_bits: np.ndarray  # (L+1, 3): bits written into the child per event (the child's element bits; 0 for the MACs)
    # scalars, shape (1,)
    compute: np.ndarray
    exposed: np.ndarray  # on-chip refills of single-buffered levels the PEs wait for
    dram_wait: np.ndarray  # DRAM reads and write-back bursts of single-buffered children the PEs wait for
    startup: np.ndarray  # the first tiles' DRAM reads, before compute starts
    drain: np.ndarray  # the last output tile's DRAM write-back, after compute ends
    fill_drain: np.ndarray  # the systolic array's fill and drain, over all folds
    fill_per_fold: np.ndarray  # one fill/drain (0: not systolic)
    folds: np.ndarray  # temporal iterations outside the stream (the stationary operand changes at each)
    n_fold: np.ndarray  # int64: how many temporal loops (outermost first) count folds; the others are the stream
    stationary: np.ndarray  # int64: the stationary operand; -1: none
    cycles: np.ndarray
    mac_energy: np.ndarray
    leakage: np.ndarray
    energy: np.ndarray
    fits: np.ndarray  # 1.0 when every level's tiles fit its capacity, else 0.0
    refill_level: np.ndarray  # int64: the level without double buffering whose refills stall longest; -1: none


class Work(NamedTuple):
    """Scratch arrays of :func:`cost` (allocated once per batch)."""

    stride: np.ndarray  # (n,) index stride of each loop
    spre: np.ndarray  # (n+1,) prefix products of the spatial bounds: instances above a position
    tpre: np.ndarray  # (n+1,) prefix products of the temporal bounds
    tiles: np.ndarray  # (L+1, 8) extents of each level's tile (L: one MAC's element)
    fc: np.ndarray  # (L+1, 3) footprints of those tiles
    dig_s: np.ndarray  # (8, n+1) mixed-radix digits per dim: strides
    dig_n: np.ndarray  # (8, n+1) and counts
    n_dig: np.ndarray  # (8,)
    running: np.ndarray  # (8,)
    cs: np.ndarray  # (3(n+1),) terms of one tensor axis: coefficients
    ns: np.ndarray  # and counts
    marks: np.ndarray  # (span,) uint8: index values reached (footprints of three or more merged digits)
    marks_next: np.ndarray  # (span,) uint8


def new_costs(n_levels: int) -> Costs:
    """Preallocated outputs for an architecture with ``n_levels`` levels."""
    lo, e = (n_levels, 3), (n_levels + 1, 3)
    return Costs(
        reads=np.zeros(lo), fills=np.zeros(lo), updates=np.zeros(lo), access_energy=np.zeros(lo),
        read_bits=np.zeros(n_levels), write_bits=np.zeros(n_levels), level_energy=np.zeros(n_levels), transfer=np.zeros(n_levels),
        parent=np.full(e, -1, np.int64), last=np.full(e, -1, np.int64),
        parent_read_bits=np.zeros(e), parent_write_bits=np.zeros(e), child_write_bits=np.zeros(e),
        compute=np.zeros(1), exposed=np.zeros(1), dram_wait=np.zeros(1), startup=np.zeros(1), drain=np.zeros(1),
        fill_drain=np.zeros(1), fill_per_fold=np.zeros(1), folds=np.zeros(1), n_fold=np.zeros(1, np.int64),
        stationary=np.full(1, -1, np.int64), cycles=np.zeros(1), mac_energy=np.zeros(1), leakage=np.zeros(1), energy=np.zeros(1),
        fits=np.zeros(1), refill_level=np.full(1, -1, np.int64),
    )  # fmt: skip


def workspace(pk: Packed, max_loops: int, padded: np.ndarray) -> Work:
    """Scratch for nests of at most ``max_loops`` loops whose dims span at most ``padded[d]`` (the product of their
    loops over d)."""
    m = max_loops + 1
    span = 1
    for o in range(3):
        for x in range(pk.n_tensor_axes[o]):
            span = max(span, 1 + sum(abs(int(c)) * (int(padded[d]) - 1) for d, c in pk.proj[o, x] if d >= 0))
    n_levels = pk.keeps.shape[0]
    return Work(
        stride=np.empty(m, np.int64), spre=np.empty(m), tpre=np.empty(m),
        tiles=np.ones((n_levels + 1, ND), np.int64), fc=np.empty((n_levels + 1, 3)),
        dig_s=np.empty((ND, m), np.int64), dig_n=np.empty((ND, m), np.int64), n_dig=np.empty(ND, np.int64), running=np.empty(ND, np.int64),
        cs=np.empty(MAX_TERMS * m, np.int64), ns=np.empty(MAX_TERMS * m, np.int64),
        marks=np.empty(span, np.uint8), marks_next=np.empty(span, np.uint8),
    )  # fmt: skip


@compiled_inline
def _two_terms(a, b, n0, n1):
    """Distinct values of a·x + b·y, 0 ≤ x < n0, 0 ≤ y < n1 (a ≤ b)."""
    x, y = a, b
    while y:
        x, y = y, x % y
    return n0 * n1 - max(0, n0 - b // x) * max(0, n1 - a // x)


@compiled
def _distinct(cs, ns, m, cur, nxt):
    """Distinct values of Σ c_i·x_i, 0 ≤ x_i < n_i, over the first m terms (sorted in place; cur and nxt: scratch)."""
    # insertion sort by coefficient
    for i in range(1, m):
        c, n = cs[i], ns[i]
        j = i - 1
        while j >= 0 and (cs[j] > c or (cs[j] == c and ns[j] > n)):
            cs[j + 1] = cs[j]
            ns[j + 1] = ns[j]
            j -= 1
        cs[j + 1] = c
        ns[j + 1] = n
    # merge digits that continue each other
    k = 0
    for i in range(m):
        if k > 0 and cs[k - 1] * ns[k - 1] == cs[i]:
            ns[k - 1] *= ns[i]
        else:
            cs[k] = cs[i]
            ns[k] = ns[i]
            k += 1
    if k == 0:
        return 1.0
    if k == 1:
        return float(ns[0])
    if k == 2:
        return float(_two_terms(cs[0], cs[1], ns[0], ns[1]))
    span = 1
    for i in range(k):
        span += cs[i] * (ns[i] - 1)
    if span > cur.shape[0]:
        raise ValueError("footprint scratch too small for this nest (see hwsim.cost.kernel.workspace)")
    cur[0] = 1
    top = 0
    for i in range(k):
        c = cs[i]
        n = ns[i]
        cur[top + 1 : top + c * (n - 1) + 1] = 0
        top += c * (n - 1)
        # nxt[v] = OR of cur[v - c·t], t < n: a sliding window along each residue class mod c
        for r in range(min(c, top + 1)):
            count = 0
            j = 0
            for v in range(r, top + 1, c):
                count += cur[v]
                if j >= n:
                    count -= cur[v - c * n]
                nxt[v] = 1 if count > 0 else 0
                j += 1
        cur, nxt = nxt, cur
    total = 0
    for v in range(top + 1):
        total += cur[v]
    return float(total)


@compiled_inline
def _footprint(proj, n_tensor_axes, o, dig_s, dig_n, n_dig, cs, ns, cur, nxt):
    """Footprint of operand o over index sets given per dim as mixed-radix digits (stride, count)."""
    total = 1.0
    for x in range(n_tensor_axes[o]):
        if proj[o, x, 1, 0] < 0:
            # one term: digits of one dim are disjoint mixed-radix positions, so counts multiply
            d = proj[o, x, 0, 0]
            if d >= 0 and proj[o, x, 0, 1] != 0:
                for j in range(n_dig[d]):
                    total *= dig_n[d, j]
            continue
        m = np.int64(0)  # (not a literal 0: numba would compile _distinct for it too)
        for t in range(MAX_TERMS):
            d = proj[o, x, t, 0]
            coef = proj[o, x, t, 1]
            if d < 0 or coef == 0:
                continue
            for j in range(n_dig[d]):
                if dig_n[d, j] > 1:
                    cs[m] = coef * dig_s[d, j]
                    ns[m] = dig_n[d, j]
                    m += 1
        total *= _distinct(cs, ns, m, cur, nxt)
    return total


@compiled_inline
def contiguous(proj, n_tensor_axes, o, tiles, row, cs, ns, cur, nxt):
    """Footprint of operand o over a contiguous tile (extent tiles[row, d] from 0 in every dim)."""
    total = 1.0
    for x in range(n_tensor_axes[o]):
        d0 = proj[o, x, 0, 0]
        d1 = proj[o, x, 1, 0]
        if d1 < 0:
            if d0 >= 0 and proj[o, x, 0, 1] != 0:
                total *= tiles[row, d0]
            continue
        if proj[o, x, 2, 0] >= 0:
            m = np.int64(0)  # (not a literal 0: numba would compile _distinct for it too)
            for t in range(MAX_TERMS):
                d = proj[o, x, t, 0]
                if tiles[row, d] > 1 and proj[o, x, t, 1] != 0:
                    cs[m] = proj[o, x, t, 1]
                    ns[m] = tiles[row, d]
                    m += 1
            total *= _distinct(cs, ns, m, cur, nxt)
            continue
        n0 = tiles[row, d0]
        n1 = tiles[row, d1]
        a = proj[o, x, 0, 1]
        b = proj[o, x, 1, 1]
        if n0 <= 1 or a == 0:
            total *= n1 if b != 0 else 1
            continue
        if n1 <= 1 or b == 0:
            total *= n0
            continue
        if a > b:
            a, b = b, a
            n0, n1 = n1, n0
        if b == a * n0:  # (a divides b)
            total *= n0 * n1
            continue
        total *= n0 + n1 - 1 if b == a else _two_terms(a, b, n0, n1)
    return total


@compiled_inline
def capacity_bits(keep, elem_bits, double_buffered, l, fc):
    """Capacity one instance of level l needs for the tiles of footprints fc[l]: twice them when double-buffered."""
    bits = 0.0
    for o in range(3):
        if keep[l, o]:
            bits += fc[l, o] * elem_bits[l, o]
    return bits * 2 if double_buffered[l] else bits


@compiled_inline
def top_output_write_bits(final, spilled, fills, final_bits, b):
    """Output bits written into DRAM: the ``final`` finished elements (zeros no MAC ran for included) at their final
    precision, the ``spilled`` partial sums (never negative) and ``fills`` at ``b`` bits per element."""
    return final * final_bits + max(spilled, 0.0) * b + fills * b


@compiled_inline
def _words(count, instances, bits, word_bits):
    """Whole words one of ``instances`` instances moves for ``count`` accesses of ``bits`` bits over them all."""
    return np.ceil(count * bits / instances / word_bits - 1e-9)


@compiled
def compute_cycles(iterations, cycles_per_mac, mac_fraction, inner, units, structured):
    """Unit cycles of ``iterations`` iterations of every MAC unit at ``cycles_per_mac`` each, less the MACs skipped on
    zeros (``mac_fraction`` performed), lengthened by the load imbalance across ``units`` units that see different
    data, each doing ``inner`` independent iterations between synchronizations (even for N:M: ``structured``); not rounded."""
    work = iterations * cycles_per_mac
    if mac_fraction < 1.0:
        work *= mac_fraction * _imbalance(int(inner), mac_fraction, int(units), structured)
    return work


@compiled
def _imbalance(n, s, pes, structured):
    """The load imbalance of ``pes`` units of ``n`` iterations each performed with probability ``s``: E[max of pes
    Binomial(n, s)] / (n·s) (1 for N:M, ``structured``, which balances every group)."""
    if structured or s >= 1.0 or n <= 0 or pes <= 1:
        return 1.0
    q = 1.0 - s
    log_pmf = n * np.log(q)
    cdf = 0.0
    total = 0.0
    for k in range(n):
        cdf += np.exp(log_pmf)
        total += 1.0 - min(cdf, 1.0) ** pes
        if cdf >= 1.0 - 1e-15:
            break
        log_pmf += np.log((n - k) / (k + 1)) + np.log(s / q)
    return total / (n * s)


@compiled_inline
def _axis_count(proj, o, x, c, ws, v):
    """Distinct values of operand o's tensor axis x over child c's tile, with the extra term v·{0, 1} when v ≠ 0."""
    m = np.int64(0)  # (not a literal 0: numba would compile _distinct for it too)
    for t in range(MAX_TERMS):
        d = proj[o, x, t, 0]
        if d >= 0 and proj[o, x, t, 1] != 0 and ws.tiles[c, d] > 1:
            ws.cs[m] = abs(proj[o, x, t, 1])
            ws.ns[m] = ws.tiles[c, d]
            m += 1
    if v != 0:
        ws.cs[m] = abs(v)
        ws.ns[m] = 2
        m += 1
    return _distinct(ws.cs, ws.ns, m, ws.marks, ws.marks_next)


@compiled_inline
def _slide(proj, n_tensor_axes, o, c, dl, step, restarts, steps, ws):
    """Elements of operand o one instance of child c is filled with when a tile stepping along dim ``dl`` by ``step``
    brings only the part the previous tile did not hold (``Semantics.sliding_window``, Timeloop's rule): each of the
    ``restarts`` of the loop loads a whole tile T, each of its ``steps`` T's shift by v (the step along every tensor
    axis), which keeps |T ∩ (T + v)| = 2|T| − |T ∪ (T + v)| of that axis' values (distinct values of its terms plus
    v·{0, 1}); axes multiply."""
    whole = 1.0
    kept = 1.0
    for x in range(n_tensor_axes[o]):
        v = 0
        for t in range(MAX_TERMS):
            if proj[o, x, t, 0] == dl:
                v += proj[o, x, t, 1] * step
        n = _axis_count(proj, o, x, c, ws, 0)
        whole *= n
        kept *= n if v == 0 else 2.0 * n - _axis_count(proj, o, x, c, ws, v)
    return restarts * whole + steps * (whole - kept)


@compiled
def _update_and_cluster_pricing(pk, keep, starts, out, ws, final_real, touched_dram):
    """What Level.update_pj and Level.cluster_size change in the levels' energies (``out``'s updated in place): the
    energy to add to the levels' total."""
    nl = pk.keeps.shape[0]
    level_total = 0.0
    if pk.update_differs:  # updates cost update_pj, not write_pj (Level.update_pj): the difference on the updated bits or words
        for l in range(nl):
            du = pk.update_pj[l] - pk.write_pj[l]
            for o in range(3):
                if du == 0.0 or not keep[l, o] or out.updates[l, o] <= 0.0:
                    continue
                b = pk.elem_bits[l, o]
                top = pk.is_output[o] and l == 0  # at DRAM every output write is an update (DRAM holds no fills)
                ub = top_output_write_bits(final_real, out.updates[l, o] - touched_dram, 0.0, pk.final_bits[o], b) if top else out.updates[l, o] * b
                if pk.whole_vectors:
                    used = ws.spre[starts[l]]
                    extra = used * (_words(ub, used, 1.0, pk.word_bits[l]) if top else _words(out.updates[l, o], used, b, pk.word_bits[l])) * du
                else:
                    extra = ub * du / pk.word_bits[l]
                out.access_energy[l, o] += extra
                out.level_energy[l] += extra
                level_total += extra
    if pk.clustered:  # cluster_size: the accesses of a level are billed once per utilized cluster, not per utilized instance
        for l in range(nl):
            used = ws.spre[starts[l]]  # utilized instances, spread over min(used, clusters) clusters (Timeloop's assumption)
            if pk.clusters[l] < used:
                scale = pk.clusters[l] / used
                level_total -= out.level_energy[l] * (1.0 - scale)
                out.level_energy[l] *= scale
                for o in range(3):
                    out.access_energy[l, o] *= scale
    return level_total


@compiled
def _utilized_leak_mw(pk, starts, ws):
    """Semantics.utilized_leakage: the leakage of the storage instances the mapping uses (none for the MACs)."""
    leak_mw = 0.0
    for l in range(pk.keeps.shape[0]):
        leak_mw += pk.level_leak_mw[l] * ws.spre[starts[l]]
    return leak_mw


@compiled
def cost(pk, nest, n, out, ws):
    """Cost one mapping of the pair ``pk`` (a :class:`Packed`): the first ``n`` loops of ``nest`` (a :class:`Nest`:
    any loop nest, several loops over one dim at a level included, and its keep mask: the levels' keeps less the
    mapping's bypass). Fills ``out`` (a :class:`Costs`) using the scratch ``ws`` (a :class:`Work`)."""
    nl = pk.keeps.shape[0]
    mac_fraction = pk.mac_fraction
    dim = nest.dim
    bound = nest.bound
    axis = nest.axis
    starts = nest.starts
    keep = nest.keep
    # prefix products of the spatial and the temporal bounds; the innermost temporal loop; the temporal loops
    spatial = temporal = ws.spre[0] = ws.tpre[0] = 1.0
    last_t = -1
    n_fold = 0  # (less the stream's: below)
    for k in range(n):
        if axis[k] >= 0:
            spatial *= bound[k]
        else:
            temporal *= bound[k]
            last_t = k
            n_fold += 1
        ws.spre[k + 1] = spatial
        ws.tpre[k + 1] = temporal
    for d in range(ND):
        ws.running[d] = 1
    for k in range(n - 1, -1, -1):
        ws.stride[k] = ws.running[dim[k]]
        ws.running[dim[k]] *= bound[k]
    for l in range(nl + 1):
        for o in range(3):
            if l < nl:
                out.reads[l, o] = 0.0
                out.fills[l, o] = 0.0
                out.updates[l, o] = 0.0
            out.parent[l, o] = -1
    # ws.tiles[l]: extents of the tile held at level l (ws.tiles[nl]: one MAC's element)
    for d in range(ND):
        ws.tiles[nl, d] = 1
    for l in range(nl - 1, -1, -1):
        for d in range(ND):
            ws.tiles[l, d] = ws.tiles[l + 1, d]
        for k in range(starts[l], starts[l + 1]):
            ws.tiles[l, dim[k]] *= bound[k]
    # tile footprints where they are used: kept operands below DRAM, DRAM's outputs; a MAC's is 1
    for o in range(3):
        ws.fc[nl, o] = 1.0
    ws.fc[0, 2] = contiguous(pk.proj, pk.n_tensor_axes, 2, ws.tiles, 0, ws.cs, ws.ns, ws.marks, ws.marks_next)
    final_real = ws.fc[0, 2]
    for l in range(1, nl):
        for o in range(3):
            if keep[l, o]:
                ws.fc[l, o] = contiguous(pk.proj, pk.n_tensor_axes, o, ws.tiles, l, ws.cs, ws.ns, ws.marks, ws.marks_next)
    fits = 1.0  # capacity only: samplers and enumerators keep factors covering the bounds (see fastmodel.padding_ok)
    for l in range(1, nl):
        if pk.size_bits[l] >= 0 and capacity_bits(keep, pk.elem_bits, pk.double_buffered, l, ws.fc) > pk.size_bits[l]:
            fits = 0.0
    out.fits[0] = fits
    first_dram = 0.0  # bits the first tiles read from DRAM
    last_dram = 0.0  # bits the last output tile writes back to DRAM
    touched_dram = 0.0  # output elements DRAM receives at least one update for (expected, under skipping)
    demand_read = 0.0  # DRAM bits read for children without a second buffer after the first tiles: the PEs wait
    write_backs = 0.0  # output tiles such a child writes back to DRAM before the last (last_dram bits each)
    for o in range(3):
        is_out = pk.is_output[o]
        simple = pk.simple[o]
        relall = 1.0  # the relevant bounds (simple outputs' first touches)
        if is_out and simple:
            for k in range(n):
                if pk.relevant[o, dim[k]]:
                    relall *= bound[k]
        # padding: DRAM moves only the real tensor's elements. Over the DRAM edge every loop on a dim is counted (its
        # events, unions and copies enumerate the dim's padded extent once), so along a tensor axis with one term
        # that loops (a dim looped over, positive coefficient) the real share is bound / padded extent; a sliding
        # window (two terms that loop) keeps its padded halo
        real_num = 1.0  # the real share real_num / real_den, kept as integers so that counts stay exact
        real_den = 1.0
        for x in range(pk.n_tensor_axes[o]):
            looping = 0
            d1 = -1
            for t in range(MAX_TERMS):
                d = pk.proj[o, x, t, 0]
                if d >= 0 and pk.proj[o, x, t, 1] != 0 and ws.running[d] > 1:
                    looping += 1
                    d1 = d if pk.proj[o, x, t, 1] > 0 else -1
            if looping == 1 and d1 >= 0 and ws.running[d1] > pk.bounds[d1]:
                real_num *= pk.bounds[d1]
                real_den *= ws.running[d1]
        if is_out:
            final_real = ws.fc[0, 2] * real_num / real_den
        # down the chain, the nest scanned to the child's first loop j: the innermost relevant temporal loop above j,
        # the relevant spatial bounds above j (above the parent's first loop: relsp_p)
        j = 0
        lastrel = -1
        relsp = relsp_p = 1.0
        p = -1
        for c in range(nl + 1):
            if c < nl and not keep[c, o]:
                continue
            sc = starts[c]
            while j < sc:
                if pk.relevant[o, dim[j]]:
                    if axis[j] >= 0:
                        relsp *= bound[j]
                    else:
                        lastrel = j
                j += 1
            if p < 0:
                p = c
                relsp_p = relsp
                continue
            # events: temporal loops above the child up to the innermost relevant one (every one for MACs; with
            # mac_operand_reuse, MACs fed across a fan-out keep an input operand over the loops that do not index it)
            inst_p = ws.spre[starts[p]]
            reuse = c == nl and pk.mac_operand_reuse and not is_out and ws.spre[sc] > inst_p
            last = last_t if c == nl and not reuse else lastrel
            events = ws.tpre[sc] if c == nl and not reuse else ws.tpre[last + 1]
            f_child = ws.fc[c, o]
            dup = 1.0
            grow = 1.0
            shared = False
            for k in range(starts[p], sc):
                a = axis[k]
                if a >= 0:
                    if not (pk.reduction[a] if is_out else pk.multicast[a]):
                        dup *= bound[k]
                    elif simple or pk.per_pe_windows:  # (per_pe_windows: overlapping windows are not merged)
                        if pk.relevant[o, dim[k]]:
                            grow *= bound[k]
                    else:
                        shared = True
            inst_c = ws.spre[sc]
            if shared:
                # the union over the shared loops: digits of the child's tile, then of those loops
                for d in range(ND):
                    ws.n_dig[d] = 1
                    ws.dig_s[d, 0] = 1
                    ws.dig_n[d, 0] = ws.tiles[c, d]
                for k in range(starts[p], sc):
                    a = axis[k]
                    if a >= 0 and (pk.reduction[a] if is_out else pk.multicast[a]):
                        d = dim[k]
                        ws.dig_s[d, ws.n_dig[d]] = ws.stride[k]
                        ws.dig_n[d, ws.n_dig[d]] = bound[k]
                        ws.n_dig[d] += 1
                union = _footprint(pk.proj, pk.n_tensor_axes, o, ws.dig_s, ws.dig_n, ws.n_dig, ws.cs, ws.ns, ws.marks, ws.marks_next)
            else:
                union = f_child * grow
            # the elements an instance of the child is filled with over the events: every event's whole tile, or with
            # sliding_window its part the previous tile did not hold, when the loop is the innermost temporal one above
            # the child (Timeloop: a loop inside it, even one the operand ignores, makes every tile a whole one)
            sliding = pk.sliding_window and not is_out and c < nl and last >= 0 and ws.tpre[sc] == ws.tpre[last + 1]
            if sliding:  # the innermost relevant loop's restarts (tpre[last]) and steps (the other iterations)
                slid = _slide(pk.proj, pk.n_tensor_axes, o, c, dim[last], ws.stride[last], ws.tpre[last], ws.tpre[last] * (bound[last] - 1.0), ws)
                moved = slid * union / f_child * dup * inst_p
            else:
                slid = events * f_child
                moved = events * union * dup * inst_p
            if p == 0:  # the real elements' share of what crosses the edge
                moved = moved * real_num / real_den
            per_event = moved / events if events > 0 else 0.0
            single = c == nl or not pk.double_buffered[c]  # the child cannot take its next tile while using this one
            if p == 0 and c < nl and not is_out:
                first_dram += per_event * pk.elem_bits[0, o]  # one event's fill of the outermost keeper
                if single:
                    demand_read += (events - 1) * per_event * pk.elem_bits[0, o]
            elif p == 0 and single and not is_out:
                demand_read += moved * pk.elem_bits[0, o] * mac_fraction
            if c == nl:
                moved *= mac_fraction  # a skipped MAC reads no operand and updates no partial sum
                per_event *= mac_fraction
            out.parent[c, o] = p
            out.last[c, o] = last
            child_bits = pk.elem_bits[c, o] if c < nl else 0.0
            if not is_out:
                filled = slid * inst_c
                if p == 0:
                    filled = filled * real_num / real_den
                out.parent_read_bits[c, o] = per_event * pk.elem_bits[p, o]
                out.parent_write_bits[c, o] = 0.0
                out.child_write_bits[c, o] = (filled / events if events > 0 else 0.0) * child_bits
                out.reads[p, o] += moved
                if c < nl:
                    out.fills[c, o] += filled
            else:
                # distinct elements the parent instances ever hold: every loop but the spatial ones above the parent
                if simple:
                    first = inst_p * relall / relsp_p
                else:
                    for d in range(ND):
                        ws.n_dig[d] = 0
                    for k in range(n):
                        if axis[k] >= 0 and k < starts[p]:
                            continue
                        d = dim[k]
                        ws.dig_s[d, ws.n_dig[d]] = ws.stride[k]
                        ws.dig_n[d, ws.n_dig[d]] = bound[k]
                        ws.n_dig[d] += 1
                    first = _footprint(pk.proj, pk.n_tensor_axes, o, ws.dig_s, ws.dig_n, ws.n_dig, ws.cs, ws.ns, ws.marks, ws.marks_next) * inst_p
                if p == 0:
                    first = first * real_num / real_den
                touched = first
                if c == nl and mac_fraction < 1.0 and first > 0:
                    # each element gets u = dense updates / elements updates, each performed with probability s; all but
                    # the first performed one read back: Σ_e (s·u − 1 + (1 − s)^u) (an element no MAC runs for is never touched)
                    touched = first * (1.0 - (1.0 - mac_fraction) ** (moved / mac_fraction / first))
                back = max(moved - touched, 0.0)  # the first touch of every element reads nothing back
                back_per_event = back / events if events > 0 else 0.0
                out.parent_read_bits[c, o] = back_per_event * pk.elem_bits[p, o]
                out.child_write_bits[c, o] = back_per_event * child_bits
                if p == 0:
                    touched_dram = touched
                    out.parent_write_bits[c, o] = top_output_write_bits(final_real, moved - touched, 0.0, pk.final_bits[o], pk.elem_bits[p, o]) / events
                    last_dram = out.parent_write_bits[c, o]
                    if single:
                        demand_read += back * pk.elem_bits[0, o]
                        write_backs = events - 1
                else:
                    out.parent_write_bits[c, o] = per_event * pk.elem_bits[p, o]
                out.updates[p, o] += moved
                out.reads[p, o] += back
                if c < nl:
                    # psum_fill_per_pe: what is read back fills every child instance whose partial sums it reduces
                    out.fills[c, o] += back * (f_child * inst_c / (union * dup * inst_p)) if pk.psum_fill_per_pe else back
            p = c
            relsp_p = relsp
    # compute: temporal iterations × unit cycles per MAC, less the skipped MACs, lengthened by the load imbalance
    iterations = ws.tpre[n]
    inner = 1.0  # the innermost level's temporal loops and the spatial loops over dims a skipped operand depends on
    units = 1.0
    if mac_fraction < 1.0:
        for k in range(n):
            if pk.skip_dims[dim[k]]:
                if axis[k] >= 0:
                    units *= bound[k]
                elif k >= starts[nl - 1]:
                    inner *= bound[k]
    compute = np.ceil(compute_cycles(iterations, pk.cycles_per_mac, mac_fraction, inner, units, pk.structured_skip) - 1e-9)
    # The stationary operand, its stream and the folds; a systolic array's fill/drain per fold (docs/architecture.md)
    systolic = pk.systolic and pk.axis_size.shape[0] > 0
    stat = -1
    if systolic and pk.pe_first < nl and keep[nl - 1].sum() == 1:
        stat = np.argmax(keep[nl - 1])
    if stat < 0:
        best_t = 1.0
        for o in range(3):
            t = 1.0
            for k in range(n - 1, -1, -1):
                if axis[k] >= 0:
                    continue
                if pk.relevant[o, dim[k]]:
                    break
                t *= bound[k]
            if t > best_t:
                stat = o
                best_t = t
    folds = iterations
    if stat >= 0:
        for k in range(n - 1, -1, -1):
            if axis[k] >= 0:
                continue
            if pk.relevant[stat, dim[k]]:
                break
            n_fold -= 1
            folds = ws.tpre[k]  # the temporal loops outside the stream
    per_fold = 0.0
    fill_drain = 0.0
    if systolic:
        per_fold = pk.skew + (pk.preload if stat == 0 or stat == 1 else 0.0) + pk.fold_overhead
        fill_drain = per_fold if pk.pe_first < nl and pk.double_buffered[nl - 1] else per_fold * folds
    # bits and energy per level; at DRAM, finished outputs are written at their final precision
    level_total = 0.0
    busy = compute + fill_drain
    overlapped = 0.0  # the transfers that stream while the PEs work
    exposed = 0.0  # on-chip refills the PEs wait for
    dram_wait = 0.0  # DRAM transfers of single-buffered children the PEs wait for (demand reads, write-back bursts)
    startup = 0.0
    drain = 0.0
    wbw0 = _INF
    one_port0 = False
    dram_stream = 0.0
    refill = -1
    longest = 0.0
    for l in range(nl):
        rb = 0.0
        wb = 0.0
        le = 0.0
        for o in range(3):
            if not keep[l, o]:
                out.access_energy[l, o] = 0.0
                continue
            b = pk.elem_bits[l, o]
            orb = out.reads[l, o] * b
            if pk.is_output[o] and l == 0:
                owb = top_output_write_bits(final_real, out.updates[l, o] - touched_dram, out.fills[l, o], pk.final_bits[o], b)
            else:
                owb = (out.fills[l, o] + out.updates[l, o]) * b
            e = (orb * pk.read_pj[l] + owb * pk.write_pj[l]) / pk.word_bits[l]
            if pk.whole_vectors:  # each instance's reads, fills and updates of the operand in whole words, rounded up
                used = ws.spre[starts[l]]
                if pk.is_output[o] and l == 0:
                    writes = _words(owb, used, 1.0, pk.word_bits[l])
                else:
                    writes = _words(out.fills[l, o], used, b, pk.word_bits[l]) + _words(out.updates[l, o], used, b, pk.word_bits[l])
                e = used * (_words(out.reads[l, o], used, b, pk.word_bits[l]) * pk.read_pj[l] + writes * pk.write_pj[l])
            out.access_energy[l, o] = e
            le += e
            rb += orb
            wb += owb
        out.read_bits[l] = rb
        out.write_bits[l] = wb
        out.level_energy[l] = le
        level_total += le
        # transfer time: bits per instance over the bandwidth (one port: reads and writes share it)
        used = ws.spre[starts[l]]
        r = rb / used
        w = wb / used
        rbw = pk.read_bw[l]
        wbw = pk.write_bw[l]
        one_port = pk.ports[l] == 1
        out.transfer[l] = (r + w) / rbw if one_port else max(r / rbw, w / wbw)
        if systolic and l >= pk.pe_first:
            continue  # inside a systolic array: operands forwarded PE to PE, their time is the fill/drain's
        if l == 0:
            # DRAM: the first tiles are read before compute starts, the last output tile written back after it ends;
            # the rest streams while the PEs compute, but for a single-buffered child's later reads (the PEs wait)
            startup = first_dram / rbw
            wbw0 = rbw if one_port else wbw
            one_port0 = one_port
            drain = last_dram / wbw0
            dram_wait += demand_read / rbw
            stream_w = w - last_dram * (1.0 + write_backs)
            if one_port:  # (the waited-for reads cross the channel too)
                dram_stream = (r - first_dram + stream_w) / rbw
            else:
                dram_stream = max((r - first_dram) / rbw, stream_w / wbw)
            overlapped = max(overlapped, dram_stream)
        elif pk.double_buffered[l]:
            overlapped = max(overlapped, out.transfer[l])  # refills hide behind compute
        else:
            # without a second buffer the PEs wait while a tile is refilled (the first one too: it is loaded after
            # the DRAM start-up); one port carries the refill and the reads in turn, two carry them side by side
            refill_t = w / rbw if one_port else w / wbw
            overlapped = max(overlapped, r / rbw)
            exposed += refill_t
            if refill_t > longest:
                refill = l
                longest = refill_t
    if pk.update_differs or pk.clustered:  # (out of line: the hot path stays as it was)
        level_total += _update_and_cluster_pricing(pk, keep, starts, out, ws, final_real, touched_dram)
    # The PEs' work and the streams, fold by fold: double buffers hold one fold's tiles ahead, so fold f + 1's traffic
    # streams while fold f runs and each fold lasts the longer of the two; a fill/drain paid once belongs to the first.
    work = busy + exposed + dram_wait
    if folds >= 2.0 and overlapped > 0.0:
        once = fill_drain if fill_drain < per_fold * folds else 0.0
        b = (work - once) / folds
        s = overlapped / (folds - 1.0)
        span = max(b + once, s) + (folds - 2.0) * max(b, s) + b
        fold_t = max(b, s)
    else:
        span = max(work, overlapped)
        fold_t = span / folds
    # Each write-back of a single-buffered child is a burst of W cycles on DRAM's write channel in the fold after its
    # tile ends (k per fold when tiles are shorter): one port: that fold lasts max(t, s + k·W), s its share of DRAM's
    # streams; two: the PEs wait what k·W takes beyond t.
    if write_backs > 0:
        per = max(1.0, (write_backs + 1.0) / folds)
        bursts = write_backs / per
        s_fold = dram_stream / max(folds - 1.0, 1.0)
        burst = per * last_dram / wbw0
        if one_port0:
            waits = bursts * (max(fold_t, s_fold + burst) - fold_t)
        else:
            waits = bursts * max(burst - fold_t, 0.0)
        span += waits
        dram_wait += waits
    cycles = startup + span + drain
    if pk.overlapped_cycles:  # every transfer overlaps compute: the longest of them in whole cycles, nothing exposed
        cycles = compute
        for l in range(nl):
            cycles = max(cycles, np.ceil(out.transfer[l] - 1e-9))
        startup = drain = exposed = dram_wait = fill_drain = 0.0
        refill = -1
    mac_energy = pk.macs * pk.mac_pj * pk.gate_fraction
    leak_mw = _utilized_leak_mw(pk, starts, ws) if pk.utilized_leakage else pk.leakage_mw
    leakage = leak_mw * 1e-3 * (cycles / pk.clock_hz) * 1e12
    out.compute[0] = compute
    out.exposed[0] = exposed
    out.dram_wait[0] = dram_wait
    out.startup[0] = startup
    out.drain[0] = drain
    out.fill_drain[0] = fill_drain
    out.fill_per_fold[0] = per_fold
    out.folds[0] = folds
    out.n_fold[0] = n_fold
    out.stationary[0] = stat
    out.cycles[0] = cycles
    out.mac_energy[0] = mac_energy
    out.leakage[0] = leakage
    out.energy[0] = level_total + mac_energy + leakage
    out.refill_level[0] = refill


# The same inlined, for loops over many mappings (a call passes the named tuples' arrays one by one: a tenth of the time)
cost_inline = compiled_inline(cost.py_func)


def run(
    layer: Layer, arch: Architecture, mapping: Mapping, mac_fraction: float | None = None, *, systolic: bool | None = None,
    fold_overhead: float = 0.0,
) -> tuple[Packed, Nest, Costs]:  # fmt: skip
    """Pack, build the nest of ``mapping`` and cost it (no validation of the mapping: the callers do it);
    ``mac_fraction`` overrides the share of MACs performed (default: the layer's expected one on ``arch``),
    ``systolic`` whether the PE array pays fill/drain per fold (default: inferred), ``fold_overhead`` the cycles
    every fill/drain adds (see :class:`hwsim.cost.cycle.CycleOptions`)."""
    pk = Packed.build(layer, arch)
    pk = pk._replace(mac_fraction=pk.mac_fraction if mac_fraction is None else float(mac_fraction),
                     systolic=pk.systolic if systolic is None else bool(systolic), fold_overhead=float(fold_overhead))
    loops, names, axes = mapping.nest(arch), [lv.name for lv in arch.levels], [a.name for a in arch.axes]
    keep = pk.keeps.copy()  # less the mapping's bypass
    for lv, op in mapping.bypass:
        keep[names.index(lv), OPERANDS.index(op)] = False
    nest = Nest(dim=np.array([DIMS.index(lp.dim) for lp in loops], np.int64), bound=np.array([lp.bound for lp in loops], np.int64),
                axis=np.array([-1 if lp.axis is None else axes.index(lp.axis) for lp in loops], np.int64),
                starts=np.array(level_starts(loops, len(names)), np.int64), keep=keep)  # fmt: skip
    out = new_costs(len(names))
    n = len(loops)
    padded = np.ones(ND, np.int64)
    np.multiply.at(padded, nest.dim, nest.bound)
    cost(pk, nest, n, out, workspace(pk, n, padded))
    return pk, nest, out
