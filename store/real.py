"""Real images: the reference set synthetic images are compared against, one row per file."""

from __future__ import annotations

import time

from store.core import Store


def known_paths(store: Store, experiment_id: int, source: str) -> set[str]:
    return {r[0] for r in store.conn.execute(
        "select path from real_images where experiment_id = ? and source = ?", [experiment_id, source])}


def add(store: Store, experiment_id: int, source: str, rows: list[dict]) -> int:
    """Insert real images (``class`` label, ``path`` relative to the store or absolute, ``sha256``,
    ``width``, ``height``, ``split``); rows already there are left alone. Returns how many were new."""
    now = time.time()
    with store.immediate():
        class_ids = dict(store.conn.execute("select name, id from classes where experiment_id = ?", [experiment_id]))
        cur = store.conn.executemany(
            "insert or ignore into real_images"
            " (experiment_id, class_id, source, path, sha256, width, height, split, created_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(experiment_id, class_ids[r["class"]], source, r["path"], r["sha256"], r["width"], r["height"],
              r["split"], now) for r in rows],
        )
        return cur.rowcount  # rows this statement inserted (not those its triggers wrote)


def count(store: Store, experiment_id: int) -> int:
    """Real images that can be used (readable ones)."""
    return store.conn.execute(
        "select count(*) from real_images where experiment_id = ? and error is null", [experiment_id]).fetchone()[0]


def mark_unreadable(store: Store, real_id: int, error: str) -> None:
    """Record that a real image file cannot be read; it is skipped from then on, and counted."""
    store.db.execute("update real_images set error = ? where id = ?", [error[:500], real_id])


def unreadable(store: Store, experiment_id: int) -> list[dict]:
    return [dict(r) for r in store.conn.execute(
        "select id, path, error from real_images where experiment_id = ? and error is not null order by id",
        [experiment_id])]


def rows(store: Store, real_ids: list[int]) -> dict[int, dict]:
    """Real image rows by id (``id``, ``path``, ``split``, ``class_name``)."""
    marks = ",".join("?" * len(real_ids))
    if not real_ids:
        return {}
    return {r["id"]: dict(r) for r in store.conn.execute(
        "select r.id, r.path, r.split, c.name as class_name from real_images r join classes c on c.id = r.class_id"
        f" where r.id in ({marks})", [int(i) for i in real_ids])}
