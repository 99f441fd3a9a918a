"""Run SCALE-Sim 3.0.0 without traces and print its per-layer report as JSON.

Executed by the peer venv's Python (it imports scalesim, never hwsim):
``python _scalesim_driver.py CFG TOPO LAYOUT OUTDIR conv|gemm``.
"""

import contextlib
import csv
import io
import json
import os
import sys
import time


def main() -> None:
    cfg, topo, layout, outdir, kind = sys.argv[1:6]
    from scalesim.scale_sim import scalesim

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout, input_type_gemm=kind == "gemm")
        sim.run_scale(top_path=outdir)
    seconds = time.perf_counter() - t0
    run = next(d for d in os.listdir(outdir) if os.path.isdir(os.path.join(outdir, d)))

    def table(name: str) -> list[list[str]]:
        with open(os.path.join(outdir, run, name), newline="") as f:
            return [[c.strip() for c in row if c.strip() != ""] for row in csv.reader(f)][1:]

    compute = table("COMPUTE_REPORT.csv")
    detail = table("DETAILED_ACCESS_REPORT.csv")
    layers = []
    for c, d in zip(compute, detail, strict=True):
        layers.append({
            "layer_id": int(c[0]),
            "total_cycles_incl_prefetch": float(c[1]),
            "total_cycles": float(c[2]),
            "stall_cycles": float(c[3]),
            "overall_util_pct": float(c[4]),
            "ifmap_dram_reads": float(d[12]),
            "filter_dram_reads": float(d[15]),
            "ofmap_dram_writes": float(d[18]),
        })
    print(json.dumps({"seconds": seconds, "layers": layers}))


if __name__ == "__main__":
    main()
