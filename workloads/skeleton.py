"""ST-GCN (skeleton action recognition) as a clip network and CoST-GCN, its continual form.

ST-GCN (Yan et al., AAAI 2018), as configured for NTU RGB+D 60: a clip of T = 300 frames of V = 25
joints with 3 coordinates, M = 2 bodies (the bodies are a batch: the network runs on both and
averages). Ten blocks (3→64, 64→64 ×3, 64→128 with temporal stride 2, 128→128 ×2, 128→256 with
stride 2, 256→256 ×2), each:

* spatial graph convolution: a 1×1 conv to K·C_out channels (K = 3 adjacency partitions), then the
  aggregation over the graph ``y[n, c, t, w] = Σ_k Σ_v x[n, k, c, t, v] · A[k, v, w]`` — a GEMM whose
  rows are the (body, frame, channel) triples, reduction the K·V (partition, joint) pairs and
  columns the V output joints (the adjacency is the fixed "weights" operand);
* temporal convolution 9×1 over frames (padding 4, stride 1 or 2) from C_out to C_out;
* a residual: identity, or a 1×1 conv (stride 1 or 2) when the width or the frame rate changes;
  none on the first block;

then global average pooling (frames, joints, bodies) and a 1×1 classifier 256→60. BatchNorm is
folded (including the input's data BN), the learnable edge importance is folded into A.

CoST-GCN (Hedegaard, Heidari & Iosifidis, Pattern Recognition 2023) takes one frame per step; this
preset is its stride-free form (the paper's "*" variants, which predict at every step): the graph
convolution sees one frame; the 9-tap temporal conv multiplies the new frame by all 9 taps (a
1×1 conv with 9·C_out outputs) and keeps 8 partial frames of C_out·V partial sums per body in a
ring buffer (delay 9−1−4 = 4 steps); every residual waits 4 frames in a delay buffer; the pooling
keeps a window of T pooled frames. ``cost-gcn-strided`` keeps the strides instead: a strided block's taps and
everything after it run once every 2 (then 4) steps, its ring holds ⌈8/2⌉ = 4 partial frames, and the network
predicts every fourth step; its figures are per step, on average.

What is counted: MACs of the 1×1 convs, the graph aggregation GEMMs, the temporal convs and the
classifier, for both bodies; per clip for ST-GCN, per step (one prediction) for CoST-GCN. The
paper reports up to 109× lower time complexity per prediction across the family; here the
original (strided) ST-GCN clip over the stride-free CoST-GCN step.
"""

from __future__ import annotations

import math

from hwsim.core.workload import Network, StateOp, TensorOp, conv2d, fully_connected, gemm

from . import _ops

__all__ = ["continual_temporal_conv", "cost_gcn", "cost_gcn_strided", "ring_frames", "st_gcn"]

JOINTS = 25
FRAMES = 300
BODIES = 2
PARTITIONS = 3  # spatial configuration partitioning: root, centripetal, centrifugal
KT = 9
CLASSES = 60
BLOCKS = ((3, 64, 1), (64, 64, 1), (64, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1), (128, 256, 2),
          (256, 256, 1), (256, 256, 1))  # fmt: skip


def _stgcn(name: str, continual: bool, strided: bool = False) -> Network:
    net = Network(name)
    frames = 1 if continual else FRAMES
    v = JOINTS
    every = 1  # steps between runs: a strided continual block runs its outputs' side every stride × input steps
    prev: str | None = None
    for i, (cin, cout, block_stride) in enumerate(BLOCKS):
        pre = f"block{i}"
        start = prev
        stride = block_stride if (strided or not continual) else 1
        net.add(conv2d(f"{pre}.gcn.conv", in_channels=cin, out_channels=PARTITIONS * cout, in_hw=(frames, v), kernel=1, batch=BODIES),
                after=start, every_steps=every)  # fmt: skip
        net.add(gemm(f"{pre}.gcn.aggregate", M=BODIES * frames * cout, K=PARTITIONS * v, N=v), every_steps=every)
        if continual:  # a new frame meets the 9 taps; the partial output frames wait in the ring
            out_every = every * stride
            main = continual_temporal_conv(net, f"{pre}.tcn", channels=cout, pixels=v * BODIES, kt=KT, stride_t=stride, every_steps=every)
            out_frames = 1
        else:
            tcn = conv2d(f"{pre}.tcn", in_channels=cout, out_channels=cout, in_hw=(frames, v), kernel=(KT, 1), stride=(stride, 1),
                         padding=(KT // 2, 0), batch=BODIES)  # fmt: skip
            main = net.add(tcn)
            out_frames = tcn.bound("P")
            out_every = 1
        elements = BODIES * cout * out_frames * v
        if i == 0:  # no residual on the first block
            prev, every = main, out_every
            continue
        shortcut = start
        if cin != cout or stride != 1:  # continual: the residual sees every stride-th input frame
            s = 1 if continual else stride
            shortcut = net.add(conv2d(f"{pre}.residual", in_channels=cin, out_channels=cout, in_hw=(frames, v), kernel=1, stride=(s, 1),
                                      batch=BODIES), after=start, every_steps=out_every)  # fmt: skip
        if continual:  # the residual waits for the temporal conv's delay (KT // 2 input frames: that many of its own)
            held = math.ceil((KT // 2) / stride) * cout * v * BODIES
            shortcut = net.add(StateOp(f"{pre}.delay", "state", cout * v * BODIES, cout * v * BODIES, 0, 8, state_elements=held),
                               after=shortcut, every_steps=out_every)  # fmt: skip
        prev = net.add(_ops.add(f"{pre}.add", elements), after=[main, shortcut], every_steps=out_every)
        frames, every = out_frames, out_every
    c = BLOCKS[-1][1]
    net.add(TensorOp("pool", "pool", c * frames * v * BODIES, c, c * frames * v * BODIES + c), every_steps=every)
    if continual:  # average over time: a window of the pooled frames of the clip
        window = FRAMES // every
        net.add(StateOp("pool.window", "state", c, c * 2, c, 8, state_elements=c * window), every_steps=every)
    net.add(fully_connected("fc", in_features=c, out_features=CLASSES), every_steps=every)
    return net


def continual_temporal_conv(net: Network, name: str, *, channels: int, pixels: int, kt: int, stride_t: int = 1, pad_t: int | None = None,
                            every_steps: int = 1) -> str:  # fmt: skip
    """A continual kt×1 temporal conv (C → C over ``pixels`` positions) with temporal stride ``stride_t``, fed every
    ``every_steps`` steps: a 1×1 conv with kt·C outputs (each input frame times the taps) that, behind the stride, does
    one output frame's kt taps per ``stride_t`` input frames (so it is costed once every ``every_steps · stride_t``
    steps), and a ring of ⌈(kt−1)/stride_t⌉ partial output frames at accumulator precision; delay kt−1−p_t.
    Returns the ring's node (the completed output frame)."""
    pad_t = (kt - 1) // 2 if pad_t is None else pad_t
    out_every = every_steps * stride_t
    net.add(conv2d(name, in_channels=channels, out_channels=kt * channels, in_hw=(1, pixels), kernel=1), every_steps=out_every)
    touched = kt * channels * pixels  # partial frames read and written per output frame
    ring = ring_frames(kt, stride_t) * channels * pixels
    return net.add(StateOp(f"{name}.ring", "state", touched, touched, touched, 24, state_elements=ring, delay_steps=kt - 1 - pad_t),
                   every_steps=out_every)  # fmt: skip


def ring_frames(kt: int, stride_t: int = 1) -> int:
    """Partial output frames a continual kt-tap temporal conv of stride ``stride_t`` holds between steps: ⌈(kt−1)/s⌉."""
    return math.ceil((kt - 1) / stride_t)


def st_gcn() -> Network:
    """ST-GCN on one NTU RGB+D clip: 300 frames, 25 joints, 2 bodies."""
    return _stgcn("st-gcn", continual=False)


def cost_gcn() -> Network:
    """CoST-GCN (stride-free): one step (one new skeleton frame, one prediction) of the continual ST-GCN."""
    return _stgcn("cost-gcn", continual=True)


def cost_gcn_strided() -> Network:
    """CoST-GCN with ST-GCN's temporal strides kept (2 at blocks 4 and 7): per step on average; blocks 4–6 run every
    second step, blocks 7–9, the pooling and the classifier every fourth (one prediction per four frames)."""
    return _stgcn("cost-gcn-strided", continual=True, strided=True)
