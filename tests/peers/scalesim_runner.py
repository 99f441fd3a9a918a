"""Run SCALE-Sim 3.0.0 (in its own venv) on the same inputs hwsim imports.

The peer needs ``numpy<2.3``, so it lives in ``.venv-peers`` beside the repository (created
by ``.ci/run``) or wherever ``HWSIM_SCALESIM_PYTHON`` points; :func:`scalesim_python` returns
None when neither works, and the tests skip with that reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("HWSIM_PEERS_DATA", REPO.parent / "shared" / "peers-data" / "scalesim"))
DRIVER = Path(__file__).with_name("_scalesim_driver.py")
SKIP_REASON = (
    "SCALE-Sim 3.0.0 not found: create it with `python3 -m venv .venv-peers && .venv-peers/bin/pip install 'numpy<2.3' "
    "scalesim==3.0.0 six` (as .ci/run does) or set HWSIM_SCALESIM_PYTHON to a Python that imports scalesim"
)

# SCALE-Sim refuses to run without a layout file, even with custom layouts off.
_LAYOUT_HEADER = (
    "Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height Intraline Factor, "
    "Filter Width Intraline Factor, Channel Intraline Factor, Num Filter Intraline Factor, IFMAP Height Intraline Order, "
    "IFMAP Width Intraline Order, Channel Intraline Order, IFMAP Height Interline Order, IFMAP Width Interline Order, "
    "Channel Interline Order, Num Filter Intraline Order, Channel Intraline Order, Filter Height Intraline Order, "
    "Filter Width Intraline Order, Num Filter Interline Order, Channel Interline Order, Filter Height Interline Order, "
    "Filter Width Interline Order,"
)
_LAYOUT_ROW = "1,1,1,1,1,1,1,2,0,4,5,3,3,0,1,2,7,4,5,6,"


@cache
def scalesim_python() -> str | None:
    """A Python that imports scalesim 3.0.0, or None."""
    candidates = [os.environ.get("HWSIM_SCALESIM_PYTHON"), str(REPO / ".venv-peers" / "bin" / "python")]
    for py in candidates:
        if not py or not Path(py).exists():
            continue
        probe = subprocess.run([py, "-c", "import scalesim.scale_sim"], capture_output=True, timeout=120)
        if probe.returncode == 0:
            return py
    return None


def config_text(rows: int, cols: int, dataflow: str, *, sram_kib: tuple[int, int, int] = (64, 64, 64),
                bandwidth: int | None = None, name: str = "hwsim_peer") -> str:  # fmt: skip
    """A SCALE-Sim config: CALC mode (stall-free) without ``bandwidth``, else USER mode with
    ``bandwidth`` words per cycle for the ifmap and filter reads and the ofmap writes."""
    mode, bw = ("CALC", 10) if bandwidth is None else ("USER", bandwidth)
    banks = 10 if bandwidth is None else 1  # SCALE-Sim asserts that banks divide the bandwidth
    return f"""[general]
run_name = {name}

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {sram_kib[0]}
FilterSramSzkB: {sram_kib[1]}
OfmapSramSzkB: {sram_kib[2]}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : {bw}
Dataflow : {dataflow}
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {bw}
IfmapSRAMBankNum: {banks}
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {bw}
FilterSRAMBankNum: {banks}
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: {mode}
UseRamulatorTrace: False
"""


def conv_topology_text(layers: list[tuple[str, int, int, int, int, int, int, int]]) -> str:
    """Rows of (name, ifmap h, ifmap w, filter h, filter w, channels, filters, stride)."""
    head = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    return head + "".join(",".join(str(v) for v in row) + ",\n" for row in layers)


def gemm_topology_text(layers: list[tuple[str, int, int, int]]) -> str:
    """Rows of (name, M, N, K)."""
    return "Layer, M, N, K,\n" + "".join(",".join(str(v) for v in row) + ",\n" for row in layers)


@dataclass(frozen=True)
class ScaleSimRun:
    seconds: float
    layers: pd.DataFrame  # one row per layer: name, total_cycles, stall_cycles, DRAM traffic...


def run_scalesim(cfg: str, topology: str, *, timeout: float = 3600) -> ScaleSimRun:
    """Run SCALE-Sim on config and topology *texts* (the topology's header tells conv from GEMM)."""
    py = scalesim_python()
    if py is None:
        raise RuntimeError(SKIP_REASON)
    kind = "gemm" if topology.lower().split(",")[1].strip() == "m" else "conv"
    names = [line.split(",")[0].strip() for line in topology.splitlines()[1:] if line.strip()]
    with tempfile.TemporaryDirectory(prefix="hwsim-scalesim-") as tmp:
        d = Path(tmp)
        (d / "scale.cfg").write_text(cfg)
        (d / "topo.csv").write_text(topology)
        (d / "layout.csv").write_text(_LAYOUT_HEADER + "\n" + "".join(f"{n},{_LAYOUT_ROW}\n" for n in names))
        (d / "out").mkdir()
        args = [py, str(DRIVER), str(d / "scale.cfg"), str(d / "topo.csv"), str(d / "layout.csv"), str(d / "out"), kind]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=tmp)
        if done.returncode != 0:
            raise RuntimeError(f"SCALE-Sim failed ({done.returncode}):\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    frame = pd.DataFrame(result["layers"])
    frame.insert(0, "name", names[: len(frame)])
    return ScaleSimRun(result["seconds"], frame)


if __name__ == "__main__":  # pragma: no cover - manual check
    print(scalesim_python() or SKIP_REASON, file=sys.stderr)
