"""Whole-process time of `hwsim run` on ResNet-18/50 over the Eyeriss- and TPU-like presets,
and, in the same run, ZigZag 3.9.1 on ResNet-18 with its example Eyeriss-like and TPU-like
accelerators (its own ONNX, its own mapping files, latency-optimized as in shared/reference).

    python3 -m venv .venv-zigzag && .venv-zigzag/bin/pip install "numpy<2.3" zigzag-dse==3.9.1 six
    python benchmarks/network_mapping.py [--zigzag-python .venv-zigzag/bin/python] [--skip-zigzag]

hwsim is timed with its compiled kernels cached, and once with an empty numba cache (NUMBA_CACHE_DIR in a
temporary folder: the kernels compile, as on a fresh checkout). Also times `hwsim run --arch tpu-v1 --workload
resnet50 --engine cycle`. Writes the rows and speed-ups to benchmarks/results/network_mapping.json; without ZigZag
(no interpreter at --zigzag-python, or --skip-zigzag) the hwsim rows are still measured and the file records why
ZigZag was not run (wall-clock times: run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_io import write_results

ROOT = Path(__file__).resolve().parents[1]

ZIGZAG = """
import sys, time, tempfile
from pathlib import Path
import zigzag
from zigzag.api import get_hardware_performance_zigzag
base = Path(zigzag.__file__).parent / "inputs"
acc, mapping = sys.argv[1], sys.argv[2]
t = time.perf_counter()
energy, latency, _ = get_hardware_performance_zigzag(
    workload=str(base / "workload" / "resnet18.onnx"), accelerator=str(base / "hardware" / f"{acc}.yaml"),
    mapping=str(base / "mapping" / f"{mapping}.yaml"), opt="latency", dump_folder=tempfile.mkdtemp(),
    loma_show_progress_bar=False)
print(f"RESULT {energy} {latency} {time.perf_counter() - t}")
"""


def _hwsim(arch: str, workload: str, *extra: str, env: dict | None = None) -> tuple[float, dict]:
    t = time.perf_counter()
    out = subprocess.run(["hwsim", "run", "--arch", arch, "--workload", workload, "--format", "json", *extra],
                         capture_output=True, text=True, check=True, env=env)  # fmt: skip
    return time.perf_counter() - t, json.loads(out.stdout)["total"]


def _zigzag(python: str, acc: str, mapping: str) -> tuple[float, float, float]:
    t = time.perf_counter()
    out = subprocess.run([python, "-c", ZIGZAG, acc, mapping], capture_output=True, text=True, check=True, cwd=tempfile.mkdtemp())
    wall = time.perf_counter() - t
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
    _, energy, latency, _ = line.split()
    return wall, float(energy), float(latency)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zigzag-python", default=str(ROOT / ".venv-zigzag" / "bin" / "python"))
    ap.add_argument("--skip-zigzag", action="store_true")
    args = ap.parse_args()
    if shutil.which("hwsim") is None:
        sys.exit("install hwsim first: pip install -e .")
    with tempfile.TemporaryDirectory() as empty:  # numba's cache in an empty folder: the kernels compile, as on a fresh checkout
        cold, _ = _hwsim("fpga-small", "resnet18", env={**os.environ, "NUMBA_CACHE_DIR": empty})
    print(f"hwsim run with an empty numba cache (compiles the kernels): {cold:.1f} s")
    t = time.perf_counter()
    _hwsim("fpga-small", "resnet18")
    first = time.perf_counter() - t
    print(f"first hwsim run on this checkout (compiles or loads the numba cache): {first:.1f} s")
    rows = []
    for workload in ("resnet18", "resnet50"):
        for arch in ("eyeriss", "tpu-v1"):
            wall, total = _hwsim(arch, workload)
            rows.append(("hwsim", arch, workload, wall, total["cycles"], total["energy_pj"] / 1e9))
    cycle_wall, cycle_total = _hwsim("tpu-v1", "resnet50", "--engine", "cycle")
    print(f"hwsim run --engine cycle, resnet50 on tpu-v1: {cycle_wall:.2f} s")
    zigzag_skipped = "--skip-zigzag" if args.skip_zigzag else None
    if not args.skip_zigzag and not Path(args.zigzag_python).exists():
        where = Path(args.zigzag_python).resolve()
        shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
        zigzag_skipped = f"no ZigZag interpreter at {shown} (this script's docstring installs it)"
        print(f"ZigZag not run: {zigzag_skipped}", file=sys.stderr)
    if zigzag_skipped is None:
        for acc, mapping in (("eyeriss_like", "default"), ("tpu_like", "tpu_like")):
            wall, energy, latency = _zigzag(args.zigzag_python, acc, mapping)
            rows.append(("zigzag 3.9.1", acc, "resnet18", wall, latency, energy / 1e9))
    print(f"\n{'tool':<13} {'accelerator':<13} {'network':<9} {'wall s':>8} {'cycles':>14} {'energy mJ':>10}")
    for tool, arch, workload, wall, cycles, mj in rows:
        print(f"{tool:<13} {arch:<13} {workload:<9} {wall:8.2f} {cycles:14,.0f} {mj:10.3f}")
    hw = {(r[1], r[2]): r[3] for r in rows if r[0] == "hwsim"}
    zz = {r[1]: r[3] for r in rows if r[0] != "hwsim"}
    speedups = {}
    if zz:
        print("\nspeed-up on ResNet-18 (whole process, ZigZag wall / hwsim wall):")
        for (ours, theirs) in (("eyeriss", "eyeriss_like"), ("tpu-v1", "tpu_like")):
            speedups[f"{ours} vs {theirs}"] = zz[theirs] / hw[(ours, "resnet18")]
            print(f"  {ours} vs {theirs}: {speedups[f'{ours} vs {theirs}']:.0f}×")
    else:
        print("\nZigZag not run: no speed-up measured")
    write_results("network_mapping",
                  {"cold_cache_run_s": cold, "first_run_s": first,
                   "hwsim_s": {f"{arch}/{workload}": wall for tool, arch, workload, wall, _, _ in rows if tool == "hwsim"},
                   "hwsim_cycle_s": {"tpu-v1/resnet50": cycle_wall}, "hwsim_cycle_cycles": {"tpu-v1/resnet50": cycle_total["cycles"]},
                   "zigzag_s": {arch: wall for tool, arch, _, wall, _, _ in rows if tool != "hwsim"},
                   "zigzag_run": zigzag_skipped is None, "zigzag_not_run_because": zigzag_skipped,
                   "speedup_zigzag_over_hwsim": speedups,
                   "rows": [{"tool": tool, "arch": arch, "workload": workload, "wall_s": wall, "cycles": cycles, "energy_mj": mj}
                            for tool, arch, workload, wall, cycles, mj in rows]},
                  measures="Whole-process wall time of `hwsim run` with an empty numba cache (cold_cache_run_s: the kernels compile), and with the kernels cached on ResNet-18/ResNet-50, Eyeriss-like and "
                  "TPU-like presets, of `hwsim run --engine cycle` on ResNet-50, TPU-like (hwsim_cycle_s), and of ZigZag 3.9.1 on ResNet-18 with its Eyeriss-like and TPU-like examples when its "
                  "interpreter is present (zigzag_run); speed-up = ZigZag wall / hwsim wall (load-sensitive).")  # fmt: skip


if __name__ == "__main__":
    main()
