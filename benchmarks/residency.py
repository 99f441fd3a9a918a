"""Layer by layer vs resident: DRAM traffic, energy and latency when activations stay on chip between layers.

    python benchmarks/residency.py [--plot docs/residency.png] [--archs eyeriss,simba,nvdla-small]
                                   [--networks mobilenetv2,resnet18,bert-base] [--samples N]

For each preset × network, ``hwsim run --schedule layer`` (every layer reads its inputs from DRAM and writes its
outputs back; pooling, adds, norms and softmax round-trip through DRAM) against ``--schedule resident``
(hwsim.evaluate.residency: activations kept in the largest on-chip buffer where the exact 0/1 program puts them,
element-wise ops fused on their producer's output path through the preset's vector unit, every layer re-mapped knowing
which operands arrive on chip): DRAM traffic (MB), energy (mJ) and latency (ms), the total and per layer, with how many
tensors stayed on chip, how many ops were fused and which share of the buffer the schedule took. The figures go to
benchmarks/results/residency.json; --plot draws the totals (resident / layer) and the per-layer DRAM traffic of
MobileNetV2 on the Eyeriss-like preset.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from results_io import write_results

from hwsim.evaluate import NetworkReport, evaluate_network
from hwsim.frontend.presets import load_arch, load_workload
from hwsim.mapper import MapperOptions

ARCHS = ("eyeriss", "simba", "nvdla-small")
NETWORKS = ("mobilenetv2", "resnet18", "bert-base")
DETAIL = ("eyeriss", "mobilenetv2")  # the per-layer panel of the figure


def dram_mb(report: NetworkReport) -> float:
    return sum((r.dram_read_bits + r.dram_write_bits) / 8 for r in report.reports) / 1e6


def case(layer: NetworkReport, resident: NetworkReport) -> dict[str, Any]:
    assert resident.resident is not None
    sched = resident.resident.schedule
    per_layer = [
        {"name": a.layer, "kind": a.kind, "layer_dram_mb": (a.dram_read_bits + a.dram_write_bits) / 8e6,
         "resident_dram_mb": (b.dram_read_bits + b.dram_write_bits) / 8e6, "layer_energy_uj": a.energy_pj / 1e6,
         "resident_energy_uj": b.energy_pj / 1e6, "layer_cycles": a.cycles, "resident_cycles": b.cycles,
         "inputs_from": row["inputs_from"], "outputs_to": row["outputs_to"]}
        for a, b, row in zip(layer.reports, resident.reports, resident.resident.rows, strict=True)
    ]  # fmt: skip
    out = {
        "layer": {"dram_mb": dram_mb(layer), "energy_mj": layer.energy_pj / 1e9, "latency_ms": layer.latency_s * 1e3},
        "resident": {"dram_mb": dram_mb(resident), "energy_mj": resident.energy_pj / 1e9, "latency_ms": resident.latency_s * 1e3},
        "resident_tensors": len(sched.resident), "fused_ops": len(sched.fused), "share": sched.share,
        "budget_kib": sched.budget_bytes / 1024, "peak_kib": sched.peak_bytes() / 1024, "algorithm": sched.algorithm,
        "per_layer": per_layer,
    }  # fmt: skip
    out["ratio"] = {k: out["resident"][k] / out["layer"][k] for k in ("dram_mb", "energy_mj", "latency_ms")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plot", help="write the figure here (.png, .svg, .pdf)")
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--samples", type=int, default=MapperOptions().samples, help="mapper samples per layer (default: hwsim run's)")
    args = ap.parse_args()
    opts = MapperOptions(samples=args.samples)
    start = time.perf_counter()
    cases: dict[str, dict[str, Any]] = {}
    print(f"{'preset':<12} {'network':<12} {'DRAM MB layer → resident':>26} {'energy mJ':>20} {'latency ms':>20} {'kept':>5} {'fused':>6}"
          f" {'share':>6} {'s':>6}")  # fmt: skip
    for a in args.archs.split(","):
        arch = load_arch(a)
        for n in args.networks.split(","):
            net = load_workload(n)
            t0 = time.perf_counter()
            layer = evaluate_network(arch, net, opts)
            resident = evaluate_network(arch, net, opts, schedule="resident")
            c = case(layer, resident)
            c["seconds"] = time.perf_counter() - t0
            cases[f"{a}/{n}"] = c
            lo, re_ = c["layer"], c["resident"]
            print(f"{a:<12} {n:<12} {lo['dram_mb']:11.2f} → {re_['dram_mb']:8.2f} ({c['ratio']['dram_mb']:4.2f}×)"
                  f" {lo['energy_mj']:7.3f} → {re_['energy_mj']:7.3f} {lo['latency_ms']:8.2f} → {re_['latency_ms']:8.2f}"
                  f" {c['resident_tensors']:5d} {c['fused_ops']:6d} {c['share']:6.2f} {c['seconds']:6.1f}", flush=True)  # fmt: skip
    seconds = time.perf_counter() - start
    print(f"\n{seconds:.0f} s")
    if args.plot:
        _figure(cases, args.plot)
        print(f"figure: {args.plot}")
    ratios = {k: [c["ratio"][k] for c in cases.values()] for k in ("dram_mb", "energy_mj", "latency_ms")}
    write_results("residency", {
        "cases": cases, "seconds": seconds, "samples": args.samples, "plot": args.plot,
        "summary": {f"{k}_ratio_min": min(v) for k, v in ratios.items()} | {f"{k}_ratio_max": max(v) for k, v in ratios.items()},
    }, measures="Layer-by-layer (--schedule layer) vs resident (--schedule resident: activations kept on chip by an exact 0/1 "
                "program, element-wise ops fused on the producer's output path) on MobileNetV2, ResNet-18 and BERT-base on the "
                "Eyeriss-like, Simba-like and NVDLA-small presets: DRAM traffic (MB), energy (mJ), latency (ms), total and per "
                "layer; seconds is the wall time of both evaluations of each case and of the whole script (load-sensitive).")  # fmt: skip


def _figure(cases: dict[str, dict[str, Any]], path: str) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    from hwsim.plots import save_figure

    fig = Figure(figsize=(12, 7), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(1, 1.1))
    axes = top.subplots(1, 3, sharey=True)
    names = list(cases)
    archs = sorted({k.split("/")[0] for k in names}, key=lambda a: names.index(next(k for k in names if k.startswith(a + "/"))))
    nets = sorted({k.split("/")[1] for k in names}, key=lambda n: names.index(next(k for k in names if k.endswith("/" + n))))
    width = 0.8 / max(len(archs), 1)
    for ax, (key, title) in zip(axes, (("dram_mb", "DRAM traffic"), ("energy_mj", "energy"), ("latency_ms", "latency")), strict=True):
        for i, a in enumerate(archs):
            x = np.arange(len(nets)) + (i - (len(archs) - 1) / 2) * width
            ax.bar(x, [cases[f"{a}/{n}"]["ratio"][key] if f"{a}/{n}" in cases else np.nan for n in nets], width, label=a)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(np.arange(len(nets)), nets)
        ax.set_title(f"{title}: resident / layer by layer")
    axes[0].set_ylabel("ratio (1 = layer by layer)")
    axes[0].legend(fontsize="small")
    detail = f"{DETAIL[0]}/{DETAIL[1]}"
    if detail in cases:
        ax = bottom.subplots()
        rows = cases[detail]["per_layer"]
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [r["layer_dram_mb"] for r in rows], 0.4, label="layer by layer", color="tab:gray")
        ax.bar(x + 0.2, [r["resident_dram_mb"] for r in rows], 0.4, label="resident", color="tab:green")
        ax.set_ylabel("DRAM traffic (MB)")
        ax.set_title(f"{DETAIL[1]} on {DETAIL[0]}, per node (fused ops: 0 MB, their producer writes their output)")
        step = max(1, len(rows) // 40)
        ax.set_xticks(x[::step], [r["name"] for r in rows][::step], rotation=90, fontsize="x-small")
        ax.legend(fontsize="small")
    save_figure(fig, path)


if __name__ == "__main__":
    main()
