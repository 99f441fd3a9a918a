"""PyTorch modules as hwsim networks through torch.fx (``pip install hwsim[torch]``).

The module is traced symbolically (:func:`torch.fx.symbolic_trace`) and run once on example
inputs to record every node's shape (:class:`torch.fx.passes.shape_prop.ShapeProp`); each
node then becomes an hwsim op under the same conventions as the ONNX importer
(:mod:`hwsim.frontend.importers._graph`), named after its module (``layer1.0.conv1``) or, for an op
written in a module's ``forward``, after that module and the op (``layer1.0.add``).

MAC layers: ``nn.Conv1d``/``nn.Conv2d`` and ``F.conv1d``/``F.conv2d`` (grouped, depthwise),
``nn.Linear``/``F.linear`` (:func:`~hwsim.core.workload.fully_connected` on a 2-D input,
:func:`~hwsim.core.workload.gemm` over every row otherwise), ``torch.matmul``/``bmm``/``@`` between
two activations (:func:`~hwsim.core.workload.batched_matmul`, leading dimensions on G), and
``nn.MultiheadAttention`` and ``F.scaled_dot_product_attention`` (projections, QKᵀ, softmax, ·V).
Modules or functions outside the supported set raise one :class:`~hwsim.core.errors.SpecError`
listing each with its node name and target. torch is imported only inside these functions.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import replace
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

__all__ = ["torch_network"]

_FREE_METHODS = {"view", "reshape", "transpose", "permute", "flatten", "contiguous", "unsqueeze", "squeeze", "expand",
                 "expand_as", "chunk", "split", "to", "type", "float", "half", "int", "long", "t", "repeat", "unflatten",
                 "relu", "relu_", "clamp", "clamp_", "clone", "detach", "narrow", "select", "view_as", "reshape_as"}  # fmt: skip
_FREE_FUNCTIONS = {"flatten", "reshape", "transpose", "permute", "cat", "concat", "stack", "chunk", "split", "unsqueeze",
                   "squeeze", "getitem", "relu", "relu_", "relu6", "leaky_relu", "hardtanh", "clamp", "dropout",
                   "narrow", "unflatten", "pad", "identity", "contiguous"}  # fmt: skip
_BINARY = {"add", "iadd", "sub", "isub", "mul", "imul", "truediv", "itruediv", "div", "floordiv", "pow", "maximum",
           "minimum", "where"}  # fmt: skip
_UNARY = {"sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "exp", "log", "sqrt", "rsqrt", "neg", "abs", "erf",
          "elu", "selu", "celu", "softplus", "mish", "gelu", "reciprocal", "sin", "cos"}  # fmt: skip
_REDUCE = {"mean", "sum", "amax", "amin", "max", "min", "prod", "norm", "logsumexp", "cumsum", "argmax", "argmin"}


def torch_network(module: Any, example_inputs: Any, *, name: str | None = None) -> Network:
    """Trace ``module`` and run it on ``example_inputs`` (a tensor or a tuple of them) for shapes;
    returns the :class:`Network` of its MAC layers and non-MAC ops (the module is put in eval mode)."""
    import torch
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    source = name or type(module).__name__
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    module = module.eval()
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as e:  # symbolic tracing fails on data-dependent control flow, with many exception types
        raise SpecError(source, [Problem("module", type(module).__name__, f"expected a module torch.fx can trace ({type(e).__name__}: {e})")]) from None
    with torch.no_grad():
        ShapeProp(gm).propagate(*args)
    modules = dict(gm.named_modules())
    builder = GraphBuilder(name or type(module).__name__.lower())
    problems = Problems(source)
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        if node.op == "get_attr" or (_shape(node) is None and not _is_tuple(node)):
            continue  # parameters, constants and Python values (sizes): no data flow
        where = f"node {node.name!r}"
        try:
            _translate(builder, node, modules, problems, where)
        except SpecError as e:
            problems.extend([replace(p, path=f"{where}: {p.path}") for p in e.problems])
    problems.raise_if_any()
    if not builder.net.layers():
        raise SpecError(source, [Problem("module", source, "expected a module with at least one MAC layer (conv, linear, matmul)")])
    return builder.net


def _shape(node: Any) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta") if hasattr(node, "meta") else None
    shape = getattr(meta, "shape", None)
    return tuple(int(d) for d in shape) if shape is not None else None


def _is_tuple(node: Any) -> bool:
    return isinstance(node.meta.get("tensor_meta"), (tuple, list))


def _tensor_args(node: Any) -> list[Any]:
    """The argument nodes that carry activations (not parameters, constants or sizes)."""
    import torch.fx

    out = []
    for a in [*node.args, *node.kwargs.values()]:
        for x in a if isinstance(a, (list, tuple)) else [a]:
            if isinstance(x, torch.fx.Node) and x.op != "get_attr" and (_shape(x) is not None or _is_tuple(x)):
                out.append(x)
    return out


def _name(node: Any, base: str | None = None) -> str:
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    scope = next(reversed(stack.values()))[0] if stack else ""
    op = base or _target_name(node)
    return f"{scope}.{op}" if scope else op


def _target_name(node: Any) -> str:
    t = node.target
    return t if isinstance(t, str) else getattr(t, "__name__", str(t)).lstrip("_")


def _translate(b: GraphBuilder, node: Any, modules: dict[str, Any], problems: Problems, where: str) -> None:
    import torch.nn as nn

    ins = [a.name for a in _tensor_args(node)]
    out_shape = _shape(node)
    if node.op == "call_module":
        m = modules[node.target]
        in_shapes = [_shape(a) or () for a in _tensor_args(node)]
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            b.add(_conv(node.target, in_shapes[0], out_shape or (), m.weight.shape, m.stride, m.padding, m.dilation, m.groups), [node.name], ins[:1])
        elif isinstance(m, nn.Linear):
            b.add(_linear(node.target, in_shapes[0], m.out_features), [node.name], ins[:1])
        elif isinstance(m, nn.MultiheadAttention):
            _mha(b, node, m, in_shapes, ins)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if b.is_mac_output(ins[0]):
                b.fold([node.name], ins)
            else:
                b.add(elementwise(node.target, in_shapes[:1], out_shape or (), BATCHNORM_OPS, "norm"), [node.name], ins)
        elif isinstance(m, (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.Hardtanh, nn.Identity, nn.Dropout, nn.Flatten, nn.Unflatten,
                            nn.Embedding)):  # fmt: skip
            b.fold([node.name], ins)
        elif isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
            k = m.kernel_size if isinstance(m.kernel_size, (tuple, list)) else (m.kernel_size,) * (len(in_shapes[0]) - 2)
            b.add(pool(node.target, in_shapes[0], out_shape or (), math.prod(k), isinstance(m, (nn.MaxPool1d, nn.MaxPool2d))), [node.name], ins)
        elif isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
            _adaptive(b, node.target, in_shapes[0], out_shape or (), [node.name], ins, "Max" in type(m).__name__)
        elif isinstance(m, (nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.RMSNorm)):
            b.add(elementwise(node.target, in_shapes[:1], out_shape or (), LAYERNORM_OPS, "norm"), [node.name], ins)
        elif isinstance(m, (nn.Softmax, nn.LogSoftmax)):
            b.add(elementwise(node.target, in_shapes[:1], out_shape or (), SOFTMAX_OPS, "softmax"), [node.name], ins)
        elif isinstance(m, (nn.GELU, nn.Sigmoid, nn.Tanh, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.ELU, nn.SELU, nn.Softplus, nn.Mish)):
            ops = GELU_OPS if isinstance(m, nn.GELU) else 1
            b.add(elementwise(node.target, in_shapes[:1], out_shape or (), ops, "activation"), [node.name], ins)
        else:
            problems.add(where, f"{node.target} ({type(m).__name__})", "expected a module hwsim imports (see hwsim.frontend.importers.torch_fx)")
        return
    _function(b, node, ins, out_shape, problems, where)


def _function(b: GraphBuilder, node: Any, ins: list[str], out_shape: tuple[int, ...] | None, problems: Problems, where: str) -> None:
    import torch.fx

    target = _target_name(node)
    shapes = [_shape(a) or () for a in _tensor_args(node)]
    name = _name(node)
    if (node.op == "call_method" and target in _FREE_METHODS) or (node.op == "call_function" and target in _FREE_FUNCTIONS):
        b.fold([node.name], ins)
    elif out_shape is None:
        problems.add(where, target, "expected an op whose output is a tensor or a tuple of them")
    elif target in ("matmul", "bmm") or node.target is operator.matmul:
        args = [a for a in node.args if isinstance(a, torch.fx.Node)]
        params = [a.op == "get_attr" for a in args[:2]]
        a_shape, w_shape = (_shape(x) or () for x in args[:2])
        if params[1] and len(w_shape) == 2:
            layer: Layer = gemm(name, M=elements(a_shape[:-1]), N=w_shape[1], K=a_shape[-1])
        else:
            batch = elements(out_shape[:-2]) if len(a_shape) > 1 and len(w_shape) > 1 else 1
            a2 = (1, *a_shape) if len(a_shape) == 1 else a_shape
            w2 = (*w_shape, 1) if len(w_shape) == 1 else w_shape
            layer = batched_matmul(name, batch=batch, M=a2[-2], N=w2[-1], K=a2[-1])
        b.add(layer, [node.name], ins)
    elif target == "linear":
        w = _shape(node.args[1]) or ()
        b.add(_linear(name, shapes[0], w[0]), [node.name], ins[:1])
    elif target in ("conv1d", "conv2d"):
        a = [*node.args, None, None, None, None, None][:7]
        kw = node.kwargs
        w = _shape(a[1]) or ()
        b.add(_conv(name, shapes[0], out_shape, w, kw.get("stride", a[3] or 1), kw.get("padding", a[4] or 0),
                    kw.get("dilation", a[5] or 1), kw.get("groups", a[6] or 1)), [node.name], ins[:1])  # fmt: skip
    elif target == "scaled_dot_product_attention":
        q, k, v = shapes[:3]
        batch = elements(q[:-2])
        b.add(batched_matmul(f"{name}.qk", batch=batch, M=q[-2], N=k[-2], K=q[-1]), [f"{node.name}:qk"], ins[:2])
        scores = (batch, q[-2], k[-2])
        b.add(elementwise(f"{name}.softmax", [scores], scores, SOFTMAX_OPS, "softmax"), [f"{node.name}:p"], [f"{node.name}:qk"])
        b.add(batched_matmul(f"{name}.av", batch=batch, M=q[-2], N=v[-1], K=k[-2]), [node.name], [f"{node.name}:p", *ins[2:3]])
    elif target in _BINARY:
        if len(ins) == 1 and b.is_mac_output(ins[0]) and target in ("add", "iadd", "sub", "mul", "truediv", "div"):
            b.fold([node.name], ins)  # a bias or scale of the MAC layer before it
        else:
            kind = "add" if target in ("add", "iadd") and len(ins) == 2 else "elementwise"
            b.add(elementwise(name, shapes, out_shape, 1, kind), [node.name], ins)
    elif target in ("softmax", "log_softmax"):
        b.add(elementwise(name, shapes[:1], out_shape, SOFTMAX_OPS, "softmax"), [node.name], ins)
    elif target in ("layer_norm", "group_norm", "rms_norm", "instance_norm"):
        b.add(elementwise(name, shapes[:1], out_shape, LAYERNORM_OPS, "norm"), [node.name], ins[:1])
    elif target == "batch_norm":
        if b.is_mac_output(ins[0]):
            b.fold([node.name], ins[:1])
        else:
            b.add(elementwise(name, shapes[:1], out_shape, BATCHNORM_OPS, "norm"), [node.name], ins[:1])
    elif target in _UNARY:
        b.add(elementwise(name, shapes[:1], out_shape, GELU_OPS if target == "gelu" else 1, "activation"), [node.name], ins[:1])
    elif target in _REDUCE:
        n = elements(shapes[0]) if shapes else 0
        b.add(TensorOp(name, "elementwise", n, elements(out_shape), n), [node.name], ins[:1])
    elif target in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
        k = node.args[1] if len(node.args) > 1 else node.kwargs.get("kernel_size", 1)
        window = math.prod(k) if isinstance(k, (tuple, list)) else k ** (len(shapes[0]) - 2)
        b.add(pool(name, shapes[0], out_shape, window, target.startswith("max")), [node.name], ins[:1])
    elif target.startswith("adaptive_"):
        _adaptive(b, name, shapes[0], out_shape, [node.name], ins[:1], "max" in target)
    else:
        problems.add(where, target, "expected a function or method hwsim imports (see hwsim.frontend.importers.torch_fx)")


def _pair(v: Any, n: int = 2) -> tuple[int, ...]:
    return tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else (int(v),) * n


def _conv(name: str, x: Sequence[int], y: Sequence[int], w: Sequence[int], stride: Any, padding: Any, dilation: Any, groups: int) -> Layer:
    if len(x) not in (3, 4):
        raise SpecError(name, [Problem("input", tuple(x), "expected a 1-D or 2-D convolution")])
    one_d = len(x) == 3
    spatial = len(x) - 2
    st, dil = _pair(stride, spatial), _pair(dilation, spatial)
    pad = _pair(padding, spatial) if not isinstance(padding, str) else (0,) * spatial  # "same"/"valid": sizes from y below
    if one_d:
        x, w, y = (x[0], x[1], 1, x[2]), (*w[:2], 1, w[2]), (*y[:2], 1, y[2])
        st, dil, pad = (1, st[0]), (1, dil[0]), (0, pad[0])
    layer = conv2d(name, in_channels=x[1], out_channels=w[0], in_hw=(x[2], x[3]), kernel=(w[2], w[3]), stride=(st[0], st[1]),
                   padding=(pad[0], pad[1]), dilation=(dil[0], dil[1]), groups=int(groups), batch=x[0])  # fmt: skip
    if (layer.bound("P"), layer.bound("Q")) != (y[2], y[3]):
        layer = replace(layer, bounds=tuple((d, y[2] if d == "P" else y[3] if d == "Q" else n) for d, n in layer.bounds))
    return layer


def _linear(name: str, x: Sequence[int], out_features: int) -> Layer:
    if len(x) == 2:
        return fully_connected(name, in_features=x[1], out_features=out_features, batch=x[0])
    return gemm(name, M=elements(x[:-1]), N=out_features, K=x[-1])


def _adaptive(b: GraphBuilder, name: str, x: Sequence[int], y: Sequence[int], outs: list[str], ins: list[str], is_max: bool) -> None:
    if elements(y[2:]) == 1:
        b.add(global_pool(name, x, y), outs, ins)
    else:
        window = math.prod(-(-i // o) for i, o in zip(x[2:], y[2:], strict=True))
        b.add(pool(name, x, y, window, is_max), outs, ins)


def _mha(b: GraphBuilder, node: Any, m: Any, shapes: Sequence[Sequence[int]], ins: list[str]) -> None:
    """``nn.MultiheadAttention``: Q, K, V projections, QKᵀ and ·V per head, the output projection."""
    q, k = shapes[0], shapes[1] if len(shapes) > 1 else shapes[0]
    seq_q, batch = (q[1], q[0]) if m.batch_first else (q[0], q[1])
    seq_k = k[1] if m.batch_first else k[0]
    heads, dim = m.num_heads, m.embed_dim
    d = dim // heads
    src = ins + [ins[0]] * (3 - len(ins))
    name = str(node.target)
    for p, x, s, width in (("q", src[0], seq_q, dim), ("k", src[1], seq_k, m.kdim), ("v", src[2], seq_k, m.vdim)):
        b.add(gemm(f"{name}.{p}_proj", M=batch * s, N=dim, K=width), [f"{node.name}:{p}"], [x])
    b.add(batched_matmul(f"{name}.qk", batch=batch * heads, M=seq_q, N=seq_k, K=d), [f"{node.name}:qk"], [f"{node.name}:q", f"{node.name}:k"])
    scores = (batch * heads, seq_q, seq_k)
    b.add(elementwise(f"{name}.softmax", [scores], scores, SOFTMAX_OPS, "softmax"), [f"{node.name}:p"], [f"{node.name}:qk"])
    b.add(batched_matmul(f"{name}.av", batch=batch * heads, M=seq_q, N=d, K=seq_k), [f"{node.name}:a"], [f"{node.name}:p", f"{node.name}:v"])
    b.add(gemm(f"{name}.out_proj", M=batch * seq_q, N=dim, K=dim), [node.name], [f"{node.name}:a"])
