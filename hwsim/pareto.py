"""Pareto fronts, hypervolume, and the plots of a design-space sweep or search.

Every objective is minimized. matplotlib is imported lazily, only by the plotting functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["hypervolume", "pareto_mask", "plot_energy_breakdown", "plot_pareto", "plot_roofline"]


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (n × k, minimized) that no other row dominates; duplicates all kept.

    A row dominates another when it is no worse in every column and better in one. NaN rows
    are never on the front.
    """
    v = np.asarray(values, dtype=float)
    n = len(v)
    ok = ~np.isnan(v).any(axis=1) if n else np.zeros(0, bool)
    mask = ok.copy()
    for i in np.flatnonzero(ok):
        if not mask[i]:
            continue
        others = v[ok]
        dominated = (others <= v[i]).all(axis=1) & (others < v[i]).any(axis=1)
        if dominated.any():
            mask[i] = False
    return mask


def hypervolume(values: np.ndarray, reference: Sequence[float]) -> float:
    """The volume dominated by ``values`` (minimized) and bounded by ``reference`` (exact, by slicing)."""
    v = np.asarray(values, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if len(v) == 0:
        return 0.0
    v = v[(v < ref).all(axis=1) & ~np.isnan(v).any(axis=1)]
    if len(v) == 0:
        return 0.0
    v = np.unique(v[pareto_mask(v)], axis=0)
    return _hv(v, ref)


def _hv(v: np.ndarray, ref: np.ndarray) -> float:
    if v.shape[1] == 1:
        return float(ref[0] - v[:, 0].min())
    if v.shape[1] == 2:
        p = v[np.argsort(v[:, 0])]
        total, best_y = 0.0, ref[1]
        for x, y in p:
            if y < best_y:
                total += (ref[0] - x) * (best_y - y)
                best_y = y
        return float(total)
    # Slice along the last objective: between consecutive levels, the points at or below it.
    order = np.argsort(v[:, -1])
    v = v[order]
    total = 0.0
    for i in range(len(v)):
        top = v[i + 1, -1] if i + 1 < len(v) else ref[-1]
        depth = top - v[i, -1]
        if depth > 0:
            below = v[: i + 1, :-1]
            total += depth * _hv(below[pareto_mask(below)], ref[:-1])
    return float(total)


def _pyplot() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg") and not _interactive():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _interactive() -> bool:
    import sys

    return hasattr(sys, "ps1")


def plot_pareto(frame: pd.DataFrame, path: str | Path, x: str = "latency_s", y: str = "energy_pj", color: str = "area_mm2",
                front: str = "pareto", title: str = "") -> None:  # fmt: skip
    """A scatter of every design point (``x`` against ``y``, coloured by ``color``), front highlighted."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    sc = ax.scatter(frame[x], frame[y], c=frame[color] if color in frame else None, s=12, alpha=0.6, cmap="viridis", label="design points")
    if color in frame:
        fig.colorbar(sc, ax=ax, label=color)
    if front in frame:
        f = frame[frame[front].astype(bool)].sort_values(x)
        ax.scatter(f[x], f[y], s=40, facecolors="none", edgecolors="red", label=f"Pareto front ({len(f)})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"{len(frame)} design points")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_energy_breakdown(frame: pd.DataFrame, path: str | Path, label: str = "point", limit: int = 20) -> None:
    """Stacked bars of energy per storage level, MAC and leakage (columns ``energy_<part>_pj``) for up to ``limit`` rows."""
    plt = _pyplot()
    parts = [c for c in frame.columns if c.startswith("energy_") and c.endswith("_pj")]
    rows = frame.head(limit)
    fig, ax = plt.subplots(figsize=(max(6.4, 0.45 * len(rows) + 2), 4.8))
    bottom = np.zeros(len(rows))
    for c in parts:
        vals = rows[c].to_numpy(dtype=float) / 1e6
        ax.bar(range(len(rows)), vals, bottom=bottom, label=c[len("energy_"):-len("_pj")])
        bottom += vals
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([str(v) for v in rows[label]], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("energy (µJ)")
    ax.set_title("energy by level")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_roofline(layers: pd.DataFrame, path: str | Path, peak_macs_per_cycle: float, dram_bytes_per_cycle: float | None,
                  title: str = "") -> None:  # fmt: skip
    """A per-layer roofline: MACs per DRAM byte against achieved MACs per cycle (columns
    ``name``, ``macs``, ``cycles``, ``dram_bytes``), under the compute and DRAM-bandwidth roofs."""
    plt = _pyplot()
    lay = layers[layers["macs"] > 0]
    intensity = lay["macs"] / lay["dram_bytes"].clip(lower=1e-9)
    achieved = lay["macs"] / lay["cycles"]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.scatter(intensity, achieved, s=18, label="layers")
    xs = np.logspace(np.log10(max(intensity.min(), 1e-3) / 2), np.log10(intensity.max() * 2), 100) if len(lay) else np.array([1.0, 10.0])
    roof = np.full_like(xs, peak_macs_per_cycle)
    if dram_bytes_per_cycle:
        roof = np.minimum(roof, xs * dram_bytes_per_cycle)
    ax.plot(xs, roof, color="black", lw=1, label="roof")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MACs per DRAM byte")
    ax.set_ylabel("MACs per cycle")
    ax.set_title(title or "roofline per layer")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
