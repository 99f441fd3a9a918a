"""The ``hwsim sweep`` subcommand (registered by :mod:`hwsim.cli.explore`)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from hwsim.cli.explore import plain, progress_bar
from hwsim.core.errors import Problem, SpecError

__all__ = ["add_parser", "output_problems", "run_sweep_command", "write_plots"]


def add_parser(sub: Any) -> None:
    from hwsim.mapper import DEFAULT_SAMPLES

    sw = sub.add_parser("sweep", help="map and cost a network at every point of a grid of architecture parameters")
    sw.add_argument("--arch", default="eyeriss", help="preset name or hwsim YAML file (default eyeriss)")
    sw.add_argument("--workload", default="resnet18", help="preset name or YAML file (default resnet18)")
    sw.add_argument("--set", dest="settings", action="append", default=[], metavar="PATH=V1,V2,...",
                    help="a parameter and its values (repeatable): array.rows=8,16,32, levels.glb.size_kib=64,128, "
                         "mac.kind=fixed,bit-fusion, dataflow=ws,os")  # fmt: skip
    sw.add_argument("--random", type=int, metavar="N", help="evaluate N points drawn at random from the grid instead of all of it")
    sw.add_argument("--seed", type=int, default=0, help="seed of --random and of the mapper")
    sw.add_argument("--samples", type=int, help=f"mapper samples per layer (default {DEFAULT_SAMPLES}, as hwsim run)")
    sw.add_argument("--objective", choices=("edp", "energy", "delay"), default="edp", help="what the mapper minimizes per layer")
    sw.add_argument("--workers", type=int, help="worker processes on this machine (default: one per core)")
    sw.add_argument("--scheduler", metavar="ADDRESS", help="run the points on a Dask cluster: tcp://host:8786, or local[:N] for a LocalCluster")
    sw.add_argument("--out", dest="table", required=True, help="the result table: .parquet, .csv or .jsonl (journal beside it: OUT.journal.jsonl)")
    sw.add_argument("--plots", metavar="DIR", help="write the Pareto, energy-breakdown and roofline plots (.png) to DIR")
    sw.add_argument("--format", choices=("table", "json"), default="table", help="the summary on standard output")


def run_sweep_command(args: argparse.Namespace) -> str:
    from hwsim.explore.sweep import best_report, grid_points, random_points, run_sweep, write_table
    from hwsim.explore.variants import arch_spec, check_paths, check_values, parse_settings
    from hwsim.frontend.presets import load_workload
    from hwsim.mapper import DEFAULT_SAMPLES, MapperOptions

    problems: list[Problem] = []
    if not args.settings:
        problems.append(Problem("--set", None, "expected at least one PATH=V1,V2,... such as array.rows=8,16,32"))
    if args.random is not None and args.random < 1:
        problems.append(Problem("--random", args.random, "expected a positive number of points"))
    for name in ("samples", "workers"):  # each may be left out (a default)
        if getattr(args, name) is not None and getattr(args, name) < 1:
            problems.append(Problem(f"--{name}", getattr(args, name), "expected a positive integer"))
    if not str(args.table).lower().endswith((".parquet", ".csv", ".jsonl")):
        problems.append(Problem("--out", args.table, "expected a .parquet, .csv or .jsonl file"))
    settings: dict[str, list[Any]] = {}
    try:
        settings = parse_settings(args.settings)
    except SpecError as e:
        problems += e.problems

    def loaded(load: Any, spec: str) -> Any:  # None after noting the problems
        try:
            return load(spec)
        except SpecError as e:
            problems.extend(Problem(f"{e.source}: {p.path}", p.value, p.expected) for p in e.problems)
            return None

    base, network = loaded(arch_spec, args.arch), loaded(load_workload, args.workload)
    points: list[dict[str, Any]] = []
    if base is not None and settings:
        try:
            check_paths(list(settings), base)
            points = random_points(settings, args.random, args.seed) if args.random and args.random > 0 else grid_points(settings)
            check_values(base, points + [{k: v} for k, vs in settings.items() for v in vs])  # values --random did not draw too
        except SpecError as e:
            problems += e.problems
    for key in ("dataflow", "objective"):
        for v in settings.get(key, []):
            problems += [Problem(f"--set {key}", v, p.expected) for p in MapperOptions(**{key: v}).problems()]
    problems += output_problems(args.table, args.plots)
    if problems or base is None or network is None:
        raise SpecError("hwsim sweep", problems)
    out = Path(args.table)
    options = MapperOptions(samples=args.samples or DEFAULT_SAMPLES, seed=args.seed, objective=args.objective)
    start = time.perf_counter()
    update, stop = progress_bar(f"sweep {len(points)} points")
    journal = f"{out}.journal.jsonl"
    try:
        frame = run_sweep(base, network, points, options, journal=journal, workers=args.workers,
                          scheduler=args.scheduler, progress=update)  # fmt: skip
    except OSError as e:
        raise SpecError("hwsim sweep", [Problem("--out", journal, f"expected room to append to the sweep's journal ({e.strerror}); "
                                                                  "the points finished so far are kept: rerun the same command to resume")]) from None  # fmt: skip
    finally:
        stop()
    seconds = time.perf_counter() - start
    try:
        write_table(frame, out)
    except OSError as e:
        raise SpecError("hwsim sweep", [Problem("--out", args.table, f"expected a writable file ({e.strerror}); every point is in the "
                                                                     f"journal {journal}: rerun the same command to write the table")]) from None  # fmt: skip
    ok = frame[frame["status"] == "ok"]
    best = ok.iloc[int(ok["edp_pj_s"].to_numpy().argmin())] if len(ok) else None
    plots: list[Path] = []
    if args.plots:
        report = best_report(base, network, {k: _setting(best[k]) for k in settings}, options) if best is not None else None
        try:
            plots = write_plots(frame, args.plots, out.name.split(".")[0], list(settings), report, best)
        except OSError as e:
            raise SpecError("hwsim sweep", [Problem("--plots", args.plots, f"expected a writable directory ({e.strerror}); the table "
                                                                          f"{out} is written: rerun the same command to draw the plots")]) from None  # fmt: skip
    summary = {
        "points": len(frame), "feasible": len(ok), "pareto": int(frame["pareto"].sum()), "seconds": round(seconds, 2),
        "samples": options.samples, "objective": options.objective, "out": str(out), "plots": [str(p) for p in plots],
        "best_edp": None if best is None else {**{k: plain(best[k]) for k in settings},
                                               **{k: float(best[k]) for k in ("edp_pj_s", "latency_s", "energy_pj", "area_mm2")}},
    }  # fmt: skip
    if args.format == "json":
        return json.dumps(summary, indent=1) + "\n"
    lines = [f"{summary['points']} points ({summary['feasible']} feasible, {summary['pareto']} on the latency/energy/area "
             f"Pareto front) in {seconds:.1f} s → {out}",
             f"mapper: {options.samples} samples per layer, objective {options.objective}, seed {options.seed}"]  # fmt: skip
    if best is not None:
        shown = ", ".join(f"{k}={plain(best[k])}" for k in settings)
        lines.append(f"best EDP {best['edp_pj_s']:.4g} pJ·s: {shown} (latency {best['latency_s'] * 1e3:.3f} ms, "
                     f"energy {best['energy_pj'] / 1e9:.4f} mJ, area {best['area_mm2']:.2f} mm²)")  # fmt: skip
    for p in plots:
        lines.append(f"plot: {p}")
    return "\n".join(lines) + "\n"


def write_plots(frame: Any, directory: str | Path, stem: str, settings: list[str], best: Any = None, best_row: Any = None) -> list[Path]:
    """The sweep's figures in ``directory``: every feasible point against latency and energy, coloured by area, the
    latency/energy/area Pareto front ringed and named by its settings (``STEM.pareto.png``); the energy of each front
    point by storage level, MACs and leakage, lowest EDP first (``STEM.energy.png``); and the roofline of the best-EDP
    design's layers (``STEM.roofline.png``, from its :class:`~hwsim.evaluate.NetworkReport` ``best``)."""
    from hwsim.explore.pareto import setting_text
    from hwsim.explore.sweep import OBJECTIVES
    from hwsim.plots import plot_energy_breakdown, plot_pareto, plot_roofline, save_figure

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ok = frame[frame["status"] == "ok"].copy()
    out = []
    if len(ok):
        front = ok[ok["pareto"]].sort_values("edp_pj_s", kind="stable")
        ok["rank"] = ""
        ok.loc[front.index, "rank"] = [str(i + 1) for i in range(len(front))]  # the front's numbers in both figures
        p = d / f"{stem}.pareto.png"
        plot_pareto(ok, p, objectives=OBJECTIVES, front="pareto", color="area_mm2", label="rank",
                    title=f"{stem}: {len(ok)} feasible design points" + (f" of {len(frame)}" if len(frame) > len(ok) else "")
                          + f"; front numbered by energy-delay product, as in {stem}.energy.png")  # fmt: skip
        out.append(p)
        p = d / f"{stem}.energy.png"
        plot_energy_breakdown(front, p, settings=settings, numbered=True,
                              title=f"{stem}: energy of the latency/energy/area Pareto-front points, lowest energy-delay product first")  # fmt: skip
        out.append(p)
    if best is not None:
        fig = plot_roofline(best)
        ax = fig.axes[0]
        shown = ", ".join(setting_text(k, best_row[k]) for k in settings) if best_row is not None else ""
        ax.set_title(f"{ax.get_title()}\nthe sweep's lowest-EDP design" + (f": {shown}" if shown else ""), fontsize=9)
        p = d / f"{stem}.roofline.png"
        save_figure(fig, p)
        out.append(p)
    return out


def output_problems(table: str, plots: str | None) -> list[Problem]:
    """What would stop the sweep's files being written, found before any point is mapped: ``--out`` (and its journal
    beside it) a file in an existing, writable directory; ``--plots`` a directory, or a path one can create."""
    out: list[Problem] = []
    path = Path(table)
    if not path.parent.is_dir():
        out.append(Problem("--out", table, "expected a file in an existing directory"))
    elif (why := unwritable(path.parent)) is not None:
        out.append(Problem("--out", table, f"expected a file in a directory you can write to ({why})"))
    else:
        for p in (path, Path(f"{table}.journal.jsonl")):
            if p.is_dir():
                out.append(Problem("--out", str(p), "expected a file path, not a directory"))
            elif p.exists() and not os.access(p, os.W_OK):
                out.append(Problem("--out", str(p), "expected a file you can write to"))
    if plots is not None:
        d = Path(plots)
        if d.exists() and not d.is_dir():
            out.append(Problem("--plots", plots, "expected a directory (this is a file)"))
        else:
            ancestor = d
            while not ancestor.exists() and ancestor != ancestor.parent:
                ancestor = ancestor.parent
            if not ancestor.is_dir():
                out.append(Problem("--plots", plots, f"expected a directory one can create ({ancestor} is a file)"))
            elif (why := unwritable(ancestor)) is not None:
                out.append(Problem("--plots", plots, f"expected a directory you can write to ({ancestor}: {why})"))
    return out


def unwritable(directory: Path) -> str | None:
    """Why no file can be created in ``directory`` (the OS's reason: 'Read-only file system', 'Permission denied'), or None."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=directory):
            return None
    except OSError as e:
        return e.strerror or str(e)


def _setting(v: Any) -> Any:
    """A table cell back to a setting value (lists were written as ``[a,b]`` text)."""
    import yaml

    v = plain(v)
    return yaml.safe_load(v) if isinstance(v, str) and v.startswith("[") else v
