"""The output stage of the network-capable core: int32 accumulators → int8, per output channel, in hardware.

Each lane computes TFLite's per-channel output stage (:func:`hwsim.rtl.quant.requantize` is the
reference): ``x = acc + bias`` (int32, wrapping), ``x << max(shift, 0)`` (int32, wrapping),
gemmlowp's saturating rounding doubling high multiply by the Q31 ``multiplier``, the rounding
right shift by ``max(−shift, 0)``, ``+ out_zero_point``, clamp to ``[act_min, act_max]`` (ReLU and
ReLU6 are this clamp, with bounds from :func:`hwsim.rtl.quant.activation_range`).

The high multiply uses ``(a·b + 2³⁰) >> 31`` (arithmetic shift): for a non-negative product that is
TFLite's ``(a·b + 2³⁰) / 2³¹``; for a negative one TFLite's truncating ``(a·b + 1 − 2³⁰) / 2³¹``
equals ``⌊(a·b + 1 − 2³⁰ + 2³¹ − 1) / 2³¹⌋``, the same expression. The tests check it against
the reference on the edge cases, not this argument.

A pipeline of :data:`LATENCY` register stages, all moving together when ``en`` is high (a stall
freezes every stage), so the core's write port back-pressures it like one register. ``tag``
(any width) travels with each beat; ``busy``: a beat is in some stage.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwsim.rtl.config import REQUANT_LATENCY_CYCLES

__all__ = ["LATENCY", "SHIFT_BITS", "Requantizer", "qparam_layout"]

SHIFT_BITS = 6  # signed: −31 (right shift 31) … 30 (left shift 30)
LATENCY = REQUANT_LATENCY_CYCLES


def qparam_layout() -> data.StructLayout:
    """One output channel's requantization: int32 bias, Q31 multiplier, signed shift."""
    return data.StructLayout({"bias": signed(32), "multiplier": signed(32), "shift": signed(SHIFT_BITS)})


class Requantizer(wiring.Component):
    """``lanes`` lanes of TFLite's output stage; ``acc_bits`` ≤ 32 accumulators (sign-extended), ``out_bits`` outputs."""

    def __init__(self, lanes: int, acc_bits: int, out_bits: int, tag_bits: int):
        if not 1 <= acc_bits <= 32:
            raise ValueError(f"Requantized accumulators must be 1 to 32 bits, not {acc_bits!r}")
        self.lanes, self.acc_bits, self.out_bits = lanes, acc_bits, out_bits
        super().__init__({
            "en": In(1), "i_valid": In(1), "i_tag": In(max(tag_bits, 1)),
            "acc": In(data.ArrayLayout(signed(acc_bits), lanes)), "params": In(data.ArrayLayout(qparam_layout(), lanes)),
            "out_zero_point": In(signed(out_bits)), "act_min": In(signed(out_bits)), "act_max": In(signed(out_bits)),
            "busy": Out(1), "o_valid": Out(1), "o_tag": Out(max(tag_bits, 1)), "out": Out(data.ArrayLayout(signed(out_bits), lanes)),
        })  # fmt: skip

    def elaborate(self, platform: object) -> Module:
        m = Module()
        en = self.en

        def stage(value, name: str):  # type: ignore[no-untyped-def]
            r = Signal.like(value, name=name) if isinstance(value, Signal) else Signal(value.shape(), name=name)
            with m.If(en):
                m.d.sync += r.eq(value)
            return r

        valid, tag = self.i_valid, self.i_tag
        valids = []
        for k in range(LATENCY):
            valid, tag = stage(valid, f"valid{k}"), stage(tag, f"tag{k}")
            valids.append(valid)
        m.d.comb += self.busy.eq(Cat(*valids).any())
        m.d.comb += [self.o_valid.eq(valid), self.o_tag.eq(tag)]
        for j in range(self.lanes):
            p = self.params[j]
            # 1: bias (int32 wrap), split the shift.
            x1 = stage((self.acc[j] + p.bias)[:32].as_signed(), f"x1_{j}")
            ls1 = stage(Mux(p.shift > 0, p.shift, 0)[:5], f"ls1_{j}")
            rs1 = stage(Mux(p.shift > 0, 0, -p.shift)[:5], f"rs1_{j}")
            m1 = stage(p.multiplier, f"m1_{j}")
            # 2: left shift (int32 wrap).
            x2 = stage((x1 << ls1)[:32].as_signed(), f"x2_{j}")
            rs2, m2 = stage(rs1, f"rs2_{j}"), stage(m1, f"m2_{j}")
            # 3, 4: the 32×32 product (two registers for the multiplier's pipeline), the saturation case.
            prod3 = stage(x2 * m2, f"prod3_{j}")
            sat3 = stage((x2 == -(1 << 31)) & (m2 == -(1 << 31)), f"sat3_{j}")
            prod4, sat4, rs4 = stage(prod3, f"prod4_{j}"), stage(sat3, f"sat4_{j}"), stage(stage(rs2, f"rs3_{j}"), f"rs4_{j}")
            # 5: rounding doubling high half.
            high = Signal(signed(32), name=f"high_{j}")
            m.d.comb += high.eq(Mux(sat4, (1 << 31) - 1, ((prod4 + (1 << 30)) >> 31)[:32].as_signed()))
            hi5, rs5 = stage(high, f"hi5_{j}"), stage(rs4, f"rs5_{j}")
            # 6: rounding divide by 2^rs (half away from zero).
            mask = Signal(32, name=f"mask_{j}")
            m.d.comb += mask.eq((1 << rs5) - 1)
            rem, thr = hi5.as_unsigned() & mask, (mask >> 1) + (hi5 < 0)
            q6 = stage((hi5 >> rs5) + (rem > thr), f"q6_{j}")
            # 7: output zero point, activation clamp.
            y = Signal(signed(34), name=f"y_{j}")
            m.d.comb += y.eq(q6 + self.out_zero_point)
            clamped = Mux(y < self.act_min, self.act_min, Mux(y > self.act_max, self.act_max, y))
            out = stage(clamped[: self.out_bits].as_signed(), f"out_{j}")
            m.d.comb += self.out[j].eq(out)
        return m
