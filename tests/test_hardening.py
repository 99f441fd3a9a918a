"""Long runs lose nothing: a disk that fills up mid-run, and a sweep killed again and again at random moments.

The disk-full cases mount a small tmpfs (they skip where mounting is not allowed) and fill it, so the
errors are the operating system's own ENOSPC, not a mock.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

TINY = {
    "name": "tiny",
    "layers": [
        {"name": "conv1", "type": "conv2d", "in_channels": 3, "out_channels": 16, "in_hw": 16, "kernel": 3, "padding": 1},
        {"name": "conv2", "type": "conv2d", "in_channels": 16, "out_channels": 32, "in_hw": 16, "kernel": 3, "padding": 1},
        {"name": "fc", "type": "fc", "in_features": 8192, "out_features": 10},
    ],
}
SWEEP = ["sweep", "--set", "array.rows=2,4,6,8,10,12", "--set", "array.cols=2,7,14", "--set", "levels.glb.size_kib=16,64,256", "--samples", "300"]
FIGURES = ["key", "status", "cycles", "energy_pj", "edp_pj_s", "area_mm2", "pareto"]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hwsim.cli", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, unmounted afterwards."""
    mnt = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(disk: Path, leave_bytes: int) -> Path:
    """Fill ``disk`` until about ``leave_bytes`` remain; return the filler file."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))
    return filler


def test_a_full_disk_keeps_the_old_output_and_says_so(small_disk: Path, tmp_path: Path) -> None:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = small_disk / "result.json"
    first = _cli("run", "--workload", str(wl), "--samples", "300", "--format", "json", "--out", str(out))
    assert first.returncode == 0, first.stderr
    before = out.read_bytes()
    _fill(small_disk, 512)
    again = _cli("run", "--workload", str(wl), "--samples", "300", "--format", "json", "--out", str(out))
    assert again.returncode == 2
    assert "Traceback" not in again.stderr and str(out) in again.stderr and "No space left on device" in again.stderr
    assert out.read_bytes() == before  # the old result, whole
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "result.json"]  # no temporary left behind


def test_a_sweep_that_fills_the_disk_stops_cleanly_and_resumes(small_disk: Path, tmp_path: Path) -> None:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = small_disk / "sweep.csv"
    journal = Path(f"{out}.journal.jsonl")
    filler = _fill(small_disk, 6 * 1024)  # room for a few journal lines, not for 54
    full = _cli(*SWEEP, "--workload", str(wl), "--workers", "1", "--out", str(out))
    assert full.returncode == 2, full.stderr
    assert "Traceback" not in full.stderr and "No space left on device" in full.stderr
    assert not out.exists()
    kept = journal.read_text().splitlines() if journal.exists() else []
    assert all(json.loads(line)["key"] for line in kept)  # whole lines only
    filler.unlink()
    resumed = _cli(*SWEEP, "--workload", str(wl), "--workers", "1", "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr
    clean = _cli(*SWEEP, "--workload", str(wl), "--workers", "1", "--out", str(tmp_path / "clean.csv"))
    assert clean.returncode == 0, clean.stderr
    a, b = pd.read_csv(out), pd.read_csv(tmp_path / "clean.csv")
    assert len(a) == 54 and a["key"].is_unique
    pd.testing.assert_frame_equal(a[FIGURES], b[FIGURES])


def test_a_search_whose_study_fills_the_disk_stops_cleanly_and_resumes(small_disk: Path, tmp_path: Path) -> None:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = small_disk / "search"
    args = ["search", "--workload", str(wl), "--arch", "eyeriss", "--budget", "12", "--samples", "200", "--population", "4",
            "--workers", "1", "--max-proxy", "0.5", "--out", str(out)]  # fmt: skip
    filler = _fill(small_disk, 20_000)
    full = _cli(*args)
    assert full.returncode == 2, full.stderr
    assert "Traceback" not in full.stderr and "study storage" in full.stderr and "full" in full.stderr
    filler.unlink()
    resumed = _cli(*args, "--format", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "trials.csv").exists() and len(pd.read_csv(out / "trials.csv")) >= 12


@pytest.mark.slow
def test_a_sweep_killed_four_times_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "killed.csv"
    journal = Path(f"{out}.journal.jsonl")
    rng = random.Random(20261123)
    args = [sys.executable, "-m", "hwsim.cli", *SWEEP, "--workload", str(wl), "--workers", "2", "--out", str(out)]
    counts = []
    for _ in range(4):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(1.0, 6.0))  # anywhere: during start-up, mapping, or a journal append
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        counts.append(journal.read_text().count("\n") if journal.exists() else 0)
        assert not out.exists() or counts[-1] == 54
    assert counts == sorted(counts)  # nothing finished was lost by a later kill
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    clean = _cli(*SWEEP, "--workload", str(wl), "--workers", "1", "--out", str(tmp_path / "clean.csv"))
    assert clean.returncode == 0, clean.stderr
    a, b = pd.read_csv(out), pd.read_csv(tmp_path / "clean.csv")
    assert len(a) == 54 and a["key"].is_unique
    pd.testing.assert_frame_equal(a[FIGURES], b[FIGURES])
    assert len({json.loads(line)["key"] for line in journal.read_text().splitlines()}) == 54


def test_a_spec_name_cannot_steer_generated_files_out_of_the_output_directory(tmp_path: Path) -> None:
    pytest.importorskip("amaranth")
    import importlib.resources

    spec = yaml.safe_load(importlib.resources.files("hwsim.accelerators").joinpath("fpga-small.yaml").read_text())
    spec["name"] = "../../escape/../evil name"
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "sub" / "out"
    done = _cli("rtl", "generate", "--arch", str(tmp_path / "a.yaml"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "a.yaml"]
    assert written and all(p.parent == out for p in written)
    assert all(p.stem.replace("_", "").isalnum() for p in written)


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["rtl", "verify", "--gemm", "100000,100000,100000"], "--gemm"),
        (["rtl", "verify", "--gemm", "2000,2000,2000"], "--gemm"),
        (["rtl", "verify", "--gemm", "64,64,64", "--max-cycles", "10"], "--gemm"),
        (["rtl", "verify", "--gemm", "8,8,8", "--max-cycles", "0"], "--max-cycles"),
        (["rtl", "verify", "--gemm", "8,8,8", "--dram-latency", "-5"], "--dram-latency"),
        (["rtl", "verify", "--gemm", "0,8,8"], "--gemm"),
        (["rtl", "verify", "--gemm", "8,8"], "--gemm"),
        (["rtl", "verify", "--gemm", "9" * 30 + ",1,1"], "--gemm"),
        (["rtl", "verify", "--arch", "eyeriss", "--gemm", "8,8,8"], "levels"),
        (["rtl", "generate", "--arch", "/nonexistent.yaml", "--out", "x"], "/nonexistent.yaml: 1 problem"),
        (["rtl", "synth", "--freq", "-1"], "--freq"),
        (["rtl", "synth", "--freq", "nan"], "--freq"),
        (["rtl", "synth", "--target", "asic"], "--target"),
    ],
)
def test_rtl_extremes_are_refused_with_one_clear_error(argv: list[str], field: str) -> None:
    pytest.importorskip("amaranth")
    done = _cli(*argv, timeout=120)
    assert done.returncode == 2, (argv, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr and field in done.stderr
