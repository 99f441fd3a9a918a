"""Turning ``--arch A`` / ``--workload W`` (a preset name or a file path) into core objects.

Presets live in the ``hwsim.accelerators`` (YAML files) and ``hwsim.workloads`` (Python
builders) packages; they are imported lazily here, so the core never depends on them.
"""

from __future__ import annotations

import importlib
import importlib.resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwsim.core.arch import Architecture, architecture_from_dict
from hwsim.core.errors import Problem, SpecError
from hwsim.core.spec import parse_yaml
from hwsim.core.workload import Network
from hwsim.frontend.network_spec import network_from_dict

if TYPE_CHECKING:
    from hwsim.frontend.importers.timeloop import TimeloopNames

__all__ = ["arch_names", "load_arch", "load_workload", "looks_like_path", "preset_arch_data", "preset_name", "timeloop_names", "workload_names"]


def preset_name(name: str) -> str:
    """A preset name as the presets spell it: lower case, hyphens (``ResNet_50`` → ``resnet-50``)."""
    return name.strip().lower().replace("_", "-")


def arch_names() -> list[str]:
    files = importlib.resources.files("hwsim.accelerators")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".yaml"))


def workload_names() -> list[str]:
    mod = importlib.import_module("hwsim.workloads")
    return sorted(mod.PRESETS)


def looks_like_path(s: str) -> bool:
    """Whether ``--arch``/``--workload`` ``s`` names a file (a slash, a spec file's suffix, or an existing path) rather than a preset."""
    return "/" in s or s.endswith((".yaml", ".yml", ".jinja", ".jinja2", ".csv", ".cfg", ".onnx")) or Path(s).exists()


def _read_spec(path: str, variables: dict[str, Any] | None = None) -> object:
    """A YAML spec file, hwsim's or Timeloop's: Timeloop's ``!Container``-style tags are read as data (never
    constructed); a file holding Jinja2 syntax is rendered with ``variables`` first, as Timeloop's front end does."""
    from hwsim.frontend.importers.timeloop import read_timeloop_yaml

    return read_timeloop_yaml(path, variables)


def load_arch(spec: str, option: str = "--arch", *, variables: dict[str, Any] | None = None, names: TimeloopNames | None = None) -> Architecture:
    """An architecture from a preset name (``eyeriss``), an hwsim or Timeloop YAML file (``variables``: a templated
    file's; ``names``: the Timeloop problem's dimension and data-space names its constraints use), or a SCALE-Sim .cfg."""
    if looks_like_path(spec):
        if spec.endswith(".cfg"):
            from hwsim.frontend.importers.scalesim import load_scalesim_config

            return load_scalesim_config(spec)
        data = _read_spec(spec, variables)
        if isinstance(data, dict) and "architecture" in data:
            from hwsim.frontend.importers.timeloop import timeloop_architecture

            return timeloop_architecture(data, source=spec, names=names)
        return architecture_from_dict(data, source=spec)
    data, source = preset_arch_data(spec, option)
    return architecture_from_dict(data, source=source)


def timeloop_names(spec: str, variables: dict[str, Any] | None = None) -> TimeloopNames | None:
    """The dimension and data-space names of the Timeloop problem in file ``spec`` (None if it holds none)."""
    if not looks_like_path(spec) or not spec.endswith((".yaml", ".yml", ".jinja", ".jinja2")):
        return None
    data = _read_spec(spec, variables)
    if not (isinstance(data, dict) and "problem" in data):
        return None
    from hwsim.frontend.importers.timeloop import timeloop_problem_names

    return timeloop_problem_names(data, spec)


def preset_arch_data(spec: str, option: str = "--arch") -> tuple[object, str]:
    """A preset architecture's parsed YAML and its source name; a :class:`SpecError` naming the presets otherwise."""
    name = preset_name(spec)
    names = arch_names()
    if name not in names:
        raise SpecError(option, [Problem(option, spec, f"expected a file path or a preset: {', '.join(names)}")])
    text = importlib.resources.files("hwsim.accelerators").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    source = f"preset {name} (accelerators/{name}.yaml)"
    return parse_yaml(text, source), source


def load_workload(spec: str, option: str = "--workload", *, variables: dict[str, Any] | None = None) -> Network:
    """A network from a preset name (``resnet50``), an hwsim or Timeloop YAML file (``variables``: a templated file's),
    a SCALE-Sim topology .csv or an ONNX file."""
    if looks_like_path(spec):
        if spec.endswith(".csv"):
            from hwsim.frontend.importers.scalesim import load_scalesim_topology

            return load_scalesim_topology(spec)
        if spec.endswith(".onnx"):
            from hwsim.frontend.importers.onnx import load_onnx

            return load_onnx(spec)
        data = _read_spec(spec, variables)
        if isinstance(data, dict) and "problem" in data:
            from hwsim.frontend.importers.timeloop import timeloop_problem

            return timeloop_problem(data, source=spec)
        return network_from_dict(data, source=spec)
    mod = importlib.import_module("hwsim.workloads")
    name = preset_name(spec)
    names = sorted(mod.PRESETS)
    if name not in mod.PRESETS:
        raise SpecError(option, [Problem(option, spec, f"expected a file path or a preset: {', '.join(names)}")])
    net: Network = mod.PRESETS[name]()
    return net
