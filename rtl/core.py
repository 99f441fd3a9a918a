"""The GEMM core: systolic array, double-buffered on-chip buffers and the fold controller.

Four small state machines share the fold loop nest ``M-tiles → N-tiles → K-tiles``:

* the **requester** issues one DRAM read request per new input (A) or weight (B) tile, as far
  ahead as the DRAM accepts them (descriptors: operand, tile row, tile column, beats);
* the **receiver** writes the returning beats into the free half of the A or B buffer; it
  back-pressures the read stream while both halves are in use;
* the **compute** FSM runs each fold: wait for its tiles, (WS) preload the weights, stream
  ``stream_len`` edge vectors, then (OS) flush and drain; results are accumulated into the
  output buffer (read-modify-write, 3 stages) — the first K-fold writes, later ones add;
* the **writer** streams finished output tiles (one per (M-tile, N-tile)) to DRAM while the
  next tile accumulates in the other half.

DRAM layout is the host's business (tiles are addressed by descriptor): the testbench packs
``A``/``B`` tiles zero-padded to the array and places written beats back into ``C``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, Value, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwsim.rtl.array import SystolicArray
from hwsim.rtl.config import RtlConfig
from hwsim.rtl.im2col import ADDRESS_BITS, Im2colWalker, conv_layout
from hwsim.rtl.requant import Requantizer, qparam_layout

__all__ = ["FoldCounter", "GemmCore", "config_layout", "net_layout", "port_table", "qparam_write_layout"]

COUNT_BITS = 16
SEQ_BITS = 3  # tile sequence counters: a difference of at most 2 (double buffers) fits


def config_layout() -> data.StructLayout:
    return data.StructLayout({"stream_len": COUNT_BITS, "folds_m": COUNT_BITS, "folds_n": COUNT_BITS, "folds_k": COUNT_BITS})


def net_layout(cfg: RtlConfig) -> data.StructLayout:
    """The network core's layer configuration beyond :func:`config_layout` (held while busy): ``conv``
    (A is read from the input feature map, :mod:`hwsim.rtl.im2col`), ``depthwise``, the input zero point
    (the padding value), the output zero point and activation clamp, and the convolution's geometry."""
    return data.StructLayout({"conv": 1, "depthwise": 1, "in_zero_point": signed(cfg.a_bits),
                              "out_zero_point": signed(cfg.out_bits), "act_min": signed(cfg.out_bits), "act_max": signed(cfg.out_bits),
                              "geometry": conv_layout()})  # fmt: skip


def qparam_write_layout(cfg: RtlConfig) -> data.StructLayout:
    """A write into the requantization table: ``cols`` channels (bias, multiplier, shift) of group ``addr``."""
    return data.StructLayout({"en": 1, "addr": max((cfg.q_groups - 1).bit_length(), 1),
                              "data": data.ArrayLayout(qparam_layout(), cfg.cols)})  # fmt: skip


def request_layout(cfg: RtlConfig | None = None) -> data.StructLayout:
    """A DRAM read: a tile (``beats`` beats) or, on the network core, one gathered beat at ``address``."""
    fields = {"operand": 1, "tile_row": COUNT_BITS, "tile_col": COUNT_BITS, "beats": COUNT_BITS}
    if cfg is not None and cfg.network:
        fields |= {"gather": 1, "address": ADDRESS_BITS}
    return data.StructLayout(fields)


def write_layout(cfg: RtlConfig) -> data.StructLayout:
    return data.StructLayout({"tile_row": COUNT_BITS, "tile_col": COUNT_BITS, "index": COUNT_BITS,
                              "data": data.ArrayLayout(signed(cfg.out_bits), cfg.cols)})  # fmt: skip


class FoldCounter(wiring.Component):
    """Walks the folds (mt, nt, kt), kt innermost; ``advance`` steps, ``restart`` goes to fold 0.
    ``cfg`` holds each count *minus one* (the last index), so no subtractor sits on a compare.

    ``new_a``/``new_b``: this fold needs a different A (M, K) / B (K, N) tile than the previous
    one; ``first_k``/``last_k``: first/last K-fold of an output tile; ``last``: the final fold.
    """

    def __init__(self, sub_k: bool = False) -> None:
        ports = {
            "cfg": In(config_layout()), "restart": In(1), "advance": In(1),
            "mt": Out(COUNT_BITS), "nt": Out(COUNT_BITS), "kt": Out(COUNT_BITS),
            "new_a": Out(1), "new_b": Out(1), "first_k": Out(1), "last_k": Out(1), "last": Out(1), "first": Out(1),
        }
        self.sub_k = sub_k
        if sub_k:  # kt also as (kr, ks, kc), kc innermost (a convolution's kernel row, column, channel group)
            ports |= {"lim_ks": In(COUNT_BITS), "lim_kc": In(COUNT_BITS), "always_new_a": In(1),
                      "kr": Out(COUNT_BITS), "ks": Out(COUNT_BITS), "kc": Out(COUNT_BITS)}  # fmt: skip
        super().__init__(ports)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        c = self.cfg
        first = Signal(init=1)
        last_m, last_n = self.mt == c.folds_m, self.nt == c.folds_n
        m.d.comb += [
            self.first_k.eq(self.kt == 0), self.last_k.eq(self.kt == c.folds_k),
            self.last.eq(last_m & last_n & self.last_k), self.first.eq(first),
            self.new_a.eq(first | (c.folds_k != 0) | (self.nt == 0) | self.always_new_a if self.sub_k else first | (c.folds_k != 0) | (self.nt == 0)),
            self.new_b.eq(first | (c.folds_k != 0) | (c.folds_n != 0)),
        ]  # fmt: skip
        with m.If(self.restart):
            m.d.sync += [self.mt.eq(0), self.nt.eq(0), self.kt.eq(0), first.eq(1)]
            if self.sub_k:
                m.d.sync += [self.kr.eq(0), self.ks.eq(0), self.kc.eq(0)]
        with m.Elif(self.advance):
            m.d.sync += first.eq(0)
            with m.If(~self.last_k):
                m.d.sync += self.kt.eq(self.kt + 1)
                if self.sub_k:
                    with m.If(self.kc != self.lim_kc):
                        m.d.sync += self.kc.eq(self.kc + 1)
                    with m.Else():
                        m.d.sync += self.kc.eq(0)
                        with m.If(self.ks != self.lim_ks):
                            m.d.sync += self.ks.eq(self.ks + 1)
                        with m.Else():
                            m.d.sync += [self.ks.eq(0), self.kr.eq(self.kr + 1)]
            with m.Else():
                m.d.sync += self.kt.eq(0)
                if self.sub_k:
                    m.d.sync += [self.kr.eq(0), self.ks.eq(0), self.kc.eq(0)]
                with m.If(~last_n):
                    m.d.sync += self.nt.eq(self.nt + 1)
                with m.Else():
                    m.d.sync += [self.nt.eq(0), self.mt.eq(self.mt + 1)]
        return m


class GemmCore(wiring.Component):
    """A tiled GEMM ``C = A·B`` on a systolic array, with streaming DRAM ports.

    Ports: ``cfg`` (stream length and fold counts, held while busy), ``start`` (one cycle),
    ``busy``, ``done`` (one cycle when the last output beat has been accepted); ``rd_req``
    (read descriptors), ``rd_data`` (returning beats, lane 0 in the low bits), ``wr``
    (output beats with their tile coordinates and row index).
    """

    def __init__(self, cfg: RtlConfig):
        self.params = cfg
        self.beat_bits = max(cfg.a_beat_bits, cfg.b_beat_bits)
        ports = {
            "cfg": In(config_layout()), "start": In(1), "busy": Out(1), "done": Out(1),
            "rd_req": Out(stream.Signature(request_layout(cfg))),
            "rd_data": In(stream.Signature(self.beat_bits)),
            "wr": Out(stream.Signature(write_layout(cfg))),
        }
        if cfg.network:
            ports |= {"net": In(net_layout(cfg)), "qp_wr": In(qparam_write_layout(cfg))}
        super().__init__(ports)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        c = self.params
        R, C, ws = c.rows, c.cols, c.dataflow == "ws"
        m.submodules.array = array = SystolicArray(R, C, c.a_bits, c.w_bits, c.acc_bits, dataflow=c.dataflow, pipe=c.pipe,
                                                   zero_gating=c.zero_gating)  # fmt: skip
        a_lay = data.ArrayLayout(signed(c.a_bits), R)
        b_lay = data.ArrayLayout(signed(c.w_bits), C)
        c_lay = data.ArrayLayout(signed(c.acc_bits), C)
        m.submodules.abuf = abuf = Memory(shape=a_lay, depth=2 * c.a_depth, init=[])
        m.submodules.bbuf = bbuf = Memory(shape=b_lay, depth=2 * c.b_depth, init=[])
        m.submodules.cbuf = cbuf = Memory(shape=c_lay, depth=2 * c.c_depth, init=[])
        a_rd, a_wr = abuf.read_port(), abuf.write_port()
        b_rd, b_wr = bbuf.read_port(), bbuf.write_port()
        c_rd, c_wr, c_out = cbuf.read_port(), cbuf.write_port(), cbuf.read_port()
        ab, bb, cb = (c.a_depth - 1).bit_length(), (c.b_depth - 1).bit_length(), (c.c_depth - 1).bit_length()

        cfg = Signal(config_layout())
        run = Signal()
        m.d.comb += self.busy.eq(run)
        restart = Signal()
        m.d.comb += restart.eq(self.start & ~run)
        lim = Signal(config_layout())  # each count minus one, registered at start
        with m.If(restart):
            m.d.sync += [cfg.eq(self.cfg), run.eq(1)]
            m.d.sync += [lim.stream_len.eq(self.cfg.stream_len - 1), lim.folds_m.eq(self.cfg.folds_m - 1),
                         lim.folds_n.eq(self.cfg.folds_n - 1), lim.folds_k.eq(self.cfg.folds_k - 1)]  # fmt: skip
        net = Signal(net_layout(c)) if c.network else None
        conv_hw = c.network and ws  # on-array convolution: weight-stationary cores only
        if conv_hw:  # (the default core's Verilog stays as it was: these exist on the network core only)
            conv = Signal()  # this run gathers A from a feature map
            depthwise = Signal()
            lim_ks, lim_kc = Signal(COUNT_BITS), Signal(COUNT_BITS)
        if net is not None:
            with m.If(restart):
                m.d.sync += net.eq(self.net)
                if conv_hw:
                    m.d.sync += [conv.eq(self.net.conv), depthwise.eq(self.net.conv & self.net.depthwise),
                                 lim_ks.eq(self.net.geometry.kernel_s - 1),
                                 lim_kc.eq(Mux(self.net.depthwise, 0, self.net.geometry.groups - 1))]  # fmt: skip
            qmem = Memory(shape=data.ArrayLayout(qparam_layout(), C), depth=c.q_groups, init=[])
            m.submodules.qmem = qmem
            q_wr, q_rd = qmem.write_port(), qmem.read_port()
            m.d.comb += [q_wr.en.eq(self.qp_wr.en), q_wr.addr.eq(self.qp_wr.addr), q_wr.data.eq(self.qp_wr.data)]

        def counter() -> FoldCounter:
            if not conv_hw:
                return FoldCounter()
            fcnt = FoldCounter(sub_k=True)
            m.d.comb += [fcnt.lim_ks.eq(lim_ks), fcnt.lim_kc.eq(lim_kc), fcnt.always_new_a.eq(depthwise)]
            return fcnt

        def walker(name: str, fcnt: FoldCounter) -> Im2colWalker:
            assert net is not None
            m.submodules[name] = wk = Im2colWalker()
            m.d.comb += [wk.conv.eq(net.geometry), wk.stream_last.eq(lim.stream_len), wk.mt.eq(fcnt.mt), wk.r.eq(fcnt.kr),
                         wk.s.eq(fcnt.ks), wk.g.eq(Mux(depthwise, fcnt.nt, fcnt.kc))]  # fmt: skip
            return wk

        b_tile = Const(R, COUNT_BITS) if ws else cfg.stream_len
        b_last = Const(R - 1, COUNT_BITS) if ws else lim.stream_len
        c_rows = cfg.stream_len if ws else Const(R, COUNT_BITS)

        # Tile sequence counters (mod 8): loaded by the receiver, released by compute.
        a_loaded, a_used, b_loaded, b_used = (Signal(SEQ_BITS, name=n) for n in ("a_loaded", "a_used", "b_loaded", "b_used"))
        c_done, c_started, c_written = (Signal(SEQ_BITS, name=n) for n in ("c_done", "c_started", "c_written"))
        with m.If(restart):
            m.d.sync += [s.eq(0) for s in (a_loaded, a_used, b_loaded, b_used, c_done, c_started, c_written)]

        def diff(x: Signal, y: Signal) -> Value:
            return (x - y)[:SEQ_BITS]

        # ---- requester: one descriptor per new tile, in fold order.
        m.submodules.req_folds = rq = counter()
        m.d.comb += [rq.cfg.eq(lim), rq.restart.eq(restart)]
        req_b = Signal()  # 0: A of this fold next, 1: B
        req_done = Signal()
        with m.If(restart):
            m.d.sync += [req_b.eq(0), req_done.eq(0)]
        with m.Elif(run & ~req_done):
            need = Mux(req_b, rq.new_b, rq.new_a)
            p = self.rd_req.payload
            m.d.comb += [
                self.rd_req.valid.eq(need),
                p.operand.eq(req_b),
                p.tile_row.eq(Mux(req_b, rq.kt, rq.mt)),
                p.tile_col.eq(Mux(req_b, rq.nt, rq.kt)),
                p.beats.eq(Mux(req_b, b_tile, cfg.stream_len)),
            ]
            tile_sent: Value = ~need | self.rd_req.ready
            if conv_hw:
                tile_sent = Signal()
                m.d.comb += tile_sent.eq(~need | self.rd_req.ready)  # or: the last gathered beat of an A tile of a convolution
                rw = walker("req_im2col", rq)
                walking = Signal()
                with m.If(conv & ~req_b & need):
                    m.d.comb += [self.rd_req.valid.eq(rw.ready & rw.in_bounds), p.gather.eq(1), p.address.eq(rw.address),
                                 p.beats.eq(1), tile_sent.eq(0)]  # fmt: skip
                    with m.If(~walking):
                        m.d.comb += rw.start.eq(1)
                        m.d.sync += walking.eq(1)
                    with m.Elif(rw.ready & (~rw.in_bounds | self.rd_req.ready)):
                        m.d.comb += rw.step.eq(1)
                        with m.If(rw.last):
                            m.d.sync += walking.eq(0)
                            m.d.comb += tile_sent.eq(1)
            with m.If(tile_sent):
                m.d.sync += req_b.eq(~req_b)
                with m.If(req_b):
                    m.d.comb += rq.advance.eq(1)
                    with m.If(rq.last):
                        m.d.sync += req_done.eq(1)

        # ---- receiver: the same walk, writing beats into free buffer halves.
        m.submodules.rcv_folds = rv = counter()
        m.d.comb += [rv.cfg.eq(lim), rv.restart.eq(restart)]
        rcv_b, rcv_done = Signal(), Signal()
        rcv_idx = Signal(COUNT_BITS)
        with m.If(restart):
            m.d.sync += [rcv_b.eq(0), rcv_done.eq(0), rcv_idx.eq(0)]
        with m.Elif(run & ~rcv_done):
            need = Mux(rcv_b, rv.new_b, rv.new_a)
            free = Mux(rcv_b, diff(b_loaded, b_used) < 2, diff(a_loaded, a_used) < 2)
            beats_last = Mux(rcv_b, b_last, lim.stream_len)
            m.d.comb += self.rd_data.ready.eq(need & free)
            m.d.comb += [
                a_wr.addr.eq(Cat(rcv_idx[:ab], a_loaded[0])), a_wr.data.eq(self.rd_data.payload[: c.a_beat_bits]),
                b_wr.addr.eq(Cat(rcv_idx[:bb], b_loaded[0])), b_wr.data.eq(self.rd_data.payload[: c.b_beat_bits]),
            ]  # fmt: skip
            tile_end = Signal()
            beat_in: Value = self.rd_data.valid & self.rd_data.ready
            if conv_hw:
                beat_in = Signal()
                m.d.comb += beat_in.eq(self.rd_data.valid & self.rd_data.ready)  # or: a gathered beat, or the zero point at padding
                vw = walker("rcv_im2col", rv)
                walking = Signal()
                with m.If(conv & ~rcv_b & need):
                    m.d.comb += [self.rd_data.ready.eq(free & vw.ready & vw.in_bounds), beat_in.eq(0)]
                    with m.If(~walking):
                        m.d.comb += vw.start.eq(1)
                        m.d.sync += walking.eq(1)
                    with m.Elif(vw.ready & free & (~vw.in_bounds | self.rd_data.valid)):
                        m.d.comb += [vw.step.eq(1), beat_in.eq(1)]
                        with m.If(~vw.in_bounds):
                            m.d.comb += a_wr.data.eq(Cat(*[net.in_zero_point for _ in range(R)]))  # type: ignore[union-attr]
                        with m.If(vw.last):
                            m.d.sync += walking.eq(0)
            with m.If(beat_in):
                m.d.comb += [a_wr.en.eq(~rcv_b), b_wr.en.eq(rcv_b), tile_end.eq(rcv_idx == beats_last)]
                m.d.sync += rcv_idx.eq(rcv_idx + 1)
                with m.If(tile_end):
                    m.d.sync += rcv_idx.eq(0)
                    with m.If(rcv_b):
                        m.d.sync += b_loaded.eq(b_loaded + 1)
                    with m.Else():
                        m.d.sync += a_loaded.eq(a_loaded + 1)
            with m.If(~need | tile_end):
                m.d.sync += rcv_b.eq(~rcv_b)
                with m.If(rcv_b):
                    m.d.comb += rv.advance.eq(1)
                    with m.If(rv.last):
                        m.d.sync += rcv_done.eq(1)

        # ---- output accumulation: read-modify-write in 3 register stages (read, register, add).
        rmw = data.StructLayout({"valid": 1, "acc": 1, "last": 1, "addr": cb + 1, "vec": c_lay})
        o = Signal(rmw)
        s1, s2, s3 = Signal(rmw), Signal(rmw), Signal(rmw)
        s2_old = Signal(c_lay)
        m.d.comb += [c_rd.addr.eq(o.addr), c_rd.en.eq(1)]
        m.d.sync += [s1.eq(o), s2.eq(s1), s2_old.eq(c_rd.data), s3.eq(s2)]
        for j in range(C):
            m.d.sync += s3.vec[j].eq(Mux(s2.acc, s2_old[j], 0) + s2.vec[j])
        m.d.comb += [c_wr.addr.eq(s3.addr), c_wr.data.eq(s3.vec), c_wr.en.eq(s3.valid)]
        with m.If(s3.valid & s3.last):
            m.d.sync += c_done.eq(c_done + 1)

        # ---- compute: one fold at a time.
        m.submodules.fold = fc = counter()
        m.d.comb += [fc.cfg.eq(lim), fc.restart.eq(restart)]
        cnt = Signal(COUNT_BITS)
        comp_done = Signal()
        stream_v = Signal()  # the buffers' read data is a stream vector (one cycle after the address)
        stream_idx = Signal(COUNT_BITS)
        m.d.sync += [stream_v.eq(0), stream_idx.eq(cnt)]
        m.d.comb += array.a_in.eq(Mux(stream_v, a_rd.data.as_value(), 0))
        a_half, b_half, c_half = a_used[0], b_used[0], c_started[0]
        ready = (diff(a_loaded, a_used) != 0) & (diff(b_loaded, b_used) != 0) & (~fc.first_k | (diff(c_started, c_written) < 2))
        # The fold's identity as its results leave the array (tag: valid, row, accumulate, last).
        tag = data.StructLayout({"valid": 1, "row": cb + 1, "acc": 1, "last": 1})
        t_in = Signal(tag)
        t_out = Signal(tag)
        if ws:
            m.d.comb += array.w_in.eq(b_rd.data)
            m.d.comb += [t_in.valid.eq(stream_v), t_in.row.eq(Cat(stream_idx[:cb], c_half)), t_in.acc.eq(~fc.first_k),
                         t_in.last.eq(fc.last_k & (stream_idx == lim.stream_len))]  # fmt: skip
            delayed = t_in
            for k in range(R + C + c.pipe):
                r = Signal(tag, name=f"tag_d{k}")
                m.d.sync += r.eq(delayed)
                delayed = r
            m.d.comb += t_out.eq(delayed)
        else:
            m.d.comb += array.b_in.eq(Mux(stream_v, b_rd.data.as_value(), 0))
            m.d.comb += array.first.eq(stream_v & (stream_idx == 0))
        m.d.comb += [o.valid.eq(t_out.valid), o.addr.eq(t_out.row), o.acc.eq(t_out.acc), o.last.eq(t_out.last), o.vec.eq(array.out)]

        def next_fold() -> None:
            m.d.comb += fc.advance.eq(1)
            with m.If(fc.last_k):
                m.d.sync += c_started.eq(c_started + 1)
            with m.If(fc.last):
                m.d.sync += [a_used.eq(a_used + 1), b_used.eq(b_used + 1), comp_done.eq(1)]
                m.next = "IDLE"
            with m.Else():
                # Release a tile when the next fold uses a different one (the counter's flags
                # for the next fold are known only after it advances: compute them here).
                nxt_new_a = (lim.folds_k != 0) | fc.last_k & (fc.nt == lim.folds_n)
                if conv_hw:
                    nxt_new_a = nxt_new_a | depthwise
                nxt_new_b = (lim.folds_k != 0) | (lim.folds_n != 0)
                with m.If(nxt_new_a):
                    m.d.sync += a_used.eq(a_used + 1)
                with m.If(nxt_new_b):
                    m.d.sync += b_used.eq(b_used + 1)
                m.next = "WAIT"

        with m.If(restart):
            m.d.sync += comp_done.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(restart):
                    m.next = "WAIT"
            with m.State("WAIT"):
                with m.If(ready):
                    m.d.sync += cnt.eq(0)
                    m.next = "PRELOAD" if ws else "STREAM"
            if ws:
                with m.State("PRELOAD"):  # R weight rows, last row first; one cycle of read latency
                    m.d.comb += [b_rd.addr.eq(Cat((R - 1 - cnt)[:bb], b_half)), array.w_shift.eq(cnt != 0)]
                    m.d.sync += cnt.eq(cnt + 1)
                    with m.If(cnt == R):
                        m.d.sync += cnt.eq(0)
                        m.next = "STREAM"
            with m.State("STREAM"):
                m.d.comb += [a_rd.addr.eq(Cat(cnt[:ab], a_half)), b_rd.addr.eq(Cat(cnt[:bb], b_half))]
                m.d.sync += [stream_v.eq(1), cnt.eq(cnt + 1)]
                with m.If(cnt == lim.stream_len):
                    m.d.sync += cnt.eq(0)
                    m.next = "FLUSH"
            # WS: the next preload may shift weights once the last vector has passed every PE;
            # OS: the drain starts when the last PE holds its final sum.
            flush = c.flush_cycles
            with m.State("FLUSH"):
                m.d.sync += cnt.eq(cnt + 1)
                with m.If(cnt == flush - 1):
                    m.d.sync += cnt.eq(0)
                    if ws:
                        next_fold()
                    else:
                        m.next = "DRAIN"
            if not ws:
                with m.State("DRAIN"):
                    m.d.comb += [array.drain.eq(1), t_out.valid.eq(1), t_out.row.eq(Cat((R - 1 - cnt)[:cb], c_half)),
                                 t_out.acc.eq(~fc.first_k), t_out.last.eq(fc.last_k & (cnt == R - 1))]  # fmt: skip
                    m.d.sync += cnt.eq(cnt + 1)
                    with m.If(cnt == R - 1):
                        m.d.sync += cnt.eq(0)
                        next_fold()

        # ---- writer: finished output tiles to DRAM, row by row.
        m.submodules.wr_folds = wf = FoldCounter()
        m.d.comb += [wf.cfg.folds_m.eq(lim.folds_m), wf.cfg.folds_n.eq(lim.folds_n), wf.cfg.folds_k.eq(0), wf.restart.eq(restart)]
        w_active, w_done = Signal(), Signal()
        w_idx = Signal(COUNT_BITS)  # next row to read
        w_valid = Signal()
        w_row = Signal(COUNT_BITS)
        with m.If(restart):
            m.d.sync += [w_active.eq(0), w_done.eq(0), w_idx.eq(0), w_valid.eq(0)]
        p = self.wr.payload
        drained = None
        if net is None:
            m.d.comb += [self.wr.valid.eq(w_valid), p.tile_row.eq(wf.mt), p.tile_col.eq(wf.nt), p.index.eq(w_row), p.data.eq(c_out.data)]
            advance = ~w_valid | self.wr.ready
        else:  # the requantizer between the output buffer and the write port; beats carry their tile with them
            m.submodules.requant = rq_out = Requantizer(C, c.acc_bits, c.out_bits, 3 * COUNT_BITS)
            w_mt, w_nt = Signal(COUNT_BITS), Signal(COUNT_BITS)
            advance = ~rq_out.o_valid | self.wr.ready
            with m.If(advance):
                m.d.sync += [w_mt.eq(wf.mt), w_nt.eq(wf.nt)]
            m.d.comb += [q_rd.addr.eq(wf.nt), q_rd.en.eq(advance)]
            m.d.comb += [rq_out.en.eq(advance), rq_out.i_valid.eq(w_valid), rq_out.i_tag.eq(Cat(w_mt, w_nt, w_row)),
                         rq_out.acc.eq(c_out.data), rq_out.params.eq(q_rd.data), rq_out.out_zero_point.eq(net.out_zero_point),
                         rq_out.act_min.eq(net.act_min), rq_out.act_max.eq(net.act_max)]  # fmt: skip
            tag = rq_out.o_tag
            m.d.comb += [self.wr.valid.eq(rq_out.o_valid), p.tile_row.eq(tag[:COUNT_BITS]), p.tile_col.eq(tag[COUNT_BITS : 2 * COUNT_BITS]),
                         p.index.eq(tag[2 * COUNT_BITS :]), p.data.eq(rq_out.out)]  # fmt: skip
            drained = ~w_valid & ~rq_out.busy
        m.d.comb += [c_out.addr.eq(Cat(w_idx[:cb], c_written[0])), c_out.en.eq(advance)]
        with m.If(run & ~w_done & ~restart):
            with m.If(~w_active):
                with m.If(diff(c_done, c_written) != 0):
                    m.d.sync += [w_active.eq(1), w_idx.eq(0)]
            with m.Elif(advance):
                more = w_idx != c_rows  # w_idx counts up to c_rows: equality is enough
                m.d.sync += [w_valid.eq(more), w_row.eq(w_idx)]
                with m.If(more):
                    m.d.sync += w_idx.eq(w_idx + 1)
                with m.Else():
                    # Last beat accepted (or none pending): the tile is written.
                    m.d.sync += [w_active.eq(0), c_written.eq(c_written + 1)]
                    with m.If(wf.last):  # the writer walks output tiles only (its K-fold count is 1)
                        m.d.sync += w_done.eq(1)
                    m.d.comb += wf.advance.eq(1)
        m.d.comb += self.done.eq(0)
        finished = Signal()
        m.d.comb += finished.eq(run & w_done & comp_done & drained if net is not None else run & w_done & comp_done)
        with m.If(finished):
            m.d.sync += run.eq(0)
            m.d.comb += self.done.eq(1)
        return m



def port_table(cfg: RtlConfig) -> str:
    """A markdown table of the core's Verilog ports, generated from their layouts: each field's first bit and width
    (Amaranth names a stream's members ``port__valid``, ``port__ready``, ``port__payload``; struct fields are packed
    from bit 0; an array's element ``j`` sits ``j`` element widths further)."""
    core = GemmCore(cfg)
    core._MustUse__silence = True  # type: ignore[attr-defined]  # read for its signature only, never elaborated
    rows = ["| Verilog port | dir | field | first bit | bits |", "|---|---|---|---|---|"]

    def walk(port: str, direction: str, shape: object, prefix: str, base: int, note: str = "") -> None:
        if isinstance(shape, data.StructLayout):
            for name, f in shape:
                walk(port, direction, f.shape, f"{prefix}{name}.", base + f.offset, note)
        elif isinstance(shape, data.ArrayLayout):
            elem = shape.elem_shape
            size = elem.size if isinstance(elem, data.Layout) else Shape.cast(elem).width
            walk(port, direction, elem, f"{prefix.rstrip('.')}[j].", base, f" + {size}·j (j < {shape.length})")
        else:
            width = Shape.cast(shape).width  # type: ignore[arg-type]
            rows.append(f"| `{port}` | {direction} | {prefix.rstrip('.') or '–'} | {base}{note} | {width} |")

    for name, member in core.signature.members.items():
        if member.is_signature:  # (an In member's signature comes flipped: its members' flows are as the core sees them)
            for sub, sm in member.signature.members.items():
                walk(f"{name}__{sub}", "in" if sm.flow == In else "out", sm.shape, "", 0)
        else:
            walk(name, "in" if member.flow == In else "out", member.shape, "", 0)
    return "\n".join(rows) + "\n"
