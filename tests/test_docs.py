"""docs/spec-reference.md is generated from the validators and cannot drift from what hwsim accepts."""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hwsim.core.arch import architecture_from_dict
from hwsim.core.errors import SpecError
from hwsim.frontend.docs import ARCH_DESCRIPTIONS, WORKLOAD_DESCRIPTIONS, _normalize, arch_fields, spec_reference, workload_fields

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "spec-reference.md"


def test_the_committed_reference_is_current() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == spec_reference(), "rerun: python -m hwsim.frontend.docs"


def test_every_field_the_validators_read_is_described_and_nothing_else() -> None:
    assert set(arch_fields()) == set(ARCH_DESCRIPTIONS)
    fields, _ = workload_fields()
    assert set(fields) == set(WORKLOAD_DESCRIPTIONS)


def _key_paths(node: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            out |= {_normalize(path)} | _key_paths(v, path)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, dict):
                out |= _key_paths(v, f"{prefix}[]")
    return out


def test_every_key_the_presets_use_is_documented() -> None:
    files = importlib.resources.files("hwsim.accelerators")
    used: set[str] = set()
    for f in files.iterdir():
        if f.name.endswith(".yaml"):
            used |= _key_paths(yaml.safe_load(f.read_text(encoding="utf-8")))
    assert used <= set(ARCH_DESCRIPTIONS), used - set(ARCH_DESCRIPTIONS)


@pytest.mark.parametrize("path", sorted(p for p in ARCH_DESCRIPTIONS if "[]" not in p and "." in p and "<" not in p))
def test_a_misspelled_documented_field_is_an_error_naming_it(path: str) -> None:
    """The reference and the validator agree on spelling: a field one letter off is refused with its path."""
    spec = yaml.safe_load(importlib.resources.files("hwsim.accelerators").joinpath("eyeriss.yaml").read_text(encoding="utf-8"))
    parent, key = path.rsplit(".", 1)
    node = spec
    for part in parent.split("."):
        node = node.setdefault(part, {})
    node[key + "x"] = 1
    with pytest.raises(SpecError) as e:
        architecture_from_dict(spec, source="x.yaml")
    assert re.search(re.escape(f"{path}x"), e.value.render())
