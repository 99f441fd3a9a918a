"""The network preset zoo: builders for well-known DNNs at batch 1 with int8 weights and activations.

``PRESETS`` maps a lower-case hyphenated name to a builder; :func:`load_preset` also accepts
underscores (``bert_base``). ``PUBLISHED`` holds the reference MAC and parameter counts the
presets are tested against (``tests/test_zoo.py``), each with a note on what is counted.
"""

from __future__ import annotations

from collections.abc import Callable

from hwsim.core.workload import Network

from .cnn import alexnet, mobilenetv2, resnet18, resnet50, vgg16
from .continual import cox3d_m, cox3d_s, x3d_m, x3d_s
from .oadtr import cooadtr_b1, cooadtr_b2, oadtr_b1, oadtr_b2
from .skeleton import cost_gcn, cost_gcn_strided, st_gcn
from .slow import coslow_8x8, slow_8x8
from .transformers import bert_base, vit_b16

__all__ = ["PRESETS", "PUBLISHED", "load_preset", "parameter_count"]

PRESETS: dict[str, Callable[[], Network]] = {
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenetv2": mobilenetv2,
    "bert-base": bert_base,
    "vit-b16": vit_b16,
    "x3d-s": x3d_s,
    "cox3d-s": cox3d_s,
    "x3d-m": x3d_m,
    "cox3d-m": cox3d_m,
    "slow-8x8": slow_8x8,
    "coslow-8x8": coslow_8x8,
    "st-gcn": st_gcn,
    "cost-gcn": cost_gcn,
    "cost-gcn-strided": cost_gcn_strided,
    "oadtr-b1": oadtr_b1,
    "oadtr-b2": oadtr_b2,
    "cooadtr-b1": cooadtr_b1,
    "cooadtr-b2": cooadtr_b2,
}

_CNN_NOTE = "MACs of conv+fc layers (no bias, pooling or BN); params incl. biases and BN affines, "
PUBLISHED: dict[str, dict] = {
    "alexnet": {"macs": 0.72e9, "params": 61e6,
                "note": _CNN_NOTE + "227×227, Caffe AlexNet with groups=2 on conv2/4/5"},
    "vgg16": {"macs": 15.5e9, "params": 138e6, "note": _CNN_NOTE + "224×224, configuration D"},
    "resnet18": {"macs": 1.82e9, "params": 11.7e6, "note": _CNN_NOTE + "224×224"},
    "resnet50": {"macs": 4.1e9, "params": 25.6e6, "note": _CNN_NOTE + "224×224, v1.5 (stride on the 3×3)"},
    "mobilenetv2": {"macs": 0.30e9, "params": 3.5e6, "note": _CNN_NOTE + "224×224, width 1.0"},
    "bert-base": {"macs": 11.2e9, "params": 85e6,
                  "note": "12 encoder layers at sequence 128: MACs of Q/K/V/O, FFN and both attention matmuls; "
                          "params of the encoder only (no embeddings or pooler), incl. biases and LayerNorm"},
    "vit-b16": {"macs": 17.6e9, "params": 86e6,
                "note": "224×224, 197 tokens: MACs of patch embedding, 12 encoder layers (incl. attention matmuls) "
                        "and head; params incl. biases, LayerNorm, class token and position embeddings"},
    "x3d-s": {"macs": 1.96e9, "params": 3.76e6,
              "note": "one clip of 13×160×160 (Feichtenhofer 2020): MACs of 3-D convs, SE and fc layers; params incl. BN"},
    "x3d-m": {"macs": 6.2e9, "params": 3.8e6,
              "note": "one clip of 16×256×256 (Feichtenhofer 2020, inference size): MACs of 3-D convs, SE and fc layers; params incl. BN"},
    "slow-8x8": {"macs": 54.52e9, "params": 32.45e6,
                 "note": "Slow-8×8-R50 on one clip of 8×256×256 (PySlowFast model zoo: 54.52 GFLOPs = multiply-adds, 32.45M params): "
                         "MACs of 3-D convs and the fc layer; params incl. BN"},
}  # fmt: skip


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "").replace("-", "")


def load_preset(name: str) -> Network:
    """Build a preset by name; ``bert_base``, ``BERT-base`` and ``vit_b16`` spellings are accepted."""
    known = {_key(k): k for k in PRESETS}
    key = known.get(_key(name))
    if key is None:
        raise KeyError(f"unknown network preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[key]()


def parameter_count(net: Network) -> int:
    """Trained weights of a network's MAC layers (no biases, norms or embedding tables).

    ``Network.weight_count`` also counts the second operand of batched matmuls, which in
    attention is an activation (Kᵀ or V), so those layers (``kind == 'matmul'``) are skipped.
    """
    return sum(layer.weight_count for layer in net.layers() if layer.kind != "matmul")
