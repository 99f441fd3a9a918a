"""Mapping constraints of levels and axes (``min_factors``, ``max_factors``, ``whole_dims``, ``inner_order``, pinned axis
factors): one rule, :func:`hwsim.core.mapping.constraint_problems`. The exhaustive mapper under constraints equals a
brute force over the unconstrained mapspace (every loop order, not one per equivalence class) filtered with that rule;
every mapping the sampler, the local search and the default search return meets it; the spec refuses inconsistent
constraints naming the field; a given mapping that breaks one is refused (``hwsim run`` exits 2)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hwsim.core.arch import Architecture, architecture_from_dict
from hwsim.core.errors import SpecError
from hwsim.core.mapping import Mapping, check_mapping, constraint_problems
from hwsim.core.workload import Layer, conv2d, gemm
from hwsim.mapper import MapperOptions, _spatial_array, constraint_array, enumerate_mapspace, fastmodel, map_layer, spatial_candidates
from tests.timeloop_data import DATA

BASE: dict[str, Any] = {
    "name": "small",
    "levels": [
        {"name": "DRAM", "kind": "dram", "bandwidth_bytes_per_s": 4e9},
        {"name": "GLB", "kind": "sram", "size_bytes": 128, "word_bits": 16},
        {"name": "RF", "kind": "regfile", "size_bytes": 32, "word_bits": 8},
    ],
    "pe_array": {"axes": [{"name": "x", "size": 4, "below": "GLB", "dims": ["K", "C"]}]},
}  # fmt: skip
LAYER = gemm("g", M=4, N=4, K=2)  # P=4, K=4, C=2
DIMS3 = ("P", "K", "C")


def _free(arch: Architecture) -> Architecture:
    """The architecture without mapping constraints (its mapspace is the unconstrained one)."""
    levels = tuple(replace(lv, fixed_factors=(), min_factors=(), max_factors=(), whole_dims=(), inner_order=(), loop_order=None) for lv in arch.levels)
    axes = tuple(replace(a, fixed_factors=(), min_factors=(), max_factors=(), whole_dims=()) for a in arch.axes)
    return replace(arch, levels=levels, axes=axes)


@st.composite
def constrained_specs(draw: st.DrawFn) -> dict[str, Any]:
    """BASE with random bounds, whole dimensions and inner orders at GLB and RF, and bounds on the axis."""
    spec = {**BASE, "levels": [dict(lv) for lv in BASE["levels"]], "pe_array": {"axes": [dict(BASE["pe_array"]["axes"][0])]}}
    for lv in spec["levels"][1:]:
        dims = list(draw(st.permutations(DIMS3)))
        if draw(st.booleans()):
            lv["min_factors"] = {dims[0]: draw(st.sampled_from([2, 3]))}
        if draw(st.booleans()):
            lv["max_factors"] = {dims[1]: draw(st.sampled_from([1, 2]))}
        if draw(st.integers(0, 3)) == 0:
            lv["whole_dims"] = [dims[2]]
        if draw(st.booleans()):
            lv["inner_order"] = draw(st.lists(st.sampled_from(DIMS3), min_size=1, max_size=3, unique=True))
    axis = spec["pe_array"]["axes"][0]
    if draw(st.booleans()):
        axis["max_factors"] = {draw(st.sampled_from(["K", "C"])): draw(st.sampled_from([1, 2]))}
    if draw(st.booleans()):
        axis["min_factors"] = {draw(st.sampled_from(["K", "C"])): 2}
    return spec


def _brute_force(layer: Layer, arch: Architecture, objective: str) -> float:
    """The best figure over the unconstrained mapspace with every loop order, keeping the mappings that fit and meet
    ``arch``'s constraints (constraint_problems, one decoded mapping at a time)."""
    free = _free(arch)
    packed = fastmodel.Packed.build(layer, free)
    best = np.inf
    for factors, orders, bypass in enumerate_mapspace(layer, free, MapperOptions(), _prune_orders=False):
        out = fastmodel.evaluate_batch(packed, factors, orders, bypass)
        ok = (out[:, 2] == 1.0) & fastmodel.padding_ok(factors, packed.bounds)
        col = 0 if objective == "energy" else 1
        for i in np.flatnonzero(ok)[np.argsort(out[ok, col], kind="stable")]:
            if out[i, col] >= best:
                break
            if not constraint_problems(arch, fastmodel.decode(factors[i], orders[i], arch, int(bypass[i]))):
                best = out[i, col]
                break
    return float(best)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=constrained_specs(), objective=st.sampled_from(["energy", "delay"]))
def test_exhaustive_under_constraints_equals_brute_force_filtering(spec: dict[str, Any], objective: str) -> None:
    try:
        arch = architecture_from_dict(spec)
    except SpecError:
        assume(False)
        raise
    best = _brute_force(LAYER, arch, objective)
    if best == np.inf:
        with pytest.raises(SpecError):
            map_layer(LAYER, arch, MapperOptions(objective=objective, exhaustive=True))
        return
    found = map_layer(LAYER, arch, MapperOptions(objective=objective, exhaustive=True))
    assert (found.energy_pj if objective == "energy" else found.cycles) == pytest.approx(best, rel=1e-12)
    assert check_mapping(LAYER, arch, found.mapping) == []
    sampled = map_layer(LAYER, arch, MapperOptions(objective=objective, samples=3000, refine=1000))  # it does not starve
    assert check_mapping(LAYER, arch, sampled.mapping) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=constrained_specs(), seed=st.integers(0, 2**16))
def test_every_sampled_and_refined_mapping_meets_the_constraints(spec: dict[str, Any], seed: int) -> None:
    """The sampler's mappings (random_mappings) and the search's result (sampling then local moves) meet the rule."""
    try:
        arch = architecture_from_dict(spec)
    except SpecError:
        assume(False)
        raise
    layer = conv2d("c", in_channels=4, out_channels=8, in_hw=6, kernel=3)
    try:
        r = map_layer(layer, arch, MapperOptions(samples=2000, refine=2000, seed=seed))
    except SpecError:
        return  # no valid mapping found: nothing returned
    assert check_mapping(layer, arch, r.mapping) == []
    packed = fastmodel.Packed.build(layer, arch)
    spatial = _spatial_array(spatial_candidates(layer, arch, 8))
    factors, orders, bypass = fastmodel.random_mappings(packed, spatial, 200, seed=seed, fixed=constraint_array(arch, MapperOptions(), layer))
    for i in range(len(factors)):
        assert constraint_problems(arch, fastmodel.decode(factors[i], orders[i], arch, int(bypass[i]))) == []


def test_each_rule_and_its_message() -> None:
    spec = {**BASE, "levels": [BASE["levels"][0], {**BASE["levels"][1], "min_factors": {"P": 2}, "max_factors": {"K": 2},
                                                   "inner_order": ["K", "C"]}, {**BASE["levels"][2], "whole_dims": ["C"]}],
            "pe_array": {"axes": [{**BASE["pe_array"]["axes"][0], "factors": {"K": 2}}]}}  # fmt: skip
    arch = architecture_from_dict(spec)
    good = Mapping.build([[("P", 2)], [("P", 2), ("K", 2)], [("C", 2)]], [[("K", 2)]])
    assert check_mapping(LAYER, arch, good) == []
    bad = Mapping.build([[("P", 4)], [("C", 2), ("K", 4)], []], [[("C", 1)]])
    got = {p.path: p.expected for p in constraint_problems(arch, bad)}
    assert set(got) == {"temporal[GLB].order", "temporal[GLB].P", "temporal[GLB].K", "temporal[RF].C", "spatial[x].K"}
    assert "at least 2" in got["temporal[GLB].P"] and "at most 2" in got["temporal[GLB].K"]
    assert "whole" in got["temporal[RF].C"] and "pinned to 2" in got["spatial[x].K"]
    # the mapper follows all of them at once, both searches
    for exhaustive in (False, True):
        r = map_layer(LAYER, arch, MapperOptions(exhaustive=exhaustive))
        assert constraint_problems(arch, r.mapping) == [], r.mapping


def test_inconsistent_constraints_are_refused_naming_the_field() -> None:
    glb = BASE["levels"][1]
    cases = [
        ({**glb, "min_factors": {"K": 4}, "max_factors": {"K": 2}}, "levels[1].min_factors.K"),
        ({**glb, "factors": {"K": 2}, "max_factors": {"K": 2}}, "levels[1].max_factors.K"),
        ({**glb, "whole_dims": ["K"], "factors": {"K": 2}}, "levels[1].whole_dims"),
        ({**glb, "order": ["K", "C"], "inner_order": ["C"]}, "levels[1].inner_order"),
        ({**glb, "inner_order": ["C", "C"]}, "levels[1].inner_order"),
        ({**glb, "temporal_dims": ["K"], "whole_dims": ["C"]}, "levels[1].whole_dims"),
        ({**glb, "max_factors": {"K": 0}}, "levels[1].max_factors.K"),
    ]
    for level, path in cases:
        with pytest.raises(SpecError) as e:
            architecture_from_dict({**BASE, "levels": [BASE["levels"][0], level, BASE["levels"][2]]})
        assert path in [p.path for p in e.value.problems], (path, e.value.problems)
    axis = BASE["pe_array"]["axes"][0]
    for extra, path in (({"factors": {"K": 8}}, "pe_array.axes[0].factors"), ({"whole_dims": ["P"]}, "pe_array.axes[0].whole_dims")):
        with pytest.raises(SpecError) as e:
            architecture_from_dict({**BASE, "pe_array": {"axes": [{**axis, **extra}]}})
        assert path in [p.path for p in e.value.problems], (path, e.value.problems)


def test_presets_compile_to_no_constraint() -> None:
    """hwsim's presets have no such constraints: their search's constraint array is the empty one."""
    from hwsim.frontend.presets import arch_names, load_arch

    for name in arch_names():
        arch = load_arch(name)
        assert (constraint_array(arch, MapperOptions(), LAYER) == fastmodel.no_constraints(len(arch.levels))).all(), name


def test_a_given_mapping_breaking_a_constraint_exits_2(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Exercise 05 pins the GlobalBuffer's loops (K=16, P=16): its reference mapping runs; the same mapping with K
    split 8 × 2 between the GlobalBuffer and main memory is refused, naming the level, the dimension and the pin."""
    from hwsim.cli import main

    ex05 = "tutorial_exercises/01_accelergy_timeloop_2020_ispass/timeloop/05-mapper-conv1d+oc-3level/ref-output/freebypass"
    spec = str(DATA / ex05 / "parsed-processed-input.yaml")
    mapping = (DATA / ex05 / "timeloop-mapper.map.yaml").read_text()
    args = ["run", "--arch", spec, "--workload", spec, "--format", "json", "--mappings"]
    assert main([*args, str(DATA / ex05 / "timeloop-mapper.map.yaml")]) == 0
    capsys.readouterr()
    broken = mapping.replace("factors: K16 R1 P16", "factors: K8 R1 P16").replace("factors: K1 R1 P1", "factors: K2 R1 P1")
    assert broken != mapping
    (tmp_path / "m.map.yaml").write_text(broken)
    assert main([*args, str(tmp_path / "m.map.yaml")]) == 2
    err = capsys.readouterr().err
    assert "temporal[GlobalBuffer].K" in err and "pinned to 16" in err and "Traceback" not in err
