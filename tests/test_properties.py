"""Invariants of the analytical model over random valid layers, architectures and mappings."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim.cost.analytical import evaluate_mapping
from hwsim.cost.cycle import CycleOptions, DramTiming, simulate
from tests.strategies import cases, wide_cases

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _with_dram_bandwidth(arch, bits_per_cycle, ports):
    dram = replace(arch.levels[0], read_bandwidth_bits_per_cycle=bits_per_cycle, write_bandwidth_bits_per_cycle=bits_per_cycle,
                   ports=ports, read_energy_pj=100.0, write_energy_pj=120.0)  # fmt: skip
    return replace(arch, levels=(dram, *arch.levels[1:]))


@SETTINGS
@given(cases(), st.sampled_from([1.0, 8.0, 64.0, 512.0]), st.sampled_from([1, 2]))
def test_latency_never_below_roofline(case, bw, ports):
    layer, arch, mapping = case
    arch = _with_dram_bandwidth(arch, bw, ports)
    r = evaluate_mapping(layer, arch, mapping)
    compulsory_bits = sum(layer.operand(o).size(layer.dims) * layer.operand(o).bits for o in ("weights", "inputs", "outputs"))
    assert r.cycles >= layer.macs / arch.num_macs
    if ports == 1:
        assert r.cycles >= compulsory_bits / bw - 1e-9
    else:
        reads = sum(layer.operand(o).size(layer.dims) * layer.operand(o).bits for o in ("weights", "inputs"))
        writes = layer.operand("outputs").size(layer.dims) * layer.operand("outputs").bits
        assert r.cycles >= max(reads, writes) / bw - 1e-9
    assert 0 < r.utilization <= 1


@SETTINGS
@given(cases())
def test_access_counts_cover_compulsory_traffic(case):
    layer, arch, mapping = case
    arch = _with_dram_bandwidth(arch, 64.0, 2)
    r = evaluate_mapping(layer, arch, mapping)
    dims = layer.dims
    assert r.accesses[("DRAM", "weights")].reads >= layer.operand("weights").size(dims)
    assert r.accesses[("DRAM", "inputs")].reads >= layer.operand("inputs").size(dims)
    assert r.accesses[("DRAM", "outputs")].updates >= layer.operand("outputs").size(dims)
    # The level MACs read from is read on every temporal iteration (multicast may share it spatially); DRAM serves
    # real elements only, so the padded iterations' MACs idle when they read it directly.
    padded = any(n > dims[d] for d, n in mapping.padded_bounds().items())
    for op in ("weights", "inputs"):
        inner = max(i for i in range(len(arch.levels)) if op in mapping.kept(arch, i))
        if inner == 0 and padded:
            continue
        assert r.accesses[(arch.levels[inner].name, op)].reads >= mapping.temporal_iterations
    compulsory_pj = sum(layer.operand(o).size(dims) * layer.operand(o).bits for o in ("weights", "inputs")) * 100.0 / 64
    compulsory_pj += layer.operand("outputs").size(dims) * layer.operand("outputs").bits * 120.0 / 64
    assert r.energy_pj >= r.mac_energy_pj + compulsory_pj - 1e-6


@SETTINGS
@given(wide_cases())
def test_utilization_within_bounds_over_widths_sparsity_and_units(case):
    """Bit-serial, bit-fusion and fixed units at 2–16-bit operands, skipping or gating zeros: both engines' utilization
    (useful MAC-unit cycles over available ones) stays in (0, 1], and no latency is shorter than its compute."""
    layer, arch, mapping = case
    r = evaluate_mapping(layer, arch, mapping)
    c = simulate(layer, arch, mapping, CycleOptions(dram=DramTiming(), systolic=False))
    for report in (r, c):
        assert 0 < report.utilization <= 1 + 1e-12
        assert report.cycles >= report.compute_cycles - 1e-9
