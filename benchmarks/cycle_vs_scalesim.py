"""hwsim's cycle engine side by side with SCALE-Sim 3.0.0: compute cycles, stall trend, speed.

    python benchmarks/cycle_vs_scalesim.py                       # everything (slow: SCALE-Sim runs for a long time)
    python benchmarks/cycle_vs_scalesim.py --arrays 32,128 --dataflows ws
    python benchmarks/cycle_vs_scalesim.py --stalls-only

Each SCALE-Sim run is cached as JSON under ``--cache`` (default benchmarks/.cache, ignored by
git) so the table can be re-printed without re-running the peer; ``--fresh`` ignores the cache.
The 8×8 layers take SCALE-Sim minutes to an hour each, longer than a working session: their
per-layer records are committed in benchmarks/scalesim_records/ (SCALE-Sim's own report rows,
with its config and one-layer topology, exactly what a run here writes) and read when the cache
lacks a layer, so a multi-session 8×8 run resumes; ``--fresh`` re-runs SCALE-Sim for them too.
Both tools get the same config and topology text. hwsim imports them
(:mod:`hwsim.frontend.importers.scalesim`), maps each layer with SCALE-Sim's folding
(:func:`~hwsim.frontend.importers.scalesim.scalesim_mapping`) and simulates it with a one-cycle DRAM
latency (SCALE-Sim's read port). SCALE-Sim reports the index of its last cycle, i.e. the
cycle count minus one; the table compares ``hwsim − 1`` with it.

At 8×8 a full ResNet-18 takes SCALE-Sim hours (it simulates about 10 k cycles per second), so
``--budget-8`` (estimated cycles) picks the layers, in topology order, that fit.

The summary (per run and in total: layer runs, exact ones, both tools' seconds, the speed-up) and the stall
table are written to benchmarks/results/``--results``.json (default cycle_vs_scalesim; the 8×8 runs from the
committed records go to another name, e.g. ``--results cycle_vs_scalesim_8x8``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_io import write_results

from hwsim.core.io import write_text_atomic
from hwsim.cost.cycle import CycleOptions, DramTiming, simulate
from hwsim.frontend.importers.scalesim import (
    scalesim_config_from_text,
    scalesim_folds,
    scalesim_mapping,
    scalesim_topology_from_text,
)
from tests.peers.scalesim_runner import (
    DATA,
    SKIP_REASON,
    config_text,
    run_scalesim,
    scalesim_python,
)

SCALESIM_LIKE = CycleOptions(dram=DramTiming.ideal(1.0))
TOPOLOGIES = {"resnet18": "resnet18.csv", "gemms": "gemms.csv"}


def formula_cycles(layer, rows: int, cols: int, dataflow: str) -> int:  # type: ignore[no-untyped-def]
    _, _, t, rf, cf = scalesim_folds(layer, rows, cols, dataflow)
    return rf * cf * (t + rows + cols - 2 if dataflow == "os" else 2 * rows + cols + t - 2)


def pick_layers(text: str, rows: int, dataflow: str, budget: float | None) -> str:
    """The topology text restricted to the layers that fit in ``budget`` estimated cycles."""
    if budget is None:
        return text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    net = scalesim_topology_from_text(text)
    kept, used = [lines[0]], 0.0
    for line, layer in zip(lines[1:], net.layers(), strict=True):
        est = formula_cycles(layer, rows, rows, dataflow)
        if used + est <= budget:
            kept.append(line)
            used += est
    return "\n".join(kept) + "\n"


RECORDS = Path(__file__).with_name("scalesim_records")  # committed per-layer SCALE-Sim results of the long 8×8 runs
LAYER_JOBS = 1  # SCALE-Sim layers of one topology run at once (--layer-jobs)


def scalesim_cached(cache: Path, key: str, cfg: str, topo: str, fresh: bool) -> dict:
    """SCALE-Sim's per-layer report for a whole topology, run and cached one layer at a time.

    SCALE-Sim simulates each layer from a fresh memory system, so a run split into one-layer
    topologies gives the same per-layer figures; caching each layer as it finishes makes an
    hours-long 8×8 run resumable after a kill (``seconds`` sums the per-layer simulation times).
    """
    whole = cache / f"{key}.json"
    head, *rows = [ln for ln in topo.splitlines() if ln.strip()]
    earlier: dict[str, tuple[dict, float]] = {}  # layers of an earlier whole run of the same config (e.g. a smaller budget)
    if whole.exists() and not fresh:
        data = json.loads(whole.read_text())
        if data.get("topology") == topo and data.get("config") == cfg:
            return data
        if data.get("config") == cfg:
            old_rows = [ln for ln in data["topology"].splitlines() if ln.strip()][1:]
            share = data["seconds"] / max(1, len(old_rows))  # whole-run timing only: spread evenly
            earlier = {r: (rec, share) for r, rec in zip(old_rows, data["layers"], strict=False)}
    def one_layer(i: int, row: str) -> dict:
        one = f"{head}\n{row}\n"
        path = cache / "layers" / f"{key}__{i:02d}_{row.split(',')[0].strip()}.json"
        record = RECORDS / path.name
        data = json.loads(path.read_text()) if path.exists() and not fresh else None
        if data is None and record.exists() and not fresh:
            data = json.loads(record.read_text())
        if (data is None or data.get("topology") != one or data.get("config") != cfg) and row in earlier:
            data = {"config": cfg, "topology": one, "seconds": earlier[row][1], "layers": [earlier[row][0]]}
        if data is None or data.get("topology") != one or data.get("config") != cfg:
            run = run_scalesim(cfg, one, timeout=6 * 3600)
            data = {"config": cfg, "topology": one, "seconds": run.seconds, "layers": run.layers.to_dict(orient="records")}
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps(data))
            print(f"  SCALE-Sim {key} layer {i} ({row.split(',')[0].strip()}): {run.seconds:.1f} s", file=sys.stderr, flush=True)
        return data

    # layers are independent (SCALE-Sim starts each from a fresh memory system): run LAYER_JOBS of them at once
    with ThreadPoolExecutor(max(1, LAYER_JOBS)) as pool:
        done = list(pool.map(lambda ir: one_layer(*ir), enumerate(rows)))
    layers, seconds = [], 0.0
    for data in done:
        layers += data["layers"]
        seconds += data["seconds"]
    data = {"config": cfg, "topology": topo, "seconds": seconds, "layers": layers}
    cache.mkdir(parents=True, exist_ok=True)
    write_text_atomic(whole, json.dumps(data))
    return data


def hwsim_side(cfg: str, topo: str) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    arch = scalesim_config_from_text(cfg, "scale.cfg")
    net = scalesim_topology_from_text(topo, "topo.csv")
    rows = []
    for layer in net.layers():
        g, m = scalesim_mapping(layer, arch)
        r = simulate(g, arch, m, SCALESIM_LIKE, check=False)
        rows.append({"name": layer.name, "hwsim_cycles": r.cycles, "hwsim_compute": r.compute_cycles + r.fill_drain_cycles,
                     "hwsim_dram_stall": r.dram_stall_cycles, "hwsim_sram_stall": r.sram_stall_cycles})  # fmt: skip
    return pd.DataFrame(rows), time.perf_counter() - t0


def agreement(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    jobs = []
    for topo_name in args.topologies:
        text = (DATA / TOPOLOGIES[topo_name]).read_text()
        for rows in args.arrays:
            for df in args.dataflows:
                budget = args.budget_8 if rows <= 8 else None
                topo = pick_layers(text, rows, df, budget)
                jobs.append((f"{topo_name}_{df}{rows}", topo_name, rows, df, config_text(rows, rows, df, name=f"{df}{rows}"), topo))
    with ThreadPoolExecutor(args.jobs) as pool:
        peer = list(pool.map(lambda j: scalesim_cached(args.cache, j[0], j[4], j[5], args.fresh), jobs))
    frames, summary = [], []
    for (key, topo_name, rows, df, cfg, topo), data in zip(jobs, peer, strict=True):
        ours, seconds = hwsim_side(cfg, topo)
        theirs = pd.DataFrame(data["layers"])
        both = ours.merge(theirs[["name", "total_cycles", "stall_cycles"]], on="name")
        both["rel_diff"] = (both["hwsim_cycles"] - 1 - both["total_cycles"]).abs() / both["total_cycles"]
        both.insert(0, "run", key)
        frames.append(both)
        summary.append({"topology": topo_name, "array": f"{rows}x{rows}", "dataflow": df, "layers": len(both),
                        "max_rel_diff": both["rel_diff"].max(), "mean_rel_diff": both["rel_diff"].mean(),
                        "exact (hwsim-1 == SCALE-Sim)": int((both["rel_diff"] == 0).sum()),
                        "scalesim_s": data["seconds"], "hwsim_s": seconds, "speedup": data["seconds"] / seconds})  # fmt: skip
    table = pd.DataFrame(summary)
    print("\nCompute cycles per layer, stall-free (CALC mode): hwsim − 1 vs SCALE-Sim")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    total_peer, total_ours = table["scalesim_s"].sum(), table["hwsim_s"].sum()
    print(f"\nspeed: SCALE-Sim {total_peer:.1f} s, hwsim {total_ours:.3f} s on the same runs: {total_peer / total_ours:.0f}× faster")
    detail = pd.concat(frames, ignore_index=True)
    if args.details:
        detail.to_csv(args.details, index=False)
    return detail, table


STALL_LAYERS = {
    "resnet18": ("Conv3_2a,28,28,3,3,128,128,1,", "conv"),
    "gemms": ("BERT_QKV_s128, 128, 768, 768,", "gemm"),
}


def stalls(args: argparse.Namespace) -> pd.DataFrame:
    """SCALE-Sim's USER-mode stall cycles against hwsim's DRAM stalls as the bandwidth shrinks."""
    heads = {"conv": "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,",
             "gemm": "Layer, M, N, K,"}  # fmt: skip
    jobs = []
    for topo_name, (row, kind) in STALL_LAYERS.items():
        topo = heads[kind] + "\n" + row + "\n"
        for df in args.stall_dataflows:
            for bw in args.bandwidths:
                cfg = config_text(32, 32, df, bandwidth=bw, name=f"{df}32bw{bw}")
                jobs.append((f"stall_{topo_name}_{df}32_bw{bw}", topo_name, df, bw, cfg, topo))
    with ThreadPoolExecutor(args.jobs) as pool:
        peer = list(pool.map(lambda j: scalesim_cached(args.cache, j[0], j[4], j[5], args.fresh), jobs))
    rows = []
    for (_, topo_name, df, bw, cfg, topo), data in zip(jobs, peer, strict=True):
        ours, _ = hwsim_side(cfg, topo)
        theirs = data["layers"][0]
        rows.append({"layer": topo_name, "dataflow": df, "bandwidth_words_per_cycle": bw,
                     "scalesim_cycles": theirs["total_cycles"], "scalesim_stalls": theirs["stall_cycles"],
                     "hwsim_cycles": ours["hwsim_cycles"][0], "hwsim_dram_stalls": ours["hwsim_dram_stall"][0]})  # fmt: skip
    frame = pd.DataFrame(rows)
    print("\nStall cycles with limited DRAM bandwidth (USER mode, 32×32)")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.0f}"))
    return frame


def figures(detail: pd.DataFrame | None, stall: pd.DataFrame | None, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    if detail is not None and len(detail):
        fig, ax = plt.subplots(figsize=(6, 5))
        for run, g in detail.groupby("run"):
            ax.loglog(g["total_cycles"], g["hwsim_cycles"] - 1, ".", label=run)
        lo, hi = detail["total_cycles"].min(), detail["total_cycles"].max()
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.5)
        ax.set_xlabel("SCALE-Sim cycles")
        ax.set_ylabel("hwsim cycles − 1")
        ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        fig.savefig(out / "cycles_vs_scalesim.png", dpi=120)
    if stall is not None and len(stall):
        fig, axes = plt.subplots(1, 2, figsize=(9, 4))
        for ax, (layer, g) in zip(axes, stall.groupby("layer"), strict=False):
            for df, h in g.groupby("dataflow"):
                ax.plot(h["bandwidth_words_per_cycle"], h["scalesim_stalls"], "o-", label=f"SCALE-Sim {df}")
                ax.plot(h["bandwidth_words_per_cycle"], h["hwsim_dram_stalls"], "s--", label=f"hwsim {df}")
            ax.set_xscale("log")
            ax.set_yscale("symlog")
            ax.set_title(layer)
            ax.set_xlabel("DRAM words per cycle")
            ax.set_ylabel("stall cycles")
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "stalls_vs_bandwidth.png", dpi=120)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arrays", default="8,32,128", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--dataflows", default="os,ws,is", type=lambda s: s.split(","))
    p.add_argument("--topologies", default="resnet18,gemms", type=lambda s: s.split(","))
    p.add_argument("--budget-8", type=float, default=3e6, help="estimated SCALE-Sim cycles per 8×8 run (layers that fit)")
    p.add_argument("--bandwidths", default="1,2,4,8,16", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--stall-dataflows", default="os,ws", type=lambda s: s.split(","))
    p.add_argument("--stalls-only", action="store_true")
    p.add_argument("--no-stalls", action="store_true")
    p.add_argument("--jobs", type=int, default=2, help="SCALE-Sim runs (topology × array × dataflow) in parallel")
    p.add_argument("--layer-jobs", type=int, default=1, help="layers of one SCALE-Sim run simulated at once (the long 8×8 runs)")
    p.add_argument("--cache", type=Path, default=Path(__file__).with_name(".cache"))
    p.add_argument("--fresh", action="store_true", help="re-run SCALE-Sim even when cached")
    p.add_argument("--details", type=Path, help="write the per-layer comparison here (CSV)")
    p.add_argument("--figures", type=Path, help="write figures (PNG) into this folder")
    p.add_argument("--results", default="cycle_vs_scalesim", help="write the summary to benchmarks/results/RESULTS.json")
    args = p.parse_args()
    global LAYER_JOBS
    LAYER_JOBS = args.layer_jobs
    if scalesim_python() is None:
        print(SKIP_REASON, file=sys.stderr)
        return 1
    detail, table = (None, None) if args.stalls_only else agreement(args)
    stall = None if args.no_stalls else stalls(args)
    if args.figures:
        figures(detail, stall, args.figures)
    out: dict = {}
    if table is not None:
        runs = [{k.replace(" (hwsim-1 == SCALE-Sim)", ""): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                for row in table.to_dict(orient="records")]  # fmt: skip
        def total(rows: list[dict]) -> dict:
            peer, ours = sum(r["scalesim_s"] for r in rows), sum(r["hwsim_s"] for r in rows)
            return {"runs": len(rows), "layer_runs": sum(r["layers"] for r in rows), "exact": sum(r["exact"] for r in rows),
                    "max_rel_diff": max((r["max_rel_diff"] for r in rows), default=None), "scalesim_s": peer, "hwsim_s": ours,
                    "speedup": peer / ours if ours else None}  # fmt: skip
        by_array = {a: total([r for r in runs if r["array"] == a]) for a in dict.fromkeys(r["array"] for r in runs)}
        out.update({"total": total(runs), "by_array": by_array, "runs": runs})
    if stall is not None:
        out["stalls"] = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in stall.to_dict(orient="records")]
    write_results(args.results, out,
                  measures="hwsim's cycle engine vs SCALE-Sim 3.0.0 on the same config and topology: per run (topology, array, "
                  "dataflow) the layers, how many have hwsim cycles - 1 == SCALE-Sim's exactly, the largest relative "
                  "difference, both tools' seconds (SCALE-Sim's from its run, cache or the committed records) and the "
                  "speed-up; stalls: both tools' stall cycles as the DRAM bandwidth shrinks (seconds are load-sensitive).")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
