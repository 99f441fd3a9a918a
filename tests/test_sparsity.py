"""Sparsity: formats and metadata, skipping with load imbalance, statistical vs real tensors."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from hwsim.core.arch import Architecture
from hwsim.core.errors import SpecError
from hwsim.core.mapping import Mapping, level_starts
from hwsim.core.workload import Layer, conv2d, gemm
from hwsim.cost.analytical import evaluate_mapping
from hwsim.cost.kernel import Packed, compute_cycles
from hwsim.cost.precision import cycles_per_mac
from hwsim.cost.sparsity import bits_per_element, density_of, live_iterations
from hwsim.frontend.presets import load_arch
from hwsim.mapper import _spatial_array, fastmodel, map_layer, spatial_candidates


def _dense_twin(arch):
    """The same architecture with every sparsity feature removed."""
    levels = tuple(replace(lv, formats=()) for lv in arch.levels)
    return replace(arch, levels=levels, mac=replace(arch.mac, skip=(), gate=()))


def test_2_4_gemm_halves_compute_and_pays_metadata():
    arch = load_arch("sparse-tensor-core")
    dense = gemm("g", M=512, N=512, K=512)
    sparse = dense.with_sparsity(weights="2:4")
    m = map_layer(dense, arch).mapping
    d, s = evaluate_mapping(dense, arch, m), evaluate_mapping(sparse, arch, m)
    assert d.compute_cycles / s.compute_cycles == pytest.approx(2.0)
    # 2:4 weights: 4 data bits + 1 index bit per dense-equivalent element instead of 8
    assert s.access_energy_pj[("DRAM", "weights")] / d.access_energy_pj[("DRAM", "weights")] == pytest.approx(5 / 8)
    # a dense GEMM sees neither: identical to the same design without any sparsity support
    twin = evaluate_mapping(dense, _dense_twin(arch), m)
    assert (d.compute_cycles, d.energy_pj) == (twin.compute_cycles, twin.energy_pj)


def test_formats_bits_per_element():
    op = gemm("g", M=4, N=4, K=4).with_sparsity(weights=0.25).operand("weights")
    assert bits_per_element(op, "uncompressed", 8) == 8
    assert bits_per_element(op, "bitmask", 8) == 0.25 * 8 + 1
    assert bits_per_element(op, "rle", 8) == 0.25 * (8 + 4)
    assert bits_per_element(op, "coo", 8) == 0.25 * (8 + 16)
    nm = gemm("g", M=4, N=4, K=4).with_sparsity(weights="1:4").operand("weights")
    assert bits_per_element(nm, "nm", 8) == 0.25 * 8 + 0.25 * 2


def test_load_imbalance_is_the_exact_expected_max_binomial():
    # n iterations per unit at density p over `count` units, one cycle per MAC: the busiest unit's expected work
    for n, p, count in [(3, 0.3, 2), (4, 0.5, 3), (5, 0.2, 4)]:
        exact = 0.0
        outcomes = list(itertools.product(range(2), repeat=n))
        probs = [p ** sum(o) * (1 - p) ** (n - sum(o)) for o in outcomes]
        for pick in itertools.product(range(len(outcomes)), repeat=count):
            exact += math.prod(probs[i] for i in pick) * max(sum(outcomes[i]) for i in pick)
        assert compute_cycles(n, 1.0, p, n, count, False) == pytest.approx(exact, rel=1e-9)


def actual_compute_cycles(layer: Layer, arch: Architecture, mapping: Mapping, tensors: dict[str, np.ndarray]) -> float:
    """Compute cycles counted on real tensors (the zeros the MAC unit skips are not done): the reference the cost
    model's figure (:func:`hwsim.cost.kernel.compute_cycles`, from statistics) is tested against.

    Walks every iteration of the mapping: between two synchronizations (an iteration of the
    loops above the innermost level) every active MAC unit does the non-skipped MACs of its
    inner loops, and the step takes as long as the busiest unit (N:M hardware instead compacts
    every group to its kept values, so only the total counts). ``tensors`` maps operand
    names to arrays shaped like the operand's tensor axes (weights G·K·C·R·S, inputs N·G·C·H·W
    with the padding halo included); operands not given count as dense. For small layers.
    """
    nest = mapping.nest(arch)
    bounds = [lp.bound for lp in nest]
    live, _, structured = live_iterations(layer, arch, mapping, tensors)
    if structured:
        # N:M hardware compacts each group of M to its N kept values: perfectly balanced work
        return float(math.ceil(mapping.temporal_iterations * float(live.mean()) * cycles_per_mac(layer, arch.mac) - 1e-9))
    inner_start = level_starts(nest, len(arch.levels))[len(arch.levels) - 1]
    spatial = [k for k in range(len(bounds)) if nest[k].spatial]
    work = live
    # sum the inner temporal loops, take the max over the spatial ones, sum the outer temporal ones
    inner_t = tuple(k for k in range(inner_start, len(nest)) if not nest[k].spatial)
    per_unit = work.sum(axis=inner_t) if inner_t else work
    kept = [k for k in range(len(nest)) if k not in inner_t]
    sp_axes = tuple(kept.index(k) for k in spatial)
    per_step = per_unit.max(axis=sp_axes) if sp_axes else per_unit
    return float(math.ceil(float(np.sum(per_step)) * cycles_per_mac(layer, arch.mac) - 1e-9))


@pytest.mark.parametrize("in_channels, kernel", [(16, 3), (32, 1), (8, 3)])
def test_statistical_cycles_agree_with_real_tensors(in_channels, kernel):
    """Over densities 0.1–0.9, the model's cycles are within 5% (mean) of counting real random tensors."""
    arch = load_arch("scnn")
    rng = np.random.default_rng(in_channels * 10 + kernel)
    base = conv2d("c", in_channels=in_channels, out_channels=32, in_hw=10, kernel=kernel, padding=kernel // 2)
    mapping = map_layer(base.with_sparsity(weights=0.3), arch).mapping
    errors = []
    for d in (0.1, 0.3, 0.5, 0.7, 0.9):
        model = evaluate_mapping(base.with_sparsity(weights=d), arch, mapping, check=False).compute_cycles
        shape = (1, 32, in_channels, kernel, kernel)
        actual = np.mean([actual_compute_cycles(base, arch, mapping, {"weights": rng.random(shape) < d}) for _ in range(4)])
        errors.append(abs(model / actual - 1))
    assert np.mean(errors) <= 0.05, errors


def test_real_tensors_give_density_and_structure():
    w = np.array([[1, 0, 2, 0], [0, 3, 4, 0]])
    assert density_of(w) == (0.5, "2:4")
    rng = np.random.default_rng(1)
    d, structure = density_of(rng.random((64, 64)) < 0.3)
    assert structure == "uniform" and d == pytest.approx(0.3, abs=0.02)
    layer = gemm("g", M=8, N=4, K=16).with_sparsity(weights="2:4")
    arch = load_arch("sparse-tensor-core")
    m = map_layer(layer, arch).mapping
    # 2:4 weights in real data: the actual count equals the statistical (structured: exact) one
    weights = np.zeros((1, 4, 16, 1, 1))
    weights[:, :, ::2] = 1
    assert actual_compute_cycles(layer, arch, m, {"weights": weights}) == evaluate_mapping(layer, arch, m).compute_cycles


def test_compiled_model_equals_reference_with_sparsity():
    for name, layer in [("scnn", conv2d("c", in_channels=16, out_channels=32, in_hw=12, kernel=3, padding=1).with_sparsity(weights=0.4, inputs=0.6)),
                        ("sparse-tensor-core", gemm("g", M=64, N=64, K=64).with_sparsity(weights="2:4"))]:  # fmt: skip
        arch = load_arch(name)
        problem = Packed.build(layer, arch)
        factors, orders, _ = fastmodel.random_mappings(problem, _spatial_array(spatial_candidates(layer, arch, 8)), 30, seed=2)
        out = fastmodel.evaluate_batch(problem, factors, orders)
        for f, o, row in zip(factors, orders, out, strict=True):
            ref = evaluate_mapping(layer, arch, fastmodel.decode(f, o, arch), check=False)
            assert row[0] == pytest.approx(ref.energy_pj, rel=1e-9) and row[1] == pytest.approx(ref.cycles, rel=1e-9)


def test_bad_sparsity_inputs():
    with pytest.raises(SpecError, match=r"sparsity.weights: expected a density in \(0, 1\] or an N:M pattern, not 1.5"):
        gemm("g", M=4, N=4, K=4).with_sparsity(weights=1.5)
    arch = load_arch("sparse-tensor-core")
    uniform = gemm("g", M=64, N=64, K=64).with_sparsity(weights=0.3)
    with pytest.raises(SpecError, match=r"DRAM.formats.weights: expected an N:M-structured operand for the nm format"):
        map_layer(uniform, arch)


def test_weights_from_npz_set_measured_sparsity(tmp_path, capsys):
    from hwsim.cli import main
    from hwsim.frontend.presets import load_workload

    rng = np.random.default_rng(3)
    net = load_workload("resnet18")
    arrays = {}
    for layer in net.layers()[:3]:
        shape = tuple(layer.bound(d) for d in "GKCRS")
        arrays[layer.name] = (rng.random(shape) < 0.4).astype(np.int8)
    path = tmp_path / "w.npz"
    np.savez(path, **arrays)
    sparse = net.with_tensors(dict(np.load(path)))
    for layer in sparse.layers()[:3]:
        op = layer.operand("weights")
        assert op.structure == "uniform" and op.density == pytest.approx(0.4, abs=0.03)
    assert sparse.layers()[3].operand("weights").density == 1.0
    assert main(["run", "--arch", "scnn", "--workload", "resnet18", "--weights", str(path), "--format", "json"]) == 0
    assert main(["run", "--workload", "resnet18", "--weights", str(tmp_path / "missing.npz")]) == 2
    assert "expected an .npz of arrays by layer name" in capsys.readouterr().err
