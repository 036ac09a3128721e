"""Putting an experiment's real image set into its store.

The source (:func:`synthdiv.real.real_source`) lists the images. One the source holds as pixels
(the bundled digits) is written into the store as a PNG file (``real/digits/...``); a file of a
folder source is recorded where it lies (absolute paths). Each image gets a split: ``train``
images may train the real→real probe and classifiers, ``test`` images are only ever evaluated on.
"""

from __future__ import annotations

import hashlib

from store import real
from store.core import Store
from synthdiv import digits
from synthdiv.real import real_source
from workbench.config import ExperimentConfig
from workbench.generation import png_bytes, write_atomic

REAL_DIR = "real"


def image_size(data: bytes) -> tuple[int | None, int | None]:
    """(width, height) from an encoded image's header; (None, None) when PIL cannot read it (the
    embedding worker then records it as unreadable, naming the file)."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Exception:  # noqa: BLE001 - a broken image is reported where it is read
        return None, None


def register_real(st: Store, experiment_id: int, cfg: ExperimentConfig) -> int:
    """Record the experiment's real images that are not in the store yet; return how many were added."""
    source = real_source(cfg.real, cfg.real_mapping, cfg.real_test_fraction, split=cfg.real_split,
                         label_column=cfg.real_label_column)
    if source is None:
        return 0
    known = real.known_paths(st, experiment_id, cfg.real)
    rows = []
    for it in source.items(dict(cfg.classes)):
        if it.pixels is None and it.load is None:
            if it.path not in known:
                rows.append({"class": it.label, "path": it.path, "sha256": None, "width": None, "height": None,
                             "split": it.split})
            continue
        rel = f"{REAL_DIR}/{it.name}"
        if rel in known:
            continue
        if it.load is not None:  # a dataset's encoded image: its bytes as they are, never re-encoded
            data = it.load()
            write_atomic(st.root / rel, data)
            w, h = image_size(data)
        else:
            data = png_bytes(digits.to_pil(it.pixels), it.meta)
            write_atomic(st.root / rel, data)
            h, w = it.pixels.shape[:2]
        rows.append({"class": it.label, "path": rel, "sha256": hashlib.sha256(data).hexdigest(),
                     "width": w, "height": h, "split": it.split})
    return real.add(st, experiment_id, cfg.real, rows) if rows else 0
