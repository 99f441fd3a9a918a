"""hwsim against Timeloop + Accelergy's published exercises, through the command line as a Timeloop user runs it
(benchmarks/timeloop_exercises.py): the reference's own mapping and energy table, Timeloop's semantics — cycles equal,
every level's reads, fills and updates equal, energy within 1%; each case that differs is named in KNOWN with its cause."""

from __future__ import annotations

import pytest

from benchmarks.timeloop_exercises import (
    CASES,
    DATA,
    KNOWN,
    MAPPER_KNOWN,
    Case,
    attribution,
    compare,
    mapper_comparison,
    parse_stats,
    run_hwsim,
)


def _check(case: Case) -> None:
    ref = parse_stats(case.stats)
    row = compare(ref, run_hwsim(case))
    assert "error" not in row, row.get("error")
    assert row["macs"]["hwsim"] == ref["computes"]
    assert row["cycles"]["hwsim"] == ref["cycles"]
    unequal = [c for c in row["counts"] if c["hwsim"] is None or abs(c["hwsim"] - c["ref"]) > 1e-9 * max(1.0, c["ref"])]
    assert not unequal, unequal
    assert row["energy_pj"]["hwsim"] == pytest.approx(ref["energy_pj"], rel=0.01)


@pytest.mark.parametrize("case", [c for c in CASES if c.name not in KNOWN], ids=lambda c: c.name)
def test_exercise_agrees_with_timeloop(case: Case) -> None:
    _check(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.name in KNOWN], ids=lambda c: c.name)
def test_known_difference_still_differs(case: Case) -> None:
    """A case named in KNOWN differs as its note says (if it starts agreeing, the note is stale)."""
    with pytest.raises(AssertionError):
        _check(case)


def test_the_committed_results_are_this_models() -> None:
    """benchmarks/results/timeloop_exercises.json (what README and docs quote) holds what the model gives today."""
    from benchmarks.results_io import read_results

    saved = read_results("timeloop_exercises")["figures"]["cases"]
    assert set(saved) == {c.name for c in CASES}
    for case in CASES:
        row = compare(parse_stats(case.stats), run_hwsim(case))
        assert ("error" in saved[case.name]) == ("error" in row), case.name
        if "error" in row:
            continue
        assert saved[case.name]["cycles"] == row["cycles"] and saved[case.name]["counts_equal"] == row["counts_equal"], case.name
        assert saved[case.name]["energy_pj"]["hwsim"] == pytest.approx(row["energy_pj"]["hwsim"], rel=1e-9), case.name


MAPPER_CASES = [c for c in CASES if c.prefix == "timeloop-mapper" and (DATA / c.ref / "parsed-processed-input.yaml").exists()]


@pytest.mark.parametrize("case", MAPPER_CASES, ids=lambda c: c.name)
def test_hwsims_mapper_is_at_least_as_good_as_timeloops(case: Case) -> None:
    """On the specification Timeloop's mapper saw, under the same cost model and Timeloop's objective, hwsim's mapper
    finds a mapping no worse than the one Timeloop's found (but where MAPPER_KNOWN says why not, and that still holds)."""
    result = mapper_comparison(case)
    assert "error" not in result, result.get("error")
    assert result["as_good"] == (case.name not in MAPPER_KNOWN), result


def test_constraints_the_mapper_does_not_apply_are_said(capsys: pytest.CaptureFixture[str]) -> None:
    """simple_weight_stationary's pe_spad pins a partial loop order (``[P, Q, R, S]``, innermost first): hwsim applies it
    (``inner_order``, outer first) and notes nothing. Exercise 05's RegisterFile, the innermost storage level, pins one
    that Timeloop's mapper ignores there (it takes the problem's dimension order, and its reference mapping breaks the
    pinned one): hwsim does not apply it either, the imported architecture notes it and ``hwsim run`` says so when its
    mapper maps (not when the mapping is given)."""
    from hwsim.cli import main
    from hwsim.frontend.presets import load_arch, timeloop_names

    design = DATA / "example_designs/example_designs"
    problem = str(design / "_include/default_problem.yaml")
    ws = load_arch(str(design / "simple_weight_stationary/arch.yaml"), names=timeloop_names(problem))
    assert {lv.name: lv.inner_order for lv in ws.levels}["pe_spad"] == ("S", "R", "Q", "P") and ws.notes == ()
    (case,) = [c for c in MAPPER_CASES if c.name == "05-freebypass"]
    spec = str(DATA / case.ref / "parsed-processed-input.yaml")
    arch = load_arch(spec, names=timeloop_names(spec))
    assert arch.levels[-1].inner_order == () and arch.levels[1].inner_order == ("K", "P")  # GlobalBuffer's PRK: R=1 there
    assert [n for n in arch.notes if "permutation" in n and "innermost storage level" in n]
    args = ["run", "--arch", spec, "--workload", spec, "--format", "json"]
    assert main([*args, "--samples", "100"]) == 0
    assert "note:" in capsys.readouterr().err
    assert main([*args, "--mappings", str(DATA / case.mapping)]) == 0
    assert "note:" not in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.name not in KNOWN], ids=lambda c: c.name)
def test_hwsims_own_semantics_differ_only_by_the_options(case: Case) -> None:
    """Under hwsim's semantics every count that moves from Timeloop's is moved by one documented option alone."""
    a = attribution(case, parse_stats(case.stats))
    assert "error" not in a and not a["unexplained"], a


def test_keep_and_bypass_left_free_are_the_mappers_choice() -> None:
    """Timeloop's mapspace: a level's data spaces neither kept nor bypassed by its constraints are the mapper's choice
    (Level.may_bypass); the outermost level keeps everything; a !Parallel group's members keep only what they list."""
    from hwsim.frontend.presets import load_arch, timeloop_names

    ex05 = DATA / "tutorial_exercises/01_accelergy_timeloop_2020_ispass/timeloop/05-mapper-conv1d+oc-3level"
    arch = load_arch(str(ex05 / "arch/3level.arch.yaml"), names=timeloop_names(str(ex05 / "prob/conv1d+oc.prob.yaml")))
    assert [lv.may_bypass for lv in arch.levels] == [(), ("weights", "inputs", "outputs"), ("weights", "inputs", "outputs")]
    design = DATA / "example_designs/example_designs"
    names = timeloop_names(str(design / "_include/default_problem.yaml"))
    ws = {lv.name: lv for lv in load_arch(str(design / "simple_weight_stationary/arch.yaml"), names=names).levels}
    assert ws["pe_spad"].keeps == ("weights",) and ws["pe_spad"].may_bypass == ()  # keep: [Weights], bypass: the others
    assert ws["weight_reg"].keeps == ("weights",) and ws["weight_reg"].may_bypass == ()  # a !Parallel member
    assert set(ws["shared_glb"].may_bypass) == {"weights", "inputs", "outputs"}  # no constraint


def test_a_derived_mapping_needs_fan_outs_that_correspond() -> None:
    """The v0.3 cases' mapping is the v0.4 reference's nest placed on the v0.3 fan-outs one for one; a v0.3 file whose
    levels or fan-outs (size, parent level) differ from the v0.4 design's is refused, not guessed."""
    from dataclasses import replace

    from benchmarks.timeloop_exercises import derived_mapping

    case = next(c for c in CASES if c.name == "simba_like-v0.3")
    layers = derived_mapping(case)["layers"]
    ((_name, m),) = layers.items()
    assert m["spatial"] == {"PE": [["C", 3], ["K", 4]], "PEWeightBuffer": [["K", 4]], "PEWeightRegs": []}
    other = next(c for c in CASES if c.name == "eyeriss_like-v0.3")
    with pytest.raises(ValueError, match="do not correspond"):
        derived_mapping(replace(case, mapping_arch=other.mapping_arch))
