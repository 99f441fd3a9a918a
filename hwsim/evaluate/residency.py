"""Between layers: which activations stay on chip, and element-wise work fused on the producer's output path.

``hwsim run --schedule resident`` costs a network as a schedule over its graph instead of as independent layers
(``--schedule layer``, where every layer reads its inputs from DRAM and writes its outputs back):

* **Fusion.** Where the architecture has a vector unit (:class:`hwsim.core.arch.VectorUnit`), a pooling, residual
  add, activation, norm or softmax node (:data:`FUSABLE_KINDS`) whose main producer — its latest predecessor, a MAC
  layer or an op fused on one — feeds nothing else runs on that producer's output path (:func:`fusions`): the raw
  output is never stored, the fused op reads only its other operands (a residual add's skip tensor) from where they
  live, costs its element operations on the vector unit, and takes the time the vector unit needs beyond the
  producer's. The tensor stored is the fused chain's last output.
* **Residency.** Each stored tensor is alive from its producer's step to its last consumer's (:func:`tensors`),
  residual branches across several layers included. A tensor kept in the residence level (the largest
  single-instance on-chip level: :func:`hwsim.evaluate.state_level`, where streaming state lives too) is written
  there by its producer and read there by its consumers: no DRAM write, no DRAM reads. Which tensors stay is an exact
  0/1 program (:func:`plan`: maximize the DRAM energy they would save, as the layer-by-layer schedule's own reports
  price it, subject to the live resident bytes at every step fitting the budget), solved by HiGHS through
  :func:`scipy.optimize.milp`.
* **Costing.** Each layer is mapped on :func:`residency_view`: the architecture whose outermost level no longer holds
  the operands that arrive or stay on chip, with a level standing for the resident copy (the residence level's
  energies and bandwidth, holding the whole tensor, read in place) above the residence level, and the residence level
  reduced by every resident byte alive at that step (as :func:`hwsim.evaluate.reserve_states` reserves streaming
  state: both through :func:`hwsim.evaluate.buffers.reserve`). The one cost model (:mod:`hwsim.cost.kernel`) then counts every access; :func:`merged` folds the resident
  copy's figures back under the residence level's name.

The budget (a share of the residence level, :data:`hwsim.evaluate.RESIDENT_SHARES`) is chosen as streaming state's is: each share is
scheduled and costed, and the best per the mapper's objective kept (share 0: fusion only), then one eviction pass
(:func:`hwsim.evaluate.evaluate_resident`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from hwsim.core.arch import Architecture, Level
from hwsim.core.workload import Layer, Network, StateOp, TensorOp, output_bytes
from hwsim.cost.analytical import Accesses, CostReport
from hwsim.evaluate.buffers import cost_tensor_op, reserve, shape_key, traffic_cost

if TYPE_CHECKING:
    from hwsim.mapper import MapperOptions

__all__ = ["FUSABLE_KINDS", "ResidentInfo", "Schedule", "Tensor", "benefits", "cost_schedule", "dram_bytes", "fusions",
           "merged", "operand_feeds", "plan", "residency_view", "shared_port", "steps", "tensors"]

FUSABLE_KINDS = ("pool", "add", "activation", "norm", "softmax")
RESIDENT_SUFFIX = ".resident"  # the name of the level standing for the resident copy in a layer's view
DRAM = "DRAM"


def fusions(arch: Architecture, network: Network) -> dict[str, str]:
    """Fused op → the MAC layer on whose output path it runs (empty without a vector unit).

    An op is fused when its kind is in :data:`FUSABLE_KINDS`, it keeps no streaming state and runs every step, and its
    main producer (the predecessor latest in the network's order, so its other operands already exist) is a MAC layer
    or an op fused on one, and feeds nothing but this op.
    """
    if arch.vector is None:
        return {}
    order = {op.name: k for k, op in enumerate(network.ops())}
    g = network.graph
    fused: dict[str, str] = {}
    for name in order:
        op = g.nodes[name]["op"]
        if not isinstance(op, TensorOp) or isinstance(op, StateOp) or op.kind not in FUSABLE_KINDS:
            continue
        preds = list(g.predecessors(name))
        if not preds or network.every_steps(name) != 1:
            continue
        main = max(preds, key=order.__getitem__)
        if g.out_degree(main) == 1 and network.every_steps(main) == 1 and (main in fused or isinstance(g.nodes[main]["op"], Layer)):
            fused[name] = fused.get(main, main)
    return fused


def steps(network: Network, fused: dict[str, str]) -> dict[str, int]:
    """Each node's step in the schedule: the network's order, a fused op at its producer's step."""
    out: dict[str, int] = {}
    k = 0
    for op in network.ops():
        if op.name in fused:
            out[op.name] = out[fused[op.name]]
        else:
            out[op.name] = k
            k += 1
    return out


@dataclass(frozen=True)
class Tensor:
    """An activation stored between its producer and its consumers: the output of ``node`` (the last op of a fused
    chain), ``size_bytes`` at its final width, alive from step ``first`` (its producer's) to ``last`` (its last
    consumer's), inclusive."""

    node: str
    size_bytes: float
    first: int
    last: int

    def alive(self, step: int) -> bool:
        return self.first <= step <= self.last


def tensors(network: Network, fused: dict[str, str], at: dict[str, int]) -> dict[str, Tensor]:
    """The tensors that could stay on chip: every stored output some op consumes in the same run (network outputs
    leave the chip; streaming state and ops behind temporal strides are placed by the state mechanism)."""
    g = network.graph
    out: dict[str, Tensor] = {}
    for op in network.ops():
        name = op.name
        succ = list(g.successors(name))
        if not succ or any(s in fused and fused[s] == fused.get(name, name) for s in succ):
            continue  # a network output, or a raw output consumed on the output path
        if isinstance(op, StateOp) or network.every_steps(name) != 1 or any(network.every_steps(s) != 1 for s in succ):
            continue
        out[name] = Tensor(name, output_bytes(op), at[name], max(at[s] for s in succ))
    return out


def operand_feeds(network: Network, layer: Layer) -> dict[str, list[str]]:
    """Which predecessors feed which operand of ``layer``: a batched matmul of two activations takes its first
    predecessor as ``inputs`` and its second as ``weights`` (the order the builders add them); every other layer
    reads all its predecessors as ``inputs`` (a concatenation)."""
    preds = list(network.graph.predecessors(layer.name))
    if layer.kind == "matmul" and len(preds) == 2:
        return {"inputs": preds[:1], "weights": preds[1:]}
    return {"inputs": preds} if preds else {}


@dataclass(frozen=True)
class Schedule:
    """Where every stored tensor lives: ``resident`` ones in ``arch.levels[level]``, the others in DRAM."""

    level: int | None
    budget_bytes: float
    steps: dict[str, int]
    fused: dict[str, str]
    tensors: dict[str, Tensor]
    resident: frozenset[str] = frozenset()
    algorithm: str = "milp"
    share: float = 0.0
    saved_pj: float = 0.0  # the objective: DRAM energy the resident tensors save, as the layer-by-layer reports price it

    def reserved_bytes(self, step: int) -> float:
        """Bytes of resident tensors alive at ``step`` (its layer's own resident operands included)."""
        return sum((t.size_bytes for name, t in self.tensors.items() if name in self.resident and t.alive(step)), 0.0)

    def peak_bytes(self) -> float:
        return max((self.reserved_bytes(k) for k in set(self.steps.values())), default=0.0)

    def where(self, arch: Architecture, node: str) -> str:
        """Where the tensor ``node`` writes lives: the residence level's name or DRAM."""
        return arch.levels[self.level].name if node in self.resident and self.level is not None else arch.dram.name


def plan(
    network: Network, fused: dict[str, str], level: int | None, budget_bytes: float, benefit: dict[str, float], share: float = 0.0,
    candidates: dict[str, Tensor] | None = None,
) -> Schedule:  # fmt: skip
    """The tensors to keep on chip: maximize Σ benefit over kept tensors subject to, at every step, the bytes of the kept
    tensors alive fitting ``budget_bytes`` — a 0/1 program solved exactly by HiGHS (:func:`scipy.optimize.milp`);
    tensors larger than the budget or with no benefit are never kept. ``candidates``: the tensors (default :func:`tensors`)."""
    at = steps(network, fused)
    cands = tensors(network, fused, at) if candidates is None else candidates
    names = [n for n, t in cands.items() if level is not None and 0 < t.size_bytes <= budget_bytes and benefit.get(n, 0.0) > 0]
    if not names:
        return Schedule(level, budget_bytes, at, fused, cands, share=share)
    from scipy.optimize import Bounds, LinearConstraint, milp

    step_ids = sorted({s for n in names for s in range(cands[n].first, cands[n].last + 1)})
    a = np.zeros((len(step_ids), len(names)))
    row = {s: i for i, s in enumerate(step_ids)}
    for j, n in enumerate(names):
        for s in range(cands[n].first, cands[n].last + 1):
            a[row[s], j] = cands[n].size_bytes
    gain = np.array([benefit[n] for n in names])
    res = milp(-gain / gain.max(), integrality=np.ones(len(names)), bounds=Bounds(0, 1),
               constraints=LinearConstraint(a, -np.inf, budget_bytes))  # fmt: skip
    if res.x is None:  # (HiGHS always finds x = 0 feasible; kept for safety)
        return Schedule(level, budget_bytes, at, fused, cands, share=share)
    kept = frozenset(n for n, x in zip(names, res.x, strict=True) if x > 0.5)
    return Schedule(level, budget_bytes, at, fused, cands, kept, share=share, saved_pj=float(sum(benefit[n] for n in kept)))


def residency_view(arch: Architecture, level: int, operands: Iterable[str], reserved_bytes: float) -> Architecture:
    """``arch`` as one layer sees it when ``operands`` arrive on (or stay on) chip in ``arch.levels[level]`` and
    ``reserved_bytes`` of that level hold resident tensors: the outermost level no longer keeps those operands; a
    level named ``<level>.resident`` just above the residence level (its energies, width and bandwidth; unbounded, no
    loops of its own, no leakage or area: the same SRAM) holds them whole, and they bypass the residence level's tiles
    (read in place); the residence level loses ``reserved_bytes`` of capacity."""
    ops = tuple(operands)
    arch = reserve(arch, level, reserved_bytes)  # (the one reservation rule, streaming state's)
    lv = arch.levels[level]
    levels = list(arch.levels)
    levels[0] = replace(levels[0], keeps=tuple(o for o in levels[0].keeps if o not in ops))
    levels[level] = replace(lv, keeps=tuple(o for o in lv.keeps if o not in ops), may_bypass=tuple(o for o in lv.may_bypass if o not in ops))
    if ops:
        copy = replace(lv, name=lv.name + RESIDENT_SUFFIX, keeps=tuple(o for o in ("weights", "inputs", "outputs") if o in ops),
                       size_bytes=None, double_buffered=True, temporal_dims=(), leakage_mw=0.0, area_um2=0.0, fixed_factors=(),
                       loop_order=None, may_bypass=())  # fmt: skip
        levels.insert(level, copy)
    return replace(arch, levels=tuple(levels))


def shared_port(layer: Layer, view: Architecture, level: int, report: CostReport) -> CostReport:
    """``report`` (``layer`` on ``view``, a :func:`residency_view` whose resident copy is ``view.levels[level]`` and
    the residence level the next one) re-costed with the one SRAM's bandwidth split between the two in proportion to
    their transfer times: each then takes their sum, the time the shared port needs (same mapping, the one model)."""
    copy, own = view.levels[level], view.levels[level + 1]
    t_copy, t_own = report.transfer_cycles.get(copy.name, 0.0), report.transfer_cycles.get(own.name, 0.0)
    if t_copy <= 0 or t_own <= 0 or report.mapping is None:
        return report
    from hwsim.cost.analytical import evaluate_mapping

    def part(lv: Level, f: float) -> Level:
        rbw, wbw = lv.read_bandwidth_bits_per_cycle, lv.write_bandwidth_bits_per_cycle
        return replace(lv, read_bandwidth_bits_per_cycle=None if rbw is None else rbw * f, write_bandwidth_bits_per_cycle=None if wbw is None else wbw * f)

    share = t_copy / (t_copy + t_own)
    levels = list(view.levels)
    levels[level], levels[level + 1] = part(copy, share), part(own, 1.0 - share)
    return evaluate_mapping(layer, replace(view, levels=tuple(levels)), report.mapping)


def merged(report: CostReport, arch: Architecture, level: int) -> CostReport:
    """A report of a layer costed on its :func:`residency_view` (and :func:`shared_port`), in ``arch``'s levels: the
    resident copy's energy and accesses counted under the residence level's name, its transfer time the longer of the
    two (after :func:`shared_port`, both are the shared port's)."""
    name = arch.levels[level].name
    copy = name + RESIDENT_SUFFIX

    def fold(d: dict[Any, float], add: bool = True) -> dict[Any, float]:
        out = {k: v for k, v in d.items() if k != copy}
        out[name] = out.get(name, 0.0) + d.get(copy, 0.0) if add else max(out.get(name, 0.0), d.get(copy, 0.0))
        return {lv.name: out.get(lv.name, 0.0) for lv in arch.levels}

    accesses: dict[tuple[str, str], Accesses] = {}
    energies: dict[tuple[str, str], float] = {}
    for (lv, o), a in report.accesses.items():
        key = (name if lv == copy else lv, o)
        accesses[key] = a
        energies[key] = report.access_energy_pj.get((lv, o), 0.0)
    refill = name if report.refill_level == copy else report.refill_level
    return replace(report, level_energy_pj=fold(report.level_energy_pj), transfer_cycles=fold(report.transfer_cycles, add=False),
                   accesses=accesses, access_energy_pj=energies, refill_level=refill, area_um2=arch.area_um2)  # fmt: skip


@dataclass
class _Row:
    """One op's placement, for the report: where its inputs came from, where its output went, DRAM bytes saved."""

    inputs_from: str
    outputs_to: str
    dram_saved_bytes: float = 0.0


@dataclass(frozen=True)
class ResidentInfo:
    """What the resident schedule adds to a :class:`hwsim.evaluate.NetworkReport`: per op (in report order) where its
    inputs came from and its outputs went and the DRAM bytes saved against the layer-by-layer schedule; the schedule."""

    schedule: Schedule
    rows: tuple[dict[str, Any], ...]
    layer_dram_bytes: float
    views: dict[str, Architecture] = field(default_factory=dict)  # layer → the architecture its mapping's levels are (residency_view)


def dram_bytes(r: CostReport) -> float:
    return (r.dram_read_bits + r.dram_write_bits) / 8


def _split(network: Network, node: str, total_bits: float) -> dict[str, float]:
    """An op's ``total_bits`` of input over its predecessors, in proportion to the tensors they pass."""
    g = network.graph
    sizes = {p: float(g.edges[p, node].get("size_bytes", 0.0)) for p in g.predecessors(node)}
    whole = sum(sizes.values())
    return {p: total_bits * s / whole for p, s in sizes.items()} if whole else {}


def benefits(arch: Architecture, network: Network, base: list[CostReport], fused: dict[str, str], cands: dict[str, Tensor]) -> dict[str, float]:
    """DRAM energy (pJ) each tensor's DRAM traffic costs in the layer-by-layer schedule's own reports ``base``: its producer's
    DRAM write of it, and every consumer's DRAM reads of the operand it feeds (a share, when it feeds one with others)."""
    reports = {r.layer: r for r in base}
    dram = arch.dram.name
    g = network.graph
    out: dict[str, float] = {}
    for name, _t in cands.items():
        head = fused.get(name, name)
        prod = reports[head]
        op = g.nodes[head]["op"]
        if isinstance(op, Layer):
            pj = prod.access_energy_pj.get((dram, "outputs"), 0.0)
        else:
            pj = traffic_cost(arch.dram, 0.0, g.nodes[name]["op"].output_elements * g.nodes[name]["op"].bits)[0]
        for c in g.successors(name):
            cop = g.nodes[c]["op"]
            if isinstance(cop, Layer):
                for operand, feeds in operand_feeds(network, cop).items():
                    if name in feeds:
                        sizes = [float(g.edges[p, c].get("size_bytes", 0.0)) for p in feeds]
                        share = float(g.edges[name, c].get("size_bytes", 0.0)) / sum(sizes) if sum(sizes) else 1.0
                        pj += reports[c].access_energy_pj.get((dram, operand), 0.0) * share
            else:
                bits = _split(network, c, cop.input_elements * cop.bits).get(name, 0.0)
                pj += traffic_cost(arch.dram, bits, 0.0)[0]
        out[name] = pj
    return out


def _tensor_op(
    op: TensorOp, arch: Architecture, reads: dict[int, float], writes: dict[int, float], vector: bool, slack: float
) -> tuple[CostReport, float]:  # fmt: skip
    """A non-MAC op that reads ``reads[level]`` bits from and writes ``writes[level]`` bits to each level; its element
    operations on the vector unit (``vector``: fused on a producer's output path, taking only the time beyond the
    producer's remaining ``slack`` cycles) or the PE array. Returns the report and the slack left."""
    level_energy = {lv.name: 0.0 for lv in arch.levels}
    transfer: dict[str, float] = {}
    for i in sorted(set(reads) | set(writes)):
        lv = arch.levels[i]
        e, t = traffic_cost(lv, reads.get(i, 0.0), writes.get(i, 0.0))
        level_energy[lv.name] += e
        transfer[lv.name] = transfer.get(lv.name, 0.0) + t
    busy = max(transfer.values(), default=0.0)
    if vector:
        assert arch.vector is not None
        work = max(float(math.ceil(op.ops / arch.vector.ops_per_cycle)), busy)
        cycles = max(work - slack, 0.0)
        slack = max(slack - work, 0.0)
        alu_e = op.ops * arch.vector.energy_pj_per_op
        compute = float(math.ceil(op.ops / arch.vector.ops_per_cycle))
    else:
        compute = float(math.ceil(op.ops / arch.num_macs))
        cycles = max(compute, busy, 1.0)
        alu_e = op.ops * arch.mac.energy_pj
    leak = arch.leakage_mw * 1e-3 * cycles / arch.clock_hz * 1e12
    storage = sum(level_energy.values())
    report = CostReport(
        layer=op.name, arch=arch.name, macs=0, macs_executed=0, cycles=cycles, compute_cycles=compute, startup_cycles=0.0,
        exposed_cycles=0.0, transfer_cycles=transfer or {arch.dram.name: 0.0}, energy_pj=storage + alu_e + leak, mac_energy_pj=alu_e,
        leakage_energy_pj=leak, level_energy_pj=level_energy, accesses={}, access_energy_pj={}, num_macs=arch.num_macs,
        clock_hz=arch.clock_hz, area_um2=arch.area_um2, kind=op.kind,
        notes=("fused on the output path: vector unit",) if vector else (),
        dram_read_bits=reads.get(0, 0.0), dram_write_bits=writes.get(0, 0.0),
    )  # fmt: skip
    return report, slack


def cost_schedule(
    arch: Architecture, mapped_on: Architecture, network: Network, schedule: Schedule, options: MapperOptions | None,
    map_layer: Callable[[Layer, Architecture, MapperOptions | None], CostReport], cache: dict[Any, CostReport],
    views: dict[str, Architecture] | None = None, placed: dict[str, bool] | None = None,
) -> tuple[list[CostReport], list[_Row]]:  # fmt: skip
    """Every op of ``network`` costed under ``schedule`` (layers mapped on their :func:`residency_view` of
    ``mapped_on``, the architecture less on-chip streaming state), in network order, with its placement."""
    g = network.graph
    level = schedule.level
    dram = arch.dram.name
    order = {op.name: k for k, op in enumerate(network.ops())}

    def loc(node: str) -> str:
        return schedule.where(arch, node)

    def stored(node: str) -> str:
        """The tensor a node's output ends up in: the last op of the fused chain it starts (itself if none)."""
        succ = list(g.successors(node))
        while len(succ) == 1 and succ[0] in schedule.fused and g.out_degree(node) == 1 and schedule.fused[succ[0]] == schedule.fused.get(node, node):
            node = succ[0]
            succ = list(g.successors(node))
        return node

    reports: list[CostReport] = []
    rows: list[_Row] = []
    slack: dict[str, float] = {}
    for op in network.ops():
        name = op.name
        step = schedule.steps[name]
        reserved = schedule.reserved_bytes(step)
        end = stored(name)
        out_to = f"fused:{next(iter(g.successors(name)))}" if end != name else loc(end) if list(g.successors(name)) else dram
        if isinstance(op, Layer):
            resident = sorted(o for o, feeds in operand_feeds(network, op).items() if feeds and all(p in schedule.resident for p in feeds))
            if end in schedule.resident:
                resident.append("outputs")
            key = (shape_key(op), tuple(resident), reserved)
            view = mapped_on if level is None or (not resident and not reserved) else residency_view(mapped_on, level, resident, reserved)
            if key not in cache:
                report = map_layer(op, view, options)
                if view is not mapped_on and level is not None:
                    report = merged(shared_port(op, view, level, report) if resident else report, mapped_on, level)
                cache[key] = report
            if views is not None:
                views[name] = view
            r = replace(cache[key], layer=name, arch=arch.name, area_um2=arch.area_um2)
            slack[name] = r.cycles
            feeds = [p for ps in operand_feeds(network, op).values() for p in ps]
            rows.append(_Row("+".join(sorted({loc(p) for p in feeds})) or dram, out_to))
        elif isinstance(op, StateOp) or network.every_steps(name) != 1:
            on_chip = (placed or {}).get(name, False)  # streaming state where the layer-by-layer schedule placed it
            r = cost_tensor_op(op, arch, on_chip)
            where = arch.levels[level].name if on_chip and level is not None else dram
            rows.append(_Row(where, where))
        else:
            vector = name in schedule.fused
            head = schedule.fused.get(name)
            main = max(g.predecessors(name), key=order.__getitem__) if vector else None
            reads: dict[int, float] = {}
            sources = []
            for p, bits in _split(network, name, op.input_elements * op.bits).items():
                if p == main:
                    sources.append(f"fused:{p}")
                    continue
                i = level if p in schedule.resident and level is not None else 0
                reads[i] = reads.get(i, 0.0) + bits
                sources.append(loc(p))
            if not list(g.predecessors(name)):
                reads[0] = op.input_elements * op.bits
                sources.append(dram)
            writes: dict[int, float] = {}
            if not vector:  # a fused op's output is its producer's (written where the chain's tensor lives)
                i = level if end in schedule.resident and level is not None else 0
                writes[i] = op.output_elements * op.bits
            r, left = _tensor_op(op, arch, reads, writes, vector, slack.get(head or "", 0.0))
            if head is not None:
                slack[head] = left
            rows.append(_Row("+".join(sorted(set(sources))), out_to))
        reports.append(r.per_step(network.every_steps(name)))
    return reports, rows
