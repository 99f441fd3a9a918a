"""The analytical and cycle engines over the preset zoo.

Compute-bound here is the analytical model's word alone (never the engines' agreement): it says
compute (with the refills it waits for) sets the time, DRAM's transfers need at most 90% of that
time, and loading the first tiles at most 5% of the layer. On those layers the cycle engine's time,
less its systolic fill/drain (per-fold skew the analytical model does not model), is within 10% of
the analytical time. Everywhere, the compute cycles are the mapping's temporal iterations (the zoo
is dense and runs one MAC per unit per cycle), and the rest of the difference is what the cycle
engine names: the analytical model overlaps all DRAM traffic with compute and has no systolic skew;
the cycle engine exposes the first fold's fetch and the last fold's write-back (whole-layer tiles
cannot hide them), bursts, and per-fold fill/drain.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from hwsim.analytical import CostReport
from hwsim.cycle import CycleReport, simulate
from hwsim.mapper import map_layer
from hwsim.presets import arch_names, load_arch, load_workload
from hwsim.workload import Layer


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


def compute_bound(a: CostReport, c: CycleReport | None = None) -> bool:
    """The analytical model's own verdict, with slack: compute (and the refills it waits for) sets the time,
    DRAM's transfers take at most 90% of it and the first tiles' load at most 5% of the layer.
    ``c`` is not looked at (the criterion must not depend on the engines' agreement)."""
    work = a.compute_cycles + a.exposed_cycles
    dram = next(iter(a.transfer_cycles.values()))  # level 0's, in the architecture's level order
    return a.bound_by == "compute" and dram <= 0.9 * work and a.startup_cycles <= 0.05 * a.cycles


# Compute-bound layers where the engines differ by more than 10% (fill/drain set aside): open disagreements,
# reported for investigation. Each must still differ (remove it here when the engines come to agree).
KNOWN_GAPS = {
    ("tpu-v1", "conv1"): "cycle engine +23%: 9.4k DRAM-stall cycles against an analytical startup of 0.6k",
    ("shidiannao", "features.0.conv"): "cycle engine +18%: DRAM stalls 57k although DRAM needs 29% of the compute time",
    ("shidiannao", "features.2.expand"): "cycle engine +32%: DRAM stalls 180k although DRAM needs 40% of the compute time",
    ("shidiannao", "features.3.expand"): "cycle engine +21%: DRAM stalls 64k although DRAM needs 27% of the compute time",
}


def _check(preset: str, workload: str, limit: int | None) -> tuple[int, int]:
    arch = load_arch(preset)
    n_bound, layers = 0, 0
    for layer, a, c in engine_pairs(preset, workload, limit):
        layers += 1
        where = f"{preset}/{layer.name}: analytical {a.cycles:.0f}, cycle {c.cycles:.0f} {c.breakdown()}"
        temporal = math.prod(lp.bound for lp in a.mapping.nest(arch) if not lp.spatial) if a.mapping else 0
        assert temporal * arch.num_macs >= layer.macs, where  # every MAC has a slot
        assert c.cycles >= c.compute_cycles == a.compute_cycles == temporal, where
        assert c.cycles >= 0.85 * a.cycles, where
        # What the analytical model lacks explains the rest.
        assert c.cycles - c.fill_drain_cycles - c.dram_stall_cycles <= 1.10 * a.cycles, where
        if compute_bound(a):
            n_bound += 1
            gap = abs((c.cycles - c.fill_drain_cycles) / a.cycles - 1)
            if (preset, layer.name) in KNOWN_GAPS:
                assert gap > 0.10, f"{where}: no longer a gap, remove it from KNOWN_GAPS"
            else:
                assert gap <= 0.10, where
    return n_bound, layers


@pytest.mark.parametrize("preset", arch_names())
def test_engines_agree_on_the_zoo(preset: str) -> None:
    """The cycle engine's step-by-step schedule against the analytical model on ResNet-18's first 5 shapes
    (see the module docstring); compute cycles against the mapping's own loop count."""
    _, layers = _check(preset, "resnet18", limit=5)
    assert layers == 5


@pytest.mark.slow
@pytest.mark.parametrize("workload", ["resnet18", "mobilenetv2", "bert-base"])
@pytest.mark.parametrize("preset", arch_names())
def test_engines_agree_on_the_zoo_full(preset: str, workload: str) -> None:
    """As test_engines_agree_on_the_zoo, over every distinct layer shape of three networks."""
    _check(preset, workload, limit=None)
