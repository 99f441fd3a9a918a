"""Fuzzed importer inputs — SCALE-Sim .cfg/.csv, Timeloop YAML, ONNX files — and mapping constraints end in a
result or in hwsim's own error, never another exception. A fast set; benchmarks/fuzz_loaders.py runs the long job
and benchmarks/atheris_loaders.py the coverage-guided one."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_importers import (
    SCALESIM_CFG,
    SCALESIM_CONV,
    SCALESIM_GEMM,
    TIMELOOP_ARCH,
    TIMELOOP_ARCH_V03,
    TIMELOOP_PROBLEM,
    constrained_mapping,
    load_onnx_bytes,
    load_scalesim_cfg,
    load_scalesim_topology,
    load_timeloop_data,
    load_timeloop_text,
    map_with_constraints,
    mutated_onnx,
    mutated_text,
    timeloop_seed_dicts,
)
from tests.fuzzing import mutated

FAST = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
OK = ("ok", "spec-error")


def test_seeds_are_valid() -> None:
    assert load_scalesim_cfg(SCALESIM_CFG) == "ok"
    assert load_scalesim_topology(SCALESIM_CONV) == "ok" and load_scalesim_topology(SCALESIM_GEMM) == "ok"
    assert load_timeloop_text(TIMELOOP_PROBLEM) == "ok" and load_timeloop_text(TIMELOOP_ARCH) == "ok"
    assert load_timeloop_text(TIMELOOP_ARCH_V03) == "ok"


@FAST
@given(mutated_text(SCALESIM_CFG))
def test_scalesim_config_text(text: str) -> None:
    assert load_scalesim_cfg(text) in OK


@FAST
@given(st.sampled_from([SCALESIM_CONV, SCALESIM_GEMM]).flatmap(mutated_text))
def test_scalesim_topology_text(text: str) -> None:
    assert load_scalesim_topology(text) in OK


@FAST
@given(st.sampled_from([TIMELOOP_PROBLEM, TIMELOOP_ARCH, TIMELOOP_ARCH_V03]).flatmap(mutated_text))
def test_timeloop_text(text: str) -> None:
    assert load_timeloop_text(text) in OK


SEEDS = timeloop_seed_dicts()


@FAST
@given(st.sampled_from(range(len(SEEDS))).flatmap(lambda i: mutated(SEEDS[i])))
def test_timeloop_data(doc: object) -> None:
    assert load_timeloop_data(doc) in OK


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(mutated_onnx())
def test_onnx_files(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    pytest.importorskip("onnx")
    assert load_onnx_bytes(data, tmp_path_factory.getbasetemp()) in OK


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(constrained_mapping())
def test_mapping_constraints(case: tuple) -> None:
    assert map_with_constraints(case) in OK
