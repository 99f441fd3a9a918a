"""Slow-8×8 ResNet-50 (the Slow pathway of SlowFast) as a clip network and as a Continual 3D CNN (CoSlow).

Slow-8×8-R50 (Feichtenhofer et al., ICCV 2019, Table 1): 8 frames of 256×256 (sampled every 8th frame
of a 64-frame window; the network sees the 8). conv1 1×7×7 (64, spatial stride 2), max pool 1×3×3
(stride 2), then ResNet-50's bottleneck stages [3, 4, 6, 3] (widths 64, 128, 256, 512, outputs ×4,
the spatial stride on the 1×3×3 conv) whose first conv is 1×1×1 in res2/res3 and **3×1×1** in
res4/res5 (the network's only temporal kernels, "non-degenerate" temporal convolutions), global
average pooling over time and space, fc 2048→400. BatchNorm is folded, ReLU has no node.

Every 3-D convolution maps exactly onto the eight loop dims:

* a 1×k×k conv over T frames is a 2-D conv with the frames on the batch dim N;
* a full kt×1×1 conv (every input channel to every output channel) is a 2-D conv with kernel
  (kt, 1) over an image of height T (frames) and width H·W (pixels, flattened): time runs on the
  P/R dims, pixels on Q, channels on C and K, with temporal padding (kt−1)/2 on P only.

The continual form (CoSlow, Hedegaard & Iosifidis, ECCV 2022) takes one frame per step: the 1×k×k
convs see one frame; a kt×1×1 conv multiplies the new frame by all kt taps — a 1×1 conv with
kt·C_out outputs — completing one output frame and leaving kt−1 partial frames of C_out·H·W partial
sums in a ring buffer (:class:`~hwsim.core.workload.StateOp`, accumulator precision, delay kt−1−p_t = 1);
each res4/res5 block's shortcut waits the same frame in a delay buffer (after the projection when
there is one); the global pool keeps a window of the last 8 pooled frames.

What is counted: MACs of the convolutions and the fc layer, per clip for Slow-8×8 and per step
(one prediction) for CoSlow. The CoSlow paper reports 54.87 GFLOPs (multiply-adds) for the clip
model and 6.90 for CoSlow per prediction (7.95×); the reduction here is 8 frames of convolutions
over one, less the fc head (computed once either way).
"""

from __future__ import annotations

from hwsim.core.workload import Layer, Network, StateOp, conv2d, fully_connected

from . import _ops

__all__ = ["coslow_8x8", "slow_8x8", "temporal_conv"]

FRAMES = 8
SIZE = 256
STAGES = ((64, 3, 1), (128, 4, 1), (256, 6, 3), (512, 3, 3))  # width, blocks, temporal kernel of the first conv
CLASSES = 400


def temporal_conv(name: str, *, in_channels: int, out_channels: int, frames_in: int, hw: int, kt: int, pad_t: int | None = None) -> Layer:
    """A full kt×1×1 3-D conv over ``frames_in`` frames of hw×hw: a (kt, 1) 2-D conv over a T × (H·W) image."""
    pad_t = (kt - 1) // 2 if pad_t is None else pad_t
    return conv2d(name, in_channels=in_channels, out_channels=out_channels, in_hw=(frames_in, hw * hw), kernel=(kt, 1),
                  padding=(pad_t, 0))  # fmt: skip


def _slow(name: str, continual: bool) -> Network:
    net = Network(name)
    frames = 1 if continual else FRAMES
    hw = SIZE
    net.add(conv2d("conv1", in_channels=3, out_channels=64, in_hw=hw, kernel=7, stride=2, padding=3, batch=frames), after=None)
    hw //= 2
    net.add(_ops.maxpool("pool1", 64 * frames, hw, 3, 2, pad=1))
    hw = _ops.out_size(hw, 3, 2, 1)
    cin = 64
    for s, (width, blocks, kt) in enumerate(STAGES, start=2):
        for b in range(blocks):
            stride = 2 if b == 0 and s > 2 else 1
            pre = f"res{s}.{b}"
            start = net.last
            assert start is not None
            if kt == 1:
                net.add(conv2d(f"{pre}.a", in_channels=cin, out_channels=width, in_hw=hw, kernel=1, batch=frames))
            elif continual:  # the new frame times all kt taps; kt−1 partial output frames wait in the ring
                net.add(conv2d(f"{pre}.a", in_channels=cin, out_channels=kt * width, in_hw=hw, kernel=1))
                ring = (kt - 1) * width * hw * hw
                net.add(StateOp(f"{pre}.a.ring", "state", ring, ring, ring, 24, state_elements=ring, delay_steps=kt - 1 - (kt - 1) // 2))
            else:
                net.add(temporal_conv(f"{pre}.a", in_channels=cin, out_channels=width, frames_in=frames, hw=hw, kt=kt))
            net.add(conv2d(f"{pre}.b", in_channels=width, out_channels=width, in_hw=hw, kernel=3, stride=stride, padding=1, batch=frames))
            out_hw = hw // stride
            main = net.add(conv2d(f"{pre}.c", in_channels=width, out_channels=4 * width, in_hw=out_hw, kernel=1, batch=frames))
            shortcut = start
            if b == 0:
                shortcut = net.add(conv2d(f"{pre}.proj", in_channels=cin, out_channels=4 * width, in_hw=hw, kernel=1, stride=stride,
                                          batch=frames), after=start)  # fmt: skip
            if continual and kt > 1:  # the shortcut waits for the temporal conv's one-frame delay
                held = 4 * width * out_hw * out_hw
                shortcut = net.add(StateOp(f"{pre}.delay", "state", held, held, 0, 8, state_elements=held), after=shortcut)
            net.add(_ops.add(f"{pre}.add", 4 * width * out_hw * out_hw * frames), after=[main, shortcut])
            cin, hw = 4 * width, out_hw
    net.add(_ops.global_avgpool("pool", cin * frames, hw))
    if continual:  # global average pooling over time: a window of the last FRAMES pooled frames
        net.add(StateOp("pool.window", "state", cin, cin * 2, cin, 8, state_elements=cin * FRAMES))
    net.add(fully_connected("fc", in_features=cin, out_features=CLASSES))
    return net


def slow_8x8() -> Network:
    """Slow-8×8-R50 on one clip of 8×256×256 frames."""
    return _slow("slow-8x8", continual=False)


def coslow_8x8() -> Network:
    """CoSlow-8×8-R50: one step (one new frame, one prediction) of the continual Slow-8×8."""
    return _slow("coslow-8x8", continual=True)
