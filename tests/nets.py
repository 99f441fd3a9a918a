"""Small workloads the tests share (as workload-file dicts)."""

from __future__ import annotations

TINY = {
    "name": "tiny",
    "layers": [
        {"name": "conv1", "type": "conv2d", "in_channels": 3, "out_channels": 16, "in_hw": 16, "kernel": 3, "padding": 1},
        {"name": "conv2", "type": "conv2d", "in_channels": 16, "out_channels": 32, "in_hw": 16, "kernel": 3, "padding": 1},
        {"name": "fc", "type": "fc", "in_features": 8192, "out_features": 10},
    ],
}
