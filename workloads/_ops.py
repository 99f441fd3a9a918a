"""Non-MAC tensor ops shared by the network builders, with their element-operation counts.

``kind`` uses the workload-file vocabulary (``pool``, ``add``, ``softmax``, ``norm``,
``activation``, ``elementwise``); the node name says which pool or norm it is. ``ops`` is a
rough count of ALU operations per output element, stated by each helper:

* max pool k×k: k²−1 comparisons; global average pool: one add per input, one divide per output
* residual add: one add per element (both operands are read)
* softmax: max, subtract+exp, sum, divide = 4 per element
* LayerNorm: mean, variance (2), normalize (2), scale and shift (2) = 7 per element
* LRN (Caffe, 5 channels): 5 squares/adds, scale+power, divide = 8 per element
* GELU (tanh form): 8 per element
"""

from __future__ import annotations

from hwsim.core.workload import TensorOp

SOFTMAX_OPS = 4
LAYERNORM_OPS = 7
LRN_OPS = 8
GELU_OPS = 8


def out_size(size: int, kernel: int, stride: int, pad: int = 0) -> int:
    """Output extent of a pooling window (floor mode, as PyTorch's default)."""
    return (size + 2 * pad - kernel) // stride + 1


def maxpool(name: str, channels: int, hw: int, kernel: int, stride: int, pad: int = 0) -> TensorOp:
    out = channels * out_size(hw, kernel, stride, pad) ** 2
    return TensorOp(name, "pool", channels * hw * hw, out, out * (kernel * kernel - 1))


def global_avgpool(name: str, channels: int, hw: int) -> TensorOp:
    return TensorOp(name, "pool", channels * hw * hw, channels, channels * hw * hw + channels)


def add(name: str, elements: int) -> TensorOp:
    return TensorOp(name, "add", 2 * elements, elements, elements)


def softmax(name: str, elements: int) -> TensorOp:
    return TensorOp(name, "softmax", elements, elements, SOFTMAX_OPS * elements)


def layernorm(name: str, elements: int) -> TensorOp:
    return TensorOp(name, "norm", elements, elements, LAYERNORM_OPS * elements)


def lrn(name: str, elements: int) -> TensorOp:
    return TensorOp(name, "norm", elements, elements, LRN_OPS * elements)


def gelu(name: str, elements: int) -> TensorOp:
    return TensorOp(name, "activation", elements, elements, GELU_OPS * elements)
