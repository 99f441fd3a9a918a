"""Timeloop v0.4 specs as hwsim objects: problem shapes as one-layer networks, architecture trees as architectures.

**Problems** (``problem: {shape: {dimensions, coefficients, data_spaces}, instance}``): the
dimensions are given hwsim's names by the role they play in the data spaces' projections —
not by their letters, so a GEMM written ``A[M, K]·B[N, K] → Z[M, N]`` maps as well as
Timeloop's conv (``C M R S N P Q``, with ``M`` → ``K``):

======================  ======================================  ============
indexes                 hwsim dimension                         in the conv
======================  ======================================  ============
weights and outputs     K                                       M
weights and inputs      R, S when in a sliding-window sum, else C   R S C
inputs and outputs      P, Q when in a sliding-window sum, else P, Q, N in turn (N first if so named)  P Q N
all three               G (groups)
======================  ======================================  ============

The output data space is the one with ``read_write: true``; the others are ``Weights`` and
``Inputs`` by name, else the first is the inputs and the second the weights. An input axis may
be a sum ``[[R, dilation], [P, stride]]`` (a sliding window); coefficients come from the
instance or their defaults. ``densities`` of a data space (a number, or ``{density: x}``) make
that operand sparse. Precision is hwsim's default (8-bit operands, 24-bit partial sums).

**Architectures** (``architecture: {version: 0.4, nodes: [...]}`` with ``!Container``,
``!Component`` and ``!Parallel`` nodes): components whose class names DRAM, an SRAM or buffer,
or a register file become storage levels, outermost first (``depth`` words of ``width`` bits;
``read_bandwidth``/``write_bandwidth`` in words of ``datawidth`` bits per cycle; ``n_banks``,
``multiple_buffering: 2`` for double buffering); the parallel scratchpads of a ``!Parallel``
become consecutive levels keeping their own operands. A container's ``spatial: {meshX, meshY}``
is a fan-out (one hwsim axis per mesh direction) below the storage level above it. The MAC
component (a class containing ``mac``) sets the precision (``multiplier_width``,
``adder_width``). ``technology: 32nm`` and ``global_cycle_seconds`` set the node and clock.
Constraints: ``dataspace: {keep, bypass}``; temporal ``factors`` (``X=1`` forbids a loop of X at
that level, ``X=n`` pins it); spatial ``factors`` of 1 and ``split`` narrow an axis's dimensions.
Loop ``permutation`` s are accepted and left to the mapper, which searches orders itself.
Energies and areas come from hwsim's technology table (Accelergy's tables are not read).

Anything else — other classes (networks, sparse metadata buffers), attribute expressions, v0.3
``name[1..N]`` arrays, unknown constraint kinds — is reported: one :class:`SpecError` lists every
unsupported construct with its path.

YAML tags are read by a loader derived from ``yaml.SafeLoader`` that turns *any* ``!Tag`` node
into plain data recording the tag (nothing is constructed from it), so the usual size and
node-count limits of :mod:`hwsim.core.spec` apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from hwsim.core.arch import Architecture, architecture_from_dict
from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.spec import MAX_NUMBER, parse_yaml, read_spec_text
from hwsim.core.workload import DIMS, Layer, Network, conv2d

__all__ = ["TimeloopNames", "load_timeloop", "parse_timeloop_yaml", "read_timeloop_yaml", "timeloop_architecture", "timeloop_problem",
           "timeloop_problem_names"]

TAG = "!tag"
# Timeloop's conv dimension names and hwsim's (constraints name dimensions this way).
CONV_DIMS = {"N": "N", "M": "K", "C": "C", "P": "P", "Q": "Q", "R": "R", "S": "S", "G": "G"}
# The hwsim dimension a dimension indexing only the outputs takes: the first of these the others leave free.
ONLY_OUTPUTS_DIMS = ("N", "Q", "P", "K", "G", "C", "S", "R")
# Bits of one element of an imported problem's operands (partial sums too): Timeloop stores every element at
# its level's datawidth, and the imported architecture expresses each level in elements of this width.
TIMELOOP_ELEMENT_BITS = 8


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


def read_timeloop_yaml(path: str | Path) -> Any:
    """Read a Timeloop YAML file (size-limited, tags as data)."""
    return parse_timeloop_yaml(read_spec_text(path), str(path))


def load_timeloop(path: str | Path) -> Architecture | Network:
    """A Timeloop v0.4 file: an :class:`Architecture` if it has ``architecture``, a one-layer :class:`Network` if ``problem``."""
    data = read_timeloop_yaml(path)
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
    """

    dims: dict[str, str]
    spaces: dict[str, str]


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
    return TimeloopNames(dims={d: shape.assign[d] for d in shape.dims}, spaces=spaces)


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
    _unknown_keys(problems, path, space, {"name", "projection", "read_write"})
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
    outs = [i for i, s in enumerate(spaces) if s.get("read_write") is True]
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

_STORAGE_ATTRS = {"depth", "width", "datawidth", "n_banks", "read_bandwidth", "write_bandwidth", "multiple_buffering", "type",
                  "technology", "global_cycle_seconds", "n_rdwr_ports", "n_rd_ports", "n_wr_ports", "update_fifo_depth",
                  "cluster_size", "reduction_supported", "has_power_gating", "min_utilization", "allow_overbooking",
                  "word_bits", "block_size", "meshX", "meshY"}  # fmt: skip
_MAC_ATTRS = {"multiplier_width", "adder_width", "datawidth", "technology", "global_cycle_seconds", "meshX", "meshY", "width"}
_CONTAINER_ATTRS = {"technology", "global_cycle_seconds", "has_power_gating", "version"}


class _Arch:
    """State while walking a v0.4 node list: the hwsim spec being built and the problems found."""

    def __init__(self, problems: Problems, names: TimeloopNames):
        self.problems = problems
        self.names = names
        self.levels: list[dict[str, Any]] = []
        self.axes: list[dict[str, Any]] = []
        self.mac: dict[str, Any] | None = None
        self.node_nm: float | None = None
        self.cycle_s: float | None = None
        self.name: str | None = None

    def number(self, path: str, value: Any, minimum: float = 0, integer: bool = True) -> Any:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and minimum <= value <= MAX_NUMBER
        if ok and integer and value != int(value):
            ok = False
        if not ok:
            what = "an integer" if integer else "a number"
            extra = " (expressions and references are not supported)" if isinstance(value, str) else ""
            huge = isinstance(value, (int, float)) and not isinstance(value, bool) and value > MAX_NUMBER
            self.problems.add(path, value, f"expected {what} of at most {MAX_NUMBER:g}" if huge else f"expected {what} of at least {minimum}{extra}")
            return None
        return int(value) if integer else float(value)

    def common(self, path: str, attrs: dict[str, Any]) -> None:
        tech = attrs.get("technology")
        if tech is not None:
            m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(nm)?\s*", str(tech))
            if not m:
                self.problems.add(f"{path}.technology", tech, "expected a node such as 32nm")
            elif self.node_nm is not None and float(m.group(1)) != self.node_nm:
                self.problems.add(f"{path}.technology", tech, f"expected one technology for the whole design ({self.node_nm:g}nm)")
            else:
                self.node_nm = float(m.group(1))
        if "global_cycle_seconds" in attrs:
            v = attrs["global_cycle_seconds"]
            try:
                v = float(v)
            except (TypeError, ValueError):
                pass
            self.cycle_s = self.number(f"{path}.global_cycle_seconds", v, 1e-15, integer=False)


def _dims_from(state: _Arch, path: str, value: Any) -> list[str]:
    """Timeloop dimension names (a list or a string such as ``NCPRSQM``) as hwsim names."""
    dims = state.names.dims
    names = list(value) if isinstance(value, str) else value if isinstance(value, list) else None
    if names is None or not all(isinstance(n, str) and n in dims for n in names):
        state.problems.add(path, value, f"expected the problem's dimension names ({', '.join(dims)})")
        return []
    return [dims[n] for n in names]


def _factors(state: _Arch, path: str, value: Any) -> dict[str, int]:
    items = re.split(r"[\s,]+", value.strip()) if isinstance(value, str) else value if isinstance(value, list) else None
    out: dict[str, int] = {}
    if items is None:
        state.problems.add(path, value, "expected factors such as [N=1, C=4]")
        return out
    for i, item in enumerate(items):
        m = re.fullmatch(r"(\w+)\s*=\s*(\d+)", str(item).strip())
        if not m or m.group(1) not in state.names.dims or int(m.group(2)) < 1:
            state.problems.add(f"{path}[{i}]", item, f"expected DIM=n with a dimension of the problem ({', '.join(state.names.dims)}) and n ≥ 1")
            continue
        out[state.names.dims[m.group(1)]] = int(m.group(2))
    return out


def _keeps(state: _Arch, path: str, ds: Any) -> list[str] | None:
    if ds is None:
        return None
    if not isinstance(ds, dict):
        state.problems.add(path, ds, "expected {keep: [...], bypass: [...]}")
        return None
    _unknown_keys(state.problems, path, ds, {"keep", "bypass", "no_coalesce"})
    spaces = state.names.spaces

    def names(key: str) -> list[str]:
        v = ds.get(key) or []
        if not isinstance(v, list) or not all(isinstance(n, str) and n in spaces for n in v):
            state.problems.add(f"{path}.{key}", v, f"expected data spaces of the problem ({', '.join(spaces)})")
            return []
        return [spaces[n] for n in v]

    keep, bypass = names("keep"), names("bypass")
    if "keep" in ds:
        return [o for o in ("weights", "inputs", "outputs") if o in keep]
    return [o for o in ("weights", "inputs", "outputs") if o not in bypass]


def _axis_dims(state: _Arch, path: str, spatial: Any, mesh: str) -> list[str]:
    dims = list(DIMS)
    if spatial is None:
        return dims
    if not isinstance(spatial, dict):
        state.problems.add(path, spatial, "expected {factors, permutation, split}")
        return dims
    _unknown_keys(state.problems, path, spatial, {"factors", "permutation", "split", "no_reuse", "no_link_transfer"})
    factors = _factors(state, f"{path}.factors", spatial["factors"]) if "factors" in spatial else {}
    for d, n in factors.items():
        if n > 1:
            timeloop_name = next(k for k, v in state.names.dims.items() if v == d)
            state.problems.add(f"{path}.factors", f"{timeloop_name}={n}", "expected spatial factors of 1 only (fixed spatial unrolling is not supported)")
    dims = [d for d in dims if factors.get(d, 0) != 1]
    if "split" in spatial and "permutation" in spatial:
        perm = _dims_from(state, f"{path}.permutation", spatial["permutation"])
        split = state.number(f"{path}.split", spatial["split"])
        if split is not None and perm:
            share = perm[:split] if mesh == "meshX" else perm[split:]
            dims = [d for d in dims if d in share]
    elif "permutation" in spatial:
        _dims_from(state, f"{path}.permutation", spatial["permutation"])
    return dims


def _fanout(state: _Arch, path: str, node: dict[str, Any]) -> None:
    spatial = node.get("spatial")
    if spatial is None:
        return
    if not isinstance(spatial, dict) or not spatial or any(k not in ("meshX", "meshY") for k in spatial):
        state.problems.add(f"{path}.spatial", spatial, "expected {meshX: n} and/or {meshY: n}")
        return
    if not state.levels:
        state.problems.add(f"{path}.spatial", spatial, "expected a fan-out below a storage level (DRAM first)")
        return
    constraints = node.get("constraints")
    if not isinstance(constraints, dict):
        constraints = {}
    meshes = [m for m in ("meshX", "meshY") if m in spatial]
    for mesh in meshes:
        size = state.number(f"{path}.spatial.{mesh}", spatial[mesh], 1)
        if size is None or size == 1:
            continue
        name = str(node.get("name") or "array")
        dims = _axis_dims(state, f"{path}.constraints.spatial", constraints.get("spatial"), mesh)
        state.axes.append({"name": f"{name}.{mesh[-1].lower()}" if len(meshes) > 1 else name, "size": size,
                           "below": state.levels[-1]["name"], "dims": dims})  # fmt: skip


def _kind(cls: str) -> str | None:
    c = cls.lower()
    if "metadata" in c:
        return None
    if "dram" in c:
        return "dram"
    if "regfile" in c or c.endswith("_rf") or c in ("rf", "register", "reg"):
        return "regfile"
    if "sram" in c or "buffer" in c or c == "storage":
        return "sram"
    if "mac" in c:
        return "mac"
    return None


def _component(state: _Arch, path: str, node: dict[str, Any]) -> None:
    _unknown_keys(state.problems, path, node, {TAG, "name", "class", "attributes", "constraints", "spatial", "required_actions", "enabled"})
    name, cls = node.get("name"), node.get("class")
    if not isinstance(name, str) or not name or "[" in name:
        state.problems.add(f"{path}.name", name, "expected a plain component name (v0.3 name[1..N] arrays are not supported)")
        return
    attrs = node.get("attributes") or {}
    if not isinstance(attrs, dict):
        state.problems.add(f"{path}.attributes", attrs, "expected a mapping")
        attrs = {}
    kind = _kind(str(cls)) if isinstance(cls, str) else None
    if kind is None:
        state.problems.add(f"{path}.class", cls, "expected a DRAM, SRAM/buffer, register-file or MAC class (others are not supported)")
        return
    state.common(f"{path}.attributes", attrs)
    _fanout(state, path, node)
    if state.mac is not None:
        state.problems.add(path, name, "expected the MAC component last (no storage below the compute)")
    constraints = node.get("constraints") or {}
    if not isinstance(constraints, dict):
        state.problems.add(f"{path}.constraints", constraints, "expected a mapping")
        constraints = {}
    if kind == "mac":
        _unknown_keys(state.problems, f"{path}.attributes", attrs, _MAC_ATTRS)
        _unknown_keys(state.problems, f"{path}.constraints", constraints, {"spatial"})
        mult = state.number(f"{path}.attributes.multiplier_width", attrs.get("multiplier_width", attrs.get("datawidth", 8)), 1)
        adder = state.number(f"{path}.attributes.adder_width", attrs.get("adder_width", 24), 1)
        state.mac = {"weight_bits": mult or 8, "input_bits": mult or 8, "accumulator_bits": adder or 24}
        return
    _unknown_keys(state.problems, f"{path}.attributes", attrs, _STORAGE_ATTRS)
    _unknown_keys(state.problems, f"{path}.constraints", constraints, {"dataspace", "temporal", "spatial"})
    width = state.number(f"{path}.attributes.width", attrs.get("width", 64), 1)
    datawidth = state.number(f"{path}.attributes.datawidth", attrs.get("datawidth", 8), 1)
    level: dict[str, Any] = {"name": name, "kind": kind, "word_bits": width or 64}
    if kind == "dram":
        level["dram_type"] = str(attrs.get("type", "LPDDR4"))
        if "depth" in attrs:
            depth = state.number(f"{path}.attributes.depth", attrs["depth"], 1)
            level["size_bytes"] = (depth or 1) * (width or 64) / 8
    else:
        depth = state.number(f"{path}.attributes.depth", attrs.get("depth"), 1)
        level["size_bytes"] = (depth or 1) * (width or 64) / 8
    if "n_banks" in attrs:
        level["banks"] = state.number(f"{path}.attributes.n_banks", attrs["n_banks"], 1) or 1
    for key in ("read_bandwidth", "write_bandwidth"):
        if key in attrs:
            bw = state.number(f"{path}.attributes.{key}", attrs[key], 0, integer=False)
            level[f"{key}_bits_per_cycle"] = (bw or 1.0) * (datawidth or 8)
    if attrs.get("n_rdwr_ports") == 1 and "n_rd_ports" not in attrs:
        level["ports"] = 1
    if "multiple_buffering" in attrs:
        level["double_buffered"] = (state.number(f"{path}.attributes.multiple_buffering", attrs["multiple_buffering"], 1) or 1) >= 2
    keeps = _keeps(state, f"{path}.constraints.dataspace", constraints.get("dataspace"))
    level["keeps"] = keeps if keeps is not None else ["weights", "inputs", "outputs"]
    temporal = constraints.get("temporal")
    if temporal is not None:
        tpath = f"{path}.constraints.temporal"
        if not isinstance(temporal, dict):
            state.problems.add(tpath, temporal, "expected {factors, permutation}")
        else:
            _unknown_keys(state.problems, tpath, temporal, {"factors", "permutation", "no_reuse"})
            if "permutation" in temporal:
                _dims_from(state, f"{tpath}.permutation", temporal["permutation"])
            factors = _factors(state, f"{tpath}.factors", temporal["factors"]) if "factors" in temporal else {}
            if any(n == 1 for n in factors.values()):
                level["temporal_dims"] = [d for d in DIMS if factors.get(d) != 1]
            if any(n > 1 for n in factors.values()):
                level["factors"] = {d: n for d, n in factors.items() if n > 1}
    state.levels.append(level)


def _walk(state: _Arch, path: str, nodes: Any) -> None:
    if not isinstance(nodes, list):
        state.problems.add(path, nodes, "expected a list of !Container, !Component and !Parallel nodes")
        return
    for i, node in enumerate(nodes):
        where = f"{path}[{i}]"
        tag = node.get(TAG) if isinstance(node, dict) else None
        if tag == "!Component":
            _component(state, where, node)
        elif tag == "!Container":
            _unknown_keys(state.problems, where, node, {TAG, "name", "attributes", "spatial", "constraints", "nodes"})
            attrs = node.get("attributes") or {}
            if isinstance(attrs, dict):
                _unknown_keys(state.problems, f"{where}.attributes", attrs, _CONTAINER_ATTRS | {"meshX", "meshY"})
                state.common(f"{where}.attributes", attrs)
            constraints = node.get("constraints") or {}
            if isinstance(constraints, dict):
                _unknown_keys(state.problems, f"{where}.constraints", constraints, {"spatial"})
            if state.name is None and isinstance(node.get("name"), str):
                state.name = node["name"]
            _fanout(state, where, node)
            if "nodes" in node:
                _walk(state, f"{where}.nodes", node["nodes"])
        elif tag == "!Parallel":
            _unknown_keys(state.problems, where, node, {TAG, "nodes", "name"})
            before = len(state.levels)
            _walk(state, f"{where}.nodes", node.get("nodes"))
            kept = [o for lv in state.levels[before:] for o in lv["keeps"]]
            if len(kept) != len(set(kept)):
                state.problems.add(f"{where}.nodes", kept, "expected parallel storage keeping disjoint data spaces")
        else:
            state.problems.add(where, tag or node, "expected a !Container, !Component or !Parallel node")


def timeloop_architecture(data: Any, source: str = "<timeloop>", names: TimeloopNames | None = None) -> Architecture:
    """A Timeloop v0.4 architecture tree as an :class:`Architecture` (see the module documentation).

    ``names`` (from :func:`timeloop_problem_names`) says how constraints and keep/bypass lists name dimensions
    and data spaces; by default Timeloop's conv names (``C M R S N P Q``, ``Weights Inputs Outputs``).
    """
    problems = Problems(source)
    top = data.get("architecture") if isinstance(data, dict) else None
    if not isinstance(top, dict):
        raise SpecError(source, [Problem("architecture", top, "expected a mapping with version and nodes")])
    _unknown_keys(problems, "architecture", top, {"version", "nodes"})
    if str(top.get("version", "0.4")) != "0.4":
        problems.add("architecture.version", top.get("version"), "expected 0.4 (other Timeloop versions are not supported)")
    state = _Arch(problems, names or CONV_NAMES)
    _walk(state, "architecture.nodes", top.get("nodes"))
    if state.mac is None:
        problems.add("architecture.nodes", None, "expected a MAC component (a class containing 'mac', e.g. intmac) last")
    if not state.levels:
        problems.add("architecture.nodes", None, "expected at least one storage component (DRAM first)")
    if not state.axes:
        state.axes.append({"name": "pe", "size": 1, "below": state.levels[-1]["name"] if state.levels else "DRAM"})
    problems.raise_if_any()
    spec: dict[str, Any] = {
        "name": state.name or (Path(source).stem if source.endswith((".yaml", ".yml")) else "timeloop"),
        "levels": state.levels,
        "pe_array": {"axes": state.axes},
        "mac": state.mac,
    }
    if state.node_nm is not None:
        spec["technology"] = {"node_nm": state.node_nm}
    if state.cycle_s is not None:
        spec["clock_hz"] = 1.0 / state.cycle_s
    return architecture_from_dict(spec, source=source)
