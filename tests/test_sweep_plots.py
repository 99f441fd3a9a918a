"""The sweep's figures tell the truth: bar heights read back from the figure are the table's energy, points are
named by their settings, axes are words with units, and the Pareto plot names the objectives of its front."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg

from hwsim.cli import main
from hwsim.explore.pareto import energy_parts
from hwsim.explore.sweep import OBJECTIVES, grid_points, run_sweep
from hwsim.explore.variants import arch_spec
from hwsim.frontend.network_spec import network_from_dict
from hwsim.mapper import MapperOptions
from hwsim.plots import plot_energy_breakdown, plot_pareto
from tests.nets import TINY

SETTINGS = ["array.rows", "levels.GLB.size_kib"]
UNITS = {"mJ": 1e9, "µJ": 1e6, "nJ": 1e3, "pJ": 1.0}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sweep() -> pd.DataFrame:
    net = network_from_dict(TINY, source="tiny")
    points = grid_points({"array.rows": [4, 12], "levels.GLB.size_kib": [16, 64]})
    return run_sweep(arch_spec("eyeriss"), net, points, MapperOptions(samples=200), workers=1)


def test_energy_bars_add_up_to_each_points_energy(sweep: pd.DataFrame) -> None:
    """Independent truth: the table's energy_pj (NetworkReport.totals(), the sum of every layer's CostReport.energy_pj).
    The stacked bars read back from the Figure add up to it per point (before, the total energy_pj column was
    stacked under its own parts: every bar twice the real energy), and each bar's tick label is its own point's
    settings as a reader writes them."""
    ok = sweep[sweep["status"] == "ok"]
    assert len(ok) == 4 and "energy_pj" not in energy_parts(ok)
    fig = plot_energy_breakdown(ok, settings=SETTINGS)
    (ax,) = [a for a in fig.axes if a.patches]
    unit = re.search(r"\((\w+)\)", ax.get_ylabel())
    assert unit is not None and ax.get_ylabel().startswith("energy")
    scale = UNITS[unit.group(1)]
    heights = [0.0] * len(ok)
    for bar in ax.patches:
        heights[round(bar.get_x() + bar.get_width() / 2)] += bar.get_height() * scale
    assert heights == pytest.approx(ok["energy_pj"].to_list(), rel=1e-12)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [f"rows={r}, GLB {g} KiB" for r, g in zip(ok["array.rows"], ok["levels.GLB.size_kib"], strict=True)]
    assert all(t.get_rotation() > 0 for t in ax.get_xticklabels())
    renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()  # the legend sits beside the bars, not on them
    assert ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1


def test_parts_that_do_not_add_up_are_refused(sweep: pd.DataFrame) -> None:
    """Independent truth: arithmetic. A frame whose parts miss some energy is never drawn as if complete."""
    ok = sweep[sweep["status"] == "ok"].drop(columns=["energy_DRAM_pj"])
    with pytest.raises(ValueError, match="do not add up"):
        plot_energy_breakdown(ok, settings=SETTINGS)


def test_pareto_plot_names_its_objectives_and_units(sweep: pd.DataFrame) -> None:
    """Independent truth: the sweep's pareto column is the front in latency, energy and area (OBJECTIVES); the plot
    says so, its axes are words with units, and the points drawn are the table's values converted to those units."""
    ok = sweep[sweep["status"] == "ok"]
    fig = plot_pareto(ok, objectives=OBJECTIVES, front="pareto", color="area_mm2")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "latency (ms)" and ax.get_ylabel() == "energy (mJ)"
    assert "Pareto front: lowest latency, energy and area" in ax.get_title()
    assert fig.axes[1].get_ylabel() == "area (mm²)"  # the colour bar
    drawn = ax.collections[0].get_offsets()
    assert drawn[:, 0].tolist() == pytest.approx((ok["latency_s"] * 1e3).to_list())
    assert drawn[:, 1].tolist() == pytest.approx((ok["energy_pj"] * 1e-9).to_list())


def test_cli_writes_the_three_figures(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Independent truth: the files on disk are PNGs (their signature) at the paths the summary names."""
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    code = main(["sweep", "--workload", str(wl), "--set", "array.rows=4,12", "--set", "levels.glb.size_kib=16,64", "--samples", "200",
                 "--workers", "1", "--out", str(tmp_path / "s.csv"), "--plots", str(tmp_path / "plots")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    for name in ("s.pareto.png", "s.energy.png", "s.roofline.png"):
        path = tmp_path / "plots" / name
        assert f"plot: {path}" in out and path.read_bytes()[:8] == PNG
