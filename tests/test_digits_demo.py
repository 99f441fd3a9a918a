"""The measured-accuracy demo (hwsim.explore.digits, benchmarks/digits_cosearch.py): a CNN on scikit-learn's digits,
co-searched with its accuracy measured. Independent truths: the CNN's MAC counts in closed form; channel narrowing equal
to zeroing the dropped channels of the full model; every feasible trial measured; the winner's accuracy reproduced from
its files in another process than the search's (rebuilt from network.yaml, and loaded from the saved model.npz) and its
EDP by ``hwsim run`` on its files; a rerun of the same seeded search gives the same trials. Skipped without torch or
scikit-learn (the ``hwsim[torch]`` extra)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("optuna")

from hwsim.explore import digits  # noqa: E402


def test_the_cnn_as_an_hwsim_network_has_its_closed_form_macs() -> None:
    net = digits.network()
    macs = {layer.name: layer.macs for layer in net.layers()}
    assert macs == {"conv1": 16 * 1 * 9 * 64, "conv2": 32 * 16 * 9 * 64, "conv3": 32 * 32 * 9 * 16, "fc": 10 * 32 * 16}


def test_narrowing_equals_zeroing_the_dropped_channels() -> None:
    """Keeping k output channels of each conv (largest L2 norm) computes what the full model computes with the others'
    weights and biases zeroed (a zero channel after ReLU feeds nothing)."""
    torch.manual_seed(3)
    full = digits.DigitsCNN().double()
    keep = {"conv1": 8, "conv2": 24, "conv3": 16}
    narrow = digits._narrowed(full, keep)
    zeroed = digits.DigitsCNN().double()
    zeroed.load_state_dict(full.state_dict())
    with torch.no_grad():
        for name, k in keep.items():
            conv = getattr(zeroed, name)
            drop = torch.argsort(-conv.weight.flatten(1).norm(dim=1), stable=True)[k:]
            conv.weight[drop] = 0
            conv.bias[drop] = 0
        x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
        assert [getattr(narrow, n).out_channels for n in keep] == list(keep.values())
        assert torch.allclose(narrow(x), zeroed(x), rtol=0, atol=1e-12)


def test_a_small_demo_measures_every_feasible_trial_and_reproduces_its_winner(tmp_path: Path) -> None:
    f = digits.run_demo(tmp_path, budget=4, samples=50, population=4)
    assert f["trials"] == 4 and f["feasible"] >= 1 and f["measured_trials"] >= f["feasible"]
    assert f["feasible_all_measured"]
    assert f["float_model_accuracy"] > 0.95  # a small CNN on the digits: ~98% (scikit-learn's own examples reach 97%)
    r = f["reproduced"]
    assert r["accuracy_equal"] and r["edp_equal"] and r["accuracy_rebuilt_from_network_yaml"] == f["winner"]["accuracy"]
    assert (tmp_path / "search" / "winner" / "model.npz").is_file()


@pytest.mark.slow
def test_the_seeded_demo_search_is_reproducible(tmp_path: Path) -> None:
    """Two runs of the same seeded search (fresh processes) record the same trials, accuracies included."""
    a = digits.run_demo(tmp_path / "a", budget=16, samples=50, population=8)
    b = digits.run_demo(tmp_path / "b", budget=16, samples=50, population=8)
    ta, tb = (pd.read_csv(p / "search" / "trials.csv") for p in (tmp_path / "a", tmp_path / "b"))
    cols = [c for c in ta.columns if c.startswith("param.")] + ["accuracy", "edp_pj_s", "proxy", "feasible"]
    pd.testing.assert_frame_equal(ta[cols], tb[cols])
    assert a["winner"] == b["winner"] and a["reproduced"]["model_npz_sha256"] == b["reproduced"]["model_npz_sha256"]


def test_the_published_demo_figures_hold_together() -> None:
    """benchmarks/results/digits_cosearch.json (python benchmarks/digits_cosearch.py): every feasible trial measured, the
    winner reproduced from its files, its EDP no worse than the base design's and its accuracy within the search's figures."""
    from benchmarks.results_io import read_results

    f = read_results("digits_cosearch")["figures"]
    assert f["feasible_all_measured"] and f["reproduced"]["accuracy_equal"] and f["reproduced"]["edp_equal"]
    assert f["winner"]["edp_pj_s"] <= f["base_design"]["edp_pj_s"]
    assert f["distinct_measured_variants"] <= f["measured_trials"] <= f["trials"]
    assert json.dumps(f, allow_nan=False)
