"""An FPGA resource model of the generated core, fitted to synthesized points.

LUTs and flip-flops are linear in a few structural terms of the core (least squares over
synthesized designs, :func:`fit`): a constant (controller, counters), the PEs' accumulator and
operand bits (``rows·cols·acc_bits``, ``rows·cols·(a_bits + w_bits)``) and the array edges
(skew and deskew registers, ``(rows + cols)·acc_bits``). Multipliers map one per PE to DSPs
while the device has them. Block RAMs are counted from the buffer shapes
(ECP5 DP16KD as 512×36, iCE40 SB_RAM40_4K as 256×16). ``FIT`` holds the coefficients fitted by
``benchmarks/rtl_synthesis.py``; :func:`fits` is the constraint a search can use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hwsim.core.arch import Architecture
from hwsim.rtl.config import RtlConfig, rtl_config

__all__ = ["DEVICES", "FIT", "ResourceEstimate", "estimate", "features", "fit", "fits"]

# Capacities: LFE5U-85F; iCE40 UP5K (logic cells count LUT4 and DFF pairs).
DEVICES: dict[str, dict[str, int]] = {
    "ecp5": {"luts": 83640, "ffs": 83640, "dsps": 156, "brams": 208},
    "ice40": {"luts": 5280, "ffs": 5280, "dsps": 8, "brams": 30},
}

# Fitted by benchmarks/rtl_synthesis.py on 7 synthesized ECP5 points (coefficients of features(); the table and
# the held-out errors are in benchmarks/rtl_synthesis.md: LUTs within 3.3%, FFs within 13.4% on 3 held-out designs).
FIT: dict[str, dict[str, list[float]]] = {
    "ecp5": {"luts": [380.0968, 1.2856, -1.0533, 6.4889], "ffs": [128.25, 0.1388, 3.4819, 9.6445]},
}


def features(cfg: RtlConfig) -> list[float]:
    pes = cfg.rows * cfg.cols
    return [1.0, pes * cfg.acc_bits, pes * (cfg.a_bits + cfg.w_bits), (cfg.rows + cfg.cols) * cfg.acc_bits]


def brams(cfg: RtlConfig, target: str) -> int:
    width, depth = (36, 512) if target == "ecp5" else (16, 256)
    mems = [(cfg.a_beat_bits, 2 * cfg.a_depth), (cfg.b_beat_bits, 2 * cfg.b_depth), (cfg.c_beat_bits, 2 * cfg.c_depth)]
    return sum(math.ceil(w / width) * math.ceil(d / depth) for w, d in mems if w * d > 2048)  # small ones go to LUT RAM


@dataclass(frozen=True)
class ResourceEstimate:
    target: str
    luts: float
    ffs: float
    dsps: int
    brams: int

    def fits(self, device: dict[str, int] | None = None) -> bool:
        cap = device or DEVICES[self.target]
        return self.luts <= cap["luts"] and self.ffs <= cap["ffs"] and self.dsps <= cap["dsps"] and self.brams <= cap["brams"]


def fit(points: Sequence[tuple[RtlConfig, float, float]]) -> dict[str, list[float]]:
    """Least-squares coefficients for LUTs and FFs from ``(config, luts, ffs)`` synthesized points."""
    X = np.array([features(c) for c, _, _ in points])
    out = {}
    for k, col in (("luts", 1), ("ffs", 2)):
        y = np.array([p[col] for p in points], dtype=float)
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        out[k] = [float(v) for v in coef]
    return out


def estimate(cfg_or_arch: RtlConfig | Architecture, target: str = "ecp5", coefficients: dict[str, list[float]] | None = None) -> ResourceEstimate:
    """Estimated resources of the core generated for an architecture (or a config) on ``target``."""
    cfg = cfg_or_arch if isinstance(cfg_or_arch, RtlConfig) else rtl_config(cfg_or_arch)
    coef = coefficients or FIT.get(target)
    if not coef:
        raise ValueError(f"No fitted resource model for target {target!r}; run benchmarks/rtl_synthesis.py")
    f = np.array(features(cfg))
    pes = cfg.rows * cfg.cols
    return ResourceEstimate(target, float(f @ coef["luts"]), float(f @ coef["ffs"]), min(pes, DEVICES[target]["dsps"] if target in DEVICES else pes) if max(cfg.a_bits, cfg.w_bits) <= 18 else 0, brams(cfg, target))


def fits(arch: Architecture, target: str = "ecp5") -> bool:
    """Whether the core generated for ``arch`` fits the target device ("fits an ECP5-85F"):
    every multiplier in a DSP, LUTs, flip-flops and block RAMs within the device."""
    e = estimate(arch, target)
    pes = rtl_config(arch).rows * rtl_config(arch).cols
    return e.fits() and pes <= DEVICES[target]["dsps"]
