"""The cycle engine takes its traffic from the closed-form kernel: on every preset, for layers of ResNet-18 as the
default mapper maps them (and a sparse layer where the preset skips zeros), every level's read and write bits in the
cycle engine total the kernel's — compressed formats, partial sums and skipped MACs included."""

from __future__ import annotations

import pytest

from hwsim.cost import kernel
from hwsim.cost.cycle import simulate
from hwsim.frontend.presets import arch_names, load_arch, load_workload
from hwsim.mapper import map_layer

_NET = load_workload("resnet18")
_LAYERS = [d["op"] for _, d in _NET.graph.nodes(data=True) if getattr(d["op"], "macs", 0)]
LAYERS = {name: next(lp for lp in _LAYERS if lp.name == name) for name in ("conv1", "layer1.0.conv1", "layer3.0.downsample", "fc")}


def _sparse(layer, arch):
    """The layer with zeros in every operand the preset's MAC unit skips (N:M for a unit that needs the structure)."""
    mac = arch.mac
    return layer.with_sparsity(**{op: ("2:4" if mac.skip_structure == "n:m" else 0.4) for op in mac.skip})


def _cases():
    for a in arch_names():
        arch = load_arch(a)
        for name in LAYERS:
            yield pytest.param(a, name, False, id=f"{a}-{name}")
        if arch.mac.skip:
            yield pytest.param(a, "layer1.0.conv1", True, id=f"{a}-layer1.0.conv1-sparse")


@pytest.mark.parametrize("arch_name, layer_name, sparse", list(_cases()))
def test_cycle_engine_traffic_is_the_kernels(arch_name, layer_name, sparse):
    arch = load_arch(arch_name)
    layer = LAYERS[layer_name]
    if sparse:
        layer = _sparse(layer, arch)
    mapping = map_layer(layer, arch).mapping
    _, _, costs = kernel.run(layer, arch, mapping)
    report = simulate(layer, arch, mapping)
    for i, lv in enumerate(arch.levels):
        assert report.level_read_bits[lv.name] == pytest.approx(costs.read_bits[i], rel=1e-9, abs=1e-6), lv.name
        assert report.level_write_bits[lv.name] == pytest.approx(costs.write_bits[i], rel=1e-9, abs=1e-6), lv.name
    assert report.dram_read_bits == pytest.approx(costs.read_bits[0], rel=1e-9)
    if sparse:  # the case the engine used to get wrong: compressed bits and skipped MACs
        assert report.mac_fraction < 1.0
