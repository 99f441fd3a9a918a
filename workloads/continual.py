"""X3D-S and X3D-M as clip networks and as Continual Inference Networks (CoX3D-S/-M, one frame per step).

X3D-M is X3D-S at 16 frames of 256×256 (the same widths and depths; X3D's expansion from S to M is in
frames and resolution only).

X3D-S (Feichtenhofer, CVPR 2020): 13 frames of 160×160; a 1×3×3 stem (24 channels) and a
5×1×1 depthwise temporal conv; stages res2–res5 of 3, 5, 11, 7 bottleneck blocks (widths 24,
48, 96, 192; inner width ×2.25; 1×1×1 → 3×3×3 depthwise → 1×1×1, squeeze-excitation every
other block, spatial stride 2 at each stage's first block, with a 1×1×1 projection); conv5
(432), global pooling, fc 432→2048 and fc 2048→400. Every 3-D convolution of X3D is either
pointwise (kernel 1 in time) or depthwise, and both map exactly onto the eight loop dims:

* a pointwise 3-D conv over T frames is a 2-D conv with the frames on the batch dim N;
* a depthwise k_t×k_h×k_w conv is a 2-D depthwise conv whose C dim (otherwise 1) runs over the
  k_t temporal taps, with the inputs' first axis ``N·s_t + C`` (frame of output + tap).

The continual form (CoX3D, Hedegaard & Iosifidis, ECCV 2022) processes one frame per step:
pointwise layers see one frame; a depthwise temporal conv multiplies the new frame by all k_t
taps, producing k_t partial output frames of which one completes and k_t−1 wait in a ring
buffer of partial sums (a :class:`~hwsim.core.workload.StateOp`); a residual path around a conv of
delay d = k_t−1−p_t keeps d frames in a delay buffer; global average pooling keeps a window of
T pooled frames. What is counted: MACs of convolutions and fc layers (SE included), per clip
for X3D-S and per step (= per prediction) for CoX3D-S.
"""

from __future__ import annotations

from hwsim.core.workload import Layer, Network, Operand, StateOp, TensorOp, conv2d, fully_connected

from ._ops import add

__all__ = ["cox3d_m", "cox3d_s", "temporal_depthwise", "x3d_m", "x3d_s"]

FRAMES = 13  # X3D-S
SIZE = 160
VARIANTS = {"s": (13, 160), "m": (16, 256)}  # frames, spatial size of one clip at inference (X3D Table 3; the CoX3D paper)
STAGES = ((24, 3), (48, 5), (96, 11), (192, 7))
EXPANSION = 2.25


def temporal_depthwise(
    name: str, *, channels: int, frames_in: int, hw: int, kt: int, kh: int, stride: int = 1, pad_t: int | None = None
) -> Layer:
    """A depthwise kt×kh×kh conv over ``frames_in`` frames (temporal padding keeps the frame count)."""
    pad_t = kt // 2 if pad_t is None else pad_t
    frames_out = frames_in + 2 * pad_t - kt + 1
    base = conv2d(name, in_channels=channels, out_channels=channels, groups=channels, in_hw=hw, kernel=kh, stride=stride,
                  padding=kh // 2, batch=frames_out)  # fmt: skip
    bounds = tuple((d, kt if d == "C" else n) for d, n in base.bounds)
    w, i, o = base.operands
    inputs = Operand("inputs", ((("N", 1), ("C", 1)), *i.axes[1:2], *i.axes[3:]), i.bits)
    weights = Operand("weights", w.axes, w.bits)
    return Layer(name, "depthwise", bounds, (weights, inputs, o), base.padding, base.stride, base.dilation)


def _pointwise(name: str, cin: int, cout: int, hw: int, frames: int, stride: int = 1) -> Layer:
    return conv2d(name, in_channels=cin, out_channels=cout, in_hw=hw, kernel=1, stride=stride, batch=frames)


def _x3d(name: str, continual: bool, variant: str = "s") -> Network:
    net = Network(name)
    clip_frames, hw = VARIANTS[variant]
    frames = 1 if continual else clip_frames
    net.add(conv2d("conv1_s", in_channels=3, out_channels=24, in_hw=hw, kernel=3, stride=2, padding=1, batch=frames))
    hw //= 2
    _temporal(net, "conv1_t", 24, hw, kt=5, continual=continual, frames=clip_frames)
    cin = 24
    for s, (width, blocks) in enumerate(STAGES, start=2):
        inner = round(width * EXPANSION)
        for b in range(blocks):
            stride = 2 if b == 0 else 1
            pre = f"res{s}.{b}"
            start = net.last
            net.add(_pointwise(f"{pre}.a", cin, inner, hw, frames))
            _temporal(net, f"{pre}.b", inner, hw, kt=3, continual=continual, stride=stride, frames=clip_frames)
            out_hw = hw // stride
            if b % 2 == 0:  # squeeze-excitation: pooled vector → fc → fc (per clip, or per step)
                se = max(8, round(inner / 16))
                net.add(TensorOp(f"{pre}.se_pool", "pool", inner * out_hw * out_hw * frames, inner, inner * out_hw * out_hw * frames))
                net.add(fully_connected(f"{pre}.se_fc1", in_features=inner, out_features=se))
                net.add(fully_connected(f"{pre}.se_fc2", in_features=se, out_features=inner))
            net.add(_pointwise(f"{pre}.c", inner, width, out_hw, frames))
            main = net.last
            assert main is not None and start is not None
            shortcut = start
            if b == 0:
                net.add(_pointwise(f"{pre}.proj", cin, width, hw, frames, stride=2), after=start)
                shortcut = net.last
            if continual:
                # the residual path (after the projection, if any) waits for the conv's delay (kt−1−pad = 1 frame)
                net.add(StateOp(f"{pre}.delay", "state", width * out_hw * out_hw, width * out_hw * out_hw, 0, 8,
                                state_elements=width * out_hw * out_hw), after=shortcut)  # fmt: skip
                shortcut = net.last
            net.add(add(f"{pre}.add", width * out_hw * out_hw * frames), after=[main, shortcut])
            cin, hw = width, out_hw
    net.add(_pointwise("conv5", cin, 432, hw, frames))
    pooled = 432
    net.add(TensorOp("pool", "pool", pooled * hw * hw * frames, pooled, pooled * hw * hw * frames))
    if continual:
        # global average pooling over time becomes a running window of the last FRAMES pooled frames
        net.add(StateOp("pool.window", "state", pooled, pooled * 2, pooled, 8, state_elements=pooled * clip_frames))
    net.add(fully_connected("fc1", in_features=pooled, out_features=2048))
    net.add(fully_connected("fc2", in_features=2048, out_features=400))
    return net


def _temporal(net: Network, name: str, channels: int, hw: int, *, kt: int, continual: bool, stride: int = 1, frames: int = FRAMES) -> None:
    if not continual:
        net.add(temporal_depthwise(name, channels=channels, frames_in=frames, hw=hw, kt=kt, kh=3 if kt == 3 else 1, stride=stride))
        return
    kh = 3 if kt == 3 else 1
    # one new frame times all kt taps: kt partial output frames (out_channels = kt·channels, one group per channel)
    net.add(conv2d(name, in_channels=channels, out_channels=kt * channels, groups=channels, in_hw=hw, kernel=kh, stride=stride,
                   padding=kh // 2))  # fmt: skip
    out = hw // stride
    ring = (kt - 1) * channels * out * out
    net.add(StateOp(f"{name}.ring", "state", ring, ring, ring, 24, state_elements=ring, delay_steps=kt - 1 - kt // 2))


def x3d_s() -> Network:
    """X3D-S on one clip of 13×160×160 frames."""
    return _x3d("x3d-s", continual=False)


def cox3d_s() -> Network:
    """CoX3D-S: one step (one new frame, one prediction) of the continual X3D-S."""
    return _x3d("cox3d-s", continual=True)


def x3d_m() -> Network:
    """X3D-M on one clip of 16×256×256 frames (its inference size: 6.2 GFLOPs in the X3D paper)."""
    return _x3d("x3d-m", continual=False, variant="m")


def cox3d_m() -> Network:
    """CoX3D-M: one step of the continual X3D-M (a 16-frame pooling window)."""
    return _x3d("cox3d-m", continual=True, variant="m")


def ring_buffer_elements(kt: int, channels: int, hw: int) -> int:
    """Partial sums a continual kt-tap conv keeps between steps: (kt−1)·C·H'·W'."""
    return (kt - 1) * channels * hw * hw
