"""The model's two semantics (hwsim.core.arch.Semantics): Timeloop's choices reproduce Timeloop's published counts, and
the sliding-window fills equal a walk of the nest that counts, tile after tile, the elements the previous tile did not hold."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.timeloop_exercises import DATA, ISPASS, parse_stats
from hwsim.core.arch import HWSIM, TIMELOOP, Architecture, Semantics, architecture_from_dict
from hwsim.core.errors import SpecError
from hwsim.core.mapping import Mapping
from hwsim.core.workload import DIMS, Layer, conv2d
from hwsim.cost.analytical import evaluate_mapping
from hwsim.frontend.presets import load_arch, load_workload

# The ISPASS exercises' mappings, written out (their map.txt): per level the temporal loops outer→inner, per axis the spatial ones
EXERCISES = {
    "01-os": ("01-model-conv1d-2level/arch/2level.arch.yaml", "01-model-conv1d-2level/prob/conv1d.prob.yaml",
              ([[("P", 16)], [("R", 3)]], [[]]), "01-model-conv1d-2level/ref-output/os"),
    "01-ws": ("01-model-conv1d-2level/arch/2level.arch.yaml", "01-model-conv1d-2level/prob/conv1d.prob.yaml",
              ([[("R", 3)], [("P", 16)]], [[]]), "01-model-conv1d-2level/ref-output/ws"),
    "02-tiling": ("02-model-conv1d+oc-2level/arch/2level.arch.yaml", "02-model-conv1d+oc-2level/prob/conv1d+oc.prob.yaml",
                  ([[("K", 16), ("P", 16)], [("K", 2), ("R", 3)]], [[]]), "02-model-conv1d+oc-2level/ref-output/tiling"),
    "04-cp": ("04-model-conv1d+oc-3levelspatial/arch/3levelspatial.arch.at-2ffec69.yaml",
              "04-model-conv1d+oc-3levelspatial/prob/conv1d+oc+ic.prob.yaml",
              ([[], [("C", 2), ("K", 32), ("R", 3)], [("P", 16)]], [[("C", 16)]]), "04-model-conv1d+oc-3levelspatial/ref-output/cp"),
}  # fmt: skip


def _unlimited(arch: Architecture) -> Architecture:
    """Timeloop's reading of a level with no bandwidth given: unlimited."""
    return replace(arch, levels=tuple(replace(lv, read_bandwidth_bits_per_cycle=None, write_bandwidth_bits_per_cycle=None) for lv in arch.levels))


@pytest.mark.parametrize("case", sorted(EXERCISES))
def test_timeloop_semantics_give_timeloops_counts_and_cycles(case: str) -> None:
    arch_file, prob_file, (temporal, spatial), ref = EXERCISES[case]
    arch = _unlimited(load_arch(str(DATA / ISPASS / arch_file)))
    layer = load_workload(str(DATA / ISPASS / prob_file)).layers()[0]
    stats = parse_stats(DATA / ISPASS / ref / "timeloop-model.stats.txt")
    r = evaluate_mapping(layer, replace(arch, semantics=TIMELOOP), Mapping.build(temporal, spatial))
    assert r.cycles == stats["cycles"]
    for level, data in stats["levels"].items():
        for space, want in data["spaces"].items():
            got = r.accesses[(level, space.lower())]
            assert (got.reads, got.fills, got.updates) == (want["reads"], want["fills"], want["updates"]), (level, space)


def test_hwsim_semantics_reload_a_sliding_tile_and_pay_the_stalls() -> None:
    """Exercise 01 (os): hwsim refills the Buffer's 3-input window at each of the 16 output positions (48, Timeloop 18);
    with a DRAM of 8 bits per cycle its latency pays the first tiles' start-up (Timeloop: the 48 MACs, every transfer
    overlapped)."""
    arch_file, prob_file, (temporal, spatial), _ = EXERCISES["01-os"]
    imported = _unlimited(load_arch(str(DATA / ISPASS / arch_file)))
    assert imported.semantics == TIMELOOP  # the default of a Timeloop design
    arch = replace(imported, semantics=HWSIM)
    layer = load_workload(str(DATA / ISPASS / prob_file)).layers()[0]
    m = Mapping.build(temporal, spatial)
    ours = evaluate_mapping(layer, arch, m)
    assert ours.accesses[("Buffer", "inputs")].fills == 48 and ours.accesses[("MainMemory", "inputs")].reads == 48
    theirs = evaluate_mapping(layer, replace(arch, semantics=Semantics(sliding_window=True)), m)
    assert theirs.accesses[("Buffer", "inputs")].fills == 18 and theirs.accesses[("MainMemory", "inputs")].reads == 18
    slow = replace(arch, levels=(replace(arch.levels[0], read_bandwidth_bits_per_cycle=8.0, write_bandwidth_bits_per_cycle=8.0), *arch.levels[1:]))
    ours = evaluate_mapping(layer, slow, m)
    overlapped = evaluate_mapping(layer, replace(slow, semantics=Semantics(overlapped_cycles=True)), m)
    assert ours.startup_cycles > 0 and ours.cycles > overlapped.cycles == max(48, max(overlapped.transfer_cycles.values()))


def _walk_fills(layer: Layer, temporal: list[list[tuple[str, int]]], child: int) -> int:
    """Fills of the inputs at level ``child`` of a nest without spatial loops, by walking every iteration of the loops
    above it: only loops inside the innermost one that moves the tile advanced: nothing; a step of that loop, when it
    is the innermost of all: the elements the previous tile did not hold; anything else: the whole tile (Timeloop's
    rule)."""
    above = [lp for lv in temporal[:child] for lp in lv]
    inner: dict[str, int] = {d: 1 for d in DIMS}
    for lv in temporal[child:]:
        for d, b in lv:
            inner[d] *= b
    op = layer.operand("inputs")
    moving = [k for k, (d, _) in enumerate(above) if d in op.relevant_dims]
    strides = [inner[d] * math.prod(b for d2, b in above[k + 1 :] if d2 == d) for k, (d, _) in enumerate(above)]
    fills = 0
    prev: set[tuple[int, ...]] = set()
    prev_it: tuple[int, ...] = ()
    for it in itertools.product(*(range(b) for _, b in above)):
        base = dict.fromkeys(DIMS, 0)
        for (d, _), i, s in zip(above, it, strides, strict=True):
            base[d] += i * s
        tile = set()
        for point in itertools.product(*(range(inner[d]) for d in DIMS)):
            idx = {d: base[d] + p for d, p in zip(DIMS, point, strict=True)}
            if all(idx[d] < layer.dims.get(d, 1) for d in DIMS):
                tile.add(tuple(sum(c * idx[d] for d, c in axis) for axis in op.axes))
        last = moving[-1] if moving else -1
        if prev_it and it[: last + 1] == prev_it[: last + 1]:
            pass  # only loops inside the innermost one that moves the tile advanced: the same tile, no event
        elif prev_it and last == len(above) - 1 and it[last] == prev_it[last] + 1 and it[:last] == prev_it[:last]:
            fills += len(tile - prev)  # a step of that loop: the new part
        else:
            fills += len(tile)  # the first tile, and every restart of that loop: the whole tile
        prev, prev_it = tile, it
    return fills


def _factorizations(n: int) -> list[tuple[int, int]]:
    return [(a, n // a) for a in range(1, n + 1) if n % a == 0]


@settings(max_examples=60, deadline=None)
@given(p=st.integers(2, 8), r=st.integers(1, 4), stride=st.integers(1, 3), k=st.integers(1, 3), data=st.data())
def test_sliding_window_fills_equal_the_walk(p: int, r: int, stride: int, k: int, data: st.DataObject) -> None:
    """Conv1d-like layers (P, R, K, strided) on DRAM → buffer → MACs, every loop order and split between the levels:
    the buffer's input fills under ``sliding_window`` equal the walk's count."""
    layer = conv2d("c", in_channels=1, out_channels=k, in_hw=(stride * (p - 1) + r, 1), kernel=(r, 1), stride=(stride, 1))
    p_out, p_in = data.draw(st.sampled_from(_factorizations(p)))
    r_out, r_in = data.draw(st.sampled_from(_factorizations(r)))
    outer = [(d, b) for d, b in (("P", p_out), ("R", r_out), ("K", k)) if b > 1]
    outer = data.draw(st.permutations(outer)) if outer else []
    temporal = [list(outer), [(d, b) for d, b in (("P", p_in), ("R", r_in)) if b > 1]]
    arch = architecture_from_dict({
        "name": "two", "semantics": {"sliding_window": True},
        "levels": [{"name": "DRAM", "kind": "dram"}, {"name": "buf", "size_bytes": 1 << 20, "word_bits": 8}],
        "pe_array": {"axes": [{"name": "pe", "size": 1, "below": "buf"}]},
    })  # fmt: skip
    r_ = evaluate_mapping(layer, arch, Mapping.build(temporal, [[]]), check=False)
    assert r_.accesses[("buf", "inputs")].fills == _walk_fills(layer, temporal, 1)
    assert r_.accesses[("DRAM", "inputs")].reads == r_.accesses[("buf", "inputs")].fills


def test_semantics_in_spec_files() -> None:
    base = {"levels": [{"name": "DRAM", "kind": "dram"}, {"name": "buf", "size_bytes": 64, "read_bandwidth_bits_per_cycle": "unlimited"}],
            "pe_array": {"axes": [{"name": "pe", "size": 1, "below": "buf"}]}}  # fmt: skip
    assert architecture_from_dict(base).semantics == HWSIM
    assert architecture_from_dict({**base, "semantics": "timeloop"}).semantics == TIMELOOP
    a = architecture_from_dict({**base, "semantics": {"base": "timeloop", "overlapped_cycles": False}})
    assert a.semantics == replace(TIMELOOP, overlapped_cycles=False)
    assert a.semantics.name == "sliding_window+whole_vectors+per_pe_windows+psum_fill_per_pe+mac_operand_reuse+utilized_leakage"
    assert a.levels[1].read_bandwidth_bits_per_cycle is None and a.levels[1].write_bandwidth_bits_per_cycle == 64 * 1
    with pytest.raises(SpecError) as e:
        architecture_from_dict({**base, "semantics": "zigzag"})
    assert "semantics" in str(e.value) and "zigzag" in str(e.value)
    with pytest.raises(SpecError) as e:
        architecture_from_dict({**base, "semantics": {"sliding": True}})
    assert "semantics.sliding" in str(e.value)
