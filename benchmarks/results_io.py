"""Benchmark figures as data: every script here writes what it prints to ``benchmarks/results/NAME.json``.

A results file holds what the script measures (one sentence), the figures (plain JSON: numbers, strings,
lists and dicts), and where they came from: the command line to rerun, the date, the git commit (and the
uncommitted files of the code it ran), the Python, numpy and numba versions, the machine's CPU count
and load average when the file was written (timings taken on a busy machine say so).

README.md quotes these files, never numbers typed by hand: ``tests/test_readme_figures.py`` formats each
quoted figure from its file and requires the README to contain exactly that text, so a rerun that changes
a figure fails the test until the README is updated from the file.

    from results_io import write_results          # in a script run as `python benchmarks/NAME.py`
    write_results("exhaustive_vs_default", {"archs": {...}}, measures="…")

    from benchmarks.results_io import read_results  # from the repository root (tests)
    read_results("exhaustive_vs_default")["figures"]
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().with_name("results")
CODE = ("hwsim", "accelerators", "workloads", "benchmarks", "tests", "pyproject.toml")  # what a figure depends on


def default_command() -> str:
    """This process's command line as one reruns it from the repository root: ``python benchmarks/NAME.py ARGS``."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = sys.argv[0]
    return shlex.join(["python", shown, *sys.argv[1:]])


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, tuples and Paths as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not a JSON figure: {value!r} ({type(value).__name__})")


def provenance() -> dict[str, Any]:
    """Where a figure comes from: date, commit, uncommitted code files, versions, machine."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--", *CODE)
    dirty = sorted(line[3:] for line in (status or "").splitlines() if line[3:] and not line[3:].startswith("benchmarks/results/"))
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit.strip() if commit else None,
        "uncommitted": dirty,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "hwsim": _version("hwsim"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1_5_15_min": [round(x, 2) for x in load] if load else None,
        },
    }


def write_results(name: str, figures: dict[str, Any], command: str | None = None, *, measures: str) -> Path:
    """Write ``benchmarks/results/NAME.json`` atomically (readers see the old file or the new one) and return its path.

    ``figures`` are the numbers the script prints, as JSON data; ``measures`` says in a sentence what they are;
    ``command`` (default: this process's command line) is how to rerun it.
    """
    from hwsim.core.io import write_text_atomic

    record = {"name": name, "measures": measures, "command": command or default_command(), **provenance(), "figures": figures}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    write_text_atomic(path, json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False, default=_plain) + "\n")
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=sys.stderr)
    return path


def results_path(name: str) -> Path:
    return RESULTS / f"{name}.json"


def read_results(name: str) -> dict[str, Any]:
    """The whole record of ``benchmarks/results/NAME.json`` (``figures``, ``command``, ``measures``, provenance)."""
    return json.loads(results_path(name).read_text(encoding="utf-8"))
