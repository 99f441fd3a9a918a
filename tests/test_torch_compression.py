"""A PyTorch model quantized and pruned at a variant's choices (hwsim.explore.torch_compression), checked against
numpy: the fake quantizer equals hwsim.explore.compression.quantize bit for bit (float64), the compressed layers
compute exactly F.conv2d/F.linear on numpy-quantized, numpy-masked weights and inputs, masks have density exactly N/M
or the round-counted share, gradients pass straight through the rounding and not through pruned weights.
Skipped when torch (the ``hwsim[torch]`` extra) is absent."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from hwsim.core.errors import SpecError  # noqa: E402
from hwsim.explore.compression import magnitude_mask, nm_mask, quantize, quantize_unsigned  # noqa: E402
from hwsim.explore.torch_compression import LayerPlan, compress, fake_quantize, mac_modules, masks_of, plan_of  # noqa: E402


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16 * 6 * 6, 10)).double()  # fmt: skip


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_fake_quantize_equals_numpy(bits: int) -> None:
    w = torch.randn(6, 4, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(bits)) * torch.logspace(-2, 2, 6).view(6, 1, 1, 1).double()
    assert np.array_equal(fake_quantize(w, bits, axis=0).numpy(), quantize(w.numpy(), bits, axis=0))
    assert np.array_equal(fake_quantize(w, bits).numpy(), quantize(w.numpy(), bits))


def test_fake_quantize_gradient_is_straight_through() -> None:
    w = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    g = torch.randn(4, 5, dtype=torch.float64)
    (fake_quantize(w, 3, axis=0) * g).sum().backward()
    assert w.grad is not None and torch.equal(w.grad, g)


def test_compressed_layers_compute_on_numpy_quantized_weights_and_inputs() -> None:
    """Each compressed layer's output equals F.conv2d/F.linear of its numpy-quantized input (unsigned after a ReLU,
    signed for the raw image) and of quantize(w ⊙ mask, b, axis=0); the original model is left unchanged."""
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plan = {"0": LayerPlan(4, 6, 1.0), "2": LayerPlan(3, 4, "2:4"), "5": LayerPlan(6, 5, 0.25)}
    x = torch.randn(16, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    c = compress(model, plan, calibration=[x[:8], x[8:]])
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    w0, w2, w5 = (model[i].weight.detach().numpy() for i in (0, 2, 5))
    m2, m5 = nm_mask(w2, 2, 4), magnitude_mask(w5, 0.25)
    assert {k: v.mean() for k, v in masks_of(c).items()} == {"0": 1.0, "2": 0.5, "5": 0.25}
    assert np.array_equal(masks_of(c)["2"], m2) and np.array_equal(masks_of(c)["5"], m5)
    xn = x.numpy()
    peak = max(-xn.min(), xn.max())  # signed input: symmetric at max(|min|, max) over the calibration batches
    s = peak / (2**5 - 1)
    x0 = np.clip(np.round(xn / s), -31, 31) * s
    h0 = F.conv2d(torch.from_numpy(x0), torch.from_numpy(quantize(w0, 4, axis=0)), model[0].bias, padding=1)
    with torch.no_grad():
        assert torch.equal(c[0](x), h0)
        # calibrated with the other layers' inputs unquantized: layer 2 saw relu(conv(x, Q(w0))); non-negative: unsigned
        seen = torch.relu(F.conv2d(x, torch.from_numpy(quantize(w0, 4, axis=0)), model[0].bias, padding=1))
        x2 = quantize_unsigned(np.minimum(torch.relu(h0).numpy(), float(seen.max())), 4, peak=float(seen.max()))
        h2 = F.conv2d(torch.from_numpy(x2), torch.from_numpy(quantize(w2 * m2, 3, axis=0)), model[2].bias)
        assert torch.equal(c[2](torch.relu(h0)), h2)
        seen = torch.relu(F.conv2d(seen, torch.from_numpy(quantize(w2 * m2, 3, axis=0)), model[2].bias)).flatten(1)
        a3 = np.minimum(torch.relu(h2).flatten(1).numpy(), float(seen.max()))
        h5 = F.linear(torch.from_numpy(quantize_unsigned(a3, 5, peak=float(seen.max()))), torch.from_numpy(quantize(w5 * m5, 6, axis=0)), model[5].bias)
        assert torch.allclose(c(x), h5, rtol=0, atol=1e-12)


def test_calibrated_range_saturates_and_uncalibrated_follows_each_call() -> None:
    model = nn.Linear(4, 2).double()
    c = compress(model, {"": LayerPlan(None, 4)}, calibration=[torch.tensor([[0.0, 1.0, 2.0, 3.0]], dtype=torch.float64)])
    q = c.input_quantizer
    assert (float(q.low), float(q.high)) == (0.0, 3.0)
    assert q(torch.tensor([[10.0, 3.0, 0.2, -1.0]], dtype=torch.float64)).tolist() == [[3.0, 3.0, 0.2, 0.0]]
    free = compress(model, {"": LayerPlan(None, 2)}).input_quantizer
    assert free(torch.tensor([-3.0, 0.9, 1.6, 3.0], dtype=torch.float64)).tolist() == [-3.0, 0.0, 3.0, 3.0]


def test_gradients_reach_only_kept_weights() -> None:
    """Fine-tuning through the compressed weight: the float weight's gradient is the effective weight's, times the mask."""
    model = _model()
    c = compress(model, {"2": LayerPlan(4, None, "1:4")})
    layer = c[2]
    x = torch.randn(2, 8, 6, 6, dtype=torch.float64)
    eff = layer.weight.detach().clone().requires_grad_(True)
    F.conv2d(x, eff, layer.bias).square().sum().backward()
    layer(x).square().sum().backward()
    original = layer.parametrizations.weight.original
    mask = torch.from_numpy(masks_of(c)["2"]).double()
    assert original.grad is not None and eff.grad is not None
    assert torch.allclose(original.grad, eff.grad * mask) and bool((original.grad[mask == 0] == 0).all())


def test_plan_of_a_variant_network_imported_from_the_model() -> None:
    """hwsim's torch.fx import names the layers after the modules: a variant's bits and sparsity reach them."""
    from hwsim.frontend.importers.torch_fx import torch_network

    model = _model().float()
    net = torch_network(model, torch.zeros(1, 1, 8, 8))
    g = net.graph.copy()
    g.nodes["2"]["op"] = g.nodes["2"]["op"].with_sparsity(weights="2:4").with_bits(weights=4, inputs=6)
    from hwsim.core.workload import Network

    plan = plan_of(Network(net.name, g, net.last), mac_modules(model))
    assert plan == {"0": LayerPlan(8, 8, 1.0), "2": LayerPlan(4, 6, "2:4"), "5": LayerPlan(8, 8, 1.0)}
    assert masks_of(compress(model, plan))["2"].mean() == 0.5


def test_bad_plans_are_refused_with_every_problem() -> None:
    model = _model()
    plan = {"1": LayerPlan(4, 4), "nope": LayerPlan(4, 4), "0": LayerPlan(0, 40, "2:4"), "2": LayerPlan(4, 4, 1.5)}
    with pytest.raises(SpecError) as e:
        compress(model, plan, masks={"5": np.ones((3, 3))})
    assert e.value.render() == (
        "compress: 7 problems"
        "\n- plan.1: expected the name of an nn.Conv1d, nn.Conv2d or nn.Linear module of the model, not 'ReLU'"
        "\n- plan.nope: expected the name of an nn.Conv1d, nn.Conv2d or nn.Linear module of the model, not None"
        "\n- plan.0.weight_bits: expected None (float) or a width of 1 to 32 bits, not 0"
        "\n- plan.0.input_bits: expected None (float) or a width of 1 to 32 bits, not 40"
        "\n- plan.0.sparsity: expected input channels a multiple of 4 (the weight is [8, 1, 3, 3]), not '2:4'"
        "\n- plan.2.sparsity: expected a density in (0, 1] or N:M such as 2:4, not 1.5"
        "\n- masks.5: expected a layer of the plan, not [3, 3]"
    )
