"""A layer and its hwsim mapping as a run of the generated core (the mapping ``hwsim run`` evaluated, on the RTL).

The core computes GEMMs; a convolution is lowered by the host (im2col): the GEMM's M is the output pixels
(N·P·Q), its K the reduction (C·R·S) and its N the filters (K). A mapping is executable when its spatial
unrolling is the core's — the rows axis over reduction dims (WS) or output-pixel dims (OS), the columns over
K — and its tile of the streamed dimension (output pixels for WS, the reduction for OS) at the level right above
the array fits half a buffer. That tile is the core's stream length; every loop above it becomes a fold (the
core keeps no tile on chip across folds beyond double buffering, so on-chip reuse the mapping has above that
level is re-fetched). The core runs its folds M-tiles → N-tiles → K-tiles whatever order the mapping gives those
outer loops (the order changes DRAM traffic, not the result).

Known gap: an output-stationary plan that splits the reduction over several folds (a K tile smaller than the
layer's C·R·S) drains and reloads the accumulators every fold in the RTL, while the cycle engine keeps them in
the PEs; such runs are bit-exact but the RTL takes 2–5× the model's cycles. The core's own default tiling
(``RtlConfig.plan``) avoids it whenever the reduction fits the buffers.
"""

from __future__ import annotations

import math

from hwsim.core.arch import Architecture
from hwsim.core.errors import Problems
from hwsim.core.mapping import Mapping
from hwsim.core.workload import Layer
from hwsim.rtl.config import GemmPlan, RtlConfig

__all__ = ["gemm_shape", "plan_from_mapping"]

M_DIMS, K_DIMS, N_DIMS = ("N", "P", "Q"), ("C", "R", "S"), ("K",)


def gemm_shape(layer: Layer, source: str = "--layer") -> tuple[int, int, int]:
    """``(M, N, K)`` of the GEMM the host hands the core for ``layer`` (im2col for convolutions)."""
    problems = Problems(source)
    if layer.bound("G") != 1:
        problems.add(f"layers.{layer.name}", f"G={layer.bound('G')}", "expected an ungrouped layer (grouped and depthwise "
                                                                         "convolutions are not generatable: one GEMM per group)")  # fmt: skip
    problems.raise_if_any()
    return (math.prod(layer.bound(d) for d in M_DIMS), math.prod(layer.bound(d) for d in N_DIMS), math.prod(layer.bound(d) for d in K_DIMS))


def plan_from_mapping(cfg: RtlConfig, arch: Architecture, layer: Layer, mapping: Mapping, source: str = "--mappings") -> GemmPlan:
    """The core's plan for ``layer`` under ``mapping`` (on ``arch``, the spec the core was generated from);
    a :class:`SpecError` names every part of the mapping the core cannot execute."""
    M, N, K = gemm_shape(layer, source)
    problems = Problems(source)
    where = f"layers.{layer.name}"
    rows_ok, stream_dims = (K_DIMS, M_DIMS) if cfg.dataflow == "ws" else (M_DIMS, K_DIMS)
    for j, (axis, group, allowed) in enumerate(zip(arch.axes, mapping.spatial, (rows_ok, N_DIMS), strict=False)):
        bad = [[d, n] for d, n in group if n > 1 and d not in allowed]
        if bad:
            problems.add(f"{where}.spatial.{axis.name}", bad, f"expected only {', '.join(allowed)} unrolled on axis {j} of the "
                                                                f"{cfg.dataflow.upper()} array")  # fmt: skip
    below = arch.level_index(arch.axes[0].below)
    stream = math.prod(n for d, n in mapping.temporal[below] if d in stream_dims)
    limit = min(cfg.a_depth, cfg.c_depth) if cfg.dataflow == "ws" else min(cfg.a_depth, cfg.b_depth)
    if stream > limit:
        problems.add(f"{where}.temporal.{arch.levels[below].name}", f"{'·'.join(stream_dims)} tile {stream}",
                     f"expected an on-chip tile of the streamed dims of at most {limit}: the generated core double-buffers every "
                     "on-chip buffer, so map on the design as built (hwsim.rtl.config.built_arch, or a spec with "
                     "double_buffered: true on those levels)")  # fmt: skip
    problems.raise_if_any()
    R, C = cfg.rows, cfg.cols
    Np = math.ceil(N / C) * C
    if cfg.dataflow == "ws":
        Kp = math.ceil(K / R) * R
        fm = math.ceil(M / stream)
        return GemmPlan(cfg, M, N, K, fm * stream, Np, Kp, fm, Np // C, Kp // R, stream)
    Mp = math.ceil(M / R) * R
    fk = math.ceil(K / stream)
    return GemmPlan(cfg, M, N, K, Mp, Np, fk * stream, Mp // R, Np // C, fk, stream)
