"""Integer requantization as TensorFlow Lite defines it: the numpy reference for the core's output path.

Written from TFLite's definitions, not from the RTL (``tensorflow/lite/kernels/internal/common.h``,
``reference/integer_ops/conv.h``, ``kernel_util.cc`` and gemmlowp's ``fixedpoint.h``):

* :func:`saturating_rounding_doubling_high_mul` — gemmlowp's ``SaturatingRoundingDoublingHighMul``:
  ``(a·b + nudge) / 2³¹`` with C's truncating division, ``nudge = 2³⁰`` (``1 − 2³⁰`` for a negative
  product), saturating the one overflow ``a = b = −2³¹`` to ``2³¹ − 1``;
* :func:`rounding_divide_by_pot` — ``RoundingDivideByPOT``: an arithmetic right shift rounding half
  away from zero (``remainder > (mask >> 1) + (x < 0)``), exponent 0…31;
* :func:`multiply_by_quantized_multiplier` — ``MultiplyByQuantizedMultiplier(x, M, shift)``: a left
  shift ``max(shift, 0)`` (C's ``x * (1 << left)`` on int32, which wraps on two's-complement
  hardware), the high multiply, then the rounding right shift by ``max(−shift, 0)``;
* :func:`requantize` — the per-channel output stage of TFLite's int8 convolution: ``acc + bias``
  (int32), the multiplier, ``+ output zero point``, clamp to ``[act_min, act_max]``;
* :func:`quantize_multiplier` — ``QuantizeMultiplier``: a real scale as a Q31 multiplier and a shift;
* :func:`activation_range` — ``CalculateActivationRangeQuantized`` for none, ReLU and ReLU6.

Everything works on int64 numpy arrays holding int32 values (a product of two int32 fits).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "ACTIVATIONS", "INT32_MAX", "INT32_MIN", "activation_range", "multiply_by_quantized_multiplier", "quantize_multiplier",
    "requantize", "rounding_divide_by_pot", "saturating_rounding_doubling_high_mul", "wrap32",
]  # fmt: skip

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
ACTIVATIONS = ("none", "relu", "relu6")


def wrap32(x: np.ndarray | int) -> np.ndarray:
    """Two's-complement wrap to int32 (what int32 arithmetic does on the hardware TFLite runs on)."""
    return ((np.asarray(x, dtype=np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    overflow = (a64 == b64) & (a64 == INT32_MIN)
    ab = np.where(overflow, 0, a64 * b64)  # the one product that does not fit int64 arithmetic below is masked
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    num = ab + nudge
    high = np.where(num >= 0, num // (1 << 31), -((-num) // (1 << 31)))  # C division truncates toward zero
    return np.where(overflow, INT32_MAX, high)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    x, e = np.asarray(x, dtype=np.int64), np.asarray(exponent, dtype=np.int64)
    if np.any((e < 0) | (e > 31)):
        raise ValueError(f"RoundingDivideByPOT's exponent must be 0 to 31, not {e[(e < 0) | (e > 31)].ravel()[:3].tolist()}")
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    shift = np.asarray(shift, dtype=np.int64)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    shifted = wrap32(np.asarray(x, dtype=np.int64) * (np.int64(1) << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def requantize(acc: np.ndarray, bias: np.ndarray, multiplier: np.ndarray, shift: np.ndarray, out_zero_point: int,
               act_min: int, act_max: int) -> np.ndarray:  # fmt: skip
    """TFLite's per-channel output stage: channels on the last axis of ``acc`` (int32 accumulators)."""
    x = wrap32(np.asarray(acc, dtype=np.int64) + np.asarray(bias, dtype=np.int64))
    y = multiply_by_quantized_multiplier(x, multiplier, shift) + out_zero_point
    return np.clip(y, act_min, act_max)


def _round_half_away(v: float) -> int:
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``(multiplier, shift)`` with ``real ≈ multiplier · 2^(shift − 31)``, multiplier in ``[2³⁰, 2³¹)`` (0 for 0)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = _round_half_away(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def activation_range(activation: str, scale: float, zero_point: int, bits: int = 8) -> tuple[int, int]:
    """``(act_min, act_max)`` of a fused activation in the output's quantized domain (signed ``bits``)."""
    qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def quantize(f: float) -> int:
        return zero_point + _round_half_away(float(np.float32(f) / np.float32(scale)))

    if activation == "relu":
        return max(qmin, quantize(0.0)), qmax
    if activation == "relu6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "none":
        return qmin, qmax
    raise ValueError(f"Activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}")
