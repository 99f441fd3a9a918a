"""Hardware × network co-search with Optuna's NSGA-II, the mapper in the inner loop.

Each trial picks hardware settings (dotted paths of :mod:`hwsim.explore.variants`: PE-array shape,
buffer sizes, bandwidth, dataflow, MAC kind), network settings (a width multiplier per stage,
weight/activation bits per layer, :mod:`hwsim.explore.netvariants`), maps every layer with the fast
mapper and costs the network; an accuracy proxy (:mod:`hwsim.explore.proxy`) is reported beside the
cost and may be an objective or a constraint, and so may a measured accuracy (:mod:`hwsim.explore.accuracy`: the
user's function, called on the trial's network variant when every other limit holds). Constraints (area, power, PE count and on-chip
KiB as FPGA DSP/BRAM stand-ins, the proxy) go to NSGA-II's constrained domination.

The study lives in an Optuna storage: SQLite (``DIR/study.db``) by default, any Optuna URL
for many workers. Every finished trial is committed there, so a killed search rerun with the
same storage continues from what is stored (trials a kill left running are failed by the
heartbeat and retried) until ``budget`` trials are complete.

For a network with a clip and a continual (streaming) form (``x3d-s`` ↔ ``cox3d-s``, ...) the
execution mode is a choice too (``execution``: both cost one prediction: a window run or a step).

With ``--prune`` (or ``network.sparsity`` and ``hardware_sparsity`` in a space file) each stage's
weights may be pruned (a density: magnitude pruning; or N:M, on the layers whose input channels M divides) and the hardware given weight-sparsity
support (gating, skipping any pattern with bitmask compression, or N:M skipping); the proxy charges
the squared norm the pruning removes (:mod:`hwsim.explore.proxy`). Sparsity support is free in area here.

``--sampler cmaes`` runs CMA-ES instead of NSGA-II on NAAS's real-valued encoding of the same choices
(numeric choices binned, unordered ones — dataflow, MAC kind, sparsity support, execution — by one
"importance" per option, the largest winning), single-objective with constraints as penalties. Loop
orders and tilings stay with the mapper in the inner loop rather than in the encoding (NAAS encodes
them too): each trial's layers get the mapper's own search (within 2% of the exhaustive optimum on small layers).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import multiprocessing
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hwsim.core.errors import Problem, SpecError
from hwsim.core.io import write_text_atomic
from hwsim.core.spec import read_yaml
from hwsim.core.workload import Layer, Network, TensorOp
from hwsim.evaluate import NetworkReport, best_allocation, cost_tensor_op, reserve_states
from hwsim.evaluate.streaming import CLIP_OF
from hwsim.explore.accuracy import AccuracyFunction, Variant, identity, measure
from hwsim.explore.netvariants import scale_widths, stage_of, stages
from hwsim.explore.pareto import pareto_mask
from hwsim.explore.proxy import AccuracyProxy
from hwsim.explore.sweep import network_fingerprint, summarize
from hwsim.explore.variants import build_point, check_paths, point_key, stated_value
from hwsim.frontend.mapping_io import mappings_to_dict
from hwsim.frontend.network_io import network_to_dict
from hwsim.frontend.presets import preset_name
from hwsim.mapper import MapperOptions, map_layer
from hwsim.workloads import load_preset

__all__ = ["OBJECTIVE_COLUMNS", "SearchSpace", "base_area_mm2", "default_space", "evaluate_design", "load_space", "onchip_kib", "positive_limit",
           "resource_limits", "run_search", "settings_problems", "study_settings", "trials_frame"]  # fmt: skip

OBJECTIVE_COLUMNS = {"edp": "edp_pj_s", "latency": "latency_s", "energy": "energy_pj", "area": "area_mm2", "proxy": "proxy",
                     "accuracy": "accuracy_loss"}  # fmt: skip
CONSTRAINTS = {"max_area_mm2": "area_mm2", "max_power_mw": "power_mw", "max_pes": "num_macs", "max_onchip_kib": "onchip_kib",
               "max_proxy": "proxy", "max_accuracy_loss": "accuracy_loss"}  # fmt: skip
MEASURED = ("accuracy", "max_accuracy_loss")  # the objective and the limit that need a measured accuracy (Context.accuracy)
SEARCH_SAMPLES = 1_000
EXECUTIONS = ("clip", "continual")
# Sparsity support a trial may give the hardware (weights only): zeros gated (energy), skipped (cycles and energy,
# any pattern, bitmask-compressed) or skipped when N:M-structured (N:M index, sparse-tensor-core style).
SUPPORT = ("none", "gate", "skip", "skip-nm")
PRUNE_SPARSITY: tuple[Any, ...] = (1.0, 0.5, 0.25, "2:4")  # --prune's default choices


def _sparsity_value(v: Any) -> float | str | None:
    """A sparsity choice as Layer.with_sparsity takes it (1.0 dense), or None when invalid."""
    if isinstance(v, str):
        if v == "dense":
            return 1.0
        n, colon, m = v.partition(":")
        return v if colon and n.isdigit() and m.isdigit() and 0 < int(n) <= int(m) else None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1:
        return float(v)
    return None


def with_sparsity_support(spec: dict[str, Any], support: str) -> dict[str, Any]:
    """The architecture spec with weight-sparsity support added (``SUPPORT``); ``none`` leaves it unchanged."""
    if support in ("none", ""):
        return spec
    out = dict(spec)
    mac = dict(out.get("mac") or {})
    fmt = "nm" if support == "skip-nm" else "bitmask"
    if support == "gate":
        mac["gate"] = sorted({*mac.get("gate", []), "weights"})
    else:
        mac["skip"] = sorted({*mac.get("skip", []), "weights"})
        mac["skip_structure"] = "n:m" if support == "skip-nm" else "any"
    out["mac"] = mac
    levels = []
    for lv in out.get("levels") or []:
        lv = dict(lv)
        keeps = lv.get("keeps", ["weights", "inputs", "outputs"])
        if "weights" in keeps:
            lv["formats"] = {**(lv.get("formats") or {}), "weights": fmt}
        levels.append(lv)
    out["levels"] = levels
    return out
_BAD = 1e30


@dataclass(frozen=True)
class SearchSpace:
    """What a trial chooses: hardware paths → choices, width multipliers, bit widths, and limits."""

    hardware: dict[str, list[Any]]
    widths: tuple[float, ...] = (0.5, 0.75, 1.0)
    bits: tuple[int, ...] = (4, 6, 8)
    bits_per: str = "stage"  # layer, stage or network (per layer: ~100 parameters on MobileNetV2, slower in Optuna)
    constraints: dict[str, float] = field(default_factory=dict)
    execution: tuple[str, ...] = ()  # clip and/or continual, for networks with both forms (empty: the workload as given)
    sparsity: tuple[Any, ...] = ()  # weight sparsity per stage: 1.0 (dense), a density (magnitude pruning) or "N:M"
    support: tuple[str, ...] = ()  # the hardware's sparsity support: none, gate, skip, skip-nm (SUPPORT)

    def problems(self, base: dict[str, Any]) -> list[Problem]:
        out = []
        try:
            check_paths(list(self.hardware), base, source="space.hardware")
        except SpecError as e:
            out += e.problems
        if self.bits_per not in ("layer", "stage", "network"):
            out.append(Problem("space.network.bits_per", self.bits_per, "expected layer, stage or network"))
        if not self.widths or any(not 0 < w <= 4 for w in self.widths):
            out.append(Problem("space.network.widths", list(self.widths), "expected multipliers in (0, 4]"))
        if not self.bits or any(not 1 <= b <= 32 for b in self.bits):
            out.append(Problem("space.network.bits", list(self.bits), "expected widths of 1 to 32 bits"))
        for i, v in enumerate(self.sparsity):
            if _sparsity_value(v) is None:
                out.append(Problem(f"space.network.sparsity[{i}]", v, "expected 1.0 (dense), a density in (0, 1) or N:M such as 2:4"))
        out += [Problem(f"space.hardware_sparsity[{i}]", v, f"expected one of {', '.join(SUPPORT)}")
                for i, v in enumerate(self.support) if v not in SUPPORT]  # fmt: skip
        if any(e not in EXECUTIONS for e in self.execution) or len(set(self.execution)) != len(self.execution):
            out.append(Problem("space.network.execution", list(self.execution), f"expected distinct values of {', '.join(EXECUTIONS)}"))
        out += [Problem(f"space.constraints.{k}", v, f"expected one of {', '.join(CONSTRAINTS)}") for k, v in self.constraints.items()
                if k not in CONSTRAINTS]  # fmt: skip
        out += [Problem(f"space.constraints.{k}", v, LIMIT_EXPECTED) for k, v in self.constraints.items()
                if k in CONSTRAINTS and not positive_limit(v)]  # fmt: skip
        return out


LIMIT_EXPECTED = "expected a positive finite limit (a negative, zero or NaN limit makes every design infeasible)"


def positive_limit(v: Any) -> bool:
    """Whether ``v`` is a limit some design can meet: a positive finite number."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def onchip_kib(arch: Any) -> float:
    """On-chip storage of a built :class:`~hwsim.core.arch.Architecture` in KiB (every non-DRAM level times its instances)."""
    return sum((lv.size_bytes or 0) * arch.instances(i) for i, lv in enumerate(arch.levels) if lv.kind != "dram") / 1024


def base_area_mm2(base: dict[str, Any]) -> float:
    """The base design's area (mm²), as a trial of the base design computes it."""
    return float(build_point(base, {}, source="--arch").arch.area_um2 / 1e6)


RESOURCE_LIMITS = ("max_area_mm2", "max_power_mw", "max_pes", "max_onchip_kib")


def resource_limits(
    base: dict[str, Any], constraints: dict[str, float], given: dict[str, float] | None = None, same_resources: bool = False,
    no_resource_limit: bool = False,
) -> tuple[dict[str, float], dict[str, str]]:  # fmt: skip
    """The limits a search holds and where each comes from (constraint → its origin, for the summary).

    ``constraints`` are the space file's, ``given`` the command line's (they win); ``same_resources`` holds the base
    design's PE count and on-chip KiB (NAAS's "same resources"). Unless an area limit is set (by the space file or
    ``given``) or ``no_resource_limit`` lifts it, the base design's area is held: a co-search that may grow the hardware
    without bound would call a bigger chip a win.
    """
    limits = {k: float(v) for k, v in constraints.items()}
    origin = dict.fromkeys(limits, "the space file's")
    if same_resources:
        b = build_point(base, {}, source="--arch").arch
        limits.update(max_pes=float(b.num_macs), max_onchip_kib=onchip_kib(b))
        origin.update(max_pes="the base design's (--same-resources)", max_onchip_kib="the base design's (--same-resources)")
    for k, v in (given or {}).items():
        limits[k] = float(v)
        origin[k] = "--" + k.replace("_", "-")
    if "max_area_mm2" not in limits and not no_resource_limit:
        limits["max_area_mm2"] = base_area_mm2(base)
        origin["max_area_mm2"] = "the base design's; --no-resource-limit lifts it"
    return limits, origin


def default_space(base: dict[str, Any]) -> SearchSpace:
    """A space around ``base``: each axis 2..32 (up to twice its size), each SRAM ¼..2× its size,
    DRAM bandwidth ½..2×, any dataflow the array allows, fixed or bit-fusion MACs."""
    hw: dict[str, list[Any]] = {}
    axes = (base.get("pe_array") or {}).get("axes") or []
    for ax in axes:
        size = int(ax.get("size", 1))
        hw[f"array.{str(ax['name']).lower()}"] = [s for s in (2, 4, 7, 8, 12, 14, 16, 24, 28, 32) if s <= max(2 * size, 4)] or [size]
    for lv in base.get("levels") or []:
        if lv.get("kind", "sram") == "sram":
            key = next((k for k in ("size_kib", "size_mib", "size_bytes") if k in lv), None)
            if key:
                v = float(lv[key])
                hw[f"levels.{str(lv['name']).lower()}.{key}"] = sorted({_nice(v * f) for f in (0.25, 0.5, 1, 2)})
        if lv.get("kind") == "dram" and "bandwidth_bytes_per_s" in lv:
            v = float(lv["bandwidth_bytes_per_s"])
            hw[f"levels.{str(lv['name']).lower()}.bandwidth_bytes_per_s"] = [v / 2, v, v * 2]
    dims = {d for ax in axes for d in ax.get("dims", [])}
    hw["dataflow"] = ["any", "ws", "os"] + (["rs"] if {"S", "Q"} <= dims else [])
    hw["mac.kind"] = ["fixed", "bit-fusion"]
    return SearchSpace(hw)


def _nice(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def load_space(path: str, base: dict[str, Any]) -> SearchSpace:
    """A space YAML: ``hardware: {path: [choices]}``, ``hardware_sparsity: [none, skip, ...]``,
    ``network: {widths, bits, bits_per, sparsity, execution}``, ``constraints: {...}``."""
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("hardware", {}), dict):
        raise SpecError(path, [Problem("", data, "expected a mapping with hardware, network and constraints")])
    net = data.get("network") or {}
    space = SearchSpace(
        hardware={k: v if isinstance(v, list) else [v] for k, v in (data.get("hardware") or default_space(base).hardware).items()},
        widths=tuple(net.get("widths", (0.5, 0.75, 1.0))),
        bits=tuple(net.get("bits", (4, 6, 8))),
        bits_per=str(net.get("bits_per", "stage")),
        execution=tuple(str(e) for e in (net.get("execution") or ())),
        sparsity=tuple(net.get("sparsity") or ()),
        support=tuple(str(v) for v in (data.get("hardware_sparsity") or ())),
        constraints={str(k): float(v) for k, v in (data.get("constraints") or {}).items()},
    )
    bad = space.problems(base)
    if bad:
        raise SpecError(path, bad)
    return space


@dataclass
class Context:
    """Everything a trial needs (shared with worker processes by fork)."""

    base: dict[str, Any]
    network: Network
    space: SearchSpace
    objectives: tuple[str, ...]
    options: MapperOptions
    proxy: AccuracyProxy
    cache: dict[Any, Any] = field(default_factory=dict)
    # Extra feasibility of a built design (e.g. "the RTL generator builds it"): the problems, empty when fine.
    arch_check: Callable[[Any], list[str]] | None = None
    # Execution mode → the base network in that mode (clip and continual forms of one network), when searched.
    streams: dict[str, Network] = field(default_factory=dict)
    # A measured accuracy of a trial's network variant (hwsim.explore.accuracy), and what it measured (variant key → accuracy).
    accuracy: AccuracyFunction | None = None
    accuracies: dict[str, float] = field(default_factory=dict)

    def base_network(self, params: dict[str, Any]) -> Network:
        """The base network of the trial's execution mode (the workload itself when the mode is not searched)."""
        return self.streams.get(str(params.get("execution")), self.network)

    def networks(self) -> list[Network]:
        """Every base network a trial may use (the workload first)."""
        return [self.network, *(n for n in self.streams.values() if n is not self.network)]


def streams_for(workload: str, network: Network) -> dict[str, Network]:
    """Clip and continual forms of a preset that has both (``x3d-s`` ↔ ``cox3d-s``, ...); empty otherwise."""
    key = preset_name(workload)
    if key in CLIP_OF:
        return {"clip": load_preset(CLIP_OF[key]), "continual": network}
    continual = next((k for k, v in CLIP_OF.items() if v == key), None)  # the first continual form (the stride-free one)
    if continual is not None:
        return {"clip": network, "continual": load_preset(continual)}
    return {}


def network_variant(ctx: Context, params: dict[str, Any]) -> Network:
    """The trial's network: the base network of its execution mode with its widths, bits and weight sparsity applied."""
    net = ctx.base_network(params)
    widths = {s: float(params.get(f"width.{s}", 1.0)) for s in stages(net)}
    if any(w != 1.0 for w in widths.values()):
        net = scale_widths(net, widths)
    per_layer: dict[str, tuple[int, int]] = {}
    for layer in net.layers():
        key = layer.name if ctx.space.bits_per == "layer" else (_layer_stage(layer) if ctx.space.bits_per == "stage" else "all")
        w, a = params.get(f"wbits.{key}"), params.get(f"abits.{key}")
        if w is not None and a is not None:
            per_layer[layer.name] = (int(w), int(a))
    net = net.with_bits(per_layer=per_layer) if per_layer else net
    prune = {}
    for layer in net.layers():
        choice = params.get(f"wsparsity.{_layer_stage(layer)}")
        value = _sparsity_value(choice) if choice is not None else None
        if value is not None and value != 1.0 and layer.kind != "matmul" and not layer.is_depthwise and not _nm_misfit(layer, value):
            prune[layer.name] = value
    if prune:
        g = net.graph.copy()
        for name, value in prune.items():
            g.nodes[name]["op"] = g.nodes[name]["op"].with_sparsity(weights=value)
        net = Network(net.name, g, net.last)
    return net


def _nm_misfit(layer: Layer, value: float | str) -> bool:
    """Whether an N:M choice cannot apply to the layer: its groups of M run along the input channels
    (:func:`hwsim.explore.compression.nm_mask`), which M must divide (a first conv's 3 channels stay dense under 2:4)."""
    return isinstance(value, str) and layer.dims["C"] % int(value.partition(":")[2]) != 0


def _layer_stage(layer: Layer) -> str:
    return stage_of(layer) or "head"


def evaluate_network_cached(
    arch: Any, network: Network, options: MapperOptions, cache: dict[Any, Any], checkpoint: Callable[[], None] | None = None
) -> NetworkReport:
    """:func:`hwsim.evaluate.evaluate_network` (analytical; streaming state placed as there, the placement of lowest EDP
    kept) with mappings cached by (arch, layer shape). ``checkpoint`` is called before each layer (Ctrl-C raises there)."""
    if len(cache) > 50_000:
        cache.clear()

    def placed_on(placed: dict[str, bool]) -> NetworkReport:
        mapped_on = reserve_states(arch, network, placed)
        reports = []
        for op in network.ops():
            if checkpoint is not None:
                checkpoint()  # Ctrl-C stops a search between two layers
            every = network.every_steps(op.name)
            if isinstance(op, TensorOp):
                reports.append(cost_tensor_op(op, arch, placed.get(op.name, False)).per_step(every))
                continue
            key = (mapped_on, dataclasses.replace(op, name=""), options)
            if key not in cache:
                cache[key] = map_layer(op, mapped_on, options)
            reports.append(dataclasses.replace(cache[key], layer=op.name).per_step(every))
        return NetworkReport(arch, network, tuple(reports), placement=tuple(placed.items()))

    return best_allocation(arch, network, placed_on, MapperOptions(objective="edp"))  # the search compares placements by EDP


def evaluate_design(ctx: Context, params: dict[str, Any], checkpoint: Callable[[], None] | None = None) -> dict[str, Any]:
    """Cost one trial's choices: figures (``summarize``), the proxy's, and ``feasible``/``error``. ``checkpoint`` is
    called between layers (:func:`evaluate_network_cached`)."""
    hw = {k: v for k, v in params.items() if k in ctx.space.hardware and v is not None and not (k == "dataflow" and v == "any")}
    row: dict[str, Any] = {"error": ""}
    try:
        point = build_point(with_sparsity_support(ctx.base, str(params.get("hardware_sparsity", "none"))), hw, source="<search>")
        network = network_variant(ctx, params)
        row.update(ctx.proxy.estimate(ctx.base_network(params), network))
        arch = point.arch
        row.update(num_macs=arch.num_macs, onchip_kib=onchip_kib(arch), area_mm2=arch.area_um2 / 1e6)
        unbuildable = ctx.arch_check(arch) if ctx.arch_check is not None else []
        row["unbuildable"] = len(unbuildable)
        # Resources are known before mapping: skip the mapper for designs that break them.
        early = [k for k in ("max_pes", "max_onchip_kib", "max_area_mm2", "max_proxy") if k in ctx.space.constraints
                 and row[CONSTRAINTS[k]] > ctx.space.constraints[k]]  # fmt: skip
        if early or unbuildable:
            row.update(error="violates " + ",".join(early + (["buildable"] if unbuildable else [])) + "".join(f"; {u}" for u in unbuildable[:3]))
        else:
            options = dataclasses.replace(ctx.options, **point.mapper)
            report = evaluate_network_cached(arch, network, options, ctx.cache, checkpoint)
            row.update(summarize(report))
            row["onchip_kib"] = row.pop("onchip_bytes") / 1024
    except SpecError as e:
        row["error"] = e.render().replace("\n", " ")
    row["mapped"] = "edp_pj_s" in row
    if ctx.accuracy is not None:  # measured where every other limit holds (a failing function stops the search: not caught above)
        row["accuracy"] = row["accuracy_loss"] = None
        if row["mapped"] and _violation(ctx, row) <= 0:
            row["accuracy"] = measured_accuracy(ctx, params)
            row["accuracy_loss"] = 1.0 - row["accuracy"]
    row["violation"] = _violation(ctx, row)
    row["feasible"] = row["mapped"] and row["violation"] <= 0
    return row


def measured_accuracy(ctx: Context, params: dict[str, Any]) -> float:
    """The accuracy ``ctx.accuracy`` measures on the trial's network variant (once per variant in this process)."""
    assert ctx.accuracy is not None
    variant = Variant(network_variant(ctx, params), ctx.base_network(params), dict(params))
    key = variant.key
    if key not in ctx.accuracies:
        ctx.accuracies[key] = measure(ctx.accuracy, variant)
    return ctx.accuracies[key]


def _violation(ctx: Context, row: dict[str, Any]) -> float:
    """How far a trial is outside the constraints (relative excess, 0 when inside). A design refused before mapping
    keeps its graded excess (not a flat penalty), so NSGA-II's constrained domination can steer towards feasibility;
    only a design that could not be built or mapped at all gets the flat penalty."""
    known = {k: lim for k, lim in ctx.space.constraints.items() if row.get(CONSTRAINTS[k]) is not None}
    excess = max([0.0] + [(row[CONSTRAINTS[k]] - lim) / (abs(lim) or 1.0) for k, lim in known.items()])
    excess += float(row.get("unbuildable", 0))  # one per field the builder refuses
    if row.get("mapped", False):
        return excess
    return excess if excess > 0 and str(row.get("error", "")).startswith("violates") else _BAD


def _stage_keys(ctx: Context) -> list[str]:
    return list(dict.fromkeys(s for net in ctx.networks() for s in stages(net)))


def _layer_stages(ctx: Context) -> list[str]:
    """Every layer's stage key (resolution, or ``head``) over the networks a trial may use, in order."""
    return list(dict.fromkeys(_layer_stage(layer) for net in ctx.networks() for layer in net.layers()))


def _bit_keys(ctx: Context) -> list[str]:
    if ctx.space.bits_per == "layer":
        return list(dict.fromkeys(layer.name for net in ctx.networks() for layer in net.layers()))
    return _layer_stages(ctx) if ctx.space.bits_per == "stage" else ["all"]


def _suggest(trial: Any, ctx: Context) -> dict[str, Any]:
    params = {k: trial.suggest_categorical(k, v) for k, v in ctx.space.hardware.items()}
    for name, choices in (("execution", ctx.space.execution), ("hardware_sparsity", ctx.space.support)):
        if choices:
            params[name] = trial.suggest_categorical(name, list(choices)) if len(choices) > 1 else choices[0]
    for prefix, values, keys in (("wsparsity", ctx.space.sparsity, _layer_stages), ("width", ctx.space.widths, _stage_keys)):
        if len(values) > 1:
            for k in keys(ctx):
                params[f"{prefix}.{k}"] = trial.suggest_categorical(f"{prefix}.{k}", list(values))
    if len(ctx.space.bits) > 1:
        for k in _bit_keys(ctx):
            params[f"wbits.{k}"] = trial.suggest_categorical(f"wbits.{k}", list(ctx.space.bits))
            params[f"abits.{k}"] = trial.suggest_categorical(f"abits.{k}", list(ctx.space.bits))
    return params


def base_params(ctx: Context) -> dict[str, Any]:
    """The base architecture's own values (where the space offers them), full width, the widest bits."""
    out: dict[str, Any] = {}
    for path, choices in ctx.space.hardware.items():
        value = stated_value(ctx.base, path)
        if value is None and path.strip().lower() == "mac.kind":
            value = "fixed"  # the loader's default
        elif path == "dataflow":
            value = "any"
        if isinstance(value, str):  # YAML numbers written as '800e6'
            with contextlib.suppress(ValueError):
                value = float(value)
        out[path] = next((c for c in choices if c == value), choices[0])
    full = max(ctx.space.bits)
    if ctx.space.execution:  # the workload's own mode
        own = next((m for m, n in ctx.streams.items() if n is ctx.network), ctx.space.execution[0])
        out["execution"] = own if own in ctx.space.execution else ctx.space.execution[0]
    if ctx.space.support:
        out["hardware_sparsity"] = "none" if "none" in ctx.space.support else ctx.space.support[0]
    if len(ctx.space.sparsity) > 1:
        dense = next((v for v in ctx.space.sparsity if _sparsity_value(v) == 1.0), ctx.space.sparsity[0])
        for k in _layer_stages(ctx):
            out[f"wsparsity.{k}"] = dense
    for s in _stage_keys(ctx):
        out[f"width.{s}"] = 1.0 if 1.0 in ctx.space.widths else max(ctx.space.widths)
    for k in _bit_keys(ctx):
        out[f"wbits.{k}"] = out[f"abits.{k}"] = full
    return out


class _Stop:
    """Ctrl-C (SIGINT) during one search only sets ``requested``; the search stops at the next safe point: before a
    trial is costed or between two layers of its costing (Optuna then fails that trial; it is not counted), or once a
    trial's storage writes are done. A KeyboardInterrupt raised by the handler itself could land inside Optuna's or
    SQLAlchemy's storage code (breaking Optuna's bookkeeping: a traceback) or in a finalizer that swallows it (the
    search would run on). Each search (and each of its worker processes) has its own."""

    def __init__(self) -> None:
        self.requested = False

    def on_sigint(self, signum: int, frame: Any) -> None:
        """SIGINT during a search: note it, ignore further ones (a second Ctrl-C must not break the stop), silence
        Optuna's warning for the trial this fails (it prints the KeyboardInterrupt's traceback)."""
        import signal

        import optuna

        self.requested = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        optuna.logging.set_verbosity(optuna.logging.ERROR)

    def here(self) -> None:
        """A safe point: raise KeyboardInterrupt if Ctrl-C came."""
        if self.requested:
            raise KeyboardInterrupt

    def after_trial(self, study: Any, trial: Any) -> None:
        """An Optuna callback: after a trial is stored, stop the optimization if Ctrl-C came."""
        if self.requested:
            study.stop()


@dataclass(frozen=True)
class _Objective:
    """Optuna's objective function for one search: the trial's design costed in ``ctx``, through ``sampler``'s encoding."""

    ctx: Context
    sampler: str
    stop: _Stop

    def __call__(self, trial: Any) -> tuple[float, ...] | float:
        ctx, stop = self.ctx, self.stop
        encoded = _Encoded(trial) if self.sampler == "cmaes" else None
        params = _suggest(encoded or trial, ctx)
        stop.here()
        row = evaluate_design(ctx, params, stop.here)
        decoded = {f"param.{k}": v for k, v in params.items()} if encoded is not None else {}  # stored as the other samplers' parameters
        for k, v in {**row, **decoded}.items():
            trial.set_user_attr(k, v.item() if hasattr(v, "item") else v)
        trial.set_user_attr("constraint", [row["violation"]])
        if hasattr(trial, "set_constraint") and encoded is None:  # CMA-ES takes the violation as a penalty instead
            trial.set_constraint("violation", float(row["violation"]))
        if encoded is not None:  # CMA-ES is single-objective: log10 of the first objective plus a penalty per unit of violation
            if not row["mapped"]:
                return CMAES_PENALTY * (1.0 + min(float(row["violation"]), 1e3))
            first = row[OBJECTIVE_COLUMNS[ctx.objectives[0]]]
            value = float(first) if first is not None else 1.0  # an accuracy not measured: all lost
            return math.log10(max(value, 1e-300)) + CMAES_PENALTY * float(row["violation"])
        if not row["mapped"]:
            return tuple(_BAD for _ in ctx.objectives)
        # an accuracy not measured (the trial breaks another limit) counts as all lost
        return tuple(float(v) if (v := row[OBJECTIVE_COLUMNS[o]]) is not None else 1.0 for o in ctx.objectives)


CMAES_PENALTY = 10.0  # decades of the objective per unit of relative constraint excess
CMAES_SIGMA0 = 0.25  # initial step in the [0, 1] coordinates: about a quarter of every range


def _ordered(choices: list[Any]) -> bool:
    return all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices)


class _Encoded:
    """``suggest_categorical`` through real-valued coordinates CMA-ES can move (NAAS's encoding): numeric choices are
    one coordinate in [0, 1] binned over the sorted choices; unordered ones (dataflow, MAC kind, sparsity support,
    execution) get one "importance" per option and the most important wins."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        choices = list(choices)
        if len(choices) == 1:
            return choices[0]
        if _ordered(choices):
            ranked = sorted(choices)
            x = self.trial.suggest_float(f"x.{name}", 0.0, 1.0)
            return ranked[min(int(x * len(ranked)), len(ranked) - 1)]
        importance = [self.trial.suggest_float(f"imp.{name}.{i}", 0.0, 1.0) for i in range(len(choices))]
        return choices[max(range(len(choices)), key=importance.__getitem__)]


def encode_params(ctx: Context, params: dict[str, Any]) -> dict[str, float]:
    """The CMA-ES coordinates of decoded choices (``_Encoded``'s inverse: the bin's centre, importance 1 for the choice)."""
    out: dict[str, float] = {}

    class _Recorder:
        def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
            choices = list(choices)
            value = params.get(name, choices[0])
            if len(choices) > 1 and _ordered(choices):
                ranked = sorted(choices)
                i = ranked.index(value) if value in ranked else 0
                out[f"x.{name}"] = (i + 0.5) / len(ranked)
            elif len(choices) > 1:
                for i, c in enumerate(choices):
                    out[f"imp.{name}.{i}"] = 1.0 if c == value else 0.0
            return value

    _suggest(_Recorder(), ctx)
    return out


def _constraints(trial: Any) -> list[float]:
    return list(trial.user_attrs.get("constraint", [_BAD]))


def storage(url: str) -> Any:
    """An Optuna RDB storage with heartbeats: trials a killed process left running are failed (and
    not counted) once their heartbeat is ``grace_period`` seconds old."""
    import warnings

    import optuna
    from optuna.storages import RDBStorage

    kwargs: dict[str, Any] = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # heartbeats are "experimental" in Optuna
        return RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=5, grace_period=20)


SAMPLERS = ("nsga2", "random", "cmaes")


def _sampler(ctx: Context, sampler: str, seed: int, population: int) -> Any:
    import inspect
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sampler == "random":  # the baseline: uniform choices, no evolution
            return optuna.samplers.RandomSampler(seed=seed)
        if sampler == "cmaes":  # single-objective CMA-ES over the real-valued encoding (_Encoded), centred on the base design
            x0 = encode_params(ctx, base_params(ctx))
            return optuna.samplers.CmaEsSampler(x0=x0, sigma0=CMAES_SIGMA0, seed=seed, n_startup_trials=1, warn_independent_sampling=False)
        if hasattr(optuna.trial.Trial, "set_constraint"):
            return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
        assert "constraints_func" in inspect.signature(optuna.samplers.NSGAIISampler).parameters
        return optuna.samplers.NSGAIISampler(population_size=population, seed=seed, constraints_func=_constraints)


def _complete(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _worker(objective: _Objective, url: str, name: str, budget: int, seed: int, population: int, callbacks: tuple[Any, ...] = ()) -> None:
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    sampler = _sampler(objective.ctx, objective.sampler, seed, population)
    study = optuna.load_study(study_name=name, storage=storage(url), sampler=sampler)
    left = budget - _complete(study)
    if left > 0:
        study.optimize(objective, n_trials=left, gc_after_trial=False,
                       callbacks=[MaxTrialsCallback(budget, states=(TrialState.COMPLETE,)), objective.stop.after_trial, *callbacks])  # fmt: skip
    objective.stop.here()


INTERRUPTED = 130  # a worker's exit status after SIGINT (as a shell's)


def _child(objective: _Objective, url: str, name: str, budget: int, seed: int, population: int) -> None:
    """A forked worker: Ctrl-C (SIGINT to the terminal's process group, or forwarded by the parent) ends it quietly with
    status ``INTERRUPTED``; every trial it finished is already committed to the study."""
    import signal

    objective = dataclasses.replace(objective, stop=_Stop())  # this process's own
    signal.signal(signal.SIGINT, objective.stop.on_sigint)
    try:
        _worker(objective, url, name, budget, seed, population)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)


def _stop_workers(procs: list[Any], grace_s: float = 30.0) -> None:
    """Forward SIGINT to the live workers, wait up to ``grace_s`` for them to fail their running trial and exit, then
    kill what is left (its running trial is failed by the heartbeat at the next run)."""
    import signal
    import time

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not abandon the workers
    try:
        for p in procs:
            if p.is_alive() and p.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGINT)
        deadline = time.monotonic() + grace_s
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    finally:
        signal.signal(signal.SIGINT, previous)


Progress = Callable[[int, int, "float | None"], None]


def progress_state(study: Any, objectives: tuple[str, ...]) -> tuple[int, float | None]:
    """Complete trials and the best feasible value of the first objective so far (None before a feasible trial)."""
    from optuna.trial import TrialState

    col = OBJECTIVE_COLUMNS[objectives[0]]
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    values = [float(t.user_attrs[col]) for t in trials if t.user_attrs.get("feasible") and t.user_attrs.get(col) is not None]
    return len(trials), (min(values) if values else None)


def study_settings(
    ctx: Context, seed: int = 0, sampler: str = "nsga2", population: int = 50, names: dict[str, str] | None = None,
    flags: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What a study searches, keyed by the command-line option that sets it: everything that changes what a trial means
    (workload, base architecture, space, objectives, constraints, bits granularity, mapper samples and options, the
    accuracy proxy's weights and sensitivity, the RTL check) or which trials are proposed (seed, sampler, population).

    Large inputs are a ``{"name", "key"}`` pair: ``key`` (a content hash, as the sweep journal keys its points on the
    arch spec and :func:`hwsim.explore.sweep.network_fingerprint`) decides identity, ``name`` (from ``names``, e.g. the
    command-line spelling) is only shown. ``flags`` adds command-line switches (``--prune``). Stored with the study by
    :func:`run_search`, which refuses to resume a study with other settings (:func:`settings_problems`).
    """
    import json

    names = names or {}
    space, options = ctx.space, ctx.options
    mapper = {k: v for k, v in dataclasses.asdict(options).items() if k not in ("samples", "seed")}
    proxy = ctx.proxy
    weights = getattr(proxy, "weights", None) or {}
    sensitivity = dict(getattr(proxy, "sensitivity", None) or {})
    out: dict[str, Any] = {
        "--workload": {"name": names.get("--workload", ctx.network.name),
                       "key": point_key([network_fingerprint(n) for n in ctx.networks()])},
        "--arch": {"name": names.get("--arch", str(ctx.base.get("name", "arch"))), "key": point_key(ctx.base)},
        "--space": {"name": names.get("--space", "the default space"),
                    "key": point_key(space.hardware, space.widths, space.bits, space.execution, space.sparsity, space.support)},
        "--objective": ",".join(ctx.objectives),
        "constraints": {k: float(v) for k, v in sorted(space.constraints.items())},
        "--bits-per": space.bits_per,
        "--seed": seed if options.seed == seed else f"{seed} (mapper seed {options.seed})",
        "--sampler": sampler,
        "--population": population,
        "--samples": options.samples,
        "mapper options": {"name": ", ".join(f"{k}={v}" for k, v in mapper.items()), "key": point_key(mapper)},
        "--rtl": ctx.arch_check is not None,
        "accuracy proxy": type(proxy).__name__,
        "--accuracy": None if ctx.accuracy is None else identity(ctx.accuracy, names.get("--accuracy")),
        "--weights": None if not weights else {"name": names.get("--weights", f"{len(weights)} arrays"), "key": _arrays_key(weights)},
        "--sensitivity": None if not sensitivity else {"name": names.get("--sensitivity", f"{len(sensitivity)} layers"),
                                                       "key": point_key(sensitivity)},
        **(flags or {}),
    }  # fmt: skip
    return dict(json.loads(json.dumps(out, default=str)))  # as the storage gives it back (tuples as lists)


def _arrays_key(arrays: Any) -> str:
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _shown(v: Any) -> str:
    if isinstance(v, dict) and "key" in v:
        return f"{v.get('name')} (content {v['key'][:8]})"
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "on" if v else "off"
    return str(v)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict) and "key" in a and "key" in b:
        return bool(a["key"] == b["key"])
    return bool(a == b)


def settings_problems(stored: dict[str, Any], new: dict[str, Any]) -> list[Problem]:
    """One problem per setting that differs between a stored study and this run (the stored value as expected)."""
    out = []
    for k in dict.fromkeys([*stored, *new]):
        old, now = stored.get(k), new.get(k)
        if k == "constraints":
            old, now = old or {}, now or {}
            out += [Problem(f"--{c.replace('_', '-')}", _shown(now.get(c)), f"expected the study's {c} limit {_shown(old.get(c))}")
                    for c in dict.fromkeys([*old, *now]) if old.get(c) != now.get(c)]  # fmt: skip
        elif not _same(old, now):
            same_name = isinstance(old, dict) and isinstance(now, dict) and old.get("name") == now.get("name")
            hint = " (same name, other content: the file changed, or an option that changes it such as --prune or --rtl)"
            out.append(Problem(k, _shown(now), f"expected the study's {_shown(old)}" + (hint if same_name else "")))
    return out


SETTINGS_ATTR = "hwsim.settings"


def _check_stored_settings(st: Any, url: str, name: str, settings: dict[str, Any]) -> None:
    """Refuse to add trials of other settings to a stored study (its winner would mix two searches)."""
    try:
        sid = st.get_study_id_from_name(name)
    except KeyError:
        return
    stored = st.get_study_user_attrs(sid).get(SETTINGS_ATTR)
    if stored is None:
        if not st.get_n_trials(sid):
            return  # created but never run (a kill before the first trial): this run adopts it
        problems = [Problem("--out", url, "expected a study that records what it searched (this one was made before hwsim "
                                          "recorded its settings, so resuming it could mix two searches)")]  # fmt: skip
    else:
        problems = settings_problems(stored, settings)
    if problems:
        raise SpecError(f"study {name!r} in {url} searched something else: start a fresh study with a new --out, by deleting "
                        f"the study's folder, or with --study NAME; rerun with the study's own settings to resume it",
                        problems)  # fmt: skip


def run_search(
    ctx: Context, url: str, budget: int, study_name: str = "hwsim-search", workers: int | None = None, seed: int = 0,
    population: int = 50, sampler: str = "nsga2", settings: dict[str, Any] | None = None, progress: Progress | None = None,
) -> Any:  # fmt: skip
    """Run (or resume) the study until ``budget`` trials are complete; returns the Optuna study. ``sampler``: nsga2
    (NSGA-II with constrained domination), random (the baseline) or cmaes (CMA-ES on NAAS's real-valued encoding,
    minimizing log10 of the first objective plus a penalty per unit of constraint excess; the Pareto set is still
    taken over every objective of the trials it evaluated).

    The study records ``settings`` (default :func:`study_settings` of ``ctx``); a stored study with other settings is
    refused (:class:`SpecError` naming each difference) before any trial runs. ``progress(done, budget, best)`` is
    called as trials complete (``best``: the first objective's best feasible value so far). On KeyboardInterrupt the
    worker processes fail their running trial and stop; completed trials stay in the study, and the same call resumes.
    """
    import optuna

    if sampler not in SAMPLERS:
        raise SpecError("--sampler", [Problem("sampler", sampler, f"expected one of {', '.join(SAMPLERS)}")])
    settings = settings if settings is not None else study_settings(ctx, seed, sampler, population)
    import signal
    import threading

    objective = _Objective(ctx, sampler, _Stop())
    # Ctrl-C in this process: the same quiet stop as in a worker (where Python's own handler is in place to be replaced)
    own = threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if own:
        signal.signal(signal.SIGINT, objective.stop.on_sigint)
    try:
        return _run(objective, url, budget, study_name, workers, seed, population, settings, progress)
    finally:
        if own:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            optuna.logging.set_verbosity(optuna.logging.WARNING)


def _run(
    objective: _Objective, url: str, budget: int, study_name: str, workers: int | None, seed: int, population: int,
    settings: dict[str, Any], progress: Progress | None,
) -> Any:  # fmt: skip
    import optuna

    ctx, sampler, stop = objective.ctx, objective.sampler, objective.stop
    st = storage(url)
    _check_stored_settings(st, url, study_name, settings)
    if ctx.accuracy is not None:  # the base variant first, before the study is written: a failing function stops here
        measured_accuracy(ctx, base_params(ctx))  # (and the worker processes forked below inherit what it measured)
    directions: list[Any] = ["minimize"] * (1 if sampler == "cmaes" else len(ctx.objectives))
    study = optuna.create_study(study_name=study_name, storage=st, directions=directions, load_if_exists=True,
                                sampler=_sampler(ctx, sampler, seed, population))  # fmt: skip
    stored = study.user_attrs.get("objectives")
    if stored is not None and list(stored) != list(ctx.objectives):
        raise SpecError("--storage", [Problem("objectives", list(ctx.objectives), f"expected the stored study's objectives {stored}")])
    study.set_user_attr("objectives", list(ctx.objectives))
    study.set_user_attr(SETTINGS_ATTR, settings)

    def tick(*_: Any) -> None:
        if progress is not None:
            done, best = progress_state(study, ctx.objectives)
            progress(done, budget, best)

    tick()
    if not study.trials and sampler == "cmaes":
        study.enqueue_trial(encode_params(ctx, base_params(ctx)))  # CMA-ES starts from the base design
    elif not study.trials:
        base = base_params(ctx)
        study.enqueue_trial(base)  # the base design, int8, full width: a feasible start
        # Half a first generation more at the base network (widest bits, full width) with the hardware left to the
        # sampler: feasible hardware variety for NSGA-II to breed from, where random network choices mostly break a
        # proxy limit.
        network_only = {k: v for k, v in base.items() if k not in ctx.space.hardware}
        for _ in range(max(0, min(population, budget) // 2 - 1)):
            study.enqueue_trial(network_only, skip_if_exists=False)
    n = max(1, min(workers or os.cpu_count() or 1, budget))
    from optuna.trial import TrialState

    waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    if waiting:  # enqueued trials run here, in one process: two workers could both claim one from SQLite
        study.optimize(objective, n_trials=min(waiting, max(0, budget - _complete(study))) or 1, gc_after_trial=False,
                       callbacks=[tick, stop.after_trial])  # fmt: skip
        stop.here()
    if _complete(study) < budget:
        if n == 1 or not sys.platform.startswith("linux"):
            _worker(objective, url, study_name, budget, seed, population, (tick,))
        else:
            stop.here()
            mp = multiprocessing.get_context("fork")
            procs = [mp.Process(target=_child, args=(objective, url, study_name, budget, seed + 1000 * i, population)) for i in range(n)]
            try:
                for p in procs:
                    p.start()
                alive = procs
                while alive:  # the workers write their trials to the study; this process reports progress from it
                    alive[0].join(1.0)
                    stop.here()
                    tick()
                    alive = [p for p in procs if p.is_alive()]
            except KeyboardInterrupt:
                _stop_workers(procs)
                raise
            finally:
                if any(p.is_alive() for p in procs):  # an error in this process: leave no worker behind
                    _stop_workers(procs, grace_s=5.0)
            codes = [p.exitcode for p in procs]
            if any(c in (INTERRUPTED, -2) for c in codes):  # a worker was sent SIGINT on its own: the search stopped
                raise KeyboardInterrupt
            failed = [c for c in codes if c != 0]
            if failed:
                raise RuntimeError(f"search workers exited with {failed}")
    tick()
    return study


def trials_frame(study: Any, objectives: tuple[str, ...]) -> pd.DataFrame:
    """Complete trials: number, parameters, figures, ``feasible`` and ``pareto`` (over feasible trials)."""
    from optuna.trial import TrialState

    frame = pd.DataFrame([{"trial": t.number, **{f"param.{k}": v for k, v in t.params.items()},
                           **{k: v for k, v in t.user_attrs.items() if k != "constraint"}}
                          for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))])  # fmt: skip
    frame["pareto"] = False
    if len(frame) and frame["feasible"].any():
        ok = frame["feasible"].astype(bool)
        cols = [OBJECTIVE_COLUMNS[o] for o in objectives]
        frame.loc[ok, "pareto"] = pareto_mask(frame.loc[ok, cols].to_numpy(dtype=float))
    return frame


def winner(frame: pd.DataFrame, objectives: tuple[str, ...]) -> pd.Series | None:
    """The feasible Pareto trial best in the first objective (ties: the next objectives)."""
    front = frame[frame["pareto"]] if len(frame) else frame
    if not len(front):
        return None
    cols = [OBJECTIVE_COLUMNS[o] for o in objectives]
    return front.sort_values(cols).iloc[0]


def params_of(row: pd.Series) -> dict[str, Any]:
    return {str(k)[len("param."):]: v.item() if hasattr(v, "item") else v for k, v in row.items()
            if str(k).startswith("param.") and not (isinstance(v, float) and math.isnan(v))}  # fmt: skip


def export_winner(ctx: Context, params: dict[str, Any], directory: str) -> dict[str, str]:
    """Write the winner: ``arch.yaml`` (an hwsim architecture spec), ``mappings.yaml`` (per layer,
    temporal factors by level and spatial factors by axis), ``network.yaml`` (the variant as a workload file, or a summary
    of widths and bits where the format cannot hold the network) and a README."""
    from pathlib import Path

    import yaml

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    hw = {k: v for k, v in params.items() if k in ctx.space.hardware and not (k == "dataflow" and v == "any")}
    point = build_point(with_sparsity_support(ctx.base, str(params.get("hardware_sparsity", "none"))), hw, source="<winner>")
    spec = dict(point.spec)
    spec["name"] = f"{spec.get('name', 'arch')}-winner"
    head = "# Co-search winner (hwsim search): an hwsim architecture spec; `hwsim run --arch arch.yaml` takes it.\n"
    if point.rescaled:
        head += f"# Explicit figures rescaled to the new geometry: {', '.join(point.rescaled)}\n"
    write_text_atomic(d / "arch.yaml", head + yaml.safe_dump(spec, sort_keys=False))
    network = network_variant(ctx, params)
    options = dataclasses.replace(ctx.options, **point.mapper)
    report = evaluate_network_cached(point.arch, network, options, ctx.cache)
    mappings = mappings_to_dict(point.arch, {r.layer: r.mapping for r in report.reports if r.mapping is not None})
    write_text_atomic(d / "mappings.yaml", "# Per layer: temporal loops (outer→inner) by level, spatial unrolling by axis.\n"
                      + yaml.safe_dump({"arch": spec["name"], "dataflow": point.mapper.get("dataflow", "any"), "layers": mappings},
                                       sort_keys=False))  # fmt: skip
    widths = {k[len("width."):]: v for k, v in params.items() if k.startswith("width.")}
    try:  # a workload file `hwsim run --workload network.yaml` reads
        doc = network_to_dict(network, source="network.yaml")
        doc["name"] = f"{ctx.base_network(params).name}-winner"
        head = (f"# Co-search winner's network variant of {ctx.base_network(params).name} (width multipliers {widths}; bits per layer below):\n"
                "# an hwsim workload file: hwsim run --arch arch.yaml --workload network.yaml --mappings mappings.yaml\n")  # fmt: skip
        write_text_atomic(d / "network.yaml", head + yaml.safe_dump(doc, sort_keys=False))
        runnable = True
    except SpecError:  # e.g. a streaming network's state operands: a summary instead
        layers = {layer.name: {"weight_bits": layer.operand("weights").bits, "input_bits": layer.operand("inputs").bits,
                               "dims": dict(layer.bounds)} for layer in network.layers()}  # fmt: skip
        write_text_atomic(d / "network.yaml", yaml.safe_dump({"base": ctx.base_network(params).name, "execution": params.get("execution", ""),
                                                               "width_multipliers": widths, "layers": layers},
                                                              sort_keys=False))  # fmt: skip
        runnable = False
    tot = report.totals()
    if ctx.accuracy is not None:
        accuracy_text = (f"Measured accuracy {measured_accuracy(ctx, params):.4g} ({identity(ctx.accuracy)['name']} on this "
                         "network variant); the proxy (hwsim.explore.proxy) is recorded beside it in trials.csv.")  # fmt: skip
    else:
        accuracy_text = ("The accuracy figure of the search is a *proxy* (quantization noise and pruned norm, hwsim.explore.proxy), "
                         "not a measured accuracy (`--accuracy MODULE:FUNCTION` measures one).")  # fmt: skip
    write_text_atomic(d / "README.md", f"""# Co-search winner

- `arch.yaml`: the hardware, an hwsim architecture spec.
- `mappings.yaml`: the mapper's loop nest of every layer of the variant on it.
- `network.yaml`: {"the network variant (widths and bits) as an hwsim workload file" if runnable else
                   "width multiplier per stage and weight/activation bits per layer (a summary: this network has layers a workload file cannot hold)"}.

{"`hwsim run --arch arch.yaml --workload network.yaml --mappings mappings.yaml` reproduces the figures below." if runnable else ""}
`hwsim rtl generate --arch arch.yaml` builds the hardware when it is in the RTL subset (search with `--rtl` to stay in it).

EDP {tot['edp_pj_s']:.4g} pJ·s, latency {tot['latency_s'] * 1e3:.4g} ms, energy {tot['energy_pj'] / 1e9:.4g} mJ,
area {tot['area_mm2']:.3g} mm² on the variant network. {accuracy_text}
""")
    return {"arch": str(d / "arch.yaml"), "mappings": str(d / "mappings.yaml"), "network": str(d / "network.yaml")}
