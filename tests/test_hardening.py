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

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.nets import TINY

SWEEP = ["sweep", "--set", "array.rows=2,4,6,8,10,12", "--set", "array.cols=2,7,14", "--set", "levels.glb.size_kib=16,64,256", "--samples", "300"]
FIGURES = ["key", "status", "cycles", "energy_pj", "edp_pj_s", "area_mm2", "pareto"]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hwsim", *args], capture_output=True, text=True, timeout=timeout)


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
    args = [sys.executable, "-m", "hwsim", *SWEEP, "--workload", str(wl), "--workers", "2", "--out", str(out)]
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


def _patterns(m: int, n: int, k: int, bits: int) -> dict[str, tuple]:
    hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    alt_a = np.where((np.arange(m)[:, None] + np.arange(k)[None, :]) % 2 == 0, hi, lo)
    alt_b = np.where((np.arange(k)[:, None] + np.arange(n)[None, :]) % 2 == 0, lo, hi)
    zero_a = np.full((m, k), hi)
    zero_a[1::3] = 0  # zero rows
    zero_b = np.full((k, n), lo)
    zero_b[:, ::2] = 0  # zero columns
    return {
        "all max": (np.full((m, k), hi), np.full((k, n), hi)),
        "all min": (np.full((m, k), lo), np.full((k, n), lo)),
        "max times min": (np.full((m, k), hi), np.full((k, n), lo)),
        "alternating signs": (alt_a, alt_b),
        "zero rows and columns": (zero_a, zero_b),
    }


@pytest.mark.parametrize("dataflow", ["ws", "os"])
@pytest.mark.parametrize("acc_bits", [32, 16])
def test_rtl_extreme_operands_match_numpy(dataflow: str, acc_bits: int) -> None:
    """All-max, all-min, alternating signs and zero rows/columns, against numpy's int64 product wrapped to the
    accumulator width (two's complement, as the generated core specifies); 16 bits overflows on purpose."""
    pytest.importorskip("amaranth")
    from hwsim.rtl import rtl_config, systolic_arch
    from hwsim.rtl.sim import DramModel, run_gemm

    arch = systolic_arch(4, 3, dataflow, accumulator_bits=acc_bits, dram_bits_per_cycle=32)
    cfg = rtl_config(arch)
    m, n, k = 9, 7, 26
    plan = cfg.plan(m, n, k)
    overflowed = False
    for name, (A, B) in _patterns(m, n, k, cfg.a_bits).items():
        exact = A.astype(np.int64) @ B.astype(np.int64)
        half = 1 << (acc_bits - 1)
        want = (exact + half) % (2 * half) - half
        overflowed |= bool((want != exact).any())
        got, _, _ = run_gemm(plan, A, B, DramModel.for_config(cfg, 3))
        assert np.array_equal(got, want), name
    assert overflowed == (acc_bits == 16)


def test_a_read_only_directory_is_one_clear_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.strip()}")
    try:
        wl = tmp_path / "tiny.yaml"
        wl.write_text(yaml.safe_dump(TINY))
        for argv, field in [
            (["run", "--workload", str(wl), "--samples", "200", "--out", str(ro / "r.json")], "--out"),
            (["run", "--workload", str(wl), "--samples", "200", "--plot", str(ro / "r.png")], "--plot"),
            ([*SWEEP, "--workload", str(wl), "--workers", "1", "--out", str(ro / "s.csv")], "--out"),
            (["search", "--workload", str(wl), "--budget", "4", "--samples", "200", "--out", str(ro / "search")], "--out"),
            (["rtl", "generate", "--out", str(ro / "rtl")], "--out"),
        ]:
            r = _cli(*argv)
            assert r.returncode == 2, (argv, r.stderr[-1500:])
            assert "Traceback" not in r.stderr and field in r.stderr and "Read-only file system" in r.stderr, (argv, r.stderr)
    finally:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True)


@pytest.mark.slow
def test_a_search_killed_three_times_at_random_moments_loses_no_trial(tmp_path: Path) -> None:
    import sqlite3

    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "search"
    args = [sys.executable, "-m", "hwsim", "search", "--workload", str(wl), "--arch", "eyeriss", "--budget", "40",
            "--samples", "200", "--population", "8", "--out", str(out), "--max-proxy", "0.5", "--format", "json"]  # fmt: skip
    db = out / "study.db"

    def complete() -> dict[int, str]:
        if not db.exists():
            return {}
        with sqlite3.connect(db) as c:
            rows = c.execute("select t.number, group_concat(v.value) from trials t join trial_values v on v.trial_id = t.trial_id "
                             "where t.state = 'COMPLETE' group by t.trial_id").fetchall()  # fmt: skip
        return dict(rows)

    rng = random.Random(7)
    seen: dict[int, str] = {}
    for _ in range(3):
        proc = subprocess.Popen([*args, "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(3.0, 9.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        now = complete()
        assert all(now.get(k) == v for k, v in seen.items())  # finished trials survive later kills unchanged
        seen = now
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    final = complete()
    assert all(final.get(k) == v for k, v in seen.items())
    assert 40 <= len(final) <= 41 and json.loads(rerun.stdout)["trials"] == len(final)


def test_atomic_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    """Written through a temporary file, yet readable like any file the user creates (umask 022: 0644), not 0600."""
    from hwsim.core.io import write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "out.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "out.json").stat().st_mode & 0o777 == 0o644
