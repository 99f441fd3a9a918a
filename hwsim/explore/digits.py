"""The shipped measured-accuracy demo: a small CNN on scikit-learn's handwritten digits (``sklearn.datasets.load_digits``:
1,797 8×8 images, no download), trained in seconds, whose accuracy the co-search measures for every feasible trial
(``pip install hwsim[torch]`` and scikit-learn).

``hwsim search --workload digits.yaml --accuracy hwsim.explore.digits:accuracy --prune ...``, with ``digits.yaml`` the
network :func:`write_workload` writes (the CNN through hwsim's torch.fx importer: layers ``conv1``, ``conv2`` at 8×8,
``conv3`` at 4×4, ``fc``). Everything is seeded: the split (:data:`SEED`), the training and each trial's fine-tuning, on
one torch thread, so a variant's accuracy is a function of the variant alone.

What a trial measures (:func:`accuracy`), in this order:

1. **widths**: each conv keeps the output channels of largest L2 norm the variant's channel count asks for (the proxy's
   rule), and the next layer the matching input channels (the classifier's flattened features included);
2. **quantization and pruning**: :func:`hwsim.explore.torch_compression.compress` at the variant's plan (weights per
   output channel, magnitude or N:M masks; inputs per tensor, ranges calibrated on the training split);
3. **fine-tuning**: :data:`FINETUNE_EPOCHS` epochs of Adam through the fake quantizers (straight-through; the masks
   fixed) on the training split — so a trial measures a quantization- and pruning-aware fine-tuned network, not just
   the rounded one;
4. **accuracy**: top-1 on the held-out split (:data:`TEST_SIZE` images no training step sees).

:func:`rebuild` returns the trial's fine-tuned, compressed model; :func:`save`/:func:`load` write it as numpy arrays
(float weights, masks, calibrated ranges) and read it back, and :func:`evaluate` of the loaded model reproduces the
accuracy exactly.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hwsim.core.workload import Network
from hwsim.explore.accuracy import Variant
from hwsim.explore.torch_compression import compress, mac_modules, masks_of

__all__ = ["FINETUNE_EPOCHS", "SEED", "TEST_SIZE", "DigitsCNN", "accuracy", "base_model", "data", "evaluate", "load", "network",
           "post_training_accuracy", "rebuild", "run_demo", "save", "write_workload"]  # fmt: skip

SEED = 0
TEST_SIZE = 597  # held out of 1,797: a third
TRAIN_EPOCHS = 40
FINETUNE_EPOCHS = 2
BATCH = 64
LR = 3e-3
FINETUNE_LR = 1e-3


class DigitsCNN(nn.Module):
    """conv1 (1→c1, 3×3) · ReLU · conv2 (c1→c2) · ReLU · 2×2 max-pool · conv3 (c2→c3) · ReLU · fc (c3·16 → 10)."""

    def __init__(self, c1: int = 16, c2: int = 32, c3: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.fc = nn.Linear(c3 * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        x = torch.relu(self.conv3(self.pool(x)))
        return self.fc(torch.flatten(x, 1))


@dataclass(frozen=True)
class Split:
    """The seeded split: images (N, 1, 8, 8) scaled to [0, 1] and labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


_CACHE: dict[str, Any] = {}


def data() -> Split:
    """``load_digits`` split by a seeded permutation: :data:`TEST_SIZE` held out, the rest for training."""
    if "data" not in _CACHE:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
        y = torch.tensor(digits.target, dtype=torch.long)
        order = torch.from_numpy(np.random.default_rng(SEED).permutation(len(y)))
        test, train = order[:TEST_SIZE], order[TEST_SIZE:]
        _CACHE["data"] = Split(x[train], y[train], x[test], y[test])
    split: Split = _CACHE["data"]
    return split


def _epochs(model: nn.Module, split: Split, epochs: int, lr: float, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    n = len(split.y_train)
    for _ in range(epochs):
        for idx in torch.randperm(n, generator=gen).split(BATCH):
            opt.zero_grad()
            nn.functional.cross_entropy(model(split.x_train[idx]), split.y_train[idx]).backward()
            opt.step()
    model.eval()


def base_model() -> DigitsCNN:
    """The trained full-width float CNN (seeded; trained once per process, a few seconds)."""
    if "model" not in _CACHE:
        torch.set_num_threads(1)
        torch.manual_seed(SEED)
        model = DigitsCNN()
        _epochs(model, data(), TRAIN_EPOCHS, LR, SEED)
        _CACHE["model"] = model
    model_: DigitsCNN = _CACHE["model"]
    return model_


def network(model: nn.Module | None = None) -> Network:
    """The CNN as an hwsim network (torch.fx import; layer names are the module names)."""
    from hwsim.frontend.importers.torch_fx import torch_network

    return torch_network(model if model is not None else DigitsCNN(), torch.zeros(1, 1, 8, 8), name="digits-cnn")


def write_workload(path: str | Path) -> Path:
    """The CNN as an hwsim workload file (``hwsim search --workload`` takes it)."""
    import yaml

    from hwsim.frontend.network_io import network_to_dict

    path = Path(path)
    path.write_text("# The digits CNN (hwsim.explore.digits) as an hwsim workload\n" + yaml.safe_dump(network_to_dict(network()), sort_keys=False))
    return path


def _narrowed(model: DigitsCNN, channels: dict[str, int]) -> DigitsCNN:
    """A copy keeping each conv's ``channels[name]`` output channels of largest L2 norm (and the matching inputs)."""
    convs = ("conv1", "conv2", "conv3")
    keep: dict[str, torch.Tensor] = {}
    for name in convs:
        w = getattr(model, name).weight.detach()
        k = min(channels.get(name, w.shape[0]), w.shape[0])
        norms = w.flatten(1).norm(dim=1)
        keep[name] = torch.sort(torch.argsort(-norms, stable=True)[:k]).values
    out = DigitsCNN(*(len(keep[n]) for n in convs)).to(model.fc.weight.dtype)
    prev = torch.arange(1)
    with torch.no_grad():
        for name in convs:
            src, dst = getattr(model, name), getattr(out, name)
            dst.weight.copy_(src.weight[keep[name]][:, prev])
            dst.bias.copy_(src.bias[keep[name]])
            prev = keep[name]
        cols = (prev.view(-1, 1) * 16 + torch.arange(16).view(1, -1)).reshape(-1)  # flatten: channel-major, 4×4 each
        out.fc.weight.copy_(model.fc.weight[:, cols])
        out.fc.bias.copy_(model.fc.bias)
    return out


def rebuild(variant: Variant, finetune_epochs: int = FINETUNE_EPOCHS) -> nn.Module:
    """The variant's model: narrowed, compressed at its plan (ranges calibrated on the training split), fine-tuned
    (``finetune_epochs=0``: as compressed, post-training)."""
    torch.set_num_threads(1)
    split = data()
    narrow = _narrowed(base_model(), {name: new for name, (_, new) in variant.channels().items()})
    plan = {name: p for name, p in variant.plan().items() if name in mac_modules(narrow)}
    model = compress(narrow, plan, calibration=[split.x_train], source="hwsim.explore.digits")
    _epochs(model, split, finetune_epochs, FINETUNE_LR, SEED + 1)
    return model


def evaluate(model: nn.Module) -> float:
    """Top-1 accuracy on the held-out split."""
    split = data()
    model.eval()
    with torch.no_grad():
        return float((model(split.x_test).argmax(1) == split.y_test).float().mean())


def accuracy(variant: Variant) -> float:
    """The measured-accuracy function (``--accuracy hwsim.explore.digits:accuracy``): :func:`rebuild`, then :func:`evaluate`."""
    return evaluate(rebuild(variant))


def post_training_accuracy(variant: Variant) -> float:
    """The variant's accuracy without fine-tuning: narrowed, quantized and pruned, evaluated as it is."""
    return evaluate(rebuild(variant, finetune_epochs=0))


def save(model: nn.Module, path: str | Path) -> dict[str, str]:
    """Write a rebuilt model as an ``.npz`` of numpy arrays (state dict: float weights, masks, calibrated ranges); returns
    ``{"path", "sha256"}``."""
    path = Path(path)
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    np.savez(path, **arrays)
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def load(path: str | Path, variant: Variant) -> nn.Module:
    """A model :func:`save` wrote, rebuilt at the variant's shapes and plan (masks from the file), without training."""
    with np.load(path) as f:
        arrays = {k: torch.from_numpy(f[k]) for k in f.files}
    convs = ("conv1", "conv2", "conv3")
    narrow = DigitsCNN(*(int(arrays[f"{n}.parametrizations.weight.original"].shape[0]) for n in convs))
    plan = {name: p for name, p in variant.plan().items() if name in mac_modules(narrow)}
    masks = {name: arrays[f"{name}.parametrizations.weight.0.mask"].numpy().astype(bool) for name in plan}
    model = compress(narrow, plan, masks=masks, source=str(path))
    model.load_state_dict(arrays)
    return model


def _masks(model: nn.Module) -> dict[str, float]:
    """Each layer's kept share of weights (for reports)."""
    return {k: float(v.mean()) for k, v in masks_of(model).items()}


def run_demo(out: str | Path, budget: int = 100, seed: int = SEED, samples: int = 300, population: int = 16, arch: str = "eyeriss") -> dict[str, Any]:
    """The demo end to end: ``hwsim search`` (a fresh process, one worker: seeded and reproducible) over hardware, widths,
    bits and pruning with this module's :func:`accuracy`; then, in this process, the proxy's ranking against the
    measured one (Spearman over the distinct measured variants: the proxy as searched, and with the real weights), and
    the winner rerun from its files (``hwsim run`` on ``winner/``'s arch, network and mappings; its model rebuilt from
    ``winner/network.yaml``, saved to ``winner/model.npz``, loaded back and evaluated). Returns the figures."""
    import json
    import subprocess
    import sys
    import time

    import pandas as pd
    from scipy.stats import spearmanr

    from hwsim.explore.proxy import QuantPruneProxy
    from hwsim.frontend.presets import load_workload

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workload = write_workload(out / "digits.yaml")
    search = ["search", "--arch", arch, "--workload", str(workload), "--accuracy", "hwsim.explore.digits:accuracy", "--prune",
              "--budget", str(budget), "--seed", str(seed), "--samples", str(samples), "--population", str(population), "--workers", "1",
              "--out", str(out / "search"), "--format", "json"]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "hwsim", *search], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"hwsim search failed ({done.returncode}): {done.stderr}")
    summary = json.loads(done.stdout)
    trials = pd.read_csv(out / "search" / "trials.csv")
    measured = trials[trials["accuracy"].notna()]
    base_net = network()
    weights = {n: getattr(base_model(), n).weight.detach().numpy() for n in mac_modules(base_model())}
    real = QuantPruneProxy(weights)
    # one row per distinct variant (trials differing only in hardware measure the same network)
    params = [c for c in trials.columns if c.startswith("param.") and c.split(".")[1] in ("width", "wbits", "abits", "wsparsity")]
    distinct = measured.drop_duplicates(subset=params).copy()
    from hwsim.explore.search import Context, SearchSpace, network_variant, params_of  # the variant as the search built it

    def variant_of(row: pd.Series) -> Network:
        space = SearchSpace({}, bits_per="stage")
        ctx = Context({}, base_net, space, ("edp",), None, real)  # type: ignore[arg-type]
        return network_variant(ctx, params_of(row))

    variants = [variant_of(r) for _, r in distinct.iterrows()]
    distinct["proxy_real_weights"] = [real.estimate(base_net, v)["proxy"] for v in variants]
    distinct["post_training_loss"] = [1.0 - post_training_accuracy(Variant(v, base_net)) for v in variants]
    rho_pt, p_pt = spearmanr(distinct["proxy"], distinct["post_training_loss"])
    rho_ft, p_ft = spearmanr(distinct["post_training_loss"], distinct["accuracy_loss"])
    rho, p = spearmanr(distinct["proxy"], distinct["accuracy_loss"])
    rho_w, p_w = spearmanr(distinct["proxy_real_weights"], distinct["accuracy_loss"])
    win = summary["winner"]
    best = trials.loc[trials["trial"] == win["trial"]].iloc[0]
    base = trials.loc[trials["trial"] == 0].iloc[0]
    # the winner from its files
    wdir = out / "search" / "winner"
    t1 = time.perf_counter()
    win_net = load_workload(str(wdir / "network.yaml"))
    variant = Variant(win_net, base_net)
    model = rebuild(variant)
    rebuilt = evaluate(model)
    rebuild_seconds = time.perf_counter() - t1
    saved = save(model, wdir / "model.npz")
    loaded = evaluate(load(wdir / "model.npz", variant))
    run = subprocess.run([sys.executable, "-m", "hwsim", "run", "--arch", str(wdir / "arch.yaml"), "--workload", str(wdir / "network.yaml"),
                          "--mappings", str(wdir / "mappings.yaml"), "--format", "json"], capture_output=True, text=True, check=False)  # fmt: skip
    if run.returncode:
        raise RuntimeError(f"hwsim run on the winner failed: {run.stderr}")
    rerun_edp = json.loads(run.stdout)["total"]["edp_pj_s"]
    choices = {k[len("param."):]: (v.item() if hasattr(v, "item") else v) for k, v in best.items() if str(k).startswith("param.") and pd.notna(v)}
    return {
        "search_command": "hwsim " + " ".join(a if not a.startswith(str(out)) else a.replace(str(out), "OUT") for a in search),
        "arch": arch, "budget": budget, "seed": seed, "trials": summary["trials"], "feasible": summary["feasible"],
        "measured_trials": len(measured), "distinct_measured_variants": len(distinct),
        "feasible_all_measured": bool(trials.loc[trials["feasible"], "accuracy"].notna().all()),
        "search_seconds": seconds, "limits": summary["limits"],
        "accuracy_method": f"narrowed by channel norm, fake-quantized and pruned (hwsim.explore.torch_compression), fine-tuned "
                           f"{FINETUNE_EPOCHS} epochs, top-1 on {TEST_SIZE} held-out images",
        "float_model_accuracy": evaluate(base_model()),
        "base_design": {"trial": 0, "accuracy": float(base["accuracy"]), "edp_pj_s": float(base["edp_pj_s"]), "proxy": float(base["proxy"])},
        "winner": {"trial": int(win["trial"]), "accuracy": float(best["accuracy"]), "edp_pj_s": float(best["edp_pj_s"]),
                   "area_mm2": float(best["area_mm2"]), "proxy": float(best["proxy"]), "choices": choices,
                   "edp_ratio_vs_base_design": float(base["edp_pj_s"]) / float(best["edp_pj_s"]),
                   "kept_weights": _masks(model)},
        "spearman_proxy_vs_measured_loss": {"rho": float(rho), "p_value": float(p), "n": len(distinct)},
        "spearman_real_weight_proxy_vs_measured_loss": {"rho": float(rho_w), "p_value": float(p_w), "n": len(distinct)},
        "spearman_proxy_vs_post_training_loss": {"rho": float(rho_pt), "p_value": float(p_pt), "n": len(distinct)},
        "spearman_post_training_vs_fine_tuned_loss": {"rho": float(rho_ft), "p_value": float(p_ft), "n": len(distinct)},
        "measured_accuracy_range": [float(distinct["accuracy"].min()), float(distinct["accuracy"].max())],
        "post_training_accuracy_range": [float(1 - distinct["post_training_loss"].max()), float(1 - distinct["post_training_loss"].min())],
        # one measurement's binomial standard error at the base design's accuracy on the held-out split
        "accuracy_standard_error": math.sqrt(float(base["accuracy"]) * (1 - float(base["accuracy"])) / TEST_SIZE),
        "pareto_front": [{"trial": int(r["trial"]), "edp_pj_s": float(r["edp_pj_s"]), "accuracy": float(r["accuracy"])}
                         for _, r in trials[trials["pareto"]].sort_values("edp_pj_s").iterrows()],
        "reproduced": {"accuracy_rebuilt_from_network_yaml": rebuilt, "accuracy_loaded_from_model_npz": loaded,
                       "model_npz_sha256": saved["sha256"], "rebuild_seconds": rebuild_seconds,
                       "edp_pj_s_hwsim_run": rerun_edp,
                       "accuracy_equal": rebuilt == float(best["accuracy"]) == loaded,
                       "edp_equal": math.isclose(rerun_edp, float(best["edp_pj_s"]), rel_tol=1e-9)},
    }
