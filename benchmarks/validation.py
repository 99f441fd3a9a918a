"""The figures README.md's Validation section quotes, recomputed: the model against published references.

    python benchmarks/validation.py

1. The Timeloop+Accelergy Eyeriss-like reference layer (10.8M MACs) under Timeloop's row-stationary mapping
   (tests/test_eyeriss_reference.py): hwsim's pJ/MAC against the published 5.47, per part, and whether the
   published access counts are reproduced exactly.
2. The preset zoo against the published MAC and parameter counts (tests/test_zoo.py): the largest relative
   deviation of each.
3. How many random cases the brute-force check walks (tests/test_bruteforce.py's hypothesis setting).

Prints them and writes benchmarks/results/validation.json (a few seconds).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_io import write_results

from hwsim.core.mapping import Mapping
from hwsim.core.workload import conv2d
from hwsim.cost.analytical import evaluate_mapping
from hwsim.frontend.presets import load_arch
from tests import test_bruteforce, test_eyeriss_reference
from workloads import PRESETS, PUBLISHED, parameter_count

PUBLISHED_PJ_PER_MAC = 5.47
# Timeloop's mapping: DRAM P8 Q2 K4 | GLB P14 Q4 | cols Q14 | rows C3 S3 | weights spad R3 | psum spad K8 (as the test)
TIMELOOP_MAPPING = ([[("P", 8), ("Q", 2), ("K", 4)], [("P", 14), ("Q", 4)], [], [("R", 3)], [("K", 8)]], [[("Q", 14)], [("C", 3), ("S", 3)]])
# the access counts published with the reference (all instances): (level, operand, action) -> count
PUBLISHED_ACCESSES = {("DRAM", "weights", "reads"): 13_824, ("DRAM", "inputs", "reads"): 157_296, ("DRAM", "outputs", "updates"): 401_408,
                      ("weights_spad", "weights", "fills"): 1_536 * 126, ("ifmap_spad", "inputs", "fills"): 10_752 * 126,
                      ("psum_spad", "outputs", "reads"): 57_344 * 126}  # fmt: skip


def eyeriss_reference() -> dict:
    arch = load_arch("eyeriss")
    layer = conv2d("ref", in_channels=3, out_channels=32, in_hw=225, kernel=3, stride=2, psum_bits=16)
    r = evaluate_mapping(layer, arch, Mapping.build(*TIMELOOP_MAPPING))
    parts = {lv: e / layer.macs for lv, e in r.level_energy_pj.items()} | {"MAC": r.mac_energy_pj / layer.macs}
    exact = sum(getattr(r.accesses[(lv, op)], action) == want for (lv, op, action), want in PUBLISHED_ACCESSES.items())
    return {"macs": layer.macs, "pj_per_mac": r.energy_pj / layer.macs, "published_pj_per_mac": PUBLISHED_PJ_PER_MAC,
            "parts_pj_per_mac": parts, "published_parts_pj_per_mac": test_eyeriss_reference.REFERENCE_PJ_PER_MAC,
            "compute_cycles": r.compute_cycles, "access_counts_exact": exact, "access_counts_published": len(PUBLISHED_ACCESSES)}  # fmt: skip


def zoo() -> dict:
    nets = {}
    for name, ref in sorted(PUBLISHED.items()):
        net = PRESETS[name]()
        nets[name] = {"macs_deviation": net.macs / ref["macs"] - 1, "params_deviation": parameter_count(net) / ref["params"] - 1}
    macs = max(nets, key=lambda n: abs(nets[n]["macs_deviation"]))
    params = max(nets, key=lambda n: abs(nets[n]["params_deviation"]))
    return {"networks": len(nets), "worst_macs_deviation": abs(nets[macs]["macs_deviation"]), "worst_macs_network": macs,
            "worst_params_deviation": abs(nets[params]["params_deviation"]), "worst_params_network": params, "per_network": nets}  # fmt: skip


def main() -> None:
    eye = eyeriss_reference()
    print(f"Eyeriss-like reference layer ({eye['macs']:,} MACs): {eye['pj_per_mac']:.2f} pJ/MAC against the published "
          f"{eye['published_pj_per_mac']:.2f}; published access counts reproduced exactly: {eye['access_counts_exact']} of "
          f"{eye['access_counts_published']}")  # fmt: skip
    z = zoo()
    print(f"zoo ({z['networks']} networks with published counts): MACs within {z['worst_macs_deviation']:.1%} "
          f"({z['worst_macs_network']}), parameters within {z['worst_params_deviation']:.1%} ({z['worst_params_network']})")  # fmt: skip
    cases = test_bruteforce.test_analytical_equals_brute_force._hypothesis_internal_use_settings.max_examples  # type: ignore[attr-defined]
    print(f"brute-force check: {cases} random cases (tests/test_bruteforce.py)")
    write_results("validation", {"eyeriss_reference": eye, "zoo": z, "bruteforce_cases": cases},
                  measures="The Eyeriss-like reference layer under Timeloop's mapping: hwsim pJ/MAC vs the published "
                  "Timeloop+Accelergy figure and how many of the published access counts hwsim reproduces exactly; the "
                  "largest |hwsim/published - 1| of the preset zoo's MAC and parameter counts; the brute-force test's case count.")  # fmt: skip


if __name__ == "__main__":
    main()
