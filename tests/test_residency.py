"""Residency across layers and fused element-wise work (hwsim.evaluate.residency), against hand-worked DRAM traffic,
a brute-force 0/1 program, and the capacity invariant over random chains."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace

import pytest

from hwsim.cli import main
from hwsim.core.arch import Architecture, VectorUnit, architecture_from_dict
from hwsim.core.errors import SpecError
from hwsim.core.mapping import tile_bytes
from hwsim.core.workload import Layer, Network, conv2d
from hwsim.evaluate import evaluate_network, evaluate_resident, state_level
from hwsim.evaluate.residency import Tensor, plan, residency_view, steps, tensors
from hwsim.mapper import MapperOptions
from workloads import _ops

OPTIONS = MapperOptions(samples=300)


def design(glb_kib: float = 64, vector: bool = False, compulsory: bool = True) -> Architecture:
    """A DRAM without loops of its own (``compulsory``: every operand crosses it exactly once per layer, whatever the
    mapping), a global buffer keeping everything, 4 PEs."""
    arch = architecture_from_dict({
        "name": "chain", "clock_hz": 1e9, "technology": {"node_nm": 45},
        "levels": [{"name": "DRAM", "kind": "dram", "keeps": ["weights", "inputs", "outputs"], **({"temporal_dims": []} if compulsory else {})},
                   {"name": "GLB", "kind": "sram", "size_kib": glb_kib, "keeps": ["weights", "inputs", "outputs"]}],
        "pe_array": {"axes": [{"name": "x", "size": 4, "below": "GLB", "dims": ["K"]}]},
        **({"vector_unit": {"ops_per_cycle": 4}} if vector else {}),
    })  # fmt: skip
    return arch


def conv(name: str, cin: int, cout: int, hw: int = 4) -> Layer:
    return conv2d(name, in_channels=cin, out_channels=cout, in_hw=hw, kernel=1)


def dram_bytes(report) -> float:  # type: ignore[no-untyped-def]
    return sum((r.dram_read_bits + r.dram_write_bits) / 8 for r in report.reports)


def resident(arch: Architecture, net: Network, share: float):  # type: ignore[no-untyped-def]
    base = evaluate_network(arch, net, OPTIONS)
    return base, evaluate_resident(arch, net, base, OPTIONS, shares=(share,))


def test_chain_closed_form():
    # X (8 ch × 4×4 = 128 B) → c1 (W1 8·16 = 128 B) → Y1 (16 × 16 = 256 B) → c2 (W2 16·8 = 128 B) → Y2 (128 B)
    net = Network("chain")
    net.add(conv("c1", 8, 16), after=None)
    net.add(conv("c2", 16, 8))
    arch = design()
    base, res = resident(arch, net, 0.25)
    assert dram_bytes(base) == 128 + 128 + 256 + 256 + 128 + 128  # c1: X, W1 in, Y1 out; c2: Y1, W2 in, Y2 out
    assert dram_bytes(res) == 128 + 128 + 128 + 128  # Y1 stays in the GLB: neither written nor read back
    assert res.resident is not None and res.resident.schedule.resident == {"c1"}
    rows = {r["inputs_from"] + ">" + r["outputs_to"] for r in res.resident.rows}
    assert rows == {"DRAM>GLB", "GLB>DRAM"}
    assert [r["dram_saved_bytes"] for r in res.resident.rows] == [256, 256]
    assert res.totals()["dram_saved_bytes"] == 512


def residual_block() -> Network:
    """c0 → c1 → c2 → add(c2, c0) → c3: c0's output Y0 is alive across c1 and c2 (the residual branch)."""
    net = Network("block")
    net.add(conv("c0", 8, 16), after=None)  # X 128 B, W0 128 B → Y0 256 B
    net.add(conv("c1", 16, 16))  # W1 256 B → Y1 256 B
    net.add(conv("c2", 16, 16))  # W2 256 B → Y2 256 B
    net.add(_ops.add("add", 256), after=["c2", "c0"])  # reads Y2 and Y0, writes A 256 B
    net.add(conv("c3", 16, 8))  # W3 128 B → Y3 128 B
    return net


def test_residual_block_closed_form():
    net = residual_block()
    weights, x, y3 = 128 + 256 + 256 + 128, 128, 128
    # c0: Y0 out; c1: Y0 in, Y1 out; c2: Y1 in, Y2 out; add: Y2 and Y0 in, A out; c3: A in — nine 256-byte transfers
    layer = x + weights + y3 + 9 * 256
    base, res = resident(design(), net, 0.5)  # 32 KiB: room for every tensor
    assert dram_bytes(base) == layer
    assert dram_bytes(res) == x + weights + y3  # everything between layers stays on chip
    sched = res.resident.schedule
    assert sched.resident == {"c0", "c1", "c2", "add"}
    assert sched.tensors["c0"] == Tensor("c0", 256, 0, 3)  # the residual branch is alive from c0 to the add
    assert sched.peak_bytes() == 256 * 3  # at c2: Y0, Y1 (its input) and Y2 (its output); at the add: Y0, Y2, A
    # with a vector unit and no room: the add runs on c2's output path (the later of its producers), reading Y0 from DRAM
    base_v, fused = resident(design(vector=True), net, 0.0)
    assert dram_bytes(base_v) == layer
    assert dram_bytes(fused) == layer - 2 * 256  # Y2 is neither written nor read back; c2 writes A (same size) instead
    rows = {r.layer: row for r, row in zip(fused.reports, fused.resident.rows, strict=True)}
    assert rows["add"]["inputs_from"] == "DRAM+fused:c2" and rows["c2"]["outputs_to"] == "fused:add"
    assert fused.resident.schedule.fused == {"add": "c2"}
    add = next(r for r in fused.reports if r.layer == "add")
    assert add.mac_energy_pj == pytest.approx(256 * design(vector=True).vector.energy_pj_per_op)  # type: ignore[union-attr]


def test_budget_limits_the_residual_branch():
    # room for 512 B (¼ of 2 KiB): two of the 256-byte tensors at any step. Alive: step 0 {Y0}, 1 {Y0, Y1},
    # 2 {Y0, Y1, Y2}, 3 {Y0, Y2, A}, 4 {A}. Y0 crosses DRAM three times (out, into c1, into the add), the others twice:
    # the best subset is {Y0, Y1, A} (7 transfers saved; {Y1, Y2, A} saves 6, {Y0, Y2} 5)
    net = residual_block()
    arch = design(glb_kib=2)
    base, res = resident(arch, net, 0.25)
    sched = res.resident.schedule
    assert sched.budget_bytes == 512
    assert sched.resident == {"c0", "c1", "add"}
    assert dram_bytes(res) == dram_bytes(base) - 7 * 256 == 1536
    for k in set(sched.steps.values()):
        assert sched.reserved_bytes(k) <= 512


def test_plan_is_the_brute_force_optimum():
    rng = random.Random(7)
    for _ in range(20):
        net = Network("r")
        names = []
        for i in range(7):
            after = None if i == 0 else [names[-1], *rng.sample(names[:-1], k=min(len(names) - 1, rng.randint(0, 1)))]
            op = conv(f"c{i}", 8, 8) if after is None or len(after) == 1 else _ops.add(f"c{i}", 128)
            names.append(net.add(op, after=after))
        at = steps(net, {})
        cands = tensors(net, {}, at)
        benefit = {n: rng.uniform(1, 10) for n in cands}
        sizes = {n: float(rng.choice((64, 128, 256))) for n in cands}
        cands = {n: replace(t, size_bytes=sizes[n]) for n, t in cands.items()}
        budget = rng.choice((128, 256, 384, 512))

        def fits(subset: tuple[str, ...], cands: dict[str, Tensor] = cands, budget: int = budget, at: dict[str, int] = at) -> bool:
            return all(sum(cands[n].size_bytes for n in subset if cands[n].alive(k)) <= budget for k in set(at.values()))

        best = max(sum(benefit[n] for n in s) for r in range(len(cands) + 1) for s in itertools.combinations(cands, r) if fits(s))
        sched = plan(net, {}, 1, budget, benefit, candidates=cands)
        assert sched.saved_pj == pytest.approx(best)
        assert fits(tuple(sched.resident))


def random_chain(rng: random.Random, n: int) -> Network:
    net = Network(f"chain{n}")
    c = rng.choice((4, 8, 16))
    hw = rng.choice((4, 8))
    names: list[str] = []
    for i in range(n):
        cout = rng.choice((4, 8, 16, 32))
        if names and rng.random() < 0.3 and len(names) >= 2:
            # a residual add over the last two nodes when their outputs match
            a, b = names[-1], names[-2]
            oa, ob = net.graph.nodes[a]["op"], net.graph.nodes[b]["op"]
            if isinstance(oa, Layer) and isinstance(ob, Layer) and oa.bound("K") == ob.bound("K"):
                names.append(net.add(_ops.add(f"add{i}", oa.bound("K") * hw * hw), after=[a, b]))
                continue
        names.append(net.add(conv(f"c{i}", c, cout, hw), after=names[-1:] or None))
        c = cout
    return net


@pytest.mark.parametrize("seed", range(6))
def test_capacity_never_exceeded(seed):
    rng = random.Random(seed)
    net = random_chain(rng, rng.randint(3, 7))
    arch = design(glb_kib=rng.choice((1, 2, 4)), vector=rng.random() < 0.5, compulsory=False)
    base = evaluate_network(arch, net, OPTIONS)
    for share in (0.25, 0.5, 0.75):
        res = evaluate_resident(arch, net, base, OPTIONS, shares=(share,))
        info = res.resident
        assert info is not None
        sched = info.schedule
        level = state_level(arch)
        assert level is not None
        size = arch.levels[level].size_bytes
        assert sched.budget_bytes <= size
        for r in res.reports:
            op = net.graph.nodes[r.layer]["op"]
            k = sched.steps[r.layer]
            held = sched.reserved_bytes(k)
            assert held <= sched.budget_bytes
            if isinstance(op, Layer):
                view = info.views[r.layer]
                at = [lv.name for lv in view.levels].index(arch.levels[level].name)
                assert r.mapping is not None
                assert tile_bytes(op, view, r.mapping, at) + held <= size  # tiles beside every resident byte alive
        assert dram_bytes(res) <= dram_bytes(base)


def test_view_moves_resident_operands_off_dram():
    arch = design()
    view = residency_view(arch, 1, ["inputs", "outputs"], 1000)
    assert [lv.name for lv in view.levels] == ["DRAM", "GLB.resident", "GLB"]
    assert view.levels[0].keeps == ("weights",) and view.levels[1].keeps == ("inputs", "outputs")
    assert view.levels[2].keeps == ("weights",) and view.levels[2].size_bytes == arch.levels[1].size_bytes - 1000
    assert view.levels[1].read_energy_pj == arch.levels[1].read_energy_pj and view.area_um2 == arch.area_um2


def test_schedule_layer_is_the_default():
    arch, net = design(vector=True), residual_block()
    assert evaluate_network(arch, net, OPTIONS).to_json() == evaluate_network(arch, net, OPTIONS, schedule="layer").to_json()
    with pytest.raises(SpecError, match="schedule"):
        evaluate_network(arch, net, OPTIONS, schedule="fused")


def test_cli_schedule(capsys):
    code = main(["run", "--arch", "eyeriss", "--workload", "resnet18", "--format", "json", "--schedule", "resident", "--samples", "200"])
    out = capsys.readouterr()
    assert code == 0, out.err
    d = json.loads(out.out)
    assert d["schedule"] == "resident" and d["total"]["dram_bytes"] < d["total"]["dram_bytes_layer"]
    assert {"inputs_from", "outputs_to", "dram_saved_bytes", "dram_bytes"} <= set(d["layers"][0])
    code = main(["run", "--arch", "eyeriss", "--workload", "resnet18", "--schedule", "resident", "--engine", "cycle"])
    err = capsys.readouterr().err
    assert code == 2 and "--engine" in err and "Traceback" not in err


def test_vector_unit_spec_errors():
    data = {"name": "x", "levels": [{"name": "DRAM", "kind": "dram"}, {"name": "B", "size_kib": 1}],
            "pe_array": {"axes": [{"name": "x", "size": 2, "below": "B"}]}}  # fmt: skip
    with pytest.raises(SpecError) as e:
        architecture_from_dict({**data, "vector_unit": {"energy_pj_per_op": 0.1}})
    assert "vector_unit.ops_per_cycle" in str(e.value)
    with pytest.raises(SpecError) as e:
        architecture_from_dict({**data, "vector_unit": {"ops_per_cycle": -1}})
    assert "vector_unit.ops_per_cycle" in str(e.value)
    arch = architecture_from_dict({**data, "vector_unit": {"ops_per_cycle": 8, "energy_pj_per_op": 0.5}})
    assert arch.vector == VectorUnit(8.0, 0.5)


@pytest.mark.parametrize("workload", ["resnet18", "cost-gcn-strided"])
def test_nothing_resident_nothing_fused_is_layer_by_layer(workload):
    # share 0 and no vector unit: the resident schedule must reproduce the layer-by-layer figures exactly (streaming
    # state where the layer-by-layer schedule placed it, ops behind temporal strides per step)
    from hwsim.frontend.presets import load_arch, load_workload

    arch = replace(load_arch("eyeriss"), vector=None)
    net = load_workload(workload)
    base = evaluate_network(arch, net, OPTIONS)
    res = evaluate_resident(arch, net, base, OPTIONS, shares=(0.0,))
    assert [r.energy_pj for r in res.reports] == [r.energy_pj for r in base.reports]
    assert [r.cycles for r in res.reports] == [r.cycles for r in base.reports]
    assert res.totals()["dram_saved_bytes"] == 0
