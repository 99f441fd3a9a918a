"""Systolic PE arrays: weight stationary and output stationary, with input skew built in.

Timing (``L = pipe``): an edge vector presented on ``a_in`` in cycle ``t`` meets PE ``(i, j)``
in cycle ``t + i + j + 1``; its result is in that PE's ``y`` in cycle ``t + i + j + L + 2``.

* **WS** (rows reduce ``K``, columns are ``N``): ``w_shift`` moves the weight registers one row
  down, ``w_in`` entering row 0 (so the last of ``rows`` shifted vectors lands in row 0).
  Partial sums flow down; ``out`` is the bottom row, deskewed: the outputs of the vector given
  in cycle ``t`` appear together in cycle ``t + rows + cols + L``.
* **OS** (rows are ``M``, columns ``N``): ``a_in`` (per row) and ``b_in`` (per column) stream
  the reduction; ``first`` marks the first step of a fold (accumulators restart). ``drain``
  shifts the accumulators one row down; ``out`` is the bottom row (row ``rows − 1 − d`` in the
  ``d``-th drain cycle), valid from cycle ``t_last + rows + cols + L`` on.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwsim.rtl.pe import MacPE

__all__ = ["SystolicArray"]


class SystolicArray(wiring.Component):
    def __init__(self, rows: int, cols: int, a_bits: int, w_bits: int, acc_bits: int, *, dataflow: str = "ws",
                 pipe: int = 2, zero_gating: bool = True):  # fmt: skip
        if dataflow not in ("ws", "os"):
            raise ValueError(f"Dataflow must be 'ws' or 'os', not {dataflow!r}")
        if rows < 1 or cols < 1:
            raise ValueError(f"Array shape must be positive, not {rows!r}×{cols!r}")
        self.rows, self.cols, self.dataflow = rows, cols, dataflow
        self.a_bits, self.w_bits, self.acc_bits, self.pipe, self.zero_gating = a_bits, w_bits, acc_bits, pipe, zero_gating
        ports = {
            "a_in": In(data.ArrayLayout(signed(a_bits), rows)),
            "out": Out(data.ArrayLayout(signed(acc_bits), cols)),
        }
        if dataflow == "ws":
            ports |= {"w_in": In(data.ArrayLayout(signed(w_bits), cols)), "w_shift": In(1)}
        else:
            ports |= {"b_in": In(data.ArrayLayout(signed(w_bits), cols)), "first": In(1), "drain": In(1)}
        super().__init__(ports)

    def _skew(self, m: Module, value, delay: int, shape, name: str):  # type: ignore[no-untyped-def]
        """``value`` delayed by ``delay`` cycles through a register chain."""
        for k in range(delay):
            r = Signal(shape, name=f"{name}_d{k}")
            m.d.sync += r.eq(value)
            value = r
        return value

    def elaborate(self, platform: object) -> Module:
        m = Module()
        R, C = self.rows, self.cols
        sa, sw, sacc = signed(self.a_bits), signed(self.w_bits), signed(self.acc_bits)
        pes = [[MacPE(self.a_bits, self.w_bits, self.acc_bits, pipe=self.pipe, zero_gating=self.zero_gating) for _ in range(C)] for _ in range(R)]
        for i in range(R):
            for j in range(C):
                m.submodules[f"pe_{i}_{j}"] = pes[i][j]
        # Operands move one PE per cycle: a to the right, b (OS) and partial sums (WS) down.
        first_row = [self._skew(m, self.first, i, 1, f"first_skew{i}") for i in range(R)] if self.dataflow == "os" else []
        for i in range(R):
            a = self._skew(m, self.a_in[i], i, sa, f"a_skew{i}")
            f = first_row[i] if self.dataflow == "os" else None
            for j in range(C):
                ra = Signal(sa, name=f"a_{i}_{j}")
                m.d.sync += ra.eq(a)
                m.d.comb += pes[i][j].a.eq(ra)
                a = ra
                if f is not None:
                    rf = Signal(name=f"first_{i}_{j}")
                    m.d.sync += rf.eq(f)
                    m.d.comb += pes[i][j].clear.eq(rf)
                    f = rf
        if self.dataflow == "ws":
            for j in range(C):
                w_above = self.w_in[j]
                for i in range(R):
                    w = Signal(sw, name=f"w_{i}_{j}")
                    with m.If(self.w_shift):
                        m.d.sync += w.eq(w_above)
                    m.d.comb += pes[i][j].b.eq(w)
                    w_above = w
                    m.d.comb += pes[i][j].c.eq(pes[i - 1][j].y if i else 0)
                # Deskew: column j is j cycles late; delay it by C − 1 − j.
                m.d.comb += self.out[j].eq(self._skew(m, pes[R - 1][j].y, C - 1 - j, sacc, f"out_deskew{j}"))
        else:
            for j in range(C):
                b = self._skew(m, self.b_in[j], j, sw, f"b_skew{j}")
                for i in range(R):
                    rb = Signal(sw, name=f"b_{i}_{j}")
                    m.d.sync += rb.eq(b)
                    pe = pes[i][j]
                    m.d.comb += [pe.b.eq(rb), pe.c.eq(pe.y), pe.load.eq(self.drain), pe.load_value.eq(pes[i - 1][j].y if i else 0)]
                    b = rb
                m.d.comb += self.out[j].eq(pes[R - 1][j].y)
        return m
