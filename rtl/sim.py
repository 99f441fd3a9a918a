"""Simulating the generated core (amaranth.sim) against numpy, with a DRAM model that stalls.

The testbench DRAM has one read and one write channel (shared when the spec's DRAM level has
one port): a request's first beat returns ``latency_cycles`` after it was accepted, and each
channel moves at most its bandwidth in bits per cycle (beats are spaced accordingly; requests
pipeline, so the latency is hidden behind earlier bursts). Outputs are checked bit-exactly
against :func:`reference_gemm`: the accumulator wraps at ``acc_bits`` in two's complement.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hwsim.core.arch import Architecture
from hwsim.rtl.config import GemmPlan, RtlConfig, rtl_config

__all__ = ["DramModel", "VerifyResult", "gemm_b_tile", "im2col", "pack_beats", "random_operands", "reference_conv2d", "reference_gemm", "run_core", "run_gemm", "verify",
           "verify_conv2d"]


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of integers to ``bits``."""
    half = 1 << (bits - 1)
    return ((x.astype(np.int64) + half) % (1 << bits)) - half


def reference_gemm(A: np.ndarray, B: np.ndarray, acc_bits: int) -> np.ndarray:
    """``A·B`` as the core computes it: exact products, sums wrapped at ``acc_bits``."""
    acc = np.zeros((A.shape[0], B.shape[1]), dtype=np.int64)
    for k in range(A.shape[1]):  # wrap every step so no int64 overflow, whatever K
        acc = wrap(acc + np.outer(A[:, k].astype(np.int64), B[k].astype(np.int64)), acc_bits)
    return acc


def random_operands(M: int, N: int, K: int, a_bits: int, w_bits: int, seed: int = 0, extremes: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Random signed operands; a fraction ``extremes`` of entries at the range limits, some zeros."""
    rng = np.random.default_rng(seed)

    def draw(shape: tuple[int, int], bits: int) -> np.ndarray:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        x = rng.integers(lo, hi + 1, size=shape)
        pick = rng.random(shape)
        x = np.where(pick < extremes / 2, lo, np.where(pick < extremes, hi, x))
        return np.where(rng.random(shape) < 0.05, 0, x)

    return draw((M, K), a_bits), draw((K, N), w_bits)


@dataclass(frozen=True)
class DramModel:
    """Testbench DRAM: first-beat latency and per-channel bandwidth (None: one beat per cycle)."""

    latency_cycles: int = 10
    read_bits_per_cycle: float | None = None
    write_bits_per_cycle: float | None = None
    shared: bool = True

    @staticmethod
    def for_config(cfg: RtlConfig, latency_cycles: int = 10) -> DramModel:
        return DramModel(latency_cycles, cfg.dram_read_bits_per_cycle, cfg.dram_write_bits_per_cycle, cfg.dram_shared)


class _Channel:
    def __init__(self, bits_per_cycle: float | None):
        self.bw, self.next = bits_per_cycle, 0.0

    def can(self, now: int) -> bool:
        return now + 1e-9 >= self.next

    def charge(self, now: int, bits: int) -> None:
        if self.bw:
            self.next = max(self.next, now - 0.999) + bits / self.bw


def pack_beats(tile: np.ndarray, bits: int) -> list[int]:
    """Rows of ``tile`` as beats, lane 0 in the low bits."""
    mask = (1 << bits) - 1
    u = tile.astype(np.int64) & mask
    return [sum(int(v) << (bits * j) for j, v in enumerate(row)) for row in u]


def _pad(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), dtype=np.int64)
    out[: x.shape[0], : x.shape[1]] = x
    return out


def run_gemm(plan: GemmPlan, A: np.ndarray, B: np.ndarray, dram: DramModel, *, max_cycles: int = 10_000_000,
             trace: list[tuple[int, str]] | None = None) -> tuple[np.ndarray, int, float]:
    """Simulate ``A·B`` on the core; returns (C, cycles from ``start`` to ``done``, wall seconds).
    ``trace`` (if given) receives ``(cycle, event)`` for every request and beat."""
    cfg = plan.cfg
    R, T = cfg.rows, plan.stream_len
    Ap, Bp = _pad(A, plan.Mp, plan.Kp), _pad(B, plan.Kp, plan.Np)
    ws = cfg.dataflow == "ws"

    def a_tile(r: int, c: int) -> np.ndarray:  # A (M, K)
        return Ap[r * T : (r + 1) * T, c * R : (c + 1) * R] if ws else Ap[r * R : (r + 1) * R, c * T : (c + 1) * T].T

    out, cycles, secs = run_core(plan, a_tile, gemm_b_tile(plan, Bp), dram, max_cycles=max_cycles, trace=trace)
    return out[: A.shape[0], : B.shape[1]], cycles, secs


def gemm_b_tile(plan: GemmPlan, Bp: np.ndarray) -> Callable[[int, int], np.ndarray]:
    """The B tile ``(tile_row, tile_col)`` of the padded weights ``Bp[Kp, Np]`` as the core requests it."""
    cfg, T = plan.cfg, plan.stream_len
    R, C = cfg.rows, cfg.cols

    def b_tile(r: int, c: int) -> np.ndarray:
        return Bp[r * R : (r + 1) * R, c * C : (c + 1) * C] if cfg.dataflow == "ws" else Bp[r * T : (r + 1) * T, c * C : (c + 1) * C]

    return b_tile


def run_core(plan: GemmPlan, a_tile: Callable[[int, int], np.ndarray] | None, b_tile: Callable[[int, int], np.ndarray], dram: DramModel, *,
             net: dict[str, Any] | None = None, qparams: np.ndarray | None = None, gather: list[int] | None = None,
             max_cycles: int = 10_000_000, trace: list[tuple[int, str]] | None = None) -> tuple[np.ndarray, int, float]:  # fmt: skip
    """The testbench: run ``plan`` on the core with DRAM serving tiles (``a_tile``/``b_tile`` of a tile's row and
    column) and, on the network core, single gathered beats from ``gather`` (the input feature map's beats);
    ``net``: the network core's layer fields (:func:`hwsim.rtl.core.net_layout`, nested dicts), ``qparams``:
    ``[channels, 3]`` (bias, multiplier, shift) written into the requantization table before ``start``.
    Returns the output ``[folds_m · c_rows, Np]`` (write port lanes), cycles from ``start`` to ``done``, seconds."""
    from amaranth.sim import Simulator

    from hwsim.rtl.core import GemmCore, request_layout, write_layout

    cfg = plan.cfg
    C = cfg.cols
    dut = GemmCore(cfg)
    out = np.zeros((plan.folds_m * plan.c_rows, plan.Np), dtype=np.int64)
    req_l, wr_l = request_layout(cfg), write_layout(cfg)

    def field(raw: int, layout: object, name: str) -> int:
        f = layout[name]  # type: ignore[index]
        return (raw >> f.offset) & ((1 << f.width) - 1)

    bits = cfg.out_bits
    lane_mask, lane_half = (1 << bits) - 1, 1 << (bits - 1)
    data_off = wr_l["data"].offset
    result: dict[str, int] = {}

    def set_fields(ctx, port, values: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
        for k, v in values.items():
            if isinstance(v, dict):
                set_fields(ctx, getattr(port, k), v)
            else:
                ctx.set(getattr(port, k), int(v))

    async def bench(ctx):  # type: ignore[no-untyped-def]
        if cfg.network:
            set_fields(ctx, dut.net, net or {})
            q = np.zeros((cfg.q_groups * C, 3), dtype=np.int64)
            if qparams is not None:
                q[: len(qparams)] = qparams
            for g in range(-(-(len(qparams) if qparams is not None else 0) // C)):
                ctx.set(dut.qp_wr.en, 1)
                ctx.set(dut.qp_wr.addr, g)
                for j in range(C):
                    bias, mult, shift = (int(v) for v in q[g * C + j])
                    ctx.set(dut.qp_wr.data[j].bias, bias)
                    ctx.set(dut.qp_wr.data[j].multiplier, mult)
                    ctx.set(dut.qp_wr.data[j].shift, shift)
                await ctx.tick()
            ctx.set(dut.qp_wr.en, 0)
        elif net or qparams is not None or gather is not None:
            raise ValueError("Layer fields, requantization and gathers need the network core (rtl_config(..., network=True))")
        ctx.set(dut.cfg.stream_len, plan.stream_len)
        ctx.set(dut.cfg.folds_m, plan.folds_m)
        ctx.set(dut.cfg.folds_n, plan.folds_n)
        ctx.set(dut.cfg.folds_k, plan.folds_k)
        ctx.set(dut.rd_req.ready, 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        now = 1
        rd = _Channel(dram.read_bits_per_cycle)
        wrc = rd if dram.shared else _Channel(dram.write_bits_per_cycle)
        queue: deque[tuple[list[int], int, int]] = deque()  # beats, first-beat cycle, beat bits
        beat_i = 0
        while now < max_cycles:
            if ctx.get(dut.done):
                result["cycles"] = now
                return
            if ctx.get(dut.rd_req.valid):
                raw = ctx.get(dut.rd_req.payload.as_value())
                op = field(raw, req_l, "operand")
                if cfg.network and field(raw, req_l, "gather"):
                    assert gather is not None and op == 0 and field(raw, req_l, "beats") == 1
                    beats = [gather[field(raw, req_l, "address")]]
                else:
                    r, c = field(raw, req_l, "tile_row"), field(raw, req_l, "tile_col")
                    if op == 0 and a_tile is None:
                        raise AssertionError("the core requested an A tile of a convolution")
                    beats = pack_beats(b_tile(r, c), cfg.w_bits) if op else pack_beats(a_tile(r, c), cfg.a_bits)  # type: ignore[misc]
                    assert len(beats) == field(raw, req_l, "beats")
                queue.append((beats, now + 1 + dram.latency_cycles, cfg.b_beat_bits if op else cfg.a_beat_bits))
                if trace is not None:
                    trace.append((now, f"request {'AB'[op]}"))
            presenting = bool(queue) and now >= queue[0][1] and rd.can(now)
            ctx.set(dut.rd_data.valid, presenting)
            if presenting:
                ctx.set(dut.rd_data.payload, queue[0][0][beat_i])
                if ctx.get(dut.rd_data.ready):
                    rd.charge(now, queue[0][2])
                    if trace is not None:
                        trace.append((now, "read beat"))
                    beat_i += 1
                    if beat_i == len(queue[0][0]):
                        queue.popleft()
                        beat_i = 0
            w_ready = wrc.can(now)
            ctx.set(dut.wr.ready, w_ready)
            if w_ready and ctx.get(dut.wr.valid):
                raw = ctx.get(dut.wr.payload.as_value())
                wrc.charge(now, cfg.wr_beat_bits)
                if trace is not None:
                    trace.append((now, "write beat"))
                row = field(raw, wr_l, "tile_row") * plan.c_rows + field(raw, wr_l, "index")
                col = field(raw, wr_l, "tile_col") * C
                d = raw >> data_off
                for j in range(C):
                    v = (d >> (bits * j)) & lane_mask
                    out[row, col + j] = v - (1 << bits) if v >= lane_half else v
            await ctx.tick()
            now += 1
        raise RuntimeError(f"the core did not finish within {max_cycles} cycles")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    t0 = time.perf_counter()
    sim.run()
    return out, result["cycles"], time.perf_counter() - t0


@dataclass(frozen=True)
class VerifyResult:
    bit_exact: bool
    rtl_cycles: int
    model_cycles: float
    M: int
    N: int
    K: int
    dataflow: str
    rows: int
    cols: int
    folds: int
    sim_seconds: float

    @property
    def difference(self) -> float:
        """(RTL − model) / model."""
        return (self.rtl_cycles - self.model_cycles) / self.model_cycles

    def to_dict(self) -> dict[str, object]:
        return {"bit_exact": self.bit_exact, "rtl_cycles": self.rtl_cycles, "model_cycles": round(self.model_cycles, 1),
                "difference": round(self.difference, 4), "M": self.M, "N": self.N, "K": self.K, "dataflow": self.dataflow,
                "array": f"{self.rows}x{self.cols}", "folds": self.folds, "sim_seconds": round(self.sim_seconds, 2),
                "sim_cycles_per_s": round(self.rtl_cycles / self.sim_seconds) if self.sim_seconds else None}  # fmt: skip


def verify(arch: Architecture, M: int, N: int, K: int, *, seed: int = 0, latency_cycles: int = 10, cfg: RtlConfig | None = None,
           A: np.ndarray | None = None, B: np.ndarray | None = None, backend: str = "amaranth",
           plan: GemmPlan | None = None) -> VerifyResult:  # fmt: skip
    """Run ``A·B`` (random by default) on the core generated from ``arch``: results against numpy,
    cycles against hwsim's cycle engine on the same padded GEMM, mapping and DRAM model.
    ``backend``: ``amaranth`` (amaranth.sim) or ``verilator`` (compiled, same results and cycles)."""
    cfg = cfg or rtl_config(arch)
    plan = plan or cfg.plan(M, N, K)
    if A is None or B is None:
        A, B = random_operands(M, N, K, cfg.a_bits, cfg.w_bits, seed)
    dram = DramModel.for_config(cfg, latency_cycles)
    if backend == "verilator":
        from hwsim.rtl.verilator import run_gemm_verilator

        got, cycles, secs = run_gemm_verilator(plan, A, B, dram)
    elif backend == "amaranth":
        got, cycles, secs = run_gemm(plan, A, B, dram)
    else:
        raise ValueError(f"Simulation backend must be 'amaranth' or 'verilator', not {backend!r}")
    model = plan.model(arch, latency_cycles)
    exact = bool(np.array_equal(got, reference_gemm(A, B, cfg.acc_bits)))
    return VerifyResult(exact, cycles, model.cycles, M, N, K, cfg.dataflow, cfg.rows, cfg.cols, plan.folds, secs)


def im2col(x: np.ndarray, kernel: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Host-side lowering of a conv input ``x[C, H, W]`` to the GEMM operand ``[P·Q, C·R·S]``."""
    _, h, w = x.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    p, q = (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1
    cols = [xp[:, i * stride : i * stride + kernel, j * stride : j * stride + kernel].reshape(-1) for i in range(p) for j in range(q)]
    return np.stack(cols)


def reference_conv2d(x: np.ndarray, wt: np.ndarray, stride: int, padding: int | tuple[int, int, int, int], acc_bits: int, *,
                     dilation: int = 1, groups: int = 1, pad_value: int = 0) -> np.ndarray:  # fmt: skip
    """Direct convolution ``y[K, P, Q]`` of ``x[C, H, W]`` with ``wt[K, C / groups, R, S]``, wrapped at ``acc_bits``.
    ``padding``: all sides, or ``(top, left, bottom, right)``, filled with ``pad_value``; ``groups``: input and
    output channels split in that many groups (``groups == C``: depthwise)."""
    k, cg, r, s = wt.shape
    top, left, bottom, right = (padding,) * 4 if isinstance(padding, int) else padding
    xp = np.pad(x.astype(np.int64), ((0, 0), (top, bottom), (left, right)), constant_values=pad_value)
    p, q = (xp.shape[1] - dilation * (r - 1) - 1) // stride + 1, (xp.shape[2] - dilation * (s - 1) - 1) // stride + 1
    kg = k // groups
    y = np.zeros((k, p, q), dtype=np.int64)
    for g in range(groups):
        xg = xp[g * cg : (g + 1) * cg]
        for i in range(r):
            for j in range(s):
                win = xg[:, i * dilation : i * dilation + stride * p : stride, j * dilation : j * dilation + stride * q : stride][:, :p, :q]
                y[g * kg : (g + 1) * kg] = wrap(y[g * kg : (g + 1) * kg] + np.einsum("chw,kc->khw", win, wt[g * kg : (g + 1) * kg, :, i, j].astype(np.int64)), acc_bits)
    return y


def verify_conv2d(arch: Architecture, *, channels: int, filters: int, size: int, kernel: int, stride: int = 1, padding: int = 0,
                  seed: int = 0, latency_cycles: int = 10) -> VerifyResult:  # fmt: skip
    """A conv layer lowered by the host (im2col) and run as a GEMM; bit-exact against a direct conv."""
    cfg = rtl_config(arch)
    rng = np.random.default_rng(seed)
    x = rng.integers(-(1 << (cfg.a_bits - 1)), 1 << (cfg.a_bits - 1), size=(channels, size, size))
    wt = rng.integers(-(1 << (cfg.w_bits - 1)), 1 << (cfg.w_bits - 1), size=(filters, channels, kernel, kernel))
    A, B = im2col(x, kernel, stride, padding), wt.reshape(filters, -1).T
    res = verify(arch, A.shape[0], filters, A.shape[1], A=A, B=B, cfg=cfg, latency_cycles=latency_cycles)
    plan = cfg.plan(A.shape[0], filters, A.shape[1])
    got, _, _ = run_gemm(plan, A, B, DramModel.for_config(cfg, latency_cycles))
    y = got.T.reshape(filters, *reference_conv2d(x, wt, stride, padding, cfg.acc_bits).shape[1:])
    exact = res.bit_exact and bool(np.array_equal(y, reference_conv2d(x, wt, stride, padding, cfg.acc_bits)))
    return replace(res, bit_exact=exact)
