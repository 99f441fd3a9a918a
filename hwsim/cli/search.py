"""The ``hwsim search`` subcommand (registered by :mod:`hwsim.cli.explore`)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from hwsim.cli.explore import load_npz
from hwsim.core.errors import Problem, SpecError

__all__ = ["add_parser", "run_search_command"]


def add_parser(sub: Any) -> None:
    se = sub.add_parser("search", help="co-search hardware and network layer configs (NSGA-II, resumable)")
    se.add_argument("--arch", default="eyeriss", help="the base architecture the space is around (default eyeriss)")
    se.add_argument("--workload", default="mobilenetv2", help="preset name or YAML file (default mobilenetv2)")
    se.add_argument("--space", metavar="S", help="a space YAML (hardware paths, network widths/bits, constraints); default: around --arch")
    se.add_argument("--objective", help="comma-separated, minimized: edp, latency, energy, area, proxy, accuracy (the measured accuracy's "
                                        "loss, with --accuracy) (default edp,proxy; edp,accuracy with --accuracy)")
    se.add_argument("--budget", type=int, default=200, help="complete trials in the study (default 200)")
    se.add_argument("--out", dest="directory", required=True, help="output directory: study.db, trials.csv, pareto.csv, pareto.png, winner/")
    se.add_argument("--storage", help="an Optuna storage URL (default sqlite:///OUT/study.db)")
    se.add_argument("--study", default="hwsim-search", help="the study's name in the storage")
    se.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    se.add_argument("--samples", type=int, default=1000, help="mapper samples per layer (default 1000)")
    se.add_argument("--population", type=int, default=50, help="NSGA-II population (default 50)")
    se.add_argument("--sampler", choices=("nsga2", "random", "cmaes"), default="nsga2",
                    help="NSGA-II (default), random search (a baseline), or CMA-ES on NAAS's real-valued importance encoding "
                         "(single objective: the first of --objective, constraints as penalties)")
    se.add_argument("--seed", type=int, default=0)
    se.add_argument("--prune", action="store_true",
                    help="also search weight pruning per stage (dense, density 0.5 or 0.25, 2:4) and the hardware's sparsity support "
                         "(none, gate, skip, skip-nm), unless the space file sets them")
    se.add_argument("--bits-per", choices=("layer", "stage", "network"), help="granularity of the searched bits (default: the space's, stage)")
    se.add_argument("--max-area-mm2", "--max-area", dest="max_area_mm2", type=float,
                    help="area limit in mm² (default: the base design's area, so a win is not a bigger chip)")
    se.add_argument("--no-resource-limit", action="store_true",
                    help="lift the default area limit (the base design's): designs may grow; explicit limits still hold")
    se.add_argument("--max-power-mw", type=float)
    se.add_argument("--max-pes", type=float, help="PE (MAC) count limit (an FPGA's DSPs)")
    se.add_argument("--max-onchip-kib", type=float, help="on-chip storage limit (an FPGA's block RAM)")
    se.add_argument("--same-resources", action="store_true", help="limit PEs and on-chip KiB to the base architecture's (NAAS-style)")
    se.add_argument("--rtl", action="store_true", help="only designs `hwsim rtl generate` builds: fixed MACs, and a design the generator "
                                                        "refuses is infeasible (start from a generatable --arch such as fpga-small)")  # fmt: skip
    se.add_argument("--max-proxy", type=float,
                    help="accuracy-proxy limit (default: the space file's, else 0.05; lower is closer to the original). The proxy is a mean relative noise "
                         "power plus pruned norm share: int8 everywhere ≈ 0.001, int6 ≈ 0.017, int4 ≈ 0.3; narrowing a fifth of the "
                         "layers to 0.75 width adds ≈ 0.05. 0.01 admitted little but int8 at full width.")  # fmt: skip
    se.add_argument("--accuracy", metavar="MODULE:FUNCTION",
                    help="measure accuracy: FUNCTION(variant) returns the accuracy (0..1) of each trial's network variant that meets "
                         "every other limit (hwsim.explore.accuracy; MODULE dotted, from the working directory, or a .py file)")
    se.add_argument("--min-accuracy", type=float, help="measured-accuracy limit (0..1), with --accuracy")
    se.add_argument("--weights", metavar="NPZ", help="real weights by layer name: the proxy measures their quantization noise and pruned norm")
    se.add_argument("--sensitivity", metavar="FILE", help="per-layer sensitivity table for the proxy (YAML layer: weight, or CSV layer,sensitivity)")
    se.add_argument("--format", choices=("table", "json"), default="table")


def run_search_command(args: argparse.Namespace) -> str:
    from hwsim.explore.proxy import QuantPruneProxy, load_sensitivity
    from hwsim.explore.search import (
        LIMIT_EXPECTED,
        OBJECTIVE_COLUMNS,
        RESOURCE_LIMITS,
        Context,
        default_space,
        export_winner,
        load_space,
        params_of,
        positive_limit,
        run_search,
        study_settings,
        trials_frame,
        winner,
    )
    from hwsim.explore.variants import arch_spec
    from hwsim.frontend.presets import load_workload
    from hwsim.mapper import MapperOptions

    problems: list[Problem] = []
    objective = args.objective or ("edp,accuracy" if args.accuracy else "edp,proxy")
    objectives = tuple(o.strip() for o in objective.split(",") if o.strip())
    if not objectives or any(o not in OBJECTIVE_COLUMNS for o in objectives):
        problems.append(Problem("--objective", objective, f"expected a comma-separated list of {', '.join(OBJECTIVE_COLUMNS)}"))
    if "accuracy" in objectives and not args.accuracy:
        problems.append(Problem("--objective", objective, "expected --accuracy MODULE:FUNCTION with the accuracy objective (it is measured)"))
    if args.min_accuracy is not None and not args.accuracy:
        problems.append(Problem("--min-accuracy", args.min_accuracy, "expected --accuracy MODULE:FUNCTION with it (the accuracy it limits is measured)"))
    if args.min_accuracy is not None and not (0 < args.min_accuracy < 1):
        problems.append(Problem("--min-accuracy", args.min_accuracy, "expected an accuracy in (0, 1)"))
    for name in ("budget", "samples", "population", "workers"):  # --workers may be left out (one per core)
        if getattr(args, name) is not None and getattr(args, name) < 1:
            problems.append(Problem(f"--{name}", getattr(args, name), "expected a positive integer"))
    given = {key: getattr(args, key) for key in (*RESOURCE_LIMITS, "max_proxy") if getattr(args, key) is not None}
    problems += [Problem("--" + key.replace("_", "-"), value, LIMIT_EXPECTED) for key, value in given.items() if not positive_limit(value)]
    if args.no_resource_limit and args.max_area_mm2 is not None:
        problems.append(Problem("--no-resource-limit", True, f"expected no --max-area-mm2 ({args.max_area_mm2}) with it: it lifts only "
                                                             "the default area limit (the base design's)"))  # fmt: skip
    base = network = space = None
    try:
        base = arch_spec(args.arch)
        space = load_space(args.space, base) if args.space else default_space(base)
        network = load_workload(args.workload)
    except SpecError as e:
        problems += [Problem(f"{e.source}: {p.path}", p.value, p.expected) for p in e.problems]
    weights: dict[str, Any] = {}
    sensitivity: dict[str, float] = {}
    accuracy = None
    try:
        if args.accuracy:
            from hwsim.explore.accuracy import load_accuracy

            accuracy = load_accuracy(args.accuracy)
    except SpecError as e:
        problems += e.problems
    try:
        if args.weights:
            weights = load_npz(args.weights)
        if args.sensitivity:
            sensitivity = load_sensitivity(args.sensitivity)
    except SpecError as e:
        problems += e.problems
    if problems or base is None or network is None or space is None:
        raise SpecError("hwsim search", problems)
    from hwsim.explore.search import EXECUTIONS, PRUNE_SPARSITY, SUPPORT, base_area_mm2, resource_limits, streams_for

    if args.min_accuracy is not None:
        given["max_accuracy_loss"] = 1.0 - args.min_accuracy
    limits, origin = resource_limits(base, space.constraints, given, args.same_resources, args.no_resource_limit)
    if "max_accuracy_loss" in origin and args.min_accuracy is not None:
        origin["max_accuracy_loss"] = "--min-accuracy"
    if "max_accuracy_loss" in limits and accuracy is None:
        raise SpecError("hwsim search", [Problem("space.constraints.max_accuracy_loss", limits["max_accuracy_loss"],
                                                 "expected --accuracy MODULE:FUNCTION with a measured-accuracy limit")])  # fmt: skip
    if "max_proxy" not in limits and accuracy is None:  # a measured accuracy replaces the proxy's default limit
        limits["max_proxy"], origin["max_proxy"] = DEFAULT_MAX_PROXY, "the default; --max-proxy sets another"
    base_area = base_area_mm2(base)
    space = replace(space, constraints=limits, bits_per=args.bits_per or space.bits_per)
    if args.prune:
        space = replace(space, sparsity=space.sparsity or PRUNE_SPARSITY, support=space.support or SUPPORT)

    streams = streams_for(args.workload, network)
    if streams and not space.execution:  # a network with clip and continual forms: the mode is searched too
        space = replace(space, execution=EXECUTIONS)
    elif space.execution and not streams:
        from hwsim.evaluate.streaming import CLIP_OF

        raise SpecError("hwsim search", [Problem("space.network.execution", list(space.execution),
                                                 f"expected no execution modes: {args.workload} has no clip/continual pair "
                                                 f"({', '.join(f'{v}/{k}' for k, v in CLIP_OF.items())})")])  # fmt: skip
    out = Path(args.directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SpecError("hwsim search", [Problem("--out", args.directory, f"expected a writable directory ({e.strerror})")]) from None
    url = args.storage or f"sqlite:///{out.resolve() / 'study.db'}"
    check = None
    if args.rtl:
        space, check = _rtl_space(space, base)
    ctx = Context(base, network, space, objectives, MapperOptions(samples=args.samples, seed=args.seed),
                  QuantPruneProxy(weights, sensitivity), arch_check=check, streams=streams, accuracy=accuracy)  # type: ignore[arg-type]  # fmt: skip
    names = {"--workload": args.workload, "--arch": args.arch, "--space": args.space or f"the default space around {args.arch}",
             "--weights": args.weights, "--sensitivity": args.sensitivity, "--accuracy": args.accuracy}  # fmt: skip
    settings = study_settings(ctx, args.seed, args.sampler, args.population, {k: v for k, v in names.items() if v}, {"--prune": args.prune})
    start = time.perf_counter()
    update, close = _progress(objectives[0])
    try:
        study = run_search(ctx, url, args.budget, args.study, args.workers, args.seed, args.population, args.sampler, settings, update)
    except Exception as e:  # the study's storage failed (a full disk, a locked or unreachable database)
        if not _storage_error(e):
            raise
        reason = str(getattr(e, "orig", None) or e.__cause__ or e).splitlines()[0]
        raise SpecError("hwsim search", [Problem("--storage" if args.storage else "--out", args.storage or str(out / "study.db"),
                                                 f"expected a study storage that accepts writes ({reason}); the trials stored so far are kept: "
                                                 "rerun the same command to resume")]) from None  # fmt: skip
    finally:
        close()
    seconds = time.perf_counter() - start
    frame = trials_frame(study, objectives)
    from hwsim.explore.sweep import write_table

    write_table(frame, out / "trials.csv")
    front = frame[frame["pareto"]].sort_values([OBJECTIVE_COLUMNS[o] for o in objectives]) if frame["pareto"].any() else frame.head(0)
    write_table(front, out / "pareto.csv")
    best = winner(frame, objectives)
    files: dict[str, str] = {}
    if len(front):
        from hwsim.plots import plot_pareto

        x, y = OBJECTIVE_COLUMNS[objectives[0]], OBJECTIVE_COLUMNS[objectives[1] if len(objectives) > 1 else "area"]
        feasible = frame[frame["feasible"].astype(bool)]
        plot_pareto(feasible, out / "pareto.png", x=x, y=y, color="area_mm2", front="pareto", objectives=[OBJECTIVE_COLUMNS[o] for o in objectives],
                    title=f"{network.name}: {len(feasible)} feasible of {len(frame)} trials")  # fmt: skip
        files["plot"] = str(out / "pareto.png")
    if best is not None:
        files.update(export_winner(ctx, params_of(best), str(out / "winner")))
    held = _held(limits, origin, base_area)
    summary = {
        "trials": len(frame), "feasible": int(frame["feasible"].sum()) if len(frame) else 0, "pareto": len(front),
        "seconds": round(seconds, 1), "objectives": list(objectives), "constraints": limits, "limits": held,
        "base_area_mm2": base_area, "storage": url, "files": files,
        "winner": None if best is None else {"trial": int(best["trial"]), **{OBJECTIVE_COLUMNS[o]: float(best[OBJECTIVE_COLUMNS[o]])
                                                                             for o in (*objectives, "edp", "area", "proxy")},
                                             **({"accuracy": float(best["accuracy"])} if accuracy is not None else {})},
    }  # fmt: skip
    if args.format == "json":
        return json.dumps(summary, indent=1) + "\n"
    lines = [f"{summary['trials']} trials ({summary['feasible']} feasible, {summary['pareto']} on the {'/'.join(objectives)} Pareto front) "
             f"in {seconds:.1f} s; study in {url}", "limits: " + "; ".join(held)]  # fmt: skip
    if best is not None:
        lines.append(f"winner (trial {int(best['trial'])}): EDP {best['edp_pj_s']:.4g} pJ·s, area {best['area_mm2']:.3g} mm² "
                     f"(base design {base_area:.3g} mm²), "
                     + (f"measured accuracy {best['accuracy']:.4g} (proxy {best['proxy']:.3g})" if accuracy is not None else
                        f"accuracy proxy {best['proxy']:.3g} (a proxy, not accuracy)") + f" → {out / 'winner'}")  # fmt: skip
    else:
        lines.append("no feasible design: relax the constraints or widen the space")
    return "\n".join(lines) + "\n"


DEFAULT_MAX_PROXY = 0.05
_LIMIT_TEXT = {"max_area_mm2": ("area", " mm²"), "max_power_mw": ("power", " mW"), "max_pes": ("PEs", ""),
               "max_onchip_kib": ("on-chip storage", " KiB"), "max_proxy": ("accuracy proxy", ""),
               "max_accuracy_loss": ("measured accuracy loss (1 − accuracy)", "")}  # fmt: skip


def _held(limits: dict[str, float], origin: dict[str, str], base_area: float) -> list[str]:
    """One phrase per limit the search held and where it came from; an unlimited area says so."""
    out = [f"{_LIMIT_TEXT[k][0]} ≤ {v:.4g}{_LIMIT_TEXT[k][1]} ({origin.get(k, 'given')})" for k, v in limits.items() if k in _LIMIT_TEXT]
    if "max_area_mm2" not in limits:
        out.insert(0, f"area not limited (--no-resource-limit): designs may be larger than the base design's {base_area:.4g} mm²")
    return out


_UNITS = {"edp": " pJ·s", "latency": " s", "energy": " pJ", "area": " mm²", "proxy": "", "accuracy": " loss"}


def _progress(objective: str) -> tuple[Any, Callable[[], None]]:
    """A rich progress line on a terminal's standard error — trials done of the budget, the best feasible value of the
    first objective so far, elapsed time and ETA — and its closer; nothing when standard error is not a terminal."""
    import sys

    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn("search"), BarColumn(), MofNCompleteColumn(), TextColumn("trials, {task.description}"),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=Console(file=sys.stderr),
                   transient=True)  # fmt: skip
    task = None

    def update(done: int, budget: int, best: float | None) -> None:
        nonlocal task
        text = f"best {objective} {best:.4g}{_UNITS.get(objective, '')}" if best is not None else "no feasible trial yet"
        if task is None:
            bar.start()
            task = bar.add_task(text, total=budget, completed=min(done, budget))
        bar.update(task, completed=min(done, budget), total=budget, description=text)

    return update, bar.stop


def _storage_error(e: BaseException) -> bool:
    """Whether ``e`` comes from writing the study (SQLAlchemy's OperationalError, or the OS refusing a write)."""
    if isinstance(e, OSError):
        return True
    try:
        from sqlalchemy.exc import OperationalError
    except ImportError:  # pragma: no cover - optuna brings sqlalchemy
        return False
    return isinstance(e, OperationalError) or isinstance(e.__cause__, OperationalError)


def _rtl_space(space: Any, base: dict[str, Any]) -> tuple[Any, Any]:
    """The space restricted to what the RTL generator builds, and the per-design check (its refusals)."""
    from hwsim.explore.variants import build_point
    from hwsim.rtl.config import rtl_config

    try:
        rtl_config(build_point(base, {}, source="--arch").arch)
    except SpecError as e:
        raise SpecError("hwsim search --rtl", [Problem("--arch", base.get("name"), "expected a generatable base design (e.g. fpga-small): "
                                                                                   + "; ".join(f"{p.path}: {p.expected}" for p in e.problems[:3]))]) from None  # fmt: skip
    hardware = dict(space.hardware)
    if "mac.kind" in hardware:
        hardware["mac.kind"] = ["fixed"]

    def check(arch: Any) -> list[str]:
        try:
            rtl_config(arch)
        except SpecError as e:
            return [f"{p.path}: {p.expected}" for p in e.problems]
        return []

    # the generator builds dense datapaths: no sparsity support (pruned weights would only cost accuracy)
    return replace(space, hardware=hardware, support=("none",) if space.support else (), sparsity=()), check
