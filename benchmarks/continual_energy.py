"""Clip versus continual X3D-S: energy and latency per prediction, and where the state stops fitting.

    python benchmarks/continual_energy.py [--plot continual.png]

For the Eyeriss-like and TPU-like presets prints X3D-S (one 13-frame clip per prediction) and
CoX3D-S (one frame per step, one prediction per step) with the state's share of the energy;
then, on the Eyeriss-like preset, the energy per prediction as the global buffer grows from
64 KiB to 32 MiB: the state moves on chip (half the buffer is given to state) and DRAM traffic
per step falls. The figure is written when --plot is given.
"""

from __future__ import annotations

import argparse

from hwsim.arch import architecture_from_dict
from hwsim.evaluate import evaluate_network
from hwsim.mapper import MapperOptions
from hwsim.presets import load_arch, load_workload


def _state_energy(report) -> float:  # type: ignore[no-untyped-def]
    return sum(r.energy_pj for r in report.reports if r.kind == "state")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plot")
    args = ap.parse_args()
    opts = MapperOptions(samples=5000)
    clip, step = load_workload("x3d-s"), load_workload("cox3d-s")
    print(f"MACs per prediction: X3D-S {clip.macs / 1e9:.3f} G, CoX3D-S {step.macs / 1e9:.3f} G ({clip.macs / step.macs:.2f}× fewer)\n")
    print(f"{'preset':<9} {'network':<8} {'energy mJ':>10} {'latency ms':>11} {'state KiB':>10} {'on chip':>8} {'state share':>12}")
    for name in ("eyeriss", "tpu-v1"):
        arch = load_arch(name)
        for net in (clip, step):
            r = evaluate_network(arch, net, opts)
            t = r.totals()
            print(f"{name:<9} {net.name:<8} {r.energy_pj / 1e9:10.3f} {r.latency_s * 1e3:11.2f} {t.get('state_bytes', 0) / 1024:10,.0f}"
                  f" {t.get('state_onchip_bytes', 0) / 1024:8,.0f} {_state_energy(r) / r.energy_pj:12.1%}")  # fmt: skip
    import importlib.resources

    import yaml

    spec = yaml.safe_load(importlib.resources.files("hwsim.accelerators").joinpath("eyeriss.yaml").read_text())
    sizes, energies, onchip = [], [], []
    print(f"\nEyeriss-like, CoX3D-S, global buffer size sweep:\n{'GLB KiB':>9} {'energy/pred mJ':>15} {'state on chip KiB':>18}")
    for kib in (64, 128, 512, 2048, 8192, 16384, 32768):
        spec["levels"][1]["size_kib"] = kib
        arch = architecture_from_dict(spec, f"eyeriss-glb{kib}")
        r = evaluate_network(arch, step, opts)
        t = r.totals()
        sizes.append(kib)
        energies.append(r.energy_pj / 1e9)
        onchip.append(t["state_onchip_bytes"] / 1024)
        print(f"{kib:9,} {energies[-1]:15.3f} {onchip[-1]:18,.0f}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from hwsim.io import write_bytes_atomic

        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(sizes, energies, marker="o")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("global buffer (KiB); half of it may hold streaming state")
        ax.set_ylabel("energy per prediction (mJ)")
        ax.set_title("CoX3D-S on the Eyeriss-like preset")
        total = t["state_bytes"] / 1024
        ax.axvline(2 * total, color="grey", ls="--", label=f"all {total:,.0f} KiB of state fits")
        ax.legend()
        fig.tight_layout()
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        write_bytes_atomic(args.plot, buf.getvalue())
        print(f"\nfigure: {args.plot}")


if __name__ == "__main__":
    main()
