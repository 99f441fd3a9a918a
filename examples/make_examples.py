"""Writes the binary example inputs the README names: ``model.onnx`` (a small CNN, shapes only; ONNX shape inference fills
the rest) and ``weights.npz`` (pruned int8 weights of ``my_net.yaml``'s layers, about 70% zeros, seeded).

    python examples/make_examples.py        # rewrites both next to this file, byte for byte the same
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def onnx_model() -> bytes:
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)

    def init(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return helper.make_tensor(name, TensorProto.FLOAT, shape, rng.standard_normal(shape).astype(np.float32).ravel().tolist())

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="dw2", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=16),
        helper.make_node("Conv", ["c2", "w3"], ["c3"], name="pw2", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["c3"], ["r3"], name="relu3"),
        helper.make_node("GlobalAveragePool", ["r3"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w4", "b4"], ["y"], name="fc", transB=1),
    ]
    inits = [init("w1", (16, 3, 3, 3)), init("b1", (16,)), init("w2", (16, 1, 3, 3)), init("w3", (32, 16, 1, 1)),
             init("w4", (10, 32)), init("b4", (10,))]  # fmt: skip
    graph = helper.make_graph(nodes, "small-cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)  # fmt: skip
    model = helper.make_model(graph, producer_name="hwsim examples", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def pruned_weights() -> dict[str, np.ndarray]:
    """int8 weights of my_net.yaml's MAC layers in PyTorch's layout (K, C/G, R, S) and (out, in), ~70% magnitude-pruned."""
    shapes = {"conv1": (16, 3, 3, 3), "dw2": (16, 1, 3, 3), "pw2": (32, 16, 1, 1), "conv3": (64, 32, 3, 3), "fc": (10, 64)}
    rng = np.random.default_rng(1)
    out = {}
    for name, shape in shapes.items():
        w = rng.standard_normal(shape)
        w[np.abs(w) < np.quantile(np.abs(w), 0.7)] = 0.0
        out[name] = np.round(w / np.abs(w).max() * 127).astype(np.int8)
    return out


def main() -> None:
    (HERE / "model.onnx").write_bytes(onnx_model())
    with open(HERE / "weights.npz", "wb") as f:
        np.savez(f, **pruned_weights())  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
