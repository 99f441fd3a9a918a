"""One layer's timeline from the cycle engine: which unit is busy when, as data and as a figure.

matplotlib is imported only by :func:`plot_timeline` (and only then), with the Agg backend
when none has been chosen, so the core never depends on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from hwsim.cost.cycle import CycleReport

__all__ = ["layer_timeline", "plot_timeline"]

_UNITS = ("PE array", "SRAM", "DRAM read", "DRAM write")
_COLORS = {"compute": "tab:green", "fill/drain": "tab:orange", "stall": "tab:red", "transfer": "tab:blue"}
MAX_BARS = 4000


def layer_timeline(report: CycleReport) -> pd.DataFrame:
    """Columns ``unit, kind, step, start_cycle, end_cycle``: one row per busy interval."""
    return report.timeline()


def _merge(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most about ``limit`` bars per (unit, kind): neighbouring intervals are joined."""
    out = []
    for _, g in frame.groupby(["unit", "kind"], sort=False):
        if len(g) > limit:
            group = (g["step"].to_numpy() * limit) // (g["step"].max() + 1)
            g = g.groupby(group).agg(unit=("unit", "first"), kind=("kind", "first"), step=("step", "first"),
                                     start_cycle=("start_cycle", "min"), end_cycle=("end_cycle", "max"))  # fmt: skip
        out.append(g)
    return pd.concat(out, ignore_index=True) if out else frame


def plot_timeline(report: CycleReport, path: str | Path | None = None, *, ax: Any = None, title: str | None = None) -> Any:
    """Draw the timeline (a Gantt chart, cycles on x); save it to ``path`` if given. Returns the figure."""
    import matplotlib

    if path is not None and ax is None and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    frame = _merge(layer_timeline(report), MAX_BARS)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 3))
    else:
        fig = ax.figure
    units = [u for u in _UNITS if u in set(frame["unit"])] or list(_UNITS)
    for y, unit in enumerate(units):
        for kind, g in frame[frame["unit"] == unit].groupby("kind"):
            spans = list(zip(g["start_cycle"], g["end_cycle"] - g["start_cycle"], strict=True))
            ax.broken_barh(spans, (y - 0.4, 0.8), facecolors=_COLORS.get(str(kind), "grey"), linewidth=0)
    ax.set_yticks(range(len(units)), units)
    ax.set_ylim(-0.6, len(units) - 0.4)
    ax.set_xlim(0, max(report.cycles, 1.0))
    ax.invert_yaxis()
    ax.set_xlabel("cycle")
    b = report.breakdown()
    ax.set_title(title or (f"{report.layer} on {report.arch}: {report.cycles:,.0f} cycles "
                           f"(compute {b['compute_cycles']:,.0f}, fill/drain {b['fill_drain_cycles']:,.0f}, "
                           f"SRAM {b['sram_stall_cycles']:,.0f}, DRAM {b['dram_stall_cycles']:,.0f})"), fontsize=9)  # fmt: skip
    ax.legend(handles=[Patch(color=c, label=k) for k, c in _COLORS.items()], fontsize=7, loc="upper right", ncol=4)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
