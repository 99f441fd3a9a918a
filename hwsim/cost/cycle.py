"""The cycle-approximate engine: a mapping simulated fold by fold, with stalls by cause.

* **Folds and the stream.** The kernel (:func:`hwsim.cost.kernel.cost`) names the stationary operand, the folds
  (``n_fold``: the temporal loops outside the innermost ones that leave it in place, the stream of ``T`` cycles) and a
  systolic array's fill and drain per fold (SCALE-Sim's accounting: OS ``T + R + C − 2``, WS/IS ``2R + C + T − 2``
  per fold; paid once when the array's level is double-buffered); the closed form pays the same rule, this engine
  places it on the folds.
* **Traffic per fold.** Every transfer edge of the kernel (its events and the bits each moves, compressed formats and
  skipped MACs included) is placed on the fold where it happens, as numpy arrays over folds; every level's read and
  write bits total the kernel's (``tests/test_engine_traffic.py``).
* **SRAM.** A fold lasts at least its busiest on-chip level's traffic over its bandwidth (``SRAM-bound`` stall); a
  level without double buffering also waits for its refills. A double-buffered level writes each tile over the
  previous tile's folds (the first before the first fold), so it stalls only when a tile needs more transfer time
  than those folds last.
* **DRAM.** One read and one write channel (shared when ``ports == 1``), a latency per burst and a row-buffer model
  (:class:`DramTiming`). Reads for fold ``f`` are prefetched during fold ``f − 1`` when the levels below DRAM are
  double-buffered; outputs are written back after their fold, the output buffer holding two folds (a double-buffered
  level holding an output tile over many folds drains it over the next tile's folds). A double-buffered child
  loading (or draining) several tiles within one step streams the ones after the first (before the last) during the
  step. The resulting max-plus recurrence is solved for all folds at once by a parallel prefix scan (:func:`_schedule`).

``cycles = compute + fill_drain + sram_stall + dram_stall``; compute is the temporal iterations (padding included)
times the cycles one MAC takes at the layer's widths, less the MACs skipped on zeros: expected from the densities
(the busiest unit of each fold), or counted on real tensors (``simulate(..., tensors=...)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hwsim.core.arch import HWSIM, Architecture, Level
from hwsim.core.errors import Problem, SpecError
from hwsim.core.mapping import Loop, Mapping, level_starts, validate_mapping
from hwsim.core.workload import DIMS, Layer
from hwsim.cost.precision import UnitCycles, cycles_per_mac

if TYPE_CHECKING:
    from hwsim.cost.kernel import Packed

__all__ = ["CycleOptions", "CycleReport", "DramTiming", "simulate"]

# Folds beyond this many are merged (innermost fold loops join the stream): timing resolution
# is coarser, cycle counts are not.
MAX_STEPS = 1 << 16


@dataclass(frozen=True)
class DramTiming:
    """DRAM timing in core cycles: a latency per burst and a row-buffer penalty.

    Streaming ``B`` bytes keeps the channel busy ``B / bandwidth + B / row_bytes ·
    row_miss_cycles / banks`` cycles (a row miss per row streamed; consecutive rows open in
    different banks, so misses overlap); the data arrives ``latency_cycles`` after that.
    ``row_bytes = 0`` turns the row model off.
    """

    latency_cycles: float = 0.0
    row_bytes: int = 0
    row_miss_cycles: float = 0.0
    banks: int = 1

    @staticmethod
    def ideal(latency_cycles: float = 1.0) -> DramTiming:
        """A fixed latency and no row misses (SCALE-Sim's read port: one cycle)."""
        return DramTiming(latency_cycles=latency_cycles)

    @staticmethod
    def for_level(level: Level, clock_hz: float) -> DramTiming:
        """Typical timing of the level's ``dram_type`` (first-word latency, row size, tRP + tRCD, banks)."""
        key = (level.dram_type or "LPDDR4").upper().replace("-", "").replace("_", "")
        latency_ns, row_bytes, miss_ns, banks = _DRAM_TYPES.get(key, _DRAM_TYPES["LPDDR4"])
        cyc = clock_hz * 1e-9
        return DramTiming(latency_cycles=latency_ns * cyc, row_bytes=row_bytes, row_miss_cycles=miss_ns * cyc, banks=banks)

    def cycles(self, bits: np.ndarray, bits_per_cycle: float | None) -> np.ndarray:
        """Cycles the channel is busy streaming ``bits`` (per step) at ``bits_per_cycle`` (None:
        unlimited), row misses included; the latency is a delay, not occupancy (requests pipeline)."""
        t = np.zeros_like(bits, dtype=float) if bits_per_cycle is None else bits / bits_per_cycle
        if self.row_bytes:
            t = t + bits / 8 / self.row_bytes * self.row_miss_cycles / self.banks
        return t


# Typical figures (ns, bytes, ns, banks): first-word latency, row (page) size, tRP + tRCD, banks.
_DRAM_TYPES: dict[str, tuple[float, int, float, int]] = {
    "DDR3": (50.0, 2048, 27.5, 8),
    "LPDDR": (100.0, 1024, 40.0, 4),
    "LPDDR4": (90.0, 2048, 36.0, 8),
    "GDDR5": (60.0, 2048, 24.0, 16),
    "HBM2": (80.0, 1024, 28.0, 16),
    "HMC": (60.0, 256, 25.0, 16),
}


@dataclass(frozen=True)
class CycleOptions:
    """``dram``: DRAM timing (None: typical for the DRAM level's type). ``systolic``: whether
    the PE array pays fill and drain per fold (None: inferred, see the module docstring).
    ``fold_overhead_cycles``: cycles a systolic array adds to every fill/drain beyond the skew and
    preload (pipeline registers, drain of a generated design; see ``hwsim.rtl``)."""

    dram: DramTiming | None = None
    systolic: bool | None = None
    fold_overhead_cycles: float = 0.0


@dataclass(frozen=True)
class CycleReport(UnitCycles):
    """Cycles of one layer under one mapping, by cause, and the per-fold timeline.

    ``cycles = compute_cycles + fill_drain_cycles + sram_stall_cycles + dram_stall_cycles``.
    ``folds`` counts the schedule's folds (each of ``stream_cycles`` iterations);
    ``steps`` the simulated groups of folds (``folds_per_step`` each). ``prologue_cycles`` is
    the wait for the first fold's operands and ``epilogue_cycles`` the write-back after the
    last fold (both part of ``dram_stall_cycles``): whole-layer tiles cannot hide them.
    """

    layer: str
    arch: str
    macs: int | float  # float: per step of an op that runs every few steps
    num_macs: int
    clock_hz: float
    cycles: float
    compute_cycles: float
    fill_drain_cycles: float
    sram_stall_cycles: float
    dram_stall_cycles: float
    folds: int
    stream_cycles: int
    stationary: str | None
    systolic: bool
    dram_read_bits: float
    dram_write_bits: float
    sram_bound_level: str | None = None
    prologue_cycles: float = 0.0
    epilogue_cycles: float = 0.0
    steps: int = 1
    folds_per_step: int = 1
    mac_fraction: float = 1.0  # share of the MACs performed (expected from the densities, or counted on real tensors)
    mac_cycles: float = 1.0  # unit cycles per performed MAC at the layer's widths (hwsim.cost.precision.cycles_per_mac)
    level_read_bits: dict[str, float] = field(default_factory=dict)  # bits read from each level over the layer (all instances)
    level_write_bits: dict[str, float] = field(default_factory=dict)  # bits written into each level
    _trace: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def latency_s(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def bound_by(self) -> str:
        parts = {"compute": self.compute_cycles, "fill/drain": self.fill_drain_cycles, "SRAM": self.sram_stall_cycles,
                 "DRAM": self.dram_stall_cycles}  # fmt: skip
        return max(parts, key=parts.__getitem__)

    def breakdown(self) -> dict[str, float]:
        return {
            "compute_cycles": self.compute_cycles,
            "fill_drain_cycles": self.fill_drain_cycles,
            "sram_stall_cycles": self.sram_stall_cycles,
            "dram_stall_cycles": self.dram_stall_cycles,
        }

    def timeline(self) -> pd.DataFrame:
        """Which unit is busy when: one row per (unit, step) interval, in cycles.

        Units: ``PE array`` (kind ``compute`` and ``fill/drain``), ``SRAM`` (kind ``stall``:
        the fold waits for an on-chip level), ``DRAM read`` and ``DRAM write`` (kind ``transfer``).
        """
        t = self._trace
        if not t:
            return pd.DataFrame(columns=["unit", "kind", "step", "start_cycle", "end_cycle"])
        step = np.arange(len(t["start"]))
        parts = [
            ("PE array", "fill/drain", t["start"], t["start"] + t["fill"]),
            ("PE array", "compute", t["start"] + t["fill"], t["start"] + t["fill"] + t["compute"]),
            ("SRAM", "stall", t["start"] + t["fill"] + t["compute"], t["end"]),
            ("DRAM read", "transfer", t["read_end"] - t["read"], t["read_end"]),
            ("DRAM write", "transfer", t["write_end"] - t["write"], t["write_end"]),
        ]
        frames = [
            pd.DataFrame({"unit": unit, "kind": kind, "step": step, "start_cycle": s, "end_cycle": e})[e > s + 1e-9]
            for unit, kind, s, e in parts
        ]
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["start_cycle", "unit"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Structure of the schedule


def _changed(bounds: list[int]) -> np.ndarray:
    """For each step of a mixed-radix counter: the outermost loop whose index changed (−1 at 0)."""
    total = math.prod(bounds)
    f = np.arange(total, dtype=np.int64)
    # Loop j changes at f iff f is a multiple of the product of the loops inside it.
    k = np.full(total, len(bounds) - 1, dtype=np.int64)
    for j in range(len(bounds) - 2, -1, -1):
        k = np.where(f % math.prod(bounds[j + 1 :]) == 0, j, k)
    if total:
        k[0] = -1
    return k


@dataclass
class _Traffic:
    read_bits: np.ndarray  # per level, per step: bits read from the level (all instances)
    write_bits: np.ndarray  # per level, per step: bits written into the level
    dram_write_late: np.ndarray  # DRAM write bits per step, placed on the fold that evicts them
    dram_demand: np.ndarray  # DRAM read bits per step that cannot be prefetched (child not double-buffered)
    new_output: np.ndarray  # per step: it starts a new DRAM output tile (needs a free output buffer)
    packed: Packed  # the (layer, architecture) pair the kernel costed
    inner_read: np.ndarray | None = None  # DRAM read bits per step for a double-buffered child's later tiles inside the step
    inner_write: np.ndarray | None = None  # DRAM write bits per step of its output tiles but the step's last (part of dram_write_late)


# ---------------------------------------------------------------------------------------------
# The engine


def simulate(
    layer: Layer, arch: Architecture, mapping: Mapping, options: CycleOptions | None = None, *, check: bool = True,
    tensors: dict[str, np.ndarray] | None = None,
) -> CycleReport:  # fmt: skip
    """Simulate one layer under one mapping fold by fold (the module docstring's model). ``tensors`` (operand name →
    array in the operand's axes, e.g. weights G·K·C·R·S) makes each fold's compute the work the MAC units do on that
    data: its busiest unit's non-skipped MACs (balanced for N:M hardware, which compacts every group)."""
    options = options or CycleOptions()
    if arch.semantics != HWSIM:
        raise SpecError(arch.source, [Problem("semantics", arch.semantics.name, "expected hwsim's semantics for the cycle engine, which "
                                              "simulates hwsim's transfers fold by fold (use the analytical engine)")])  # fmt: skip
    if check:
        validate_mapping(layer, arch, mapping)
    from hwsim.cost import kernel  # lazily: ``import hwsim`` stays numba-free

    n = len(arch.levels)
    nest = mapping.nest(arch)
    starts = level_starts(nest, n)
    temporal = [lp for lp in nest if not lp.spatial]
    # The kernel's figures: traffic per edge, and the stationary operand, the folds and their fill/drain (one rule).
    costs = kernel.run(layer, arch, mapping, systolic=options.systolic, fold_overhead=options.fold_overhead_cycles)
    packed, _, out = costs
    systolic = bool(packed.systolic and arch.axes)
    stationary = kernel.OPERANDS[int(out.stationary[0])] if out.stationary[0] >= 0 else None

    # The stream: innermost temporal loops the stationary operand ignores.
    n_fold = int(out.n_fold[0])
    stream = math.prod(lp.bound for lp in temporal[n_fold:])
    folds = math.prod(lp.bound for lp in temporal[:n_fold])
    n_step = n_fold
    while math.prod(lp.bound for lp in temporal[:n_step]) > MAX_STEPS:
        n_step -= 1
    steps = math.prod(lp.bound for lp in temporal[:n_step])
    per_step = folds // steps
    changed = _changed([lp.bound for lp in temporal[:n_step]])

    traffic = _traffic(layer, arch, mapping, nest, starts, temporal, n_step, changed, costs)

    # Compute per step; the kernel's fill/drain on its folds (once, before the first, when it overlaps the folds).
    compute, performed = _compute(layer, arch, mapping, packed, nest, temporal, n_fold, steps, per_step, stream, tensors)
    fill = np.zeros(steps)
    fill_total = float(out.fill_drain[0])
    if fill_total < float(out.fill_per_fold[0]) * folds:
        fill[0] = fill_total
    else:
        fill[:] = fill_total / steps

    # On-chip levels above the array: a fold lasts at least each level's traffic time. Levels
    # without a second buffer first (the PEs wait for their refills), then double-buffered ones,
    # whose fills are done ahead (see _prefetch).
    busy = compute + fill
    sram_time = np.zeros(steps)
    exposed = np.zeros(steps)
    sram_level = None
    worst = 0.0
    pe_set = set(range(packed.pe_first, n)) if systolic else set()
    on_chip = sorted((i for i in range(1, n) if i not in pe_set), key=lambda i: arch.levels[i].double_buffered)
    times: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i in on_chip:  # (systolic forwarding inside the array is covered by fill/drain)
        lv = arch.levels[i]
        used = math.prod(lp.bound for lp in nest[: starts[i]] if lp.spatial)
        r, w = traffic.read_bits[i] / used, traffic.write_bits[i] / used
        rbw = lv.read_bandwidth_bits_per_cycle or math.inf
        wbw = lv.write_bandwidth_bits_per_cycle or math.inf
        if lv.double_buffered:
            above = min(sum(1 for lp in nest[: starts[i]] if not lp.spatial), n_step)
            if lv.ports == 1:
                t = r / rbw + _prefetch(w / rbw, changed < above, busy + exposed)
            else:
                t = np.maximum(r / rbw, _prefetch(w / wbw, changed < above, busy + exposed))
            e = np.zeros(steps)
        else:  # without a second buffer, the fold waits for its refills (on the one port, or the write port)
            t, e = r / rbw, w / (rbw if lv.ports == 1 else wbw)
            exposed += e
        times[i] = (t, e)
    for i, (t, e) in times.items():
        over = (np.maximum(t - busy, 0.0) + e).sum()
        if over > worst:
            worst, sram_level = over, arch.levels[i].name
        sram_time = np.maximum(sram_time, t)
    fold_time = np.maximum(busy, sram_time) + exposed

    # DRAM: prefetch of each step's reads, write-back after it, max-plus recurrence.
    dram = arch.levels[0]
    timing = options.dram if options.dram is not None else DramTiming.for_level(dram, arch.clock_hz)
    rbits, wbits, dbits = traffic.read_bits[0], traffic.dram_write_late, traffic.dram_demand
    dram_rbw, dram_wbw = dram.read_bandwidth_bits_per_cycle, dram.write_bandwidth_bits_per_cycle
    # A double-buffered child loading (draining) several tiles within one step: the tiles after the first (before
    # the last) stream while the step runs, which lasts at least their channel time; the channel carries them during
    # the step, beside the next step's prefetch (and the previous step's write-back).
    sram_total = float((fold_time - busy).sum())
    ir = traffic.inner_read if traffic.inner_read is not None else np.zeros(steps)
    iw = traffic.inner_write if traffic.inner_write is not None else np.zeros(steps)
    if ir.any() or iw.any():
        if dram.ports == 1:
            inner = timing.cycles(ir + iw, dram_rbw)
        else:
            inner = np.maximum(timing.cycles(ir, dram_rbw), timing.cycles(iw, dram_wbw))
        fold_time = np.maximum(fold_time, inner)
        rbits, wbits = rbits - ir, wbits - iw
    ir_prev = np.concatenate(([0.0], ir[:-1]))  # step f's in-step reads share the channel with step f + 1's prefetch
    read_total, write_total = float(traffic.read_bits[0].sum()), float(traffic.dram_write_late.sum())
    if dram.ports == 1:
        # One channel for both: the write-back of step f − 2 (ready when step f − 1 starts, the
        # output buffer holding two steps) shares the channel with step f's prefetch; the last
        # two steps' write-backs follow the final step.
        shifted = np.concatenate(([0.0, 0.0], wbits[:-2]))[:steps]
        iw_prev = np.concatenate(([0.0], iw[:-1]))
        xp, xd = timing.cycles(rbits - dbits + shifted + ir_prev + iw_prev, dram_rbw), timing.cycles(dbits, dram_rbw)
        y = np.zeros(steps)
        y[-2:] = timing.cycles(wbits[-2:], dram_wbw)
    else:
        iw_next = np.concatenate((iw[1:], [0.0]))  # step f + 1's in-step writes share the channel with f's write-back
        xp, xd = timing.cycles(rbits - dbits + ir_prev, dram_rbw), timing.cycles(dbits, dram_rbw)
        y = timing.cycles(wbits + iw_next, dram_wbw)
    start, read_end, write_end = _schedule(xp, xd, y, fold_time, timing.latency_cycles, traffic.new_output)
    total = float(write_end[-1])

    comp_total = float(compute.sum())
    fill_total = float(fill.sum())
    return CycleReport(
        layer=layer.name,
        arch=arch.name,
        macs=layer.macs,
        num_macs=arch.num_macs,
        clock_hz=arch.clock_hz,
        cycles=total,
        compute_cycles=comp_total,
        fill_drain_cycles=fill_total,
        sram_stall_cycles=sram_total,
        dram_stall_cycles=max(total - comp_total - fill_total - sram_total, 0.0),
        folds=folds,
        stream_cycles=stream,
        stationary=stationary,
        systolic=systolic,
        dram_read_bits=read_total,
        dram_write_bits=write_total,
        sram_bound_level=sram_level,
        prologue_cycles=float(start[0]),
        epilogue_cycles=float(total - start[-1] - fold_time[-1]),
        steps=steps,
        folds_per_step=per_step,
        mac_fraction=performed,
        mac_cycles=cycles_per_mac(layer, arch.mac),
        level_read_bits={lv.name: float(traffic.read_bits[i].sum()) for i, lv in enumerate(arch.levels)},
        level_write_bits={lv.name: float(traffic.write_bits[i].sum()) for i, lv in enumerate(arch.levels)},
        _trace={
            "start": start, "end": start + fold_time, "fill": fill, "compute": compute,
            "read": xp + xd, "read_end": read_end, "write": y, "write_end": write_end,
        },
    )


def _prefetch(w: np.ndarray, starts_tile: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Write time per step of a double-buffered level, its fills done ahead.

    ``w[f]``: time to write what the level takes in at step ``f``; ``starts_tile[f]``: the level's
    tile changes at step ``f``. While one tile is in use the other half of the buffer takes the
    next: the writes at a tile's first step move onto the previous tile's steps, and each tile's
    writes are shared among its steps in proportion to ``avail`` (their time without this level).
    The first tile is loaded before the first step (the prologue, which the DRAM schedule
    times). Writes with no step to hide behind stay where they are.
    """
    steps = len(w)
    if steps <= 1:
        return np.zeros_like(w)
    later = np.arange(steps) > 0
    tile = np.cumsum(starts_tile | ~later) - 1
    room = np.bincount(tile, weights=avail, minlength=tile[-1] + 1)
    owner = np.where(starts_tile & later, tile - 1, tile)
    owner = np.where(room[owner] > 0, owner, tile)
    spread = later & (room[owner] > 0)
    need = np.bincount(owner[spread], weights=w[spread], minlength=len(room))
    share = np.divide(avail, room[tile], out=np.zeros(steps), where=room[tile] > 0)
    return np.where(spread | ~later, 0.0, w) + need[tile] * share


def _compute(
    layer: Layer, arch: Architecture, mapping: Mapping, packed: Packed, nest: list[Loop], temporal: list[Loop], n_fold: int,
    steps: int, per_step: int, stream: int, tensors: dict[str, np.ndarray] | None,
) -> tuple[np.ndarray, float]:  # fmt: skip
    """Compute cycles of each step: the stream's iterations per fold times the cycles one MAC takes at the
    layer's widths, less the MACs skipped on zeros (counted on ``tensors``, or expected from the densities
    with the busiest unit's share: the kernel's :func:`hwsim.cost.kernel.compute_cycles` over one fold); and the
    share of the layer's MACs performed (counted, or expected: the kernel's ``mac_fraction``)."""
    from hwsim.cost.kernel import compute_cycles
    from hwsim.cost.sparsity import MAX_WALK, live_iterations, performed_macs

    cpm = packed.cycles_per_mac
    bounds = [lp.bound for lp in nest]
    if tensors and any(name in arch.mac.skip for name in tensors) and math.prod(bounds) <= MAX_WALK:
        live, skipped, structured = live_iterations(layer, arch, mapping, tensors)
        if skipped:
            t_axes = [k for k, lp in enumerate(nest) if not lp.spatial]
            stream_axes = tuple(t_axes[n_fold:])
            per_unit = live.sum(axis=stream_axes) if stream_axes else live.astype(np.int64)
            remaining = [k for k in range(len(nest)) if k not in stream_axes]
            sp = tuple(remaining.index(k) for k, lp in enumerate(nest) if lp.spatial)
            if structured:  # every group compacted to its kept values: the units share the fold's work evenly
                units = math.prod(bounds[k] for k, lp in enumerate(nest) if lp.spatial)
                per_fold = per_unit.sum(axis=sp) / units if sp else per_unit
            else:
                per_fold = per_unit.max(axis=sp) if sp else per_unit
            performed = performed_macs(layer, arch, mapping, live) / layer.macs if layer.macs else 0.0
            return np.asarray(per_fold, float).reshape(steps, per_step).sum(axis=1) * cpm, performed
    spread = {d for d, skip in zip(DIMS, packed.skip_dims, strict=True) if skip}
    inner = math.prod(lp.bound for lp in temporal[n_fold:] if lp.dim in spread)
    pes = math.prod(lp.bound for lp in nest if lp.spatial and lp.dim in spread)
    fold = compute_cycles(float(stream), cpm, packed.mac_fraction, inner, pes, packed.structured_skip)
    return np.full(steps, per_step * fold), packed.mac_fraction


def _traffic(
    layer: Layer, arch: Architecture, mapping: Mapping, nest: list[Loop], starts: list[int], temporal: list[Loop], n_step: int,
    changed: np.ndarray, costs: tuple | None = None,
) -> _Traffic:  # fmt: skip
    """Bits moved per level per step: the kernel's transfer edges (their events, the bits each event reads from the
    parent, writes into the child and, for outputs, writes back to the parent), placed on their folds. (``starts`` is
    not needed, the edges carry their nest positions; tests/test_overlap.py calls this with it.)"""
    from hwsim.cost import kernel  # lazily: ``import hwsim`` stays numba-free

    packed, _, out = kernel.run(layer, arch, mapping) if costs is None else costs
    n = len(arch.levels)
    steps = len(changed)
    t_index = np.cumsum([not lp.spatial for lp in nest]) - 1  # nest position → index among the temporal loops
    read = np.zeros((n, steps))
    write = np.zeros((n, steps))
    late = np.zeros(steps)
    demand = np.zeros(steps)
    inner_read = np.zeros(steps)
    inner_write = np.zeros(steps)
    new_output = np.ones(steps, dtype=bool)
    for op in layer.operands:
        o = kernel.OPERANDS.index(op.name)
        for c in range(n + 1):
            p = int(out.parent[c, o])
            if p < 0:
                continue
            last = int(t_index[out.last[c, o]]) if out.last[c, o] >= 0 else -1
            # Events per step: at fold boundaries when the last relevant loop is a fold loop,
            # else a fixed number inside every step.
            if last < n_step:
                ev = (changed <= last).astype(float)
            else:
                inner = math.prod(lp.bound for lp in temporal[n_step : last + 1])
                ev = np.full(steps, float(inner))
            # A double-buffered child loads its next tile while the current one is in use.
            buffered = c < n and arch.levels[c].double_buffered
            move = _spread(ev) if last < n_step and buffered else ev
            read[p] += move * out.parent_read_bits[c, o]
            if p == 0 and not buffered:
                demand += move * out.parent_read_bits[c, o]
            elif p == 0 and last >= n_step:  # tiles after a step's first stream in while the step runs
                inner_read += (ev - 1) * out.parent_read_bits[c, o]
            if c < n:
                write[c] += move * out.child_write_bits[c, o]
            if not op.is_output:
                continue
            upd_bits = float(out.parent_write_bits[c, o])
            if p > 0:
                write[p] += move * upd_bits  # a double buffer drains the old tile while the new one fills
                continue
            write[0] += ev * upd_bits
            if last < n_step:
                idx = np.flatnonzero(ev)
                if buffered and len(idx) > 1:
                    # The child drains one tile to DRAM while the next accumulates in its other
                    # half: each tile's write-back spreads over the next tile's steps (a step's
                    # share leaves after it: from the tile's own last step on).
                    sizes = np.diff(np.append(idx, steps))
                    late[idx[1] - 1 : steps - 1] += np.repeat(upd_bits / sizes[1:], sizes[1:])
                else:  # an update leaves when its tile is evicted: at the next event
                    late[idx[1:] - 1] += upd_bits
                late[-1] += upd_bits  # the last tile after the final step
                new_output &= ev > 0  # steps that accumulate into the previous step's tile need no new buffer
            else:
                late += ev * upd_bits
                if buffered:  # a double buffer drains a step's earlier tiles while the step runs
                    inner_write += (ev - 1) * upd_bits
    return _Traffic(read, write, late, demand, new_output, packed, inner_read, inner_write)


def _spread(ev: np.ndarray) -> np.ndarray:
    """Events (0/1 per step) with each load after the first spread evenly over the steps since
    the previous one: the window in which a double buffer can prefetch it."""
    idx = np.flatnonzero(ev)
    out = np.zeros(len(ev))
    if len(idx) == 0:
        return out
    out[idx[0]] = 1.0
    gaps = np.diff(idx)
    if len(gaps):
        out[idx[0] + 1 : idx[-1] + 1] = np.repeat(1.0 / gaps, gaps)
    return out


def _maxplus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched max-plus matrix product: out[f, i, j] = max_k a[f, i, k] + b[f, k, j]."""
    return np.max(a[:, :, :, None] + b[:, None, :, :], axis=2)


def _schedule(
    xp: np.ndarray, xd: np.ndarray, y: np.ndarray, c: np.ndarray, latency: float, new_output: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start of each step, end of its reads and end of its write-back, for all steps at once.

    ``xp``: read-channel cycles of data prefetched into double buffers (issued when the previous
    step starts); ``xd``: of data that can only be fetched once the previous step is done (its
    buffer is single), paying the latency ``L``; ``y``: write-back cycles. State per step f:
    a = the read channel is done with f's data, b = f starts, w = the write-back of f − 1 is done::

        a_f = max(max(a_{f-1}, b_{f-1}) + xp_f,  b_{f-1} + c_{f-1} [if xd_f > 0]) + xd_f
        b_f = max(a_f [+ L if xd_f > 0], b_{f-1} + c_{f-1}, w_{f-1} [if new_output_f])   (outputs double-buffered)
        w_f = max(w_{f-1}, b_{f-1} + c_{f-1}) + y_{f-1}

    A step that keeps accumulating into the previous step's output tile (``new_output`` false)
    needs no free output buffer. Prefetch streams hide their latency after the first step. The recurrence is linear in
    max-plus algebra, so the states are prefix products of 3×3 matrices (a parallel scan).
    """
    steps = len(xp)
    ninf = -np.inf
    p, d = xp[1:], xd[1:]
    has_d = d > 0
    cp, yp = c[:-1], y[:-1]
    ld = np.where(has_d, latency, 0.0)
    m = np.empty((steps, 3, 3))
    m[0] = np.array([[0, ninf, ninf], [ninf, 0, ninf], [ninf, ninf, 0]])
    if steps > 1:
        ab = np.maximum(p + d, np.where(has_d, cp + d, ninf))
        m[1:, 0, 0], m[1:, 0, 1], m[1:, 0, 2] = p + d, ab, ninf
        wait_w = 0.0 if new_output is None else np.where(new_output[1:], 0.0, ninf)
        m[1:, 1, 0], m[1:, 1, 1], m[1:, 1, 2] = p + d + ld, np.maximum(ab + ld, cp), wait_w
        m[1:, 2, 0], m[1:, 2, 1], m[1:, 2, 2] = ninf, cp + yp, yp
    k = 1
    while k < steps:
        m[k:] = _maxplus(m[k:], m[:-k])
        k *= 2
    first = xp[0] + xd[0]
    s0 = np.array([first, first + (latency if first > 0 else 0.0), 0.0])
    s = np.max(m + s0[None, None, :], axis=2)
    a, b, w = s[:, 0], s[:, 1], s[:, 2]
    # Write-back of step f ends at w_{f+1}; the last one after the final step.
    write_end = np.empty(steps)
    write_end[:-1] = w[1:]
    write_end[-1] = max(w[-1], b[-1] + c[-1]) + y[-1]
    return b, a, write_end
