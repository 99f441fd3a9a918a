"""The network space of a NAAS/Once-for-All-style co-search, for MobileNetV2-like networks: depth per stage, kernel size
and expansion ratio per block, width multiplier and input resolution.

A network of the space is a :class:`MBChoice`; :func:`mobilenet` builds it as an hwsim :class:`~hwsim.core.workload.Network`
with MobileNetV2's skeleton (the preset :func:`hwsim.workloads.mobilenetv2`, whose conventions it keeps: batch 1, int8,
BN and ReLU6 folded, residual adds and the global pool as tensor ops, layers named ``features.N...`` as torchvision):

* a stem conv 3×3 stride 2 to ``32·w`` channels and a first inverted residual (expansion 1, depthwise 3×3) to ``16·w``,
  both fixed;
* :data:`MBV2_STAGES`, six searchable stages of inverted residuals (``c`` output channels ×w, first stride ``s``): each
  has a depth (its number of blocks) and, per block, a depthwise kernel ``k`` (padding ``(k−1)/2``) and an expansion
  ratio ``e`` (the 1×1 expand to ``e·C_in`` channels; no expand when ``e = 1``); a block keeps a residual add when its
  stride is 1 and its channels are unchanged;
* a final 1×1 conv to ``max(1280, 1280·w)`` channels, the global average pool and the 1,000-way classifier;
* channels ``c·w`` rounded to multiples of 8 (at least 8, not below 90% of ``c·w``), MobileNet's ``_make_divisible``.

:data:`OFA_SPACE` is the Once-for-All MobileNet space's choices: depth 2, 3 or 4 per stage, kernel 3, 5 or 7 and
expansion 3, 4 or 6 per block, resolutions 128 to 224 in steps of 32. :func:`space_size` counts its networks;
:func:`sample` draws one, seeded. MobileNetV2 itself is the choice of depths (2, 3, 4, 3, 3, 1), kernel 3 and
expansion 6 everywhere at 224: :data:`MOBILENETV2`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hwsim.core.workload import Network, conv2d, fully_connected
from hwsim.workloads import _ops

__all__ = ["MBV2_STAGES", "MOBILENETV2", "OFA_SPACE", "MBChoice", "MBSpace", "make_divisible", "mobilenet", "sample", "space_size"]

# (output channels, first stride) of MobileNetV2's six searchable stages (the paper's Table 2, after its first block)
MBV2_STAGES: tuple[tuple[int, int], ...] = ((24, 2), (32, 2), (64, 2), (96, 1), (160, 2), (320, 1))


def make_divisible(value: float, divisor: int = 8) -> int:
    """MobileNet's channel rounding: the nearest multiple of ``divisor`` (at least ``divisor``), raised by one step when
    that loses more than 10% of ``value``."""
    out = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * value else out


@dataclass(frozen=True)
class MBChoice:
    """One network of the space: per stage a tuple of (kernel, expansion) per block (its length is the stage's depth),
    the width multiplier and the input resolution."""

    blocks: tuple[tuple[tuple[int, int], ...], ...]
    width: float = 1.0
    resolution: int = 224

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(stage) for stage in self.blocks)


@dataclass(frozen=True)
class MBSpace:
    """The choices a search draws from: depths, kernels and expansions for every stage and block, widths, resolutions."""

    depths: tuple[int, ...] = (2, 3, 4)
    kernels: tuple[int, ...] = (3, 5, 7)
    expansions: tuple[int, ...] = (3, 4, 6)
    widths: tuple[float, ...] = (1.0,)
    resolutions: tuple[int, ...] = (128, 160, 192, 224)
    stages: tuple[tuple[int, int], ...] = field(default=MBV2_STAGES)


OFA_SPACE = MBSpace()
MOBILENETV2 = MBChoice(tuple(((3, 6),) * d for d in (2, 3, 4, 3, 3, 1)))


def space_size(space: MBSpace = OFA_SPACE) -> int:
    """How many networks the space holds: per stage Σ_d (kernels·expansions)^d, over stages, times widths and resolutions."""
    per_block = len(space.kernels) * len(space.expansions)
    per_stage = sum(per_block**d for d in space.depths)
    return per_stage ** len(space.stages) * len(space.widths) * len(space.resolutions)


def sample(rng: random.Random, space: MBSpace = OFA_SPACE) -> MBChoice:
    """A network drawn uniformly per choice (depth, then each block's kernel and expansion; width; resolution)."""
    blocks = tuple(tuple((rng.choice(space.kernels), rng.choice(space.expansions)) for _ in range(rng.choice(space.depths)))
                   for _ in space.stages)  # fmt: skip
    return MBChoice(blocks, rng.choice(space.widths), rng.choice(space.resolutions))


def mobilenet(choice: MBChoice, stages: tuple[tuple[int, int], ...] = MBV2_STAGES, name: str = "mbnet") -> Network:
    """The network of ``choice`` (see the module docstring); ``ValueError`` for a choice the skeleton cannot hold."""
    if len(choice.blocks) != len(stages) or any(not stage for stage in choice.blocks):
        raise ValueError(f"expected {len(stages)} stages of at least one block, not depths {list(choice.depths)}")
    if any(k % 2 == 0 or k < 1 or e < 1 for stage in choice.blocks for k, e in stage) or choice.width <= 0 or choice.resolution < 32:
        raise ValueError(f"expected odd kernels, expansions ≥ 1, a positive width and a resolution ≥ 32, not {choice}")
    net = Network(name)
    w = choice.width

    def conv(x: tuple[str | None, int, int], layer_name: str, out: int, k: int, stride: int = 1, groups: int = 1) -> tuple[str, int, int]:
        node, c, hw = x
        layer = conv2d(layer_name, in_channels=c, out_channels=out, in_hw=hw, kernel=k, stride=stride, padding=(k - 1) // 2, groups=groups)
        return net.add(layer, after=node), out, layer.bound("P")

    def block(x: tuple[str | None, int, int], prefix: str, out: int, stride: int, k: int, e: int) -> tuple[str, int, int]:
        y = conv(x, f"{prefix}.expand", x[1] * e, 1) if e != 1 else x
        y = conv(y, f"{prefix}.dw", y[1], k, stride, groups=y[1])
        y = conv(y, f"{prefix}.project", out, 1)
        if stride == 1 and x[1] == out:
            return net.add(_ops.add(f"{prefix}.add", out * y[2] * y[2]), after=[x[0], y[0]]), out, y[2]  # type: ignore[list-item]
        return y

    x = conv((None, 3, choice.resolution), "features.0.conv", make_divisible(32 * w), 3, stride=2)
    x = block(x, "features.1", make_divisible(16 * w), 1, 3, 1)
    i = 2
    for (c, s), stage in zip(stages, choice.blocks, strict=True):
        for j, (k, e) in enumerate(stage):
            x = block(x, f"features.{i}", make_divisible(c * w), s if j == 0 else 1, k, e)
            i += 1
    x = conv(x, f"features.{i}.conv", make_divisible(1280 * max(1.0, w)), 1)
    pooled = net.add(_ops.global_avgpool("avgpool", x[1], x[2]), after=x[0])
    net.add(fully_connected("classifier", in_features=x[1], out_features=1000), after=pooled)
    return net
