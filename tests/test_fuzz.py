"""Fuzzed specs, YAML text and command lines end in a result or in hwsim's own error — never a crash.

The fast set here runs about 10,000 inputs; benchmarks/fuzz_loaders.py runs the long job.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim.core.errors import SpecError
from hwsim.core.spec import parse_yaml
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


def test_alias_bombs_and_deep_nesting_are_refused_quickly(tmp_path):
    """Billion-laughs and 5000-deep nesting end in SpecError within 5 s; a python/object tag is refused by
    name (PyYAML's safe loader has no constructor for it) and its command never runs (no file appears)."""
    import time

    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    t = time.perf_counter()
    assert load_text(bomb, "arch") == "spec-error"
    assert load_text("[" * 5000 + "]" * 5000, "arch") == "spec-error"
    assert time.perf_counter() - t < 5
    pwned = tmp_path / "pwned"
    with pytest.raises(SpecError) as e:
        parse_yaml(f"!!python/object/apply:os.system ['touch {pwned}']", "x.yaml")
    assert e.value.source == "x.yaml"
    assert [(p.path, p.value) for p in e.value.problems] == [("line 1, column 1", "YAML text")]
    assert "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'" in e.value.problems[0].expected
    assert not pwned.exists()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_command_lines(tmp_path_factory, data):
    """Random command lines: exit 0 or 2 (argparse or SpecError), never another exception."""
    import contextlib
    import io

    from hwsim.cli import main

    tiny = tmp_path_factory.getbasetemp() / "tiny.yaml"
    if not tiny.exists():
        tiny.write_text(yaml.safe_dump({"layers": [WORKLOAD["layers"][0], WORKLOAD["layers"][3]], "check_chaining": False}))
    value = st.one_of(st.sampled_from(["eyeriss", "tpu-v1", "nope", str(tiny), "/nonexistent.yaml", "", "-1", "0", "1e99",
                                       "W4A8", "fp16", "W0A1", "weights=2:4", "weights=1.5", "GLB.K=4", "GLB=K,C", "x=y", "ws", "🙂"]),
                      st.text(max_size=8))  # fmt: skip
    flags = ["--arch", "--workload", "--format", "--samples", "--seed", "--dataflow", "--min-utilization", "--precision",
             "--sparsity", "--fix", "--order", "--objective", "--layer", "--engine"]  # fmt: skip
    argv = [data.draw(st.sampled_from(["run", "map", "presets", "bogus"]))]
    for _ in range(data.draw(st.integers(0, 4))):
        argv += [data.draw(st.sampled_from(flags)), data.draw(value)]
    if argv[0] == "run" and "--workload" not in argv:
        argv += ["--workload", str(tiny)]
    if argv[0] == "map" and "--layer" not in argv:
        argv += ["--layer", "gemm M=8 N=8 K=8"]
    argv += ["--samples", "200"] if argv[0] in ("run", "map") and "--samples" not in argv else []
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's usage errors
            code = e.code
    assert code in (0, 2), (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()
