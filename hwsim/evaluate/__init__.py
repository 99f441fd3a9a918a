"""Whole-network evaluation: map and cost every layer, cost the non-MAC ops, total it up.

Identical layer shapes (ResNet's repeated blocks) are mapped once and the result reused.
Non-MAC ops (pooling, residual adds, softmax, norms) are costed by their traffic: read
their inputs from and write their outputs to DRAM, one element operation per op on the
PE array (each charged one MAC's energy, an upper bound for an add or compare).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from itertools import repeat
from typing import TYPE_CHECKING, Any

import pandas as pd

from hwsim.core.arch import Architecture
from hwsim.core.errors import Problem, SpecError
from hwsim.core.mapping import Mapping
from hwsim.core.workload import Layer, Network, StateOp, TensorOp
from hwsim.cost.analytical import CostReport, evaluate_mapping
from hwsim.cost.cycle import CycleOptions, CycleReport
from hwsim.cost.precision import mac_speedup, utilization
from hwsim.evaluate.buffers import cost_tensor_op, reserve, state_level, traffic_cost
from hwsim.evaluate.buffers import shape_key as _shape_key
from hwsim.evaluate.buffers import state_size as _state_size
from hwsim.mapper import MapperOptions, map_layer

if TYPE_CHECKING:
    from hwsim.evaluate.residency import ResidentInfo

__all__ = ["SCHEDULES", "NetworkReport", "cost_tensor_op", "evaluate_network", "evaluate_resident", "reserve", "state_level", "traffic_cost"]


SCHEDULES = ("layer", "resident")  # layer by layer (each layer from and to DRAM), or residency and fusion between layers
STATE_SHARE = 0.5  # of the state level's capacity, when one share is asked for; the rest stays for the layers' tiles
STATE_SHARES = (0.0, 0.25, 0.5, 0.75)  # the allocations evaluate_network tries, keeping the cheapest
RESIDENT_SHARES = (0.0, 0.25, 0.5, 0.75)  # of the residence level (less on-chip state) resident tensors may fill (share 0: fusion only)


def place_states(arch: Architecture, network: Network, share: float = STATE_SHARE) -> dict[str, bool]:
    """Which state ops live on chip when ``share`` of the state level is given to state.

    Greedy by per-step traffic per byte held (a ring buffer read and written whole every step
    gains more from SRAM than a delay buffer that touches one frame of many), ties in network order.
    """
    level = state_level(arch)
    budget = (arch.levels[level].size_bytes or 0) * share if level is not None else 0.0
    states = [op for op in network.ops() if isinstance(op, StateOp)]
    placed = {op.name: False for op in states}
    for op in sorted(states, key=lambda op: -(op.input_elements + op.output_elements) / max(op.state_elements, 1)):
        if _state_size(op) <= budget:
            placed[op.name] = True
            budget -= _state_size(op)
    return placed


def reserve_states(arch: Architecture, network: Network, placed: dict[str, bool]) -> Architecture:
    """The architecture the layers are mapped on: the state level less the state resident in it.

    The mapper then tiles every layer within what the state leaves free, so state and tiles never
    claim the same bytes. Energies and area stay those of the whole physical buffer.
    """
    level = state_level(arch)
    used = sum(_state_size(op) for op in network.ops() if isinstance(op, StateOp) and placed.get(op.name))
    if level is None or not used:
        return arch
    return reserve(arch, level, used)


def state_allocations(arch: Architecture, network: Network, shares: tuple[float, ...] = STATE_SHARES) -> list[dict[str, bool]]:
    """The distinct placements of ``network``'s state over the given shares of the state level (one, empty, without state)."""
    if not any(isinstance(op, StateOp) for op in network.ops()):
        return [{}]
    out: list[dict[str, bool]] = []
    for share in shares:
        placed = place_states(arch, network, share)
        if placed not in out:
            out.append(placed)
    return out


def best_allocation(
    arch: Architecture, network: Network, evaluate: Callable[[dict[str, bool]], NetworkReport], options: MapperOptions | None = None,
    shares: tuple[float, ...] = STATE_SHARES,
) -> NetworkReport:  # fmt: skip
    """``evaluate`` (layers mapped beside the given on-chip state) for each distinct placement; the best per the mapper's
    objective. A placement that ``evaluate`` refuses (a given mapping that does not fit beside that much state) is skipped."""
    best: NetworkReport | None = None
    failure: SpecError | None = None
    for placed in state_allocations(arch, network, shares):
        try:
            report = evaluate(placed)
        except SpecError as exc:
            failure = failure or exc
            continue
        if best is None or _objective(report, options) < _objective(best, options):
            best = report
    if best is None:
        assert failure is not None
        raise failure
    return best


@dataclass(frozen=True)
class NetworkReport:
    """Per-layer reports of one network on one architecture.

    With ``engine == "cycle"``, ``reports`` carry the cycle engine's cycles (energy from the
    analytical access counts, leakage over the simulated latency) and ``cycle_reports`` the
    stall breakdown of each MAC layer (None for non-MAC ops, which stay analytical).
    """

    arch: Architecture
    network: Network
    reports: tuple[CostReport, ...]
    engine: str = "analytical"
    cycle_reports: tuple[CycleReport | None, ...] = ()
    analytical_cycles: tuple[float, ...] = ()
    placement: tuple[tuple[str, bool], ...] | None = None  # state op → on chip; None: place_states' default
    resident: ResidentInfo | None = None  # the resident schedule (hwsim.evaluate.residency); None: layer by layer

    @property
    def macs(self) -> int | float:
        """MACs per run (per step, averaged, for ops behind a temporal stride)."""
        return sum(r.macs for r in self.reports)

    @property
    def cycles(self) -> float:
        return sum(r.cycles for r in self.reports)

    @property
    def energy_pj(self) -> float:
        return sum(r.energy_pj for r in self.reports)

    @property
    def latency_s(self) -> float:
        return self.cycles / self.arch.clock_hz

    @property
    def edp_pj_s(self) -> float:
        return self.energy_pj * self.latency_s

    @property
    def useful_unit_cycles(self) -> float:
        """MAC-unit cycles spent on performed MACs, summed over the layers (non-MAC ops: none)."""
        return sum(r.useful_unit_cycles for r in self.reports)

    @property
    def available_unit_cycles(self) -> float:
        return sum(r.available_unit_cycles for r in self.reports)

    @property
    def utilization(self) -> float:
        """The layers' definition (:func:`hwsim.cost.precision.utilization`) over the whole run: total useful MAC-unit
        cycles over total available ones, so it lies between the lowest and the highest per-op figure (non-MAC
        ops count as 0: the MAC units do no MACs meanwhile)."""
        return utilization(self.useful_unit_cycles, self.available_unit_cycles)

    @property
    def mac_speedup(self) -> float:
        """Dense-equivalent MACs per useful MAC-unit cycle over the run (precision and zero-skipping)."""
        return mac_speedup(self.macs, self.useful_unit_cycles)

    def state_bytes(self) -> tuple[float, float]:
        """(all streaming state, the part kept on chip) in bytes, per step."""
        placed = dict(self.placement) if self.placement is not None else place_states(self.arch, self.network)
        states = [op for op in self.network.ops() if isinstance(op, StateOp)]
        return sum(map(_state_size, states), 0.0), sum((_state_size(op) for op in states if placed[op.name]), 0.0)

    def totals(self) -> dict[str, float | int]:
        state, onchip = self.state_bytes()
        streaming = {}
        if state:
            delay = sum(op.delay_steps for op in self.network.ops() if isinstance(op, StateOp))
            level = state_level(self.arch)
            size = (self.arch.levels[level].size_bytes or 0.0) if level is not None else 0.0
            streaming = {"state_bytes": state, "state_onchip_bytes": onchip, "state_level_fraction": onchip / size if size else 0.0,
                         "steps_per_s": 1 / self.latency_s if self.cycles else 0.0,
                         "first_output_delay_steps": delay, "first_output_delay_s": delay * self.latency_s}  # fmt: skip
        between = {}
        if self.resident is not None:
            dram = sum((r.dram_read_bits + r.dram_write_bits) / 8 for r in self.reports)
            sched = self.resident.schedule
            between = {"dram_bytes": dram, "dram_bytes_layer": self.resident.layer_dram_bytes,
                       "dram_saved_bytes": self.resident.layer_dram_bytes - dram, "resident_tensors": len(sched.resident),
                       "fused_ops": len(sched.fused), "resident_share": sched.share, "resident_budget_bytes": sched.budget_bytes,
                       "resident_peak_bytes": sched.peak_bytes()}  # fmt: skip
        return {
            **streaming,
            **between,
            "macs": self.macs,
            "cycles": self.cycles,
            "energy_pj": self.energy_pj,
            "latency_s": self.latency_s,
            "edp_pj_s": self.edp_pj_s,
            "utilization": self.utilization,
            "mac_speedup": self.mac_speedup,
            "pj_per_mac": self.energy_pj / self.macs if self.macs else 0.0,
            "area_mm2": self.arch.area_um2 / 1e6,
        }

    def _rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [dict(r.summary()) for r in self.reports]
        if self.engine == "cycle":
            for row, c, a in zip(rows, self.cycle_reports, self.analytical_cycles, strict=True):
                row["analytical_cycles"] = a
                b = c.breakdown() if c is not None else {"compute_cycles": row["cycles"]}
                for key in ("compute_cycles", "fill_drain_cycles", "sram_stall_cycles", "dram_stall_cycles"):
                    row[key] = b.get(key, 0.0)
                if c is not None:
                    row["bound_by"] = c.bound_by
        if self.resident is not None:
            for row, r, extra in zip(rows, self.reports, self.resident.rows, strict=True):
                row.update(extra)
                row["dram_bytes"] = (r.dram_read_bits + r.dram_write_bits) / 8
        return rows

    def to_frame(self) -> pd.DataFrame:
        """One row per layer/op: macs, cycles, energy_pj, utilization, per-level energy...
        (and, from the cycle engine, analytical_cycles and the stall breakdown)."""
        return pd.DataFrame(self._rows())

    def to_json(self) -> dict[str, Any]:
        return {
            "arch": self.arch.name,
            "workload": self.network.name,
            "clock_hz": self.arch.clock_hz,
            "num_macs": self.arch.num_macs,
            "engine": self.engine,
            **({"schedule": "resident"} if self.resident is not None else {}),
            "layers": [{**_jsonable(row), "accesses": _accesses_json(r)} for row, r in zip(self._rows(), self.reports, strict=True)],
            "total": _jsonable(self.totals()),
        }


def _accesses_json(r: CostReport) -> dict[str, dict[str, dict[str, float]]]:
    """``{level: {operand: {reads, fills, updates, energy_pj}}}``: element accesses summed over the level's instances."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (lv, op), a in r.accesses.items():
        out.setdefault(lv, {})[op] = {"reads": a.reads, "fills": a.fills, "updates": a.updates,
                                      "energy_pj": r.access_energy_pj.get((lv, op), 0.0)}  # fmt: skip
    return out


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in d.items()}


def _workers(requested: int | None, jobs: int, options: MapperOptions) -> int:
    if requested is not None:
        return max(1, min(requested, jobs))
    # Worth a second process only when the searches outweigh starting one (about a second).
    heavy = jobs >= 4 and (options.exhaustive or jobs * options.samples >= 2_000_000)
    return min(os.cpu_count() or 1, jobs) if heavy else 1


def evaluate_network(
    arch: Architecture,
    network: Network,
    options: MapperOptions | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    workers: int | None = None,
    engine: str = "analytical",
    cycle_options: CycleOptions | None = None,
    mappings: dict[str, Mapping] | None = None,
    state_share: float | None = None,
    tensors: dict[str, dict[str, Any]] | None = None,
    check_mappings: bool = True,
    schedule: str = "layer",
) -> NetworkReport:
    """Map and cost every node of ``network`` on ``arch`` in topological order.

    ``engine="cycle"`` simulates each mapped layer with :func:`hwsim.cost.cycle.simulate` (the mapper still searches
    with the analytical model); ``tensors`` (layer name → operand → array) gives it real data to count skipped zeros on.
    Each distinct layer shape is searched once, in ``workers`` processes (or automatically, for long searches); results
    do not depend on it. ``mappings`` (layer name → :class:`Mapping`) fixes those layers' schedules instead of
    searching; ``check_mappings=False`` leaves their capacities unchecked (SCALE-Sim's folding streams operands through
    buffers smaller than a fold's working set).

    Streaming state is placed first (:func:`place_states`, :func:`reserve_states`): every layer is mapped within what
    the on-chip state leaves of the state level. ``state_share`` None tries each share in ``STATE_SHARES`` and keeps
    the best objective per step; a number fixes the share.

    ``schedule="resident"`` (:mod:`hwsim.evaluate.residency`) then schedules the network over its graph: element-wise
    ops fused on their producers' output paths, activations kept on chip between layers, every layer re-mapped knowing
    which operands arrive on chip (analytical engine, searched mappings only).
    """
    if engine not in ("analytical", "cycle"):
        raise SpecError("evaluate_network", [Problem("engine", engine, "expected analytical or cycle")])
    if schedule not in SCHEDULES:
        raise SpecError("evaluate_network", [Problem("schedule", schedule, f"expected {' or '.join(SCHEDULES)}")])
    if schedule == "resident":
        if engine != "analytical" or mappings:
            what = ("engine", engine) if engine != "analytical" else ("mappings", sorted(mappings or {}))
            raise SpecError("evaluate_network", [Problem(what[0], what[1], "expected the analytical engine and searched mappings "
                                                                          "with schedule=resident")])  # fmt: skip
        base = evaluate_network(arch, network, options, progress, workers, state_share=state_share)
        return evaluate_resident(arch, network, base, options)
    shares = STATE_SHARES if state_share is None else (state_share,)
    options = options or MapperOptions()
    ops = list(network.ops())
    fixed = mappings or {}
    unique: dict[Layer, Layer] = {}
    for op in ops:
        if isinstance(op, Layer) and op.name not in fixed:
            unique.setdefault(_shape_key(op), op)
    keys = list(unique)
    n_workers = _workers(workers, len(keys), options)

    def placed_on(placed: dict[str, bool]) -> NetworkReport:
        """Map the layers on ``arch`` less the state ``placed`` on chip; cost every node."""
        mapped_on = reserve_states(arch, network, placed)
        cache: dict[Layer, CostReport] = {}
        if n_workers > 1:
            ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            with ProcessPoolExecutor(n_workers, mp_context=ctx) as pool:
                mapped = pool.map(map_layer, unique.values(), repeat(mapped_on), repeat(options))
                for k, (key, report) in enumerate(zip(keys, mapped, strict=True)):
                    cache[key] = report
                    if progress:
                        progress(k, len(keys), unique[key].name)
        else:
            for k, key in enumerate(keys):
                if progress:
                    progress(k, len(keys), unique[key].name)
                cache[key] = map_layer(unique[key], mapped_on, options)
        own = {op.name: evaluate_mapping(op, mapped_on, fixed[op.name], check=check_mappings)
               for op in ops if isinstance(op, Layer) and op.name in fixed}  # fmt: skip
        placement = tuple(placed.items())
        if engine == "cycle":
            cycle = _cycle_network(mapped_on, arch, network, ops, cache, cycle_options, placed, own, tensors)
            return replace(cycle, arch=arch, placement=placement)
        reports: list[CostReport] = []
        for op in ops:
            if isinstance(op, TensorOp):
                r = cost_tensor_op(op, arch, placed.get(op.name, False))
            else:
                r = own[op.name] if op.name in own else replace(cache[_shape_key(op)], layer=op.name)
            reports.append(r.per_step(network.every_steps(op.name)))
        return NetworkReport(arch, network, tuple(reports), placement=placement)

    return best_allocation(arch, network, placed_on, options, shares)


def _objective(report: NetworkReport, options: MapperOptions | None) -> tuple[float, ...]:
    figures = {"energy": report.energy_pj, "delay": report.cycles, "edp": report.energy_pj * report.cycles}
    return tuple(figures.get(o, figures["edp"]) for o in (options or MapperOptions()).objectives)


def _cycles_per_step(c: CycleReport, every: int) -> CycleReport:
    """A cycle report per step of an op that runs once every ``every`` steps."""
    if every == 1:
        return c
    f = 1.0 / every
    return replace(c, macs=c.macs * f, cycles=c.cycles * f, compute_cycles=c.compute_cycles * f, fill_drain_cycles=c.fill_drain_cycles * f,
                   sram_stall_cycles=c.sram_stall_cycles * f, dram_stall_cycles=c.dram_stall_cycles * f,
                   dram_read_bits=c.dram_read_bits * f, dram_write_bits=c.dram_write_bits * f)  # fmt: skip


def _cycle_network(
    arch: Architecture,
    full: Architecture,
    network: Network,
    ops: list[Layer | TensorOp],
    cache: dict[Layer, CostReport],
    options: CycleOptions | None,
    placed: dict[str, bool],
    own: dict[str, CostReport] | None = None,
    tensors: dict[str, dict[str, Any]] | None = None,
) -> NetworkReport:
    from hwsim.cost.cycle import simulate

    own = dict(own or {})
    tensors = tensors or {}
    for op in ops:  # layers with real data are simulated on their own (same shape, different zeros)
        if isinstance(op, Layer) and op.name in tensors and op.name not in own:
            own[op.name] = replace(cache[_shape_key(op)], layer=op.name)
    named = {op.name: op for op in ops if isinstance(op, Layer) and op.name in own}
    simulated: dict[Layer | str, tuple[CostReport, CycleReport]] = {}
    jobs: list[tuple[Layer | str, CostReport]] = [*cache.items(), *((name, own[name]) for name in named)]
    for key, analytical in jobs:
        layer = named[key] if isinstance(key, str) else key
        assert analytical.mapping is not None
        data = tensors.get(key) if isinstance(key, str) else None
        c = simulate(layer, arch, analytical.mapping, options, check=False, tensors=data)
        scale = c.cycles / analytical.cycles if analytical.cycles else 1.0
        leakage = analytical.leakage_energy_pj * scale
        simulated[key] = (replace(analytical, cycles=c.cycles, leakage_energy_pj=leakage,
                                  energy_pj=analytical.energy_pj - analytical.leakage_energy_pj + leakage,
                                  mac_fraction=c.mac_fraction,  # the MACs performed on real data when the engine counted them
                                  notes=(*analytical.notes, "cycles from the cycle engine")), c)  # fmt: skip
    rows: list[tuple[CostReport, CycleReport | None, float]] = []  # per op: its report, cycle report and analytical cycles
    for op in ops:
        every = network.every_steps(op.name)
        if isinstance(op, TensorOp):
            r = cost_tensor_op(op, full, placed.get(op.name, False)).per_step(every)  # state where it was placed, as analytically
            rows.append((r, None, r.cycles))
        else:
            r, c = simulated[op.name if op.name in own else _shape_key(op)]
            rows.append((replace(r, layer=op.name).per_step(every), _cycles_per_step(replace(c, layer=op.name), every),
                         (own[op.name].cycles if op.name in own else cache[_shape_key(op)].cycles) / every))
    reports, cycles, analytical_cycles = zip(*rows, strict=True) if rows else ((), (), ())
    return NetworkReport(arch, network, tuple(reports), "cycle", tuple(cycles), tuple(analytical_cycles))


def evaluate_resident(
    arch: Architecture, network: Network, base: NetworkReport, options: MapperOptions | None = None,
    shares: tuple[float, ...] = RESIDENT_SHARES, progress: Callable[[int, int, str], None] | None = None, refine: bool = True,
) -> NetworkReport:  # fmt: skip
    """``network`` on ``arch`` under the best resident schedule over ``shares`` (the mapper's objective), given its
    layer-by-layer evaluation ``base`` (whose streaming-state placement it keeps and whose reports price the tensors);
    ``refine``: then one eviction pass over the kept tensors on the costed objective."""
    from hwsim.evaluate.residency import ResidentInfo, Schedule, benefits, cost_schedule, dram_bytes, fusions, plan, steps, tensors

    placed = dict(base.placement or ())
    mapped_on = reserve_states(arch, network, placed)
    level = state_level(arch)
    fused = fusions(arch, network)
    at = steps(network, fused)
    cands = tensors(network, fused, at)
    benefit = benefits(arch, network, list(base.reports), fused, cands)
    size = (mapped_on.levels[level].size_bytes or 0.0) if level is not None else 0.0
    base_rows = {r.layer: dram_bytes(r) for r in base.reports}
    cache: dict[Any, CostReport] = {}
    layer_dram = sum(base_rows.values())

    def costed(schedule: Schedule) -> NetworkReport:
        views: dict[str, Architecture] = {}
        reports, rows = cost_schedule(arch, mapped_on, network, schedule, options, map_layer, cache, views, placed)
        for row, r in zip(rows, reports, strict=True):
            row.dram_saved_bytes = base_rows[r.layer] - dram_bytes(r)
        info = ResidentInfo(schedule, tuple(vars(row) for row in rows), layer_dram, views)
        return NetworkReport(arch, network, tuple(reports), placement=base.placement, resident=info)

    best: NetworkReport | None = None
    failure: SpecError | None = None
    for k, share in enumerate(sorted(set(shares))):
        if progress:
            progress(k, len(shares), f"resident share {share:g}")
        try:  # (a layer whose tiles do not fit beside the tensors resident at its step refuses the share)
            report = costed(plan(network, fused, level, share * size, benefit, share))
        except SpecError as exc:
            failure = failure or exc
            continue
        if best is None or _objective(report, options) < _objective(best, options):
            best = report
    # The program prices a tensor by the DRAM traffic it saves, not by the tile capacity it takes from the layers alive
    # beside it: one pass over the kept tensors, least saving first, evicts each whose eviction improves the costed objective.
    if best is not None and best.resident is not None and refine:
        for name in sorted(best.resident.schedule.resident, key=lambda n: (benefit[n], n)):
            sched = best.resident.schedule
            kept = sched.resident - {name}
            try:
                trial = costed(replace(sched, resident=kept, saved_pj=sum(benefit[n] for n in kept), algorithm="milp+evict"))
            except SpecError:
                continue
            if _objective(trial, options) < _objective(best, options):
                best = trial
    if best is None:
        raise failure or SpecError("resident schedule", [Problem("shares", list(shares), "expected at least one share")])
    return best
