"""Measured accuracy in the co-search: the user's own function, called on each trial's network variant.

``hwsim search --accuracy MODULE:FUNCTION`` (``MODULE`` a dotted module name importable from the working directory, or
a ``.py`` file path), or ``Context(accuracy=function)`` in Python, makes the search call ``FUNCTION(variant)`` for
every trial that meets every other limit (mapped; within the area, power, PE, storage and proxy limits). ``variant``
is a :class:`Variant` — the variant network with its widths, bits and weight sparsity per layer, the base network, and
the trial's choices — and the function returns the accuracy it measured on it: a number in [0, 1], or a mapping
whose ``"accuracy"`` is one. hwsim supplies the quantization and pruning of a PyTorch model at the variant's choices
(:func:`hwsim.explore.torch_compression.compress` with ``variant.plan()``); the model, the data and any fine-tuning
are the function's.

The search records ``accuracy`` and ``accuracy_loss = 1 − accuracy`` for each measured trial (empty for the others);
``accuracy`` as an objective (``--objective edp,accuracy``) minimizes the loss, ``--min-accuracy A`` limits it to
``1 − A``. The proxy is still computed beside it, so the two rankings can be compared. A variant is measured once per
search process: trials that differ only in hardware reuse it (keyed by the variant network's fingerprint).

A study records the function by its name and a content hash of its module's source file, so a changed function is
another search (:func:`identity`); files the function reads (a trained model, data) are not hashed: name them in the
function's module (e.g. by a hash constant) for a change of them to count.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwsim.core.errors import Problem, SpecError
from hwsim.core.workload import Network
from hwsim.explore.compression import LayerPlan, plan_of
from hwsim.explore.netvariants import stages
from hwsim.explore.sweep import network_fingerprint

__all__ = ["AccuracyFunction", "Variant", "identity", "load_accuracy", "measure"]


@dataclass(frozen=True)
class Variant:
    """One trial's network, as a measured-accuracy function receives it.

    ``network``: the variant (channels scaled per stage, bits and weight sparsity per layer, as hwsim costs it);
    ``base``: the network it varies (in the trial's execution mode); ``params``: every choice of the trial, hardware
    included, named as in the search's ``trials.csv`` without the ``param.`` prefix (``width.56x56``, ``wbits.56x56``,
    ``wsparsity.56x56``, ``array.rows``...).
    """

    network: Network
    base: Network
    params: Mapping[str, Any] = field(default_factory=dict)

    def plan(self) -> dict[str, LayerPlan]:
        """Each MAC layer's weight and input bits and weight sparsity (density or ``"N:M"``), by layer name."""
        return plan_of(self.network)

    def widths(self) -> dict[str, float]:
        """The width multiplier of each stage (a resolution such as ``56x56``; 1.0 where the trial kept the width)."""
        return {s: float(self.params.get(f"width.{s}", 1.0)) for s in stages(self.base)}

    def channels(self) -> dict[str, tuple[int, int]]:
        """Each MAC layer's output channels ``(base, variant)`` (K·G), by layer name."""
        base = {layer.name: layer.dims["K"] * layer.dims["G"] for layer in self.base.layers()}
        return {layer.name: (base.get(layer.name, 0), layer.dims["K"] * layer.dims["G"]) for layer in self.network.layers()}

    @property
    def key(self) -> str:
        """What is measured, as a short hash: the variant network's fingerprint (shapes, bits, sparsity)."""
        return network_fingerprint(self.network)


AccuracyFunction = Callable[[Variant], Any]


def load_accuracy(spec: str, option: str = "--accuracy") -> AccuracyFunction:
    """The function ``MODULE:FUNCTION`` names (``MODULE`` dotted, imported with the working directory on the path as
    ``python -m`` has it, or a ``.py`` file); one :class:`SpecError` naming the option, the value and what is expected."""
    module_name, colon, attr = spec.rpartition(":")
    if not colon or not module_name or not attr.isidentifier():
        raise SpecError(option, [Problem(option, spec, "expected MODULE:FUNCTION, such as mymodel:accuracy or path/to/file.py:accuracy")])
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise SpecError(option, [Problem(option, spec, f"expected an existing Python file ({module_name} is not one)")])
            mod_spec = importlib.util.spec_from_file_location(f"hwsim_accuracy_{path.stem}", path)
            assert mod_spec is not None and mod_spec.loader is not None
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[mod_spec.name] = module
            mod_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except SpecError:
        raise
    except Exception as e:  # whatever the user's module raises on import
        raise SpecError(option, [Problem(option, spec, f"expected an importable module ({_where(e)})")]) from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise SpecError(option, [Problem(option, spec, f"expected a function {attr} in {module_name}"
                                                       + ("" if fn is None else f" (it is a {type(fn).__name__})"))])  # fmt: skip
    return fn  # type: ignore[no-any-return]


def identity(fn: AccuracyFunction, name: str | None = None) -> dict[str, str]:
    """``{"name", "key"}`` of a measured-accuracy function for a study's settings: ``key`` hashes the function's
    qualified name and its module's source file (the function's own source when the file cannot be read)."""
    qualname = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}"
    h = hashlib.sha256(qualname.encode())
    try:
        source = inspect.getsourcefile(fn)
        h.update(Path(source).read_bytes() if source else inspect.getsource(fn).encode())
    except (OSError, TypeError):
        h.update(repr(fn).encode())
    return {"name": name or qualname, "key": h.hexdigest()[:16]}


def measure(fn: AccuracyFunction, variant: Variant, source: str = "--accuracy") -> float:
    """``fn(variant)`` as an accuracy in [0, 1]; a :class:`SpecError` naming the function and the variant when it
    raises or returns anything else."""
    name = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"
    try:
        value = fn(variant)
    except Exception as e:  # the user's function: its failure, with where it happened, not a traceback through hwsim
        raise SpecError(source, [Problem(f"{name}(variant {variant.key})", None, f"expected an accuracy, but it raised {_where(e)}")]) from None
    got = value.get("accuracy") if isinstance(value, Mapping) else value
    ok = isinstance(got, (int, float)) and not isinstance(got, bool) and math.isfinite(got) and 0.0 <= got <= 1.0
    if not ok:
        raise SpecError(source, [Problem(f"{name}(variant {variant.key})", value,
                                         "expected an accuracy in [0, 1] (a number, or a mapping with key 'accuracy')")])  # fmt: skip
    return float(got)  # type: ignore[arg-type]


def _where(e: BaseException) -> str:
    """``Type: message at file:line`` of the innermost frame of an exception."""
    frames = traceback.extract_tb(e.__traceback__)
    at = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(e).__name__}: {e}{at}"
