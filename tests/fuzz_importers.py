"""Fuzzing the importers: SCALE-Sim .cfg/.csv text, Timeloop YAML, ONNX models, mapping constraints.

Each ``load_*`` function returns "ok" (an object was built) or "spec-error" (hwsim's own error);
any other exception propagates and counts as a crash. The seeds are valid inputs written here;
the strategies corrupt them as text (truncation, junk, numbers replaced by nasty tokens, lines
dropped or repeated), as parsed data (:func:`tests.fuzzing.mutated`) or as protobuf fields.
Used by tests/test_fuzz_importers.py (a fast set), benchmarks/fuzz_loaders.py and
benchmarks/atheris_loaders.py (coverage-guided).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import strategies as st

from hwsim.core.errors import SpecError
from tests.fuzzing import nasty

# ----------------------------------------------------------------------------------------- seeds

SCALESIM_CFG = """[general]
run_name = fuzz

[architecture_presets]
ArrayHeight: 16
ArrayWidth: 8
IfmapSramSzkB: 64
FilterSramSzkB: 32
OfmapSramSzkB: 16
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : 10
Dataflow : ws
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: CALC
"""

SCALESIM_CONV = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1, 224, 224, 7, 7, 3, 64, 2,
Conv2_1a, 56, 56, 3, 3, 64, 64, 1,
FC, 1, 1, 1, 1, 512, 1000, 1,
"""

SCALESIM_GEMM = """Layer, M, N, K,
QKV, 128, 768, 768,
FFN, 128, 3072, 768,
"""

TIMELOOP_PROBLEM = """problem:
  version: 0.4
  shape:
    name: conv2D
    dimensions: [C, M, R, S, N, P, Q]
    coefficients:
      - {name: Wstride, default: 1}
      - {name: Hstride, default: 1}
    data_spaces:
      - name: Weights
        projection: [[[C]], [[M]], [[R]], [[S]]]
      - name: Inputs
        projection: [[[N]], [[C]], [[R], [P, Wstride]], [[S], [Q, Hstride]]]
      - name: Outputs
        projection: [[[N]], [[M]], [[Q]], [[P]]]
        read_write: True
  instance: {C: 16, M: 32, R: 3, S: 3, N: 1, P: 14, Q: 14, Wstride: 1, Hstride: 1, densities: {Weights: 0.5}}
"""

TIMELOOP_ARCH = """architecture:
  version: 0.4
  nodes:
  - !Container
    name: system
    attributes: {technology: "65nm", global_cycle_seconds: 5e-9}
  - !Component
    name: DRAM
    class: DRAM
    attributes: {type: "LPDDR4", width: 64, datawidth: 8}
  - !Component
    name: GLB
    class: smartbuffer_SRAM
    attributes: {depth: 16384, width: 64, n_banks: 32, datawidth: 8, read_bandwidth: 16, write_bandwidth: 16}
    constraints:
      dataspace: {keep: [Inputs, Outputs], bypass: [Weights]}
  - !Container
    name: PE
    spatial: {meshX: 14, meshY: 12}
  - !Component
    name: spad
    class: smartbuffer_RF
    attributes: {depth: 192, width: 16, datawidth: 8}
    constraints:
      temporal:
        permutation: NMPQSCR
        factors: N=1 M=1
  - !Component
    name: mac
    class: intmac
    attributes: {multiplier_width: 8, adder_width: 16}
"""

# A v0.3 tree (arrays, meshX, a dummy buffer), variables and expressions, and constraint targets.
TIMELOOP_ARCH_V03 = """
variables: {version: 0.4, W: 8, DEPTH: W * 2 ** 8}
problem:
  shape:
    name: conv1d
    dimensions: [K, R, P]
    data_spaces:
    - {name: Weights, projection: [[[K]], [[R]]]}
    - {name: Inputs, projection: [[[R], [P]]]}
    - {name: Outputs, projection: [[[K]], [[P]]], read_write: true}
  instance: {K: 8, R: 3, P: 16}
architecture:
  version: 0.3
  subtree:
  - name: system
    attributes: {technology: 40nm, datawidth: W}
    local:
    - {name: DRAM, class: DRAM, attributes: {width: 64, word_bits: W}}
    - {name: glb, class: storage, subclass: smartbuffer_SRAM, attributes: {memory_depth: DEPTH, memory_width: "max(W * 8, 64)", n_banks: 2}}
    - {name: "dummy[0..3]", class: regfile, attributes: {depth: 1, width: W, meshX: 4}}
    subtree:
    - name: PE[0..7]
      local:
      - {name: rf, class: regfile, attributes: {depth: 16, width: W * 2, block_size: 2, meshX: 4, technology: -1}}
      - {name: mac, class: intmac, attributes: {multiplier_width: W, meshX: 4}}
architecture_constraints:
  targets:
  - {target: dummy, type: bypass, bypass: [Weights, Inputs, Outputs]}
  - {target: glb, type: spatial, factors: R=1 P=1, permutation: KRP, split: 1}
  - {target: dummy, type: spatial, factors: K<=2, permutation: PK R, split: 0}
  - {target: rf, type: temporal, factors: K=1 R=3, permutation: RPK}
  - {target: rf, type: datatype, keep: [Weights, Outputs], bypass: [Inputs]}
"""

# ------------------------------------------------------------------------------------ text mutation

_TOKENS = ["-1", "0", "1e99", "nan", "inf", "abc", "", "2**70", "99999999999999999999", "0.5", "🙂", "[", "{", "!", ":", ",", "&a", "*a",
           "!!python/object/apply:os.system ['x']", "\x00", "-", "  ", "\n", "\t", "ws", "os", "is", "CALC", "USER"]  # fmt: skip


@st.composite
def mutated_text(draw: st.DrawFn, seed: str) -> str:
    """``seed`` with 1–4 text mutations: a number or word replaced, junk inserted, a line dropped or repeated, truncation."""
    text = seed
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["token", "token", "junk", "drop", "dup", "cut"]))
        if action == "token":
            spans = [m.span() for m in re.finditer(r"[A-Za-z_]+|\d+(\.\d+)?", text)]
            if spans:
                a, b = draw(st.sampled_from(spans))
                text = text[:a] + draw(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=5))) + text[b:]
        elif action == "junk":
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + draw(st.text(max_size=6)) + text[pos:]
        elif action in ("drop", "dup"):
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines[i : i + 1] = [] if action == "drop" else [lines[i], lines[i]]
                text = "".join(lines)
        else:
            text = text[: draw(st.integers(0, len(text)))]
    return text


# -------------------------------------------------------------------------------------------- loaders


def _outcome(fn: Any, *args: Any, **kwargs: Any) -> str:
    try:
        fn(*args, **kwargs)
        return "ok"
    except SpecError:
        return "spec-error"


def load_scalesim_cfg(text: str) -> str:
    from hwsim.frontend.importers.scalesim import scalesim_config_from_text

    return _outcome(scalesim_config_from_text, text, "fuzz.cfg")


def load_scalesim_topology(text: str) -> str:
    from hwsim.frontend.importers.scalesim import scalesim_topology_from_text

    return _outcome(scalesim_topology_from_text, text, "fuzz.csv")


def load_timeloop_text(text: str) -> str:
    from hwsim.frontend.importers.timeloop import parse_timeloop_yaml

    try:
        data = parse_timeloop_yaml(text, "fuzz.yaml")
    except SpecError:
        return "spec-error"
    return load_timeloop_data(data)


def load_timeloop_data(data: Any) -> str:
    from hwsim.frontend.importers.timeloop import timeloop_architecture, timeloop_problem

    if isinstance(data, dict) and "architecture" in data:
        return _outcome(timeloop_architecture, data, "fuzz.yaml")
    return _outcome(timeloop_problem, data, "fuzz.yaml")


def timeloop_seed_dicts() -> list[Any]:
    from hwsim.frontend.importers.timeloop import parse_timeloop_yaml

    return [parse_timeloop_yaml(TIMELOOP_PROBLEM, "p.yaml"), parse_timeloop_yaml(TIMELOOP_ARCH, "a.yaml"),
            parse_timeloop_yaml(TIMELOOP_ARCH_V03, "v03.yaml")]


# ------------------------------------------------------------------------------------------------ ONNX


def onnx_seed() -> Any:
    """A small CNN + attention-style MatMul model (valid, checked by onnx.checker)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, numpy_helper
    from onnx import helper as h

    def init(name: str, shape: tuple[int, ...]) -> Any:
        return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)

    nodes = [
        h.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        h.make_node("Relu", ["c0"], ["r0"], name="relu0"),
        h.make_node("Conv", ["r0", "wd"], ["c1"], name="dw", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        h.make_node("MaxPool", ["c1"], ["p0"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Reshape", ["p0", "shape"], ["t"], name="reshape"),
        h.make_node("MatMul", ["t", "wm"], ["m"], name="mm"),
        h.make_node("Softmax", ["m"], ["s"], name="softmax", axis=-1),
        h.make_node("Flatten", ["s"], ["f"], name="flatten"),
        h.make_node("Gemm", ["f", "wf"], ["y"], name="fc", transB=1),
    ]
    inits = [init("w0", (8, 3, 3, 3)), init("wd", (8, 1, 3, 3)), init("wm", (16, 16)), init("wf", (10, 128)),
             numpy_helper.from_array(np.array([1, 8, 16], dtype=np.int64), "shape")]  # fmt: skip
    graph = h.make_graph(nodes, "fuzz", [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                         [h.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)  # fmt: skip
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


_OPS = ["Conv", "Gemm", "MatMul", "Relu", "Add", "MaxPool", "Softmax", "Attention", "ConvTranspose", "Loop", "If", "Foo", ""]
_INTS = [0, -1, 1, 2, 3, 7, 1000, 2**31 - 1, -(2**31), 2**40]


@st.composite
def mutated_onnx(draw: st.DrawFn) -> bytes:
    """A serialized seed model with 1–4 protobuf-level mutations, sometimes then byte-corrupted."""
    model = onnx_seed()
    g = model.graph
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["attr", "attr", "op", "input", "drop_node", "drop_init", "dim", "dim", "opset", "dup_node"]))
        if action == "attr":
            node = g.node[draw(st.integers(0, len(g.node) - 1))]
            if node.attribute:
                a = node.attribute[draw(st.integers(0, len(node.attribute) - 1))]
                if a.ints:
                    a.ints[draw(st.integers(0, len(a.ints) - 1))] = draw(st.sampled_from(_INTS))
                    if draw(st.booleans()):
                        a.ints.append(draw(st.sampled_from(_INTS)))
                else:
                    a.i = draw(st.sampled_from(_INTS))
        elif action == "op":
            g.node[draw(st.integers(0, len(g.node) - 1))].op_type = draw(st.sampled_from(_OPS))
        elif action == "input":
            node = g.node[draw(st.integers(0, len(g.node) - 1))]
            if node.input:
                node.input[draw(st.integers(0, len(node.input) - 1))] = draw(st.sampled_from(["x", "nope", "", "w0", "y", "c0"]))
        elif action == "drop_node" and len(g.node) > 1:
            del g.node[draw(st.integers(0, len(g.node) - 1))]
        elif action == "dup_node":
            g.node.append(copy.deepcopy(g.node[draw(st.integers(0, len(g.node) - 1))]))
        elif action == "drop_init" and len(g.initializer):
            del g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
        elif action == "dim":
            tensor = draw(st.sampled_from([*g.input, *g.initializer]))
            dims = tensor.type.tensor_type.shape.dim if hasattr(tensor, "type") else None
            if dims is not None and len(dims):
                d = dims[draw(st.integers(0, len(dims) - 1))]
                if draw(st.booleans()):
                    d.dim_value = max(0, draw(st.sampled_from(_INTS)))
                else:
                    d.dim_param = draw(st.sampled_from(["batch", "", "🙂"]))
            elif not hasattr(tensor, "type") and len(tensor.dims):
                tensor.dims[draw(st.integers(0, len(tensor.dims) - 1))] = draw(st.sampled_from(_INTS))
        elif action == "opset":
            model.opset_import[0].version = draw(st.sampled_from([1, 7, 11, 13, 17, 21, 99, 10**6]))
    data = model.SerializeToString()
    if draw(st.integers(0, 4)) == 0:
        cut = draw(st.integers(0, len(data)))
        pos = draw(st.integers(0, cut))
        data = data[:pos] + draw(st.binary(max_size=8)) + data[pos:cut]
    return data


def load_onnx_bytes(data: bytes, tmp_dir: Any) -> str:
    """Write the bytes to ``fuzz.onnx`` in ``tmp_dir`` and import it as a user would (``load_onnx``)."""
    from pathlib import Path

    from hwsim.frontend.importers.onnx import load_onnx

    path = Path(tmp_dir) / "fuzz.onnx"
    path.write_bytes(data)
    return _outcome(load_onnx, path)


# ------------------------------------------------------------------------------------- mapping constraints

_DIMS = ["N", "G", "K", "C", "P", "Q", "R", "S"]
_FIX_TEXTS = ["GLB.K=4", "GLB.C=0", "GLB.K=-2", "GLB.K=1e99", "GLB.Z=2", "NOPE.K=2", "GLB.K=2,C=3", "DRAM.N=1", "RF.S=3", ".K=2", "GLB.=2",
              "GLB.K=99999999999999999999", "🙂.K=1", "GLB.k=2"]  # fmt: skip
_ORDER_TEXTS = ["GLB=K,C", "GLB=K,K", "GLB=", "RF=C,K,R,S,P,Q,N,G", "DRAM=Z", "=K", "GLB=k,c", "NOPE=K", "GLB=,,", "GLB=K,C,P,Q,R,S,N,G,K"]


@st.composite
def constrained_mapping(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...], str | None, float]:
    """An Eyeriss-like spec with level constraints (factors, order, temporal_dims) plus --fix/--order texts, a dataflow and a
    minimum utilization, each either sensible or nasty."""
    from tests.fuzzing import preset_dicts

    doc = copy.deepcopy(preset_dicts()[0])
    levels = doc["levels"]
    for _ in range(draw(st.integers(0, 3))):
        level = levels[draw(st.integers(0, len(levels) - 1))]
        key = draw(st.sampled_from(["factors", "order", "temporal_dims"]))
        if draw(st.booleans()):
            level[key] = draw(nasty)
        elif key == "factors":
            level[key] = {d: draw(st.sampled_from([1, 2, 3, 4, 7, 64, 0, -1])) for d in draw(st.sets(st.sampled_from(_DIMS), max_size=3))}
        else:
            level[key] = draw(st.lists(st.sampled_from([*_DIMS, "Z", "k"]), max_size=9))
    fixes = tuple(draw(st.lists(st.one_of(st.sampled_from(_FIX_TEXTS), st.text(max_size=8)), max_size=2)))
    orders = tuple(draw(st.lists(st.one_of(st.sampled_from(_ORDER_TEXTS), st.text(max_size=8)), max_size=2)))
    dataflow = draw(st.sampled_from([None, "ws", "os", "is", "rs", "xx"]))
    min_util = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0, 1.5, -0.1]))
    return doc, fixes, orders, dataflow, min_util


def map_with_constraints(case: tuple[dict[str, Any], tuple[str, ...], tuple[str, ...], str | None, float]) -> str:
    """Map a small conv under the case's constraints (as ``hwsim map --fix/--order`` would): 'ok' or 'spec-error'."""
    import argparse

    from hwsim.cli import _constraints
    from hwsim.core.arch import architecture_from_dict
    from hwsim.core.workload import conv2d
    from hwsim.mapper import MapperOptions, map_layer

    doc, fix_texts, order_texts, dataflow, min_util = case
    try:
        arch = architecture_from_dict(doc, source="fuzz.yaml")
        fixes, orders, bad = _constraints(argparse.Namespace(fix=list(fix_texts), order=list(order_texts)))
        if bad:
            raise SpecError("command line", bad)
        options = MapperOptions(samples=64, victory=16, refine=1, seed=0, dataflow=dataflow, min_utilization=min_util,
                                fixed_factors=fixes, fixed_orders=orders)  # fmt: skip
        bad_options = options.problems()
        if bad_options:
            raise SpecError("mapper options", bad_options)
        map_layer(conv2d("c", in_channels=16, out_channels=32, in_hw=14, kernel=3, padding=1), arch, options)
        return "ok"
    except SpecError:
        return "spec-error"


__all__ = [
    "SCALESIM_CFG",
    "SCALESIM_CONV",
    "SCALESIM_GEMM",
    "TIMELOOP_ARCH",
    "TIMELOOP_ARCH_V03",
    "TIMELOOP_PROBLEM",
    "constrained_mapping",
    "load_onnx_bytes",
    "load_scalesim_cfg",
    "load_scalesim_topology",
    "load_timeloop_data",
    "load_timeloop_text",
    "map_with_constraints",
    "mutated_onnx",
    "mutated_text",
    "onnx_seed",
    "timeloop_seed_dicts",
]
