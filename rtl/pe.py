"""The MAC processing element: ``y ← (clear ? 0 : c) + a·b``, pipelined, with zero gating."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["MacPE"]


class MacPE(wiring.Component):
    """One multiply-accumulate: ``y`` (registered) becomes ``(clear ? 0 : c) + a·b``.

    ``a``, ``b`` are signed ``a_bits``/``b_bits`` operands; ``c`` and ``y`` signed
    ``acc_bits`` and the sum wraps in two's complement at ``acc_bits``. ``pipe`` register stages
    sit between the operands and the accumulate (1: the product; 2: the operands, then the
    product), so ``y`` holds the result ``pipe + 1`` cycles after ``a``/``b``; ``clear`` is
    given with the operands and delayed with them, ``c`` is added at the last stage. With
    ``zero_gating`` a zero operand does not toggle the multiplier: the operand registers
    (``pipe == 2``) hold their value and the product is forced to zero. ``load`` (highest
    priority) sets ``y`` to ``load_value`` (the drain of an output-stationary array).
    """

    def __init__(self, a_bits: int, b_bits: int, acc_bits: int, *, pipe: int = 2, zero_gating: bool = True):
        if pipe not in (0, 1, 2):
            raise ValueError(f"MAC pipeline depth must be 0, 1 or 2, not {pipe!r}")
        if acc_bits < 1 or a_bits < 1 or b_bits < 1:
            raise ValueError(f"MAC widths must be positive, not a={a_bits!r}, b={b_bits!r}, acc={acc_bits!r}")
        self.a_bits, self.b_bits, self.acc_bits = a_bits, b_bits, acc_bits
        self.pipe, self.zero_gating = pipe, zero_gating
        super().__init__({
            "a": In(signed(a_bits)), "b": In(signed(b_bits)), "c": In(signed(acc_bits)), "clear": In(1),
            "load": In(1), "load_value": In(signed(acc_bits)), "y": Out(signed(acc_bits)),
        })  # fmt: skip

    def elaborate(self, platform: object) -> Module:
        m = Module()
        a, b, clear = self.a, self.b, self.clear
        zero = (a == 0) | (b == 0) if self.zero_gating else 0
        if self.pipe == 2:
            ra, rb = Signal(signed(self.a_bits)), Signal(signed(self.b_bits))
            rz, rc = Signal(), Signal()
            if self.zero_gating:
                with m.If(~zero):  # operand isolation: a zero leaves the multiplier inputs still
                    m.d.sync += [ra.eq(a), rb.eq(b)]
            else:
                m.d.sync += [ra.eq(a), rb.eq(b)]
            m.d.sync += [rz.eq(zero), rc.eq(clear)]
            a, b, zero, clear = ra, rb, rz, rc
        product = Mux(zero, 0, a * b) if self.zero_gating else a * b
        if self.pipe >= 1:
            p = Signal(signed(self.a_bits + self.b_bits))
            pc = Signal()
            m.d.sync += [p.eq(product), pc.eq(clear)]
            product, clear = p, pc
        with m.If(self.load):
            m.d.sync += self.y.eq(self.load_value)
        with m.Else():
            m.d.sync += self.y.eq(Mux(clear, 0, self.c) + product)  # truncation to acc_bits: two's complement wrap
        return m
