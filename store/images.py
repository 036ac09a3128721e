"""Generated images: where their PNG files live in the store folder, and their rows.

A PNG is written to a temporary name and renamed into place before its row is committed
(see :func:`store.jobs.finish`), so a row always has its file. A file whose row never got
written (the process died in between) is made again, byte for byte, when its job is re-run.
"""

from __future__ import annotations

import re
from store.core import IMAGES_DIR, Store


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe lower-case form of ``text``."""
    s = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return s[:limit].rstrip("-") or "x"


def relative_path(class_id: int, class_name: str, template_id: int, seed: int) -> str:
    """The image's path relative to the store folder (unique per class id, template id and seed)."""
    return f"{IMAGES_DIR}/c{class_id:04d}-{slug(class_name)}/t{template_id:04d}-s{seed}.png"


def consistency(store: Store) -> dict[str, list[str]]:
    """PNG files with no row, and rows with no PNG file, across the store (relative paths)."""
    on_disk = {
        p.relative_to(store.root).as_posix()
        for p in (store.root / IMAGES_DIR).rglob("*.png")
        if not p.name.startswith(".")
    }
    in_db = {r[0] for r in store.conn.execute("select path from images")}
    return {"files_without_rows": sorted(on_disk - in_db), "rows_without_files": sorted(in_db - on_disk)}

