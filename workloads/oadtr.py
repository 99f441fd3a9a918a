"""One- and two-block OadTR-style Transformer encoders for online action detection, per window and continual.

OadTR-b1/-b2 as the Continual Transformers paper uses them (Hedegaard, Bakhtiarnia & Iosifidis,
ICLR 2023; OadTR: Wang et al., ICCV 2021, without its decoder): a window of n = 64 feature tokens
(4096-d two-stream TSN features on THUMOS14) projected to d = 1024, one or two post-LayerNorm encoder
blocks (8 heads, feed-forward width 1024), and a classifier on the newest token (21 actions +
background). The window network re-runs on the whole window for every new token.

The continual forms process one token per step:

* CoOadTR-b1 is a single **Continual Single-Output** block: the new token's q, k, v (3d² MACs), a
  FIFO of the last n keys and values (2·n·d elements of state), attention of the one query over
  n keys (2·n·d MACs), and the output projection and feed-forward for one token.
* CoOadTR-b2 puts a **Continual Retroactive** block first: it keeps the window's input tokens (for
  the residual), queries, keys and values (4·n·d) and the unnormalized attention output A·V and its row sums (n·d + n·heads, at
  accumulator precision), and each step updates all n outputs: the new key's column Q·k_newᵀ and
  the oldest key's column Q·k_oldᵀ (n·d each), the new query's row q_new·Kᵀ (n·d), two rank-1
  updates of A·V (n·d each) and the new row (n·d); the n updated tokens then pass the output
  projection and feed-forward. The final Single-Output block sees n changed tokens, so it
  recomputes their q, k, v (as the paper's implementation does with its fused in-projection:
  3·n·d²; only k and v would be needed, 1.5× less) and attends with the newest query only.

What is counted: MACs of every projection, attention matmul, feed-forward and the classifier
(no bias adds; softmax, LayerNorm, GELU and residual adds are tensor ops). The paper reports
OadTR-b1 673 vs CoOadTR-b1 10.6 MFLOPs per prediction (63.5×) and OadTR-b2 1075.7 vs
CoOadTR-b2 411.9 (2.61×), counting multiply-adds.
"""

from __future__ import annotations

from hwsim.core.workload import Network, StateOp, TensorOp, batched_matmul, fully_connected, gemm

from . import _ops
from .transformers import _encoder_layer

__all__ = ["cooadtr_b1", "cooadtr_b2", "oadtr_b1", "oadtr_b2"]

WINDOW = 64
FEATURES = 4096
DIM = 1024
HEADS = 8
FFN = 1024
CLASSES = 22


def _window(name: str, blocks: int) -> Network:
    net = Network(name)
    x = net.add(gemm("embed", M=WINDOW, K=FEATURES, N=DIM), after=None)
    for b in range(blocks):
        x = _encoder_layer(net, x, f"block{b}", WINDOW, DIM, HEADS, FFN, pre_norm=False)
    net.add(fully_connected("classifier", in_features=DIM, out_features=CLASSES), after=x)
    return net


def _tail(net: Network, name: str, x: str, tokens: int, h: str) -> str:
    """Output projection (on ``tokens`` rows), residual and norm, feed-forward, residual and norm."""
    n = tokens * DIM
    o = net.add(gemm(f"{name}.attn.o", M=tokens, K=DIM, N=DIM), after=h)
    h1 = net.add(_ops.add(f"{name}.attn.add", n), after=[o, x])
    h1 = net.add(_ops.layernorm(f"{name}.norm1", n), after=h1)
    net.add(gemm(f"{name}.mlp.fc1", M=tokens, K=DIM, N=FFN))
    net.add(_ops.gelu(f"{name}.mlp.gelu", tokens * FFN))
    f = net.add(gemm(f"{name}.mlp.fc2", M=tokens, K=FFN, N=DIM))
    net.add(_ops.add(f"{name}.mlp.add", n), after=[f, h1])
    return net.add(_ops.layernorm(f"{name}.norm2", n))


def _single_output(net: Network, x: str, name: str, qkv_tokens: int) -> str:
    """A Continual Single-Output block: q, k, v of ``qkv_tokens`` tokens, one query over the n cached keys."""
    dh = DIM // HEADS
    q, k, v = (net.add(gemm(f"{name}.attn.{p}", M=qkv_tokens, K=DIM, N=DIM), after=x) for p in "qkv")
    if qkv_tokens == 1:  # the FIFO of the last n keys and values
        fifo = 2 * WINDOW * DIM
        k = v = net.add(StateOp(f"{name}.attn.kv_fifo", "state", 2 * DIM, fifo, 2 * DIM, 8, state_elements=fifo), after=[k, v])
    net.add(batched_matmul(f"{name}.attn.qk", batch=HEADS, M=1, N=WINDOW, K=dh), after=[q, k])
    s = net.add(_ops.softmax(f"{name}.attn.softmax", HEADS * WINDOW))
    h = net.add(batched_matmul(f"{name}.attn.av", batch=HEADS, M=1, N=dh, K=WINDOW), after=[s, v])
    return _tail(net, name, x, 1, h)


def _retroactive(net: Network, x: str, name: str) -> str:
    """A Continual Retroactive block: updates all n outputs from the new and the oldest token."""
    dh, n = DIM // HEADS, WINDOW
    qkv = [net.add(gemm(f"{name}.attn.{p}", M=1, K=DIM, N=DIM), after=x) for p in "qkv"]
    cache = 4 * n * DIM  # the window's inputs (for the residual), queries, keys and values
    mem = n * DIM + n * HEADS  # A·V and the row sums D, at accumulator precision
    c = net.add(
        StateOp(f"{name}.attn.window", "state", 4 * DIM + 2 * DIM + 2 * n * DIM, cache, 4 * DIM, 8, state_elements=cache), after=qkv
    )
    cols = [net.add(batched_matmul(f"{name}.attn.q_k{w}", batch=HEADS, M=n, N=1, K=dh), after=c) for w in ("new", "old")]
    row = net.add(batched_matmul(f"{name}.attn.qnew_k", batch=HEADS, M=1, N=n, K=dh), after=c)
    e = net.add(TensorOp(f"{name}.attn.exp", "softmax", 3 * n * HEADS, 3 * n * HEADS, 2 * 3 * n * HEADS), after=[*cols, row])
    upd = [net.add(batched_matmul(f"{name}.attn.av_{w}", batch=HEADS, M=n, N=dh, K=1), after=e) for w in ("new", "old")]
    new = net.add(batched_matmul(f"{name}.attn.av_row", batch=HEADS, M=1, N=dh, K=n), after=e)
    m = net.add(StateOp(f"{name}.attn.av_mem", "state", mem, mem, mem, 24, state_elements=mem), after=[*upd, new])
    h = net.add(TensorOp(f"{name}.attn.normalize", "elementwise", n * DIM + n * HEADS, n * DIM, n * DIM), after=m)
    return _tail(net, name, x, n, h)


def _continual(name: str, blocks: int) -> Network:
    net = Network(name)
    x = net.add(gemm("embed", M=1, K=FEATURES, N=DIM), after=None)
    if blocks == 2:
        x = _retroactive(net, x, "block0")
        x = _single_output(net, x, "block1", qkv_tokens=WINDOW)
    else:
        x = _single_output(net, x, "block0", qkv_tokens=1)
    net.add(fully_connected("classifier", in_features=DIM, out_features=CLASSES), after=x)
    return net


def oadtr_b1() -> Network:
    """OadTR-b1: one encoder block over a window of 64 tokens, re-run for every new token."""
    return _window("oadtr-b1", 1)


def oadtr_b2() -> Network:
    """OadTR-b2: two encoder blocks over a window of 64 tokens."""
    return _window("oadtr-b2", 2)


def cooadtr_b1() -> Network:
    """CoOadTR-b1: one step of the continual one-block encoder (a Single-Output block)."""
    return _continual("cooadtr-b1", 1)


def cooadtr_b2() -> Network:
    """CoOadTR-b2: one step of the continual two-block encoder (Retroactive, then Single-Output)."""
    return _continual("cooadtr-b2", 2)
