"""Tests for hwsim.core.technology: cited anchors, monotonicity, Eyeriss ratios, continuity, errors."""

from __future__ import annotations

import itertools
import math

import pytest

from hwsim.core import technology as tech

KB = 1024.0
MB = 1024.0 * 1024.0


# The module's docstring says the fits pass through these anchors exactly: floating-point rounding only.
EXACT = 1e-9


# --------------------------------------------------------------------------- Horowitz anchors (45 nm)


@pytest.mark.parametrize(
    ("bits", "mult_pj", "add_pj"),
    [(8, 0.2, 0.03), (32, 3.1, 0.1)],
)
def test_int_mac_reproduces_horowitz_45nm(bits: int, mult_pj: float, add_pj: float) -> None:
    """Horowitz ISSCC 2014's 45 nm multiply + add figures, which the fit passes through exactly."""
    assert tech.mac_energy_pj(45, bits, bits, bits) == pytest.approx(mult_pj + add_pj, rel=EXACT)


def test_int_multiplier_and_adder_parts_reproduce_horowitz() -> None:
    """Horowitz's 45 nm multiplier (0.2 / 3.1 pJ) and adder (0.03 / 0.1 pJ) figures separately, exactly."""
    # The accumulate part alone: difference between two accumulator widths isolates the adder.
    mult8 = tech.mac_energy_pj(45, 8, 8, 8) - 0.03
    mult32 = tech.mac_energy_pj(45, 32, 32, 8) - 0.03
    assert mult8 == pytest.approx(0.2, rel=EXACT)
    assert mult32 == pytest.approx(3.1, rel=EXACT)
    add32 = tech.mac_energy_pj(45, 8, 8, 32) - mult8
    assert add32 == pytest.approx(0.1, rel=EXACT)


def test_multiplier_roughly_proportional_to_width_product() -> None:
    e = [tech.mac_energy_pj(45, w, w, 1) for w in (8, 16)]
    assert 3.0 < e[1] / e[0] < 4.5  # 4x the partial products -> ~4x energy


@pytest.mark.parametrize(("bits", "expected"), [(16, 1.1 + 0.4), (32, 3.7 + 0.9)])
def test_fp_mac_reproduces_horowitz_45nm(bits: int, expected: float) -> None:
    """Horowitz's 45 nm fp16/fp32 multiply + add figures, which the power laws pass through exactly."""
    assert tech.mac_energy_pj(45, bits, bits, bits, number="fp") == pytest.approx(expected, rel=EXACT)
    assert tech.mac_energy_pj(45, bits, bits, bits, number="FP") == pytest.approx(expected, rel=EXACT)


def test_fp_costs_more_than_int() -> None:
    assert tech.mac_energy_pj(45, 16, 16, 16, "fp") > tech.mac_energy_pj(45, 16, 16, 16, "int")


@pytest.mark.parametrize(("size", "expected"), [(8 * KB, 10.0), (32 * KB, 20.0), (1 * MB, 100.0)])
def test_sram_read_reproduces_horowitz_45nm(size: float, expected: float) -> None:
    """Horowitz's 45 nm 64-bit SRAM reads (8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ): interpolated through, so exact."""
    assert tech.sram_access_energy_pj(45, size, 64, "read") == pytest.approx(expected, rel=EXACT)


def test_sram_grows_about_as_sqrt_capacity() -> None:
    small = tech.sram_access_energy_pj(45, 8 * KB, 64)
    big = tech.sram_access_energy_pj(45, 512 * KB, 64)
    exponent = math.log(big / small) / math.log(64)
    assert 0.4 <= exponent <= 0.55


def test_sram_linear_in_word_width() -> None:
    e64 = tech.sram_access_energy_pj(45, 32 * KB, 64)
    assert tech.sram_access_energy_pj(45, 32 * KB, 16) == pytest.approx(e64 / 4)
    assert tech.sram_access_energy_pj(45, 32 * KB, 128) == pytest.approx(e64 * 2)


@pytest.mark.parametrize("size", [64.0, 512.0, 2 * KB, 128 * KB, 4 * MB])
def test_write_ratio_is_modest(size: float) -> None:
    r = tech.sram_access_energy_pj(65, size, 64, "read")
    w = tech.sram_access_energy_pj(65, size, 64, "write")
    assert 1.0 <= w / r <= 1.2
    assert w / r == pytest.approx(tech.WRITE_TO_READ_RATIO)


# --------------------------------------------------------------------------- Eyeriss-like sanity (65 nm)


def test_eyeriss_like_mac_within_2x() -> None:
    mac = tech.mac_energy_pj(65, 8, 8, 16)
    assert 0.208 / 2 <= mac <= 0.208 * 2


def test_eyeriss_normalized_ordering_per_16bit_word() -> None:
    mac = tech.mac_energy_pj(65, 8, 8, 16)
    rf = tech.sram_access_energy_pj(65, 512, 16)
    hop = tech.noc_hop_energy_pj(65, 16)
    glb = tech.sram_access_energy_pj(65, 128 * KB, 16)
    dram = 16 * tech.dram_energy_pj_per_bit("LPDDR4")
    assert rf < hop < glb < dram
    assert 0.5 <= rf / mac <= 2.0  # Eyeriss: RF ~1x a MAC
    assert 100 <= dram / mac <= 400  # Eyeriss: DRAM ~200x a MAC


def test_noc_hop_is_two_16bit_macs() -> None:
    for node in (7, 28, 45, 65, 180):
        assert tech.noc_hop_energy_pj(node, 16) == pytest.approx(2 * tech.mac_energy_pj(node, 16, 16, 16))
    assert tech.noc_hop_energy_pj(65, 64) == pytest.approx(4 * tech.noc_hop_energy_pj(65, 16))


def test_glb_in_the_range_of_the_reference_table() -> None:
    # The Eyeriss-like table (CACTI) has 18.2 pJ; Horowitz-anchored values are knowingly higher.
    glb = tech.sram_access_energy_pj(65, 128 * KB, 64)
    assert 18.2 <= glb <= 18.2 * 5


# --------------------------------------------------------------------------- monotonicity


NODES = [180, 150, 130, 110, 90, 65, 55, 45, 40, 32, 28, 22, 20, 16, 14, 12, 10, 8, 7]


def test_energy_shrinks_with_node() -> None:
    macs = [tech.mac_energy_pj(n, 8, 8, 24) for n in NODES]
    srams = [tech.sram_access_energy_pj(n, 64 * KB, 64) for n in NODES]
    hops = [tech.noc_hop_energy_pj(n, 16) for n in NODES]
    for seq in (macs, srams, hops):
        assert all(a > b for a, b in itertools.pairwise(seq))


def test_area_shrinks_with_node() -> None:
    seqs = [
        [tech.mac_area_um2(n, 8, 8, 24) for n in NODES],
        [tech.sram_area_um2(n, 64 * KB, 64) for n in NODES],
        [tech.register_area_um2(n, 16) for n in NODES],
    ]
    for seq in seqs:
        assert all(a > b for a, b in itertools.pairwise(seq))


def test_sram_energy_grows_with_capacity() -> None:
    sizes = [2.0**k for k in range(3, 27)]  # 8 B .. 64 MiB, across the RF/SRAM switch
    for action in ("read", "write"):
        e = [tech.sram_access_energy_pj(65, s, 16, action) for s in sizes]
        assert all(a < b for a, b in itertools.pairwise(e))


def test_energy_grows_with_width() -> None:
    widths = [1, 2, 4, 8, 16, 32, 64]
    sram = [tech.sram_access_energy_pj(45, 16 * KB, w) for w in widths]
    mac_w = [tech.mac_energy_pj(45, w, 8, 24) for w in widths]
    mac_acc = [tech.mac_energy_pj(45, 8, 8, w) for w in widths]
    for seq in (sram, mac_w, mac_acc):
        assert all(a < b for a, b in itertools.pairwise(seq))


def test_sram_area_and_leakage_grow_with_capacity() -> None:
    sizes = [2.0**k for k in range(3, 25)]
    area = [tech.sram_area_um2(45, s, 64) for s in sizes]
    leak = [tech.sram_leakage_mw(45, s) for s in sizes]
    assert all(a < b for a, b in itertools.pairwise(area))
    assert all(a < b for a, b in itertools.pairwise(leak))


# --------------------------------------------------------------------------- continuity at RF/SRAM switch


def test_rf_sram_switch_is_continuous() -> None:
    s = tech.RF_SWITCH_BYTES
    below = tech.sram_access_energy_pj(65, s * 0.999, 16)
    above = tech.sram_access_energy_pj(65, s * 1.001, 16)
    assert above / below < 1.3
    assert above / below == pytest.approx(1.0, abs=0.01)


def test_no_jumps_over_a_fine_capacity_sweep() -> None:
    size = 64.0
    prev = tech.sram_access_energy_pj(45, size, 64)
    prev_area = tech.sram_area_um2(45, size, 64)
    while size < 64 * KB:
        size *= 1.02
        cur = tech.sram_access_energy_pj(45, size, 64)
        cur_area = tech.sram_area_um2(45, size, 64)
        assert cur / prev < 1.3
        assert cur_area / prev_area < 1.3
        prev, prev_area = cur, cur_area


# --------------------------------------------------------------------------- scaling


def test_scaling_identity_and_round_trip() -> None:
    assert tech.scale_energy(3.0, 45, 45) == pytest.approx(3.0)
    assert tech.scale_area(3.0, 65, 65) == pytest.approx(3.0)
    there = tech.scale_energy(1.0, 45, 28)
    assert tech.scale_energy(there, 28, 45) == pytest.approx(1.0)
    assert tech.scale_area(tech.scale_area(5.0, 180, 7), 7, 180) == pytest.approx(5.0)


def test_tabulated_area_factors() -> None:
    # Stillmaker & Baas area table, 45 nm row.
    assert tech.scale_area(1.0, 45, 65) == pytest.approx(1.5)
    assert tech.scale_area(1.0, 45, 7) == pytest.approx(0.059)
    assert tech.scale_area(1.0, 45, 180) == pytest.approx(19.0)


def test_interpolated_nodes_lie_between_neighbours() -> None:
    e28 = tech.scale_energy(1.0, 45, 28)
    assert tech.scale_energy(1.0, 45, 20) < e28 < tech.scale_energy(1.0, 45, 32)
    a28 = tech.scale_area(1.0, 45, 28)
    assert tech.scale_area(1.0, 45, 20) < a28 < tech.scale_area(1.0, 45, 32)


def test_mac_scales_like_scale_energy() -> None:
    assert tech.mac_energy_pj(7, 8, 8, 24) == pytest.approx(tech.scale_energy(tech.mac_energy_pj(45, 8, 8, 24), 45, 7))


def test_supported_nodes_constants() -> None:
    assert tech.SUPPORTED_NODES_NM[0] == tech.MAX_NODE_NM == 180
    assert tech.SUPPORTED_NODES_NM[-1] == tech.MIN_NODE_NM == 7
    assert 65 in tech.SUPPORTED_NODES_NM and 45 in tech.SUPPORTED_NODES_NM


# --------------------------------------------------------------------------- areas and leakage


def test_large_sram_area_per_bit_is_a_6t_cell_plus_overhead() -> None:
    per_bit = tech.sram_area_um2(45, 1 * MB, 64) / (8 * MB)
    assert 0.35 <= per_bit <= 0.7


def test_mac_area_a_few_hundred_um2_at_45nm() -> None:
    assert 200 <= tech.mac_area_um2(45, 8, 8, 24) <= 1000
    assert tech.mac_area_um2(45, 16, 16, 32) > 2 * tech.mac_area_um2(45, 8, 8, 24)


def test_register_area_is_a_flip_flop_per_bit() -> None:
    assert tech.register_area_um2(45, 1) == pytest.approx(4.522)
    assert tech.register_area_um2(45, 16) == pytest.approx(16 * 4.522)


def test_tiny_storage_uses_register_file_area() -> None:
    # 12 x 16-bit ifmap spad: built of flops, far below an SRAM macro's periphery-dominated area.
    assert tech.sram_area_um2(45, 24, 16) < 24 * 8 * 8.0


def test_leakage_is_small() -> None:
    assert 0 < tech.sram_leakage_mw(65, 128 * KB) < 5.0


# --------------------------------------------------------------------------- DRAM


@pytest.mark.parametrize(
    ("kind", "pj"),
    [("LPDDR4", 8.0), ("GDDR5", 14.0), ("HBM2", 3.9), ("HMC", 4.2), ("DDR3", 70.0), ("LPDDR", 40.0)],
)
def test_dram_table(kind: str, pj: float) -> None:
    assert tech.dram_energy_pj_per_bit(kind) == pj
    assert kind in tech.DRAM_KINDS


@pytest.mark.parametrize("spelling", ["lpddr4", "LPDDR-4", "lp_ddr_4", "Lpddr4", " LPDDR4 "])
def test_dram_kind_normalisation(spelling: str) -> None:
    assert tech.dram_energy_pj_per_bit(spelling) == 8.0


def test_dram_kinds_tuple() -> None:
    assert tech.DRAM_KINDS == ("LPDDR4", "GDDR5", "HBM2", "HMC", "DDR3", "LPDDR")


# --------------------------------------------------------------------------- errors


def test_unknown_dram_kind_lists_known_kinds() -> None:
    known = r"known kinds: LPDDR4, GDDR5, HBM2, HMC, DDR3, LPDDR"
    with pytest.raises(ValueError, match=r"unknown DRAM kind 'DDR5'; " + known):
        tech.dram_energy_pj_per_bit("DDR5")


@pytest.mark.parametrize("node", [5, 6.9, 180.5, 250, float("nan"), float("inf")])
def test_node_out_of_range(node: float) -> None:
    with pytest.raises(ValueError, match=r"node_nm must be (between 7 and 180 nm|finite)"):
        tech.mac_energy_pj(node, 8, 8, 16)
    with pytest.raises(ValueError, match=r"node_nm must be"):
        tech.sram_access_energy_pj(node, 1024, 16)


def test_node_message_names_the_range_and_value() -> None:
    with pytest.raises(ValueError, match=r"node_nm must be between 7 and 180 nm .*got 5"):
        tech.sram_area_um2(5, 1024, 64)


def test_scale_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"from_nm must be between 7 and 180 nm"):
        tech.scale_energy(1.0, 3, 45)
    with pytest.raises(ValueError, match=r"to_nm must be between 7 and 180 nm"):
        tech.scale_area(1.0, 45, 300)
    with pytest.raises(ValueError, match=r"value_pj must be non-negative, got -1"):
        tech.scale_energy(-1.0, 45, 65)


@pytest.mark.parametrize("size", [0, -1, -0.5])
def test_non_positive_size(size: float) -> None:
    with pytest.raises(ValueError, match=r"size_bytes must be positive"):
        tech.sram_access_energy_pj(45, size, 64)
    with pytest.raises(ValueError, match=r"size_bytes must be positive"):
        tech.sram_area_um2(45, size, 64)
    with pytest.raises(ValueError, match=r"size_bytes must be positive"):
        tech.sram_leakage_mw(45, size)


def test_non_positive_widths() -> None:
    with pytest.raises(ValueError, match=r"word_bits must be positive, got 0"):
        tech.sram_access_energy_pj(45, 1024, 0)
    with pytest.raises(ValueError, match=r"weight_bits must be positive"):
        tech.mac_energy_pj(45, 0, 8, 16)
    with pytest.raises(ValueError, match=r"acc_bits must be positive"):
        tech.mac_area_um2(45, 8, 8, -4)
    with pytest.raises(ValueError, match=r"bits must be positive"):
        tech.noc_hop_energy_pj(45, 0)
    with pytest.raises(ValueError, match=r"bits must be positive"):
        tech.register_area_um2(45, 0)


def test_bad_number_kind_and_action() -> None:
    with pytest.raises(ValueError, match=r"number must be one of int, fp, got 'bf16'"):
        tech.mac_energy_pj(45, 16, 16, 16, number="bf16")
    with pytest.raises(ValueError, match=r"action must be one of read, write, got 'erase'"):
        tech.sram_access_energy_pj(45, 1024, 64, "erase")


def test_non_numbers_rejected() -> None:
    with pytest.raises(ValueError, match=r"node_nm must be a number"):
        tech.mac_energy_pj("65", 8, 8, 16)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"size_bytes must be a number"):
        tech.sram_access_energy_pj(65, True, 64)
