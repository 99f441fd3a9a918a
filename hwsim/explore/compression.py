"""The quantization and pruning rules a co-search variant stands for, in numpy: written once, used by the accuracy
proxy (:mod:`hwsim.explore.proxy`, which measures what they remove from real weights) and by the PyTorch model a
measured accuracy is taken on (:mod:`hwsim.explore.torch_compression`, whose masks come from here and whose fake
quantizer is checked equal to :func:`quantize`).

* **Quantization** (:func:`quantize`): symmetric uniform at ``b`` bits, ``q = clip(round(x / s), −L, L) · s`` with
  ``L = 2^(b−1) − 1`` levels each side (at least 1) and ``s = max|x| / L`` over the whole tensor (``axis=None``) or
  per slice along ``axis`` (per output channel: ``axis=0`` of a PyTorch conv or linear weight). Rounding is half to
  even (numpy's and torch's). Each element's error is at most ``s / 2``; the slice's largest magnitude is exact.
  An *unsigned* quantizer (:func:`quantize_unsigned`, for non-negative activations such as a ReLU's output) has
  ``2^b − 1`` levels on ``[0, max x]``.
* **Magnitude pruning** (:func:`magnitude_mask`): of a tensor's ``n`` elements, the ``round((1 − d) · n)``
  smallest in magnitude are removed (ties: the earlier in C order first), at density ``d`` in (0, 1].
* **N:M pruning** (:func:`nm_mask`): of every ``M`` consecutive weights along the input channels (``axis=1`` of a
  PyTorch conv or linear weight, the reduction a sparse tensor core groups), the ``N`` largest in magnitude are kept
  (ties: the earlier kept): density exactly ``N/M``. The input channels must be a multiple of ``M``.

:func:`plan_of` reads a variant network's choices per layer (:class:`LayerPlan`: weight and input bits, weight
sparsity), what :func:`hwsim.explore.torch_compression.compress` applies to a PyTorch model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from hwsim.core.formats import nm_of
from hwsim.core.workload import Network

__all__ = ["LayerPlan", "levels", "magnitude_mask", "nm_mask", "parse_sparsity", "plan_of", "quant_scale", "quantize", "quantize_unsigned", "sparsity_mask"]


def levels(bits: int) -> int:
    """Levels each side of zero of a symmetric ``bits``-bit quantizer: ``2^(bits−1) − 1``, at least 1."""
    return max(2 ** (bits - 1) - 1, 1)


def quant_scale(x: np.ndarray, bits: int, axis: int | None = None) -> np.ndarray:
    """The symmetric quantizer's step ``max|x| / levels(bits)``: a scalar array for ``axis=None``, else one per slice
    along ``axis`` (shaped to broadcast against ``x``). An all-zero slice gets step 1 (its values stay zero)."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    if axis is None:
        peak = a.max(initial=0.0)
    else:
        axis = axis % a.ndim
        peak = a.max(axis=tuple(i for i in range(a.ndim) if i != axis), keepdims=True, initial=0.0)
    return np.where(peak > 0, peak / levels(bits), 1.0)


def quantize(x: np.ndarray, bits: int, axis: int | None = None) -> np.ndarray:
    """``x`` quantized symmetrically at ``bits`` bits (per tensor, or per slice along ``axis``), in float64."""
    x = np.asarray(x, dtype=np.float64)
    s = quant_scale(x, bits, axis)
    lv = levels(bits)
    return np.clip(np.round(x / s), -lv, lv) * s


def quantize_unsigned(x: np.ndarray, bits: int, peak: float | None = None) -> np.ndarray:
    """Non-negative ``x`` quantized on ``2^bits − 1`` levels over ``[0, peak]`` (default: ``max x``), in float64."""
    x = np.asarray(x, dtype=np.float64)
    top = float(x.max(initial=0.0)) if peak is None else float(peak)
    lv = 2**bits - 1
    s = top / lv if top > 0 else 1.0
    return np.clip(np.round(x / s), 0, lv) * s


def parse_sparsity(value: float | str) -> float | tuple[int, int]:
    """A sparsity choice as a density in (0, 1] or an ``(N, M)`` pair; ``ValueError`` naming what is expected."""
    if isinstance(value, str):
        if value == "dense":
            return 1.0
        n, colon, m = value.partition(":")
        if colon and n.isdigit() and m.isdigit() and 0 < int(n) <= int(m):
            return int(n), int(m)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1:
        return float(value)
    raise ValueError(f"expected a density in (0, 1] or N:M such as 2:4, not {value!r}")


def magnitude_mask(w: np.ndarray, density: float) -> np.ndarray:
    """A boolean mask of ``w``'s shape keeping all but its ``round((1 − density) · n)`` smallest-magnitude elements."""
    a = np.abs(np.asarray(w, dtype=np.float64)).reshape(-1)
    removed = round((1.0 - density) * a.size)
    keep = np.ones(a.size, dtype=bool)
    keep[np.argsort(a, kind="stable")[:removed]] = False
    return keep.reshape(np.shape(w))


def nm_mask(w: np.ndarray, n: int, m: int, axis: int = 1) -> np.ndarray:
    """A boolean mask keeping the ``n`` largest-magnitude of every ``m`` consecutive elements along ``axis``;
    ``ValueError`` when that axis is not a multiple of ``m``."""
    a = np.abs(np.asarray(w, dtype=np.float64))
    if a.ndim < 2 or a.shape[axis] % m:
        raise ValueError(f"expected input channels (axis {axis} of shape {list(a.shape)}) a multiple of {m} for {n}:{m} pruning")
    moved = np.moveaxis(a, axis, -1)
    groups = moved.reshape(-1, m)
    # descending magnitude, ties to the earlier element: sort the negated values stably
    order = np.argsort(-groups, axis=1, kind="stable")
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :n], True, axis=1)
    return np.moveaxis(keep.reshape(moved.shape), -1, axis)


def sparsity_mask(w: np.ndarray, sparsity: float | str) -> np.ndarray:
    """The mask of a sparsity choice: all True when dense, :func:`magnitude_mask` for a density, :func:`nm_mask`
    (along ``axis=1``) for ``N:M``."""
    choice = parse_sparsity(sparsity)
    if isinstance(choice, tuple):
        return nm_mask(w, *choice)
    return magnitude_mask(w, choice) if choice < 1.0 else np.ones(np.shape(w), dtype=bool)


@dataclass(frozen=True)
class LayerPlan:
    """What one layer computes with: weight and input bits (None: float, left alone) and its weights' sparsity
    (a density in (0, 1], 1.0 dense, or ``"N:M"``)."""

    weight_bits: int | None = None
    input_bits: int | None = None
    sparsity: float | str = 1.0


def plan_of(network: Network, only: Iterable[str] | None = None) -> dict[str, LayerPlan]:
    """Each MAC layer's bits and weight sparsity in an hwsim network (a co-search variant), by layer name; with
    ``only``, just the layers of those names (a model's MAC modules: a network imported from it has every one)."""
    names = set(only) if only is not None else None
    out: dict[str, LayerPlan] = {}
    for layer in network.layers():
        if names is not None and layer.name not in names:
            continue
        w, x = layer.operand("weights"), layer.operand("inputs")
        nm = nm_of(w)
        out[layer.name] = LayerPlan(w.bits, x.bits, f"{nm[0]}:{nm[1]}" if nm is not None else float(w.density))
    return out
