"""ONNX models as hwsim networks: every node's shapes from ONNX shape inference, then the zoo's conventions.

MAC ops become :class:`~hwsim.core.workload.Layer` s:

* ``Conv`` (1-D and 2-D; grouped and depthwise via ``group``) → :func:`~hwsim.core.workload.conv2d`
  (a 1-D conv has height 1); asymmetric padding keeps the inferred output size;
* ``Gemm`` with a constant B (``nn.Linear`` on a 2-D input) → :func:`~hwsim.core.workload.fully_connected`;
* ``MatMul`` with a constant 2-D operand (``nn.Linear`` on a 3-D input) → :func:`~hwsim.core.workload.gemm`
  over every row; with two activations (attention's QKᵀ and ·V) → :func:`~hwsim.core.workload.batched_matmul`
  with the leading dimensions (batch × heads) on G;
* ``Attention`` (opset 23) → its two batched matmuls and a softmax.

Every other op is a non-MAC :class:`~hwsim.core.workload.TensorOp` or folded, as
:mod:`hwsim.frontend.importers._graph` states. Nodes that only compute shapes (everything reachable
from constants and ``Shape``) are dropped. Weights are never read: the file's initializer
shapes are enough, and external data files are not opened.

Unsupported constructs (3-D convs, transposed convs, recurrent ops, control flow, custom
domains) raise one :class:`~hwsim.core.errors.SpecError` that lists every such node by index,
name and op type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.workload import Layer, Network, TensorOp, batched_matmul, conv2d, fully_connected, gemm
from hwsim.frontend.importers._graph import (
    BATCHNORM_OPS,
    GELU_OPS,
    LAYERNORM_OPS,
    SOFTMAX_OPS,
    GraphBuilder,
    elements,
    elementwise,
    global_pool,
    pool,
)

__all__ = ["SUPPORTED_OPS", "load_onnx", "onnx_network"]

MAC_OPS = frozenset({"Conv", "Gemm", "MatMul", "Attention"})
# Free: shape and data-movement ops, and activations the zoo folds into their producer.
FREE_OPS = frozenset({
    "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Cast", "CastLike",
    "Concat", "Slice", "Split", "Gather", "GatherElements", "GatherND", "Expand", "Pad", "Tile",
    "DepthToSpace", "SpaceToDepth", "Relu", "Clip", "LeakyRelu", "PRelu",
})  # fmt: skip
BINARY_OPS = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Where", "Equal", "Greater",
                        "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor", "Mod", "BitShift"})  # fmt: skip
UNARY_OPS = frozenset({"Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Erf", "HardSigmoid",
                       "HardSwish", "Softplus", "Softsign", "Elu", "Selu", "Celu", "Mish", "Gelu", "Not", "Floor",
                       "Ceil", "Round", "Sign", "Sin", "Cos", "IsNaN", "IsInf", "ThresholdedRelu"})  # fmt: skip
NORM_OPS = frozenset({"LayerNormalization", "InstanceNormalization", "GroupNormalization", "LpNormalization",
                      "RMSNormalization", "SimplifiedLayerNormalization"})  # fmt: skip
REDUCE_OPS = frozenset({"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                        "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "TopK",
                        "CumSum"})  # fmt: skip
POOL_OPS = frozenset({"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"})
OTHER_OPS = frozenset({"Softmax", "LogSoftmax", "BatchNormalization", "Resize", "Upsample"})
SUPPORTED_OPS: frozenset[str] = MAC_OPS | FREE_OPS | BINARY_OPS | UNARY_OPS | NORM_OPS | REDUCE_OPS | POOL_OPS | OTHER_OPS
# Ops whose outputs are known without data: their consumers compute shapes, not activations.
_STATIC_SOURCES = frozenset({"Constant", "Shape", "Size", "ConstantOfShape", "Range", "EyeLike"})


def load_onnx(path: str | Path, *, input_shapes: Mapping[str, Sequence[int]] | None = None, name: str | None = None) -> Network:
    """Read an ``.onnx`` file as a :class:`Network` (weights are not loaded; shapes suffice).

    ``input_shapes`` fixes the shapes of graph inputs by name; a symbolic dimension left
    (such as a dynamic batch) is taken as 1. Raises :class:`SpecError` for an unreadable
    file or a model with unsupported nodes (all listed).
    """
    import onnx
    from google.protobuf.message import DecodeError

    source = str(path)
    try:
        model = onnx.load(source, load_external_data=False)
    except (OSError, DecodeError, ValueError) as e:
        raise SpecError(source, [Problem("", source, f"expected a readable ONNX model file ({e})")]) from None
    return onnx_network(model, input_shapes=input_shapes, name=name or Path(source).stem, source=source)


def onnx_network(model: Any, *, input_shapes: Mapping[str, Sequence[int]] | None = None, name: str | None = None,
                 source: str = "<onnx>") -> Network:  # fmt: skip
    """An ``onnx.ModelProto`` as a :class:`Network` (see the module documentation for what maps to what)."""
    import onnx

    bad = [Problem(f"graph.node[{i}]", repr(n.name)[:60], "expected a node whose name, op type, domain, inputs and outputs are UTF-8 text")
           for i, n in enumerate(model.graph.node)
           if not all(isinstance(t, str) for t in (n.name, n.op_type, n.domain, *n.input, *n.output))]  # fmt: skip
    if bad:
        raise SpecError(source, bad)
    model = _with_input_shapes(model, input_shapes or {}, source)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except (onnx.shape_inference.InferenceError, ValueError) as e:
        raise SpecError(source, [Problem("graph", "shape inference", f"expected a model ONNX can infer shapes of ({e})")]) from None
    graph = model.graph
    shapes = _shapes(graph)
    static = {t.name for t in graph.initializer}
    builder = GraphBuilder(name or graph.name or "onnx")
    problems = Problems(source)
    names = _names(graph)
    for index, node in enumerate(graph.node):
        inputs = [t for t in node.input if t]
        dynamic = [t for t in inputs if t not in static]
        if node.op_type in _STATIC_SOURCES or not dynamic:
            static.update(t for t in node.output if t)
            continue
        where = f"graph.node[{index}] {node.name or node.op_type!r}"
        if node.domain not in ("", "ai.onnx") or node.op_type not in SUPPORTED_OPS:
            kind = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            problems.add(where, kind, "expected an op hwsim imports (listed in hwsim.frontend.importers.onnx.SUPPORTED_OPS)")
            continue
        missing = [t for t in [*dynamic, *node.output[:1]] if shapes.get(t) is None]
        if missing:
            problems.add(where, missing, "expected tensors whose shapes ONNX shape inference determines (give input_shapes)")
            continue
        try:
            _translate(builder, node, index, names, dynamic, static, shapes, problems, where)
        except SpecError as e:  # a layer constructor rejected the shapes
            problems.extend([replace(p, path=f"{where}: {p.path}") for p in e.problems])
        except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            # shapes or attributes ONNX's operator definition does not allow (onnx.checker would refuse the model)
            seen = {t: shapes.get(t) for t in node.input if t}
            problems.add(where, f"{node.op_type} with input shapes {seen}", "expected a node whose shapes and attributes ONNX's operator definition allows")
    problems.raise_if_any()
    if not builder.net.layers():
        raise SpecError(source, [Problem("graph", builder.net.name, "expected a model with at least one MAC op (Conv, Gemm, MatMul)")])
    return builder.net


def _with_input_shapes(model: Any, given: Mapping[str, Sequence[int]], source: str) -> Any:
    import onnx

    model = onnx.ModelProto.FromString(model.SerializeToString())  # a copy: the caller's model is left alone
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    problems = Problems(source)
    for key in given:
        if key not in {i.name for i in inputs}:
            problems.add(f"input_shapes[{key!r}]", key, f"expected a graph input ({', '.join(i.name for i in inputs)})")
    for inp in inputs:
        dims = inp.type.tensor_type.shape.dim
        if inp.name in given:
            want = [int(d) for d in given[inp.name]]
            if len(want) != len(dims) or any(d < 1 for d in want):
                problems.add(f"input_shapes[{inp.name!r}]", tuple(want), f"expected {len(dims)} positive dimensions")
                continue
            for d, v in zip(dims, want, strict=True):
                d.ClearField("dim_param")
                d.dim_value = v
        else:
            for d in dims:
                if not d.HasField("dim_value") or d.dim_value < 1:
                    d.ClearField("dim_param")
                    d.dim_value = 1
    problems.raise_if_any()
    return model


def _shapes(graph: Any) -> dict[str, tuple[int, ...] | None]:
    out: dict[str, tuple[int, ...] | None] = {}
    for t in graph.initializer:
        out[t.name] = tuple(int(d) for d in t.dims)
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            out.setdefault(vi.name, None)
            continue
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim]
        out[vi.name] = None if any(d is None for d in dims) else tuple(int(d) for d in dims)  # type: ignore[arg-type]
    return out


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _scope(node: Any) -> tuple[str, str] | None:
    """PyTorch's exported scope ``/layer1/layer1.0/conv1/Conv``: (``layer1.0.conv1``, ``Conv``), else None."""
    parts = node.name.strip("/").split("/")
    if not node.name.startswith("/") or parts[-1].split("_")[0] != node.op_type:
        return None
    path: list[str] = []
    for part in parts[:-1]:  # a Sequential's child is scoped ``downsample.0`` under ``downsample``
        if path and part.startswith(path[-1] + "."):
            path[-1] = part
        else:
            path.append(part)
    return ".".join(path), parts[-1]


def _names(graph: Any) -> list[str]:
    """Readable node names: a leaf module's op is named after the module (``layer1.0.conv1``), an op
    written in a block's ``forward`` after the block and the op (``layer1.0.add``); other names are kept."""
    scopes = [_scope(n) for n in graph.node]
    containers = {path[: i] for s in scopes if s for path in [s[0]] for i in range(len(path)) if path[i] == "."}
    out = []
    for index, (node, s) in enumerate(zip(graph.node, scopes, strict=True)):
        if s is None:
            out.append(node.name.strip("/") or f"{node.op_type.lower()}_{index}")
        else:
            out.append(s[0] if s[0] and s[0] not in containers else f"{s[0]}.{s[1].lower()}".lstrip("."))
    return out


def _translate(b: GraphBuilder, node: Any, index: int, names: list[str], dynamic: list[str], static: set[str],
               shapes: Mapping[str, tuple[int, ...] | None], problems: Problems, where: str) -> None:  # fmt: skip
    op = node.op_type
    outs = [t for t in node.output if t]
    out_shape: tuple[int, ...] = shapes[outs[0]] or ()
    in_shapes = [shapes[t] or () for t in dynamic]
    name = names[index]
    if op in MAC_OPS:
        _mac(b, node, name, dynamic, static, shapes, problems, where)
    elif op in FREE_OPS:
        b.fold(outs, dynamic)
    elif op == "BatchNormalization":
        if b.is_mac_output(dynamic[0]):
            b.fold(outs, dynamic)
        else:
            b.add(elementwise(name, in_shapes[:1], out_shape, BATCHNORM_OPS, "norm"), outs[:1], dynamic[:1])
    elif op in BINARY_OPS:
        if len(dynamic) == 1 and b.is_mac_output(dynamic[0]) and op in ("Add", "Sub", "Mul", "Div"):
            b.fold(outs, dynamic)  # a bias or a scale of the MAC layer before it
        else:
            b.add(elementwise(name, in_shapes, out_shape, 1, "add" if op == "Add" and len(dynamic) == 2 else "elementwise"),
                  outs, dynamic)  # fmt: skip
    elif op in UNARY_OPS:
        b.add(elementwise(name, in_shapes, out_shape, GELU_OPS if op == "Gelu" else 1, "activation"), outs, dynamic)
    elif op in ("Softmax", "LogSoftmax"):
        b.add(elementwise(name, in_shapes, out_shape, SOFTMAX_OPS, "softmax"), outs, dynamic)
    elif op in NORM_OPS:
        b.add(elementwise(name, in_shapes[:1], out_shape, LAYERNORM_OPS, "norm"), outs, dynamic)
    elif op in REDUCE_OPS:
        n_in = elements(in_shapes[0])
        b.add(TensorOp(name, "elementwise", n_in, elements(out_shape), n_in), outs[:1], dynamic[:1])  # one op per input
    elif op in ("Resize", "Upsample"):
        b.add(elementwise(name, in_shapes[:1], out_shape, 1, "elementwise"), outs, dynamic[:1])
    elif op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"):
        b.add(global_pool(name, in_shapes[0], out_shape), outs[:1], dynamic[:1])
    elif op in POOL_OPS:
        kernel = _attrs(node).get("kernel_shape", [1])
        window = 1
        for k in kernel:
            window *= int(k)
        b.add(pool(name, in_shapes[0], out_shape, window, op == "MaxPool"), outs[:1], dynamic[:1])
    else:  # pragma: no cover - SUPPORTED_OPS and the branches above list the same ops
        problems.add(where, op, "expected an op hwsim imports")


def _mac(b: GraphBuilder, node: Any, name: str, dynamic: list[str], static: set[str],
         shapes: Mapping[str, tuple[int, ...] | None], problems: Problems, where: str) -> None:  # fmt: skip
    op = node.op_type
    attrs = _attrs(node)
    ins = [t for t in node.input]
    outs = [t for t in node.output if t]
    shape = {t: shapes.get(t) for t in ins if t}
    out_shape = shapes[outs[0]] or ()
    layer: Layer
    if op == "Conv":
        x, w = shape[ins[0]], shape.get(ins[1])
        if x is None or w is None or len(x) not in (3, 4):
            problems.add(where, f"Conv on a {len(x or ()) - 2}-D input", "expected a 1-D or 2-D convolution")
            return
        if len(x) == 3:  # a 1-D conv is a 2-D conv of height 1
            x, w, out_shape = (x[0], x[1], 1, x[2]), (*w[:2], 1, w[2]), (*out_shape[:2], 1, out_shape[2])
            pads = list(attrs.get("pads", [0, 0]))
            pads = [0, pads[0], 0, pads[1]]
            strides = [1, *attrs.get("strides", [1])]
            dilations = [1, *attrs.get("dilations", [1])]
        else:
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            strides = list(attrs.get("strides", [1, 1]))
            dilations = list(attrs.get("dilations", [1, 1]))
        groups = int(attrs.get("group", 1))
        layer = conv2d(name, in_channels=x[1], out_channels=w[0], in_hw=(x[2], x[3]), kernel=(w[2], w[3]),
                       stride=(strides[0], strides[1]), padding=(pads[0], pads[1]), dilation=(dilations[0], dilations[1]),
                       groups=groups, batch=x[0])  # fmt: skip
        p, q = out_shape[2], out_shape[3]
        if (layer.bound("P"), layer.bound("Q")) != (p, q):  # asymmetric or SAME padding: ONNX's size is the truth
            layer = replace(layer, bounds=tuple((d, p if d == "P" else q if d == "Q" else n) for d, n in layer.bounds))
        b.add(layer, outs, dynamic[:1])
        return
    if op == "Attention":
        _attention(b, node, name, attrs, shape, dynamic, outs)
        return
    a, w = shape[ins[0]] or (), shape[ins[1]] or ()
    if op == "Gemm":
        m, k = (a[1], a[0]) if attrs.get("transA", 0) else (a[0], a[1])
        n = w[0] if attrs.get("transB", 0) else w[1]
        if ins[1] in static:
            layer = fully_connected(name, in_features=k, out_features=n, batch=m)
        else:
            layer = batched_matmul(name, batch=1, M=m, N=n, K=k)
        b.add(layer, outs, dynamic[:2])
        return
    # MatMul, with numpy's rules: 1-D operands gain a unit dimension, leading dimensions broadcast.
    a2 = (1, *a) if len(a) == 1 else a
    w2 = (*w, 1) if len(w) == 1 else w
    batch = 1
    for d in (out_shape[:-2] if len(a) > 1 and len(w) > 1 else ()):
        batch *= d
    if ins[1] in static and len(w2) == 2:
        layer = gemm(name, M=elements(a2[:-1]), N=w2[1], K=a2[-1])
    elif ins[0] in static and len(a2) == 2:  # C = A·X with a constant A: the transposed problem Xᵀ·Aᵀ
        layer = gemm(name, M=elements(w2[:-2]) * w2[-1], N=a2[0], K=a2[1])
    else:
        layer = batched_matmul(name, batch=batch, M=a2[-2], N=w2[-1], K=a2[-1])
    b.add(layer, outs, dynamic)


def _attention(b: GraphBuilder, node: Any, name: str, attrs: Mapping[str, Any], shape: Mapping[str, tuple[int, ...] | None],
               dynamic: list[str], outs: list[str]) -> None:  # fmt: skip
    """ONNX ``Attention`` (opset 23): softmax(Q·Kᵀ)·V per head, as two batched matmuls and a softmax."""
    q, k, v = (shape[t] or () for t in list(node.input)[:3])
    if len(q) == 4:
        batch, heads, sq, d = q
        skv, dv = k[2], v[3]
    else:  # 3-D: [batch, sequence, heads · head size]
        heads = int(attrs.get("q_num_heads", 1))
        kv_heads = int(attrs.get("kv_num_heads", heads))
        batch, sq, d = q[0], q[1], q[2] // heads
        skv, dv = k[1], v[2] // kv_heads
    scores = (batch * heads, sq, skv)
    b.add(batched_matmul(f"{name}.qk", batch=batch * heads, M=sq, N=skv, K=d), [f"{name}:qk"], dynamic[:2])
    b.add(elementwise(f"{name}.softmax", [scores], scores, SOFTMAX_OPS, "softmax"), [f"{name}:p"], [f"{name}:qk"])
    b.add(batched_matmul(f"{name}.av", batch=batch * heads, M=sq, N=dv, K=skv), outs[:1], [f"{name}:p", *dynamic[2:3]])
