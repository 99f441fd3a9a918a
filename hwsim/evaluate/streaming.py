"""Clip versus continual execution of a streaming network on one accelerator, per prediction.

A clip (window) network re-runs on the whole window for every prediction; its continual form runs
one step per new frame or token and keeps state between steps. :func:`clip_vs_continual` puts both
reports side by side: MACs, latency and energy per prediction, the state (bytes, how much of it is
on chip, its share of the energy), steady-state predictions per second and the first-output delay.
A continual network behind temporal strides predicts once every few steps (its last op's
``every_steps``): its figures per prediction are that many steps' worth.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from hwsim.core.errors import Problem, SpecError
from hwsim.evaluate import NetworkReport
from hwsim.frontend.presets import preset_name

__all__ = ["CLIP_OF", "clip_of", "clip_vs_continual"]

# continual preset → the clip (window) preset it streams
CLIP_OF: dict[str, str] = {
    "cox3d-s": "x3d-s",
    "cox3d-m": "x3d-m",
    "coslow-8x8": "slow-8x8",
    "cost-gcn": "st-gcn",
    "cooadtr-b1": "oadtr-b1",
    "cooadtr-b2": "oadtr-b2",
    "cost-gcn-strided": "st-gcn",
}


def clip_of(name: str, what: str = "--workload") -> str:
    """The clip preset a continual preset streams; a :class:`SpecError` naming the known pairs otherwise."""
    key = preset_name(name)
    if key not in CLIP_OF:
        pairs = ", ".join(f"{k} (clip {v})" for k, v in CLIP_OF.items())
        raise SpecError("command line", [Problem(what, name, f"expected a continual preset with a clip form: {pairs}")])
    return CLIP_OF[key]


def _row(mode: str, report: NetworkReport) -> dict[str, Any]:
    t = report.totals()
    state_pj = sum(r.energy_pj for r in report.reports if r.kind == "state")
    last = report.network.last
    k = report.network.every_steps(last) if mode == "continual" and last is not None else 1  # steps per prediction
    return {
        "mode": mode,
        "network": report.network.name,
        "steps_per_prediction": k,
        "macs": report.macs * k,
        "latency_s": report.latency_s * k,
        "energy_pj": report.energy_pj * k,
        "edp_pj_s": report.energy_pj * k * report.latency_s * k,
        "state_bytes": t.get("state_bytes", 0.0),
        "state_onchip_bytes": t.get("state_onchip_bytes", 0.0),
        "state_energy_share": state_pj / report.energy_pj if report.energy_pj else 0.0,
        "predictions_per_s": 1 / (report.latency_s * k) if report.latency_s else 0.0,
        "first_output_delay_s": t.get("first_output_delay_s", report.latency_s),
    }


def clip_vs_continual(clip: NetworkReport, step: NetworkReport) -> pd.DataFrame:
    """Two rows (clip, continual) of per-prediction figures, and a third with the clip/continual ratios."""
    rows = [_row("clip", clip), _row("continual", step)]
    ratio: dict[str, Any] = {"mode": "clip/continual", "network": ""}
    for key in ("macs", "latency_s", "energy_pj", "edp_pj_s"):
        ratio[key] = rows[0][key] / rows[1][key] if rows[1][key] else float("nan")
    return pd.DataFrame([*rows, ratio])
