"""ResNet-18 on the BitFusion preset at 8/8, 4/4, 2/2 and a mixed per-layer policy.

    python benchmarks/bitfusion_precision.py

The mixed policy keeps the first convolution and the classifier at 8 bits (the usual
sensitivity-driven choice), 3×3 convolutions at W4A4 and the 1×1 projection shortcuts at W2A4.
Prints latency, energy and the compute-cycle speed-up over 8/8, and the same for a
compute-bound layer under one fixed schedule (BitFusion: 16× at 2b×2b, 4× at 4b×4b); writes them to
benchmarks/results/bitfusion_precision.json.
"""

from __future__ import annotations

from results_io import write_results

from hwsim.core.workload import conv2d
from hwsim.cost.analytical import evaluate_mapping
from hwsim.evaluate import evaluate_network
from hwsim.frontend.presets import load_arch, load_workload
from hwsim.mapper import map_layer


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
    rows = {}
    print(f"{'policy':<7} {'latency ms':>11} {'energy mJ':>10} {'compute cycles':>15} {'speed-up':>9} {'pJ/MAC':>7}")
    for name, variant in policies.items():
        r = evaluate_network(arch, variant)
        compute = sum(x.compute_cycles for x in r.reports if x.macs)
        base = base or r.latency_s
        print(f"{name:<7} {r.latency_s * 1e3:11.3f} {r.energy_pj / 1e9:10.3f} {compute:15,.0f} {base / r.latency_s:9.2f}"
              f" {r.energy_pj / r.macs:7.3f}")  # fmt: skip
        rows[name] = {"latency_ms": r.latency_s * 1e3, "energy_mj": r.energy_pj / 1e9, "compute_cycles": compute,
                      "speedup": base / r.latency_s, "pj_per_mac": r.energy_pj / r.macs}  # fmt: skip
    layer = conv2d("conv", in_channels=256, out_channels=256, in_hw=14, kernel=3, padding=1)
    m = map_layer(layer, arch).mapping
    assert m is not None
    c8 = evaluate_mapping(layer, arch, m).compute_cycles
    schedule = {}
    for w, a in ((8, 8), (4, 4), (2, 2)):
        c = evaluate_mapping(layer.with_bits(weights=w, inputs=a), arch, m, check=False).compute_cycles
        print(f"one schedule of {layer!r}: W{w}A{a} compute cycles {c:,.0f} ({c8 / c:.0f}× of W8A8)")
        schedule[f"W{w}A{a}"] = {"compute_cycles": c, "speedup": c8 / c}
    write_results("bitfusion_precision", {"resnet18": rows, "one_schedule": {"layer": repr(layer), "policies": schedule}},
                  measures="ResNet-18 on the BitFusion preset per precision policy (W8A8, W4A4, W2A2, mixed): latency, energy, "
                  "compute cycles and the latency speed-up over W8A8, each layer mapped by the default mapper; and one "
                  "compute-bound 3×3 conv under one fixed schedule: compute cycles and speed-up over W8A8.")  # fmt: skip


if __name__ == "__main__":
    main()
