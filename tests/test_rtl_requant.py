"""Requantization: the TFLite reference against closed forms, and the RTL output stage against the reference."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.rtl.quant import (
    INT32_MAX,
    INT32_MIN,
    activation_range,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    requantize,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

int32 = st.integers(INT32_MIN, INT32_MAX)
EDGE32 = [INT32_MIN, INT32_MIN + 1, -(1 << 30), -1, 0, 1, 1 << 30, INT32_MAX]


def _half_up(f: Fraction) -> int:
    return math.floor(f + Fraction(1, 2))


def _half_away(f: Fraction) -> int:
    return int(math.copysign(math.floor(abs(f) + Fraction(1, 2)), f))


@given(int32, int32)
def test_high_mul_is_round_half_up_of_the_doubled_product(a: int, b: int) -> None:
    got = int(saturating_rounding_doubling_high_mul(np.array(a), np.array(b)))
    if a == b == INT32_MIN:
        assert got == INT32_MAX
    else:
        assert got == _half_up(Fraction(a * b, 1 << 31))


def test_high_mul_ties_and_edges() -> None:
    a = np.array([x for x in EDGE32 for _ in EDGE32])
    b = np.array([y for _ in EDGE32 for y in EDGE32])
    got = saturating_rounding_doubling_high_mul(a, b)
    want = [INT32_MAX if x == y == INT32_MIN else _half_up(Fraction(x * y, 1 << 31)) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    assert got.tolist() == want
    # Ties: a·b = ±2^30 is ±0.5 after the doubling high half; TFLite rounds both up (toward +∞).
    assert saturating_rounding_doubling_high_mul(np.array([1 << 15, -(1 << 15)]), np.array([1 << 15, 1 << 15])).tolist() == [1, 0]


@given(int32, st.integers(0, 31))
def test_rounding_divide_is_round_half_away(x: int, e: int) -> None:
    assert int(rounding_divide_by_pot(np.array(x), np.array(e))) == _half_away(Fraction(x, 1 << e))


def test_rounding_divide_ties() -> None:
    assert rounding_divide_by_pot(np.array([5, -5, 6, -6, 7, -7, INT32_MIN, INT32_MAX]), np.array([1, 1, 2, 2, 0, 0, 31, 31])).tolist() == [
        3, -3, 2, -2, 7, -7, -1, 1]  # fmt: skip
    with pytest.raises(ValueError, match="exponent must be 0 to 31"):
        rounding_divide_by_pot(np.array([1]), np.array([32]))


@pytest.mark.parametrize("real", [1e-9, 0.0001, 0.00390625, 0.3, 0.5, 0.75, 0.999999999, 1.0, 1.5, 3.7, 1000.0])
def test_quantize_multiplier_represents_the_scale(real: float) -> None:
    mult, shift = quantize_multiplier(real)
    assert (1 << 30) <= mult < (1 << 31)
    assert math.isclose(mult * 2.0 ** (shift - 31), real, rel_tol=2**-30)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(1e-12) == (0, 0)  # below 2^-31·2^-1: TFLite gives up (shift < −31)


@given(int32, st.floats(1e-6, 0.999), st.integers(-128, 127))
def test_requantize_close_to_real_arithmetic(acc: int, scale: float, zp: int) -> None:
    """Two roundings (high half, then shift): within one step of the exact rounded value, then clamped."""
    mult, shift = quantize_multiplier(scale)
    y = int(requantize(np.array([acc]), np.array([0]), np.array([mult]), np.array([shift]), zp, -128, 127)[0])
    exact = Fraction(acc) * Fraction(mult) * Fraction(2) ** (shift - 31) + zp
    assert abs(y - min(max(_half_away(exact), -128), 127)) <= 1


def test_activation_ranges() -> None:
    assert activation_range("none", 0.1, 3) == (-128, 127)
    assert activation_range("relu", 0.1, -5) == (-5, 127)
    assert activation_range("relu6", 0.05, -128) == (-128, -8)  # 6 / 0.05 = 120
    assert activation_range("relu6", 0.01, 0) == (0, 127)  # 600 saturates
    with pytest.raises(ValueError, match="relu, relu6"):
        activation_range("gelu", 0.1, 0)


def test_left_shift_wraps_as_int32() -> None:
    # x · 2^left on int32 (TFLite's ``x * (1 << left_shift)``) wraps before the multiply.
    got = multiply_by_quantized_multiplier(np.array([1 << 20]), np.array([1 << 30]), np.array([12]))
    assert got.tolist() == [0]  # 2^20 · 2^12 = 2^32 wraps to 0
    got = multiply_by_quantized_multiplier(np.array([3 << 28]), np.array([1 << 30]), np.array([2]))
    assert got.tolist() == [-(1 << 29)]  # 3·2^30 wraps to −2^30; times 2^30 / 2^31


# ---- the RTL output stage against the reference

pytest.importorskip("amaranth")


def _run_requantizer(acc: np.ndarray, bias: np.ndarray, mult: np.ndarray, shift: np.ndarray, zp: int, lo: int, hi: int,
                     acc_bits: int = 32, stall_seed: int | None = None) -> np.ndarray:  # fmt: skip
    """Stream the rows of ``acc`` (lanes on axis 1) through the Requantizer, with random stalls."""
    from amaranth.sim import Simulator

    from hwsim.rtl.requant import LATENCY, Requantizer

    n, lanes = acc.shape
    dut = Requantizer(lanes, acc_bits, 8, 16)
    rng = np.random.default_rng(stall_seed)
    out: list[list[int]] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        ctx.set(dut.out_zero_point, zp)
        ctx.set(dut.act_min, lo)
        ctx.set(dut.act_max, hi)
        i = 0
        for _ in range(50 * (n + LATENCY)):
            en = stall_seed is None or rng.random() < 0.7
            ctx.set(dut.en, en)
            if en:
                ctx.set(dut.i_valid, i < n)
                if i < n:
                    ctx.set(dut.i_tag, i)
                    for j in range(lanes):
                        ctx.set(dut.acc[j], int(acc[i, j]))
                        ctx.set(dut.params[j].bias, int(bias[i, j]))
                        ctx.set(dut.params[j].multiplier, int(mult[i, j]))
                        ctx.set(dut.params[j].shift, int(shift[i, j]))
                i += 1
            await ctx.tick()
            if en and ctx.get(dut.o_valid):
                assert ctx.get(dut.o_tag) == len(out)
                out.append([ctx.get(dut.out[j]) for j in range(lanes)])
            if len(out) == n:
                return

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(out, dtype=np.int64)


def test_rtl_requantizer_edge_cases() -> None:
    """Every pair of edge accumulators and multipliers, at shifts −31, −1, 0, 1, 30; ties; saturation; clamps."""
    accs = [*EDGE32, 1 << 15, -(1 << 15), 3, -3, 5, -5, 12345678, -12345678]
    mults = [INT32_MIN, 0, 1 << 30, (1 << 30) + 1, INT32_MAX, -(1 << 30)]
    shifts = [-31, -20, -1, 0, 1, 30]
    rows = [(a, mu, s) for a in accs for mu in mults for s in shifts]
    lanes = 4
    rows += [rows[0]] * (-len(rows) % lanes)
    arr = np.array(rows, dtype=np.int64).reshape(-1, lanes, 3)
    acc, mult, shift = arr[..., 0], arr[..., 1], arr[..., 2]
    bias = np.zeros_like(acc)
    bias[::3] = INT32_MAX  # acc + bias wraps
    for zp, lo, hi in [(0, -128, 127), (-7, -7, 127), (10, 10, 40)]:
        got = _run_requantizer(acc, bias, mult, shift, zp, lo, hi)
        assert np.array_equal(got, requantize(acc, bias, mult, shift, zp, lo, hi))


@settings(max_examples=8, deadline=None)
@given(lanes=st.integers(1, 5), n=st.integers(1, 12), seed=st.integers(0, 2**32 - 1), acc_bits=st.sampled_from([16, 24, 32]),
       zp=st.integers(-128, 127), activation=st.sampled_from(["none", "relu", "relu6"]))  # fmt: skip
def test_rtl_requantizer_random(lanes: int, n: int, seed: int, acc_bits: int, zp: int, activation: str) -> None:
    rng = np.random.default_rng(seed)
    half = 1 << (acc_bits - 1)
    acc = rng.integers(-half, half, size=(n, lanes))
    bias = rng.integers(-(1 << 20), 1 << 20, size=(n, lanes))
    scales = rng.uniform(1e-5, 2.0, size=(n, lanes)) ** rng.choice([1, 3])
    qm = [quantize_multiplier(float(s)) for s in scales.ravel()]
    mult = np.array([q[0] for q in qm]).reshape(n, lanes)
    shift = np.clip(np.array([q[1] for q in qm]).reshape(n, lanes), -31, 30)
    lo, hi = activation_range(activation, float(rng.uniform(0.01, 0.2)), zp)
    got = _run_requantizer(acc, bias, mult, shift, zp, lo, hi, acc_bits=acc_bits, stall_seed=seed)
    assert np.array_equal(got, requantize(acc, bias, mult, shift, zp, lo, hi))
