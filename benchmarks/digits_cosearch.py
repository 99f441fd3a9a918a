"""The measured-accuracy demo (issue 20): a small CNN trained on scikit-learn's digits, co-searched over hardware, widths,
bits and pruning with its accuracy measured for every feasible trial.

    python benchmarks/digits_cosearch.py [--budget 100] [--seed 0] [--out DIR]

Runs :func:`hwsim.explore.digits.run_demo`: ``hwsim search --accuracy hwsim.explore.digits:accuracy --prune`` in a fresh
process (Eyeriss-like base, its area held, NSGA-II, one worker, seeded), then the proxy's ranking of the distinct measured
variants against the measured one (Spearman), the winner's accuracy and EDP against the base design's (trial 0: full
width, int8, dense, the preset's hardware), and the winner rerun from its files (``hwsim run`` on winner/, its model
rebuilt from winner/network.yaml, saved as winner/model.npz and evaluated again from the file).
Writes benchmarks/results/digits_cosearch.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from results_io import write_results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=int, default=100, help="complete trials (default 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="keep the search and the winner's files here (default: a temporary folder)")
    args = ap.parse_args()
    from hwsim.explore.digits import run_demo

    with tempfile.TemporaryDirectory() as tmp:
        figures = run_demo(args.out or tmp, budget=args.budget, seed=args.seed)
    s, w = figures["spearman_proxy_vs_measured_loss"], figures["winner"]
    print(f"{figures['trials']} trials, {figures['feasible']} feasible, {figures['measured_trials']} measured "
          f"({figures['distinct_measured_variants']} distinct variants) in {figures['search_seconds']:.0f} s")
    print(f"float model {figures['float_model_accuracy']:.4f}; base design {figures['base_design']['accuracy']:.4f} at EDP "
          f"{figures['base_design']['edp_pj_s']:.4g} pJ·s")
    print(f"winner (trial {w['trial']}): accuracy {w['accuracy']:.4f}, EDP {w['edp_pj_s']:.4g} pJ·s "
          f"({w['edp_ratio_vs_base_design']:.2f}x below the base design)")
    print(f"proxy vs measured accuracy loss: Spearman {s['rho']:.3f} (p {s['p_value']:.2g}, n {s['n']}); with real weights "
          f"{figures['spearman_real_weight_proxy_vs_measured_loss']['rho']:.3f}")
    pt, ft = figures["spearman_proxy_vs_post_training_loss"], figures["spearman_post_training_vs_fine_tuned_loss"]
    lo, hi = figures["measured_accuracy_range"]
    plo, phi = figures["post_training_accuracy_range"]
    print(f"measured (fine-tuned) accuracy {lo:.4f}..{hi:.4f} (one measurement's standard error {figures['accuracy_standard_error']:.4f}); "
          f"post-training (no fine-tuning) {plo:.4f}..{phi:.4f}: proxy vs post-training loss Spearman {pt['rho']:.3f} "
          f"(p {pt['p_value']:.2g}), post-training vs fine-tuned {ft['rho']:.3f}")
    print("reproduced from the winner's files:", json.dumps(figures["reproduced"]))
    write_results("digits_cosearch", figures, measures="the digits CNN co-searched with measured accuracy: trials, the proxy's rank "
                  "correlation with the measured accuracy loss, the winner's accuracy and EDP, and its rerun from files")


if __name__ == "__main__":
    main()
