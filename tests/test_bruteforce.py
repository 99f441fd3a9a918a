"""The analytical access counts equal a brute-force walk of every iteration, exactly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from hwsim.analytical import access_counts
from hwsim.bruteforce import brute_force_counts
from hwsim.mapping import Mapping
from hwsim.workload import conv2d
from tests.strategies import cases


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(cases())
def test_analytical_equals_brute_force(case):
    layer, arch, mapping = case
    assert access_counts(layer, arch, mapping) == brute_force_counts(layer, arch, mapping)


def test_halo_union_is_counted_once_under_multicast():
    # 1-D conv, P=4 outputs, R=3 taps, stride 1: four PEs each need 3 inputs, 6 distinct in all.
    from tests.strategies import Architecture, Level, MacUnit, SpatialAxis

    layer = conv2d("c", in_channels=1, out_channels=1, in_hw=(6, 1), kernel=(3, 1))
    levels = (Level("DRAM", "dram", ("weights", "inputs", "outputs"), None, 64), Level("RF", "regfile", ("inputs",), 64, 8))
    for multicast, want in ((True, 6), (False, 12)):
        arch = Architecture("a", levels, (SpatialAxis("x", 4, "DRAM", multicast=multicast),), MacUnit(), 1e9, 45)
        m = Mapping.build([[], [("R", 3)]], [[("P", 4)]])
        counts = access_counts(layer, arch, m)
        assert counts[("DRAM", "inputs")].reads == want
        assert counts[("RF", "inputs")].fills == 12
        assert counts == brute_force_counts(layer, arch, m)
