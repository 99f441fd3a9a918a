"""How a layer's operand precisions meet the MAC unit: cycles and energy per MAC.

Three PE models (``mac.kind`` in the architecture spec):

* ``fixed``: a ``weight_bits × input_bits`` multiplier. Narrower operands are padded (same
  cycles, same energy); wider ones take ``⌈w/W⌉·⌈a/A⌉`` passes.
* ``bit-serial`` (Stripes-like): the input (activation) is consumed ``input_bits`` bits per
  cycle (1 by default), so a MAC takes ``⌈a/A⌉·⌈w/W⌉`` cycles; its energy is the share
  ``a·w / W²`` of a full ``W × W`` MAC (``energy_pj``).
* ``bit-fusion`` (BitFusion): a fusion unit of 2-bit BitBricks fuses to the operand widths
  (2, 4 or 8 bits, rounded up): ``⌊8/a⌋·⌊8/w⌋`` MACs per cycle for widths up to 8 bits, and
  ``⌈a/8⌉·⌈w/8⌉`` cycles per MAC above (temporal fusion). Energy scales with the number of
  BitBricks used, ``a·w/64`` of a full 8×8 product.

``mac.energy_pj`` is the energy of one MAC at the unit's native widths; a multiplier's energy
grows with the product of its operand widths, so the models scale it by that product.
Floating-point operands (``number="fp"``: fp16, bf16) need ``mac.fp_bits``, a floating-point
datapath of that width costing ``mac.fp_energy_pj`` per MAC (Horowitz's fp16 multiply and add
by default), one pass per ``fp_bits`` of each operand.

Utilization is defined here, once, at the datapath's real width (:func:`utilization`; a performed MAC costs
``cycles_per_mac`` unit cycles, a skipped one none); the speedup precision and sparsity give is its own figure
(:func:`mac_speedup`), so that ``macs / (cycles · num_macs) = utilization · mac_speedup``.
"""

from __future__ import annotations

import math

from hwsim.core.arch import MacUnit
from hwsim.core.errors import Problem, SpecError
from hwsim.core.workload import Layer

__all__ = ["MAC_KINDS", "UnitCycles", "cycles_per_mac", "energy_per_mac_pj", "mac_speedup",
           "useful_unit_cycles", "utilization"]  # fmt: skip

MAC_KINDS = ("fixed", "bit-serial", "bit-fusion")


def _fusion_width(bits: int) -> int:
    """BitFusion fuses 2-bit bricks: widths round up to 2, 4 or 8 (multiples of 8 above)."""
    for w in (2, 4, 8):
        if bits <= w:
            return w
    return 8 * math.ceil(bits / 8)


def _widths(layer: Layer) -> tuple[int, int]:
    return layer.operand("weights").bits, layer.operand("inputs").bits


def _is_fp(layer: Layer) -> bool:
    return "fp" in (layer.operand("weights").number, layer.operand("inputs").number)


def check_numbers(layer: Layer, mac: MacUnit, source: str) -> None:
    if _is_fp(layer) and not mac.fp_bits:
        raise SpecError(source, [Problem("mac.fp_bits", 0, f"expected a floating-point datapath for layer {layer.name!r}'s fp operands")])


def cycles_per_mac(layer: Layer, mac: MacUnit) -> float:
    """Cycles one MAC unit spends per multiply-accumulate of this layer (below 1: several per cycle)."""
    w, a = _widths(layer)
    if _is_fp(layer) and mac.fp_bits:
        return float(math.ceil(w / mac.fp_bits) * math.ceil(a / mac.fp_bits))
    if mac.kind == "bit-fusion":
        fw, fa = _fusion_width(w), _fusion_width(a)
        if fw <= 8 and fa <= 8:
            return 1.0 / ((8 // fa) * (8 // fw))
        return float(math.ceil(fa / 8) * math.ceil(fw / 8))
    return float(math.ceil(w / mac.weight_bits) * math.ceil(a / mac.input_bits))


def useful_unit_cycles(macs: float, mac_fraction: float = 1.0, mac_cycles: float = 1.0) -> float:
    """MAC-unit cycles spent on useful work: the ``macs × mac_fraction`` MACs performed (the rest
    skipped as zeros cost no unit cycle), each taking ``mac_cycles`` (:func:`cycles_per_mac`)."""
    return macs * mac_fraction * mac_cycles


def utilization(useful: float, available: float) -> float:
    """The one definition of utilization: useful MAC-unit cycles (:func:`useful_unit_cycles`) over
    available ones (cycles × MAC units), summed over whatever the figure covers (a layer, a
    network). Padding, idle units, fill/drain, stalls and load imbalance lower it; it never
    exceeds 1. 0 when nothing was available."""
    return useful / available if available > 0 else 0.0


def mac_speedup(macs: float, useful: float) -> float:
    """Dense-equivalent MACs per useful unit cycle: what precision (several products per cycle, or
    several cycles per product) and zero-skipping make of one unit cycle. 0 without MACs."""
    return macs / useful if useful > 0 else 0.0


class UnitCycles:
    """Utilization and speedup of one op's report (the analytical and the cycle engine's both), by this module's functions
    of the same names, from its ``macs``, ``mac_fraction`` (performed share), ``mac_cycles``, ``cycles`` and ``num_macs``."""

    macs: float
    mac_fraction: float
    mac_cycles: float
    cycles: float
    num_macs: int

    @property
    def useful_unit_cycles(self) -> float:
        return useful_unit_cycles(self.macs, self.mac_fraction, self.mac_cycles)

    @property
    def available_unit_cycles(self) -> float:
        return self.cycles * self.num_macs

    @property
    def utilization(self) -> float:
        return utilization(self.useful_unit_cycles, self.available_unit_cycles)

    @property
    def mac_speedup(self) -> float:
        return mac_speedup(self.macs, self.useful_unit_cycles)


def energy_per_mac_pj(layer: Layer, mac: MacUnit) -> float:
    """Energy of one of this layer's MACs on the unit."""
    w, a = _widths(layer)
    if _is_fp(layer) and mac.fp_bits:
        return mac.fp_energy_pj * cycles_per_mac(layer, mac)
    if mac.kind == "bit-fusion":
        return mac.energy_pj * _fusion_width(w) * _fusion_width(a) / 64
    if mac.kind == "bit-serial":
        # energy_pj is a full weight_bits × weight_bits MAC; a serial MAC costs its share of bit products
        return mac.energy_pj * (w * a) / (mac.weight_bits * mac.weight_bits)
    return mac.energy_pj * cycles_per_mac(layer, mac)  # padded operands cost the full unit
