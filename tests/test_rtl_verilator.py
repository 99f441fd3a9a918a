"""The Verilator backend gives the same results and cycles as amaranth.sim (slow: compiles C++)."""

from __future__ import annotations

import pytest

pytest.importorskip("amaranth")

from hwsim.rtl import rtl_config, systolic_arch
from hwsim.rtl.sim import DramModel, random_operands, reference_gemm, run_gemm
from hwsim.rtl.verilator import run_gemm_verilator, verilator_available

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not verilator_available(), reason="Verilator not installed")]


@pytest.mark.parametrize(("rows", "cols", "dataflow", "bw"), [(4, 4, "os", 32), (3, 5, "ws", 8)])
def test_same_results_and_cycles(rows: int, cols: int, dataflow: str, bw: int) -> None:
    cfg = rtl_config(systolic_arch(rows, cols, dataflow, dram_bits_per_cycle=bw))
    for shape in [(20, 12, 20), (9, 7, 31)]:
        plan = cfg.plan(*shape)
        A, B = random_operands(*shape, cfg.a_bits, cfg.w_bits, seed=sum(shape))
        dram = DramModel.for_config(cfg, 10)
        got_v, cyc_v, _ = run_gemm_verilator(plan, A, B, dram)
        got_a, cyc_a, _ = run_gemm(plan, A, B, dram)
        assert cyc_v == cyc_a
        assert (got_v == got_a).all() and (got_v == reference_gemm(A, B, cfg.acc_bits)).all()
