"""Fuzzing the spec loaders: valid specs, then mutated ones, must end in a result or a SpecError.

Used by tests/test_fuzz.py (a fast set for CI) and benchmarks/fuzz_loaders.py (the long run).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import yaml
from hypothesis import strategies as st

from hwsim.core.arch import architecture_from_dict
from hwsim.core.errors import SpecError
from hwsim.core.spec import parse_yaml
from hwsim.frontend.network_spec import network_from_dict

PRESETS = ["eyeriss", "simba", "tpu-v1", "nvdla-small", "shidiannao", "fpga-small", "bitfusion", "sparse-tensor-core", "scnn"]


def preset_dicts() -> list[dict[str, Any]]:
    import importlib.resources

    files = importlib.resources.files("hwsim.accelerators")
    return [yaml.safe_load(files.joinpath(f"{p}.yaml").read_text(encoding="utf-8")) for p in PRESETS]


WORKLOAD = {
    "name": "w",
    "precision": {"weights": 8, "inputs": 8, "psum": 24},
    "layers": [
        {"name": "c1", "type": "conv2d", "in_channels": 3, "out_channels": 8, "in_hw": 16, "kernel": 3, "padding": 1},
        {"name": "dw", "type": "depthwise", "channels": 8, "in_hw": 16, "kernel": 3, "stride": 2, "padding": 1},
        {"name": "p", "type": "pool", "elements_in": 512, "elements_out": 128},
        {"name": "fc", "type": "fc", "in_features": 128, "out_features": 10, "sparsity": {"weights": "2:4"}},
        {"name": "mm", "type": "matmul", "batch": 2, "M": 4, "N": 4, "K": 8, "after": ["c1"]},
    ],
}

# Values that break naive loaders: wrong types, signs, sizes, non-finite numbers, unicode, nesting.
nasty = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 1, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, math.inf, -math.inf, 1e308, 1e-308, 0.5]),
    st.text(max_size=12), st.sampled_from(["", "🙂", "é" * 50, "\x00", "1e9", "-5", "inf", "nan", "DRAM", "K", "2:4", "9:4"]),
    st.lists(st.integers(-3, 3), max_size=4), st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
    st.recursive(st.integers(), lambda c: st.lists(c, max_size=2) | st.dictionaries(st.text(max_size=2), c, max_size=2), max_leaves=8),
)  # fmt: skip


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """A deep copy of ``base`` with 1–4 mutations: replace, delete or add a key, or drop a list item."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            if draw(st.integers(0, 9)) == 0:
                doc = draw(nasty)
            continue
        parent = doc
        try:
            for p in path[:-1]:
                parent = parent[p]
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "dup"]))
        key = path[-1]
        try:
            if action == "replace":
                parent[key] = draw(nasty)
            elif action == "delete":
                del parent[key]
            elif action == "add" and isinstance(parent, dict):
                parent[draw(st.text(max_size=8))] = draw(nasty)
            elif action == "dup" and isinstance(parent, list):
                parent.append(copy.deepcopy(parent[key]))
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def load_arch_dict(doc: Any) -> str:
    """'ok' or 'spec-error'; any other exception propagates (a crash)."""
    try:
        architecture_from_dict(doc, source="fuzz.yaml")
        return "ok"
    except SpecError:
        return "spec-error"


def load_workload_dict(doc: Any) -> str:
    try:
        network_from_dict(doc, source="fuzz.yaml")
        return "ok"
    except SpecError:
        return "spec-error"


def load_text(text: str, kind: str) -> str:
    try:
        data = parse_yaml(text, "fuzz.yaml")
    except SpecError:
        return "spec-error"
    return load_arch_dict(data) if kind == "arch" else load_workload_dict(data)
