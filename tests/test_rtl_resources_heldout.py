"""The built-in ECP5 resource model (rtl/resources.py FIT) on the synthesized designs it was not fitted on.

benchmarks/rtl_synthesis.md records Yosys's LUT and FF counts of 10 ECP5 designs; FIT was fitted on the
7 marked "train". Only the 3 marked "held out" can tell whether the model predicts: each within its
recorded error + 1 point (LUTs 3.3%, FFs 13.4% at the time of the fit).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("amaranth")

from hwsim.rtl import rtl_config, systolic_arch
from hwsim.rtl.resources import estimate

TABLE = Path(__file__).resolve().parents[1] / "benchmarks" / "rtl_synthesis.md"
LUT_TOLERANCE, FF_TOLERANCE = 0.043, 0.144


def _rows(which: str) -> list[list[str]]:
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in TABLE.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    return [c for c in cells if len(c) == 12 and c[2] == which]


def test_table_has_the_train_and_held_out_split() -> None:
    """The split the module comment states: fitted on 7 points, 3 held out."""
    assert len(_rows("train")) == 7 and len(_rows("held out")) == 3


def test_fitted_resource_model_predicts_held_out_designs() -> None:
    """Yosys's synthesized LUT/FF counts of the held-out designs, not the points the coefficients came from."""
    for cells in _rows("held out"):
        r, c = (int(x) for x in cells[0].split("×"))
        a, acc = (int(x) for x in cells[1].split("/"))
        cfg = rtl_config(systolic_arch(r, c, "ws", input_bits=a, weight_bits=a, accumulator_bits=acc, input_kib=1, weight_kib=0.25,
                                       output_kib=1))  # fmt: skip
        e = estimate(cfg, "ecp5")
        luts, ffs = int(cells[3]), int(cells[6])
        assert abs(e.luts - luts) / luts <= LUT_TOLERANCE, cells
        assert abs(e.ffs - ffs) / ffs <= FF_TOLERANCE, cells
        assert e.dsps == r * c
