"""Every accelerator preset loads and maps real layers; end-to-end runs of the zoo are marked slow."""

from __future__ import annotations

import pytest

import hwsim
from hwsim.core.workload import Network, TensorOp, batched_matmul, conv2d, depthwise_conv2d, fully_connected
from hwsim.frontend.presets import arch_names, load_arch

ARCHS = arch_names()


def _mini() -> Network:
    net = Network("mini")
    net.add(conv2d("conv", in_channels=3, out_channels=32, in_hw=32, kernel=3, stride=2, padding=1))
    net.add(depthwise_conv2d("dw", channels=32, in_hw=16, kernel=3, padding=1))
    net.add(TensorOp("pool", "pool", 32 * 16 * 16, 32 * 8 * 8, 32 * 16 * 16))
    net.add(fully_connected("fc", in_features=2048, out_features=100))
    net.add(batched_matmul("attn", batch=4, M=16, N=16, K=32), after=None)
    return net


def test_the_presets_exist():
    assert ARCHS == ["bitfusion", "eyeriss", "fpga-small", "nvdla-small", "scnn", "shidiannao", "simba", "sparse-tensor-core", "tpu-v1"]


@pytest.mark.parametrize("name", ARCHS)
def test_preset_maps_every_layer_kind(name):
    arch = load_arch(name)
    report = hwsim.evaluate(arch, _mini(), samples=2000)
    assert [r.layer for r in report.reports] == ["conv", "dw", "pool", "fc", "attn"]
    for r in report.reports:
        assert r.cycles > 0 and r.energy_pj > 0
        if r.macs:
            assert r.cycles >= r.macs / arch.num_macs
            assert 0 < r.utilization <= 1
            # Energy per MAC is at least the MAC's own and below a DRAM access per MAC.
            assert arch.mac.energy_pj <= r.energy_pj / r.macs <= 3 * arch.dram.read_energy_pj


def test_evaluate_is_deterministic():
    a = hwsim.evaluate("simba", _mini(), samples=500, seed=3).to_frame()
    b = hwsim.evaluate("simba", _mini(), samples=500, seed=3).to_frame()
    assert a.equals(b)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("workload", ["resnet50", "mobilenetv2", "bert-base"])
def test_zoo_end_to_end(arch, workload):
    report = hwsim.evaluate(arch, workload)
    t = report.totals()
    a = report.arch
    assert t["macs"] == report.network.macs
    assert t["cycles"] >= t["macs"] / a.num_macs
    assert 0 < t["utilization"] <= 1
    assert a.mac.energy_pj < t["pj_per_mac"] < a.dram.read_energy_pj
