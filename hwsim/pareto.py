"""Pareto fronts, hypervolume, and the figures of a design-space sweep or search table.

Every objective is minimized. matplotlib is imported lazily, only by the plotting functions, and
figures are made without pyplot (no global state, no display needed). Axes are words with units,
values converted to them (:data:`COLUMN_LABELS`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["COLUMN_LABELS", "axis_label", "energy_parts", "hypervolume", "pareto_mask", "plot_energy_breakdown", "plot_pareto",
           "point_labels", "save_figure", "setting_text"]  # fmt: skip


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


# Table columns as axis labels: (words, unit, scale from the column's unit to the shown one).
COLUMN_LABELS: dict[str, tuple[str, str, float]] = {
    "latency_s": ("latency", "ms", 1e3), "energy_pj": ("energy", "mJ", 1e-9), "edp_pj_s": ("energy-delay product", "pJ·s", 1.0),
    "area_mm2": ("area", "mm²", 1.0), "cycles": ("cycles", "", 1.0), "power_mw": ("power", "mW", 1.0),
    "proxy": ("accuracy proxy (lower is better)", "", 1.0), "utilization": ("utilization", "%", 100.0),
    "macs": ("MACs", "", 1.0), "onchip_kib": ("on-chip storage", "KiB", 1.0), "pes": ("PEs", "", 1.0),
    "num_macs": ("MAC units", "", 1.0), "onchip_bytes": ("on-chip storage", "KiB", 1 / 1024),
}  # fmt: skip
_ENERGY_UNITS = (("mJ", 1e-9), ("µJ", 1e-6), ("nJ", 1e-3), ("pJ", 1.0))


def axis_label(column: str) -> tuple[str, float]:
    """An axis label in words with its unit, and the factor that converts the column's values to that unit."""
    words, unit, scale = COLUMN_LABELS.get(column, (column.replace("_", " "), "", 1.0))
    return (f"{words} ({unit})" if unit else words), scale


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> None:
    """Write ``fig`` (its format from the suffix) atomically, keeping everything drawn (long labels, outside legends)."""
    import io

    from hwsim.io import write_bytes_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix[1:].lower() or "png", dpi=dpi, bbox_inches="tight", pad_inches=0.1)
    write_bytes_atomic(path, buf.getvalue())


def _figure(figsize: tuple[float, float]) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots()


def _scale_axis(axis: Any, which: str, values: np.ndarray) -> None:
    """Log scale when the values span more than a decade and a half, else linear with plain numbers (no 1.04×10⁷ ticks)."""
    v = values[np.isfinite(values) & (values > 0)]
    if len(v) and v.max() / v.min() > 30:
        getattr(axis, f"set_{which}scale")("log")
    else:
        getattr(axis, f"get_{which}axis")().get_major_formatter().set_useOffset(False)


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


def plot_energy_breakdown(frame: pd.DataFrame, path: str | Path | None = None, settings: Sequence[str] = (), limit: int = 20,
                          title: str = "", numbered: bool = False) -> Figure:  # fmt: skip
    """Stacked bars of each row's energy by part (:func:`energy_parts`), one bar per row (the first ``limit``),
    labelled by the ``settings`` that vary (``numbered``: ``1: rows=8, GLB 64 KiB``...). Each bar's height is its
    row's ``energy_pj``: a frame whose parts do not add up to it is refused (ValueError), never drawn. Written to
    ``path`` when given; the figure is returned."""
    parts = energy_parts(frame)
    rows = frame.head(limit)
    stack = rows[parts].to_numpy(dtype=float) if parts else np.zeros((len(rows), 0))
    if "energy_pj" in rows and len(rows):
        total = rows["energy_pj"].to_numpy(dtype=float)
        if not np.allclose(stack.sum(axis=1), total, rtol=1e-9, atol=0.0):
            raise ValueError(f"energy parts {parts} do not add up to energy_pj: {stack.sum(axis=1)} vs {total}")
    top = float(stack.sum(axis=1).max()) if len(rows) else 0.0
    unit, scale = next(((u, f) for u, f in _ENERGY_UNITS if top * f >= 1), _ENERGY_UNITS[-1])
    labels, common = point_labels(rows, settings) if settings else ([""] * len(rows), "")
    if numbered or not settings:
        labels = [f"{i + 1}: {t}" if t else str(i + 1) for i, t in enumerate(labels)]
    widest = max((len(t) for t in labels), default=1)
    fig, ax = _figure((max(6.4, 0.5 * len(rows) + 3.5), 4.8 + 0.04 * widest))
    import matplotlib

    colors = matplotlib.colormaps["tab20"].colors  # type: ignore[attr-defined]
    bottom = np.zeros(len(rows))
    xs = np.arange(len(rows))
    for i, c in enumerate(parts):
        vals = stack[:, i] * scale
        name = c[len("energy_") : -len("_pj")]
        ax.bar(xs, vals, bottom=bottom, width=0.7, label={"mac": "MACs"}.get(name, name), color=colors[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20])
        bottom += vals
    ax.set_xticks(xs, labels, rotation=35, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylabel(f"energy of one inference ({unit})")
    shown = f"first {len(rows)} of {len(frame)}" if len(frame) > len(rows) else f"{len(rows)}"
    ax.set_xlabel(f"design point ({shown})" + (f"; all with {common}" if common else ""))
    ax.set_title(title or "energy by storage level, MACs and leakage", fontsize=10)
    ax.legend(title="energy part", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_pareto(frame: pd.DataFrame, path: str | Path | None = None, x: str = "latency_s", y: str = "energy_pj", color: str = "area_mm2",
                front: str = "pareto", title: str = "", objectives: Sequence[str] | None = None, label: str | None = None,
                annotate: int = 40) -> Figure:  # fmt: skip
    """A scatter of every design point (``x`` against ``y`` in words and units, coloured by ``color``), the rows of the
    boolean column ``front`` ringed. ``objectives`` are the columns that front is Pareto-optimal in (the title says so;
    a front in more objectives than the two axes has points that look dominated here: they win in another). With
    ``label`` (a column), front points are named when there are at most ``annotate`` of them. Written to ``path``
    when given; the figure is returned."""
    (x_label, xs), (y_label, ys) = axis_label(x), axis_label(y)
    fig, ax = _figure((7.2, 5.0))
    xv, yv = frame[x].to_numpy(dtype=float) * xs, frame[y].to_numpy(dtype=float) * ys
    has_color = color in frame and len(frame)
    if has_color:
        c_label, cs = axis_label(color)
        sc = ax.scatter(xv, yv, c=frame[color].to_numpy(dtype=float) * cs, s=16, alpha=0.8, cmap="viridis", label="design points", zorder=2)
        fig.colorbar(sc, ax=ax, label=c_label)
    else:
        ax.scatter(xv, yv, s=16, color="tab:gray", label="design points", zorder=2)
    on = frame[front].astype(bool).to_numpy() if front in frame else np.zeros(len(frame), bool)
    words = [axis_label(o)[0].split(" (")[0] for o in (objectives or (x, y))]
    ax.scatter(xv[on], yv[on], s=70, facecolors="none", edgecolors="red", linewidths=1.4, zorder=3,
               label=f"Pareto front: lowest {', '.join(words[:-1])} and {words[-1]} ({int(on.sum())})" if len(words) > 1
               else f"lowest {words[0]} ({int(on.sum())})")  # fmt: skip
    if label is not None and label in frame and 0 < on.sum() <= annotate:
        for px, py, text in zip(xv[on], yv[on], frame[label].to_numpy()[on], strict=True):
            ax.annotate(str(text), (px, py), fontsize=7, xytext=(5, 4), textcoords="offset points", zorder=4)
    _scale_axis(ax, "x", xv)
    _scale_axis(ax, "y", yv)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    head = title or f"{len(frame)} design points"
    caption = f"Pareto front in {', '.join(words)} (ringed)"
    extra = [w for w, o in zip(words, objectives or (x, y), strict=True) if o not in (x, y)]
    if extra:
        caption += f": ringed points that look dominated here have a lower {' or '.join(extra)}"
    ax.set_title(f"{head}\n{caption}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=2, frameon=False)
    if path is not None:
        save_figure(fig, path)
    return fig
