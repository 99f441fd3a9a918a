"""Jinja2-templated Timeloop inputs rendered as timeloopfe renders them (its ``jinja_parse_data``).

A template (``top.yaml.jinja2``, or any Timeloop YAML file containing ``{{`` or ``{%``) is rendered with the given
variables; an undefined variable is an error (Jinja2's ``StrictUndefined``, as timeloopfe). The functions templates
call, with Accelergy's YAML loader's meaning:

- ``include(path, key)``: the YAML data of ``path`` (itself rendered with the same variables), or of its entry
  ``key`` (dotted: ``compound_components.classes``); ``include_all(glob, key)``: every matching file's, lists
  concatenated;
- ``cwd()``: the directory of the file being rendered; ``add_to_path(dir)``: also look for included files there
  (relative paths are looked up next to the including file first, then in the added directories, in order);
- ``path_exists(path)``: whether such a file exists (looked up the same way); ``find_path(path)``: its full path.

An included value is written into the text as JSON (valid YAML flow), with Timeloop's ``!Tag`` nodes as the
``{"!tag": ...}`` entries the tag-keeping parser makes of them, so parsing the rendered text gives the same data as
parsing the files one by one. Rendering runs in Jinja2's sandbox; included files obey the usual size limit, and a
file including itself is an error.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hwsim.core.errors import Problem, SpecError
from hwsim.core.spec import MAX_SPEC_BYTES, read_spec_text

__all__ = ["looks_templated", "render_template"]

MAX_INCLUDES = 1000

Parse = Callable[[str, str], Any]


def looks_templated(text: str) -> bool:
    """Whether text holds Jinja2 syntax (an expression ``{{`` or a statement ``{%``)."""
    return "{{" in text or "{%" in text


class _Render:
    """One rendering: the include search path, the files being rendered (cycle guard), the text produced so far."""

    def __init__(self, variables: dict[str, Any], parse: Parse, source: str):
        self.variables = dict(variables)
        self.parse = parse
        self.source = source
        self.search: list[str] = []
        self.stack: list[str] = []
        self.includes = 0
        self.total_chars = 0

    def fail(self, path: str, value: Any, expected: str) -> SpecError:
        return SpecError(self.source, [Problem(path, value, expected)])

    def find(self, pattern: str, here: str) -> list[str]:
        bases = [""] if os.path.isabs(pattern) else [os.path.dirname(here), *self.search]
        found: list[str] = []
        for base in bases:
            full = os.path.realpath(os.path.join(base, pattern))
            for hit in sorted(glob.glob(full)) if glob.has_magic(full) else [full] if os.path.exists(full) else []:
                if os.path.isfile(hit) and hit not in found:
                    found.append(hit)
            if found and not glob.has_magic(pattern):
                break
        return found

    def render(self, path: str) -> str:
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment

        real = os.path.realpath(path)
        if real in self.stack:
            raise self.fail(path, " -> ".join([*self.stack, real]), "expected no file to include itself")
        text = read_spec_text(path)
        self.stack.append(real)
        env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)

        def include(pattern: str, key: str = "", *, every: bool = False) -> str:
            self.includes += 1
            if self.includes > MAX_INCLUDES:
                raise self.fail(path, pattern, f"expected at most {MAX_INCLUDES} includes")
            hits = self.find(str(pattern), real)
            if not hits or (not every and len(hits) > 1):
                want = "at least one file" if every else "exactly one file"
                raise self.fail(path, str(pattern), f"expected {want} to include (looked next to {os.path.dirname(real)} and in "
                                                    f"{', '.join(self.search) or 'no added directory'})")  # fmt: skip
            values = [self.entry(self.load(hit), str(key), hit) for hit in hits]
            if every:
                value: Any = [x for v in values for x in (v if isinstance(v, list) else [v])]
            else:
                value = values[0]
            return json.dumps(value)

        def add_to_path(directory: str) -> str:
            d = str(directory)
            bases = [""] if os.path.isabs(d) else [os.path.dirname(real), *self.search]
            full = next((f for f in (os.path.realpath(os.path.join(b, d)) for b in bases) if os.path.isdir(f)), None)
            if full is None:
                raise self.fail(path, d, "expected a directory that exists (add_to_path)")
            if full not in self.search:
                self.search.append(full)
            return ""

        def find_path(pattern: str) -> str:
            hits = self.find(str(pattern), real)
            if not hits:
                raise self.fail(path, str(pattern), "expected a file that exists")
            return hits[0]

        env.globals.update(
            cwd=lambda: os.path.dirname(real),
            include=include,
            include_all=lambda pattern, key="": include(pattern, key, every=True),
            add_to_path=add_to_path,
            path_exists=lambda p: bool(self.find(str(p), real)),
            find_path=find_path,
        )
        try:
            out = env.from_string(text).render(self.variables)
        except jinja2.UndefinedError as e:
            raise self.fail(path, str(e.message), "expected every template variable to be given (a value for it, or a "
                                                  "| default in the template)") from None  # fmt: skip
        except jinja2.TemplateSyntaxError as e:
            raise self.fail(f"{path}: line {e.lineno}", e.message, "expected valid Jinja2 syntax") from None
        except jinja2.TemplateError as e:
            raise self.fail(path, str(e), "expected a template that renders") from None
        self.stack.pop()
        self.total_chars += len(out)
        if self.total_chars > MAX_SPEC_BYTES:
            raise self.fail(path, f"{self.total_chars} characters", f"expected at most {MAX_SPEC_BYTES} characters rendered")
        return out

    def load(self, path: str) -> Any:
        text = read_spec_text(path)
        return self.parse(self.render(path) if looks_templated(text) else text, path)

    def entry(self, data: Any, key: str, where: str) -> Any:
        for part in [k for k in key.split(".") if k]:
            if not isinstance(data, dict) or part not in data:
                have = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
                raise self.fail(where, key, f"expected the key {part!r} in the included file (it has {have})")
            data = data[part]
        return data


def render_template(path: str | Path, variables: dict[str, Any], parse: Parse) -> str:
    """The text of a Jinja2-templated Timeloop file rendered with ``variables`` (see the module documentation);
    ``parse(text, source)`` parses an included file's rendered text."""
    return _Render(variables, parse, str(path)).render(str(path))
