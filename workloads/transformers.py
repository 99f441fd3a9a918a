"""Transformer presets: the BERT-base encoder and ViT-B/16, batch 1, int8.

Each encoder layer is Q/K/V projections (three :func:`~hwsim.core.workload.gemm` layers), QKᵀ and
softmax(QKᵀ)·V as :func:`~hwsim.core.workload.batched_matmul` over the heads (the 1/√d scale is
folded into the softmax, head reshapes are free), the output projection, a residual add and
LayerNorm, then the feed-forward fc1 → GELU → fc2 with its residual add and LayerNorm.

What is counted: MACs of every gemm/matmul (no bias adds). Attention's batched matmuls
have activations as both operands, so their ``weights`` operand (Kᵀ, V) is not a parameter:
use :func:`hwsim.workloads.parameter_count` for trained weights (no biases, LayerNorm
affines or embedding tables, which are not MAC operands). Softmax, LayerNorm, GELU,
residual adds and the embedding sums are :class:`~hwsim.core.workload.TensorOp` nodes.
"""

from __future__ import annotations

from hwsim.core.workload import Network, TensorOp, batched_matmul, conv2d, fully_connected, gemm

from . import _ops

__all__ = ["bert_base", "vit_b16"]


def _encoder_layer(net: Network, x: str, name: str, seq: int, dim: int, heads: int, ffn: int, pre_norm: bool) -> str:
    """One encoder layer reading node ``x``; returns its output node.

    Post-norm (BERT): ``norm1(x + attn(x))`` then ``norm2(h + mlp(h))``. Pre-norm (ViT):
    ``h = x + attn(norm1(x))`` then ``h + mlp(norm2(h))``.
    """
    n, d = seq * dim, dim // heads
    norm1, norm2 = (_ops.layernorm(f"{name}.norm{i}", n) for i in (1, 2))
    src = net.add(norm1, after=x) if pre_norm else x
    q, k, v = (net.add(gemm(f"{name}.attn.{p}", M=seq, N=dim, K=dim), after=src) for p in "qkv")
    net.add(batched_matmul(f"{name}.attn.qk", batch=heads, M=seq, N=seq, K=d), after=[q, k])
    s = net.add(_ops.softmax(f"{name}.attn.softmax", heads * seq * seq))
    net.add(batched_matmul(f"{name}.attn.av", batch=heads, M=seq, N=d, K=seq), after=[s, v])
    o = net.add(gemm(f"{name}.attn.o", M=seq, N=dim, K=dim))
    h = net.add(_ops.add(f"{name}.attn.add", n), after=[o, x])
    if pre_norm:
        net.add(norm2, after=h)
    else:
        h = net.add(norm1, after=h)
    net.add(gemm(f"{name}.mlp.fc1", M=seq, N=ffn, K=dim))
    net.add(_ops.gelu(f"{name}.mlp.gelu", seq * ffn))
    f = net.add(gemm(f"{name}.mlp.fc2", M=seq, N=dim, K=ffn))
    out = net.add(_ops.add(f"{name}.mlp.add", n), after=[f, h])
    return out if pre_norm else net.add(norm2)


def bert_base(seq_len: int = 128, layers: int = 12, dim: int = 768, heads: int = 12, ffn: int = 3072) -> Network:
    """BERT-base encoder (post-LayerNorm, GELU) on ``seq_len`` tokens: ≈11.2 GMACs and ≈85M
    matmul weights at 128 tokens. The embedding lookups (word + position + token type) are one
    gather-and-sum node followed by LayerNorm; there is no pooler or task head."""
    net = Network("bert-base")
    n = seq_len * dim
    net.add(TensorOp("embeddings", "elementwise", 3 * n, n, 2 * n), after=None)
    x = net.add(_ops.layernorm("embeddings.norm", n))
    for i in range(layers):
        x = _encoder_layer(net, x, f"encoder.{i}", seq_len, dim, heads, ffn, pre_norm=False)
    return net


def vit_b16(image: int = 224, patch: int = 16, layers: int = 12, dim: int = 768, heads: int = 12,
            ffn: int = 3072, classes: int = 1000) -> Network:  # fmt: skip
    """ViT-B/16 at 224×224: a 16×16 stride-16 patch-embedding conv (196 patches), the class
    token prepended and position embeddings added (197 tokens), 12 pre-LayerNorm encoder
    layers, a final LayerNorm and the linear head on the class token (≈17.6 GMACs, 86M)."""
    net = Network("vit-b16")
    embed = conv2d("patch_embed", in_channels=3, out_channels=dim, in_hw=image, kernel=patch, stride=patch)
    net.add(embed, after=None)
    seq = embed.bound("P") * embed.bound("Q") + 1
    net.add(TensorOp("pos_embed", "elementwise", (2 * seq - 1) * dim, seq * dim, seq * dim))
    x = "pos_embed"
    for i in range(layers):
        x = _encoder_layer(net, x, f"encoder.{i}", seq, dim, heads, ffn, pre_norm=True)
    net.add(_ops.layernorm("norm", seq * dim))
    net.add(fully_connected("head", in_features=dim, out_features=classes))
    return net
