"""The analytical and cycle engines over the preset zoo (issue 16: one truth).

The closed form pays every deterministic cost the cycle engine pays (systolic fill/drain per fold, refills of
single-buffered levels, the first tiles' DRAM reads before compute and the last tile's write-back after it), so on
every layer of ResNet-18, MobileNetV2 and BERT-base as the default mapper maps them the cycle engine's latency is
within 5% of the closed form's where DRAM does not bound the layer, and within 15% where it does (the cycle engine
adds what needs simulation: DRAM latency, row misses, per-fold bursts and back-pressure). DRAM-bound is the closed
form's verdict alone (never the engines' agreement). Everywhere, the compute cycles are the mapping's temporal
iterations (the zoo is dense and runs one MAC per unit per cycle) and every level's traffic is the kernel's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from hwsim.core.workload import Layer
from hwsim.cost.analytical import CostReport
from hwsim.cost.cycle import CycleReport, simulate
from hwsim.frontend.presets import arch_names, load_arch, load_workload
from hwsim.mapper import map_layer


def engine_pairs(preset: str, workload: str, limit: int | None = None) -> Iterator[tuple[Layer, CostReport, CycleReport]]:
    """Each distinct layer shape of ``workload`` (up to ``limit``) under the default mapper's mapping on
    ``preset``: the analytical report and the cycle engine's (also benchmarks/engines_agreement.py)."""
    arch = load_arch(preset)
    seen: set = set()
    for layer in load_workload(workload).layers():
        if layer.bounds in seen:
            continue
        seen.add(layer.bounds)
        if limit is not None and len(seen) > limit:
            return
        a = map_layer(layer, arch)
        assert a.mapping is not None
        yield layer, a, simulate(layer, arch, a.mapping, check=False)


def dram_bound(a: CostReport) -> bool:
    """The closed form's own verdict: DRAM's transfer time is at least 90% of the PEs' busy time (compute, systolic
    fill/drain and the refills they wait for)."""
    busy = a.compute_cycles + a.fill_drain_cycles + a.exposed_cycles
    dram = next(iter(a.transfer_cycles.values()))  # level 0's, in the architecture's level order
    return dram >= 0.9 * busy


def traffic_equal(layer: Layer, preset: str, a: CostReport, c: CycleReport) -> bool:
    """Every level's read and write bits in the cycle engine are the kernel's (relative 1e-9)."""
    from hwsim.cost import kernel

    arch = load_arch(preset)
    assert a.mapping is not None
    _, _, costs = kernel.run(layer, arch, a.mapping)
    return all(
        math.isclose(c.level_read_bits[lv.name], costs.read_bits[i], rel_tol=1e-9, abs_tol=1e-6)
        and math.isclose(c.level_write_bits[lv.name], costs.write_bits[i], rel_tol=1e-9, abs_tol=1e-6)
        for i, lv in enumerate(arch.levels)
    )


NOT_DRAM_BOUND, DRAM_BOUND = 0.05, 0.15  # the targets for |cycle/analytical − 1|

# Layers where the engines differ by more than the target, each explained; each must still differ (remove it here
# when the engines come to agree).
KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("shidiannao", "encoder.0.attn.q"): "cycle engine +13%: DRAM latency (LPDDR4, 90 cycles) paid by each of the 24,576 "
    "folds, whose partial sums the single-buffered NBout reads back on demand; with an ideal DRAM (DramTiming()) the "
    "engines agree exactly (16,581,182.5 cycles). Latency is the cycle engine's to simulate.",
}


def _check(preset: str, workload: str, limit: int | None) -> int:
    arch = load_arch(preset)
    layers = 0
    for layer, a, c in engine_pairs(preset, workload, limit):
        layers += 1
        where = f"{preset}/{layer.name}: analytical {a.cycles:.0f}, cycle {c.cycles:.0f} {c.breakdown()}"
        temporal = math.prod(lp.bound for lp in a.mapping.nest(arch) if not lp.spatial) if a.mapping else 0
        assert temporal * arch.num_macs >= layer.macs, where  # every MAC has a slot
        assert c.cycles >= c.compute_cycles == a.compute_cycles == temporal, where
        assert c.fill_drain_cycles == pytest.approx(a.fill_drain_cycles, rel=1e-9), where  # the kernel's rule
        assert traffic_equal(layer, preset, a, c), where
        gap = abs(c.cycles / a.cycles - 1)
        target = DRAM_BOUND if dram_bound(a) else NOT_DRAM_BOUND
        if (preset, layer.name) in KNOWN_GAPS:
            assert gap > target, f"{where}: no longer a gap, remove it from KNOWN_GAPS"
        else:
            assert gap <= target, f"{where}: {gap:.1%} (target {target:.0%})"
    return layers


@pytest.mark.parametrize("preset", arch_names())
def test_engines_agree_on_the_zoo(preset: str) -> None:
    """The cycle engine's step-by-step schedule against the analytical model on ResNet-18's first 5 shapes
    (see the module docstring); compute cycles against the mapping's own loop count."""
    layers = _check(preset, "resnet18", limit=5)
    assert layers == 5


@pytest.mark.slow
@pytest.mark.parametrize("workload", ["resnet18", "mobilenetv2", "bert-base"])
@pytest.mark.parametrize("preset", arch_names())
def test_engines_agree_on_the_zoo_full(preset: str, workload: str) -> None:
    """As test_engines_agree_on_the_zoo, over every distinct layer shape of three networks."""
    _check(preset, workload, limit=None)
