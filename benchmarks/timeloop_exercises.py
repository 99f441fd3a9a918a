"""hwsim against Timeloop + Accelergy on their own published exercises (issue 17).

    python benchmarks/timeloop_exercises.py [--cases 00,01-os,...] [--semantics timeloop|hwsim]

Every case of Accelergy-Project/timeloop-accelergy-exercises committed under tests/data/timeloop-exercises/
(SOURCE.md: the commit and the files) is run through the command line as a Timeloop user would —
``hwsim run --arch ARCH --workload PROBLEM --mappings MAPPING --energy-table ERT --format json`` with the
reference's own mapping (the exercise's map file, or the mapping Timeloop's mapper chose) and Accelergy's energy
table — and compared with the reference ``stats.txt``: cycles, energy, energy per MAC and every level's scalar
reads, fills and updates per data space (Timeloop's per-instance counts times its utilized instances, against
hwsim's counts summed over instances).

Prints the table and writes benchmarks/results/timeloop_exercises.json (and the table as
benchmarks/timeloop_exercises.md). A case hwsim cannot run yet is a row with the error hwsim printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests import timeloop_data  # noqa: E402  (the data's paths, once)

DATA = timeloop_data.DATA
ISPASS, LAB, DESIGNS, TUTORIAL_2024 = (str(p.relative_to(DATA)) for p in (timeloop_data.ISPASS, timeloop_data.LAB, timeloop_data.DESIGNS,
                                                                           timeloop_data.TUTORIAL_2024))  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One reference run: the files a Timeloop user passes and the outputs Timeloop wrote (paths under DATA)."""

    name: str
    arch: str
    problem: str
    mapping: str  # the exercise's mapping, or the one Timeloop's mapper chose (ref output's map.yaml)
    ref: str  # the reference output folder
    prefix: str = "timeloop-model"  # timeloop-model (a given mapping) or timeloop-mapper (the mapper's)
    variables: dict[str, str] = field(default_factory=dict)  # Jinja2 variables of templated files
    # a v0.3 file whose containers the reference's printed mapping does not name: the mapping is read on this v0.4
    # architecture of the same design and its loops placed on the v0.3 file's fan-outs one for one (derived_mapping)
    mapping_arch: str = ""

    @property
    def stats(self) -> Path:
        return DATA / self.ref / f"{self.prefix}.stats.txt"

    @property
    def ert(self) -> Path:
        return DATA / self.ref / f"{self.prefix}.ERT.yaml"


def _ispass(n: str, arch: str, prob: str, maps: dict[str, str], mapper: bool = False) -> list[Case]:
    d = next(p.name for p in (DATA / ISPASS).iterdir() if p.name.startswith(n))
    out = []
    for variant, mapping in maps.items():
        ref = f"{ISPASS}/{d}/ref-output" + (f"/{variant}" if variant else "")
        out.append(Case(f"{n}-{variant}" if variant else n, f"{ISPASS}/{d}/arch/{arch}", f"{ISPASS}/{d}/prob/{prob}",
                        mapping if mapper else f"{ISPASS}/{d}/map/{mapping}", ref,
                        prefix="timeloop-mapper" if mapper else "timeloop-model"))  # fmt: skip
    return out


def _mapper_case(name: str, arch: str, problem: str, ref: str, variables: dict[str, str] | None = None) -> Case:
    return Case(name, arch, problem, f"{ref}/timeloop-mapper.map.yaml", ref, "timeloop-mapper", variables or {})


CASES: list[Case] = [
    *_ispass("00", "1level.arch.yaml", "conv1d.prob.yaml", {"": "conv1d-1level.map.yaml"}),
    *_ispass("01", "2level.arch.yaml", "conv1d.prob.yaml", {"os": "conv1d-2level-os.map.yaml", "ws": "conv1d-2level-ws.map.yaml"}),
    *_ispass("02", "2level.arch.yaml", "conv1d+oc.prob.yaml",
             {"no-tiling": "conv1d+oc-2level-os.map.yaml", "tiling": "conv1d+oc-2level-os-tiled.map.yaml"}),
    *_ispass("03", "3level.arch.yaml", "conv1d+oc.prob.yaml",
             {"no-bypass": "conv1d+oc-3level.map.yaml", "bypass": "conv1d+oc-3level-bypass.map.yaml"}),
    # the architecture the references were generated from (tests/data/timeloop-exercises/SOURCE.md)
    *_ispass("04", "3levelspatial.arch.at-2ffec69.yaml", "conv1d+oc+ic.prob.yaml",
             {"cp": "conv1d+oc+ic-3levelspatial-cp-ws.map.yaml", "kp": "conv1d+oc+ic-3levelspatial-kp-ws.map.yaml"}),
    *[_mapper_case(f"05-{v}", f"{ISPASS}/05-mapper-conv1d+oc-3level/arch/3level.arch.yaml",
                   f"{ISPASS}/05-mapper-conv1d+oc-3level/prob/conv1d+oc.prob.yaml", f"{ISPASS}/05-mapper-conv1d+oc-3level/ref-output/{v}")
      for v in ("null", "freebypass", "baked")],
    _mapper_case("06-eyeriss", f"{ISPASS}/06-mapper-convlayer-eyeriss/arch/eyeriss_like.yaml",
                 f"{ISPASS}/06-mapper-convlayer-eyeriss/prob/VGG02_layer5.yaml", f"{ISPASS}/06-mapper-convlayer-eyeriss/ref-output"),
    *[_mapper_case(f"lab-{mac}", f"{LAB}/arch/arch.yaml", f"{LAB}/prob/prob.yaml", f"{LAB}/ref-output/{mac}",
                   {"mac_class": mac, "input_weight_datawidth": bits, "psum_datawidth": psum})
      for mac, bits, psum in (("intmac", "8", "16"), ("fpmac", "32", "32"))],
    *[_mapper_case(design, f"{DESIGNS}/{design}/arch.yaml",
                   f"{DESIGNS}/{design}/problem.yaml" if (DATA / DESIGNS / design / "problem.yaml").exists() else f"{DESIGNS}/_include/default_problem.yaml",
                   f"{DESIGNS}/{design}/ref_outputs/default_problem")
      for design in ("eyeriss_like", "simba_like", "simple_output_stationary", "simple_weight_stationary", "sparse_tensor_core_like")],
    # the same designs written in Timeloop v0.3 (timeloopfe's own arch_old.yaml; tests/data/timeloop-v03/SOURCE.md), run
    # with the v0.4 references' printed mappings and ERTs; where the v0.3 file names its fan-outs otherwise than the
    # printed nest's containers (eyeriss_like: DummyBuffer for PE_column; simba_like: PEWeightBuffer/PEWeightRegs arrays
    # for distributed_buffers/reg_mac), the nest is read on the v0.4 file and placed on the v0.3 fan-outs one for one
    *[Case(f"{design}-v0.3", f"../timeloop-v03/{design}.arch.yaml", f"{DESIGNS}/_include/default_problem.yaml",
           f"{DESIGNS}/{design}/ref_outputs/default_problem/timeloop-mapper.map.txt", f"{DESIGNS}/{design}/ref_outputs/default_problem",
           "timeloop-mapper", mapping_arch=f"{DESIGNS}/{design}/arch.yaml" if design != "simple_output_stationary" else "")
      for design in ("eyeriss_like", "simba_like", "simple_output_stationary")],
    # the committed inputs are the tutorial's starting point, which its notebook edits (the `reg` level goes) before it
    # writes outputs/: the case runs the specification Timeloop's front end wrote there (parsed-processed-input.yaml)
    Case("tutorial-2024", f"{TUTORIAL_2024}/outputs/parsed-processed-input.yaml", f"{TUTORIAL_2024}/outputs/parsed-processed-input.yaml",
         f"{TUTORIAL_2024}/outputs/timeloop-mapper.map.yaml", f"{TUTORIAL_2024}/outputs", "timeloop-mapper"),
]


# Cases that differ from their reference under Timeloop's semantics, and why (tests/test_timeloop_exercises.py checks
# that each still differs: a note that stops being true fails)
KNOWN: dict[str, str] = {}

# Mapper cases where hwsim's mapper does not yet find a mapping as good as Timeloop's, and why
MAPPER_KNOWN: dict[str, str] = {}


# --------------------------------------------------------------------------------------------- Timeloop's stats.txt

_NUM = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"


def parse_stats(path: Path) -> dict[str, Any]:
    """A Timeloop ``stats.txt`` as data.

    ``{"levels": {name: {"instances": n, "spaces": {space: {"reads", "fills", "updates", "utilized_instances",
    "energy_pj"}}}}, "compute": {"name", "computes", "cycles", "energy_pj", "utilized_instances"}, "cycles",
    "computes", "energy_pj", "fj_per_compute": {component: fJ}}``. Scalar counts are Timeloop's per-instance figures
    times its utilized instances (totals over the level's instances, as hwsim reports them); ``energy_pj`` is the sum
    of the listed components' fJ/compute times the computes (more digits than the summary's µJ).
    """
    text = path.read_text(encoding="utf-8")
    head, _, tail = text.partition("\nNetworks\n")
    levels: dict[str, Any] = {}
    compute: dict[str, Any] = {}
    for block in re.split(r"\n(?=Level \d+\n)", head):
        m = re.search(r"^=== (.+?) ===", block, re.M)
        if not m:
            continue
        name = m.group(1)
        inst = re.search(r"Instances\s*:\s*(\d+)", block)
        instances = int(inst.group(1)) if inst else 1
        if "Computes (total)" in block:
            compute = {"name": name, "instances": instances,
                       "computes": int(_field(block, r"Computes \(total\)")), "cycles": _field(block, r"Cycles"),
                       "energy_pj": _field(block, r"Energy \(total\)"), "utilized_instances": int(_field(block, r"Utilized instances"))}  # fmt: skip
            continue
        spaces = {}
        for sm in re.finditer(r"^    (\w+):\n((?:        .*\n?)+)", block, re.M):
            body = sm.group(2)
            util = int(_field(body, r"Utilized instances \(max\)"))
            spaces[sm.group(1)] = {
                "utilized_instances": util,
                **{k: _field(body, rf"Scalar {k} \(per-instance\)") * util for k in ("reads", "fills", "updates")},
                "energy_pj": _field(body, r"Energy \(total\)"),
            }
        levels[name] = {"instances": instances, "spaces": spaces}
    summary = tail.partition("Summary Stats")[2]
    computes = int(_field(summary, r"Computes ="))
    fj = {m.group(1): float(m.group(2)) for m in re.finditer(rf"^    (\S+)\s+= {_NUM}$", summary.partition("fJ/Compute")[2], re.M)}
    total_fj = fj.pop("Total", sum(fj.values()))
    return {"levels": levels, "compute": compute, "cycles": int(_field(summary, r"Cycles:")), "computes": computes,
            "energy_pj": total_fj * computes / 1000.0, "fj_per_compute": fj}  # fmt: skip


def _field(text: str, label: str) -> float:
    m = re.search(rf"{label}\s*:?\s*{_NUM}", text)
    if not m:
        raise ValueError(f"no {label!r} in the stats text")
    return float(m.group(1))


# --------------------------------------------------------------------------------------------- hwsim side


def derived_mapping(case: Case) -> dict[str, Any]:
    """The reference's mapping of a ``mapping_arch`` case in hwsim's mapping file form (hwsim.frontend.mapping_io) on the
    case's architecture: read on the v0.4 architecture its printed nest names, every level's loops kept, each fan-out's
    spatial loops placed on the case's fan-out of the same position, size and parent level (anything else: ValueError)."""
    from hwsim.frontend.importers.timeloop import load_timeloop
    from hwsim.frontend.importers.timeloop_mapping import read_timeloop_mapping
    from hwsim.frontend.mapping_io import mappings_to_dict
    from hwsim.frontend.presets import timeloop_names

    v04, v03 = load_timeloop(DATA / case.mapping_arch), load_timeloop(DATA / case.arch)
    problem = str(DATA / case.problem)
    names = timeloop_names(problem)
    assert names is not None
    (layer,) = load_timeloop(problem).layers()
    if [lv.name for lv in v04.levels] != [lv.name for lv in v03.levels] or [(a.size, a.below) for a in v04.axes] != [(a.size, a.below) for a in v03.axes]:
        raise ValueError(f"{case.arch}: levels and fan-outs do not correspond one for one to {case.mapping_arch}'s")
    mapping = read_timeloop_mapping(DATA / case.mapping, v04, layer, names)
    return {"arch": v03.name, "layers": mappings_to_dict(v03, {layer.name: mapping})}


def hwsim_args(case: Case, semantics: str | None = None, mapping: str | None = None) -> list[str]:
    """The ``hwsim run`` arguments of a case (paths relative to the repository root; ``mapping``: another mapping file)."""
    rel = DATA.relative_to(ROOT)
    args = ["run", "--arch", str(rel / case.arch), "--workload", str(rel / case.problem), "--mappings", mapping or str(rel / case.mapping),
            "--energy-table", str(case.ert.relative_to(ROOT)), "--format", "json"]  # fmt: skip
    for k, v in case.variables.items():
        args += ["--var", f"{k}={v}"]
    if semantics:
        args += ["--semantics", semantics]
    return args


def run_hwsim(case: Case, semantics: str | None = None, *, objective: str | None = None, own_mapping: bool = False) -> dict[str, Any]:
    """hwsim's JSON report of the case's one layer through the command line (in this process: ``hwsim.cli.main``), or
    ``{"error": the message hwsim printed}``."""
    import contextlib
    import io
    import os
    import tempfile

    from hwsim.cli import main as hwsim_main

    err = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "report.json")
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            with contextlib.redirect_stderr(err):
                mapping = None
                if case.mapping_arch and not own_mapping:
                    import yaml

                    mapping = os.path.join(tmp, "mapping.yaml")
                    with open(mapping, "w", encoding="utf-8") as f:
                        yaml.safe_dump(derived_mapping(case), f)
                args = hwsim_args(case, semantics, mapping)
                if own_mapping:  # hwsim's mapper instead of the reference's mapping
                    at = args.index("--mappings")
                    del args[at : at + 2]
                args += ["--objective", objective] if objective else []
                status = hwsim_main([*args, "--out", out])
        finally:
            os.chdir(cwd)
        if status != 0:
            return {"error": err.getvalue().strip()}
        with open(out, encoding="utf-8") as f:
            report = json.load(f)
    return {"layer": report["layers"][0], "mapping": report.get("mapping", ""), "spaces": _spaces(case)}


def _spaces(case: Case) -> dict[str, str]:
    """Timeloop data-space name → hwsim operand, from the case's problem."""
    from hwsim.frontend.presets import timeloop_names

    names = timeloop_names(str(DATA / case.problem), dict(case.variables) or None)
    return dict(names.spaces) if names is not None else {}


def compare(ref: dict[str, Any], got: dict[str, Any]) -> dict[str, Any]:
    """Reference vs hwsim for one case: the headline figures and every (level, data space, count) pair."""
    if "error" in got:
        return {"error": got["error"]}
    layer = got["layer"]
    spaces = got.get("spaces", {})
    counts = []
    for lv, data in ref["levels"].items():
        for space, r in data["spaces"].items():
            h = layer.get("accesses", {}).get(lv, {}).get(spaces.get(space, space.lower()))
            for k in ("reads", "fills", "updates"):
                counts.append({"level": lv, "space": space, "count": k, "ref": r[k], "hwsim": None if h is None else h[k]})
    return {
        "cycles": {"ref": ref["cycles"], "hwsim": layer["cycles"]},
        "energy_pj": {"ref": ref["energy_pj"], "hwsim": layer["energy_pj"]},
        "macs": {"ref": ref["computes"], "hwsim": layer["macs"]},
        "counts": counts,
        "counts_equal": sum(1 for c in counts if _equal(c)),
        "mapping": got.get("mapping", ""),
    }


def _equal(c: dict[str, Any]) -> bool:
    return c["hwsim"] is not None and abs(c["hwsim"] - c["ref"]) <= 1e-9 * max(1.0, c["ref"])


def attribution(case: Case, ref: dict[str, Any]) -> dict[str, Any]:
    """hwsim's own semantics on the case, and what each option changes: for every option of Timeloop's semantics,
    the case run with that option alone switched to hwsim's — the counts, cycles and energy it moves."""
    from hwsim.core.arch import SEMANTICS_OPTIONS

    base = compare(ref, run_hwsim(case, "timeloop"))
    own = compare(ref, run_hwsim(case, "hwsim"))
    if "error" in base or "error" in own:
        return {"error": base.get("error") or own.get("error")}
    changes = {}
    explained: set[tuple[str, str, str]] = set()
    for option in SEMANTICS_OPTIONS:
        r = compare(ref, run_hwsim(case, f"timeloop,{option}=off"))
        pairs = [(a, b) for a, b in zip(base["counts"], r["counts"], strict=True) if a["hwsim"] != b["hwsim"]]
        explained |= {(a["level"], a["space"], a["count"]) for a, _ in pairs}
        moved = [f"{a['level']}.{a['space']}.{a['count']} {a['hwsim']:g}→{b['hwsim']:g}" for a, b in pairs]
        cyc, en = _ratio({"ref": base["cycles"]["hwsim"], "hwsim": r["cycles"]["hwsim"]}), _ratio({"ref": base["energy_pj"]["hwsim"], "hwsim": r["energy_pj"]["hwsim"]})
        if moved or cyc != 1 or en != 1:
            changes[option] = {"counts": moved, "cycles_ratio": cyc, "energy_ratio": en}
    # every count hwsim's semantics move from Timeloop's must be moved by some option alone
    unexplained = [f"{a['level']}.{a['space']}.{a['count']}" for a, b in zip(base["counts"], own["counts"], strict=True)
                   if a["hwsim"] != b["hwsim"] and (a["level"], a["space"], a["count"]) not in explained]  # fmt: skip
    return {"cycles_ratio": _ratio(own["cycles"]), "energy_ratio": _ratio(own["energy_pj"]), "counts_equal": own["counts_equal"],
            "counts": len(own["counts"]), "options": changes, "unexplained": unexplained}  # fmt: skip


def _ratio(d: dict[str, float]) -> float | None:
    return d["hwsim"] / d["ref"] if d["ref"] else None


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = ["| case | ref cycles | hwsim cycles | ratio | ref energy pJ | hwsim energy pJ | ratio | ref pJ/MAC | counts equal | note |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for name, r in rows.items():
        if "error" in r:
            why = KNOWN.get(name) or r["error"].splitlines()[-1][:160]
            lines.append(f"| {name} | {r['ref_cycles']:,} | — | — | {r['ref_energy_pj']:,.2f} | — | — | {r['ref_energy_pj'] / r['ref_macs']:.3f} | — | "
                         f"{why.replace('|', '/')} |")  # fmt: skip
            continue
        c, e = r["cycles"], r["energy_pj"]
        rc, re_ = _ratio(c), _ratio(e)
        lines.append(f"| {name} | {c['ref']:,} | {c['hwsim']:,.0f} | {rc:.3f} | {e['ref']:,.2f} | {e['hwsim']:,.2f} | {re_:.3f} | "
                     f"{e['ref'] / r['macs']['ref']:.3f} | {r['counts_equal']}/{len(r['counts'])} | {KNOWN.get(name, '')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def run(cases: list[Case], semantics: str | None = None, attribute: bool = True) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for case in cases:
        ref = parse_stats(case.stats)
        row = compare(ref, run_hwsim(case, semantics))
        row.update(ref_cycles=ref["cycles"], ref_energy_pj=ref["energy_pj"], ref_macs=ref["computes"])
        if attribute:
            row["hwsim_semantics"] = attribution(case, ref)
        if case.prefix == "timeloop-mapper" and (DATA / case.ref / "parsed-processed-input.yaml").exists():
            row["mapper"] = mapper_comparison(case)
        rows[case.name] = row
        print(table({case.name: row}).splitlines()[-1], flush=True)
    return rows


def mapper_comparison(case: Case) -> dict[str, Any]:
    """hwsim's mapper against Timeloop's on a mapper case, under one cost model (hwsim's, Timeloop's semantics, the
    reference's ERT) and Timeloop's objective: both run on the specification Timeloop's mapper saw (the reference's
    parsed-processed-input.yaml: architecture, problem and mapspace constraints), one with hwsim's mapper, one with the
    reference's mapping. ``as_good``: hwsim's figures are lexicographically no worse."""
    from hwsim.core.spec import read_spec_text
    from hwsim.frontend.importers.timeloop import parse_timeloop_yaml

    spec = DATA / case.ref / "parsed-processed-input.yaml"
    mapper = parse_timeloop_yaml(read_spec_text(spec), str(spec)).get("mapper") or {}
    metrics = [m for m in (mapper.get("optimization_metrics") or mapper.get("optimization_metric") or ["edp"]) if m in ("edp", "energy", "delay")]
    base = dict(case.__dict__, arch=str(spec.relative_to(DATA)), problem=str(spec.relative_to(DATA)), variables={}, mapping_arch="")
    ours = run_hwsim(Case(**base), None, objective=",".join(metrics), own_mapping=True)
    theirs = run_hwsim(Case(**base))
    if "error" in ours or "error" in theirs:
        return {"error": ours.get("error") or theirs.get("error")}
    figure = {"energy": "energy_pj", "delay": "cycles"}

    def score(r: dict[str, Any]) -> list[float]:
        layer = r["layer"]
        return [layer["energy_pj"] * layer["cycles"] if m == "edp" else layer[figure[m]] for m in metrics]

    a, b = score(ours), score(theirs)
    as_good = True
    for x, y in zip(a, b, strict=True):
        if x < y * (1 - 1e-9):
            break
        if x > y * (1 + 1e-9):
            as_good = False
            break
    return {"objective": metrics, "hwsim": a, "reference": b, "ratios": [x / y for x, y in zip(a, b, strict=True)], "as_good": as_good}


def mapper_table(rows: dict[str, dict[str, Any]]) -> str:
    lines = ["| case | objective | hwsim's mapper / the reference mapping (same model) | at least as good |", "|---|---|---|---|"]
    for name, r in rows.items():
        m = r.get("mapper")
        if not m:
            continue
        if "error" in m:
            lines.append(f"| {name} | | {m['error'].splitlines()[-1][:120].replace('|', '/')} | no |")
            continue
        ratios = ", ".join(f"{o} ×{x:.3f}" for o, x in zip(m["objective"], m["ratios"], strict=True))
        verdict = "yes" if m["as_good"] else "no: " + MAPPER_KNOWN.get(name, "")
        lines.append(f"| {name} | {', '.join(m['objective'])} | {ratios} | {verdict} |")
    return "\n".join(lines) + "\n"


def options_table(rows: dict[str, dict[str, Any]]) -> str:
    """Per case: hwsim's own semantics against the reference, and each Timeloop option's effect."""
    lines = ["| case | hwsim semantics: cycles ratio | energy ratio | counts equal | options that matter (Timeloop → hwsim's choice: cycles, energy, counts moved) |",
             "|---|---:|---:|---:|---|"]  # fmt: skip
    for name, r in rows.items():
        a = r.get("hwsim_semantics")
        if not a or "error" in a:
            continue
        parts = [f"{o}: ×{c['cycles_ratio']:.3f} cycles, ×{c['energy_ratio']:.3f} energy, {len(c['counts'])} counts" for o, c in a["options"].items()]
        if a["unexplained"]:
            parts.append(f"moved by no option alone: {', '.join(a['unexplained'])}")
        lines.append(f"| {name} | {a['cycles_ratio']:.3f} | {a['energy_ratio']:.3f} | {a['counts_equal']}/{a['counts']} | {'; '.join(parts) or 'none'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", help="comma-separated case names (default: all)")
    ap.add_argument("--semantics", help="the model's semantics, as hwsim run --semantics (default: the imported design's: Timeloop's)")
    ap.add_argument("--no-attribution", action="store_true", help="skip the runs under hwsim's semantics and per option")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.cases or c.name in args.cases.split(",")]
    print(table({}).rstrip())
    rows = run(cases, args.semantics, not args.no_attribution)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results_io import write_results

    matched = sum(1 for r in rows.values() if "error" not in r and abs(_ratio(r["cycles"]) - 1) <= 0.05)  # type: ignore[operator]
    energy = sum(1 for r in rows.values() if "error" not in r and abs(_ratio(r["energy_pj"]) - 1) <= 0.10)  # type: ignore[operator]
    summary = {"cases": len(rows), "run": sum(1 for r in rows.values() if "error" not in r), "cycles_within_5pct": matched,
               "energy_within_10pct": energy}  # fmt: skip
    exact = sum(1 for r in rows.values() if "error" not in r and r["cycles"]["hwsim"] == r["cycles"]["ref"] and r["counts_equal"] == len(r["counts"])
                and abs(_ratio(r["energy_pj"]) - 1) <= 0.01)  # type: ignore[operator]
    summary["cycles_counts_equal_energy_within_1pct"] = exact
    print(f"\n{summary['run']}/{len(rows)} cases run; cycles within 5%: {matched}, energy within 10%: {energy}; "
          f"cycles and every count equal, energy within 1%: {exact}")
    if not args.no_attribution:
        print("\n" + options_table(rows))
    print("\n" + mapper_table(rows))
    summary["mapper_cases"] = sum(1 for r in rows.values() if "mapper" in r)
    summary["mapper_as_good"] = sum(1 for r in rows.values() if r.get("mapper", {}).get("as_good"))
    write_results("timeloop_exercises", {"summary": summary, "cases": rows, "semantics": args.semantics or "imported"},
                  measures="hwsim vs Timeloop+Accelergy reference stats on the published exercises, each run through `hwsim run` "
                  "with the reference's mapping and ERT: cycles, energy and every level's reads/fills/updates")  # fmt: skip
    (Path(__file__).with_name("timeloop_exercises.md")).write_text(
        "# hwsim vs Timeloop + Accelergy exercises\n\nWritten by `python benchmarks/timeloop_exercises.py`; data: "
        "tests/data/timeloop-exercises/SOURCE.md.\n\n" + table(rows)
        + ("\n## Under hwsim's own semantics, and what each option changes\n\n" + options_table(rows) if not args.no_attribution else "")
        + "\n## hwsim's mapper against Timeloop's (same model, Timeloop's objective)\n\n" + mapper_table(rows)
        + "\nBoth mappers search the constraints' mapspace: keep/bypass (searched where the constraints leave it free, "
          "`may_bypass`), factors fixed, set to 1, bounded (`X<=n`, `X>=n`) or whole (`X=0`), fan-out splits and partial "
          "loop permutations. One difference: at the innermost storage level Timeloop's mapper ignores a permutation and "
          "takes the problem's dimension order, where hwsim's searches the orders (the importer notes it).\n",
        encoding="utf-8")  # fmt: skip


if __name__ == "__main__":
    main()
