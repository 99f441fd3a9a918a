"""`hwsim search --accuracy MODULE:FUNCTION`: a measured accuracy in the co-search (hwsim.explore.accuracy).

The independent truth is a user function with a closed form in the trial's choices: the accuracy recorded for every
trial is recomputed from its own ``param.*`` columns in trials.csv (not from what hwsim passed the function), each
distinct variant is measured once, every feasible trial is measured and none that breaks another limit, and the
study refuses to resume with an edited function."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("optuna")

from hwsim.cli import main
from tests.nets import TINY

FAST = ["--samples", "50", "--population", "4", "--workers", "1", "--format", "json"]

FUNCTION = '''
LOG = {log!r}


def accuracy(variant):
    """Closed form: 0.4 + 0.05 x the mean weight bits of the MAC layers + 0.1 x the 16x16 stage's width."""
    with open(LOG, "a") as f:
        f.write(variant.key + "\\n")
    plan = variant.plan()
    mean_bits = sum(p.weight_bits for p in plan.values()) / len(plan)
    return {{"accuracy": 0.4 + 0.05 * mean_bits + 0.1 * variant.widths()["16x16"]}}
'''


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    log = tmp_path / "calls.log"
    fn = tmp_path / "measure.py"
    fn.write_text(FUNCTION.format(log=str(log)))
    return wl, fn, log


def _expected(row: pd.Series) -> float:
    """From the trial's own choices: conv1 and conv2 are the 16x16 stage, fc the head."""
    mean_bits = (2 * row["param.wbits.16x16"] + row["param.wbits.head"]) / 3
    return 0.4 + 0.05 * mean_bits + 0.1 * row["param.width.16x16"]


def test_measured_accuracy_is_the_functions_on_each_trials_variant(tmp_path: Path, capsys):
    wl, fn, log = _setup(tmp_path)
    out = tmp_path / "s"
    args = ["search", "--workload", str(wl), "--budget", "10", "--out", str(out), "--accuracy", f"{fn}:accuracy", *FAST]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    frame = pd.read_csv(out / "trials.csv")
    assert summary["objectives"] == ["edp", "accuracy"] and "max_proxy" not in summary["constraints"]
    measured = frame[frame["accuracy"].notna()]
    assert len(measured) >= 2 and frame.loc[frame["feasible"], "accuracy"].notna().all()
    assert (frame.loc[frame["accuracy"].isna(), "feasible"] == False).all()  # noqa: E712
    for _, row in measured.iterrows():
        assert row["accuracy"] == pytest.approx(_expected(row), abs=1e-12)
        assert row["accuracy_loss"] == pytest.approx(1 - row["accuracy"], abs=1e-12)
    calls = log.read_text().split()
    assert len(calls) == len(set(calls)) >= 2  # one measurement per distinct variant (the base first)
    best = frame.loc[frame["trial"] == summary["winner"]["trial"]].iloc[0]
    assert summary["winner"]["accuracy"] == pytest.approx(_expected(best), abs=1e-12)
    assert "Measured accuracy" in (out / "winner" / "README.md").read_text()

    fn.write_text(fn.read_text() + "\n# edited\n")  # another function: the stored study is refused, nothing added
    assert main([*args[:4], "12", *args[5:]]) == 2
    err = capsys.readouterr().err
    assert "- --accuracy: expected the study's" in err and "other content" in err


def test_min_accuracy_limits_the_measured_accuracy(tmp_path: Path, capsys):
    wl, fn, _ = _setup(tmp_path)
    out = tmp_path / "s"
    args = ["search", "--workload", str(wl), "--budget", "10", "--out", str(out), "--accuracy", f"{fn}:accuracy",
            "--objective", "edp", "--min-accuracy", "0.85", "--no-resource-limit", *FAST]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["constraints"]["max_accuracy_loss"] == pytest.approx(0.15)
    assert "measured accuracy loss (1 − accuracy) ≤ 0.15 (--min-accuracy)" in summary["limits"]
    frame = pd.read_csv(out / "trials.csv")
    measured = frame[frame["accuracy"].notna()]
    assert (measured["feasible"] == (measured["accuracy"] >= 0.85 - 1e-12)).all()
    assert (measured["accuracy"] < 0.85).any() and measured["feasible"].any()
    assert summary["winner"]["accuracy"] >= 0.85


def test_python_api_takes_a_callable(tmp_path: Path):
    from hwsim.explore.accuracy import Variant
    from hwsim.explore.proxy import QuantPruneProxy
    from hwsim.explore.search import Context, SearchSpace, run_search, trials_frame
    from hwsim.explore.variants import arch_spec
    from hwsim.frontend.presets import load_workload
    from hwsim.mapper import MapperOptions

    wl, _, _ = _setup(tmp_path)
    seen: list[Variant] = []

    def accuracy(variant: Variant) -> float:
        seen.append(variant)
        return 1.0 - 0.01 * sum(8 - p.weight_bits for p in variant.plan().values())

    base = arch_spec("eyeriss")
    ctx = Context(base, load_workload(str(wl)), SearchSpace({"array.rows": [4, 8]}, widths=(1.0,), bits=(4, 8)), ("edp", "accuracy"),
                  MapperOptions(samples=50), QuantPruneProxy(), accuracy=accuracy)  # fmt: skip
    study = run_search(ctx, f"sqlite:///{tmp_path / 'api.db'}", budget=6, workers=1, population=4)
    frame = trials_frame(study, ctx.objectives)
    for _, row in frame[frame["accuracy"].notna()].iterrows():
        assert row["accuracy"] == pytest.approx(1.0 - 0.01 * (2 * (8 - row["param.wbits.16x16"]) + 8 - row["param.wbits.head"]))
    assert seen[0].plan()["conv1"].weight_bits == 8 and seen[0].channels()["conv2"] == (32, 32)


@pytest.mark.parametrize(("spec", "body", "expected"), [
    ("nocolon", None, "--accuracy: expected MODULE:FUNCTION, such as mymodel:accuracy or path/to/file.py:accuracy, not 'nocolon'"),
    ("missing.py:f", None, "--accuracy: expected an existing Python file (missing.py is not one), not 'missing.py:f'"),
    ("no_such_module_hwsim:f", None, "--accuracy: expected an importable module (ModuleNotFoundError: No module named 'no_such_module_hwsim'"),
    ("{fn}:nope", "x = 1\n", "--accuracy: expected a function nope in {fn}, not '{fn}:nope'"),
    ("{fn}:x", "x = 1\n", "--accuracy: expected a function x in {fn} (it is a int), not '{fn}:x'"),
    ("{fn}:f", "def f(v):\n    return 1.5\n", "expected an accuracy in [0, 1] (a number, or a mapping with key 'accuracy'), not 1.5"),
    ("{fn}:f", "def f(v):\n    return {}['x']\n", "expected an accuracy, but it raised KeyError: 'x' at bad.py:2, not None"),
])  # fmt: skip
def test_a_bad_accuracy_function_is_one_clear_error(tmp_path: Path, capsys, spec: str, body: str | None, expected: str):
    wl, _, _ = _setup(tmp_path)
    fn = tmp_path / "bad.py"
    if body is not None:
        fn.write_text(body)
    code = main(["search", "--workload", str(wl), "--budget", "2", "--out", str(tmp_path / "s"), "--accuracy", spec.format(fn=fn), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and expected.format(fn=fn) in err, err


@pytest.mark.parametrize(("extra", "expected"), [
    (["--objective", "edp,accuracy"], "--objective: expected --accuracy MODULE:FUNCTION with the accuracy objective (it is measured), not 'edp,accuracy'"),
    (["--min-accuracy", "0.9"], "--min-accuracy: expected --accuracy MODULE:FUNCTION with it (the accuracy it limits is measured), not 0.9"),
])  # fmt: skip
def test_the_measured_objective_and_limit_need_the_function(tmp_path: Path, capsys, extra: list[str], expected: str):
    wl, _, _ = _setup(tmp_path)
    code = main(["search", "--workload", str(wl), "--budget", "2", "--out", str(tmp_path / "s"), *extra, *FAST])
    err = capsys.readouterr().err
    assert code == 2 and expected in err, err
