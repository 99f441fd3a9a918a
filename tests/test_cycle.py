"""The cycle engine: SCALE-Sim's fold formulas, the traffic of the analytical model, the
parallel scan against its loop, stalls by cause, and the timeline."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.core.workload import conv2d, fully_connected
from hwsim.cost.analytical import access_counts
from hwsim.cost.cycle import CycleOptions, DramTiming, _schedule, simulate
from hwsim.frontend.importers.scalesim import scalesim_config_from_text, scalesim_folds, scalesim_mapping, scalesim_topology_from_text
from hwsim.frontend.presets import load_arch
from hwsim.mapper import map_layer
from tests.peers.scalesim_runner import config_text, conv_topology_text, gemm_topology_text

STALL_FREE = CycleOptions(dram=DramTiming.ideal(0.0))
LAYERS = conv_topology_text([("C1", 14, 14, 3, 3, 6, 20, 1), ("C2", 15, 13, 5, 3, 3, 9, 2), ("C3", 7, 7, 1, 1, 40, 70, 1)])


def _schedule_loop(
    xp: np.ndarray, xd: np.ndarray, y: np.ndarray, c: np.ndarray, latency: float, new_output: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recurrence :func:`hwsim.cost.cycle._schedule` vectorizes, written one step at a time (its reference)."""
    steps = len(xp)
    a, b, w = np.zeros(steps), np.zeros(steps), np.zeros(steps)
    a[0] = xp[0] + xd[0]
    b[0] = a[0] + (latency if a[0] > 0 else 0.0)
    for f in range(1, steps):
        a[f] = max(a[f - 1], b[f - 1]) + xp[f]
        if xd[f] > 0:
            a[f] = max(a[f], b[f - 1] + c[f - 1]) + xd[f]
        w[f] = max(w[f - 1], b[f - 1] + c[f - 1]) + y[f - 1]
        wait_w = w[f - 1] if new_output is None or new_output[f] else 0.0
        b[f] = max(a[f] + (latency if xd[f] > 0 else 0.0), b[f - 1] + c[f - 1], wait_w)
    write_end = np.empty(steps)
    write_end[:-1] = w[1:]
    write_end[-1] = max(w[-1], b[-1] + c[-1]) + y[-1]
    return b, a, write_end


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("rows, cols", [(4, 4), (8, 16), (32, 32)])
def test_scalesim_fold_formula(dataflow: str, rows: int, cols: int) -> None:
    arch = scalesim_config_from_text(config_text(rows, cols, dataflow), "a.cfg")
    for topo in (LAYERS, gemm_topology_text([("G1", 33, 17, 70), ("G2", 5, 64, 9)])):
        for layer in scalesim_topology_from_text(topo).layers():
            g, m = scalesim_mapping(layer, arch)
            r = simulate(g, arch, m, STALL_FREE, check=False)
            _, _, t, rf, cf = scalesim_folds(layer, rows, cols, dataflow)
            per_fold = t + rows + cols - 2 if dataflow == "os" else 2 * rows + cols + t - 2
            assert r.cycles == rf * cf * per_fold
            assert (r.compute_cycles, r.fill_drain_cycles) == (rf * cf * t, rf * cf * (per_fold - t))
            assert r.dram_stall_cycles == r.sram_stall_cycles == 0


def test_scan_equals_loop() -> None:
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 17, 500):
        xp, y, c = rng.random(n) * 4, rng.random(n) * 4, rng.random(n) * 4
        xd = np.where(rng.random(n) < 0.4, rng.random(n) * 4, 0.0)
        for a, b in zip(_schedule(xp, xd, y, c, 5.0), _schedule_loop(xp, xd, y, c, 5.0), strict=True):
            np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("preset", ["eyeriss", "simba", "tpu-v1", "fpga-small"])
def test_traffic_equals_analytical(preset: str) -> None:
    """The cycle engine's DRAM reads equal the analytical access counts (and, for the fc layer, the brute-force walk's);
    its compute is the mapping's temporal loop count (dense layers, one MAC per unit per cycle); its total is at least its
    parts and the DRAM roofline."""
    import math

    from hwsim.cost.bruteforce import brute_force_counts

    arch = load_arch(preset)
    for layer in (conv2d("c", in_channels=16, out_channels=32, in_hw=14, kernel=3, padding=1), fully_connected("fc", in_features=256, out_features=100)):
        report = map_layer(layer, arch)
        assert report.mapping is not None
        r = simulate(layer, arch, report.mapping)
        counts = access_counts(layer, arch, report.mapping)
        dram = arch.levels[0].name
        reads = sum(a.reads * layer.operand(o).onchip_bits for (lv, o), a in counts.items() if lv == dram)
        assert r.dram_read_bits == pytest.approx(reads)
        if layer.kind == "fc":
            brute = brute_force_counts(layer, arch, report.mapping)
            assert r.dram_read_bits == pytest.approx(sum(a.reads * layer.operand(o).onchip_bits for (lv, o), a in brute.items() if lv == dram))
        assert r.cycles >= r.compute_cycles + r.fill_drain_cycles + r.sram_stall_cycles - 1e-9
        assert r.cycles >= r.dram_read_bits / arch.levels[0].read_bandwidth_bits_per_cycle - 1e-9
        assert r.compute_cycles == math.prod(lp.bound for lp in report.mapping.nest(arch) if not lp.spatial)


def test_less_bandwidth_more_dram_stall() -> None:
    layer = scalesim_topology_from_text(LAYERS).layers()[0]
    stalls = []
    for bw in (1, 2, 4, 8, 64):
        arch = scalesim_config_from_text(config_text(8, 8, "ws", bandwidth=bw), "a.cfg")
        g, m = scalesim_mapping(layer, arch)
        stalls.append(simulate(g, arch, m, CycleOptions(dram=DramTiming.ideal(1.0)), check=False).dram_stall_cycles)
    assert stalls == sorted(stalls, reverse=True) and stalls[0] > 10 * stalls[-1]


def test_systolic_fill_is_paid_once_with_double_buffered_weights() -> None:
    arch = load_arch("tpu-v1")
    layer = conv2d("c", in_channels=512, out_channels=512, in_hw=14, kernel=3, padding=1)
    r = simulate(layer, arch, map_layer(layer, arch).mapping)  # type: ignore[arg-type]
    assert r.systolic and r.stationary == "weights" and r.fill_drain_cycles == 255 + 255 + 256


def test_timeline_and_plot(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hwsim.cost.timeline import layer_timeline, plot_timeline

    arch = scalesim_config_from_text(config_text(8, 8, "os", bandwidth=2), "a.cfg")
    g, m = scalesim_mapping(scalesim_topology_from_text(LAYERS).layers()[0], arch)
    r = simulate(g, arch, m, check=False)
    frame = layer_timeline(r)
    assert list(frame.columns) == ["unit", "kind", "step", "start_cycle", "end_cycle"]
    assert set(frame["unit"]) >= {"PE array", "DRAM read", "DRAM write"}
    assert frame["end_cycle"].max() == pytest.approx(r.cycles)
    busy = frame[(frame.unit == "PE array") & (frame.kind == "compute")]
    assert (busy.end_cycle - busy.start_cycle).sum() == pytest.approx(r.compute_cycles)
    out = tmp_path / "t.png"
    plot_timeline(r, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
