"""Keep/bypass in the mapspace (``Level.may_bypass``): the exhaustive mapper equals a brute-force enumeration of every
bypass subset × the tilings and orders, each costed one mapping at a time (``evaluate_mapping``, validity from
``check_mapping``: neither is the batch model or its capacity repair); the sampled mapper bypasses only what the spec
allows; the encoding round-trips bypass; and on Timeloop's exercise 05 (whose mapper optima bypass buffers) hwsim's
mapper finds mappings at least as good as Timeloop's reference mappings under one cost model."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from hwsim.core.arch import HWSIM, TIMELOOP, Architecture, architecture_from_dict
from hwsim.core.errors import SpecError
from hwsim.core.mapping import Mapping, check_mapping
from hwsim.core.workload import Layer, conv2d, gemm
from hwsim.cost.analytical import evaluate_mapping
from hwsim.cost.bruteforce import brute_force_counts
from hwsim.mapper import MapperOptions, _spatial_array, enumerate_mapspace, fastmodel, map_layer, spatial_candidates
from tests.timeloop_data import ISPASS

ALL = ["weights", "inputs", "outputs"]
# A small GLB and a register file with one word of bandwidth: keeping every operand in the register file costs it
# capacity and cycles, so both objectives' optima bypass something
TINY = {
    "name": "tiny",
    "levels": [
        {"name": "DRAM", "kind": "dram", "bandwidth_bytes_per_s": 4e9},
        {"name": "GLB", "kind": "sram", "size_bytes": 32, "word_bits": 16, "may_bypass": ALL},
        {"name": "RF", "kind": "regfile", "size_bytes": 6, "word_bits": 8, "read_bandwidth_bits_per_cycle": 8,
         "write_bandwidth_bits_per_cycle": 8, "may_bypass": ALL},
    ],
    "pe_array": {"axes": [{"name": "x", "size": 2, "below": "GLB", "dims": ["K"]}]},
}  # fmt: skip


def _tiny(**may: list[str]) -> Architecture:
    """TINY with each named level's may_bypass replaced."""
    spec = {**TINY, "levels": [{**lv, "may_bypass": may.get(lv["name"], lv.get("may_bypass", []))} for lv in TINY["levels"]]}
    return architecture_from_dict(spec)


def _no_bypass(arch: Architecture) -> Architecture:
    return replace(arch, levels=tuple(replace(lv, may_bypass=()) for lv in arch.levels))


def test_exhaustive_mapper_equals_brute_force_over_bypass_subsets() -> None:
    """For energy and delay, the exhaustive mapper's optimum is the least over every subset of the allowed bypass
    pairs and every mapping of the bypass-free mapspace, costed one by one; and it beats the best without bypass."""
    arch = _tiny()
    layer = gemm("g", M=4, N=2, K=4)
    pairs = [(lv.name, o) for lv in arch.levels for o in lv.may_bypass]
    assert len(pairs) == 6  # the register file's and the GLB's every operand: 64 subsets, all three bypassed to DRAM too
    base = [fastmodel.decode(f, o, arch) for fs, os_, _ in enumerate_mapspace(layer, _no_bypass(arch)) for f, o in zip(fs, os_, strict=True)]
    best: dict[str, float] = {"energy": np.inf, "delay": np.inf}
    unbypassed = dict(best)
    for k in range(len(pairs) + 1):
        for subset in itertools.combinations(pairs, k):
            for m in base:
                m = Mapping(m.temporal, m.spatial, subset)
                if check_mapping(layer, arch, m):
                    continue
                r = evaluate_mapping(layer, arch, m, check=False)
                for key, value in (("energy", r.energy_pj), ("delay", r.cycles)):
                    best[key] = min(best[key], value)
                    if not subset:
                        unbypassed[key] = min(unbypassed[key], value)
    for objective in ("energy", "delay"):
        found = map_layer(layer, arch, MapperOptions(objective=objective, exhaustive=True))
        assert (found.energy_pj if objective == "energy" else found.cycles) == best[objective]
        assert found.mapping.bypass and best[objective] < unbypassed[objective]
        assert check_mapping(layer, arch, found.mapping) == []


def test_sampled_mapper_bypasses_only_what_the_spec_allows() -> None:
    """Every mapping the sampler draws and the search returns bypasses a subset of may_bypass, is valid, and costs in
    the batch model exactly what the single-mapping API reports."""
    layer = conv2d("c", in_channels=2, out_channels=4, in_hw=4, kernel=3)
    arch = _tiny(GLB=["inputs"], RF=["weights", "outputs"])
    allowed = {("GLB", "inputs"), ("RF", "weights"), ("RF", "outputs")}
    packed = fastmodel.Packed.build(layer, arch)
    factors, orders, bypass = fastmodel.random_mappings(packed, _spatial_array(spatial_candidates(layer, arch, 8)), 200, seed=4)
    assert len(set(bypass.tolist())) == 8  # every subset of the three pairs drawn
    rows = fastmodel.evaluate_batch(packed, factors, orders, bypass)
    for f, o, b, row in zip(factors, orders, bypass, rows, strict=True):
        m = fastmodel.decode(f, o, arch, b)
        assert set(m.bypass) <= allowed
        ref = evaluate_mapping(layer, arch, m, check=False)
        assert (row[0], row[1], row[2] == 1.0) == (ref.energy_pj, ref.cycles, not check_mapping(layer, arch, m))
    for objective in ("energy", "delay", "edp"):
        for seed in range(3):
            m = map_layer(layer, arch, MapperOptions(objective=objective, seed=seed, samples=2000)).mapping
            assert set(m.bypass) <= allowed and check_mapping(layer, arch, m) == []
    assert not map_layer(layer, _no_bypass(arch), MapperOptions(objective="delay")).mapping.bypass


def test_encoding_round_trips_bypass() -> None:
    arch = _tiny()
    m = Mapping.build([[("C", 4)], [("P", 2)], [("P", 2)]], [[("K", 2)]], [("GLB", "weights"), ("GLB", "outputs"), ("RF", "inputs")])
    f, o, b = fastmodel.encode(m, arch)
    assert b == 0b010_101_000
    assert fastmodel.decode(f, o, arch, b) == m
    with pytest.raises(ValueError, match=r"^bypass of outputs at GLB is not in the level's may_bypass: not encodable "
                                         r"\(hwsim.cost.analytical costs it\)$"):  # fmt: skip
        fastmodel.encode(m, _tiny(GLB=["weights"]))


def test_may_bypass_spec_errors() -> None:
    spec = {**TINY, "levels": [{**TINY["levels"][0], "may_bypass": ["weights"]}, {**TINY["levels"][1], "keeps": ["inputs", "outputs"]},
                               TINY["levels"][2]]}  # fmt: skip
    with pytest.raises(SpecError) as e:
        architecture_from_dict(spec)
    assert [p.render() for p in e.value.problems] == [
        "levels[0].may_bypass: expected no bypass at the outermost level (it holds every operand), not ['weights']",
        "levels[1].may_bypass: expected operands the level keeps (inputs, outputs), not ['weights', 'inputs', 'outputs']",
    ]
    arch = _tiny()  # built in Python past the loader: the mapper refuses it too
    bad = replace(arch, levels=(replace(arch.levels[0], may_bypass=("inputs",)), *arch.levels[1:]))
    with pytest.raises(SpecError, match=r"levels\[0\].may_bypass: expected no bypass at the outermost level"):
        map_layer(gemm("g", M=4, N=2, K=4), bad)


# ------------------------------------------------------------------------------------- Timeloop's exercise 05

EX05 = ISPASS / "05-mapper-conv1d+oc-3level"
CONSTRAINTS = {"null": "null", "freebypass": "conv1d+oc-3level-freebypass", "baked": "conv1d+oc-3level-1mapping"}  # reference → its constraints


def _exercise_05(case: str) -> tuple[Layer, Architecture, Mapping, tuple[tuple[str, str, int], ...]]:
    """The layer; the architecture priced with the reference's ERT under Timeloop's semantics, may_bypass at every
    level below DRAM for the operands the case's constraints file does not pin; the reference mapping; its factor pins."""
    from hwsim.frontend.importers.accelergy import apply_energy_table, read_energy_table
    from hwsim.frontend.importers.timeloop import read_timeloop_yaml, timeloop_architecture, timeloop_problem, timeloop_problem_names
    from hwsim.frontend.importers.timeloop_mapping import read_timeloop_mapping

    ref = EX05 / "ref-output" / case
    problem = read_timeloop_yaml(EX05 / "prob/conv1d+oc.prob.yaml")
    names = timeloop_problem_names(problem)
    layer = timeloop_problem(problem).layers()[0]
    arch = timeloop_architecture(read_timeloop_yaml(EX05 / "arch/3level.arch.yaml"), str(EX05 / "arch/3level.arch.yaml"), names)
    arch = replace(apply_energy_table(arch, read_energy_table(ref / "timeloop-mapper.ERT.yaml"), "ERT"), semantics=TIMELOOP)
    targets = read_timeloop_yaml(EX05 / "constraints" / f"{CONSTRAINTS[case]}.constraints.yaml")["mapspace_constraints"]["targets"]
    pinned = {(t["target"], names.spaces[s]) for t in targets if t["type"] == "dataspace" for s in (*t.get("keep", ()), *t.get("bypass", ()))}
    fixes = tuple((t["target"], names.dims[d], int(n)) for t in targets if t["type"] == "temporal"
                  for d, n in (item.split("=") for item in t["factors"].split()))  # fmt: skip
    levels = (arch.levels[0], *(replace(lv, may_bypass=tuple(o for o in lv.keeps if (lv.name, o) not in pinned)) for lv in arch.levels[1:]))
    arch = replace(arch, levels=levels)
    return layer, arch, read_timeloop_mapping(ref / "timeloop-mapper.map.yaml", arch, layer, names), fixes


def _no_worse(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """a is lexicographically no worse than b (figures within 1e-9 count as equal)."""
    for x, y in zip(a, b, strict=True):
        if x < y * (1 - 1e-9):
            return True
        if x > y * (1 + 1e-9):
            return False
    return True


@pytest.mark.parametrize("case", list(CONSTRAINTS))
def test_exercise_05_mapper_at_least_as_good_as_timeloops(case: str) -> None:
    """Same model (Timeloop's semantics, the reference's ERT), bypass searched where Timeloop's constraints leave it
    free: hwsim's mapper for energy, and for delay then energy (Timeloop's objective), is no worse than the mapping
    Timeloop's mapper chose; the exhaustive search of Timeloop's own space (its pinned factors; hwsim's orders free)
    finds Timeloop's pick, bypass included (null's pick is not its space's optimum). On freebypass, whose optimum
    bypasses the GLB, no mapping without bypass is as good as Timeloop's."""
    layer, arch, ref_mapping, fixes = _exercise_05(case)
    ref = evaluate_mapping(layer, arch, ref_mapping)
    energy = map_layer(layer, arch, MapperOptions(objective="energy"))
    assert energy.energy_pj <= ref.energy_pj * (1 + 1e-9)
    for exhaustive, pins in ((False, ()), (True, fixes)):
        delay = map_layer(layer, arch, MapperOptions(objective=("delay", "energy"), exhaustive=exhaustive, fixed_factors=pins))
        assert _no_worse((delay.cycles, delay.energy_pj), (ref.cycles, ref.energy_pj)), (delay.cycles, delay.energy_pj, ref.cycles, ref.energy_pj)
        if exhaustive and case != "null":  # Timeloop's pick is the optimum of its own space (null: a search cut short)
            assert delay.energy_pj == pytest.approx(ref.energy_pj, rel=1e-9) and delay.mapping.bypass == ref_mapping.bypass
    if case == "freebypass":
        assert ref_mapping.bypass
        assert map_layer(layer, _no_bypass(arch), MapperOptions(objective="energy", exhaustive=True)).energy_pj > ref.energy_pj * (1 + 1e-9)


def test_a_mapping_bypassing_every_level_reads_from_dram() -> None:
    """Timeloop's mapper's null-constraint pick keeps nothing below DRAM: the MACs read each operand from DRAM, as
    the brute-force walk counts."""
    layer, arch, m, _ = _exercise_05("null")
    assert len(m.bypass) == 6
    arch = replace(arch, semantics=HWSIM)  # (the walk counts hwsim's semantics)
    r = evaluate_mapping(layer, arch, m)
    assert r.accesses == brute_force_counts(layer, arch, m)
    assert r.accesses[("MainMemory", "weights")].reads == r.accesses[("MainMemory", "inputs")].reads == layer.macs
