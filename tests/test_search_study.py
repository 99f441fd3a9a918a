"""`hwsim search` never gives a silent wrong result: a study is of one search, a win is not a bigger chip, an impossible
limit is refused, and Ctrl-C keeps what finished."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("optuna")

from hwsim.cli import main
from hwsim.frontend.presets import load_arch
from tests.nets import TINY

FAST = ["--samples", "50", "--population", "4", "--workers", "1", "--max-proxy", "0.5", "--format", "json"]


def _tiny(tmp_path: Path, name: str = "tiny.yaml", **changes: int) -> Path:
    doc = json.loads(json.dumps(TINY))
    doc["layers"][0].update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def _complete(db: Path) -> set[int]:
    with sqlite3.connect(db) as c:
        return {r[0] for r in c.execute("select number from trials where state = 'COMPLETE'")}


def test_a_study_of_another_workload_is_refused_and_the_same_settings_resume(tmp_path: Path, capsys):
    """The truth: what the first run wrote (trials.csv, winner/arch.yaml, the stored trials) before the second run. A run
    of another workload — another preset, or the same file edited — into that --out exits 2 naming the workload (old
    and new), says how to start fresh, and leaves every file and trial as it was; the same settings with a larger
    budget add trials to the stored ones."""
    wl, out = _tiny(tmp_path), tmp_path / "s"
    code = main(["search", "--workload", str(wl), "--budget", "3", "--out", str(out), *FAST])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    before = {p: (out / p).read_bytes() for p in ("trials.csv", "winner/arch.yaml", "winner/network.yaml")}
    kept = _complete(out / "study.db")
    assert len(kept) == 3

    code = main(["search", "--workload", "resnet18", "--budget", "3", "--out", str(out), *FAST])
    res = capsys.readouterr()
    assert code == 2 and res.out == "" and "Traceback" not in res.err
    assert "--workload" in res.err and str(wl) in res.err and "resnet18" in res.err
    assert "new --out" in res.err and "--study NAME" in res.err and "deleting" in res.err
    assert {p: (out / p).read_bytes() for p in before} == before and _complete(out / "study.db") == kept

    _tiny(tmp_path, kernel=1, padding=0)  # the same file name, another network (a 1×1 first layer)
    code = main(["search", "--workload", str(wl), "--budget", "3", "--out", str(out), *FAST])
    res = capsys.readouterr()
    assert code == 2 and "--workload" in res.err and "other content" in res.err

    _tiny(tmp_path)  # back to the study's own workload: a larger budget resumes it
    code = main(["search", "--workload", str(wl), "--budget", "5", "--out", str(out), *FAST])
    res = capsys.readouterr()
    assert code == 0, res.err
    after = _complete(out / "study.db")
    assert kept < after and len(after) >= 5 and json.loads(res.out)["trials"] == len(after)


def test_every_setting_that_changes_a_trial_is_named_with_its_old_and_new_value(tmp_path: Path, capsys):
    """The truth: the brief's list of what changes a trial's meaning or proposal. Each changed on its own against a
    stored study is refused, naming that option and both values."""
    wl, out = _tiny(tmp_path), tmp_path / "s"
    space = tmp_path / "space.yaml"
    space.write_text("hardware: {array.rows: [4, 8], array.cols: [4, 8]}\n")
    common = ["--workload", str(wl), "--budget", "2", "--out", str(out), "--samples", "50", "--population", "4", "--workers", "1"]
    assert main(["search", *common, "--max-proxy", "0.5", "--format", "json"]) == 0
    capsys.readouterr()
    changes = {
        "--arch": ["--arch", "simba"], "--space": ["--space", str(space)], "--objective": ["--objective", "edp"],
        "--max-proxy": ["--max-proxy", "0.4"], "--max-area-mm2": ["--no-resource-limit"], "--seed": ["--seed", "3"],
        "--sampler": ["--sampler", "random"], "--bits-per": ["--bits-per", "layer"], "--prune": ["--prune"],
        "--max-pes": ["--same-resources"],
    }  # fmt: skip
    for option, extra in changes.items():
        args = ["search", *common, *extra]
        if "--max-proxy" not in extra:
            args += ["--max-proxy", "0.5"]
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2, (option, err)
        assert f"- {option}: expected the study's" in err, (option, err)
    code = main(["search", "--workload", str(wl), "--budget", "2", "--out", str(out), "--samples", "60", "--population", "4",
                 "--workers", "1", "--max-proxy", "0.5"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "- --samples: expected the study's 50, not '60'" in err


def _summary(args: list[str], capsys) -> dict:
    code = main(args)
    res = capsys.readouterr()
    assert code == 0, res.err
    return json.loads(res.out)


def test_by_default_no_feasible_design_is_larger_than_the_base(tmp_path: Path, capsys):
    """The truth: the base preset's area as `hwsim run` builds it (load_arch). Without a limit every feasible trial fits
    in it and the summary says the limit is the base design's; with --no-resource-limit designs larger than it are
    feasible (what the default hid); a space file's own area limit wins over the default; a given one wins over both."""
    wl = _tiny(tmp_path)
    base_mm2 = load_arch("eyeriss").area_um2 / 1e6
    args = ["search", "--workload", str(wl), "--budget", "12", "--samples", "50", "--population", "8", "--workers", "1",
            "--max-proxy", "0.5", "--format", "json"]  # fmt: skip
    held = _summary([*args, "--out", str(tmp_path / "held")], capsys)
    frame = pd.read_csv(tmp_path / "held" / "trials.csv")
    assert held["constraints"]["max_area_mm2"] == pytest.approx(base_mm2, rel=1e-12)
    assert f"area ≤ {base_mm2:.4g} mm² (the base design's; --no-resource-limit lifts it)" in held["limits"]
    assert frame["feasible"].sum() >= 1 and (frame.loc[frame["feasible"], "area_mm2"] <= base_mm2).all()
    assert (frame.loc[frame["mapped"] | frame["error"].fillna("").str.contains("max_area_mm2"), "area_mm2"] > base_mm2).any()
    assert held["winner"]["area_mm2"] <= base_mm2

    free = _summary([*args, "--out", str(tmp_path / "free"), "--no-resource-limit"], capsys)
    frame = pd.read_csv(tmp_path / "free" / "trials.csv")
    assert "max_area_mm2" not in free["constraints"] and any("area not limited" in t for t in free["limits"])
    assert (frame.loc[frame["feasible"], "area_mm2"] > base_mm2).any()

    space = tmp_path / "space.yaml"
    space.write_text("constraints: {max_area_mm2: 6.5}\n")
    own = _summary([*args[:-2], "--budget", "2", "--space", str(space), "--out", str(tmp_path / "own"), "--format", "json"], capsys)
    assert own["constraints"]["max_area_mm2"] == 6.5 and "area ≤ 6.5 mm² (the space file's)" in own["limits"]
    given = _summary([*args[:-2], "--budget", "2", "--space", str(space), "--max-area", "5", "--out", str(tmp_path / "given"),
                      "--format", "json"], capsys)  # fmt: skip
    assert given["constraints"]["max_area_mm2"] == 5 and "area ≤ 5 mm² (--max-area-mm2)" in given["limits"]
    code = main([*args[:-2], "--budget", "2", "--out", str(tmp_path / "table"), "--no-resource-limit"])
    text = capsys.readouterr().out
    assert code == 0 and "area not limited (--no-resource-limit)" in text and f"base design {base_mm2:.3g} mm²" in text


@pytest.mark.parametrize("option,value", [("--max-proxy", "-1"), ("--max-proxy", "nan"), ("--max-area-mm2", "-2"), ("--max-area", "nan"),
                                          ("--max-power-mw", "-5"), ("--max-pes", "0"), ("--max-onchip-kib", "inf")])  # fmt: skip
def test_a_limit_no_design_can_meet_is_refused_up_front(tmp_path: Path, capsys, option: str, value: str):
    """The truth: no design has a negative, zero or NaN area, power, PE count, storage or proxy (nor is an infinite one a
    limit). Such a limit exits 2 naming the option and value, before any trial (no study is written)."""
    wl = _tiny(tmp_path)
    out = tmp_path / "s"
    code = main(["search", "--workload", str(wl), "--budget", "2", "--samples", "50", "--out", str(out), option, value])
    err = capsys.readouterr().err
    name = "--max-area-mm2" if option == "--max-area" else option
    assert code == 2 and "Traceback" not in err
    assert f"- {name}: expected a positive finite limit" in err and f"not {float(value)!r}" in err
    assert not (out / "study.db").exists()


def test_a_space_file_limit_no_design_can_meet_is_refused(tmp_path: Path, capsys):
    """The truth as above, for limits written in a space file: each bad one named with its field path."""
    wl = _tiny(tmp_path)
    space = tmp_path / "space.yaml"
    space.write_text("constraints: {max_proxy: -1, max_power_mw: .nan, max_area_mm2: 3}\n")
    code = main(["search", "--workload", str(wl), "--space", str(space), "--budget", "2", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and "space.constraints.max_proxy" in err and "space.constraints.max_power_mw" in err
    assert "max_area_mm2" not in err


def test_progress_reports_trials_and_the_best_feasible_value(tmp_path: Path):
    """The truth: the study's own trials (trials_frame) at the end. The progress callback counts up to the budget and its
    last best value is the lowest feasible EDP of the study; it never reports a best before a feasible trial."""
    from hwsim.explore.proxy import QuantPruneProxy
    from hwsim.explore.search import Context, default_space, run_search, trials_frame
    from hwsim.explore.variants import arch_spec
    from hwsim.frontend.presets import load_workload
    from hwsim.mapper import MapperOptions

    base = arch_spec("eyeriss")
    net = load_workload(str(_tiny(tmp_path)))
    ctx = Context(base, net, default_space(base), ("edp", "proxy"), MapperOptions(samples=50), QuantPruneProxy())
    calls: list[tuple[int, int, float | None]] = []
    study = run_search(ctx, f"sqlite:///{tmp_path / 'p.db'}", 6, workers=1, population=4, progress=lambda *a: calls.append(a))
    frame = trials_frame(study, ctx.objectives)
    assert calls[0][0] == 0 and calls[-1][:2] == (len(frame), 6) and len(frame) >= 6
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert calls[-1][2] == frame.loc[frame["feasible"].astype(bool), "edp_pj_s"].min()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal and forked workers")
def test_progress_shows_on_a_terminal_only(tmp_path: Path):
    """The truth: what a terminal receives. With standard error on a pseudo-terminal the search draws trials done of the
    budget and the best EDP so far; with standard error in a pipe nothing but the result."""
    import pty

    wl = _tiny(tmp_path)
    args = [sys.executable, "-m", "hwsim", "search", "--workload", str(wl), "--budget", "4", "--samples", "50",
            "--population", "4", "--workers", "1", "--max-proxy", "0.5"]  # fmt: skip
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen([*args, "--out", str(tmp_path / "tty")], stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=300)
    os.close(master)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "trials, best edp" in text and "/4" in text
    piped = subprocess.run([*args, "--out", str(tmp_path / "pipe")], capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0 and piped.stderr == ""


def _wait_for_trials(proc: subprocess.Popen, db: Path, n: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.2)
        assert proc.poll() is None, "the search ended before it could be interrupted"
        if db.exists():
            try:
                if len(_complete(db)) >= n:
                    return
            except sqlite3.OperationalError:
                pass
    raise AssertionError("no trials")


@pytest.mark.parametrize("to", ["group", "parent"])
def test_ctrl_c_ends_quietly_and_the_same_command_resumes(tmp_path: Path, to: str):
    """The truth: the trials the study had stored when SIGINT came (read from its SQLite file) and the shell's status
    for an interrupt (130). SIGINT to the whole process group (a terminal's Ctrl-C) or to the parent alone ends the
    search with "hwsim: interrupted" and no worker traceback; every stored trial is still there, and the same command
    then completes the budget."""
    wl = _tiny(tmp_path)
    out = tmp_path / "s"
    args = [sys.executable, "-m", "hwsim", "search", "--workload", str(wl), "--budget", "16", "--samples", "100",
            "--population", "4", "--workers", "2", "--max-proxy", "0.5", "--out", str(out), "--format", "json"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for_trials(proc, out / "study.db", 4)  # the first 2 (enqueued) run in the parent, then 2 forked workers
    kept = _complete(out / "study.db")
    if to == "group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.endswith("hwsim: interrupted\n") and "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stdout == ""
    assert kept <= _complete(out / "study.db")
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    done = _complete(out / "study.db")
    assert kept <= done and len(done) >= 16 and json.loads(rerun.stdout)["trials"] == len(done)
    assert not math.isnan(json.loads(rerun.stdout)["winner"]["edp_pj_s"])
