"""Network variants for co-search: width multipliers per stage and per-layer precisions.

A *stage* is a spatial resolution of the feature maps (ResNet's and MobileNetV2's stages are
exactly their resolutions). Channel counts are kept consistent through the graph: tensors
joined by an elementwise op (a residual add) form one channel group, scaled by the multiplier
of the stage most of its producing layers belong to; depthwise layers follow their input; the
network's last layer (the classifier) keeps its outputs. Non-MAC ops scale with their
channels. New channel counts are rounded to multiples of 8 (at least 8), as width-multiplied
MobileNets do. Layers without spatial extent (fc, gemm, attention) belong to no stage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hwsim.core.workload import Layer, Network, StateOp, TensorOp, output_bytes

__all__ = ["scale_widths", "stage_of", "stages"]


def stage_of(layer: Layer) -> str | None:
    """A layer's stage: its output resolution ``PxQ``; None for a layer without spatial extent (fc, gemm, attention)."""
    p, q = layer.bound("P"), layer.bound("Q")
    return f"{p}x{q}" if p * q > 1 and layer.kind != "fc" else None


def stages(network: Network) -> list[str]:
    """The network's stages (resolutions), largest first."""
    seen = {s: None for op in network.layers() if (s := stage_of(op)) is not None}
    return sorted(seen, key=lambda s: -int(s.split("x")[0]) * int(s.split("x")[1]))


def _make_divisible(c: float, old: int) -> int:
    if old < 8:
        return old
    return max(8, int(c / 8 + 0.5) * 8)


def scale_widths(network: Network, multipliers: dict[str, float]) -> Network:
    """A copy with each stage's channels scaled by ``multipliers[stage]`` (missing stages: 1)."""
    g = network.graph
    order = [op.name for op in network.ops()]
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    preds = {n: list(g.predecessors(n)) for n in order}
    for n in order:
        op = g.nodes[n]["op"]
        parent[n] = n
        if (isinstance(op, Layer) and op.is_depthwise) or isinstance(op, TensorOp):
            for p in preds[n]:  # same channels in and out: one group
                parent[find(p)] = find(n)
    members: dict[str, list[str]] = {}
    for n in order:
        members.setdefault(find(n), []).append(n)
    sinks = {n for n in order if g.out_degree(n) == 0}
    group_mult: dict[str, float] = {}
    for root, ns in members.items():
        layers = [g.nodes[n]["op"] for n in ns if isinstance(g.nodes[n]["op"], Layer)]
        if any(n in sinks and isinstance(g.nodes[n]["op"], Layer) for n in ns) or any(stage_of(x) is None for x in layers if not x.is_depthwise):
            group_mult[root] = 1.0
            continue
        votes = Counter(s for x in layers if (s := stage_of(x)) is not None)
        group_mult[root] = multipliers.get(votes.most_common(1)[0][0], 1.0) if votes else 1.0
    old_c: dict[str, int] = {}
    new_c: dict[str, int] = {}
    out = network.graph.copy()
    for n in order:
        op = g.nodes[n]["op"]
        src = preds[n][0] if preds[n] else None
        in_old = old_c.get(src, 0) if src else 0
        in_new = new_c.get(src, 0) if src else 0
        if isinstance(op, Layer):
            d = op.dims
            if op.is_depthwise:  # its groups follow its input's channels; K (a channel multiplier) and C stay
                g_new = in_new if src and in_old == d["G"] else d["G"]
                old_c[n], new_c[n] = d["K"] * d["G"], d["K"] * g_new
                dims = {**d, "G": g_new}
            else:
                old_c[n] = d["K"] * d["G"]
                k = _make_divisible(d["K"] * group_mult[find(n)], d["K"]) if group_mult[find(n)] != 1.0 else d["K"]
                new_c[n] = k * d["G"]
                c = d["C"]
                if src and in_old:
                    if op.kind == "fc" or d["C"] * d["G"] != in_old:
                        c = round(d["C"] * in_new / in_old)  # flattened features scale with channels
                    else:
                        c = in_new // d["G"]
                dims = {**d, "K": k, "C": max(1, c)}
            out.nodes[n]["op"] = replace(op, bounds=tuple((k2, dims[k2]) for k2, _ in op.bounds))
        else:
            old_c[n], new_c[n] = (in_old, in_new) if src else (1, 1)
            ratio = new_c[n] / old_c[n] if old_c[n] else 1.0
            if ratio != 1.0:
                changes = {"input_elements": round(op.input_elements * ratio), "output_elements": round(op.output_elements * ratio),
                           "ops": round(op.ops * ratio)}  # fmt: skip
                if isinstance(op, StateOp):
                    changes["state_elements"] = round(op.state_elements * ratio)
                out.nodes[n]["op"] = replace(op, **changes)
    for u, v in out.edges:
        out.edges[u, v]["size_bytes"] = output_bytes(out.nodes[u]["op"])
    return Network(network.name, out, network.last)
