"""Reading spec files safely and validating plain data with every problem collected.

Specs are data: YAML is read with ``yaml.safe_load`` (no tags, no code), files larger
than :data:`MAX_SPEC_BYTES` are refused before parsing, and the validators below walk the
parsed dicts, recording a :class:`~hwsim.core.errors.Problem` for each bad field instead of
stopping at the first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml

from hwsim.core.errors import Problem, Problems, SpecError

MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_NUMBER = 1e18  # larger magnitudes are typos or attacks, never hardware
_MAX_YAML_NODES = 200_000


def read_spec_text(path: str | Path) -> str:
    """The text of a spec file, refusing missing, unreadable, non-UTF-8 and oversized files."""
    p = Path(path)
    source = str(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise SpecError(source, [Problem("", source, f"expected a readable file ({e.strerror})")]) from None
    if size > MAX_SPEC_BYTES:
        raise SpecError(source, [Problem("", f"{size} bytes", f"expected a spec file of at most {MAX_SPEC_BYTES} bytes")])
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(source, [Problem("", source, f"expected a readable UTF-8 text file ({e})")]) from None


def read_yaml(path: str | Path) -> Any:
    """Parse one YAML spec file, turning every failure into a :class:`SpecError` naming the file."""
    return parse_yaml(read_spec_text(path), str(path))


def parse_yaml(text: str, source: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """YAML text to plain data with ``loader`` (a SafeLoader, or a subclass that turns tags into data), every failure
    a :class:`SpecError` naming ``source``."""
    try:
        # Compose first so alias bombs are caught by counting nodes before construction.
        node = yaml.compose(text, Loader=loader)
        if node is not None and _count_nodes(node) > _MAX_YAML_NODES:
            raise SpecError(source, [Problem("", "YAML", f"expected at most {_MAX_YAML_NODES} YAML nodes (aliases expanded)")])
        return yaml.load(text, Loader=loader)  # a SafeLoader or its subclass: safe
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "YAML"
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(source, [Problem(where, "YAML text", f"expected valid YAML ({reason})")]) from None
    except RecursionError:
        raise SpecError(source, [Problem("", "YAML", "expected YAML nested less deeply")]) from None


def _count_nodes(node: yaml.Node, limit: int = _MAX_YAML_NODES + 1) -> int:
    count = 0
    stack: list[yaml.Node] = [node]
    while stack and count < limit:
        n = stack.pop()
        count += 1
        if isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
    return count


# the list recording() fills, per thread and asyncio task (a context variable, not shared module state)
_RECORDER: ContextVar[list[dict[str, Any]] | None] = ContextVar("hwsim.core.spec.recorder", default=None)


@contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """Record every field the validators read (path, kind, default, choices, bounds, unit) while validating:
    the schema as the validators define it, for the generated spec reference (:mod:`hwsim.frontend.docs`)."""
    fields: list[dict[str, Any]] = []
    token = _RECORDER.set(fields)
    try:
        yield fields
    finally:
        _RECORDER.reset(token)


def _note(f: Fields, key: str, kind: str, **info: Any) -> None:
    fields = _RECORDER.get()
    if fields is not None:
        fields.append({"path": re.sub(r"\[\d+\]", "[]", f.at(key)), "kind": kind, **info})


class Fields:
    """Typed access to one mapping of a spec, recording problems under ``path``.

    Each getter returns a usable default after recording a problem, so validation goes on
    and reports everything. Call :meth:`done` to flag keys nobody asked for.
    """

    def __init__(self, data: Any, path: str, problems: Problems):
        self.path = path
        self.problems = problems
        self.seen: set[str] = set()
        if not isinstance(data, dict):
            problems.add(path, data, "expected a mapping of fields")
            data = {}
        self.data: dict[str, Any] = data

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        _note(self, key, "any", default=default)
        self.seen.add(key)
        return self.data.get(key, default)

    def text(self, key: str, default: str | None = None, *, choices: Iterable[str] | None = None) -> str:
        _note(self, key, "string", default=default, required=default is None, choices=list(choices) if choices is not None else None)
        self.seen.add(key)
        if key not in self.data:
            if default is None:
                self.problems.add(self.at(key), None, "expected a string (required field)")
                return ""
            return default
        v = self.data[key]
        if not isinstance(v, str) or not v:
            self.problems.add(self.at(key), v, "expected a non-empty string")
            return default or ""
        if choices is not None:
            options = list(choices)
            if v.lower() not in options:
                self.problems.add(self.at(key), v, f"expected one of {', '.join(options)}")
                return default or options[0]
            return v.lower()
        return v

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        minimum: float = 0.0,
        exclusive: bool = True,
        integer: bool = False,
        required: bool = False,
        unit: str = "",
    ) -> float | None:
        _note(self, key, "integer" if integer else "number", default=default, required=required, minimum=minimum, exclusive=exclusive, unit=unit)
        self.seen.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                self.problems.add(self.at(key), None, f"expected {_describe(minimum, exclusive, integer, unit)} (required field)")
            return default
        v = self.data[key]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if ok and isinstance(v, int) and abs(v) > MAX_NUMBER:  # an integer too large for a float: compare it as an integer
            self.problems.add(self.at(key), self.data[key], f"expected at most {MAX_NUMBER:g}")
            return default
        if isinstance(v, str):
            try:
                v = float(v)
                ok = True
            except ValueError:
                ok = False
        if ok and math.isfinite(v) and abs(v) > MAX_NUMBER:
            self.problems.add(self.at(key), self.data[key], f"expected at most {MAX_NUMBER:g}")
            return default
        ok = ok and math.isfinite(v) and (v > minimum if exclusive else v >= minimum) and not (integer and int(v) != v)
        if not ok:
            self.problems.add(self.at(key), self.data[key], f"expected {_describe(minimum, exclusive, integer, unit)}")
            return default
        return int(v) if integer else float(v)

    def integer(self, key: str, default: int | None = None, *, minimum: int = 1, required: bool = False) -> int:
        _note(self, key, "integer", default=default, required=required, minimum=minimum, exclusive=False)
        got = self.number(key, None, minimum=minimum, exclusive=False, integer=True, required=required)
        if got is None:
            return default if default is not None else minimum
        return int(got)

    def boolean(self, key: str, default: bool) -> bool:
        _note(self, key, "boolean", default=default)
        self.seen.add(key)
        v = self.data.get(key, default)
        if not isinstance(v, bool):
            self.problems.add(self.at(key), v, "expected true or false")
            return default
        return v

    def str_list(self, key: str, default: Iterable[str] = (), *, choices: Iterable[str] | None = None) -> tuple[str, ...]:
        _note(self, key, "list of strings", default=list(default), choices=list(choices) if choices is not None else None)
        self.seen.add(key)
        if key not in self.data:
            return tuple(default)
        v = self.data[key]
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.problems.add(self.at(key), v, "expected a list of strings")
            return tuple(default)
        if choices is not None:
            options = list(choices)
            bad = [x for x in v if x not in options]
            if bad:
                self.problems.add(self.at(key), bad if len(bad) > 1 else bad[0], f"expected names from {', '.join(options)}")
                v = [x for x in v if x in options]
        return tuple(v)

    def sub(self, key: str, *, required: bool = False) -> Fields:
        _note(self, key, "mapping", required=required)
        self.seen.add(key)
        if key not in self.data:
            if required:
                self.problems.add(self.at(key), None, "expected a mapping (required field)")
            return Fields({}, self.at(key), self.problems)
        return Fields(self.data[key], self.at(key), self.problems)

    def items(self, key: str, *, required: bool = False) -> list[Fields]:
        _note(self, key, "list of mappings", required=required)
        self.seen.add(key)
        if key not in self.data:
            if required:
                self.problems.add(self.at(key), None, "expected a list (required field)")
            return []
        v = self.data[key]
        if not isinstance(v, list):
            self.problems.add(self.at(key), v, "expected a list")
            return []
        return [Fields(x, f"{self.at(key)}[{i}]", self.problems) for i, x in enumerate(v)]

    def done(self, extra: Callable[[str], bool] | None = None) -> None:
        for key in self.data:
            if key not in self.seen and not (extra and extra(key)):
                self.problems.add(self.at(str(key)), self.data[key], unknown_field(str(key), self.seen))


def unknown_field(key: str, known: Iterable[str]) -> str:
    """What an unknown field's problem expects: the closest valid names first (``strides`` → ``stride``), then all of them."""
    import difflib

    names = sorted(set(known))
    lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6) or [
        lower[c] for c in difflib.get_close_matches(key.lower(), list(lower), n=3, cutoff=0.6)]
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return f"unknown field ({hint}known fields here: {', '.join(names)})"


def _describe(minimum: float, exclusive: bool, integer: bool, unit: str) -> str:
    noun = "integer" if integer else "number"
    if minimum == 0:
        text = f"a {'positive' if exclusive else 'non-negative'} {noun}"
    else:
        text = f"{'an' if integer else 'a'} {noun} {'>' if exclusive else '≥'} {minimum:g}"
    return text + (f" ({unit})" if unit else "")
