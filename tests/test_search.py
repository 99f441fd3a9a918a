"""Co-search: network variants, the accuracy proxy, and a study that survives a kill."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from hwsim.explore.netvariants import scale_widths, stages
from hwsim.explore.proxy import QuantPruneProxy
from hwsim.frontend.presets import load_arch, load_workload

TINY = {
    "name": "tiny",
    "layers": [
        {"name": "conv1", "type": "conv2d", "in_channels": 3, "out_channels": 16, "in_hw": 16, "kernel": 3, "padding": 1},
        {"name": "conv2", "type": "conv2d", "in_channels": 16, "out_channels": 32, "in_hw": 16, "kernel": 3, "padding": 1, "stride": 2},
        {"name": "fc", "type": "fc", "in_features": 2048, "out_features": 10},
    ],
}


def test_width_scaling_keeps_channels_consistent():
    net = load_workload("mobilenetv2")
    assert stages(net) == ["112x112", "56x56", "28x28", "14x14", "7x7"]
    half = scale_widths(net, dict.fromkeys(stages(net), 0.5))
    layers = {x.name: x for x in half.layers()}
    assert layers["features.1.dw"].bound("G") == layers["features.0.conv"].bound("K") == 16
    assert layers["classifier"].bound("K") == 1000 and layers["classifier"].bound("C") == layers["features.18.conv"].bound("K")
    assert 0.2 < half.macs / net.macs < 0.35
    same = scale_widths(net, dict.fromkeys(stages(net), 1.0))
    assert [x.bounds for x in same.layers()] == [x.bounds for x in net.layers()]


def test_proxy_grows_with_fewer_bits_and_narrower_layers():
    net = load_workload("resnet18")
    proxy = QuantPruneProxy()
    p8 = proxy.estimate(net, net)["proxy"]
    p4 = proxy.estimate(net, net.with_bits(weights=4, inputs=4))["proxy"]
    narrow = proxy.estimate(net, scale_widths(net, {"56x56": 0.5}))
    assert p8 < p4 and narrow["proxy_pruned_norm"] > 0
    # measured on real weights: removing the smallest channels removes less than their count's share
    w = np.random.default_rng(0).normal(size=(64, 64, 3, 3)) * np.linspace(0.1, 1, 64)[:, None, None, None]
    layer = next(x for x in net.layers() if x.name == "layer1.0.conv1")
    small = next(x for x in scale_widths(net, {"56x56": 0.5}).layers() if x.name == "layer1.0.conv1")
    measured = QuantPruneProxy({"layer1.0.conv1": w}).layer_figures(layer, small)["pruned_norm"]
    assert measured < QuantPruneProxy().layer_figures(layer, small)["pruned_norm"]


def _study_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as c:
        return dict(c.execute("select state, count(*) from trials group by state").fetchall())


def test_killed_search_resumes_from_the_stored_study(tmp_path: Path):
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "search"
    args = [sys.executable, "-m", "hwsim", "search", "--workload", str(wl), "--arch", "eyeriss", "--budget", "40",
            "--samples", "200", "--population", "8", "--out", str(out), "--max-proxy", "0.5", "--format", "json"]  # fmt: skip
    proc = subprocess.Popen([*args, "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    db = out / "study.db"
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.2)
        assert proc.poll() is None
        if db.exists():
            try:
                if _study_counts(db).get("COMPLETE", 0) >= 8:
                    break
            except sqlite3.OperationalError:
                pass
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _study_counts(db).get("COMPLETE", 0)
    assert 8 <= before < 40
    with sqlite3.connect(db) as c:
        kept = {r[0] for r in c.execute("select number from trials where state = 'COMPLETE'")}
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    counts = _study_counts(db)
    assert 40 <= counts["COMPLETE"] <= 41 and summary["trials"] == counts["COMPLETE"]
    with sqlite3.connect(db) as c:
        after = {r[0] for r in c.execute("select number from trials where state = 'COMPLETE'")}
    assert kept <= after  # nothing finished before the kill was lost
    assert summary["pareto"] >= 1 and Path(summary["files"]["arch"]).exists()
    # the winner's spec is one `hwsim run` takes unchanged
    run = subprocess.run([sys.executable, "-m", "hwsim", "run", "--arch", summary["files"]["arch"], "--workload", str(wl),
                          "--samples", "200", "--format", "json"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["total"]["macs"] > 0
    mappings = yaml.safe_load(Path(summary["files"]["mappings"]).read_text())
    assert set(mappings["layers"]) == {"conv1", "conv2", "fc"}
    assert load_arch(summary["files"]["arch"]).num_macs == summary["winner"].get("num_macs", load_arch(summary["files"]["arch"]).num_macs)


@pytest.mark.slow
def test_search_budget_on_mobilenetv2(tmp_path: Path):
    p = subprocess.run([sys.executable, "-m", "hwsim", "search", "--workload", "mobilenetv2", "--budget", "200", "--out",
                        str(tmp_path), "--format", "json"], capture_output=True, text=True, timeout=1800)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["pareto"] >= 1


def test_search_chooses_clip_or_continual_execution(tmp_path: Path, capsys):
    """A network with a streaming form: each trial runs it per window (clip) or per step (continual); both are costed
    per prediction, the continual trials carry the continual network's MACs and state, and the winner streams."""
    from hwsim.cli import main

    code = main(["search", "--workload", "oadtr-b1", "--budget", "16", "--samples", "200", "--out", str(tmp_path), "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    import pandas as pd

    frame = pd.read_csv(tmp_path / "trials.csv")
    modes = set(frame["param.execution"])
    assert modes == {"clip", "continual"}
    full = frame[(frame["mapped"]) & (frame["param.width.64x1"] == 1.0)]
    assert set(full.loc[full["param.execution"] == "clip", "macs"]) <= {load_workload("oadtr-b1").macs}
    cont = frame[frame["mapped"] & (frame["param.execution"] == "continual")]
    assert len(cont) and (cont["macs"] == load_workload("cooadtr-b1").macs).all()  # no width stage in the single-token step
    best = frame.loc[frame[frame["feasible"]]["edp_pj_s"].idxmin()]
    assert best["param.execution"] == "continual"
    assert yaml.safe_load((tmp_path / "winner" / "network.yaml").read_text())["name"].startswith("cooadtr-b1")
    # the streaming winner (state ops included) reruns from its three files to the same EDP
    w = tmp_path / "winner"
    code = main(["run", "--arch", str(w / "arch.yaml"), "--workload", str(w / "network.yaml"), "--mappings", str(w / "mappings.yaml"),
                 "--samples", "200", "--format", "json"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["total"]["edp_pj_s"] == pytest.approx(best["edp_pj_s"], rel=1e-9)


def test_execution_modes_need_a_network_with_both_forms(tmp_path: Path, capsys):
    from hwsim.cli import main

    space = tmp_path / "space.yaml"
    space.write_text("network: {execution: [clip, continual]}\n")
    code = main(["search", "--workload", "resnet18", "--space", str(space), "--budget", "2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "space.network.execution" in err and "x3d-s/cox3d-s" in err
    space.write_text("network: {execution: [clip, streaming]}\n")
    code = main(["search", "--workload", "x3d-s", "--space", str(space), "--budget", "2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "streaming" in err and "clip, continual" in err


def test_pruning_proxy_closed_forms_against_sampled_gaussians():
    from hwsim.explore.proxy import gaussian_magnitude_share, gaussian_nm_share

    z2 = np.random.default_rng(0).normal(size=400_000) ** 2
    flat = np.sort(z2)
    for d in (0.75, 0.5, 0.25):
        assert gaussian_magnitude_share(d) == pytest.approx(flat[: int((1 - d) * flat.size)].sum() / z2.sum(), rel=0.02)
    for n, m in ((2, 4), (1, 4), (4, 8)):
        groups = np.sort(z2.reshape(-1, m), axis=1)
        assert gaussian_nm_share(n, m) == pytest.approx(groups[:, : m - n].sum() / z2.sum(), rel=0.02)
    assert gaussian_magnitude_share(1.0) == gaussian_nm_share(4, 4) == 0.0


def test_pruning_proxy_measures_real_weights():
    net = load_workload("resnet18")
    layer = next(x for x in net.layers() if x.name == "layer1.0.conv1")
    w = np.random.default_rng(1).laplace(size=(64, 64, 3, 3))  # heavier tails than Gaussian: magnitude pruning removes less
    proxy = QuantPruneProxy({layer.name: w})
    half = proxy.layer_figures(layer, layer.with_sparsity(weights=0.5))["pruned_norm"]
    w2 = np.sort((w**2).ravel())
    assert half == pytest.approx(w2[: w2.size // 2].sum() / w2.sum())
    nm = proxy.layer_figures(layer, layer.with_sparsity(weights="2:4"))["pruned_norm"]
    groups = np.sort(np.moveaxis(w**2, 1, -1).reshape(-1, 4), axis=1)
    assert nm == pytest.approx(groups[:, :2].sum() / w2.sum())
    assert QuantPruneProxy().layer_figures(layer, layer.with_sparsity(weights=0.5))["pruned_norm"] > half


def test_sparsity_support_turns_pruning_into_cycles_or_energy():
    from hwsim.core.arch import architecture_from_dict
    from hwsim.core.workload import gemm
    from hwsim.cost.analytical import evaluate_mapping
    from hwsim.explore.search import with_sparsity_support
    from hwsim.explore.variants import arch_spec
    from hwsim.mapper import map_layer

    base = arch_spec("eyeriss")
    assert with_sparsity_support(base, "none") is base
    dense, pruned = gemm("g", M=64, N=64, K=64), gemm("g", M=64, N=64, K=64).with_sparsity(weights="2:4")
    plain = architecture_from_dict(base, "plain")
    m = map_layer(dense, plain).mapping
    ref = evaluate_mapping(pruned, plain, m)
    assert ref.compute_cycles == evaluate_mapping(dense, plain, m).compute_cycles  # no support: pruning saves nothing
    nm = evaluate_mapping(pruned, architecture_from_dict(with_sparsity_support(base, "skip-nm"), "nm"), m, check=False)
    assert nm.compute_cycles == ref.compute_cycles / 2
    gate = evaluate_mapping(pruned, architecture_from_dict(with_sparsity_support(base, "gate"), "gate"), m, check=False)
    assert gate.compute_cycles == ref.compute_cycles and gate.mac_energy_pj == pytest.approx(ref.mac_energy_pj / 2)


def test_search_with_pruning_reruns_its_pruned_winner(tmp_path: Path, capsys):
    from hwsim.cli import main

    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "s"
    code = main(["search", "--workload", str(wl), "--prune", "--max-proxy", "0.5", "--budget", "30", "--samples", "200", "--population", "10",
                 "--workers", "1", "--out", str(out), "--format", "json"])  # fmt: skip
    res = capsys.readouterr()
    assert code == 0, res.err
    import pandas as pd

    frame = pd.read_csv(out / "trials.csv")
    assert set(frame["param.hardware_sparsity"]) <= {"none", "gate", "skip", "skip-nm"} and frame["param.hardware_sparsity"].nunique() > 1
    full = frame[frame["mapped"] & (frame.filter(like="param.width") == 1.0).all(axis=1)]
    pruned = full[(full.filter(like="param.wsparsity").astype(str) != "1.0").any(axis=1)]
    dense = full[(full.filter(like="param.wsparsity").astype(str) == "1.0").all(axis=1)]
    assert len(pruned) and (pruned["proxy_pruned_norm"] > 0).all() and (dense["proxy_pruned_norm"] == 0).all()
    files = json.loads(res.out)["files"]
    best = json.loads(res.out)["winner"]
    code = main(["run", "--arch", files["arch"], "--workload", files["network"], "--mappings", files["mappings"], "--samples", "50",
                 "--format", "json"])  # fmt: skip
    res = capsys.readouterr()
    assert code == 0, res.err
    assert json.loads(res.out)["total"]["edp_pj_s"] == pytest.approx(best["edp_pj_s"], rel=1e-9)


def test_cmaes_encoding_round_trips_every_choice():
    """NAAS-style encoding: decoding the coordinates of any decoded choice gives the choice back."""
    import random

    from hwsim.explore.proxy import QuantPruneProxy
    from hwsim.explore.search import Context, SearchSpace, _Encoded, _suggest, default_space, encode_params
    from hwsim.explore.variants import arch_spec
    from hwsim.mapper import MapperOptions

    base = arch_spec("eyeriss")
    space = default_space(base)
    space = SearchSpace(space.hardware, sparsity=(1.0, 0.5, "2:4"), support=("none", "gate", "skip", "skip-nm"))
    ctx = Context(base, load_workload("resnet18"), space, ("edp",), MapperOptions(samples=10), QuantPruneProxy())
    rng = random.Random(0)

    class _Pick:
        def suggest_categorical(self, name, choices):
            return rng.choice(list(choices))

    class _Fixed:
        def __init__(self, coords):
            self.coords = coords

        def suggest_float(self, name, low, high):
            return self.coords[name]

    for _ in range(20):
        params = _suggest(_Pick(), ctx)
        assert _suggest(_Encoded(_Fixed(encode_params(ctx, params))), ctx) == params


def test_cmaes_search_starts_at_the_base_and_exports_a_rerunnable_winner(tmp_path: Path, capsys):
    from hwsim.cli import main

    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "s"
    code = main(["search", "--workload", str(wl), "--sampler", "cmaes", "--budget", "20", "--samples", "200", "--workers", "1",
                 "--out", str(out), "--format", "json"])  # fmt: skip
    res = capsys.readouterr()
    assert code == 0, res.err
    import pandas as pd

    frame = pd.read_csv(out / "trials.csv")
    assert len(frame) == 20 and frame["feasible"].sum() >= 1
    first = frame.sort_values("trial").iloc[0]
    assert first["param.dataflow"] == "any" and first["param.mac.kind"] == "fixed" and first["feasible"]  # the base design
    files, best = json.loads(res.out)["files"], json.loads(res.out)["winner"]
    code = main(["run", "--arch", files["arch"], "--workload", files["network"], "--mappings", files["mappings"], "--samples", "50",
                 "--format", "json"])  # fmt: skip
    res = capsys.readouterr()
    assert code == 0, res.err
    assert json.loads(res.out)["total"]["edp_pj_s"] == pytest.approx(best["edp_pj_s"], rel=1e-9)
