"""The mapper's throughput and ``hwsim run``'s wall time, before and after a change, measured in one run.

    python benchmarks/before_after.py --before ../wt-old [--rounds 3]

``--before`` is a checkout of the earlier commit with its own virtual environment (``DIR/.venv``, made with
``python3 -m venv .venv && .venv/bin/pip install -e .``); "after" is this checkout and the Python running this script.
Each round measures both sides in turn (so load on the machine falls on both alike): each side's own
benchmarks/mapper_throughput.py (its compiled batch rate and whole-search rate, its results file left alone), and the
wall time of ``hwsim run --arch eyeriss --workload resnet18`` in a fresh process after one warm-up run (numba's
cache warm). Reported: the median over rounds per side, and after/before. Writes benchmarks/results/before_after.json.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_io import ROOT, write_results

RATES = {"compiled_mappings_per_s": r"compiled batch model: ([\d,]+) mappings/s", "search_mappings_per_s": r"whole search[^:]*: ([\d,]+) mappings/s"}
RUN = ["run", "--arch", "eyeriss", "--workload", "resnet18", "--format", "json"]


def throughput(python: str, repo: Path, scratch: Path) -> dict[str, float]:
    """The side's own mapper_throughput.py, run beside a results_io that writes nothing."""
    shutil.copy(repo / "benchmarks" / "mapper_throughput.py", scratch / "mapper_throughput.py")
    (scratch / "results_io.py").write_text("def write_results(*args, **kwargs):\n    pass\n", encoding="utf-8")
    out = subprocess.run([python, str(scratch / "mapper_throughput.py")], cwd=repo, capture_output=True, text=True, check=True).stdout
    found = {k: re.search(p, out) for k, p in RATES.items()}
    return {k: float(m.group(1).replace(",", "")) for k, m in found.items() if m}


def run_seconds(hwsim: str, repo: Path) -> float:
    t = time.perf_counter()
    subprocess.run([hwsim, *RUN], cwd=repo, capture_output=True, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="a checkout of the earlier commit, with DIR/.venv")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    before = args.before.resolve()
    sides = {"before": (str(before / ".venv" / "bin" / "python"), str(before / ".venv" / "bin" / "hwsim"), before),
             "after": (sys.executable, str(Path(sys.executable).with_name("hwsim")), ROOT)}  # fmt: skip
    commits = {k: subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
               for k, (_, _, repo) in sides.items()}  # fmt: skip
    samples: dict[str, dict[str, list[float]]] = {k: {} for k in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for _, hwsim, repo in sides.values():
            run_seconds(hwsim, repo)  # warm-up: numba's cache filled (or loaded) before timing
        for r in range(args.rounds):
            for name, (python, hwsim, repo) in sides.items():
                scratch = Path(tmp) / f"{name}{r}"
                scratch.mkdir()
                figures = {**throughput(python, repo, scratch), "hwsim_run_s": run_seconds(hwsim, repo)}
                for k, v in figures.items():
                    samples[name].setdefault(k, []).append(v)
                print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:,.3f}" for k, v in figures.items()), flush=True)
    medians = {name: {k: statistics.median(v) for k, v in s.items()} for name, s in samples.items()}
    ratio = {k: medians["after"][k] / medians["before"][k] for k in medians["after"] if k in medians["before"]}
    for k, v in ratio.items():
        print(f"{k}: before {medians['before'][k]:,.3f}, after {medians['after'][k]:,.3f} (after/before {v:.3f})")
    write_results("before_after", {"commits": commits, "rounds": args.rounds, "median": medians, "after_over_before": ratio,
                                   "samples": samples, "hwsim_run": "hwsim " + " ".join(RUN)},
                  measures="The mapper's compiled and whole-search mappings/s (each side's own benchmarks/mapper_throughput.py) and "
                           "the wall time of `hwsim run` on ResNet-18 (Eyeriss-like, warm numba cache), before and after, alternating "
                           "in one run; medians over rounds (load-sensitive).")


if __name__ == "__main__":
    main()
