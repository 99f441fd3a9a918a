"""Co-search against its baselines at the same evaluation budget, and a NAAS-style same-resources result.

    python benchmarks/search_baselines.py [--budget 300] [--out benchmarks/search_baselines.md]

Every search holds ``hwsim search``'s default limits (:func:`hwsim.explore.search.resource_limits`): the base design's area
and the default proxy limit (``hwsim.cli.search.DEFAULT_MAX_PROXY``, 0.05).

1. ResNet-18 on the Eyeriss-like base, objectives (EDP, accuracy proxy), the same budget each:
   * co-search: NSGA-II over hardware, per-stage widths and bits (``hwsim search``'s default space);
   * random search over the same space (Optuna's RandomSampler);
   * hardware-only: NSGA-II over the hardware with the network fixed (full width, int8);
   * CMA-ES on NAAS's real-valued encoding (single objective: log EDP plus a penalty for the proxy's excess);
   * co-search with pruning: NSGA-II over the space plus per-stage weight pruning and the hardware's sparsity support.
   Reported: feasible trials, best feasible EDP, and the hypervolume of the feasible (EDP, proxy) points against
   the reference (2 × the base design's EDP, the proxy limit), normalized by the reference box.
   All three start from the same seeds (the base design and half a generation of base-network trials).
2. NAAS-style: at the Eyeriss-like preset's PE count, on-chip KiB and area (``--same-resources``), the best EDP found on
   ResNet-50 and MobileNetV2 with network search, as a ratio to the preset itself (NAAS reports 4.4–4.9×; its
   network search also changes the architecture of the CNN, which the proxy-limited width/bit search here does not).
Every run is a study in a temporary SQLite file; seeds are fixed. The tables go to ``--out`` (markdown) and, as
data, to benchmarks/results/search_baselines.json (seconds are load-sensitive).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from results_io import write_results

from hwsim.cli.search import DEFAULT_MAX_PROXY
from hwsim.core.io import write_text_atomic
from hwsim.explore.pareto import hypervolume
from hwsim.explore.proxy import QuantPruneProxy
from hwsim.explore.search import PRUNE_SPARSITY, SUPPORT, Context, base_area_mm2, default_space, resource_limits, run_search, trials_frame
from hwsim.explore.variants import arch_spec, build_point
from hwsim.frontend.presets import load_workload
from hwsim.mapper import MapperOptions


def run(network: str, space, budget: int, sampler: str, samples: int, seed: int = 0) -> tuple[object, float]:  # type: ignore[no-untyped-def]
    base = arch_spec("eyeriss")
    ctx = Context(base, load_workload(network), space, ("edp", "proxy"), MapperOptions(samples=samples, seed=seed), QuantPruneProxy({}, {}))
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        study = run_search(ctx, f"sqlite:///{d}/s.db", budget, "bench", None, seed, 24, sampler)
        frame = trials_frame(study, ("edp", "proxy"))
        return frame, time.perf_counter() - t0


def limits_of(base: dict, constraints: dict, same_resources: bool = False) -> tuple[dict[str, float], dict[str, str]]:  # type: ignore[type-arg]
    """The limits ``hwsim search`` holds by default (with ``--same-resources`` if asked), and where each comes from."""
    limits, origin = resource_limits(base, constraints, same_resources=same_resources)
    if "max_proxy" not in limits:
        limits["max_proxy"], origin["max_proxy"] = DEFAULT_MAX_PROXY, "hwsim search's default"
    return limits, origin


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--samples", type=int, default=300, help="mapper samples per layer shape in a trial")
    ap.add_argument("--out", default=str(Path(__file__).with_name("search_baselines.md")))
    args = ap.parse_args()
    base = arch_spec("eyeriss")
    full = default_space(base)
    limits, origin = limits_of(base, full.constraints)
    proxy_limit = limits["max_proxy"]
    full = replace(full, constraints=limits)
    hardware_only = replace(full, widths=(1.0,), bits=(8,))
    pruning = replace(full, sparsity=PRUNE_SPARSITY, support=SUPPORT)
    searches = {}
    for key, label, space, sampler in [("co-search", "co-search (NSGA-II)", full, "nsga2"), ("random", "random search", full, "random"),
                                       ("hardware-only", "hardware only (NSGA-II)", hardware_only, "nsga2"),
                                       ("cmaes", "co-search (CMA-ES, NAAS encoding, EDP + penalty)", full, "cmaes"),
                                       ("pruning", "co-search + pruning and sparsity support (NSGA-II)", pruning, "nsga2")]:  # fmt: skip
        frame, seconds = run("resnet18", space, args.budget, sampler, args.samples)
        ok = frame[frame["feasible"].astype(bool)]
        base_edp = float(frame.loc[frame["trial"] == 0, "edp_pj_s"].iloc[0])
        ref = np.array([2 * base_edp, proxy_limit])
        pts = ok[["edp_pj_s", "proxy"]].to_numpy(float)
        hv = hypervolume(pts[(pts < ref).all(axis=1)], ref) / float(np.prod(ref)) if len(pts) else 0.0
        best = ok.loc[ok["edp_pj_s"].idxmin()]
        searches[key] = {"search": label, "trials": len(frame), "feasible": len(ok), "base_edp_pj_s": base_edp,
                         "best_edp_pj_s": float(best["edp_pj_s"]), "vs_base": base_edp / float(best["edp_pj_s"]),
                         "best_area_mm2": float(best["area_mm2"]), "hypervolume": hv, "seconds": seconds}  # fmt: skip
        print(searches[key], flush=True)
    b = build_point(base, {}).arch
    naas_limits, naas_origin = limits_of(base, default_space(base).constraints, same_resources=True)
    same_resources = {}
    for network in ("resnet50", "mobilenetv2"):
        space = replace(full, constraints=naas_limits)
        frame, seconds = run(network, space, args.budget, "nsga2", args.samples)
        ok = frame[frame["feasible"].astype(bool)]
        base_edp = float(frame.loc[frame["trial"] == 0, "edp_pj_s"].iloc[0])
        best_edp = float(ok["edp_pj_s"].min())
        same_resources[network] = {"network": network, "feasible": len(ok), "preset_edp_pj_s": base_edp, "best_edp_pj_s": best_edp,
                                   "ratio": base_edp / best_edp, "seconds": seconds}  # fmt: skip
        print(same_resources[network], flush=True)
    area = base_area_mm2(base)
    held = "; ".join(f"{k} ≤ {v:.4g} ({origin[k]})" for k, v in limits.items())
    lines = ["# Co-search against its baselines (same budget)", "",
             f"Generated by `python benchmarks/search_baselines.py --budget {args.budget}` (data: benchmarks/results/search_baselines.json): "
             f"ResNet-18 on the Eyeriss-like base (area {area:.3g} mm²), objectives EDP and the accuracy proxy, {args.samples} mapper "
             f"samples per layer shape, `hwsim search`'s default limits: {held}.", "",
             "| search | trials | feasible | best EDP (pJ·s) | vs base design | its area (mm²) | hypervolume (normalized) | seconds |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {r['search']} | {r['trials']} | {r['feasible']} | {r['best_edp_pj_s']:.4g} | {r['vs_base']:.2f}× | {r['best_area_mm2']:.3g} "
              f"| {r['hypervolume']:.4f} | {r['seconds']:.0f} |" for r in searches.values()]  # fmt: skip
    lines += ["", f"## NAAS-style: same PEs ({b.num_macs}), on-chip KiB and area as the Eyeriss-like preset, "
              f"network search within proxy {proxy_limit:g}, budget {args.budget}", "",
              "| network | feasible | preset EDP (pJ·s) | best EDP | ratio | seconds |", "|---|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {r['network']} | {r['feasible']} | {r['preset_edp_pj_s']:.4g} | {r['best_edp_pj_s']:.4g} | {r['ratio']:.2f}× | {r['seconds']:.0f} |"
              for r in same_resources.values()]  # fmt: skip
    lines += ["", "NAAS reports 4.4–4.9× over Eyeriss with network search; its search also changes the CNN's architecture "
              "(kernel sizes, depths), which hwsim's width/bit search under a proxy limit does not.", ""]  # fmt: skip
    write_text_atomic(args.out, "\n".join(lines))
    write_results("search_baselines",
                  {"budget": args.budget, "samples": args.samples, "base_area_mm2": area, "limits": limits, "limit_origins": origin,
                   "same_resources_limits": naas_limits, "same_resources_limit_origins": naas_origin,
                   "searches": searches, "same_resources": same_resources},
                  measures="ResNet-18 on the Eyeriss-like base under hwsim search's default limits (the base design's area, proxy ≤ 0.05), "
                  "objectives EDP and accuracy proxy, the same trial budget per search: trials, feasible trials, best feasible EDP, "
                  "base EDP / best EDP (vs_base), that design's area, normalized hypervolume; same_resources: at the preset's PEs, "
                  "on-chip KiB and area, preset EDP / best EDP per network.")  # fmt: skip
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
