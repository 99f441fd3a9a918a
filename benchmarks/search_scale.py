"""One ``hwsim search`` at its defaults, as a user runs it: trials, wall time, feasible trials, Pareto front and winner.

    python benchmarks/search_scale.py [--budget 2000] [--workload mobilenetv2]

Runs ``hwsim search --workload W --budget N --out TMP --format json`` in a fresh process (Eyeriss-like base, NSGA-II,
every other setting at ``hwsim search``'s default, so the base design's area and proxy ≤ 0.05 are held) into a
temporary folder, and records the whole-process wall time, the trials, feasible trials, Pareto-front size, the limits
held, and the winner's EDP against the base design's (trial 0 of ``trials.csv``) and its area against the base's.
Writes benchmarks/results/search_scale.json (wall-clock time: run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from results_io import write_results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=int, default=2000, help="complete trials (default 2000)")
    ap.add_argument("--workload", default="mobilenetv2", help="hwsim search's default workload (mobilenetv2)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "hwsim", "search", "--workload", args.workload, "--budget", str(args.budget), "--out", d,
               "--format", "json"]  # fmt: skip
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        if done.returncode:
            raise SystemExit(done.stderr)
        summary = json.loads(done.stdout)
        trials = pd.read_csv(Path(d) / "trials.csv")
    base = trials.loc[trials["trial"] == 0].iloc[0]
    win = summary["winner"]
    figures = {
        "search_command": f"hwsim search --workload {args.workload} --budget {args.budget} --out TMP --format json",
        "arch": "eyeriss",
        "workload": args.workload,
        "budget": args.budget,
        "trials": summary["trials"],
        "seconds": seconds,
        "search_seconds": summary["seconds"],
        "feasible": summary["feasible"],
        "pareto": summary["pareto"],
        "limits": summary["limits"],
        "base_edp_pj_s": float(base["edp_pj_s"]),
        "base_area_mm2": summary["base_area_mm2"],
        "winner": win,
        "winner_edp_vs_base": float(base["edp_pj_s"]) / win["edp_pj_s"] if win else None,
        "winner_area_vs_base": win["area_mm2"] / summary["base_area_mm2"] if win else None,
    }
    print(json.dumps(figures, indent=1))
    write_results("search_scale", figures,
                  measures="Whole-process wall time of one `hwsim search` at its defaults (Eyeriss-like base, NSGA-II, the base "
                  "design's area and proxy ≤ 0.05 held) on `workload` for `budget` trials: trials, feasible, Pareto-front size, "
                  "the winner (best feasible EDP on the front) as base EDP / winner EDP and winner area / base area (load-sensitive).")  # fmt: skip


if __name__ == "__main__":
    main()
