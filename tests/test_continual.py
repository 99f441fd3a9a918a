"""Streaming (continual) X3D-S: per-step MACs, the state a continual conv keeps, where state lives."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from hwsim.evaluate import evaluate_network, place_states
from hwsim.mapper import MapperOptions
from hwsim.presets import load_arch, load_workload
from hwsim.workload import StateOp
from workloads.continual import ring_buffer_elements, temporal_depthwise


def test_x3d_s_clip_macs_and_the_continual_reduction():
    clip, step = load_workload("x3d-s"), load_workload("cox3d-s")
    assert clip.macs == pytest.approx(1.96e9, rel=0.02)  # X3D-S, 13×160², published 1.96 GFLOPs (multiply-adds)
    ratio = clip.macs / step.macs
    assert 12.1 * 0.95 <= ratio <= 15.3 * 1.05  # CoX3D: 12.1–15.3× fewer per prediction


def test_x3d_m_clip_macs_and_the_continual_reduction():
    """X3D-M is X3D-S's network at 16 frames of 256²: its MACs follow from X3D-S's by the frame and pixel counts of each
    layer (an independent closed form: every layer's MACs scale with frames·H·W, except the fc head), and match the
    published 6.2 GFLOPs; CoX3D-M's reduction is at the top of the CoX3D range (15.3×)."""
    s_clip, m_clip, m_step = load_workload("x3d-s"), load_workload("x3d-m"), load_workload("cox3d-m")
    head = sum(layer.macs for layer in s_clip.layers() if layer.name.startswith("fc") or ".se_fc" in layer.name)
    body_s = s_clip.macs - head
    se = sum(layer.macs for layer in m_clip.layers() if ".se_fc" in layer.name)
    assert se == sum(layer.macs for layer in s_clip.layers() if ".se_fc" in layer.name)  # SE acts on pooled vectors
    assert m_clip.macs - head == pytest.approx(body_s * (16 / 13) * (256 / 160) ** 2, rel=0.01)
    assert m_clip.macs == pytest.approx(6.2e9, rel=0.02)
    ratio = m_clip.macs / m_step.macs
    assert ratio == pytest.approx(15.3, rel=0.05)


def test_temporal_depthwise_macs_and_input_footprint_by_direct_count():
    for frames, kt, kh, ch, hw, stride in [(5, 3, 3, 2, 6, 1), (4, 5, 1, 3, 4, 1), (6, 3, 3, 1, 8, 2)]:
        layer = temporal_depthwise("t", channels=ch, frames_in=frames, hw=hw, kt=kt, kh=kh, stride=stride)
        pad_t, pad = kt // 2, kh // 2
        out_hw = (hw + 2 * pad - kh) // stride + 1
        assert layer.macs == frames * kt * kh * kh * ch * out_hw * out_hw
        touched = set()  # every (frame, channel, row, col) of the padded input some MAC reads
        for t, u, c, p, q, r, s in itertools.product(range(frames), range(kt), range(ch), range(out_hw), range(out_hw),
                                                     range(kh), range(kh)):  # fmt: skip
            touched.add((t + u, c, p * stride + r, q * stride + s))
        assert layer.operand("inputs").size(layer.dims) == len(touched)
        assert frames + 2 * pad_t == len({x[0] for x in touched})


def test_ring_buffer_holds_kt_minus_1_partial_frames():
    """A continual kt-tap temporal conv run frame by frame equals the clip conv, keeping kt−1 partial frames."""
    rng = np.random.default_rng(0)
    for kt, ch, hw in [(3, 2, 4), (5, 3, 2)]:
        frames = 9
        x = rng.integers(-8, 8, (frames, ch, hw, hw))
        w = rng.integers(-4, 4, (kt, ch))
        clip = np.stack([sum(w[u][:, None, None] * x[t + u] for u in range(kt)) for t in range(frames - kt + 1)])
        ring: dict[int, np.ndarray] = {}
        out, held = [], 0
        for t in range(frames):  # frame t contributes tap u to the output that starts at t − u
            for u in range(kt):
                start = t - u
                if 0 <= start <= frames - kt:
                    ring[start] = ring.get(start, 0) + w[u][:, None, None] * x[t]
            if t - (kt - 1) in ring:
                out.append(ring.pop(t - (kt - 1)))
            held = max(held, sum(1 for _ in ring) * ch * hw * hw)
        assert np.array_equal(np.stack(out), clip)
        assert held == ring_buffer_elements(kt, ch, hw)


def test_state_lives_on_chip_when_it_fits():
    step = load_workload("cox3d-s")
    total = sum(op.state_elements * op.bits / 8 for op in step.ops() if isinstance(op, StateOp))
    tpu = load_arch("tpu-v1")  # a 24 MiB unified buffer: all of it
    assert all(place_states(tpu, step).values())
    small = replace(tpu, levels=(tpu.levels[0], replace(tpu.levels[1], size_bytes=total / 4), *tpu.levels[2:]))
    placed = place_states(small, step)
    assert any(placed.values()) and not all(placed.values())


def test_continual_costs_less_per_prediction_and_reports_state():
    arch = load_arch("tpu-v1")
    opts = MapperOptions(samples=2000)
    clip = evaluate_network(arch, load_workload("x3d-s"), opts)
    step = evaluate_network(arch, load_workload("cox3d-s"), opts)
    assert step.energy_pj < clip.energy_pj and step.cycles < clip.cycles
    t = step.totals()
    assert t["state_onchip_bytes"] == t["state_bytes"] > 6e6
    assert t["first_output_delay_steps"] == 2 + sum(n for _, n in [(24, 3), (48, 5), (96, 11), (192, 7)])
    assert "state_bytes" not in clip.totals()
