"""Level.cluster_size (Timeloop's ``cluster_size``): instances sharing one physical row are billed once per utilized
cluster. Independent truths: the closed form min(U, N / cluster_size) / U of the per-instance billing, and Timeloop's
own figure for simba_like's PEWeightRegs (cluster_size 64) in its reference stats."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from hwsim.core.arch import Architecture, Level, MacUnit, SpatialAxis
from hwsim.core.mapping import Mapping
from hwsim.core.workload import OPERANDS, gemm
from hwsim.cost.analytical import evaluate_mapping


def _arch(cluster_size: int) -> Architecture:
    """DRAM → GLB → a 16-entry register per PE (4 × 4 PEs below the GLB), rows of ``cluster_size`` registers."""
    dram = Level("DRAM", "dram", OPERANDS, None, 64, read_energy_pj=100.0, write_energy_pj=120.0)
    glb = Level("GLB", "sram", OPERANDS, 1 << 20, 64, read_energy_pj=10.0, write_energy_pj=12.0)
    reg = Level("Reg", "regfile", ("weights",), 64, 8, read_energy_pj=0.5, write_energy_pj=0.7, cluster_size=cluster_size)
    axes = (SpatialAxis("x", 4, "GLB"), SpatialAxis("y", 4, "GLB"))
    return Architecture("clustered", (dram, glb, reg), axes, MacUnit(energy_pj=1.0), 1e9, 45)


@pytest.mark.parametrize(("x", "y", "cluster_size"), [(4, 2, 4), (4, 4, 4), (2, 1, 4), (4, 4, 16), (4, 4, 1), (4, 2, 8)])
def test_a_clustered_level_is_billed_once_per_utilized_cluster(x: int, y: int, cluster_size: int):
    """With U = x·y registers used of N = 16, in rows of cluster_size: the level costs its unclustered energy times
    min(U, N / cluster_size) / U; every count and every other level is unchanged."""
    layer = gemm("g", M=8, N=4, K=4)  # P = 8, K = 4, C = 4
    mapping = Mapping.build([[("P", 8 // y)], [("C", 4)], [("K", 4 // x)]], [[("K", x)], [("P", y)]])
    plain = evaluate_mapping(layer, _arch(1), mapping)
    got = evaluate_mapping(layer, _arch(cluster_size), mapping)
    used = x * y
    scale = min(used, 16 // cluster_size) / used
    assert got.accesses == plain.accesses
    assert got.level_energy_pj["Reg"] == pytest.approx(plain.level_energy_pj["Reg"] * scale, rel=1e-12)
    assert got.level_energy_pj["Reg"] > 0
    for lv in ("DRAM", "GLB"):
        assert got.level_energy_pj[lv] == plain.level_energy_pj[lv]
    assert got.energy_pj == pytest.approx(plain.energy_pj - plain.level_energy_pj["Reg"] * (1 - scale), rel=1e-12)


def test_simba_like_weight_registers_cost_timeloops_energy():
    """simba_like's PEWeightRegs (256 registers, cluster_size 64, 48 used): with the reference's mapping and ERT, hwsim's
    energy of the level is the reference's ``Energy (total)``."""
    from benchmarks.timeloop_exercises import CASES, run_hwsim

    case = next(c for c in CASES if c.name == "simba_like")
    block = case.stats.read_text().split("=== PEWeightRegs ===", 1)[1].split("\nLevel ", 1)[0]
    assert re.search(r"Cluster size\s*:\s*64", block)
    want = sum(float(v) for v in re.findall(r"^        Energy \(total\)\s*:\s*([\d.]+)", block, re.M))
    got = run_hwsim(case)
    assert "error" not in got, got.get("error")
    assert got["layer"]["PEWeightRegs_energy_pj"] == pytest.approx(want, rel=1e-3)


def test_cluster_size_is_read_from_timeloop():
    from benchmarks.timeloop_exercises import CASES
    from hwsim.frontend.importers.timeloop import load_timeloop
    from tests.timeloop_data import DATA

    case = next(c for c in CASES if c.name == "simba_like")
    arch = load_timeloop(DATA / case.arch)
    assert {lv.name: lv.cluster_size for lv in arch.levels if lv.cluster_size > 1} == {"PEWeightRegs": 64}


def test_utilized_leakage_bills_the_used_storage_instances_and_no_macs():
    """Semantics.utilized_leakage (Timeloop's leakage): Σ over on-chip levels of one instance's leakage × the instances
    the mapping uses × the run's time, nothing for the MACs; off (hwsim's), every instance and every MAC leaks."""
    from hwsim.core.arch import HWSIM

    layer = gemm("g", M=8, N=4, K=4)
    mapping = Mapping.build([[("P", 4)], [("C", 4)], [("K", 2)]], [[("K", 2)], [("P", 2)]])  # 4 of 16 registers used
    arch = _arch(1)
    levels = (arch.levels[0], replace(arch.levels[1], leakage_mw=2.0), replace(arch.levels[2], leakage_mw=0.25))
    arch = replace(arch, levels=levels, mac=replace(arch.mac, leakage_mw=0.5))
    on = evaluate_mapping(layer, replace(arch, semantics=replace(HWSIM, utilized_leakage=True)), mapping)
    off = evaluate_mapping(layer, arch, mapping)
    assert on.cycles == off.cycles
    seconds = off.cycles / arch.clock_hz
    assert off.leakage_energy_pj == pytest.approx((2.0 + 0.25 * 16 + 0.5 * 16) * 1e-3 * seconds * 1e12, rel=1e-12)
    assert on.leakage_energy_pj == pytest.approx((2.0 + 0.25 * 4) * 1e-3 * seconds * 1e12, rel=1e-12)
    assert on.energy_pj - on.leakage_energy_pj == pytest.approx(off.energy_pj - off.leakage_energy_pj, rel=1e-12)
