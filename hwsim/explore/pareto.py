"""Pareto fronts and hypervolume of a design-space sweep or search table, and the words it is shown in.

Every objective is minimized. Nothing here draws (:mod:`hwsim.plots` does, from these): table
columns become words with units and the factor to them (:data:`COLUMN_LABELS`), settings become
the text a reader writes (:func:`setting_text`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["COLUMN_LABELS", "ENERGY_UNITS", "axis_label", "energy_parts", "hypervolume", "pareto_mask", "point_labels", "setting_text"]


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (n × k, minimized) that no other row dominates; duplicates all kept.

    A row dominates another when it is no worse in every column and better in one. NaN rows
    are never on the front.
    """
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v).any(axis=1) if len(v) else np.zeros(0, bool)
    others = v[ok]
    mask = ok.copy()
    for i in np.flatnonzero(ok):
        mask[i] = not ((others <= v[i]).all(axis=1) & (others < v[i]).any(axis=1)).any()
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


# Table columns as axis labels: (words, unit, scale from the column's unit to the shown one).
COLUMN_LABELS: dict[str, tuple[str, str, float]] = {
    "latency_s": ("latency", "ms", 1e3), "energy_pj": ("energy", "mJ", 1e-9), "edp_pj_s": ("energy-delay product", "pJ·s", 1.0),
    "area_mm2": ("area", "mm²", 1.0), "cycles": ("cycles", "", 1.0), "power_mw": ("power", "mW", 1.0),
    "proxy": ("accuracy proxy (lower is better)", "", 1.0), "utilization": ("utilization", "%", 100.0),
    "macs": ("MACs", "", 1.0), "onchip_kib": ("on-chip storage", "KiB", 1.0), "pes": ("PEs", "", 1.0),
    "num_macs": ("MAC units", "", 1.0), "onchip_bytes": ("on-chip storage", "KiB", 1 / 1024),
}  # fmt: skip
ENERGY_UNITS = (("mJ", 1e-9), ("µJ", 1e-6), ("nJ", 1e-3), ("pJ", 1.0))  # the unit a figure of energies is shown in: the largest that shows them ≥ 1


def axis_label(column: str) -> tuple[str, float]:
    """An axis label in words with its unit, and the factor that converts the column's values to that unit."""
    words, unit, scale = COLUMN_LABELS.get(column, (column.replace("_", " "), "", 1.0))
    return (f"{words} ({unit})" if unit else words), scale


def _value_text(v: Any) -> str:
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)


def setting_text(path: str, value: Any) -> str:
    """``array.rows`` 8 → ``rows=8``; ``levels.GLB.size_kib`` 64 → ``GLB 64 KiB``; ``dataflow`` ws → ``dataflow=ws``."""
    parts = path.split(".")
    v = _value_text(value)
    low = [p.lower() for p in parts]
    if len(parts) == 2 and low[0] == "array":
        return f"{parts[1]}={v}"
    if len(parts) == 3 and low[0] == "levels":
        unit = {"size_kib": "KiB", "size_mib": "MiB", "size_bytes": "B"}.get(low[2])
        if unit:
            return f"{parts[1]} {v} {unit}"
        if low[2] == "bandwidth_bytes_per_s" and isinstance(value, int | float):
            return f"{parts[1]} {value / 1e9:g} GB/s"
        return f"{parts[1]}.{parts[2]}={v}"
    if len(parts) == 4 and low[:2] == ["pe_array", "axes"]:
        return f"{parts[2]}.{parts[3]}={v}"
    return f"{path}={v}"


def point_labels(frame: pd.DataFrame, settings: Sequence[str]) -> tuple[list[str], str]:
    """One label per row naming the settings that vary among the rows (``rows=8, GLB 64 KiB``), and the text of
    those that do not (``dataflow=rs``), for a caption."""
    varying = [k for k in settings if frame[k].astype(str).nunique() > 1]
    fixed = [k for k in settings if k not in varying]
    labels = [", ".join(setting_text(k, row[k]) for k in varying) or "the one design" for _, row in frame.iterrows()]
    common = ", ".join(setting_text(k, frame[k].iloc[0]) for k in fixed) if len(frame) else ""
    return labels, common


def energy_parts(frame: pd.DataFrame) -> list[str]:
    """The columns that split ``energy_pj``: ``energy_<level>_pj`` per storage level, ``energy_mac_pj``,
    ``energy_leakage_pj`` (never the total ``energy_pj`` itself)."""
    return [c for c in frame.columns if re.fullmatch(r"energy_(.+)_pj", str(c))]
