"""Networks written as workload files: exact round trips, clear refusals, and the search winner re-run unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hwsim.core.errors import SpecError
from hwsim.frontend.network_io import network_to_dict
from hwsim.frontend.network_spec import network_from_dict
from hwsim.frontend.presets import load_workload


@pytest.mark.parametrize("name", ["alexnet", "resnet18", "mobilenetv2", "bert-base"])
def test_zoo_networks_round_trip_exactly(name: str) -> None:
    net = load_workload(name).with_bits(per_layer={layer.name: (4, 6) for layer in load_workload(name).layers()[:3]})
    net = net.with_sparsity(weights="2:4") if name == "resnet18" else net
    back = network_from_dict(yaml.safe_load(yaml.safe_dump(network_to_dict(net))), source="x.yaml")
    assert list(back.ops()) == list(net.ops())
    assert set(back.graph.edges) == set(net.graph.edges)


@pytest.mark.parametrize("name", ["cox3d-s", "coslow-8x8", "slow-8x8", "st-gcn", "cost-gcn", "cost-gcn-strided", "cooadtr-b2"])
def test_streaming_networks_round_trip_with_their_state(name: str) -> None:
    net = load_workload(name)
    back = network_from_dict(yaml.safe_load(yaml.safe_dump(network_to_dict(net))), source="x.yaml")
    assert list(back.ops()) == list(net.ops())  # StateOps included: elements, bits, delay
    assert all(back.every_steps(op.name) == net.every_steps(op.name) for op in net.ops())  # temporal strides' rates
    assert set(back.graph.edges) == set(net.graph.edges)


def test_custom_projections_are_refused_with_every_op_named() -> None:
    with pytest.raises(SpecError) as e:
        network_to_dict(load_workload("x3d-s"), source="x3d.yaml")  # temporal taps on the C dim: not a workload-file layer
    text = e.value.render()
    assert "conv1_t" in text and "res2.0.b" in text and "res5.6.b" in text


TINY = {
    "name": "tiny",
    "layers": [
        {"name": "conv1", "type": "conv2d", "in_channels": 3, "out_channels": 16, "in_hw": 16, "kernel": 3, "padding": 1},
        {"name": "conv2", "type": "conv2d", "in_channels": 16, "out_channels": 32, "in_hw": 16, "kernel": 3, "padding": 1, "stride": 2},
        {"name": "fc", "type": "fc", "in_features": 2048, "out_features": 10},
    ],
}


def test_the_search_winner_reruns_from_its_three_files(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "search"
    done = subprocess.run([sys.executable, "-m", "hwsim", "search", "--workload", str(wl), "--budget", "16", "--samples", "200",
                           "--population", "8", "--workers", "1", "--max-proxy", "0.5", "--out", str(out), "--format", "json"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    files = summary["files"]
    run = subprocess.run([sys.executable, "-m", "hwsim", "run", "--arch", files["arch"], "--workload", files["network"],
                          "--mappings", files["mappings"], "--samples", "50", "--format", "json"],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr
    total = json.loads(run.stdout)["total"]
    assert total["edp_pj_s"] == pytest.approx(summary["winner"]["edp_pj_s"], rel=1e-9)
