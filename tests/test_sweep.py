"""Sweeps: dotted-path variants, Pareto fronts, the journal, resuming after a kill, Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwsim.core.errors import SpecError
from hwsim.explore.pareto import hypervolume, pareto_mask
from hwsim.explore.sweep import Journal, grid_points, random_points, run_sweep
from hwsim.explore.variants import arch_spec, build_point, parse_settings
from hwsim.frontend.network_spec import network_from_dict
from hwsim.mapper import MapperOptions
from tests.nets import TINY

FIGURES = ["status", "cycles", "energy_pj", "edp_pj_s", "area_mm2", "pareto"]


def test_settings_parse_values_and_lists():
    got = parse_settings(["array.rows=8,16,32", "levels.GLB.size_kib=64,128", "dataflow=ws,os", "pe_array.axes.rows.dims=[S,C],[K]"])
    assert got == {"array.rows": [8, 16, 32], "levels.GLB.size_kib": [64, 128], "dataflow": ["ws", "os"],
                   "pe_array.axes.rows.dims": [["S", "C"], ["K"]]}  # fmt: skip


def test_build_point_aliases_and_rescaling():
    base = arch_spec("eyeriss")
    p = build_point(base, {"array.rows": 16, "levels.glb.size_kib": 256, "clock_hz": 4e8, "dataflow": "rs"})
    assert p.arch.num_macs == 16 * 14 and p.arch.clock_hz == 4e8 and p.mapper == {"dataflow": "rs"}
    glb = p.arch.levels[p.arch.level_index("GLB")]
    assert glb.size_bytes == 256 * 1024
    # Eyeriss states calibrated GLB energies: scaled by the technology ratio, never left stale
    assert glb.read_energy_pj > 18.183829 and any(r.startswith("GLB.read_energy_pj×") for r in p.rescaled)
    assert base["levels"][1]["size_kib"] == 128  # the base spec is untouched


def test_unknown_paths_are_all_listed():
    with pytest.raises(SpecError) as e:
        build_point(arch_spec("eyeriss"), {"array.foo": 1, "levels.glb.sizee": 3, "array.rows": 8})
    paths = [p.path for p in e.value.problems]
    assert paths == ["--set array.foo", "--set levels.glb.sizee"]
    assert "levels.{dram,glb," in e.value.problems[0].expected


def test_grid_and_random_points():
    s = {"a": [1, 2, 3], "b": ["x", "y"]}
    assert grid_points(s) == [{"a": a, "b": b} for a in (1, 2, 3) for b in "xy"]
    r = random_points(s, 4, seed=1)
    assert len(r) == 4 and all(p in grid_points(s) for p in r) and len({json.dumps(p) for p in r}) == 4
    assert random_points(s, 10) == grid_points(s)


def test_pareto_and_hypervolume():
    v = np.array([[1, 5], [2, 2], [5, 1], [3, 3], [2, 2], [np.nan, 0]])
    assert pareto_mask(v).tolist() == [True, True, True, False, True, False]
    assert hypervolume(v, [6, 6]) == pytest.approx(5 * 1 + 4 * 3 + 1 * 1)
    cube = np.array([[0.0, 0.0, 0.0]])
    assert hypervolume(cube, [1, 2, 3]) == pytest.approx(6)
    pts = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    assert hypervolume(pts, [2, 2, 2]) == pytest.approx(3 * 2 - 3 + 1)  # three 2-unit boxes, all overlapping in one unit cube


def test_journal_drops_a_cut_line(tmp_path: Path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"key": "a", "x": 1}\n{"key": "b", "x"')
    j = Journal(path)
    j.add({"key": "c", "x": 3})
    j.close()
    assert set(Journal(path).rows) == {"a", "c"}
    assert path.read_text().count("\n") == 2


def _tiny_sweep(tmp_path: Path, **kw):
    net = network_from_dict(TINY, source="tiny")
    pts = grid_points({"array.rows": [4, 12], "levels.glb.size_kib": [1, 64], "dataflow": ["ws", "rs"]})
    return run_sweep(arch_spec("eyeriss"), net, pts, MapperOptions(samples=300), **kw)


def test_sweep_in_process_and_resumed(tmp_path: Path):
    journal = tmp_path / "s.journal.jsonl"
    full = _tiny_sweep(tmp_path, journal=journal, workers=2)
    assert len(full) == 8 and full["key"].is_unique and (full["status"] == "ok").sum() >= 4
    assert full["pareto"].sum() >= 1 and "energy_GLB_pj" in full and "energy_mac_pj" in full
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:3]) + "\n")  # as if killed after three points
    seen = []
    again = _tiny_sweep(tmp_path, journal=journal, workers=1, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (3, 8) and seen[-1] == (8, 8)
    pd.testing.assert_frame_equal(again[["key", *FIGURES]], full[["key", *FIGURES]])


def test_sweep_on_a_dask_local_cluster(tmp_path: Path):
    local = _tiny_sweep(tmp_path, workers=1)
    dask = _tiny_sweep(tmp_path, scheduler="local:2")
    pd.testing.assert_frame_equal(dask[["key", *FIGURES]], local[["key", *FIGURES]])


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hwsim", *args], capture_output=True, text=True, timeout=300)


def test_killed_cli_sweep_resumes_with_nothing_lost(tmp_path: Path):
    import yaml

    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    args = ["sweep", "--workload", str(wl), "--set", "array.rows=2,4,6,8,10,12", "--set", "array.cols=2,7,14",
            "--set", "levels.glb.size_kib=16,64,256", "--samples", "300"]  # fmt: skip
    out = tmp_path / "killed.csv"
    journal = Path(f"{out}.journal.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "hwsim", *args, "--workers", "1", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.exists() or journal.read_text().count("\n") < 10):
        time.sleep(0.05)
        assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = journal.read_text().count("\n")
    assert 10 <= done < 54 and not out.exists()
    rerun = _cli(*args, "--out", str(out), "--format", "json")
    assert rerun.returncode == 0, rerun.stderr
    clean = _cli(*args, "--out", str(tmp_path / "clean.csv"))
    assert clean.returncode == 0, clean.stderr
    a, b = pd.read_csv(out), pd.read_csv(tmp_path / "clean.csv")
    assert len(a) == 54 and a["key"].is_unique
    pd.testing.assert_frame_equal(a[["key", *FIGURES]], b[["key", *FIGURES]])
    assert len({json.loads(line)["key"] for line in journal.read_text().splitlines()}) == 54


def test_cli_rejects_bad_paths_without_traceback(tmp_path: Path):
    p = _cli("sweep", "--set", "array.nope=1", "--set", "dataflow=zz", "--out", str(tmp_path / "x.csv"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "--set array.nope" in p.stderr and "--set dataflow: expected one of ws, os, is, rs, not 'zz'" in p.stderr
