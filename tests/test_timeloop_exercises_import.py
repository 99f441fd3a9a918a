"""Every architecture and problem of the Timeloop + Accelergy exercises (tests/data/timeloop-exercises) imports.

Independent truths: Timeloop's own reading of each reference's input (the SPECS of its ``stats.txt``: every storage
level's size in elements, block size and instance count), the front end's processed input next to it
(``parsed-processed-input.yaml``: what the rendered and processed sources became), and hand counts from the files.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from hwsim.core.arch import Architecture
from hwsim.core.errors import SpecError
from hwsim.frontend.importers.timeloop import (
    TIMELOOP_ELEMENT_BITS,
    load_timeloop,
    read_timeloop_yaml,
    render_timeloop_template,
    timeloop_architecture,
    timeloop_problem,
    timeloop_problem_names,
)
from tests.timeloop_data import DATA, DESIGNS, LAB
from tests.timeloop_data import TUTORIAL_2024 as TUTORIAL

ISPASS = LAB.parent  # the ISPASS'20 tutorial: its timeloop/ exercises and the timeloop+accelergy lab
V03 = Path(__file__).parent / "data" / "timeloop-v03"
REFERENCES = sorted(p.parent for p in DATA.rglob("parsed-processed-input.yaml"))
DESIGN_NAMES = ["eyeriss_like", "simba_like", "simple_output_stationary", "simple_weight_stationary", "sparse_tensor_core_like"]
ACCELERGY_LAB = {"intmac": {"mac_class": "intmac", "psum_datawidth": 16, "input_weight_datawidth": 8},
                 "fpmac": {"mac_class": "fpmac", "psum_datawidth": 32, "input_weight_datawidth": 32}}  # fmt: skip


def _stats_specs(path: Path) -> dict[str, dict[str, str]]:
    """Each level's SPECS in a Timeloop stats.txt: {level: {"Size": "64", "Block size": "1", "Instances": "16 (16*1)"}}."""
    specs: dict[str, dict[str, str]] = {}
    name = None
    for line in path.read_text().splitlines():
        m = re.match(r"^=== (.+) ===$", line.strip())
        if m:
            name = m.group(1) if m.group(1) not in specs else None
            if name is not None:
                specs[name] = {}
            continue
        m = re.match(r"^\s+([A-Za-z ]+?)\s+: (.+)$", line)
        if name is not None and m and m.group(1) not in specs[name]:
            specs[name][m.group(1)] = m.group(2).strip()
    return specs


def _elements(arch: Architecture, i: int) -> float | None:
    size = arch.levels[i].size_bytes
    return None if size is None else size * 8 / TIMELOOP_ELEMENT_BITS


@pytest.mark.parametrize("ref", REFERENCES, ids=lambda p: str(p.relative_to(DATA)))
def test_each_reference_input_imports_as_timeloop_read_it(ref: Path) -> None:
    """The front end's processed input (v0.3 form: ``subtree``/``local`` and ``name[1..N]`` arrays, targets lists,
    ``dummy_storage`` placeholders) gives every storage level the size, block size and instance count Timeloop's
    stats report, the MACs their instances, and the layer the product of the problem's bounds."""
    data = read_timeloop_yaml(ref / "parsed-processed-input.yaml")
    arch = timeloop_architecture(data, "ref")
    (layer,) = timeloop_problem(data, "ref").layers()
    (stats,) = ref.glob("*stats.txt")
    specs = _stats_specs(stats)
    levels = [n for n, s in specs.items() if "Size" in s and not n.startswith("inter_")]
    assert [lv.name for lv in arch.levels] == levels[::-1]  # stats list the innermost first
    for i, lv in enumerate(arch.levels):
        s = specs[lv.name]
        want = None if s["Size"] == "-" else float(s["Size"])
        assert (_elements(arch, i), lv.word_bits // TIMELOOP_ELEMENT_BITS) == (want, int(s["Block size"])), lv.name
        assert arch.instances(i) == int(s["Instances"].split()[0]), lv.name
    (mac,) = [s for s in specs.values() if "Size" not in s and "Instances" in s]
    assert arch.num_macs == int(mac["Instances"].split()[0])
    instance = data["problem"]["instance"]
    assert layer.macs == math.prod(instance[d] for d in data["problem"]["shape"]["dimensions"])


def _same(a: Architecture, b: Architecture, *, axis_names: bool = True) -> None:
    da, db = asdict(a), asdict(b)
    for k in ("source", "name", "notes"):  # (notes name the constraints by their file paths)
        da.pop(k), db.pop(k)
    if not axis_names:
        for ax in da["axes"] + db["axes"]:
            ax.pop("name")
    assert da == db


def _ref(path: Path) -> tuple[Architecture, Any]:
    data = read_timeloop_yaml(path / "parsed-processed-input.yaml")
    return timeloop_architecture(data, "ref"), timeloop_problem(data, "ref").layers()[0]


@pytest.mark.parametrize("design", DESIGN_NAMES)
def test_example_designs_render_to_their_processed_inputs(design: str) -> None:
    """top.yaml.jinja2 rendered for each design (``include``, ``include_all``, ``cwd``, ``add_to_path``, ``path_exists``,
    ``| default``; sparse_tensor_core_like's own problem.yaml through ``path_exists``) imports to what the front end's
    processed input imports to: the same levels, sizes, keeps, constraints, fan-outs and layer. eyeriss_like's committed
    arch.yaml says 65nm where its reference was made at 32nm: only the node and what it prices differ."""
    data = read_timeloop_yaml(DESIGNS / "top.yaml.jinja2", {"architecture": design})
    arch, (layer,) = timeloop_architecture(data, "top"), timeloop_problem(data, "top").layers()
    ref_arch, ref_layer = _ref(DESIGNS / design / "ref_outputs" / "default_problem")
    if design == "eyeriss_like":
        assert (arch.node_nm, ref_arch.node_nm) == (65, 32)
        data["architecture"]["nodes"][2]["attributes"]["technology"] = "32nm"
        arch = timeloop_architecture(data, "top")
    _same(arch, ref_arch)
    assert replace(layer, name="") == replace(ref_layer, name="")


def test_the_ispass_exercises_import_as_their_references() -> None:
    """Exercises 00-06: architecture, problem (and exercise 05's constraint files) as Timeloop was given them import
    to what each reference's processed input imports to."""
    cases = [("00-model-conv1d-1level", "1level.arch.yaml", "conv1d.prob.yaml", None, ""),
             ("01-model-conv1d-2level", "2level.arch.yaml", "conv1d.prob.yaml", None, "os"),
             ("02-model-conv1d+oc-2level", "2level.arch.yaml", "conv1d+oc.prob.yaml", None, "tiling"),
             ("03-model-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml", None, "bypass"),
             ("04-model-conv1d+oc-3levelspatial", "3levelspatial.arch.at-2ffec69.yaml", "conv1d+oc+ic.prob.yaml", None, "cp"),
             ("05-mapper-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml", "conv1d+oc-3level-1mapping", "baked"),
             ("05-mapper-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml", "conv1d+oc-3level-freebypass", "freebypass"),
             ("05-mapper-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml", "null", "null"),
             ("06-mapper-convlayer-eyeriss", "eyeriss_like.yaml", "VGG02_layer5.yaml", None, "")]  # fmt: skip
    for folder, arch_file, prob_file, constraints, ref in cases:
        root = ISPASS / "timeloop" / folder
        data = {**read_timeloop_yaml(root / "arch" / arch_file), **read_timeloop_yaml(root / "prob" / prob_file)}
        if constraints:
            data |= read_timeloop_yaml(root / "constraints" / f"{constraints}.constraints.yaml")
        ref_arch, ref_layer = _ref(root / "ref-output" / ref)
        _same(timeloop_architecture(data, arch_file), ref_arch)
        assert replace(timeloop_problem(data, prob_file).layers()[0], name="") == replace(ref_layer, name="")


@pytest.mark.parametrize("mac", sorted(ACCELERGY_LAB))
def test_the_templated_accelergy_lab_architecture_renders_with_its_variables(mac: str) -> None:
    """timeloop+accelergy/arch/arch.yaml is itself a template (``{{mac_class}}``, ``{{psum_datawidth}}``) whose
    attributes are expressions over its ``variables`` (``max(INPUT_WEIGHT_DATAWIDTH, 16)``): rendered with each
    reference's values it imports as that reference; psum_spad holds 16 elements either way (depth 16, one element
    of PSUM_DATAWIDTH bits per row)."""
    data = read_timeloop_yaml(ISPASS / "timeloop+accelergy" / "arch" / "arch.yaml", ACCELERGY_LAB[mac])
    names = timeloop_problem_names(read_timeloop_yaml(ISPASS / "timeloop+accelergy" / "prob" / "prob.yaml"))
    arch = timeloop_architecture(data, "arch.yaml", names)
    ref_arch, _ = _ref(ISPASS / "timeloop+accelergy" / "ref-output" / mac)
    _same(arch, ref_arch)
    psum = arch.levels[[lv.name for lv in arch.levels].index("psum_spad")]
    assert psum.size_bytes * 8 / TIMELOOP_ELEMENT_BITS == 16
    with pytest.raises(SpecError, match=r"'psum_datawidth' is undefined"):
        read_timeloop_yaml(ISPASS / "timeloop+accelergy" / "arch" / "arch.yaml")


def test_the_2024_tutorial_renders_with_and_without_its_register() -> None:
    """top.yaml.jinja: ``include`` after ``add_to_path(cwd() ~ '/inputs')``, variables.yaml's own template
    (``datawidth_jinja | default(8)``), ``split: len(spec.problem.instance)`` (17 with its densities: all along X) and
    ``maximize_dims: [[M, C]]`` (M takes the whole fan-out of 8, as the front end chose). The reference ran without the
    register (``reg_enabled: False``); with it, a 3-element register (``width: datawidth * 3``) keeping everything,
    with no temporal loops (``factors_only: []``), sits above the 8 MACs."""
    top = TUTORIAL / "top.yaml.jinja"
    without = read_timeloop_yaml(top, {"reg_enabled": False})
    ref_arch, ref_layer = _ref(TUTORIAL / "outputs")
    _same(timeloop_architecture(without, "top"), ref_arch)
    assert [(a.size, a.dims) for a in ref_arch.axes] == [(8, ("K",))]
    assert replace(timeloop_problem(without, "top").layers()[0], name="") == replace(ref_layer, name="")
    arch = timeloop_architecture(read_timeloop_yaml(top, {}), "top")
    reg = arch.levels[-1]
    assert (reg.name, reg.size_bytes, reg.word_bits, reg.temporal_dims, arch.instances(2)) == ("reg", 3, 24, (), 8)
    wide = timeloop_architecture(read_timeloop_yaml(top, {"datawidth_jinja": 16}), "top")
    assert [lv.size_bytes for lv in wide.levels[1:]] == [512 * 128 / 16, 3]  # 16-bit elements: half as many per row


PROBLEM_FILES = ["example_designs/example_designs/_include/default_problem.yaml",
                 "example_designs/example_designs/sparse_tensor_core_like/problem.yaml",
                 "tutorial_exercises/01_accelergy_timeloop_2020_ispass/timeloop+accelergy/prob/prob.yaml",
                 *(f"tutorial_exercises/01_accelergy_timeloop_2020_ispass/timeloop/{p}" for p in (
                     "00-model-conv1d-1level/prob/conv1d.prob.yaml", "01-model-conv1d-2level/prob/conv1d.prob.yaml",
                     "02-model-conv1d+oc-2level/prob/conv1d+oc.prob.yaml", "03-model-conv1d+oc-3level/prob/conv1d+oc.prob.yaml",
                     "04-model-conv1d+oc-3levelspatial/prob/conv1d+oc+ic.prob.yaml",
                     "05-mapper-conv1d+oc-3level/prob/conv1d+oc.prob.yaml", "06-mapper-convlayer-eyeriss/prob/VGG02_layer5.yaml")),
                 "tutorial_exercises/02_interface_and_design_space_exploration_2024/inputs/problem.yaml"]  # fmt: skip
ARCH_FILES = [*(f"example_designs/example_designs/{d}/arch.yaml" for d in DESIGN_NAMES),
              *(f"tutorial_exercises/01_accelergy_timeloop_2020_ispass/timeloop+accelergy/arch/{a}"
                for a in ("arch.yaml", "eyeriss_like-float32.yaml", "eyeriss_like-int16.yaml")),
              *(f"tutorial_exercises/01_accelergy_timeloop_2020_ispass/timeloop/{p}" for p in (
                  "00-model-conv1d-1level/arch/1level.arch.yaml", "01-model-conv1d-2level/arch/2level.arch.yaml",
                  "02-model-conv1d+oc-2level/arch/2level.arch.yaml", "03-model-conv1d+oc-3level/arch/3level.arch.yaml",
                  "04-model-conv1d+oc-3levelspatial/arch/3levelspatial.arch.yaml",
                  "04-model-conv1d+oc-3levelspatial/arch/3levelspatial.arch.at-2ffec69.yaml",
                  "05-mapper-conv1d+oc-3level/arch/3level.arch.yaml", "06-mapper-convlayer-eyeriss/arch/eyeriss_like.yaml")),
              "tutorial_exercises/02_interface_and_design_space_exploration_2024/inputs/arch.yaml"]  # fmt: skip


def test_the_lists_hold_every_architecture_and_problem_file() -> None:
    """Every input file (not a reference output) whose text starts an ``architecture`` or ``problem`` is listed."""
    found = {"architecture": set(), "problem": set()}
    for p in DATA.rglob("*.yaml"):
        if not {"ref-output", "ref_outputs", "outputs"} & set(p.parts):
            for key in found:
                if re.search(rf"^{key}:", p.read_text(), re.M):
                    found[key].add(p.relative_to(DATA).as_posix())
    assert (found["architecture"], found["problem"]) == (set(ARCH_FILES), set(PROBLEM_FILES))


@pytest.mark.parametrize("path", PROBLEM_FILES)
def test_every_problem_file_imports(path: str) -> None:
    """On its own, to one layer of as many MACs as the product of its instance's dimension bounds."""
    net = load_timeloop(DATA / path)
    assert not isinstance(net, Architecture)
    (layer,) = net.layers()
    data = read_timeloop_yaml(DATA / path)["problem"]
    assert layer.macs == math.prod(data["instance"][d] for d in data["shape"]["dimensions"])


@pytest.mark.parametrize("path", ARCH_FILES)
def test_every_architecture_file_imports(path: str) -> None:
    """On its own, or with what it needs: sparse_tensor_core_like its GEMM problem's names (its constraints say
    A, B, Z and K), the Accelergy lab's template its variables, the 2024 tutorial's its top file (its variables
    live in variables.yaml)."""
    p = DATA / path
    if p.parent.name == "sparse_tensor_core_like":
        names = timeloop_problem_names(read_timeloop_yaml(p.parent / "problem.yaml"))
        arch = timeloop_architecture(read_timeloop_yaml(p), path, names)
        with pytest.raises(SpecError, match="expected the problem's dimension names"):
            load_timeloop(p)  # Timeloop's conv names do not fit
    elif p == ISPASS / "timeloop+accelergy" / "arch" / "arch.yaml":
        arch = timeloop_architecture(read_timeloop_yaml(p, ACCELERGY_LAB["intmac"]), path)
    elif p.parent == TUTORIAL / "inputs":
        arch = timeloop_architecture(read_timeloop_yaml(TUTORIAL / "top.yaml.jinja", {}), path)
        with pytest.raises(SpecError, match=r"unknown names in the expression: DATAWIDTH"):
            load_timeloop(p)
    else:
        arch = load_timeloop(p)  # type: ignore[assignment]
    assert isinstance(arch, Architecture) and arch.num_macs >= 1 and len(arch.levels[0].keeps) == 3


def test_facts_of_the_example_designs() -> None:
    """Hand counts from the files. simba_like: 16 PEs × 4 distributed buffers × 4 register/MAC pairs = 256 MACs; the
    accumulators hold 128 elements (depth 128, one 24-bit element per row), the weight registers one (width 512 of
    8-bit elements in clusters of 64 one-element blocks, as Timeloop reads cluster_size); the !Nothing branch stores
    nothing. simple_weight_stationary stores 16-bit elements: a 64-bit DRAM word is 4 of them, the 16384 × 64-bit
    global buffer 65536 of them, no bandwidth given (pe_spad) is unlimited."""
    simba = timeloop_architecture(read_timeloop_yaml(DESIGNS / "top.yaml.jinja2", {"architecture": "simba_like"}), "simba")
    assert [lv.name for lv in simba.levels] == ["DRAM", "GlobalBuffer", "PEInputBuffer", "PEWeightBuffer", "PEAccuBuffer", "PEWeightRegs"]
    assert [simba.instances(i) for i in range(6)] == [1, 1, 16, 64, 64, 256] and simba.num_macs == 256
    assert [_elements(simba, i) for i in range(1, 6)] == [2048 * 256 / 8, 8192 * 64 / 8, 4096 * 64 / 8, 128, 1]
    assert [lv.keeps for lv in simba.levels[2:]] == [("inputs",), ("weights",), ("outputs",), ("weights",)]
    assert simba.levels[1].banks == 4 and simba.levels[2].banks == 2  # n_banks given, else timeloopfe's 2
    ws = timeloop_architecture(read_timeloop_yaml(DESIGNS / "top.yaml.jinja2", {"architecture": "simple_weight_stationary"}), "ws")
    assert (ws.levels[0].word_bits, _elements(ws, 1), ws.levels[1].read_bandwidth_bits_per_cycle) == (4 * 8, 65536, 16 * 8)
    assert (ws.levels[2].read_bandwidth_bits_per_cycle, ws.levels[2].write_bandwidth_bits_per_cycle) == (None, None)


def test_the_v03_example_designs_equal_their_v04_references() -> None:
    """timeloopfe's own v0.3 versions of the example designs (tests/data/timeloop-v03): ``subtree``/``local`` trees,
    ``name[0..N-1]`` arrays (instances: the product of the arrays above), meshX, ``memory_depth``/``word_bits``/
    ``block_size``, ``technology: -1`` (unset: the subtree's), dummy buffers bypassing everything (fan-out
    placeholders), ``architecture_constraints`` targets (permutations with spaces), the MAC listed among the storage.
    They import as the v0.4 references, but for the fan-outs' names (v0.3 names no containers) and what they leave
    out: the MAC widths of simba_like and simple_output_stationary, and simba's v0.3 weight registers, which hold one
    8-bit element (no width given) where the v0.4 file's hold one too (width 512 in clusters of 64)."""
    for design in ("eyeriss_like", "simba_like", "simple_output_stationary"):
        ref = read_timeloop_yaml(DESIGNS / design / "ref_outputs" / "default_problem" / "parsed-processed-input.yaml")
        old = timeloop_architecture(read_timeloop_yaml(V03 / f"{design}.arch.yaml"), design, timeloop_problem_names(ref))
        want = timeloop_architecture(ref, "ref")
        if design != "eyeriss_like":
            old = replace(old, mac=want.mac)
        if design == "simba_like":
            regs = old.levels[-1]
            assert (regs.size_bytes, regs.word_bits) == (1, 8)
            old = old.with_level("PEWeightRegs", **{k: getattr(want.levels[-1], k) for k in ("word_bits", "read_energy_pj",
                                 "write_energy_pj", "leakage_mw", "area_um2")})  # fmt: skip
        _same(old, want, axis_names=False)


def test_a_fourth_data_space_is_refused_by_name(tmp_path: Path) -> None:
    """hwsim's layers have three operands; a bias (Bias[M]) cannot be one of them, so it is an error naming it."""
    text = (DATA / "tutorial_exercises" / "01_accelergy_timeloop_2020_ispass" / "timeloop" / "06-mapper-convlayer-eyeriss"
            / "prob" / "VGG02_layer5.yaml").read_text()  # fmt: skip
    text = text.replace("    dimensions:\n", "    - name: Bias\n      projection:\n      - - - M\n    dimensions:\n")
    (tmp_path / "bias.yaml").write_text(text)
    with pytest.raises(SpecError) as info:
        load_timeloop(tmp_path / "bias.yaml")
    assert str(info.value).endswith("problem.shape.data_spaces[3]: expected three data spaces: hwsim's layers have weights, "
                                    "inputs and outputs only (a fourth operand, such as a bias, is not modelled), not 'Bias'")  # fmt: skip


def test_template_errors_name_the_file(tmp_path: Path) -> None:
    """An include cycle, a missing include and an unknown Jinja2 variable are SpecErrors naming the file."""
    (tmp_path / "a.yaml").write_text("x: {{include('b.yaml', 'x')}}\n")
    (tmp_path / "b.yaml").write_text("x: {{include('a.yaml', 'x')}}\n")
    with pytest.raises(SpecError, match="expected no file to include itself"):
        render_timeloop_template(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("x: {{include('nowhere.yaml')}}\n")
    with pytest.raises(SpecError, match=r"expected exactly one file to include"):
        render_timeloop_template(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("x: {{ width }}\n")
    with pytest.raises(SpecError, match=r"d.yaml: expected every template variable to be given .*, not \"'width' is undefined\""):
        render_timeloop_template(tmp_path / "d.yaml")
    assert render_timeloop_template(tmp_path / "d.yaml", {"width": 8}) == "x: 8\n"


def test_v03_errors_list_every_problem() -> None:
    """A v0.3 array whose instances do not divide, an unknown target and an unknown constraint type, together."""
    data: dict[str, Any] = {
        "architecture": {"version": 0.3, "subtree": [{"name": "sys", "local": [
            {"name": "DRAM", "class": "DRAM", "attributes": {"width": 64, "word_bits": 8}},
            {"name": "buf[0..2]", "class": "SRAM", "attributes": {"depth": 64, "width": 64, "word_bits": 8, "meshX": 2}},
            {"name": "mac[0..2]", "class": "intmac"}]}]},
        "architecture_constraints": {"targets": [{"target": "nobody", "type": "temporal"}, {"target": "buf", "type": "utilization"}]},
    }
    with pytest.raises(SpecError) as info:
        timeloop_architecture(data, "v03.yaml")
    assert str(info.value) == (
        "v03.yaml: 3 problems\n"
        "- architecture.subtree[0].local[1]: expected a whole multiple of the 1 instances (meshX 1) above it, not 'buf: 3 instances, meshX 2'\n"
        "- architecture_constraints.targets[0].target: expected a component or container of the architecture (DRAM, buf, mac), not 'nobody'\n"
        "- architecture_constraints.targets[1].type: expected temporal, spatial, dataspace or bypass (other constraint types are not "
        "supported by hwsim's importer), not 'utilization'"
    )


def test_constraint_targets_reach_containers_and_components() -> None:
    """A constraints file naming a v0.4 container (``PE``, or its placeholder ``inter_PE_spatial``) constrains its
    fan-out; one naming a component constrains that level (exercise 04: C alone across the 16 PEs, no C loop in the
    register file, Weights bypassing the global buffer)."""
    root = ISPASS / "timeloop" / "04-model-conv1d+oc-3levelspatial"
    base = {**read_timeloop_yaml(root / "arch" / "3levelspatial.arch.yaml"), **read_timeloop_yaml(root / "prob" / "conv1d+oc+ic.prob.yaml")}
    for target in ("PE", "inter_PE_spatial"):
        constraints = {"targets": [{"target": target, "type": "spatial", "factors": "K=1 R=1 P=1"},
                                   {"target": "RegisterFile", "type": "temporal", "factors": "C=1"},
                                   {"target": "GlobalBuffer", "type": "bypass", "bypass": ["Weights"]}]}  # fmt: skip
        arch = timeloop_architecture({**base, "mapspace_constraints": constraints}, "04")
        assert [(a.name, a.size, a.dims) for a in arch.axes] == [("PE", 16, ("C",))]
        assert "C" not in (arch.levels[2].temporal_dims or ()) and arch.levels[1].keeps == ("inputs", "outputs")


def test_a_published_v03_artifact_imports_as_committed() -> None:
    """Accelergy-Project/baseline-designs (tests/data/timeloop-v03/baseline-designs): v0.3 problem (``data-spaces``,
    ``read-write``), architectures with ``word-bits``/``block-size``/``cluster-size``/``num-ports``/``nbanks``, and
    their architecture and mapspace constraint files (``S=0``, ``P=0``: the rest of the dimension; ``M=4`` filling a
    fan-out of 4). Hand counts: eyeriss 14 × 12 PEs, a 16384 × 64-bit buffer of 16-bit elements (65536 of them), the
    psum scratchpad 16 of them; simba 16 × 4 × 4 MACs, the weight registers one element (depth 1, block size 1,
    cluster size 64), M alone across the 4 weight buffers and C alone across the 4 register/MAC pairs."""
    root = V03 / "baseline-designs"
    problem = read_timeloop_yaml(root / "workload" / "AlexNet" / "AlexNet_layer1.yaml")
    assert timeloop_problem(problem, "alexnet").layers()[0].macs == 3 * 96 * 11 * 11 * 55 * 55
    archs = {}
    for design in ("eyeriss_like", "simba_like"):
        data = {**problem, **read_timeloop_yaml(root / "arch" / design / "arch" / f"{design}.yaml")}
        for c in sorted((root / "arch" / design / "constraints").glob("*.yaml")):
            data |= read_timeloop_yaml(c)
        archs[design] = timeloop_architecture(data, design)
    eyeriss, simba = archs["eyeriss_like"], archs["simba_like"]
    assert [lv.name for lv in eyeriss.levels] == ["DRAM", "shared_glb", "ifmap_spad", "weights_spad", "psum_spad"]
    assert [(a.size, a.below) for a in eyeriss.axes] == [(14, "shared_glb"), (12, "shared_glb")] and eyeriss.num_macs == 168
    assert [_elements(eyeriss, i) for i in (1, 4)] == [65536, 16] and eyeriss.levels[4].keeps == ("outputs",)
    assert [simba.instances(i) for i in range(6)] == [1, 1, 16, 64, 64, 256] and simba.num_macs == 256
    assert (_elements(simba, 5), [a.dims for a in simba.axes][1:]) == (1, [("K",), ("C",)])
