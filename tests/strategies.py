"""Hypothesis strategies: small random layers, architectures and valid mappings."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import strategies as st

from hwsim.core.arch import Architecture, Level, MacUnit, SpatialAxis
from hwsim.core.mapping import Mapping, check_mapping
from hwsim.core.workload import DIMS, OPERANDS, Layer, batched_matmul, conv2d, gemm
from hwsim.cost.precision import MAC_KINDS
from hwsim.cost.sparsity import FORMATS


@st.composite
def small_layers(draw: st.DrawFn) -> Layer:
    kind = draw(st.sampled_from(["conv", "conv", "conv", "gemm", "matmul", "depthwise"]))
    if kind == "gemm":
        return gemm("g", M=draw(st.integers(1, 6)), N=draw(st.integers(1, 6)), K=draw(st.integers(1, 6)))
    if kind == "matmul":
        return batched_matmul("m", batch=draw(st.integers(1, 3)), M=draw(st.integers(1, 4)), N=draw(st.integers(1, 4)),
                              K=draw(st.integers(1, 4)))  # fmt: skip
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    dilation = draw(st.sampled_from([1, 1, 1, 2]))
    hw = draw(st.integers(dilation * (kernel - 1) + 1, dilation * (kernel - 1) + 5))
    if kind == "depthwise":
        ch = draw(st.integers(1, 4))
        return conv2d("dw", in_channels=ch, out_channels=ch, groups=ch, in_hw=hw, kernel=kernel, stride=stride, dilation=dilation)
    return conv2d(
        "c", in_channels=draw(st.integers(1, 3)), out_channels=draw(st.integers(1, 4)), in_hw=hw,
        kernel=kernel, stride=stride, dilation=dilation, batch=draw(st.integers(1, 2)),
    )  # fmt: skip


def _split(draw: st.DrawFn, bound: int, slots: int, pad: bool) -> list[int]:
    """Factors of ``bound`` over ``slots`` slots; with ``pad``, the first factor may over-cover."""
    factors = [1] * slots
    if pad and bound > 2 and draw(st.booleans()):
        inner = draw(st.integers(2, bound - 1))
        k = draw(st.integers(1, slots - 1))
        factors[0] = math.ceil(bound / inner)
        factors[k] = math.ceil(bound / factors[0])  # the smallest inner factor for that outer one
        return factors
    n, p = bound, 2
    while n > 1:
        while n % p == 0:
            factors[draw(st.integers(0, slots - 1))] *= p
            n //= p
        p += 1
    return factors


@st.composite
def cases(draw: st.DrawFn) -> tuple[Layer, Architecture, Mapping]:
    """A small layer, a random 3–4 level architecture with 1–3 axes, and a valid mapping."""
    layer = draw(small_layers())
    n_levels = draw(st.integers(2, 4))
    levels = [Level("DRAM", "dram", OPERANDS, None, 64)]
    for i in range(1, n_levels):
        keeps = tuple(op for op in OPERANDS if draw(st.booleans())) or (draw(st.sampled_from(OPERANDS)),)
        levels.append(Level(f"L{i}", "sram", keeps, 1e12, 16))
    n_axes = draw(st.integers(0, 3))
    below = sorted(draw(st.integers(0, n_levels - 1)) for _ in range(n_axes))
    axes_spec = [(f"A{j}", levels[b].name, draw(st.booleans()), draw(st.booleans())) for j, b in enumerate(below)]
    slots = n_levels + n_axes
    temporal: list[list[tuple[str, int]]] = [[] for _ in range(n_levels)]
    spatial: list[list[tuple[str, int]]] = [[] for _ in range(n_axes)]
    out_rel = layer.operand("outputs").relevant_dims
    for d, b in layer.bounds:
        fs = _split(draw, b, slots, pad=True)
        for i in range(n_levels):
            temporal[i].append((d, fs[i]))
        for j in range(n_axes):
            if not axes_spec[j][3] and d not in out_rel:
                temporal[n_levels - 1] = [(dd, f * fs[n_levels + j] if dd == d else f) for dd, f in temporal[n_levels - 1]]
            else:
                spatial[j].append((d, fs[n_levels + j]))
    temporal = [draw(st.permutations(t)) for t in temporal]
    bypass = [(lv.name, o) for lv in levels[1:] for o in lv.keeps if draw(st.integers(0, 3)) == 0]
    mapping = Mapping.build(temporal, spatial, bypass)
    axes = tuple(SpatialAxis(name, max(1, mapping.spatial_factor(j)), lv, DIMS, mc, red) for j, (name, lv, mc, red) in enumerate(axes_spec))
    arch = Architecture("random", tuple(levels), axes, MacUnit(energy_pj=0.2), 1e9, 45)
    assert not check_mapping(layer, arch, mapping), check_mapping(layer, arch, mapping)
    return layer, arch, mapping


NM_PATTERNS = ("1:2", "1:4", "2:4", "3:4", "2:8")


@st.composite
def wide_cases(draw: st.DrawFn) -> tuple[Layer, Architecture, Mapping]:
    """A :func:`cases` case widened with what drift hides behind: operand widths 2–16 bits (each its own) and a
    partial-sum width, uniform or N:M sparsity, every level's compressed format per operand, word widths and
    per-word energies, and a fixed, bit-serial or bit-fusion MAC unit that may skip or gate zeros
    (unstructured, or N:M only). The loop nest, bypasses and multicast/reduction axes are :func:`cases`'."""
    layer, arch, mapping = draw(cases())
    w_bits, a_bits = draw(st.integers(2, 16)), draw(st.integers(2, 16))
    layer = layer.with_bits(weights=w_bits, inputs=a_bits)
    psum = draw(st.integers(max(8, a_bits), 32))
    layer = replace(layer, operands=tuple(replace(o, psum_bits=psum) if o.is_output else o for o in layer.operands))
    patterns: dict[str, float | str] = {}
    for name in ("weights", "inputs", "outputs"):
        kind = draw(st.sampled_from(["dense", "dense", "uniform", "nm"] if name != "outputs" else ["dense", "dense", "uniform"]))
        if kind == "uniform":
            patterns[name] = draw(st.sampled_from([0.1, 0.25, 0.5, 0.7, 0.9]))
        elif kind == "nm":
            patterns[name] = draw(st.sampled_from(NM_PATTERNS))
    if patterns:
        layer = layer.with_sparsity(**patterns)
    levels = []
    for lv in arch.levels:
        formats = []
        for name in lv.keeps:
            op = layer.operand(name)
            allowed = [f for f in FORMATS if f != "nm" or ":" in op.structure or op.density >= 1.0]
            fmt = draw(st.sampled_from([None, *allowed]))
            if fmt is not None:
                formats.append((name, fmt))
        levels.append(replace(
            lv, formats=tuple(formats), word_bits=draw(st.sampled_from([8, 16, 32, 64])),
            read_energy_pj=draw(st.sampled_from([0.5, 1.0, 3.0, 12.5, 200.0])), write_energy_pj=draw(st.sampled_from([0.75, 2.0, 15.0, 240.0])),
        ))  # fmt: skip
    kind = draw(st.sampled_from(MAC_KINDS))
    native = (draw(st.sampled_from([4, 8, 16])), draw(st.sampled_from([1, 2, 8]) if kind == "bit-serial" else st.sampled_from([4, 8, 16])))
    skip = tuple(o for o in ("weights", "inputs") if draw(st.integers(0, 2)) == 0)
    gate = tuple(o for o in ("weights", "inputs") if o not in skip and draw(st.booleans()))
    mac = MacUnit(weight_bits=native[0], input_bits=native[1], energy_pj=draw(st.sampled_from([0.1, 0.2, 1.0])), kind=kind, skip=skip,
                  gate=gate, skip_structure=draw(st.sampled_from(["any", "n:m"])))  # fmt: skip
    arch = replace(arch, levels=tuple(levels), mac=mac)
    assert not check_mapping(layer, arch, mapping), check_mapping(layer, arch, mapping)
    return layer, arch, mapping


@st.composite
def one_pass_cases(draw: st.DrawFn) -> tuple[Layer, Architecture, Mapping]:
    """A :func:`cases` case behind a global buffer that keeps every operand and runs the loops DRAM ran: the whole
    layer is loaded once, so DRAM moves each tensor exactly once (its compulsory traffic)."""
    layer, arch, mapping = draw(cases())
    glb = Level("GLB", "sram", OPERANDS, 1e12, 64)
    levels = (arch.levels[0], glb, *arch.levels[1:])
    axes = tuple(replace(a, below="GLB") if a.below == arch.levels[0].name else a for a in arch.axes)
    moved = Mapping(((), *mapping.temporal), mapping.spatial, mapping.bypass)
    arch = replace(arch, levels=levels, axes=axes)
    assert not check_mapping(layer, arch, moved), check_mapping(layer, arch, moved)
    return layer, arch, moved
