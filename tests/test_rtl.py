"""The generated GEMM core: MAC PE, bit-exact GEMMs and convolutions, overflow, cycle agreement, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("amaranth")

from amaranth.sim import Simulator

from hwsim.cli import main
from hwsim.core.errors import SpecError
from hwsim.frontend.presets import load_arch
from hwsim.rtl import rtl_config, systolic_arch
from hwsim.rtl.pe import MacPE
from hwsim.rtl.sim import random_operands, reference_gemm, verify, verify_conv2d, wrap


@pytest.mark.parametrize("pipe", [0, 1, 2])
@pytest.mark.parametrize("gating", [False, True])
def test_mac_pe_latency_and_wrap(pipe: int, gating: bool) -> None:
    pe = MacPE(8, 8, 12, pipe=pipe, zero_gating=gating)
    rng = np.random.default_rng(pipe)
    vec = [(int(a), int(b), int(c), int(cl)) for a, b, c, cl in zip(rng.integers(-128, 128, 40), rng.integers(-128, 128, 40),
                                                                      rng.integers(-2048, 2048, 40), rng.random(40) < 0.2, strict=True)]  # fmt: skip
    vec[:4] = [(-128, -128, 2047, 0), (0, 77, 5, 0), (127, -128, -2048, 0), (-128, 0, 0, 1)]  # range limits, zeros
    got: list[int] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        for k in range(len(vec) + pipe):
            if k < len(vec):
                a, b, _, cl = vec[k]
                ctx.set(pe.a, a)
                ctx.set(pe.b, b)
                ctx.set(pe.clear, cl)
            if k >= pipe:  # c is added at the last stage, pipe cycles after its operands
                ctx.set(pe.c, vec[k - pipe][2])
            await ctx.tick()
            if k >= pipe:
                got.append(ctx.get(pe.y))

    sim = Simulator(pe)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    want = [int(wrap(np.array((0 if cl else c) + a * b), 12)) for a, b, c, cl in vec]
    assert got == want


def test_reference_wraps_like_twos_complement() -> None:
    A = np.full((1, 64), -128)
    B = np.full((64, 1), -128)
    assert reference_gemm(A, B, 32)[0, 0] == 64 * 16384
    assert reference_gemm(A, B, 16)[0, 0] == wrap(np.array(64 * 16384), 16) == 0
    assert reference_gemm(A, -B + 1, 18)[0, 0] == wrap(np.array(-64 * 128 * 129), 18)


FPGA_SMALL = load_arch("fpga-small")


@pytest.mark.parametrize("shape", [(8, 8, 8), (1, 1, 1), (13, 7, 21), (33, 17, 9)])
def test_fpga_small_bit_exact(shape: tuple[int, int, int]) -> None:
    r = verify(FPGA_SMALL, *shape, seed=sum(shape))
    assert r.bit_exact


@pytest.mark.parametrize(("rows", "cols", "dataflow"), [(4, 4, "os"), (3, 5, "os"), (4, 6, "ws"), (5, 3, "ws")])
def test_non_square_arrays_bit_exact(rows: int, cols: int, dataflow: str) -> None:
    arch = systolic_arch(rows, cols, dataflow, dram_bits_per_cycle=16)
    for seed, shape in enumerate([(11, 9, 14), (7, 13, 5)]):
        assert verify(arch, *shape, seed=seed).bit_exact


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_accumulator_overflow_wraps(dataflow: str) -> None:
    """A 14-bit accumulator overflows on range-limit int8 operands; results wrap in two's complement."""
    arch = systolic_arch(4, 4, dataflow, accumulator_bits=14, dram_bits_per_cycle=32)
    cfg = rtl_config(arch)
    A, B = np.full((6, 24), -128), np.full((24, 5), -128)
    B[:, ::2] = 127
    assert np.abs(A.astype(np.int64) @ B).max() >= 1 << 13  # it does overflow
    r = verify(arch, 6, 5, 24, A=A, B=B, cfg=cfg)
    assert r.bit_exact
    A2, B2 = random_operands(9, 6, 30, 8, 8, seed=3, extremes=0.8)
    assert verify(arch, 9, 6, 30, A=A2, B=B2, cfg=cfg).bit_exact


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_conv_lowered_by_host(dataflow: str) -> None:
    arch = systolic_arch(4, 4, dataflow, dram_bits_per_cycle=32)
    assert verify_conv2d(arch, channels=3, filters=5, size=6, kernel=3, padding=1, seed=1).bit_exact
    assert verify_conv2d(arch, channels=2, filters=3, size=7, kernel=3, stride=2, seed=2).bit_exact


# A fast subset of benchmarks/rtl_agreement.py: RTL cycles within 5% of the cycle engine.
AGREEMENT = [
    (8, 8, "ws", 64, (64, 16, 32)),
    (4, 6, "ws", 16, (64, 16, 32)),
    (4, 8, "os", 16, (20, 12, 20)),
    (4, 4, "os", 32, (36, 5, 27)),
    (6, 4, "ws", 8, (40, 10, 20)),
]


@pytest.mark.parametrize(("rows", "cols", "dataflow", "bw", "shape"), AGREEMENT)
def test_cycles_agree_with_model(rows: int, cols: int, dataflow: str, bw: int, shape: tuple[int, int, int]) -> None:
    r = verify(systolic_arch(rows, cols, dataflow, dram_bits_per_cycle=bw), *shape)
    assert r.bit_exact
    assert abs(r.difference) <= 0.05, r.to_dict()


def test_unbuildable_spec_names_every_field() -> None:
    with pytest.raises(SpecError) as e:
        rtl_config(load_arch("eyeriss"))
    text = e.value.render()
    assert "levels: expected exactly one PE-level register below the array" in text
    assert "expected an on-chip level above the array keeping weights" in text
    with pytest.raises(SpecError, match=r"mac\.kind: expected fixed"):
        rtl_config(load_arch("bitfusion"))


def test_cli_verify_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rtl", "verify", "--gemm", "10,9,11", "--seed", "2", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["bit_exact"] is True and d["rtl_cycles"] > 0 and d["model_cycles"] > 0


def test_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rtl", "verify", "--gemm", "4,x,3"]) == 2
    assert "--gemm: expected three positive integers M,N,K" in capsys.readouterr().err
    assert main(["rtl", "verify", "--arch", "eyeriss", "--gemm", "4,4,4"]) == 2
    assert "expected exactly one PE-level register" in capsys.readouterr().err


def test_cli_generate(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "tiny.yaml"
    spec.write_text(
        "name: tiny\nclock_hz: 100e6\nmac: {weight_bits: 4, input_bits: 4, accumulator_bits: 12}\nlevels:\n"
        "  - {name: DRAM, kind: dram, word_bits: 16, read_bandwidth_bits_per_cycle: 8, write_bandwidth_bits_per_cycle: 8, keeps: [weights, inputs, outputs]}\n"
        "  - {name: ibuf, kind: sram, size_bytes: 64, word_bits: 8, keeps: [inputs]}\n"
        "  - {name: wbuf, kind: sram, size_bytes: 64, word_bits: 8, keeps: [weights]}\n"
        "  - {name: obuf, kind: sram, size_bytes: 64, word_bits: 24, keeps: [outputs]}\n"
        "  - {name: reg, kind: regfile, size_bytes: 1, word_bits: 4, keeps: [weights], temporal_dims: []}\n"
        "pe_array:\n  axes:\n    - {name: rows, size: 2, below: obuf, dims: [C]}\n    - {name: cols, size: 2, below: obuf, dims: [K]}\n"
    )
    out = tmp_path / "v"
    assert main(["rtl", "generate", "--arch", str(spec), "--out", str(out)]) == 0
    v = (out / "tiny.v").read_text()
    assert "module tiny(" in v and "pe_1_1" in v
    assert "module" in (out / "tiny.il").read_text()
    assert main(["rtl", "verify", "--arch", str(spec), "--gemm", "5,3,7", "--format", "json"]) == 0
    capsys.readouterr()
