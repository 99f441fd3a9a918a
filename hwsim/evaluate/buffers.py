"""What lives in buffers between layers, and non-MAC ops costed by their traffic: the residence level (where streaming
state and resident activations live), reserving part of it, and the traffic cost of an op that is not a MAC layer.

The lowest module of :mod:`hwsim.evaluate`: :mod:`hwsim.evaluate` (streaming state) and :mod:`hwsim.evaluate.residency`
(resident activations) both build on it, so the rules are written once.
"""

from __future__ import annotations

import math
from dataclasses import replace

from hwsim.core.arch import Architecture, Level
from hwsim.core.workload import Layer, StateOp, TensorOp
from hwsim.cost.analytical import CostReport

__all__ = ["cost_tensor_op", "reserve", "shape_key", "state_level", "state_size", "traffic_cost"]


def state_level(arch: Architecture) -> int | None:
    """The on-chip level that holds streaming state: the largest single-instance on-chip level."""
    sizes = {i: lv.size_bytes for i, lv in enumerate(arch.levels) if i > 0 and lv.size_bytes is not None and arch.instances(i) == 1}
    return max(sizes, key=sizes.__getitem__, default=None)  # the first of equal sizes


def state_size(op: StateOp) -> float:
    """Bytes a state op keeps between steps."""
    return op.state_elements * op.bits / 8


def reserve(arch: Architecture, level: int, used_bytes: float) -> Architecture:
    """``arch`` with ``used_bytes`` of ``arch.levels[level]`` held by data that lives across layers (streaming state,
    resident activations: :mod:`hwsim.evaluate.residency`): the mapper tiles within the rest. Energies and area stay
    those of the whole physical buffer."""
    lv = arch.levels[level]
    assert lv.size_bytes is not None and used_bytes <= lv.size_bytes
    levels = tuple(replace(x, size_bytes=lv.size_bytes - used_bytes) if i == level else x for i, x in enumerate(arch.levels))
    return replace(arch, levels=levels)


def traffic_cost(level: Level, read_bits: float, write_bits: float) -> tuple[float, float]:
    """(energy pJ, transfer cycles) of ``read_bits`` read from and ``write_bits`` written to one instance of ``level``
    by a non-MAC op (one port: reads and writes share its bandwidth)."""
    rbw, wbw = level.read_bandwidth_bits_per_cycle, level.write_bandwidth_bits_per_cycle
    if rbw is None and wbw is None:
        transfer = 0.0
    elif level.ports == 1:
        transfer = (read_bits + write_bits) / (rbw or wbw or math.inf)
    else:
        transfer = max(read_bits / (rbw or math.inf), write_bits / (wbw or math.inf))
    return (read_bits * level.read_energy_pj + write_bits * level.write_energy_pj) / level.word_bits, transfer


def cost_tensor_op(op: TensorOp, arch: Architecture, on_chip: bool = False) -> CostReport:
    """Cost a non-MAC op by its traffic (DRAM, or the state level for on-chip streaming state)."""
    level = state_level(arch) if on_chip else None
    dram = arch.dram if level is None else arch.levels[level]
    read_bits = op.input_elements * op.bits
    write_bits = op.output_elements * op.bits
    dram_e, transfer = traffic_cost(dram, read_bits, write_bits)
    compute = math.ceil(op.ops / arch.num_macs)
    cycles = max(float(compute), transfer, 1.0)
    alu_e = op.ops * arch.mac.energy_pj
    leak = arch.leakage_mw * 1e-3 * cycles / arch.clock_hz * 1e12
    level_energy = {lv.name: 0.0 for lv in arch.levels}
    level_energy[dram.name] = dram_e
    notes = (f"state {state_size(op):.0f} bytes in {dram.name}",) if isinstance(op, StateOp) else ()
    in_dram = level is None
    return CostReport(
        layer=op.name, arch=arch.name, macs=0, macs_executed=0, cycles=cycles, compute_cycles=float(compute),
        startup_cycles=0.0, exposed_cycles=0.0, transfer_cycles={dram.name: transfer}, energy_pj=dram_e + alu_e + leak,
        mac_energy_pj=alu_e, leakage_energy_pj=leak, level_energy_pj=level_energy, accesses={}, access_energy_pj={},
        num_macs=arch.num_macs, clock_hz=arch.clock_hz, area_um2=arch.area_um2, kind=op.kind, notes=notes,
        dram_read_bits=read_bits if in_dram else 0.0, dram_write_bits=write_bits if in_dram else 0.0,
    )  # fmt: skip


def shape_key(layer: Layer) -> Layer:
    """A layer without its name: identical shapes are mapped once."""
    return replace(layer, name="")
