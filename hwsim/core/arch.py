"""Architecture: a tree of storage levels with spatial fan-outs, a MAC unit and a clock.

The tree is written as a list of levels from outermost (DRAM) to innermost (registers) and a
list of spatial axes, each fanning out *below* a named level. A level's instance count is the
product of the sizes of the axes above it, so an Eyeriss PE's scratchpads (below a 12×14
array) have 168 instances, and Simba's two fan-outs (16 PEs, then 8×8 vector MACs inside
each) are two groups of axes below two different levels. Nothing else is special-cased.

Every energy and area field is optional; :func:`load_architecture` fills the missing ones
from :mod:`hwsim.core.technology` (cited defaults) for the level's kind, size, width and node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hwsim.core import technology as tech
from hwsim.core.errors import Problem, Problems
from hwsim.core.formats import FORMATS, bits_per_element
from hwsim.core.spec import Fields, read_yaml
from hwsim.core.workload import DIMS, OPERANDS, Operand

__all__ = ["HWSIM", "TIMELOOP", "Architecture", "Level", "MacUnit", "Semantics", "SpatialAxis", "VectorUnit", "architecture_from_dict",
           "element_bits", "factor_constraints", "load_architecture", "may_bypass_problems"]

LEVEL_KINDS = ("dram", "sram", "regfile")


@dataclass(frozen=True)
class Level:
    """One storage level (per instance figures).

    ``size_bytes`` None means unbounded (DRAM). Bandwidths are bits per cycle per instance;
    None means unlimited. With ``ports == 1`` reads and writes share one port's bandwidth.
    Energies are pJ per access of one ``word_bits`` word: reads, writes (fills) and updates (partial sums written back
    into the level, at ``update_energy_pj``; None: the write energy); ``temporal_dims`` restricts which
    dimensions may have temporal loops at this level (a mapping constraint; None = any);
    ``fixed_factors`` pins temporal loop bounds, ``min_factors``/``max_factors`` bound them (Timeloop's ``X>=n``,
    ``X<=n``), ``whole_dims`` are dimensions this level's loops cover entirely, no other level or axis splitting them
    (Timeloop's ``X=0``), ``loop_order`` pins the order (outer to inner) of this level's loops and ``inner_order``
    only its innermost ones (outer to inner; the others come outside them in any order: a partial permutation); all
    are mapping constraints (:func:`hwsim.core.mapping.constraint_problems` decides whether a mapping meets them).
    ``may_bypass`` names kept operands the mapper may also send past this level
    (a mapping's ``bypass``, searched per layer; never at the outermost level, which holds every operand).
    ``cluster_size`` instances share one physical row (Timeloop's ``cluster_size``): one access of the row serves
    all of them, so a level's accesses are billed once per utilized cluster, not per utilized instance.
    """

    name: str
    kind: str
    keeps: tuple[str, ...]
    size_bytes: float | None
    word_bits: int
    banks: int = 1
    ports: int = 2
    read_bandwidth_bits_per_cycle: float | None = None
    write_bandwidth_bits_per_cycle: float | None = None
    double_buffered: bool = False
    read_energy_pj: float = 0.0
    write_energy_pj: float = 0.0
    leakage_mw: float = 0.0
    area_um2: float = 0.0
    temporal_dims: tuple[str, ...] | None = None
    dram_type: str | None = None
    fixed_factors: tuple[tuple[str, int], ...] = ()
    loop_order: tuple[str, ...] | None = None
    formats: tuple[tuple[str, str], ...] = ()
    may_bypass: tuple[str, ...] = ()
    min_factors: tuple[tuple[str, int], ...] = ()
    max_factors: tuple[tuple[str, int], ...] = ()
    whole_dims: tuple[str, ...] = ()
    inner_order: tuple[str, ...] = ()
    update_energy_pj: float | None = None
    cluster_size: int = 1

    @property
    def update_pj(self) -> float:
        """Energy per word updated: ``update_energy_pj``, or the write energy when it is None."""
        return self.write_energy_pj if self.update_energy_pj is None else self.update_energy_pj

    def format_of(self, operand: str) -> str | None:
        """The compression format this level stores ``operand`` in (None: uncompressed)."""
        return dict(self.formats).get(operand)


def element_bits(op: Operand, level: Level) -> float:
    """Bits per element of ``op`` at ``level`` (its format's data and metadata; :func:`hwsim.core.formats.bits_per_element`)."""
    return bits_per_element(op, level.format_of(op.name), op.onchip_bits)


@dataclass(frozen=True)
class SpatialAxis:
    """A spatial fan-out of ``size`` instances below level ``below``.

    ``dims`` lists the dimensions the mapper may unroll on this axis (the dataflow).
    ``multicast``: one read of the level above serves every instance needing the same
    element. ``reduction``: partial sums from instances are summed in the network, so
    dimensions irrelevant to the outputs may be unrolled here. ``fixed_factors``, ``min_factors``, ``max_factors`` and
    ``whole_dims`` constrain the axis's unrolling as a level's constrain its loops (mapping constraints).
    """

    name: str
    size: int
    below: str
    dims: tuple[str, ...] = DIMS
    multicast: bool = True
    reduction: bool = True
    fixed_factors: tuple[tuple[str, int], ...] = ()
    min_factors: tuple[tuple[str, int], ...] = ()
    max_factors: tuple[tuple[str, int], ...] = ()
    whole_dims: tuple[str, ...] = ()


@dataclass(frozen=True)
class MacUnit:
    """The multiply-accumulate unit: its native widths, its PE model and per-MAC energy/area.

    ``kind`` is ``fixed``, ``bit-serial`` or ``bit-fusion`` (see :mod:`hwsim.cost.precision`);
    ``energy_pj`` is one MAC at the native widths. ``skip``/``gate`` name the operands whose
    zeros it skips (cycles and energy) or gates (energy); ``skip_structure`` is ``any`` or
    ``n:m`` (skipping only N:M-structured operands), see :mod:`hwsim.cost.sparsity`.
    """

    weight_bits: int = 8
    input_bits: int = 8
    accumulator_bits: int = 24
    energy_pj: float = 0.0
    area_um2: float = 0.0
    leakage_mw: float = 0.0
    kind: str = "fixed"
    skip: tuple[str, ...] = ()
    gate: tuple[str, ...] = ()
    skip_structure: str = "any"
    fp_bits: int = 0  # width of a floating-point datapath (0: integers only)
    fp_energy_pj: float = 0.0  # one floating-point MAC at fp_bits


@dataclass(frozen=True)
class VectorUnit:
    """A vector (post-processing) unit on the PE array's output path: pooling, residual adds, activations and norms
    applied to a layer's outputs as they leave the array, instead of a DRAM round trip
    (:mod:`hwsim.evaluate.residency`). ``energy_pj_per_op`` is one element operation, ``ops_per_cycle`` its throughput."""

    ops_per_cycle: float
    energy_pj_per_op: float
    area_um2: float = 0.0


@dataclass(frozen=True)
class Semantics:
    """The modelling choices where Timeloop's model and hwsim's differ (docs/architecture.md, "Two semantics").

    Each option is False in hwsim's semantics (:data:`HWSIM`, the default) and True in Timeloop's (:data:`TIMELOOP`,
    the default of designs imported from Timeloop files):

    * ``sliding_window``: when the loop that reloads a level's tile steps along a sliding-window dimension
      (an input row over the output positions and filter taps), the level is filled only with the part of the new
      tile the previous one did not hold; hwsim reloads the whole tile (a buffer that shifts its contents in place
      is hardware hwsim does not assume).
    * ``overlapped_cycles``: the latency is the longest of the compute and every level's transfer time in whole
      cycles (Timeloop: every transfer overlaps compute); hwsim's pays the first tiles' start-up, the last tile's drain, a systolic
      array's fill and drain, and the refills of single-buffered levels the PEs wait for.
    * ``whole_vectors``: a level's energy is billed per whole word (Timeloop's vector of ``block_size`` elements) each
      instance moves, rounded up separately for every operand's reads, fills and updates; hwsim bills the bits moved
      over the word width (a partly used word costs its share).
    * ``per_pe_windows``: a level multicasting an operand to PEs whose windows overlap (neighbouring output rows
      need overlapping input rows) reads each PE's window; hwsim reads the union once (a multicast network that
      delivers every element to all PEs needing it, as Eyeriss's does).
    * ``psum_fill_per_pe``: partial sums read back from a level into a group of PEs that reduce them spatially fill
      every PE of the group; hwsim fills one (the others start from zero, the sum is the same).
    * ``mac_operand_reuse``: MACs fed across a spatial fan-out from the level holding an input operand keep it over
      the innermost loops that do not index it (Timeloop counts one read per change); hwsim reads it for every MAC
      (a MAC has no operand register of its own unless the spec gives it a level).
    * ``utilized_leakage``: leakage is billed in the storage instances the mapping uses (the others power-gated) and
      not for the MACs (Timeloop's arithmetic model has no leakage); hwsim bills every instance's and every MAC's.
    """

    sliding_window: bool = False
    overlapped_cycles: bool = False
    whole_vectors: bool = False
    per_pe_windows: bool = False
    psum_fill_per_pe: bool = False
    mac_operand_reuse: bool = False
    utilized_leakage: bool = False

    @property
    def name(self) -> str:
        """``hwsim``, ``timeloop`` or the options that are on (``sliding_window+...``)."""
        if self == HWSIM:
            return "hwsim"
        if self == TIMELOOP:
            return "timeloop"
        return "+".join(k for k in SEMANTICS_OPTIONS if getattr(self, k)) or "hwsim"


SEMANTICS_OPTIONS = ("sliding_window", "overlapped_cycles", "whole_vectors", "per_pe_windows", "psum_fill_per_pe", "mac_operand_reuse",
                     "utilized_leakage")
HWSIM = Semantics()
TIMELOOP = Semantics(**{k: True for k in SEMANTICS_OPTIONS})
NAMED_SEMANTICS = {"hwsim": HWSIM, "timeloop": TIMELOOP}


@dataclass(frozen=True)
class Architecture:
    name: str
    levels: tuple[Level, ...]
    axes: tuple[SpatialAxis, ...]
    mac: MacUnit
    clock_hz: float
    node_nm: float
    source: str = "<python>"
    semantics: Semantics = HWSIM
    notes: tuple[str, ...] = ()  # what an importer read but the model does not apply (the command line prints them)
    vector: VectorUnit | None = None  # the post-processing unit on the output path (None: element-wise ops go through DRAM)

    def level_index(self, name: str) -> int:
        for i, lv in enumerate(self.levels):
            if lv.name == name:
                return i
        raise KeyError(name)

    def instances(self, level_index: int) -> int:
        """Physical instances of a level (``len(levels)`` means the MACs)."""
        return math.prod(a.size for a in self.axes if self.level_index(a.below) < level_index)

    @property
    def num_macs(self) -> int:
        return math.prod(a.size for a in self.axes)

    @property
    def dram(self) -> Level:
        return self.levels[0]

    @property
    def area_um2(self) -> float:
        storage = sum(lv.area_um2 * self.instances(i) for i, lv in enumerate(self.levels) if lv.kind != "dram")
        return storage + self.mac.area_um2 * self.num_macs + (self.vector.area_um2 if self.vector is not None else 0.0)

    @property
    def leakage_mw(self) -> float:
        storage = sum(lv.leakage_mw * self.instances(i) for i, lv in enumerate(self.levels) if lv.kind != "dram")
        return storage + self.mac.leakage_mw * self.num_macs

    def with_level(self, name: str, **changes: Any) -> Architecture:
        """A variant with one level's fields replaced (energies are *not* re-derived)."""
        levels = tuple(replace(lv, **changes) if lv.name == name else lv for lv in self.levels)
        return replace(self, levels=levels)


def load_architecture(path: str | Path) -> Architecture:
    """Read and validate an architecture YAML file; raises SpecError listing every problem."""
    return architecture_from_dict(read_yaml(path), source=str(path))


_SIZE_KEYS = {"size_bytes": 1, "size_kib": 1024, "size_mib": 1024 * 1024}


def architecture_from_dict(data: Any, source: str = "<dict>") -> Architecture:
    problems = Problems(source)
    top = Fields(data, "", problems)
    name = top.text("name", Path(source).stem if source.endswith((".yaml", ".yml")) else "unnamed")
    clock_hz = top.number("clock_hz", 1e9, unit="Hz") or 1e9
    tech_f = top.sub("technology")
    node_nm = tech_f.number("node_nm", 45.0, unit="nm") or 45.0
    if not (tech.MIN_NODE_NM <= node_nm <= tech.MAX_NODE_NM):
        problems.add(tech_f.at("node_nm"), node_nm, f"expected a node between {tech.MIN_NODE_NM} and {tech.MAX_NODE_NM} nm")
        node_nm = 45.0
    tech_f.done()

    mac = _mac(top.sub("mac"), node_nm)
    levels = [_level(f, node_nm, clock_hz) for f in top.items("levels", required=True)]
    names = [lv.name for lv in levels]
    for i, n in enumerate(names):
        if n and names.index(n) != i:
            problems.add(f"levels[{i}].name", n, "expected a unique level name")
    if levels:
        missing = [op for op in OPERANDS if op not in levels[0].keeps]
        if missing:
            problems.add("levels[0].keeps", list(levels[0].keeps), f"expected the outermost level to keep every operand (missing {', '.join(missing)})")
    elif isinstance(top.data.get("levels"), list):
        problems.add("levels", [], "expected at least one storage level")
    problems.extend(may_bypass_problems(levels))

    pe = top.sub("pe_array", required=True)
    axes = []
    for f in pe.items("axes", required=True):
        a = SpatialAxis(
            name=f.text("name"),
            size=f.integer("size", 1, required=True),
            below=f.text("below", names[0] if len(names) == 1 else None),
            dims=f.str_list("dims", DIMS, choices=DIMS),
            multicast=f.boolean("multicast", True),
            reduction=f.boolean("reduction", True),
        )
        fixed, mins, maxs, whole = factor_constraints(f)
        a = replace(a, fixed_factors=fixed, min_factors=mins, max_factors=maxs, whole_dims=whole)
        if a.below and names and a.below not in names:
            problems.add(f.at("below"), a.below, f"expected the name of a level ({', '.join(names)})")
        for key, dims in (("factors", [d for d, n in fixed if n > 1]), ("min_factors", [d for d, n in mins if n > 1]), ("whole_dims", whole)):
            for d in dims:
                if d not in a.dims:
                    problems.add(f"{f.at(key)}.{d}" if key != "whole_dims" else f.at(key), d, f"expected a dimension the axis unrolls ({', '.join(a.dims)})")
        if math.prod(n for _, n in fixed) > a.size:
            problems.add(f.at("factors"), dict(fixed), f"expected pinned factors multiplying to at most the axis size {a.size}")
        f.done()
        axes.append(a)
    pe.done()
    if names:
        # Axes must be listed in nest order: those below outer levels first.
        order = [names.index(a.below) for a in axes if a.below in names]
        if order != sorted(order):
            problems.add("pe_array.axes", [a.name for a in axes], "expected axes listed from the outermost fan-out to the innermost")
    semantics = _semantics(top)
    vector = _vector(top.sub("vector_unit"), node_nm) if top.has("vector_unit") else None
    top.done()
    problems.raise_if_any()
    return Architecture(name, tuple(levels), tuple(axes), mac, clock_hz, node_nm, source, semantics, vector=vector)


VECTOR_OP_BITS = (16, 16, 32)  # an element operation's widths when its energy is not given: a 16-bit multiply-add into 32 bits


def _vector(f: Fields, node_nm: float) -> VectorUnit:
    """``vector_unit: {ops_per_cycle, energy_pj_per_op, area_um2}``. Without an energy, one element operation (a
    requantizing scale, an activation, a compare or an add) costs a 16×16-bit multiply-add into 32 bits of the
    technology model (Horowitz-anchored, :func:`hwsim.core.technology.mac_energy_pj`); its area counts only when given."""
    throughput = f.number("ops_per_cycle", None, required=True, unit="element operations per cycle")
    energy = f.number("energy_pj_per_op", None, minimum=0, exclusive=False, unit="pJ per element operation")
    area = f.number("area_um2", None, minimum=0, exclusive=False, unit="µm²")
    f.done()
    if throughput is None:
        return VectorUnit(1.0, 0.0)
    return VectorUnit(
        ops_per_cycle=throughput,
        energy_pj_per_op=energy if energy is not None else tech.mac_energy_pj(node_nm, *VECTOR_OP_BITS),
        area_um2=area or 0.0,
    )


def may_bypass_problems(levels: tuple[Level, ...] | list[Level]) -> list[Problem]:
    """Every level whose ``may_bypass`` names an operand it does not keep, or that is the outermost level."""
    out = []
    for i, lv in enumerate(levels):
        if not lv.may_bypass:
            continue
        if i == 0:
            out.append(Problem(f"levels[{i}].may_bypass", list(lv.may_bypass), "expected no bypass at the outermost level (it holds every operand)"))
        elif any(o not in lv.keeps for o in lv.may_bypass):
            out.append(Problem(f"levels[{i}].may_bypass", list(lv.may_bypass), f"expected operands the level keeps ({', '.join(lv.keeps)})"))
    return out


def _semantics(top: Fields) -> Semantics:
    """``semantics: hwsim|timeloop`` or ``{base: hwsim|timeloop, <option>: true|false, ...}`` (:class:`Semantics`)."""
    value = top.raw("semantics", "hwsim")
    top.seen.add("semantics")
    if isinstance(value, str):
        if value not in NAMED_SEMANTICS:
            top.problems.add(top.at("semantics"), value, f"expected {' or '.join(NAMED_SEMANTICS)}, or a mapping of options")
            return HWSIM
        return NAMED_SEMANTICS[value]
    f = top.sub("semantics")
    base = NAMED_SEMANTICS[f.text("base", "hwsim", choices=NAMED_SEMANTICS)]
    options = {k: f.boolean(k, getattr(base, k)) for k in SEMANTICS_OPTIONS}
    f.done()
    return Semantics(**options)


def _mac(f: Fields, node_nm: float) -> MacUnit:
    kind = f.text("kind", "fixed", choices=("fixed", "bit-serial", "bit-fusion"))
    w = f.integer("weight_bits", 8)
    i = f.integer("input_bits", 1 if kind == "bit-serial" else 8)
    acc = f.integer("accumulator_bits", 24)
    energy = f.number("energy_pj", None, minimum=0, exclusive=False, unit="pJ per MAC")
    area = f.number("area_um2", None, minimum=0, exclusive=False, unit="µm²")
    leak = f.number("leakage_mw", None, minimum=0, exclusive=False, unit="mW")
    skip = f.str_list("skip", (), choices=OPERANDS)
    gate = f.str_list("gate", (), choices=OPERANDS)
    skip_structure = f.text("skip_structure", "any", choices=("any", "n:m"))
    fp_bits = f.integer("fp_bits", 0, minimum=0)
    fp_energy = f.number("fp_energy_pj", None, minimum=0, exclusive=False, unit="pJ per floating-point MAC")
    f.done()
    for key, bits in (("weight_bits", w), ("input_bits", i), ("accumulator_bits", acc), ("fp_bits", fp_bits)):
        if bits > 64:
            f.problems.add(f.at(key), bits, "expected at most 64 bits")
    if f.problems:
        return MacUnit(w, i, acc, kind=kind)
    return MacUnit(
        weight_bits=w,
        input_bits=i,
        accumulator_bits=acc,
        energy_pj=energy if energy is not None else tech.mac_energy_pj(node_nm, w, w if kind == "bit-serial" else i, acc),
        area_um2=area if area is not None else tech.mac_area_um2(node_nm, w, i, acc),
        leakage_mw=leak if leak is not None else 0.0,
        kind=kind,
        skip=skip,
        gate=gate,
        skip_structure=skip_structure,
        fp_bits=fp_bits,
        fp_energy_pj=fp_energy if fp_energy is not None else (
            tech.mac_energy_pj(node_nm, fp_bits, fp_bits, 32, number="fp") if fp_bits else 0.0),
    )


def _level(f: Fields, node_nm: float, clock_hz: float) -> Level:
    name = f.text("name")
    kind = f.text("kind", "sram", choices=LEVEL_KINDS)
    keeps = f.str_list("keeps", OPERANDS, choices=OPERANDS)
    if f.has("keeps") and not keeps:
        f.problems.add(f.at("keeps"), [], "expected at least one operand (a level keeping nothing is not a storage level)")
    may_bypass = f.str_list("may_bypass", (), choices=OPERANDS)
    sizes = [k for k in _SIZE_KEYS if f.has(k)]
    size_bytes: float | None = None
    if len(sizes) > 1:
        f.problems.add(f.path, sizes, "expected only one of size_bytes, size_kib, size_mib")
    for k in sizes[:1]:
        v = f.number(k, None, unit="capacity")
        size_bytes = v * _SIZE_KEYS[k] if v is not None else None
    if size_bytes is None and kind != "dram" and not sizes:
        f.problems.add(f.at("size_bytes"), None, "expected a positive capacity for an on-chip level (required unless kind: dram)")
    word_bits = f.integer("word_bits", 64 if kind != "regfile" else 16)
    banks = f.integer("banks", 1)
    cluster_size = f.integer("cluster_size", 1)
    ports = f.integer("ports", 2)
    if ports > 2:
        f.problems.add(f.at("ports"), ports, "expected 1 (reads and writes share a port) or 2 (separate read and write ports)")
    double_buffered = f.boolean("double_buffered", False)
    dram_type = f.text("dram_type", "LPDDR4") if kind == "dram" else None
    if dram_type is not None and dram_type.upper().replace("-", "").replace("_", "") not in {
        k.upper().replace("-", "").replace("_", "") for k in tech.DRAM_KINDS
    }:
        f.problems.add(f.at("dram_type"), dram_type, f"expected one of {', '.join(tech.DRAM_KINDS)}")
        dram_type = "LPDDR4"

    bw_s = f.number("bandwidth_bytes_per_s", None, unit="bytes/s")
    # a bandwidth of `unlimited` (Timeloop's default) is None; an on-chip level's default is a word per bank per cycle
    unlimited = {k for k in ("read_bandwidth_bits_per_cycle", "write_bandwidth_bits_per_cycle") if f.data.get(k) == "unlimited"}
    f.seen.update(unlimited)
    rd, wr = (None if k in unlimited else f.number(k, None, unit="bits per cycle per instance (or unlimited)")
              for k in ("read_bandwidth_bits_per_cycle", "write_bandwidth_bits_per_cycle"))  # fmt: skip
    if bw_s is not None:
        per_cycle = bw_s * 8 / clock_hz
        rd = rd if rd is not None or "read_bandwidth_bits_per_cycle" in unlimited else per_cycle
        wr = wr if wr is not None or "write_bandwidth_bits_per_cycle" in unlimited else per_cycle
        if ports == 2 and not (f.has("read_bandwidth_bits_per_cycle") or f.has("write_bandwidth_bits_per_cycle")):
            ports = 1  # one figure for a DRAM channel: reads and writes share it
    elif kind != "dram":
        rd = rd if rd is not None or "read_bandwidth_bits_per_cycle" in unlimited else float(word_bits * banks)
        wr = wr if wr is not None or "write_bandwidth_bits_per_cycle" in unlimited else float(word_bits * banks)

    tdims = f.str_list("temporal_dims", (), choices=DIMS) if f.has("temporal_dims") else None
    fixed_factors, min_factors, max_factors, whole_dims = factor_constraints(f)
    order = f.str_list("order", (), choices=DIMS) if f.has("order") else None
    inner_order = f.str_list("inner_order", (), choices=DIMS)
    f.seen.update({"temporal_dims", "order"})
    for key, dims in (("order", order or ()), ("inner_order", inner_order)):
        if len(set(dims)) != len(dims):
            f.problems.add(f.at(key), list(dims), "expected distinct dimensions")
    if order is not None and inner_order:
        f.problems.add(f.at("inner_order"), list(inner_order), "expected either order (all of the level's loops) or inner_order, not both")
    if tdims is not None:
        for d in whole_dims:
            if d not in tdims:
                f.problems.add(f.at("whole_dims"), d, f"expected a dimension temporal_dims allows ({', '.join(tdims) or 'none'})")
    fmt = f.sub("formats")
    formats = tuple((o, fmt.text(o, "uncompressed", choices=FORMATS)) for o in list(fmt.data) if o in OPERANDS)
    fmt.done()
    r_e = f.number("read_energy_pj", None, minimum=0, exclusive=False, unit="pJ per word")
    w_e = f.number("write_energy_pj", None, minimum=0, exclusive=False, unit="pJ per word")
    u_e = f.number("update_energy_pj", None, minimum=0, exclusive=False, unit="pJ per word")
    leak = f.number("leakage_mw", None, minimum=0, exclusive=False, unit="mW")
    area = f.number("area_um2", None, minimum=0, exclusive=False, unit="µm²")
    f.done()

    try:
        if kind == "dram":
            per_bit = tech.dram_energy_pj_per_bit(dram_type or "LPDDR4")
            r_default = w_default = per_bit * word_bits
            leak_default = area_default = 0.0
        else:
            size = (size_bytes or 1.0) / banks  # one bank is accessed per word
            r_default = tech.sram_access_energy_pj(node_nm, size, word_bits, "read")
            w_default = tech.sram_access_energy_pj(node_nm, size, word_bits, "write")
            leak_default = tech.sram_leakage_mw(node_nm, size) * banks
            area_default = tech.sram_area_um2(node_nm, size, word_bits) * banks
    except (ValueError, OverflowError) as e:
        f.problems.add(f.path, name, f"expected a level the technology table can price ({e})")
        r_default = w_default = leak_default = area_default = 0.0
    return Level(
        name=name,
        kind=kind,
        keeps=keeps,
        size_bytes=size_bytes,
        word_bits=word_bits,
        banks=banks,
        cluster_size=cluster_size,
        ports=ports,
        read_bandwidth_bits_per_cycle=rd,
        write_bandwidth_bits_per_cycle=wr,
        double_buffered=double_buffered,
        read_energy_pj=r_e if r_e is not None else r_default,
        write_energy_pj=w_e if w_e is not None else w_default,
        leakage_mw=leak if leak is not None else leak_default,
        area_um2=area if area is not None else area_default,
        temporal_dims=tdims,
        dram_type=dram_type,
        fixed_factors=fixed_factors,
        loop_order=order,
        formats=formats,
        may_bypass=may_bypass,
        min_factors=min_factors,
        max_factors=max_factors,
        whole_dims=whole_dims,
        inner_order=inner_order,
        update_energy_pj=u_e,
    )


def factor_constraints(f: Fields) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...], tuple[tuple[str, int], ...], tuple[str, ...]]:
    """A level's or an axis's ``factors`` (pinned), ``min_factors``, ``max_factors`` and ``whole_dims``, checked against
    each other (a dimension pinned or whole has no bounds; a minimum is at most the maximum)."""
    got = []
    for key in ("factors", "min_factors", "max_factors"):
        sub = f.sub(key)
        got.append(tuple((d, sub.integer(d, 1)) for d in list(sub.data) if d in DIMS))
        sub.done()
    fixed, mins, maxs = got
    whole = f.str_list("whole_dims", (), choices=DIMS)
    pinned = {d for d, _ in fixed} | set(whole)
    for key, items in (("min_factors", mins), ("max_factors", maxs)):
        for d, _ in items:
            if d in pinned:
                f.problems.add(f"{f.at(key)}.{d}", dict(items)[d], f"expected no bound on {d}, which factors or whole_dims pins")
    for d, _ in fixed:
        if d in whole:
            f.problems.add(f.at("whole_dims"), d, f"expected {d} either pinned by factors or whole, not both")
    hi = dict(maxs)
    for d, lo in mins:
        if d in hi and lo > hi[d]:
            f.problems.add(f"{f.at('min_factors')}.{d}", lo, f"expected at most max_factors.{d} ({hi[d]})")
    return fixed, mins, maxs, whole
