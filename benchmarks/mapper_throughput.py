"""Mappings evaluated per second on one core: a ResNet-50 3×3 conv on the Eyeriss-like preset.

    python benchmarks/mapper_throughput.py [--n 400000]

Prints the compiled batch model's rate (CPU time of this one process, after compilation),
the whole search's rate (sampling, repair and evaluation together), and the single-mapping API's
rate for scale (hwsim.cost.analytical.evaluate_mapping: the same kernel, one mapping per call, with the
packing, nest building and report in Python). The target of the mapper issue is ≥ 1,000,000 evaluations/s. Writes the rates to
benchmarks/results/mapper_throughput.json (CPU-time rates: run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import time

from results_io import write_results

from hwsim.cost.analytical import evaluate_mapping
from hwsim.frontend.presets import load_arch, load_workload
from hwsim.mapper import MapperOptions, _spatial_array, fastmodel, spatial_candidates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400_000, help="mappings per timed batch")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    arch = load_arch("eyeriss")
    layer = load_workload("resnet50").graph.nodes["layer3.0.conv2"]["op"]  # 3×3, 256→256, 14×14 outputs
    packed = fastmodel.Packed.build(layer, arch)
    spatial = _spatial_array(spatial_candidates(layer, arch, 24))
    factors, orders, _ = fastmodel.random_mappings(packed, spatial, args.n, seed=1)
    fastmodel.evaluate_batch(packed, factors[:10], orders[:10])  # compile (or load the cache)
    best = 0.0
    for _ in range(args.repeat):
        t = time.process_time()
        fastmodel.evaluate_batch(packed, factors, orders)
        best = max(best, args.n / (time.process_time() - t))
    print(f"layer: {layer!r} on {arch.name} ({arch.num_macs} PEs, {len(arch.levels)} levels)")
    print(f"compiled batch model: {best:,.0f} mappings/s on one core (best of {args.repeat}, {args.n:,} mappings each)")

    fastmodel.search(packed, spatial, ("edp",), max_samples=1000, seed=0)  # warm
    t = time.process_time()
    _, _, _, out, n = fastmodel.search(packed, spatial, ("edp",), max_samples=200_000, victory=10**9, refine=50_000, seed=0)
    dt = time.process_time() - t
    print(f"whole search (sample + repair + evaluate + refine): {n / dt:,.0f} mappings/s; {n:,} in {dt:.2f} s;"
          f" best {out[0] / layer.macs:.3f} pJ/MAC, {out[1]:,.0f} cycles")  # fmt: skip

    opts = MapperOptions()
    t = time.perf_counter()
    from hwsim.mapper import map_layer

    r = map_layer(layer, arch, opts)
    map_s = time.perf_counter() - t
    print(f"default map_layer: {map_s:.3f} s, {r.energy_pj / layer.macs:.3f} pJ/MAC, {r.cycles:,.0f} cycles")

    sample = [fastmodel.decode(factors[i], orders[i], arch) for i in range(300)]
    t = time.process_time()
    for m in sample:
        evaluate_mapping(layer, arch, m, check=False)
    reference = len(sample) / (time.process_time() - t)
    print(f"single-mapping API (evaluate_mapping): {reference:,.0f} mappings/s")
    write_results("mapper_throughput",
                  {"layer": repr(layer), "arch": arch.name, "compiled_mappings_per_s": best, "batch": args.n, "repeat": args.repeat,
                   "search_mappings_per_s": n / dt, "search_mappings": n, "search_s": dt,
                   "map_layer_s": map_s, "map_layer_pj_per_mac": r.energy_pj / layer.macs, "map_layer_cycles": r.cycles,
                   "single_mapping_api_mappings_per_s": reference},
                  measures="Mappings evaluated per second of CPU time on one core for one ResNet-50 3×3 conv on the Eyeriss-like "
                  "preset: the compiled batch cost model (best of repeat batches), the whole compiled search, and the "
                  "single-mapping API (evaluate_mapping, the same kernel one call at a time); plus the wall time of one "
                  "default map_layer (load-sensitive).")  # fmt: skip


if __name__ == "__main__":
    main()
