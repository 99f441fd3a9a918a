"""hwsim's one error type for bad input, carrying every problem found at once.

Library code raises :class:`SpecError`; only the command line turns it into a message
and exit status 2. Each :class:`Problem` names where (file and field path), what was
found and what was expected, so a user can fix everything in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Problem", "Problems", "SpecError"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: ``path`` is a field path such as ``levels[1].size_bytes``."""

    path: str
    value: Any
    expected: str

    def render(self) -> str:
        shown = _short_repr(self.value)
        where = self.path or "(top level)"
        return f"{where}: {self.expected}, not {shown}"


def _short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters; a long string keeps its end too (a file path keeps its name)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, str) and len(value) <= 1000:
        return text if len(text) <= 240 else text[:120] + "..." + text[-117:]
    return text[: limit - 3] + "..."


class SpecError(ValueError):
    """Bad input: a spec file, a command-line argument, a shape or a mapping.

    ``source`` names the file (or ``"--arch"``, ``"<mapping>"``...) the problems are in.
    """

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.problems)
        head = f"{self.source}: {n} problem{'s' if n != 1 else ''}"
        return head + "".join(f"\n- {p.render()}" for p in self.problems)


class Problems:
    """Collects problems while validating, then raises them all at once."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[Problem] = []

    def add(self, path: str, value: Any, expected: str) -> None:
        self.items.append(Problem(path, value, expected))

    def __bool__(self) -> bool:
        return bool(self.items)

    def extend(self, other: list[Problem]) -> None:
        self.items.extend(other)

    def raise_if_any(self) -> None:
        if self.items:
            raise SpecError(self.source, self.items)
