"""What the ONNX and torch.fx importers share: turning a dataflow graph of tensors into a :class:`Network`.

Both importers walk their graph in order and, per node, either add an hwsim op (a MAC
:class:`~hwsim.core.workload.Layer` or a :class:`~hwsim.core.workload.TensorOp`) or *fold* the node, so
its output tensor stands for whatever produced its inputs. The conventions are the preset
zoo's (``workloads/cnn.py``, ``workloads/transformers.py``), so an imported network and its
preset count the same things:

* ReLU-like activations (ReLU, ReLU6/Clip, LeakyReLU, PReLU) are folded into their producer;
  BatchNorm is folded into a preceding MAC layer (inference), and otherwise a ``norm`` op.
* An elementwise op whose other operand is a constant, directly after a MAC layer, is that
  layer's bias or scale (1/√d in attention) and is folded: MAC counts include no bias adds.
* Shape and data-movement ops (reshape, transpose, flatten, concat, slice, gather, pad,
  dropout, cast...) are free: head reshapes and concatenations move no data in the model.
* Element operations per output element, as the zoo states them: pooling k²−1 (max) or k²
  (average), global average pooling one add per input and a divide per output, elementwise
  1, softmax 4, LayerNorm 7, GELU 8.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hwsim.core.workload import Layer, Network, TensorOp

SOFTMAX_OPS = 4
LAYERNORM_OPS = 7
BATCHNORM_OPS = 2
GELU_OPS = 8


def elements(shape: Sequence[int]) -> int:
    return math.prod(shape)


@dataclass
class GraphBuilder:
    """Builds a :class:`Network` while tracking, per tensor, the hwsim nodes that produced it."""

    name: str
    net: Network = field(init=False)
    producers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.net = Network(self.name)

    def preds(self, tensors: Iterable[str]) -> list[str]:
        """The hwsim nodes that produced ``tensors`` (graph inputs and constants have none)."""
        return list(dict.fromkeys(p for t in tensors for p in self.producers.get(t, ())))

    def fold(self, outputs: Iterable[str], inputs: Iterable[str]) -> None:
        """Outputs stand for the producers of the inputs (a free or folded node)."""
        preds = tuple(self.preds(inputs))
        for t in outputs:
            self.producers[t] = preds

    def add(self, op: Layer | TensorOp, outputs: Iterable[str], inputs: Iterable[str]) -> str:
        """Add ``op`` (renamed if its name is taken) after the producers of ``inputs``."""
        name = op.name
        k = 0
        while name in self.net.graph:
            k += 1
            name = f"{op.name}_{k}"
        if name != op.name:
            from dataclasses import replace

            op = replace(op, name=name)
        self.net.add(op, after=self.preds(inputs))
        for t in outputs:
            self.producers[t] = (name,)
        return name

    def is_mac_output(self, tensor: str) -> bool:
        """Whether ``tensor`` comes straight from one MAC layer (so a bias or scale folds into it)."""
        preds = self.producers.get(tensor, ())
        return len(preds) == 1 and isinstance(self.net.graph.nodes[preds[0]]["op"], Layer)


def elementwise(name: str, in_shapes: Sequence[Sequence[int]], out_shape: Sequence[int], ops_per_element: int = 1,
                kind: str = "elementwise") -> TensorOp:  # fmt: skip
    """A non-MAC op reading every given input and writing ``out_shape``."""
    out = elements(out_shape)
    return TensorOp(name, kind, sum(elements(s) for s in in_shapes), out, ops_per_element * out)


def pool(name: str, in_shape: Sequence[int], out_shape: Sequence[int], window: int, is_max: bool) -> TensorOp:
    """A pooling window of ``window`` elements per output: k²−1 comparisons or k² adds and a divide (k²−1+1)."""
    out = elements(out_shape)
    return TensorOp(name, "pool", elements(in_shape), out, out * (window - 1 if is_max else window))


def global_pool(name: str, in_shape: Sequence[int], out_shape: Sequence[int]) -> TensorOp:
    """Global average pooling: one add per input, one divide per output (as the zoo counts it)."""
    return TensorOp(name, "pool", elements(in_shape), elements(out_shape), elements(in_shape) + elements(out_shape))
