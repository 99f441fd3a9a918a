"""The ``hwsim`` command line: the one place that reaches across core, presets and output.

Errors in user input print one message listing every problem and exit with status 2.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence

from hwsim.errors import Problem, SpecError

DEFAULT_ARCH = "eyeriss"
DEFAULT_WORKLOAD = "resnet18"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hwsim", description="Co-design of deep-neural-network accelerators.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="estimate latency and energy of a network on an accelerator")
    run.add_argument("--arch", default=DEFAULT_ARCH, help=f"preset name or YAML file (default {DEFAULT_ARCH})")
    run.add_argument("--workload", default=DEFAULT_WORKLOAD, help=f"preset name or YAML file (default {DEFAULT_WORKLOAD})")
    run.add_argument("--engine", choices=("analytical", "cycle"), default="analytical")
    run.add_argument("--format", choices=("table", "csv", "json"), default="table")
    run.add_argument("--out", help="write the result to this file (atomically) instead of standard output")
    run.add_argument("--objective", choices=("edp", "energy", "delay"), default="edp", help="what the mapper minimizes")
    run.add_argument("--samples", type=int, default=20_000, help="mapper samples per layer (default 20000)")
    run.add_argument("--dataflow", choices=("ws", "os", "is", "rs"), help="constrain the mapper to a dataflow")
    run.add_argument("--min-utilization", type=float, default=0.0, help="minimum spatial utilization of the PE array (0..1)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--show-mappings", action="store_true", help="print each distinct layer's loop nest (table format)")
    sub.add_parser("presets", help="list the preset accelerators and workloads")
    return p


def _run(args: argparse.Namespace) -> str:
    from hwsim.evaluate import evaluate_network
    from hwsim.mapper import MapperOptions
    from hwsim.presets import load_arch, load_workload

    problems = []
    if args.samples < 1:
        problems.append(Problem("--samples", args.samples, "expected a positive integer"))
    if args.engine == "cycle":
        problems.append(Problem("--engine", "cycle", "expected analytical (the cycle engine is not available in this version)"))
    if problems:
        raise SpecError("command line", problems)
    arch = workload = None
    errors: list[Problem] = []
    try:
        arch = load_arch(args.arch)
    except SpecError as e:
        errors += _qualified(e)
    try:
        workload = load_workload(args.workload)
    except SpecError as e:
        errors += _qualified(e)
    if errors or arch is None or workload is None:
        raise SpecError("hwsim run", errors)
    options = MapperOptions(objective=args.objective, samples=args.samples, seed=args.seed, dataflow=args.dataflow,
                            min_utilization=args.min_utilization)  # fmt: skip
    problems += options.problems()
    if problems:
        raise SpecError("command line", problems)
    report = evaluate_network(arch, workload, options, progress=_progress() if args.format == "table" and not args.out else None)
    if args.format == "json":
        return json.dumps(report.to_json(), indent=1) + "\n"
    if args.format == "csv":
        frame = report.to_frame()
        total = {"name": "TOTAL", "kind": "", **report.totals()}
        return frame.to_csv(index=False) + ",".join(str(total.get(c, "")) for c in frame.columns) + "\n"
    return _table(report, args.show_mappings)


def _qualified(e: SpecError) -> list[Problem]:
    """Problems of one source, each path prefixed with the file (or option) it came from."""
    return [Problem(f"{e.source}: {p.path}" if p.path and p.path != e.source else e.source, p.value, p.expected) for p in e.problems]


def _progress():  # pragma: no cover - cosmetic
    if not sys.stderr.isatty():
        return None

    def show(k: int, n: int, name: str) -> None:
        sys.stderr.write(f"\r  mapping {k + 1}/{n} {name[:40]:<40}")
        if k + 1 == n:
            sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()

    return show


def _table(report, show_mappings: bool) -> str:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    from hwsim.mapping import format_nest

    t = Table(title=f"{report.network.name} on {report.arch.name} ({report.arch.num_macs} MACs @ {report.arch.clock_hz / 1e6:g} MHz)")
    for col, just in [("layer", "left"), ("kind", "left"), ("MACs", "right"), ("cycles", "right"), ("energy µJ", "right"),
                      ("pJ/MAC", "right"), ("util.", "right"), ("bound by", "left")]:  # fmt: skip
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in report.reports:
        t.add_row(r.layer, r.kind, f"{r.macs:,}", f"{r.cycles:,.0f}", f"{r.energy_pj / 1e6:.3f}",
                  f"{r.energy_pj / r.macs:.2f}" if r.macs else "-", f"{r.utilization:.0%}" if r.macs else "-", r.bound_by)  # fmt: skip
    tot = report.totals()
    t.add_section()
    t.add_row("TOTAL", "", f"{tot['macs']:,}", f"{tot['cycles']:,.0f}", f"{tot['energy_pj'] / 1e6:.3f}",
              f"{tot['pj_per_mac']:.2f}", f"{tot['utilization']:.0%}", "")  # fmt: skip
    buf = io.StringIO()
    console = Console(file=buf, width=120, force_terminal=False, color_system=None)
    console.print(t)
    console.print(
        f"latency {tot['latency_s'] * 1e3:.3f} ms · energy {tot['energy_pj'] / 1e9:.4f} mJ · "
        f"EDP {tot['edp_pj_s']:.4g} pJ·s · area {tot['area_mm2']:.2f} mm²"
    )
    if show_mappings:
        seen = set()
        for r in report.reports:
            if r.mapping is None or r.mapping in seen:
                continue
            seen.add(r.mapping)
            layer = report.network.graph.nodes[r.layer]["op"]
            console.print(f"\n[{r.layer}]\n{format_nest(layer, report.arch, r.mapping)}", markup=False, highlight=False)
    return buf.getvalue()


def _presets() -> str:
    from hwsim.presets import arch_names, workload_names

    return f"accelerators: {', '.join(arch_names())}\nworkloads: {', '.join(workload_names())}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        text = _run(args) if args.command == "run" else _presets()
        if getattr(args, "out", None):
            from hwsim.io import write_text_atomic

            try:
                write_text_atomic(args.out, text)
            except OSError as e:
                raise SpecError("--out", [Problem("--out", args.out, f"expected a writable file path ({e.strerror})")]) from None
        else:
            sys.stdout.write(text)
    except SpecError as e:
        sys.stderr.write(f"hwsim: error: {e.render()}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("hwsim: interrupted\n")
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
