"""The cycle engine side by side with SCALE-Sim 3.0.0 (run in its own venv) on small inputs.

The full ResNet-18 × {8, 32, 128} × {os, ws, is} comparison is benchmarks/cycle_vs_scalesim.py.
"""

from __future__ import annotations

import pytest

from hwsim.cost.cycle import CycleOptions, DramTiming, simulate
from hwsim.frontend.importers.scalesim import scalesim_config_from_text, scalesim_mapping, scalesim_topology_from_text
from tests.peers.scalesim_runner import SKIP_REASON, config_text, conv_topology_text, gemm_topology_text, run_scalesim, scalesim_python

pytestmark = pytest.mark.skipif(scalesim_python() is None, reason=SKIP_REASON)

SCALESIM_LIKE = CycleOptions(dram=DramTiming.ideal(1.0))  # its read port answers in one cycle
CONV = conv_topology_text([("C1", 12, 12, 3, 3, 5, 20, 1), ("C2", 11, 9, 3, 3, 3, 7, 2), ("C3", 6, 6, 1, 1, 24, 12, 1)])
GEMM = gemm_topology_text([("G1", 20, 30, 18), ("G2", 9, 5, 40)])


def hwsim_cycles(cfg: str, topo: str) -> list[float]:
    arch = scalesim_config_from_text(cfg, "peer.cfg")
    out = []
    for layer in scalesim_topology_from_text(topo, "peer.csv").layers():
        g, m = scalesim_mapping(layer, arch)
        out.append(simulate(g, arch, m, SCALESIM_LIKE, check=False))
    return out


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("rows, cols", [(8, 8), (4, 16)])
def test_compute_cycles_equal_scalesim(dataflow: str, rows: int, cols: int) -> None:
    cfg = config_text(rows, cols, dataflow)
    for topo in (CONV, GEMM):
        theirs = run_scalesim(cfg, topo).layers
        ours = hwsim_cycles(cfg, topo)
        # SCALE-Sim reports the index of its last cycle: the count minus one, on every layer.
        assert [r.cycles - 1 for r in ours] == list(theirs["total_cycles"])
        assert list(theirs["stall_cycles"]) == [0] * len(ours) == [r.dram_stall_cycles + r.sram_stall_cycles for r in ours]


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_stalls_follow_scalesim_as_bandwidth_shrinks(dataflow: str) -> None:
    # Small SRAMs, so the layer streams through them. SCALE-Sim's read buffers re-fetch far
    # more data than hwsim's tiles need (see benchmarks/cycle_vs_scalesim.py), so the stall
    # *magnitudes* differ; the trend is the same: starved at one word per cycle, halving or
    # better as the bandwidth doubles in the bandwidth-bound regime.
    topo = conv_topology_text([("C1", 12, 12, 3, 3, 8, 16, 1)])
    theirs, ours = [], []
    for bw in (1, 2, 8):
        cfg = config_text(8, 8, dataflow, bandwidth=bw, sram_kib=(1, 1, 1))
        theirs.append(float(run_scalesim(cfg, topo).layers["stall_cycles"][0]))
        ours.append(hwsim_cycles(cfg, topo)[0].dram_stall_cycles)
    assert theirs == sorted(theirs, reverse=True) and ours == sorted(ours, reverse=True)
    assert theirs[0] > 0 and ours[0] > 0
    assert theirs[0] / theirs[1] > 1.8 and ours[0] / ours[1] > 1.8


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_cli_mappings_scalesim_reproduces_scalesim(tmp_path, capsys, dataflow: str) -> None:  # type: ignore[no-untyped-def]
    """``hwsim run --arch x.cfg --workload topo.csv --engine cycle --mappings scalesim`` prints SCALE-Sim's cycles (plus one: it
    reports its last cycle's index); without the keyword hwsim's mapper maps the layers and the header says so."""
    import json

    from hwsim.cli import main

    cfg, topo = tmp_path / "a.cfg", tmp_path / "t.csv"
    cfg.write_text(config_text(8, 8, dataflow))
    topo.write_text(CONV)
    theirs = run_scalesim(cfg.read_text(), CONV).layers
    argv = ["run", "--arch", str(cfg), "--workload", str(topo), "--engine", "cycle", "--format", "json"]
    assert main([*argv, "--mappings", "scalesim"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [row["cycles"] - 1 for row in out["layers"]] == list(theirs["total_cycles"])
    assert out["mapping"].startswith("SCALE-Sim's folding")
    assert main([*argv[:-2], "--samples", "500"]) == 0
    table = capsys.readouterr().out
    assert "mapping: hwsim's mapper" in table and "--mappings scalesim for SCALE-Sim's own folding" in table
