"""How a sparse operand is described and stored: its structure, and the bits per element of each compressed format.

What an operand says (:class:`~hwsim.core.workload.Operand`): ``density`` (expected fraction of non-zeros) and
``structure``: ``dense``, ``uniform`` (unstructured, zeros independent and uniform) or ``N:M`` (at most N non-zeros in
every M consecutive elements; density N/M exactly). :func:`density_of` measures both from a real tensor.

What a level stores (``formats`` in the architecture spec, per operand):

=============  ====================================================================
format         bits per element (b = data bits, d = density)
=============  ====================================================================
uncompressed   b (zeros stored)
bitmask        d·b + 1 (one presence bit per element)
rle            d·(b + r), r = ``RUN_BITS`` (4)
coo            d·(b + i), i = ``INDEX_BITS`` (16): a coordinate per non-zero
csr            d·(b + i) + i / ``ROW_ELEMENTS`` (one pointer per row of 64 elements)
nm             d·b + d·⌈log2 M⌉ (the index of each kept value; N:M operands only)
=============  ====================================================================

What the MAC unit does with zeros is :mod:`hwsim.cost.sparsity`'s.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from hwsim.core.workload import Operand

__all__ = ["FORMATS", "INDEX_BITS", "ROW_ELEMENTS", "RUN_BITS", "bits_per_element", "density_of", "nm_of"]

FORMATS = ("uncompressed", "bitmask", "rle", "coo", "csr", "nm")
RUN_BITS = 4
INDEX_BITS = 16
ROW_ELEMENTS = 64


def nm_of(op: Operand) -> tuple[int, int] | None:
    """(N, M) of an ``N:M``-structured operand; None for any other structure."""
    if ":" in op.structure:
        n, m = op.structure.split(":")
        return int(n), int(m)
    return None


def bits_per_element(op: Operand, fmt: str | None, bits: int) -> float:
    """Average bits one (dense-equivalent) element occupies in a level using ``fmt``."""
    d = op.density
    if fmt is None or fmt == "uncompressed" or d >= 1.0:
        return float(bits)  # a dense operand is stored dense whatever the format
    if fmt == "bitmask":
        return d * bits + 1
    if fmt == "rle":
        return d * (bits + RUN_BITS)
    if fmt == "coo":
        return d * (bits + INDEX_BITS)
    if fmt == "csr":
        return d * (bits + INDEX_BITS) + INDEX_BITS / ROW_ELEMENTS
    nm = nm_of(op)
    assert nm is not None, "checked by check_sparsity"
    return d * bits + d * math.ceil(math.log2(nm[1]))


def density_of(tensor: np.ndarray) -> tuple[float, str]:
    """(density, structure) measured from a real tensor: ``N:M`` when every group of M along the
    last axis holds at most N non-zeros for a common small M (2:4, 1:4, 4:8...), else ``uniform``."""
    nz = tensor != 0
    density = float(nz.mean()) if nz.size else 1.0
    if density >= 1.0:
        return 1.0, "dense"
    flat = nz.reshape(-1)
    for m in (4, 8, 16):
        if flat.size % m == 0:
            per_group = flat.reshape(-1, m).sum(axis=1)
            n = int(per_group.max())
            if n < m and np.all(per_group == n):
                return n / m, f"{n}:{m}"
    return density, "uniform"
