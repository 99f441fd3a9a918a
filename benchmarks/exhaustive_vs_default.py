"""The default (sampled) search against exhaustive enumeration of the pruned mapspace.

    python benchmarks/exhaustive_vs_default.py [--archs eyeriss,fpga-small,nvdla-small]

On 30 small layers per accelerator (the same set as tests/test_mapper.py) prints the size of
each mapspace, both EDPs, their ratio and both search times. Target: within 2% everywhere.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwsim.mapper import MapperOptions, map_layer, mapspace_size
from hwsim.presets import load_arch
from tests.test_mapper import SMALL


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--archs", default="eyeriss,fpga-small,nvdla-small")
    args = ap.parse_args()
    for name in args.archs.split(","):
        arch = load_arch(name)
        ratios, t_ex, t_def, sizes = [], 0.0, 0.0, []
        for layer in SMALL:
            sizes.append(mapspace_size(layer, arch))
            t = time.perf_counter()
            best = map_layer(layer, arch, MapperOptions(exhaustive=True))
            t_ex += time.perf_counter() - t
            t = time.perf_counter()
            found = map_layer(layer, arch)
            t_def += time.perf_counter() - t
            ratios.append(found.edp_pj_s / best.edp_pj_s)
        within = sum(r <= 1.02 for r in ratios)
        print(f"{name:<12} {len(SMALL)} layers, mapspaces of {min(sizes):,}–{max(sizes):,} mappings: "
              f"default/exhaustive EDP worst {max(ratios):.4f}, mean {sum(ratios) / len(ratios):.4f}, "
              f"{within}/{len(ratios)} within 2%; exhaustive {t_ex:.1f} s, default {t_def:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
