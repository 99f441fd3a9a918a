"""The figures users reach for, drawn from reports: per-layer bars, energy breakdown, roofline, PE heat map, Pareto fronts.

Every function takes report objects (and optionally a matplotlib ``Axes`` to draw into) and
returns the :class:`matplotlib.figure.Figure`; :func:`save_figure` writes one atomically.
Figures are made without pyplot (no global state, no display needed), and matplotlib is
imported only when a function here is called. In a notebook, a returned figure displays
itself as the cell's value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hwsim.core.arch import Architecture
from hwsim.core.io import write_bytes_atomic
from hwsim.core.mapping import Mapping, loop_strides
from hwsim.core.workload import Layer
from hwsim.cost.analytical import CostReport
from hwsim.evaluate import NetworkReport
from hwsim.explore.pareto import ENERGY_UNITS, axis_label, energy_parts, pareto_mask, point_labels
from hwsim.explore.sweep import dram_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "pe_utilization",
    "plot_clip_vs_continual",
    "plot_energy_breakdown",
    "plot_layers",
    "plot_pareto",
    "plot_pe_utilization",
    "plot_roofline",
    "save_figure",
]

OPERAND_COLORS = {"weights": "tab:blue", "inputs": "tab:orange", "outputs": "tab:green", "non-MAC ops": "tab:gray"}
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")  # the file types save_figure writes


def _figure(ax: Axes | None, figsize: tuple[float, float], rows: int = 1) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, [ax]  # type: ignore[return-value]
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def save_figure(fig: Figure, path: str | Path, dpi: int = 120) -> None:
    """Write ``fig`` to ``path`` (.png, .svg or .pdf, from the suffix) atomically, keeping everything drawn (long labels,
    outside legends); a :class:`ValueError` for another suffix."""
    import io

    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise ValueError(f"figure path must end in {', '.join(FIGURE_SUFFIXES)}, not {str(path)!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format=suffix[1:], dpi=dpi, bbox_inches="tight", pad_inches=0.1)
    write_bytes_atomic(path, buf.getvalue())


def _saved(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


def _stacked_bars(axis: Axes, stacks: dict[str, np.ndarray], colors: dict[str, Any], scale: float = 1.0) -> np.ndarray:
    """One stacked bar per position: ``stacks`` maps a part's legend label to its value at every position (bottom part
    first). Returns the bars' heights."""
    bottom = np.zeros(len(next(iter(stacks.values()))) if stacks else 0)
    for part, vals in stacks.items():
        if vals.any():
            axis.bar(np.arange(len(vals)), vals * scale, bottom=bottom, width=0.7, label=part, color=colors[part])
            bottom = bottom + vals * scale
    return bottom


def _part_colors(parts: Sequence[str]) -> dict[str, Any]:
    """A colour per energy part: tab20's dark shades first, then its light ones."""
    import matplotlib

    palette = matplotlib.colormaps["tab20"].colors  # type: ignore[attr-defined]
    return {p: palette[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20] for i, p in enumerate(parts)}


def _tick_labels(ax: Axes, names: Sequence[str], max_labels: int = 60) -> None:
    step = max(1, math.ceil(len(names) / max_labels))
    ax.set_xticks(range(0, len(names), step), [names[i] for i in range(0, len(names), step)], rotation=90, fontsize=6)


def plot_layers(report: NetworkReport, *, ax: Axes | None = None) -> Figure:
    """Per layer (and non-MAC op), in network order: latency in ms, coloured by what bounds it,
    and energy in µJ stacked by storage level, MACs and leakage. With ``ax``, only the energy panel."""
    fig, axes = _figure(ax, (max(8.0, 0.14 * len(report.reports) + 3), 6.5), rows=2)
    names = [r.layer for r in report.reports]
    xs = np.arange(len(names))
    if ax is None:
        lat = axes[0]
        bounds = [r.bound_by for r in report.reports]
        kinds = list(dict.fromkeys(bounds))
        palette = ["tab:red", "tab:orange", "tab:olive", "tab:brown", "tab:pink"]
        cmap = {k: "tab:blue" if k == "compute" else palette[i % len(palette)] for i, k in enumerate(kinds)}
        lat.bar(xs, [r.latency_s * 1e3 for r in report.reports], color=[cmap[b] for b in bounds], width=0.8)
        from matplotlib.patches import Patch

        lat.legend(handles=[Patch(color=cmap[k], label=f"bound by {k}") for k in kinds], fontsize=7, loc="upper left",
                   bbox_to_anchor=(1.0, 1.0))  # fmt: skip
        lat.set_ylabel("latency (ms)")
        tot = report.totals()
        lat.set_title(f"{report.network.name} on {report.arch.name}: {tot['latency_s'] * 1e3:.3f} ms, "
                      f"{tot['energy_pj'] / 1e6:,.1f} µJ, {tot['utilization']:.0%} utilization", fontsize=10)  # fmt: skip
    en = axes[-1]
    parts = [lv.name for lv in report.arch.levels]
    stacks = {p: np.array([r.level_energy_pj.get(p, 0.0) for r in report.reports]) / 1e6 for p in parts}
    stacks["MAC"] = np.array([r.mac_energy_pj for r in report.reports]) / 1e6
    stacks["leakage"] = np.array([r.leakage_energy_pj for r in report.reports]) / 1e6
    bottom = np.zeros(len(names))
    colors = _part_colors(list(stacks))
    for part, vals in stacks.items():
        en.bar(xs, vals, bottom=bottom, label=part, color=colors[part], width=0.8)
        bottom += vals
    en.set_ylabel("energy (µJ)")
    en.set_xlabel("layer, in network order")
    en.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _tick_labels(en, names)
    en.set_xlim(-0.6, len(names) - 0.4)
    return fig


def _reports(report: NetworkReport | CostReport | Sequence[CostReport]) -> list[CostReport]:
    if isinstance(report, NetworkReport):
        return list(report.reports)
    if isinstance(report, CostReport):
        return [report]
    return list(report)


def energy_by_level_and_operand(report: NetworkReport | CostReport | Sequence[CostReport]) -> dict[str, dict[str, float]]:
    """pJ by storage level then operand (``non-MAC ops`` for pooling/adds/norms), plus ``MAC`` and ``leakage`` entries."""
    out: dict[str, dict[str, float]] = {}

    def add(group: str, part: str, e: float) -> None:
        parts = out.setdefault(group, {})
        parts[part] = parts.get(part, 0.0) + e

    for r in _reports(report):
        for (lv, op), e in r.access_energy_pj.items():
            add(lv, op, e)
        if not r.access_energy_pj:  # a non-MAC op: its traffic is only per level
            for lv, e in r.level_energy_pj.items():
                if e:
                    add(lv, "non-MAC ops", e)
        add("MAC", "compute", r.mac_energy_pj)
        add("leakage", "static", r.leakage_energy_pj)
    return out


def plot_energy_breakdown(data: NetworkReport | CostReport | Sequence[CostReport] | pd.DataFrame, path: str | Path | None = None, *,
                          ax: Axes | None = None, settings: Sequence[str] = (), limit: int = 20, title: str = "",
                          numbered: bool = False) -> Figure:  # fmt: skip
    """Stacked energy bars, of a report or of a sweep or search table; written to ``path`` when given.

    A report (a network's, a layer's, or several layers'): one bar per storage level (outermost first) split by operand,
    then MACs and leakage (µJ). A table: one bar per row (the first ``limit``), its energy split into the parts
    :func:`hwsim.explore.pareto.energy_parts` names, labelled by the ``settings`` that vary (``numbered``: ``1: rows=8, GLB 64
    KiB``...). Each bar's height is its row's ``energy_pj``: a table whose parts do not add up to it is refused
    (ValueError), never drawn.
    """
    if isinstance(data, pd.DataFrame):
        return _saved(_energy_of_points(data, ax, settings, limit, title, numbered), path)
    fig, (axis,) = _figure(ax, (6.4, 4.2))
    table = energy_by_level_and_operand(data)
    reps = _reports(data)
    levels = list(reps[0].level_energy_pj) if reps else []  # outermost first
    bars = [b for b in levels if b in table] + [b for b in table if b not in levels and b not in ("MAC", "leakage")] + ["MAC", "leakage"]
    stacks = {op: np.array([table.get(b, {}).get(op, 0.0) for b in bars]) / 1e6 for op in OPERAND_COLORS}
    stacks["MAC"] = np.array([table["MAC"]["compute"] / 1e6 if b == "MAC" else 0.0 for b in bars])
    stacks["leakage"] = np.array([table["leakage"]["static"] / 1e6 if b == "leakage" else 0.0 for b in bars])
    heights = _stacked_bars(axis, stacks, {**OPERAND_COLORS, "MAC": "tab:purple", "leakage": "tab:brown"})
    axis.set_xticks(range(len(bars)), bars, rotation=30, ha="right")
    axis.set_ylabel("energy (µJ)")
    axis.set_ylim(0, max(heights, default=0.0) * 1.08 or 1.0)
    total = sum(sum(v.values()) for v in table.values())
    what = data.network.name if isinstance(data, NetworkReport) else reps[0].layer if len(reps) == 1 else f"{len(reps)} layers"
    axis.set_title(title or f"{what} on {reps[0].arch}: {total / 1e6:,.1f} µJ by level and operand", fontsize=10)
    axis.legend(fontsize=8)
    return _saved(fig, path)


def _energy_of_points(frame: pd.DataFrame, ax: Axes | None, settings: Sequence[str], limit: int, title: str, numbered: bool) -> Figure:
    parts = energy_parts(frame)
    rows = frame.head(limit)
    stack = rows[parts].to_numpy(dtype=float) if parts else np.zeros((len(rows), 0))
    if "energy_pj" in rows and len(rows):
        total = rows["energy_pj"].to_numpy(dtype=float)
        if not np.allclose(stack.sum(axis=1), total, rtol=1e-9, atol=0.0):
            raise ValueError(f"energy parts {parts} do not add up to energy_pj: {stack.sum(axis=1)} vs {total}")
    top = float(stack.sum(axis=1).max()) if len(rows) else 0.0
    unit, scale = next(((u, f) for u, f in ENERGY_UNITS if top * f >= 1), ENERGY_UNITS[-1])
    labels, common = point_labels(rows, settings) if settings else ([""] * len(rows), "")
    if numbered or not settings:
        labels = [f"{i + 1}: {t}" if t else str(i + 1) for i, t in enumerate(labels)]
    widest = max((len(t) for t in labels), default=1)
    fig, (axis,) = _figure(ax, (max(6.4, 0.5 * len(rows) + 3.5), 4.8 + 0.04 * widest))
    names = [{"mac": "MACs"}.get(c[len("energy_") : -len("_pj")], c[len("energy_") : -len("_pj")]) for c in parts]
    _stacked_bars(axis, {n: stack[:, i] for i, n in enumerate(names)}, _part_colors(names), scale)
    xs = np.arange(len(rows))
    axis.set_xticks(xs, labels, rotation=35, ha="right", rotation_mode="anchor", fontsize=8)
    axis.set_xlim(-0.6, len(rows) - 0.4)
    axis.set_ylabel(f"energy of one inference ({unit})")
    shown = f"first {len(rows)} of {len(frame)}" if len(frame) > len(rows) else f"{len(rows)}"
    axis.set_xlabel(f"design point ({shown})" + (f"; all with {common}" if common else ""))
    axis.set_title(title or "energy by storage level, MACs and leakage", fontsize=10)
    axis.legend(title="energy part", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_roofline(report: NetworkReport, *, ax: Axes | None = None, label_top: int = 3) -> Figure:
    """Each MAC layer placed by its arithmetic intensity (MACs per DRAM byte moved) against its
    achieved MACs per cycle, under the roofs of the PE array (MACs per cycle) and of DRAM bandwidth.
    The ``label_top`` slowest layers are named."""
    fig, (axis,) = _figure(ax, (6.4, 4.6))
    moved = dram_bytes(report)
    rows = [(r.layer, r.kind, r.macs / max(b, 1e-9), r.macs / r.cycles, r.cycles) for r, b in zip(report.reports, moved, strict=True)
            if r.macs and r.cycles]  # fmt: skip
    arch = report.arch
    peak = float(arch.num_macs)
    bw = arch.levels[0].read_bandwidth_bits_per_cycle
    kinds = list(dict.fromkeys(k for _, k, *_ in rows))
    for i, kind in enumerate(kinds):
        pts = [(x, y) for _, k, x, y, _ in rows if k == kind]
        axis.scatter([p[0] for p in pts], [p[1] for p in pts], s=22, color=f"C{i}", label=kind, zorder=3)
    xs_all = [x for _, _, x, _, _ in rows] or [1.0]
    xs = np.logspace(math.log10(min(xs_all) / 3), math.log10(max(xs_all) * 3), 200)
    roof = np.full_like(xs, peak)
    if bw:
        roof = np.minimum(roof, xs * bw / 8)
        axis.axvline(peak / (bw / 8), color="grey", lw=0.6, ls=":")
    axis.plot(xs, roof, color="black", lw=1.2, label=f"roof: {peak:g} MACs/cycle" + (f", DRAM {bw / 8:g} B/cycle" if bw else ""))
    labelled: dict[tuple[float, float], str] = {}
    for name, _, x, y, _ in sorted(rows, key=lambda row: -row[4]):
        if len(labelled) < label_top and (x, y) not in labelled:  # identical layers sit on one point: name the first
            labelled[(x, y)] = name
            axis.annotate(name, (x, y), fontsize=6, xytext=(3, -8), textcoords="offset points")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("arithmetic intensity (MACs per DRAM byte)")
    axis.set_ylabel("achieved MACs per cycle")
    axis.set_title(f"{report.network.name} on {arch.name}: roofline of {len(rows)} MAC layers", fontsize=10)
    axis.legend(fontsize=7, loc="lower right")
    return fig


def pe_utilization(layer: Layer, arch: Architecture, mapping: Mapping) -> np.ndarray:
    """For every PE (an array shaped like the spatial axes, outermost first), the fraction of the
    layer's temporal iterations in which it performs a useful MAC.

    A PE is idle when its position lies beyond the spatial factors of its axes, and idle in part
    when padding (factors over-covering a bound) gives it iterations outside the layer. Stalls and
    zero-skipping are not in it. Invariant: ``sum × temporal iterations == layer.macs``.
    """
    nest = mapping.nest(arch)
    strides = loop_strides(nest)
    sizes = tuple(a.size for a in arch.axes)
    shape = sizes if sizes else (1,)
    grid = np.ones(shape)
    bounds = layer.dims
    for dim in {lp.dim for lp in nest}:
        temporal = np.zeros(1, dtype=np.int64)
        for lp, s in zip(nest, strides, strict=True):
            if lp.dim == dim and not lp.spatial:
                temporal = np.add.outer(temporal, np.arange(lp.bound) * s).ravel()
        temporal.sort()
        offset = np.zeros(shape, dtype=np.int64)
        for j, axis in enumerate(arch.axes):
            loops = [(lp, s) for lp, s in zip(nest, strides, strict=True) if lp.axis == axis.name]
            pos = np.arange(axis.size)
            contrib = np.zeros(axis.size, dtype=np.int64)
            rest = pos.copy()
            for lp, s in reversed(loops):  # the innermost spatial loop of an axis varies fastest
                if lp.dim == dim:
                    contrib += (rest % lp.bound) * s
                rest //= lp.bound
            view = [1] * len(shape)
            view[j] = axis.size
            offset = offset + contrib.reshape(view)
        valid = np.searchsorted(temporal, bounds.get(dim, 1) - offset, side="left")
        grid *= valid / len(temporal)
    for j, axis in enumerate(arch.axes):  # positions beyond an axis's spatial factor hold no work
        used = mapping.spatial_factor(j)
        if used < axis.size:
            index = [slice(None)] * len(shape)
            index[j] = slice(used, None)
            grid[tuple(index)] = 0.0
    return grid


def plot_pe_utilization(report: NetworkReport | CostReport, layer: str | Layer, arch: Architecture | None = None, *,
                        ax: Axes | None = None) -> Figure:  # fmt: skip
    """A heat map of the PE array over one layer (see :func:`pe_utilization`): each cell is a PE,
    its colour the share of the layer's compute cycles it spends on useful MACs.

    Rows are the outer spatial axes flattened together, columns the innermost axis. Pass a
    :class:`NetworkReport` and a layer name, or a layer's :class:`CostReport`, its :class:`Layer`
    and the architecture.
    """
    if isinstance(report, NetworkReport):
        name = layer if isinstance(layer, str) else layer.name
        found = next((r for r in report.reports if r.layer == name and r.mapping is not None), None)
        if found is None:
            raise KeyError(f"{name!r} is not a MAC layer of {report.network.name}")
        cost, arch, the_layer = found, report.arch, report.network.graph.nodes[name]["op"]
    else:
        if arch is None or not isinstance(layer, Layer):
            raise TypeError("with a CostReport, pass the Layer and the Architecture too")
        cost, the_layer = report, layer
    if cost.mapping is None:
        raise ValueError(f"{cost.layer!r} has no mapping (a non-MAC op)")
    grid = pe_utilization(the_layer, arch, cost.mapping)
    flat = grid.reshape(-1, grid.shape[-1]) if grid.ndim > 1 else grid.reshape(1, -1)
    fig, (axis,) = _figure(ax, (min(12.0, 2.5 + 0.3 * flat.shape[1]), min(9.0, 1.8 + 0.25 * flat.shape[0])))
    im = axis.imshow(flat, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto", interpolation="nearest")
    fig.colorbar(im, ax=axis, label="useful share of compute cycles")
    names = [a.name for a in arch.axes]
    axis.set_xlabel(f"{names[-1]} ({arch.axes[-1].size})" if names else "PE")
    axis.set_ylabel(" × ".join(f"{a.name} ({a.size})" for a in arch.axes[:-1]) or "")
    spatial = " · ".join(f"{a.name}: {'×'.join(f'{d}{n}' for d, n in g if n > 1) or '-'}"
                         for a, g in zip(arch.axes, cost.mapping.spatial, strict=True))  # fmt: skip
    active = int((grid > 0).sum())
    axis.set_title(f"{cost.layer} on {arch.name}: {active}/{grid.size} PEs busy, mean {grid.mean():.0%}\n{spatial}", fontsize=9)
    return fig


def plot_pareto(points: pd.DataFrame | Sequence[NetworkReport], path: str | Path | None = None, *, x: str = "latency_s",
                y: str = "energy_pj", label: str | None = None, ax: Axes | None = None, color: str | None = None,
                front: str | None = None, objectives: Sequence[str] | None = None, title: str = "",
                annotate: int = 40) -> Figure:  # fmt: skip
    """Design points (a sweep or search table, or a list of reports) with their Pareto front, ``x`` against ``y`` in
    words and units (:func:`hwsim.explore.pareto.axis_label`); written to ``path`` when given.

    The front is the boolean column ``front`` when given, else the rows :func:`hwsim.explore.pareto.pareto_mask` keeps in
    ``objectives`` (default: ``x`` and ``y``; both minimized); its points are ringed, and joined as a staircase when
    the front is in the two axes alone. The title names the front's objectives: a front in more objectives than the
    two axes has points that look dominated here (they win in another). ``color`` (a column) colours the points, with
    a colour bar; ``label`` (a column) names the front points when there are at most ``annotate`` of them.
    """
    frame = points if isinstance(points, pd.DataFrame) else pd.DataFrame([{"arch": r.arch.name, "workload": r.network.name, **r.totals()}
                                                                           for r in points])  # fmt: skip
    if "status" in frame:
        frame = frame[frame["status"] == "ok"]
    objectives = tuple(objectives or (x, y))
    if front is not None and front in frame:
        on = frame[front].astype(bool).to_numpy()
    else:
        on = pareto_mask(frame[list(objectives)].to_numpy(dtype=float)) if len(frame) else np.zeros(0, bool)
    (x_label, x_scale), (y_label, y_scale) = axis_label(x), axis_label(y)
    fig, (axis,) = _figure(ax, (7.2, 5.0))
    xv, yv = frame[x].to_numpy(dtype=float) * x_scale, frame[y].to_numpy(dtype=float) * y_scale
    if color is not None and color in frame and len(frame):
        c_label, c_scale = axis_label(color)
        sc = axis.scatter(xv, yv, c=frame[color].to_numpy(dtype=float) * c_scale, s=16, alpha=0.8, cmap="viridis",
                          label="design points", zorder=2)  # fmt: skip
        fig.colorbar(sc, ax=axis, label=c_label)
    else:
        axis.scatter(xv, yv, s=16, color="tab:gray", alpha=0.8, label="design points", zorder=2)
    words = [axis_label(o)[0].split(" (")[0] for o in objectives]
    in_axes = set(objectives) <= {x, y}
    if in_axes and on.any():
        order = np.argsort(xv[on])
        axis.step(xv[on][order], yv[on][order], where="post", color="tab:red", lw=1, zorder=2)
    axis.scatter(xv[on], yv[on], s=70, facecolors="none", edgecolors="red", linewidths=1.4, zorder=3,
                 label=f"Pareto front ({int(on.sum())})" if in_axes
                 else f"Pareto front: lowest {', '.join(words[:-1])} and {words[-1]} ({int(on.sum())})")  # fmt: skip
    if label is not None and label in frame and 0 < on.sum() <= annotate:
        for px, py, text in zip(xv[on], yv[on], frame[label].to_numpy()[on], strict=True):
            axis.annotate(str(text), (px, py), fontsize=7, xytext=(5, 4), textcoords="offset points", zorder=4)
    _scale_axis(axis, "x", xv)
    _scale_axis(axis, "y", yv)
    axis.set_xlabel(x_label)
    axis.set_ylabel(y_label)
    caption = f"Pareto front: lowest {', '.join(words[:-1])} and {words[-1]}" if len(words) > 1 else f"lowest {words[0]}"
    extra = [w for w, o in zip(words, objectives, strict=True) if o not in (x, y)]
    if extra:
        caption += f" (ringed): ringed points that look dominated here have a lower {' or '.join(extra)}"
    axis.set_title(f"{title or f'{len(frame)} design points'}\n{caption}", fontsize=9)
    if ax is None:  # beside a figure of its own: below the axes, clear of the points
        axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=2, frameon=False)
    else:
        axis.legend(fontsize=8, loc="best")
    return _saved(fig, path)


def _scale_axis(axis: Axes, which: str, values: np.ndarray) -> None:
    """Log scale when the values span more than a decade and a half, else linear with plain numbers (no 1.04×10⁷ ticks)."""
    v = values[np.isfinite(values) & (values > 0)]
    if len(v) and v.max() / v.min() > 30:
        getattr(axis, f"set_{which}scale")("log")
    else:
        getattr(axis, f"get_{which}axis")().get_major_formatter().set_useOffset(False)


def plot_clip_vs_continual(frame: pd.DataFrame, *, title: str = "") -> Figure:
    """Energy (the state's part hatched) and latency per prediction, clip against continual
    (a :func:`hwsim.evaluate.streaming.clip_vs_continual` frame; several may be concatenated, one pair per network)."""
    from matplotlib.figure import Figure

    rows = frame[frame["mode"].isin(("clip", "continual"))].reset_index(drop=True)
    fig = Figure(figsize=(max(6.0, 1.2 * len(rows) + 3), 3.6), layout="constrained")
    ax_e, ax_t = fig.subplots(1, 2)
    x = np.arange(len(rows))
    colors = ["tab:blue" if m == "clip" else "tab:orange" for m in rows["mode"]]
    energy = rows["energy_pj"].to_numpy() / 1e9
    state = energy * rows["state_energy_share"].to_numpy()
    ax_e.bar(x, energy - state, color=colors)
    ax_e.bar(x, state, bottom=energy - state, color=colors, hatch="//", edgecolor="black", linewidth=0.5, label="state traffic")
    ax_t.bar(x, rows["latency_s"].to_numpy() * 1e3, color=colors)
    for ax, label in ((ax_e, "energy per prediction (mJ)"), (ax_t, "latency per prediction (ms)")):
        ax.set_xticks(x, list(rows["network"]), rotation=30, ha="right")
        ax.set_ylabel(label)
    if (state > 0).any():
        ax_e.legend(loc="upper right", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig
