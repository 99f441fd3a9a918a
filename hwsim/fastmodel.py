"""The analytical model compiled with numba, for evaluating millions of mappings.

It computes exactly what :func:`hwsim.analytical.evaluate_mapping` computes (tested equal),
on a compact encoding of a mapping for a fixed (layer, architecture) pair:

* ``factors[s, d]``: the loop bound of dim ``d`` in slot ``s``; slots ``0..L-1`` are the
  levels' temporal loops, slots ``L..L+A-1`` the spatial axes;
* ``orders[l, :]``: the permutation of the eight dims at level ``l``, outermost first
  (loops of bound 1 are skipped). Spatial loops within an axis are in dimension order, which
  changes no count (unions over an axis do not depend on the order of its loops).

:class:`Problem` packs the layer and architecture into arrays once; the kernels take those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from hwsim.arch import Architecture
from hwsim.mapping import Mapping
from hwsim.precision import check_numbers, cycles_per_mac, energy_per_mac_pj
from hwsim.sparsity import check_sparsity, element_bits, gate_fraction, skip_dims, skip_fraction, unstructured_skip
from hwsim.workload import DIMS, Layer

__all__ = ["OBJECTIVE_CODES", "Problem", "decode", "encode", "evaluate_batch"]

ND = 8
OBJECTIVE_CODES = {"energy": 0, "delay": 1, "edp": 2}
_INF = np.inf


@dataclass(frozen=True)
class Problem:
    """A (layer, architecture) pair as flat arrays for the compiled kernels."""

    n_levels: int
    n_axes: int
    ints: np.ndarray  # see _pack for the layout of each array
    floats: np.ndarray
    level_i: np.ndarray
    level_f: np.ndarray
    axis_i: np.ndarray
    op_i: np.ndarray
    proj: np.ndarray
    bounds: np.ndarray

    @staticmethod
    def build(layer: Layer, arch: Architecture) -> Problem:
        check_sparsity(layer, arch.levels, f"layer {layer.name!r} on {arch.name!r}")
        check_numbers(layer, arch.mac, f"layer {layer.name!r} on {arch.name!r}")
        nl, na = len(arch.levels), len(arch.axes)
        names = [lv.name for lv in arch.levels]
        ops = [layer.operand(n) for n in ("weights", "inputs", "outputs")]
        # level_i[l]: keeps w/i/o, double buffered, ports, word_bits, temporal dim mask bits
        level_i = np.zeros((nl, 6 + ND), np.int64)
        level_f = np.zeros((nl, 8), np.float64)  # size_bits (-1 = unbounded), rd_e, wr_e, rbw, wbw, bits/element of w, i, o
        for l, lv in enumerate(arch.levels):
            for o, op in enumerate(ops):
                level_i[l, o] = op.name in lv.keeps
            level_i[l, 3] = lv.double_buffered
            level_i[l, 4] = lv.ports
            level_i[l, 5] = lv.word_bits
            for d, dim in enumerate(DIMS):
                level_i[l, 6 + d] = lv.temporal_dims is None or dim in lv.temporal_dims
            level_f[l] = (
                -1.0 if lv.size_bytes is None else lv.size_bytes * 8,
                lv.read_energy_pj,
                lv.write_energy_pj,
                _INF if lv.read_bandwidth_bits_per_cycle is None else lv.read_bandwidth_bits_per_cycle,
                _INF if lv.write_bandwidth_bits_per_cycle is None else lv.write_bandwidth_bits_per_cycle,
                *(element_bits(op, lv) for op in ops),
            )
        # axis_i[a]: below level, size, multicast, reduction, allowed dim mask bits
        axis_i = np.zeros((max(na, 1), 4 + ND), np.int64)
        for a, ax in enumerate(arch.axes):
            axis_i[a, :4] = (names.index(ax.below), ax.size, ax.multicast, ax.reduction)
            for d, dim in enumerate(DIMS):
                axis_i[a, 4 + d] = dim in ax.dims
        # op_i[o]: is_output, onchip bits, final bits, n_axes, relevant dim mask bits
        op_i = np.zeros((3, 5 + ND), np.int64)  # ..., [4+ND]: every tensor axis is one dim (coef 1)
        proj = np.zeros((3, 6, 3, 2), np.int64)  # [op, tensor axis, term, (dim, coef)]
        for o, op in enumerate(ops):
            if len(op.axes) > 6 or any(len(ax) > 3 for ax in op.axes):
                raise ValueError(f"operand {op.name} has more tensor axes or terms than the compiled model supports")
            op_i[o, :4] = (op.is_output, op.onchip_bits, op.bits, len(op.axes))
            for d, dim in enumerate(DIMS):
                op_i[o, 4 + d] = dim in op.relevant_dims
            op_i[o, 4 + ND] = all(len(ax) == 1 and ax[0][1] == 1 for ax in op.axes)
            for x, tensor_axis in enumerate(op.axes):
                for t, (dim, coef) in enumerate(tensor_axis):
                    proj[o, x, t] = (DIMS.index(dim), coef)
                for t in range(len(tensor_axis), 3):
                    proj[o, x, t] = (-1, 0)
        bounds = np.array([layer.dims.get(d, 1) for d in DIMS], np.int64)
        spread = skip_dims(layer, arch.mac)
        ints = np.array([nl, na, layer.macs, *(d in spread for d in DIMS)], np.int64)  # [3:11]: dims skipped operands depend on
        floats = np.array([energy_per_mac_pj(layer, arch.mac) * gate_fraction(layer, arch.mac), arch.leakage_mw, arch.clock_hz,
                           cycles_per_mac(layer, arch.mac), skip_fraction(layer, arch.mac),
                           0.0 if unstructured_skip(layer, arch.mac) else 1.0], np.float64)  # fmt: skip
        return Problem(nl, na, ints, floats, level_i, level_f, axis_i, op_i, proj, bounds)

    def args(self) -> tuple[np.ndarray, ...]:
        return (self.ints, self.floats, self.level_i, self.level_f, self.axis_i, self.op_i, self.proj, self.bounds)


def encode(mapping: Mapping, arch: Architecture) -> tuple[np.ndarray, np.ndarray]:
    """(factors, orders) arrays of a mapping with at most one loop per dim per level."""
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
    if mapping.bypass:
        raise ValueError("mappings with bypass are not encodable in the compiled model")
    return factors, orders


def decode(factors: np.ndarray, orders: np.ndarray, arch: Architecture) -> Mapping:
    nl, na = len(arch.levels), len(arch.axes)
    temporal = [[(DIMS[d], int(factors[l, d])) for d in orders[l] if factors[l, d] > 1] for l in range(nl)]
    spatial = [[(DIMS[d], int(factors[nl + a, d])) for d in range(ND) if factors[nl + a, d] > 1] for a in range(na)]
    return Mapping.build(temporal, spatial)


# ---------------------------------------------------------------------------------------------
# Compiled kernels


@nb.njit(cache=True, error_model="numpy")
def _distinct(cs: np.ndarray, ns: np.ndarray, m: int) -> float:
    """Distinct values of Σ c_i·x_i, 0 ≤ x_i < n_i, over the first m terms (sorted in place)."""
    # insertion sort by coefficient
    for i in range(1, m):
        c, n = cs[i], ns[i]
        j = i - 1
        while j >= 0 and (cs[j] > c or (cs[j] == c and ns[j] > n)):
            cs[j + 1] = cs[j]
            ns[j + 1] = ns[j]
            j -= 1
        cs[j + 1] = c
        ns[j + 1] = n
    # merge digits that continue each other
    k = 0
    for i in range(m):
        if k > 0 and cs[k - 1] * ns[k - 1] == cs[i]:
            ns[k - 1] *= ns[i]
        else:
            cs[k] = cs[i]
            ns[k] = ns[i]
            k += 1
    if k == 0:
        return 1.0
    if k == 1:
        return float(ns[0])
    if k == 2:
        a, b = cs[0], cs[1]
        x, y = a, b
        while y:
            x, y = y, x % y
        a //= x
        b //= x
        return float(ns[0] * ns[1] - max(0, ns[0] - b) * max(0, ns[1] - a))
    span = 1
    for i in range(k):
        span += cs[i] * (ns[i] - 1)
    cur = np.zeros(span, np.uint8)
    nxt = np.empty(span, np.uint8)
    cur[0] = 1
    top = 0
    for i in range(k):
        c = cs[i]
        n = ns[i]
        cur[top + 1 : top + c * (n - 1) + 1] = 0
        top += c * (n - 1)
        # nxt[v] = OR of cur[v - c·t], t < n: a sliding window along each residue class mod c
        for r in range(min(c, top + 1)):
            count = 0
            j = 0
            for v in range(r, top + 1, c):
                count += cur[v]
                if j >= n:
                    count -= cur[v - c * n]
                nxt[v] = 1 if count > 0 else 0
                j += 1
        cur, nxt = nxt, cur
    total = 0
    for v in range(top + 1):
        total += cur[v]
    return float(total)


@nb.njit(cache=True, error_model="numpy")
def _footprint(o, op_i, proj, dig_s, dig_n, n_dig, cs, ns):
    total = 1.0
    for x in range(op_i[o, 3]):
        if proj[o, x, 1, 0] < 0:
            # one term: digits of one dim are disjoint mixed-radix positions, so counts multiply
            d = proj[o, x, 0, 0]
            if d >= 0 and proj[o, x, 0, 1] != 0:
                for j in range(n_dig[d]):
                    total *= dig_n[d, j]
            continue
        m = 0
        for t in range(3):
            d = proj[o, x, t, 0]
            coef = proj[o, x, t, 1]
            if d < 0 or coef == 0:
                continue
            for j in range(n_dig[d]):
                if dig_n[d, j] > 1:
                    cs[m] = coef * dig_s[d, j]
                    ns[m] = dig_n[d, j]
                    m += 1
        total *= _distinct(cs, ns, m)
    return total


@nb.njit(cache=True, inline="always", error_model="numpy")
def _contiguous(o, op_i, proj, tile):
    """Footprint of a contiguous tile (extent tile[d] from 0 in every dim)."""
    total = 1.0
    for x in range(op_i[o, 3]):
        d0 = proj[o, x, 0, 0]
        d1 = proj[o, x, 1, 0]
        if d1 < 0:
            if d0 >= 0 and proj[o, x, 0, 1] != 0:
                total *= tile[d0]
            continue
        if proj[o, x, 2, 0] >= 0:
            cs = np.empty(3, np.int64)
            ns = np.empty(3, np.int64)
            m = 0
            for t in range(3):
                d = proj[o, x, t, 0]
                if tile[d] > 1 and proj[o, x, t, 1] != 0:
                    cs[m] = proj[o, x, t, 1]
                    ns[m] = tile[d]
                    m += 1
            total *= _distinct(cs, ns, m)
            continue
        n0 = tile[d0]
        n1 = tile[d1]
        a = proj[o, x, 0, 1]
        b = proj[o, x, 1, 1]
        if n0 <= 1 or a == 0:
            total *= n1 if b != 0 else 1
            continue
        if n1 <= 1 or b == 0:
            total *= n0
            continue
        if a > b:
            a, b = b, a
            n0, n1 = n1, n0
        if b % a == 0 and b == a * n0:
            total *= n0 * n1
            continue
        if b == a:
            total *= n0 + n1 - 1
            continue
        x_, y_ = a, b
        while y_:
            x_, y_ = y_, x_ % y_
        a //= x_
        b //= x_
        total *= n0 * n1 - max(0, n0 - b) * max(0, n1 - a)
    return total


@nb.njit(cache=True, error_model="numpy")
def _imbalance(n, s, pes, structured):
    """Same as hwsim.sparsity.imbalance: E[max of pes Binomial(n, s)] / (n·s)."""
    if structured or s >= 1.0 or n <= 0 or pes <= 1:
        return 1.0
    q = 1.0 - s
    log_pmf = n * np.log(q)
    cdf = 0.0
    total = 0.0
    for k in range(n):
        cdf += np.exp(log_pmf)
        total += 1.0 - min(cdf, 1.0) ** pes
        if cdf >= 1.0 - 1e-15:
            break
        log_pmf += np.log((n - k) / (k + 1)) + np.log(s / q)
    return total / (n * s)


@nb.njit(cache=True, inline="always", error_model="numpy")
def _build_nest(nl, na, level_i, axis_i, factors, orders, n_dim, n_bound, n_level, n_axis, starts):
    n = 0
    for l in range(nl):
        starts[l] = n
        for j in range(ND):
            d = orders[l, j]
            f = factors[l, d]
            if f > 1:
                n_dim[n] = d
                n_bound[n] = f
                n_level[n] = l
                n_axis[n] = -1
                n += 1
        for a in range(na):
            if axis_i[a, 0] == l:
                for d in range(ND):
                    f = factors[nl + a, d]
                    if f > 1:
                        n_dim[n] = d
                        n_bound[n] = f
                        n_level[n] = l
                        n_axis[n] = a
                        n += 1
    starts[nl] = n
    return n


@nb.njit(cache=True, error_model="numpy")
def _workspace(nl, na):
    L = ND * (nl + na)
    ivec = np.empty((7, L + 1), np.int64)  # n_dim, n_bound, n_level, n_axis, starts, stride, cs/ns scratch
    dig = np.empty((2, ND, L + 1), np.int64)
    small = np.empty((5, ND), np.int64)  # running, n_dig, tile, padded, spare
    acc = np.empty((3, nl, 3))
    scratch = np.empty((2, 3 * (L + 1)), np.int64)
    return ivec, dig, small, acc, scratch, np.ones((nl + 1, ND), np.int64), np.empty((nl + 1, 3)), np.empty(L + 1), np.empty(L + 1), np.empty(L + 1), np.empty(L + 1, np.int64)


@nb.njit(cache=True, error_model="numpy")
def _evaluate_one(ints, floats, level_i, level_f, axis_i, op_i, proj, bounds, factors, orders, out, ws):
    """Energy, cycles and capacity validity of one encoded mapping into out[0:3]."""
    nl = ints[0]
    na = ints[1]
    macs = ints[2]
    ivec, dig, small, acc, scratch, ws_tiles, ws_fc, ws_spre, ws_tpre, ws_relsp, ws_lastrel = ws
    n_dim = ivec[0]
    n_bound = ivec[1]
    n_level = ivec[2]
    n_axis = ivec[3]
    starts = ivec[4]
    stride = ivec[5]
    cs = scratch[0]
    ns = scratch[1]
    n = _build_nest(nl, na, level_i, axis_i, factors, orders, n_dim, n_bound, n_level, n_axis, starts)
    spre = ws_spre
    spre[0] = 1.0
    for k in range(n):
        spre[k + 1] = spre[k] * (n_bound[k] if n_axis[k] >= 0 else 1)
    running = small[0]
    running[:] = 1
    for k in range(n - 1, -1, -1):
        stride[k] = running[n_dim[k]]
        running[n_dim[k]] *= n_bound[k]
    dig_s = dig[0]
    dig_n = dig[1]
    n_dig = small[1]
    n_dig[:] = 0
    reads = acc[0]
    fills = acc[1]
    updates = acc[2]
    acc[:, :, :] = 0.0
    # tiles[l]: extents of the tile held at level l (tiles[nl]: one MAC's element)
    tiles = ws_tiles
    tiles[:, :] = 1
    fc = ws_fc
    for l in range(nl - 1, -1, -1):
        tiles[l, :] = tiles[l + 1, :]
        for k in range(starts[l], starts[l + 1]):
            tiles[l, n_dim[k]] *= n_bound[k]
    # tile footprints where they are used: kept operands below DRAM, DRAM's outputs; a MAC's is 1
    for o in range(3):
        fc[nl, o] = 1.0
    fc[0, 2] = _contiguous(2, op_i, proj, tiles[0])
    for l in range(1, nl):
        for o in range(3):
            if level_i[l, o]:
                fc[l, o] = _contiguous(o, op_i, proj, tiles[l])
    valid = 1.0  # capacity only: samplers and enumerators keep factors covering the bounds (see padding_ok)
    for l in range(1, nl):
        cap = level_f[l, 0]
        if cap < 0:
            continue
        bits = 0.0
        for o in range(3):
            if level_i[l, o]:
                bits += fc[l, o] * level_f[l, 5 + o]
        if level_i[l, 3]:
            bits *= 2
        if bits > cap:
            valid = 0.0
    tpre = ws_tpre
    lastrel = ws_lastrel
    relsp = ws_relsp
    first_dram = 0.0
    for o in range(3):
        is_out = op_i[o, 0] == 1
        # prefix products: temporal bounds, relevant spatial bounds; last relevant temporal loop before k
        tpre[0] = 1.0
        relsp[0] = 1.0
        lastrel[0] = -1
        relall = 1.0
        for k in range(n):
            rel = op_i[o, 4 + n_dim[k]] == 1
            if n_axis[k] < 0:
                tpre[k + 1] = tpre[k] * n_bound[k]
                relsp[k + 1] = relsp[k]
                lastrel[k + 1] = k if rel else lastrel[k]
            else:
                tpre[k + 1] = tpre[k]
                relsp[k + 1] = relsp[k] * (n_bound[k] if rel else 1)
                lastrel[k + 1] = lastrel[k]
            if rel:
                relall *= n_bound[k]
        p = -1
        for c in range(nl + 1):
            if c < nl and not level_i[c, o]:
                continue
            if p < 0:
                p = c
                continue
            sc = starts[c]
            # events: temporal loops above the child up to the innermost relevant one (every one for MACs)
            events = tpre[sc] if c == nl else tpre[lastrel[sc] + 1]
            inst_p = spre[starts[p]]
            f_child = fc[c, o]
            simple = op_i[o, 4 + ND] == 1
            if not simple:
                for d in range(ND):
                    n_dig[d] = 1
                    dig_s[d, 0] = 1
                    dig_n[d, 0] = tiles[c, d]
            dup = 1.0
            grow = 1.0
            shared = False
            for k in range(starts[p], sc):
                a = n_axis[k]
                if a >= 0:
                    shares = axis_i[a, 3] if is_out else axis_i[a, 2]
                    if not shares:
                        dup *= n_bound[k]
                    elif simple:
                        if op_i[o, 4 + n_dim[k]]:
                            grow *= n_bound[k]
                    else:
                        shared = True
                        d = n_dim[k]
                        dig_s[d, n_dig[d]] = stride[k]
                        dig_n[d, n_dig[d]] = n_bound[k]
                        n_dig[d] += 1
            inst_c = spre[sc]
            if shared:
                union = _footprint(o, op_i, proj, dig_s, dig_n, n_dig, cs, ns)
            else:
                union = f_child * grow
            moved = events * union * dup * inst_p
            if p == 0 and c < nl and not is_out:
                first_dram += union * dup * level_f[0, 5 + o]  # one event's fill of the outermost keeper
            if c == nl:
                moved *= floats[4]
            if not is_out:
                reads[p, o] += moved
                if c < nl:
                    fills[c, o] += events * f_child * inst_c
            else:
                # distinct elements one parent instance ever holds (one-term axes: bounds multiply)
                first = inst_p * relall / relsp[starts[p]]
                updates[p, o] += moved
                reads[p, o] += max(moved - first, 0.0)
                if c < nl:
                    fills[c, o] += max(moved - first, 0.0)
            p = c
    # finished outputs leave DRAM-side at their final precision
    out_elems = fc[0, 2]
    energy = 0.0
    compute = 1.0
    for k in range(n):
        if n_axis[k] < 0:
            compute *= n_bound[k]
    compute *= floats[3]
    if floats[4] < 1.0:
        inner = 1.0
        units = 1.0
        for k in range(n):
            if ints[3 + n_dim[k]]:
                if n_axis[k] >= 0:
                    units *= n_bound[k]
                elif k >= starts[nl - 1]:
                    inner *= n_bound[k]
        compute *= floats[4] * _imbalance(int(inner), floats[4], int(units), floats[5] == 1.0)
    compute = np.ceil(compute - 1e-9)
    overlapped = compute
    exposed = 0.0
    startup = 0.0
    for l in range(nl):
        rb = 0.0
        wb = 0.0
        for o in range(3):
            b = level_f[l, 5 + o]
            rb += reads[l, o] * b
            if op_i[o, 0] == 1 and l == 0:
                wb += out_elems * op_i[o, 2] + (updates[l, o] - out_elems) * b + fills[l, o] * b
            else:
                wb += (fills[l, o] + updates[l, o]) * b
        energy += (rb * level_f[l, 1] + wb * level_f[l, 2]) / level_i[l, 5]
        used = spre[starts[l]]
        r = rb / used
        w = wb / used
        rbw = level_f[l, 3]
        wbw = level_f[l, 4]
        if level_i[l, 4] == 1:
            read_t = (r + w) / rbw
            write_t = 0.0
        else:
            read_t = r / rbw
            write_t = w / wbw
        transfer = max(read_t, write_t)
        if l == 0 or level_i[l, 3]:
            overlapped = max(overlapped, transfer)
        else:
            overlapped = max(overlapped, read_t)
            exposed += write_t
        if l > 0 and wbw < _INF:
            bits = 0.0
            for o in range(3):
                if level_i[l, o] and op_i[o, 0] == 0:
                    bits += fc[l, o] * level_f[l, 5 + o]
            startup += bits / wbw
    if level_f[0, 3] < _INF:  # as hwsim.analytical: the first tiles cross DRAM's read channel
        startup = max(startup, first_dram / level_f[0, 3])
    cycles = max(overlapped, compute + exposed) + startup  # as hwsim.analytical: refill stalls add to compute only
    energy += macs * floats[0] + floats[1] * 1e-3 * (cycles / floats[2]) * 1e12
    out[0] = energy
    out[1] = cycles
    out[2] = valid


@nb.njit(cache=True, error_model="numpy")
def _evaluate_batch(ints, floats, level_i, level_f, axis_i, op_i, proj, bounds, factors, orders, out):
    ws = _workspace(ints[0], ints[1])
    for b in range(factors.shape[0]):
        _evaluate_one(ints, floats, level_i, level_f, axis_i, op_i, proj, bounds, factors[b], orders[b], out[b], ws)


def evaluate_batch(problem: Problem, factors: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Rows of (energy_pj, cycles, fits) for a batch: factors (B, L+A, 8), orders (B, L, 8)."""
    out = np.empty((factors.shape[0], 3), np.float64)
    _evaluate_batch(*problem.args(), np.ascontiguousarray(factors, np.int64), np.ascontiguousarray(orders, np.int64), out)
    return out


def padding_ok(factors: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per mapping: factors cover every bound and no factor is larger than needed (vectorized)."""
    total = factors.prod(axis=1)  # (B, 8)
    covered = (total >= bounds).all(axis=1)
    tight = ~((factors > 1) & ((total[:, None, :] // factors) * (factors - 1) >= bounds)).any(axis=(1, 2))
    return np.asarray(covered & tight)


# ---------------------------------------------------------------------------------------------
# Sampling and local search over the mapspace, compiled


@nb.njit(cache=True, error_model="numpy")
def _tile_bits(l, nl, na, level_i, level_f, axis_i, op_i, proj, factors, only_inputs):
    tile = np.ones(ND, np.int64)
    for j in range(l, nl):
        for d in range(ND):
            tile[d] *= factors[j, d]
    for a in range(na):
        if axis_i[a, 0] >= l:
            for d in range(ND):
                tile[d] *= factors[nl + a, d]
    dig_s = np.ones((ND, 1), np.int64)
    dig_n = np.empty((ND, 1), np.int64)
    n_dig = np.ones(ND, np.int64)
    cs = np.empty(3 * ND, np.int64)
    ns = np.empty(3 * ND, np.int64)
    for d in range(ND):
        dig_n[d, 0] = tile[d]
    bits = 0.0
    for o in range(3):
        if level_i[l, o] and not (only_inputs and op_i[o, 0] == 1):
            bits += _footprint(o, op_i, proj, dig_s, dig_n, n_dig, cs, ns) * level_f[l, 5 + o]
    if level_i[l, 3] and not only_inputs:
        bits *= 2
    return bits


@nb.njit(cache=True, error_model="numpy")
def _smallest_prime(n):
    p = 2
    while p * p <= n:
        if n % p == 0:
            return p
        p += 1
    return n


@nb.njit(cache=True, error_model="numpy")
def _repair(nl, na, level_i, level_f, axis_i, op_i, proj, bounds, factors, fixed):
    """Move prime factors outwards until every level's tiles fit; False if impossible."""
    for l in range(nl - 1, 0, -1):
        cap = level_f[l, 0]
        if cap < 0:
            continue
        while _tile_bits(l, nl, na, level_i, level_f, axis_i, op_i, proj, factors, False) > cap:
            # candidates: free temporal factors at level l or inside it
            count = 0
            for j in range(l, nl):
                for d in range(ND):
                    if factors[j, d] > 1 and fixed[j, d] == 0:
                        count += 1
            if count == 0:
                return False
            pick = np.random.randint(count)
            for j in range(l, nl):
                for d in range(ND):
                    if factors[j, d] > 1 and fixed[j, d] == 0:
                        if pick == 0:
                            t = l - 1
                            while t > 0 and (not level_i[t, 6 + d] or fixed[t, d] > 0):
                                t -= 1
                            if fixed[t, d] > 0:
                                return False
                            p = _smallest_prime(factors[j, d])
                            factors[j, d] //= p
                            factors[t, d] *= p
                        pick -= 1
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
    return True


@nb.njit(cache=True, error_model="numpy")
def _sample(nl, na, level_i, level_f, axis_i, op_i, proj, bounds, spatial, k, stationary, fixed, factors, orders):
    factors[:, :] = 1
    greedy = np.random.random() < 0.5  # fill inner levels first and let repair push out the excess
    allowed = np.empty(nl, np.int64)
    for a in range(na):
        for d in range(ND):
            factors[nl + a, d] = spatial[k, a, d]
    for d in range(ND):
        s = 1
        for a in range(na):
            s *= factors[nl + a, d]
        m = 0
        for l in range(nl):
            if fixed[l, d] > 0:
                factors[l, d] = fixed[l, d]
                s *= fixed[l, d]
            elif level_i[l, 6 + d]:
                allowed[m] = l
                m += 1
        q = (bounds[d] + s - 1) // s
        if m == 0 and q > 1:
            return False
        while q > 1:
            p = _smallest_prime(q)
            q //= p
            factors[allowed[m - 1] if greedy else allowed[np.random.randint(m)], d] *= p
    for l in range(nl):
        if fixed[l, ND] >= 0:
            orders[l, :] = fixed[l, ND:]
            continue
        for d in range(ND):
            orders[l, d] = d
        for i in range(ND - 1, 0, -1):
            j = np.random.randint(i + 1)
            t = orders[l, i]
            orders[l, i] = orders[l, j]
            orders[l, j] = t
        if stationary >= 0:
            _stationary_order(orders[l], op_i, stationary)
    return _repair(nl, na, level_i, level_f, axis_i, op_i, proj, bounds, factors, fixed)


@nb.njit(cache=True, error_model="numpy")
def _stationary_order(order, op_i, o):
    """Stable-partition one level's order so the dims operand o ignores come innermost."""
    tmp = np.empty(ND, np.int64)
    m = 0
    for i in range(ND):
        if op_i[o, 4 + order[i]]:
            tmp[m] = order[i]
            m += 1
    for i in range(ND):
        if not op_i[o, 4 + order[i]]:
            tmp[m] = order[i]
            m += 1
    order[:] = tmp


@nb.njit(cache=True, error_model="numpy")
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


@nb.njit(cache=True, error_model="numpy")
def _mutate(nl, na, level_i, op_i, factors, orders, stationary, fixed):
    r = np.random.randint(3)
    if r < 2:
        # move one prime factor of one dim to another allowed level
        count = 0
        for j in range(nl):
            for d in range(ND):
                if factors[j, d] > 1 and fixed[j, d] == 0:
                    count += 1
        if count == 0:
            return
        pick = np.random.randint(count)
        for j in range(nl):
            for d in range(ND):
                if factors[j, d] > 1 and fixed[j, d] == 0:
                    if pick == 0:
                        t = np.random.randint(nl)
                        if t != j and level_i[t, 6 + d] and fixed[t, d] == 0:
                            p = _smallest_prime(factors[j, d])
                            factors[j, d] //= p
                            factors[t, d] *= p
                    pick -= 1
    else:
        l = np.random.randint(nl)
        if fixed[l, ND] >= 0:
            return
        i = np.random.randint(ND)
        j = np.random.randint(ND)
        t = orders[l, i]
        orders[l, i] = orders[l, j]
        orders[l, j] = t
        if stationary >= 0:
            _stationary_order(orders[l], op_i, stationary)


@nb.njit(cache=True, error_model="numpy")
def _search(ints, floats, level_i, level_f, axis_i, op_i, proj, bounds, spatial, stationary, fixed, objective,
            max_samples, victory, refine, seed, best_f, best_o, best_out):  # fmt: skip
    np.random.seed(seed)
    nl = ints[0]
    na = ints[1]
    f = np.empty_like(best_f)
    o = np.empty_like(best_o)
    out = np.empty(3)
    ws = _workspace(nl, na)
    best_out[0] = np.inf
    best_out[1] = np.inf
    best_out[2] = 0.0
    found = False
    evaluated = 0
    n_cands = spatial.shape[0]
    per_cand = max(1, max_samples // n_cands)
    for k in range(n_cands):
        # each spatial candidate gets its share of samples and its own victory condition
        since = 0
        for _ in range(per_cand):
            if not _sample(nl, na, level_i, level_f, axis_i, op_i, proj, bounds, spatial, k, stationary, fixed, f, o):
                continue
            _evaluate_one(ints, floats, level_i, level_f, axis_i, op_i, proj, bounds, f, o, out, ws)
            evaluated += 1
            if out[2] == 0.0:
                continue
            if not found or _better(out, best_out, objective, floats[2]):
                found = True
                best_f[:, :] = f
                best_o[:, :] = o
                best_out[:] = out
                since = 0
            else:
                since += 1
                if since >= victory:
                    break
    if not found:
        return evaluated
    for _ in range(refine):
        f[:, :] = best_f
        o[:, :] = best_o
        _mutate(nl, na, level_i, op_i, f, o, stationary, fixed)
        if not _repair(nl, na, level_i, level_f, axis_i, op_i, proj, bounds, f, fixed):
            continue
        _evaluate_one(ints, floats, level_i, level_f, axis_i, op_i, proj, bounds, f, o, out, ws)
        evaluated += 1
        if out[2] == 1.0 and _better(out, best_out, objective, floats[2]):
            best_f[:, :] = f
            best_o[:, :] = o
            best_out[:] = out
    return evaluated


def no_constraints(n_levels: int) -> np.ndarray:
    """The ``fixed`` array meaning no constraint: [:, :8] fixed factors (0 = free), [:, 8:] a fixed order (-1 = free)."""
    fixed = np.zeros((n_levels, 2 * ND), np.int64)
    fixed[:, ND:] = -1
    return fixed


def search(
    problem: Problem,
    spatial: np.ndarray,
    objective: tuple[str, ...] = ("edp",),
    *,
    max_samples: int = 20000,
    victory: int = 2000,
    refine: int = 3000,
    seed: int = 0,
    stationary: int = -1,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Random-pruned sampling with a victory condition, then local refinement.

    Returns (factors, orders, (energy_pj, cycles, fits), mappings evaluated); fits is 0 when
    no valid mapping was found.
    """
    nl, na = problem.n_levels, problem.n_axes
    best_f = np.ones((nl + na, ND), np.int64)
    best_o = np.tile(np.arange(ND, dtype=np.int64), (nl, 1))
    best_out = np.zeros(3)
    codes = np.array([OBJECTIVE_CODES[o] for o in objective], np.int64)
    fixed = no_constraints(nl) if fixed is None else fixed
    n = _search(*problem.args(), np.ascontiguousarray(spatial, np.int64), stationary, fixed, codes, max_samples, victory, refine,
                seed, best_f, best_o, best_out)  # fmt: skip
    return best_f, best_o, best_out, int(n)


@nb.njit(cache=True, error_model="numpy")
def _random_batch(ints, floats, level_i, level_f, axis_i, op_i, proj, bounds, spatial, seed, factors, orders):
    np.random.seed(seed)
    fixed = np.zeros((ints[0], 2 * ND), np.int64)
    fixed[:, ND:] = -1
    made = 0
    while made < factors.shape[0]:
        k = np.random.randint(spatial.shape[0])
        if _sample(ints[0], ints[1], level_i, level_f, axis_i, op_i, proj, bounds, spatial, k, -1, fixed, factors[made], orders[made]):
            made += 1


def random_mappings(problem: Problem, spatial: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random valid encoded mappings (for benchmarks and tests)."""
    nl, na = problem.n_levels, problem.n_axes
    factors = np.ones((n, nl + na, ND), np.int64)
    orders = np.zeros((n, nl, ND), np.int64)
    _random_batch(*problem.args(), np.ascontiguousarray(spatial, np.int64), seed, factors, orders)
    return factors, orders
