"""Where the committed Timeloop + Accelergy exercises live (tests/data/timeloop-exercises/SOURCE.md): the paths, once."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "timeloop-exercises"
ISPASS = DATA / "tutorial_exercises" / "01_accelergy_timeloop_2020_ispass" / "timeloop"  # the ISPASS'20 exercises 00-06
LAB = DATA / "tutorial_exercises" / "01_accelergy_timeloop_2020_ispass" / "timeloop+accelergy"
DESIGNS = DATA / "example_designs" / "example_designs"
TUTORIAL_2024 = DATA / "tutorial_exercises" / "02_interface_and_design_space_exploration_2024"
