"""The workload IR: layers as einsums over named loop dimensions, networks as graphs.

Every MAC layer uses the same eight dimensions (Timeloop's names)::

    N batch · G groups · K output channels per group · C input channels per group
    P output rows · Q output columns · R filter rows · S filter columns

and three operands whose tensor axes are affine in them::

    weights[G, K, C, R, S]
    inputs [N, G, C, stride_h·P + dilation_h·R, stride_w·Q + dilation_w·S]
    outputs[N, G, K, P, Q]        (read-modify-write: partial sums)

Conv2d, depthwise, grouped conv, fully connected, GEMM and batched matmul (attention) are
all instances: a GEMM ``C[M, N] += A[M, K] · B[K, N]`` is ``P=M, C=K, K=N`` with A the
inputs and B the weights; a batched matmul puts the batch (heads) on G. For attention
both operands are activations; the one called ``weights`` is simply the second operand.

What a layer's MAC count counts: one multiply-accumulate per point of the iteration space
(no bias adds, no padding MACs); non-MAC ops (pooling, elementwise add, softmax, norms)
are :class:`TensorOp` nodes costed by their memory traffic and element operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

import networkx as nx

from hwsim.core.errors import Problem, Problems, SpecError
from hwsim.core.formats import density_of

__all__ = [
    "DIMS",
    "Layer",
    "Network",
    "Operand",
    "StateOp",
    "TensorOp",
    "batched_matmul",
    "conv2d",
    "depthwise_conv2d",
    "distinct_count",
    "fully_connected",
    "gemm",
]

DIMS: tuple[str, ...] = ("N", "G", "K", "C", "P", "Q", "R", "S")
OPERANDS: tuple[str, ...] = ("weights", "inputs", "outputs")

# One tensor axis: a sum of coefficient·dimension terms.
Axis = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Operand:
    """A tensor of a layer: its axes as affine sums of loop dimensions, its precision and density.

    ``bits`` is the storage precision of one element; for outputs it is the final
    (requantized) precision and ``psum_bits`` the partial-sum precision while the layer runs.
    ``density`` is the expected fraction of non-zeros (1.0 = dense) and ``structure`` its
    pattern: ``dense``, ``uniform`` (unstructured) or ``"N:M"`` (see :mod:`hwsim.cost.sparsity`).
    """

    name: str
    axes: tuple[Axis, ...]
    bits: int = 8
    density: float = 1.0
    structure: str = "dense"
    is_output: bool = False
    psum_bits: int | None = None
    number: str = "int"  # "int" or "fp" (floating point, e.g. fp16/bf16 at bits=16)

    @property
    def onchip_bits(self) -> int:
        """Bits per element while the layer runs: partial sums for outputs, else ``bits``."""
        return self.psum_bits if self.psum_bits is not None else self.bits

    @property
    def relevant_dims(self) -> frozenset[str]:
        """The dimensions this operand's index depends on."""
        return frozenset(d for axis in self.axes for d, c in axis if c != 0)

    def footprint(self, tile: Mapping[str, int]) -> int:
        """Distinct elements touched by a contiguous tile (dim → extent, missing dims = 1)."""
        return self.footprint_digits({d: ((1, n),) for d, n in tile.items()})

    def footprint_digits(self, digits: Mapping[str, tuple[tuple[int, int], ...]]) -> int:
        """Distinct elements over an index set given per dim as mixed-radix digits.

        ``digits[d]`` is a tuple of ``(stride, count)``: dim d takes every value
        ``Σ stride_i · x_i`` with ``0 ≤ x_i < count_i``. This describes a child tile
        (one contiguous digit) and the union of tiles over spatial instances (more digits).
        """
        total = 1
        for axis in self.axes:
            total *= distinct_count((coef * stride, count) for d, coef in axis for stride, count in digits.get(d, ()) if coef != 0)
        return total

    def size(self, bounds: Mapping[str, int]) -> int:
        """Elements of the whole tensor for the given dimension bounds."""
        return self.footprint(bounds)


@lru_cache(maxsize=1 << 16)
def _distinct_sorted(terms: tuple[tuple[int, int], ...]) -> int:
    # Merge digits that continue each other (c·n == next c): contiguous ranges.
    merged: list[list[int]] = []
    for c, n in terms:
        if merged and merged[-1][0] * merged[-1][1] == c:
            merged[-1][1] *= n
        else:
            merged.append([c, n])
    if len(merged) == 1:
        return merged[0][1]
    if len(merged) == 2:
        (a, na), (b, nb) = merged
        g = math.gcd(a, b)
        a, b = a // g, b // g
        # Values a·x + b·y (a, b coprime) collide exactly when x differs by a multiple of b
        # and y by the same multiple of a: count one representative of each chain.
        return na * nb - max(0, na - b) * max(0, nb - a)
    # Three or more digits: exact sumset on a bitmap.
    span = sum(c * (n - 1) for c, n in merged) + 1
    reach = bytearray(span)
    reach[0] = 1
    top = 0
    for c, n in merged:
        current = bytes(reach[: top + 1])
        for k in range(1, n):
            off = c * k
            for v, hit in enumerate(current):
                if hit:
                    reach[v + off] = 1
        top += c * (n - 1)
    return sum(reach)


def distinct_count(terms: Iterable[tuple[int, int]]) -> int:
    """Number of distinct values of ``Σ c_i·x_i`` with ``0 ≤ x_i < n_i`` (all c_i > 0)."""
    live = tuple(sorted((c, n) for c, n in terms if n > 1))
    return _distinct_sorted(live) if live else 1


@dataclass(frozen=True)
class Layer:
    """A MAC layer: bounds of the eight dimensions plus its three operands.

    ``kind`` is descriptive (``conv2d``, ``depthwise``, ``fc``, ``gemm``, ``matmul``);
    the cost model only looks at bounds and operand projections.
    """

    name: str
    kind: str
    bounds: tuple[tuple[str, int], ...]
    operands: tuple[Operand, ...]
    padding: tuple[int, int] = (0, 0)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)

    @property
    def dims(self) -> dict[str, int]:
        return dict(self.bounds)

    def bound(self, dim: str) -> int:
        return self.dims[dim]

    @property
    def is_depthwise(self) -> bool:
        """Whether each of several groups convolves one channel (the one definition of "depthwise"): a
        convolution with G > 1 and one input channel per group (K outputs per channel: a channel multiplier),
        or one its builder called depthwise (a temporal depthwise conv runs its taps on C). Not a batched matmul."""
        d = self.dims
        return self.kind != "matmul" and d["G"] > 1 and (d["C"] == 1 or self.kind == "depthwise")

    @property
    def macs(self) -> int:
        return math.prod(n for _, n in self.bounds)

    def operand(self, name: str) -> Operand:
        for op in self.operands:
            if op.name == name:
                return op
        raise KeyError(name)

    @property
    def weight_count(self) -> int:
        return self.operand("weights").size(self.dims)

    def with_number(self, number: str) -> Layer:
        """A copy whose weights and inputs are ``int`` or ``fp`` (floating point) values."""
        if number not in ("int", "fp"):
            raise SpecError(f"layer {self.name!r}", [Problem("number", number, "expected int or fp")])
        ops = tuple(replace(o, number=number) if o.name in ("weights", "inputs") else o for o in self.operands)
        return Layer(self.name, self.kind, self.bounds, ops, self.padding, self.stride, self.dilation)

    def with_sparsity(self, **patterns: float | str) -> Layer:
        """A copy with operands made sparse: a density (``weights=0.3``: uniform zeros) or ``"N:M"``."""
        problems = Problems(f"layer {self.name!r}")
        changes: dict[str, tuple[float, str]] = {}
        for name, p in patterns.items():
            if name not in OPERANDS:
                problems.add(f"sparsity.{name}", p, f"expected an operand name ({', '.join(OPERANDS)})")
            elif isinstance(p, str):
                n, colon, m = p.partition(":")
                if colon and n.isdigit() and m.isdigit() and 0 < int(n) <= int(m):
                    changes[name] = (int(n) / int(m), f"{int(n)}:{int(m)}")
                else:
                    problems.add(f"sparsity.{name}", p, "expected N:M with 0 < N ≤ M, such as 2:4")
            elif isinstance(p, (int, float)) and not isinstance(p, bool) and 0.0 < p <= 1.0:
                changes[name] = (float(p), "dense" if p == 1.0 else "uniform")
            else:
                problems.add(f"sparsity.{name}", p, "expected a density in (0, 1] or an N:M pattern")
        problems.raise_if_any()
        ops = tuple(replace(o, density=changes[o.name][0], structure=changes[o.name][1]) if o.name in changes else o
                    for o in self.operands)  # fmt: skip
        return Layer(self.name, self.kind, self.bounds, ops, self.padding, self.stride, self.dilation)

    def with_bits(self, **bits: int) -> Layer:
        """A copy with some operands' precision changed, e.g. ``layer.with_bits(weights=4)``.

        Changing ``inputs`` also changes the outputs' final precision (activations in, activations out).
        """
        problems = Problems(f"layer {self.name!r}")
        for name, b in bits.items():
            if name not in OPERANDS or not isinstance(b, int) or isinstance(b, bool) or not 1 <= b <= 64:
                problems.add(f"bits.{name}", b, "expected an operand name with a precision of 1 to 64 bits")
        problems.raise_if_any()
        if "inputs" in bits and "outputs" not in bits:
            bits = {**bits, "outputs": bits["inputs"]}
        ops = tuple(replace(o, bits=bits.get(o.name, o.bits)) for o in self.operands)
        return Layer(self.name, self.kind, self.bounds, ops, self.padding, self.stride, self.dilation)

    def input_extents(self, axis: int) -> range:
        """The input sizes along ``axis`` (0: H, 1: W) that give this convolution its output size, PyTorch's floor:
        from the smallest to ``stride - 1`` more."""
        d = self.dims
        out, k = (d["P"], d["R"]) if axis == 0 else (d["Q"], d["S"])
        smallest = (out - 1) * self.stride[axis] + self.dilation[axis] * (k - 1) + 1 - 2 * self.padding[axis]
        return range(max(smallest, 1), smallest + self.stride[axis])

    def __repr__(self) -> str:
        shape = " ".join(f"{d}={n}" for d, n in self.bounds if n != 1)
        return f"Layer({self.name!r}, {self.kind}, {shape}, macs={self.macs})"


def _make(
    name: str,
    kind: str,
    *,
    N: int = 1,
    G: int = 1,
    K: int = 1,
    C: int = 1,
    P: int = 1,
    Q: int = 1,
    R: int = 1,
    S: int = 1,
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    weight_bits: int = 8,
    input_bits: int = 8,
    psum_bits: int = 24,
) -> Layer:
    bounds = (("N", N), ("G", G), ("K", K), ("C", C), ("P", P), ("Q", Q), ("R", R), ("S", S))
    checked = {**dict(bounds), "stride_h": stride[0], "stride_w": stride[1], "dilation_h": dilation[0], "dilation_w": dilation[1],
               "weight_bits": weight_bits, "input_bits": input_bits, "psum_bits": psum_bits}  # fmt: skip
    problems = Problems(f"layer {name!r}")
    for key, v in checked.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            problems.add(key, v, "expected a positive integer")
    problems.raise_if_any()
    (sh, sw), (dh, dw) = stride, dilation
    operands = (
        Operand("weights", ((("G", 1),), (("K", 1),), (("C", 1),), (("R", 1),), (("S", 1),)), weight_bits),
        Operand("inputs", ((("N", 1),), (("G", 1),), (("C", 1),), (("P", sh), ("R", dh)), (("Q", sw), ("S", dw))), input_bits),
        Operand("outputs", ((("N", 1),), (("G", 1),), (("K", 1),), (("P", 1),), (("Q", 1),)), input_bits,
                is_output=True, psum_bits=psum_bits),
    )
    return Layer(name, kind, bounds, operands, padding, stride, dilation)


def _out_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def conv2d(
    name: str,
    *,
    in_channels: int,
    out_channels: int,
    in_hw: tuple[int, int] | int,
    kernel: tuple[int, int] | int,
    stride: tuple[int, int] | int = 1,
    padding: tuple[int, int] | int = 0,
    dilation: tuple[int, int] | int = 1,
    groups: int = 1,
    batch: int = 1,
    weight_bits: int = 8,
    input_bits: int = 8,
    psum_bits: int = 24,
) -> Layer:
    """A 2-D convolution in PyTorch's terms (output size computed as ``nn.Conv2d`` does)."""
    H, W = _pair(in_hw)
    R, S = _pair(kernel)
    st, pad, dil = _pair(stride), _pair(padding), _pair(dilation)
    problems = Problems(f"layer {name!r}")
    if groups < 1 or in_channels % groups or out_channels % groups:
        problems.add("groups", groups, f"expected a positive divisor of in_channels={in_channels} and out_channels={out_channels}")
    P = _out_size(H, R, st[0], pad[0], dil[0])
    Q = _out_size(W, S, st[1], pad[1], dil[1])
    if P < 1 or Q < 1:
        problems.add("in_hw", (H, W), f"expected an input at least as large as the dilated kernel {(R, S)} after padding {pad}")
    problems.raise_if_any()
    kind = "depthwise" if groups == in_channels == out_channels and groups > 1 else "conv2d"
    return _make(
        name, kind, N=batch, G=groups, K=out_channels // groups, C=in_channels // groups,
        P=P, Q=Q, R=R, S=S, stride=st, dilation=dil, padding=pad,
        weight_bits=weight_bits, input_bits=input_bits, psum_bits=psum_bits,
    )  # fmt: skip


def depthwise_conv2d(name: str, *, channels: int, **kw: object) -> Layer:
    """A depthwise convolution: groups = channels, one filter per channel."""
    return conv2d(name, in_channels=channels, out_channels=channels, groups=channels, **kw)  # type: ignore[arg-type]


def fully_connected(
    name: str, *, in_features: int, out_features: int, batch: int = 1,
    weight_bits: int = 8, input_bits: int = 8, psum_bits: int = 24,
) -> Layer:  # fmt: skip
    """``y[N, K] = x[N, C] · W[K, C]``."""
    return _make(
        name, "fc", N=batch, K=out_features, C=in_features,
        weight_bits=weight_bits, input_bits=input_bits, psum_bits=psum_bits,
    )  # fmt: skip


def gemm(
    name: str, *, M: int, N: int, K: int,
    weight_bits: int = 8, input_bits: int = 8, psum_bits: int = 24,
) -> Layer:  # fmt: skip
    """``C[M, N] += A[M, K] · B[K, N]``: A is the inputs (rows on P), B the weights."""
    return _make(
        name, "gemm", P=M, K=N, C=K,
        weight_bits=weight_bits, input_bits=input_bits, psum_bits=psum_bits,
    )  # fmt: skip


def batched_matmul(
    name: str, *, batch: int, M: int, N: int, K: int,
    weight_bits: int = 8, input_bits: int = 8, psum_bits: int = 24,
) -> Layer:  # fmt: skip
    """``C[b, M, N] += A[b, M, K] · B[b, K, N]`` with the batch (e.g. attention heads) on G."""
    return _make(
        name, "matmul", G=batch, P=M, K=N, C=K,
        weight_bits=weight_bits, input_bits=input_bits, psum_bits=psum_bits,
    )  # fmt: skip


def _pair(v: tuple[int, int] | int) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    a, b = v
    return (int(a), int(b))


@dataclass(frozen=True)
class TensorOp:
    """A non-MAC operation (pooling, elementwise add, activation, softmax, norm...).

    Costed by its memory traffic (inputs read, outputs written) and ``ops`` element
    operations on the array's ALUs. ``kind`` is descriptive.
    """

    name: str
    kind: str
    input_elements: int
    output_elements: int
    ops: int
    bits: int = 8

    @property
    def macs(self) -> int:
        return 0

    @property
    def input_bytes(self) -> float:
        return self.input_elements * self.bits / 8

    @property
    def output_bytes(self) -> float:
        return self.output_elements * self.bits / 8


@dataclass(frozen=True)
class StateOp(TensorOp):
    """State a streaming (continual) layer keeps between steps: a ring buffer of partial sums,
    a delay buffer on a residual path, or a pooling window.

    ``state_elements`` persist across steps; each step reads ``input_elements`` and writes
    ``output_elements`` of them. Where the state lives (on chip or in DRAM) is decided when the
    network is costed (:func:`hwsim.evaluate.evaluate_network`).
    """

    state_elements: int = 0
    delay_steps: int = 0  # steps this layer delays the stream (k_t − 1 − p_t for a continual conv)


Op = Layer | TensorOp


@dataclass
class Network:
    """A DAG of layers and tensor ops (a ``networkx.DiGraph``; node attribute ``op``).

    Edges carry ``size_bytes`` of the tensor passed. Build with :meth:`add`, which
    links the new node to the given predecessors (the previous node by default).
    """

    name: str
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    _last: str | None = None

    def add(self, op: Op, after: str | Iterable[str] | None = "__previous__", every_steps: int = 1) -> str:
        """Add ``op`` after the given nodes. ``every_steps`` > 1: in a streaming network, the op runs once every that many
        steps (behind a temporal stride); reports give its cost per step (a share of one run)."""
        if op.name in self.graph:
            raise ValueError(f"network {self.name!r} already has a node named {op.name!r}")
        if not isinstance(every_steps, int) or isinstance(every_steps, bool) or every_steps < 1:
            raise ValueError(f"every_steps of {op.name!r} must be a positive integer, not {every_steps!r}")
        self.graph.add_node(op.name, op=op, every_steps=every_steps)
        if after == "__previous__":
            after = [self._last] if self._last else []
        for p in [after] if isinstance(after, str) else list(after or []):
            src = self.graph.nodes[p]["op"]
            self.graph.add_edge(p, op.name, size_bytes=output_bytes(src))
        self._last = op.name
        return op.name

    @property
    def last(self) -> str | None:
        return self._last

    def ops(self) -> Iterator[Op]:
        """Every node's op in a topological order (stable: insertion order breaks ties)."""
        order = {n: i for i, n in enumerate(self.graph.nodes)}
        for n in nx.lexicographical_topological_sort(self.graph, key=order.__getitem__):
            yield self.graph.nodes[n]["op"]

    def layers(self) -> list[Layer]:
        return [op for op in self.ops() if isinstance(op, Layer)]

    @property
    def macs(self) -> int:
        """MACs of one run of every layer (per step for a streaming network without temporal strides)."""
        return sum(layer.macs for layer in self.layers())

    def every_steps(self, name: str) -> int:
        """How many steps apart the node runs (1 unless it sits behind a temporal stride of a streaming network)."""
        return int(self.graph.nodes[name].get("every_steps", 1))

    @property
    def macs_per_step(self) -> float:
        """MACs per step on average: each layer's MACs over how many steps apart it runs."""
        return sum(layer.macs / self.every_steps(layer.name) for layer in self.layers())

    @property
    def weight_count(self) -> int:
        return sum(layer.weight_count for layer in self.layers())

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def _with_layers(self, change: Callable[[Layer], Layer]) -> Network:
        """A copy with ``change`` applied to every MAC layer."""
        g = self.graph.copy()
        for _, data in g.nodes(data=True):
            if isinstance(data["op"], Layer):
                data["op"] = change(data["op"])
        return Network(self.name, g, self._last)

    def with_sparsity(self, **patterns: float | str) -> Network:
        """A copy with every MAC layer's operands made sparse (see :meth:`Layer.with_sparsity`)."""
        return self._with_layers(lambda layer: layer.with_sparsity(**patterns))

    def with_number(self, number: str) -> Network:
        """A copy with every MAC layer's weights and inputs ``int`` or ``fp``."""
        return self._with_layers(lambda layer: layer.with_number(number))

    def with_tensors(self, tensors: Mapping[str, object]) -> Network:
        """A copy whose layers take their weight sparsity from real tensors (layer name → array).

        The density and structure (N:M when every group holds the same count) are measured
        from the data; layers without an entry stay as they are.
        """
        import numpy as np

        g = self.graph.copy()
        for name, data in g.nodes(data=True):
            if isinstance(data["op"], Layer) and name in tensors:
                density, structure = density_of(np.asarray(tensors[name]))
                if density < 1.0:
                    data["op"] = data["op"].with_sparsity(weights=structure if ":" in structure else density)
        return Network(self.name, g, self._last)

    def with_bits(
        self, weights: int | None = None, inputs: int | None = None, per_layer: Mapping[str, tuple[int, int]] | None = None
    ) -> Network:
        """A copy with every MAC layer's weight/input precision set (``per_layer``: name → (w, a) wins).

        Non-MAC ops (pooling, adds, norms, activation state) move the activations their producers
        write, so they follow them: an op whose width is that of the activations it reads takes its
        producers' new output width (the widest, when they differ); an op with no producer takes
        ``inputs`` when given. An op wider than the activations it reads (the partial-sum ring
        buffer of a continual conv, at the accumulator width) keeps its width, as the layers keep
        their partial-sum precision. Edge sizes follow the new widths.
        """
        g = self.graph.copy()
        order = {n: i for i, n in enumerate(g.nodes)}
        old_out: dict[str, int] = {}  # node → width of the activations it writes, before and after
        new_out: dict[str, int] = {}
        for name in nx.lexicographical_topological_sort(g, key=order.__getitem__):
            data = g.nodes[name]
            op = data["op"]
            preds = list(g.predecessors(name))
            if isinstance(op, Layer):
                old_out[name] = op.operand("outputs").bits
                wb, ab = (per_layer or {}).get(name, (weights or op.operand("weights").bits, inputs or op.operand("inputs").bits))
                data["op"] = op = op.with_bits(weights=wb, inputs=ab)
                new_out[name] = op.operand("outputs").bits
                continue
            old_out[name] = op.bits
            if preds and op.bits in {old_out[p] for p in preds}:
                bits = max(new_out[p] for p in preds if old_out[p] == op.bits)
            elif not preds and inputs is not None:
                bits = inputs
            else:
                bits = op.bits  # wider than its producers' activations: partial sums, kept
            if bits != op.bits:
                data["op"] = op = replace(op, bits=bits)
            new_out[name] = op.bits
        for u, v in g.edges:
            g.edges[u, v]["size_bytes"] = output_bytes(g.nodes[u]["op"])
        return Network(self.name, g, self._last)


def output_bytes(op: Op) -> float:
    """Bytes of the tensor ``op`` writes (a layer's outputs at their final width): the size of its out-edges."""
    if isinstance(op, Layer):
        out = op.operand("outputs")
        return out.size(op.dims) * out.bits / 8
    return op.output_bytes
