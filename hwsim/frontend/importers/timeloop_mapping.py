"""Timeloop mappings as hwsim :class:`~hwsim.core.mapping.Mapping` objects: the v0.4 mapping YAML and the printed nest.

Usage (what ``hwsim run --mappings FILE`` does when FILE is Timeloop's)::

    from hwsim.frontend.importers.timeloop import read_timeloop_yaml, timeloop_architecture, timeloop_problem, timeloop_problem_names

    problem = read_timeloop_yaml("problem.yaml")
    names = timeloop_problem_names(problem, "problem.yaml")
    layer = timeloop_problem(problem, "problem.yaml").layers()[0]
    arch = timeloop_architecture(read_timeloop_yaml("arch.yaml"), "arch.yaml", names)
    if looks_like_timeloop_mapping("timeloop-mapper.map.txt"):  # else: hwsim's own mappings file (mapping_io)
        mapping = read_timeloop_mapping("timeloop-mapper.map.txt", arch, layer, names)  # then check_mapping / validate_mapping

``names`` says what the problem's names are in hwsim: ``names.dims`` maps each Timeloop dimension, in the problem's
order, to an hwsim dimension (conv: ``M`` → ``K``, the others unchanged), ``names.spaces`` each data space to
``weights``, ``inputs`` or ``outputs``. The architecture must be the one the importer built from the same Timeloop
tree: storage levels carry the components' names, and a container ``C`` with a ``spatial`` fan-out is the axis ``C``
(or ``C.x``/``C.y`` when it fans out along both meshes) below the storage level above it.

**The YAML** (a top-level ``mapping`` list; other top-level keys, as in Timeloop's merged inputs, are ignored):

- ``target`` is a storage level, or a container with a fan-out (``PE``, or ``inter_PE_spatial``, the name Timeloop's
  front end gives its placeholder level); ``type`` is ``temporal``, ``spatial``, or ``dataspace`` (``datatype`` and
  ``bypass`` in older files and in the mapper's output) with ``keep``/``bypass`` lists of data spaces;
- ``factors``: ``"R=3 P=1"``, ``"R3 P1"``, ``"R=3,P=1"`` or a list of such items; a dimension left out is 1 and
  ``X=0`` is X's whole bound (Timeloop's readings); residual factors (``P=7,3``, printed ``[0:7,3)``: Timeloop's
  imperfect factorization, the last iteration running short) are refused: hwsim's nests have no such loop (they pad),
  so no hwsim mapping has Timeloop's counts; a numeric ``target`` (Timeloop's storage-level index, innermost 0, which
  counts the front end's placeholder levels of v0.4 containers and v0.3 dummy buffers the importer does not keep as
  levels) is refused too;
- ``permutation`` lists the loops **innermost first** (``RP``: the P loop encloses the R loop); dimensions left out are
  appended, outermost, in the problem's dimension order, as Timeloop completes it;
- spatial ``split``: the first ``split`` dimensions of the completed permutation run along meshX, the others along
  meshY (default: all along X);
- a data space neither kept nor bypassed at a level is kept there (Timeloop's default).

**The printed nest** (``timeloop-model.map.txt``, ``timeloop-mapper.map.txt``): storage levels outermost first, each
header ``Name [ Weights:3 (3) Inputs:18 (18) ]`` listing the data spaces the level keeps (the others bypass it); the
loops after a group of headers belong to the last header of the group; loops marked ``(Spatial-X)``/``(Spatial-Y)``
are the fan-out below that level, or below the level above a placeholder ``inter_C_spatial``, whose place must then
agree with the architecture's axis.

Loops of bound 1 are dropped, so both forms of one mapping give equal :class:`Mapping` s. Everything that has no
counterpart in the architecture — a target or header that is no level and no fan-out of it, temporal loops at a
placeholder, a data space kept where the architecture bypasses it, a bypassed outermost level, a fan-out along a
mesh the container does not have or at another place than the architecture's — and factors whose products differ
from the layer's bounds are reported together in one :class:`SpecError` naming the file, the entry or line, the value
and what was expected. The mapping is not otherwise checked against the architecture (capacity, axis sizes):
:func:`hwsim.core.mapping.check_mapping` does that.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from hwsim.core.arch import Architecture
from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.mapping import Mapping
from hwsim.core.spec import read_spec_text
from hwsim.core.workload import Layer
from hwsim.frontend.importers.timeloop import TimeloopNames, parse_timeloop_yaml

__all__ = ["looks_like_timeloop_mapping", "read_timeloop_mapping"]

OPERANDS = ("weights", "inputs", "outputs")
Loops = list[tuple[str, int]]  # (Timeloop dimension, bound), outer to inner

# A header of the printed nest: `Name [ Space:n (n) ... ]`; a loop `| for D in [0:n)` with an optional mesh.
_HEADER = re.compile(r"(?P<name>[A-Za-z_][\w.\-]*) \[(?P<body>(?: [^\s:\]]+:\d+ \(\d+\))*) \]")
_SPACE = re.compile(r" (?P<space>[^\s:\]]+):(?P<size>\d+) \(\d+\)")
_LOOP = re.compile(r"\|\s*for (?P<dim>\S+) in \[(?P<start>\d+):(?P<end>\d+)(?:,(?P<residual>\d+))?\)(?: \(Spatial-(?P<mesh>[XY])\))?")
_COMPUTE = re.compile(r"\|?\s*<< Compute >>")
_FACTOR = re.compile(r"([A-Za-z_]+)\s*=*\s*(\d+)(?:,(\d+))?")
_PLACEHOLDER = re.compile(r"inter_(?P<container>.+)_spatial")
_KEYS = ("target", "type", "factors", "permutation", "split", "keep", "bypass")
_KEEP_TYPES = ("dataspace", "datatype", "bypass")


def _is_nest_text(text: str) -> bool:
    return any(_HEADER.fullmatch(line.strip()) for line in text.splitlines()[:200])


def looks_like_timeloop_mapping(path: str | Path) -> bool:
    """Whether ``path`` is a Timeloop mapping: YAML with a top-level ``mapping`` key, or a printed loop nest.

    A cheap look at the text (nothing is parsed); unreadable files are not Timeloop mappings."""
    try:
        text = read_spec_text(path)
    except SpecError:
        return False
    return _is_nest_text(text) or re.search(r"(?m)^mapping\s*:", text) is not None


def read_timeloop_mapping(path: str | Path, arch: Architecture, layer: Layer, names: TimeloopNames, *,
                          text: str | None = None) -> Mapping:  # fmt: skip
    """The :class:`Mapping` of ``layer`` on ``arch`` that a Timeloop mapping file describes (YAML or printed nest, told
    apart by content; ``text`` instead of reading ``path``). Every problem is listed in one :class:`SpecError`."""
    source = str(path)
    body = read_spec_text(path) if text is None else text
    view = _View(arch, layer, names, Problems(source))
    if _is_nest_text(body):
        _read_nest(view, body)
    else:
        data = parse_timeloop_yaml(body, source)
        if not isinstance(data, dict) or "mapping" not in data:
            shown = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise SpecError(source, [Problem("", shown, "expected a Timeloop mapping: YAML with a top-level 'mapping' list, "
                                                         "or the loop nest Timeloop prints (timeloop-*.map.txt)")])  # fmt: skip
        _read_yaml(view, data["mapping"])
    return view.finish()


class _View:
    """The architecture and problem as a Timeloop mapping names them, and the nest read so far."""

    def __init__(self, arch: Architecture, layer: Layer, names: TimeloopNames, problems: Problems):
        self.arch, self.layer, self.names, self.problems = arch, layer, names, problems
        self.dims = dict(names.dims)
        self.spaces = dict(names.spaces)
        self.levels = {lv.name: i for i, lv in enumerate(arch.levels)}
        # container name → {"x" | "y" | "" (one mesh only): axis index}
        self.containers: dict[str, dict[str, int]] = {}
        for j, ax in enumerate(arch.axes):
            base, dot, mesh = ax.name.rpartition(".")
            key, direction = (base, mesh) if dot and mesh in ("x", "y") else (ax.name, "")
            self.containers.setdefault(key, {})[direction] = j
        self.temporal: dict[int, Loops] = {}
        self.spatial: dict[int, Loops] = {}
        self.bypass: set[tuple[int, str]] = set()
        self.mesh_of: dict[int, str] = {}  # one-mesh axis → the mesh its loops were given on
        self.unplaced: Loops = []  # loops already reported as having no place in hwsim (their factors still count)

    def add(self, path: str, value: Any, expected: str) -> None:
        self.problems.add(path, value, expected)

    def target(self, name: str) -> int | str | None:
        """A storage level's index, a container's name, or None."""
        if name in self.levels:
            return self.levels[name]
        m = _PLACEHOLDER.fullmatch(name)
        if m:
            return m.group("container")
        return name if name in self.containers else None

    def unknown_target(self, path: str, name: Any) -> None:
        fanouts = ", ".join(self.containers) or "none"
        self.add(path, name, f"expected a storage level of {self.arch.name} ({', '.join(self.levels)}) or a container with "
                             f"a spatial fan-out (inter_<container>_spatial; containers: {fanouts})")  # fmt: skip

    def axis(self, path: str, value: Any, target: int | str, mesh: str, above: str | None = None) -> int | None:
        """The axis of the fan-out along ``mesh`` (``x``/``y``) of container ``target`` or below level ``target``."""
        if isinstance(target, int):
            level = self.arch.levels[target].name
            owners = [c for c, axes in self.containers.items() if any(self.arch.axes[j].below == level for j in axes.values())]
            if len(owners) != 1:
                has = f"fan-outs of {', '.join(owners)} there (name the container)" if owners else "no fan-out below it"
                self.add(path, value, f"expected spatial loops below {level} on one axis of {self.arch.name}, which has {has}")
                return None
            container = owners[0]
        else:
            container = target
        axes = self.containers.get(container, {})
        j = axes.get(mesh, axes.get(""))
        if j is None:
            have = ", ".join(self.arch.axes[k].name for k in axes.values()) or "none"
            self.add(path, value, f"expected a fan-out of {container} along mesh{mesh.upper()} in {self.arch.name} (its axes: {have})")
            return None
        if axes.get("") == j and self.mesh_of.setdefault(j, mesh) != mesh:
            self.add(path, value, f"expected the loops of axis {self.arch.axes[j].name} along one mesh (it has one direction)")
            return None
        below = self.arch.axes[j].below
        if above is not None and below != above:
            self.add(path, value, f"expected the fan-out of {container} below {below}, as in {self.arch.name} (axis "
                                  f"{self.arch.axes[j].name}), not below {above or 'no level'}")  # fmt: skip
            return None
        return j

    def dim(self, path: str, value: Any) -> str | None:
        if isinstance(value, str) and value in self.dims:
            return value
        self.add(path, value, f"expected a dimension of the problem ({', '.join(self.dims)})")
        return None

    def operand(self, path: str, value: Any) -> str | None:
        if isinstance(value, str) and value in self.spaces:
            return self.spaces[value]
        self.add(path, value, f"expected a data space of the problem ({', '.join(self.spaces)})")
        return None

    def keeps(self, path: str, level: int, operands: set[str], kept: bool) -> None:
        """Record that ``level`` keeps (``kept``) or bypasses ``operands``."""
        lv = self.arch.levels[level]
        for o in sorted(operands, key=OPERANDS.index):
            if kept and o not in lv.keeps:
                self.add(path, self.space_name(o), f"expected only data spaces {lv.name} can keep in {self.arch.name} "
                                                   f"({', '.join(self.space_name(k) for k in lv.keeps) or 'none'})")  # fmt: skip
            elif not kept and o in lv.keeps:
                if level == 0:
                    self.add(path, self.space_name(o), f"expected the outermost level {lv.name} to keep every data space")
                else:
                    self.bypass.add((level, o))

    def space_name(self, operand: str) -> str:
        return next((t for t, o in self.spaces.items() if o == operand), operand)

    def finish(self) -> Mapping:
        """The mapping read, once the factors' products are checked against the layer's bounds."""
        factors: dict[str, list[int]] = {d: [] for d in self.dims}
        for loops in (*self.temporal.values(), *self.spatial.values(), self.unplaced):
            for d, n in loops:
                if n > 1:
                    factors[d].append(n)
        bounds = self.layer.dims
        for d, hw in self.dims.items():
            want, total = bounds.get(hw, 1), math.prod(factors[d])
            if total != want:
                shown = f"{' × '.join(map(str, factors[d]))} = {total}" if len(factors[d]) > 1 else total
                self.add(f"factors.{d}", shown, f"expected the factors of {d} (hwsim {hw}) to multiply to its bound {want}")
        for hw, n in bounds.items():
            if n > 1 and hw not in self.dims.values():
                self.add(
                    "names.dims", sorted(self.dims.items()), f"expected a Timeloop dimension for {hw} (bound {n} in {self.layer.name})"
                )
        self.problems.raise_if_any()

        def renamed(loops: Loops) -> list[tuple[str, int]]:
            return [(self.dims[d], n) for d, n in loops if n > 1]

        return Mapping.build(
            [renamed(self.temporal.get(i, [])) for i in range(len(self.arch.levels))],
            [renamed(self.spatial.get(j, [])) for j in range(len(self.arch.axes))],
            [(self.arch.levels[i].name, o) for i, o in sorted(self.bypass, key=lambda b: (b[0], OPERANDS.index(b[1])))],
        )


# --------------------------------------------------------------------------------------------- the YAML


def _factors(view: _View, path: str, value: Any) -> dict[str, int]:
    """``"R=3 P=1"`` (or ``R3``, ``R=3,P=1``, a list of items) as {Timeloop dimension: factor}."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = " ".join(value)
    if value is None:
        return {}
    if not isinstance(value, str):
        view.add(path, value, "expected factors such as 'R=3 P=1' or a list of DIM=n items")
        return {}
    text = value.split("#", 1)[0]
    out: dict[str, int] = {}
    for m in _FACTOR.finditer(text):
        dim, n, residual = m.group(1), int(m.group(2)), m.group(3)
        if view.dim(path, dim) is None:
            continue
        if dim in out:
            view.add(path, value, f"expected one factor per dimension ({dim} is given twice)")
        if residual is not None:
            view.add(path, m.group(0), "expected perfect factors: a residual factor (Timeloop's imperfect factorization, "
                                       "whose last iteration runs short) has no counterpart in hwsim's loop nests, which "
                                       "pad instead (write the padded factor, e.g. P=7, to evaluate that nest)")
        out[dim] = n or view.layer.dims.get(view.dims[dim], 1)  # 0: the whole bound, as in Timeloop
    rest = _FACTOR.sub(" ", text).replace(",", " ").strip()
    if rest:
        view.add(path, value, f"expected only DIM=n factors (not {rest!r})")
    return out


def _permutation(view: _View, path: str, value: Any) -> list[str]:
    """The permutation, innermost first, completed with the missing dimensions (outermost, in the problem's order)."""
    items: list[Any]
    if value is None:
        items = []
    elif isinstance(value, str):  # 'RP' (one letter each, as Timeloop reads it) or 'R P' / 'R,P'
        items = re.split(r"[\s,]+", value.strip()) if re.search(r"[\s,]", value.strip()) else list(value.strip())
    elif isinstance(value, list):
        items = value
    else:
        view.add(path, value, "expected a permutation such as 'RP' (innermost first) or a list of dimensions")
        items = []
    order: list[str] = []
    for item in items:
        d = view.dim(path, item)
        if d is None:
            continue
        if d in order:
            view.add(path, value, f"expected each dimension once ({d} is given twice)")
            continue
        order.append(d)
    return order + [d for d in view.dims if d not in order]


def _read_yaml(view: _View, entries: Any) -> None:
    if not isinstance(entries, list):
        view.add("mapping", entries, "expected a list of {target, type, factors, permutation} entries")
        return
    seen: set[tuple[int | str, str]] = set()
    for i, entry in enumerate(entries):
        where = f"mapping[{i}]"
        if not isinstance(entry, dict):
            view.add(where, entry, "expected {target, type, factors, permutation[, split]} or {target, type: dataspace, keep, bypass}")
            continue
        for key in entry:
            if key not in _KEYS:
                view.add(f"{where}.{key}", entry[key], f"expected only {', '.join(_KEYS)} (others are not supported by hwsim)")
        kind, name = entry.get("type"), entry.get("target")
        if kind not in ("temporal", "spatial", *_KEEP_TYPES):
            view.add(f"{where}.type", kind, "expected temporal, spatial or dataspace (datatype, bypass)")
            continue
        target = view.target(name) if isinstance(name, str) else None
        if target is None or not isinstance(name, str):
            view.unknown_target(f"{where}.target", name)
            continue
        if kind in _KEEP_TYPES:
            _read_keep(view, where, name, target, entry)
            continue
        if (target, kind) in seen:
            view.add(f"{where}.target", name, f"expected one {kind} entry per target")
            continue
        seen.add((target, kind))
        factors = _factors(view, f"{where}.factors", entry.get("factors"))
        order = _permutation(view, f"{where}.permutation", entry.get("permutation"))
        if kind == "temporal":
            loops = [(d, factors.get(d, 1)) for d in reversed(order)]
            if isinstance(target, int):
                view.temporal[target] = loops
            elif any(n > 1 for _, n in loops):
                view.add(
                    f"{where}.factors", entry.get("factors"), f"expected no temporal loops at {name} (hwsim has no storage level there)"
                )
                view.unplaced += loops
            continue
        split = entry.get("split", len(order))
        if isinstance(split, bool) or not isinstance(split, int) or split < 0:
            view.add(f"{where}.split", split, "expected a non-negative integer (the number of meshX dimensions)")
            split = len(order)
        for mesh in ("x", "y"):
            loops = [(d, factors.get(d, 1)) for k, d in reversed(list(enumerate(order))) if (k < split) == (mesh == "x")]
            if any(n > 1 for _, n in loops):
                j = view.axis(f"{where}.factors", entry.get("factors"), target, mesh)
                if j is not None and j in view.spatial:
                    view.add(f"{where}.target", name, f"expected one spatial entry per axis ({view.arch.axes[j].name} is given twice)")
                    j = None
                if j is None:
                    view.unplaced += loops
                else:
                    view.spatial[j] = loops


def _read_keep(view: _View, where: str, name: str, target: int | str, entry: dict[str, Any]) -> None:
    for key, kept in (("keep", True), ("bypass", False)):
        value = entry.get(key) or []
        if not isinstance(value, list):
            view.add(f"{where}.{key}", value, "expected a list of data spaces")
            continue
        operands = {o for k, v in enumerate(value) if (o := view.operand(f"{where}.{key}[{k}]", v)) is not None}
        if isinstance(target, int):
            view.keeps(f"{where}.{key}", target, operands, kept)
        elif kept and operands:
            view.add(f"{where}.keep", value, f"expected nothing kept at {name} (hwsim has no storage level there)")


# --------------------------------------------------------------------------------------------- the printed nest


def _read_nest(view: _View, text: str) -> None:
    owner: int | str | None = None  # the last header's level index or container
    above: str | None = None  # the innermost storage level seen so far
    order: list[int] = []
    computes = headers = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line, where = raw.strip(), f"line {number}"
        if not line or set(line) == {"-"}:
            continue
        header, loop = _HEADER.fullmatch(line), _LOOP.fullmatch(line)
        if header:
            name = header.group("name")
            target = view.target(name)
            spaces = [m.group("space") for m in _SPACE.finditer(header.group("body"))]
            owner, headers = target, True
            if target is None:
                view.unknown_target(where, name)
            elif isinstance(target, int):
                operands = {o for s in spaces if (o := view.operand(where, s)) is not None}
                view.keeps(where, target, operands, True)
                view.keeps(where, target, set(OPERANDS) - operands, False)
                order.append(target)
                above = name
            elif spaces:
                view.add(where, " ".join(spaces), f"expected nothing kept at {name} (hwsim has no storage level there)")
        elif loop:
            dim = view.dim(where, loop.group("dim"))
            n = int(loop.group("end"))
            if loop.group("start") != "0" or loop.group("residual") is not None or n < 1:
                view.add(where, line, "expected a loop [0:n) with n ≥ 1: a residual loop [0:n,r) (Timeloop's imperfect "
                                      "factorization) has no counterpart in hwsim's loop nests, which pad instead")
                continue
            if dim is None:
                continue
            if owner is None:
                if not headers:  # (loops below an unknown header: that header is reported)
                    view.add(where, line, "expected a storage level's header before the first loop")
                view.unplaced.append((dim, n))
            elif loop.group("mesh"):
                mesh = loop.group("mesh").lower()
                j = view.axis(where, line, owner, mesh, above=above if isinstance(owner, str) else None)
                (view.unplaced if j is None else view.spatial.setdefault(j, [])).append((dim, n))
            elif isinstance(owner, int):
                view.temporal.setdefault(owner, []).append((dim, n))
            else:
                view.add(where, line, f"expected temporal loops at storage levels only (hwsim has none for {owner})")
                view.unplaced.append((dim, n))
        elif _COMPUTE.fullmatch(line):
            computes = True
        else:
            view.add(where, line, "expected a level header 'Name [ Space:n (n) ... ]', a loop '| for D in [0:n)' or '<< Compute >>'")
    if not computes:
        view.add("", "no '<< Compute >>'", "expected the loop nest Timeloop prints, ending in '<< Compute >>'")
    levels = [lv.name for lv in view.arch.levels]
    if order != sorted(set(order)) or len(order) != len(levels):
        view.add(
            "levels",
            [levels[i] for i in order],
            f"expected every storage level of {view.arch.name} once, outermost first: {', '.join(levels)}",
        )
