"""ONNX import: models built here with onnx.helper (no downloads), checked against hwsim's own constructors."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper
from onnx import helper as h

from hwsim.core.errors import SpecError
from hwsim.core.workload import TensorOp, batched_matmul, conv2d, depthwise_conv2d, fully_connected, gemm
from hwsim.frontend.importers.onnx import SUPPORTED_OPS, load_onnx, onnx_network


def _init(name: str, shape: tuple[int, ...], dtype: type = np.float32) -> TensorProto:
    return numpy_helper.from_array(np.zeros(shape, dtype=dtype), name)


def _shape(name: str, values: list[int]) -> TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def _model(nodes: list, inputs: dict[str, list], inits: list, outputs: dict[str, list], opset: int = 17) -> onnx.ModelProto:
    graph = h.make_graph(
        nodes, "test",
        [h.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in inputs.items()],
        [h.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in outputs.items()],
        inits,
    )  # fmt: skip
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def resnet_stem_and_block() -> onnx.ModelProto:
    """ResNet's stem, one basic block and the head, named as PyTorch's exporter names nodes."""
    c = 64
    nodes = [
        h.make_node("Conv", ["x", "w0"], ["c0"], name="/conv1/Conv", kernel_shape=[7, 7], strides=[2, 2], pads=[3, 3, 3, 3]),
        h.make_node("BatchNormalization", ["c0", "g", "b", "m", "v"], ["b0"], name="/bn1/BatchNormalization"),
        h.make_node("Relu", ["b0"], ["r0"], name="/relu/Relu"),
        h.make_node("MaxPool", ["r0"], ["p0"], name="/maxpool/MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        h.make_node("Conv", ["p0", "w1"], ["c1"], name="/layer1/layer1.0/conv1/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        h.make_node("Relu", ["c1"], ["r1"], name="/layer1/layer1.0/relu/Relu"),
        h.make_node("Conv", ["r1", "w2"], ["c2"], name="/layer1/layer1.0/conv2/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        h.make_node("Add", ["c2", "p0"], ["a"], name="/layer1/layer1.0/Add"),
        h.make_node("Relu", ["a"], ["r2"], name="/layer1/layer1.0/relu_1/Relu"),
        h.make_node("GlobalAveragePool", ["r2"], ["gp"], name="/avgpool/GlobalAveragePool"),
        h.make_node("Flatten", ["gp"], ["f"], name="/Flatten"),
        h.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="/fc/Gemm", transB=1),
    ]
    inits = [_init("w0", (c, 3, 7, 7)), *(_init(n, (c,)) for n in "gbmv"), _init("w1", (c, c, 3, 3)),
             _init("w2", (c, c, 3, 3)), _init("wf", (10, c)), _init("bf", (10,))]  # fmt: skip
    return _model(nodes, {"x": ["batch", 3, 224, 224]}, inits, {"y": ["batch", 10]})


def test_resnet_block_layers_equal_the_constructors() -> None:
    net = onnx_network(resnet_stem_and_block())
    want = [
        conv2d("conv1", in_channels=3, out_channels=64, in_hw=224, kernel=7, stride=2, padding=3),
        conv2d("layer1.0.conv1", in_channels=64, out_channels=64, in_hw=56, kernel=3, padding=1),
        conv2d("layer1.0.conv2", in_channels=64, out_channels=64, in_hw=56, kernel=3, padding=1),
        fully_connected("fc", in_features=64, out_features=10),
    ]
    assert net.layers() == want
    assert net.macs == sum(layer.macs for layer in want)
    ops = {op.name: op for op in net.ops() if isinstance(op, TensorOp)}
    # BatchNorm and ReLU fold into the convs; pooling and the residual add are ops, named after their modules.
    assert sorted(ops) == ["avgpool", "layer1.0.add", "maxpool"]
    assert ops["maxpool"] == TensorOp("maxpool", "pool", 64 * 112 * 112, 64 * 56 * 56, 64 * 56 * 56 * 8)
    assert ops["avgpool"] == TensorOp("avgpool", "pool", 64 * 56 * 56, 64, 64 * 56 * 56 + 64)
    assert ops["layer1.0.add"] == TensorOp("layer1.0.add", "add", 2 * 64 * 56 * 56, 64 * 56 * 56, 64 * 56 * 56)
    g = net.graph
    assert sorted(g.predecessors("layer1.0.add")) == ["layer1.0.conv2", "maxpool"]  # the residual edge
    assert list(g.predecessors("fc")) == ["avgpool"]
    assert g.edges["conv1", "maxpool"]["size_bytes"] == 64 * 112 * 112


def test_dynamic_batch_is_one_unless_given(tmp_path) -> None:
    path = tmp_path / "block.onnx"
    onnx.save(resnet_stem_and_block(), str(path))
    assert load_onnx(path).layers()[0].bound("N") == 1
    four = load_onnx(path, input_shapes={"x": (4, 3, 224, 224)})
    assert [layer.bound("N") for layer in four.layers()] == [4, 4, 4, 4]
    assert four.name == "block"
    with pytest.raises(SpecError, match=re.escape("input_shapes['y']: expected a graph input (x), not 'y'")):
        load_onnx(path, input_shapes={"y": (1, 10)})


def test_depthwise_grouped_strided_and_asymmetric_convs() -> None:
    nodes = [
        h.make_node("Conv", ["x", "dw"], ["a"], name="dw", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], group=32),
        h.make_node("Conv", ["a", "gw"], ["b"], name="grouped", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4),
        h.make_node("Conv", ["b", "sw"], ["c"], name="same_upper", kernel_shape=[2, 2], pads=[0, 0, 1, 1], dilations=[1, 1]),
        h.make_node("Conv", ["c", "dil"], ["d"], name="dilated", kernel_shape=[3, 3], pads=[2, 2, 2, 2], dilations=[2, 2]),
    ]
    inits = [_init("dw", (32, 1, 3, 3)), _init("gw", (64, 8, 3, 3)), _init("sw", (16, 64, 2, 2)), _init("dil", (8, 16, 3, 3))]
    net = onnx_network(_model(nodes, {"x": [1, 32, 16, 16]}, inits, {"d": [1, 8, 8, 8]}))
    dw, grouped, same, dilated = net.layers()
    assert dw == depthwise_conv2d("dw", channels=32, in_hw=16, kernel=3, stride=2, padding=1)
    assert dw.kind == "depthwise"
    assert grouped == conv2d("grouped", in_channels=32, out_channels=64, in_hw=8, kernel=3, padding=1, groups=4)
    # Padding 0 before and 1 after keeps the size: ONNX's inferred 8×8, not a symmetric padding's 7×7 or 9×9.
    assert (same.bound("P"), same.bound("Q"), same.bound("R"), same.macs) == (8, 8, 2, 16 * 64 * 8 * 8 * 4)
    assert dilated == conv2d("dilated", in_channels=16, out_channels=8, in_hw=8, kernel=3, padding=2, dilation=2)


def test_conv1d_is_a_conv_of_height_one() -> None:
    nodes = [h.make_node("Conv", ["x", "w"], ["y"], name="c1d", kernel_shape=[5], strides=[2], pads=[2, 2])]
    net = onnx_network(_model(nodes, {"x": [1, 8, 100]}, [_init("w", (16, 8, 5))], {"y": [1, 16, 50]}))
    assert net.layers() == [conv2d("c1d", in_channels=8, out_channels=16, in_hw=(1, 100), kernel=(1, 5), stride=(1, 2), padding=(0, 2))]


def attention_block(seq: int = 16, dim: int = 64, heads: int = 4) -> onnx.ModelProto:
    """One self-attention block as PyTorch exports a hand-written one: Linear layers on a 3-D input
    (MatMul + bias Add), head reshapes and transposes, QKᵀ scaled by 1/√d, softmax, ·V, the output projection."""
    d = dim // heads
    nodes = []
    for p in "qkv":
        nodes += [h.make_node("MatMul", ["x", f"w{p}"], [f"{p}0"], name=f"/attn/{p}_proj/MatMul"),
                  h.make_node("Add", [f"{p}0", f"b{p}"], [f"{p}1"], name=f"/attn/{p}_proj/Add"),
                  h.make_node("Reshape", [f"{p}1", "heads_shape"], [f"{p}2"], name=f"/attn/Reshape_{p}"),
                  h.make_node("Transpose", [f"{p}2"], [f"{p}3"], name=f"/attn/Transpose_{p}",
                              perm=[0, 2, 3, 1] if p == "k" else [0, 2, 1, 3])]  # fmt: skip
    nodes += [
        h.make_node("MatMul", ["q3", "k3"], ["s0"], name="/attn/MatMul"),
        h.make_node("Div", ["s0", "scale"], ["s1"], name="/attn/Div"),
        h.make_node("Softmax", ["s1"], ["p"], name="/attn/Softmax", axis=-1),
        h.make_node("MatMul", ["p", "v3"], ["o0"], name="/attn/MatMul_1"),
        h.make_node("Transpose", ["o0"], ["o1"], name="/attn/Transpose", perm=[0, 2, 1, 3]),
        h.make_node("Reshape", ["o1", "merge_shape"], ["o2"], name="/attn/Reshape"),
        h.make_node("MatMul", ["o2", "wo"], ["o3"], name="/attn/out_proj/MatMul"),
        h.make_node("Add", ["o3", "x"], ["r"], name="/Add"),
        h.make_node("LayerNormalization", ["r", "ln_g", "ln_b"], ["y"], name="/norm/LayerNormalization", axis=-1),
    ]
    inits = [*(_init(f"w{p}", (dim, dim)) for p in "qkvo"), *(_init(f"b{p}", (dim,)) for p in "qkv"),
             _shape("heads_shape", [1, seq, heads, d]), _shape("merge_shape", [1, seq, dim]),
             numpy_helper.from_array(np.array(np.sqrt(d), dtype=np.float32), "scale"), _init("ln_g", (dim,)), _init("ln_b", (dim,))]  # fmt: skip
    return _model(nodes, {"x": [1, seq, dim]}, inits, {"y": [1, seq, dim]})


def test_attention_block_layers_equal_the_constructors() -> None:
    seq, dim, heads = 16, 64, 4
    net = onnx_network(attention_block(seq, dim, heads))
    d = dim // heads
    want = [
        gemm("attn.q_proj", M=seq, N=dim, K=dim),
        gemm("attn.k_proj", M=seq, N=dim, K=dim),
        gemm("attn.v_proj", M=seq, N=dim, K=dim),
        batched_matmul("attn.matmul", batch=heads, M=seq, N=seq, K=d),
        batched_matmul("attn.matmul_1", batch=heads, M=seq, N=d, K=seq),
        gemm("attn.out_proj", M=seq, N=dim, K=dim),
    ]
    assert net.layers() == want
    ops = [(op.name, op.kind, op.ops) for op in net.ops() if isinstance(op, TensorOp)]
    # The bias adds and the 1/√d scale fold into their matmuls (the zoo counts neither).
    assert ops == [("attn.softmax", "softmax", 4 * heads * seq * seq), ("add", "add", seq * dim), ("norm", "norm", 7 * seq * dim)]
    g = net.graph
    assert sorted(g.predecessors("attn.matmul")) == ["attn.k_proj", "attn.q_proj"]
    assert sorted(g.predecessors("attn.matmul_1")) == ["attn.softmax", "attn.v_proj"]
    assert list(g.predecessors("add")) == ["attn.out_proj"]  # the residual comes from the graph input


def test_onnx_attention_op_of_opset_23() -> None:
    node = h.make_node("Attention", ["q", "k", "v"], ["y"], name="sdpa")
    net = onnx_network(_model([node], {"q": [2, 8, 32, 16], "k": [2, 8, 48, 16], "v": [2, 8, 48, 24]}, [],
                              {"y": [2, 8, 32, 24]}, opset=23))  # fmt: skip
    assert net.layers() == [batched_matmul("sdpa.qk", batch=16, M=32, N=48, K=16), batched_matmul("sdpa.av", batch=16, M=32, N=24, K=48)]
    assert [op.kind for op in net.ops()] == ["matmul", "softmax", "matmul"]


def test_matmul_broadcasting_and_vectors() -> None:
    nodes = [
        h.make_node("MatMul", ["a", "b"], ["ab"], name="bcast"),  # [3, 1, 4, 5] · [2, 5, 6] → [3, 2, 4, 6]
        h.make_node("MatMul", ["wl", "x"], ["lx"], name="left_const"),  # [7, 4] · [3, 2, 4, 6]: constant on the left
        h.make_node("MatMul", ["vec", "m"], ["vm"], name="vector"),  # [5] · [5, 9]
    ]
    inits = [_init("wl", (7, 4))]
    net = onnx_network(_model(nodes, {"a": [3, 1, 4, 5], "b": [2, 5, 6], "x": [3, 2, 4, 6], "vec": [5], "m": [5, 9]}, inits,
                              {"ab": [3, 2, 4, 6], "lx": [3, 2, 7, 6], "vm": [9]}))  # fmt: skip
    bcast, left, vector = net.layers()
    assert bcast == batched_matmul("bcast", batch=6, M=4, N=6, K=5)
    assert left == gemm("left_const", M=3 * 2 * 6, N=7, K=4)
    assert vector == batched_matmul("vector", batch=1, M=1, N=9, K=5)
    assert left.macs == 3 * 2 * 7 * 6 * 4


def test_shape_arithmetic_is_dropped() -> None:
    """Shape → Gather → Unsqueeze → Concat → Reshape (how exporters flatten) leaves no nodes of its own."""
    nodes = [
        h.make_node("Shape", ["x"], ["s"]),
        h.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        h.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        h.make_node("Mul", ["n1", "one"], ["n2"]),  # arithmetic on shapes is not an elementwise op
        h.make_node("Concat", ["n2", "minus_one"], ["shape"], axis=0),
        h.make_node("Reshape", ["x", "shape"], ["f"]),
        h.make_node("Gemm", ["f", "w"], ["y"], transB=1),
    ]
    inits = [numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"), _shape("axes", [0]), _shape("one", [1]), _shape("minus_one", [-1]), _init("w", (10, 48))]  # fmt: skip
    net = onnx_network(_model(nodes, {"x": [2, 3, 4, 4]}, inits, {"y": [2, 10]}))
    assert list(net.ops()) == [fully_connected("gemm_6", in_features=48, out_features=10, batch=2)]


def test_elementwise_reductions_and_other_ops() -> None:
    nodes = [
        h.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
        h.make_node("Sigmoid", ["c"], ["s"], name="sig"),
        h.make_node("Mul", ["c", "s"], ["m"], name="swish"),
        h.make_node("ReduceMean", ["m", "axes"], ["r"], name="mean", keepdims=1),
        h.make_node("AveragePool", ["m"], ["ap"], name="avg", kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Resize", ["ap", "", "scales"], ["up"], name="up", mode="nearest"),
        h.make_node("Gelu", ["up"], ["g"], name="gelu"),
        h.make_node("BatchNormalization", ["g", "bg", "bb", "bm", "bv"], ["y"], name="bn"),
    ]
    inits = [_init("w", (4, 4, 1, 1)), _shape("axes", [2, 3]), numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
             *(_init(f"b{n}", (4,)) for n in "gbmv")]  # fmt: skip
    net = onnx_network(_model(nodes, {"x": [1, 4, 8, 8]}, inits, {"y": [1, 4, 8, 8], "r": [1, 4, 1, 1]}, opset=20))
    n = 4 * 8 * 8
    ops = {op.name: op for op in net.ops() if isinstance(op, TensorOp)}
    assert ops["sig"] == TensorOp("sig", "activation", n, n, n)
    assert ops["swish"] == TensorOp("swish", "elementwise", 2 * n, n, n)
    assert ops["mean"] == TensorOp("mean", "elementwise", n, 4, n)
    assert ops["avg"] == TensorOp("avg", "pool", n, n // 4, n // 4 * 4)
    assert ops["up"] == TensorOp("up", "elementwise", n // 4, n, n)
    assert ops["gelu"] == TensorOp("gelu", "activation", n, n, 8 * n)
    assert ops["bn"] == TensorOp("bn", "norm", n, n, 2 * n)  # not after a MAC layer: not folded


def test_every_unsupported_node_is_listed_at_once(tmp_path) -> None:
    nodes = [
        h.make_node("ConvTranspose", ["x", "w"], ["a"], name="up", kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Conv", ["a", "w3"], ["b"], name="c3d_input_ok", kernel_shape=[1, 1]),
        h.make_node("FusedThing", ["b"], ["y"], name="custom", domain="com.example"),
    ]
    graph = h.make_graph(nodes, "bad", [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                         [h.make_tensor_value_info("y", TensorProto.FLOAT, None)], [_init("w", (4, 4, 2, 2)), _init("w3", (4, 4, 1, 1))])  # fmt: skip
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("com.example", 1)])
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    with pytest.raises(SpecError) as info:
        load_onnx(path)
    assert str(info.value) == (
        f"{path}: 2 problems\n"
        "- graph.node[0] 'up': expected an op hwsim imports (listed in hwsim.frontend.importers.onnx.SUPPORTED_OPS), not 'ConvTranspose'\n"
        "- graph.node[2] 'custom': expected an op hwsim imports (listed in hwsim.frontend.importers.onnx.SUPPORTED_OPS), not 'com.example.FusedThing'"
    )
    assert "ConvTranspose" not in SUPPORTED_OPS


def test_conv3d_and_unreadable_files(tmp_path) -> None:
    node = h.make_node("Conv", ["x", "w"], ["y"], name="c3", kernel_shape=[1, 1, 1])
    model = _model([node], {"x": [1, 2, 4, 4, 4]}, [_init("w", (2, 2, 1, 1, 1))], {"y": [1, 2, 4, 4, 4]})
    with pytest.raises(SpecError, match=re.escape("graph.node[0] 'c3': expected a 1-D or 2-D convolution, not 'Conv on a 3-D input'")):
        onnx_network(model)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\x00 not a protobuf")
    with pytest.raises(SpecError, match=r"junk\.onnx: 1 problem\n- .*expected a readable ONNX model file"):
        load_onnx(junk)
    with pytest.raises(SpecError, match="expected a readable ONNX model file"):
        load_onnx(tmp_path / "missing.onnx")


def test_cli_runs_an_onnx_file(tmp_path, capsys) -> None:
    from hwsim.cli import main

    path = tmp_path / "attn.onnx"
    onnx.save(attention_block(8, 32, 2), str(path))
    assert main(["run", "--arch", "eyeriss", "--workload", str(path), "--format", "json", "--samples", "200"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["workload"] == "attn"
    layers = [row for row in out["layers"] if row["macs"]]
    assert [row["name"] for row in layers] == ["attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.matmul", "attn.matmul_1", "attn.out_proj"]
    assert out["total"]["macs"] == 4 * 8 * 32 * 32 + 2 * 2 * 8 * 8 * 16

