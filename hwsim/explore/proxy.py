"""Accuracy *proxies* for co-search: cheap, monotone stand-ins for accuracy, never accuracy itself.

An estimator takes the original network and a variant (narrower layers, fewer bits) and
returns figures where lower is better, with ``proxy`` the one a search uses. Built in:

* **quantization noise**: per layer, the relative noise power ``‖x − Q(x)‖² / ‖x‖²`` of a
  symmetric uniform quantizer (per tensor, max-abs scale: :func:`hwsim.explore.compression.quantize`) at the layer's weight and activation
  widths, i.e. ``10^(−SQNR/10)``. With real weights (an ``.npz`` of arrays by layer name) the
  weights' figure is measured; otherwise it is the analytic value for Gaussian data whose
  peak is ``√(2 ln n)`` standard deviations (n elements): ``peak² / (3 · (2^(b−1) − 1)²)``.
  Activations always use the analytic value (no data).
* **pruning**: per layer, the share of the weights' squared norm removed by narrowing it:
  with real weights, the smallest-norm output and input channels are removed; without them,
  every weight is assumed equal, so the share is the fraction of weights removed. Weight
  sparsity (a density, i.e. magnitude pruning, or N:M) removes the smallest weights: measured on
  real weights with :mod:`hwsim.explore.compression`'s masks (N:M groups run along the input channels), or for Gaussian weights
  ``P(|z|<t) − 2tφ(t)`` with ``t`` the magnitude below which ``1 − density`` of them lie, and for
  N:M the expected squared norm of the ``M − N`` smallest of ``M`` (order statistics, integrated
  numerically). Width and magnitude pruning combine as ``1 − (1 − a)(1 − b)``.
* a user **sensitivity table** (layer name → weight, default 1 for every layer) multiplies
  each layer's figures; ``proxy`` is their weighted mean over the layers.

"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hwsim.core.errors import Problem, SpecError
from hwsim.core.formats import nm_of
from hwsim.core.spec import read_yaml
from hwsim.core.workload import Layer, Network
from hwsim.explore.compression import levels, magnitude_mask, nm_mask, quantize

__all__ = ["AccuracyProxy", "QuantPruneProxy", "gaussian_magnitude_share", "gaussian_nm_share", "load_sensitivity"]


class AccuracyProxy(Protocol):
    """A pluggable estimator: figures (lower is better) of ``variant`` against ``base``, incl. ``proxy``."""

    def estimate(self, base: Network, variant: Network) -> dict[str, float]: ...


def _analytic_noise(bits: int, n: int) -> float:
    peak = math.sqrt(2 * math.log(max(n, 2)))
    return peak**2 / (3 * levels(bits) ** 2)


def _measured_noise(w: np.ndarray, bits: int) -> float:
    w = np.asarray(w, dtype=np.float64)
    power = float((w**2).sum())
    if power == 0:
        return 0.0
    return float(((w - quantize(w, bits)) ** 2).sum()) / power


def _measured_pruned(w: np.ndarray, k_keep: int, c_keep: int) -> float:
    """Squared-norm share removed keeping the ``k_keep`` output and ``c_keep`` input channels of largest norm."""
    w2 = w.reshape(w.shape[0], w.shape[1], -1).astype(np.float64) ** 2 if w.ndim >= 2 else w.reshape(-1, 1, 1) ** 2
    total = float(w2.sum())
    if total == 0:
        return 0.0
    keep_k = np.argsort(-w2.sum(axis=(1, 2)))[: max(k_keep, 0)]
    kept = w2[keep_k]
    keep_c = np.argsort(-kept.sum(axis=(0, 2)))[: max(c_keep, 0)]
    return 1.0 - float(kept[:, keep_c].sum()) / total


def gaussian_magnitude_share(density: float) -> float:
    """Share of a Gaussian tensor's squared norm in its ``1 − density`` smallest-magnitude elements."""
    from statistics import NormalDist

    if density >= 1.0:
        return 0.0
    z = NormalDist()
    t = z.inv_cdf(1.0 - density / 2.0)
    return (1.0 - density) - 2.0 * t * z.pdf(t)


def gaussian_nm_share(n: int, m: int) -> float:
    """Expected share of the squared norm removed by keeping the ``n`` largest-magnitude of every ``m`` Gaussian weights."""
    if n >= m:
        return 0.0
    from math import comb

    x = np.linspace(0.0, 8.0, 16_001)
    pdf = np.sqrt(2.0 / np.pi) * np.exp(-(x**2) / 2.0)  # |z|: half-normal
    cdf = np.clip(np.cumsum(pdf) * (x[1] - x[0]) - pdf * (x[1] - x[0]) / 2, 0.0, 1.0)
    removed = 0.0
    for j in range(1, m - n + 1):  # the j-th smallest of m: density m!/((j−1)!(m−j)!) F^(j−1) (1−F)^(m−j) f
        dens = j * comb(m, j) * cdf ** (j - 1) * (1.0 - cdf) ** (m - j) * pdf
        removed += float(np.trapezoid(x**2 * dens, x))
    return removed / m


def _measured_magnitude(w: np.ndarray, density: float, nm: tuple[int, int] | None) -> float:
    w2 = np.asarray(w, np.float64) ** 2
    total = float(w2.sum())
    if total == 0:
        return 0.0
    if nm is not None and (w2.ndim < 2 or w2.shape[1] % nm[1]):
        return gaussian_nm_share(*nm)
    mask = nm_mask(w2, *nm) if nm is not None else magnitude_mask(w2, density)
    return float(w2[~mask].sum()) / total


@dataclass
class QuantPruneProxy:
    """Quantization noise plus pruned norm per layer, weighted by ``sensitivity``; see the module docstring."""

    weights: Mapping[str, np.ndarray] = field(default_factory=dict)
    sensitivity: Mapping[str, float] = field(default_factory=dict)

    def layer_figures(self, base: Layer, variant: Layer) -> dict[str, float]:
        wop, aop = variant.operand("weights"), variant.operand("inputs")
        bd, vd = base.dims, variant.dims
        k_old, c_old, k_new, c_new = bd["K"] * bd["G"], bd["C"], vd["K"] * vd["G"], vd["C"]
        w = self.weights.get(base.name)
        w = np.asarray(w) if w is not None and w.ndim >= 2 and w.shape[0] == k_old else None  # measured when it fits
        if w is not None:
            q_w = _measured_noise(w, wop.bits)
            pruned = _measured_pruned(w, min(k_new, k_old), min(c_new, w.shape[1]))
        else:
            q_w = _analytic_noise(wop.bits, wop.size(vd))
            pruned = max(0.0, 1.0 - min(k_new, k_old) * min(c_new, c_old) / (k_old * c_old))
        if wop.density < 1.0 and variant.kind != "matmul":  # magnitude or N:M pruning of the weights
            nm = nm_of(wop)
            if w is not None:
                magnitude = _measured_magnitude(w, wop.density, nm)
            else:
                magnitude = gaussian_nm_share(*nm) if nm is not None else gaussian_magnitude_share(wop.density)
            pruned = 1.0 - (1.0 - pruned) * (1.0 - magnitude)
        return {"quant_weights": q_w, "quant_activations": _analytic_noise(aop.bits, aop.size(vd)), "pruned_norm": pruned}

    def estimate(self, base: Network, variant: Network) -> dict[str, float]:
        by_name = {layer.name: layer for layer in base.layers()}
        sums = {"quant_weights": 0.0, "quant_activations": 0.0, "pruned_norm": 0.0}
        total_w = 0.0
        for v in variant.layers():
            b = by_name.get(v.name)
            if b is None:
                continue
            s = float(self.sensitivity.get(v.name, 1.0))
            for k, x in self.layer_figures(b, v).items():
                sums[k] += s * x
            total_w += s
        out = {f"proxy_{k}": x / total_w if total_w else 0.0 for k, x in sums.items()}
        out["proxy"] = sum(out.values())
        return out


def load_sensitivity(path: str) -> dict[str, float]:
    """A sensitivity table: YAML ``{layer: weight}`` or CSV with columns ``layer,sensitivity``."""
    if path.lower().endswith(".csv"):
        import pandas as pd

        frame = pd.read_csv(path)
        if not {"layer", "sensitivity"} <= set(frame.columns):
            raise SpecError(path, [Problem("columns", list(frame.columns), "expected columns layer,sensitivity")])
        return {str(r["layer"]): float(r["sensitivity"]) for _, r in frame.iterrows()}
    data: Any = read_yaml(path)
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in data.values()):
        raise SpecError(path, [Problem("", data, "expected a mapping of layer name to a non-negative sensitivity")])
    return {str(k): float(v) for k, v in data.items()}
