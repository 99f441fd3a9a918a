"""A sweep costs a design exactly as `hwsim run` does: one mapper budget everywhere."""

from __future__ import annotations

import json
from pathlib import Path

from hwsim.cli import main
from hwsim.evaluate import evaluate_network
from hwsim.explore.sweep import run_sweep
from hwsim.explore.variants import arch_spec
from hwsim.frontend.network_spec import network_from_dict
from hwsim.frontend.presets import load_arch
from hwsim.mapper import DEFAULT_SAMPLES, MapperOptions
from tests.nets import TINY

TOTALS = ("macs", "cycles", "latency_s", "energy_pj", "edp_pj_s", "utilization", "area_mm2")


def test_the_presets_own_point_in_a_default_sweep_is_what_hwsim_run_reports() -> None:
    """Independent truth: evaluate_network with `hwsim run`'s options (MapperOptions() as cli.py builds it: the same
    default samples and seed) on the preset itself. The sweep's row for `array.rows=12` (Eyeriss' own 12 rows) must
    equal those totals exactly; before, the sweep mapped with 5,000 samples and run with 20,000, and they differed."""
    net = network_from_dict(TINY, source="tiny")
    assert {ax["name"]: ax["size"] for ax in arch_spec("eyeriss")["pe_array"]["axes"]}["rows"] == 12
    frame = run_sweep(arch_spec("eyeriss"), net, [{"array.rows": 8}, {"array.rows": 12}], workers=1)
    row = frame.iloc[1]
    assert row["status"] == "ok"
    run = evaluate_network(load_arch("eyeriss"), net, MapperOptions(objective="edp", samples=DEFAULT_SAMPLES, seed=0)).totals()
    assert {k: float(row[k]) for k in TOTALS} == {k: float(run[k]) for k in TOTALS}
    assert MapperOptions().samples == DEFAULT_SAMPLES


def test_the_sweep_summary_states_its_mapper_budget(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Independent truth: the mapper's one default (DEFAULT_SAMPLES), which `hwsim run` also uses; the summary names it."""
    import yaml

    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    args = ["sweep", "--workload", str(wl), "--set", "array.rows=12", "--workers", "1", "--out", str(tmp_path / "s.csv")]
    assert main(args) == 0
    assert f"mapper: {DEFAULT_SAMPLES} samples per layer, objective edp, seed 0" in capsys.readouterr().out
    assert main([*args, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples"] == DEFAULT_SAMPLES
