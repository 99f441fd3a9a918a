"""Sparsity: skipping and gating zeros, and the formats each level stores operands in.

What an operand says (``density`` and ``structure``) and the bits per element of each compressed format are
:mod:`hwsim.core.formats`'s (re-exported here). Channel pruning is not a sparsity pattern here: it shrinks the layer
(fewer channels).

Storage capacity, traffic and access energy use those bits (metadata included). What the
MAC unit does (``mac.skip``: operands whose zeros it skips, saving cycles and energy;
``mac.gate``: operands whose zeros it gates, saving energy only; ``mac.skip_structure``:
``n:m`` when skipping works only on N:M-structured operands, as in a sparse tensor core,
``any`` for unstructured skipping as in SCNN):

* compute cycles scale by the product ``s`` of the skipped operands' densities, lengthened by the load imbalance
  across the PEs (the busiest of ``P`` PEs' Binomial(n, s) work; N:M balanced): :func:`hwsim.cost.kernel.compute_cycles`.
* MAC energy scales by the densities of skipped and gated operands, and the MACs' accesses to
  their innermost levels by the skipped densities (a skipped MAC reads nothing).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

# FORMATS, bits_per_element, density_of (hwsim.core.formats) and element_bits (hwsim.core.arch) are named here too, for the cost engines
from hwsim.core.arch import Architecture, Level, MacUnit, element_bits
from hwsim.core.errors import Problem, SpecError
from hwsim.core.formats import FORMATS, bits_per_element, density_of, nm_of
from hwsim.core.workload import Layer, Operand

if TYPE_CHECKING:
    from hwsim.core.mapping import Loop, Mapping

__all__ = [
    "FORMATS",
    "MAX_WALK",
    "bits_per_element",
    "check_sparsity",
    "density_of",
    "element_bits",
    "gate_fraction",
    "live_iterations",
    "performed_macs",
    "skip_dims",
    "skip_fraction",
    "weights_tensor",
]  # fmt: skip


def check_sparsity(layer: Layer, levels: tuple[Level, ...], source: str) -> None:
    """Errors for formats a level cannot use on this layer's operands (every problem at once)."""
    problems = []
    for lv in levels:
        for name, fmt in lv.formats:
            op = layer.operand(name)
            if fmt == "nm" and nm_of(op) is None and op.density < 1.0:
                problems.append(Problem(f"{lv.name}.formats.{name}", fmt,
                                        f"expected an N:M-structured operand for the nm format ({layer.name} {name} is {op.structure})"))  # fmt: skip
    if problems:
        raise SpecError(source, problems)


def _skippable(op: Operand, mac: MacUnit) -> bool:
    if op.density >= 1.0 or op.name not in mac.skip:
        return False
    return mac.skip_structure == "any" or nm_of(op) is not None


def skip_fraction(layer: Layer, mac: MacUnit) -> float:
    """Fraction of MACs the unit actually performs (product of skipped operands' densities)."""
    return math.prod((op.density for op in layer.operands if _skippable(op, mac)), start=1.0)


def gate_fraction(layer: Layer, mac: MacUnit) -> float:
    """Fraction of MAC energy spent: skipped and gated zero operands cost nothing."""
    gated = (op.density for op in layer.operands if op.name in mac.gate and op.name not in mac.skip and op.density < 1.0)
    return math.prod(gated, start=skip_fraction(layer, mac))


def unstructured_skip(layer: Layer, mac: MacUnit) -> bool:
    return any(_skippable(op, mac) and nm_of(op) is None for op in layer.operands)


def skip_dims(layer: Layer, mac: MacUnit) -> frozenset[str]:
    """Dimensions some skipped operand depends on: only they make one unit's work differ from another's."""
    return frozenset(d for op in layer.operands if _skippable(op, mac) for d in op.relevant_dims)


MAX_WALK = 8_000_000  # iterations a real-data count walks (layers beyond this use the statistical model)


def weights_tensor(layer: Layer, array: np.ndarray) -> np.ndarray:
    """A layer's weights in the operand's axes (G, K, C, R, S) from PyTorch's layout (K·G, C, R, S), (out, in) for fc/gemm,
    or already (G, K, C, R, S); a :class:`ValueError` when the sizes do not match."""
    d = layer.dims
    shape = (d["G"], d["K"], d["C"], d["R"], d["S"])
    a = np.asarray(array)
    if a.size != math.prod(shape):
        raise ValueError(f"weights of {layer.name!r}: {a.shape} has {a.size} elements, the layer's weights {math.prod(shape)} {shape}")
    return a.reshape(shape)


def _indices(layer: Layer, nest: list[Loop]) -> dict[str, np.ndarray]:
    """Each dimension's index at every iteration of the nest (arrays broadcastable to its bounds, outer loop first)."""
    values: dict[str, np.ndarray] = {d: np.zeros([1] * len(nest), np.int64) for d in layer.dims}
    for k, lp in enumerate(nest):
        stride = math.prod(x.bound for x in nest[k + 1 :] if x.dim == lp.dim)
        shape = [1] * len(nest)
        shape[k] = lp.bound
        values[lp.dim] = values[lp.dim] + (np.arange(lp.bound, dtype=np.int64) * stride).reshape(shape)
    return values


def performed_macs(layer: Layer, arch: Architecture, mapping: Mapping, live: np.ndarray) -> int:
    """The layer's MACs among ``live`` iterations (:func:`live_iterations`): those inside its bounds, not padding."""
    inside = np.ones([1] * live.ndim, bool)
    for d, v in _indices(layer, mapping.nest(arch)).items():
        inside = inside & (v < layer.dims[d])
    return int(np.count_nonzero(live & inside))


def live_iterations(layer: Layer, arch: Architecture, mapping: Mapping, tensors: dict[str, np.ndarray]) -> tuple[np.ndarray, bool, bool]:
    """Which iterations of the mapping's loop nest the MAC unit performs on real data.

    Returns (a boolean array shaped like the nest's bounds, outer loop first; whether any operand was
    skipped; whether the skipping is N:M-structured, which hardware compacts to balanced work). An
    iteration is skipped when a skipped operand's element is zero or outside the tensor (padding).
    """
    nest = mapping.nest(arch)
    bounds = [lp.bound for lp in nest]
    if math.prod(bounds) > MAX_WALK:
        raise ValueError(f"counting real data walks every iteration: {math.prod(bounds):,} is more than {MAX_WALK:,}")
    values = _indices(layer, nest)
    live = np.ones(bounds, bool)
    skipped = False
    nm = arch.mac.skip_structure == "n:m"
    for op in layer.operands:
        if op.name not in tensors or op.name not in arch.mac.skip:
            continue
        t = np.asarray(tensors[op.name])
        if nm and ":" not in density_of(t)[1]:
            continue  # a structured-sparsity unit takes the dense path on unstructured data
        skipped = True
        idx = [sum((c * values[d] for d, c in axis), np.zeros([1] * len(nest), np.int64)) for axis in op.axes]
        idx = [np.broadcast_to(i, bounds) for i in idx]
        inside = np.ones(bounds, bool)
        for i, n in zip(idx, t.shape, strict=True):
            inside &= i < n
        nz = np.zeros(bounds, bool)
        nz[inside] = t[tuple(i[inside] for i in idx)] != 0
        live &= nz
    return live, skipped, skipped and nm
