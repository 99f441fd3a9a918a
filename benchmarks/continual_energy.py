"""Clip versus continual execution: energy and latency per prediction, and where the state stops fitting.

    python benchmarks/continual_energy.py [--plot docs/continual_energy.png] [--pairs x3d-s,slow-8x8,...] [--samples N]

For each streaming network and its clip (window) form — X3D-S/CoX3D-S, X3D-M/CoX3D-M, Slow-8×8/CoSlow,
ST-GCN/CoST-GCN, OadTR-b1/-b2 and CoOadTR-b1/-b2 — on the Eyeriss-like and TPU-like presets, prints the
energy and latency of one prediction (a clip run, or one continual step), the state the continual
form keeps (KiB, how much is on chip), the state's share of the energy, and the clip/continual
ratios. The state's on-chip share is chosen per design (hwsim.evaluate: shares 0–¾ of the largest
buffer tried, the layers mapped within what the state leaves).

Then, on the Eyeriss-like preset, the energy per prediction of CoX3D-S and CoST-GCN as the global
buffer grows from 64 KiB to 32 MiB: where the state moves on chip and DRAM traffic per step falls.
The figure (--plot) shows the clip/continual bars and the buffer sweep. The figures are written to
benchmarks/results/continual_energy.json.
"""

from __future__ import annotations

import argparse
import importlib.resources
import time

import pandas as pd
import yaml
from results_io import write_results

from hwsim.core.arch import architecture_from_dict
from hwsim.evaluate import evaluate_network
from hwsim.evaluate.streaming import CLIP_OF, clip_vs_continual
from hwsim.frontend.presets import load_arch, load_workload
from hwsim.mapper import MapperOptions

PAIRS: dict[str, str] = {}
for _step, _clip in CLIP_OF.items():
    PAIRS.setdefault(_clip, _step)  # the first (stride-free) continual form of each clip network
SWEEP = ("cox3d-s", "cost-gcn")
BUFFERS_KIB = (64, 128, 512, 2048, 8192, 16384, 32768)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plot", help="write the figure here (.png, .svg, .pdf)")
    ap.add_argument("--pairs", default=",".join(PAIRS), help=f"clip networks to compare (default: {','.join(PAIRS)})")
    ap.add_argument("--samples", type=int, default=5000, help="mapper samples per layer")
    args = ap.parse_args()
    opts = MapperOptions(samples=args.samples)
    start = time.perf_counter()
    frames = []
    pairs: dict[str, dict[str, dict]] = {}
    print(f"{'preset':<8} {'clip':<9} {'continual':<11} {'MACs ×':>7} {'clip mJ':>9} {'step mJ':>9} {'energy ×':>9} {'clip ms':>9} {'step ms':>9}"
          f" {'state KiB':>10} {'on chip':>8} {'state share':>12}")  # fmt: skip
    for name in ("eyeriss", "tpu-v1"):
        arch = load_arch(name)
        for clip_name in args.pairs.split(","):
            step_name = PAIRS[clip_name]
            f = clip_vs_continual(evaluate_network(arch, load_workload(clip_name), opts), evaluate_network(arch, load_workload(step_name), opts))
            f.insert(0, "arch", name)
            frames.append(f)
            c, s, r = (f.iloc[i] for i in range(3))
            print(f"{name:<8} {clip_name:<9} {step_name:<11} {r['macs']:7.1f} {c['energy_pj'] / 1e9:9.3f} {s['energy_pj'] / 1e9:9.3f}"
                  f" {r['energy_pj']:9.2f} {c['latency_s'] * 1e3:9.2f} {s['latency_s'] * 1e3:9.3f} {s['state_bytes'] / 1024:10,.0f}"
                  f" {s['state_onchip_bytes'] / 1024:8,.0f} {s['state_energy_share']:12.1%}")  # fmt: skip
            pairs.setdefault(name, {})[clip_name] = {
                "continual": step_name, "macs_ratio": float(r["macs"]), "clip_mj": c["energy_pj"] / 1e9, "step_mj": s["energy_pj"] / 1e9,
                "energy_ratio": float(r["energy_pj"]), "clip_ms": c["latency_s"] * 1e3, "step_ms": s["latency_s"] * 1e3,
                "state_kib": s["state_bytes"] / 1024, "state_onchip_kib": s["state_onchip_bytes"] / 1024,
                "state_onchip_fraction": s["state_onchip_bytes"] / s["state_bytes"] if s["state_bytes"] else None,
                "state_energy_share": float(s["state_energy_share"])}  # fmt: skip
    table = pd.concat(frames, ignore_index=True)
    spec = yaml.safe_load(importlib.resources.files("hwsim.accelerators").joinpath("eyeriss.yaml").read_text())
    sweep: dict[str, list[tuple[int, float, float, float]]] = {}
    print("\nEyeriss-like, global buffer sweep (energy per prediction; state on chip of all state):")
    print(f"{'GLB KiB':>9} " + " ".join(f"{n + ' mJ':>14} {'on chip KiB':>12}" for n in SWEEP))
    for kib in BUFFERS_KIB:
        spec["levels"][1]["size_kib"] = kib
        arch = architecture_from_dict(spec, f"eyeriss-glb{kib}")
        cells = []
        for n in SWEEP:
            r = evaluate_network(arch, load_workload(n), opts)
            t = r.totals()
            sweep.setdefault(n, []).append((kib, r.energy_pj / 1e9, t["state_onchip_bytes"] / 1024, t["state_bytes"] / 1024))
            cells.append(f"{r.energy_pj / 1e9:14.3f} {t['state_onchip_bytes'] / 1024:12,.0f}")
        print(f"{kib:9,} " + " ".join(cells))
    seconds = time.perf_counter() - start
    print(f"\n{seconds:.0f} s")
    if args.plot:
        _figure(table, sweep, args.plot)
        print(f"figure: {args.plot}")
    write_results("continual_energy",
                  {"pairs": pairs, "glb_sweep_eyeriss": {n: [{"glb_kib": k, "energy_mj": e, "state_onchip_kib": o, "state_kib": t}
                                                              for k, e, o, t in pts] for n, pts in sweep.items()},
                   "seconds": seconds, "samples": args.samples, "plot": args.plot},
                  measures="Energy and latency of one prediction, clip network (one window) vs its continual form (one step), "
                  "on the Eyeriss-like and TPU-like presets: mJ, ms, the state the continual form keeps (KiB, KiB on chip) "
                  "and the state traffic's share of the step's energy; then CoX3D-S and CoST-GCN energy per step as the "
                  "Eyeriss-like global buffer grows; seconds is the wall time of the whole script (load-sensitive).")  # fmt: skip


def _figure(table: pd.DataFrame, sweep: dict[str, list[tuple[int, float, float, float]]], path: str) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    from hwsim.plots import save_figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_bar, ax_sweep = fig.subplots(1, 2, width_ratios=(1.3, 1))
    eye = table[(table["arch"] == "eyeriss") & table["mode"].isin(("clip", "continual"))].reset_index(drop=True)
    pairs = eye["network"].to_numpy().reshape(-1, 2)
    x = np.arange(len(pairs))
    clip_e, step_e = eye["energy_pj"].to_numpy().reshape(-1, 2).T / 1e9
    share = eye["state_energy_share"].to_numpy().reshape(-1, 2)[:, 1]
    ax_bar.bar(x - 0.2, clip_e, 0.4, label="clip (one window per prediction)", color="tab:blue")
    ax_bar.bar(x + 0.2, step_e * (1 - share), 0.4, label="continual step", color="tab:orange")
    ax_bar.bar(x + 0.2, step_e * share, 0.4, bottom=step_e * (1 - share), color="tab:orange", hatch="//", edgecolor="black",
               linewidth=0.5, label="… of it state traffic")  # fmt: skip
    ax_bar.set_yscale("log")
    ax_bar.set_xticks(x, [f"{a}\nvs {b}" for a, b in pairs], fontsize="small")
    ax_bar.set_ylabel("energy per prediction (mJ, log)")
    ax_bar.set_title("Eyeriss-like: clip vs continual")
    ax_bar.legend(fontsize="small")
    for n, points in sweep.items():
        kib, energy, onchip, total = zip(*points, strict=True)
        line = ax_sweep.plot(kib, energy, marker="o", label=f"{n} ({total[0]:,.0f} KiB of state)")[0]
        fits = next((k for k, o, t in zip(kib, onchip, total, strict=True) if o >= t), None)
        if fits is not None:
            ax_sweep.axvline(fits, color=line.get_color(), ls="--", lw=0.8)
    ax_sweep.set_xscale("log", base=2)
    ax_sweep.set_yscale("log")
    ax_sweep.set_xlabel("global buffer (KiB); dashed: all state on chip")
    ax_sweep.set_ylabel("energy per step (mJ, log)")
    ax_sweep.set_title("Eyeriss-like, growing the global buffer")
    ax_sweep.legend(fontsize="small")
    save_figure(fig, path)


if __name__ == "__main__":
    main()
