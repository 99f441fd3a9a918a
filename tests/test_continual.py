"""Streaming (continual) networks: per-step MACs against published reductions and direct counts, the state continual
convs and attention keep (against brute-force simulations), where state lives."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from hwsim.core.errors import SpecError
from hwsim.core.mapping import validate_mapping
from hwsim.core.workload import Network, StateOp, conv2d
from hwsim.evaluate import STATE_SHARES, evaluate_network, place_states, reserve_states, state_level
from hwsim.frontend.presets import load_arch, load_workload
from hwsim.mapper import MapperOptions
from workloads.continual import ring_buffer_elements, temporal_depthwise
from workloads.skeleton import ring_frames
from workloads.slow import temporal_conv


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


# --- Slow-8×8 / CoSlow: full 3-D convs with temporal kernels ---------------------------------------------------------


def test_slow_8x8_clip_macs_and_the_continual_reduction():
    clip, step = load_workload("slow-8x8"), load_workload("coslow-8x8")
    assert clip.macs == pytest.approx(54.52e9, rel=0.01)  # PySlowFast model zoo: 54.52 GFLOPs (multiply-adds) at 8×256²
    assert clip.macs / step.macs == pytest.approx(54.87 / 6.90, rel=0.05)  # CoSlow paper: 54.87 vs 6.90 GFLOPs per prediction
    # the nine 3×1×1 convs each delay the stream one frame; each shortcut waits in a delay buffer of one output frame
    assert sum(op.delay_steps for op in step.ops() if isinstance(op, StateOp)) == 6 + 3
    delays = {op.name: op.state_elements for op in step.ops() if isinstance(op, StateOp) and op.name.endswith(".delay")}
    assert len(delays) == 9 and delays["res4.0.delay"] == 1024 * 16 * 16 and delays["res5.2.delay"] == 2048 * 8 * 8


def test_full_temporal_conv_macs_and_input_footprint_by_direct_count():
    for frames, kt, cin, cout, hw in [(5, 3, 2, 3, 3), (4, 5, 1, 2, 2), (6, 3, 3, 1, 4)]:
        layer = temporal_conv("t", in_channels=cin, out_channels=cout, frames_in=frames, hw=hw, kt=kt)
        pad_t = (kt - 1) // 2
        out_frames = frames + 2 * pad_t - kt + 1
        assert layer.macs == out_frames * kt * cin * cout * hw * hw
        touched = {(t + u, c, p) for t, u, c, p in itertools.product(range(out_frames), range(kt), range(cin), range(hw * hw))}
        assert layer.operand("inputs").size(layer.dims) == len(touched)
        assert layer.operand("weights").size(layer.dims) == kt * cin * cout
        assert layer.operand("outputs").size(layer.dims) == out_frames * cout * hw * hw


def test_continual_full_temporal_conv_equals_the_clip_conv_and_holds_its_ring():
    """A kt×1×1 conv mixing channels, run one frame per step as a 1×1 conv with kt·C_out outputs plus a ring buffer,
    equals the clip conv; the ring never holds more than (kt−1)·C_out·H·W partial sums; the step's MACs are the
    continual layer's (one output frame's worth of the clip conv)."""
    rng = np.random.default_rng(1)
    for kt, cin, cout, hw in [(3, 2, 3, 2), (5, 3, 2, 3)]:
        frames = 10
        x = rng.integers(-8, 8, (frames, cin, hw, hw))
        w = rng.integers(-4, 4, (kt, cout, cin))
        clip = np.stack([sum(np.einsum("kc,chw->khw", w[u], x[t + u]) for u in range(kt)) for t in range(frames - kt + 1)])
        ring: dict[int, np.ndarray] = {}
        out, held, macs = [], 0, 0
        for t in range(frames):
            taps = np.einsum("ukc,chw->ukhw", w, x[t])  # the step's 1×1 conv with kt·C_out outputs
            macs += w.size * hw * hw
            for u in range(kt):
                if 0 <= t - u <= frames - kt:
                    ring[t - u] = ring.get(t - u, 0) + taps[u]
            if t - (kt - 1) in ring:
                out.append(ring.pop(t - (kt - 1)))
            held = max(held, len(ring) * cout * hw * hw)
        assert np.array_equal(np.stack(out), clip)
        assert held == (kt - 1) * cout * hw * hw
        assert macs // frames == kt * cin * cout * hw * hw
    step = load_workload("coslow-8x8")
    layers = {layer.name: layer for layer in step.layers()}
    assert layers["res4.1.a"].macs == 3 * 1024 * 256 * 16 * 16
    ring_ops = {op.name: op.state_elements for op in step.ops() if isinstance(op, StateOp) and op.name.endswith(".ring")}
    assert ring_ops["res4.1.a.ring"] == ring_buffer_elements(3, 256, 16)


# --- ST-GCN / CoST-GCN -----------------------------------------------------------------------------------------------


def test_st_gcn_graph_aggregation_is_the_gemm_it_is_costed_as():
    """The graph convolution's aggregation Σ_k Σ_v x[n,k,c,t,v]·A[k,v,w] is a GEMM with rows (body, frame, channel),
    reduction (partition, joint) and columns (joint): numpy's einsum and the reshaped matmul agree, and its MACs are
    the layer's."""
    rng = np.random.default_rng(2)
    bodies, parts, ch, frames, joints = 2, 3, 4, 5, 25
    x = rng.integers(-5, 5, (bodies, parts, ch, frames, joints))
    a = rng.integers(0, 3, (parts, joints, joints))
    ref = np.einsum("nkctv,kvw->nctw", x, a)
    rows = x.transpose(0, 2, 3, 1, 4).reshape(bodies * ch * frames, parts * joints)
    assert np.array_equal((rows @ a.reshape(parts * joints, joints)).reshape(bodies, ch, frames, joints), ref)
    clip = load_workload("st-gcn")
    agg = next(layer for layer in clip.layers() if layer.name == "block0.gcn.aggregate")
    assert agg.dims["P"] == 2 * 64 * 300 and agg.dims["C"] == 3 * 25 and agg.dims["K"] == 25
    assert agg.macs == 2 * 64 * 300 * 3 * 25 * 25


def test_cost_gcn_reduction_and_state():
    clip, step = load_workload("st-gcn"), load_workload("cost-gcn")
    assert clip.weight_count == pytest.approx(3.1e6, rel=0.02)  # ST-GCN: 3.1M parameters
    assert clip.macs / step.macs == pytest.approx(109, rel=0.05)  # CoST-GCN family: up to 109× per prediction
    widths = [64, 64, 64, 64, 128, 128, 128, 256, 256, 256]
    rings = [op.state_elements for op in step.ops() if isinstance(op, StateOp) and op.name.endswith(".ring")]
    assert rings == [8 * c * 25 * 2 for c in widths]  # kt−1 = 8 partial frames per body
    delays = [op.state_elements for op in step.ops() if isinstance(op, StateOp) and op.name.endswith(".delay")]
    assert delays == [4 * c * 25 * 2 for c in widths[1:]]  # 4-frame delay, no residual on block 0
    assert sum(op.delay_steps for op in step.ops() if isinstance(op, StateOp)) == 10 * 4


# --- (Co)OadTR: continual single-output and retroactive attention -----------------------------------------------------


@pytest.mark.parametrize(("window", "step", "published"), [("oadtr-b1", "cooadtr-b1", (673.0, 10.6)),
                                                           ("oadtr-b2", "cooadtr-b2", (1075.7, 411.9))])  # fmt: skip
def test_oadtr_counts_and_continual_reductions(window: str, step: str, published: tuple[float, float]):
    w, s = load_workload(window), load_workload(step)
    assert w.macs / 1e6 == pytest.approx(published[0], rel=0.02)
    assert s.macs / 1e6 == pytest.approx(published[1], rel=0.02)
    assert w.macs / s.macs == pytest.approx(published[0] / published[1], rel=0.05)  # 63.5× and 2.61×


def test_single_output_attention_keeps_n_keys_and_values():
    step = load_workload("cooadtr-b1")
    fifo = next(op for op in step.ops() if isinstance(op, StateOp))
    assert fifo.state_elements == 2 * 64 * 1024  # 2·n·d
    att = [layer for layer in step.layers() if layer.kind == "matmul"]
    assert sum(layer.macs for layer in att) == 2 * 64 * 1024  # O(n·d) per step


def test_retroactive_attention_update_equals_recomputing_the_window():
    """Continual Retroactive attention: slide the window by one token, update A·V and the row sums D with the new
    and the oldest token only (the six n·d products the network counts), and get the full recomputation's output."""
    rng = np.random.default_rng(3)
    n, d = 6, 4
    seq = rng.normal(size=(n + 3, 3, d))  # q, k, v of each token

    def full(win):
        q, k, v = win[:, 0], win[:, 1], win[:, 2]
        e = np.exp(q @ k.T)
        return e @ v, e.sum(1)

    av, dsum = full(seq[:n])
    for t in range(n, n + 3):
        win_old, win = seq[t - n : t], seq[t - n + 1 : t + 1]
        q, k, v = win[:, 0], win[:, 1], win[:, 2]
        k_old, v_old, k_new, v_new = win_old[0, 1], win_old[0, 2], win[-1, 1], win[-1, 2]
        q_prev = win_old[1:, 0]  # queries kept from the last window
        col_new, col_old = np.exp(q_prev @ k_new), np.exp(q_prev @ k_old)  # Q·k_new, Q·k_old: n·d each
        av = av[1:] - np.outer(col_old, v_old) + np.outer(col_new, v_new)  # two rank-1 updates: n·d each
        dsum = dsum[1:] - col_old + col_new
        row = np.exp(q[-1] @ k.T)  # the new query's row: n·d
        av, dsum = np.vstack([av, row @ v]), np.append(dsum, row.sum())  # its A·V row: n·d
        ref_av, ref_d = full(win)
        assert np.allclose(av, ref_av) and np.allclose(dsum, ref_d)
    step = load_workload("cooadtr-b2")
    retro = [layer for layer in step.layers() if layer.name.startswith("block0.attn.") and layer.kind == "matmul"]
    assert sum(layer.macs for layer in retro) == 6 * 64 * 1024


# --- state as an operand the mapper sees -------------------------------------------------------------------------------


def _streaming_toy(state_kib: float) -> Network:
    net = Network("toy-stream")
    net.add(conv2d("conv", in_channels=64, out_channels=64, in_hw=28, kernel=3, padding=1), after=None)
    elements = int(state_kib * 1024)
    net.add(StateOp("conv.ring", "state", elements, elements, elements, 8, state_elements=elements, delay_steps=1))
    net.add(conv2d("conv2", in_channels=64, out_channels=128, in_hw=28, kernel=3, padding=1))
    return net


def test_layers_are_mapped_within_what_the_state_leaves():
    """With state on chip, every layer's mapping fits the state level less the resident state (and the mapper had to
    adapt: a mapping found on the whole buffer does not fit what is left). An 80 KiB ring in three quarters of the buffer
    leaves 28 KiB, less than either conv's best tiles on the whole 108 KiB (whichever mapping the search picks there)."""
    arch = load_arch("eyeriss")  # 108 KiB global buffer
    net = _streaming_toy(80)
    opts = MapperOptions(samples=3000)
    onchip = evaluate_network(arch, net, opts, state_share=0.75)
    t = onchip.totals()
    assert t["state_onchip_bytes"] == 80 * 1024
    reserved = reserve_states(arch, net, dict(onchip.placement or ()))
    glb = state_level(arch)
    assert glb is not None and reserved.levels[glb].size_bytes == arch.levels[glb].size_bytes - 80 * 1024
    layers = {layer.name: layer for layer in net.layers()}
    offchip = evaluate_network(arch, net, opts, state_share=0.0)
    assert offchip.totals()["state_onchip_bytes"] == 0
    adapted = 0
    for r_on, r_off in zip(onchip.reports, offchip.reports, strict=True):
        if r_on.mapping is None:
            continue
        validate_mapping(layers[r_on.layer], reserved, r_on.mapping)  # raises if it does not fit
        try:
            validate_mapping(layers[r_off.layer], reserved, r_off.mapping)
        except SpecError:
            adapted += 1
    assert adapted >= 1


def test_the_allocation_kept_is_the_best_share():
    arch = load_arch("eyeriss")
    net = _streaming_toy(48)
    opts = MapperOptions(samples=3000)
    chosen = evaluate_network(arch, net, opts)
    each = [evaluate_network(arch, net, opts, state_share=s) for s in STATE_SHARES]
    assert chosen.edp_pj_s == pytest.approx(min(r.edp_pj_s for r in each))
    # Small layers beside a 48 KiB ring read and written whole every step: the ring's DRAM traffic dominates, so the
    # share that holds it on chip wins (by 18x in EDP; for the big convs above the two are within the mapper's noise).
    small = Network("small-layers")
    small.add(conv2d("conv", in_channels=8, out_channels=8, in_hw=8, kernel=3, padding=1), after=None)
    small.add(StateOp("conv.ring", "state", 48 * 1024, 48 * 1024, 48 * 1024, 8, state_elements=48 * 1024, delay_steps=1))
    small.add(conv2d("conv2", in_channels=8, out_channels=8, in_hw=8, kernel=3, padding=1))
    kept = evaluate_network(arch, small, opts)
    assert kept.totals()["state_onchip_bytes"] == 48 * 1024
    assert kept.edp_pj_s < evaluate_network(arch, small, opts, state_share=0.0).edp_pj_s / 10


def test_state_placement_prefers_traffic_per_byte():
    net = Network("two-states")
    net.add(StateOp("window", "state", 10, 10, 10, 8, state_elements=1000), after=None)  # touches 2% of itself per step
    net.add(StateOp("ring", "state", 1000, 1000, 1000, 8, state_elements=1000))  # read and written whole
    arch = load_arch("eyeriss")
    glb = state_level(arch)
    assert glb is not None
    size = arch.levels[glb].size_bytes
    assert size is not None
    small = replace(arch, levels=tuple(replace(lv, size_bytes=1500 / 0.5) if i == glb else lv for i, lv in enumerate(arch.levels)))
    assert place_states(small, net, 0.5) == {"window": False, "ring": True}


# --- temporal strides in continual networks ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kt", "stride"), [(3, 2), (4, 2), (5, 2), (9, 2), (5, 3)])
def test_strided_continual_conv_equals_the_clip_conv_and_holds_its_ring(kt: int, stride: int):
    """A kt-tap temporal conv of stride s run frame by frame: each frame meets the taps of the outputs whose window
    covers it; the outputs equal the strided clip conv, the MACs average kt/s taps per frame and the ring never holds
    more than ⌈(kt−1)/s⌉ partial output frames (ring_frames)."""
    rng = np.random.default_rng(kt * 10 + stride)
    cin, cout, hw, pad = 2, 3, 2, (kt - 1) // 2
    frames = 12 * stride + kt
    x = rng.integers(-8, 8, (frames, cin, hw))
    w = rng.integers(-4, 4, (kt, cout, cin))
    xp = np.concatenate([np.zeros((pad, cin, hw), int), x, np.zeros((pad, cin, hw), int)])
    n_out = (frames + 2 * pad - kt) // stride + 1
    clip = np.stack([sum(np.einsum("kc,cp->kp", w[u], xp[o * stride + u]) for u in range(kt)) for o in range(n_out)])
    ring: dict[int, np.ndarray] = {}
    out, held, macs = {}, 0, []
    for t in range(frames + 2 * pad):  # padded frame t
        step_macs = 0
        for u in range(kt):
            o, r = divmod(t - u, stride)
            if r == 0 and 0 <= o < n_out:
                ring[o] = ring.get(o, 0) + np.einsum("kc,cp->kp", w[u], xp[t])
                step_macs += cout * cin * hw
        done = (t - kt + 1) / stride
        if done == int(done) and int(done) in ring:
            out[int(done)] = ring.pop(int(done))
        held = max(held, len(ring) * cout * hw)
        macs.append(step_macs)
    assert np.array_equal(np.stack([out[o] for o in range(n_out)]), clip)
    assert held == ring_frames(kt, stride) * cout * hw
    steady = macs[kt : kt + 6 * stride]  # whole periods away from the edges
    assert sum(steady) / len(steady) == pytest.approx(kt / stride * cout * cin * hw)


def test_strided_cost_gcn_is_costed_per_step():
    arch = load_arch("eyeriss")
    net = load_workload("cost-gcn-strided")
    assert [net.every_steps(f"block{i}.tcn") for i in range(10)] == [1, 1, 1, 1, 2, 2, 2, 4, 4, 4]
    assert net.every_steps("fc") == 4  # one prediction per four frames
    rings = {op.name: op.state_elements for op in net.ops() if isinstance(op, StateOp) and op.name.endswith(".ring")}
    assert rings["block4.tcn.ring"] == 4 * 128 * 25 * 2 and rings["block3.tcn.ring"] == 8 * 64 * 25 * 2  # ⌈8/2⌉ vs 8 frames
    report = evaluate_network(arch, net, MapperOptions(samples=1000))
    assert report.macs == pytest.approx(net.macs_per_step)
    layers = {r.layer: r for r in report.reports}
    tcn = next(x for x in net.layers() if x.name == "block8.tcn")
    assert layers["block8.tcn"].macs == pytest.approx(tcn.macs / 4)
    stride_free = load_workload("cost-gcn")
    assert net.macs_per_step < stride_free.macs_per_step < 4 * net.macs_per_step  # cheaper per step, dearer per prediction


def test_both_engines_cost_state_where_it_was_placed() -> None:
    """A state op is not simulated, so both engines report it alike — also when reserving the state's bytes leaves
    another on-chip level the largest (here nvdla-small's accumulator grown to 100 KiB: the conv buffer, 128 KiB,
    holds the state; less the state, it is smaller than the accumulator). The cycle path once priced such state in
    the accumulator: res3.0.delay 22,636 pJ against the closed form's 45,208."""
    from dataclasses import replace

    from hwsim.core.workload import StateOp
    from hwsim.evaluate import evaluate_network, place_states, reserve_states, state_level
    from hwsim.frontend.presets import load_arch, load_workload
    from hwsim.mapper import MapperOptions

    base = load_arch("nvdla-small")
    arch = replace(base, levels=tuple(replace(lv, size_bytes=100 * 1024) if lv.name == "accumulator" else lv for lv in base.levels))
    net = load_workload("cox3d_s")
    placed = place_states(arch, net, 0.5)
    assert state_level(arch) != state_level(reserve_states(arch, net, placed))  # the case this test is about
    opts = MapperOptions(samples=100)
    a, c = (evaluate_network(arch, net, opts, engine=e, state_share=0.5) for e in ("analytical", "cycle"))
    states = {op.name for op in net.ops() if isinstance(op, StateOp)}
    pairs = [(x, y) for x, y in zip(a.reports, c.reports, strict=True) if x.layer in states]
    assert pairs and a.placement == c.placement
    assert [(x.layer, x.energy_pj, x.cycles) for x, _ in pairs] == [(y.layer, y.energy_pj, y.cycles) for _, y in pairs]
