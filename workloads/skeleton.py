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
keeps a window of T pooled frames.

What is counted: MACs of the 1×1 convs, the graph aggregation GEMMs, the temporal convs and the
classifier, for both bodies; per clip for ST-GCN, per step (one prediction) for CoST-GCN. The
paper reports up to 109× lower time complexity per prediction across the family; here the
original (strided) ST-GCN clip over the stride-free CoST-GCN step.
"""

from __future__ import annotations

from hwsim.workload import Network, StateOp, TensorOp, conv2d, fully_connected, gemm

from . import _ops

__all__ = ["cost_gcn", "st_gcn"]

JOINTS = 25
FRAMES = 300
BODIES = 2
PARTITIONS = 3  # spatial configuration partitioning: root, centripetal, centrifugal
KT = 9
CLASSES = 60
BLOCKS = ((3, 64, 1), (64, 64, 1), (64, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1), (128, 256, 2),
          (256, 256, 1), (256, 256, 1))  # fmt: skip


def _stgcn(name: str, continual: bool) -> Network:
    net = Network(name)
    frames = 1 if continual else FRAMES
    v = JOINTS
    prev: str | None = None
    for i, (cin, cout, stride) in enumerate(BLOCKS):
        pre = f"block{i}"
        start = prev
        net.add(conv2d(f"{pre}.gcn.conv", in_channels=cin, out_channels=PARTITIONS * cout, in_hw=(frames, v), kernel=1, batch=BODIES),
                after=start)  # fmt: skip
        net.add(gemm(f"{pre}.gcn.aggregate", M=BODIES * frames * cout, K=PARTITIONS * v, N=v))
        if continual:  # the new frame times all 9 taps; 8 partial output frames wait in the ring
            net.add(conv2d(f"{pre}.tcn", in_channels=cout, out_channels=KT * cout, in_hw=(1, v), kernel=1, batch=BODIES))
            ring = (KT - 1) * cout * v * BODIES
            main = net.add(StateOp(f"{pre}.tcn.ring", "state", ring, ring, ring, 24, state_elements=ring, delay_steps=KT - 1 - KT // 2))
            out_frames = 1
        else:
            tcn = conv2d(f"{pre}.tcn", in_channels=cout, out_channels=cout, in_hw=(frames, v), kernel=(KT, 1), stride=(stride, 1),
                         padding=(KT // 2, 0), batch=BODIES)  # fmt: skip
            main = net.add(tcn)
            out_frames = tcn.bound("P")
        elements = BODIES * cout * out_frames * v
        if i == 0:  # no residual on the first block
            prev = main
            continue
        shortcut = start
        if cin != cout or stride != 1:
            s = 1 if continual else stride
            shortcut = net.add(conv2d(f"{pre}.residual", in_channels=cin, out_channels=cout, in_hw=(frames, v), kernel=1, stride=(s, 1),
                                      batch=BODIES), after=start)  # fmt: skip
        if continual:  # the residual waits for the temporal conv's delay
            held = (KT // 2) * cout * v * BODIES
            shortcut = net.add(StateOp(f"{pre}.delay", "state", held, held, 0, 8, state_elements=held), after=shortcut)
        prev = net.add(_ops.add(f"{pre}.add", elements), after=[main, shortcut])
        frames = out_frames
    c = BLOCKS[-1][1]
    net.add(TensorOp("pool", "pool", c * frames * v * BODIES, c, c * frames * v * BODIES + c))
    if continual:  # average over time: a window of the last FRAMES pooled frames
        net.add(StateOp("pool.window", "state", c, c * 2, c, 8, state_elements=c * FRAMES))
    net.add(fully_connected("fc", in_features=c, out_features=CLASSES))
    return net


def st_gcn() -> Network:
    """ST-GCN on one NTU RGB+D clip: 300 frames, 25 joints, 2 bodies."""
    return _stgcn("st-gcn", continual=False)


def cost_gcn() -> Network:
    """CoST-GCN (stride-free): one step (one new skeleton frame, one prediction) of the continual ST-GCN."""
    return _stgcn("cost-gcn", continual=True)
