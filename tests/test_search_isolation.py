"""Two searches in one process do not see each other: a search's context, sampler and Ctrl-C flag are its own objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hwsim.explore.proxy import QuantPruneProxy
from hwsim.explore.search import Context, SearchSpace, default_space, run_search, trials_frame
from hwsim.explore.variants import arch_spec
from hwsim.frontend.presets import load_workload
from hwsim.mapper import MapperOptions
from tests.test_search import TINY


def _contexts(tmp_path: Path) -> tuple[Context, Context]:
    wl = tmp_path / "tiny.yaml"
    wl.write_text(yaml.safe_dump(TINY))
    net = load_workload(str(wl))
    base = arch_spec("eyeriss")
    hw = default_space(base).hardware
    # two searches that differ in everything a trial depends on: space, objectives, mapper samples, proxy
    a = Context(base, net, SearchSpace(hw, bits=(8,)), ("edp",), MapperOptions(samples=50), QuantPruneProxy())
    b = Context(base, net, SearchSpace({k: v for k, v in hw.items() if k != "mac.kind"}, bits=(4, 8)), ("latency", "proxy"),
                MapperOptions(samples=80, seed=3), QuantPruneProxy())  # fmt: skip
    return a, b


def _search(ctx: Context, db: Path, sampler: str, seed: int, progress: Any = None) -> pd.DataFrame:
    study = run_search(ctx, f"sqlite:///{db}", 5, workers=1, seed=seed, population=4, sampler=sampler, progress=progress)
    return trials_frame(study, ctx.objectives).drop(columns=["trial"])


def test_a_search_run_inside_another_changes_neither(tmp_path: Path) -> None:
    """The truth: each search run alone in a fresh study. Search B (NSGA-II) then runs in the middle of search A (CMA-ES),
    from A's progress callback after A has set up its sampler and study; both give the trials they gave alone, so no
    setting of one (context, sampler, objectives) leaked into the other."""
    a, b = _contexts(tmp_path)
    alone_a = _search(a, tmp_path / "a.db", "cmaes", seed=1)
    alone_b = _search(b, tmp_path / "b.db", "nsga2", seed=2)
    inner: list[pd.DataFrame] = []

    def run_b_once(done: int, budget: int, best: float | None) -> None:
        if not inner and done == 0:
            inner.append(_search(b, tmp_path / "b2.db", "nsga2", seed=2))

    outer_a = _search(a, tmp_path / "a2.db", "cmaes", seed=1, progress=run_b_once)
    assert len(inner) == 1
    pd.testing.assert_frame_equal(outer_a, alone_a)
    pd.testing.assert_frame_equal(inner[0], alone_b)
    assert not alone_a.equals(alone_b)  # the two searches do differ
