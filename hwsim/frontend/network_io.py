"""A :class:`Network` written as a workload file (the YAML :func:`hwsim.frontend.network_spec.network_from_dict` reads).

Used by ``hwsim search`` for its winner's ``network.yaml``, so ``hwsim run --workload network.yaml`` costs the
variant the search chose. Each layer is written in the loader's terms (conv2d/depthwise/fc/gemm/matmul with
PyTorch-style shapes, bits, sparsity, and the names it consumes) and rebuilt at once: a layer the file format
cannot express exactly (custom operand projections such as X3D's temporal taps, floating-point operands) is one
:class:`SpecError` naming it, never an approximate file. Streaming state is written as ``type: state`` ops.
"""

from __future__ import annotations

from typing import Any

from hwsim.core.errors import Problem, SpecError
from hwsim.core.workload import Layer, Network, StateOp, TensorOp
from hwsim.frontend.network_spec import TENSOR_OPS, chaining_problems, network_from_dict

__all__ = ["network_to_dict"]


def _layer_dict(layer: Layer) -> dict[str, Any]:
    b = dict(layer.bounds)
    w, i, o = layer.operand("weights"), layer.operand("inputs"), layer.operand("outputs")
    d: dict[str, Any] = {"name": layer.name}
    if layer.kind in ("conv2d", "depthwise"):
        (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
        # the smallest input giving the layer's output size (the loader recomputes P, Q exactly as before)
        in_hw = [layer.input_extents(0).start, layer.input_extents(1).start]
        common = {"in_hw": in_hw, "kernel": [b["R"], b["S"]], "stride": [sh, sw], "padding": [ph, pw], "dilation": [dh, dw], "batch": b["N"]}
        if layer.kind == "depthwise":
            d.update(type="depthwise", channels=b["G"], **common)
        else:
            d.update(type="conv2d", in_channels=b["C"] * b["G"], out_channels=b["K"] * b["G"], groups=b["G"], **common)
    elif layer.kind == "fc":
        d.update(type="fc", in_features=b["C"], out_features=b["K"], batch=b["N"])
    elif layer.kind == "gemm":
        d.update(type="gemm", M=b["P"], N=b["K"], K=b["C"])
    elif layer.kind == "matmul":
        d.update(type="matmul", batch=b["G"], M=b["P"], N=b["K"], K=b["C"])
    else:
        raise ValueError(layer.kind)
    d.update(weight_bits=w.bits, input_bits=i.bits, psum_bits=o.onchip_bits)
    sparsity = {op.name: (op.structure if op.structure not in ("dense", "uniform") else op.density)
                for op in (w, i) if op.density < 1.0 or op.structure not in ("dense", "uniform")}  # fmt: skip
    if sparsity:
        d["sparsity"] = sparsity
    return d


def network_to_dict(net: Network, source: str = "network") -> dict[str, Any]:
    """``net`` as a workload-file dict; :class:`SpecError` lists every op the format cannot express exactly."""
    layers: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for op in net.ops():
        after = list(net.graph.predecessors(op.name))
        if isinstance(op, StateOp):
            d = {"name": op.name, "type": "state", "state_elements": op.state_elements, "elements_in": op.input_elements,
                 "elements_out": op.output_elements, "ops": op.ops, "bits": op.bits, "delay_steps": op.delay_steps}  # fmt: skip
        elif isinstance(op, TensorOp):
            if op.kind not in TENSOR_OPS:
                problems.append(Problem(op.name, op.kind, f"expected an op a workload file can hold ({', '.join(TENSOR_OPS)}); "
                                                          "or state"))  # fmt: skip
                continue
            d = {"name": op.name, "type": op.kind, "elements_in": op.input_elements, "elements_out": op.output_elements,
                 "ops": op.ops, "bits": op.bits}  # fmt: skip
        elif op.kind not in ("conv2d", "depthwise", "fc", "gemm", "matmul"):
            problems.append(Problem(op.name, op.kind, "expected a conv2d, depthwise, fc, gemm or matmul layer"))
            continue
        else:
            d = _layer_dict(op)
        if after or layers:
            d["after"] = after
        if net.every_steps(op.name) > 1:
            d["every_steps"] = net.every_steps(op.name)
        layers.append(d)
    doc: dict[str, Any] = {"name": net.name, "layers": layers}
    if chaining_problems(net):  # a graph built in code whose edges order the ops rather than pass tensors (squeeze-excitation)
        doc["check_chaining"] = False
    if not problems:
        rebuilt = network_from_dict(doc, source=source)
        ops = {op.name: op for op in rebuilt.ops()}
        for op in net.ops():
            if ops.get(op.name) != op or rebuilt.every_steps(op.name) != net.every_steps(op.name):
                problems.append(Problem(op.name, getattr(op, "kind", "?"), "expected a layer the workload format expresses exactly "
                                                                           "(custom operand projections and fp operands are not)"))  # fmt: skip
    if problems:
        raise SpecError(source, problems)
    return doc
