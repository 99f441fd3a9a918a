"""Fuzzed specs, YAML text and command lines end in a result or in hwsim's own error — never a crash.

The fast set here runs about 10,000 inputs; benchmarks/fuzz_loaders.py runs the long job.
"""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim.spec import parse_yaml
from tests.fuzzing import WORKLOAD, load_arch_dict, load_text, load_workload_dict, mutated, preset_dicts

PRESET_DICTS = preset_dicts()
FAST = settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@FAST
@given(st.sampled_from(range(len(PRESET_DICTS))).flatmap(lambda i: mutated(PRESET_DICTS[i])))
def test_architecture_dicts(doc):
    assert load_arch_dict(doc) in ("ok", "spec-error")


@FAST
@given(mutated(WORKLOAD))
def test_workload_dicts(doc):
    assert load_workload_dict(doc) in ("ok", "spec-error")


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.sampled_from(range(len(PRESET_DICTS))), st.data())
def test_yaml_text_truncated_and_corrupted(i, data):
    text = yaml.safe_dump(PRESET_DICTS[i], allow_unicode=True)
    cut = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.text(max_size=6))
    pos = data.draw(st.integers(0, cut))
    assert load_text(text[:pos] + junk + text[pos:cut], "arch") in ("ok", "spec-error")


def test_alias_bombs_and_deep_nesting_are_refused_quickly():
    import time

    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    t = time.perf_counter()
    assert load_text(bomb, "arch") == "spec-error"
    assert load_text("[" * 5000 + "]" * 5000, "arch") == "spec-error"
    assert time.perf_counter() - t < 5
    try:
        parse_yaml("!!python/object/apply:os.system ['echo pwned']", "x.yaml")
    except Exception as e:
        assert type(e).__name__ == "SpecError"
