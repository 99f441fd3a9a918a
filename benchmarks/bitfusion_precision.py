"""ResNet-18 on the BitFusion preset at 8/8, 4/4, 2/2 and a mixed per-layer policy.

    python benchmarks/bitfusion_precision.py

The mixed policy keeps the first convolution and the classifier at 8 bits (the usual
sensitivity-driven choice), 3×3 convolutions at W4A4 and the 1×1 projection shortcuts at W2A4.
Prints latency, energy and the compute-cycle speed-up over 8/8, and the same for a
compute-bound layer under one fixed schedule (BitFusion: 16× at 2b×2b, 4× at 4b×4b).
"""

from __future__ import annotations

from hwsim.analytical import evaluate_mapping
from hwsim.evaluate import evaluate_network
from hwsim.mapper import map_layer
from hwsim.presets import load_arch, load_workload
from hwsim.workload import conv2d


def main() -> None:
    arch = load_arch("bitfusion")
    net = load_workload("resnet18")
    policies = {
        "W8A8": net.with_bits(8, 8),
        "W4A4": net.with_bits(4, 4),
        "W2A2": net.with_bits(2, 2),
    }
    mixed = {}
    for layer in net.layers():
        if layer.name in ("conv1", "fc"):
            mixed[layer.name] = (8, 8)
        elif layer.bound("R") == 1:
            mixed[layer.name] = (2, 4)
        else:
            mixed[layer.name] = (4, 4)
    policies["mixed"] = net.with_bits(per_layer=mixed)
    base = None
    print(f"{'policy':<7} {'latency ms':>11} {'energy mJ':>10} {'compute cycles':>15} {'speed-up':>9} {'pJ/MAC':>7}")
    for name, variant in policies.items():
        r = evaluate_network(arch, variant)
        compute = sum(x.compute_cycles for x in r.reports if x.macs)
        base = base or r.latency_s
        print(f"{name:<7} {r.latency_s * 1e3:11.3f} {r.energy_pj / 1e9:10.3f} {compute:15,.0f} {base / r.latency_s:9.2f}"
              f" {r.energy_pj / r.macs:7.3f}")  # fmt: skip
    layer = conv2d("conv", in_channels=256, out_channels=256, in_hw=14, kernel=3, padding=1)
    m = map_layer(layer, arch).mapping
    assert m is not None
    c8 = evaluate_mapping(layer, arch, m).compute_cycles
    for w, a in ((8, 8), (4, 4), (2, 2)):
        c = evaluate_mapping(layer.with_bits(weights=w, inputs=a), arch, m, check=False).compute_cycles
        print(f"one schedule of {layer!r}: W{w}A{a} compute cycles {c:,.0f} ({c8 / c:.0f}× of W8A8)")


if __name__ == "__main__":
    main()
