"""The analytical cost model: closed-form access counts, cycles and energy of one mapping.

Its semantics (data movement, padding, zero-skipping, latency) are docs/architecture.md's "Semantics of the
analytical model"; the brute-force interpreter (:mod:`hwsim.cost.bruteforce`) walks the same rules iteration by
iteration and must agree exactly. Every rule is written once, in the compiled kernel :func:`hwsim.cost.kernel.cost`;
this module validates a mapping, costs its loop nest (any nest: several loops over one dim at a level, bypass)
through the kernel and reports its figures. ``import hwsim`` stays numba-free: the kernel is imported on the first call.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hwsim.core.arch import Architecture
from hwsim.core.mapping import Mapping, validate_mapping
from hwsim.core.workload import Layer
from hwsim.cost.precision import UnitCycles

if TYPE_CHECKING:
    from hwsim.cost.kernel import Costs

__all__ = ["Accesses", "CostReport", "access_counts", "evaluate_mapping"]


@dataclass
class Accesses:
    """Element accesses of one operand at one level, summed over the level's instances."""

    reads: float = 0
    fills: float = 0
    updates: float = 0


@dataclass(frozen=True)
class CostReport(UnitCycles):
    """Cost of one layer (or non-MAC op) on one architecture under one mapping: ``cycles`` = startup + the folds'
    pipeline of the PEs' work against the streams + drain, ``energy_pj`` = storage accesses + MACs + leakage."""

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
    mac_cycles: float = 1.0  # unit cycles per performed MAC at the layer's widths (hwsim.cost.precision.cycles_per_mac)
    fill_drain_cycles: float = 0.0  # a systolic array's fill and drain, over all folds (hwsim.cost.kernel: the cycle engine's too)
    drain_cycles: float = 0.0  # the last output tile's DRAM write-back after compute ends
    dram_wait_cycles: float = 0.0  # DRAM reads and write-back bursts of single-buffered levels the PEs wait for
    folds: int = 1  # temporal iterations outside the stream: the stationary operand changes at each
    stationary: str = ""  # the operand the PEs keep in place over the stream
    dram_read_bits: float = 0.0  # bits read from the outermost level (DRAM), every operand
    dram_write_bits: float = 0.0  # bits written to it

    @property
    def latency_s(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def edp_pj_s(self) -> float:
        return self.energy_pj * self.latency_s

    @property
    def bound_by(self) -> str:
        """What sets ``cycles`` (startup and drain aside): the PEs' busy time — named after its largest part:
        ``"compute"``, ``"fill/drain"`` (a systolic array's), or the refilling level (``"<level> refills"``) —
        or the level whose transfers take longest."""
        worst = max(self.transfer_cycles.items(), key=lambda kv: kv[1], default=("compute", 0.0))
        if self.dram_wait_cycles > max(self.compute_cycles, self.fill_drain_cycles, self.exposed_cycles):
            return next(iter(self.transfer_cycles), "DRAM")  # the PEs wait for DRAM most: level 0's name
        if self.compute_cycles + self.fill_drain_cycles + self.exposed_cycles >= worst[1] - 1e-9 * worst[1]:
            if self.refill_level and self.exposed_cycles >= max(self.compute_cycles, self.fill_drain_cycles):
                return f"{self.refill_level} refills"
            if self.fill_drain_cycles > self.compute_cycles:
                return "fill/drain"
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
            fill_drain_cycles=self.fill_drain_cycles * f, drain_cycles=self.drain_cycles * f,
            dram_wait_cycles=self.dram_wait_cycles * f, dram_read_bits=self.dram_read_bits * f, dram_write_bits=self.dram_write_bits * f,
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
            "fill_drain_cycles": self.fill_drain_cycles,
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


def _count(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _accesses(layer: Layer, arch: Architecture, keep: np.ndarray, out: Costs) -> dict[tuple[str, str], Accesses]:
    """The kernel's per (level, operand) counts of every pair the mapping keeps, operand by operand, outermost level first."""
    from hwsim.cost.kernel import OPERANDS

    counts: dict[tuple[str, str], Accesses] = {}
    for op in layer.operands:
        o = OPERANDS.index(op.name)
        for i, lv in enumerate(arch.levels):
            if keep[i, o]:
                counts[(lv.name, op.name)] = Accesses(_count(out.reads[i, o]), _count(out.fills[i, o]), _count(out.updates[i, o]))
    return counts


def access_counts(layer: Layer, arch: Architecture, mapping: Mapping, mac_fraction: float = 1.0) -> dict[tuple[str, str], Accesses]:
    """Reads, fills and updates of every (level name, operand name) pair that keeps data, with a share
    ``mac_fraction`` of the MACs performed (a skipped MAC reads no operand and updates no partial sum)."""
    from hwsim.cost import kernel  # lazily (see the module docstring)

    _, nest, out = kernel.run(layer, arch, mapping, mac_fraction)
    return _accesses(layer, arch, nest.keep, out)


def evaluate_mapping(layer: Layer, arch: Architecture, mapping: Mapping, *, check: bool = True) -> CostReport:
    """Cost one layer under one mapping (validated first unless ``check=False``): the kernel's figures as a report."""
    if check:
        validate_mapping(layer, arch, mapping)
    from hwsim.cost import kernel  # lazily (see the module docstring)

    pk, nest, out = kernel.run(layer, arch, mapping)
    counts = _accesses(layer, arch, nest.keep, out)
    names = [lv.name for lv in arch.levels]
    refill = int(out.refill_level[0])
    return CostReport(
        layer=layer.name,
        arch=arch.name,
        macs=layer.macs,
        macs_executed=mapping.temporal_iterations * mapping.active_macs,
        cycles=float(out.cycles[0]),
        compute_cycles=float(out.compute[0]),
        startup_cycles=float(out.startup[0]),
        exposed_cycles=float(out.exposed[0]),
        transfer_cycles={lv: float(out.transfer[i]) for i, lv in enumerate(names)},
        energy_pj=float(out.energy[0]),
        mac_energy_pj=float(out.mac_energy[0]),
        leakage_energy_pj=float(out.leakage[0]),
        level_energy_pj={lv: float(out.level_energy[i]) for i, lv in enumerate(names)},
        accesses=counts,
        access_energy_pj={(lv, op): float(out.access_energy[names.index(lv), kernel.OPERANDS.index(op)]) for lv, op in counts},
        num_macs=arch.num_macs,
        clock_hz=arch.clock_hz,
        area_um2=arch.area_um2,
        mapping=mapping,
        kind=layer.kind,
        mac_fraction=pk.mac_fraction,
        refill_level=names[refill] if refill >= 0 else "",
        mac_cycles=pk.cycles_per_mac,
        fill_drain_cycles=float(out.fill_drain[0]),
        drain_cycles=float(out.drain[0]),
        dram_wait_cycles=float(out.dram_wait[0]),
        folds=int(out.folds[0]),
        stationary=kernel.OPERANDS[int(out.stationary[0])] if out.stationary[0] >= 0 else "",
        dram_read_bits=float(out.read_bits[0]),
        dram_write_bits=float(out.write_bits[0]),
    )
