"""The analytical access counts equal a brute-force walk of every iteration, exactly; and the bits and energy the
cost report charges for them equal what the spec's widths, formats and per-word energies give for the walked counts."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim.core.mapping import Mapping
from hwsim.core.workload import conv2d, fully_connected
from hwsim.cost.analytical import access_counts, evaluate_mapping
from hwsim.cost.bruteforce import brute_force_counts
from tests.strategies import cases, wide_cases

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
FAST = settings(max_examples=250, **SETTINGS)  # type: ignore[arg-type]
SLOW = settings(max_examples=3000, **SETTINGS)  # type: ignore[arg-type]


@FAST
@given(cases())
def test_analytical_equals_brute_force(case):
    layer, arch, mapping = case
    assert access_counts(layer, arch, mapping) == brute_force_counts(layer, arch, mapping)


# --- the widened cases: precisions, sparsity, formats, bit-serial/bit-fusion units that skip or gate zeros ------------


def _performed(layer, mac) -> float:
    """Share of the MACs the unit performs, from the spec: the product of the densities of the operands it skips
    (an ``n:m`` unit skips only N:M-structured ones)."""
    s = 1.0
    for op in layer.operands:
        if op.name in mac.skip and op.density < 1.0 and (mac.skip_structure == "any" or ":" in op.structure):
            s *= op.density
    return s


def _bits(op, level) -> float:
    """Bits one element of ``op`` occupies at ``level``: hwsim.cost.sparsity's format table, written out again (d: density,
    b: the width on chip, the partial-sum width for outputs)."""
    b = op.psum_bits if op.psum_bits is not None else op.bits
    d = op.density
    fmt = dict(level.formats).get(op.name)
    if fmt in (None, "uncompressed") or d >= 1.0:
        return b
    if fmt == "bitmask":
        return d * b + 1
    if fmt == "rle":
        return d * (b + 4)
    if fmt == "coo":
        return d * (b + 16)
    if fmt == "csr":
        return d * (b + 16) + 16 / 64
    m = int(op.structure.split(":")[1])
    return d * b + d * (m - 1).bit_length()  # the index of each kept value: ⌈log2 M⌉ bits


def _output_elements(layer, mapping) -> int:
    """Distinct output elements DRAM holds (each leaves once at the final width): the real ones, padding's never
    reach DRAM (a dim looped over past its bound counts up to its bound)."""
    extents = {d: 1 for d in layer.dims}  # each dim's loop factors multiplied: its bound, or more when padded
    for loops in (*mapping.temporal, *mapping.spatial):
        for d, f in loops:
            extents[d] *= f
    extents = {d: min(e, layer.dims[d]) for d, e in extents.items()}
    size = 1
    for axis in layer.operand("outputs").axes:
        size *= len(
            {sum(c * i for (_, c), i in zip(axis, idx, strict=True)) for idx in itertools.product(*(range(extents[d]) for d, _ in axis))}
        )
    return size


def _mac_parent(arch, mapping) -> str:
    """The level the MACs update their partial sums in."""
    return arch.levels[mapping.chain(arch, "outputs")[-2]].name


def _check_counts(case) -> None:
    layer, arch, mapping = case
    s = _performed(layer, arch.mac)
    got = evaluate_mapping(layer, arch, mapping).accesses
    want = brute_force_counts(layer, arch, mapping, s)
    assert got.keys() == want.keys()
    for key, w in want.items():
        g = got[key]
        assert (g.fills, g.updates) == (pytest.approx(w.fills, rel=1e-12), pytest.approx(w.updates, rel=1e-12)), key
        if s < 1.0 and key == (_mac_parent(arch, mapping), "outputs"):
            continue  # partial-sum read-back under zero-skipping: test_partial_sum_reads_under_skipping
        assert g.reads == pytest.approx(w.reads, rel=1e-12), key


def _moved_bits(layer, arch, mapping, counts, s) -> dict[str, tuple[float, float] | None]:
    """(read bits, write bits) of every level from walked counts, the widths and formats of the spec; None for the level
    whose MAC partial-sum reads are test_partial_sum_reads_under_skipping's."""
    final = _output_elements(layer, mapping)
    moved: dict[str, tuple[float, float] | None] = {lv.name: (0.0, 0.0) for lv in arch.levels}
    for (lv_name, op_name), a in counts.items():
        if s < 1.0 and (lv_name, op_name) == (_mac_parent(arch, mapping), "outputs"):
            moved[lv_name] = None
        if moved[lv_name] is None:
            continue
        op = layer.operand(op_name)
        b = _bits(op, arch.levels[arch.level_index(lv_name)])
        read_bits = a.reads * b
        if op.is_output and lv_name == arch.levels[0].name:  # finished outputs leave at their final width
            write_bits = final * op.bits + (a.updates - final) * b + a.fills * b
        else:
            write_bits = (a.fills + a.updates) * b
        r, w = moved[lv_name]  # type: ignore[misc]
        moved[lv_name] = (r + read_bits, w + write_bits)
    return moved


def _check_energy(case) -> None:
    layer, arch, mapping = case
    s = _performed(layer, arch.mac)
    r = evaluate_mapping(layer, arch, mapping)
    counts = brute_force_counts(layer, arch, mapping, s)
    for key in counts:  # each (level, operand) alone
        lv = arch.levels[arch.level_index(key[0])]
        bits = _moved_bits(layer, arch, mapping, {key: counts[key]}, s)[key[0]]
        if bits is not None:
            want = (bits[0] * lv.read_energy_pj + bits[1] * lv.write_energy_pj) / lv.word_bits
            assert r.access_energy_pj[key] == pytest.approx(want, rel=1e-9, abs=1e-9), key
    for lv in arch.levels:
        mine = [e for (name, _), e in r.access_energy_pj.items() if name == lv.name]
        assert r.level_energy_pj[lv.name] == pytest.approx(sum(mine), rel=1e-12, abs=1e-12)


def _check_transfers(case, ports: int, read_bw: float, write_bw: float) -> None:
    """Each level's transfer time is its bits moved per instance over its bandwidth, reads and writes sharing one port."""
    layer, arch, mapping = case
    levels = tuple(
        replace(lv, ports=ports, read_bandwidth_bits_per_cycle=read_bw, write_bandwidth_bits_per_cycle=write_bw) for lv in arch.levels
    )
    arch = replace(arch, levels=levels)
    s = _performed(layer, arch.mac)
    r = evaluate_mapping(layer, arch, mapping)
    moved = _moved_bits(layer, arch, mapping, brute_force_counts(layer, arch, mapping, s), s)
    for i, lv in enumerate(arch.levels):
        if moved[lv.name] is None:
            continue
        above = [j for j, a in enumerate(arch.axes) if arch.level_index(a.below) < i]  # the level's instances in use
        used = math.prod(f for j in above for _, f in mapping.spatial[j])
        rb, wb = (x / used for x in moved[lv.name])  # type: ignore[union-attr]
        want = (rb + wb) / read_bw if ports == 1 else max(rb / read_bw, wb / write_bw)
        assert r.transfer_cycles[lv.name] == pytest.approx(want, rel=1e-9, abs=1e-9), lv.name


@FAST
@given(wide_cases())
def test_wide_counts_equal_brute_force(case):
    _check_counts(case)


@FAST
@given(wide_cases())
def test_wide_bits_and_energy_from_brute_force_counts(case):
    _check_energy(case)


@FAST
@given(wide_cases(), st.sampled_from([1, 2]), st.sampled_from([3.0, 16.0]), st.sampled_from([5.0, 64.0]))
def test_wide_transfer_cycles_from_brute_force_counts(case, ports, read_bw, write_bw):
    _check_transfers(case, ports, read_bw, write_bw)


@pytest.mark.slow
@SLOW
@given(wide_cases(), st.sampled_from([1, 2]))
def test_wide_counts_energy_and_transfers_many(case, ports):
    _check_counts(case)
    _check_energy(case)
    _check_transfers(case, ports, 16.0, 64.0)


@FAST
@given(wide_cases())
def test_access_energy_never_negative(case):
    layer, arch, mapping = case
    r = evaluate_mapping(layer, arch, mapping)
    assert min(r.access_energy_pj.values()) >= 0 and r.energy_pj >= 0


def _skipping_at_dram():
    """FC 1 → 16, weights at density 0.1 skipped by the MAC unit, which updates its outputs in DRAM directly (one level)."""
    from tests.strategies import OPERANDS, Architecture, Level, MacUnit

    layer = fully_connected("fc", in_features=1, out_features=16).with_sparsity(weights=0.1)
    levels = (Level("DRAM", "dram", OPERANDS, None, 64, read_energy_pj=100.0, write_energy_pj=100.0),)
    return layer, Architecture("a", levels, (), MacUnit(skip=("weights",)), 1e9, 45), Mapping.build([[("K", 16)]], [])


# 16 outputs, one MAC each (u = 1): no partial sum is ever spilled or read back; each output leaves once at 8 bits:
# 16 × 8 = 128 bits / 64 × 100 pJ = 200 pJ. The model before issue 16: 16 × 8 + (0.1 × 16 − 16) × 24 = −217.6 bits: −340 pJ.


def test_skipping_at_dram_by_hand():
    layer, arch, m = _skipping_at_dram()
    bf = brute_force_counts(layer, arch, m, 0.1)[("DRAM", "outputs")]
    assert (bf.updates, bf.reads) == (pytest.approx(1.6), pytest.approx(0.0))  # s·u per output; nothing read back


def test_skipping_at_dram_model():
    layer, arch, m = _skipping_at_dram()
    assert evaluate_mapping(layer, arch, m).access_energy_pj[("DRAM", "outputs")] == pytest.approx(200.0)


def _skipping(case):
    """The case with uniform weight zeros (density ½) that its MAC unit skips, formats that take them."""
    layer, arch, mapping = case
    layer = layer.with_sparsity(weights=0.5)
    levels = tuple(replace(lv, formats=tuple((o, f) for o, f in lv.formats if f != "nm")) for lv in arch.levels)
    mac = replace(arch.mac, skip=("weights",), gate=(), skip_structure="any")
    return layer, replace(arch, levels=levels, mac=mac), mapping


@settings(max_examples=100, **SETTINGS)  # type: ignore[arg-type]
@given(wide_cases())
def test_partial_sum_reads_under_skipping(case):
    layer, arch, mapping = _skipping(case)
    key = (_mac_parent(arch, mapping), "outputs")
    got = access_counts(layer, arch, mapping, 0.5)[key].reads
    assert got == pytest.approx(brute_force_counts(layer, arch, mapping, 0.5)[key].reads, rel=1e-12, abs=1e-12)


def _two_macs_one_output():
    """Two MACs accumulate into one output (C = 2) held in a register; weights at density ½, skipped by the MAC unit."""
    from tests.strategies import OPERANDS, Architecture, Level, MacUnit

    layer = conv2d("c", in_channels=2, out_channels=1, in_hw=1, kernel=1).with_sparsity(weights=0.5)
    levels = (Level("DRAM", "dram", OPERANDS, None, 64), Level("RF", "regfile", ("outputs",), 64, 8))
    return layer, Architecture("a", levels, (), MacUnit(skip=("weights",)), 1e9, 45), Mapping.build([[], [("C", 2)]], [])


# Both MACs run with probability ¼ (one read-back of the first one's sum), one with probability ½ (no read-back: it is
# the first touch), none with ¼: E[reads] = ¼ = s·u − 1 + (1 − s)^u = ½·2 − 1 + ¼; updates ½·2 = 1.
# The model before issue 16: max(s·u − 1, 0) = max(½·2 − 1, 0) = 0.


def test_partial_sum_reads_under_skipping_by_hand():
    layer, arch, m = _two_macs_one_output()
    assert brute_force_counts(layer, arch, m, 0.5)[("RF", "outputs")].reads == pytest.approx(0.25)
    assert brute_force_counts(layer, arch, m, 0.5)[("RF", "outputs")].updates == pytest.approx(1.0)
    assert brute_force_counts(layer, arch, m)[("RF", "outputs")].reads == 1  # dense: the second MAC reads the first's sum
    assert access_counts(layer, arch, m, 0.5)[("RF", "outputs")].updates == pytest.approx(1.0)


def test_partial_sum_reads_under_skipping_by_hand_model():
    layer, arch, m = _two_macs_one_output()
    assert access_counts(layer, arch, m, 0.5)[("RF", "outputs")].reads == pytest.approx(0.25)  # 0 before issue 16


def test_halo_union_is_counted_once_under_multicast():
    # 1-D conv, P=4 outputs, R=3 taps, stride 1: four PEs each need 3 inputs, 6 distinct in all.
    from tests.strategies import Architecture, Level, MacUnit, SpatialAxis

    layer = conv2d("c", in_channels=1, out_channels=1, in_hw=(6, 1), kernel=(3, 1))
    levels = (Level("DRAM", "dram", ("weights", "inputs", "outputs"), None, 64), Level("RF", "regfile", ("inputs",), 64, 8))
    for multicast, want in ((True, 6), (False, 12)):
        arch = Architecture("a", levels, (SpatialAxis("x", 4, "DRAM", multicast=multicast),), MacUnit(), 1e9, 45)
        m = Mapping.build([[], [("R", 3)]], [[("P", 4)]])
        counts = access_counts(layer, arch, m)
        assert counts[("DRAM", "inputs")].reads == want
        assert counts[("RF", "inputs")].fills == 12
        assert counts == brute_force_counts(layer, arch, m)
