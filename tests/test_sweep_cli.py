"""`hwsim sweep` at the command line: bad values and unwritable outputs refused before any work, Ctrl-C quiet and resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hwsim.cli import main
from hwsim.core.errors import SpecError
from hwsim.explore.sweep import run_sweep
from hwsim.explore.variants import arch_spec
from hwsim.frontend.network_spec import network_from_dict
from hwsim.mapper import MapperOptions
from tests.nets import TINY


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    return wl


def test_bad_set_values_are_refused_before_any_work(tiny: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Independent truth: the architecture spec's own validators (an axis size is an integer ≥ 1, a capacity is
    positive, a MAC kind is one of fixed/bit-serial/bit-fusion). Each bad value is named with its --set path, all at
    once, with exit status 2 and no file written; before, the sweep exited 0 with 'infeasible' rows."""
    out = tmp_path / "bad.csv"
    code = main(["sweep", "--workload", str(tiny), "--set", "array.rows=8,twelve", "--set", "levels.glb.size_kib=64,-1",
                 "--set", "mac.kind=foo", "--samples", "50", "--workers", "1", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "--set array.rows: expected an integer ≥ 1, not 'twelve'" in err
    assert "--set levels.glb.size_kib: expected a positive number (capacity), not -1" in err
    assert "--set mac.kind: expected one of fixed, bit-serial, bit-fusion, not 'foo'" in err
    assert "3 problems" in err
    assert not out.exists() and not Path(f"{out}.journal.jsonl").exists()
    net = network_from_dict(TINY, source="tiny")
    with pytest.raises(SpecError) as e:  # the library refuses them too
        run_sweep(arch_spec("eyeriss"), net, [{"array.rows": 8}, {"array.rows": "twelve"}], MapperOptions(samples=50), workers=1)
    assert [p.path for p in e.value.problems] == ["--set array.rows"]


def test_a_valid_design_that_does_not_fit_stays_an_infeasible_row(tiny: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Independent truth: a 1-byte global buffer is a legal spec value but holds no tile of any layer, so no mapping
    fits: the point is a row marked infeasible (with the mapper's reason), not a refused command."""
    out = tmp_path / "s.csv"
    code = main(["sweep", "--workload", str(tiny), "--set", "levels.glb.size_bytes=1,65536", "--samples", "200", "--workers", "1",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    rows = pd.read_csv(out)
    assert rows["status"].tolist() == ["infeasible", "ok"] and rows["error"].iloc[0]


@pytest.mark.parametrize("where", ["plots_is_a_file", "plots_under_a_file", "out_is_a_directory"])
def test_unwritable_outputs_are_refused_before_any_work(tiny: Path, tmp_path: Path, capsys, where: str) -> None:  # type: ignore[no-untyped-def]
    """Independent truth: the file system (a file is not a directory, nothing can be created under a file). Before,
    --plots naming a file failed with a traceback after every point was mapped; now exit 2 at once, no journal."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    out, plots = tmp_path / "s.csv", tmp_path / "plots"
    if where == "plots_is_a_file":
        plots = afile
    elif where == "plots_under_a_file":
        plots = afile / "plots"
    else:
        out = tmp_path / "adir.csv"
        out.mkdir()
    start = time.perf_counter()
    code = main(["sweep", "--workload", str(tiny), "--set", "array.rows=4,8,12", "--workers", "1", "--out", str(out), "--plots", str(plots)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert ("--plots" if where.startswith("plots") else "--out") in err and str(plots if where.startswith("plots") else out) in err
    assert not Path(f"{out}.journal.jsonl").exists() and time.perf_counter() - start < 10


def test_ctrl_c_stops_quietly_and_the_same_command_resumes(tiny: Path, tmp_path: Path) -> None:
    """Independent truth: what a terminal's Ctrl-C does (SIGINT to the whole foreground process group, workers
    included), sent while one worker maps the last point and the other waits for work (where the old pool's worker
    printed a KeyboardInterrupt traceback). The command ends with only 'hwsim: interrupted' (status 130), the journal
    keeps the finished points, and the same command then maps only the rest: the journal ends with every point
    exactly once and the table equals an uninterrupted sweep's."""
    args = [sys.executable, "-m", "hwsim", "sweep", "--workload", str(tiny), "--set", "array.rows=4,8,12", "--workers", "2"]
    out = tmp_path / "s.csv"
    journal = Path(f"{out}.journal.jsonl")
    proc = subprocess.Popen([*args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.exists() or journal.read_text().count("\n") < 2):
        time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "hwsim: interrupted\n", err
    assert journal.read_text().count("\n") == 2 and not out.exists()
    again = subprocess.run([*args, "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    keys = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert len(keys) == 3 == len(set(keys))  # the finished points were not mapped again
    clean = subprocess.run([*args, "--out", str(tmp_path / "clean.csv")], capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    cols = ["key", "status", "cycles", "energy_pj", "edp_pj_s", "area_mm2", "pareto"]
    pd.testing.assert_frame_equal(pd.read_csv(out)[cols], pd.read_csv(tmp_path / "clean.csv")[cols])
