"""The network core: on-array convolution (im2col in hardware) with requantization, bit-exact against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("amaranth")

from hwsim.core.errors import SpecError
from hwsim.rtl import rtl_config, systolic_arch
from hwsim.rtl.conv import ConvShape, conv_plan, random_layer, reference_layer, run_conv, verify_conv
from hwsim.rtl.quant import requantize
from hwsim.rtl.sim import DramModel, gemm_b_tile, random_operands, reference_conv2d, reference_gemm, run_core

ARCH = systolic_arch(4, 4, "ws", input_kib=1, weight_kib=1, output_kib=2)
CFG = rtl_config(ARCH, network=True)


def test_reference_conv_against_loops() -> None:
    """The generalized numpy reference (groups, dilation, asymmetric padding, pad value) against plain loops."""
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(4, 6, 5))
    for groups, dil, stride, pad in [(1, 1, 1, (1, 1, 1, 1)), (2, 2, 1, (2, 1, 0, 2)), (4, 1, 2, (1, 0, 1, 1))]:
        w = rng.integers(-128, 128, size=(4, 4 // groups, 3, 2))
        got = reference_conv2d(x, w, stride, pad, 32, dilation=dil, groups=groups, pad_value=-7)
        xp = np.pad(x, ((0, 0), (pad[0], pad[2]), (pad[1], pad[3])), constant_values=-7)
        kg, cg = 4 // groups, 4 // groups
        want = np.zeros_like(got)
        for k in range(4):
            g = k // kg
            for p in range(got.shape[1]):
                for q in range(got.shape[2]):
                    want[k, p, q] = sum(int(xp[g * cg + c, p * stride + i * dil, q * stride + j * dil]) * int(w[k, c, i, j])
                                        for c in range(cg) for i in range(3) for j in range(2))  # fmt: skip
        assert np.array_equal(got, want)


CASES = [
    ConvShape(3, 5, 5, 5, 3, 3, 1, (1, 1, 1, 1)),  # odd sizes, channels not a multiple of the array
    ConvShape(6, 7, 6, 4, 3, 3, 2, (1, 1, 0, 0)),  # stride 2, asymmetric (TFLite SAME) padding
    ConvShape(4, 6, 6, 4, 3, 3, 1, (1, 1, 1, 1), depthwise=True),
    ConvShape(8, 5, 5, 8, 3, 3, 2, (1, 1, 1, 1), depthwise=True),  # depthwise, two channel groups, stride 2
    ConvShape(5, 5, 5, 3, 1, 1, 1),  # pointwise
    ConvShape(4, 7, 7, 6, 3, 3, 1, (2, 2, 2, 2), dilation=2),
]


@pytest.mark.parametrize("shape", CASES, ids=lambda s: f"{s.channels}x{s.height}x{s.width}-k{s.kernel_r}s{s.stride}d{s.dilation}{'-dw' if s.depthwise else ''}")
def test_conv_layers_bit_exact(shape: ConvShape) -> None:
    res = verify_conv(ARCH, shape, seed=1, cfg=CFG)
    assert res["bit_exact"], res


@settings(max_examples=6, deadline=None)
@given(c=st.integers(1, 6), h=st.integers(2, 7), w=st.integers(2, 7), k=st.integers(1, 6), r=st.integers(1, 3), s=st.integers(1, 3),
       stride=st.integers(1, 2), pads=st.tuples(*[st.integers(0, 2)] * 4), dw=st.booleans(), seed=st.integers(0, 1000),
       act=st.sampled_from(["none", "relu", "relu6"]))  # fmt: skip
def test_random_conv_layers_bit_exact(c: int, h: int, w: int, k: int, r: int, s: int, stride: int, pads: tuple[int, int, int, int],
                                      dw: bool, seed: int, act: str) -> None:  # fmt: skip
    shape = ConvShape(c, h, w, c if dw else k, r, s, stride, pads, depthwise=dw)
    if shape.out_height < 1 or shape.out_width < 1:
        return
    x, wt, quant = random_layer(CFG, shape, seed, act)
    res = run_conv(CFG, shape, x, wt, quant, DramModel.for_config(CFG, 10))
    assert np.array_equal(res.y, reference_layer(x, wt, shape, quant))


def test_network_core_gemm_mode_requantizes() -> None:
    """Host-supplied A tiles (conv off) on the network core: the GEMM, then TFLite's output stage."""
    M, N, K = 9, 6, 10
    A, B = random_operands(M, N, K, 8, 8, seed=5)
    plan = CFG.plan(M, N, K)
    Ap = np.zeros((plan.Mp, plan.Kp), dtype=np.int64)
    Ap[:M, :K] = A
    Bp = np.zeros((plan.Kp, plan.Np), dtype=np.int64)
    Bp[:K, :N] = B
    T, R = plan.stream_len, CFG.rows
    rng = np.random.default_rng(5)
    q = np.stack([rng.integers(-1000, 1000, N), rng.integers(1 << 30, 1 << 31, N), rng.integers(-12, -6, N)], axis=1)
    net = {"out_zero_point": -3, "act_min": -3, "act_max": 127}
    out, _, _ = run_core(plan, lambda r, c: Ap[r * T : (r + 1) * T, c * R : (c + 1) * R], gemm_b_tile(plan, Bp), DramModel.for_config(CFG, 10),
                         net=net, qparams=q)  # fmt: skip
    want = requantize(reference_gemm(A, B, 32), q[:, 0], q[:, 1], q[:, 2], -3, -3, 127)
    assert np.array_equal(out[:M, :N], want)


def test_unrunnable_layers_name_every_field() -> None:
    with pytest.raises(SpecError) as e:
        conv_plan(CFG, ConvShape(4, 5, 5, 6, 3, 3, 16, (16, 0, 0, 0), depthwise=True))
    text = str(e.value)
    for part in ("stride", "padding", "depthwise"):
        assert part in text
    with pytest.raises(SpecError, match="weight-stationary"):
        conv_plan(rtl_config(systolic_arch(4, 4, "os"), network=True), ConvShape(4, 5, 5, 4))
    with pytest.raises(SpecError, match="out_width"):
        conv_plan(CFG, ConvShape(1, 3, 200, 1, 1, 1))


def test_docs_list_the_generated_ports() -> None:
    """docs/rtl.md's port table is the one the layouts give (regenerate it from hwsim.rtl.core.port_table)."""
    from pathlib import Path

    from hwsim.frontend.presets import load_arch
    from hwsim.rtl.core import port_table

    doc = (Path(__file__).resolve().parents[1] / "docs" / "rtl.md").read_text(encoding="utf-8")
    assert port_table(rtl_config(load_arch("fpga-small"), network=True)) in doc


def test_cli_generates_the_network_core(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from hwsim.cli import main

    assert main(["rtl", "generate", "--arch", "fpga-small", "--network", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "fpga_small_net.v").read_text()
    assert "module fpga_small_net(" in text and "qp_wr" in text and "net" in text
    assert "network           True" in capsys.readouterr().out
