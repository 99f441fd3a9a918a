"""Design-space sweeps: every point of a grid (or a random sample of it), mapped and costed
for a whole network, with a resumable journal.

Each point is a set of dotted-path settings (:mod:`hwsim.explore.variants`) applied to a base spec
dict; its identity is a hash of the base spec, the network, the mapper options and the
settings. Finished points are appended to a JSON-lines *journal* (``<out>.journal.jsonl``),
one line per point, flushed and fsynced, so a killed sweep rerun with the same output skips
what is done and loses nothing. The table is written atomically at the end.

Points run in worker processes on this machine (``workers``), or on an existing Dask cluster
(``scheduler``: an address such as ``tcp://host:8786``, or ``local`` / ``local:N`` for a
:class:`distributed.LocalCluster` of N single-threaded workers).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hwsim.core.errors import Problem, SpecError
from hwsim.core.io import write_bytes_atomic, write_text_atomic
from hwsim.core.workload import Network
from hwsim.evaluate import NetworkReport, evaluate_network
from hwsim.explore.pareto import pareto_mask
from hwsim.explore.variants import MAPPER_KEYS, build_point, check_values, point_key
from hwsim.mapper import DEFAULT_SAMPLES, MapperOptions

__all__ = ["grid_points", "network_fingerprint", "random_points", "run_sweep", "write_table"]

OBJECTIVES = ("latency_s", "energy_pj", "area_mm2")

Task = tuple[str, dict[str, Any], dict[str, Any], Network, dict[str, Any]]


def grid_points(settings: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the settings' values, first path slowest."""
    keys = list(settings)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(settings[k] for k in keys))]


def random_points(settings: dict[str, list[Any]], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct points drawn uniformly from the grid (all of it when it is smaller), in grid order."""
    sizes = [len(v) for v in settings.values()]
    total = math.prod(sizes)
    if n >= total:
        return grid_points(settings)
    cells = np.unravel_index(sorted(random.Random(seed).sample(range(total), n)), sizes)  # the first path slowest
    return [{k: settings[k][int(c[j])] for k, c in zip(settings, cells, strict=True)} for j in range(n)]


def network_fingerprint(network: Network) -> str:
    """A stable hash of a network's ops (shapes, precisions, sparsity, order)."""
    return point_key(network.name, [dataclasses.asdict(op) | {"type": type(op).__name__} for op in network.ops()])


def dram_bytes(report: NetworkReport) -> list[float]:
    """Bytes each op moves to and from DRAM (reads, fills and updates at the outermost level)."""
    dram = report.arch.levels[0].name
    out = []
    for r, op in zip(report.reports, report.network.ops(), strict=True):
        if not r.accesses:
            out.append(float(getattr(op, "input_bytes", 0.0) + getattr(op, "output_bytes", 0.0)))
            continue
        bits = {o.name: o.bits for o in getattr(op, "operands", ())}
        out.append(sum((a.reads + a.fills + a.updates) * bits.get(o, 8) / 8 for (lv, o), a in r.accesses.items() if lv == dram))
    return out


def summarize(report: NetworkReport) -> dict[str, Any]:
    """One sweep row's figures: totals, resources and energy by part (``energy_<level>_pj``, MAC, leakage)."""
    arch = report.arch
    row: dict[str, Any] = {"num_macs": arch.num_macs,
                           "onchip_bytes": sum((lv.size_bytes or 0) * arch.instances(i) for i, lv in enumerate(arch.levels) if lv.kind != "dram"),
                           "clock_hz": arch.clock_hz}  # fmt: skip
    tot = report.totals()
    row.update({k: float(tot[k]) for k in ("macs", "cycles", "latency_s", "energy_pj", "edp_pj_s", "utilization", "pj_per_mac", "area_mm2")})
    row["power_mw"] = row["energy_pj"] / row["latency_s"] * 1e-9 if row["latency_s"] else 0.0
    for lv in arch.levels:
        row[f"energy_{lv.name}_pj"] = sum(r.level_energy_pj.get(lv.name, 0.0) for r in report.reports)
    row["energy_mac_pj"] = sum(r.mac_energy_pj for r in report.reports)
    row["energy_leakage_pj"] = sum(r.leakage_energy_pj for r in report.reports)
    return row


def evaluate_point(task: Task) -> dict[str, Any]:
    """Build, map and cost one design point; a point that cannot be built or mapped is ``infeasible``."""
    key, base, settings, network, options = task
    start = time.perf_counter()
    row: dict[str, Any] = {"key": key, **{k: _cell(v) for k, v in settings.items()}}
    try:
        point = build_point(base, settings)
        opts = MapperOptions(**{**options, **point.mapper})
        bad = opts.problems()
        if bad:
            raise SpecError("mapper options", bad)
        report = evaluate_network(point.arch, network, opts, workers=1)
        row.update(status="ok", error="", **summarize(report), rescaled=";".join(point.rescaled))
    except SpecError as e:
        row.update(status="infeasible", error=e.render().replace("\n", " "))
    row["seconds"] = time.perf_counter() - start
    return row


def _cell(v: Any) -> Any:
    """Table cells are scalars: lists (an axis' dims) become their YAML-like text."""
    return "[" + ",".join(map(str, v)) + "]" if isinstance(v, list) else v


class Journal:
    """An append-only JSON-lines file of finished rows, each durable once :meth:`add` returns."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            data = self.path.read_bytes()
            end = data.rfind(b"\n") + 1
            if end < len(data):  # a line cut short by a kill: drop it, or the next append would join it
                with open(self.path, "r+b") as f:
                    f.truncate(end)
            for line in data[:end].splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict) and "key" in row:
                    self.rows[row["key"]] = row
        self._fd: int | None = None

    def add(self, row: dict[str, Any]) -> None:
        """Append one row, durable when this returns; on a write error (a full disk) the file is cut back to
        its last whole line and the error raised, so the journal never ends in half a row."""
        line = (json.dumps(row, default=_json_default) + "\n").encode("utf-8")
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)  # closed by close()
        size = os.fstat(self._fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size)
            raise
        self.rows[row["key"]] = row

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _json_default(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else str(v)


def _quiet_worker() -> None:
    """A pool worker ignores SIGINT: a terminal's Ctrl-C reaches the whole process group, and only the main process
    answers it (it stops the pool; ``hwsim: interrupted``), so no worker prints a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_local(tasks: list[Task], workers: int) -> Generator[dict[str, Any], None, None]:
    if workers <= 1:
        for t in tasks:
            yield evaluate_point(t)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pool = ctx.Pool(workers, initializer=_quiet_worker)
    try:
        yield from pool.imap_unordered(evaluate_point, tasks, chunksize=1)
        pool.close()
    finally:
        pool.terminate()  # at once on Ctrl-C or an error: the points still running are not journaled, and rerun
        pool.join()


def dask_client(scheduler: str) -> tuple[Any, Any]:
    """A Dask client and the LocalCluster it started (None for an existing cluster's address):
    ``local`` / ``local:N`` starts a LocalCluster of N one-thread worker processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SpecError("--scheduler", [Problem("--scheduler", scheduler, "expected dask[distributed] installed")]) from None
    if scheduler == "local" or scheduler.startswith("local:"):
        n = int(scheduler.partition(":")[2] or os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="20s"), None
    except (OSError, TimeoutError) as e:
        raise SpecError("--scheduler", [Problem("--scheduler", scheduler, f"expected the address of a running Dask scheduler ({e})")]) from None


def _run_dask(tasks: list[Task], scheduler: str) -> Generator[dict[str, Any], None, None]:
    from distributed import as_completed as dask_completed

    client, cluster = dask_client(scheduler)
    try:
        futures = client.map(evaluate_point, tasks, pure=False)
        for f in dask_completed(futures):
            yield f.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(
    base: dict[str, Any],
    network: Network,
    points: list[dict[str, Any]],
    options: MapperOptions | None = None,
    journal: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Evaluate every point (settings dicts over :func:`hwsim.explore.variants.valid_paths`) and return one row each.

    Points already in ``journal`` are skipped; new ones are appended as they finish. Rows come
    back in ``points`` order with a ``pareto`` column (latency, energy, area, over feasible rows).
    """
    options = options or MapperOptions(samples=DEFAULT_SAMPLES)  # hwsim run's budget: a point costs what `hwsim run` says
    check_values(base, points)  # every path and value the spec accepts, before any work
    bad = [Problem(k, pt[k], p.expected) for k in MAPPER_KEYS for pt in points if k in pt
           for p in dataclasses.replace(options, **{k: pt[k]}).problems()]  # fmt: skip
    if bad:
        raise SpecError("--set", list(dict.fromkeys(bad)))
    net_id = network_fingerprint(network)
    opts = dataclasses.asdict(options)
    keys = [point_key(base, net_id, opts, pt) for pt in points]
    store = Journal(journal) if journal is not None else None
    done = set(store.rows) if store else set()
    todo = list({k: (k, base, pt, network, opts) for k, pt in zip(keys, points, strict=True) if k not in done}.values())  # identical points once
    total = len(set(keys))
    finished = total - len(todo)
    rows: dict[str, dict[str, Any]] = dict(store.rows) if store else {}
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    try:
        if progress:
            progress(finished, total)
        stream = _run_dask(todo, scheduler) if scheduler else _run_local(todo, min(n_workers, max(1, len(todo))))
        try:
            for row in stream:
                if store:
                    store.add(row)
                rows[row["key"]] = row
                finished += 1
                if progress:
                    progress(finished, total)
        finally:
            stream.close()  # stops the workers now, also when the loop itself was interrupted
    finally:
        if store:
            store.close()
    frame = pd.DataFrame([rows[k] for k in dict.fromkeys(keys)])
    return add_pareto(frame)


def add_pareto(frame: pd.DataFrame, objectives: Iterable[str] = OBJECTIVES) -> pd.DataFrame:
    """A ``pareto`` column: feasible rows no other feasible row dominates in ``objectives``."""
    cols = list(objectives)
    frame = frame.copy()
    frame["pareto"] = False
    if "status" in frame and (frame["status"] == "ok").any():
        ok = frame["status"] == "ok"
        frame.loc[ok, "pareto"] = pareto_mask(frame.loc[ok, cols].to_numpy(dtype=float))
    return frame


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` atomically as Parquet (``.parquet``), CSV (``.csv``) or JSON lines (``.jsonl``)."""
    p = str(path).lower()
    if p.endswith(".parquet"):
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        write_bytes_atomic(path, buf.getvalue())
    elif p.endswith(".csv"):
        write_text_atomic(path, frame.to_csv(index=False))
    elif p.endswith(".jsonl"):
        write_text_atomic(path, frame.to_json(orient="records", lines=True))
    else:
        raise SpecError("--out", [Problem("--out", str(path), "expected a .parquet, .csv or .jsonl file")])


def best_report(base: dict[str, Any], network: Network, settings: dict[str, Any], options: MapperOptions) -> NetworkReport:
    """Re-evaluate one point in full (for its per-layer plots)."""
    point = build_point(base, settings)
    return evaluate_network(point.arch, network, MapperOptions(**{**dataclasses.asdict(options), **point.mapper}), workers=1)
