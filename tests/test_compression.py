"""The quantization and pruning rules (hwsim.explore.compression) against closed forms and brute force: the
quantizer's error bound, grid and per-channel independence, its noise power on uniform data (Δ²/12), mask densities
exactly ``round``-counted and N/M, and the kept weights the largest by exhaustive comparison. The accuracy proxy's
measured figures are checked to be those masks' removed norm (one rule, two users)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwsim.explore.compression import (
    levels,
    magnitude_mask,
    nm_mask,
    parse_sparsity,
    quant_scale,
    quantize,
    quantize_unsigned,
    sparsity_mask,
)


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8])
def test_quantize_per_channel_error_bound_and_grid(bits: int) -> None:
    """|x − Q(x)| ≤ s/2 per element with s = max|x_k| / (2^(b−1) − 1) per channel; Q(x)/s is an integer in [−L, L];
    each channel's peak is exact; Q is idempotent."""
    rng = np.random.default_rng(bits)
    x = rng.normal(size=(6, 5, 3, 3)) * rng.uniform(0.01, 100, size=(6, 1, 1, 1))
    q = quantize(x, bits, axis=0)
    lv = 2 ** (bits - 1) - 1
    s = np.abs(x).reshape(6, -1).max(axis=1).reshape(6, 1, 1, 1) / lv
    assert np.all(np.abs(x - q) <= s / 2 * (1 + 1e-12))
    codes = q / s
    assert np.allclose(codes, np.round(codes), atol=1e-9) and np.abs(codes).max() <= lv + 1e-9
    peaks = np.abs(x).reshape(6, -1).max(axis=1)
    assert np.allclose(np.abs(q).reshape(6, -1).max(axis=1), peaks, rtol=1e-12)
    assert np.allclose(quantize(q, bits, axis=0), q, rtol=0, atol=1e-12 * peaks.max())
    assert len(np.unique(np.round(codes[0]))) <= 2 * lv + 1


def test_quantize_channels_are_independent() -> None:
    """Scaling one output channel by 1000 leaves the others' quantized values unchanged (per-channel scales); per
    tensor, the small channels collapse to zero."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 16))
    y = x.copy()
    y[2] *= 1000
    assert np.array_equal(np.delete(quantize(y, 4, axis=0), 2, axis=0), np.delete(quantize(x, 4, axis=0), 2, axis=0))
    assert np.all(np.delete(quantize(y, 4), 2, axis=0) == 0)


def test_quantization_noise_power_is_delta_squared_over_twelve() -> None:
    """Closed form: uniform data on [−1, 1] quantized with step Δ = 1/L has noise power Δ²/12, a relative noise of
    (Δ²/12) / (1/3) = 1 / (4L²)."""
    x = np.random.default_rng(7).uniform(-1, 1, size=2_000_000)
    for bits in (4, 6, 8):
        rel = float(((x - quantize(x, bits)) ** 2).mean() / (x**2).mean())
        assert rel == pytest.approx(1 / (4 * levels(bits) ** 2), rel=0.01)


def test_unsigned_quantizer_and_edge_cases() -> None:
    """Unsigned: 2^b − 1 levels on [0, max], error ≤ s/2; an all-zero tensor stays zero; 1 bit keeps one level each side."""
    x = np.random.default_rng(2).uniform(0, 6, size=1000)
    q = quantize_unsigned(x, 4)
    s = x.max() / 15
    assert np.all(np.abs(x - q) <= s / 2 * (1 + 1e-12)) and len(np.unique(np.round(q / s))) <= 16 and q.min() >= 0
    assert np.array_equal(quantize(np.zeros((3, 4)), 8, axis=0), np.zeros((3, 4)))
    assert levels(1) == 1 and float(quant_scale(np.array([-2.0, 1.0]), 1)) == 2.0
    assert set(quantize(np.array([-2.0, -0.4, 0.3, 1.5]), 1)) <= {-2.0, 0.0, 2.0}


@pytest.mark.parametrize("density", [0.1, 0.25, 0.5, 0.7, 1.0])
def test_magnitude_mask_count_and_order(density: float) -> None:
    """Exactly round((1 − d)·n) elements removed, and every kept magnitude ≥ every removed one."""
    w = np.random.default_rng(3).normal(size=(8, 6, 3, 3))
    mask = magnitude_mask(w, density)
    assert mask.shape == w.shape and int((~mask).sum()) == round((1 - density) * w.size)
    if 0 < (~mask).sum() < w.size:
        assert np.abs(w[mask]).min() >= np.abs(w[~mask]).max()


def test_magnitude_mask_ties_removed_in_c_order() -> None:
    w = np.array([[1.0, -1.0], [1.0, 2.0]])
    assert magnitude_mask(w, 0.5).tolist() == [[False, False], [True, True]]


@pytest.mark.parametrize(("n", "m"), [(1, 4), (2, 4), (3, 4), (2, 8), (4, 4)])
def test_nm_mask_against_brute_force(n: int, m: int) -> None:
    """Density exactly N/M, and in each group of M consecutive input channels (axis 1) the kept N are a subset of
    largest total magnitude among all C(M, N) subsets (brute force)."""
    w = np.random.default_rng(n * 10 + m).normal(size=(3, 2 * m, 2, 2))
    mask = nm_mask(w, n, m)
    assert mask.shape == w.shape and mask.mean() == n / m
    for k, r, s in itertools.product(range(3), range(2), range(2)):
        for g in range(2):
            group = np.abs(w[k, g * m : (g + 1) * m, r, s])
            kept = mask[k, g * m : (g + 1) * m, r, s]
            assert kept.sum() == n
            best = max(sum(group[list(c)]) for c in itertools.combinations(range(m), n))
            assert group[kept].sum() == pytest.approx(best)


def test_nm_mask_refuses_channels_it_cannot_group() -> None:
    with pytest.raises(ValueError, match=r"^expected input channels \(axis 1 of shape \[4, 3, 3, 3\]\) a multiple of 4 for 2:4 pruning$"):
        nm_mask(np.ones((4, 3, 3, 3)), 2, 4)


def test_sparsity_choices() -> None:
    w = np.random.default_rng(5).normal(size=(4, 8))
    assert sparsity_mask(w, 1.0).all() and sparsity_mask(w, "dense").all()
    assert np.array_equal(sparsity_mask(w, "2:4"), nm_mask(w, 2, 4)) and np.array_equal(sparsity_mask(w, 0.25), magnitude_mask(w, 0.25))
    assert parse_sparsity("1:8") == (1, 8) and parse_sparsity(0.5) == 0.5
    for bad in (0, 1.5, "4:2", "2-4", True):
        with pytest.raises(ValueError, match=r"^expected a density in"):
            parse_sparsity(bad)


def test_the_proxy_measures_what_the_masks_remove() -> None:
    """The proxy's measured pruned norm and quantization noise on real weights are those of these rules."""
    from hwsim.core.workload import conv2d
    from hwsim.explore.proxy import QuantPruneProxy

    layer = conv2d("c", in_channels=8, out_channels=16, in_hw=8, kernel=3, padding=1)
    w = np.random.default_rng(6).normal(size=(16, 8, 3, 3))
    proxy = QuantPruneProxy({"c": w})
    for pattern, mask in ((0.3, magnitude_mask(w, 0.3)), ("2:4", nm_mask(w, 2, 4))):
        got = proxy.layer_figures(layer, layer.with_sparsity(weights=pattern))["pruned_norm"]
        assert got == pytest.approx(1 - float((w[mask] ** 2).sum() / (w**2).sum()), rel=1e-12)
    noise = proxy.layer_figures(layer, layer.with_bits(weights=4))["quant_weights"]
    assert noise == pytest.approx(float(((w - quantize(w, 4)) ** 2).sum() / (w**2).sum()), rel=1e-12)
