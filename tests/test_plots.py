"""Figures from reports: what each one draws, the PE-array heat map's arithmetic, and `hwsim run --plot`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from hwsim import plots
from hwsim.core.arch import Architecture, Level, MacUnit, SpatialAxis
from hwsim.core.mapping import Mapping
from hwsim.core.workload import Network, TensorOp, conv2d, fully_connected
from hwsim.evaluate import NetworkReport, evaluate_network
from hwsim.frontend.presets import load_arch
from hwsim.mapper import MapperOptions

PNG = b"\x89PNG\r\n\x1a\n"


def small_network() -> Network:
    net = Network("small")
    net.add(conv2d("conv", in_channels=3, out_channels=16, in_hw=32, kernel=3, padding=1), after=None)
    net.add(TensorOp("pool", "pool", 16 * 32 * 32, 16 * 16 * 16, 16 * 16 * 16 * 3))
    net.add(conv2d("conv2", in_channels=16, out_channels=24, in_hw=16, kernel=3, stride=2, padding=1))
    net.add(fully_connected("fc", in_features=24 * 8 * 8, out_features=10))
    return net


@pytest.fixture(scope="module")
def report() -> NetworkReport:
    return evaluate_network(load_arch("eyeriss"), small_network(), MapperOptions(samples=300))


def test_plot_layers_draws_one_bar_per_op_and_panel(report: NetworkReport) -> None:
    fig = plots.plot_layers(report)
    assert isinstance(fig, Figure)
    latency, energy = fig.axes
    assert len(latency.patches) == 4
    assert [t.get_text() for t in energy.get_xticklabels()] == ["conv", "pool", "conv2", "fc"]
    parts = len(report.arch.levels) + 2  # every level, MACs and leakage
    assert len(energy.patches) == 4 * parts
    tops = np.zeros(4)
    for k, bar in enumerate(energy.patches):
        tops[k % 4] = max(tops[k % 4], bar.get_y() + bar.get_height())
    assert tops == pytest.approx([r.energy_pj / 1e6 for r in report.reports])
    assert latency.title.get_text().startswith("small on eyeriss: ")


def test_energy_breakdown_adds_up(report: NetworkReport) -> None:
    table = plots.energy_by_level_and_operand(report)
    assert sum(sum(v.values()) for v in table.values()) == pytest.approx(report.energy_pj)
    assert set(table["DRAM"]) == {"weights", "inputs", "outputs", "non-MAC ops"}
    fig = plots.plot_energy_breakdown(report)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == [lv.name for lv in report.arch.levels] + ["MAC", "leakage"]
    one = plots.plot_energy_breakdown(report.reports[0])
    assert one.axes[0].title.get_text().startswith("conv on eyeriss: ")


def test_roofline_places_every_mac_layer_under_the_roof(report: NetworkReport) -> None:
    fig = plots.plot_roofline(report)
    (ax,) = fig.axes
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(points) == 3  # the pooling op has no MACs
    assert (points[:, 1] <= report.arch.num_macs + 1e-9).all()
    bw = report.arch.levels[0].read_bandwidth_bits_per_cycle
    assert bw is not None
    assert (points[:, 1] <= points[:, 0] * bw / 8 * (1 + 1e-9)).all()  # nothing beats the DRAM roof


def test_drawing_into_a_given_axes(report: NetworkReport) -> None:
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    assert plots.plot_energy_breakdown(report, ax=ax1) is fig
    assert plots.plot_pareto([report], ax=ax2) is fig
    assert len(ax1.patches) > 0


def _toy_arch(rows: int, cols: int) -> Architecture:
    levels = (Level("DRAM", "dram", ("weights", "inputs", "outputs"), None, 64),
              Level("RF", "regfile", ("weights", "inputs", "outputs"), 4096, 16))  # fmt: skip
    axes = (SpatialAxis("rows", rows, "DRAM"), SpatialAxis("cols", cols, "DRAM"))
    return Architecture("toy", levels, axes, MacUnit(energy_pj=1.0), 1e9, 45.0)


def test_pe_utilization_by_hand() -> None:
    """K=5 over 3 rows × 2 temporal steps (padded to 6) and C=3 on 4 columns (one idle)."""
    layer = fully_connected("fc", in_features=3, out_features=5)
    arch = _toy_arch(3, 4)
    mapping = Mapping.build([[("K", 2)], []], [[("K", 3)], [("C", 3)]])
    grid = plots.pe_utilization(layer, arch, mapping)
    # The spatial K loop is outside the temporal one: K = 2·row + t, so row 2 at t = 1 is K = 5, padding.
    want = np.array([[1, 1, 1, 0], [1, 1, 1, 0], [0.5, 0.5, 0.5, 0]])
    assert grid == pytest.approx(want)
    assert grid.sum() * mapping.temporal_iterations == layer.macs


@pytest.mark.parametrize("arch_name", ["eyeriss", "tpu-v1", "simba"])
def test_pe_utilization_counts_every_mac_once(arch_name: str) -> None:
    arch = load_arch(arch_name)
    net = small_network()
    rep = evaluate_network(arch, net, MapperOptions(samples=300))
    for r in rep.reports:
        if r.mapping is None:
            continue
        layer = net.graph.nodes[r.layer]["op"]
        grid = plots.pe_utilization(layer, arch, r.mapping)
        assert grid.shape == tuple(a.size for a in arch.axes)
        assert grid.min() >= 0 and grid.max() <= 1
        assert math.isclose(grid.sum() * r.mapping.temporal_iterations, layer.macs, rel_tol=1e-9)
        assert math.isclose(grid.mean(), layer.macs / (r.mapping.temporal_iterations * arch.num_macs), rel_tol=1e-9)
    fig = plots.plot_pe_utilization(rep, "conv2")
    assert "conv2 on" in fig.axes[0].title.get_text()


def test_pe_utilization_figure_from_a_cost_report(report: NetworkReport) -> None:
    layer = report.network.graph.nodes["fc"]["op"]
    fig = plots.plot_pe_utilization(report.reports[-1], layer, report.arch)
    assert fig.axes[0].images[0].get_array().shape == (14, 12)  # eyeriss: cols × rows
    with pytest.raises(KeyError, match="'pool' is not a MAC layer of small"):
        plots.plot_pe_utilization(report, "pool")


def test_pareto_front_of_reports_and_frames() -> None:
    import pandas as pd

    frame = pd.DataFrame({"latency_s": [1.0, 2.0, 3.0, 2.5], "energy_pj": [5.0, 3.0, 1.0, 4.0], "name": list("abcd")})
    fig = plots.plot_pareto(frame, label="name")
    ax = fig.axes[0]
    assert ax.get_legend_handles_labels()[1] == ["design points", "Pareto front (3)"]
    assert sorted(t.get_text() for t in ax.texts) == ["a", "b", "c"]


def test_save_figure_is_atomic_and_checks_the_format(tmp_path, report: NetworkReport) -> None:
    fig = plots.plot_layers(report)
    out = tmp_path / "layers.png"
    plots.save_figure(fig, out)
    assert out.read_bytes().startswith(PNG)
    assert [p.name for p in tmp_path.iterdir()] == ["layers.png"]
    plots.save_figure(fig, tmp_path / "layers.svg")
    assert b"<svg" in (tmp_path / "layers.svg").read_bytes()[:500]
    with pytest.raises(ValueError, match=r"figure path must end in \.png, \.svg, \.pdf, not '.*layers\.jpg'"):
        plots.save_figure(fig, tmp_path / "layers.jpg")


def test_cli_plot(tmp_path, capsys) -> None:
    from hwsim.cli import main

    out = tmp_path / "run.png"
    assert main(["run", "--workload", "alexnet", "--samples", "200", "--format", "csv", "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(PNG)
    assert capsys.readouterr().out.startswith("name,kind,macs")
    assert main(["run", "--plot", str(tmp_path / "run.txt")]) == 2
    assert capsys.readouterr().err == (
        f"hwsim: error: command line: 1 problem\n- --plot: expected a .png, .svg or .pdf file, not '{tmp_path / 'run.txt'}'\n"
    )


def test_pareto_axes_in_words_with_units_and_the_front_named(report: NetworkReport) -> None:
    """Axis labels are words with units (not raw column names) and the values are converted to them; the title says which
    objectives define the front."""
    fig = plots.plot_pareto([report], x="latency_s", y="energy_pj")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "latency (ms)" and ax.get_ylabel() == "energy (mJ)"
    assert "Pareto front: lowest latency and energy" in ax.get_title()
    (x, y), = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])[:1]
    assert math.isclose(x, report.latency_s * 1e3) and math.isclose(y, report.energy_pj * 1e-9)


def test_saved_figures_clip_no_tick_label(tmp_path) -> None:
    """Long layer names rotated under the bars were cut at the figure's edge: the saved PNG holds the whole drawing (its
    tight bounding box, tick labels and outside legends included)."""
    import matplotlib.image
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from hwsim.frontend.presets import load_workload

    report = evaluate_network(load_arch("eyeriss"), load_workload("resnet18"), MapperOptions(samples=200))  # 'layer2.0.downsample' was cut
    fig = plots.plot_layers(report)
    path = tmp_path / "l.png"
    plots.save_figure(fig, path, dpi=100)
    tight = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer())
    height_px, width_px = matplotlib.image.imread(str(path)).shape[:2]
    assert height_px >= tight.height * 100 - 2 and width_px >= tight.width * 100 - 2
    assert fig.axes[-1].get_xlabel() == "layer, in network order"
