"""Putting an experiment's real image set into its store, as PNG files and rows."""

from __future__ import annotations

import hashlib

from store import real
from store.core import Store
from synthdiv import digits
from workbench.config import ExperimentConfig
from workbench.generation import png_bytes, write_atomic

REAL_DIR = "real"


def register_real(st: Store, experiment_id: int, cfg: ExperimentConfig) -> int:
    """Write the experiment's real images that are not in the store yet; return how many were added."""
    if cfg.real != "digits-test":
        return 0
    chosen = {label for label, _ in cfg.classes}
    known = real.known_paths(st, experiment_id, cfg.real)
    data = digits.split()
    pending = [(i, y) for i, y in zip(data.test_index, data.test_y, strict=True)
               if digits.class_name(y) in chosen
               and f"{REAL_DIR}/{cfg.real}/{digits.class_name(y)}/{i:04d}.png" not in known]
    if not pending:
        return 0
    pos = {int(i): k for k, i in enumerate(data.test_index)}
    images = digits.upsample(data.test_x[[pos[int(i)] for i, _ in pending]])
    rows = []
    for (index, label), pixels in zip(pending, images, strict=True):
        name = digits.class_name(label)
        rel = f"{REAL_DIR}/{cfg.real}/{name}/{index:04d}.png"
        data_png = png_bytes(digits.to_pil(pixels), {"synthdiv:source": "sklearn load_digits",
                                                      "synthdiv:index": int(index), "synthdiv:class": name})
        write_atomic(st.root / rel, data_png)
        rows.append({"class": name, "path": rel, "sha256": hashlib.sha256(data_png).hexdigest(),
                     "width": 16, "height": 16})
    return real.add(st, experiment_id, cfg.real, rows)
