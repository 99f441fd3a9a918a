"""The compiled batch model equals the reference analytical model on random cases."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim.analytical import evaluate_mapping
from hwsim.fastmodel import Problem, decode, encode, evaluate_batch
from hwsim.mapping import Mapping, check_mapping
from tests.strategies import cases


def _priced(arch, draw_floats):
    levels = []
    for i, lv in enumerate(arch.levels):
        rd, wr, rbw, wbw = draw_floats[i % len(draw_floats)]
        levels.append(replace(lv, read_energy_pj=rd, write_energy_pj=wr, read_bandwidth_bits_per_cycle=rbw,
                              write_bandwidth_bits_per_cycle=wbw, ports=1 + i % 2, double_buffered=bool(i % 3),
                              size_bytes=None if i == 0 else 1e6, leakage_mw=0.01 * i))  # fmt: skip
    return replace(arch, levels=tuple(levels))


def fastmodel_padding_ok(factors, layer):
    from hwsim.fastmodel import padding_ok
    from hwsim.workload import DIMS

    return bool(padding_ok(factors[None], np.array([layer.dims[d] for d in DIMS]))[0])


prices = st.lists(
    st.tuples(st.floats(0.01, 100), st.floats(0.01, 100), st.sampled_from([None, 4.0, 64.0]), st.sampled_from([None, 8.0, 256.0])),
    min_size=1, max_size=4,
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(cases(), prices)
def test_batch_model_equals_reference(case, price):
    layer, arch, mapping = case
    if mapping.bypass:
        mapping = Mapping(mapping.temporal, mapping.spatial)
    arch = _priced(arch, price)
    if check_mapping(layer, arch, mapping):
        return
    ref = evaluate_mapping(layer, arch, mapping)
    factors, orders = encode(mapping, arch)
    assert decode(factors, orders, arch).nest(arch) == mapping.nest(arch)
    got = evaluate_batch(Problem.build(layer, arch), factors[None], orders[None])[0]
    assert got[0] == pytest.approx(ref.energy_pj, rel=1e-9)
    assert got[1] == pytest.approx(ref.cycles, rel=1e-9)
    assert got[2] == 1.0 and fastmodel_padding_ok(factors, layer)


def test_capacity_flag_matches_check_mapping():
    from hwsim.presets import load_arch
    from hwsim.workload import conv2d

    arch = load_arch("eyeriss")
    layer = conv2d("ref", in_channels=3, out_channels=32, in_hw=225, kernel=3, stride=2, psum_bits=16)
    good = Mapping.build([[("P", 8), ("Q", 2), ("K", 4)], [("P", 14), ("Q", 4)], [], [("R", 3)], [("K", 8)]],
                         [[("Q", 14)], [("C", 3), ("S", 3)]])  # fmt: skip
    bad = Mapping.build([[("P", 8), ("Q", 2)], [("P", 14), ("Q", 4)], [], [("R", 3)], [("K", 32)]],
                        [[("Q", 14)], [("C", 3), ("S", 3)]])  # fmt: skip
    prob = Problem.build(layer, arch)
    for m, fits in ((good, 1.0), (bad, 0.0)):
        f, o = encode(m, arch)
        assert evaluate_batch(prob, f[None], o[None])[0, 2] == fits
        assert (not any(p.path.startswith("capacity") for p in check_mapping(layer, arch, m))) == bool(fits)
    f, o = encode(good, arch)
    out = evaluate_batch(prob, np.repeat(f[None], 5, 0), np.repeat(o[None], 5, 0))
    assert np.all(out == out[0])
