"""A quantized convolution layer on the network-capable core: on-array im2col, requantization, activation.

The host's share is data layout only: the input feature map as beats of ``rows`` channels
(:mod:`hwsim.rtl.im2col`), the weights as ``rows × cols`` tiles in the K-fold order ``(r, s, g)``
(depthwise: the diagonal tiles), and per output channel TFLite's bias, Q31 multiplier and shift. The
input zero point is folded into the bias (``Σ (x − z_x)·w = Σ x·w − z_x·Σ w``, as gemmlowp does) and is
the padding value the core writes, so padded taps add ``z_x·w`` that the bias takes out again.

The reference (:func:`reference_layer`) is TFLite's int8 convolution written from its definition:
``Σ (x + input_offset)·w`` over the zero-padded input, ``+ bias``, :func:`hwsim.rtl.quant.requantize`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hwsim.core.arch import Architecture
from hwsim.core.errors import Problems
from hwsim.core.workload import Layer
from hwsim.rtl.config import GemmPlan, RtlConfig, rtl_config
from hwsim.rtl.quant import activation_range, quantize_multiplier, requantize
from hwsim.rtl.sim import DramModel, pack_beats, reference_conv2d, run_core

__all__ = ["ConvResult", "ConvShape", "LayerQuant", "conv_plan", "conv_shape", "random_layer", "reference_layer", "run_conv", "verify_conv"]


@dataclass(frozen=True)
class ConvShape:
    """One convolution: ``x[channels, height, width]``, ``filters`` outputs (depthwise: ``filters == channels``),
    a ``kernel_r × kernel_s`` kernel, padding ``(top, left, bottom, right)``."""

    channels: int
    height: int
    width: int
    filters: int
    kernel_r: int = 3
    kernel_s: int = 3
    stride: int = 1
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: int = 1
    depthwise: bool = False

    @property
    def out_height(self) -> int:
        return (self.height + self.padding[0] + self.padding[2] - self.dilation * (self.kernel_r - 1) - 1) // self.stride + 1

    @property
    def out_width(self) -> int:
        return (self.width + self.padding[1] + self.padding[3] - self.dilation * (self.kernel_s - 1) - 1) // self.stride + 1

    def check(self, cfg: RtlConfig, source: str = "conv layer") -> None:
        """One :class:`SpecError` naming every field the core cannot run."""
        problems = Problems(source)
        if not cfg.network or cfg.dataflow != "ws":
            problems.add("core", f"{cfg.dataflow} network={cfg.network}", "expected the network core of a weight-stationary array (on-array "
                                                                        "convolution)")  # fmt: skip
        for name, lo, hi in [("channels", 1, 1 << 16), ("height", 1, 1 << 15), ("width", 1, 1 << 15), ("filters", 1, cfg.max_channels),
                             ("kernel_r", 1, 255), ("kernel_s", 1, 255), ("stride", 1, 15), ("dilation", 1, 15)]:  # fmt: skip
            v = getattr(self, name)
            if not lo <= v <= hi:
                problems.add(name, v, f"expected {lo} to {hi}")
        if any(not 0 <= p <= 15 for p in self.padding):
            problems.add("padding", list(self.padding), "expected 0 to 15 on each side")
        if self.depthwise and (self.filters != self.channels or cfg.rows != cfg.cols):
            problems.add("depthwise", True, f"expected filters == channels ({self.filters} vs {self.channels}) on a square array "
                                            f"({cfg.rows}×{cfg.cols})")  # fmt: skip
        if self.out_height < 1 or self.out_width < 1:
            problems.add("out_size", [self.out_height, self.out_width], "expected a positive output (the kernel fits the padded input)")
        elif self.out_width > min(cfg.a_depth, cfg.c_depth):
            problems.add("out_width", self.out_width, f"expected at most {min(cfg.a_depth, cfg.c_depth)} (an M-tile holds whole output rows)")
        problems.raise_if_any()


def conv_shape(layer: Layer, source: str = "--layer") -> ConvShape:
    """``layer`` (a convolution, depthwise or not, or a fully connected layer as a 1×1 convolution of a 1×1 map) as the
    network core runs it; one :class:`SpecError` names every part it cannot run."""
    problems = Problems(source)
    where = f"layers.{layer.name}"
    d = layer.dims
    if d.get("N", 1) != 1:
        problems.add(f"{where}.N", d["N"], "expected batch 1 (the core runs one image per command)")
    if layer.kind == "matmul" or any(x not in ("N", "G", "K", "C", "P", "Q", "R", "S") for x in d):
        problems.add(f"{where}.kind", layer.kind, "expected a convolution or a fully connected layer")
    groups = d.get("G", 1)
    depthwise = groups > 1 and d.get("C", 1) == 1 and d.get("K", 1) == 1
    if groups > 1 and not depthwise:
        problems.add(f"{where}.G", groups, "expected 1 or a depthwise convolution (one input and one output channel per group)")
    if len(set(layer.stride)) != 1 or len(set(layer.dilation)) != 1:
        problems.add(f"{where}.stride", [list(layer.stride), list(layer.dilation)], "expected the same stride and dilation along both axes")
    problems.raise_if_any()
    R, S, P, Q = d.get("R", 1), d.get("S", 1), d.get("P", 1), d.get("Q", 1)
    st, dil = layer.stride[0], layer.dilation[0]
    ph, pw = layer.padding
    H, W = (P - 1) * st + dil * (R - 1) + 1 - 2 * ph, (Q - 1) * st + dil * (S - 1) + 1 - 2 * pw  # the least input giving P × Q
    channels = groups if depthwise else d.get("C", 1)
    return ConvShape(channels, H, W, groups if depthwise else d.get("K", 1), R, S, st, (ph, pw, ph, pw), dil, depthwise)


def conv_plan(cfg: RtlConfig, shape: ConvShape) -> tuple[GemmPlan, int]:
    """The GEMM the core runs for ``shape`` and its M-tile height in output rows: ``stream_len = tile_rows · Q``."""
    shape.check(cfg)
    R, C = cfg.rows, cfg.cols
    P, Q = shape.out_height, shape.out_width
    rows_fit = min(cfg.a_depth, cfg.c_depth) // Q
    folds_m = math.ceil(P / rows_fit)
    tile_rows = math.ceil(P / folds_m)
    groups = math.ceil(shape.channels / R)
    taps = shape.kernel_r * shape.kernel_s
    folds_k = taps if shape.depthwise else taps * groups
    folds_n = math.ceil(shape.filters / C)
    T = tile_rows * Q
    return GemmPlan(cfg, P * Q, shape.filters, taps * shape.channels, folds_m * T, folds_n * C, folds_k * R, folds_m, folds_n, folds_k, T, gather=True), tile_rows


@dataclass(frozen=True)
class LayerQuant:
    """TFLite's quantization of one layer: zero points, per-channel bias/multiplier/shift, activation clamp."""

    in_zero_point: int
    out_zero_point: int
    bias: np.ndarray = field(repr=False)
    multiplier: np.ndarray = field(repr=False)
    shift: np.ndarray = field(repr=False)
    act_min: int = -128
    act_max: int = 127


def random_layer(cfg: RtlConfig, shape: ConvShape, seed: int = 0, activation: str = "relu") -> tuple[np.ndarray, np.ndarray, LayerQuant]:
    """Random int8 input and weights with TFLite-like per-channel scales (outputs spread over int8)."""
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (cfg.a_bits - 1)), (1 << (cfg.a_bits - 1)) - 1
    x = rng.integers(lo, hi + 1, size=(shape.channels, shape.height, shape.width))
    per = 1 if shape.depthwise else shape.channels
    w = rng.integers(-(1 << (cfg.w_bits - 1)) + 1, 1 << (cfg.w_bits - 1), size=(shape.filters, per, shape.kernel_r, shape.kernel_s))
    in_zp, out_zp = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))
    taps = per * shape.kernel_r * shape.kernel_s
    out_scale = float(rng.uniform(0.02, 0.2))
    # an accumulator's spread is about 128·80·√taps; map it onto about ±100 output steps
    scales = rng.uniform(0.5, 2.0, size=shape.filters) * 100 / (128 * 80 * math.sqrt(taps))
    qm = [quantize_multiplier(float(sc)) for sc in scales]
    bias = rng.integers(-(1 << 12), 1 << 12, size=shape.filters)
    act_min, act_max = activation_range(activation, out_scale, out_zp, cfg.out_bits)
    quant = LayerQuant(in_zp, out_zp, bias, np.array([m for m, _ in qm]), np.clip(np.array([s for _, s in qm]), -31, 30), act_min, act_max)
    return x, w, quant


def reference_layer(x: np.ndarray, w: np.ndarray, shape: ConvShape, quant: LayerQuant) -> np.ndarray:
    """TFLite's int8 convolution ``y[K, P, Q]``: ``Σ (x − z_x)·w`` over the zero-padded input, bias, requantize."""
    acc = reference_conv2d(x - quant.in_zero_point, w, shape.stride, shape.padding, 32, dilation=shape.dilation,
                           groups=shape.channels if shape.depthwise else 1)  # fmt: skip
    y = requantize(np.moveaxis(acc, 0, -1), quant.bias, quant.multiplier, quant.shift, quant.out_zero_point, quant.act_min, quant.act_max)
    return np.moveaxis(y, -1, 0)


@dataclass(frozen=True)
class ConvResult:
    y: np.ndarray
    rtl_cycles: int
    plan: GemmPlan
    sim_seconds: float


def run_conv(cfg: RtlConfig, shape: ConvShape, x: np.ndarray, w: np.ndarray, quant: LayerQuant, dram: DramModel, *,
             ifm_base: int = 0, max_cycles: int = 10_000_000) -> ConvResult:  # fmt: skip
    """The layer on the network core (amaranth.sim): ``y[K, P, Q]`` int8, cycles from ``start`` to ``done``."""
    plan, tile_rows = conv_plan(cfg, shape)
    R, C = cfg.rows, cfg.cols
    G = math.ceil(shape.channels / R)
    H, W = shape.height, shape.width
    xg = np.zeros((G * R, H, W), dtype=np.int64)
    xg[: shape.channels] = x
    pixels = np.moveaxis(xg.reshape(G, R, H, W), 1, -1)  # [G, H, W, R]
    beats = pack_beats(np.moveaxis(pixels, 0, 2).reshape(H * W * G, R), cfg.a_bits)  # beat (h·W + w)·G + g
    gather = [0] * ifm_base + beats
    S = shape.kernel_s
    if shape.depthwise:
        def b_tile(kt: int, nt: int) -> np.ndarray:
            r, s = divmod(kt, S)
            d = np.zeros(R, dtype=np.int64)
            ch = w[nt * C : (nt + 1) * C, 0, r, s]
            d[: len(ch)] = ch
            return np.diag(d)
    else:
        wp = np.zeros((plan.Np, G * R, shape.kernel_r, S), dtype=np.int64)
        wp[: shape.filters, : shape.channels] = w
        by_lane = np.moveaxis(wp, 0, -1).reshape(G, R, shape.kernel_r, S, plan.Np)
        Bp = np.moveaxis(by_lane, (2, 3), (0, 1)).reshape(plan.Kp, plan.Np)  # rows (r, s, g, lane), the K-fold order

        def b_tile(kt: int, nt: int) -> np.ndarray:
            return Bp[kt * R : (kt + 1) * R, nt * C : (nt + 1) * C]

    # gemmlowp's zero-point folding: Σ x·w − z_x·Σ w (the core pads with z_x; padded taps cancel too)
    wsum = w.reshape(shape.filters, -1).sum(axis=1)
    bias = quant.bias - quant.in_zero_point * wsum
    qparams = np.stack([bias, quant.multiplier, quant.shift], axis=1)
    pt, pl = shape.padding[0], shape.padding[1]
    net = {"conv": 1, "depthwise": int(shape.depthwise), "in_zero_point": quant.in_zero_point,
           "out_zero_point": quant.out_zero_point, "act_min": quant.act_min, "act_max": quant.act_max,
           "geometry": {"height": H, "width": W, "groups": G, "kernel_s": S, "stride": shape.stride, "dilation": shape.dilation,
                        "pad_top": pt, "pad_left": pl, "out_height": shape.out_height, "out_width": shape.out_width,
                        "tile_rows": tile_rows, "ifm_base": ifm_base}}  # fmt: skip
    out, cycles, secs = run_core(plan, None, b_tile, dram, net=net, qparams=qparams, gather=gather, max_cycles=max_cycles)
    P, Q = shape.out_height, shape.out_width
    y = out[: P * Q, : shape.filters].T.reshape(shape.filters, P, Q)
    return ConvResult(y, cycles, plan, secs)


def verify_conv(arch: Architecture, shape: ConvShape, *, seed: int = 0, activation: str = "relu", latency_cycles: int = 10,
                cfg: RtlConfig | None = None) -> dict[str, object]:  # fmt: skip
    """A random quantized layer on the network core: bit-exact against :func:`reference_layer`, cycles against the model."""
    cfg = cfg or rtl_config(arch, network=True)
    x, w, quant = random_layer(cfg, shape, seed, activation)
    res = run_conv(cfg, shape, x, w, quant, DramModel.for_config(cfg, latency_cycles))
    want = reference_layer(x, w, shape, quant)
    model = res.plan.model(arch, latency_cycles).cycles
    return {"bit_exact": bool(np.array_equal(res.y, want)), "rtl_cycles": res.rtl_cycles, "model_cycles": round(model, 1),
            "difference": round((res.rtl_cycles - model) / model, 4), "folds": res.plan.folds, "sim_seconds": round(res.sim_seconds, 2)}  # fmt: skip
