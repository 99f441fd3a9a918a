"""Mappings as files: the ``mappings.yaml`` that ``hwsim search`` writes for its winner, read back.

Format (one entry per layer, loops outer→inner; levels and axes by name, as in the architecture spec)::

    arch: eyeriss-winner          # informational
    layers:
      conv1:
        temporal: {DRAM: [[K, 2]], GLB: [[P, 7], [C, 3]], RF: [[S, 3]]}
        spatial: {rows: [[R, 3]], cols: [[Q, 14]]}
        bypass: [[GLB, weights]]    # optional

``hwsim run --mappings FILE`` costs those layers under exactly these loop nests instead of searching;
``hwsim rtl verify --mappings FILE --layer NAME`` runs one of them on the generated core.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

from hwsim.core.arch import Architecture
from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.mapping import Mapping, check_mapping
from hwsim.core.spec import parse_yaml, read_spec_text
from hwsim.core.workload import DIMS, Layer, Network

__all__ = ["mappings_to_dict", "read_mappings", "resolve_mappings"]


def mappings_to_dict(arch: Architecture, mappings: MappingABC[str, Mapping]) -> dict[str, Any]:
    """The file form of per-layer mappings (what :func:`read_mappings` reads back)."""
    return {
        name: {
            "temporal": {lv.name: [[d, int(n)] for d, n in g] for lv, g in zip(arch.levels, m.temporal, strict=True)},
            "spatial": {ax.name: [[d, int(n)] for d, n in g] for ax, g in zip(arch.axes, m.spatial, strict=True)},
            "bypass": [list(b) for b in m.bypass],
        }
        for name, m in mappings.items()
    }


def _loops(problems: Problems, path: str, value: Any) -> list[tuple[str, int]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, value, "expected a list of [DIM, bound] pairs, outer first")
        return []
    out = []
    for i, item in enumerate(value):
        ok = (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and item[0].upper() in DIMS
              and isinstance(item[1], int) and not isinstance(item[1], bool) and 1 <= item[1] <= 10**12)  # fmt: skip
        if not ok:
            problems.add(f"{path}[{i}]", item, f"expected [DIM, bound] with DIM one of {', '.join(DIMS)} and a bound of at least 1")
            continue
        out.append((item[0].upper(), item[1]))
    return out


def read_mappings(path: str | Path, arch: Architecture, *, text: str | None = None) -> dict[str, Mapping]:
    """Per-layer :class:`Mapping` objects from a mappings file, checked against ``arch``'s level and axis names
    (every problem listed in one :class:`SpecError` naming the file and the field path)."""
    source = str(path)
    data = parse_yaml(read_spec_text(path) if text is None else text, source)
    problems = Problems(source)
    layers = data.get("layers") if isinstance(data, dict) else None
    if not isinstance(layers, dict) or not layers:
        raise SpecError(source, [Problem("layers", layers, "expected a mapping of layer name → {temporal, spatial[, bypass]}")])
    level_names = [lv.name for lv in arch.levels]
    axis_names = [ax.name for ax in arch.axes]
    out: dict[str, Mapping] = {}
    for name, entry in layers.items():
        where = f"layers.{name}"
        if not isinstance(entry, dict):
            problems.add(where, entry, "expected {temporal, spatial[, bypass]}")
            continue
        for key in entry:
            if key not in ("temporal", "spatial", "bypass"):
                problems.add(f"{where}.{key}", entry[key], "expected only temporal, spatial and bypass")
        temporal_spec = entry.get("temporal") or {}
        spatial_spec = entry.get("spatial") or {}
        if not isinstance(temporal_spec, dict) or not isinstance(spatial_spec, dict):
            problems.add(where, entry, "expected temporal and spatial as mappings of level/axis name → loops")
            continue
        for lv in temporal_spec:
            if lv not in level_names:
                problems.add(f"{where}.temporal.{lv}", temporal_spec[lv], f"expected a level of {arch.name}: {', '.join(level_names)}")
        for ax in spatial_spec:
            if ax not in axis_names:
                problems.add(f"{where}.spatial.{ax}", spatial_spec[ax], f"expected a spatial axis of {arch.name}: {', '.join(axis_names)}")
        temporal = [_loops(problems, f"{where}.temporal.{lv}", temporal_spec.get(lv)) for lv in level_names]
        spatial = [_loops(problems, f"{where}.spatial.{ax}", spatial_spec.get(ax)) for ax in axis_names]
        bypass_spec = entry.get("bypass") or []
        bypass: list[tuple[str, str]] = []
        if not isinstance(bypass_spec, list):
            problems.add(f"{where}.bypass", bypass_spec, "expected a list of [level, operand] pairs")
        else:
            for i, b in enumerate(bypass_spec):
                if not (isinstance(b, list) and len(b) == 2 and b[0] in level_names and b[1] in ("weights", "inputs", "outputs")):
                    problems.add(f"{where}.bypass[{i}]", b, "expected [level, operand] with a level of the architecture and "
                                                            "an operand weights, inputs or outputs")  # fmt: skip
                    continue
                bypass.append((b[0], b[1]))
        out[str(name)] = Mapping.build(temporal, spatial, bypass)
    problems.raise_if_any()
    return out


def resolve_mappings(network: Network, arch: Architecture, mappings: MappingABC[str, Mapping], source: str) -> dict[str, Mapping]:
    """The mappings of ``network``'s layers, each checked as a schedule of its layer on ``arch``; names that are not
    layers of the network and invalid schedules are listed together. Layers without an entry are left to the mapper."""
    problems = Problems(source)
    layers: dict[str, Layer] = {op.name: op for op in network.layers()}
    for name in mappings:
        if name not in layers:
            problems.add(f"layers.{name}", name, f"expected a layer of {network.name} ({len(layers)} layers, e.g. {', '.join(list(layers)[:4])})")
    for name, m in mappings.items():
        if name in layers:
            for p in check_mapping(layers[name], arch, m):
                problems.add(f"layers.{name}.{p.path}", p.value, p.expected)
    problems.raise_if_any()
    return {name: m for name, m in mappings.items() if name in layers}
