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


@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_network_core_gemm_mode_requantizes(dataflow: str) -> None:
    """Host-supplied tiles (conv off) on the network core, WS and OS: the GEMM, then TFLite's output stage."""
    M, N, K = 9, 6, 10
    cfg = CFG if dataflow == "ws" else rtl_config(systolic_arch(4, 4, "os", input_kib=1, weight_kib=1, output_kib=2), network=True)
    A, B = random_operands(M, N, K, 8, 8, seed=5)
    plan = cfg.plan(M, N, K)
    Ap = np.zeros((plan.Mp, plan.Kp), dtype=np.int64)
    Ap[:M, :K] = A
    Bp = np.zeros((plan.Kp, plan.Np), dtype=np.int64)
    Bp[:K, :N] = B
    T, R = plan.stream_len, cfg.rows

    def a_tile(r: int, c: int) -> np.ndarray:
        return Ap[r * T : (r + 1) * T, c * R : (c + 1) * R] if dataflow == "ws" else Ap[r * R : (r + 1) * R, c * T : (c + 1) * T].T

    rng = np.random.default_rng(5)
    q = np.stack([rng.integers(-1000, 1000, N), rng.integers(1 << 30, 1 << 31, N), rng.integers(-12, -6, N)], axis=1)
    net = {"out_zero_point": -3, "act_min": -3, "act_max": 127}
    out, cycles, _ = run_core(plan, a_tile, gemm_b_tile(plan, Bp), DramModel.for_config(cfg, 10), net=net, qparams=q)
    want = requantize(reference_gemm(A, B, 32), q[:, 0], q[:, 1], q[:, 2], -3, -3, 127)
    assert np.array_equal(out[:M, :N], want)
    model = plan.model(ARCH if dataflow == "ws" else systolic_arch(4, 4, "os", input_kib=1, weight_kib=1, output_kib=2), 10).cycles
    assert abs(cycles - model) <= 3, (cycles, model)  # the model counts every fixed latency of the output path


@pytest.mark.slow
def test_benchmark_layers_on_fpga_small() -> None:
    """benchmarks/rtl_network.py's layers (ResNet-18 and MobileNetV2 kinds) on fpga-small's network core: bit-exact, within 5%."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from rtl_network import LAYERS

    from hwsim.frontend.presets import load_arch

    arch = load_arch("fpga-small")
    cfg = rtl_config(arch, network=True)
    for name, shape, act in LAYERS:
        r = verify_conv(arch, shape, seed=1, activation=act, cfg=cfg)
        assert r["bit_exact"] and abs(float(r["difference"])) <= 0.05, (name, r)  # type: ignore[arg-type]


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


def test_cli_verify_network_layer(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """hwsim rtl verify --network --layer: conv, depthwise and fc layers of a workload file; refusals name each option."""
    import json

    from hwsim.cli import main

    net = tmp_path / "tiny.yaml"
    net.write_text("name: tiny\ncheck_chaining: false\nlayers:\n"
                   "  - {name: stem, type: conv2d, in_channels: 3, out_channels: 8, in_hw: 7, kernel: 3, stride: 2, padding: 1}\n"
                   "  - {name: dw, type: depthwise, channels: 4, in_hw: 4, kernel: 3, padding: 1}\n"
                   "  - {name: fc, type: fc, in_features: 6, out_features: 5}\n"
                   "  - {name: grouped, type: conv2d, in_channels: 8, out_channels: 8, groups: 2, in_hw: 4, kernel: 1}\n")  # fmt: skip
    arch = tmp_path / "arch.yaml"
    import yaml

    arch.write_text(yaml.safe_dump({"name": "ws4", "clock_hz": 1e8, "mac": {"weight_bits": 8, "input_bits": 8, "accumulator_bits": 32},
                                    "levels": [{"name": "DRAM", "kind": "dram", "word_bits": 64, "read_bandwidth_bits_per_cycle": 64,
                                                "write_bandwidth_bits_per_cycle": 64, "keeps": ["weights", "inputs", "outputs"]},
                                               {"name": "ib", "kind": "sram", "size_kib": 1, "word_bits": 32, "keeps": ["inputs"]},
                                               {"name": "wb", "kind": "sram", "size_kib": 1, "word_bits": 32, "keeps": ["weights"]},
                                               {"name": "ob", "kind": "sram", "size_kib": 2, "word_bits": 128, "keeps": ["outputs"]},
                                               {"name": "reg", "kind": "regfile", "size_bytes": 4, "word_bits": 32, "keeps": ["weights"],
                                                "temporal_dims": []}],
                                    "pe_array": {"axes": [{"name": "rows", "size": 4, "below": "ob", "dims": ["C"]},
                                                          {"name": "cols", "size": 4, "below": "ob", "dims": ["K"]}]}}))  # fmt: skip
    for layer in ("stem", "dw", "fc"):
        assert main(["rtl", "verify", "--arch", str(arch), "--network", "--workload", str(net), "--layer", layer, "--format", "json"]) == 0
        d = json.loads(capsys.readouterr().out)
        assert d["bit_exact"] and d["layer"] == layer and d["network_core"], d
    assert main(["rtl", "verify", "--arch", str(arch), "--network", "--workload", str(net), "--layer", "grouped"]) == 2
    assert "layers.grouped.G: expected 1 or a depthwise convolution" in capsys.readouterr().err
    assert main(["rtl", "verify", "--network", "--gemm", "4,4,4", "--backend", "verilator"]) == 2
    err = capsys.readouterr().err
    assert "--layer: expected --layer NAME with --network" in err and "--backend: expected amaranth with --network" in err
