"""The preset zoo against published MAC/parameter counts, plus structural checks of each graph."""

from __future__ import annotations

import networkx as nx
import pytest

from hwsim.core.workload import Layer, Network, TensorOp
from hwsim.frontend.presets import load_workload
from hwsim.workloads import PRESETS, PUBLISHED, load_preset, parameter_count

NAMES = sorted(PRESETS)
CNNS = ["alexnet", "vgg16", "resnet18", "resnet50", "mobilenetv2", "x3d-s", "x3d-m", "slow-8x8"]
TRANSFORMERS = ["bert-base", "vit-b16"]
# per-step networks and the window networks they stream: checked by their published reductions and per-window counts
# (tests/test_continual.py)
STREAMING = ["cox3d-s", "cox3d-m", "coslow-8x8", "st-gcn", "cost-gcn", "cost-gcn-strided", "oadtr-b1", "oadtr-b2", "cooadtr-b1", "cooadtr-b2"]
TOLERANCE = 0.01  # README: MAC and parameter counts match the published figures within 1%
# x3d-m's weights are 1.68% under its published 3.8M (README: "parameter counts within 1.7%, x3d-m the farthest").
X3D_M_PARAMS = "x3d-m: weights 1.68% under the published parameter count (README allows it 1.7%, checked below)"


@pytest.fixture(scope="module", params=NAMES)
def preset(request: pytest.FixtureRequest) -> tuple[str, Network]:
    return request.param, PRESETS[request.param]()


def _kinds(net: Network, kind: str) -> list[Layer | TensorOp]:
    return [op for op in net.ops() if op.kind == kind]


def test_registry_and_references_cover_the_same_networks() -> None:
    assert NAMES == sorted(CNNS + TRANSFORMERS + STREAMING)
    assert sorted(PUBLISHED) == sorted(CNNS + TRANSFORMERS)
    for ref in PUBLISHED.values():
        assert ref["macs"] > 0 and ref["params"] > 0 and ref["note"]


@pytest.mark.parametrize("name", sorted(PUBLISHED))  # the streaming networks: by their published reductions (tests/test_continual.py)
def test_macs_match_published(name: str) -> None:
    """Published MAC counts (workloads.PUBLISHED, each with its source), within 1%."""
    assert PRESETS[name]().macs == pytest.approx(PUBLISHED[name]["macs"], rel=TOLERANCE)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=X3D_M_PARAMS)) if n == "x3d-m" else n for n in CNNS])
def test_cnn_weights_match_published_params(name: str) -> None:
    """Published parameter counts (workloads.PUBLISHED), within 1%."""
    # Published counts add biases and BN affines (BN is folded for inference, biases are not
    # MAC operands): under 1% of these networks, so the weights alone are within 1% (x3d-m: 1.68%).
    net = PRESETS[name]()
    assert net.weight_count == parameter_count(net)
    assert net.weight_count == pytest.approx(PUBLISHED[name]["params"], rel=TOLERANCE)


def test_x3d_m_weights_within_the_readme_figure() -> None:
    """README: parameter counts within 1.7% of the published figures, x3d-m the farthest (published 3.8M)."""
    net = PRESETS["x3d-m"]()
    assert net.weight_count == pytest.approx(PUBLISHED["x3d-m"]["params"], rel=0.017)


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_transformer_matmul_weights_match_published_params(name: str) -> None:
    # Network.weight_count also counts the "weights" operand of the attention batched matmuls,
    # which is an activation (Kᵀ for QKᵀ, V for AV): 2.4M elements in BERT-base at 128 tokens
    # (87.3M, +2.7% over the published 85M), 3.6M in ViT-B/16 (89.9M, +4.6% over 86M).
    # So compare only the projection/FFN/conv/head weights (parameter_count); the biases,
    # LayerNorms, class token and position embeddings they omit (0.1-0.3M) fit in the 1%.
    net = PRESETS[name]()
    assert parameter_count(net) == pytest.approx(PUBLISHED[name]["params"], rel=TOLERANCE)
    matmuls = [layer for layer in net.layers() if layer.kind == "matmul"]
    assert net.weight_count - parameter_count(net) == sum(m.weight_count for m in matmuls) > 0


def test_graph_is_a_dag_with_one_source_and_one_sink(preset: tuple[str, Network]) -> None:
    _, net = preset
    g = net.graph
    assert nx.is_directed_acyclic_graph(g)
    assert [n for n in g if g.in_degree(n) == 0] == [next(iter(g.nodes))]
    assert len([n for n in g if g.out_degree(n) == 0]) == 1  # nothing computed and dropped
    assert all(isinstance(g.nodes[n]["op"], Layer | TensorOp) for n in g)


def test_residual_adds_join_two_branches(preset: tuple[str, Network]) -> None:
    _, net = preset
    for op in _kinds(net, "add"):
        assert net.graph.in_degree(op.name) == 2, op.name
        assert op.name.endswith(".add")


def test_no_relu_nodes_and_bn_folded(preset: tuple[str, Network]) -> None:
    _, net = preset
    assert not any("relu" in n or "bn" in n for n in net.graph)


def test_resnet50_structure() -> None:
    net = load_preset("resnet50")
    convs = [layer for layer in net.layers() if layer.kind == "conv2d"]
    assert len(convs) == 53  # 1 stem + 16 bottlenecks × 3 + 4 projection shortcuts
    assert [layer.name for layer in net.layers() if layer.kind == "fc"] == ["fc"]
    assert len(_kinds(net, "add")) == 16
    g = net.graph
    # v1.5: the stride sits on the 3×3 conv; the projection reads the block input.
    assert net.graph.nodes["layer2.0.conv2"]["op"].stride == (2, 2)
    assert net.graph.nodes["layer2.0.conv1"]["op"].stride == (1, 1)
    assert set(g.predecessors("layer2.0.downsample")) == {"layer1.2.add"}
    assert set(g.predecessors("layer2.0.add")) == {"layer2.0.conv3", "layer2.0.downsample"}
    assert set(g.predecessors("layer2.1.add")) == {"layer2.1.conv3", "layer2.0.add"}
    assert list(g.successors("maxpool")) == ["layer1.0.conv1", "layer1.0.downsample"]


def test_resnet18_structure() -> None:
    net = load_preset("resnet18")
    assert len([layer for layer in net.layers() if layer.kind == "conv2d"]) == 20  # 1 + 16 + 3 projections
    assert "layer1.0.downsample" not in net.graph and "layer2.0.downsample" in net.graph
    assert set(net.graph.predecessors("layer1.0.add")) == {"layer1.0.conv2", "maxpool"}


def test_mobilenetv2_structure() -> None:
    net = load_preset("mobilenetv2")
    dws = [layer for layer in net.layers() if layer.kind == "depthwise"]
    assert len(dws) == 17
    assert all(layer.dims["C"] == layer.dims["K"] == 1 and layer.dims["R"] == 3 for layer in dws)
    assert len(_kinds(net, "add")) == 10  # stride-1 blocks with equal in/out channels
    assert "features.1.expand" not in net.graph  # t = 1: no expansion conv


def test_alexnet_is_the_grouped_caffe_variant() -> None:
    net = load_preset("alexnet")
    groups = {layer.name: layer.dims["G"] for layer in net.layers()}
    assert groups == {"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2, "fc6": 1, "fc7": 1, "fc8": 1}
    assert net.graph.nodes["conv1"]["op"].dims["P"] == 55
    assert net.graph.nodes["fc6"]["op"].dims["C"] == 256 * 6 * 6


@pytest.mark.parametrize(("name", "seq"), [("bert-base", 128), ("vit-b16", 197)])
def test_transformer_attention_structure(name: str, seq: int) -> None:
    net = load_preset(name)
    g = net.graph
    qk = g.nodes["encoder.3.attn.qk"]["op"]
    assert qk.kind == "matmul" and qk.dims == {"N": 1, "G": 12, "K": seq, "C": 64, "P": seq, "Q": 1, "R": 1, "S": 1}
    assert set(g.predecessors("encoder.3.attn.qk")) == {"encoder.3.attn.q", "encoder.3.attn.k"}
    assert set(g.predecessors("encoder.3.attn.av")) == {"encoder.3.attn.softmax", "encoder.3.attn.v"}
    assert [op.kind for op in net.layers()].count("gemm") == 12 * 6
    assert len([n for n in g if n.endswith((".norm1", ".norm2"))]) == 24
    assert len(_kinds(net, "softmax")) == 12
    assert net.graph.nodes["encoder.0.attn.q"]["op"].dims["P"] == seq


def test_bert_is_post_norm_and_vit_pre_norm() -> None:
    bert, vit = load_preset("bert_base"), load_preset("vit_b16")
    assert set(bert.graph.predecessors("encoder.1.attn.q")) == {"encoder.0.norm2"}
    assert set(bert.graph.predecessors("encoder.1.attn.add")) == {"encoder.1.attn.o", "encoder.0.norm2"}
    assert set(vit.graph.predecessors("encoder.1.attn.q")) == {"encoder.1.norm1"}
    assert set(vit.graph.predecessors("encoder.1.mlp.add")) == {"encoder.1.mlp.fc2", "encoder.1.attn.add"}
    assert list(vit.graph.predecessors("head")) == ["norm"]
    assert vit.graph.nodes["patch_embed"]["op"].dims["P"] == 14


def test_load_preset_spellings() -> None:
    for spelling in ("bert_base", "BERT-base", "vit_b16", "vit-b16", "resnet50", "mobilenet_v2"):
        assert isinstance(load_preset(spelling), Network)
    assert load_preset("vit_b16").name == "vit-b16"
    with pytest.raises(KeyError, match=r"known: alexnet, vgg16, .*vit-b16"):
        load_preset("googlenet")


def test_cli_loader_finds_the_presets() -> None:
    assert load_workload("bert_base").macs == load_preset("bert-base").macs
