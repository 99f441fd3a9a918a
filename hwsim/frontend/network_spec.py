"""Workload spec files: a YAML list of layers, validated with every problem reported.

```yaml
name: tiny-cnn
precision: {weights: 8, inputs: 8, psum: 24}     # defaults for every layer
layers:
  - {name: conv1, type: conv2d, in_channels: 3, out_channels: 16, in_hw: 32, kernel: 3, padding: 1}
  - {name: pool1, type: pool, elements_in: 16384, elements_out: 4096}
  - {name: fc, type: fc, in_features: 4096, out_features: 10, weight_bits: 4, sparsity: {weights: "2:4"}}
  - {name: qk, type: matmul, batch: 12, M: 128, N: 128, K: 64, after: [fc]}
```

Layers are chained in order unless ``after`` names their predecessors. Shapes must chain: a convolution or
fully connected layer fed by another takes what it produces (channels, and an input size that gives its own
output size; flattened into an ``fc``), and one fed by a tensor op takes its ``elements_out``. A file that means
otherwise says so with ``check_chaining: false``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.spec import Fields
from hwsim.core.workload import Layer, Network, StateOp, TensorOp, batched_matmul, conv2d, depthwise_conv2d, fully_connected, gemm

__all__ = ["LAYER_TYPES", "TENSOR_OPS", "network_from_dict"]

MAX_LAYERS = 100_000

_SHAPES: dict[str, tuple[str, ...]] = {
    "conv2d": ("in_channels", "out_channels", "in_hw", "kernel"),
    "depthwise": ("channels", "in_hw", "kernel"),
    "fc": ("in_features", "out_features"),
    "gemm": ("M", "N", "K"),
    "matmul": ("batch", "M", "N", "K"),
}
_OPTIONAL = {"conv2d": ("stride", "padding", "dilation", "groups", "batch"), "depthwise": ("stride", "padding", "dilation", "batch"), "fc": ("batch",)}
TENSOR_OPS = ("pool", "add", "softmax", "norm", "activation", "elementwise")
LAYER_TYPES = (*_SHAPES, *TENSOR_OPS, "state")
_BUILDERS: dict[str, Callable[..., Layer]] = {"conv2d": conv2d, "depthwise": depthwise_conv2d, "fc": fully_connected, "gemm": gemm, "matmul": batched_matmul}


def _int_or_pair(f: Fields, key: str, required: bool) -> int | tuple[int, int] | None:
    f.seen.add(key)
    if key not in f.data:
        if required:
            f.problems.add(f.at(key), None, "expected a positive integer or a pair [h, w] (required field)")
        return None
    v = f.data[key]
    minimum = 0 if key == "padding" else 1
    if isinstance(v, int) and not isinstance(v, bool) and v >= minimum:
        return v
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) and x >= minimum for x in v):
        return (v[0], v[1])
    f.problems.add(f.at(key), v, f"expected an integer ≥ {minimum} or a pair [h, w] of them")
    return None


def network_from_dict(data: Any, source: str = "<dict>") -> Network:
    problems = Problems(source)
    top = Fields(data, "", problems)
    name = top.text("name", Path(source).stem)
    prec = top.sub("precision")
    bits = {
        "weight_bits": prec.integer("weights", 8),
        "input_bits": prec.integer("inputs", 8),
        "psum_bits": prec.integer("psum", 24),
    }
    prec.done()
    items = top.items("layers", required=True)
    chained = top.boolean("check_chaining", True)
    top.done()
    if len(items) > MAX_LAYERS:
        problems.add("layers", f"{len(items)} layers", f"expected at most {MAX_LAYERS} layers")
        problems.raise_if_any()
    net = Network(name)
    names: set[str] = set()
    for f in items:
        lname = f.text("name")
        kind = f.text("type", None, choices=LAYER_TYPES)
        f.seen.add("after")
        after = f.str_list("after") if f.has("after") else None
        every = f.integer("every_steps", 1)
        for a in after or ():
            if a not in names:
                problems.add(f.at("after"), a, "expected names of earlier layers")
        if lname in names:
            problems.add(f.at("name"), lname, "expected a unique layer name")
        op: Layer | TensorOp | None = None
        if kind in _SHAPES:
            args: dict[str, Any] = {}
            for key in _SHAPES[kind]:
                args[key] = _int_or_pair(f, key, True) if key in ("in_hw", "kernel") else f.integer(key, 1, required=True)
            for key in _OPTIONAL.get(kind, ()):
                f.seen.add(key)  # known, so an unknown field's message can suggest it
                if f.has(key):
                    args[key] = _int_or_pair(f, key, False) if key in ("stride", "padding", "dilation") else f.integer(key, 1)
            lb = {key: f.integer(key, default) for key, default in bits.items()}  # the file's precision, per layer
            sparsity = f.raw("sparsity", {})
            f.done()
            if any(v is None for v in args.values()) or problems:
                continue
            try:
                op = _BUILDERS[kind](lname, **args, **lb)
                if sparsity:
                    if not isinstance(sparsity, dict):
                        raise SpecError(source, [Problem("sparsity", sparsity, "expected a mapping such as {weights: 0.3, inputs: '2:4'}")])
                    op = op.with_sparsity(**{str(k): v for k, v in sparsity.items()})
            except SpecError as e:
                for p in e.problems:
                    problems.add(f"{f.path}.{p.path}", p.value, p.expected)
        elif kind in TENSOR_OPS or kind == "state":  # state: kept between steps (a ring buffer, a delay buffer, a window)
            state = kind == "state"
            held = f.integer("state_elements", 1, required=True) if state else 0
            ein = f.integer("elements_in", 1, required=True)
            eout = f.integer("elements_out", ein, minimum=0 if state else 1)
            ops = f.integer("ops", ein, minimum=0)
            b = f.integer("bits", bits["input_bits"])
            delay = f.integer("delay_steps", 0, minimum=0) if state else 0
            f.done()
            op = StateOp(lname, kind, ein, eout, ops, b, state_elements=held, delay_steps=delay) if state else TensorOp(lname, kind, ein, eout, ops, b)
        else:
            f.done(lambda k: True)
        if op is not None and not problems:
            net.add(op, after=after if after is not None else "__previous__", every_steps=every)
        names.add(lname)
    if not items and isinstance(data, dict) and "layers" in data:
        problems.add("layers", [], "expected at least one layer")
    problems.raise_if_any()
    if chained:
        index = {f.data.get("name"): f.path for f in items}
        for name, fieldname, value, expected in chaining_problems(net):
            problems.add(f"{index.get(name, name)}.{fieldname}", value, expected)
        problems.raise_if_any()
    return net


def _produced(op: Layer | TensorOp) -> tuple[int, tuple[int, int] | None] | None:
    """What an op hands on per batch: (channels, (h, w)) of a convolution, (features, None) of an fc,
    (elements, None) of a tensor op; None when this check does not follow it (gemm, matmul, state)."""
    if isinstance(op, StateOp):
        return None
    if isinstance(op, TensorOp):
        return op.output_elements, None
    d = op.dims
    if op.kind in ("conv2d", "depthwise"):
        return d["K"] * d["G"], (d["P"], d["Q"])
    if op.kind == "fc":
        return d["K"], None
    return None


def chaining_problems(net: Network) -> list[tuple[str, str, Any, str]]:
    """(layer name, field, its value, what it should be) for every convolution or fc whose single producer hands
    on another shape: channels that differ, an input size that does not give the layer its output size, an
    ``fc`` whose features are not the flattened producer, a tensor op's ``elements_out`` that is not the input."""
    out: list[tuple[str, str, Any, str]] = []
    for op in net.ops():
        if not isinstance(op, Layer) or op.kind not in ("conv2d", "depthwise", "fc"):
            continue
        preds = list(net.graph.predecessors(op.name))
        if len(preds) != 1:
            continue
        src = net.graph.nodes[preds[0]]["op"]
        given = _produced(src)
        if given is None:
            continue
        d = op.dims
        n = d["N"]
        channels, hw = given
        what = f"{src.name!r} ({src.kind})"
        if op.kind == "fc":
            if isinstance(src, TensorOp):
                if channels not in (d["C"], n * d["C"]):
                    out.append((op.name, "in_features", d["C"], f"expected {channels}: {what} has elements_out={channels}"))
                continue
            flat = channels * (hw[0] * hw[1] if hw else 1)
            if flat != d["C"]:
                shape = f"{channels} channels × {hw[0]}×{hw[1]}" if hw else f"{channels} features"
                out.append((op.name, "in_features", d["C"], f"expected {flat}: {what} produces {shape}"))
            continue
        cin = d["C"] * d["G"]
        hs, ws = op.input_extents(0), op.input_extents(1)
        if isinstance(src, TensorOp):
            fits = [(h, w) for h in hs for w in ws if channels in (cin * h * w, n * cin * h * w)]
            if not fits:
                out.append((op.name, "in_channels", cin,
                            f"expected in_channels × input size to be {what}'s elements_out={channels} "
                            f"(now {cin}×{hs.start}×{ws.start}={cin * hs.start * ws.start})"))
            continue
        if hw is None:  # an fc feeding a convolution: its features reshaped
            if not any(channels == cin * h * w for h in hs for w in ws):
                out.append((op.name, "in_channels", cin, f"expected in_channels × input size = {channels}, the features of {what}"))
            continue
        if channels != cin:
            out.append((op.name, "in_channels", cin, f"expected {channels}: {what} produces {channels} channels"))
        if hw[0] not in hs or hw[1] not in ws:
            out.append((op.name, "in_hw", [hs.start, ws.start] if len(hs) == len(ws) == 1 else f"{hs.start}..{hs.stop - 1}×{ws.start}..{ws.stop - 1}",
                        f"expected {[hw[0], hw[1]]}: {what} produces {hw[0]}×{hw[1]}"))
    return out

