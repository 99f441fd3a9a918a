"""The ``hwsim search`` subcommand (registered by :mod:`hwsim.cli_explore`)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from hwsim.errors import Problem, SpecError

__all__ = ["add_parser", "run_search_command"]


def add_parser(sub: Any) -> None:
    se = sub.add_parser("search", help="co-search hardware and network layer configs (NSGA-II, resumable)")
    se.add_argument("--arch", default="eyeriss", help="the base architecture the space is around (default eyeriss)")
    se.add_argument("--workload", default="mobilenetv2", help="preset name or YAML file (default mobilenetv2)")
    se.add_argument("--space", metavar="S", help="a space YAML (hardware paths, network widths/bits, constraints); default: around --arch")
    se.add_argument("--objective", default="edp,proxy", help="comma-separated, minimized: edp, latency, energy, area, proxy (default edp,proxy)")
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
    se.add_argument("--max-area-mm2", type=float)
    se.add_argument("--max-power-mw", type=float)
    se.add_argument("--max-pes", type=float, help="PE (MAC) count limit (an FPGA's DSPs)")
    se.add_argument("--max-onchip-kib", type=float, help="on-chip storage limit (an FPGA's block RAM)")
    se.add_argument("--same-resources", action="store_true", help="limit PEs and on-chip KiB to the base architecture's (NAAS-style)")
    se.add_argument("--rtl", action="store_true", help="only designs `hwsim rtl generate` builds: fixed MACs, and a design the generator "
                                                        "refuses is infeasible (start from a generatable --arch such as fpga-small)")  # fmt: skip
    se.add_argument("--max-proxy", type=float, default=0.05,
                    help="accuracy-proxy limit (default 0.05; lower is closer to the original). The proxy is a mean relative noise "
                         "power plus pruned norm share: int8 everywhere ≈ 0.001, int6 ≈ 0.017, int4 ≈ 0.3; narrowing a fifth of the "
                         "layers to 0.75 width adds ≈ 0.05. 0.01 admitted little but int8 at full width.")  # fmt: skip
    se.add_argument("--weights", metavar="NPZ", help="real weights by layer name: the proxy measures their quantization noise and pruned norm")
    se.add_argument("--sensitivity", metavar="FILE", help="per-layer sensitivity table for the proxy (YAML layer: weight, or CSV layer,sensitivity)")
    se.add_argument("--format", choices=("table", "json"), default="table")


def run_search_command(args: argparse.Namespace) -> str:
    from hwsim.mapper import MapperOptions
    from hwsim.presets import load_workload
    from hwsim.proxy import QuantPruneProxy, load_sensitivity
    from hwsim.search import (
        OBJECTIVE_COLUMNS,
        Context,
        default_space,
        export_winner,
        load_space,
        params_of,
        run_search,
        trials_frame,
        winner,
    )
    from hwsim.variants import arch_spec

    problems: list[Problem] = []
    objectives = tuple(o.strip() for o in args.objective.split(",") if o.strip())
    if not objectives or any(o not in OBJECTIVE_COLUMNS for o in objectives):
        problems.append(Problem("--objective", args.objective, f"expected a comma-separated list of {', '.join(OBJECTIVE_COLUMNS)}"))
    for name in ("budget", "samples", "population"):
        if getattr(args, name) < 1:
            problems.append(Problem(f"--{name}", getattr(args, name), "expected a positive integer"))
    if args.workers is not None and args.workers < 1:
        problems.append(Problem("--workers", args.workers, "expected a positive integer"))
    base = network = space = None
    try:
        base = arch_spec(args.arch)
        space = load_space(args.space, base) if args.space else default_space(base)
        network = load_workload(args.workload)
    except SpecError as e:
        problems += [Problem(f"{e.source}: {p.path}", p.value, p.expected) for p in e.problems]
    weights: dict[str, Any] = {}
    sensitivity: dict[str, float] = {}
    try:
        if args.weights:
            from hwsim.cli import load_npz

            weights = load_npz(args.weights)
        if args.sensitivity:
            sensitivity = load_sensitivity(args.sensitivity)
    except SpecError as e:
        problems += e.problems
    if problems or base is None or network is None or space is None:
        raise SpecError("hwsim search", problems)
    from dataclasses import replace

    from hwsim.search import _onchip_kib
    from hwsim.variants import build_point

    limits = dict(space.constraints)
    if args.same_resources:
        b = build_point(base, {}).arch
        limits.update(max_pes=b.num_macs, max_onchip_kib=_onchip_kib(b))
    for key in ("max_area_mm2", "max_power_mw", "max_pes", "max_onchip_kib", "max_proxy"):
        if getattr(args, key) is not None:
            limits[key] = getattr(args, key)
    space = replace(space, constraints=limits, bits_per=args.bits_per or space.bits_per)
    from hwsim.search import EXECUTIONS, PRUNE_SPARSITY, SUPPORT, streams_for

    if args.prune:
        space = replace(space, sparsity=space.sparsity or PRUNE_SPARSITY, support=space.support or SUPPORT)

    streams = streams_for(args.workload, network)
    if streams and not space.execution:  # a network with clip and continual forms: the mode is searched too
        space = replace(space, execution=EXECUTIONS)
    elif space.execution and not streams:
        from hwsim.streaming import CLIP_OF

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
                  QuantPruneProxy(weights, sensitivity), arch_check=check, streams=streams)  # type: ignore[arg-type]  # fmt: skip
    start = time.perf_counter()
    try:
        study = run_search(ctx, url, args.budget, args.study, args.workers, args.seed, args.population, args.sampler)
    except Exception as e:  # the study's storage failed (a full disk, a locked or unreachable database)
        if not _storage_error(e):
            raise
        reason = str(getattr(e, "orig", None) or e.__cause__ or e).splitlines()[0]
        raise SpecError("hwsim search", [Problem("--storage" if args.storage else "--out", args.storage or str(out / "study.db"),
                                                 f"expected a study storage that accepts writes ({reason}); the trials stored so far are kept: "
                                                 "rerun the same command to resume")]) from None  # fmt: skip
    seconds = time.perf_counter() - start
    frame = trials_frame(study, objectives)
    from hwsim.sweep import write_table

    write_table(frame, out / "trials.csv")
    front = frame[frame["pareto"]].sort_values([OBJECTIVE_COLUMNS[o] for o in objectives]) if frame["pareto"].any() else frame.head(0)
    write_table(front, out / "pareto.csv")
    best = winner(frame, objectives)
    files: dict[str, str] = {}
    if len(front):
        from hwsim.pareto import plot_pareto

        x, y = OBJECTIVE_COLUMNS[objectives[0]], OBJECTIVE_COLUMNS[objectives[1] if len(objectives) > 1 else "area"]
        feasible = frame[frame["feasible"].astype(bool)]
        plot_pareto(feasible, out / "pareto.png", x=x, y=y, color="area_mm2",
                    title=f"{network.name}: {len(feasible)} feasible of {len(frame)} trials")  # fmt: skip
        files["plot"] = str(out / "pareto.png")
    if best is not None:
        files.update(export_winner(ctx, params_of(best), str(out / "winner")))
    summary = {
        "trials": len(frame), "feasible": int(frame["feasible"].sum()) if len(frame) else 0, "pareto": len(front),
        "seconds": round(seconds, 1), "objectives": list(objectives), "constraints": limits, "storage": url, "files": files,
        "winner": None if best is None else {"trial": int(best["trial"]), **{OBJECTIVE_COLUMNS[o]: float(best[OBJECTIVE_COLUMNS[o]])
                                                                             for o in (*objectives, "edp", "area", "proxy")}},
    }  # fmt: skip
    if args.format == "json":
        return json.dumps(summary, indent=1) + "\n"
    lines = [f"{summary['trials']} trials ({summary['feasible']} feasible, {summary['pareto']} on the {'/'.join(objectives)} Pareto front) "
             f"in {seconds:.1f} s; study in {url}"]  # fmt: skip
    if best is not None:
        lines.append(f"winner (trial {int(best['trial'])}): EDP {best['edp_pj_s']:.4g} pJ·s, area {best['area_mm2']:.3g} mm², "
                     f"accuracy proxy {best['proxy']:.3g} (a proxy, not accuracy) → {out / 'winner'}")  # fmt: skip
    else:
        lines.append("no feasible design: relax the constraints or widen the space")
    return "\n".join(lines) + "\n"


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
    from dataclasses import replace

    from hwsim.rtl.config import rtl_config
    from hwsim.variants import build_point

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
