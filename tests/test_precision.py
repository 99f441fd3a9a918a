"""Operand precision meets the PE models: cycles, energy, storage and traffic in bits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hwsim.core.errors import SpecError
from hwsim.core.mapping import capacity_problems
from hwsim.core.workload import conv2d
from hwsim.cost.analytical import evaluate_mapping
from hwsim.cost.precision import cycles_per_mac, energy_per_mac_pj
from hwsim.frontend.presets import load_arch
from hwsim.mapper import map_layer


def _layer(w: int, a: int):
    return conv2d("c", in_channels=64, out_channels=64, in_hw=16, kernel=3, padding=1, weight_bits=w, input_bits=a)


def test_bitfusion_throughput_follows_fused_widths():
    arch = load_arch("bitfusion")
    mapping = map_layer(_layer(8, 8), arch).mapping
    assert mapping is not None
    base = evaluate_mapping(_layer(8, 8), arch, mapping).compute_cycles
    for (w, a), speedup in {(4, 4): 4, (2, 2): 16, (2, 8): 4, (8, 4): 2, (3, 3): 4, (16, 8): 0.5}.items():
        got = evaluate_mapping(_layer(w, a), arch, mapping, check=False).compute_cycles  # same schedule, other widths
        assert base / got == pytest.approx(speedup, rel=1e-3), (w, a)
    assert energy_per_mac_pj(_layer(2, 2), arch.mac) == pytest.approx(arch.mac.energy_pj / 16)


def test_fixed_width_pads_narrow_and_repeats_wide_operands():
    arch = load_arch("fpga-small")  # int8 multipliers
    assert cycles_per_mac(_layer(4, 4), arch.mac) == cycles_per_mac(_layer(8, 8), arch.mac) == 1
    assert energy_per_mac_pj(_layer(4, 4), arch.mac) == energy_per_mac_pj(_layer(8, 8), arch.mac)
    assert cycles_per_mac(_layer(16, 16), arch.mac) == 4
    assert cycles_per_mac(_layer(16, 8), arch.mac) == 2


def test_bit_serial_cycles_grow_with_activation_bits():
    mac = replace(load_arch("fpga-small").mac, kind="bit-serial", input_bits=1)
    assert [cycles_per_mac(_layer(8, a), mac) for a in (2, 4, 8, 16)] == [2, 4, 8, 16]
    e = [energy_per_mac_pj(_layer(8, a), mac) for a in (2, 4, 8)]
    assert e[0] < e[1] < e[2] == pytest.approx(mac.energy_pj)


def test_energy_per_mac_is_ordered_by_width():
    arch = load_arch("bitfusion")
    e = [energy_per_mac_pj(_layer(b, b), arch.mac) for b in (2, 4, 8, 16)]
    assert e == sorted(e) and e[2] / e[1] == pytest.approx(4) and e[3] / e[2] == pytest.approx(4)


def test_storage_and_traffic_are_in_bits():
    arch = load_arch("eyeriss")
    m8 = map_layer(_layer(8, 8), arch).mapping
    assert m8 is not None
    r8 = evaluate_mapping(_layer(8, 8), arch, m8)
    r4 = evaluate_mapping(_layer(4, 8), arch, m8)
    assert r4.accesses == r8.accesses  # same elements move...
    dram8 = r8.access_energy_pj[("DRAM", "weights")]
    assert r4.access_energy_pj[("DRAM", "weights")] == pytest.approx(dram8 / 2)  # ...in half the bits


def test_narrow_layers_tile_differently():
    """A tile that overflows a buffer at 16 bits fits at 4 bits, so the mapper may take bigger tiles."""
    arch = load_arch("eyeriss")
    m = map_layer(_layer(4, 4), arch).mapping
    assert m is not None
    assert capacity_problems(_layer(4, 4), arch, m) == []
    assert capacity_problems(_layer(16, 16), arch, m) != []


def test_bad_precision_values():
    with pytest.raises(SpecError, match=r"weight_bits: expected a positive integer, not 0"):
        _layer(0, 8)
    with pytest.raises(SpecError, match=r"bits.weights: expected an operand name with a precision of 1 to 64 bits, not 0"):
        _layer(8, 8).with_bits(weights=0)


def test_int4_int8_fp16_energy_per_mac_on_one_preset():
    """Ordered, and the fp16/int8 MAC ratio is Horowitz's (fp16 1.1 + 0.4 pJ vs int8 0.2 + 0.03 pJ)."""
    arch = load_arch("sparse-tensor-core")
    base = conv2d("c", in_channels=64, out_channels=64, in_hw=16, kernel=3, padding=1)
    layers = {"int4": base.with_bits(weights=4, inputs=4), "int8": base, "fp16": base.with_bits(weights=16, inputs=16).with_number("fp")}
    mac = {k: energy_per_mac_pj(v, arch.mac) for k, v in layers.items()}
    assert mac["int4"] <= mac["int8"] < mac["fp16"]
    assert mac["fp16"] / mac["int8"] == pytest.approx((1.1 + 0.4) / (0.2 + 0.03), rel=0.25)
    total = {k: map_layer(v, arch).energy_pj / v.macs for k, v in layers.items()}
    assert total["int4"] < total["int8"] < total["fp16"]


def test_fp_operands_need_a_floating_point_datapath():
    layer = _layer(16, 16).with_number("fp")
    with pytest.raises(SpecError, match=r"mac.fp_bits: expected a floating-point datapath for layer 'c''s fp operands, not 0"):
        map_layer(layer, load_arch("eyeriss"))


def test_precision_reaches_pools_adds_and_norms():
    """--precision W2A2 (Network.with_bits) gives the non-MAC ops the activation width their producers write:
    ResNet-18's maxpool moves 2-bit activations through DRAM, not 8-bit ones (it cost 2.9× conv1 on BitFusion)."""
    from hwsim.core.workload import TensorOp
    from hwsim.evaluate import cost_tensor_op
    from hwsim.frontend.presets import load_workload

    net = load_workload("resnet18").with_bits(weights=2, inputs=2)
    ops = {op.name: op for op in net.ops()}
    assert {op.bits for op in ops.values() if isinstance(op, TensorOp)} == {2}
    pool = ops["maxpool"]
    # conv1 writes 64 × 112 × 112 activations; a 3×3/2 pool (padding 1) makes 64 × 56 × 56 of them, 8 compares each
    assert (pool.input_elements, pool.output_elements, pool.ops) == (64 * 112 * 112, 64 * 56 * 56, 64 * 56 * 56 * 8)
    assert net.graph.edges["conv1", "maxpool"]["size_bytes"] == 64 * 112 * 112 * 2 / 8  # the edge follows the width
    arch = load_arch("bitfusion")
    dram = arch.levels[0]
    assert (dram.ports, dram.read_bandwidth_bits_per_cycle, dram.word_bits) == (1, 409.6, 64)
    assert (dram.read_energy_pj, dram.write_energy_pj) == (4480, 4480)
    r = cost_tensor_op(pool, arch)
    # bits through DRAM: 802,816 × 2 read + 200,704 × 2 written = 1,605,632 + 401,408 = 2,007,040
    # one port at 409.6 bits/cycle: 2,007,040 / 409.6 = 4,900 cycles (at 8 bits: 8,028,160 bits, 19,600 cycles)
    assert r.transfer_cycles["DRAM"] == pytest.approx(4900)
    assert r.cycles == pytest.approx(4900)  # above the 1,605,632 / 512 = 3,136 compare cycles
    # DRAM energy: 2,007,040 bits / 64 bits per word × 4,480 pJ = 140,492,800 pJ (at 8 bits: 561,971,200 pJ)
    assert r.level_energy_pj["DRAM"] == pytest.approx(140_492_800)


def test_precision_keeps_partial_sum_state_and_follows_each_layers_width():
    """An op wider than the activations it reads (a continual conv's partial-sum ring buffer, 24 bits) keeps its width;
    with per-layer widths each op takes its producer's; an op without a producer takes the activation width."""
    from hwsim.core.workload import Network, StateOp, TensorOp

    net = Network("n")
    net.add(TensorOp("embed", "elementwise", 100, 100, 100))
    net.add(conv2d("a", in_channels=4, out_channels=4, in_hw=8, kernel=3))
    net.add(StateOp("a.ring", "state", 144, 144, 144, 24, state_elements=288))
    net.add(TensorOp("pool", "pool", 144, 36, 144), after="a")
    net.add(conv2d("b", in_channels=4, out_channels=4, in_hw=3, kernel=1), after="pool")
    net.add(TensorOp("add", "add", 72, 36, 36), after=["pool", "b"])
    bits = {op.name: op.bits for op in net.with_bits(weights=4, inputs=4).ops() if isinstance(op, TensorOp)}
    assert bits == {"embed": 4, "a.ring": 24, "pool": 4, "add": 4}
    bits = {op.name: op.bits for op in net.with_bits(per_layer={"a": (4, 4), "b": (8, 16)}).ops() if isinstance(op, TensorOp)}
    assert bits == {"embed": 8, "a.ring": 24, "pool": 4, "add": 16}  # add: the wider of pool (4) and b (16)
