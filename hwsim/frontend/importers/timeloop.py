"""Timeloop specs as hwsim objects: problems as one-layer networks, architectures (v0.4 and v0.3) as architectures.

What Timeloop is given — the files of a Timeloop + Accelergy user, as they are — is read here: a problem file, an
architecture file, a constraints file, their Jinja2 templates, or the front end's ``parsed-processed-input.yaml``
(all in one mapping: :func:`timeloop_architecture` and :func:`timeloop_problem` take the parts they need).

**Problems** (``problem: {shape: {dimensions, coefficients, data_spaces}, instance}``): the dimensions are given
hwsim's names by the role they play in the data spaces' projections — not by their letters, so a GEMM written
``A[M, K]·B[N, K] → Z[M, N]`` maps as well as Timeloop's conv (``C M R S N P Q``, with ``M`` → ``K``):

======================  ====================================================================  ============
indexes                 hwsim dimension                                                       in the conv
======================  ====================================================================  ============
weights and outputs     K                                                                     M
weights and inputs      R, S when in a sliding-window sum, else C                             R S C
inputs and outputs      P, Q when in a sliding-window sum, else P, Q, N in turn (N first if   P Q N
                        so named)
all three               G (groups)
outputs only            the first of N Q P K G C S R the others leave free (the layer's
                        operands then follow the projections: that dimension indexes the
                        outputs only)
======================  ====================================================================  ============

The output data space is the one with ``read_write: true``; the others are ``Weights`` and ``Inputs`` by name, else
the first is the inputs and the second the weights. An input axis may be a sum ``[[R, dilation], [P, stride]]`` (a
sliding window); coefficients come from the instance or their defaults. ``densities`` of a data space (a number,
or ``{density: x}``) make that operand sparse. A fourth data space (a ``Bias``) is refused by name: hwsim's layers
have three operands and a bias is none of them. :func:`timeloop_problem_names` gives the mapping of names
(:class:`TimeloopNames`: ``dims`` Timeloop → hwsim dimension, ``spaces`` data space → operand, and the bounds), which
constraints, keep/bypass lists and mappings (:mod:`hwsim.frontend.importers.timeloop_mapping`) are read with.

**Precision.** Timeloop's problems carry none: every element, partial sums included, occupies its storage level's
``datawidth`` bits there. hwsim gives precision per operand, not per level, so an imported problem's operands and
partial sums are all :data:`TIMELOOP_ELEMENT_BITS` (8) bits, and each imported level is restated in elements of that
width: its capacity, word and bandwidth count the elements Timeloop counts (a 16-entry, 16-bit partial-sum scratchpad
holds 16 partial sums: 16 "bytes" of 8-bit units), while its energies and area are priced from its real geometry
(bits, rows, banks). hwsim's own workloads on an imported architecture then see Timeloop's capacities in elements of
8 bits (their 24-bit partial sums take three).

**Architectures.** v0.4 (``architecture: {version: 0.4, nodes: [...]}``): ``!Container`` nodes (their
``attributes`` inherited by every node after and below them, their ``spatial: {meshX, meshY}`` a fan-out),
``!Component`` (its own ``spatial`` a fan-out above it), ``!Parallel`` (its branches become consecutive levels
keeping disjoint data spaces), ``!Hierarchical``, and ``!Nothing`` (an empty branch: a Timeloop no-op). v0.3
(``architecture: {version: 0.3, subtree: [{name, attributes, local, subtree}]}``, and the front end's processed
input in that form): components ``name[a..b]`` are arrays; a component's instances are the product of the array
sizes above it and its own; a fan-out is where the instance count grows (``meshX``: the instances along X, all of
them if not given); the compute is innermost wherever it is listed; the front end's ``dummy_storage`` placeholders
(``inter_C_spatial``) and storage bypassing every data space (v0.3's dummy buffers) are fan-out points, not levels.
Constraints may also come as targets lists: ``architecture_constraints``, ``mapspace_constraints``, ``constraints``
or ``mapspace.constraints`` with ``{target, type: temporal|spatial|dataspace|bypass|datatype, ...}``.

Components by ``class`` (``class/subclass``: a subclass naming a kind decides; ``storage`` alone is an SRAM):
DRAM; an SRAM or buffer (``smartbuffer_SRAM``, ``smartbuffer_metadata``); a register file or register
(``regfile``, ``smartbuffer_RF``, ``aladdin_register``, ``register``, ``reg*``); the compute (a class containing
``mac``, or ``compute``). A storage level reads Timeloop's geometry as Timeloop's buffer model does: elements of
``datawidth`` (``word_bits``; 16 if not given) bits, accessed ``block_size`` at a time (a vector: one hwsim word), a
``width``-bit row (``memory_width``) holding ``cluster_size`` vectors (the block size is ``width`` / ``datawidth`` /
``cluster_size`` unless given), ``depth`` (``memory_depth``) rows, or ``entries`` elements, or ``sizeKB``; no
depth on a DRAM is unbounded. ``read_bandwidth``/``write_bandwidth`` are elements per cycle (``bandwidth``: half
each); **a level with no bandwidth given is unlimited**, as in Timeloop. ``n_banks`` (2 if not given, as the front
end sets it), ``multiple_buffering`` ≥ 2 (double buffering), ``n_rdwr_ports``/``nports``/``num_ports`` of 1 (one
port shared by reads and writes), ``technology`` (the nearest one given, else the ``variables``'; a number ≤ 0,
v0.3's -1, is none; DRAM's is not read), ``global_cycle_seconds`` (the clock). Metadata storage
(``metadata_*`` attributes, ``*_metadata`` classes, Sparseloop's ``data_storage_depth``/``_width`` and its
``compression_supported``-style flags) is accepted as the data storage it is part of: Timeloop uses it only under
sparse optimizations, which are refused. The compute: ``multiplier_width`` (else ``datawidth``, else
``width``) and ``adder_width`` price the MAC; its operand widths are at least :data:`TIMELOOP_ELEMENT_BITS`, so an
imported problem runs one MAC per cycle as in Timeloop. Bookkeeping attributes (``has_power_gating``,
``reduction_supported``, ``update_fifo_depth``, ``min_utilization``, ``allow_overbooking``, ``required_actions``,
``enabled: true``…) are accepted; ``enabled: false`` drops the component, as Timeloop does.

Attribute values and ``variables`` may be expressions (timeloopfe evaluates them as Python): numbers, names of
variables and attributes in scope (a node's own, those it inherits, then the ``variables``), arithmetic,
comparisons, ``x if c else y``, ``max min abs round int float len ceil floor log2 log sqrt``, and
``spec.problem.instance`` when the problem is in the same mapping; anything else stays a string (``45nm``,
``LPDDR4``), reported where a number is needed, with the names it does not know
(:mod:`hwsim.frontend.importers.timeloop_expressions`).

Constraints (a component's ``constraints``, a container's ``constraints.spatial``, or targets):
``dataspace: {keep, bypass}`` (``keep`` ones must stay, ``bypass`` ones must not, the others are the mapper's choice:
``Level.may_bypass``, as in Timeloop's mapspace; ``keep_only``/``bypass_only`` leave no choice; a ``!Parallel``
group's members keep only what they list; ``*``);
temporal ``factors``: ``X=1`` forbids a loop of X at that level, ``X=n`` pins it (``Level.fixed_factors``), ``X<=n``
and ``X>=n`` bound it (``max_factors``, ``min_factors``), ``X=0`` makes the level's loop cover all of X
(``whole_dims``: Timeloop's mapper reads 0 as the full problem dimension), and ``X=n`` larger than the problem's X is
ignored, as Timeloop ignores it; ``factors_only`` (every other dimension 1); a temporal ``permutation`` lists the
level's loops innermost first: those listed are its innermost loops in that order, the others outside them in any
order (``Level.inner_order``, Timeloop's mapspace; not at the innermost storage level, where Timeloop's mapper
ignores it and takes the problem's dimension order); spatial ``factors``, ``permutation`` and ``split``: with a split,
the first ``split`` dimensions of the permutation run along X and the rest along Y, the permutation completed as
timeloopfe completes it (dimensions fixed to 1, then those of bound 1, prepended; the others appended), dimensions
fixed to 1 are not on the axis, a dimension fixed to fill the axis (``M=16`` on 16) is its only one, and the other
factors constrain the axis the dimension runs along as they constrain a level (``SpatialAxis.fixed_factors``,
``min_factors``, ``max_factors``, ``whole_dims``; not when it may run along both meshes, where Timeloop bounds the
product);
``maximize_dims`` fixes each group as timeloopfe's macro does (the divisors of the bounds filling most of the
fan-out, earlier dimensions first; only allowed without the problem's bounds). Every constraint read but not applied
is listed in ``Architecture.notes`` (``hwsim run`` prints
them when hwsim's mapper maps). ``no_reuse``/``no_link_transfer`` with data spaces, ``sparse_optimizations``, networks, other
classes and constraint types, unknown attributes and keys are refused: one :class:`SpecError` lists every problem
with its path, value and what was expected.

**Templates** (:func:`render_timeloop_template`; :func:`read_timeloop_yaml` renders any file holding ``{{`` or
``{%``): Jinja2 with the given variables, ``include``, ``include_all``, ``cwd``, ``add_to_path``, ``path_exists``, as
timeloopfe renders them (:mod:`hwsim.frontend.importers.timeloop_template`).

YAML tags are read by a loader derived from ``yaml.SafeLoader`` that turns *any* ``!Tag`` node into plain data
recording the tag (nothing is constructed from it), so the usual size and node-count limits of
:mod:`hwsim.core.spec` apply.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from hwsim.core.arch import Architecture, architecture_from_dict
from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.spec import MAX_NUMBER, parse_yaml, read_spec_text
from hwsim.core.workload import DIMS, OPERANDS, Layer, Network, conv2d
from hwsim.frontend.importers.timeloop_expressions import Scope
from hwsim.frontend.importers.timeloop_template import looks_templated, render_template

__all__ = ["MAC_ATTRIBUTES", "STORAGE_ATTRIBUTES", "TimeloopNames", "load_timeloop", "parse_timeloop_yaml", "read_timeloop_yaml", "render_timeloop_template",
           "timeloop_architecture", "timeloop_problem", "timeloop_problem_names"]

TAG = "!tag"
# Timeloop's conv dimension names, in its order (then groups), and hwsim's: the names constraints use by default.
CONV_DIMS = {"C": "C", "M": "K", "R": "R", "S": "S", "N": "N", "P": "P", "Q": "Q", "G": "G"}
# The hwsim dimension a dimension indexing only the outputs takes: the first of these the others leave free.
ONLY_OUTPUTS_DIMS = ("N", "Q", "P", "K", "G", "C", "S", "R")
# Bits of one element of an imported problem's operands (partial sums too): Timeloop stores every element at
# its level's datawidth, and the imported architecture expresses each level in elements of this width.
TIMELOOP_ELEMENT_BITS = 8
# Banks of a storage level that does not say (timeloopfe's default n_banks), and bits of its elements (Timeloop's).
TIMELOOP_BANKS = 2
TIMELOOP_DEFAULT_DATAWIDTH = 16


class _TimeloopLoader(yaml.SafeLoader):
    """SafeLoader plus: every ``!Tag`` node becomes plain data with its tag under ``"!tag"``."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    tag = "!" + suffix
    if isinstance(node, yaml.MappingNode):
        return {TAG: tag, **loader.construct_mapping(node, deep=True)}
    if isinstance(node, yaml.SequenceNode):
        return {TAG: tag, "nodes": loader.construct_sequence(node, deep=True)}
    return {TAG: tag, "value": loader.construct_scalar(node)}  # type: ignore[arg-type]


_TimeloopLoader.add_multi_constructor("!", _tagged)


def parse_timeloop_yaml(text: str, source: str) -> Any:
    """Parse Timeloop YAML text (``!Container``-style tags become ``{"!tag": ...}`` entries)."""
    return parse_yaml(text, source, _TimeloopLoader)


def render_timeloop_template(path: str | Path, variables: dict[str, Any] | None = None) -> str:
    """A Jinja2-templated Timeloop file rendered with ``variables`` as timeloopfe renders it (``include``,
    ``include_all``, ``cwd``, ``add_to_path``, ``path_exists``; see :mod:`hwsim.frontend.importers.timeloop_template`)."""
    return render_template(path, variables or {}, parse_timeloop_yaml)


def read_timeloop_yaml(path: str | Path, variables: dict[str, Any] | None = None) -> Any:
    """Read a Timeloop YAML file (size-limited, tags as data); one holding Jinja2 syntax is rendered with ``variables``
    first."""
    text = read_spec_text(path)
    if looks_templated(text):
        text = render_timeloop_template(path, variables)
    return parse_timeloop_yaml(text, str(path))


def load_timeloop(path: str | Path, variables: dict[str, Any] | None = None) -> Architecture | Network:
    """A Timeloop file: an :class:`Architecture` if it has ``architecture`` (named as its ``problem``, if it has one
    too), a one-layer :class:`Network` if only ``problem``; templated files are rendered with ``variables``."""
    data = read_timeloop_yaml(path, variables)
    if isinstance(data, dict) and "architecture" in data:
        return timeloop_architecture(data, source=str(path))
    if isinstance(data, dict) and "problem" in data:
        return timeloop_problem(data, source=str(path))
    raise SpecError(str(path), [Problem("", type(data).__name__, "expected a Timeloop spec with a top-level 'architecture' or 'problem'")])


# --------------------------------------------------------------------------------------------- problems


def _int(problems: Problems, path: str, value: Any, minimum: int = 1) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_NUMBER:
        huge = isinstance(value, int) and not isinstance(value, bool) and value > MAX_NUMBER
        problems.add(path, value, f"expected an integer of at most {MAX_NUMBER:g}" if huge else f"expected an integer of at least {minimum}")
        return None
    return value


def _unknown_keys(problems: Problems, path: str, data: dict, known: set[str]) -> None:
    for key in data:
        if key not in known:
            problems.add(f"{path}.{key}", data[key], f"expected only {', '.join(sorted(known))} (not supported by hwsim's importer)")


@dataclass(frozen=True)
class TimeloopNames:
    """How a Timeloop problem's names read in hwsim.

    ``dims`` maps each Timeloop dimension to the hwsim dimension it becomes (one of N G K C P Q R S);
    ``spaces`` maps each data-space name to the hwsim operand it becomes (``weights``, ``inputs`` or
    ``outputs``). Constraints, keep/bypass lists and mappings name dimensions and data spaces this way.
    ``bounds`` are the problem's bounds by Timeloop dimension (empty when unknown): Timeloop's front end completes
    a spatial permutation with the dimensions of bound 1.
    """

    dims: dict[str, str]
    spaces: dict[str, str]
    bounds: dict[str, int] = field(default_factory=dict)


# Timeloop's conv problem (C M R S N P Q, Weights/Inputs/Outputs): the names used when no problem is given.
CONV_NAMES = TimeloopNames(dims=dict(CONV_DIMS), spaces={"Weights": "weights", "Inputs": "inputs", "Outputs": "outputs"})


@dataclass
class _Shape:
    """A problem checked and analysed: its dimensions' hwsim names and sliding windows."""

    name: str
    dims: list[str]
    bounds: dict[str, int]
    spaces: list[dict[str, Any]]
    parsed: list[list[list[Term]]]
    roles: dict[str, Any]
    assign: dict[str, str]
    stride: list[int]
    dilation: list[int]
    sparsity: dict[str, float]


def timeloop_problem_names(data: Any, source: str = "<timeloop>") -> TimeloopNames:
    """The hwsim names of a Timeloop v0.4 problem's dimensions and data spaces (see the module documentation).

    ``data`` is the parsed problem file (with its top-level ``problem``); a :class:`SpecError` lists
    every problem of it, as :func:`timeloop_problem` does.
    """
    shape = _shape(data, source)
    spaces = {str(s["name"]): role for s, role in zip(shape.spaces, shape.roles["order"], strict=True)}
    return TimeloopNames(dims={d: shape.assign[d] for d in shape.dims}, spaces=spaces, bounds=dict(shape.bounds))


def timeloop_problem(data: Any, source: str = "<timeloop>") -> Network:
    """A Timeloop v0.4 problem as a one-layer :class:`Network` (see the module documentation)."""
    shape = _shape(data, source)
    layer = _layer(shape)
    if shape.sparsity:
        layer = layer.with_sparsity(**shape.sparsity)
    net = Network(layer.name)
    net.add(layer, after=None)
    return net


def _shape(data: Any, source: str) -> _Shape:
    problems = Problems(source)
    top = data.get("problem") if isinstance(data, dict) else None
    if not isinstance(top, dict):
        raise SpecError(source, [Problem("problem", top, "expected a mapping with shape and instance")])
    _unknown_keys(problems, "problem", top, {"version", "shape", "instance"})
    shape, instance = top.get("shape"), top.get("instance")
    if not isinstance(shape, dict) or not isinstance(instance, dict):
        problems.add("problem", sorted(map(str, top)), "expected both problem.shape and problem.instance as mappings")
        problems.raise_if_any()
    assert isinstance(shape, dict) and isinstance(instance, dict)
    _unknown_keys(problems, "problem.shape", shape, {"name", "dimensions", "coefficients", "data_spaces", "data-spaces"})
    dims = shape.get("dimensions")
    if not isinstance(dims, list) or not dims or not all(isinstance(d, str) for d in dims):
        raise SpecError(source, [*problems.items, Problem("problem.shape.dimensions", dims, "expected a list of dimension names")])
    coefs: dict[str, int] = {}
    coefficients = shape.get("coefficients") or []
    if not isinstance(coefficients, list):
        problems.add("problem.shape.coefficients", coefficients, "expected a list of {name, default}")
        coefficients = []
    for i, c in enumerate(coefficients):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            problems.add(f"problem.shape.coefficients[{i}]", c, "expected {name, default}")
            continue
        value = instance.get(c["name"], c.get("default", 1))
        v = _int(problems, f"problem.instance.{c['name']}", value)
        coefs[c["name"]] = v or 1
    bounds: dict[str, int] = {}
    for d in dims:
        if d not in instance:
            problems.add(f"problem.instance.{d}", None, "expected a bound for every dimension")
        else:
            bounds[d] = _int(problems, f"problem.instance.{d}", instance[d]) or 1
    for key in instance:
        if key not in dims and key not in coefs and key != "densities" and key not in ("H", "W", "Hpad", "Wpad"):
            problems.add(f"problem.instance.{key}", instance[key], "expected a dimension or coefficient of the shape")
    spaces = shape.get("data_spaces", shape.get("data-spaces"))
    if not isinstance(spaces, list) or len(spaces) < 3:
        problems.add("problem.shape.data_spaces", spaces, "expected three data spaces (weights, inputs, outputs)")
        problems.raise_if_any()
    assert isinstance(spaces, list)
    for i, extra in enumerate(spaces[3:], start=3):
        name = extra.get("name") if isinstance(extra, dict) else extra
        problems.add(f"problem.shape.data_spaces[{i}]", name, "expected three data spaces: hwsim's layers have weights, inputs and "
                     "outputs only (a fourth operand, such as a bias, is not modelled)")  # fmt: skip
    spaces = spaces[:3]
    parsed = [_projection(problems, f"problem.shape.data_spaces[{i}]", s, set(dims), coefs) for i, s in enumerate(spaces)]
    problems.raise_if_any()
    roles = _roles(problems, spaces, parsed)
    problems.raise_if_any()
    assign, stride, dilation = _assign(problems, dims, roles, parsed)
    densities = instance.get("densities") or {}
    sparsity: dict[str, float] = {}
    if not isinstance(densities, dict):
        problems.add("problem.instance.densities", densities, "expected a mapping of data space → density")
    else:
        names = {str(s.get("name")): role for s, role in zip(spaces, roles["order"], strict=True)}
        for space, d in densities.items():
            value = d.get("density") if isinstance(d, dict) else d
            if space not in names or not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
                problems.add(f"problem.instance.densities.{space}", d, "expected a data space's density in (0, 1] (a number or {density: x})")
            else:
                sparsity[names[space]] = float(value)
    problems.raise_if_any()
    return _Shape(str(shape.get("name") or Path(source).stem), dims, bounds, spaces, parsed, roles, assign, stride, dilation, sparsity)


Term = tuple[str, int]


def _projection(problems: Problems, path: str, space: Any, dims: set[str], coefs: dict[str, int]) -> list[list[Term]]:
    """A data space's axes as lists of (dimension, coefficient) terms."""
    if not isinstance(space, dict) or not isinstance(space.get("name"), str):
        problems.add(path, space, "expected a data space {name, projection}")
        return []
    _unknown_keys(problems, path, space, {"name", "projection", "read_write", "read-write"})
    proj = space.get("projection")
    if not isinstance(proj, list) or not proj:
        problems.add(f"{path}.projection", proj, "expected a list of axes, each a list of [dimension] or [dimension, coefficient] terms")
        return []
    axes: list[list[Term]] = []
    for i, axis in enumerate(proj):
        where = f"{path}.projection[{i}]"
        if isinstance(axis, str):  # a bare dimension name
            axis = [[axis]]
        terms: list[Term] = []
        for j, term in enumerate(axis if isinstance(axis, list) else [None]):
            if isinstance(term, str):
                term = [term]
            ok = isinstance(term, list) and 1 <= len(term) <= 2 and isinstance(term[0], str) and term[0] in dims
            coef = 1
            if ok and len(term) == 2:
                c = term[1]
                if isinstance(c, str) and c in coefs:
                    coef = coefs[c]
                elif isinstance(c, int) and not isinstance(c, bool) and c >= 1:
                    coef = c
                else:
                    ok = False
            if not ok:
                problems.add(f"{where}[{j}]", term, "expected [dimension] or [dimension, coefficient] with a declared dimension and coefficient")
                continue
            terms.append((term[0], coef))
        if len(terms) > 2:
            problems.add(where, axis, "expected an axis of one dimension or a sliding window of two (more terms are not supported)")
        axes.append(terms)
    return axes


def _roles(problems: Problems, spaces: list[dict], parsed: list[list[list[Term]]]) -> dict[str, Any]:
    """Which data space is the weights, inputs and outputs."""
    outs = [i for i, s in enumerate(spaces) if s.get("read_write", s.get("read-write")) is True]  # (v0.3: read-write)
    if len(outs) != 1:
        problems.add("problem.shape.data_spaces", [s.get("name") for s in spaces], "expected exactly one data space with read_write: true (the outputs)")
        return {}
    rest = [i for i in range(3) if i != outs[0]]
    named = {str(spaces[i].get("name")).lower(): i for i in rest}
    if "weights" in named and "inputs" in named:
        w, x = named["weights"], named["inputs"]
    else:
        x, w = rest
    for i in (w, outs[0]):
        for a, axis in enumerate(parsed[i]):
            if len(axis) != 1 or axis[0][1] != 1:
                problems.add(f"problem.shape.data_spaces[{i}].projection[{a}]", [list(t) for t in axis],
                             "expected one dimension per axis (only the inputs may have sliding windows)")  # fmt: skip
    order = ["weights" if i == w else "inputs" if i == x else "outputs" for i in range(3)]
    return {"weights": w, "inputs": x, "outputs": outs[0], "order": order}


def _assign(problems: Problems, dims: list[str], roles: dict[str, Any],
            parsed: list[list[list[Term]]]) -> tuple[dict[str, str], list[int], list[int]]:  # fmt: skip
    """Each Timeloop dimension's hwsim name (by its role in the projections), and the windows' strides and dilations."""

    def used(i: int) -> set[str]:
        return {d for axis in parsed[i] for d, _ in axis}

    w, x, o = used(roles["weights"]), used(roles["inputs"]), used(roles["outputs"])
    windows = [axis for axis in parsed[roles["inputs"]] if len(axis) == 2]
    assign: dict[str, str] = {}
    stride, dilation = [1, 1], [1, 1]
    for k, axis in enumerate(windows):
        (a, ca), (b, cb) = axis
        out_dim, filt = (a, b) if a in o and b in w else (b, a) if b in o and a in w else (None, None)
        if out_dim is None or filt is None or k > 1:
            problems.add(f"problem.shape.data_spaces[{roles['inputs']}]", [list(t) for t in axis],
                         "expected a sliding window of an output dimension and a weights dimension (at most two)")  # fmt: skip
            continue
        assign[out_dim], assign[filt] = ("P", "R") if k == 0 else ("Q", "S")
        stride[k], dilation[k] = (ca, cb) if out_dim == a else (cb, ca)
    free = {"N", "G", "K", "C", "P", "Q", "R", "S"} - set(assign.values())
    only_outputs = []
    for d in dims:
        if d in assign:
            continue
        role = (d in w, d in x, d in o)
        if role == (True, True, True):
            want = ["G"]
        elif role == (True, False, True):
            want = ["K"]
        elif role == (True, True, False):
            want = ["C", "R", "S"]
        elif role == (False, True, True):
            want = ["N", "P", "Q"] if d == "N" else ["P", "Q", "N"]
        elif role == (False, False, True):
            only_outputs.append(d)  # named last, from what the others leave
            continue
        else:
            problems.add(f"problem.shape.dimensions.{d}", sorted(k for k, u in zip(("weights", "inputs", "outputs"), role, strict=True) if u),
                         "expected a dimension indexing outputs or at least two data spaces")  # fmt: skip
            continue
        pick = next((h for h in want if h in free), None)
        if pick is None:
            problems.add(f"problem.shape.dimensions.{d}", d, f"expected at most as many dimensions of this role as hwsim has ({', '.join(want)})")
            continue
        assign[d] = pick
        free.discard(pick)
    for d in only_outputs:
        pick = next((h for h in ONLY_OUTPUTS_DIMS if h in free), None)
        if pick is None:
            problems.add(f"problem.shape.dimensions.{d}", d, "expected at most eight dimensions in all (hwsim's N G K C P Q R S)")
            continue
        assign[d] = pick
        free.discard(pick)
    return assign, stride, dilation


def _layer(shape: _Shape) -> Layer:
    """The hwsim layer: conv2d's when the projections are a conv's, else one whose operands follow the projections."""
    hw = {h: 1 for h in DIMS}
    for d, h in shape.assign.items():
        hw[h] = shape.bounds.get(d, 1)
    stride, dilation = shape.stride, shape.dilation
    in_hw = tuple(stride[k] * (hw["PQ"[k]] - 1) + dilation[k] * (hw["RS"[k]] - 1) + 1 for k in range(2))
    b = TIMELOOP_ELEMENT_BITS
    layer = conv2d(shape.name, in_channels=hw["G"] * hw["C"], out_channels=hw["G"] * hw["K"], in_hw=(in_hw[0], in_hw[1]),
                   kernel=(hw["R"], hw["S"]), stride=(stride[0], stride[1]), dilation=(dilation[0], dilation[1]),
                   groups=hw["G"], batch=hw["N"], weight_bits=b, input_bits=b, psum_bits=b)  # fmt: skip
    windows = any(len(axis) == 2 for axis in shape.parsed[shape.roles["inputs"]])
    if not windows:
        layer = replace(layer, kind="matmul" if hw["G"] > 1 else "gemm")
    ops = []
    for op in layer.operands:
        axes = tuple(tuple((shape.assign[d], c) for d, c in axis) for axis in shape.parsed[shape.roles[op.name]])
        ops.append(replace(op, axes=axes))
    named = set(shape.assign.values())
    if any(op.relevant_dims & named != mine.relevant_dims for op, mine in zip(layer.operands, ops, strict=True)):
        layer = replace(layer, operands=tuple(ops))  # e.g. a dimension indexing only the outputs
    return layer


# --------------------------------------------------------------------------------------------- architectures

# The attributes of a storage and a compute component read (or accepted as bookkeeping); "-" reads as "_".
STORAGE_ATTRIBUTES = {"depth", "width", "datawidth", "n_banks", "read_bandwidth", "write_bandwidth", "multiple_buffering", "type",
                  "technology", "global_cycle_seconds", "n_rdwr_ports", "n_rd_ports", "n_wr_ports", "nports", "num_ports",
                  "update_fifo_depth", "cluster_size", "reduction_supported", "has_power_gating", "power_gated_at",
                  "min_utilization", "allow_overbooking", "word_bits", "block_size", "meshX", "meshY", "memory_depth",
                  "memory_width", "entries", "sizeKB", "metadata_storage_width", "metadata_storage_depth",
                  "metadata_datawidth", "metadata_block_size", "version", "word_width", "n_words", "bandwidth",
                  "num_banks", "nbanks", "n_ports", "data_storage_depth", "data_storage_width", "compression_supported",
                  "decompression_supported", "concordant_compressed_tile_traversal", "tile_partition_supported"}  # fmt: skip
MAC_ATTRIBUTES = {"multiplier_width", "adder_width", "datawidth", "technology", "global_cycle_seconds", "meshX", "meshY", "width",
              "has_power_gating", "power_gated_at", "version"}  # fmt: skip
_COMPONENT_KEYS = {TAG, "name", "class", "subclass", "attributes", "constraints", "spatial", "required_actions", "enabled"}
# Constraint keys Timeloop and its front end read that change nothing hwsim models (or only the mapper's order).
_TEMPORAL_KEYS = {"factors", "permutation", "no_reuse", "factors_only", "default_max_factor", "default_min_factor", "type", "target"}
_SPATIAL_KEYS = {"factors", "permutation", "split", "no_reuse", "no_link_transfer", "factors_only", "maximize_dims",
                 "default_max_factor", "default_min_factor", "type", "target"}  # fmt: skip
_DATASPACE_KEYS = {"keep", "bypass", "no_coalesce", "keep_only", "bypass_only", "type", "target"}


@dataclass
class _Node:
    """One node of the tree, flattened outermost first: a storage level, the compute, or a spatial fan-out."""

    kind: str  # "storage" | "compute" | "fanout"
    path: str
    name: str
    scope: Scope
    cls: str = ""
    constraints: dict[str, Any] = field(default_factory=dict)
    cpath: str = ""  # where the constraints were given (for messages)
    group: int | None = None  # the !Parallel it belongs to
    mesh: dict[str, Any] = field(default_factory=dict)  # fan-out: {meshX, meshY}
    own: dict[str, Any] = field(default_factory=dict)  # its own attributes (checked against the known ones)


class _Arch:
    """State while reading an architecture: the problem's names, the hwsim spec being built and the problems found."""

    def __init__(self, problems: Problems, names: TimeloopNames, variables: Scope):
        self.problems = problems
        self.names = names
        self.variables = variables
        self.levels: list[dict[str, Any]] = []
        self.real: list[dict[str, Any]] = []  # per level: Timeloop's own geometry (for energies and areas)
        self.axes: list[dict[str, Any]] = []
        self.mac: dict[str, Any] | None = None
        self.node_nm: float | None = None
        self.cycle_s: float | None = None
        self.name: str | None = None
        self.groups = 0
        self.notes: list[str] = []  # constraints read but not applied (Architecture.notes)

    def number(self, path: str, value: Any, minimum: float = 0, integer: bool = True, scope: Scope | None = None) -> Any:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and minimum <= value <= MAX_NUMBER
        if ok and integer and value != int(value):
            ok = False
        if not ok:
            what = "an integer" if integer else "a number"
            unknown = scope.unknown(value) if isinstance(value, str) and scope is not None else []
            extra = f" (unknown names in the expression: {', '.join(unknown)})" if unknown else ""
            huge = isinstance(value, (int, float)) and not isinstance(value, bool) and value > MAX_NUMBER
            self.problems.add(path, value, f"expected {what} of at most {MAX_NUMBER:g}" if huge else f"expected {what} of at least {minimum}{extra}")
            return None
        return int(value) if integer else float(value)

    def technology(self, path: str, tech: Any) -> None:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(nm)?\s*", str(tech))
        if not m:
            self.problems.add(path, tech, "expected a node such as 32nm")
        elif self.node_nm is not None and float(m.group(1)) != self.node_nm:
            self.problems.add(path, tech, f"expected one technology for the whole design ({self.node_nm:g}nm)")
        else:
            self.node_nm = float(m.group(1))

    def clock(self, path: str, scope: Scope) -> None:
        v = scope.attr("global_cycle_seconds")
        if v is None:
            v, path = self.variables.var("global_cycle_seconds"), "variables"
        if v is not None and self.cycle_s is None:
            self.cycle_s = self.number(f"{path}.global_cycle_seconds", v, 1e-15, integer=False, scope=scope)


def _dims_from(state: _Arch, path: str, value: Any) -> list[str]:
    """Timeloop dimension names (a list, a string such as ``NCPRSQM`` or ``N,C,P``) as they are."""
    dims = state.names.dims
    names: list[Any] | None
    if isinstance(value, str):  # "N,C,P" or "NCP" (spaces ignored), as timeloopfe reads a permutation string
        names = [n.strip() for n in value.split(",")] if "," in value else [c for c in value if not c.isspace()]
    else:
        names = value if isinstance(value, list) else None
    if names is None or not all(isinstance(n, str) and n in dims for n in names):
        state.problems.add(path, value, f"expected the problem's dimension names ({', '.join(dims)})")
        return []
    return list(names)


def _factors(state: _Arch, path: str, value: Any) -> dict[str, tuple[str, int]]:
    """``[N=1, C<=4]`` (a list, or one string split at commas or spaces) as {Timeloop dimension: (operator, n)}."""
    items = re.split(r"[\s,]+", value.strip()) if isinstance(value, str) else value if isinstance(value, list) else None
    out: dict[str, tuple[str, int]] = {}
    if items is None:
        state.problems.add(path, value, "expected factors such as [N=1, C=4]")
        return out
    for i, item in enumerate(i for i in items if i != ""):
        m = re.fullmatch(r"(\w+?)\s*(<=|>=|=)?\s*(\d+)", str(item).strip())
        if not m or m.group(1) not in state.names.dims or (int(m.group(3)) < 1 and m.group(2) in ("<=", ">=")):
            state.problems.add(f"{path}[{i}]", item, f"expected DIM=n, DIM<=n or DIM>=n with a dimension of the problem "
                                                     f"({', '.join(state.names.dims)}) and n ≥ 1 (DIM=0: the rest of DIM)")  # fmt: skip
            continue
        out[m.group(1)] = (m.group(2) or "=", int(m.group(3)))
    return out


def _iteration_factors(state: _Arch, path: str, c: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """A temporal or spatial constraint's factors, ``factors_only`` (every other dimension 1) included."""
    for key in ("no_reuse", "no_link_transfer"):
        if c.get(key):
            state.problems.add(f"{path}.{key}", c[key], "expected no data spaces (hwsim always reuses and forwards data)")
    factors = _factors(state, f"{path}.factors", c["factors"]) if "factors" in c else {}
    for d, (op, n) in list(factors.items()):
        bound = state.names.bounds.get(d)
        if op == "=" and bound is not None and n > bound:  # Timeloop warns and ignores it
            state.notes.append(f"{path}.factors: {d}={n} ignored, as Timeloop ignores it (larger than the problem's {d}={bound})")
            del factors[d]
    if "factors_only" in c:
        only = _factors(state, f"{path}.factors_only", c["factors_only"]) if c["factors_only"] else {}
        factors.update(only)
        for d in state.names.dims:
            factors.setdefault(d, ("=", 1))
    return factors


def _keeps(state: _Arch, path: str, ds: Any, strict: bool = False) -> tuple[list[str] | None, list[str]]:
    """(the data spaces a level may keep, those of them the mapper may bypass): ``keep`` ones must stay, ``bypass`` ones
    must not, the rest are the mapper's choice, as in Timeloop's mapspace (``keep_only``/``bypass_only`` leave none;
    ``strict``: unlisted ones are bypassed, for the members of a ``!Parallel`` group, which each hold their own)."""
    if ds is None:
        return None, [] if strict else list(OPERANDS)
    if not isinstance(ds, dict):
        state.problems.add(path, ds, "expected {keep: [...], bypass: [...]}")
        return None, []
    _unknown_keys(state.problems, path, ds, _DATASPACE_KEYS)
    spaces = state.names.spaces

    def names(key: str) -> list[str] | None:
        if key not in ds:
            return None
        v = ds.get(key) or []
        if not isinstance(v, list) or not all(isinstance(n, str) and (n in spaces or n == "*") for n in v):
            state.problems.add(f"{path}.{key}", v, f"expected data spaces of the problem ({', '.join(spaces)})")
            return []
        return [o for n in v for o in (spaces.values() if n == "*" else [spaces[n]])]

    keep = names("keep_only") if "keep_only" in ds else names("keep")
    bypass = names("bypass_only") if "bypass_only" in ds else names("bypass")
    if keep is not None and ("keep_only" in ds or strict):
        return [o for o in OPERANDS if o in keep], []
    kept = [o for o in OPERANDS if o not in (bypass or [])]
    return kept, [] if "bypass_only" in ds else [o for o in kept if o not in (keep or [])]


def _merge_constraints(into: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add a constraint group (``{dataspace, temporal, spatial}``) to one already given (lists concatenated)."""
    for kind, c in extra.items():
        have = into.setdefault(kind, {})
        if not isinstance(c, dict) or not isinstance(have, dict):
            into[kind] = c
            continue
        for key, v in c.items():
            old = have.get(key)
            if isinstance(old, str) and key == "factors":
                old = re.split(r"[\s,]+", old.strip())
            if isinstance(v, str) and key == "factors":
                v = re.split(r"[\s,]+", v.strip())
            have[key] = [*old, *v] if isinstance(old, list) and isinstance(v, list) else v


def _targets(state: _Arch, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Constraints given as a list of targets (``architecture_constraints``, ``mapspace_constraints``, ``constraints``,
    ``mapspace.constraints``: Timeloop v0.3 files, the front end's output, the exercises' constraint files) by target."""
    out: dict[str, dict[str, Any]] = {}
    lists: list[tuple[str, Any]] = [(k, data.get(k)) for k in ("architecture_constraints", "mapspace_constraints", "constraints") if k in data]
    mapspace = data.get("mapspace")
    if isinstance(mapspace, dict) and "constraints" in mapspace:
        lists.append(("mapspace.constraints", mapspace["constraints"]))
    kinds = {"temporal": "temporal", "spatial": "spatial", "bypass": "dataspace", "dataspace": "dataspace", "datatype": "dataspace"}
    for key, block in lists:
        targets = block.get("targets") if isinstance(block, dict) else block
        if isinstance(block, dict):
            _unknown_keys(state.problems, key, block, {"version", "targets"})
        if not isinstance(targets, list):
            state.problems.add(f"{key}.targets", targets, "expected a list of {target, type, ...} constraints")
            continue
        for i, t in enumerate(targets):
            where = f"{key}.targets[{i}]"
            if not isinstance(t, dict) or not isinstance(t.get("target"), str):
                state.problems.add(where, t, "expected {target: <component>, type: temporal|spatial|dataspace, ...}")
                continue
            kind = kinds.get(str(t.get("type")))
            if kind is None:
                state.problems.add(f"{where}.type", t.get("type"), "expected temporal, spatial, dataspace or bypass (other "
                                                                   "constraint types are not supported by hwsim's importer)")  # fmt: skip
                continue
            name = re.sub(r"\[.*\]$", "", t["target"])
            body = {k: v for k, v in t.items() if k not in ("target", "type")}
            _merge_constraints(out.setdefault(name, {"__path__": where}), {kind: body})
    return out


def _constraints(state: _Arch, path: str, node: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    c = node.get("constraints") or {}
    if not isinstance(c, dict):
        state.problems.add(f"{path}.constraints", c, "expected a mapping")
        return {}
    _unknown_keys(state.problems, f"{path}.constraints", c, allowed)
    return {k: v for k, v in c.items() if k in allowed}


def _attributes(state: _Arch, path: str, node: dict[str, Any]) -> dict[str, Any]:
    attrs = node.get("attributes") or {}
    if not isinstance(attrs, dict):
        state.problems.add(f"{path}.attributes", attrs, "expected a mapping")
        return {}
    return attrs


def _flatten_v4(state: _Arch, path: str, nodes: Any, scope: Scope, group: int | None, out: list[_Node]) -> None:
    """A v0.4 node list: each node is inside the containers before it (their attributes and fan-outs apply to it)."""
    if not isinstance(nodes, list):
        state.problems.add(path, nodes, "expected a list of !Container, !Component, !Parallel and !Nothing nodes")
        return
    for i, node in enumerate(nodes):
        scope = _one_v4(state, f"{path}[{i}]", node, scope, group, out)


def _one_v4(state: _Arch, where: str, node: Any, scope: Scope, group: int | None, out: list[_Node]) -> Scope:
    tag = node.get(TAG) if isinstance(node, dict) else None
    if tag == "!Component":
        _unknown_keys(state.problems, where, node, _COMPONENT_KEYS)
        if node.get("enabled") is False:
            return scope  # a disabled component is not in Timeloop's tree
        name = node.get("name")
        if not isinstance(name, str) or not name or "[" in name:
            state.problems.add(f"{where}.name", name, "expected a plain component name (arrays name[0..N-1] are v0.3 syntax)")
            return scope
        own = _attributes(state, where, node)
        here = Scope(own, scope)
        if node.get("spatial") is not None:
            out.append(_Node("fanout", where, name, here, mesh=node["spatial"], group=group,
                             constraints=_constraints(state, where, node, {"spatial", "temporal", "dataspace"}),
                             cpath=f"{where}.constraints"))  # fmt: skip
        out.append(_Node("component", where, name, here, cls=_class(node), group=group, own=own,
                         constraints=_constraints(state, where, node, {"spatial", "temporal", "dataspace"}),
                         cpath=f"{where}.constraints"))  # fmt: skip
        return scope
    if tag == "!Container":
        _unknown_keys(state.problems, where, node, {TAG, "name", "attributes", "spatial", "constraints", "nodes", "networks"})
        if node.get("networks"):
            state.problems.add(f"{where}.networks", node["networks"], "expected no networks (hwsim does not model "
                                                                      "Timeloop's network components)")  # fmt: skip
        inner = Scope(_attributes(state, where, node), scope)
        if state.name is None and isinstance(node.get("name"), str):
            state.name = node["name"]
        constraints = _constraints(state, where, node, {"spatial"})
        if node.get("spatial") is not None:
            out.append(_Node("fanout", where, str(node.get("name") or "array"), inner, mesh=node["spatial"], group=group,
                             constraints=constraints, cpath=f"{where}.constraints"))  # fmt: skip
        if "nodes" in node:
            _flatten_v4(state, f"{where}.nodes", node["nodes"], inner, group, out)
        return inner
    if tag == "!Hierarchical":
        _unknown_keys(state.problems, where, node, {TAG, "nodes", "name"})
        _flatten_v4(state, f"{where}.nodes", node.get("nodes"), scope, group, out)
        return scope
    if tag == "!Parallel":
        _unknown_keys(state.problems, where, node, {TAG, "nodes", "name"})
        state.groups += 1
        gid = state.groups
        children = node.get("nodes")
        if not isinstance(children, list):
            state.problems.add(f"{where}.nodes", children, "expected a list of branches")
            return scope
        for j, child in enumerate(children):  # each branch sees the scope before the !Parallel, not its siblings'
            _one_v4(state, f"{where}.nodes[{j}]", child, scope, gid, out)
        return scope
    if tag == "!Nothing":
        _unknown_keys(state.problems, where, node, {TAG, "name", "constraints", "attributes"})
        return scope  # an empty branch of a !Parallel: data passing through it is not stored
    state.problems.add(where, tag or node, "expected a !Container, !Component, !Parallel, !Hierarchical or !Nothing node")
    return scope


def _array(name: Any) -> tuple[str, int] | None:
    """``PE[0..167]`` → ("PE", 168); a plain name → (name, 1); None if malformed."""
    if not isinstance(name, str) or not name:
        return None
    m = re.fullmatch(r"\s*([^\[\]]+?)\s*(?:\[\s*(\d+)\s*\.\.\s*(\d+)\s*\])?\s*", name)
    if not m:
        return None
    if m.group(2) is None:
        return m.group(1), 1
    lo, hi = int(m.group(2)), int(m.group(3))
    return (m.group(1), hi - lo + 1) if hi >= lo else None


def _flatten_v3(state: _Arch, path: str, subtrees: Any, scope: Scope, count: int, array: str | None,
                out: list[_Node], counts: list[tuple[int, Any, str | None]]) -> None:  # fmt: skip
    """A v0.3 tree (``subtree``/``local``, ``name[0..N-1]`` arrays): its components outermost first, each with its
    instance count (the product of the array sizes above it and its own) and the array it is in."""
    if not isinstance(subtrees, list):
        state.problems.add(path, subtrees, "expected a list of subtrees {name, attributes, local, subtree}")
        return
    for i, st in enumerate(subtrees):
        where = f"{path}[{i}]"
        if not isinstance(st, dict):
            state.problems.add(where, st, "expected a subtree {name, attributes, local, subtree}")
            continue
        _unknown_keys(state.problems, where, st, {"name", "attributes", "local", "subtree"})
        parsed = _array(st.get("name"))
        if parsed is None:
            state.problems.add(f"{where}.name", st.get("name"), "expected a name or an array name[a..b]")
            continue
        base, n = parsed
        if state.name is None:
            state.name = re.sub(r"_top_level$", "", base)
        inner = Scope(_attributes(state, where, st), scope)
        here_array = base if n > 1 else array
        locals_ = st.get("local") or []
        if not isinstance(locals_, list):
            state.problems.add(f"{where}.local", locals_, "expected a list of components")
            locals_ = []
        for j, comp in enumerate(locals_):
            cwhere = f"{where}.local[{j}]"
            if not isinstance(comp, dict):
                state.problems.add(cwhere, comp, "expected a component {name, class, attributes}")
                continue
            _unknown_keys(state.problems, cwhere, comp, _COMPONENT_KEYS - {TAG, "constraints", "spatial"})
            if comp.get("enabled") is False:
                continue
            cparsed = _array(comp.get("name"))
            if cparsed is None:
                state.problems.add(f"{cwhere}.name", comp.get("name"), "expected a name or an array name[a..b]")
                continue
            cname, cn = cparsed
            own = _attributes(state, cwhere, comp)
            node = _Node("component", cwhere, cname, Scope(own, inner), cls=_class(comp), own=own)
            out.append(node)
            counts.append((count * n * cn, node.scope.attr("meshX"), cname if cn > 1 else here_array))
        _flatten_v3(state, f"{where}.subtree", st.get("subtree") or [], inner, count * n, here_array, out, counts)


def _fanouts_v3(state: _Arch, nodes: list[_Node], counts: list[tuple[int, Any, str | None]]) -> list[_Node]:
    """The v0.3 components with a fan-out wherever the instance count grows (meshX: the instances along X)."""
    out: list[_Node] = []
    prev_n, prev_x = 1, 1
    for node, (n, mesh_x, array) in zip(nodes, counts, strict=True):
        x = state.number(f"{node.path}.attributes.meshX", mesh_x, 1, scope=node.scope) if mesh_x is not None else None
        x = x or (prev_x * (n // prev_n) if n > prev_n and n % prev_n == 0 else prev_x)
        if n % prev_n or x % prev_x or n % x:
            state.problems.add(node.path, f"{node.name}: {n} instances, meshX {x}",
                               f"expected a whole multiple of the {prev_n} instances (meshX {prev_x}) above it")  # fmt: skip
            x = n  # read on as one row, not to report the nodes below again
        elif n > prev_n:
            fx, fy = x // prev_x, (n // x) // (prev_n // prev_x)
            placeholder = re.fullmatch(r"inter_(.+)_spatial", out[-1].name) if out else None
            name = placeholder.group(1) if placeholder else array or node.name
            out.append(_Node("fanout", node.path, name, node.scope, mesh={"meshX": fx, "meshY": fy},
                             constraints={"spatial": out[-1].constraints.get("spatial")} if out and out[-1].constraints.get("spatial") else {},
                             cpath=out[-1].cpath if out else ""))  # fmt: skip
        prev_n, prev_x = n, x
        out.append(node)
    return out


def _class(node: dict[str, Any]) -> str:
    """``class`` or ``class/subclass``."""
    cls, sub = node.get("class"), node.get("subclass")
    return f"{cls}/{sub}" if isinstance(sub, str) and sub else str(cls) if cls is not None else ""


def _kind(cls: str) -> str | None:
    """The hwsim kind of a Timeloop component class (``class/subclass``: the subclass decides when it names a kind)."""
    for c in reversed(cls.lower().split("/")):
        if c == "dummy_storage":
            return "placeholder"
        if "dram" in c:
            return "dram"
        if "regfile" in c or c.endswith("_rf") or c.startswith("reg") or c in ("rf", "aladdin_register"):
            return "regfile"
        if "sram" in c or "buffer" in c or c in ("storage", "smartbuffer_metadata"):
            return "sram"
        if "mac" in c or c == "compute":
            return "mac"
    return None


def _axis_dims(state: _Arch, path: str, spatial: Any, mesh: str, size: int, scope: Scope) -> tuple[list[str], dict[str, tuple[str, int]]]:
    """The hwsim dimensions the fan-out along ``mesh`` may unroll: with a ``split``, the first ``split`` dimensions of the
    permutation run along X and the rest along Y, the permutation completed as Timeloop's front end completes it
    (dimensions fixed to 1, then those of bound 1, prepended; the others appended); dimensions fixed to 1 are out; a
    dimension fixed to fill the whole fan-out is the only one (or those, if several are). Also the constraint's
    factors, by hwsim dimension."""
    if spatial is None:
        return list(DIMS), {}
    if not isinstance(spatial, dict):
        state.problems.add(path, spatial, "expected {factors, permutation, split}")
        return list(DIMS), {}
    _unknown_keys(state.problems, path, spatial, _SPATIAL_KEYS)
    factors = _iteration_factors(state, path, spatial)
    if spatial.get("maximize_dims"):
        factors.update(_maximize(state, f"{path}.maximize_dims", spatial["maximize_dims"], factors, size))
    names = list(state.names.dims)
    if "permutation" in spatial:
        perm = _dims_from(state, f"{path}.permutation", spatial["permutation"])
    if "split" in spatial and "permutation" in spatial:
        split = state.number(f"{path}.split", scope.value(spatial["split"]), scope=scope)
        full = list(perm)
        for d, (op, n) in factors.items():
            if op == "=" and n == 1 and d not in full:
                full.insert(0, d)
        for d in names:
            if state.names.bounds.get(d) == 1 and d not in full:
                full.insert(0, d)
        full += [d for d in names if d not in full]
        chosen = (full[:split] if mesh == "meshX" else full[split:]) if split is not None else full
    else:
        chosen = names
    dims = [d for d in chosen if factors.get(d) != ("=", 1)]
    filling = [d for d in dims if factors.get(d, ("", 0))[0] == "=" and factors[d][1] == size]
    hw = {state.names.dims[d] for d in (filling or dims)}
    return [d for d in DIMS if d in hw], {state.names.dims[d]: f for d, f in factors.items()}


def _fill(bounds: tuple[int, ...], capacity: int) -> tuple[int, ...]:
    """Divisors of ``bounds`` with the largest product at most ``capacity``; on a tie, earlier ones larger."""
    if not bounds:
        return ()
    best: tuple[int, tuple[int, ...]] = (0, ())
    b = bounds[0]
    divisors = {d for i in range(1, math.isqrt(b) + 1) if b % i == 0 for d in (i, b // i)}
    for f in sorted((d for d in divisors if d <= capacity), reverse=True):
        rest = _fill(bounds[1:], capacity // f)
        best = max(best, (f * math.prod(rest), (f, *rest)))
    return best[1]


def _maximize(state: _Arch, path: str, groups: Any, factors: dict[str, tuple[str, int]], size: int) -> dict[str, tuple[str, int]]:
    """timeloopfe's ``maximize_dims`` macro: per group of dimensions, the factors (divisors of their bounds) whose product
    fills most of what the fan-out has left, earlier dimensions taking the larger share on a tie; the rest of the group
    fixed to 1. Without the problem's bounds the group's dimensions are only allowed on the axis."""
    if isinstance(groups, list) and groups and all(isinstance(g, str) for g in groups):
        groups = [groups]
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        state.problems.add(path, groups, "expected a list of lists of dimensions")
        return {}
    out: dict[str, tuple[str, int]] = {}
    left = size
    for n in (n for op, n in factors.values() if op == "=" and n > 0):
        left //= n
    for i, group in enumerate(groups):
        dims = _dims_from(state, f"{path}[{i}]", group)
        if not dims or any(d not in state.names.bounds for d in dims):
            continue
        best = _fill(tuple(state.names.bounds[d] for d in dims), max(left, 1))
        for d, f in zip(dims, best, strict=True):
            out[d] = ("=", f)
        left //= math.prod(best)
    return out


def _fanout(state: _Arch, node: _Node) -> None:
    mesh = node.mesh
    path = node.path
    if not isinstance(mesh, dict) or not mesh or any(k not in ("meshX", "meshY") for k in mesh):
        state.problems.add(f"{path}.spatial", mesh, "expected {meshX: n} and/or {meshY: n}")
        return
    if not state.levels:
        state.problems.add(f"{path}.spatial", mesh, "expected a fan-out below a storage level (DRAM first)")
        return
    sizes = {m: state.number(f"{path}.spatial.{m}", node.scope.value(mesh[m]), 1, scope=node.scope) for m in ("meshX", "meshY") if m in mesh}
    meshes = [m for m, n in sizes.items() if n is not None and n > 1]
    where = f"{node.cpath}.spatial"
    axes = {m: _axis_dims(state, where, node.constraints.get("spatial"), m, sizes[m], node.scope) for m in meshes}
    for m, (dims, factors) in axes.items():
        axis = {"name": f"{node.name}.{m[-1].lower()}" if len(meshes) > 1 else node.name, "size": sizes[m],
                "below": state.levels[-1]["name"], "dims": dims}  # fmt: skip
        shared = [d for d, (op, n) in factors.items() if d in dims and (op != "=" or n != 1)
                  and any(d in other for k, (other, _) in axes.items() if k != m)]  # fmt: skip
        if shared:  # Timeloop bounds the fan-out's factor of d over both meshes: two hwsim axes cannot say that
            state.notes.append(f"{where}.factors: {', '.join(shared)} not applied (the dimension may run along meshX and meshY)")
        _iteration_bounds(axis, {d: f for d, f in factors.items() if d in dims and d not in shared})
        state.axes.append(axis)


def _iteration_bounds(into: dict[str, Any], factors: dict[str, tuple[str, int]]) -> None:
    """A level's or an axis's hwsim constraints from Timeloop factors (by hwsim dimension): ``X=n`` (n > 1) pins,
    ``X<=n``/``X>=n`` bound (``max_factors``/``min_factors``), ``X=0`` is ``whole_dims`` (Timeloop's mapper reads it as
    the whole problem dimension at that level: "Interpreting 0 to mean full problem dimension instead of residue")."""
    keys = {"=": "factors", "<=": "max_factors", ">=": "min_factors"}
    for d, (op, n) in factors.items():
        if op == "=" and n == 0:
            into.setdefault("whole_dims", []).append(d)
        elif n > 1 or op == "<=":
            into.setdefault(keys[op], {})[d] = n


def _temporal(state: _Arch, path: str, temporal: Any, level: dict[str, Any]) -> None:
    if temporal is None:
        return
    if not isinstance(temporal, dict):
        state.problems.add(path, temporal, "expected {factors, permutation}")
        return
    _unknown_keys(state.problems, path, temporal, _TEMPORAL_KEYS)
    loops = _iteration_factors(state, path, temporal)
    if "permutation" in temporal:  # innermost first: the listed loops innermost, the others outside them in any order
        perm = _dims_from(state, f"{path}.permutation", temporal["permutation"])
        # (without the dimensions that have no loop here, fixed to 1 or of bound 1, which timeloopfe prepends)
        perm = [d for d in perm if loops.get(d) != ("=", 1) and state.names.bounds.get(d) != 1]
        if perm:
            level["inner_order"] = [state.names.dims[d] for d in reversed(perm)]
            level["__permutation__"] = f"{path}.permutation"
    factors = {state.names.dims[d]: f for d, f in loops.items()}
    if any(f == ("=", 1) for f in factors.values()):
        level["temporal_dims"] = [d for d in DIMS if factors.get(d) != ("=", 1)]
    _iteration_bounds(level, factors)


def _unknown_attributes(state: _Arch, path: str, attrs: dict[str, Any], known: set[str], what: str) -> None:
    for key, value in attrs.items():
        name = str(key).replace("-", "_")
        if name not in known and not (what == "storage" and name.startswith("metadata_")):  # metadata: see the docs
            listed = "STORAGE_ATTRIBUTES" if what == "storage" else "MAC_ATTRIBUTES"
            state.problems.add(f"{path}.{key}", value, f"expected a {what} attribute hwsim's importer reads or accepts "
                                                       f"(hwsim.frontend.importers.timeloop.{listed})")  # fmt: skip


def _storage(state: _Arch, node: _Node, kind: str) -> None:
    path, sc = node.path, node.scope
    _unknown_attributes(state, f"{path}.attributes", node.own, STORAGE_ATTRIBUTES, "storage")
    _unknown_keys(state.problems, f"{path}.constraints", node.constraints, {"dataspace", "temporal", "spatial", "__path__"})

    def num(key: str, value: Any, minimum: float = 1, integer: bool = True) -> Any:
        return state.number(f"{path}.attributes.{key}", value, minimum, integer, scope=sc)

    def given(key: str, *aliases: str, minimum: float = 1) -> int | None:
        raw = sc.attr(key, *aliases)
        return num(key, raw, minimum) if raw is not None else None

    # Timeloop's geometry (its buffer model): elements of ``datawidth`` bits (16 if not given), accessed ``block_size``
    # at a time (a vector); a ``width``-bit row holds ``cluster_size`` vectors; ``depth`` rows of vectors.
    dw = given("datawidth", "word_bits", "word_width") or TIMELOOP_DEFAULT_DATAWIDTH
    block, cluster, width = given("block_size", "n_words"), given("cluster_size"), given("width", "memory_width", "data_storage_width")
    if width is not None:
        if block is None:
            block = max(width // (cluster or 1) // dw, 1)
        cluster = cluster or max(width // (dw * block), 1)
        if width % (dw * block) or (block * dw * cluster != width):
            state.problems.add(f"{path}.attributes.width", width, f"expected a whole number of {block}-element vectors "
                                                                  f"of {dw}-bit elements per row (Timeloop's block and "
                                                                  f"cluster sizes)")  # fmt: skip
    block, cluster = block or 1, cluster or 1
    b = TIMELOOP_ELEMENT_BITS
    level: dict[str, Any] = {"name": node.name, "kind": kind, "word_bits": block * b}
    real: dict[str, Any] = {"word_bits": block * dw}
    depth = given("depth", "memory_depth", "data_storage_depth")
    elements = depth * block if depth is not None else given("entries")
    if elements is None and sc.attr("sizeKB") is not None:
        kb = num("sizeKB", sc.attr("sizeKB"), 0, integer=False)
        elements = max(1, int((kb or 1) * 1024 * 8 // dw))
    if kind == "dram":
        level["dram_type"] = str(sc.attr("type") or "LPDDR4")
    elif elements is None and sc.attr("depth", "memory_depth", "data_storage_depth", "entries", "sizeKB") is None:
        state.problems.add(f"{path}.attributes.depth", None, "expected a depth (or entries, or sizeKB) for an on-chip storage level")
    if elements is not None:
        level["size_bytes"] = elements * b / 8
        real["size_bytes"] = elements * dw / 8
    elif kind != "dram":
        level["size_bytes"] = real["size_bytes"] = 1.0
    # Timeloop's front end gives every storage two banks unless told (Accelergy prices a bank's accesses)
    banks = sc.attr("n_banks", "num_banks", "nbanks")
    level["banks"] = (num("n_banks", banks) or 1) if banks is not None else TIMELOOP_BANKS
    if cluster > 1:  # a row of `cluster` vectors, one per instance, accessed at once (billed once per utilized cluster)
        level["cluster_size"] = cluster
    for key in ("read_bandwidth", "write_bandwidth"):
        bw = sc.attr(key)
        if bw is None and sc.attr("bandwidth") is not None:  # Timeloop's deprecated shared figure: half each way
            shared = num("bandwidth", sc.attr("bandwidth"), 0, integer=False)
            bw = shared / 2 if shared is not None else None
        if bw is not None:
            v = num(key, bw, 0, integer=False)
            level[f"{key}_bits_per_cycle"] = (v if v is not None else 1.0) * b
    ports = [sc.attr(k) for k in ("nports", "num_ports", "n_ports")]
    if (sc.attr("n_rdwr_ports") == 1 and sc.attr("n_rd_ports") is None) or any(p == 1 for p in ports):
        level["ports"] = 1
    if sc.attr("multiple_buffering") is not None:
        level["double_buffered"] = (num("multiple_buffering", sc.attr("multiple_buffering"), 1, integer=False) or 1) >= 2
    keeps, free = _keeps(state, f"{node.cpath}.dataspace", node.constraints.get("dataspace"), strict=node.group is not None)
    if keeps == []:
        return  # keeps nothing: a stand-in for a fan-out (v0.3's dummy buffers), as Timeloop's dummy_storage
    level["keeps"] = keeps if keeps is not None else list(OPERANDS)
    if state.levels and free:  # (the outermost level keeps everything)
        level["may_bypass"] = [o for o in free if o in level["keeps"]]
    _temporal(state, f"{node.cpath}.temporal", node.constraints.get("temporal"), level)
    level["__group__"] = node.group
    level["__path__"] = path
    state.levels.append(level)
    state.real.append(real)


def _compute(state: _Arch, node: _Node) -> None:
    path, sc = node.path, node.scope
    _unknown_attributes(state, f"{path}.attributes", node.own, MAC_ATTRIBUTES, "compute")
    _unknown_keys(state.problems, f"{path}.constraints", node.constraints, {"spatial", "__path__"})
    if state.mac is not None:
        state.problems.add(path, node.name, "expected one compute component")
    width = sc.attr("multiplier_width", "datawidth", "width")
    mult = state.number(f"{path}.attributes.multiplier_width", width, 1, scope=sc) if width is not None else 8
    adder = sc.attr("adder_width")
    acc = state.number(f"{path}.attributes.adder_width", adder, 1, scope=sc) if adder is not None else None
    state.mac = {"weight_bits": mult or 8, "input_bits": mult or 8, "accumulator_bits": acc or max(2 * (mult or 8), 24)}


def _technology(scope: Scope) -> Any:
    """The nearest technology given for a node (a number of at most 0, v0.3 files' -1, means not given there)."""
    at: Scope | None = scope
    while at is not None and not at.variables:
        if "technology" in at.raw:
            tech = at.value(at.raw["technology"])
            if not (isinstance(tech, (int, float)) and not isinstance(tech, bool) and tech <= 0):
                return tech
        at = at.parent
    return None


def _build(state: _Arch, nodes: list[_Node]) -> None:
    for node in nodes:
        if node.kind == "fanout":
            _fanout(state, node)
            continue
        kind = _kind(node.cls)
        if kind == "placeholder":
            continue  # the front end's stand-in for a fan-out (its constraints went to the fan-out below it)
        if kind is None:
            state.problems.add(f"{node.path}.class", node.cls or None, "expected a DRAM, SRAM/buffer, register-file or MAC "
                                                                       "class (networks and other components are not "
                                                                       "modelled)")  # fmt: skip
            continue
        tech, where = _technology(node.scope), f"{node.path}.attributes.technology"
        if tech is None:
            tech, where = state.variables.var("technology"), "variables.technology"
        if tech is not None and kind != "dram":  # DRAM is priced per bit whatever the node (often unset)
            state.technology(where, tech)
        state.clock(f"{node.path}.attributes", node.scope)
        if state.mac is not None:
            state.problems.add(node.path, node.name, "expected the compute component last (no storage below it)")
        if kind == "mac":
            _compute(state, node)
        else:
            _storage(state, node, kind)
    seen: dict[int, list[str]] = {}
    for lv in state.levels:
        if lv["__group__"] is not None:
            seen.setdefault(lv["__group__"], []).extend(lv["keeps"])
    for g, kept in seen.items():
        if len(kept) != len(set(kept)):
            state.problems.add(f"!Parallel #{g}", kept, "expected parallel storage keeping disjoint data spaces")


def _attach(state: _Arch, nodes: list[_Node], targets: dict[str, dict[str, Any]]) -> None:
    """Constraints given as targets onto the tree: a spatial one onto the fan-out of that container (or below that
    level: its placeholder ``inter_<container>_spatial`` or a v0.3 level), the others onto the component."""
    for name, extra in targets.items():
        path = extra.pop("__path__")
        comps = [n for n in nodes if n.kind == "component" and n.name == name]
        fans = [n for n in nodes if n.kind == "fanout" and name in (n.name, f"inter_{n.name}_spatial")]
        if not comps and not fans:
            have = ", ".join(dict.fromkeys(n.name for n in nodes))
            state.problems.add(f"{path}.target", name, f"expected a component or container of the architecture ({have})")
            continue
        for kind, c in extra.items():
            node = (fans or comps)[0] if kind == "spatial" else comps[0] if comps else None
            if node is not None:  # a container's temporal or dataspace constraint: its placeholder's, a no-op
                node.cpath = path
                _merge_constraints(node.constraints, {kind: c})


def timeloop_architecture(data: Any, source: str = "<timeloop>", names: TimeloopNames | None = None) -> Architecture:
    """A Timeloop architecture (v0.4 ``nodes`` tree, v0.3 ``subtree`` tree, or the front end's processed input) as an
    :class:`Architecture` (see the module documentation).

    ``names`` (from :func:`timeloop_problem_names`) says how constraints and keep/bypass lists name dimensions and data
    spaces; by default the names of the problem in ``data`` if it has one, else Timeloop's conv names (``C M R S N P Q``,
    ``Weights Inputs Outputs``).
    """
    problems = Problems(source)
    top = data.get("architecture") if isinstance(data, dict) else None
    if not isinstance(top, dict):
        raise SpecError(source, [Problem("architecture", top, "expected a mapping with version and nodes (or subtree)")])
    assert isinstance(data, dict)
    if names is None:
        names = timeloop_problem_names(data, source) if isinstance(data.get("problem"), dict) else CONV_NAMES
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        problems.add("variables", variables, "expected a mapping of variable names to values or expressions")
        variables = {}
    root = Scope({k: v for k, v in variables.items() if k != "version"}, variables=True)
    if isinstance(data.get("problem"), dict) and isinstance(data["problem"].get("instance"), dict):
        root.raw.setdefault("spec", {"problem": {"instance": data["problem"]["instance"]}})
        root.done.setdefault("spec", root.raw["spec"])
    state = _Arch(problems, names, root)
    nodes: list[_Node] = []
    version = str(top.get("version", "0.4"))
    if "nodes" in top:
        _unknown_keys(problems, "architecture", top, {"version", "nodes"})
        if version not in ("0.4", "0.5"):
            problems.add("architecture.version", top.get("version"), "expected 0.4 for a tree of nodes")
        _flatten_v4(state, "architecture.nodes", top["nodes"], root, None, nodes)
    elif "subtree" in top:
        _unknown_keys(problems, "architecture", top, {"version", "subtree", "local"})
        counts: list[tuple[int, Any, str | None]] = []
        _flatten_v3(state, "architecture.subtree", top["subtree"], root, 1, None, nodes, counts)
    else:
        problems.add("architecture", sorted(map(str, top)), "expected nodes (v0.4) or subtree (v0.3)")
    if data.get("sparse_optimizations"):
        problems.add("sparse_optimizations", sorted(map(str, data["sparse_optimizations"])) if isinstance(
            data["sparse_optimizations"], dict) else data["sparse_optimizations"],
            "expected no sparse optimizations (hwsim's sparsity is the problem's densities and its own formats)")  # fmt: skip
    _attach(state, nodes, _targets(state, data))
    if "subtree" in top:  # v0.3 lists compute among the storage; it is always innermost
        order = sorted(range(len(nodes)), key=lambda i: _kind(nodes[i].cls) == "mac")
        nodes = _fanouts_v3(state, [nodes[i] for i in order], [counts[i] for i in order])
    _build(state, nodes)
    if state.levels and state.levels[-1].pop("inner_order", None):  # Timeloop's mapper takes the canonical order there
        state.notes.append(f"{state.levels[-1]['__permutation__']}: not applied at the innermost storage level, where Timeloop's "
                           "mapper does not apply it either (it takes the problem's dimension order; hwsim's mapper searches the orders)")  # fmt: skip
    if state.mac is None:
        problems.add("architecture", None, "expected a compute component (a class containing 'mac', e.g. intmac) last")
    if not state.levels:
        problems.add("architecture", None, "expected at least one storage component (DRAM first)")
    if not state.axes:
        state.axes.append({"name": "pe", "size": 1, "below": state.levels[-1]["name"] if state.levels else "DRAM"})
    problems.items.sort(key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.path)])
    problems.raise_if_any()
    return _architecture(state, source)


def _architecture(state: _Arch, source: str) -> Architecture:
    """The hwsim architecture: priced with Timeloop's own geometry, then each level restated in elements of
    :data:`TIMELOOP_ELEMENT_BITS` bits (capacity, word and bandwidth in elements as Timeloop counts them)."""
    assert state.mac is not None
    levels = [{k: v for k, v in lv.items() if not k.startswith("__")} for lv in state.levels]
    real = [{**lv, "size_bytes": r.get("size_bytes", lv.get("size_bytes")), "word_bits": r["word_bits"]} if "size_bytes" in lv or
            lv["kind"] == "dram" else lv for lv, r in zip(levels, state.real, strict=True)]  # fmt: skip
    for lv in real:
        if lv.get("size_bytes") is None:
            lv.pop("size_bytes", None)
    spec: dict[str, Any] = {
        "name": state.name or (Path(source).stem if source.endswith((".yaml", ".yml")) else "timeloop"),
        "levels": real,
        "pe_array": {"axes": state.axes},
        "mac": state.mac,
        "semantics": "timeloop",  # Timeloop's modelling choices (hwsim.core.arch.Semantics); --semantics hwsim for hwsim's
    }
    if state.node_nm is not None:
        spec["technology"] = {"node_nm": state.node_nm}
    if state.cycle_s is not None:
        spec["clock_hz"] = float(f"{1.0 / state.cycle_s:.12g}")  # 1e-9 s: 1 GHz, not 999999999.9999999 Hz
    priced = architecture_from_dict(spec, source=source)
    restated = []
    for level, want in zip(priced.levels, levels, strict=True):
        restated.append(replace(level, size_bytes=want.get("size_bytes"), word_bits=want["word_bits"],
                                read_bandwidth_bits_per_cycle=want.get("read_bandwidth_bits_per_cycle"),
                                write_bandwidth_bits_per_cycle=want.get("write_bandwidth_bits_per_cycle")))  # fmt: skip
    b = TIMELOOP_ELEMENT_BITS
    mac = replace(priced.mac, weight_bits=max(priced.mac.weight_bits, b), input_bits=max(priced.mac.input_bits, b))
    return replace(priced, levels=tuple(restated), mac=mac, notes=tuple(dict.fromkeys(state.notes)))
