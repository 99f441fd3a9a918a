"""The cycle engine with precision and sparsity: real zeros counted fold by fold, against a loop-by-loop walk,
the statistical model, 2:4 hardware and bit-scalable PEs."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from hwsim.cli import main
from hwsim.core.workload import conv2d, gemm
from hwsim.cost.analytical import evaluate_mapping
from hwsim.cost.cycle import simulate
from hwsim.frontend.presets import load_arch
from hwsim.mapper import MapperOptions, map_layer


def _walk_fold_work(layer, arch, mapping, report, weights) -> float:  # type: ignore[no-untyped-def]
    """Independent reference: every iteration of the nest in Python, non-zero weight MACs summed per (fold, PE);
    each fold lasts as long as its busiest PE."""
    nest = mapping.nest(arch)
    temporal = [k for k, lp in enumerate(nest) if not lp.spatial]
    # the fold loops are the outer temporal loops whose bounds multiply to the report's fold count
    folds, n = 1, 0
    while folds < report.folds:
        folds *= nest[temporal[n]].bound
        n += 1
    fold_loops = set(temporal[:n])
    strides = [math.prod(x.bound for x in nest[k + 1:] if x.dim == lp.dim) for k, lp in enumerate(nest)]
    w_axes = layer.operand("weights").axes
    work: dict[tuple, int] = {}
    for it in itertools.product(*(range(lp.bound) for lp in nest)):
        dims = dict.fromkeys(layer.dims, 0)
        for k, i in enumerate(it):
            dims[nest[k].dim] += i * strides[k]
        idx = tuple(sum(c * dims[d] for d, c in axis) for axis in w_axes)
        if all(i < s for i, s in zip(idx, weights.shape, strict=True)) and weights[idx] != 0:
            fold = tuple(it[k] for k in sorted(fold_loops))
            pe = tuple(it[k] for k, lp in enumerate(nest) if lp.spatial)
            work[fold, pe] = work.get((fold, pe), 0) + 1
    busiest: dict[tuple, int] = {}
    for (fold, _), w in work.items():
        busiest[fold] = max(busiest.get(fold, 0), w)
    return float(sum(busiest.values()))


@pytest.mark.parametrize("seed", [0, 1])
def test_real_zeros_counted_fold_by_fold_equal_a_loop_walk(seed: int):
    arch = load_arch("scnn")
    layer = conv2d("c", in_channels=4, out_channels=8, in_hw=6, kernel=3, padding=1)
    rng = np.random.default_rng(seed)
    weights = (rng.random((1, 8, 4, 3, 3)) < 0.4).astype(np.int8)
    mapping = map_layer(layer.with_sparsity(weights=0.4), arch, MapperOptions(samples=500, seed=seed)).mapping
    report = simulate(layer, arch, mapping, tensors={"weights": weights})
    assert report.compute_cycles == pytest.approx(_walk_fold_work(layer, arch, mapping, report, weights))
    dense = simulate(layer, arch, mapping, tensors={"weights": np.ones_like(weights)})
    assert dense.compute_cycles == report.folds * report.stream_cycles  # no zeros: every iteration
    assert report.compute_cycles < dense.compute_cycles


@pytest.mark.parametrize("in_channels, kernel", [(16, 3), (32, 1)])
def test_statistical_cycle_compute_agrees_with_real_tensors(in_channels: int, kernel: int):
    """Over densities 0.1–0.9 the cycle engine's expected compute is within 5% (mean) of counting random tensors."""
    arch = load_arch("scnn")
    rng = np.random.default_rng(in_channels + kernel)
    base = conv2d("c", in_channels=in_channels, out_channels=32, in_hw=10, kernel=kernel, padding=kernel // 2)
    mapping = map_layer(base.with_sparsity(weights=0.3), arch, MapperOptions(samples=2000)).mapping
    errors = []
    for d in (0.1, 0.3, 0.5, 0.7, 0.9):
        model = simulate(base.with_sparsity(weights=d), arch, mapping, check=False).compute_cycles
        shape = (1, 32, in_channels, kernel, kernel)
        actual = np.mean([simulate(base, arch, mapping, check=False, tensors={"weights": rng.random(shape) < d}).compute_cycles
                          for _ in range(4)])  # fmt: skip
        errors.append(abs(model / actual - 1))
    assert np.mean(errors) <= 0.05, errors


def test_2_4_weights_halve_the_cycle_engine_compute():
    arch = load_arch("sparse-tensor-core")
    layer = gemm("g", M=64, N=64, K=64)
    mapping = map_layer(layer, arch, MapperOptions(samples=2000)).mapping
    dense = simulate(layer, arch, mapping)
    w = np.zeros((1, 64, 64, 1, 1))
    w[:, :, 0::4] = w[:, :, 1::4] = 1  # two of every four input channels kept
    real = simulate(layer, arch, mapping, tensors={"weights": w})
    stat = simulate(layer.with_sparsity(weights="2:4"), arch, mapping)
    assert real.compute_cycles == stat.compute_cycles == dense.compute_cycles / 2
    unstructured = (np.random.default_rng(0).random((1, 64, 64, 1, 1)) < 0.5).astype(float)
    assert simulate(layer, arch, mapping, tensors={"weights": unstructured}).compute_cycles == dense.compute_cycles  # dense path


@pytest.mark.parametrize(("bits", "speedup"), [(8, 1), (4, 4), (2, 16)])
def test_bit_fusion_cycles_follow_the_widths(bits: int, speedup: int):
    arch = load_arch("bitfusion")
    layer = conv2d("c", in_channels=64, out_channels=64, in_hw=14, kernel=3, padding=1)
    mapping = map_layer(layer, arch, MapperOptions(samples=2000)).mapping
    narrow = layer.with_bits(weights=bits, inputs=bits)
    c8, c = simulate(layer, arch, mapping).compute_cycles, simulate(narrow, arch, mapping, check=False).compute_cycles
    assert c8 / c == pytest.approx(speedup)
    assert c == pytest.approx(evaluate_mapping(narrow, arch, mapping, check=False).compute_cycles, rel=1e-6)


def test_run_cycle_engine_with_real_weights(tmp_path, capsys):
    spec = tmp_path / "w.yaml"
    spec.write_text("name: w\nlayers:\n  - {name: conv, type: conv2d, in_channels: 8, out_channels: 16, in_hw: 8, kernel: 3, padding: 1}\n")
    rng = np.random.default_rng(3)
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    np.savez(good, conv=(rng.random((16, 8, 3, 3)) < 0.25) * rng.normal(size=(16, 8, 3, 3)))
    np.savez(bad, conv=np.ones((16, 8, 3)))
    cycles = {}
    for name, extra in (("dense", []), ("real", ["--weights", str(good)])):
        code = main(["run", "--arch", "scnn", "--workload", str(spec), "--engine", "cycle", "--samples", "500", "--format", "json", *extra])
        out = capsys.readouterr()
        assert code == 0, out.err
        cycles[name] = json.loads(out.out)["layers"][0]["compute_cycles"]
    assert cycles["real"] < cycles["dense"]  # the busiest of 64 PEs per fold: far from the 25% mean on so small a layer
    code = main(["run", "--arch", "scnn", "--workload", str(spec), "--engine", "cycle", "--weights", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "conv" in err and "(16, 8, 3)" in err and "Traceback" not in err
