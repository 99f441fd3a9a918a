"""The command line: the DESIGN.md contract, output formats, and bad input (exit 2, every problem, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwsim.cli import main

TINY = """
name: tiny
layers:
  - {name: conv1, type: conv2d, in_channels: 3, out_channels: 8, in_hw: 16, kernel: 3, padding: 1}
  - {name: pool, type: pool, elements_in: 2048, elements_out: 512}
  - {name: fc, type: fc, in_features: 512, out_features: 10}
"""


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY)
    return str(p)


def test_json_contract(capsys, tiny):
    code, out, err = run(capsys, "run", "--arch", "fpga-small", "--workload", tiny, "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["arch"] == "fpga-small" and d["workload"] == "tiny"
    assert [layer["name"] for layer in d["layers"]] == ["conv1", "pool", "fc"]
    for layer in d["layers"]:
        assert {"name", "macs", "cycles", "energy_pj", "utilization"} <= layer.keys()
    assert d["total"]["macs"] == 3 * 8 * 9 * 16 * 16 + 512 * 10
    assert d["total"]["energy_pj"] == pytest.approx(sum(layer["energy_pj"] for layer in d["layers"]))
    assert d["total"]["edp_pj_s"] == pytest.approx(d["total"]["energy_pj"] * d["total"]["latency_s"])


def test_csv_and_table_and_out_file(capsys, tiny, tmp_path):
    code, out, _ = run(capsys, "run", "--arch", "eyeriss", "--workload", tiny, "--format", "csv")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("name,kind,macs,cycles,energy_pj,utilization") and lines[-1].startswith("TOTAL,")
    code, out, _ = run(capsys, "run", "--arch", "eyeriss", "--workload", tiny)
    assert code == 0 and "TOTAL" in out and "conv1" in out
    target = tmp_path / "r.json"
    code, out, _ = run(capsys, "run", "--arch", "eyeriss", "--workload", tiny, "--format", "json", "--out", str(target))
    assert code == 0 and out == "" and json.loads(target.read_text())["workload"] == "tiny"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_broken_arch_lists_every_problem(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nclock_hz: -5\nlevels:\n"
        "  - {name: DRAM, kind: dram, keeps: [weights, inputs]}\n"
        "  - {name: GLB, kind: sram, size_kib: -4, keeps: [inputs, psums], colour: red}\n"
        "pe_array:\n  axes:\n    - {name: rows, size: 0, below: NOPE}\n"
    )
    code, out, err = run(capsys, "run", "--arch", str(bad), "--workload", "resnet18")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == "hwsim: error: hwsim run: 7 problems"
    f = str(bad)
    assert lines[1:] == [
        f"- {f}: clock_hz: expected a positive number (Hz), not -5",
        f"- {f}: levels[1].keeps: expected names from weights, inputs, outputs, not 'psums'",
        f"- {f}: levels[1].size_kib: expected a positive number (capacity), not -4",
        f"- {f}: levels[1].colour: unknown field (known fields here: area_um2, bandwidth_bytes_per_s, banks, "
        "cluster_size, double_buffered, factors, formats, inner_order, keeps, kind, leakage_mw, max_factors, may_bypass, min_factors, name, order, ports, "
        "read_bandwidth_bits_per_cycle, read_energy_pj, size_kib, temporal_dims, update_energy_pj, whole_dims, word_bits, write_bandwidth_bits_per_cycle, "
        "write_energy_pj), not 'red'",
        f"- {f}: levels[0].keeps: expected the outermost level to keep every operand (missing outputs), not ['weights', 'inputs']",
        f"- {f}: pe_array.axes[0].size: expected an integer ≥ 1, not 0",
        f"- {f}: pe_array.axes[0].below: expected the name of a level (DRAM, GLB), not 'NOPE'",
    ]


def test_unknown_presets_and_bad_yaml(capsys, tmp_path):
    code, _, err = run(capsys, "run", "--arch", "no-such", "--workload", "nosuch")
    assert code == 2
    assert "- --arch: expected a file path or a preset: bitfusion, eyeriss, fpga-small, nvdla-small, scnn, shidiannao, simba, sparse-tensor-core, tpu-v1, not 'no-such'" in err
    assert "- --workload: expected a file path or a preset: alexnet," in err
    y = tmp_path / "y.yaml"
    y.write_text("key: [unclosed\n")
    code, _, err = run(capsys, "run", "--arch", str(y))
    assert code == 2
    assert f"- {y}: line 2, column 1: expected valid YAML (expected ',' or ']', but got '<stream end>'), not 'YAML text'" in err


def test_mapping_that_cannot_fit(capsys, tmp_path):
    arch = tmp_path / "small.yaml"
    arch.write_text(
        "levels:\n  - {name: DRAM, kind: dram, keeps: [weights, inputs, outputs]}\n"
        "  - {name: RF, kind: regfile, size_bytes: 2, keeps: [weights, inputs, outputs]}\n"
        "pe_array:\n  axes: [{name: x, size: 1, below: DRAM}]\n"
    )
    code, _, err = run(capsys, "run", "--arch", str(arch), "--workload", "resnet18")
    assert code == 2
    assert "no valid mapping of layer 'conv1' on 'small'" in err and "capacity[RF]: expected tiles to fit in 2 bytes" in err


def test_bad_workload_spec(capsys, tmp_path):
    w = tmp_path / "w.yaml"
    w.write_text("layers:\n  - {name: a, type: conv2d, in_channels: 0, out_channels: 4, in_hw: 2, kernel: 3}\n"
                 "  - {name: b, type: lstm}\n  - {name: c, type: fc, in_features: 4, out_features: 2, after: [zz]}\n")  # fmt: skip
    code, _, err = run(capsys, "run", "--workload", str(w))
    assert code == 2
    assert f"- {w}: layers[0].in_channels: expected an integer ≥ 1, not 0" in err
    assert f"- {w}: layers[1].type: expected one of conv2d, depthwise, fc, gemm, matmul, pool, add, softmax, norm, activation, elementwise, state, not 'lstm'" in err
    assert f"- {w}: layers[2].after: expected names of earlier layers, not 'zz'" in err


def test_console_script_has_no_traceback(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("pe_array:\n  shape: [0, -1]\nlevels: 7\n")
    p = subprocess.run([sys.executable, "-m", "hwsim", "run", "--arch", str(bad)], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and str(bad) in p.stderr


def test_map_prints_loop_nest_and_cost(capsys):
    code, out, err = run(capsys, "map", "--arch", "eyeriss", "--layer", "conv2d in_channels=3 out_channels=32 in_hw=225 kernel=3 stride=2")
    assert code == 0, err
    assert out.splitlines()[0].startswith("DRAM [ weights:864 inputs:151875 outputs:401408 ]")
    assert "<< MAC >>" in out and "pJ/MAC by level: DRAM" in out
    code, out, _ = run(capsys, "map", "--layer", "gemm M=8 N=8 K=8", "--exhaustive", "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["macs"] == 512 and set(d["mapping"]["temporal"]) == {"DRAM", "GLB", "ifmap_spad", "weights_spad", "psum_spad"}


def test_map_bad_layer_specs(capsys):
    code, _, err = run(capsys, "map", "--layer", "conv2d in_channels=0 out_channels=4 in_hw=8 kernel=3")
    assert code == 2 and "- --layer in_channels: expected an integer ≥ 1, not 0" in err
    code, _, err = run(capsys, "map", "--layer", "resnet18:nope")
    assert code == 2 and "- --layer: expected a MAC layer of resnet18: conv1, layer1.0.conv1," in err
    code, _, err = run(capsys, "map", "--layer", "gemm M=4 N=4 K=4", "--objective", "speed")
    assert code == 2 and "- --objective: expected one or more of edp, energy, delay, not 'speed'" in err


def test_unwritable_output_is_a_clear_error(capsys, tiny, tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "r.json"
    code, out, err = run(capsys, "run", "--arch", "fpga-small", "--workload", tiny, "--format", "json", "--out", str(target))
    assert code == 2 and out == ""
    assert "- --out: expected a writable file path (No such file or directory), not '/" in err
    assert not target.parent.exists()


def test_compare_clip_json_table_and_plot(capsys, tmp_path):
    png = tmp_path / "cc.png"
    code, out, err = run(capsys, "run", "--arch", "tpu-v1", "--workload", "cooadtr-b1", "--compare-clip", "--samples", "2000",
                         "--format", "json", "--plot", str(png))  # fmt: skip
    assert code == 0, err
    d = json.loads(out)
    assert d["workload"] == "cooadtr-b1" and d["clip"]["workload"] == "oadtr-b1"  # the run contract, plus the clip's report
    clip, step, ratio = d["comparison"]
    assert (clip["mode"], step["mode"], ratio["mode"]) == ("clip", "continual", "clip/continual")
    assert ratio["macs"] == pytest.approx(clip["macs"] / step["macs"]) and ratio["macs"] > 50
    assert step["energy_pj"] < clip["energy_pj"] and step["state_bytes"] == 2 * 64 * 1024
    assert png.stat().st_size > 1000
    code, out, err = run(capsys, "run", "--arch", "tpu-v1", "--workload", "cooadtr-b1", "--compare-clip", "--samples", "2000")
    assert code == 0 and "clip/continual" in out and "oadtr-b1" in out


def test_compare_clip_and_state_share_bad_input(capsys):
    code, _, err = run(capsys, "run", "--workload", "resnet18", "--compare-clip")
    assert code == 2 and "--workload" in err and "cox3d-s (clip x3d-s)" in err and "Traceback" not in err
    code, _, err = run(capsys, "run", "--workload", "cox3d-s", "--state-share", "1.5")
    assert code == 2 and "--state-share" in err and "1.5" in err


def test_state_share_fixes_the_allocation(capsys):
    shares = {}
    for share in ("0", "0.75"):
        code, out, err = run(capsys, "run", "--arch", "tpu-v1", "--workload", "cooadtr-b1", "--samples", "2000", "--state-share", share,
                             "--format", "json")  # fmt: skip
        assert code == 0, err
        shares[share] = json.loads(out)["total"]
    assert shares["0"]["state_onchip_bytes"] == 0
    assert shares["0.75"]["state_onchip_bytes"] == 2 * 64 * 1024 == shares["0.75"]["state_bytes"]  # the FIFO, in the 24 MiB buffer
