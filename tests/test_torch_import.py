"""PyTorch models written here in plain torch.nn, imported through ONNX export and torch.fx and
checked against the zoo's own definitions. Skipped when torch (the ``hwsim[torch]`` extra) is absent."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from hwsim.core.workload import Network  # noqa: E402
from hwsim.workloads import PRESETS  # noqa: E402
from hwsim.workloads.transformers import bert_base  # noqa: E402


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Any) -> Any:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """torchvision's ResNet-18, written out (torchvision itself is not needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, width in enumerate((64, 128, 256, 512), start=1):
            setattr(self, f"layer{i}", nn.Sequential(BasicBlock(cin, width, 1 if i == 1 else 2), BasicBlock(width, width, 1)))
            cin = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x: Any) -> Any:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class EncoderLayer(nn.Module):
    """A BERT encoder layer (post-LayerNorm, GELU) with attention written out: Q/K/V projections,
    QKᵀ/√d per head, softmax, ·V, the output projection, residual adds and LayerNorms."""

    def __init__(self, dim: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.fc1, self.fc2 = nn.Linear(dim, ffn), nn.Linear(ffn, dim)
        self.gelu = nn.GELU()

    def forward(self, x: Any) -> Any:
        b, s, dim = x.shape
        d = dim // self.heads

        def split(t: Any) -> Any:
            return t.view(b, s, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        p = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / d**0.5, dim=-1)
        a = torch.matmul(p, v).transpose(1, 2).reshape(b, s, dim)
        h = self.norm1(x + self.o(a))
        return self.norm2(h + self.fc2(self.gelu(self.fc1(h))))


def _shapes(net: Network) -> list[tuple[str, tuple[tuple[str, int], ...]]]:
    return [(layer.kind, layer.bounds) for layer in net.layers()]


def _export(module: Any, example: Any, path: Any) -> None:
    with warnings.catch_warnings():  # the TorchScript exporter announces its deprecation
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (example,), str(path), dynamo=False, opset_version=17)


def test_resnet18_through_onnx_equals_the_preset(tmp_path) -> None:
    from hwsim.frontend.importers.onnx import load_onnx

    path = tmp_path / "resnet18.onnx"
    _export(ResNet18(), torch.zeros(1, 3, 224, 224), path)
    net, ref = load_onnx(path), PRESETS["resnet18"]()
    assert net.macs == ref.macs == 1_814_073_344
    assert _shapes(net) == _shapes(ref)
    # Layer names are the modules' (torch calls the projection shortcut downsample.0).
    assert [n.name.replace("downsample.0", "downsample") for n in net.layers()] == [n.name for n in ref.layers()]
    assert [(op.name, op.kind) for op in net.ops() if op.macs == 0] == [(op.name, op.kind) for op in ref.ops() if op.macs == 0]


def test_bert_encoder_layer_through_onnx_equals_the_preset(tmp_path) -> None:
    from hwsim.frontend.importers.onnx import load_onnx

    seq, dim, heads, ffn = 16, 64, 4, 128
    path = tmp_path / "encoder.onnx"
    _export(EncoderLayer(dim, heads, ffn), torch.zeros(1, seq, dim), path)
    net = load_onnx(path)
    ref = bert_base(seq_len=seq, layers=1, dim=dim, heads=heads, ffn=ffn)
    assert _shapes(net) == _shapes(ref)
    assert net.macs == ref.macs
    kinds = [op.kind for op in net.ops() if op.macs == 0]
    assert kinds.count("softmax") == 1 and kinds.count("norm") == 2 and kinds.count("add") == 2


def test_resnet18_through_torch_fx_equals_the_preset() -> None:
    from hwsim.frontend.importers.torch_fx import torch_network

    net, ref = torch_network(ResNet18(), torch.zeros(1, 3, 224, 224), name="resnet18"), PRESETS["resnet18"]()
    assert net.macs == ref.macs == 1_814_073_344
    assert _shapes(net) == _shapes(ref)
    assert [n.name.replace("downsample.0", "downsample") for n in net.layers()] == [n.name for n in ref.layers()]
    assert [op for op in net.ops() if op.macs == 0] == [op for op in ref.ops() if op.macs == 0]  # pools and adds, exactly
    assert sorted(net.graph.edges) == sorted((a.replace("downsample", "downsample.0"), b.replace("downsample", "downsample.0"))
                                             for a, b in ref.graph.edges)  # fmt: skip


def test_bert_encoder_layer_through_torch_fx_equals_the_preset() -> None:
    from hwsim.frontend.importers.torch_fx import torch_network

    seq, dim, heads, ffn = 16, 64, 4, 128
    net = torch_network(EncoderLayer(dim, heads, ffn), torch.zeros(1, seq, dim))
    ref = bert_base(seq_len=seq, layers=1, dim=dim, heads=heads, ffn=ffn)
    assert _shapes(net) == _shapes(ref)
    assert [(op.kind, op.ops) for op in net.ops() if op.macs == 0] == [(op.kind, op.ops) for op in ref.ops() if op.macs == 0][2:]
    assert sorted(net.graph.predecessors("matmul_1")) == ["softmax", "v"]


def test_depthwise_conv1d_attention_modules_and_functions() -> None:
    from hwsim.core.workload import batched_matmul, conv2d, depthwise_conv2d, gemm
    from hwsim.frontend.importers.torch_fx import torch_network

    F = torch.nn.functional

    class Mixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dw = nn.Conv2d(16, 16, 3, 2, 1, groups=16)
            self.pw = nn.Conv2d(16, 32, 1)
            self.conv1d = nn.Conv1d(32, 8, 5, padding="same")
            self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
            self.pool = nn.AdaptiveAvgPool2d(2)

        def forward(self, x: Any) -> Any:
            y = self.pw(self.dw(x))  # [1, 32, 8, 8]
            z = self.conv1d(y.flatten(2))  # [1, 8, 64]
            t = z.transpose(1, 2)  # [1, 64, 8]
            a, _ = self.mha(t, t, t)
            q = a.view(1, 64, 2, 4).transpose(1, 2)
            s = F.scaled_dot_product_attention(q, q, q)
            return self.pool(s) * torch.sigmoid(s.mean())

    net = torch_network(Mixed(), torch.zeros(1, 16, 16, 16))
    layers = {layer.name: layer for layer in net.layers()}
    assert layers["dw"] == depthwise_conv2d("dw", channels=16, in_hw=16, kernel=3, stride=2, padding=1)
    assert layers["pw"] == conv2d("pw", in_channels=16, out_channels=32, in_hw=8, kernel=1)
    assert layers["conv1d"].bounds == conv2d("c", in_channels=32, out_channels=8, in_hw=(1, 64), kernel=(1, 5), padding=(0, 2)).bounds
    assert [layers[f"mha.{p}_proj"] for p in "qkv"] == [gemm(f"mha.{p}_proj", M=64, N=8, K=8) for p in "qkv"]
    assert layers["mha.qk"] == batched_matmul("mha.qk", batch=2, M=64, N=64, K=4)
    assert layers["mha.av"] == batched_matmul("mha.av", batch=2, M=64, N=4, K=64)
    assert layers["scaled_dot_product_attention.qk"] == batched_matmul("scaled_dot_product_attention.qk", batch=2, M=64, N=64, K=4)
    kinds = {op.name: op.kind for op in net.ops() if op.macs == 0}
    assert kinds == {"mha.softmax": "softmax", "scaled_dot_product_attention.softmax": "softmax", "pool": "pool", "mean": "elementwise",
                     "sigmoid": "activation", "mul": "elementwise"}  # fmt: skip
    assert sorted(net.graph.predecessors("mha.q_proj")) == ["conv1d"]


def test_unsupported_modules_are_all_listed() -> None:
    from hwsim.core.errors import SpecError
    from hwsim.frontend.importers.torch_fx import torch_network

    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(4, 4, 2, 2)
            self.conv = nn.Conv2d(4, 4, 1)
            self.pix = nn.PixelShuffle(2)

        def forward(self, x: Any) -> Any:
            return torch.fft.fft2(self.pix(self.conv(self.up(x)))).real

    with pytest.raises(SpecError) as info:
        torch_network(Odd(), torch.zeros(1, 4, 8, 8))
    assert str(info.value) == (
        "Odd: 4 problems\n"
        "- node 'up': expected a module hwsim imports (see hwsim.frontend.importers.torch_fx), not 'up (ConvTranspose2d)'\n"
        "- node 'pix': expected a module hwsim imports (see hwsim.frontend.importers.torch_fx), not 'pix (PixelShuffle)'\n"
        "- node 'fft_fft2': expected a function or method hwsim imports (see hwsim.frontend.importers.torch_fx), not 'fft_fft2'\n"
        "- node 'getattr_1': expected a function or method hwsim imports (see hwsim.frontend.importers.torch_fx), not 'getattr'"
    )

    class Branchy(nn.Module):
        def forward(self, x: Any) -> Any:
            return x if x.sum() > 0 else -x

    with pytest.raises(SpecError, match=r"^Branchy: 1 problem\n- module: expected a module torch.fx can trace \(TraceError"):
        torch_network(Branchy(), torch.zeros(2))
