"""`hwsim search --rtl`: every feasible design is one the RTL generator builds, and the winner generates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("amaranth")
pytest.importorskip("optuna")

from hwsim.explore.proxy import QuantPruneProxy
from hwsim.explore.search import Context, base_params, default_space
from hwsim.explore.variants import arch_spec
from hwsim.frontend.presets import load_arch
from hwsim.mapper import MapperOptions
from hwsim.rtl.config import rtl_config
from hwsim.workloads import load_preset
from tests.nets import TINY


def test_the_base_trial_is_the_base_design() -> None:
    """Numbers written as strings in a preset ('800e6') are matched to the space's choices."""
    base = arch_spec("fpga-small")
    ctx = Context(base, load_preset("resnet18"), default_space(base), ("edp",), MapperOptions(samples=100), QuantPruneProxy({}, {}))
    params = base_params(ctx)
    arch = load_arch("fpga-small")
    assert params["levels.dram.bandwidth_bytes_per_s"] * 8 / arch.clock_hz == arch.levels[0].read_bandwidth_bits_per_cycle
    assert params["array.rows"] == 8 and params["array.cols"] == 8


def test_search_rtl_keeps_to_generatable_designs(tmp_path: Path) -> None:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "search"
    done = subprocess.run([sys.executable, "-m", "hwsim", "search", "--arch", "fpga-small", "--workload", str(wl), "--rtl",
                           "--budget", "24", "--samples", "200", "--population", "8", "--workers", "1", "--out", str(out),
                           "--format", "json"], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    trials = pd.read_csv(out / "trials.csv")
    assert summary["feasible"] >= 2 and (trials["param.mac.kind"] == "fixed").all()
    from hwsim.explore.variants import build_point

    base = arch_spec("fpga-small")
    for _, row in trials[trials["feasible"]].iterrows():
        hw = {k[len("param."):]: v for k, v in row.items() if k.startswith("param.") and k[len("param."):] in default_space(base).hardware
              and not (k == "param.dataflow")}  # fmt: skip
        rtl_config(build_point(base, hw).arch)  # raises if the generator would refuse it
    gen = subprocess.run([sys.executable, "-m", "hwsim", "rtl", "generate", "--arch", summary["files"]["arch"], "--out",
                          str(tmp_path / "rtl")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    assert list((tmp_path / "rtl").glob("*.v"))


def test_search_rtl_refuses_a_base_the_generator_cannot_build(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "hwsim", "search", "--arch", "eyeriss", "--workload", "resnet18", "--rtl",
                           "--budget", "2", "--out", str(tmp_path / "s")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr and "generatable" in done.stderr


def test_random_search_baseline_runs_and_is_seeded(tmp_path: Path) -> None:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    frames = []
    for k in range(2):
        out = tmp_path / f"r{k}"
        done = subprocess.run([sys.executable, "-m", "hwsim", "search", "--workload", str(wl), "--sampler", "random", "--budget", "12",
                               "--samples", "200", "--population", "4", "--workers", "1", "--max-proxy", "0.5", "--out", str(out),
                               "--format", "json"], capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        frames.append(pd.read_csv(out / "trials.csv"))
    assert len(frames[0]) >= 12
    cols = [c for c in frames[0].columns if c.startswith("param.")]
    pd.testing.assert_frame_equal(frames[0][cols], frames[1][cols])  # same seed, same trials
    bad = subprocess.run([sys.executable, "-m", "hwsim", "search", "--workload", str(wl), "--sampler", "tpe", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and "--sampler" in bad.stderr and "Traceback" not in bad.stderr
