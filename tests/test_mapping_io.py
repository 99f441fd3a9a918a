"""Mappings files: what `hwsim search` writes for its winner, `hwsim run --mappings` costs unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hwsim.core.errors import SpecError
from hwsim.evaluate import evaluate_network
from hwsim.frontend.mapping_io import mappings_to_dict, read_mappings, resolve_mappings
from hwsim.frontend.network_spec import network_from_dict
from hwsim.frontend.presets import load_arch
from hwsim.mapper import MapperOptions
from tests.nets import TINY


@pytest.mark.parametrize("engine", ["analytical", "cycle"])
def test_fixed_mappings_reproduce_the_run_that_found_them(tmp_path: Path, engine: str) -> None:
    arch, net = load_arch("eyeriss"), network_from_dict(TINY, source="tiny")
    found = evaluate_network(arch, net, MapperOptions(samples=3000, seed=1), engine=engine)
    path = tmp_path / "mappings.yaml"
    path.write_text(yaml.safe_dump({"layers": mappings_to_dict(arch, {r.layer: r.mapping for r in found.reports})}))
    fixed = resolve_mappings(net, arch, read_mappings(path, arch), str(path))
    # a one-sample mapper would find other schedules: the file's must be the ones used
    again = evaluate_network(arch, net, MapperOptions(samples=1, victory=1, refine=0, seed=5), engine=engine, mappings=fixed)
    blind = evaluate_network(arch, net, MapperOptions(samples=1, victory=1, refine=0, seed=5), engine=engine)
    assert [r.mapping for r in again.reports] == [r.mapping for r in found.reports]
    assert again.totals() == found.totals() != blind.totals()


def test_cli_run_with_mappings_and_only_some_layers(tmp_path: Path) -> None:
    arch, net = load_arch("eyeriss"), network_from_dict(TINY, source="tiny")
    found = evaluate_network(arch, net, MapperOptions(samples=3000, seed=1))
    wl, path = tmp_path / "tiny.yaml", tmp_path / "m.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    path.write_text(yaml.safe_dump({"layers": mappings_to_dict(arch, {r.layer: r.mapping for r in found.reports if r.layer == "conv2"})}))
    done = subprocess.run([sys.executable, "-m", "hwsim", "run", "--workload", str(wl), "--mappings", str(path), "--samples", "300",
                           "--format", "json"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    layers = {r["name"]: r for r in json.loads(done.stdout)["layers"]}
    want = found.reports[1]
    assert layers["conv2"]["cycles"] == want.cycles and layers["conv2"]["energy_pj"] == pytest.approx(want.energy_pj)


def test_bad_mappings_are_listed_together(tmp_path: Path) -> None:
    arch, net = load_arch("eyeriss"), network_from_dict(TINY, source="tiny")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"layers": {
        "conv1": {"temporal": {"DRAM": [["K", 16]], "L2": [["C", 3]]}, "spatial": {}, "extra": 1},
        "fc": {"temporal": {"DRAM": [["Z", 2], ["C", 0], "K"]}},
    }}))  # fmt: skip
    with pytest.raises(SpecError) as e:
        read_mappings(path, arch)
    text = e.value.render()
    for needle in ["layers.conv1.temporal.L2", "layers.conv1.extra", "layers.fc.temporal.DRAM[0]", "layers.fc.temporal.DRAM[1]",
                   "layers.fc.temporal.DRAM[2]"]:  # fmt: skip
        assert needle in text, text
    path.write_text(yaml.safe_dump({"layers": {"nope": {"temporal": {"DRAM": [["K", 2]]}}, "conv1": {"temporal": {"DRAM": [["K", 2]]}}}}))
    with pytest.raises(SpecError) as e:
        resolve_mappings(net, arch, read_mappings(path, arch), str(path))
    text = e.value.render()
    assert "layers.nope" in text and "layers.conv1" in text  # an unknown layer, and a nest that does not cover conv1
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    done = subprocess.run([sys.executable, "-m", "hwsim", "run", "--workload", str(wl), "--mappings", str(path)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr and "layers.nope" in done.stderr
