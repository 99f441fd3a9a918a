"""Paths that used to give a figure or a traceback without a word: each test failed on 7b343b7 and is the
contract now (one clear message, exit 2, naming the file, field, value and what was expected)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwsim.cli import main

CHAINED = """
name: chained
layers:
  - {name: c1, type: conv2d, in_channels: 3, out_channels: 16, in_hw: 16, kernel: 3, padding: 1}
  - {name: c2, type: conv2d, in_channels: 16, out_channels: 8, in_hw: 16, kernel: 3, stride: 2, padding: 1}
  - {name: pool, type: pool, elements_in: 512, elements_out: 128}
  - {name: fc, type: fc, in_features: 128, out_features: 10}
"""


def run(capsys, *argv):  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_a_chained_workload_runs(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """The reference network chains by hand: 16 channels 16×16 → stride 2 → 8×8×8 = 512 elements → pool → 128 → fc."""
    code, out, err = run(capsys, "run", "--arch", "fpga-small", "--workload", write(tmp_path, "w.yaml", CHAINED), "--samples", "200",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    assert [row["name"] for row in json.loads(out)["layers"]] == ["c1", "c2", "pool", "fc"]


@pytest.mark.parametrize(
    "old, new, field, expected",
    [
        ("in_channels: 16, out_channels: 8", "in_channels: 64, out_channels: 8", "layers[1].in_channels", "expected 16: 'c1' (conv2d) produces 16 channels, not 64"),
        ("in_channels: 16, out_channels: 8, in_hw: 16", "in_channels: 16, out_channels: 8, in_hw: 30", "layers[1].in_hw", "produces 16×16"),
        ("in_features: 128", "in_features: 512", "layers[3].in_features", "expected 128: 'pool' (pool) has elements_out=128, not 512"),
    ],
)
def test_a_workload_whose_shapes_do_not_chain_is_refused(tmp_path, capsys, old, new, field, expected):  # type: ignore[no-untyped-def]
    """Each mutation breaks one hand-checked link of CHAINED (channels, input size, flattened features): on 7b343b7 it was
    costed as written, exit 0."""
    path = write(tmp_path, "w.yaml", CHAINED.replace(old, new))
    code, _, err = run(capsys, "run", "--arch", "fpga-small", "--workload", path, "--samples", "200")
    assert code == 2
    assert f"{path}: {field}: " in err and expected in err
    assert "Traceback" not in err


def test_opting_out_of_chaining_is_said_in_the_file(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """``check_chaining: false`` costs independent layer shapes as written (and only then)."""
    text = CHAINED.replace("in_features: 128", "in_features: 512")
    code, _, _ = run(capsys, "run", "--arch", "fpga-small", "--workload", write(tmp_path, "a.yaml", text), "--samples", "200")
    assert code == 2
    code, out, err = run(capsys, "run", "--arch", "fpga-small", "--workload", write(tmp_path, "b.yaml", "check_chaining: false\n" + text),
                         "--samples", "200", "--format", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["layers"][3]["macs"] == 512 * 10


def test_every_preset_exports_a_file_that_loads() -> None:
    """Code-built networks whose edges order ops rather than pass tensors (X3D's squeeze-excitation) are written with
    ``check_chaining: false`` and so load back; those that chain are written without it."""
    from hwsim.frontend.network_io import network_to_dict
    from hwsim.frontend.network_spec import chaining_problems, network_from_dict
    from hwsim.frontend.presets import load_workload

    for name in ("resnet18", "mobilenetv2", "alexnet"):
        net = load_workload(name)
        doc = network_to_dict(net)
        assert ("check_chaining" in doc) == bool(chaining_problems(net))
        assert network_from_dict(doc).macs == net.macs


def test_an_integer_too_large_for_a_float_is_one_problem(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """``size_bytes: 1`` followed by 400 zeros ended in an OverflowError traceback (exit 1)."""
    import yaml

    spec = yaml.safe_load((Path(__file__).parents[1] / "accelerators" / "fpga-small.yaml").read_text())
    spec["clock_hz"] = 10**400
    spec["levels"][1]["size_bytes"] = -(10**30)
    path = write(tmp_path, "big.yaml", yaml.safe_dump(spec))
    code, _, err = run(capsys, "run", "--arch", path)
    assert code == 2 and "Traceback" not in err
    assert "clock_hz: expected at most 1e+18" in err and "size_bytes" in err


@pytest.mark.parametrize("magnitude", [0, 1, 17, 18, 19, 63, 64, 308, 309, 400, 4000])
def test_integers_of_every_magnitude_are_validated_not_crashed(magnitude: int) -> None:
    """Integers of every size, either sign, in every numeric field of a spec: a value or one SpecError, never another exception."""
    from hwsim.core.errors import SpecError
    from hwsim.frontend.network_spec import network_from_dict

    for sign in (1, -1):
        v = sign * 10**magnitude
        for key in ("in_channels", "in_hw", "kernel", "out_channels"):
            layer = {"name": "c", "type": "conv2d", "in_channels": 3, "out_channels": 8, "in_hw": 8, "kernel": 3, key: v}
            try:
                network_from_dict({"layers": [layer]})
            except SpecError as e:
                assert e.problems
            except MemoryError:  # pragma: no cover - a 10^19-channel layer is refused before allocation, or this fails
                pytest.fail(f"{key}={v} allocated instead of being refused")


def test_unknown_field_suggests_the_closest_name(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """``strides`` → did you mean 'stride'? — including optional fields the file does not use yet."""
    path = write(tmp_path, "w.yaml", CHAINED.replace("stride: 2", "strides: 2"))
    code, _, err = run(capsys, "run", "--workload", path)
    assert code == 2
    assert "layers[1].strides: unknown field (did you mean 'stride'?" in err


def test_unknown_arch_field_suggests_the_closest_name(tmp_path, capsys):  # type: ignore[no-untyped-def]
    import yaml

    spec = yaml.safe_load((Path(__file__).parents[1] / "accelerators" / "fpga-small.yaml").read_text())
    spec["clok_hz"] = spec.pop("clock_hz", 1e8)
    code, _, err = run(capsys, "run", "--arch", write(tmp_path, "a.yaml", yaml.safe_dump(spec)))
    assert code == 2
    assert "clok_hz: unknown field (did you mean 'clock_hz'?" in err


def _npz(tmp_path: Path, **arrays: np.ndarray) -> str:
    p = tmp_path / "w.npz"
    np.savez(p, **arrays)  # type: ignore[arg-type]
    return str(p)


def test_weights_of_the_wrong_shape_are_refused_by_the_analytical_engine(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """c1's weights are 16×3×3×3: a 16×3×5×5 array was ignored by the analytical engine on 7b343b7 (only the cycle engine checked)."""
    path = write(tmp_path, "w.yaml", CHAINED)
    weights = _npz(tmp_path, c1=np.ones((16, 3, 5, 5)))
    code, _, err = run(capsys, "run", "--arch", "fpga-small", "--workload", path, "--weights", weights, "--samples", "200")
    assert code == 2 and "Traceback" not in err
    assert f"{weights}: 1 problem\n- c1: " in err and "(16, 3, 5, 5)" in err and "432" in err


def test_weights_for_layers_that_do_not_exist_are_refused(tmp_path, capsys):  # type: ignore[no-untyped-def]
    path = write(tmp_path, "w.yaml", CHAINED)
    weights = _npz(tmp_path, c1=np.ones((16, 3, 3, 3)), conv9=np.ones((4, 4)))
    code, _, err = run(capsys, "run", "--arch", "fpga-small", "--workload", path, "--weights", weights, "--samples", "200")
    assert code == 2
    assert "conv9" in err and "expected the name of a MAC layer of chained" in err


def test_weights_of_the_right_shape_set_the_measured_sparsity(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """Half of c1's weights zero: the analytical engine performs fewer MACs of c1 than the dense run (the skip/gating path)."""
    path = write(tmp_path, "w.yaml", CHAINED)
    w = np.ones((16, 3, 3, 3))
    w[:8] = 0.0
    code, out, err = run(capsys, "run", "--arch", "fpga-small", "--workload", path, "--weights", _npz(tmp_path, c1=w), "--samples", "200",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["layers"][0]["macs"] == 16 * 3 * 9 * 16 * 16


@pytest.mark.parametrize("suffix, check", [(".csv", lambda t: t.startswith("name,kind,macs,")), (".json", lambda t: json.loads(t)["total"]["macs"] > 0)])
def test_out_takes_its_format_from_the_extension(tmp_path, capsys, suffix, check):  # type: ignore[no-untyped-def]
    """``--out r.csv`` without ``--format`` wrote the box-drawing table into r.csv on 7b343b7; every file written is named on one line."""
    out = tmp_path / f"r{suffix}"
    plot = tmp_path / "r.png"
    code, stdout, err = run(capsys, "run", "--arch", "fpga-small", "--workload", write(tmp_path, "w.yaml", CHAINED), "--samples", "200",
                            "--out", str(out), "--plot", str(plot))  # fmt: skip
    assert code == 0, err
    text = out.read_text()
    assert "┃" not in text and "━" not in text and check(text)
    assert stdout == ""
    assert err.strip().splitlines()[-1] == f"hwsim: wrote {out} ({suffix[1:]}), {plot} (plot)"


def test_an_explicit_format_wins_over_the_extension(tmp_path, capsys):  # type: ignore[no-untyped-def]
    out = tmp_path / "r.csv"
    code, _, err = run(capsys, "run", "--arch", "fpga-small", "--workload", write(tmp_path, "w.yaml", CHAINED), "--samples", "200",
                       "--out", str(out), "--format", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out.read_text())["workload"] == "chained"


def test_version_and_python_m(tmp_path):  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from importlib.metadata import version

    for argv in ([sys.executable, "-m", "hwsim", "--version"],):
        done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"hwsim {version('hwsim')}"
    done = subprocess.run([sys.executable, "-m", "hwsim", "presets"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and "eyeriss" in done.stdout


@pytest.mark.parametrize("engine", ["analytical", "cycle"])
def test_tables_fit_an_80_column_terminal_without_cutting_a_number(tmp_path, capsys, monkeypatch, engine):  # type: ignore[no-untyped-def]
    """At COLUMNS=80 every line fits and every figure of the JSON report is printed whole (names may wrap; numbers never cut)."""
    path = write(tmp_path, "w.yaml", CHAINED.replace("name: c2", "name: a_rather_long_layer_name_of_a_real_network"))
    argv = ["run", "--arch", "fpga-small", "--workload", path, "--samples", "200", "--engine", engine]
    monkeypatch.setenv("COLUMNS", "80")
    code, table, err = run(capsys, *argv)
    assert code == 0, err
    assert max(len(line) for line in table.splitlines()) <= 80
    code, out, _ = run(capsys, *argv, "--format", "json")
    for row in json.loads(out)["layers"]:
        assert f"{row['macs']:,}" in table and f"{row['cycles']:,.0f}" in table


def test_every_subcommand_help_shows_a_worked_example(capsys):  # type: ignore[no-untyped-def]
    for argv in (["run"], ["map"], ["presets"], ["sweep"], ["search"], ["rtl", "generate"], ["rtl", "verify"], ["rtl", "synth"]):
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        text = capsys.readouterr().out
        assert "example:\n  hwsim " + " ".join(argv) in text, argv


def test_a_missing_optional_package_names_the_extra(capsys, monkeypatch):  # type: ignore[no-untyped-def]
    """Without Amaranth, ``hwsim rtl generate`` said ModuleNotFoundError in a traceback; now one line naming the extra, exit 2."""
    import sys

    for name in [m for m in sys.modules if m == "amaranth" or m.startswith(("amaranth.", "hwsim.rtl."))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "amaranth", None)  # importing it now fails as when it is not installed
    code, _, err = run(capsys, "rtl", "generate", "--arch", "fpga-small", "--out", "unused")
    assert code == 2 and "Traceback" not in err
    assert "amaranth" in err.lower() and "pip install 'hwsim[rtl]'" in err


def test_any_command_missing_an_optional_package_names_the_extra(capsys, monkeypatch):  # type: ignore[no-untyped-def]
    """The command line's safety net: an optional package's ImportError anywhere is one line naming the extra."""
    import hwsim.cli

    def needs_torch(args):  # type: ignore[no-untyped-def]
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(hwsim.cli, "_run", needs_torch)
    code, _, err = run(capsys, "run")
    assert code == 2
    assert err == ("hwsim: error: hwsim run needs the optional package 'torch', which is not installed: pip install 'hwsim[torch]' "
                   "(from a checkout: pip install -e '.[torch]')\n")
