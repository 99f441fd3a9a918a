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

Layers are chained in order unless ``after`` names their predecessors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwsim.errors import Problem, Problems, SpecError
from hwsim.spec import Fields, read_yaml
from hwsim.workload import Layer, Network, StateOp, TensorOp, batched_matmul, conv2d, fully_connected, gemm

__all__ = ["LAYER_TYPES", "load_network", "network_from_dict"]

MAX_LAYERS = 100_000

_SHAPES: dict[str, tuple[str, ...]] = {
    "conv2d": ("in_channels", "out_channels", "in_hw", "kernel"),
    "depthwise": ("channels", "in_hw", "kernel"),
    "fc": ("in_features", "out_features"),
    "gemm": ("M", "N", "K"),
    "matmul": ("batch", "M", "N", "K"),
}
_OPTIONAL = {"conv2d": ("stride", "padding", "dilation", "groups", "batch"), "depthwise": ("stride", "padding", "dilation", "batch"), "fc": ("batch",)}
_TENSOR_OPS = ("pool", "add", "softmax", "norm", "activation", "elementwise")
LAYER_TYPES = (*_SHAPES, *_TENSOR_OPS, "state")


def load_network(path: str | Path) -> Network:
    return network_from_dict(read_yaml(path), source=str(path))


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
    top.done()
    if len(items) > MAX_LAYERS:
        problems.add("layers", f"{len(items)} layers", f"expected at most {MAX_LAYERS} layers")
        problems.raise_if_any()
    net = Network(name)
    names: set[str] = set()
    for f in items:
        lname = f.text("name")
        kind = f.text("type", None, choices=LAYER_TYPES)
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
                if key in ("in_hw", "kernel"):
                    args[key] = _int_or_pair(f, key, True)
                else:
                    args[key] = f.integer(key, 1, required=True)
            for key in _OPTIONAL.get(kind, ()):
                if f.has(key):
                    args[key] = _int_or_pair(f, key, False) if key in ("stride", "padding", "dilation") else f.integer(key, 1)
            lb = {
                "weight_bits": f.integer("weight_bits", bits["weight_bits"]),
                "input_bits": f.integer("input_bits", bits["input_bits"]),
                "psum_bits": f.integer("psum_bits", bits["psum_bits"]),
            }
            sparsity = f.raw("sparsity", {})
            f.done()
            if any(v is None for v in args.values()) or problems:
                continue
            try:
                op = _build(kind, lname, args, lb)
                if sparsity:
                    if not isinstance(sparsity, dict):
                        raise SpecError(source, [Problem("sparsity", sparsity, "expected a mapping such as {weights: 0.3, inputs: '2:4'}")])
                    op = op.with_sparsity(**{str(k): v for k, v in sparsity.items()})
            except SpecError as e:
                for p in e.problems:
                    problems.add(f"{f.path}.{p.path}", p.value, p.expected)
        elif kind in _TENSOR_OPS:
            ein = f.integer("elements_in", 1, required=True)
            eout = f.integer("elements_out", ein)
            ops = f.integer("ops", ein, minimum=0)
            b = f.integer("bits", bits["input_bits"])
            f.done()
            op = TensorOp(lname, kind, ein, eout, ops, b)
        elif kind == "state":  # streaming state kept between steps (a ring buffer, a delay buffer, a window)
            held = f.integer("state_elements", 1, required=True)
            ein = f.integer("elements_in", 1, required=True)
            eout = f.integer("elements_out", ein, minimum=0)
            ops = f.integer("ops", ein, minimum=0)
            b = f.integer("bits", bits["input_bits"])
            delay = f.integer("delay_steps", 0, minimum=0)
            f.done()
            op = StateOp(lname, "state", ein, eout, ops, b, state_elements=held, delay_steps=delay)
        else:
            f.done(lambda k: True)
        if op is not None and not problems:
            net.add(op, after=after if after is not None else "__previous__", every_steps=every)
        names.add(lname)
    if not items and isinstance(data, dict) and "layers" in data:
        problems.add("layers", [], "expected at least one layer")
    problems.raise_if_any()
    return net


def _build(kind: str, name: str, args: dict[str, Any], bits: dict[str, int]) -> Layer:
    if kind == "conv2d":
        return conv2d(name, **args, **bits)
    if kind == "depthwise":
        ch = args.pop("channels")
        return conv2d(name, in_channels=ch, out_channels=ch, groups=ch, **args, **bits)
    if kind == "fc":
        return fully_connected(name, **args, **bits)
    if kind == "gemm":
        return gemm(name, **args, **bits)
    return batched_matmul(name, **args, **bits)
