"""The long fuzz job over the spec loaders: N mutated inputs per entry point, crash-free or not.

    python benchmarks/fuzz_loaders.py [--n 100000] [--only NAME,...]

Entry points: architecture dicts (mutated presets), workload dicts, corrupted YAML text, SCALE-Sim
.cfg and topology text, Timeloop YAML text and parsed data, ONNX files (protobuf-level and byte-level
mutations) and mapping constraints (spec and --fix/--order, mapped end to end). Every
input must end in a loaded object or a SpecError; anything else is a crash (printed with the
input and counted), and any input taking over 2 s is a hang. The counts per entry point are written to
benchmarks/results/fuzz_loaders.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from results_io import write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz_importers import (
    SCALESIM_CFG,
    SCALESIM_CONV,
    SCALESIM_GEMM,
    TIMELOOP_ARCH,
    TIMELOOP_PROBLEM,
    constrained_mapping,
    load_onnx_bytes,
    load_scalesim_cfg,
    load_scalesim_topology,
    load_timeloop_data,
    load_timeloop_text,
    map_with_constraints,
    mutated_onnx,
    mutated_text,
    timeloop_seed_dicts,
)
from tests.fuzzing import WORKLOAD, load_arch_dict, load_text, load_workload_dict, mutated, preset_dicts


def _fuzz(name, strategy, load, n):  # type: ignore[no-untyped-def]
    outcomes: Counter[str] = Counter()
    slowest = [0.0]
    slowest_input = [""]

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(doc):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            outcomes[load(doc)] += 1
        except Exception as e:  # a crash: hwsim must raise only SpecError
            outcomes[f"crash {type(e).__name__}"] += 1
            print(f"CRASH in {name}: {type(e).__name__}: {e}\n  input: {doc!r:.300}")
        took = time.perf_counter() - t
        if took > slowest[0]:
            slowest[0], slowest_input[0] = took, repr(doc)[:400]

    t0 = time.perf_counter()
    run()
    if slowest[0] > 0.5:
        print(f"  slowest {name} input ({slowest[0]:.2f} s): {slowest_input[0]}")
    return outcomes, slowest[0], time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="", help="comma-separated entry points (default all)")
    args = ap.parse_args()
    presets = preset_dicts()
    texts = [yaml.safe_dump(p, allow_unicode=True) for p in presets]
    timeloop_seeds = timeloop_seed_dicts()
    tmp = tempfile.mkdtemp(prefix="hwsim-fuzz-")
    entry_points = {
        "architecture dicts": (st.sampled_from(range(len(presets))).flatmap(lambda i: mutated(presets[i])), load_arch_dict),
        "workload dicts": (mutated(WORKLOAD), load_workload_dict),
        "YAML text": (
            st.tuples(st.sampled_from(texts), st.integers(0, 10_000), st.integers(0, 10_000), st.text(max_size=6)).map(
                lambda t: t[0][: min(t[1], t[2])] + t[3] + t[0][min(t[1], t[2]) : max(t[1], t[2])]
            ),
            lambda text: load_text(text, "arch"),
        ),
        "SCALE-Sim cfg": (mutated_text(SCALESIM_CFG), load_scalesim_cfg),
        "SCALE-Sim topology": (st.sampled_from([SCALESIM_CONV, SCALESIM_GEMM]).flatmap(mutated_text), load_scalesim_topology),
        "Timeloop text": (st.sampled_from([TIMELOOP_PROBLEM, TIMELOOP_ARCH]).flatmap(mutated_text), load_timeloop_text),
        "Timeloop data": (st.sampled_from(timeloop_seeds).flatmap(mutated), load_timeloop_data),
        "ONNX files": (mutated_onnx(), lambda data: load_onnx_bytes(data, tmp)),
        "mapping constraints": (constrained_mapping(), map_with_constraints),
    }
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    total_crashes = 0
    per_entry = {}
    for name, (strategy, load) in entry_points.items():
        if only and name not in only:
            continue
        outcomes, slowest, seconds = _fuzz(name, strategy, load, args.n)
        crashes = sum(v for k, v in outcomes.items() if k.startswith("crash"))
        total_crashes += crashes
        print(f"{name:<20} {sum(outcomes.values()):>8,} inputs in {seconds:6.1f} s: "
              f"{outcomes['ok']:,} loaded, {outcomes['spec-error']:,} SpecError, {crashes} crashes, "
              f"slowest input {slowest * 1e3:.1f} ms{' (HANG)' if slowest > 2 else ''}")  # fmt: skip
        per_entry[name] = {"inputs": sum(outcomes.values()), "loaded": outcomes["ok"], "spec_errors": outcomes["spec-error"],
                           "crashes": crashes, "slowest_s": slowest, "hang": slowest > 2, "seconds": seconds}  # fmt: skip
    write_results("fuzz_loaders",
                  {"n": args.n, "entry_points": per_entry, "crashes": total_crashes,
                   "hangs": sum(e["hang"] for e in per_entry.values()),
                   "min_inputs_per_entry_point": min((e["inputs"] for e in per_entry.values()), default=0)},
                  measures="Property-based fuzzing of every importer entry point with N mutated inputs each: inputs loaded, "
                  "refused with a SpecError, crashes (any other exception) and hangs (an input over 2 s).")  # fmt: skip
    sys.exit(1 if total_crashes else 0)


if __name__ == "__main__":
    main()
