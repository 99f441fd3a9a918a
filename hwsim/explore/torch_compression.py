"""A PyTorch model quantized and pruned as a co-search variant says (``pip install hwsim[torch]``), for a measured
accuracy: the variant's bits and weight sparsity per layer applied to the model's ``nn.Conv1d``/``nn.Conv2d``/
``nn.Linear`` modules, which hwsim's torch.fx importer names as the network's layers (``layer1.0.conv1``).

* **Weights**: pruned by a fixed mask (:mod:`hwsim.explore.compression`'s magnitude or N:M mask of the weights the
  model has when compressed, or masks given), then fake-quantized at the layer's weight bits with one symmetric scale
  per output channel (``axis=0``), ``max|w_k| / (2^(b−1) − 1)``: the rule of :func:`hwsim.explore.compression.quantize`.
  The module's ``weight`` becomes a :mod:`torch.nn.utils.parametrize` parametrization of the float weight it keeps, so
  fine-tuning trains the float weights through the quantizer (straight-through: the gradient of the rounding is taken
  as 1) and the mask (pruned weights get no gradient).
* **Inputs** (activations): fake-quantized at the layer's input bits with one scale per tensor (per-channel
  activation scales cannot be folded into an integer MAC) on a fixed range: the minimum and maximum seen by
  :func:`calibrate` (or given to :func:`compress` as ``calibration``), else each call's own. A non-negative range (a
  ReLU's output) is quantized unsigned, ``2^b − 1`` levels on ``[0, max]``; any other symmetrically at
  ``max(|min|, max)``. Values outside a calibrated range saturate.

The model given is never changed: :func:`compress` returns a compressed deep copy. torch is imported by this module;
hwsim imports it only when asked (a measured-accuracy plug-in or a user's code).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from hwsim.core.errors import Problem, SpecError
from hwsim.explore.compression import LayerPlan, levels, parse_sparsity, plan_of, sparsity_mask

__all__ = ["MAC_MODULES", "CompressedWeight", "InputQuantizer", "LayerPlan", "calibrate", "compress", "fake_quantize", "mac_modules", "masks_of",
           "plan_of"]

MAC_MODULES = (nn.Conv1d, nn.Conv2d, nn.Linear)
SPARSITY_EXPECTED = "expected a density in (0, 1] or N:M such as 2:4"


def mac_modules(model: nn.Module) -> list[str]:
    """The names of ``model``'s ``nn.Conv1d``/``nn.Conv2d``/``nn.Linear`` modules: the layers a plan may name
    (``plan_of(variant, mac_modules(model))``)."""
    return [n for n, m in model.named_modules() if isinstance(m, MAC_MODULES)]


def fake_quantize(x: torch.Tensor, bits: int, axis: int | None = None) -> torch.Tensor:
    """``x`` quantized symmetrically at ``bits`` bits (one scale per tensor, or per slice along ``axis``), with a
    straight-through gradient: the value of :func:`hwsim.explore.compression.quantize`, the gradient of the identity."""
    lv = levels(bits)
    a = x.detach().abs()
    peak = a.max() if axis is None else a.amax(dim=[d for d in range(x.ndim) if d != axis % x.ndim], keepdim=True)
    s = torch.where(peak > 0, peak / lv, torch.ones_like(peak))
    q = torch.clamp(torch.round(x.detach() / s), -lv, lv) * s
    return _StraightThrough.apply(x, q)


class _StraightThrough(torch.autograd.Function):
    """The value ``q`` exactly (``x + (q − x).detach()`` rounds), the gradient of the identity in ``x``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return q.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class CompressedWeight(nn.Module):
    """The parametrization of a layer's weight: masked, then fake-quantized per output channel (``bits`` None: float)."""

    mask: torch.Tensor

    def __init__(self, mask: torch.Tensor, bits: int | None) -> None:
        super().__init__()
        self.register_buffer("mask", mask)
        self.bits = bits

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        w = w * self.mask
        return w if self.bits is None else fake_quantize(w, self.bits, axis=0)


class InputQuantizer(nn.Module):
    """A layer's input fake-quantizer: one scale per tensor over the calibrated range (``low``, ``high``; NaN until
    calibrated: each call's own range), unsigned for a non-negative range."""

    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = bits
        self.observing = False
        self.register_buffer("low", torch.tensor(math.nan, dtype=torch.float64))
        self.register_buffer("high", torch.tensor(math.nan, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observing:
            lo, hi = x.detach().min().to(self.low), x.detach().max().to(self.high)
            self.low.copy_(lo if torch.isnan(self.low) else torch.minimum(self.low, lo))
            self.high.copy_(hi if torch.isnan(self.high) else torch.maximum(self.high, hi))
            return x
        calibrated = not bool(torch.isnan(self.low))
        lo = self.low.to(x.dtype) if calibrated else x.detach().min()
        hi = self.high.to(x.dtype) if calibrated else x.detach().max()
        if bool(lo >= 0):  # unsigned: 2^b − 1 levels on [0, hi]
            lv_lo, lv_hi, peak = 0, 2**self.bits - 1, hi
        else:
            lv = levels(self.bits)
            lv_lo, lv_hi, peak = -lv, lv, torch.maximum(-lo, hi)
        s = torch.where(peak > 0, peak / lv_hi, torch.ones_like(peak))
        q = torch.clamp(torch.round(x.detach() / s), lv_lo, lv_hi) * s
        return _StraightThrough.apply(x, q)


def _quantize_input(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    quantizer = module.get_submodule("input_quantizer")
    return (quantizer(args[0]), *args[1:])


def _check(model: nn.Module, plan: Mapping[str, LayerPlan], masks: Mapping[str, Any], source: str) -> None:
    modules = dict(model.named_modules())
    problems: list[Problem] = []
    for name, p in plan.items():
        module = modules.get(name)
        if not isinstance(module, MAC_MODULES):
            problems.append(Problem(f"plan.{name}", type(module).__name__ if module is not None else None,
                                    "expected the name of an nn.Conv1d, nn.Conv2d or nn.Linear module of the model"))  # fmt: skip
            continue
        for field in ("weight_bits", "input_bits"):
            b = getattr(p, field)
            if b is not None and (not isinstance(b, int) or isinstance(b, bool) or not 1 <= b <= 32):
                problems.append(Problem(f"plan.{name}.{field}", b, "expected None (float) or a width of 1 to 32 bits"))
        shape = tuple(module.weight.shape)
        if name in masks:
            if tuple(np.shape(masks[name])) != shape:
                problems.append(Problem(f"masks.{name}", list(np.shape(masks[name])), f"expected the weight's shape {list(shape)}"))
            continue
        try:
            choice = parse_sparsity(p.sparsity)
        except ValueError:
            problems.append(Problem(f"plan.{name}.sparsity", p.sparsity, SPARSITY_EXPECTED))
            continue
        if isinstance(choice, tuple) and (len(shape) < 2 or shape[1] % choice[1]):
            problems.append(Problem(f"plan.{name}.sparsity", p.sparsity,
                                    f"expected input channels a multiple of {choice[1]} (the weight is {list(shape)})"))  # fmt: skip
    problems += [Problem(f"masks.{n}", list(np.shape(m)), "expected a layer of the plan") for n, m in masks.items() if n not in plan]
    if problems:
        raise SpecError(source, problems)


def compress(
    model: nn.Module, plan: Mapping[str, LayerPlan], calibration: Iterable[Any] | None = None,
    masks: Mapping[str, Any] | None = None, source: str = "compress",
) -> nn.Module:  # fmt: skip
    """A deep copy of ``model`` with each planned layer's weights pruned and fake-quantized and its inputs
    fake-quantized (see the module docstring). ``masks`` (layer name → boolean array of the weight's shape) replace the
    masks the plan's sparsity would compute; ``calibration`` (batches of model inputs) fixes the input ranges
    (:func:`calibrate`). Every problem of the plan (unknown modules, bad bits, an N:M pattern the input channels do not
    divide, a mask of the wrong shape) is raised at once as a :class:`~hwsim.core.errors.SpecError`."""
    masks = dict(masks or {})
    _check(model, plan, masks, source)
    out = copy.deepcopy(model)
    modules = dict(out.named_modules())
    for name, p in plan.items():
        module = modules[name]
        w = module.weight.detach()
        mask = masks[name] if name in masks else sparsity_mask(w.cpu().numpy(), p.sparsity)
        mask_t = torch.as_tensor(np.asarray(mask, dtype=bool), device=w.device).to(w.dtype)
        parametrize.register_parametrization(module, "weight", CompressedWeight(mask_t, p.weight_bits))
        if p.input_bits is not None:
            module.input_quantizer = InputQuantizer(p.input_bits).to(w.device)
            module.register_forward_pre_hook(_quantize_input)
    if calibration is not None:
        calibrate(out, calibration)
    return out


def calibrate(model: nn.Module, batches: Iterable[Any]) -> nn.Module:
    """Fix every input quantizer's range to the minimum and maximum its layer sees over ``batches`` (tensors, or tuples
    of the model's inputs), the model in eval mode and the other layers' inputs unquantized; returns ``model``."""
    quantizers = [m for m in model.modules() if isinstance(m, InputQuantizer)]
    training = model.training
    for q in quantizers:
        q.low.fill_(math.nan)
        q.high.fill_(math.nan)
        q.observing = True
    try:
        model.eval()
        with torch.no_grad():
            for batch in batches:
                model(*batch) if isinstance(batch, tuple) else model(batch)
    finally:
        for q in quantizers:
            q.observing = False
        model.train(training)
    return model


def masks_of(model: nn.Module) -> dict[str, np.ndarray]:
    """The pruning masks of a compressed model (layer name → boolean array of the weight's shape): what
    :func:`compress`'s ``masks`` takes back, e.g. saved with ``numpy.savez``."""
    out: dict[str, np.ndarray] = {}
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            for p in module.parametrizations["weight"]:
                if isinstance(p, CompressedWeight):
                    out[name] = p.mask.detach().cpu().numpy().astype(bool)
    return out
