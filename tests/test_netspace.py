"""The MobileNetV2-like network space (hwsim.explore.netspace) against independent truth: MobileNetV2 itself equals the
preset op for op; width and resolution variants match the MACs and parameters TensorFlow-slim publishes for its
MobileNetV2 checkpoints; seeded samples of the Once-for-All space match MAC and parameter counts written here in closed
form; the space's size equals a brute-force enumeration of a small space."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace

import pytest

from hwsim.explore.netspace import MBV2_STAGES, MOBILENETV2, OFA_SPACE, MBChoice, MBSpace, make_divisible, mobilenet, sample, space_size
from hwsim.explore.sweep import network_fingerprint
from hwsim.workloads import mobilenetv2

# tensorflow/models research/slim/nets/mobilenet/README.md, "Imagenet Checkpoints": (width, resolution) → (MACs in
# millions, parameters in millions); its classifier has 1,001 classes and its counts include biases: within 1%.
TF_SLIM = {(1.4, 224): (582, 6.06), (1.3, 224): (509, 5.34), (1.0, 224): (300, 3.47), (1.0, 192): (221, 3.47), (1.0, 160): (154, 3.47),
           (1.0, 128): (99, 3.47), (0.75, 224): (209, 2.61), (0.5, 224): (97, 1.95), (0.35, 224): (59, 1.66)}  # fmt: skip


def test_mobilenetv2_is_the_preset_op_for_op() -> None:
    assert network_fingerprint(mobilenet(MOBILENETV2, name="mobilenetv2")) == network_fingerprint(mobilenetv2())


@pytest.mark.parametrize(("width", "resolution"), list(TF_SLIM))
def test_width_and_resolution_variants_match_tf_slim(width: float, resolution: int) -> None:
    net = mobilenet(replace(MOBILENETV2, width=width, resolution=resolution))
    macs_m, params_m = TF_SLIM[width, resolution]
    assert net.macs / 1e6 == pytest.approx(macs_m, rel=0.01)
    assert net.weight_count / 1e6 == pytest.approx(params_m, rel=0.01)


def _closed_form(choice: MBChoice) -> tuple[int, int, int]:
    """MACs, weights and residual adds of a choice, block by block: expand h²·C·eC, depthwise h'²·eC·k², project
    h'²·eC·C'; a residual where the stride is 1 and the channels stay."""

    def div8(v: float) -> int:  # MobileNet's rounding, written out again
        out = max(8, int(v + 4) // 8 * 8)
        return out + 8 if out < 0.9 * v else out

    w = choice.width
    h = math.ceil(choice.resolution / 2)
    c = div8(32 * w)
    macs, params, adds = h * h * 3 * c * 9, 3 * c * 9, 0
    blocks = [(div8(16 * w), 1, 3, 1)] + [(div8(ch * w), s if j == 0 else 1, k, e)
                                           for (ch, s), stage in zip(MBV2_STAGES, choice.blocks, strict=True) for j, (k, e) in enumerate(stage)]  # fmt: skip
    for out, s, k, e in blocks:
        hidden = c * e
        if e != 1:
            macs += h * h * c * hidden
            params += c * hidden
        h = math.ceil(h / s)
        macs += h * h * hidden * k * k + h * h * hidden * out
        params += hidden * k * k + hidden * out
        adds += s == 1 and c == out
        c = out
    last = div8(1280 * max(1.0, w))
    macs += h * h * c * last + last * 1000
    params += c * last + last * 1000
    return macs, params, adds


def test_sampled_subnets_match_the_closed_form() -> None:
    rng = random.Random(0)
    space = replace(OFA_SPACE, widths=(0.5, 0.75, 1.0, 1.3), depths=(1, 2, 3, 4))
    for _ in range(60):
        choice = sample(rng, space)
        net = mobilenet(choice)
        residuals = sum(1 for op in net.ops() if op.name.endswith(".add"))
        assert (net.macs, net.weight_count, residuals) == _closed_form(choice), choice


def test_the_space_size_counts_every_network() -> None:
    """A small space enumerated by brute force: every choice builds a distinct network, as many as space_size says."""
    space = MBSpace(depths=(1, 2), kernels=(3, 5), expansions=(1, 6), widths=(1.0, 0.5), resolutions=(32, 64), stages=((8, 1), (16, 2)))
    per_stage = [tuple(itertools.product(itertools.product(space.kernels, space.expansions), repeat=d)) for d in space.depths]
    stage_choices = [b for group in per_stage for b in group]
    nets = {network_fingerprint(mobilenet(MBChoice((a, b), w, r), stages=space.stages))
            for a in stage_choices for b in stage_choices for w in space.widths for r in space.resolutions}  # fmt: skip
    assert len(nets) == space_size(space) == (4 + 16) ** 2 * 2 * 2
    assert space_size() == (9**2 + 9**3 + 9**4) ** 6 * 4


def test_make_divisible_is_torchvisions() -> None:
    """torchvision's _make_divisible on MobileNetV2's widths (0.35: a 32-channel stem becomes 16, not 8)."""
    assert [make_divisible(32 * w) for w in (0.35, 0.5, 0.75, 1.0, 1.4)] == [16, 16, 24, 32, 48]
    assert [make_divisible(16 * w) for w in (0.35, 0.5, 1.4)] == [8, 8, 24]


def test_bad_choices_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^expected 6 stages of at least one block, not depths \[1, 2\]$"):
        mobilenet(MBChoice((((3, 6),), ((3, 6), (3, 6)))))
    with pytest.raises(ValueError, match=r"^expected odd kernels"):
        mobilenet(MBChoice(tuple(((4, 6),) for _ in MBV2_STAGES)))
