"""The analytical and cycle engines over the preset zoo: within 10% on compute-bound layers;
elsewhere the difference is what the cycle engine names (fill/drain, DRAM stalls).

Compute-bound here: the analytical model says so and the cycle engine finds at most 10% of
its time in fill/drain and DRAM stalls. The analytical model overlaps all DRAM traffic with
compute and has no systolic skew; the cycle engine exposes the first fold's fetch and the
last fold's write-back (whole-layer tiles cannot hide them), bursts, and per-fold fill/drain.
"""

from __future__ import annotations

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


def compute_bound(a: CostReport, c: CycleReport) -> bool:
    """The analytical model says compute and the cycle engine finds ≤ 10% of its time in fill/drain and DRAM stalls."""
    return a.bound_by == "compute" and c.fill_drain_cycles + c.dram_stall_cycles <= 0.10 * c.cycles


def _check(preset: str, workload: str, limit: int | None) -> tuple[int, int]:
    n_bound, layers = 0, 0
    for layer, a, c in engine_pairs(preset, workload, limit):
        layers += 1
        where = f"{preset}/{layer.name}: analytical {a.cycles:.0f}, cycle {c.cycles:.0f} {c.breakdown()}"
        assert c.cycles >= c.compute_cycles == a.compute_cycles, where
        assert c.cycles >= 0.85 * a.cycles, where
        # What the analytical model lacks explains the rest.
        assert c.cycles - c.fill_drain_cycles - c.dram_stall_cycles <= 1.10 * a.cycles, where
        if compute_bound(a, c):
            n_bound += 1
            assert abs(c.cycles / a.cycles - 1) <= 0.10, where
    return n_bound, layers


@pytest.mark.parametrize("preset", arch_names())
def test_engines_agree_on_the_zoo(preset: str) -> None:
    _, layers = _check(preset, "resnet18", limit=5)
    assert layers == 5


@pytest.mark.slow
@pytest.mark.parametrize("workload", ["resnet18", "mobilenetv2", "bert-base"])
@pytest.mark.parametrize("preset", arch_names())
def test_engines_agree_on_the_zoo_full(preset: str, workload: str) -> None:
    _check(preset, workload, limit=None)
