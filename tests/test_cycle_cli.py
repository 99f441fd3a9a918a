"""``hwsim run --engine cycle``, ``--timeline LAYER --out F`` and SCALE-Sim inputs on the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hwsim.cli import main
from hwsim.core.workload import Network, conv2d, fully_connected
from hwsim.evaluate import evaluate_network
from hwsim.frontend.presets import load_arch
from tests.peers.scalesim_runner import config_text, conv_topology_text


@pytest.fixture
def scalesim_files(tmp_path):  # type: ignore[no-untyped-def]
    cfg = tmp_path / "scale.cfg"
    cfg.write_text(config_text(8, 8, "ws", bandwidth=4))
    topo = tmp_path / "topo.csv"
    topo.write_text(conv_topology_text([("C1", 12, 12, 3, 3, 8, 16, 1), ("C2", 6, 6, 1, 1, 16, 10, 1)]))
    return cfg, topo


def test_run_cycle_engine_json(scalesim_files, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg, topo = scalesim_files
    assert main(["run", "--arch", str(cfg), "--workload", str(topo), "--engine", "cycle", "--format", "json", "--samples", "200"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "cycle" and [x["name"] for x in out["layers"]] == ["C1", "C2"]
    for x in out["layers"]:
        parts = x["compute_cycles"] + x["fill_drain_cycles"] + x["sram_stall_cycles"] + x["dram_stall_cycles"]
        assert x["cycles"] == pytest.approx(parts) and x["analytical_cycles"] > 0


def test_run_cycle_table_has_the_breakdown(scalesim_files, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg, topo = scalesim_files
    assert main(["run", "--arch", str(cfg), "--workload", str(topo), "--engine", "cycle", "--samples", "200"]) == 0
    text = capsys.readouterr().out
    for col in ("analytical", "compute", "fill/drain", "SRAM stall", "DRAM stall"):
        assert col in text


def test_timeline_figure_and_data(scalesim_files, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg, topo = scalesim_files
    png, csv = tmp_path / "t.png", tmp_path / "t.csv"
    assert main(["run", "--arch", str(cfg), "--workload", str(topo), "--timeline", "C1", "--out", str(png), "--samples", "200"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG" and "C1" in capsys.readouterr().out
    assert main(["run", "--arch", str(cfg), "--workload", str(topo), "--timeline", "C1", "--out", str(csv), "--samples", "200"]) == 0
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["unit", "kind", "step", "start_cycle", "end_cycle"]


def test_timeline_errors(scalesim_files, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg, topo = scalesim_files
    assert main(["run", "--arch", str(cfg), "--workload", str(topo), "--timeline", "C1"]) == 2
    assert capsys.readouterr().err == (
        "hwsim: error: command line: 1 problem\n- --out: expected a .png, .svg, .pdf or .csv file for the --timeline, not None\n"
    )
    assert main(["run", "--arch", str(cfg), "--workload", str(topo), "--timeline", "nope", "--out", "x.png", "--samples", "200"]) == 2
    assert capsys.readouterr().err == (
        "hwsim: error: command line: 1 problem\n- --timeline: expected a MAC layer of topo (C1, C2), not 'nope'\n"
    )


def test_evaluate_network_engines_agree_on_macs() -> None:
    net = Network("tiny")
    net.add(conv2d("c", in_channels=16, out_channels=32, in_hw=14, kernel=3, padding=1))
    net.add(fully_connected("fc", in_features=512, out_features=10))
    arch = load_arch("eyeriss")
    a = evaluate_network(arch, net)
    c = evaluate_network(arch, net, engine="cycle")
    assert c.macs == a.macs and list(c.analytical_cycles) == [r.cycles for r in a.reports]
    assert all(r.cycles >= x.compute_cycles for r, x in zip(c.reports, a.reports, strict=True))
