"""Coverage-guided fuzzing of hwsim's loaders with atheris (libFuzzer for Python).

    pip install atheris
    python benchmarks/atheris_loaders.py --target arch-yaml --runs 200000
    python benchmarks/atheris_loaders.py --target all --runs 50000      # each target in turn

Targets: ``arch-yaml`` and ``workload-yaml`` (spec text through the safe YAML parser into the
architecture / network builders), ``scalesim-cfg``, ``scalesim-topology``, ``timeloop`` (Timeloop
v0.4 YAML) and ``onnx`` (model bytes). Each starts from a corpus of valid inputs (the presets and the
seeds in tests/fuzz_importers.py) written to ``--corpus`` and lets libFuzzer mutate them guided by
line coverage of ``hwsim`` (instrumented on import). Any exception other than :class:`SpecError`
is a crash: libFuzzer stops, prints the input and writes it as ``crash-*`` into ``--artifacts``.
Every target runs in a child process so one target's crash does not end the others; the summary
line per target gives runs, coverage and the outcome (also written to benchmarks/results/atheris_loaders.json).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = ("arch-yaml", "workload-yaml", "scalesim-cfg", "scalesim-topology", "timeloop", "onnx")


def seeds(target: str) -> list[bytes]:
    import yaml

    from tests import fuzz_importers as fi
    from tests.fuzzing import WORKLOAD, preset_dicts

    if target == "arch-yaml":
        return [yaml.safe_dump(d, allow_unicode=True).encode() for d in preset_dicts()]
    if target == "workload-yaml":
        return [yaml.safe_dump(WORKLOAD, allow_unicode=True).encode()] + [p.read_bytes() for p in sorted((ROOT / "workloads").glob("*.yaml"))[:4]]
    if target == "scalesim-cfg":
        return [fi.SCALESIM_CFG.encode()]
    if target == "scalesim-topology":
        return [fi.SCALESIM_CONV.encode(), fi.SCALESIM_GEMM.encode()]
    if target == "timeloop":
        return [fi.TIMELOOP_PROBLEM.encode(), fi.TIMELOOP_ARCH.encode()]
    return [fi.onnx_seed().SerializeToString()]


def entry(target: str):  # type: ignore[no-untyped-def]
    """The function libFuzzer calls with each input's bytes; only SpecError may escape... and is caught."""
    from hwsim.core.errors import SpecError

    tmp = Path(tempfile.mkdtemp(prefix="hwsim-atheris-"))

    def text(data: bytes) -> str:
        return data.decode("utf-8", errors="replace")

    if target in ("arch-yaml", "workload-yaml"):
        from hwsim.core.arch import architecture_from_dict
        from hwsim.core.spec import parse_yaml
        from hwsim.frontend.network_spec import network_from_dict

        build = architecture_from_dict if target == "arch-yaml" else network_from_dict

        def load(data: bytes) -> None:
            build(parse_yaml(text(data), "fuzz.yaml"), source="fuzz.yaml")
    elif target == "scalesim-cfg":
        from hwsim.frontend.importers.scalesim import scalesim_config_from_text

        def load(data: bytes) -> None:
            scalesim_config_from_text(text(data), "fuzz.cfg")
    elif target == "scalesim-topology":
        from hwsim.frontend.importers.scalesim import scalesim_topology_from_text

        def load(data: bytes) -> None:
            scalesim_topology_from_text(text(data), "fuzz.csv")
    elif target == "timeloop":
        from hwsim.frontend.importers.timeloop import parse_timeloop_yaml, timeloop_architecture, timeloop_problem

        def load(data: bytes) -> None:
            doc = parse_timeloop_yaml(text(data), "fuzz.yaml")
            if isinstance(doc, dict) and "architecture" in doc:
                timeloop_architecture(doc, "fuzz.yaml")
            else:
                timeloop_problem(doc, "fuzz.yaml")
    else:
        from hwsim.frontend.importers.onnx import load_onnx

        path = tmp / "fuzz.onnx"

        def load(data: bytes) -> None:
            path.write_bytes(data)
            load_onnx(path)

    def test_one_input(data: bytes) -> None:
        try:
            load(data)
        except SpecError:
            pass

    return test_one_input


def child(target: str, runs: int, corpus: Path, artifacts: Path, max_len: int, seed: int) -> None:
    import atheris

    with atheris.instrument_imports(include=["hwsim"]):
        fn = entry(target)
    corpus.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(seeds(target)):
        (corpus / f"seed-{i}").write_bytes(data)
    artifacts.mkdir(parents=True, exist_ok=True)
    argv = [sys.argv[0], str(corpus), f"-runs={runs}", f"-max_len={max_len}", f"-seed={seed}", f"-artifact_prefix={artifacts}/",
            "-timeout=10", "-rss_limit_mb=4096", "-print_final_stats=1"]  # fmt: skip
    atheris.Setup(argv, fn)
    atheris.Fuzz()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="all", help=f"one of {', '.join(TARGETS)} or all")
    ap.add_argument("--runs", type=int, default=100_000, help="inputs per target")
    ap.add_argument("--max-len", type=int, default=16_384, help="largest input in bytes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path, default=ROOT / "benchmarks" / ".cache" / "atheris")
    ap.add_argument("--artifacts", type=Path, default=ROOT / "benchmarks" / ".cache" / "atheris-crashes")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.target, args.runs, args.corpus / args.target, args.artifacts / args.target, args.max_len, args.seed)
        return 0
    targets = TARGETS if args.target == "all" else (args.target,)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        print(f"hwsim: error: --target: expected one of {', '.join(TARGETS)} or all, not {unknown[0]!r}", file=sys.stderr)
        return 2
    failed = 0
    per_target = {}
    for target in targets:
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--child", "--target", target, "--runs", str(args.runs), "--max-len", str(args.max_len),
               "--seed", str(args.seed), "--corpus", str(args.corpus), "--artifacts", str(args.artifacts)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        log = done.stderr
        stats = {ln.rsplit(":", 1)[0]: ln.rsplit(":", 1)[1].strip() for ln in log.splitlines() if ln.startswith("stat::")}
        cov = [ln for ln in log.splitlines() if " cov: " in ln]
        last = cov[-1].split() if cov else []
        coverage = last[last.index("cov:") + 1] if "cov:" in last else "?"
        features = last[last.index("ft:") + 1] if "ft:" in last else "?"
        crashed = done.returncode != 0
        failed += crashed
        print(f"{target:<18} runs {stats.get('stat::number_of_executed_units', '?'):>8}  coverage edges {coverage:>6}  features {features:>6}  "
              f"{time.perf_counter() - t0:7.1f} s  {'CRASH (see below)' if crashed else 'no crash'}", flush=True)  # fmt: skip
        per_target[target] = {"runs": int(stats["stat::number_of_executed_units"]) if "stat::number_of_executed_units" in stats else None,
                              "coverage_edges": coverage, "features": features, "crashed": crashed, "seconds": time.perf_counter() - t0}  # fmt: skip
        if crashed:
            print("\n".join(log.splitlines()[-40:]))
    from results_io import write_results

    write_results("atheris_loaders", {"runs_per_target": args.runs, "seed": args.seed, "targets": per_target, "crashes": failed},
                  measures="Coverage-guided fuzzing (atheris/libFuzzer) of each loader target: inputs executed, coverage edges "
                  "and features reached, and whether the target crashed (any exception but SpecError).")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
