"""Utilization has one definition (hwsim.cost.precision.utilization): useful MAC-unit cycles over available ones,
at the datapath's real width. It never exceeds 1, the network figure is the same ratio over the whole run
(so it lies between the per-op figures), and the analytical, cycle and network reports all use it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hwsim.core.arch import Architecture, Level, MacUnit, SpatialAxis
from hwsim.core.errors import SpecError
from hwsim.core.mapping import Mapping
from hwsim.core.workload import Layer, Network, TensorOp, conv2d, fully_connected
from hwsim.cost.analytical import evaluate_mapping
from hwsim.cost.cycle import CycleOptions, DramTiming, simulate
from hwsim.cost.precision import utilization
from hwsim.evaluate import NetworkReport, evaluate_network
from hwsim.frontend.presets import arch_names, load_arch
from hwsim.mapper import MapperOptions, map_layer

FAST = MapperOptions(samples=300, seed=0)
IDEAL = CycleOptions(dram=DramTiming.ideal(0.0), systolic=False)


def _toy(mac: MacUnit) -> Architecture:
    """3 rows × 4 columns of MAC units under unlimited-bandwidth storage: cycles are the compute alone."""
    levels = (Level("DRAM", "dram", ("weights", "inputs", "outputs"), None, 64),
              Level("RF", "regfile", ("weights", "inputs", "outputs"), 4096, 16))  # fmt: skip
    axes = (SpatialAxis("rows", 3, "DRAM"), SpatialAxis("cols", 4, "DRAM"))
    return Architecture("toy", levels, axes, mac, 1e9, 45.0)


# K = 22 (padded to 24: 8 temporal × 3 rows), C = 4 on the 4 columns: 88 MACs in 8 temporal iterations of 12 units.
FC = fully_connected("fc", in_features=4, out_features=22)
MAPPING = Mapping.build([[("K", 8)], []], [[("K", 3)], [("C", 4)]])
PADDED = 88 / 96  # useful over available when every iteration takes the same unit cycles


@pytest.mark.parametrize(
    "name, mac, layer, cycles, speedup",
    [
        # one 8-bit MAC per unit cycle: 8 cycles; 88 of 96 unit cycles useful (padding)
        ("fixed", MacUnit(), FC, 8, 1.0),
        # BitFusion at 4 bits: 4 products per unit cycle, 2 cycles; 88 / 4 = 22 of 24 unit cycles (was 88 / 24 = 3.67)
        ("bit-fusion W4A4", MacUnit(kind="bit-fusion"), FC.with_bits(weights=4, inputs=4), 2, 4.0),
        # BitFusion at 2 bits: 16 products per cycle; 8 / 16 rounds up to 1 cycle, 88 / 16 = 5.5 of 12 unit cycles
        ("bit-fusion W2A2", MacUnit(kind="bit-fusion"), FC.with_bits(weights=2, inputs=2), 1, 16.0),
        # bit-serial, 1 activation bit per cycle: an 8-bit MAC takes 8 unit cycles, 64 cycles; 88·8 of 64·12 (was 0.11)
        ("bit-serial A8", MacUnit(kind="bit-serial", input_bits=1), FC, 64, 1 / 8),
        # a 16-bit layer on an 8-bit fixed unit: 4 passes per MAC
        ("fixed W16A16", MacUnit(), FC.with_bits(weights=16, inputs=16), 32, 1 / 4),
        # 2:4 weights skipped: half the MACs performed, 4 cycles; 44 of 48 unit cycles useful
        ("2:4 skipped", MacUnit(skip=("weights",), skip_structure="n:m"), FC.with_sparsity(weights="2:4"), 4, 2.0),
    ],
)
def test_utilization_by_hand(name: str, mac: MacUnit, layer: Layer, cycles: int, speedup: float) -> None:
    arch = _toy(mac)
    r = evaluate_mapping(layer, arch, MAPPING)
    assert r.cycles == r.compute_cycles == cycles
    useful = layer.macs / speedup  # MACs over the unit's width factor (products per unit cycle) and skipped share
    assert r.useful_unit_cycles == pytest.approx(useful)
    assert r.utilization == pytest.approx(useful / (cycles * arch.num_macs))
    assert r.mac_speedup == pytest.approx(speedup)
    if name != "bit-fusion W2A2":  # the others fill every unit cycle but the padded ones
        assert r.utilization == pytest.approx(PADDED)
    # the identity that relates the figures: dense-equivalent MACs per unit cycle = utilization × speedup
    assert layer.macs / (r.cycles * arch.num_macs) == pytest.approx(r.utilization * r.mac_speedup)
    # the cycle engine (no DRAM latency, no systolic fill) takes the same cycles, unrounded (W2A2: 8 / 16 = 0.5),
    # and the same definition gives the same figure
    c = simulate(layer, arch, MAPPING, IDEAL)
    assert c.cycles == pytest.approx(MAPPING.temporal_iterations / speedup if name == "bit-fusion W2A2" else cycles)
    assert c.utilization == pytest.approx(useful / (c.cycles * arch.num_macs)) and c.mac_speedup == pytest.approx(speedup)
    assert c.utilization <= 1


def test_the_definition() -> None:
    assert utilization(22.0, 24.0) == pytest.approx(22 / 24)
    assert utilization(0.0, 0.0) == 0.0 and utilization(5.0, 0.0) == 0.0


def _network() -> Network:
    net = Network("small")
    net.add(conv2d("conv", in_channels=3, out_channels=16, in_hw=16, kernel=3, padding=1), after=None)
    net.add(TensorOp("pool", "pool", 16 * 16 * 16, 16 * 8 * 8, 16 * 8 * 8 * 3))
    net.add(conv2d("conv2", in_channels=16, out_channels=32, in_hw=8, kernel=3, padding=1))
    net.add(fully_connected("fc", in_features=32 * 8 * 8, out_features=10))
    return net


def _check_network(report: NetworkReport) -> None:
    rows = report.to_frame()
    total = report.totals()
    assert (rows["utilization"] <= 1 + 1e-9).all(), rows[["name", "utilization"]]
    assert rows["utilization"].min() - 1e-12 <= total["utilization"] <= rows["utilization"].max() + 1e-12
    mac_rows = rows[rows["macs"] > 0]
    # the total is the ratio of the sums: useful over available unit cycles of every op (non-MAC ops add only the latter)
    useful = sum(u * c * report.arch.num_macs for u, c in zip(rows["utilization"], rows["cycles"], strict=True))
    assert total["utilization"] == pytest.approx(useful / (total["cycles"] * report.arch.num_macs))
    assert total["mac_speedup"] == pytest.approx(total["macs"] / useful)
    assert (mac_rows["mac_speedup"] > 0).all()
    assert report.utilization == total["utilization"] and report.mac_speedup == total["mac_speedup"]
    # the JSON says the same
    js = report.to_json()
    assert [x["utilization"] for x in js["layers"]] == pytest.approx(list(rows["utilization"]))
    assert js["total"]["utilization"] == pytest.approx(total["utilization"])


@pytest.mark.parametrize("arch_name", arch_names())
@pytest.mark.parametrize("variant", ["default", "W4A4 2:4"])
def test_every_preset_small_network(arch_name: str, variant: str) -> None:
    net = _network()
    if variant != "default":
        net = net.with_bits(weights=4, inputs=4).with_sparsity(weights="2:4")
    report = evaluate_network(load_arch(arch_name), net, FAST)
    _check_network(report)


@pytest.mark.parametrize("arch_name", ["bitfusion", "sparse-tensor-core", "tpu-v1"])
def test_cycle_engine_network(arch_name: str) -> None:
    net = _network().with_bits(weights=4, inputs=4).with_sparsity(weights="2:4")
    report = evaluate_network(load_arch(arch_name), net, FAST, engine="cycle")
    _check_network(report)
    for r, c in zip(report.reports, report.cycle_reports, strict=True):
        if c is not None:  # the network row and the cycle engine's own report: one figure
            assert r.utilization == pytest.approx(c.utilization)
            assert c.utilization <= 1 + 1e-9


def test_network_total_is_between_layers_without_non_mac_ops() -> None:
    """A network of MAC layers only: the total lies between its layers' figures (not at 144% over 73% layers)."""
    net = Network("macs")
    net.add(conv2d("conv", in_channels=16, out_channels=32, in_hw=16, kernel=3, padding=1), after=None)
    net.add(conv2d("conv2", in_channels=32, out_channels=32, in_hw=16, kernel=3, padding=1))
    net = net.with_sparsity(weights="2:4")
    report = evaluate_network(load_arch("sparse-tensor-core"), net, FAST)
    u = [r.utilization for r in report.reports]
    assert min(u) - 1e-12 <= report.utilization <= max(u) + 1e-12
    assert report.mac_speedup == pytest.approx(2.0)


def test_bitfusion_w4a4_resnet18_conv_is_at_most_one() -> None:
    """``hwsim run --arch bitfusion --precision W4A4`` printed 226% (the fused 4-bit products counted as units)."""
    arch = load_arch("bitfusion")
    layer = conv2d("layer1.0.conv1", in_channels=64, out_channels=64, in_hw=56, kernel=3, padding=1).with_bits(weights=4, inputs=4)
    r = map_layer(layer, arch, FAST)
    assert 0 < r.utilization <= 1
    assert r.mac_speedup == pytest.approx(4.0)
    assert layer.macs / (r.cycles * arch.num_macs) > 1  # the old figure: dense-equivalent MACs per unit cycle


PRESETS = arch_names()
WIDTHS = [(8, 8), (4, 4), (2, 2), (2, 8), (8, 4), (3, 5), (16, 8), (16, 16)]
SPARSITY: list[dict[str, float | str]] = [{}, {"weights": "2:4"}, {"weights": "1:4"}, {"weights": 0.3}, {"inputs": 0.5},
                                          {"weights": 0.5, "inputs": 0.4}]  # fmt: skip


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Layer, Architecture]:
    arch = load_arch(draw(st.sampled_from(PRESETS)))
    w, a = draw(st.sampled_from(WIDTHS))
    k = draw(st.sampled_from([4, 16, 24]))
    c = draw(st.sampled_from([3, 8, 16]))
    hw = draw(st.sampled_from([4, 7, 8]))
    kernel = draw(st.sampled_from([1, 3]))
    layer = conv2d("c", in_channels=c, out_channels=k, in_hw=hw, kernel=kernel, padding=kernel // 2).with_bits(weights=w, inputs=a)
    sparsity = draw(st.sampled_from(SPARSITY))
    nm_formats = any(f == "nm" for lv in arch.levels for _, f in lv.formats)
    if sparsity and not (nm_formats and any(isinstance(v, float) for v in sparsity.values())):
        layer = layer.with_sparsity(**sparsity)
    if draw(st.booleans()):  # a unit that skips (or gates) zeros, whatever the preset
        mac = replace(arch.mac, skip=draw(st.sampled_from([("weights",), ("inputs",), ("weights", "inputs")])),
                      skip_structure=draw(st.sampled_from(["any", "n:m"])))  # fmt: skip
        arch = replace(arch, mac=mac)
    if draw(st.booleans()):  # a Stripes-like bit-serial unit in the preset's place
        arch = replace(arch, mac=replace(arch.mac, kind="bit-serial", input_bits=draw(st.sampled_from([1, 2, 4]))))
    if draw(st.booleans()) and layer.operand("weights").bits == layer.operand("inputs").bits == 16 and arch.mac.fp_bits:
        layer = layer.with_number("fp")
    return layer, arch


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_utilization_never_exceeds_one(case: tuple[Layer, Architecture]) -> None:
    layer, arch = case
    try:
        r = map_layer(layer, arch, MapperOptions(samples=100, seed=0))
    except SpecError as exc:  # a layer that fits no mapping (16-bit weights in BitFusion's 2-byte register)
        assume("no valid mapping" not in str(exc))
        raise
    assert 0 < r.utilization <= 1 + 1e-9, (layer, arch.name, arch.mac)
    assert layer.macs / (r.cycles * arch.num_macs) == pytest.approx(r.utilization * r.mac_speedup)
    assert r.mapping is not None
    c = simulate(layer, arch, r.mapping, check=False)
    assert 0 < c.utilization <= 1 + 1e-9, (layer, arch.name, arch.mac)
    assert c.mac_speedup == pytest.approx(r.mac_speedup)


def _two_convs() -> Network:
    net = Network("two")
    net.add(conv2d("conv", in_channels=4, out_channels=8, in_hw=6, kernel=3, padding=1), after=None)
    net.add(conv2d("conv2", in_channels=8, out_channels=8, in_hw=6, kernel=3, padding=1))
    return net


def test_real_tensors_count_the_performed_macs() -> None:
    """On real weights the cycle engine counts the MACs performed: every non-zero weight meets P·Q inputs."""
    arch = load_arch("scnn")  # skips zero weights (and inputs), unstructured
    net = _two_convs()
    layer = net.layers()[0]
    weights = (np.random.default_rng(0).random((1, 8, 4, 3, 3)) < 0.3).astype(np.int8)
    mapping = map_layer(layer, arch, FAST).mapping
    assert mapping is not None
    c = simulate(layer, arch, mapping, tensors={"weights": weights})
    assert c.mac_fraction == pytest.approx(np.count_nonzero(weights) / weights.size)
    assert 0 < c.utilization <= 1
    # the network row (declared dense, cycles from the real zeros) says the same, not 1 / 0.3 of it
    report = evaluate_network(arch, net, FAST, engine="cycle", tensors={"conv": {"weights": weights}})
    row, cyc = report.reports[0], report.cycle_reports[0]
    assert cyc is not None and row.utilization == pytest.approx(cyc.utilization) and row.utilization <= 1
    _check_network(report)


def test_per_step_ops_keep_their_figure_under_the_cycle_engine() -> None:
    """An op behind a temporal stride (runs every 2 steps): MACs and cycles per step both halve."""
    net = Network("strided")
    net.add(conv2d("conv", in_channels=4, out_channels=8, in_hw=6, kernel=3, padding=1), after=None)
    net.add(conv2d("conv2", in_channels=8, out_channels=8, in_hw=6, kernel=3, padding=1), every_steps=2)
    report = evaluate_network(load_arch("eyeriss"), net, FAST, engine="cycle")
    for r, c in zip(report.reports, report.cycle_reports, strict=True):
        assert c is not None and r.utilization == pytest.approx(c.utilization) and c.utilization <= 1
    _check_network(report)
