"""The default experiment ``synthdiv`` opens on: the ten digits, drawn by the shipped mini
text-to-image model, embedded by the shipped mini CLIP and compared with the real digits.

The same experiment as ``examples/digits.toml`` (a test keeps them equal), as a config table, so
the workbench needs no file to start from; what it does not set takes its declared default
(:mod:`synthdiv.settings`). Why guidance 1.5: docs/mini-models.md.
"""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_STORE = "runs/digits"

_DEFAULT: dict[str, Any] = {
    "name": "digits",
    "classes": {"set": "digits"},
    "templates": {"custom": [
        "a photo of the digit {}",
        "a handwritten {}",
        "the number {}",
        "{}",
        "a picture of a handwritten digit {}",
    ]},
    "generation": {
        "model": "mini-digits", "guidance": 1.5, "width": 16, "height": 16, "images_per_prompt": 10,
        "batch_size": 50,
    },
    "embedding": {"model": "mini-digits", "batch_size": 256},
    "real": {"source": "digits"},
    # pixel classifiers on the images (see examples/digits.toml for why these settings)
    "train": {"runs": ["synthetic", "real", "mix-1x"], "model": "digits-cnn", "epochs": 30, "batch_size": 64,
              "lr": 0.003, "crop_scale": 0.8, "flip": False},
}


def default_experiment() -> dict[str, Any]:
    """A fresh copy of the default experiment's config table (safe to edit)."""
    return copy.deepcopy(_DEFAULT)
