"""The default mapper against a fixed textbook dataflow on ResNet-50: EDP per layer.

    python benchmarks/default_vs_textbook.py [--arch eyeriss] [--dataflow ws]

The textbook schedule is pure weight stationary with greedy tiling (hwsim.mapper.greedy_mapping):
no search. Prints every distinct layer's EDP under both and the ratio; writes them, the count of layers where
the default is at least as good and the ratio of the summed EDPs to benchmarks/results/default_vs_textbook.json.
"""

from __future__ import annotations

import argparse

from results_io import write_results

from hwsim.core.mapping import check_mapping
from hwsim.cost.analytical import evaluate_mapping
from hwsim.frontend.presets import load_arch, load_workload
from hwsim.mapper import greedy_mapping, map_layer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="eyeriss")
    ap.add_argument("--workload", default="resnet50")
    ap.add_argument("--dataflow", default="ws")
    args = ap.parse_args()
    arch = load_arch(args.arch)
    seen = {}
    print(f"{'layer':<22} {'MACs':>12} {'textbook EDP pJ·s':>18} {'default EDP pJ·s':>17} {'textbook/default':>16}")
    total_t = total_d = 0.0
    wins = 0
    layers = []
    for layer in load_workload(args.workload).layers():
        key = (layer.bounds, layer.stride)
        if key in seen:
            continue
        seen[key] = layer.name
        m = greedy_mapping(layer, arch, args.dataflow)
        assert not check_mapping(layer, arch, m), check_mapping(layer, arch, m)
        t = evaluate_mapping(layer, arch, m)
        d = map_layer(layer, arch)
        ratio = t.edp_pj_s / d.edp_pj_s
        wins += ratio >= 1
        total_t += t.edp_pj_s
        total_d += d.edp_pj_s
        print(f"{layer.name:<22} {layer.macs:>12,} {t.edp_pj_s:>18.4g} {d.edp_pj_s:>17.4g} {ratio:>16.2f}")
        layers.append({"layer": layer.name, "macs": layer.macs, "textbook_edp_pj_s": t.edp_pj_s, "default_edp_pj_s": d.edp_pj_s,
                       "textbook_over_default": ratio})  # fmt: skip
    print(f"\n{len(seen)} distinct layers; the default mapping is at least as good on {wins}; "
          f"sum of EDPs textbook/default = {total_t / total_d:.2f}")  # fmt: skip
    write_results("default_vs_textbook",
                  {"arch": args.arch, "workload": args.workload, "dataflow": args.dataflow, "distinct_layers": len(seen),
                   "default_at_least_as_good": wins, "summed_edp_textbook_over_default": total_t / total_d, "layers": layers},
                  measures=f"EDP per distinct layer of {args.workload} on {args.arch} under the default mapper vs a textbook "
                  f"{args.dataflow} schedule with greedy tiling (no search): on how many layers the default is at least as "
                  "good, and the summed textbook EDP over the summed default EDP.")  # fmt: skip


if __name__ == "__main__":
    main()
