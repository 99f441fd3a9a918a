"""The spec-format reference (docs/spec-reference.md), generated from the validators themselves.

    python -m hwsim.frontend.docs [--out docs/spec-reference.md] [--check]

The validators (:class:`hwsim.core.spec.Fields` getters) *are* the schema: while the presets and an example using
every optional field are validated under :func:`hwsim.core.spec.recording`, each field read is recorded with its
type, default, allowed values, bounds and unit. Workload layer fields come from the tables the workload
loader builds layers from (``hwsim.frontend.network_spec``). Only the one-line descriptions are written here, and a
test keeps them and the recorded fields equal in both directions, so the reference cannot drift from what
hwsim accepts.
"""

from __future__ import annotations

import argparse
import importlib.resources
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from hwsim.core.arch import architecture_from_dict
from hwsim.core.spec import recording
from hwsim.core.workload import DIMS

__all__ = ["ARCH_DESCRIPTIONS", "WORKLOAD_DESCRIPTIONS", "arch_fields", "spec_reference", "workload_fields"]

# Conditional fields no preset uses, exercised so the recorder sees them.
_ARCH_EXAMPLE: dict[str, Any] = {
    "name": "example",
    "levels": [
        {"name": "DRAM", "kind": "dram", "keeps": ["weights", "inputs", "outputs"], "bandwidth_bytes_per_s": 1e10},
        {"name": "GLB", "kind": "sram", "size_kib": 64, "keeps": ["weights", "inputs", "outputs"], "order": ["K", "C"],
         "factors": {"K": 2}, "temporal_dims": ["K", "C", "P", "Q"], "may_bypass": ["inputs"], "formats": {"weights": "bitmask", "inputs": "rle", "outputs": "uncompressed"}},
        {"name": "RF", "kind": "regfile", "size_bytes": 64, "keeps": ["weights"], "min_factors": {"K": 2},
         "max_factors": {"C": 4}, "whole_dims": ["S"], "inner_order": ["C", "K"]},
    ],
    "pe_array": {"axes": [{"name": "x", "size": 4, "below": "GLB", "dims": ["K", "C"], "factors": {"K": 2}, "min_factors": {"C": 1},
                           "max_factors": {"C": 2}, "whole_dims": []}]},
}  # fmt: skip

ARCH_DESCRIPTIONS: dict[str, str] = {
    "name": "Name of the design (default: the file name).",
    "clock_hz": "Clock frequency.",
    "semantics": "The model's semantics where Timeloop's and hwsim's differ: `hwsim` (default), `timeloop` (the default of "
                 "imported Timeloop designs), or a mapping `{base: hwsim|timeloop, sliding_window: bool, overlapped_cycles: bool, whole_vectors: bool, per_pe_windows: bool, psum_fill_per_pe: bool, mac_operand_reuse: bool, utilized_leakage: bool}` "
                 "(hwsim.core.arch.Semantics; docs/architecture.md, \"Two semantics\").",
    "technology": "Process technology of the energy and area model.",
    "technology.node_nm": "Process node; energies and areas scale from the 45 nm tables (range checked).",
    "mac": "The MAC unit of every PE.",
    "mac.kind": "fixed (narrow operands padded), bit-serial (cycles grow with bits, Stripes-like) or bit-fusion (BitFusion's bit-scalable PE).",
    "mac.weight_bits": "Native weight width of the multiplier.",
    "mac.input_bits": "Native activation width of the multiplier.",
    "mac.accumulator_bits": "Accumulator (partial-sum) width.",
    "mac.energy_pj": "Energy of one MAC at native widths (default: the technology model, scaled with the product of the widths).",
    "mac.area_um2": "Area of one MAC unit (default: the technology model).",
    "mac.leakage_mw": "Leakage power of all MAC units.",
    "mac.fp_bits": "Floating-point datapath width (0: integer only; 16 for fp16/bf16 operands).",
    "mac.fp_energy_pj": "Energy of one floating-point MAC.",
    "mac.skip": "Operands whose zeros the PE skips (saves cycles and energy).",
    "mac.gate": "Operands whose zeros the PE gates (saves energy only).",
    "vector_unit": "A vector (post-processing) unit on the PE array's output path: with `hwsim run --schedule resident`, pooling, "
                   "residual adds, activations, norms and softmax run on their producer's output path instead of a DRAM round trip "
                   "(hwsim.evaluate.residency). Absent: those ops go through DRAM on the PE array.",
    "vector_unit.ops_per_cycle": "Element operations the vector unit performs per cycle.",
    "vector_unit.energy_pj_per_op": "Energy of one element operation (default: the technology model's 16-bit multiply-add into 32 bits).",
    "vector_unit.area_um2": "Area of the vector unit (default: not counted).",
    "mac.skip_structure": "Sparsity the skipping hardware exploits: any (unstructured) or an N:M pattern such as 2:4.",
    "levels": "The storage hierarchy, outermost (DRAM) first; the outermost level keeps every operand.",
    "levels[].name": "Unique level name (used by mappings, --fix, --order and --set levels.<name>.<field>).",
    "levels[].kind": "dram, sram or regfile (sets the energy/area model and the bandwidth defaults).",
    "levels[].keeps": "Operands stored at this level (others bypass it).",
    "levels[].may_bypass": "Kept operands the mapper may also send past this level, choosing per layer whether to (a subset of "
                           "keeps; not at the outermost level; default none: the level keeps all of keeps).",
    "levels[].size_bytes": "Capacity per instance (one of size_bytes, size_kib, size_mib; DRAM may omit it).",
    "levels[].size_kib": "Capacity per instance, KiB.",
    "levels[].size_mib": "Capacity per instance, MiB.",
    "levels[].word_bits": "Width of one access; energies are per word and narrow values pack into words.",
    "levels[].banks": "Banks (multiply the default bandwidth).",
    "levels[].cluster_size": "Instances sharing one physical row: an access of the row serves them all, billed once per utilized cluster (default 1).",
    "levels[].ports": "1: reads and writes share the port; 2: separate read and write ports.",
    "levels[].double_buffered": "Whether refills overlap compute (a second buffer); without it, refills stall the PEs.",
    "levels[].dram_type": "DRAM technology for the energy per bit (LPDDR4, DDR4, HBM2, ...).",
    "levels[].bandwidth_bytes_per_s": "DRAM bandwidth (converted to bits per cycle at clock_hz).",
    "levels[].read_bandwidth_bits_per_cycle": "Read bandwidth of one instance, or `unlimited` (default: word_bits × banks on chip).",
    "levels[].write_bandwidth_bits_per_cycle": "Write bandwidth of one instance, or `unlimited` (default: word_bits × banks on chip).",
    "levels[].read_energy_pj": "Energy per word read (default: the technology model for kind and size).",
    "levels[].write_energy_pj": "Energy per word written (default: the technology model).",
    "levels[].update_energy_pj": "Energy per word of partial sums written back (updated) into the level (default: write_energy_pj).",
    "levels[].leakage_mw": "Leakage power of all instances.",
    "levels[].area_um2": "Area of one instance (default: the technology model).",
    "levels[].temporal_dims": "Dimensions that may have temporal loops here (a mapping constraint; omit for any).",
    "levels[].factors": "Temporal loop bounds pinned at this level (a mapping constraint), DIM: bound.",
    "levels[].factors.<DIM>": "The pinned bound of one dimension (N, G, K, C, P, Q, R or S).",
    "levels[].order": "Loop order pinned at this level, outer first (a mapping constraint).",
    "levels[].min_factors": "Smallest temporal loop bound of a dimension at this level (a mapping constraint; Timeloop's X>=n), DIM: bound.",
    "levels[].min_factors.<DIM>": "The smallest bound of one dimension's loop here.",
    "levels[].max_factors": "Largest temporal loop bound of a dimension at this level (a mapping constraint; Timeloop's X<=n), DIM: bound.",
    "levels[].max_factors.<DIM>": "The largest bound of one dimension's loop here.",
    "levels[].whole_dims": "Dimensions this level's loops cover entirely, no other level or axis splitting them (a mapping "
                           "constraint; Timeloop's X=0).",
    "levels[].inner_order": "This level's innermost loops, outer first; its other loops come outside them in any order (a "
                            "mapping constraint: a partial order; Timeloop's permutation, which lists them innermost first).",
    "levels[].formats": "Compression format per operand at this level (metadata counted in capacity and traffic).",
    "levels[].formats.<operand>": "uncompressed, bitmask, rle, coo, csr or nm (N:M index) for weights, inputs or outputs.",
    "pe_array": "The spatial PE array.",
    "pe_array.axes": "Spatial axes (e.g. rows and columns), each below one storage level.",
    "pe_array.axes[].name": "Axis name (used by mappings).",
    "pe_array.axes[].size": "Number of PEs (or PE groups) along the axis.",
    "pe_array.axes[].below": "The storage level whose instances this axis fans out from.",
    "pe_array.axes[].dims": "Dimensions this axis may unroll (the dataflow's spatial choices).",
    "pe_array.axes[].multicast": "Whether one read feeds every PE along the axis that needs the same data.",
    "pe_array.axes[].reduction": "Whether partial sums are reduced across the axis in the network (spatial reduction).",
    "pe_array.axes[].factors": "Unrolling factors pinned on this axis (a mapping constraint), DIM: factor.",
    "pe_array.axes[].factors.<DIM>": "The pinned factor of one dimension on the axis.",
    "pe_array.axes[].min_factors": "Smallest unrolling factor of a dimension on this axis (a mapping constraint), DIM: factor.",
    "pe_array.axes[].min_factors.<DIM>": "The smallest factor of one dimension on the axis.",
    "pe_array.axes[].max_factors": "Largest unrolling factor of a dimension on this axis (a mapping constraint), DIM: factor.",
    "pe_array.axes[].max_factors.<DIM>": "The largest factor of one dimension on the axis.",
    "pe_array.axes[].whole_dims": "Dimensions this axis unrolls entirely, no level or other axis splitting them (a mapping constraint).",
}

WORKLOAD_DESCRIPTIONS: dict[str, str] = {
    "name": "Name of the network (default: the file name).",
    "precision": "Default bit widths of every layer.",
    "precision.weights": "Weight bits.",
    "precision.inputs": "Activation bits.",
    "precision.psum": "Partial-sum bits (on-chip accumulation width).",
    "layers": "Layers and non-MAC operations in order; each feeds the next unless `after` names its inputs.",
    "check_chaining": "Whether a convolution or fc must take the shape its single producer hands on (channels, input size, "
                      "flattened features, a tensor op's `elements_out`); `false` costs the layers as written.",
    "layers[].name": "Unique layer name.",
    "layers[].type": "Layer type (the table below lists each type's fields).",
    "layers[].after": "Names of earlier layers this one consumes (a DAG: residual adds, concatenations).",
    "layers[].weight_bits": "This layer's weight bits (overrides precision.weights).",
    "layers[].input_bits": "This layer's activation bits.",
    "layers[].psum_bits": "This layer's partial-sum bits.",
    "layers[].sparsity": "Per-operand density or structure, e.g. {weights: '2:4', inputs: 0.6}.",
    "layers[].elements_in": "Elements read by a non-MAC operation.",
    "layers[].elements_out": "Elements written (default: elements_in).",
    "layers[].ops": "Arithmetic operations (default: elements_in).",
    "layers[].bits": "Element width of a non-MAC operation (default: precision.inputs).",
    "layers[].state_elements": "Streaming state (type: state) kept between steps: a ring buffer of partial sums, a delay buffer or a "
                               "window; on chip when it fits, else DRAM traffic every step.",
    "layers[].delay_steps": "Steps a streaming layer delays its output (k_t − 1 − p_t for a continual conv; default 0).",
    "layers[].every_steps": "A streaming op behind a temporal stride runs once every this many steps; its cost is reported per "
                            "step (any layer type; default 1).",
}


# Defaults that depend on other fields (the recorder sees the example's values).
_DEFAULT_TEXT = {
    "layers[].elements_out": "elements_in", "layers[].ops": "elements_in", "layers[].bits": "precision.inputs",
    "layers[].weight_bits": "precision.weights", "layers[].input_bits": "precision.inputs", "layers[].psum_bits": "precision.psum",
}  # fmt: skip


def _normalize(path: str) -> str:
    path = re.sub(r"\.((?:min_|max_)?factors)\.(" + "|".join(DIMS) + r")$", r".\1.<DIM>", path)
    return re.sub(r"\.formats\.(weights|inputs|outputs)$", ".formats.<operand>", path)


def _merge(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    fields: dict[str, dict[str, Any]] = {}
    for r in records:
        path = _normalize(r["path"])
        f = fields.setdefault(path, {**r, "path": path})
        for k, v in r.items():
            if f.get(k) in (None, "", []) and v not in (None, "", []):
                f[k] = v
    return fields


def arch_fields() -> dict[str, dict[str, Any]]:
    """Every field the architecture validator reads, over the presets and an example of the conditional fields."""
    files = importlib.resources.files("hwsim.accelerators")
    docs = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in sorted(files.iterdir(), key=lambda f: f.name) if f.name.endswith(".yaml")]
    with recording() as rec:
        for d in [*docs, _ARCH_EXAMPLE]:
            architecture_from_dict(d, source="preset.yaml")
    return _merge(rec)


def workload_fields() -> tuple[dict[str, dict[str, Any]], dict[str, tuple[list[str], list[str]]]]:
    """The workload validator's fields, and per layer type its required and optional shape fields."""
    from hwsim.frontend import network_spec as ns

    example = {"name": "example", "precision": {"weights": 8, "inputs": 8, "psum": 24},
               "layers": [{"name": "c", "type": "conv2d", "in_channels": 3, "out_channels": 8, "in_hw": 8, "kernel": 3,
                           "weight_bits": 4, "input_bits": 8, "psum_bits": 24, "sparsity": {"weights": 0.5}},
                          {"name": "p", "type": "pool", "elements_in": 512, "elements_out": 128, "ops": 512, "bits": 8, "after": ["c"]},
                          {"name": "s", "type": "state", "state_elements": 256, "elements_in": 128, "elements_out": 128, "ops": 128,
                           "bits": 24, "delay_steps": 1, "every_steps": 2}]}  # fmt: skip
    with recording() as rec:
        ns.network_from_dict(example, source="example.yaml")
    fields = {p: f for p, f in _merge(rec).items() if not any(p == f"layers[].{k}" for t in ns._SHAPES.values() for k in t)
              and not any(p == f"layers[].{k}" for t in ns._OPTIONAL.values() for k in t)}  # fmt: skip
    types = {t: (list(ns._SHAPES[t]), list(ns._OPTIONAL.get(t, ()))) for t in ns._SHAPES}
    for t in ns.TENSOR_OPS:
        types[t] = (["elements_in"], ["elements_out", "ops", "bits"])
    types["state"] = (["state_elements", "elements_in"], ["elements_out", "ops", "bits", "delay_steps"])
    return fields, types


def _unit(f: dict[str, Any]) -> str:
    name = f["path"].rsplit(".", 1)[-1]
    if name in ("weights", "inputs", "psum") and f["path"].startswith("precision."):
        return "bits"
    for suffix, unit in (("_bytes_per_s", "bytes/s"), ("_bits_per_cycle", "bits/cycle"), ("_kib", "KiB"), ("_mib", "MiB"),
                         ("_bytes", "bytes"), ("_bits", "bits"), ("_pj", "pJ"), ("_hz", "Hz"), ("_nm", "nm"), ("_mw", "mW"),
                         ("_um2", "µm²")):  # fmt: skip
        if name.endswith(suffix):
            return unit if not f.get("unit") or f["unit"] == "capacity" else f"{unit} ({f['unit']})" if unit not in f["unit"] else str(f["unit"])
    return str(f.get("unit") or "")


def _kind(f: dict[str, Any]) -> str:
    kind = str(f["kind"])
    if kind in ("number", "integer") and "minimum" in f:
        op = ">" if f.get("exclusive") else "≥"
        kind += f" {op} {f['minimum']:g}"
    return kind


def _default(f: dict[str, Any]) -> str:
    if f["path"] in _DEFAULT_TEXT:
        return _DEFAULT_TEXT[f["path"]]
    if f.get("required"):
        return "**required**"
    d = f.get("default")
    if d is None or (f["path"].endswith("name") and f["kind"] == "string"):
        return "—" if d is None or not f["path"].endswith("name") else "file name"
    if isinstance(d, list):
        return "[" + ", ".join(map(str, d)) + "]" if d else "[]"
    return f"{d:g}" if isinstance(d, float) else str(d)


def _table(fields: dict[str, dict[str, Any]], descriptions: dict[str, str]) -> list[str]:
    out = ["| field | type | default | allowed values | unit | description |", "|---|---|---|---|---|---|"]
    for path in sorted(fields, key=lambda p: (p.count("."), p) if not p.startswith("levels") and not p.startswith("pe_array") else (9, p)):
        f = fields[path]
        choices = ", ".join(map(str, f["choices"])) if f.get("choices") else ""
        out.append(f"| `{path}` | {_kind(f)} | {_default(f)} | {choices} | {_unit(f)} | {descriptions.get(path, '')} |")
    return out


def spec_reference() -> str:
    """The whole reference as Markdown."""
    arch = arch_fields()
    wl, types = workload_fields()
    lines = ["# Spec format reference", "",
             "Generated by `python -m hwsim.frontend.docs` from the validators (do not edit by hand; `tests/test_docs.py` checks it is current).",
             "Every field the loaders accept is listed with its type, default, allowed values and unit; an unknown or",
             "misspelled field is an error naming its path. Sizes and energies may be written as numbers or strings such as",
             "`'3.2e9'`.", "", "## Architecture (`hwsim run --arch FILE.yaml`)", ""]  # fmt: skip
    lines += _table(arch, ARCH_DESCRIPTIONS)
    lines += ["", "## Workload (`hwsim run --workload FILE.yaml`)", ""]
    lines += _table(wl, WORKLOAD_DESCRIPTIONS)
    lines += ["", "### Layer types and their shape fields", "",
              "Shape fields are positive integers; `in_hw`, `kernel`, `stride`, `padding` and `dilation` take one value or",
              "an [height, width] pair.", "", "| type | required fields | optional fields |", "|---|---|---|"]  # fmt: skip
    for t, (req, opt) in sorted(types.items()):
        lines.append(f"| `{t}` | {', '.join(f'`{k}`' for k in req)} | {', '.join(f'`{k}`' for k in opt)} |")
    lines += ["", "## Mappings (`hwsim run --mappings FILE`, `hwsim rtl verify --mappings FILE`)", "",
              "As `hwsim search` writes them (`hwsim.frontend.mapping_io`): `layers: {NAME: {temporal: {LEVEL: [[DIM, bound], ...]},",
              "spatial: {AXIS: [[DIM, bound], ...]}, bypass: [[LEVEL, operand], ...]}}`, loops outer first; level and axis",
              "names as in the architecture; the loops of each layer must multiply to its bounds.", ""]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwsim.frontend.docs", description="Write the spec-format reference.")
    ap.add_argument("--out", default="docs/spec-reference.md")
    ap.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be written")
    args = ap.parse_args(argv)
    text = spec_reference()
    if args.check:
        same = Path(args.out).exists() and Path(args.out).read_text(encoding="utf-8") == text
        print(f"{args.out}: {'current' if same else 'stale: rerun python -m hwsim.frontend.docs'}")
        return 0 if same else 1
    from hwsim.core.io import write_text_atomic

    write_text_atomic(args.out, text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
