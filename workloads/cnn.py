"""Convolutional presets: AlexNet, VGG-16, ResNet-18/50 and MobileNetV2, batch 1, int8.

What is counted: every conv and fully connected layer is a :class:`~hwsim.core.workload.Layer`
(MACs without bias adds; weights without biases). Max/average pooling, LRN and residual adds
are :class:`~hwsim.core.workload.TensorOp` nodes. ReLU/ReLU6 are folded into the producing layer
(no node), BatchNorm is folded into the preceding convolution's weights and bias for
inference (no node, no parameters), dropout is absent at inference, flattening is free, and
the networks end with the classifier's logits (no softmax node).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hwsim.core.workload import Network, conv2d, fully_connected

from . import _ops

__all__ = ["alexnet", "mobilenetv2", "resnet18", "resnet50", "vgg16"]


@dataclass(frozen=True)
class _Map:
    """A feature map during building: the node producing it (None: the network input), channels, square size."""

    node: str | None
    c: int
    hw: int


def _conv(net: Network, x: _Map, name: str, out: int, k: int, stride: int = 1,
          groups: int = 1, pad: int | None = None) -> _Map:  # fmt: skip
    layer = conv2d(name, in_channels=x.c, out_channels=out, in_hw=x.hw, kernel=k, stride=stride,
                   padding=(k - 1) // 2 if pad is None else pad, groups=groups)  # fmt: skip
    return _Map(net.add(layer, after=x.node), out, layer.bound("P"))


def _fc(net: Network, x: _Map, name: str, out: int) -> _Map:
    layer = fully_connected(name, in_features=x.c * x.hw * x.hw, out_features=out)
    return _Map(net.add(layer, after=x.node), out, 1)


def _maxpool(net: Network, x: _Map, name: str, k: int, stride: int, pad: int = 0) -> _Map:
    node = net.add(_ops.maxpool(name, x.c, x.hw, k, stride, pad), after=x.node)
    return _Map(node, x.c, _ops.out_size(x.hw, k, stride, pad))


def _avgpool(net: Network, x: _Map, name: str = "avgpool") -> _Map:
    return _Map(net.add(_ops.global_avgpool(name, x.c, x.hw), after=x.node), x.c, 1)


def _lrn(net: Network, x: _Map, name: str) -> _Map:
    return _Map(net.add(_ops.lrn(name, x.c * x.hw * x.hw), after=x.node), x.c, x.hw)


def _add(net: Network, name: str, a: _Map, b: _Map) -> _Map:
    assert (a.c, a.hw) == (b.c, b.hw), (name, a, b)
    node = net.add(_ops.add(name, a.c * a.hw * a.hw), after=[a.node, b.node])  # type: ignore[list-item]
    return _Map(node, a.c, a.hw)


def _classifier(net: Network, x: _Map, widths: tuple[int, ...], first: int) -> None:
    for i, w in enumerate(widths):
        x = _fc(net, x, f"fc{first + i}", w)


def alexnet() -> Network:
    """Caffe's BVLC AlexNet at 227×227: conv1 96@11×11/4, LRN after conv1/conv2, and the
    two-GPU split kept as groups=2 on conv2, conv4 and conv5 (≈0.72 GMACs, 61M weights)."""
    net = Network("alexnet")
    x = _conv(net, _Map(None, 3, 227), "conv1", 96, 11, stride=4, pad=0)
    x = _maxpool(net, _lrn(net, x, "norm1"), "pool1", 3, 2)
    x = _conv(net, x, "conv2", 256, 5, groups=2)
    x = _maxpool(net, _lrn(net, x, "norm2"), "pool2", 3, 2)
    x = _conv(net, x, "conv3", 384, 3)
    x = _conv(net, x, "conv4", 384, 3, groups=2)
    x = _conv(net, x, "conv5", 256, 3, groups=2)
    x = _maxpool(net, x, "pool5", 3, 2)
    _classifier(net, x, (4096, 4096, 1000), first=6)
    return net


def vgg16() -> Network:
    """VGG-16 (configuration D) at 224×224: 13 3×3 convs in five stages, then fc6–fc8."""
    net = Network("vgg16")
    x = _Map(None, 3, 224)
    for stage, (n, width) in enumerate(((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)), start=1):
        for j in range(1, n + 1):
            x = _conv(net, x, f"conv{stage}_{j}", width, 3)
        x = _maxpool(net, x, f"pool{stage}", 2, 2)
    _classifier(net, x, (4096, 4096, 1000), first=6)
    return net


def _shortcut(net: Network, x: _Map, name: str, out: int, stride: int) -> _Map:
    """Identity, or a 1×1 projection conv (its own layer) when the shape changes."""
    return x if stride == 1 and x.c == out else _conv(net, x, f"{name}.downsample", out, 1, stride)


def _basic_block(net: Network, x: _Map, name: str, width: int, stride: int) -> _Map:
    y = _conv(net, x, f"{name}.conv1", width, 3, stride)
    y = _conv(net, y, f"{name}.conv2", width, 3)
    return _add(net, f"{name}.add", y, _shortcut(net, x, name, width, stride))


def _bottleneck(net: Network, x: _Map, name: str, width: int, stride: int) -> _Map:
    y = _conv(net, x, f"{name}.conv1", width, 1)
    y = _conv(net, y, f"{name}.conv2", width, 3, stride)  # v1.5: the stride is on the 3×3
    y = _conv(net, y, f"{name}.conv3", 4 * width, 1)
    return _add(net, f"{name}.add", y, _shortcut(net, x, name, 4 * width, stride))


def _resnet(name: str, block: Callable[[Network, _Map, str, int, int], _Map], depths: tuple[int, ...]) -> Network:
    net = Network(name)
    x = _conv(net, _Map(None, 3, 224), "conv1", 64, 7, stride=2)
    x = _maxpool(net, x, "maxpool", 3, 2, pad=1)
    for stage, (n, width) in enumerate(zip(depths, (64, 128, 256, 512), strict=True), start=1):
        for j in range(n):
            x = block(net, x, f"layer{stage}.{j}", width, 2 if j == 0 and stage > 1 else 1)
    _fc(net, _avgpool(net, x), "fc", 1000)
    return net


def resnet18() -> Network:
    """ResNet-18 at 224×224 (torchvision): basic blocks [2, 2, 2, 2], BN folded into the convs."""
    return _resnet("resnet18", _basic_block, (2, 2, 2, 2))


def resnet50() -> Network:
    """ResNet-50 v1.5 at 224×224 (torchvision): bottlenecks [3, 4, 6, 3] with the stride on the
    3×3 conv; 53 convs (incl. 4 projection shortcuts) and one fc, BN folded into the convs."""
    return _resnet("resnet50", _bottleneck, (3, 4, 6, 3))


def _inverted_residual(net: Network, x: _Map, name: str, out: int, stride: int, expand: int) -> _Map:
    y = _conv(net, x, f"{name}.expand", x.c * expand, 1) if expand != 1 else x
    y = _conv(net, y, f"{name}.dw", y.c, 3, stride, groups=y.c)
    y = _conv(net, y, f"{name}.project", out, 1)  # linear bottleneck: no activation
    return _add(net, f"{name}.add", y, x) if stride == 1 and x.c == out else y


# (expansion t, output channels c, repeats n, first stride s), as in the paper's Table 2.
_MOBILENETV2 = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)  # fmt: skip


def mobilenetv2() -> Network:
    """MobileNetV2 1.0 at 224×224 (torchvision ``features.N`` numbering): 17 inverted
    residuals (expand 1×1, depthwise 3×3, linear project 1×1), BN folded, ReLU6 folded."""
    net = Network("mobilenetv2")
    x = _conv(net, _Map(None, 3, 224), "features.0.conv", 32, 3, stride=2)
    i = 1
    for t, c, n, s in _MOBILENETV2:
        for j in range(n):
            x = _inverted_residual(net, x, f"features.{i}", c, s if j == 0 else 1, t)
            i += 1
    x = _conv(net, x, f"features.{i}.conv", 1280, 1)
    _fc(net, _avgpool(net, x), "classifier", 1000)
    return net
