"""Design-point variants of an architecture spec, addressed by dotted paths.

A sweep or a search edits a deep copy of the architecture's *spec dict* (the YAML data) and
builds one immutable :class:`~hwsim.core.arch.Architecture` from it per point, with
:func:`~hwsim.core.arch.architecture_from_dict`; nothing is written to disk and re-read.

Paths (case-insensitive names):

* ``levels.<level>.<field>``: a storage level by name, e.g. ``levels.glb.size_kib``;
* ``array.<axis>`` (the axis size) or ``pe_array.axes.<axis>.<field>``;
* ``mac.<field>``, ``clock_hz``, ``technology.node_nm``;
* the mapper's ``dataflow`` and ``objective`` (options, not spec fields).

Energies and areas a spec states explicitly (calibrated figures, such as Eyeriss' Accelergy
numbers) are not re-derived by the loader when a size changes. :func:`build_point` rescales
them deliberately: a changed level's explicit per-access energy, leakage and area are
multiplied by the ratio of the technology table's figures for the new and the original
geometry (and a MAC unit's explicit energy and area likewise when its widths change), so the
calibration is kept and the trend follows the technology model. Each rescaling is recorded.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from hwsim.core.arch import Architecture, architecture_from_dict
from hwsim.core.errors import Problem, SpecError
from hwsim.core.spec import read_yaml
from hwsim.frontend.presets import looks_like_path, preset_arch_data

__all__ = ["MAPPER_KEYS", "Point", "arch_spec", "build_point", "check_values", "parse_settings", "point_key", "stated_value", "valid_paths"]

LEVEL_FIELDS = (
    "kind", "keeps", "size_bytes", "size_kib", "size_mib", "word_bits", "banks", "ports", "double_buffered", "dram_type",
    "bandwidth_bytes_per_s", "read_bandwidth_bits_per_cycle", "write_bandwidth_bits_per_cycle", "temporal_dims", "order",
    "read_energy_pj", "write_energy_pj", "leakage_mw", "area_um2",
)  # fmt: skip
AXIS_FIELDS = ("size", "dims", "multicast", "reduction", "below")
MAC_FIELDS = ("weight_bits", "input_bits", "accumulator_bits", "energy_pj", "area_um2", "leakage_mw", "kind", "skip", "gate",
              "skip_structure", "fp_bits", "fp_energy_pj")  # fmt: skip
TOP_FIELDS = ("clock_hz", "technology.node_nm", "name")
MAPPER_KEYS = ("dataflow", "objective")
_SIZE_KEYS = ("size_bytes", "size_kib", "size_mib")
# A level field and the fields it replaces (a size in one unit; a DRAM bandwidth for the per-cycle ones).
_REPLACES = {**dict.fromkeys(_SIZE_KEYS, _SIZE_KEYS), "bandwidth_bytes_per_s": ("read_bandwidth_bits_per_cycle", "write_bandwidth_bits_per_cycle")}
_GEOMETRY = ("size_bytes", "size_kib", "size_mib", "word_bits", "banks", "kind", "dram_type")
_LEVEL_DERIVED = ("read_energy_pj", "write_energy_pj", "leakage_mw", "area_um2")
_MAC_GEOMETRY = ("weight_bits", "input_bits", "accumulator_bits", "kind")
_MAC_DERIVED = ("energy_pj", "area_um2")


def arch_spec(spec: str, option: str = "--arch") -> dict[str, Any]:
    """The spec dict of an hwsim architecture: a preset name or an hwsim YAML file."""
    if looks_like_path(spec):
        if spec.endswith(".cfg"):
            raise SpecError(option, [Problem(option, spec, "expected an hwsim architecture YAML (convert SCALE-Sim configs first)")])
        data = read_yaml(spec)
        if isinstance(data, dict) and "architecture" in data:
            raise SpecError(option, [Problem(option, spec, "expected an hwsim architecture YAML, not a Timeloop one")])
    else:
        data, _ = preset_arch_data(spec, option)
    if not isinstance(data, dict):
        raise SpecError(option, [Problem(option, spec, "expected a mapping at the top of the architecture YAML")])
    architecture_from_dict(copy.deepcopy(data), source=spec)  # validate the base once, at the edge
    return data


def valid_paths(spec: dict[str, Any]) -> list[str]:
    """Every path :func:`build_point` accepts for this spec (level and axis names lower-cased)."""
    out = list(TOP_FIELDS) + [f"mac.{f}" for f in MAC_FIELDS] + list(MAPPER_KEYS)
    for lv in spec.get("levels") or []:
        out += [f"levels.{str(lv.get('name', '')).lower()}.{f}" for f in LEVEL_FIELDS]
    for ax in (spec.get("pe_array") or {}).get("axes") or []:
        n = str(ax.get("name", "")).lower()
        out += [f"array.{n}"] + [f"pe_array.axes.{n}.{f}" for f in AXIS_FIELDS]
    return out


def _compact_paths(spec: dict[str, Any]) -> str:
    levels = ",".join(str(lv.get("name", "")).lower() for lv in spec.get("levels") or [])
    axes = ",".join(str(ax.get("name", "")).lower() for ax in (spec.get("pe_array") or {}).get("axes") or [])
    return (f"{', '.join(TOP_FIELDS)}; mac.{{{','.join(MAC_FIELDS)}}}; levels.{{{levels}}}.{{{','.join(LEVEL_FIELDS)}}}; "
            f"array.{{{axes}}}; pe_array.axes.{{{axes}}}.{{{','.join(AXIS_FIELDS)}}}; {', '.join(MAPPER_KEYS)}")


def _find(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((x for x in items if str(x.get("name", "")).lower() == name.lower()), None)


def _normalize(path: str, spec: dict[str, Any]) -> tuple[str, ...] | None:
    """A path as (``mapper``, key) / (``top``, key...) / (``level``, name, field) / (``axis``, name, field) / (``mac``, field)."""
    parts = path.strip().split(".")
    low = [p.lower() for p in parts]
    if len(parts) == 1 and low[0] in MAPPER_KEYS:
        return ("mapper", low[0])
    if path in TOP_FIELDS:
        return ("top", *parts)
    if len(parts) == 2 and low[0] == "mac" and low[1] in MAC_FIELDS:
        return ("mac", low[1])
    if len(parts) == 3 and low[0] == "levels" and low[2] in LEVEL_FIELDS:
        lv = _find(spec.get("levels") or [], parts[1])
        return ("level", lv["name"], low[2]) if lv is not None else None
    axes = (spec.get("pe_array") or {}).get("axes") or []
    if len(parts) == 2 and low[0] == "array":
        ax = _find(axes, parts[1])
        return ("axis", ax["name"], "size") if ax is not None else None
    if len(parts) == 4 and low[:2] == ["pe_array", "axes"] and low[3] in AXIS_FIELDS:
        ax = _find(axes, parts[2])
        return ("axis", ax["name"], low[3]) if ax is not None else None
    return None


def stated_value(spec: dict[str, Any], path: str) -> Any:
    """The value ``path`` has in ``spec`` as the spec states it: ``None`` where it states none (the loader's default
    applies), and for the mapper's keys, which are options rather than spec fields."""
    norm = _normalize(path, spec)
    if norm is None or norm[0] == "mapper":
        return None
    if norm[0] == "level":
        return (_find(spec.get("levels") or [], norm[1]) or {}).get(norm[2])
    if norm[0] == "axis":
        return (_find((spec.get("pe_array") or {}).get("axes") or [], norm[1]) or {}).get(norm[2])
    if norm[0] == "mac":
        return (spec.get("mac") or {}).get(norm[1])
    node: Any = spec
    for key in norm[1:]:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def check_paths(paths: list[str], spec: dict[str, Any], source: str = "--set") -> None:
    """Raise one :class:`SpecError` naming every unknown path, with the valid ones."""
    bad = [p for p in paths if _normalize(p, spec) is None]
    if bad:
        valid = _compact_paths(spec)
        name = spec.get("name", "the architecture")
        problems = [Problem(f"{source} {p}", p, f"expected a known path of {name}" + ("" if i else f" (valid: {valid})"))
                    for i, p in enumerate(bad)]  # fmt: skip
        raise SpecError(source, problems)


def parse_settings(items: list[str], source: str = "--set") -> dict[str, list[Any]]:
    """``["array.rows=8,16", "dataflow=ws,os"]`` → ``{"array.rows": [8, 16], "dataflow": ["ws", "os"]}``.

    Values are YAML scalars (``64``, ``1e9``, ``true``, ``null``) or bracketed lists
    (``[S,C,K]``); commas outside brackets separate the alternatives.
    """
    import yaml

    out: dict[str, list[Any]] = {}
    problems = []
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key.strip() or not text.strip():
            problems.append(Problem(source, item, "expected PATH=V1,V2,... such as array.rows=8,16,32"))
            continue
        values, depth, cur = [], 0, ""
        for ch in text:
            depth += {"[": 1, "]": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                values.append(cur)
                cur = ""
            else:
                cur += ch
        values.append(cur)
        parsed = []
        for v in values:
            try:
                parsed.append(yaml.safe_load(v.strip()) if v.strip() else None)
            except yaml.YAMLError:
                problems.append(Problem(source, f"{key}={v}", "expected a number, a word, true/false or a [list]"))
        if any(v is None for v in parsed):
            problems.append(Problem(source, item, "expected no empty value"))
        if key.strip() in out:
            problems.append(Problem(source, key, "expected each path once"))
        out[key.strip()] = [json.loads(t) for t in dict.fromkeys(json.dumps(v) for v in parsed)]  # distinct, in order
    if problems:
        raise SpecError(source, problems)
    return out


@dataclass(frozen=True)
class Point:
    """One design point: its architecture, the mapper settings it asks for, and what was rescaled."""

    arch: Architecture
    spec: dict[str, Any]
    mapper: dict[str, Any]
    rescaled: tuple[str, ...]


def point_key(*parts: Any) -> str:
    """A stable short hash of JSON-serializable parts (sorted keys): the identity of a design point."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _strip(spec: dict[str, Any], levels: set[str], mac: bool) -> dict[str, Any]:
    """A copy without the explicit derived figures of these levels (and the MAC): technology defaults."""
    out = copy.deepcopy(spec)
    for lv in out.get("levels") or []:
        if lv.get("name") in levels:
            for k in _LEVEL_DERIVED:
                lv.pop(k, None)
    if mac and isinstance(out.get("mac"), dict):
        for k in _MAC_DERIVED:
            out["mac"].pop(k, None)
    return out


def build_point(base: dict[str, Any], settings: dict[str, Any], source: str = "<sweep>") -> Point:
    """The architecture of ``base`` with ``settings`` (path → value) applied, explicit figures rescaled.

    Raises :class:`SpecError` for unknown paths or an invalid resulting spec.
    """
    check_paths(list(settings), base)
    spec = copy.deepcopy(base)
    mapper: dict[str, Any] = {}
    touched_levels: dict[str, set[str]] = {}
    touched_mac: set[str] = set()
    for path, value in settings.items():
        norm = _normalize(path, spec)
        assert norm is not None
        kind = norm[0]
        if kind == "mapper":
            mapper[norm[1]] = value
        elif kind == "top":
            if norm[1] == "technology":
                spec.setdefault("technology", {})[norm[2]] = value
            else:
                spec[norm[1]] = value
        elif kind == "mac":
            spec.setdefault("mac", {})[norm[1]] = value
            touched_mac.add(norm[1])
        elif kind == "level":
            lv = _find(spec["levels"], norm[1])
            assert lv is not None
            for k in _REPLACES.get(norm[2], ()):
                lv.pop(k, None)
            lv[norm[2]] = value
            touched_levels.setdefault(lv["name"], set()).add(norm[2])
        else:
            ax = _find(spec["pe_array"]["axes"], norm[1])
            assert ax is not None
            ax[norm[2]] = value
    rescaled: list[str] = []
    # Explicit figures of a level whose geometry changed: scale by the technology ratio.
    levels = {n for n, fields in touched_levels.items() if fields & set(_GEOMETRY)}
    mac_changed = bool(touched_mac & set(_MAC_GEOMETRY))
    explicit_levels = {lv["name"] for lv in base.get("levels") or [] if lv.get("name") in levels and any(k in lv for k in _LEVEL_DERIVED)}
    explicit_mac = mac_changed and any(k in (base.get("mac") or {}) for k in _MAC_DERIVED)

    def rescale(stated: dict[str, Any], o: Any, n: Any, keys: tuple[str, ...], touched: set[str], label: str) -> None:
        for k in keys:
            if k in stated and k not in touched and getattr(o, k) > 0:
                ratio = getattr(n, k) / getattr(o, k)
                if math.isfinite(ratio) and abs(ratio - 1) > 1e-12:
                    stated[k] = float(stated[k]) * ratio
                    rescaled.append(f"{label}.{k}×{ratio:.3g}")

    if explicit_levels or explicit_mac:
        try:
            old = architecture_from_dict(_strip(base, explicit_levels, explicit_mac), source=source)
            new = architecture_from_dict(_strip(spec, explicit_levels, explicit_mac), source=source)
        except SpecError:
            pass  # the real build below reports the problems
        else:
            for name in sorted(explicit_levels):
                lv = _find(spec["levels"], name)
                assert lv is not None
                rescale(lv, old.levels[old.level_index(name)], new.levels[new.level_index(name)], _LEVEL_DERIVED, touched_levels[name], name)
            if explicit_mac:
                rescale(spec["mac"], old.mac, new.mac, _MAC_DERIVED, touched_mac, "mac")
    arch = architecture_from_dict(copy.deepcopy(spec), source=source)
    return Point(arch, spec, mapper, tuple(rescaled))


def check_values(base: dict[str, Any], points: list[dict[str, Any]], source: str = "--set") -> None:
    """Raise one :class:`SpecError` naming every setting value the spec's validators refuse (``array.rows=twelve``,
    ``levels.glb.size_kib=-1``, ``mac.kind=foo``), before any point is mapped.

    Each distinct (path, value) is built alone on ``base``; a value refused alone is still accepted when some point
    holding it builds (a value valid only together with another setting, e.g. wider MAC operands with a wider
    accumulator). A point of valid values whose combination does not build, or whose mapping does not fit, is left to
    the sweep: an ``infeasible`` row. Mapper keys (``dataflow``, ``objective``) are the mapper's to check.
    """
    check_paths(sorted({p for pt in points for p in pt}), base, source)

    def text(v: Any) -> str:
        return json.dumps(v, sort_keys=True, default=str)

    pairs: dict[tuple[str, str], tuple[str, Any]] = {}
    for pt in points:
        for path, value in pt.items():
            if _normalize(path, base) != ("mapper", path.strip().lower()):
                pairs.setdefault((path, text(value)), (path, value))
    problems: list[Problem] = []
    for (path, shown), (_, value) in pairs.items():
        try:
            build_point(base, {path: value})
            continue
        except SpecError as e:
            refused = e.problems
        if any(_builds(base, pt) for pt in points if path in pt and text(pt[path]) == shown):
            continue
        expected = "; ".join(dict.fromkeys(p.expected for p in refused)) or "expected a value the architecture spec accepts"
        problems.append(Problem(f"{source} {path}", value, expected))
    if problems:
        raise SpecError(source, problems)


def _builds(base: dict[str, Any], settings: dict[str, Any]) -> bool:
    if len(settings) < 2:
        return False  # built alone already
    try:
        build_point(base, settings)
        return True
    except SpecError:
        return False
