"""A sweep of 540 design points over ResNet-18, in-process and through a Dask LocalCluster (issue: ≥ 500 points < 5 min).

    python benchmarks/sweep_scale.py [--samples N]   # default: hwsim sweep's, hwsim.mapper.DEFAULT_SAMPLES (20,000)

Runs ``hwsim sweep`` as a user would (a fresh process each, the whole-process time measured) over the Eyeriss-like
preset: PE rows × cols × global-buffer size × DRAM bandwidth × dataflow = 6 × 5 × 3 × 2 × 3 = 540 points, each a whole
ResNet-18 mapped and costed at ``hwsim sweep``'s default mapper budget unless ``--samples`` says otherwise; once
with the default in-process workers and once with ``--scheduler local:2``. Prints points, seconds, points per second
and the Pareto-front size of each run, and writes them with the budget to benchmarks/results/sweep_scale.json
(wall-clock times: run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_io import write_results

from hwsim.mapper import DEFAULT_SAMPLES

GRID = ["array.rows=4,8,12,14,16,24", "array.cols=4,8,12,14,16", "levels.glb.size_kib=64,108,256",
        "levels.dram.bandwidth_bytes_per_s=6.4e9,12.8e9", "dataflow=ws,os,rs"]  # fmt: skip


def run(extra: list[str], samples: int) -> tuple[dict, float]:
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "hwsim", "sweep", "--arch", "eyeriss", "--workload", "resnet18", "--samples", str(samples),
               "--out", str(Path(d) / "sweep.parquet"), "--format", "json", *(a for s in GRID for a in ("--set", s)), *extra]  # fmt: skip
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        if done.returncode:
            raise SystemExit(done.stderr)
        return json.loads(done.stdout), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="mapper samples per layer (default: hwsim sweep's)")
    args = ap.parse_args()
    print(f"{'run':<28} {'points':>7} {'seconds':>8} {'points/s':>9} {'pareto':>7}")
    runs = {}
    for key, label, extra in (("in_process", "in-process (2 workers)", []),
                              ("dask_local", "Dask LocalCluster (local:2)", ["--scheduler", "local:2"])):  # fmt: skip
        summary, seconds = run(extra, args.samples)
        points = summary.get("points", summary.get("rows"))
        print(f"{label:<28} {points:>7} {seconds:8.1f} {points / seconds:9.2f} {summary.get('pareto', ''):>7}", flush=True)
        runs[key] = {"label": label, "points": points, "seconds": seconds, "points_per_s": points / seconds, "pareto": summary.get("pareto")}  # fmt: skip
    write_results("sweep_scale", {"grid": GRID, "samples": args.samples, **runs},
                  measures="Whole-process wall time of `hwsim sweep` over 540 Eyeriss-like design points on ResNet-18 "
                  "(rows × cols × GLB × DRAM bandwidth × dataflow) at `samples` mapper samples per layer, in-process and on a "
                  "Dask LocalCluster with 2 workers, and the Pareto-front size (load-sensitive).")  # fmt: skip


if __name__ == "__main__":
    main()
