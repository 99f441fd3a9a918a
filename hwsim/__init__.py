"""hwsim: co-design of deep-neural-network accelerators.

Quick use from Python::

    import hwsim
    report = hwsim.evaluate("eyeriss", "resnet18")   # preset names, file paths or objects
    report.to_frame()                                  # one row per layer (pandas)
    report.totals()                                    # macs, cycles, energy_pj, latency_s, edp_pj_s...
"""

from __future__ import annotations

from hwsim.core.arch import Architecture, Level, MacUnit, SpatialAxis, architecture_from_dict, load_architecture
from hwsim.core.errors import Problem, SpecError
from hwsim.core.mapping import Mapping, check_mapping, format_nest
from hwsim.core.workload import Layer, Network, Operand, TensorOp, batched_matmul, conv2d, fully_connected, gemm
from hwsim.cost.analytical import CostReport, access_counts, evaluate_mapping
from hwsim.evaluate import NetworkReport, evaluate_network
from hwsim.mapper import MapperOptions, map_layer

__all__ = [
    "Architecture",
    "CostReport",
    "Layer",
    "Level",
    "MacUnit",
    "MapperOptions",
    "Mapping",
    "Network",
    "NetworkReport",
    "Operand",
    "Problem",
    "SpatialAxis",
    "SpecError",
    "TensorOp",
    "access_counts",
    "architecture_from_dict",
    "batched_matmul",
    "check_mapping",
    "conv2d",
    "evaluate",
    "evaluate_mapping",
    "evaluate_network",
    "format_nest",
    "fully_connected",
    "gemm",
    "load_architecture",
    "map_layer",
]  # fmt: skip


def evaluate(
    arch: Architecture | str,
    workload: Network | str,
    *,
    objective: str = "edp",
    samples: int = MapperOptions.samples,
    seed: int = 0,
    dataflow: str | None = None,
    schedule: str = "layer",
) -> NetworkReport:
    """Map and cost ``workload`` on ``arch``; either may be a preset name, a YAML path or an object. ``schedule``:
    ``layer`` (every layer from and to DRAM) or ``resident`` (activations kept on chip, element-wise ops fused)."""
    from hwsim.frontend.presets import load_arch, load_workload

    a = load_arch(arch) if isinstance(arch, str) else arch
    w = load_workload(workload) if isinstance(workload, str) else workload
    return evaluate_network(a, w, MapperOptions(objective=objective, samples=samples, seed=seed, dataflow=dataflow), schedule=schedule)
