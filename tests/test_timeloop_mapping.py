"""Timeloop mappings read into hwsim: the v0.4 mapping YAML and the loop nest Timeloop prints, on Timeloop's own exercises.

Independent truth: Timeloop itself. Its reference outputs (tests/data/timeloop-exercises/, SOURCE.md) hold, for each
mapper run, the mapping twice — as YAML (``timeloop-mapper.map.yaml``) and as the printed nest
(``timeloop-mapper.map.txt``) — and for each model exercise the printed nest of the input mapping; the two readers must
give one :class:`Mapping`. The printed headers also carry Timeloop's tile size per level and data space
(``Weights:6``): hwsim's footprints of the mapping read must equal them. Factor products must equal the problem's bounds,
and :func:`check_mapping` must accept the reference mappings. The problems' names are written here by hand (Timeloop's
conv ``M`` is hwsim's ``K``), not taken from the importer, and checked against the importer's once.
"""

from __future__ import annotations

import functools
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim.core.arch import Architecture
from hwsim.core.errors import SpecError
from hwsim.core.mapping import Mapping, check_mapping, level_starts, tile_extents
from hwsim.core.workload import DIMS, Layer
from hwsim.frontend.importers.timeloop import (
    TimeloopNames,
    read_timeloop_yaml,
    timeloop_architecture,
    timeloop_problem,
    timeloop_problem_names,
)
from hwsim.frontend.importers.timeloop_mapping import looks_like_timeloop_mapping, read_timeloop_mapping
from tests.fuzz_importers import mutated_text
from tests.timeloop_data import DATA, DESIGNS, ISPASS, LAB
from tests.timeloop_data import TUTORIAL_2024 as TUTORIAL

TUTORIAL_2024 = TUTORIAL / "outputs"

ARCH_3LEVEL = ISPASS / "03-model-conv1d+oc-3level/arch/3level.arch.yaml"
PROB_OC = ISPASS / "03-model-conv1d+oc-3level/prob/conv1d+oc.prob.yaml"
EYERISS = ISPASS / "06-mapper-convlayer-eyeriss/arch/eyeriss_like.yaml"
VGG = ISPASS / "06-mapper-convlayer-eyeriss/prob/VGG02_layer5.yaml"

SPACES = {"Weights": "weights", "Inputs": "inputs", "Outputs": "outputs"}
CONV = TimeloopNames(dims={"C": "C", "M": "K", "R": "R", "S": "S", "N": "N", "P": "P", "Q": "Q"}, spaces=SPACES)
CONV_G = TimeloopNames(dims={**CONV.dims, "G": "G"}, spaces=SPACES)
CONV1D = TimeloopNames(dims={"R": "R", "P": "P"}, spaces=SPACES)
CONV1D_OC = TimeloopNames(dims={"K": "K", "R": "R", "P": "P"}, spaces=SPACES)
CONV1D_OC_IC = TimeloopNames(dims={"C": "C", "K": "K", "R": "R", "P": "P"}, spaces=SPACES)
# A[M, K] · B[N, K] → Z[M, N]: A the inputs, B the weights (the importer's rule when no space is named Weights)
GEMM_ABZ = TimeloopNames(dims={"M": "P", "N": "K", "K": "C"}, spaces={"A": "inputs", "B": "weights", "Z": "outputs"})

# Exercise 04's reference outputs were made with the PE fan-out above GlobalBuffer (their parsed-processed-input.yaml:
# `inter_PE_spatial` between MainMemory and GlobalBuffer[1..16]; stats.txt: 16 GlobalBuffer instances); the committed
# arch file was changed upstream afterwards. This is the architecture they ran (SOURCE.md).
ARCH_04_AS_RUN = ISPASS / "04-model-conv1d+oc-3levelspatial/arch/3levelspatial.arch.at-2ffec69.yaml"


def _arch(path: Path, names: TimeloopNames) -> Architecture:
    """The architecture (its constraints read in the problem's names), or a skip naming why it does not import yet."""
    try:
        return timeloop_architecture(read_timeloop_yaml(path), str(path), names)
    except SpecError as e:
        pytest.skip(f"{path.resolve().relative_to(DATA.resolve())} does not import yet: {e.problems[0].render()}")


def _with_bounds(names: TimeloopNames, problem: Path) -> TimeloopNames:
    """``names`` with the problem's bounds, as ``hwsim run`` reads them (a constraint's factor larger than its
    dimension is ignored, as Timeloop ignores it: sparse_tensor_core_like pins K=16 on a problem of K=1)."""
    from dataclasses import replace

    from hwsim.frontend.importers.timeloop import timeloop_problem_names

    return replace(names, bounds=timeloop_problem_names(read_timeloop_yaml(problem), str(problem)).bounds)


def _layer(path: Path) -> Layer:
    return timeloop_problem(read_timeloop_yaml(path), str(path)).layers()[0]


# (case, architecture, problem, names, [(mapping YAML, printed nest)])
MODEL = [
    ("00", ISPASS / "00-model-conv1d-1level/arch/1level.arch.yaml", ISPASS / "00-model-conv1d-1level/prob/conv1d.prob.yaml", CONV1D,
     "00-model-conv1d-1level/map/conv1d-1level.map.yaml", "00-model-conv1d-1level/ref-output/timeloop-model.map.txt"),
    ("01-os", ISPASS / "01-model-conv1d-2level/arch/2level.arch.yaml", ISPASS / "01-model-conv1d-2level/prob/conv1d.prob.yaml", CONV1D,
     "01-model-conv1d-2level/map/conv1d-2level-os.map.yaml", "01-model-conv1d-2level/ref-output/os/timeloop-model.map.txt"),
    ("01-ws", ISPASS / "01-model-conv1d-2level/arch/2level.arch.yaml", ISPASS / "01-model-conv1d-2level/prob/conv1d.prob.yaml", CONV1D,
     "01-model-conv1d-2level/map/conv1d-2level-ws.map.yaml", "01-model-conv1d-2level/ref-output/ws/timeloop-model.map.txt"),
    ("02-no-tiling", ISPASS / "02-model-conv1d+oc-2level/arch/2level.arch.yaml", ISPASS / "02-model-conv1d+oc-2level/prob/conv1d+oc.prob.yaml",
     CONV1D_OC, "02-model-conv1d+oc-2level/map/conv1d+oc-2level-os.map.yaml", "02-model-conv1d+oc-2level/ref-output/no-tiling/timeloop-model.map.txt"),
    ("02-tiling", ISPASS / "02-model-conv1d+oc-2level/arch/2level.arch.yaml", ISPASS / "02-model-conv1d+oc-2level/prob/conv1d+oc.prob.yaml",
     CONV1D_OC, "02-model-conv1d+oc-2level/map/conv1d+oc-2level-os-tiled.map.yaml", "02-model-conv1d+oc-2level/ref-output/tiling/timeloop-model.map.txt"),
    ("03-no-bypass", ISPASS / "03-model-conv1d+oc-3level/arch/3level.arch.yaml", ISPASS / "03-model-conv1d+oc-3level/prob/conv1d+oc.prob.yaml",
     CONV1D_OC, "03-model-conv1d+oc-3level/map/conv1d+oc-3level.map.yaml", "03-model-conv1d+oc-3level/ref-output/no-bypass/timeloop-model.map.txt"),
    ("03-bypass", ISPASS / "03-model-conv1d+oc-3level/arch/3level.arch.yaml", ISPASS / "03-model-conv1d+oc-3level/prob/conv1d+oc.prob.yaml",
     CONV1D_OC, "03-model-conv1d+oc-3level/map/conv1d+oc-3level-bypass.map.yaml", "03-model-conv1d+oc-3level/ref-output/bypass/timeloop-model.map.txt"),
    ("04-cp", ARCH_04_AS_RUN, ISPASS / "04-model-conv1d+oc-3levelspatial/prob/conv1d+oc+ic.prob.yaml", CONV1D_OC_IC,
     "04-model-conv1d+oc-3levelspatial/map/conv1d+oc+ic-3levelspatial-cp-ws.map.yaml", "04-model-conv1d+oc-3levelspatial/ref-output/cp/timeloop-model.map.txt"),
    ("04-kp", ARCH_04_AS_RUN, ISPASS / "04-model-conv1d+oc-3levelspatial/prob/conv1d+oc+ic.prob.yaml", CONV1D_OC_IC,
     "04-model-conv1d+oc-3levelspatial/map/conv1d+oc+ic-3levelspatial-kp-ws.map.yaml", "04-model-conv1d+oc-3levelspatial/ref-output/kp/timeloop-model.map.txt"),
]  # fmt: skip
# (case, architecture, problem, names, reference output folder holding timeloop-mapper.map.yaml and .map.txt)
MAPPER = [
    ("05-baked", ISPASS / "05-mapper-conv1d+oc-3level/arch/3level.arch.yaml", ISPASS / "05-mapper-conv1d+oc-3level/prob/conv1d+oc.prob.yaml",
     CONV1D_OC, ISPASS / "05-mapper-conv1d+oc-3level/ref-output/baked"),
    ("05-freebypass", ISPASS / "05-mapper-conv1d+oc-3level/arch/3level.arch.yaml", ISPASS / "05-mapper-conv1d+oc-3level/prob/conv1d+oc.prob.yaml",
     CONV1D_OC, ISPASS / "05-mapper-conv1d+oc-3level/ref-output/freebypass"),
    ("05-null", ISPASS / "05-mapper-conv1d+oc-3level/arch/3level.arch.yaml", ISPASS / "05-mapper-conv1d+oc-3level/prob/conv1d+oc.prob.yaml",
     CONV1D_OC, ISPASS / "05-mapper-conv1d+oc-3level/ref-output/null"),
    ("06-eyeriss", ISPASS / "06-mapper-convlayer-eyeriss/arch/eyeriss_like.yaml", ISPASS / "06-mapper-convlayer-eyeriss/prob/VGG02_layer5.yaml",
     CONV, ISPASS / "06-mapper-convlayer-eyeriss/ref-output"),
    # the lab's references ran its Jinja2-templated arch/arch.yaml (not the v0.3 eyeriss_like-*.yaml beside it, which
    # has a DummyBuffer level): the architecture and problem they ran, rendered, are their parsed-processed-input.yaml
    ("lab-intmac", LAB / "ref-output/intmac/parsed-processed-input.yaml", LAB / "ref-output/intmac/parsed-processed-input.yaml",
     CONV, LAB / "ref-output/intmac"),
    ("lab-fpmac", LAB / "ref-output/fpmac/parsed-processed-input.yaml", LAB / "ref-output/fpmac/parsed-processed-input.yaml",
     CONV, LAB / "ref-output/fpmac"),
    ("eyeriss_like", DESIGNS / "eyeriss_like/arch.yaml", DESIGNS / "_include/default_problem.yaml", CONV,
     DESIGNS / "eyeriss_like/ref_outputs/default_problem"),
    ("simba_like", DESIGNS / "simba_like/arch.yaml", DESIGNS / "_include/default_problem.yaml", CONV,
     DESIGNS / "simba_like/ref_outputs/default_problem"),
    ("simple_output_stationary", DESIGNS / "simple_output_stationary/arch.yaml", DESIGNS / "_include/default_problem.yaml", CONV,
     DESIGNS / "simple_output_stationary/ref_outputs/default_problem"),
    ("simple_weight_stationary", DESIGNS / "simple_weight_stationary/arch.yaml", DESIGNS / "_include/default_problem.yaml", CONV,
     DESIGNS / "simple_weight_stationary/ref_outputs/default_problem"),
    ("sparse_tensor_core_like", DESIGNS / "sparse_tensor_core_like/arch.yaml", DESIGNS / "sparse_tensor_core_like/problem.yaml", GEMM_ABZ,
     DESIGNS / "sparse_tensor_core_like/ref_outputs/default_problem"),
    # templated too: the rendered inputs are in its parsed-processed-input.yaml
    ("2024-interface", TUTORIAL_2024 / "parsed-processed-input.yaml", TUTORIAL_2024 / "parsed-processed-input.yaml", CONV_G, TUTORIAL_2024),
]  # fmt: skip
# Reference mappings check_mapping refuses, with the reason: none since the importer completes partial spatial
# permutations as Timeloop's front end does (simple_weight_stationary's `permutation: [C, M], split: 1` put C along X).
REFUSED: dict[str, str] = {}


def _printed_tiles(path: Path) -> dict[str, dict[str, int]]:
    """Timeloop's tile per level and data space, from the printed nest's headers (`GlobalBuffer [ Weights:96 (96) ]`)."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"(\S+) \[((?: \S+:\d+ \(\d+\))*) \]\s*", line)
        if m:
            out[m.group(1)] = {s: int(n) for s, n in re.findall(r"(\S+):(\d+) \(\d+\)", m.group(2))}
    return out


def _assert_tiles_match(layer: Layer, arch: Architecture, mapping: Mapping, printed: Path, names: TimeloopNames) -> None:
    nest = mapping.nest(arch)
    starts = level_starts(nest, len(arch.levels))
    tiles = _printed_tiles(printed)
    for i, lv in enumerate(arch.levels):
        extents = tile_extents(nest, starts[i])
        ours = {o: layer.operand(o).footprint(extents) for o in mapping.kept(arch, i)}
        theirs = {names.spaces[s]: n for s, n in tiles[lv.name].items()}
        assert ours == theirs, lv.name


def _check(layer: Layer, arch: Architecture, mapping: Mapping, case: str) -> None:
    assert {d: n for d, n in mapping.padded_bounds().items() if d in DIMS} == layer.dims
    problems = [p.render() for p in check_mapping(layer, arch, mapping)]
    if case in REFUSED and problems:
        pytest.xfail(f"{REFUSED[case]}: {'; '.join(problems)}")
    assert problems == []


@pytest.mark.parametrize(("case", "arch_file", "problem", "names", "yaml_file", "nest_file"), MODEL, ids=[c[0] for c in MODEL])
def test_model_exercise_mapping_equals_timeloops_printed_nest(case, arch_file, problem, names, yaml_file, nest_file) -> None:
    """The exercise's input mapping YAML and the nest Timeloop printed for it read as one Mapping, whose tiles are Timeloop's."""
    arch, layer = _arch(arch_file, _with_bounds(names, problem)), _layer(problem)
    from_yaml = read_timeloop_mapping(ISPASS / yaml_file, arch, layer, names)
    from_nest = read_timeloop_mapping(ISPASS / nest_file, arch, layer, names)
    assert from_yaml == from_nest
    _assert_tiles_match(layer, arch, from_nest, ISPASS / nest_file, names)
    _check(layer, arch, from_nest, case)


@pytest.mark.parametrize(("case", "arch_file", "problem", "names", "folder"), MAPPER, ids=[c[0] for c in MAPPER])
def test_mapper_output_yaml_equals_its_printed_nest(case, arch_file, problem, names, folder) -> None:
    """Timeloop's mapper wrote its best mapping twice: both read as one Mapping, whose tiles are Timeloop's."""
    arch, layer = _arch(arch_file, _with_bounds(names, problem)), _layer(problem)
    from_yaml = read_timeloop_mapping(folder / "timeloop-mapper.map.yaml", arch, layer, names)
    from_nest = read_timeloop_mapping(folder / "timeloop-mapper.map.txt", arch, layer, names)
    assert from_yaml == from_nest
    _assert_tiles_match(layer, arch, from_nest, folder / "timeloop-mapper.map.txt", names)
    _check(layer, arch, from_nest, case)


def test_what_the_readers_make_of_exercise_03_and_eyeriss() -> None:
    """Spelled out once: innermost-first permutations, bypass pairs, and eyeriss' meshX/meshY split onto its two axes."""
    arch, layer = _arch(ARCH_3LEVEL, CONV1D_OC), _layer(PROB_OC)
    m = read_timeloop_mapping(ISPASS / "03-model-conv1d+oc-3level/map/conv1d+oc-3level-bypass.map.yaml", arch, layer, CONV1D_OC)
    assert m == Mapping.build([[], [("K", 16), ("P", 16)], [("K", 2), ("R", 3)]], [[]],
                              [("GlobalBuffer", "outputs"), ("RegisterFile", "weights"), ("RegisterFile", "inputs")])  # fmt: skip
    arch, layer = _arch(EYERISS, CONV), _layer(VGG)
    m = read_timeloop_mapping(ISPASS / "06-mapper-convlayer-eyeriss/ref-output/timeloop-mapper.map.yaml", arch, layer, CONV)
    assert [ax.name for ax in arch.axes] == ["PE_column", "PE"]
    assert m.spatial == ((("Q", 14),), (("K", 4), ("S", 3)))  # split 1 of QCMRSNP: Q on X; split 0 of MSCRNPQ: all on Y
    assert m.temporal[0] == (("Q", 4), ("C", 4), ("P", 7), ("K", 4))  # permutation MPCQRSN read innermost first


@pytest.mark.parametrize(("problem", "names"), [
    (ISPASS / "00-model-conv1d-1level/prob/conv1d.prob.yaml", CONV1D),
    (ISPASS / "02-model-conv1d+oc-2level/prob/conv1d+oc.prob.yaml", CONV1D_OC),
    (ISPASS / "04-model-conv1d+oc-3levelspatial/prob/conv1d+oc+ic.prob.yaml", CONV1D_OC_IC),
    (ISPASS / "06-mapper-convlayer-eyeriss/prob/VGG02_layer5.yaml", CONV),
    (DESIGNS / "sparse_tensor_core_like/problem.yaml", GEMM_ABZ),
])  # fmt: skip
def test_the_importers_names_are_the_ones_written_here(problem: Path, names: TimeloopNames) -> None:
    """What `hwsim run` passes the reader (timeloop_problem_names) agrees with the names written here by hand."""
    got = timeloop_problem_names(read_timeloop_yaml(problem), str(problem))
    assert got.spaces == names.spaces and got.dims == {d: names.dims[d] for d in got.dims}


def test_exercise_04_reference_nest_on_the_committed_architecture_is_refused() -> None:
    """The committed 04 architecture fans out below GlobalBuffer; the reference ran with the fan-out above it (16 buffers)."""
    arch_file = ISPASS / "04-model-conv1d+oc-3levelspatial/arch/3levelspatial.arch.yaml"
    arch, layer = _arch(arch_file, CONV1D_OC_IC), _layer(ISPASS / "04-model-conv1d+oc-3levelspatial/prob/conv1d+oc+ic.prob.yaml")
    nest = ISPASS / "04-model-conv1d+oc-3levelspatial/ref-output/cp/timeloop-model.map.txt"
    with pytest.raises(SpecError) as e:
        read_timeloop_mapping(nest, arch, layer, CONV1D_OC_IC)
    assert e.value.render() == (
        f"{nest}: 1 problem\n"
        "- line 4: expected the fan-out of PE below GlobalBuffer, as in System (axis PE), not below MainMemory, "
        "not '| for C in [0:16) (Spatial-X)'"
    )
    # the YAML has no order to contradict: it reads, and is what the committed arch file means
    yaml_file = ISPASS / "04-model-conv1d+oc-3levelspatial/map/conv1d+oc+ic-3levelspatial-cp-ws.map.yaml"
    assert read_timeloop_mapping(yaml_file, arch, layer, CONV1D_OC_IC).spatial == ((("C", 16),),)


# --------------------------------------------------------------------------------------------- bad input

def _errors(text: str, arch_file: Path = ARCH_3LEVEL, problem: Path = PROB_OC, names: TimeloopNames = CONV1D_OC) -> str:
    with pytest.raises(SpecError) as e:
        read_timeloop_mapping("bad.map", _arch(arch_file, names), _layer(problem), names, text=textwrap.dedent(text))
    return e.value.render()


def test_bad_yaml_lists_every_problem() -> None:
    assert _errors("""
        mapping:
          - {target: MainMemory, type: temporal, factors: K=2 X=4, permutation: KQ}
          - {target: GlobalBuffer, type: temporal, factors: "P=16 K=8 R<=3", permutation: PK, no_temporal_reuse: [Inputs]}
          - {target: RegisterFile, type: temporal, factors: "P=7,3 R=3"}
          - {target: Buffer, type: temporal, factors: K=2}
          - {target: MainMemory, type: dataspace, bypass: [Outputs]}
          - {target: GlobalBuffer, type: datatype, keep: [Psums]}
          - {target: GlobalBuffer, type: skew}
          - {target: PE, type: spatial, factors: K=2}
          - {target: MainMemory, type: temporal, factors: K=2}
        """) == """bad.map: 13 problems
- mapping[0].factors: expected a dimension of the problem (K, R, P), not 'X'
- mapping[0].permutation: expected a dimension of the problem (K, R, P), not 'Q'
- mapping[1].no_temporal_reuse: expected only target, type, factors, permutation, split, keep, bypass (others are not supported by hwsim), not ['Inputs']
- mapping[1].factors: expected only DIM=n factors (not 'R<=3'), not 'P=16 K=8 R<=3'
- mapping[2].factors: expected perfect factors: a residual factor (Timeloop's imperfect factorization, whose last iteration runs short) has no counterpart in hwsim's loop nests, which pad instead (write the padded factor, e.g. P=7, to evaluate that nest), not 'P=7,3'
- mapping[3].target: expected a storage level of System (MainMemory, GlobalBuffer, RegisterFile) or a container with a spatial fan-out (inter_<container>_spatial; containers: pe), not 'Buffer'
- mapping[4].bypass: expected the outermost level MainMemory to keep every data space, not 'Outputs'
- mapping[5].keep[0]: expected a data space of the problem (Weights, Inputs, Outputs), not 'Psums'
- mapping[6].type: expected temporal, spatial or dataspace (datatype, bypass), not 'skew'
- mapping[7].target: expected a storage level of System (MainMemory, GlobalBuffer, RegisterFile) or a container with a spatial fan-out (inter_<container>_spatial; containers: pe), not 'PE'
- mapping[8].target: expected one temporal entry per target, not 'MainMemory'
- factors.K: expected the factors of K (hwsim K) to multiply to its bound 32, not '2 × 8 = 16'
- factors.P: expected the factors of P (hwsim P) to multiply to its bound 16, not '16 × 7 = 112'"""


def test_bad_yaml_on_eyeriss_fanouts_and_keeps() -> None:
    assert _errors("""
        mapping:
          - {target: inter_PE_spatial, type: spatial, factors: M=4 S=3, permutation: MS, split: 1}
          - {target: inter_PE_column_spatial, type: temporal, factors: P=2}
          - {target: shared_glb, type: spatial, factors: Q=14}
          - {target: weights_spad, type: dataspace, keep: [Weights, Inputs]}
          - {target: inter_PE_spatial, type: dataspace, keep: [Outputs]}
          - {target: DRAM, type: temporal, factors: C=128 M=64 P=28 Q=4 R=3}
          - {target: psum_spad, type: temporal, factors: P=0}
        """, EYERISS, VGG, CONV) == """bad.map: 6 problems
- mapping[0].factors: expected the loops of axis PE along one mesh (it has one direction), not 'M=4 S=3'
- mapping[1].factors: expected no temporal loops at inter_PE_column_spatial (hwsim has no storage level there), not 'P=2'
- mapping[2].factors: expected spatial loops below shared_glb on one axis of system, which has fan-outs of PE_column, PE there (name the container), not 'Q=14'
- mapping[3].keep: expected only data spaces weights_spad can keep in system (Weights), not 'Inputs'
- mapping[4].keep: expected nothing kept at inter_PE_spatial (hwsim has no storage level there), not ['Outputs']
- factors.P: expected the factors of P (hwsim P) to multiply to its bound 56, not '28 × 56 × 2 = 3136'"""


def test_bad_printed_nest_lists_every_problem() -> None:
    assert _errors("""
        MainMemory [ Weights:96 (96) Inputs:18 (18) ]
        Scratch [ Weights:96 (96) ]
        -----------------------------------------------------------------
        | for K in [0:16)
        |   for P in [0:16) (Spatial-X)

        RegisterFile [ Weights:6 (6) Psums:2 (2) ]
        ---------------------------------------------------------
        |     for R in [0:3,2)
        |       for K in [0:2)
        |         compute it
        """) == """bad.map: 8 problems
- line 2: expected the outermost level MainMemory to keep every data space, not 'Outputs'
- line 3: expected a storage level of System (MainMemory, GlobalBuffer, RegisterFile) or a container with a spatial fan-out (inter_<container>_spatial; containers: pe), not 'Scratch'
- line 8: expected a data space of the problem (Weights, Inputs, Outputs), not 'Psums'
- line 10: expected a loop [0:n) with n ≥ 1: a residual loop [0:n,r) (Timeloop's imperfect factorization) has no counterpart in hwsim's loop nests, which pad instead, not '|     for R in [0:3,2)'
- line 12: expected a level header 'Name [ Space:n (n) ... ]', a loop '| for D in [0:n)' or '<< Compute >>', not '|         compute it'
- (top level): expected the loop nest Timeloop prints, ending in '<< Compute >>', not "no '<< Compute >>'"
- levels: expected every storage level of System once, outermost first: MainMemory, GlobalBuffer, RegisterFile, not ['MainMemory', 'RegisterFile']
- factors.R: expected the factors of R (hwsim R) to multiply to its bound 3, not 1"""


def test_neither_yaml_mapping_nor_printed_nest() -> None:
    assert _errors("problem: {shape: {}}\n") == (
        "bad.map: 1 problem\n- (top level): expected a Timeloop mapping: YAML with a top-level 'mapping' list, "
        "or the loop nest Timeloop prints (timeloop-*.map.txt), not ['problem']"
    )


def test_looks_like_timeloop_mapping(tmp_path: Path) -> None:
    ours = tmp_path / "mappings.yaml"
    ours.write_text("layers:\n  conv1:\n    temporal: {DRAM: [[K, 2]]}\n")
    assert looks_like_timeloop_mapping(ISPASS / "00-model-conv1d-1level/map/conv1d-1level.map.yaml")
    assert looks_like_timeloop_mapping(ISPASS / "06-mapper-convlayer-eyeriss/ref-output/timeloop-mapper.map.txt")
    assert looks_like_timeloop_mapping(ISPASS / "04-model-conv1d+oc-3levelspatial/ref-output/cp/parsed-processed-input.yaml")
    assert not looks_like_timeloop_mapping(ours)
    assert not looks_like_timeloop_mapping(ISPASS / "00-model-conv1d-1level/prob/conv1d.prob.yaml")
    assert not looks_like_timeloop_mapping(tmp_path / "missing.yaml")


def test_timeloops_merged_input_reads_as_its_mapping() -> None:
    """parsed-processed-input.yaml (Timeloop's whole input, `type: bypass` entries and placeholder levels) reads too."""
    arch, layer = _arch(ARCH_04_AS_RUN, CONV1D_OC_IC), _layer(ISPASS / "04-model-conv1d+oc-3levelspatial/prob/conv1d+oc+ic.prob.yaml")
    cp = ISPASS / "04-model-conv1d+oc-3levelspatial/ref-output/cp"
    merged = read_timeloop_mapping(cp / "parsed-processed-input.yaml", arch, layer, CONV1D_OC_IC)
    assert merged == read_timeloop_mapping(cp / "timeloop-model.map.txt", arch, layer, CONV1D_OC_IC)


def test_partial_permutations_and_splits_complete_as_timeloops_do() -> None:
    """Timeloop's model parser: missing dimensions are appended (outermost) in the problem's order; split defaults to all-X."""
    arch, layer = _arch(ARCH_04_AS_RUN, CONV1D_OC_IC), _layer(ISPASS / "04-model-conv1d+oc-3levelspatial/prob/conv1d+oc+ic.prob.yaml")
    text = """
        mapping:
          - {target: GlobalBuffer, type: temporal, factors: K=32 C=2 R=3, permutation: R}
          - {target: PE, type: spatial, factors: C=16}
          - {target: RegisterFile, type: temporal, factors: [P=16]}
        """
    m = read_timeloop_mapping("partial.map.yaml", arch, layer, CONV1D_OC_IC, text=textwrap.dedent(text))
    # problem order C K R P: completed innermost-first R, C, K, P, so K encloses C encloses R
    assert m == Mapping.build([[], [("K", 32), ("C", 2), ("R", 3)], [("P", 16)]], [[("C", 16)]])


def test_a_container_without_a_fanout_in_hwsim() -> None:
    """Exercise 03's PE container has no spatial fan-out: its placeholder may appear, empty, but not carry loops."""
    arch, layer = _arch(ARCH_3LEVEL, CONV1D_OC), _layer(PROB_OC)
    nest = """
        MainMemory [ Weights:96 (96) Inputs:18 (18) Outputs:512 (512) ]
        GlobalBuffer [ Weights:96 (96) Inputs:18 (18) Outputs:512 (512) ]
        -----------------------------------------------------------------
        | for K in [0:16)
        |   for P in [0:16)

        inter_PE_spatial [ ]
        {}
        RegisterFile [ Weights:6 (6) Inputs:3 (3) Outputs:2 (2) ]
        ---------------------------------------------------------
        |     for K in [0:2)
        |       for R in [0:3)
        |         << Compute >>
        """
    fine = read_timeloop_mapping("n.map.txt", arch, layer, CONV1D_OC, text=textwrap.dedent(nest).replace("{}", ""))
    assert fine == read_timeloop_mapping(ISPASS / "03-model-conv1d+oc-3level/ref-output/no-bypass/timeloop-model.map.txt", arch, layer, CONV1D_OC)
    assert _errors(nest.replace("{}", "|     for K in [0:2) (Spatial-Y)").replace("[0:16)\n", "[0:8)\n", 1)) == (
        "bad.map: 1 problem\n"
        "- line 9: expected a fan-out of PE along meshY in System (its axes: none), not '|     for K in [0:2) (Spatial-Y)'"
    )


# --------------------------------------------------------------------------------------------- fuzzed input

FUZZ_SEEDS = [  # (mapping text, architecture, problem, names)
    ((ISPASS / "06-mapper-convlayer-eyeriss/ref-output/timeloop-mapper.map.yaml").read_text(), EYERISS, VGG, CONV),
    ((ISPASS / "06-mapper-convlayer-eyeriss/ref-output/timeloop-mapper.map.txt").read_text(), EYERISS, VGG, CONV),
    ((ISPASS / "03-model-conv1d+oc-3level/map/conv1d+oc-3level-bypass.map.yaml").read_text(), ARCH_3LEVEL, PROB_OC, CONV1D_OC),
    ((ISPASS / "05-mapper-conv1d+oc-3level/ref-output/freebypass/timeloop-mapper.map.txt").read_text(), ARCH_3LEVEL, PROB_OC, CONV1D_OC),
]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(st.sampled_from(range(len(FUZZ_SEEDS))).flatmap(lambda i: st.tuples(st.just(i), mutated_text(FUZZ_SEEDS[i][0]))))
def test_fuzzed_mappings_read_or_raise_spec_errors(case: tuple[int, str]) -> None:
    """Corrupted mapping files (truncated, junk, nasty numbers, lines dropped or repeated) end in a Mapping or a SpecError."""
    i, text = case
    arch, layer, names = _fuzz_target(i)
    try:
        read_timeloop_mapping("fuzz.map", arch, layer, names, text=text)
    except SpecError:
        pass


@functools.cache
def _fuzz_target(i: int) -> tuple[Architecture, Layer, TimeloopNames]:
    _, arch_file, problem, names = FUZZ_SEEDS[i]
    return _arch(arch_file, names), _layer(problem), names


# --------------------------------------------------------------------------------------------- every reference, as run

AS_RUN = sorted(DATA.rglob("parsed-processed-input.yaml"))


@pytest.mark.parametrize("merged", AS_RUN, ids=[str(p.parent.relative_to(DATA)) for p in AS_RUN])
def test_every_reference_on_the_architecture_it_ran(merged: Path) -> None:
    """Each reference folder's parsed-processed-input.yaml is Timeloop's whole input as it ran (templates rendered,
    placeholder levels made): on that architecture and problem, the printed nest, the mapper's YAML and the input mapping
    read as one Mapping, with Timeloop's tiles, accepted by check_mapping."""
    data = read_timeloop_yaml(merged)
    names = timeloop_problem_names(data, str(merged))
    arch, layer = _arch(merged, names), _layer(merged)
    nest = next(merged.parent.glob("timeloop-*.map.txt"))
    from_nest = read_timeloop_mapping(nest, arch, layer, names)
    if data.get("mapping"):  # the model's input mapping; a mapper run's is empty
        assert read_timeloop_mapping(merged, arch, layer, names) == from_nest
    if (merged.parent / "timeloop-mapper.map.yaml").exists():
        assert read_timeloop_mapping(merged.parent / "timeloop-mapper.map.yaml", arch, layer, names) == from_nest
    _assert_tiles_match(layer, arch, from_nest, nest, names)
    _check(layer, arch, from_nest, str(merged.parent.relative_to(DATA)))
