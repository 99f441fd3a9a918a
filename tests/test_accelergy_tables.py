"""Accelergy's tables priced into hwsim architectures (hwsim.frontend.importers.accelergy), checked against the
Timeloop + Accelergy exercises' own reference outputs (tests/data/timeloop-exercises, see its SOURCE.md).

The independent truth is each exercise's ``stats.txt``: what Timeloop charged with that ERT. Two checks:
- the conversion: Timeloop's per-instance counts, priced by hwsim's rule (element bits / word_bits words at the
  applied per-word energies), give Timeloop's energy for every level and data space whose counts are whole vectors;
  where they are not, Timeloop's figure is ceil(count / block_size) vectors (re-derived here from the ERT) — the one
  billing difference, named in the module documentation;
- the model: exercises 00 and 01 evaluated by hwsim with the reference's own mapping (read by hand from
  ``map/*.map.yaml``): where hwsim's counts equal Timeloop's, the energies agree within 1%.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from hwsim.core.arch import HWSIM, TIMELOOP, Architecture, Semantics
from hwsim.core.errors import SpecError
from hwsim.core.mapping import Mapping
from hwsim.core.workload import Layer
from hwsim.cost.analytical import evaluate_mapping
from hwsim.frontend.importers.accelergy import (
    apply_energy_table,
    base_name,
    match_energy_table,
    read_area_table,
    read_energy_table,
)
from hwsim.frontend.importers.timeloop import TIMELOOP_ELEMENT_BITS, load_timeloop
from tests.timeloop_data import DATA, ISPASS

# (exercise folder, reference-output folder) of every case whose architecture the Timeloop importer reads
CASES = [
    ("00-model-conv1d-1level", "ref-output"),
    ("01-model-conv1d-2level", "ref-output/ws"),
    ("01-model-conv1d-2level", "ref-output/os"),
    ("02-model-conv1d+oc-2level", "ref-output/no-tiling"),
    ("02-model-conv1d+oc-2level", "ref-output/tiling"),
    ("03-model-conv1d+oc-3level", "ref-output/no-bypass"),
    ("03-model-conv1d+oc-3level", "ref-output/bypass"),
    ("04-model-conv1d+oc-3levelspatial", "ref-output/cp"),
    ("04-model-conv1d+oc-3levelspatial", "ref-output/kp"),
    ("05-mapper-conv1d+oc-3level", "ref-output/null"),
    ("05-mapper-conv1d+oc-3level", "ref-output/freebypass"),
    ("05-mapper-conv1d+oc-3level", "ref-output/baked"),
    ("06-mapper-convlayer-eyeriss", "ref-output"),
]


def timeloop_stats(path: Path) -> dict[str, dict]:
    """A Timeloop ``stats.txt`` as {level or arithmetic name: {spec or stat: value, "spaces": {data space: {stat: value}}}}."""
    levels: dict[str, dict] = {}
    cur: dict | None = None
    space: dict | None = None
    for line in path.read_text().splitlines():
        if line.startswith("Operational Intensity"):
            break
        m = re.match(r"^=== (\S+) ===$", line)
        if m:
            cur, space = levels.setdefault(m.group(1), {"spaces": {}}), None
            continue
        if cur is None or line.strip().startswith("for "):
            continue
        m = re.match(r"^    (\w+):$", line)
        if m:
            space = cur["spaces"].setdefault(m.group(1).lower(), {})
            continue
        m = re.match(r"^\s+([^:]+?)\s*:\s*(-?\d[\d.e+-]*)", line)
        if m:
            (space if space is not None else cur)[m.group(1)] = float(m.group(2))
    return levels


def _arch_file(exercise: str) -> Path:
    """The architecture the exercise's references were generated from (04's is kept from an older commit, SOURCE.md)."""
    files = sorted((ISPASS / exercise / "arch").glob("*.yaml"))
    older = [f for f in files if ".at-" in f.name]
    (arch_file,) = older or files
    return arch_file


def _case(exercise: str, ref: str) -> tuple[Architecture, Path]:
    folder = ISPASS / exercise
    arch_file = _arch_file(exercise)
    out = folder / ref
    (ert,) = out.glob("*.ERT.yaml")
    (art,) = out.glob("*.ART.yaml")
    arch = apply_energy_table(load_timeloop(arch_file), read_energy_table(ert), str(ert), read_area_table(art))
    return arch, out


def _close(a: float, b: float, rel: float = 0.01) -> bool:
    """Within ``rel``, or within the 0.005 pJ a stats.txt figure is rounded to."""
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.006)


# --------------------------------------------------------------------------------------------- reading


def test_base_names_drop_the_path_and_index_ranges():
    assert base_name("system_top_level.shared_glb[1..1]") == "shared_glb"
    assert base_name("PE_top_level.Buffer[1..1]") == "Buffer"
    assert base_name("system.PE[0..255].pe_spad") == "pe_spad"
    assert base_name("DRAM") == "DRAM"


@pytest.mark.parametrize("ert", sorted(DATA.rglob("*ERT.yaml")), ids=lambda p: str(p.relative_to(DATA)))
def test_every_committed_table_reads_alike_from_its_summary(ert: Path):
    """The exercises' ERT (per argument combination) and ERT_summary (per action) give the same energies; ART and
    ART_summary the same areas."""
    summary = ert.with_name(ert.name.replace("ERT.yaml", "ERT_summary.yaml"))
    full = read_energy_table(ert)
    assert full.version == "0.4" and full.components
    if summary.exists():
        short = read_energy_table(summary)
        assert [(c.name, c.actions) for c in short.components] == [(c.name, c.actions) for c in full.components]
    art = ert.with_name(ert.name.replace("ERT", "ART"))
    art_summary = ert.with_name(ert.name.replace("ERT", "ART_summary"))
    if art.exists() and art_summary.exists():
        assert [(c.name, c.area_um2) for c in read_area_table(art).components] == [
            (c.name, c.area_um2) for c in read_area_table(art_summary).components
        ]


V03 = """\
ERT:
  version: 0.3
  tables:
  - name: system.chip.PE[0..7].mac
    actions:
    - {name: mac_random, arguments: null, energy: 2.20035}
    - {name: mac_gated, arguments: null, energy: 0.10285}
    - {name: idle, arguments: null, energy: 0.06595}
  - name: system.DRAM
    actions:
    - {name: read, arguments: null, energy: 249.6}
    - {name: write, arguments: null, energy: 249.6}
  - name: system.chip.PE[0..7].spad
    actions:
    - {name: write, arguments: {address_delta: 0, data_delta: 0}, energy: 0.04881}
    - {name: write, arguments: {address_delta: 1, data_delta: 1}, energy: 0.89618}
    - {name: read, arguments: {address_delta: 0, data_delta: 1}, energy: 0.47837}
    - {name: read, arguments: {address_delta: 1, data_delta: 1}, energy: 0.66246}
  - name: system.chip.GLB_to_PE_wire
    actions:
    - {name: transfer_random, arguments: null, energy: 3.0}
"""

V04_SUMMARY = """\
ERT_summary:
  version: '0.4'
  table_summary:
  - name: top.PE[1..8].spad
    actions:
    - {name: read, average_energy: 0.5, max_energy: 0.66246, min_energy: 0.04881}
    - {name: write, energy: 0.89618}
    primitive_estimation(s):
    - {name: storage, estimator: Aladdin_table}
"""


def test_an_action_with_argument_combinations_costs_its_largest_energy(tmp_path: Path):
    """Timeloop charges an action the maximum over its argument combinations; a summary's max_energy is that figure."""
    (tmp_path / "ERT.yaml").write_text(V03)
    (tmp_path / "ERT_summary.yaml").write_text(V04_SUMMARY)
    table = read_energy_table(tmp_path / "ERT.yaml")
    spad = next(c for c in table.components if c.base == "spad")
    assert spad.actions == {"write": 0.89618, "read": 0.66246}
    summary = read_energy_table(tmp_path / "ERT_summary.yaml")
    assert summary.components[0].actions == {"read": 0.66246, "write": 0.89618}
    assert summary.components[0].estimators == ("Aladdin_table",)


def test_version_02_mappings_read_too(tmp_path: Path):
    (tmp_path / "ERT.yaml").write_text("ERT:\n  version: 0.2\n  tables:\n    sys.buf:\n      read: [{arguments: {a: 0}, energy: 1.0}, {arguments: {a: 1}, energy: 2.0}]\n      write: {energy: 3.0}\n")
    (tmp_path / "ART.yaml").write_text("ART:\n  version: 0.2\n  tables:\n    sys.buf: 12.5\n    sys.mac: {area: 3}\n")
    assert read_energy_table(tmp_path / "ERT.yaml").components[0].actions == {"read": 2.0, "write": 3.0}
    assert [(c.base, c.area_um2) for c in read_area_table(tmp_path / "ART.yaml").components] == [("buf", 12.5), ("mac", 3.0)]


def test_bad_tables_list_every_problem(tmp_path: Path):
    (tmp_path / "ERT.yaml").write_text("ERT:\n  version: 0.4\n  tables:\n  - name: a.b\n    actions:\n    - {name: read, energy: -1}\n    - {name: write}\n  - 7\n")
    with pytest.raises(SpecError) as e:
        read_energy_table(tmp_path / "ERT.yaml")
    assert str(e.value) == (
        f"{tmp_path / 'ERT.yaml'}: 3 problems\n"
        "- ERT.tables[0].actions[0].energy: expected a non-negative number, not -1\n"
        "- ERT.tables[0].actions[1]: expected an energy (or a summary's max_energy) in pJ, not {'name': 'write'}\n"
        "- ERT.tables[1]: expected a component {name, actions: [...]}, not 7"
    )
    (tmp_path / "x.yaml").write_text("tables: []\n")
    with pytest.raises(SpecError, match=r"^.*x\.yaml: 1 problem\n- \(top level\): expected an Accelergy table with a top-level ERT or ERT_summary mapping, not \['tables'\]$"):
        read_energy_table(tmp_path / "x.yaml")


# --------------------------------------------------------------------------------------------- matching


def test_every_unmatched_level_and_entry_is_one_error_and_networks_are_listed(tmp_path: Path):
    """A level or MAC without an entry, an entry matching nothing, two compute units: one SpecError naming each (an
    update energy unequal to the write energy is no problem: it prices updates). Wires and Timeloop's spatial
    placeholders are listed, not errors."""
    arch = load_timeloop(ISPASS / "03-model-conv1d+oc-3level" / "arch" / "3level.arch.yaml")
    (tmp_path / "ERT.yaml").write_text("""\
ERT:
  version: '0.4'
  tables:
  - {name: 'top.MainMemory[1..1]', actions: [{name: read, energy: 2048}, {name: write, energy: 2048}, {name: update, energy: 2048}]}
  - {name: 'top.GlobalBuffer[1..1]', actions: [{name: read, energy: 43.35}, {name: write, energy: 30.88}, {name: update, energy: 35.0}]}
  - {name: 'top.Scratch[1..4]', actions: [{name: read, energy: 1.0}, {name: write, energy: 1.0}]}
  - {name: 'top.MACC[1..1]', actions: [{name: compute, energy: 0.845}]}
  - {name: 'top.Adder[1..1]', actions: [{name: compute, energy: 0.1}]}
  - {name: top.glb_wire, actions: [{name: transfer_random, energy: 3.0}]}
""")
    table = read_energy_table(tmp_path / "ERT.yaml")
    with pytest.raises(SpecError) as e:
        apply_energy_table(arch, table, "--energy-table")
    assert str(e.value) == (
        "--energy-table: 3 problems\n"
        "- ERT.tables[2].name: expected a component named after a level (MainMemory, GlobalBuffer, RegisterFile) or a compute unit with a compute action, not 'top.Scratch[1..4]'\n"
        "- ERT.tables[4].name: expected one compute unit (hwsim has one MAC unit; 'top.MACC[1..1]' is one), not 'top.Adder[1..1]'\n"
        "- ERT.tables: expected an entry for level 'RegisterFile' (a component named 'RegisterFile'), not 'RegisterFile'"
    )
    assert match_energy_table(arch, table).notes() == [
        "top.glb_wire: not modelled by hwsim (a wire or network-on-chip; hwsim does not charge network energy or area); its energy and area are left out",
    ]


def test_placeholders_and_ignored_actions_are_listed():
    arch, out = _case("04-model-conv1d+oc-3levelspatial", "ref-output/cp")
    match = match_energy_table(load_timeloop(_arch_file("04-model-conv1d+oc-3levelspatial")),
                               read_energy_table(out / "timeloop-model.ERT.yaml"), read_area_table(out / "timeloop-model.ART.yaml"))  # fmt: skip
    assert match.architecture == arch
    assert match.notes() == [
        "System_top_level.inter_PE_spatial[1..1]: not modelled by hwsim (Timeloop's placeholder storage (dummy_storage) for a container's "
        "spatial fan-out; hwsim models the fan-out as a spatial axis (area 1 µm²)); its energy and area are left out"
    ]


def test_access_bits_convert_a_vector_action_to_hwsim_words():
    """An Accelergy action on a 256-bit vector priced into a level whose hwsim word is 64 bits costs a quarter."""
    folder = ISPASS / "03-model-conv1d+oc-3level"
    arch = load_timeloop(folder / "arch" / "3level.arch.yaml")
    table = read_energy_table(folder / "ref-output/no-bypass/timeloop-model.ERT.yaml")
    wide = arch.with_level("GlobalBuffer", word_bits=64)
    priced = apply_energy_table(wide, table, "t", access_bits={"GlobalBuffer": 256})
    assert priced.levels[1].read_energy_pj == pytest.approx(43.353054 / 4)
    assert priced.levels[1].write_energy_pj == pytest.approx(30.878292 / 4)
    with pytest.raises(SpecError, match=r"access_bits\.Nope: expected the name of a level \(MainMemory, GlobalBuffer, RegisterFile\), not 256"):
        apply_energy_table(arch, table, "t", access_bits={"Nope": 256})


# --------------------------------------------------------------------------------------------- against Timeloop


@pytest.mark.parametrize(("exercise", "ref"), CASES, ids=[f"{e[:2]}-{r.split('/')[-1]}" for e, r in CASES])
def test_timeloop_counts_priced_by_hwsim_give_timeloops_energy(exercise: str, ref: str):
    """Every level and data space of the reference: hwsim's per-word energies (from the ERT) applied to Timeloop's own
    per-instance counts reproduce Timeloop's energy within 1% when the counts are whole vectors; otherwise Timeloop's
    energy is the rounded-up vector count, and hwsim's the exact fraction of it. MAC, leakage and area too."""
    arch, out = _case(exercise, ref)
    stats = timeloop_stats(next(out.glob("*.stats.txt")))
    ert = {c.base: c.actions for c in read_energy_table(next(out.glob("*.ERT.yaml"))).components}
    checked = 0
    for lv in arch.levels:
        st = stats[lv.name]
        block = int(st["Block size"])
        # one Accelergy action (a vector of block elements) = one hwsim word of block elements of TIMELOOP_ELEMENT_BITS
        assert lv.word_bits == block * TIMELOOP_ELEMENT_BITS
        assert _close(lv.leakage_mw * 1e9 / arch.clock_hz, ert[lv.name]["leak"], rel=1e-9)
        assert lv.area_um2 == pytest.approx(st["Area"], rel=1e-6, abs=0.006)  # (Timeloop keeps areas in single precision)
        e_read, e_write, e_update = (ert[lv.name][a] for a in ("read", "write", "update"))
        for space, s in st["spaces"].items():
            r, f, u = (s[f"Scalar {k} (per-instance)"] for k in ("reads", "fills", "updates"))
            timeloop = s["Energy (per-instance)"]
            vectors = math.ceil(r / block) * e_read + math.ceil(f / block) * e_write + math.ceil(u / block) * e_update
            assert _close(vectors, timeloop, rel=1e-4), (lv.name, space)  # Timeloop's rule, re-derived from the ERT
            e = TIMELOOP_ELEMENT_BITS  # the bits of an imported problem's elements, the unit of the imported levels
            hwsim = (r * e * lv.read_energy_pj + (f + u) * e * lv.write_energy_pj) / lv.word_bits
            if r % block == 0 and f % block == 0 and u % block == 0:
                assert _close(hwsim, timeloop), (lv.name, space, hwsim, timeloop)
                checked += 1
            else:
                fraction = r / block * e_read + f / block * e_write + u / block * e_update
                assert hwsim == pytest.approx(fraction) and hwsim < timeloop
    mac_stats = next(v for k, v in stats.items() if k not in {lv.name for lv in arch.levels})
    assert _close(mac_stats["Computes (total)"] * arch.mac.energy_pj, mac_stats["Energy (total)"])
    assert arch.mac.area_um2 * mac_stats["Instances"] == pytest.approx(mac_stats["Area (total)"], abs=0.006)
    assert checked >= 3


def _layer(exercise: str) -> Layer:
    """The exercise's problem at Timeloop's precision: every data space, partial sums included, is 8 bits wide."""
    (prob,) = (ISPASS / exercise / "prob").glob("*.yaml")
    (layer,) = load_timeloop(prob).layers()
    return replace(layer, operands=tuple(replace(o, bits=8, psum_bits=8 if o.is_output else o.psum_bits) for o in layer.operands))


# The references' mappings (map/*.map.yaml), outermost loop first: Timeloop's permutation lists loops innermost first.
MAPPINGS = {
    ("00-model-conv1d-1level", "ref-output"): [[("P", 16), ("R", 3)]],
    ("01-model-conv1d-2level", "ref-output/ws"): [[("P", 16), ("R", 1)], [("P", 1), ("R", 3)]],
    ("01-model-conv1d-2level", "ref-output/os"): [[("R", 3), ("P", 1)], [("R", 1), ("P", 16)]],
}


@pytest.mark.parametrize("semantics", [HWSIM, TIMELOOP], ids=lambda s: s.name)
@pytest.mark.parametrize("case", list(MAPPINGS), ids=lambda c: f"{c[0][:2]}-{c[1].split('/')[-1]}")
def test_hwsim_with_the_reference_mapping_spends_timeloops_energy(case: tuple[str, str], semantics: Semantics):
    """hwsim evaluates the exercise with the reference's mapping and the ERT: wherever its counts equal Timeloop's,
    every level and data space's energy and the MACs' agree within 1% (whole vectors) or differ by exactly Timeloop's
    rounding up to whole vectors. In hwsim's semantics the counts that differ are the inputs' (sliding-window reuse,
    issue 17 item 4); in Timeloop's every count agrees."""
    arch, out = _case(*case)
    arch = replace(arch, semantics=semantics)
    stats = timeloop_stats(next(out.glob("*.stats.txt")))
    report = evaluate_mapping(_layer(case[0]), arch, Mapping.build(MAPPINGS[case], [[]]))
    assert _close(report.mac_energy_pj, stats["MACC"]["Energy (total)"])
    differ = []
    for lv in arch.levels:
        st = stats[lv.name]
        block = int(st["Block size"])
        for op in ("weights", "inputs", "outputs"):
            s = st["spaces"][op]
            counts = tuple(s[f"Scalar {k} (per-instance)"] for k in ("reads", "fills", "updates"))
            acc = report.accesses[(lv.name, op)]
            if (acc.reads, acc.fills, acc.updates) != counts:
                differ.append((lv.name, op))
                continue
            energy = report.access_energy_pj[(lv.name, op)]
            if all(c % block == 0 for c in counts):
                assert _close(energy, s["Energy (per-instance)"]), (lv.name, op, energy, s["Energy (per-instance)"])
            else:
                rounded = sum(math.ceil(c / block) / (c / block) * part for c, part in zip(counts, _parts(lv, counts), strict=True) if c)
                assert _close(rounded, s["Energy (per-instance)"]), (lv.name, op)
    assert set(differ) <= {("MainMemory", "inputs"), ("Buffer", "inputs")}
    if semantics == TIMELOOP:
        assert not differ
    if case[0].startswith("00"):  # one level and the MACs: everything agrees
        assert not differ
        assert _close(report.energy_pj - report.leakage_energy_pj, stats["MACC"]["Energy (total)"] + sum(s["Energy (total)"] for s in stats["Buffer"]["spaces"].values()))


def _parts(lv, counts: tuple[float, float, float]) -> tuple[float, float, float]:
    """hwsim's energy of reads, fills and updates of 8-bit elements at a level."""
    r, f, u = counts
    return (r * 8 * lv.read_energy_pj / lv.word_bits, f * 8 * lv.write_energy_pj / lv.word_bits, u * 8 * lv.update_pj / lv.word_bits)


@pytest.mark.parametrize("semantics", [HWSIM, TIMELOOP], ids=lambda s: s.name)
@pytest.mark.parametrize("case", list(MAPPINGS), ids=lambda c: f"{c[0][:2]}-{c[1].split('/')[-1]}")
def test_an_update_energy_unequal_to_write_prices_the_updates(tmp_path: Path, case: tuple[str, str], semantics: Semantics):
    """The reference's ERT with every storage level's ``update`` action made 2.5× its ``write``: the levels take it as
    their update energy (fills stay at the write energy), and every level and data space whose counts equal Timeloop's
    costs Timeloop's counts priced by hand at the table's read, write and update energies (Timeloop's rule: whole
    vectors per action; hwsim's semantics: the exact fraction)."""
    import yaml

    folder = ISPASS / case[0]
    out = folder / case[1]
    (ert_file,) = out.glob("*.ERT.yaml")
    ert = yaml.safe_load(ert_file.read_text())
    energies: dict[str, dict[str, float]] = {}
    for comp in ert["ERT"]["tables"]:
        actions = {a["name"]: a for a in comp["actions"]}
        if "update" in actions:
            actions["update"]["energy"] = 2.5 * actions["write"]["energy"]
        energies[base_name(comp["name"])] = {k: a["energy"] for k, a in actions.items()}
    (tmp_path / "ERT.yaml").write_text(yaml.safe_dump(ert))
    arch = apply_energy_table(load_timeloop(_arch_file(case[0])), read_energy_table(tmp_path / "ERT.yaml"), "ERT.yaml")
    arch = replace(arch, semantics=semantics)
    for lv in arch.levels:
        assert lv.update_energy_pj == pytest.approx(2.5 * lv.write_energy_pj)
    stats = timeloop_stats(next(out.glob("*.stats.txt")))
    report = evaluate_mapping(_layer(case[0]), arch, Mapping.build(MAPPINGS[case], [[]]))
    priced_updates = 0
    for lv in arch.levels:
        block = int(stats[lv.name]["Block size"])
        e = energies[lv.name]
        for op in ("weights", "inputs", "outputs"):
            s = stats[lv.name]["spaces"][op]
            counts = tuple(s[f"Scalar {k} (per-instance)"] for k in ("reads", "fills", "updates"))
            acc = report.accesses[(lv.name, op)]
            if (acc.reads, acc.fills, acc.updates) != counts:
                continue
            per_vector = (e["read"], e["write"], e["update"])
            if semantics == TIMELOOP:
                want = sum(math.ceil(c / block) * x for c, x in zip(counts, per_vector, strict=True))
            else:
                want = sum(c / block * x for c, x in zip(counts, per_vector, strict=True))
            assert report.access_energy_pj[(lv.name, op)] == pytest.approx(want, rel=1e-6), (lv.name, op)
            priced_updates += counts[2] > 0
    assert priced_updates >= 1


def test_the_energy_tables_doc_is_generated_from_the_committed_data():
    """docs/energy_tables.md's tables are benchmarks/energy_tables.py's rendering of benchmarks/results/energy_tables.json,
    and that file's figures are what the script computes from the committed references today."""
    import json

    from benchmarks.energy_tables import BEGIN, DOC, END, figures, markdown
    from benchmarks.results_io import read_results

    stored = read_results("energy_tables")["figures"]
    assert json.loads(json.dumps(figures())) == stored
    text = DOC.read_text(encoding="utf-8")
    assert text.split(BEGIN, 1)[1].split(END, 1)[0].strip() == markdown(stored)
