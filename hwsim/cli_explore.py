"""What the ``hwsim sweep`` and ``hwsim search`` subcommands (:mod:`hwsim.cli_sweep`, :mod:`hwsim.cli_search`) share.

Heavy modules (pandas, Dask, Optuna, matplotlib) are imported only when a command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["plain", "progress_bar"]

def progress_bar(label: str) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A rich progress bar on a terminal's standard error (nothing otherwise) and its closer."""
    if not sys.stderr.isatty():  # pragma: no cover - cosmetic
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=Console(file=sys.stderr), transient=True)  # fmt: skip
    task = bar.add_task(label, total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


def plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v
