"""Timeloop v0.4 import: problem shapes and architecture trees written here in that format."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest

from hwsim.core import technology as tech
from hwsim.core.errors import SpecError
from hwsim.core.workload import Network, batched_matmul, conv2d, depthwise_conv2d, gemm
from hwsim.evaluate import evaluate_network
from hwsim.frontend.importers.timeloop import (
    TimeloopNames,
    load_timeloop,
    parse_timeloop_yaml,
    timeloop_architecture,
    timeloop_problem,
    timeloop_problem_names,
)
from hwsim.frontend.importers.timeloop_expressions import Scope
from hwsim.frontend.presets import load_arch, load_workload
from hwsim.mapper import MapperOptions

CONV_SHAPE = """
  shape:
    name: conv2D
    dimensions: [C, M, R, S, N, P, Q]
    coefficients:
      - {name: Wstride, default: 1}
      - {name: Hstride, default: 1}
      - {name: Wdilation, default: 1}
      - {name: Hdilation, default: 1}
    data_spaces:
      - name: Weights
        projection:
          - [[C]]
          - [[M]]
          - [[R]]
          - [[S]]
      - name: Inputs
        projection:
          - [[N]]
          - [[C]]
          - [[R, Wdilation], [P, Wstride]]
          - [[S, Hdilation], [Q, Hstride]]
      - name: Outputs
        projection:
          - [[N]]
          - [[M]]
          - [[Q]]
          - [[P]]
        read_write: True
"""


def _problem(instance: str, shape: str = CONV_SHAPE) -> Network:
    text = "problem:\n  version: 0.4\n" + shape + "  instance:\n" + textwrap.indent(textwrap.dedent(instance), "    ")
    return timeloop_problem(parse_timeloop_yaml(text, "problem.yaml"), source="problem.yaml")


def test_conv_problem_equals_conv2d() -> None:
    net = _problem("""
        C: 3
        M: 32
        R: 3
        S: 3
        N: 1
        P: 112
        Q: 112
        Wstride: 2
        Hstride: 2
        H: 224
        W: 224
        Hpad: 1
        Wpad: 1
    """)
    (layer,) = net.layers()
    want = conv2d("conv2D", in_channels=3, out_channels=32, in_hw=224, kernel=3, stride=2, padding=1, psum_bits=8)
    assert (layer.name, layer.kind, layer.bounds, layer.operands) == (want.name, want.kind, want.bounds, want.operands)
    assert layer.macs == 3 * 32 * 9 * 112 * 112


def test_dilated_conv_keeps_its_coefficients() -> None:
    (layer,) = _problem("{C: 8, M: 16, R: 3, S: 3, N: 2, P: 10, Q: 12, Wdilation: 2, Hdilation: 2}").layers()
    want = conv2d("x", in_channels=8, out_channels=16, in_hw=(14, 16), kernel=3, dilation=2, batch=2, psum_bits=8)
    assert (layer.bounds, layer.operands) == (want.bounds, want.operands)


GEMM_SHAPE = """
  shape:
    name: GEMM
    dimensions: [M, N, K]
    data_spaces:
      - name: A
        projection: [[[M]], [[K]]]
      - name: B
        projection: [[[N]], [[K]]]
      - name: Z
        projection: [[[M]], [[N]]]
        read_write: true
"""


def test_gemm_problem_by_roles_not_letters() -> None:
    """Timeloop's M N K GEMM: M indexes inputs and outputs (hwsim P), N weights and outputs (hwsim K)."""
    net = _problem("{M: 128, N: 64, K: 256}", GEMM_SHAPE)
    assert net.layers() == [gemm("GEMM", M=128, N=64, K=256, psum_bits=8)]


def test_grouped_and_batched_problems() -> None:
    depthwise = CONV_SHAPE.replace("[C, M, R, S, N, P, Q]", "[G, C, M, R, S, N, P, Q]").replace(
        "- [[C]]\n          - [[M]]", "- [[G]]\n          - [[C]]\n          - [[M]]").replace(
        "- [[N]]\n          - [[C]]", "- [[N]]\n          - [[G]]\n          - [[C]]").replace(
        "- [[N]]\n          - [[M]]", "- [[N]]\n          - [[G]]\n          - [[M]]")  # fmt: skip
    (layer,) = _problem("{G: 32, C: 1, M: 1, R: 3, S: 3, N: 1, P: 56, Q: 56}", depthwise).layers()
    want = depthwise_conv2d("conv2D", channels=32, in_hw=58, kernel=3, psum_bits=8)
    assert (layer.kind, layer.bounds) == ("depthwise", want.bounds)
    batched = GEMM_SHAPE.replace("[M, N, K]", "[H, M, N, K]").replace("[[[M]], [[K]]]", "[[[H]], [[M]], [[K]]]").replace(
        "[[[N]], [[K]]]", "[[[H]], [[N]], [[K]]]").replace("[[[M]], [[N]]]", "[[[H]], [[M]], [[N]]]")  # fmt: skip
    (layer,) = _problem("{H: 12, M: 128, N: 128, K: 64}", batched).layers()
    assert layer == batched_matmul("GEMM", batch=12, M=128, N=128, K=64, psum_bits=8)


def test_densities_make_operands_sparse() -> None:
    (layer,) = _problem("{M: 8, N: 8, K: 8, densities: {B: 0.25, A: {distribution: hypergeometric, density: 0.5}}}", GEMM_SHAPE).layers()
    assert (layer.operand("weights").density, layer.operand("inputs").density) == (0.25, 0.5)


def test_problem_errors_list_every_unsupported_construct() -> None:
    shape = """
  shape:
    name: odd
    dimensions: [M, N, K, T]
    data_spaces:
      - name: A
        projection: [[[M]], [[K], [N], [M]]]
      - name: B
        projection: [[[N, 2]], [[K]]]
      - name: Z
        projection: [[[M]], [[N]], [[T]]]
        read_write: true
"""
    with pytest.raises(SpecError) as info:
        _problem("{M: 4, N: 0, K: 4, X: 3}", shape)
    assert str(info.value) == textwrap.dedent("""\
        problem.yaml: 4 problems
        - problem.instance.N: expected an integer of at least 1, not 0
        - problem.instance.T: expected a bound for every dimension, not None
        - problem.instance.X: expected a dimension or coefficient of the shape, not 3
        - problem.shape.data_spaces[0].projection[1]: expected an axis of one dimension or a sliding window of two (more terms are not supported), not [['K'], ['N'], ['M']]
        """).rstrip()
    with pytest.raises(SpecError) as info:
        _problem("{M: 4, N: 4, K: 4, T: 2}", shape.replace("[[K], [N], [M]]", "[[K]]"))
    assert str(info.value) == textwrap.dedent("""\
        problem.yaml: 1 problem
        - problem.shape.data_spaces[1].projection[0]: expected one dimension per axis (only the inputs may have sliding windows), not [['N', 2]]
        """).rstrip()
    with pytest.raises(SpecError) as info:
        _problem("{M: 4, N: 4, K: 4, T: 2}", shape.replace("[[K], [N], [M]]", "[[K]]").replace("[[N, 2]]", "[[N]]")
                 .replace("[[[M]], [[N]], [[T]]]", "[[[M]], [[N]]]").replace("[[[N]], [[K]]]", "[[[N]], [[K]], [[T]]]"))
    assert str(info.value) == textwrap.dedent("""\
        problem.yaml: 1 problem
        - problem.shape.dimensions.T: expected a dimension indexing outputs or at least two data spaces, not ['weights']
        """).rstrip()


def test_a_dimension_indexing_only_the_outputs() -> None:
    """Z[M, N, T] += A[M, K]·B[N, K]: T repeats every product into T outputs (MACs = M·N·K·T, Z has M·N·T elements,
    A and B do not grow with T); T takes the first hwsim dimension the others leave free (N), indexing only the outputs."""
    shape = GEMM_SHAPE.replace("[M, N, K]", "[M, N, K, T]").replace("[[[M]], [[N]]]", "[[[M]], [[N]], [[T]]]")
    data = parse_timeloop_yaml("problem:\n" + shape + "  instance: {M: 4, N: 5, K: 6, T: 3}\n", "p.yaml")
    (layer,) = timeloop_problem(data, "p.yaml").layers()
    assert timeloop_problem_names(data, "p.yaml") == TimeloopNames(dims={"M": "P", "N": "K", "K": "C", "T": "N"},
                                                                   spaces={"A": "inputs", "B": "weights", "Z": "outputs"},
                                                                   bounds={"M": 4, "N": 5, "K": 6, "T": 3})
    assert layer.macs == 4 * 5 * 6 * 3
    sizes = {op.name: op.size(layer.dims) for op in layer.operands}
    assert sizes == {"weights": 5 * 6, "inputs": 4 * 6, "outputs": 4 * 5 * 3}
    assert layer.operand("inputs").relevant_dims == {"P", "C"}


EYERISS = """
architecture:
  version: 0.4
  nodes:
  - !Container
    name: system
    attributes: {technology: "65nm", global_cycle_seconds: 5e-9}
  - !Component
    name: DRAM
    class: DRAM
    attributes: {type: "LPDDR4", width: 64, datawidth: 8}
  - !Container
    name: eyeriss
  - !Component
    name: GLB
    class: smartbuffer_SRAM
    attributes: {depth: 16384, width: 64, n_banks: 32, datawidth: 8, read_bandwidth: 16, write_bandwidth: 16, multiple_buffering: 2}
    constraints:
      dataspace: {keep: [Inputs, Outputs], bypass: [Weights]}
  - !Container
    name: cols
    spatial: {meshX: 14}
    constraints:
      spatial:
        permutation: [N, C, P, R, S, Q, M]
        factors: [N=1, C=1, P=1, R=1, S=1]
        split: 7
  - !Container
    name: rows
    spatial: {meshY: 12}
    constraints:
      spatial:
        split: 4
        permutation: [N, P, Q, R, S, C, M]
        factors: [N=1, P=1, Q=1, R=1]
  - !Parallel
    nodes:
    - !Component
      name: ifmap_spad
      class: smartbuffer_RF
      attributes: {depth: 12, width: 16, datawidth: 8, read_bandwidth: 2, write_bandwidth: 2}
      constraints:
        dataspace: {keep: [Inputs]}
        temporal:
          permutation: [N, M, C, P, Q, R, S]
          factors: [N=1, M=1, C=1, P=1, Q=1, R=1, S=1]
    - !Component
      name: weights_spad
      class: smartbuffer_RF
      attributes: {depth: 192, width: 16, datawidth: 8, read_bandwidth: 2, write_bandwidth: 2}
      constraints:
        dataspace: {keep: [Weights]}
        temporal:
          permutation: NMPQSCR
          factors: N=1 M=1 P=1 Q=1 S=1
    - !Component
      name: psum_spad
      class: smartbuffer_RF
      attributes: {depth: 16, width: 16, update_fifo_depth: 2, datawidth: 16, read_bandwidth: 2, write_bandwidth: 2}
      constraints:
        dataspace: {keep: [Outputs]}
        temporal:
          factors: [N=1, C=1, R=1, S=1, P=1, Q=1]
  - !Component
    name: mac
    class: intmac
    attributes: {multiplier_width: 8, adder_width: 16}
"""


def test_eyeriss_like_tree_equals_the_preset_structure(tmp_path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(EYERISS)
    arch = load_timeloop(path)
    ref = load_arch("eyeriss")
    assert not isinstance(arch, Network)
    assert (arch.name, arch.clock_hz, arch.node_nm, arch.num_macs) == ("system", 200e6, 65.0, 168)
    assert [lv.name for lv in arch.levels] == [lv.name for lv in ref.levels]
    for lv, want in zip(arch.levels, ref.levels, strict=True):
        if lv.name == "psum_spad":  # 16 entries of 16 bits: 16 elements as Timeloop counts them, in 8-bit units
            # priced as what it is: 32 bytes read 16 bits at a time
            assert (lv.size_bytes, lv.word_bits, lv.read_energy_pj) == (16, 8, tech.sram_access_energy_pj(65, 32 / 2, 16, "read"))
            want = replace(want, size_bytes=16, word_bits=8)
        if lv.name != "GLB":  # n_banks not given: timeloopfe's default, 2
            want = replace(want, banks=2)
        assert (lv.kind, set(lv.keeps), lv.size_bytes, lv.word_bits, lv.banks) == (want.kind, set(want.keeps), want.size_bytes, want.word_bits, want.banks)
        allowed = None if lv.temporal_dims is None else set(lv.temporal_dims) - {"G"}
        assert allowed == (None if want.temporal_dims is None else set(want.temporal_dims))
    assert [arch.instances(i) for i in range(len(arch.levels))] == [1, 1, 168, 168, 168]
    assert [(a.name, a.size, a.below, set(a.dims) - {"G"}) for a in arch.axes] == [("cols", 14, "GLB", {"Q", "K"}), ("rows", 12, "GLB", {"S", "C", "K"})]
    assert arch.levels[1].read_bandwidth_bits_per_cycle == 16 * 8 and arch.levels[1].double_buffered
    assert (arch.mac.weight_bits, arch.mac.input_bits, arch.mac.accumulator_bits) == (8, 8, 16)
    assert arch.mac.energy_pj > 0 and arch.levels[1].read_energy_pj > 0  # from hwsim's technology table


def test_a_timeloop_problem_runs_on_a_timeloop_architecture(tmp_path) -> None:
    arch = timeloop_architecture(parse_timeloop_yaml(EYERISS, "arch.yaml"), source="arch.yaml")
    problem = tmp_path / "problem.yaml"
    problem.write_text("problem:\n  version: 0.4\n" + CONV_SHAPE + "  instance: {C: 64, M: 64, R: 3, S: 3, N: 1, P: 14, Q: 14}\n")
    net = load_workload(str(problem))  # the preset loader dispatches a 'problem' file here
    report = evaluate_network(arch, net, MapperOptions(samples=500))
    assert report.macs == 64 * 64 * 9 * 14 * 14
    assert 0 < report.utilization <= 1


def test_architecture_errors_list_every_unsupported_construct() -> None:
    text = """
architecture:
  version: 0.4
  nodes:
  - !Component {name: DRAM, class: DRAM, attributes: {width: 64}}
  - !Component {name: noc, class: XY_NoC}
  - !Component
    name: "buf[0..3]"
    class: SRAM
  - !Component
    name: glb
    class: SRAM
    attributes: {depth: 1024 * banks, width: 64, leakage_trick: 1}
    constraints: {utilization: 0.5}
  - !Container
    name: pe
    spatial: {meshX: 4}
    constraints: {spatial: {factors: [K=2, M=2]}}
  - !Pipelined {name: what}
  - !Component {name: mac, class: intmac}
"""
    with pytest.raises(SpecError) as info:
        timeloop_architecture(parse_timeloop_yaml(text, "arch.yaml"), source="arch.yaml")
    assert str(info.value) == textwrap.dedent("""\
        arch.yaml: 7 problems
        - architecture.nodes[1].class: expected a DRAM, SRAM/buffer, register-file or MAC class (networks and other components are not modelled), not 'XY_NoC'
        - architecture.nodes[2].name: expected a plain component name (arrays name[0..N-1] are v0.3 syntax), not 'buf[0..3]'
        - architecture.nodes[3].attributes.depth: expected an integer of at least 1 (unknown names in the expression: banks), not '1024 * banks'
        - architecture.nodes[3].attributes.leakage_trick: expected a storage attribute hwsim's importer reads or accepts (hwsim.frontend.importers.timeloop.STORAGE_ATTRIBUTES), not 1
        - architecture.nodes[3].constraints.utilization: expected only dataspace, spatial, temporal (not supported by hwsim's importer), not 0.5
        - architecture.nodes[4].constraints.spatial.factors[0]: expected DIM=n, DIM<=n or DIM>=n with a dimension of the problem (C, M, R, S, N, P, Q, G) and n ≥ 1 (DIM=0: the rest of DIM), not 'K=2'
        - architecture.nodes[5]: expected a !Container, !Component, !Parallel, !Hierarchical or !Nothing node, not '!Pipelined'
        """).rstrip()


def test_only_data_is_built_from_yaml_tags(tmp_path) -> None:
    evil = "architecture: !!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(SpecError, match="expected valid YAML"):
        parse_timeloop_yaml(evil, "evil.yaml")
    data = parse_timeloop_yaml("a: !Custom {x: 1}\nb: !Seq [1, 2]\n", "t.yaml")
    assert data == {"a": {"!tag": "!Custom", "x": 1}, "b": {"!tag": "!Seq", "nodes": [1, 2]}}
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                                                          for p, c in zip("abcdefg", "bcdefgh", strict=True))  # fmt: skip
    with pytest.raises(SpecError, match="expected at most 200000 YAML nodes"):
        parse_timeloop_yaml(bomb, "bomb.yaml")
    (tmp_path / "none.yaml").write_text("other: 1\n")
    with pytest.raises(SpecError, match="expected a Timeloop spec with a top-level 'architecture' or 'problem'"):
        load_timeloop(tmp_path / "none.yaml")


def test_constraints_name_the_problems_own_dimensions_and_data_spaces() -> None:
    """With a GEMM's names (A/B/Z, M N K), ``K=1`` forbids the reduction loop (hwsim C) and ``bypass: [A]``
    drops the inputs; with the default conv names the same letters mean other things, or nothing."""
    names = timeloop_problem_names(parse_timeloop_yaml("problem:\n" + GEMM_SHAPE + "  instance: {M: 8, N: 8, K: 8}\n", "p.yaml"))
    text = """
architecture:
  version: 0.4
  nodes:
  - !Component {name: DRAM, class: DRAM, attributes: {width: 64, datawidth: 8}}
  - !Component
    name: buf
    class: SRAM
    attributes: {depth: 64, width: 64, datawidth: 8}
    constraints:
      dataspace: {bypass: [A]}
      temporal: {factors: [K=1, M=2]}
  - !Component {name: mac, class: intmac}
"""
    arch = timeloop_architecture(parse_timeloop_yaml(text, "a.yaml"), "a.yaml", names)
    buf = arch.levels[1]
    assert (buf.keeps, buf.temporal_dims, buf.fixed_factors) == (("weights", "outputs"), ("N", "G", "K", "P", "Q", "R", "S"), (("P", 2),))
    with pytest.raises(SpecError, match=r"constraints.dataspace.bypass: expected data spaces of the problem \(Weights, Inputs, Outputs\), not \['A'\]"):
        timeloop_architecture(parse_timeloop_yaml(text, "a.yaml"), "a.yaml")


def test_attribute_expressions_evaluate_only_arithmetic() -> None:
    """Variables, inherited names, arithmetic and the listed functions evaluate; anything else (calls, dunders, huge
    powers, string arithmetic, unknown names) stays the string it was, as timeloopfe leaves what it cannot evaluate."""
    root = Scope({"W": 8, "D": "W * 2"}, variables=True)
    node = Scope({"width": "max(D, 12) * 2", "depth": "width // 4 if width > 16 else 1", "type": "LPDDR4", "t": "45nm"}, root)
    assert [node.get(k) for k in ("width", "depth", "type", "t")] == [32, 8, "LPDDR4", "45nm"]
    assert node.attr("W") is None and node.var("W") == 8  # variables are not attributes
    for text in ("'x' * 10**9", "9**9**9", "__import__('os')", "W.__class__", "open('f')", "nope + 1", "[1] * 10**9"):
        assert Scope({"v": text}, root).get("v") == text
    assert Scope({}, root).unknown("nope * W + other") == ["nope", "other"]


def test_factor_bounds_whole_dimensions_and_partial_permutations_are_applied() -> None:
    """Timeloop's ``X<=n``/``X>=n`` bound a level's loop (max_factors/min_factors), ``X=0`` makes it whole (Timeloop's
    mapper reads 0 as the full dimension), a partial temporal permutation (innermost first) pins the level's innermost
    loops (inner_order, outer first; dimensions fixed to 1 or of bound 1 left out, as timeloopfe prepends them), spatial
    factors constrain the axis their dimension runs along (a pin below the fan-out's size is pinned); ``X=n`` larger
    than the problem's X is ignored, as Timeloop ignores it. Nothing is noted but the permutation at the innermost
    storage level (which Timeloop's mapper ignores) and the bounds on a dimension free along both meshes."""
    names = timeloop_problem_names(parse_timeloop_yaml("problem:\n" + GEMM_SHAPE + "  instance: {M: 8, N: 1, K: 16}\n", "p.yaml"))
    text = """
architecture:
  version: 0.4
  nodes:
  - !Component {name: DRAM, class: DRAM, attributes: {width: 64, datawidth: 8}}
  - !Component
    name: buf
    class: SRAM
    attributes: {depth: 64, width: 64, datawidth: 8}
    constraints:
      temporal: {factors: [M<=4, K>=2, N=0], permutation: [N, K, M]}
  - !Container
    name: pe
    spatial: {meshX: 4, meshY: 8}
    constraints:
      spatial: {factors: [M=2, K<=4, N=8], permutation: [M, K], split: 2}
  - !Component
    name: rf
    class: regfile
    attributes: {depth: 4, width: 8, datawidth: 8}
    constraints:
      temporal: {factors: [K=0], permutation: [M, K]}
  - !Component {name: mac, class: intmac}
"""
    arch = timeloop_architecture(parse_timeloop_yaml(text, "a.yaml"), "a.yaml", names)
    buf, rf = arch.levels[1], arch.levels[2]
    # GEMM names: M → P, N → K, K → C (hwsim's gemm: A[M, K] inputs, B[K, N] weights)
    assert (buf.max_factors, buf.min_factors, buf.whole_dims) == ((("P", 4),), (("C", 2),), ("K",))
    assert buf.inner_order == ("P", "C")  # [N, K, M] innermost first, N of bound 1 left out: C innermost, P outside it
    assert rf.whole_dims == ("C",) and rf.inner_order == ()  # the innermost storage level: its permutation noted
    x, y = arch.axes
    # N of bound 1 prepended to the permutation (as timeloopfe does): meshX takes N and M; M=2 on a 4-wide mesh is pinned
    assert (x.dims, x.fixed_factors) == (("K", "P"), (("P", 2),))
    assert (y.dims, y.max_factors) == (("C",), (("C", 4),))
    assert all("N=8" in n for n in arch.notes if "factors" in n) and any("N=8" in n for n in arch.notes)  # N=8 > N=1: ignored
    assert [n for n in arch.notes if "permutation" in n] and len(arch.notes) == 2
    both = text.replace(", permutation: [M, K], split: 2", "")  # no split: M and K may run along either mesh
    arch = timeloop_architecture(parse_timeloop_yaml(both, "a.yaml"), "a.yaml", names)
    assert all(a.fixed_factors == () and a.max_factors == () for a in arch.axes)
    assert any("M, K" in n or "P, C" in n for n in arch.notes if "meshX and meshY" in n)
