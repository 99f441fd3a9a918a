"""SCALE-Sim's config and topology files as hwsim objects, and its folding as a mapping."""

from __future__ import annotations

import re

import pytest

from hwsim.core.errors import SpecError
from hwsim.frontend.importers.scalesim import (
    load_scalesim_config,
    load_scalesim_topology,
    scalesim_config_from_text,
    scalesim_folds,
    scalesim_mapping,
    scalesim_topology_from_text,
)
from hwsim.frontend.presets import load_arch, load_workload
from tests.peers.scalesim_runner import DATA, config_text, conv_topology_text, gemm_topology_text


@pytest.mark.parametrize("dataflow, rows, cols, stationary", [("os", ("N", "P", "Q"), ("K",), "outputs"),
                                                              ("ws", ("C", "R", "S"), ("K",), "weights"),
                                                              ("is", ("C", "R", "S"), ("N", "P", "Q"), "inputs")])  # fmt: skip
def test_dataflow_is_data(dataflow: str, rows: tuple[str, ...], cols: tuple[str, ...], stationary: str) -> None:
    arch = scalesim_config_from_text(config_text(16, 8, dataflow, sram_kib=(32, 16, 8)), "a.cfg")
    assert [a.dims for a in arch.axes] == [rows, cols]
    assert [a.size for a in arch.axes] == [16, 8]
    assert [(lv.name, lv.keeps, lv.size_bytes) for lv in arch.levels[1:]] == [
        ("ifmap_sram", ("inputs",), 32 * 1024),
        ("filter_sram", ("weights",), 16 * 1024),
        ("ofmap_sram", ("outputs",), 8 * 1024),
        ("pe_reg", (stationary,), 8),
    ]
    assert arch.levels[0].read_bandwidth_bits_per_cycle is None  # CALC: stall-free
    assert arch.levels[-1].temporal_dims == ()


def test_user_bandwidth() -> None:
    arch = scalesim_config_from_text(config_text(8, 8, "ws", bandwidth=4), "a.cfg")
    dram = arch.levels[0]
    assert (dram.read_bandwidth_bits_per_cycle, dram.write_bandwidth_bits_per_cycle, dram.ports) == (64, 32, 2)


@pytest.mark.skipif(not DATA.exists(), reason=f"SCALE-Sim example inputs not found in {DATA}")
def test_shipped_inputs_through_the_presets() -> None:
    arch = load_arch(str(DATA / "sa_os32.cfg"))
    assert arch.name == "sa_os32" and arch.num_macs == 1024
    net = load_workload(str(DATA / "resnet18.csv"))
    layers = net.layers()
    # SCALE-Sim sizes outputs as ceil((H − R + s)/s): 110 for Conv1 (224, 7×7, stride 2), where PyTorch gives 109
    assert len(layers) == 21 and layers[0].dims["P"] == 110 and layers[-1].dims["C"] == 512
    gemms = load_scalesim_topology(DATA / "gemms.csv").layers()
    assert [(g.dims["P"], g.dims["K"], g.dims["C"]) for g in gemms] == [(512, 512, 512), (128, 768, 768), (128, 3072, 768)]
    sparse = load_scalesim_topology(DATA / "gemm_sparse.csv").layers()
    assert [(g.operand("weights").density, g.operand("weights").structure) for g in sparse] == [(1.0, "dense"), (0.5, "2:4"), (0.25, "1:4")]
    assert load_scalesim_config(DATA / "sa_ws32_sparse.cfg").source.endswith("(SCALE-Sim ws, sparse)")


def test_conv_shape_is_unpadded() -> None:
    net = scalesim_topology_from_text(conv_topology_text([("L", 9, 10, 3, 2, 4, 20, 2)]), "t.csv")
    d = net.layers()[0].dims
    assert (d["P"], d["Q"], d["C"], d["K"], d["R"], d["S"]) == (4, 5, 4, 20, 3, 2)


def test_config_errors_name_every_problem() -> None:
    text = config_text(8, 8, "os", bandwidth=3).replace("ArrayHeight: 8", "ArrayHeight: -2").replace("Dataflow : os", "Dataflow : rs")
    text = text.replace("IfmapSramSzkB: 64", "IfmapSramSzkB: lots").replace("IfmapSRAMBankNum: 1", "IfmapSRAMBankNum: 2")
    text = text.replace("Bandwidth : 3\n", "")
    with pytest.raises(SpecError) as e:
        scalesim_config_from_text(text, "bad.cfg")
    assert str(e.value) == (
        "bad.cfg: 5 problems\n"
        "- [architecture_presets].ArrayHeight: expected an integer ≥ 1, not -2\n"
        "- [architecture_presets].IfmapSramSzkB: expected an integer ≥ 1, not 'lots'\n"
        "- [architecture_presets].Dataflow: expected one of os, ws, is, not 'rs'\n"
        "- [architecture_presets].Bandwidth: expected a positive integer, or a comma-separated list of them "
        "(required with InterfaceBandwidth: USER), not None\n"
        "- [layout].IfmapSRAMBankNum: expected a divisor of IfmapSRAMBankBandwidth=3 (SCALE-Sim asserts it), not 2"
    )


def test_config_missing_section_and_bad_ini() -> None:
    with pytest.raises(SpecError, match=re.escape("x.cfg: 1 problem\n- [architecture_presets]: expected this section (required), not None")):
        scalesim_config_from_text("[general]\nrun_name = x\n", "x.cfg")
    with pytest.raises(SpecError, match=r"^y\.cfg: 1 problem\n- \(top level\): expected an INI file of \[sections\]"):
        scalesim_config_from_text("ArrayHeight: 4\n", "y.cfg")
    with pytest.raises(SpecError, match=r"^nope\.cfg: 1 problem\n- \(top level\): expected a readable file"):
        load_scalesim_config("nope.cfg")


def test_topology_errors_name_every_problem() -> None:
    text = conv_topology_text([("A", 8, 8, 3, 3, 4, 4, 1), ("A", 8, 8, 3, 3, 4, 4, 1), ("B", 8, "x", 3, 3, 0, 4, 1), ("C", 4, 4, 5, 3, 1, 1, 1)])  # type: ignore[list-item]
    text += "D,1,2\nE,8,8,3,3,4,4,1,3:2,\n"
    with pytest.raises(SpecError) as e:
        scalesim_topology_from_text(text, "t.csv")
    assert str(e.value) == (
        "t.csv: 6 problems\n"
        "- line 3.name: expected a unique, non-empty layer name, not 'A'\n"
        "- line 4.ifmap_w: expected a positive integer, not 'x'\n"
        "- line 4.channels: expected a positive integer, not '0'\n"
        "- line 5.filter_h: expected a filter no larger than the ifmap (4, 4), not (5, 3)\n"
        "- line 6: expected 8 fields: name, ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride[, sparsity N:M], not 'D,1,2'\n"
        "- line 7.sparsity: expected N:M with 1 ≤ N ≤ M (e.g. 2:4), not '3:2'"
    )
    with pytest.raises(SpecError, match=r"^h\.csv: 1 problem\n- line 1: expected a SCALE-Sim header"):
        scalesim_topology_from_text("a,b,c\n", "h.csv")


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_mapping_reproduces_the_folds(dataflow: str) -> None:
    arch = scalesim_config_from_text(config_text(8, 4, dataflow), "a.cfg")
    net = scalesim_topology_from_text(conv_topology_text([("L", 12, 11, 3, 3, 5, 13, 1)]), "t.csv")
    layer = net.layers()[0]
    g, m = scalesim_mapping(layer, arch)
    _, _, t, rf, cf = scalesim_folds(layer, 8, 4, dataflow)
    assert g.macs == layer.macs and m.spatial_factor(0) <= 8 and m.spatial_factor(1) <= 4
    assert m.temporal_iterations == rf * cf * t
    gemms = scalesim_topology_from_text(gemm_topology_text([("G", 30, 20, 10)]), "g.csv")
    g, m = scalesim_mapping(gemms.layers()[0], arch)
    assert g.macs == 6000
