"""SCALE-Sim's inputs as hwsim objects: its config file (.cfg) and its topology CSVs.

A SCALE-Sim config describes a systolic array (``ArrayHeight`` × ``ArrayWidth``), three
double-buffered SRAMs (ifmap, filter, ofmap, sizes in KiB), a dataflow (``os``, ``ws`` or
``is``) and, with ``InterfaceBandwidth: USER``, the DRAM bandwidth in words per cycle. It
becomes an :class:`~hwsim.core.arch.Architecture` whose dataflow is *data*:

* levels ``DRAM`` → ``ifmap_sram`` (inputs) → ``filter_sram`` (weights) → ``ofmap_sram``
  (outputs), then ``pe_reg``: the one register per PE that holds the dataflow's stationary
  operand (outputs for os, weights for ws, inputs for is) and runs no loops of its own;
* two axes below ``ofmap_sram``, ``rows`` and ``cols``, whose allowed dimensions are the
  dataflow's (os: rows = output pixels, cols = filters; ws: rows = window, cols = filters;
  is: rows = window, cols = output pixels);
* 1-byte words everywhere (SCALE-Sim's assumption), SRAMs serving one array edge per cycle,
  and DRAM unlimited in ``CALC`` mode (SCALE-Sim's stall-free estimate). In ``USER`` mode
  SCALE-Sim 3.0.0 reads ifmap and filter from DRAM at ``IfmapSRAMBankBandwidth`` and
  ``FilterSRAMBankBandwidth`` words per cycle (two channels) and writes the ofmap at the
  first ``Bandwidth`` figure; hwsim's one DRAM level reads at their sum and writes at the latter.

:func:`scalesim_mapping` gives the fixed mapping that reproduces SCALE-Sim's folding of a
layer (its im2col view, as SCALE-Sim's operand matrices are), so the cycle engine can be
compared with SCALE-Sim fold for fold.

Topology CSVs come in two forms, both with a header row and a trailing comma per row:
convolutions ``name, ifmap h, ifmap w, filter h, filter w, channels, num filters, stride[,
sparsity N:M]`` (unpadded, as SCALE-Sim runs them) and GEMMs ``name, M, N, K[, sparsity]``.
"""

from __future__ import annotations

import configparser
import csv
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from hwsim.core.arch import Architecture, architecture_from_dict
from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.mapping import Mapping, check_mapping
from hwsim.core.spec import read_spec_text
from hwsim.core.workload import Layer, Network, conv2d, gemm

__all__ = [
    "DATAFLOWS",
    "load_scalesim_config",
    "load_scalesim_topology",
    "scalesim_config_from_text",
    "scalesim_dataflow",
    "scalesim_folds",
    "scalesim_im2col",
    "scalesim_mapping",
    "scalesim_network",
    "scalesim_topology_from_text",
]


# The dataflows as data: what the rows and columns of the array hold, what streams in time
# (SCALE-Sim's S_r, S_c and T), and which operand stays in the PE.
_PIXELS = ("N", "P", "Q")
_WINDOW = ("C", "R", "S")
_FILTERS = ("K",)
DATAFLOWS: dict[str, dict[str, Any]] = {
    "os": {"rows": _PIXELS, "cols": _FILTERS, "time": _WINDOW, "stationary": "outputs"},
    "ws": {"rows": _WINDOW, "cols": _FILTERS, "time": _PIXELS, "stationary": "weights"},
    "is": {"rows": _WINDOW, "cols": _PIXELS, "time": _FILTERS, "stationary": "inputs"},
}


def load_scalesim_config(path: str | Path, *, clock_hz: float = 1e9) -> Architecture:
    """An architecture from a SCALE-Sim ``.cfg`` file; raises SpecError listing every problem."""
    return scalesim_config_from_text(read_spec_text(path), source=str(path), clock_hz=clock_hz)


class _Section:
    def __init__(self, cp: configparser.ConfigParser, name: str, problems: Problems, required: bool = True):
        self.name = name
        self.problems = problems
        self.present = cp.has_section(name)
        self.data = dict(cp.items(name)) if self.present else {}
        if required and not self.present:
            problems.add(f"[{name}]", None, "expected this section (required)")

    def at(self, key: str) -> str:
        return f"[{self.name}].{key}"

    def integer(self, key: str, default: int | None = None, minimum: int = 1) -> int | None:
        raw = self.data.get(key.lower())
        if raw is None or raw.strip() == "":
            if default is None and self.present:
                self.problems.add(self.at(key), None, f"expected an integer ≥ {minimum} (required field)")
            return default
        try:
            v = int(raw.strip())
        except ValueError:
            self.problems.add(self.at(key), raw.strip(), f"expected an integer ≥ {minimum}")
            return default
        if v < minimum:
            self.problems.add(self.at(key), v, f"expected an integer ≥ {minimum}")
            return default
        return v

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        raw = self.data.get(key.lower())
        if raw is None or raw.strip() == "":
            if default is None and self.present:
                self.problems.add(self.at(key), None, f"expected one of {', '.join(choices)} (required field)")
            return default
        v = raw.strip()
        if v.lower() not in choices:
            self.problems.add(self.at(key), v, f"expected one of {', '.join(choices)}")
            return default
        return v.lower()

    def boolean(self, key: str, default: bool) -> bool:
        raw = self.data.get(key.lower())
        if raw is None:
            return default
        v = raw.strip().lower()
        if v not in ("true", "false"):
            self.problems.add(self.at(key), raw.strip(), "expected True or False")
            return default
        return v == "true"

    def int_list(self, key: str) -> list[int] | None:
        raw = self.data.get(key.lower())
        if raw is None or raw.strip() == "":
            self.problems.add(self.at(key), None, "expected a positive integer, or a comma-separated list of them (required with InterfaceBandwidth: USER)")
            return None
        try:
            values = [int(x.strip()) for x in raw.split(",")]
        except ValueError:
            values = []
        if not values or any(v < 1 for v in values):
            self.problems.add(self.at(key), raw.strip(), "expected a positive integer, or a comma-separated list of them (words per cycle)")
            return None
        return values


def scalesim_config_from_text(text: str, source: str = "<text>", *, clock_hz: float = 1e9) -> Architecture:
    """Parse the text of a SCALE-Sim config (see :func:`load_scalesim_config`)."""
    problems = Problems(source)
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        cp.read_string(text, source=source)
    except configparser.Error as e:
        first = str(e).splitlines()[0]
        raise SpecError(source, [Problem("", "config text", f"expected an INI file of [sections] and key: value lines ({first})")]) from None
    general = _Section(cp, "general", problems, required=False)
    run_name = (general.data.get("run_name") or Path(source).stem or "scalesim").strip()
    arch = _Section(cp, "architecture_presets", problems)
    rows = arch.integer("ArrayHeight")
    cols = arch.integer("ArrayWidth")
    sizes = {k: arch.integer(f"{k}SramSzkB") for k in ("Ifmap", "Filter", "Ofmap")}
    dataflow = arch.choice("Dataflow", tuple(DATAFLOWS))
    run = _Section(cp, "run_presets", problems, required=False)
    mode = run.choice("InterfaceBandwidth", ("user", "calc"), default="calc")
    layout = _Section(cp, "layout", problems, required=False)
    sparsity = _Section(cp, "sparsity", problems, required=False)
    sparse = sparsity.boolean("SparsitySupport", False)
    read_bw = write_bw = None
    if mode == "user":
        bws = arch.int_list("Bandwidth")
        ifmap_bw = layout.integer("IfmapSRAMBankBandwidth", default=10)
        filter_bw = layout.integer("FilterSRAMBankBandwidth", default=10)
        for key, bw in (("Ifmap", ifmap_bw), ("Filter", filter_bw)):
            banks = layout.integer(f"{key}SRAMBankNum", default=1)
            if bw and banks and bw % banks:
                problems.add(layout.at(f"{key}SRAMBankNum"), banks, f"expected a divisor of {key}SRAMBankBandwidth={bw} (SCALE-Sim asserts it)")
        if bws and ifmap_bw and filter_bw:
            read_bw, write_bw = float(ifmap_bw + filter_bw), float(bws[0])
    problems.raise_if_any()
    assert rows and cols and dataflow and all(sizes.values())
    flow = DATAFLOWS[dataflow]
    edge_bits = 8 * max(rows, cols)
    dram: dict[str, Any] = {"name": "DRAM", "kind": "dram", "word_bits": 8, "keeps": ["weights", "inputs", "outputs"]}
    if read_bw is not None and write_bw is not None:
        dram |= {"read_bandwidth_bits_per_cycle": 8 * read_bw, "write_bandwidth_bits_per_cycle": 8 * write_bw}

    def sram(name: str, size_kib: int | None, keeps: str) -> dict[str, Any]:
        return {"name": name, "kind": "sram", "size_kib": size_kib, "word_bits": 8, "double_buffered": True, "keeps": [keeps],
                "read_bandwidth_bits_per_cycle": edge_bits, "write_bandwidth_bits_per_cycle": edge_bits}  # fmt: skip

    spec = {
        "name": run_name,
        "clock_hz": clock_hz,
        "mac": {"weight_bits": 8, "input_bits": 8, "accumulator_bits": 8},
        "levels": [
            dram,
            sram("ifmap_sram", sizes["Ifmap"], "inputs"),
            sram("filter_sram", sizes["Filter"], "weights"),
            sram("ofmap_sram", sizes["Ofmap"], "outputs"),
            # The PE's stationary register: one element, refilled between folds, no loops inside.
            {"name": "pe_reg", "kind": "regfile", "size_bytes": 8, "word_bits": 8, "keeps": [flow["stationary"]], "temporal_dims": [],
             "read_bandwidth_bits_per_cycle": 8, "write_bandwidth_bits_per_cycle": 8},
        ],
        "pe_array": {"axes": [
            {"name": "rows", "size": rows, "below": "ofmap_sram", "dims": list(flow["rows"])},
            {"name": "cols", "size": cols, "below": "ofmap_sram", "dims": list(flow["cols"])},
        ]},
    }  # fmt: skip
    out = architecture_from_dict(spec, source=source)
    return replace(out, source=f"{source} (SCALE-Sim {dataflow}{', sparse' if sparse else ''})")


def scalesim_dataflow(arch: Architecture) -> str:
    """The SCALE-Sim dataflow (os, ws, is) an imported architecture was built for."""
    dims = tuple(a.dims for a in arch.axes)
    for name, flow in DATAFLOWS.items():
        if dims == (flow["rows"], flow["cols"]):
            return name
    raise SpecError(arch.source, [Problem("pe_array.axes", [a.name for a in arch.axes], "expected a SCALE-Sim array (rows and cols of os, ws or is)")])


# ---------------------------------------------------------------------------------------------
# Topologies


def load_scalesim_topology(path: str | Path, *, psum_bits: int = 8) -> Network:
    """A network from a SCALE-Sim topology CSV (convolution or GEMM form, told by the header).

    Every element is one byte, as in SCALE-Sim (``psum_bits=24`` gives hwsim's usual wide
    partial sums). A ``N:M`` sparsity column sets the weights' density and structure.
    """
    return scalesim_topology_from_text(read_spec_text(path), source=str(path), psum_bits=psum_bits)


_CONV_COLUMNS = ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride")
_GEMM_COLUMNS = ("M", "N", "K")


def scalesim_topology_from_text(text: str, source: str = "<text>", *, psum_bits: int = 8) -> Network:
    problems = Problems(source)
    rows = [[c.strip() for c in r] for r in csv.reader(text.splitlines())]
    rows = [r[:-1] if r and r[-1] == "" else r for r in rows]
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(r)]
    if not numbered:
        raise SpecError(source, [Problem("", "an empty file", "expected a header row and one row per layer")])
    header = [h.lower() for h in numbered[0][1]]
    is_gemm = len(header) >= 4 and header[1:4] == ["m", "n", "k"]
    is_conv = len(header) >= 8 and header[1].startswith("ifmap")
    if not (is_gemm or is_conv):
        raise SpecError(source, [Problem("line 1", ", ".join(numbered[0][1]),
                        "expected a SCALE-Sim header: 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                        "Channels, Num Filter, Strides,' or 'Layer, M, N, K,'")])  # fmt: skip
    columns = _GEMM_COLUMNS if is_gemm else _CONV_COLUMNS
    net = Network(Path(source).stem if source.endswith(".csv") else "scalesim")
    names: set[str] = set()
    for line, r in numbered[1:]:
        where = f"line {line}"
        if len(r) < 1 + len(columns):
            problems.add(where, ",".join(r), f"expected {1 + len(columns)} fields: name, {', '.join(columns)}[, sparsity N:M]")
            continue
        name = r[0]
        if not name or name in names:
            problems.add(f"{where}.name", name, "expected a unique, non-empty layer name")
            continue
        names.add(name)
        values: dict[str, int] = {}
        for col, raw in zip(columns, r[1 : 1 + len(columns)], strict=True):
            try:
                v = int(raw)
            except ValueError:
                v = 0
            if v < 1:
                problems.add(f"{where}.{col}", raw, "expected a positive integer")
            values[col] = v
        density, structure = _sparsity(r[1 + len(columns) :], f"{where}.sparsity", problems)
        if any(v < 1 for v in values.values()):
            continue
        if is_gemm:
            layer = gemm(name, M=values["M"], N=values["N"], K=values["K"], psum_bits=psum_bits)
        else:
            h, w, fh, fw = values["ifmap_h"], values["ifmap_w"], values["filter_h"], values["filter_w"]
            if fh > h or fw > w:
                problems.add(f"{where}.filter_h", (fh, fw), f"expected a filter no larger than the ifmap {(h, w)}")
                continue
            layer = conv2d(name, in_channels=values["channels"], out_channels=values["num_filters"], in_hw=(h, w), kernel=(fh, fw),
                           stride=values["stride"], psum_bits=psum_bits)  # fmt: skip
            # SCALE-Sim's own output size, ceil((H − R + s) / s): one more than PyTorch's when
            # (H − R) is not a multiple of the stride. Kept, so hwsim runs the layer SCALE-Sim runs.
            st = values["stride"]
            ofmap = {"P": math.ceil((h - fh + st) / st), "Q": math.ceil((w - fw + st) / st)}
            layer = replace(layer, bounds=tuple((d, ofmap.get(d, n)) for d, n in layer.bounds))
        if density < 1.0:
            ops = tuple(replace(o, density=density, structure=structure) if o.name == "weights" else o for o in layer.operands)
            layer = replace(layer, operands=ops)
        net.add(layer)
    if not names and not problems:
        problems.add("", "a header only", "expected at least one layer row")
    problems.raise_if_any()
    return net


def _sparsity(extra: list[str], where: str, problems: Problems) -> tuple[float, str]:
    if not extra or not extra[0]:
        return 1.0, "dense"
    parts = extra[0].split(":")
    try:
        n, m = int(parts[0]), int(parts[1])
        ok = len(parts) == 2 and 1 <= n <= m
    except (ValueError, IndexError):
        ok = False
    if not ok:
        problems.add(where, extra[0], "expected N:M with 1 ≤ N ≤ M (e.g. 2:4)")
        return 1.0, "dense"
    return (1.0, "dense") if n == m else (n / m, f"{n}:{m}")


# ---------------------------------------------------------------------------------------------
# SCALE-Sim's folding as an hwsim mapping


def scalesim_im2col(layer: Layer) -> Layer:
    """The layer as SCALE-Sim's operand matrices see it: a GEMM of pixels × window × filters.

    Rows of the ifmap matrix are the ``N·P·Q`` output pixels, its columns the ``C·R·S`` window
    (inputs duplicated across overlapping windows, as SCALE-Sim addresses them); groups stay on G.
    """
    d = layer.dims
    pixels, window = d["N"] * d["P"] * d["Q"], d["C"] * d["R"] * d["S"]
    w, i, o = (layer.operand(n) for n in ("weights", "inputs", "outputs"))
    g = gemm(layer.name, M=pixels, N=d["K"], K=window, weight_bits=w.bits, input_bits=i.bits, psum_bits=o.onchip_bits)
    bounds = tuple((k, d["G"] if k == "G" else v) for k, v in g.bounds)
    ops = tuple(replace(op, bits=src.bits, density=src.density, structure=src.structure)
                for op, src in zip(g.operands, (w, i, o), strict=True))  # fmt: skip
    return replace(g, kind=layer.kind, bounds=bounds, operands=ops)


def scalesim_folds(layer: Layer, rows: int, cols: int, dataflow: str) -> tuple[int, int, int, int, int]:
    """SCALE-Sim's ``(S_r, S_c, T, row folds, col folds)`` of a layer on a rows×cols array."""
    d = layer.dims
    sizes = {"pixels": d["N"] * d["P"] * d["Q"], "window": d["C"] * d["R"] * d["S"], "filters": d["K"]}
    role = {"os": ("pixels", "filters", "window"), "ws": ("window", "filters", "pixels"), "is": ("window", "pixels", "filters")}[dataflow]
    sr, sc, t = (sizes[r] for r in role)
    return sr, sc, t, math.ceil(sr / rows), math.ceil(sc / cols)


def scalesim_mapping(layer: Layer, arch: Architecture) -> tuple[Layer, Mapping]:
    """SCALE-Sim's fixed schedule of ``layer`` on an imported ``arch``: (im2col layer, mapping).

    Folds are DRAM-level loops (column folds outside row folds, SCALE-Sim's order); the stream
    ``T`` runs at ``ofmap_sram``, above the array; each fold spreads ``S_r`` and ``S_c`` evenly
    over ``ceil(S/array)`` folds (the same fold count as SCALE-Sim's full-then-partial split,
    which hwsim's no-oversized-factor rule does not allow). SCALE-Sim streams operands through
    its SRAMs, so a fold's working set may exceed them: only capacity is left unchecked.
    """
    dataflow = scalesim_dataflow(arch)
    g = scalesim_im2col(layer)
    rows, cols = (a.size for a in arch.axes)
    sr, sc, t, row_folds, col_folds = scalesim_folds(layer, rows, cols, dataflow)
    role_dim = {"pixels": "P", "window": "C", "filters": "K"}
    r_dim, c_dim, t_dim = (role_dim[x] for x in {"os": ("pixels", "filters", "window"), "ws": ("window", "filters", "pixels"),
                                                 "is": ("window", "pixels", "filters")}[dataflow])  # fmt: skip
    dram_loops = [(d, n) for d, n in (("G", g.dims["G"]), (c_dim, col_folds), (r_dim, row_folds)) if n > 1]
    temporal: list[list[tuple[str, int]]] = [dram_loops, [], [], [(t_dim, t)], []]
    spatial = [[(r_dim, math.ceil(sr / row_folds))], [(c_dim, math.ceil(sc / col_folds))]]
    mapping = Mapping.build(temporal, spatial)
    problems = [p for p in check_mapping(g, arch, mapping) if not p.path.startswith("capacity[")]
    if problems:  # pragma: no cover - a bug in the construction above, not bad input
        raise SpecError(f"SCALE-Sim mapping of {layer.name!r} on {arch.name!r}", problems)
    return g, mapping


def scalesim_network(network: Network, arch: Architecture, source: str = "--mappings scalesim") -> tuple[Network, dict[str, Mapping]]:
    """``network`` as SCALE-Sim runs it on an imported ``arch``: every layer in its im2col form under SCALE-Sim's own folding
    (:func:`scalesim_mapping`), as (network, layer name → mapping); one error if ``arch`` is not a SCALE-Sim array or an op is
    not a layer SCALE-Sim runs."""
    try:
        scalesim_dataflow(arch)
    except SpecError:
        raise SpecError(source, [Problem("--arch", arch.name, "expected a SCALE-Sim config (.cfg) for SCALE-Sim's folding: "
                                                              "an array whose rows and columns hold os, ws or is")]) from None  # fmt: skip
    graph = network.graph.copy()
    mappings: dict[str, Mapping] = {}
    problems = Problems(source)
    for name, data in graph.nodes(data=True):
        op = data["op"]
        if not isinstance(op, Layer) or op.kind not in ("conv2d", "depthwise", "fc", "gemm"):
            problems.add(f"--workload: {name}", getattr(op, "kind", type(op).__name__), "expected a convolution or GEMM layer "
                                                                                          "(SCALE-Sim runs nothing else)")  # fmt: skip
            continue
        data["op"], mappings[name] = scalesim_mapping(op, arch)
    problems.raise_if_any()
    return Network(network.name, graph, network.last), mappings
