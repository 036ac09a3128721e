"""Putting an experiment's real image set into its store.

The bundled digits are written into the store as PNG files (``real/digits/...``); a folder source
is recorded where it lies (absolute paths). Each image gets a split: ``train`` images may train
the real→real probe, ``test`` images are only ever evaluated on.
"""

from __future__ import annotations

import hashlib

from store import real
from store.core import Store
from synthdiv import digits
from synthdiv.real import folder_items, read_mapping
from workbench.config import ExperimentConfig
from workbench.generation import png_bytes, write_atomic

REAL_DIR = "real"


def _digit_rows(st: Store, cfg: ExperimentConfig, known: set[str]) -> list[dict]:
    chosen = {label for label, _ in cfg.classes}
    data = digits.split()
    sets = [("test", data.test_x, data.test_y, data.test_index)]
    if cfg.real == "digits":
        sets.append(("train", data.train_x, data.train_y, data.train_index))
    rows = []
    for split, xs, ys, idx in sets:
        todo = [k for k, (i, y) in enumerate(zip(idx, ys, strict=True))
                if digits.class_name(y) in chosen
                and f"{REAL_DIR}/digits/{split}/{digits.class_name(y)}/{i:04d}.png" not in known]
        if not todo:
            continue
        for k, pixels in zip(todo, digits.upsample(xs[todo]), strict=True):
            name, index = digits.class_name(ys[k]), int(idx[k])
            rel = f"{REAL_DIR}/digits/{split}/{name}/{index:04d}.png"
            data_png = png_bytes(digits.to_pil(pixels), {"synthdiv:source": "sklearn load_digits",
                                                          "synthdiv:index": index, "synthdiv:class": name})
            write_atomic(st.root / rel, data_png)
            rows.append({"class": name, "path": rel, "sha256": hashlib.sha256(data_png).hexdigest(),
                         "width": 16, "height": 16, "split": split})
    return rows


def register_real(st: Store, experiment_id: int, cfg: ExperimentConfig) -> int:
    """Record the experiment's real images that are not in the store yet; return how many were added."""
    if not cfg.real:
        return 0
    known = real.known_paths(st, experiment_id, cfg.real)
    if cfg.real in ("digits", "digits-test"):
        rows = _digit_rows(st, cfg, known)
    else:
        labels = dict(cfg.classes)
        mapping = read_mapping(cfg.real_mapping) if cfg.real_mapping else None
        rows = [{"class": it.label, "path": it.path, "sha256": None, "width": None, "height": None, "split": it.split}
                for it in folder_items(cfg.real, labels, mapping, cfg.real_test_fraction) if it.path not in known]
    return real.add(st, experiment_id, cfg.real, rows) if rows else 0
