"""On-array convolution: the im2col address generator of the network-capable (weight-stationary) core.

The input feature map lives in DRAM as beats of ``rows`` channels: beat ``(h·W + w)·G + g`` (plus the
layer's base address) holds channels ``g·rows … g·rows + rows − 1`` of pixel ``(h, w)``, ``G = ⌈C / rows⌉``.
A convolution runs as the GEMM ``out[P·Q, K] = A[P·Q, R·S·G·rows] · B`` without the host building ``A``:
the A tile of fold ``(mt, kt)`` is ``T = tile_rows·Q`` beats, beat ``t`` the channel group ``g`` of pixel
``(p·stride + r·dilation − pad_top, q·stride + s·dilation − pad_left)`` for output pixel ``(p, q)``,
``p = mt·tile_rows + ⌊t / Q⌋``, ``q = t mod Q``, where the K-fold ``kt`` walks ``(r, s, g)``, ``g`` innermost.
Pixels outside the map (padding), and rows past ``P`` (the last M-tile's padding), are not read: the
receiver writes the input zero point there. Depthwise: ``g`` is the fold's output-channel group (the
weights are the diagonal of each ``rows × cols`` tile; ``rows == cols``).

:class:`Im2colWalker` walks one tile: ``start`` (with the tile's ``mt``, ``r``, ``s``, ``g``), then
4 setup cycles (the products, registered), then one beat per ``step``: ``in_bounds``, ``address``,
``last``. No divider: rows advance when ``q`` wraps.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwsim.rtl.config import IM2COL_SETUP_CYCLES

__all__ = ["ADDRESS_BITS", "SETUP_CYCLES", "Im2colWalker", "conv_layout"]

ADDRESS_BITS = 32
SETUP_CYCLES = IM2COL_SETUP_CYCLES
DIM_BITS = 16


def conv_layout() -> data.StructLayout:
    """The convolution fields of the network core's layer configuration (held while busy)."""
    return data.StructLayout({
        "height": DIM_BITS, "width": DIM_BITS, "groups": DIM_BITS, "kernel_s": 8, "stride": 4, "dilation": 4,
        "pad_top": 4, "pad_left": 4, "out_height": DIM_BITS, "out_width": DIM_BITS, "tile_rows": DIM_BITS,
        "ifm_base": ADDRESS_BITS,
    })  # fmt: skip


class Im2colWalker(wiring.Component):
    def __init__(self) -> None:
        super().__init__({
            "conv": In(conv_layout()), "stream_last": In(DIM_BITS),
            "mt": In(DIM_BITS), "r": In(DIM_BITS), "s": In(DIM_BITS), "g": In(DIM_BITS),
            "start": In(1), "step": In(1),
            "ready": Out(1), "in_bounds": Out(1), "address": Out(ADDRESS_BITS), "last": Out(1),
        })  # fmt: skip

    def elaborate(self, platform: object) -> Module:
        m = Module()
        c = self.conv
        sh = signed(DIM_BITS + 2)
        sa = signed(ADDRESS_BITS + 2)
        p0, rr, ss = Signal(DIM_BITS), Signal(DIM_BITS), Signal(DIM_BITS)
        h0, w0, hw = Signal(sh), Signal(sh), Signal(sa)
        s_w, dq, drow = Signal(ADDRESS_BITS), Signal(ADDRESS_BITS), Signal(ADDRESS_BITS)
        g = Signal(DIM_BITS)
        t, q, p = Signal(DIM_BITS), Signal(DIM_BITS), Signal(DIM_BITS)
        h, w = Signal(sh), Signal(sh)
        addr, row_addr = Signal(sa), Signal(sa)
        m.d.comb += [
            self.in_bounds.eq((p < c.out_height) & (h >= 0) & (h < c.height) & (w >= 0) & (w < c.width)),
            self.address.eq(addr[:ADDRESS_BITS]), self.last.eq(t == self.stream_last),
        ]  # fmt: skip
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [p0.eq(self.mt * c.tile_rows), rr.eq(self.r * c.dilation), ss.eq(self.s * c.dilation), g.eq(self.g)]
                    m.next = "S1"
            with m.State("S1"):
                m.d.sync += [h0.eq(p0 * c.stride + rr - c.pad_top), w0.eq(ss - c.pad_left), s_w.eq(c.stride * c.width),
                             dq.eq(c.stride * c.groups), p.eq(p0)]  # fmt: skip
                m.next = "S2"
            with m.State("S2"):
                m.d.sync += [hw.eq(h0 * c.width + w0), drow.eq(s_w * c.groups)]
                m.next = "S3"
            with m.State("S3"):
                base = hw * c.groups + g + c.ifm_base
                m.d.sync += [addr.eq(base), row_addr.eq(base), h.eq(h0), w.eq(w0), t.eq(0), q.eq(0)]
                m.next = "WALK"
            with m.State("WALK"):
                m.d.comb += self.ready.eq(1)
                with m.If(self.step):
                    m.d.sync += t.eq(t + 1)
                    with m.If(self.last):
                        m.next = "IDLE"
                    with m.Elif(q == c.out_width - 1):
                        m.d.sync += [q.eq(0), p.eq(p + 1), h.eq(h + c.stride), w.eq(w0), row_addr.eq(row_addr + drow),
                                     addr.eq(row_addr + drow)]  # fmt: skip
                    with m.Else():
                        m.d.sync += [q.eq(q + 1), w.eq(w + c.stride), addr.eq(addr + dq)]
        return m
