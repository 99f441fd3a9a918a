"""What the command line's modules share (:mod:`hwsim.cli`, and the ``hwsim sweep`` and ``hwsim search`` subcommands'
:mod:`hwsim.cli.sweep` and :mod:`hwsim.cli.search`).

Heavy modules (pandas, Dask, Optuna, matplotlib) are imported only when a command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from hwsim.core.errors import Problem, SpecError

__all__ = ["load_npz", "plain", "progress_bar"]


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


def load_npz(path: str) -> dict[str, object]:
    """Arrays by name from an ``.npz`` file (``--weights``); a :class:`SpecError` naming the file otherwise."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise SpecError(path, [Problem("", path, f"expected an .npz of arrays by layer name ({e})")]) from None
