"""The analytical cost model: closed-form access counts, cycles and energy of one mapping.

Data movement semantics (the brute-force interpreter in :mod:`hwsim.bruteforce` walks the
same rules iteration by iteration, and the two must agree exactly):

* For each operand, the levels that keep it form a chain from DRAM to the MACs. Between a
  parent and its child in the chain, the child holds a tile; the tile is replaced whenever a
  loop *above the child* that the operand depends on changes index. Loops above the child
  that the operand ignores, when innermost, leave the tile in place (temporal reuse).
  MACs hold nothing: they access their innermost level on every temporal iteration.
* A transfer moves the whole new tile. Across spatial instances between parent and child,
  an axis with multicast (reduction, for outputs) moves the *union* of the instances' tiles
  once (so halo overlaps are shared); an axis without it moves each instance's tile.
* Outputs are partial sums: every replaced child tile is written back to the parent
  (``updates``); a child tile is read from the parent (``reads``, and ``fills`` of the
  child) only for elements that already hold a partial sum, so the first touch of each
  element reads nothing.

Counts are elements, summed over all instances; energy converts them to words of each
level (``bits / word_bits`` words per element, as Timeloop charges a block's scalars).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import pandas as pd

from hwsim.arch import Architecture
from hwsim.mapping import Loop, Mapping, level_starts, tile_extents, validate_mapping
from hwsim.precision import UnitCycles, check_numbers, compute_cycles, cycles_per_mac, energy_per_mac_pj
from hwsim.sparsity import check_sparsity, element_bits, gate_fraction, skip_dims, skip_fraction
from hwsim.workload import Layer, Operand

__all__ = ["Accesses", "CostReport", "access_counts", "evaluate_mapping"]


@dataclass
class Accesses:
    """Element accesses of one operand at one level, summed over the level's instances."""

    reads: float = 0
    fills: float = 0
    updates: float = 0

    @property
    def writes(self) -> float:
        return self.fills + self.updates


def _digit_strides(nest: list[Loop]) -> list[int]:
    """Index stride of each loop: product of the bounds of the loops inside it on the same dim."""
    strides = [1] * len(nest)
    running: dict[str, int] = {}
    for k in range(len(nest) - 1, -1, -1):
        lp = nest[k]
        strides[k] = running.get(lp.dim, 1)
        running[lp.dim] = strides[k] * lp.bound
    return strides


def _events(loops: list[Loop], op: Operand, every: bool) -> int:
    """How many times a child tile is (re)loaded: loops up to the innermost relevant one."""
    temporal = [lp for lp in loops if not lp.spatial]
    if every:
        return math.prod(lp.bound for lp in temporal)
    rel = op.relevant_dims
    last = max((k for k, lp in enumerate(temporal) if lp.dim in rel), default=-1)
    return math.prod(lp.bound for lp in temporal[: last + 1])


def access_counts(layer: Layer, arch: Architecture, mapping: Mapping, mac_fraction: float = 1.0) -> dict[tuple[str, str], Accesses]:
    """Reads, fills and updates of every (level name, operand name) pair that keeps data.

    ``mac_fraction`` is the share of MACs actually performed (zero-skipping): a skipped MAC
    reads no operand and updates no partial sum.
    """
    nest = mapping.nest(arch)
    n = len(arch.levels)
    starts = level_starts(nest, n)
    strides = _digit_strides(nest)
    axes = {a.name: a for a in arch.axes}
    counts: dict[tuple[str, str], Accesses] = {}
    for op in layer.operands:
        chain = mapping.chain(arch, op.name)
        for i in chain[:-1]:
            counts[(arch.levels[i].name, op.name)] = Accesses()
        for p, c in itertools.pairwise(chain):
            parent = counts[(arch.levels[p].name, op.name)]
            child = counts.get((arch.levels[c].name, op.name)) if c < n else None
            events = _events(nest[: starts[c]], op, every=(c == n))
            inst_p = math.prod(lp.bound for lp in nest[: starts[p]] if lp.spatial)
            between = [k for k in range(starts[p], starts[c]) if nest[k].spatial]
            inst_c = inst_p * math.prod(nest[k].bound for k in between)
            child_tile = tile_extents(nest, starts[c])
            digits: dict[str, list[tuple[int, int]]] = {d: [(1, t)] for d, t in child_tile.items()}
            duplicated = 1
            for k in between:
                axis = axes[nest[k].axis or ""]
                shares = axis.reduction if op.is_output else axis.multicast
                if shares:
                    digits.setdefault(nest[k].dim, []).append((strides[k], nest[k].bound))
                else:
                    duplicated *= nest[k].bound
            union = op.footprint_digits({d: tuple(v) for d, v in digits.items()}) * duplicated
            moved: float = events * union * inst_p
            if c == n and mac_fraction < 1.0:
                moved *= mac_fraction
            if not op.is_output:
                parent.reads += moved
                if child is not None:
                    child.fills += events * op.footprint(child_tile) * inst_c
            else:
                first = _first_touches(nest, strides, starts[p], op) * inst_p
                parent.updates += moved
                parent.reads += max(moved - first, 0)
                if child is not None:
                    child.fills += max(moved - first, 0)
    return counts


def _first_touches(nest: list[Loop], strides: list[int], start_p: int, op: Operand) -> int:
    """Distinct elements one parent instance ever holds: all loops but the spatial ones above it."""
    digits: dict[str, list[tuple[int, int]]] = {}
    for k, lp in enumerate(nest):
        if lp.spatial and k < start_p:
            continue
        digits.setdefault(lp.dim, []).append((strides[k], lp.bound))
    return op.footprint_digits({d: tuple(v) for d, v in digits.items()})


@dataclass(frozen=True)
class CostReport(UnitCycles):
    """Cost of one layer (or non-MAC op) on one architecture under one mapping.

    ``cycles`` = max(compute + the refill time of levels without double buffering
    (``exposed_cycles``, the PEs wait for it), each level's transfer time) + ``startup_cycles``
    (loading the first tiles).
    ``energy_pj`` = storage accesses + MACs + leakage over ``cycles``.
    """

    layer: str
    arch: str
    macs: int | float  # float: a per-step share of an op that runs every few steps (per_step)
    macs_executed: int | float
    cycles: float
    compute_cycles: float
    startup_cycles: float
    exposed_cycles: float
    transfer_cycles: dict[str, float]
    energy_pj: float
    mac_energy_pj: float
    leakage_energy_pj: float
    level_energy_pj: dict[str, float]
    accesses: dict[tuple[str, str], Accesses]
    access_energy_pj: dict[tuple[str, str], float]
    num_macs: int
    clock_hz: float
    area_um2: float
    mapping: Mapping | None = None
    kind: str = "layer"
    notes: tuple[str, ...] = field(default=())
    mac_fraction: float = 1.0  # share of the MACs performed (the rest skipped as zeros)
    refill_level: str = ""  # the level without double buffering whose refills stall the PEs longest
    mac_cycles: float = 1.0  # unit cycles per performed MAC at the layer's widths (hwsim.precision.cycles_per_mac)

    @property
    def latency_s(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def edp_pj_s(self) -> float:
        return self.energy_pj * self.latency_s

    @property
    def bound_by(self) -> str:
        """What sets ``cycles`` (startup aside): the compute with the refills it waits for — named
        after the refilling level (``"<level> refills"``) when they take at least as long as the
        compute — or the level whose transfers take longest."""
        worst = max(self.transfer_cycles.items(), key=lambda kv: kv[1], default=("compute", 0.0))
        if self.compute_cycles + self.exposed_cycles >= worst[1] - 1e-9 * worst[1]:
            if self.refill_level and self.exposed_cycles >= self.compute_cycles:
                return f"{self.refill_level} refills"
            return "compute"
        return worst[0]

    def per_step(self, every_steps: int) -> CostReport:
        """This op's cost per step when it runs once every ``every_steps`` steps (behind a temporal stride):
        MACs, cycles, accesses and energies divided by it."""
        if every_steps == 1:
            return self
        f = 1.0 / every_steps
        return replace(
            self, macs=self.macs * f, macs_executed=self.macs_executed * f, cycles=self.cycles * f, compute_cycles=self.compute_cycles * f,
            startup_cycles=self.startup_cycles * f, exposed_cycles=self.exposed_cycles * f,
            transfer_cycles={k: v * f for k, v in self.transfer_cycles.items()}, energy_pj=self.energy_pj * f,
            mac_energy_pj=self.mac_energy_pj * f, leakage_energy_pj=self.leakage_energy_pj * f,
            level_energy_pj={k: v * f for k, v in self.level_energy_pj.items()},
            accesses={k: Accesses(a.reads * f, a.fills * f, a.updates * f) for k, a in self.accesses.items()},
            access_energy_pj={k: v * f for k, v in self.access_energy_pj.items()},
            notes=(*self.notes, f"runs once every {every_steps} steps: figures per step"),
        )  # fmt: skip

    def summary(self) -> dict[str, float | int | str]:
        row: dict[str, float | int | str] = {
            "name": self.layer,
            "kind": self.kind,
            "macs": self.macs,
            "cycles": self.cycles,
            "energy_pj": self.energy_pj,
            "utilization": self.utilization,
            "mac_speedup": self.mac_speedup,
            "latency_s": self.latency_s,
            "pj_per_mac": self.energy_pj / self.macs if self.macs else 0.0,
            "bound_by": self.bound_by,
            "mac_energy_pj": self.mac_energy_pj,
            "leakage_energy_pj": self.leakage_energy_pj,
        }
        for lv, e in self.level_energy_pj.items():
            row[f"{lv}_energy_pj"] = e
        return row

    def to_frame(self) -> pd.DataFrame:
        """One row per (level, operand): element reads/fills/updates and energy."""
        rows = [
            {"level": lv, "operand": op, "reads": a.reads, "fills": a.fills, "updates": a.updates,
             "energy_pj": self.access_energy_pj[(lv, op)]}
            for (lv, op), a in self.accesses.items()
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["level", "operand", "reads", "fills", "updates", "energy_pj"])


def _bits_moved(op: Operand, a: Accesses, top: bool, final_writes: int, b: float) -> tuple[float, float]:
    """(read bits, write bits) of an operand at a level storing ``b`` bits per element; at the
    top, finished outputs leave at ``bits``."""
    if op.is_output and top:
        return a.reads * b, final_writes * op.bits + (a.updates - final_writes) * b + a.fills * b
    return a.reads * b, a.writes * b


def evaluate_mapping(layer: Layer, arch: Architecture, mapping: Mapping, *, check: bool = True) -> CostReport:
    """Cost one layer under one mapping (validated first unless ``check=False``)."""
    if check:
        validate_mapping(layer, arch, mapping)
    check_sparsity(layer, arch.levels, f"layer {layer.name!r} on {arch.name!r}")
    check_numbers(layer, arch.mac, f"layer {layer.name!r} on {arch.name!r}")
    skipped = skip_fraction(layer, arch.mac)
    counts = access_counts(layer, arch, mapping, skipped)
    nest = mapping.nest(arch)
    starts = level_starts(nest, len(arch.levels))
    padded = mapping.padded_bounds()
    out_elems = layer.operand("outputs").footprint(padded)

    level_energy: dict[str, float] = {lv.name: 0.0 for lv in arch.levels}
    access_energy: dict[tuple[str, str], float] = {}
    read_bits = {lv.name: 0.0 for lv in arch.levels}
    write_bits = {lv.name: 0.0 for lv in arch.levels}
    for (lv_name, op_name), a in counts.items():
        i = arch.level_index(lv_name)
        lv = arch.levels[i]
        op = layer.operand(op_name)
        rb, wb = _bits_moved(op, a, i == 0, out_elems, element_bits(op, lv))
        e = (rb * lv.read_energy_pj + wb * lv.write_energy_pj) / lv.word_bits
        access_energy[(lv_name, op_name)] = e
        level_energy[lv_name] += e
        read_bits[lv_name] += rb
        write_bits[lv_name] += wb

    spread = skip_dims(layer, arch.mac)
    inner = math.prod(lp.bound for lp in nest[starts[len(arch.levels) - 1] :] if not lp.spatial and lp.dim in spread)
    distinct_units = math.prod(lp.bound for lp in nest if lp.spatial and lp.dim in spread)
    compute = compute_cycles(layer, arch, mapping.temporal_iterations, inner, distinct_units)
    transfer: dict[str, float] = {}
    overlapped = [compute]
    exposed = startup = 0.0
    refill_level, longest = "", 0.0
    for i, lv in enumerate(arch.levels):
        used = math.prod(lp.bound for lp in nest[: starts[i]] if lp.spatial)
        rbw, wbw = lv.read_bandwidth_bits_per_cycle or math.inf, lv.write_bandwidth_bits_per_cycle or math.inf
        r, w = read_bits[lv.name] / used, write_bits[lv.name] / used
        read_t, write_t = (r + w) / rbw if lv.ports == 1 else r / rbw, 0.0 if lv.ports == 1 else w / wbw
        transfer[lv.name] = max(read_t, write_t)
        if i == 0 or lv.double_buffered:
            overlapped.append(transfer[lv.name])  # refills hide behind compute
        else:
            overlapped.append(read_t)
            exposed += write_t  # without a second buffer, compute waits while a tile is refilled
            if write_t > longest:
                refill_level, longest = lv.name, write_t
        if i > 0 and math.isfinite(wbw):
            tile = tile_extents(nest, starts[i])
            first_bits = sum(layer.operand(o).footprint(tile) * element_bits(layer.operand(o), lv) for o in mapping.kept(arch, i)
                             if not layer.operand(o).is_output)  # fmt: skip
            startup += first_bits / wbw
    # The first tiles come from DRAM: one event's fill of each operand's outermost on-chip keeper
    # (a union over the instances that multicast, a copy for each that does not) crosses its read channel.
    dram_rbw = arch.levels[0].read_bandwidth_bits_per_cycle or math.inf
    first_dram = 0.0
    for op in layer.operands:
        chain = mapping.chain(arch, op.name)
        if op.is_output or chain[0] != 0 or chain[1] == len(arch.levels):
            continue
        keeper = chain[1]
        events = _events(nest[: starts[keeper]], op, every=False)
        first_dram += counts[(arch.levels[0].name, op.name)].reads / events * element_bits(op, arch.levels[0])
    startup = max(startup, first_dram / dram_rbw)
    # A refill without a second buffer stalls the PEs, not the levels that double-buffer: their
    # transfers (DRAM's prefetch among them) go on meanwhile, so the stall adds to compute only.
    cycles = max(*overlapped, compute + exposed) + startup
    latency_s = cycles / arch.clock_hz
    mac_energy = layer.macs * energy_per_mac_pj(layer, arch.mac) * gate_fraction(layer, arch.mac)
    leakage = arch.leakage_mw * 1e-3 * latency_s * 1e12
    energy = sum(level_energy.values()) + mac_energy + leakage
    return CostReport(
        layer=layer.name,
        arch=arch.name,
        macs=layer.macs,
        macs_executed=mapping.temporal_iterations * mapping.active_macs,
        cycles=cycles,
        compute_cycles=compute,
        startup_cycles=startup,
        exposed_cycles=exposed,
        transfer_cycles=transfer,
        energy_pj=energy,
        mac_energy_pj=mac_energy,
        leakage_energy_pj=leakage,
        level_energy_pj=level_energy,
        accesses=counts,
        access_energy_pj=access_energy,
        num_macs=arch.num_macs,
        clock_hz=arch.clock_hz,
        area_um2=arch.area_um2,
        mapping=mapping,
        kind=layer.kind,
        mac_fraction=skipped,
        refill_level=refill_level,
        mac_cycles=cycles_per_mac(layer, arch.mac),
    )
