"""Accelergy's energy and area tables (ERT, ART) as the energies and areas of an hwsim architecture.

Reading. :func:`read_energy_table` takes an Accelergy ``ERT.yaml`` (``ERT: {version, tables}``) or
``ERT_summary.yaml`` (``ERT_summary: {version, table_summary}``); :func:`read_area_table` an ``ART.yaml`` or
``ART_summary.yaml``. Versions 0.3 and 0.4 list components as ``[{name, actions: [{name, arguments, energy}]}]``
(0.2's mapping ``{component: {action: [{arguments, energy}] | {energy}}}`` is read too). An action listed once per
argument combination (v0.3's ``address_delta``/``data_delta``, say) is priced at its **largest** energy: that is the
figure Timeloop charges (``Topology::Specs::ParseAccelergyERT`` keeps the maximum over an action's entries) and the
``max_energy`` of Accelergy's own summary (``get_actions_energy_min_max_avg_as_list``), which is what is read from a
summary whose action has ``max_energy``/``average_energy``/``min_energy``. Energies are pJ per action, areas µm² per
instance.

Matching. A component is named by its path, ``system_top_level.shared_glb[1..1]`` or
``system.PE[0..255].pe_spad``; it is matched by its last path component with the index ranges removed (``shared_glb``,
``pe_spad``), as Timeloop matches it, to the hwsim level of that name (the Timeloop importer names levels after the
components). The one component with a compute action (``mac_random``, ``mult_random``, ``mac``, ``mult`` or
``compute``, Timeloop's priority) is the MAC unit. Components hwsim does not model — wires and networks-on-chip (only
``transfer`` actions, or ``wire``/``noc``/``network``/``router``/``interconnect`` in the name) and the placeholder
storages ``inter_<container>_spatial`` Timeloop's front end adds for a container's fan-out (area 1 µm² in the
exercises' ARTs) — are listed in :attr:`TableMatch.unmodelled`, never dropped silently. Everything else is a problem: a level or the MAC with no
entry, an entry matching nothing, two entries with one name; :func:`apply_energy_table` raises them all in one
:class:`SpecError`.

Pricing, as Timeloop prices Accelergy's actions (``storageOperationMappings`` in Timeloop's ``topology.hpp``):

=====================  ==============================================================  ===============================
hwsim                  Accelergy action (first found)                                   unit conversion
=====================  ==============================================================  ===============================
``read_energy_pj``     ``random_read``, ``read``                                        × word_bits / access_bits
``write_energy_pj``    fills: ``random_fill``, ``random_write``, ``fill``, ``write``    × word_bits / access_bits
``update_energy_pj``   updates: ``random_update``, ``random_write``, ``update``,        × word_bits / access_bits
                       ``write`` (None when equal to the fill energy)
``leakage_mw``         ``leak`` (pJ per cycle per instance)                             × clock_hz × 1e-9
``MacUnit.energy_pj``  ``mac_random``, ``mult_random``, ``mac``, ``mult``, ``compute``  (per MAC)
``MacUnit.leakage_mw`` ``leak``                                                         × clock_hz × 1e-9
``area_um2``           the ART's ``area`` (per instance)                                none
=====================  ==============================================================  ===============================

One Accelergy storage action moves one *vector*: Timeloop's ``block_size`` words of ``datawidth`` bits. hwsim
prices one ``word_bits`` word (:class:`hwsim.core.arch.Level`), and bills element accesses as bits: ``accesses ×
element bits / word_bits`` words. ``access_bits`` gives the bits of one Accelergy action per level; by default it is
the level's ``word_bits``, which is right for architectures from :mod:`hwsim.frontend.importers.timeloop` (one
hwsim word is one vector there: ``word_bits`` = ``block_size`` elements of the importer's element bits). With a
level's element bits equal to Timeloop's ``datawidth``, hwsim's energy then equals Timeloop's whenever an operand's
per-instance access count is a whole number of vectors; otherwise Timeloop rounds each (data space, action) count up
to whole vectors (``ceil(count / block_size)``, ``BufferLevel::ComputeVectorAccesses``) and hwsim does not (it bills
the fraction) unless the architecture's semantics has ``whole_vectors``; Timeloop's leakage runs only in the utilized
storage instances and not in the MACs, as hwsim's does with ``utilized_leakage`` (both on for imported designs).

Actions hwsim does not price — ``gated_*``, ``skipped_*``, ``metadata_*``, ``decompression_count``,
``compression_count``, ``idle``, ``mac_gated``/``mac_skipped``/``mac_reused`` — are listed in
:attr:`TableMatch.ignored` with the reason (compressed formats' metadata is billed by hwsim at the level's read and
write energy per bit; a gated MAC costs nothing in hwsim). Timeloop does not charge ``idle`` either.

Usage (the command line's ``hwsim run --energy-table ERT.yaml [--area-table ART.yaml]``)::

    table = read_energy_table("timeloop-model.ERT.yaml")
    area = read_area_table("timeloop-model.ART.yaml")           # optional
    arch = apply_energy_table(arch, table, "--energy-table", area)
    for line in match_energy_table(arch, table, area).notes():   # what was left out, and why
        print(line)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hwsim.core.arch import Architecture
from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.spec import read_yaml

__all__ = [
    "AreaTable",
    "ComponentArea",
    "ComponentEnergy",
    "EnergyTable",
    "TableMatch",
    "apply_energy_table",
    "base_name",
    "match_energy_table",
    "read_area_table",
    "read_energy_table",
]

# Timeloop's priority lists (include/model/topology.hpp): the first action the table has prices the operation.
READ_ACTIONS = ("random_read", "read")
FILL_ACTIONS = ("random_fill", "random_write", "fill", "write")
UPDATE_ACTIONS = ("random_update", "random_write", "update", "write")
COMPUTE_ACTIONS = ("mac_random", "mult_random", "mac", "mult", "compute")
LEAK_ACTIONS = ("leak",)
NETWORK_WORDS = ("wire", "noc", "network", "router", "interconnect")

_STORAGE_USED = set(READ_ACTIONS) | set(FILL_ACTIONS) | set(UPDATE_ACTIONS) | set(LEAK_ACTIONS)
_MAC_USED = set(COMPUTE_ACTIONS) | set(LEAK_ACTIONS)
_RANGE = re.compile(r"\[\s*-?\d+\s*\.\.\s*-?\d+\s*\]")
_SPATIAL_DUMMY = re.compile(r"inter_.+_spatial")


def base_name(name: str) -> str:
    """The last path component of an Accelergy component name, index ranges removed: ``a.PE[0..3].spad`` → ``spad``."""
    return _RANGE.sub("", name).split(".")[-1].strip()


@dataclass(frozen=True)
class ComponentEnergy:
    """One ERT entry: ``actions`` maps an action name to its energy in pJ (the largest over argument combinations);
    ``estimators`` are the plug-ins a summary names."""

    name: str
    actions: dict[str, float]
    estimators: tuple[str, ...] = ()

    @property
    def base(self) -> str:
        return base_name(self.name)

    def first(self, names: tuple[str, ...]) -> tuple[str, float] | None:
        """The first of ``names`` this component has, with its energy (Timeloop's priority lookup)."""
        for n in names:
            if n in self.actions:
                return n, self.actions[n]
        return None


@dataclass(frozen=True)
class EnergyTable:
    """An Accelergy energy reference table (ERT or ERT summary) read from ``source``; ``field`` is the path of its
    component list (``ERT.tables`` or ``ERT_summary.table_summary``), for messages."""

    source: str
    version: str
    components: tuple[ComponentEnergy, ...]
    field: str = "ERT.tables"


@dataclass(frozen=True)
class ComponentArea:
    name: str
    area_um2: float
    estimators: tuple[str, ...] = ()

    @property
    def base(self) -> str:
        return base_name(self.name)


@dataclass(frozen=True)
class AreaTable:
    """An Accelergy area reference table (ART or ART summary) read from ``source``; areas µm² per instance."""

    source: str
    version: str
    components: tuple[ComponentArea, ...]
    field: str = "ART.tables"


# --------------------------------------------------------------------------------------------- reading


def _number(problems: Problems, path: str, value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.add(path, value, "expected a non-negative number")
        return None
    try:
        x = float(value)
    except ValueError:
        problems.add(path, value, "expected a non-negative number")
        return None
    if not math.isfinite(x) or x < 0:
        problems.add(path, value, "expected a non-negative number")
        return None
    return x


def _top(data: Any, keys: tuple[str, ...], source: str) -> tuple[str, dict[str, Any]]:
    if isinstance(data, dict):
        for k in keys:
            if isinstance(data.get(k), dict):
                return k, data[k]
    raise SpecError(source, [Problem("", sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__,
                                     f"expected an Accelergy table with a top-level {' or '.join(keys)} mapping")])  # fmt: skip


def _estimators(entry: dict[str, Any]) -> tuple[str, ...]:
    found = entry.get("primitive_estimation(s)", entry.get("primitive_estimations"))
    if isinstance(found, str):
        return (found,)
    if isinstance(found, list):
        return tuple(str(p.get("estimator")) for p in found if isinstance(p, dict) and p.get("estimator") is not None)
    return ()


def read_energy_table(path: str | Path) -> EnergyTable:
    """Read an Accelergy ``ERT.yaml`` or ``ERT_summary.yaml`` (v0.2–0.4); raises :class:`SpecError` listing every problem."""
    source = str(path)
    data = read_yaml(path)
    key, top = _top(data, ("ERT", "ERT_summary"), source)
    problems = Problems(source)
    version = str(top.get("version", ""))
    list_key = "tables" if key == "ERT" else "table_summary"
    tables = top.get(list_key)
    components: list[ComponentEnergy] = []
    if isinstance(tables, dict) and key == "ERT":  # v0.2: {component: {action: [{arguments, energy}] | {energy}}}
        tables = [{"name": n, "actions": [{"name": a, **e} for a, es in (acts or {}).items() for e in (es if isinstance(es, list) else [es])]}
                  for n, acts in tables.items()]  # fmt: skip
    if not isinstance(tables, list):
        problems.add(f"{key}.{list_key}", tables, "expected a list of components {name, actions}")
        problems.raise_if_any()
    assert isinstance(tables, list)
    for i, entry in enumerate(tables):
        where = f"{key}.{list_key}[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("actions"), list):
            problems.add(where, entry, "expected a component {name, actions: [...]}")
            continue
        actions: dict[str, float] = {}
        for j, act in enumerate(entry["actions"]):
            at = f"{where}.actions[{j}]"
            if not isinstance(act, dict) or not isinstance(act.get("name"), str):
                problems.add(at, act, "expected an action {name, energy}")
                continue
            if "energy" in act:
                energy = _number(problems, f"{at}.energy", act["energy"])
            elif "max_energy" in act:  # a summary of several argument combinations
                energy = _number(problems, f"{at}.max_energy", act["max_energy"])
            else:
                problems.add(at, act, "expected an energy (or a summary's max_energy) in pJ")
                continue
            if energy is None:
                continue
            actions[act["name"]] = max(energy, actions.get(act["name"], 0.0))
        components.append(ComponentEnergy(entry["name"], actions, _estimators(entry)))
    problems.raise_if_any()
    return EnergyTable(source, version, tuple(components), f"{key}.{list_key}")


def read_area_table(path: str | Path) -> AreaTable:
    """Read an Accelergy ``ART.yaml`` or ``ART_summary.yaml`` (v0.2–0.4); raises :class:`SpecError` listing every problem."""
    source = str(path)
    data = read_yaml(path)
    key, top = _top(data, ("ART", "ART_summary"), source)
    problems = Problems(source)
    list_key = "tables" if key == "ART" else "table_summary"
    tables = top.get(list_key)
    if isinstance(tables, dict):  # v0.2: {component: area | {area}}
        tables = [{"name": n, **(a if isinstance(a, dict) else {"area": a})} for n, a in tables.items()]
    if not isinstance(tables, list):
        problems.add(f"{key}.{list_key}", tables, "expected a list of components {name, area}")
        problems.raise_if_any()
    assert isinstance(tables, list)
    components: list[ComponentArea] = []
    for i, entry in enumerate(tables):
        where = f"{key}.{list_key}[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or "area" not in entry:
            problems.add(where, entry, "expected a component {name, area}")
            continue
        area = _number(problems, f"{where}.area", entry["area"])
        if area is not None:
            components.append(ComponentArea(entry["name"], area, _estimators(entry)))
    problems.raise_if_any()
    return AreaTable(source, str(top.get("version", "")), tuple(components), f"{key}.{list_key}")


# --------------------------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class TableMatch:
    """What an energy (and area) table sets in an architecture, and what it leaves out.

    ``architecture`` has every matched figure set (None if there are ``problems``); ``unmodelled`` lists the
    components hwsim has no place for (wires, networks) as ``(name, reason)``; ``ignored`` the actions of matched
    components hwsim does not price, as ``(component, action, reason)``.
    """

    architecture: Architecture | None
    problems: tuple[Problem, ...]
    unmodelled: tuple[tuple[str, str], ...]
    ignored: tuple[tuple[str, str, str], ...]

    def notes(self) -> list[str]:
        """One line per component or action left out, for a user to read."""
        lines = [f"{name}: not modelled by hwsim ({why}); its energy and area are left out" for name, why in self.unmodelled]
        lines += [f"{name}: action {action!r} not priced by hwsim ({why})" for name, action, why in self.ignored]
        return lines


def _why_ignored(action: str) -> str:
    if "metadata" in action:
        return "hwsim bills a compressed format's metadata bits at the level's read/write energy per bit"
    if action.startswith(("gated", "skipped")) or action.endswith(("_gated", "_skipped")):
        return "a gated or skipped access costs nothing in hwsim"
    if action == "mac_reused":
        return "hwsim prices every MAC alike"
    if action == "idle":
        return "idle energy is not charged (Timeloop does not charge it either); leakage is 'leak'"
    if action.endswith("_count"):
        return "hwsim has no (de)compression energy"
    return "an action Timeloop's storage and compute models do not charge"


def _unmodelled(comp: ComponentEnergy | ComponentArea) -> str | None:
    """Why hwsim has no place for a component (None: it should have one)."""
    if _SPATIAL_DUMMY.fullmatch(comp.base):
        return "Timeloop's placeholder storage (dummy_storage) for a container's spatial fan-out; hwsim models the fan-out as a spatial axis"
    low = comp.base.lower()
    if any(w in low for w in NETWORK_WORDS) or (
        isinstance(comp, ComponentEnergy) and comp.actions and all(a.startswith("transfer") for a in comp.actions)
    ):
        return "a wire or network-on-chip; hwsim does not charge network energy or area"
    return None


def _leak_mw(leak_pj_per_cycle: float, clock_hz: float) -> float:
    """Accelergy's leak (pJ per cycle per instance) as hwsim's static power (mW) at the architecture's clock."""
    return leak_pj_per_cycle * clock_hz * 1e-9


def match_energy_table(arch: Architecture, table: EnergyTable, area: AreaTable | None = None, *,
                       access_bits: dict[str, float] | None = None) -> TableMatch:  # fmt: skip
    """Match ``table`` (and ``area``) to ``arch`` (see the module documentation): the priced architecture, or the problems."""
    problems: list[Problem] = []
    unmodelled: list[tuple[str, str]] = []
    ignored: list[tuple[str, str, str]] = []
    names = [lv.name for lv in arch.levels]
    access_bits = dict(access_bits or {})
    for lv_name in access_bits:
        if lv_name not in names:
            problems.append(Problem(f"access_bits.{lv_name}", access_bits[lv_name], f"expected the name of a level ({', '.join(names)})"))

    # energies
    by_level: dict[str, tuple[int, ComponentEnergy]] = {}
    macs: list[tuple[int, ComponentEnergy]] = []
    where = table.field
    for i, comp in enumerate(table.components):
        path = f"{where}[{i}]"
        if comp.base in names:
            if comp.base in by_level:
                problems.append(Problem(f"{path}.name", comp.name, f"expected one entry per level ({table.components[by_level[comp.base][0]].name!r} is {comp.base!r} too)"))
            by_level[comp.base] = (i, comp)
        elif comp.first(COMPUTE_ACTIONS) is not None:
            macs.append((i, comp))
        elif (why := _unmodelled(comp)) is not None:
            unmodelled.append((comp.name, why))
        else:
            problems.append(Problem(f"{path}.name", comp.name,
                                    f"expected a component named after a level ({', '.join(names)}) or a compute unit with a compute action"))  # fmt: skip
    if len(macs) > 1:
        for i, comp in macs[1:]:
            problems.append(Problem(f"{where}[{i}].name", comp.name, f"expected one compute unit (hwsim has one MAC unit; {macs[0][1].name!r} is one)"))
    if not macs:
        problems.append(Problem(where, [c.name for c in table.components], "expected an entry for the MAC unit (a component with a compute action)"))

    levels = list(arch.levels)
    for k, lv in enumerate(levels):
        found = by_level.get(lv.name)
        if found is None:
            problems.append(Problem(where, lv.name, f"expected an entry for level {lv.name!r} (a component named {lv.name!r})"))
            continue
        i, comp = found
        path = f"{where}[{i}]"
        read = comp.first(READ_ACTIONS)
        fill = comp.first(FILL_ACTIONS)
        update = comp.first(UPDATE_ACTIONS)
        if read is None or fill is None or update is None:
            missing = [what for what, got in (("read", read), ("write", fill or update)) if got is None]
            problems.append(Problem(f"{path}.actions", sorted(comp.actions), f"expected storage actions {' and '.join(missing) or 'fill/update'} for level {lv.name!r}"))
            continue
        bits = access_bits.get(lv.name, lv.word_bits)
        if not (isinstance(bits, (int, float)) and bits > 0):
            problems.append(Problem(f"access_bits.{lv.name}", bits, "expected a positive number of bits"))
            continue
        scale = lv.word_bits / bits
        leak = comp.first(LEAK_ACTIONS)
        changes: dict[str, Any] = {"read_energy_pj": read[1] * scale, "write_energy_pj": fill[1] * scale,
                                   "update_energy_pj": None if update[1] == fill[1] else update[1] * scale}  # fmt: skip
        if leak is not None:
            changes["leakage_mw"] = _leak_mw(leak[1], arch.clock_hz)
        levels[k] = replace(lv, **changes)
        ignored += [(comp.name, a, _why_ignored(a)) for a in comp.actions if a not in _STORAGE_USED]

    mac = arch.mac
    if len(macs) >= 1:
        i, comp = macs[0]
        compute = comp.first(COMPUTE_ACTIONS)
        assert compute is not None
        leak = comp.first(LEAK_ACTIONS)
        mac = replace(mac, energy_pj=compute[1], fp_energy_pj=compute[1] if mac.fp_bits else mac.fp_energy_pj,
                      leakage_mw=_leak_mw(leak[1], arch.clock_hz) if leak is not None else mac.leakage_mw)  # fmt: skip
        ignored += [(comp.name, a, _why_ignored(a)) for a in comp.actions if a not in _MAC_USED]

    # areas
    if area is not None:
        awhere = area.field
        area_levels: dict[str, int] = {}
        area_macs: list[tuple[int, ComponentArea]] = []
        mac_base = macs[0][1].base if macs else None
        for i, ca in enumerate(area.components):
            path = f"{awhere}[{i}]"
            if ca.base in names:
                if ca.base in area_levels:
                    problems.append(Problem(f"{path}.name", ca.name, f"expected one entry per level ({ca.base!r} is listed twice)"))
                area_levels[ca.base] = i
                k = names.index(ca.base)
                levels[k] = replace(levels[k], area_um2=ca.area_um2)
            elif ca.base == mac_base:
                area_macs.append((i, ca))
            elif (why := _unmodelled(ca)) is not None:
                if all(n != ca.name for n, _ in unmodelled):
                    unmodelled.append((ca.name, f"{why} (area {ca.area_um2:g} µm²)"))
            else:
                problems.append(Problem(f"{path}.name", ca.name,
                                        f"expected a component named after a level ({', '.join(names)}) or the MAC unit ({mac_base or 'none in the energy table'})"))  # fmt: skip
        for lv in arch.levels:
            if lv.name not in area_levels:
                problems.append(Problem(awhere, lv.name, f"expected an area for level {lv.name!r}"))
        if mac_base is not None and not area_macs:
            problems.append(Problem(awhere, mac_base, "expected an area for the MAC unit"))
        if area_macs:
            mac = replace(mac, area_um2=area_macs[-1][1].area_um2)
            for i, ca in area_macs[1:]:
                problems.append(Problem(f"{awhere}[{i}].name", ca.name, "expected one area entry for the MAC unit"))

    if problems:
        return TableMatch(None, tuple(problems), tuple(unmodelled), tuple(ignored))
    return TableMatch(replace(arch, levels=tuple(levels), mac=mac), (), tuple(unmodelled), tuple(ignored))


def apply_energy_table(arch: Architecture, table: EnergyTable, source: str, area: AreaTable | None = None, *,
                       access_bits: dict[str, float] | None = None) -> Architecture:  # fmt: skip
    """``arch`` with every level's read/write energy (per ``word_bits`` word), leakage and area and the MAC's energy,
    leakage and area taken from Accelergy's tables (see the module documentation).

    ``source`` names the table in errors (a path, or ``"--energy-table"``); ``access_bits`` maps a level name to the
    bits one Accelergy action moves there (default: the level's ``word_bits``). Raises :class:`SpecError` listing
    every level or MAC without an entry and every entry matching nothing; wires and networks, which hwsim does not
    model, are listed by :func:`match_energy_table` (``.notes()``) instead.
    """
    match = match_energy_table(arch, table, area, access_bits=access_bits)
    if match.problems:
        raise SpecError(source, list(match.problems))
    assert match.architecture is not None
    return match.architecture
