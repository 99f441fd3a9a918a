"""What the generator can build from an architecture spec, and the schedule it runs.

The generatable subset: an integer MAC (``mac.kind: fixed``, no skipping), a DRAM level, one
on-chip level per operand above the array, two spatial axes below the same level, and one
PE-level register with ``temporal_dims: []`` keeping the *stationary* operand: ``weights``
(weight stationary, rows unroll ``C``, columns ``K``) or ``outputs`` (output stationary, rows
unroll ``P``, columns ``K``). Anything else raises one :class:`SpecError` naming every field.

A GEMM ``C[M, N] = A[M, K] · B[K, N]`` runs as the fold schedule that
:func:`hwsim.frontend.importers.scalesim.scalesim_mapping` also describes: DRAM loops
``M-tiles → N-tiles → K-tiles`` (folds), one stream loop at the level above the array
(``M`` rows for WS, ``K`` steps for OS), and the array's two axes. The host pads the array
dimensions to multiples of the array (zeros), so every fold uses the whole array; the model
is given the same padded GEMM and mapping (:meth:`GemmPlan.layer`, :meth:`GemmPlan.mapping`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from hwsim.core.arch import Architecture
from hwsim.core.errors import Problems
from hwsim.core.mapping import Mapping
from hwsim.core.workload import Layer, gemm
from hwsim.cost.cycle import CycleOptions, CycleReport, DramTiming, simulate

__all__ = ["GemmPlan", "RtlConfig", "built_arch", "rtl_config", "systolic_arch"]

DATAFLOWS = ("ws", "os")


# Fixed latencies of the network core (their modules import them; the model adds them once per run).
REQUANT_LATENCY_CYCLES = 7  # the write path's requantizer pipeline (hwsim.rtl.requant)
IM2COL_SETUP_CYCLES = 4  # the im2col walker's products before a convolution's first gathered beat (hwsim.rtl.im2col)


def _pow2_floor(n: int) -> int:
    return 1 << (max(int(n), 1).bit_length() - 1)


@dataclass(frozen=True)
class RtlConfig:
    """Parameters of one generated GEMM core.

    ``a_depth``, ``b_depth``, ``c_depth``: beats per *half* of the (double-buffered) input,
    weight and output buffers (one beat is one array-edge vector). ``pipe``: register stages
    in the MAC before the accumulate (0: none, 1: product, 2: zero-gated operands and product).
    Accumulators are ``acc_bits`` wide and wrap in two's complement.
    """

    name: str
    dataflow: str
    rows: int
    cols: int
    a_bits: int
    w_bits: int
    acc_bits: int
    a_depth: int
    b_depth: int
    c_depth: int
    pipe: int = 2
    zero_gating: bool = True
    dram_read_bits_per_cycle: float | None = None
    dram_write_bits_per_cycle: float | None = None
    dram_shared: bool = True
    clock_hz: float = 100e6
    network: bool = False
    max_channels: int = 2048

    @property
    def out_bits(self) -> int:
        """Bits of one output lane on the write port: the raw accumulator, or (network core) the
        requantized activation at the input precision of the next layer."""
        return self.a_bits if self.network else self.acc_bits

    @property
    def wr_beat_bits(self) -> int:
        """Bits of one output beat written to DRAM."""
        return self.cols * self.out_bits

    @property
    def q_groups(self) -> int:
        """Entries of the network core's requantization table: one per group of ``cols`` output channels."""
        return -(-self.max_channels // self.cols)

    @property
    def a_beat_bits(self) -> int:
        return self.rows * self.a_bits

    @property
    def b_beat_bits(self) -> int:
        return self.cols * self.w_bits

    @property
    def c_beat_bits(self) -> int:
        """Bits of one accumulator beat (a row of the output buffer)."""
        return self.cols * self.acc_bits

    @property
    def flush_cycles(self) -> int:
        """Cycles between a fold's last stream vector and its next phase: WS until the weights
        may shift (the vector has passed every PE), OS until the last PE holds its sum."""
        return max(self.rows + self.cols - 3, 1) if self.dataflow == "ws" else self.rows + self.cols + self.pipe

    @property
    def fold_overhead_cycles(self) -> int:
        """Cycles a fold of this design takes beyond the cycle engine's systolic fill/drain
        (``Σ(axis − 1)`` skew, plus ``rows`` weight preload for WS). A fold is ``1`` wait cycle,
        (WS) ``rows + 1`` preload, ``stream_len``, ``flush_cycles``, (OS) ``rows`` drain."""
        skew = self.rows + self.cols - 2
        if self.dataflow == "ws":
            return 1 + (self.rows + 1) + self.flush_cycles - (skew + self.rows)
        return 1 + self.flush_cycles + self.rows - skew

    @property
    def drain_latency_cycles(self) -> int:
        """Cycles from the end of the last fold (as :attr:`fold_overhead_cycles` counts it) to the first beat of its
        output tile on the write port, which the cycle engine's write-back does not wait for. WS: the last stream
        vector, addressed in cycle ``S``, leaves the array at ``S + 1 + rows + cols + pipe``; the 3 read-modify-write
        stages, the output buffer's done count, the writer's start and its read register put the first beat at
        ``S + rows + cols + pipe + 7``, while the fold ends at ``S + flush_cycles + 1``. OS: the drain's rows leave the
        array in the fold's last cycles ``D``; the first beat follows at ``D + 6``, the fold ends at ``D + 1``."""
        if self.dataflow == "ws":
            return self.rows + self.cols + self.pipe + 6 - self.flush_cycles
        return 5

    def plan(self, M: int, N: int, K: int) -> GemmPlan:
        return GemmPlan.make(self, M, N, K)


def rtl_config(arch: Architecture, *, pipe: int = 2, zero_gating: bool = True, network: bool = False) -> RtlConfig:
    """The core the generator builds for ``arch``; raises :class:`SpecError` naming every field it cannot build.
    ``network``: the network-capable core (requantization and activation on the write port; on-array
    convolution for weight-stationary arrays)."""
    problems = Problems(f"rtl generator: {arch.source}")
    add = problems.add
    mac = arch.mac
    if network and mac.accumulator_bits > 32:
        add("mac.accumulator_bits", mac.accumulator_bits, "expected at most 32 for the network core (TFLite requantizes int32 accumulators)")
    if mac.kind != "fixed":
        add("mac.kind", mac.kind, "expected fixed (bit-serial and bit-fusion MACs are not generatable)")
    if mac.skip:
        add("mac.skip", list(mac.skip), "expected no zero skipping (the generated PE gates zeros, it does not skip them)")
    if mac.fp_bits:
        add("mac.fp_bits", mac.fp_bits, "expected 0 (integer datapaths only)")
    if not arch.levels or arch.levels[0].kind != "dram":
        add("levels[0].kind", arch.levels[0].kind if arch.levels else None, "expected dram (the generated core streams from DRAM)")
    if len(arch.axes) != 2:
        add("pe_array.axes", [a.name for a in arch.axes], "expected two axes (rows, cols)")
        problems.raise_if_any()
    rows_ax, cols_ax = arch.axes
    if rows_ax.below != cols_ax.below:
        add("pe_array.axes[1].below", cols_ax.below, f"expected the same level as axis {rows_ax.name} ({rows_ax.below})")
    below = arch.level_index(rows_ax.below)
    pe_levels = list(range(below + 1, len(arch.levels)))
    dataflow = None
    if len(pe_levels) != 1:
        add("levels", [arch.levels[i].name for i in pe_levels], "expected exactly one PE-level register below the array")
    else:
        pe = arch.levels[pe_levels[0]]
        where = f"levels[{pe_levels[0]}]"
        if pe.temporal_dims != ():
            add(f"{where}.temporal_dims", pe.temporal_dims, "expected [] (a systolic PE register runs no loops)")
        if pe.double_buffered:
            add(f"{where}.double_buffered", True, "expected false (the generated array fills and drains every fold)")
        if pe.keeps == ("weights",):
            dataflow = "ws"
        elif pe.keeps == ("outputs",):
            dataflow = "os"
        else:
            add(f"{where}.keeps", list(pe.keeps), "expected [weights] (weight stationary) or [outputs] (output stationary)")
    if dataflow is not None:
        want = {"ws": ("C", "K"), "os": ("P", "K")}[dataflow]
        for j, (ax, d) in enumerate(zip(arch.axes, want, strict=True)):
            if d not in ax.dims:
                add(f"pe_array.axes[{j}].dims", list(ax.dims), f"expected {d} among the dims ({dataflow.upper()} array)")
    owner: dict[str, int] = {}
    for i in range(1, below + 1):
        for o in arch.levels[i].keeps:
            if o in owner:
                add(f"levels[{i}].keeps", list(arch.levels[i].keeps), f"expected {o} in one on-chip level only (also in levels[{owner[o]}])")
            owner[o] = i
    for o in ("inputs", "weights", "outputs"):
        if o not in owner:
            add("levels", [lv.name for lv in arch.levels], f"expected an on-chip level above the array keeping {o}")
    problems.raise_if_any()
    assert dataflow is not None
    R, C = rows_ax.size, cols_ax.size
    beats = {"inputs": R * mac.input_bits, "weights": C * mac.weight_bits, "outputs": C * mac.accumulator_bits}
    depth: dict[str, int] = {}
    for o, i in owner.items():
        lv = arch.levels[i]
        if lv.word_bits < beats[o]:
            add(f"levels[{i}].word_bits", lv.word_bits, f"expected at least {beats[o]} (one array-edge vector of {o} per cycle)")
        half = int((lv.size_bytes or 0) * 8 // 2 // beats[o])
        need = R if (o == "weights" and dataflow == "ws") or (o == "outputs" and dataflow == "os") else 1
        if half < need:
            add(f"levels[{i}].size_bytes", lv.size_bytes, f"expected room for two tiles of {need} × {beats[o]} bits")
        depth[o] = _pow2_floor(min(half, 1 << 14))
    problems.raise_if_any()
    if dataflow == "ws":  # a WS weight tile is R rows: no use for more
        depth["weights"] = min(depth["weights"], 1 << (R - 1).bit_length())
    dram = arch.levels[0]
    return RtlConfig(
        name=verilog_name(arch.name) + ("_net" if network else ""), dataflow=dataflow, rows=R, cols=C,
        a_bits=mac.input_bits, w_bits=mac.weight_bits, acc_bits=mac.accumulator_bits,
        a_depth=depth["inputs"], b_depth=depth["weights"], c_depth=depth["outputs"], pipe=pipe, zero_gating=zero_gating,
        dram_read_bits_per_cycle=dram.read_bandwidth_bits_per_cycle, dram_write_bits_per_cycle=dram.write_bandwidth_bits_per_cycle,
        dram_shared=dram.ports == 1, clock_hz=arch.clock_hz, network=network,
    )  # fmt: skip


@dataclass(frozen=True)
class GemmPlan:
    """One GEMM on one core: padded sizes, fold counts and the stream length."""

    cfg: RtlConfig
    M: int
    N: int
    K: int
    Mp: int
    Np: int
    Kp: int
    folds_m: int
    folds_n: int
    folds_k: int
    stream_len: int
    gather: bool = False  # A gathered from a feature map on-array (a convolution on the network core, hwsim.rtl.conv)

    @staticmethod
    def make(cfg: RtlConfig, M: int, N: int, K: int) -> GemmPlan:
        R, C = cfg.rows, cfg.cols
        Np = math.ceil(N / C) * C
        if cfg.dataflow == "ws":
            Kp = math.ceil(K / R) * R
            fm = math.ceil(M / min(cfg.a_depth, cfg.c_depth))
            t = math.ceil(M / fm)
            return GemmPlan(cfg, M, N, K, fm * t, Np, Kp, fm, Np // C, Kp // R, t)
        Mp = math.ceil(M / R) * R
        fk = math.ceil(K / min(cfg.a_depth, cfg.b_depth))
        t = math.ceil(K / fk)
        return GemmPlan(cfg, M, N, K, Mp, Np, fk * t, Mp // R, Np // C, fk, t)

    @property
    def folds(self) -> int:
        return self.folds_m * self.folds_n * self.folds_k

    @property
    def c_rows(self) -> int:
        """Rows of one output tile."""
        return self.stream_len if self.cfg.dataflow == "ws" else self.cfg.rows

    def layer(self) -> Layer:
        """The padded GEMM the core computes, as an hwsim layer (outputs at the write port's width, ``cfg.out_bits``)."""
        c = self.cfg
        g = gemm("rtl_gemm", M=self.Mp, N=self.Np, K=self.Kp, weight_bits=c.w_bits, input_bits=c.a_bits, psum_bits=c.acc_bits)
        return replace(g, operands=tuple(replace(op, bits=c.out_bits) if op.is_output else op for op in g.operands))

    def mapping(self, arch: Architecture) -> Mapping:
        """The fold schedule as an hwsim mapping on ``arch`` (the spec the core was generated from)."""
        c = self.cfg
        below = arch.level_index(arch.axes[0].below)
        temporal: list[list[tuple[str, int]]] = [[] for _ in arch.levels]
        temporal[0] = [("P", self.folds_m), ("K", self.folds_n), ("C", self.folds_k)]
        temporal[below] = [("P" if c.dataflow == "ws" else "C", self.stream_len)]
        rows_dim = "C" if c.dataflow == "ws" else "P"
        return Mapping.build(temporal, [[(rows_dim, c.rows)], [("K", c.cols)]])

    def model(self, arch: Architecture, dram_latency_cycles: float = 0.0) -> CycleReport:
        """hwsim's cycle engine on the same padded GEMM, mapping and DRAM (latency, bandwidth),
        on the design as built (:func:`built_arch`): its ports move at most one beat per cycle,
        whatever the DRAM's bandwidth (write: ``wr_beat_bits``; read: the wider of the A and B
        beats, exact when they are equal, as in every int8 square array). Fixed latencies are added
        once: the output path's (:attr:`RtlConfig.drain_latency_cycles`) and, on the network core,
        the requantizer's pipeline (epilogue) and the im2col walker's setup before the first
        gathered request (prologue)."""
        c = self.cfg
        opts = CycleOptions(dram=DramTiming.ideal(dram_latency_cycles), fold_overhead_cycles=c.fold_overhead_cycles)
        built = built_arch(arch)
        dram = built.levels[0]
        rd_beat = max(c.a_beat_bits, c.b_beat_bits)
        if dram.read_bandwidth_bits_per_cycle is None or dram.read_bandwidth_bits_per_cycle > rd_beat:
            built = built.with_level(dram.name, read_bandwidth_bits_per_cycle=float(rd_beat))
        if dram.write_bandwidth_bits_per_cycle is None or dram.write_bandwidth_bits_per_cycle > c.wr_beat_bits:
            built = built.with_level(dram.name, write_bandwidth_bits_per_cycle=float(c.wr_beat_bits))
        report = simulate(self.layer(), built, self.mapping(built), opts)
        pre = IM2COL_SETUP_CYCLES if self.gather else 0
        post = c.drain_latency_cycles + (REQUANT_LATENCY_CYCLES if c.network else 0)
        return replace(report, cycles=report.cycles + pre + post, prologue_cycles=report.prologue_cycles + pre,
                       epilogue_cycles=report.epilogue_cycles + post, dram_stall_cycles=report.dram_stall_cycles + pre + post)  # fmt: skip


def built_arch(arch: Architecture) -> Architecture:
    """``arch`` as the generator builds it: every on-chip buffer above the array double-buffered
    (two halves within the spec's capacity), so the write-back of an output tile overlaps the next."""
    below = arch.level_index(arch.axes[0].below)
    for lv in arch.levels[1 : below + 1]:
        arch = arch.with_level(lv.name, double_buffered=True)
    return arch


def systolic_arch(rows: int, cols: int, dataflow: str = "ws", *, dram_bits_per_cycle: float = 64.0, dram_ports: int = 2,
                  input_bits: int = 8, weight_bits: int = 8, accumulator_bits: int = 32, input_kib: float = 16,
                  weight_kib: float = 16, output_kib: float = 8, clock_hz: float = 100e6) -> Architecture:  # fmt: skip
    """A generatable architecture spec: a rows×cols WS or OS array with input, weight and output
    buffers (one edge vector per cycle each) and a DRAM channel (``dram_ports`` 1: shared)."""
    from hwsim.core.arch import architecture_from_dict

    if dataflow not in DATAFLOWS:
        raise ValueError(f"Dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}")
    spec = {
        "name": f"{dataflow}-{rows}x{cols}-dram{dram_bits_per_cycle:g}", "clock_hz": clock_hz,
        "mac": {"weight_bits": weight_bits, "input_bits": input_bits, "accumulator_bits": accumulator_bits},
        "levels": [
            {"name": "DRAM", "kind": "dram", "word_bits": 64, "read_bandwidth_bits_per_cycle": dram_bits_per_cycle,
             "write_bandwidth_bits_per_cycle": dram_bits_per_cycle, "ports": dram_ports, "keeps": ["weights", "inputs", "outputs"]},
            {"name": "input_buffer", "kind": "sram", "size_kib": input_kib, "word_bits": rows * input_bits, "double_buffered": True,
             "keeps": ["inputs"]},
            {"name": "weight_buffer", "kind": "sram", "size_kib": weight_kib, "word_bits": cols * weight_bits, "double_buffered": True,
             "keeps": ["weights"]},
            {"name": "output_buffer", "kind": "sram", "size_kib": output_kib, "word_bits": cols * accumulator_bits, "keeps": ["outputs"]},
            {"name": "pe_reg", "kind": "regfile", "size_bytes": 4, "word_bits": 32, "keeps": ["weights" if dataflow == "ws" else "outputs"],
             "temporal_dims": []},
        ],
        "pe_array": {"axes": [
            {"name": "rows", "size": rows, "below": "output_buffer", "dims": ["C"] if dataflow == "ws" else ["P"]},
            {"name": "cols", "size": cols, "below": "output_buffer", "dims": ["K"]},
        ]},
    }  # fmt: skip
    return architecture_from_dict(spec, source=f"<systolic_arch {spec['name']}>")


def verilog_name(name: str) -> str:
    """``name`` as a Verilog identifier and a safe file stem: letters, digits and ``_`` only (a spec's name such as
    ``../../x`` cannot make ``hwsim rtl generate`` write outside its output directory)."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name)[:64] or "core"
    return ident if not ident[0].isdigit() else f"core_{ident}"
