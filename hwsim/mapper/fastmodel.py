"""The mapper's encoding of mappings, and its compiled batch evaluation, sampler and local search: costs come from
the one closed-form model, :func:`hwsim.cost.kernel.cost`, on loop nests built from an encoding for a fixed
(layer, architecture) pair (:class:`hwsim.cost.kernel.Packed`):

* ``factors[s, d]``: the loop bound of dim ``d`` in slot ``s``; slots ``0..L-1`` are the
  levels' temporal loops, slots ``L..L+A-1`` the spatial axes;
* ``orders[l, :]``: the permutation of the eight dims at level ``l``, outermost first
  (loops of bound 1 are skipped). Spatial loops within an axis are in dimension order, which
  changes no count (unions over an axis do not depend on the order of its loops);
* ``bypass``: an int64 bit mask, bit ``3·l + o`` set when level ``l`` does not keep operand ``o`` (in
  :data:`hwsim.cost.kernel.OPERANDS` order) although it may (``Packed.may_bypass``, from ``Level.may_bypass``); the
  nest's keep mask is the levels' keeps less these bits. A batch holds one mask per mapping.

The encoding holds one loop per dim per level and bypass only where the spec allows it (the mapspace the mapper
searches); :mod:`hwsim.cost.analytical` costs any mapping through the same kernel.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

import hwsim.cost.kernel as kernel_module
from hwsim.core.arch import Architecture
from hwsim.core.mapping import Mapping
from hwsim.core.workload import DIMS
from hwsim.cost.kernel import (
    OPERANDS,
    Costs,
    Nest,
    Packed,
    Work,
    capacity_bits,
    compiled,
    compiled_inline,
    contiguous,
    cost,
    cost_inline,
    new_costs,
    workspace,
)

__all__ = ["OBJECTIVE_CODES", "Packed", "bypass_masks", "decode", "encode", "evaluate_batch"]

ND = len(DIMS)
# Columns of the search's ``fixed`` array, one row per level (:func:`no_constraints`; the spec's constraints,
# :func:`hwsim.mapper.constraint_array`; :func:`hwsim.core.mapping.constraint_problems` is their rule):
PIN = 0  # [PIN:PIN+8] the pinned factor of each dim (0: free)
ORDER = ND  # [ORDER:ORDER+8] a pinned full order, outermost first (-1: free)
MIN = 2 * ND  # [MIN:MIN+8] the smallest factor of each dim (≤ 1: no bound)
MAX = 3 * ND  # [MAX:MAX+8] the largest (0: no bound)
N_INNER = 4 * ND  # how many dims inner_order lists (0: none)
INNER = 4 * ND + 1  # [INNER:INNER+N] those dims, outer to inner: the level's innermost loops
BOUNDED = 5 * ND + 1  # 1 when the level has a MIN or MAX bound (0: the checks of its factors are skipped)
ANY_BOUNDED = 5 * ND + 2  # 1 in every row when some level has one (0: the search never looks at MIN or MAX)
COLUMNS = 5 * ND + 3
OBJECTIVE_CODES = {"energy": 0, "delay": 1, "edp": 2}
MAX_BYPASS_LEVELS = 21  # bits 3·l + o of an int64 mask


def _check_bypass_levels(may_bypass: np.ndarray) -> None:
    """may_bypass (L, 3): the levels allowing bypass fit the int64 mask."""
    if may_bypass[MAX_BYPASS_LEVELS:].any():
        raise ValueError(f"bypass is searched only at the first {MAX_BYPASS_LEVELS} levels")


def bypass_masks(arch: Architecture) -> np.ndarray:
    """Every bypass mask the spec allows (each subset of the levels' ``may_bypass``), the empty one first."""
    _check_bypass_levels(np.array([[o in lv.may_bypass for o in OPERANDS] for lv in arch.levels], np.bool_))
    bits = [1 << (3 * l + OPERANDS.index(o)) for l, lv in enumerate(arch.levels) for o in lv.may_bypass]
    masks = [0]
    for bit in bits:
        masks += [m | bit for m in masks]
    return np.array(masks, np.int64)


def encode(mapping: Mapping, arch: Architecture) -> tuple[np.ndarray, np.ndarray, int]:
    """(factors, orders, bypass) of a mapping with at most one loop per dim per level and bypass only where the
    levels' ``may_bypass`` allow it."""
    nl, na = len(arch.levels), len(arch.axes)
    factors = np.ones((nl + na, ND), np.int64)
    orders = np.tile(np.arange(ND, dtype=np.int64), (nl, 1))
    for l, group in enumerate(mapping.temporal):
        seen = []
        for d, n in group:
            k = DIMS.index(d)
            if k in seen and n > 1:
                raise ValueError(f"level {arch.levels[l].name} has two loops over {d}: not encodable")
            factors[l, k] *= n
            seen.append(k)
        rest = [k for k in range(ND) if k not in seen]
        orders[l] = seen + rest
    for a, group in enumerate(mapping.spatial):
        for d, n in group:
            factors[nl + a, DIMS.index(d)] *= n
    names = [lv.name for lv in arch.levels]
    bypass = 0
    for lv, o in mapping.bypass:
        l = names.index(lv) if lv in names else -1
        if l < 0 or o not in arch.levels[l].may_bypass or l >= MAX_BYPASS_LEVELS:
            raise ValueError(f"bypass of {o} at {lv} is not in the level's may_bypass: not encodable (hwsim.cost.analytical costs it)")
        bypass |= 1 << (3 * l + OPERANDS.index(o))
    return factors, orders, bypass


def decode(factors: np.ndarray, orders: np.ndarray, arch: Architecture, bypass: int = 0) -> Mapping:
    """The :class:`Mapping` of an encoded one; its bypass pairs in level, then operand order."""
    nl, na = len(arch.levels), len(arch.axes)
    temporal = [[(DIMS[d], int(factors[l, d])) for d in orders[l] if factors[l, d] > 1] for l in range(nl)]
    spatial = [[(DIMS[d], int(factors[nl + a, d])) for d in range(ND) if factors[nl + a, d] > 1] for a in range(na)]
    bypassed = [(arch.levels[l].name, OPERANDS[o]) for l in range(nl) for o in range(3) if int(bypass) >> (3 * l + o) & 1]
    return Mapping.build(temporal, spatial, bypassed)


class Scratch(NamedTuple):
    """Every array the compiled functions write (compiled as the kernel is, they allocate nothing)."""

    nest: Nest  # the nest of the mapping being costed (its keep mask rewritten from each mapping's bypass)
    costs: Costs  # its figures
    work: Work  # the kernel's scratch (also the capacity repair's tiles and footprints)
    allowed: np.ndarray  # (L,) levels a dim may take temporal loops at
    order: np.ndarray  # (8,) one level's order being partitioned
    factors: np.ndarray  # (1, L+A, 8) a batch of one mapping: the search's candidate
    orders: np.ndarray  # (1, L, 8)
    bypass: np.ndarray  # (1,) int64
    rows: np.ndarray  # (1, 3) its (energy_pj, cycles, fits)


def _scratch(pk: Packed, padded: np.ndarray) -> Scratch:
    """Scratch for encoded mappings whose loops over each dim d multiply to at most ``padded[d]``."""
    nl, na = pk.keeps.shape[0], pk.axis_level.shape[0]
    m = ND * (nl + na)
    nest = Nest(dim=np.empty(m, np.int64), bound=np.empty(m, np.int64), axis=np.empty(m, np.int64),
                starts=np.empty(nl + 1, np.int64), keep=pk.keeps.copy())  # fmt: skip
    return Scratch(
        nest=nest, costs=new_costs(nl), work=workspace(pk, m, padded), allowed=np.empty(nl, np.int64), order=np.empty(ND, np.int64),
        factors=np.ones((1, nl + na, ND), np.int64), orders=np.zeros((1, nl, ND), np.int64), bypass=np.zeros(1, np.int64),
        rows=np.zeros((1, 3)),
    )  # fmt: skip


@compiled_inline
def _fill_keep(pk, bypass, keep):
    """keep: the levels' keeps less the bits of the bypass mask."""
    for l in range(pk.keeps.shape[0]):
        for o in range(3):
            keep[l, o] = pk.keeps[l, o] and ((bypass >> (3 * l + o)) & 1) == 0


@compiled_inline
def _build_nest(pk, factors, orders, b, nest):
    """The loop nest of encoded mapping b: each level's temporal loops in its order, then the spatial loops of
    the axes below it in dimension order; loops of bound 1 dropped. Returns its length (the keep mask is the
    caller's: :func:`_fill_keep`)."""
    nl = pk.keeps.shape[0]
    na = pk.axis_level.shape[0]
    n = np.int64(0)  # (not a literal 0: numba would compile cost for it too)
    for l in range(nl):
        nest.starts[l] = n
        for j in range(ND):
            d = orders[b, l, j]
            f = factors[b, l, d]
            nest.dim[n] = d  # (written whatever the bound, kept when it is > 1: no branch to mispredict)
            nest.bound[n] = f
            nest.axis[n] = -1
            n += f > 1
        for a in range(na):
            if pk.axis_level[a] == l:
                for d in range(ND):
                    f = factors[b, nl + a, d]
                    nest.dim[n] = d
                    nest.bound[n] = f
                    nest.axis[n] = a
                    n += f > 1
    nest.starts[nl] = n
    return n


@compiled_inline
def _evaluate_one(pk, factors, orders, bypass, b, rows, sc):
    """(energy_pj, cycles, fits) of encoded mapping b into rows[b]."""
    _fill_keep(pk, bypass[b], sc.nest.keep)
    cost(pk, sc.nest, _build_nest(pk, factors, orders, b, sc.nest), sc.costs, sc.work)
    rows[b, 0], rows[b, 1], rows[b, 2] = sc.costs.energy[0], sc.costs.cycles[0], sc.costs.fits[0]


@compiled
def _evaluate_batch(pk, factors, orders, bypass, rows, sc):
    for b in range(factors.shape[0]):  # (_evaluate_one with the kernel inlined; the keep mask rewritten when the bypass changes)
        if b == 0 or bypass[b] != bypass[b - 1]:
            _fill_keep(pk, bypass[b], sc.nest.keep)
        cost_inline(pk, sc.nest, _build_nest(pk, factors, orders, b, sc.nest), sc.costs, sc.work)
        rows[b, 0], rows[b, 1], rows[b, 2] = sc.costs.energy[0], sc.costs.cycles[0], sc.costs.fits[0]


def evaluate_batch(packed: Packed, factors: np.ndarray, orders: np.ndarray, bypass: np.ndarray | None = None) -> np.ndarray:
    """Rows of (energy_pj, cycles, fits) for a batch: factors (B, L+A, 8), orders (B, L, 8), bypass masks (B,)
    (default: none)."""
    rows = np.empty((factors.shape[0], 3), np.float64)
    factors, orders = np.ascontiguousarray(factors, np.int64), np.ascontiguousarray(orders, np.int64)
    bypass = np.zeros(factors.shape[0], np.int64) if bypass is None else np.ascontiguousarray(bypass, np.int64)
    try:  # a dim's loops multiply to less than twice its bound when no factor is larger than needed
        _evaluate_batch(packed, factors, orders, bypass, rows, _scratch(packed, 2 * packed.bounds))
    except ValueError:  # a nest padded beyond that (the enumeration costs such candidates before padding_ok drops them)
        _evaluate_batch(packed, factors, orders, bypass, rows, _scratch(packed, factors.prod(axis=1).max(axis=0)))
    return rows


def _sampled_padding(packed: Packed, spatial: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """The largest product of a dim's loops the sampler makes: it covers the bound b of a dim unrolled (and pinned) s
    times with ⌈b / s⌉ more, s·⌈b / s⌉ < b + s ≤ 2·max(b, s); its moves and repairs keep that product."""
    pinned = np.where(fixed[:, PIN : PIN + ND] > 0, fixed[:, PIN : PIN + ND], 1).prod(axis=0)
    unrolled = spatial.prod(axis=1).max(axis=0) if spatial.size else np.ones(ND, np.int64)
    return 2 * np.maximum(packed.bounds, unrolled * pinned)


def padding_ok(factors: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per mapping: factors cover every bound and no factor is larger than needed (vectorized)."""
    total = factors.prod(axis=1)  # (B, 8)
    covered = (total >= bounds).all(axis=1)
    tight = ~((factors > 1) & ((total[:, None, :] // factors) * (factors - 1) >= bounds)).any(axis=(1, 2))
    return np.asarray(covered & tight)


@compiled
def _tile_bits(pk, l, factors, sc):
    """Capacity one instance of level l needs for the tiles of an encoded mapping kept as sc.nest.keep says (the
    kernel's rule; in the kernel's scratch, which it rewrites before reading)."""
    nl = pk.keeps.shape[0]
    keep = sc.nest.keep
    ws = sc.work
    for d in range(ND):
        ws.tiles[l, d] = 1
    for j in range(l, nl):
        for d in range(ND):
            ws.tiles[l, d] *= factors[j, d]
    for a in range(pk.axis_level.shape[0]):
        if pk.axis_level[a] >= l:
            for d in range(ND):
                ws.tiles[l, d] *= factors[nl + a, d]
    for o in range(3):
        if keep[l, o]:
            ws.fc[l, o] = contiguous(pk.proj, pk.n_tensor_axes, o, ws.tiles, l, ws.cs, ws.ns, ws.marks, ws.marks_next)
    return capacity_bits(keep, pk.elem_bits, pk.double_buffered, l, ws.fc)


@compiled
def _smallest_prime(n):
    p = 2
    while p * p <= n:
        if n % p == 0:
            return p
        p += 1
    return n


@compiled_inline
def _movable(factors, fixed, j, d, bounded):
    """Whether a prime factor may leave the loop of dim d at level j: a factor > 1, not pinned, and (when some level
    is ``bounded``) above its minimum (min_factors) without its smallest prime."""
    f = factors[j, d]
    if f <= 1 or fixed[j, PIN + d] != 0:
        return False
    if not bounded:
        return True
    lo = fixed[j, MIN + d]
    return lo <= 1 or f // _smallest_prime(f) >= lo


@compiled_inline
def _room(factors, fixed, t, d, p):
    """Whether the loop of dim d at level t may take a prime factor p more (max_factors)."""
    hi = fixed[t, MAX + d]
    return hi == 0 or factors[t, d] * p <= hi


@compiled_inline
def _pick_free(factors, fixed, lo, hi, bounded):
    """A random free temporal factor > 1 at the levels lo..hi-1 that may lose a prime factor, as (level, dim); (-1, -1)
    when there is none."""
    count = 0
    for j in range(lo, hi):
        for d in range(ND):
            if _movable(factors, fixed, j, d, bounded):
                count += 1
    if count == 0:
        return -1, -1
    pick = np.random.randint(count)
    for j in range(lo, hi):
        for d in range(ND):
            if _movable(factors, fixed, j, d, bounded):
                if pick == 0:
                    return j, d
                pick -= 1
    return -1, -1


@compiled
def _repair(pk, factors, fixed, bypass, sc):
    """Move prime factors outwards until every level's tiles (kept as the bypass mask says) fit; False if impossible."""
    nl = pk.keeps.shape[0]
    na = pk.axis_level.shape[0]
    bounds = pk.bounds
    bounded = fixed[0, ANY_BOUNDED] != 0
    _fill_keep(pk, bypass, sc.nest.keep)
    for l in range(nl - 1, 0, -1):
        cap = pk.size_bits[l]
        if cap < 0:
            continue
        while _tile_bits(pk, l, factors, sc) > cap:
            j, d = _pick_free(factors, fixed, l, nl, bounded)
            if j < 0:
                return False
            p = _smallest_prime(factors[j, d])
            t = l - 1
            while t > 0 and (not pk.temporal_ok[t, d] or fixed[t, PIN + d] > 0 or (bounded and not _room(factors, fixed, t, d, p))):
                t -= 1
            if fixed[t, PIN + d] > 0 or (bounded and not _room(factors, fixed, t, d, p)):
                return False
            factors[j, d] //= p
            factors[t, d] *= p
    # no factor larger than needed (padding only where it buys coverage)
    for d in range(ND):
        total = 1
        for s in range(nl + na):
            total *= factors[s, d]
        if total < bounds[d]:
            return False
        for s in range(nl + na):
            f = factors[s, d]
            if f > 1 and (total // f) * (f - 1) >= bounds[d]:
                return False
    for l in range(nl if bounded else 0):  # the levels' factor bounds (constraint_problems' rule)
        if fixed[l, BOUNDED]:
            for d in range(ND):
                if factors[l, d] < fixed[l, MIN + d] or (fixed[l, MAX + d] > 0 and factors[l, d] > fixed[l, MAX + d]):
                    return False
    return True


@compiled_inline
def _may_count(pk):
    """How many (level, operand) pairs the mapper may bypass."""
    count = 0
    for l in range(pk.keeps.shape[0]):
        for o in range(3):
            count += pk.may_bypass[l, o]
    return count


@compiled
def _sample(pk, spatial, k, stationary, fixed, factors, orders, bypass, sc):
    """A random encoded mapping of spatial candidate k into factors, orders and bypass[0] (each allowed bypass with
    probability ½), repaired to fit; False when it cannot be."""
    nl = pk.keeps.shape[0]
    na = pk.axis_level.shape[0]
    bounds = pk.bounds
    for s in range(nl):
        for d in range(ND):
            factors[s, d] = 1
    greedy = np.random.random() < 0.5  # fill inner levels first and let repair push out the excess
    allowed = sc.allowed
    bounded = fixed[0, ANY_BOUNDED] != 0  # some level bounds its factors (min_factors, max_factors): the placement heeds them
    for d in range(ND):
        s = 1
        for a in range(na):
            factors[nl + a, d] = spatial[k, a, d]
            s *= spatial[k, a, d]
        m = 0
        for l in range(nl):
            if fixed[l, PIN + d] > 0:
                factors[l, d] = fixed[l, PIN + d]
                s *= fixed[l, PIN + d]
            elif pk.temporal_ok[l, d]:
                allowed[m] = l
                m += 1
        q = (bounds[d] + s - 1) // s
        if m == 0 and q > 1:
            return False
        for i in range(m if bounded else 0):  # minimums first (min_factors), smallest primes
            l = allowed[i]
            while factors[l, d] < fixed[l, MIN + d] and q > 1:
                p = _smallest_prime(q)
                q //= p
                factors[l, d] *= p
        while q > 1:
            p = _smallest_prime(q)
            q //= p
            c = allowed[m - 1] if greedy else allowed[np.random.randint(m)]
            if bounded and not _room(factors, fixed, c, d, p):  # at its maximum (max_factors): the outermost level with room
                c = -1
                for i in range(m):
                    if _room(factors, fixed, allowed[i], d, p):
                        c = allowed[i]
                        break
                if c < 0:
                    return False
            factors[c, d] *= p
    for l in range(nl):
        if fixed[l, ORDER] >= 0:
            for d in range(ND):
                orders[l, d] = fixed[l, ORDER + d]
            continue
        for d in range(ND):
            orders[l, d] = d
        for i in range(ND - 1, 0, -1):
            j = np.random.randint(i + 1)
            orders[l, i], orders[l, j] = orders[l, j], orders[l, i]
        if stationary >= 0:
            _stationary_order(orders, l, pk, stationary, sc.order)
        if fixed[l, N_INNER] > 0:
            _inner_order(orders, l, fixed, sc.order)
    mask = np.int64(0)
    for l in range(nl):
        for o in range(3):
            if pk.may_bypass[l, o] and np.random.random() < 0.5:
                mask |= np.int64(1) << (3 * l + o)
    bypass[0] = mask
    return _repair(pk, factors, fixed, mask, sc)


@compiled
def _inner_order(orders, l, fixed, tmp):
    """Level l's order with the dims of its inner_order last, in that order; the others keep theirs, outside them."""
    n = fixed[l, N_INNER]
    m = 0
    for i in range(ND):
        d = orders[l, i]
        listed = False
        for k in range(n):
            if fixed[l, INNER + k] == d:
                listed = True
        if not listed:
            tmp[m] = d
            m += 1
    for k in range(n):
        tmp[m + k] = fixed[l, INNER + k]
    for i in range(ND):
        orders[l, i] = tmp[i]


@compiled
def _stationary_order(orders, l, pk, o, tmp):
    """Stable-partition level l's order so the dims operand o ignores come innermost."""
    m = 0
    for ignored in (False, True):
        for i in range(ND):
            if pk.relevant[o, orders[l, i]] != ignored:
                tmp[m] = orders[l, i]
                m += 1
    for i in range(ND):
        orders[l, i] = tmp[i]


@compiled
def _better(out, best, objective, clock):
    for i in range(objective.shape[0]):
        code = objective[i]
        if code == 0:
            a, b = out[0], best[0]
        elif code == 1:
            a, b = out[1], best[1]
        else:
            a, b = out[0] * out[1] / clock, best[0] * best[1] / clock
        if a < b * (1 - 1e-12):
            return True
        if a > b * (1 + 1e-12):
            return False
    return False


@compiled
def _mutate(pk, factors, orders, bypass, stationary, fixed, sc):
    """One local move: (where the spec allows bypass, a quarter of the time) flip one allowed bypass, else move a prime
    factor between levels (two thirds) or swap two dims of one level's order."""
    nl = pk.keeps.shape[0]
    bounded = fixed[0, ANY_BOUNDED] != 0
    n_may = _may_count(pk)
    if n_may > 0 and np.random.randint(4) == 0:
        pick = np.random.randint(n_may)
        for l in range(nl):
            for o in range(3):
                if pk.may_bypass[l, o]:
                    if pick == 0:
                        bypass[0] ^= np.int64(1) << (3 * l + o)
                    pick -= 1
        return
    if np.random.randint(3) < 2:  # move one prime factor of one dim to another allowed level
        j, d = _pick_free(factors, fixed, 0, nl, bounded)
        if j < 0:
            return
        t = np.random.randint(nl)
        if t != j and pk.temporal_ok[t, d] and fixed[t, PIN + d] == 0:
            p = _smallest_prime(factors[j, d])
            if not bounded or _room(factors, fixed, t, d, p):
                factors[j, d] //= p
                factors[t, d] *= p
    else:
        l = np.random.randint(nl)
        if fixed[l, ORDER] >= 0:
            return
        i = np.random.randint(ND)
        j = np.random.randint(ND)
        orders[l, i], orders[l, j] = orders[l, j], orders[l, i]
        if stationary >= 0:
            _stationary_order(orders, l, pk, stationary, sc.order)
        if fixed[l, N_INNER] > 0:
            _inner_order(orders, l, fixed, sc.order)


@compiled_inline
def _keep(factors, orders, bypass, row, from_factors, from_orders, from_bypass, from_row):
    """Copy one encoded mapping and its row of figures."""
    bypass[0] = from_bypass[0]
    for s in range(factors.shape[0]):
        for d in range(ND):
            factors[s, d] = from_factors[s, d]
    for l in range(orders.shape[0]):
        for d in range(ND):
            orders[l, d] = from_orders[l, d]
    for i in range(3):
        row[i] = from_row[i]


@compiled
def _rank(rank, n, cand_out, objective, clock):
    """Sort the first n candidate indices of rank by their best figures, best first (stable insertion sort)."""
    for i in range(1, n):
        k = rank[i]
        j = i - 1
        while j >= 0 and _better(cand_out[k], cand_out[rank[j]], objective, clock):
            rank[j + 1] = rank[j]
            j -= 1
        rank[j + 1] = k


@compiled
def _search(pk, spatial, stationary, fixed, objective, max_samples, victory, refine, seed, best_f, best_o, best_b, best_out,
            cand_f, cand_o, cand_b, cand_out, rank, sc):  # fmt: skip
    np.random.seed(seed)
    f1 = sc.factors  # a batch of one: f, o, b (a view of its one mask) and out are its rows
    o1 = sc.orders
    b1 = sc.bypass
    out1 = sc.rows
    f = f1[0]
    o = o1[0]
    b = b1[0:1]
    out = out1[0]
    found = False
    evaluated = 0
    n_cands = spatial.shape[0]
    per_cand = max(1, max_samples // n_cands)
    # Sampling: each spatial candidate gets its share of samples, cut short after `victory` valid samples in a row
    # that do not beat the best of all candidates so far; each candidate keeps its own best.
    live = 0
    for k in range(n_cands):
        cand_out[k, 2] = 0.0
        since = 0
        for _ in range(per_cand):
            if not _sample(pk, spatial, k, stationary, fixed, f, o, b, sc):
                continue
            _evaluate_one(pk, f1, o1, b1, 0, out1, sc)
            evaluated += 1
            if out[2] == 0.0:
                continue
            if cand_out[k, 2] == 0.0 or _better(out, cand_out[k], objective, pk.clock_hz):
                _keep(cand_f[k], cand_o[k], cand_b[k], cand_out[k], f, o, b, out)
            if not found or _better(out, best_out, objective, pk.clock_hz):
                found = True
                _keep(best_f, best_o, best_b, best_out, f, o, b, out)
                since = 0
            else:
                since += 1
                if since >= victory:
                    break
        if cand_out[k, 2] == 1.0:
            rank[live] = k
            live += 1
    if not found:
        return evaluated
    # Refinement, successive halving over the spatial candidates: a sampled best says little about where local moves
    # take a candidate, so every candidate with a valid mapping is refined from its own best. The `refine` moves go in
    # rounds of equal budget, split evenly over the candidates still in; after each round the better half stays,
    # and the last round refines the one left. A move is kept when no worse (equal costs too, so the walk crosses
    # plateaus instead of stopping at their edge).
    _rank(rank, live, cand_out, objective, pk.clock_hz)
    rounds = 1
    n = live
    while n > 1:
        n = (n + 1) // 2
        rounds += 1
    per_round = refine // rounds
    n = live
    for r in range(rounds):
        budget = per_round if r < rounds - 1 else refine - per_round * (rounds - 1)
        for i in range(n):
            k = rank[i]
            for _ in range(budget // n):
                _keep(f, o, b, out, cand_f[k], cand_o[k], cand_b[k], cand_out[k])
                _mutate(pk, f, o, b, stationary, fixed, sc)
                if not _repair(pk, f, fixed, b[0], sc):
                    continue
                _evaluate_one(pk, f1, o1, b1, 0, out1, sc)
                evaluated += 1
                if out[2] == 1.0 and not _better(cand_out[k], out, objective, pk.clock_hz):
                    _keep(cand_f[k], cand_o[k], cand_b[k], cand_out[k], f, o, b, out)
        _rank(rank, n, cand_out, objective, pk.clock_hz)
        n = (n + 1) // 2
    k = rank[0]
    _keep(best_f, best_o, best_b, best_out, cand_f[k], cand_o[k], cand_b[k], cand_out[k])
    return evaluated


def no_constraints(n_levels: int) -> np.ndarray:
    """The ``fixed`` array meaning no constraint (columns :data:`PIN`, :data:`ORDER`, :data:`MIN`, :data:`MAX`,
    :data:`N_INNER`, :data:`INNER`): no pin, no order, no bound, no inner order."""
    fixed = np.zeros((n_levels, COLUMNS), np.int64)
    fixed[:, ORDER : ORDER + ND] = -1
    return fixed


def search(
    packed: Packed,
    spatial: np.ndarray,
    objective: tuple[str, ...] = ("edp",),
    *,
    max_samples: int = 20000,
    victory: int = 2000,
    refine: int = 3000,
    seed: int = 0,
    stationary: int = -1,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, int]:
    """Random-pruned sampling of each spatial candidate with a victory condition, then local refinement of the
    candidates' bests by successive halving (``refine`` moves in all). Returns (factors, orders, bypass mask,
    (energy_pj, cycles, fits), mappings evaluated); fits is 0 when no valid mapping was found."""
    _check_bypass_levels(packed.may_bypass)
    nl, na = packed.keeps.shape[0], packed.axis_level.shape[0]
    best_f = np.ones((nl + na, ND), np.int64)
    best_o = np.tile(np.arange(ND, dtype=np.int64), (nl, 1))
    best_b = np.zeros(1, np.int64)
    best_out = np.array([np.inf, np.inf, 0.0])
    k = spatial.shape[0]  # each candidate's best (factors, orders, bypass, figures) and their ranking
    cand_f, cand_o, cand_out, rank = np.ones((k, nl + na, ND), np.int64), np.zeros((k, nl, ND), np.int64), np.zeros((k, 3)), np.zeros(k, np.int64)  # fmt: skip
    cand_b = np.zeros((k, 1), np.int64)
    codes = np.array([OBJECTIVE_CODES[o] for o in objective], np.int64)
    fixed = no_constraints(nl) if fixed is None else np.ascontiguousarray(fixed, np.int64)
    spatial = np.ascontiguousarray(spatial, np.int64)
    n = _search(packed, spatial, stationary, fixed, codes, max_samples, victory, refine, seed, best_f, best_o, best_b, best_out,
                cand_f, cand_o, cand_b, cand_out, rank, _scratch(packed, _sampled_padding(packed, spatial, fixed)))  # fmt: skip
    return best_f, best_o, int(best_b[0]), best_out, int(n)


@compiled
def _random_batch(pk, spatial, seed, stationary, factors, orders, bypass, fixed, sc):
    np.random.seed(seed)
    made = 0
    while made < factors.shape[0]:
        k = np.random.randint(spatial.shape[0])
        if _sample(pk, spatial, k, stationary, fixed, factors[made], orders[made], bypass[made : made + 1], sc):
            made += 1


def random_mappings(packed: Packed, spatial: np.ndarray, n: int, seed: int = 0, fixed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` random valid encoded mappings (factors, orders, bypass masks; for benchmarks and tests), under the
    constraints of ``fixed`` (:func:`hwsim.mapper.constraint_array`; default none)."""
    _check_bypass_levels(packed.may_bypass)
    nl, na = packed.keeps.shape[0], packed.axis_level.shape[0]
    factors = np.ones((n, nl + na, ND), np.int64)
    orders = np.zeros((n, nl, ND), np.int64)
    bypass = np.zeros(n, np.int64)
    spatial = np.ascontiguousarray(spatial, np.int64)
    fixed = no_constraints(nl) if fixed is None else np.ascontiguousarray(fixed, np.int64)
    _random_batch(packed, spatial, seed, -1, factors, orders, bypass, fixed, _scratch(packed, _sampled_padding(packed, spatial, fixed)))
    return factors, orders, bypass


def drop_stale_cache(cache_dir: Path, kernel_source: Path, prefix: str = "fastmodel") -> bool:
    """Drop this module's cached compiled functions when they were compiled against another kernel: numba invalidates
    a cached function when its own file changes, not when a function it inlines from another file does (a changed
    ``kernel.py`` after a ``git pull``). The kernel source's hash is kept beside the cached files; when it differs, the
    files of ``prefix`` go. Returns whether anything was dropped; a cache folder that cannot be written is left alone."""
    digest = hashlib.sha256(kernel_source.read_bytes()).hexdigest()
    stamp = cache_dir / f"{prefix}.kernel-sha256"
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    dropped = False
    try:
        for f in cache_dir.glob(f"{prefix}.*.nb[ic]"):
            f.unlink(missing_ok=True)
            dropped = True
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(digest)
        os.replace(tmp, stamp)
    except OSError:
        pass
    return dropped


def _check_cache() -> None:
    try:
        where = Path(_search._cache._cache_path)  # numba's cache folder for this module (private, stable since 0.49)
    except AttributeError:  # pragma: no cover - another numba: nothing cached where we look
        return
    drop_stale_cache(where, Path(kernel_module.__file__))


_check_cache()
