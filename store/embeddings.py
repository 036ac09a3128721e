"""CLIP embeddings: float32 vectors stored as blobs, with the model name and the dimension.

``kind`` says what ``item_id`` points to: ``image`` (images.id), ``real`` (real_images.id) or
``text`` (prompts.id). One row per (kind, model, item): embedding the same item twice is a no-op.
"""

from __future__ import annotations

import time

import numpy as np

from store import tallies
from store.core import Store

KINDS = {"image": "images", "real": "real_images", "text": "prompts"}


def add(store: Store, kind: str, item_ids: list[int], model: str, vectors: np.ndarray) -> int:
    """Store one vector per item (float32); return how many were new."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(item_ids):
        raise ValueError("need one row vector per item")
    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}")
    now, dim = time.time(), int(vectors.shape[1])
    with store.immediate():
        cur = store.conn.executemany(
            "insert or ignore into embeddings (kind, item_id, model, dim, vector, created_at)"
            " values (?, ?, ?, ?, ?, ?)",
            [(kind, int(i), model, dim, v.tobytes(), now) for i, v in zip(item_ids, vectors, strict=True)],
        )
        return cur.rowcount  # rows this statement inserted (not those its triggers wrote)


def missing(store: Store, experiment_id: int, kind: str, model: str, limit: int | None = None) -> list[dict]:
    """Items of the experiment with no ``model`` embedding yet, oldest first.

    Rows have ``id`` and, for images, ``path``; for text, ``text``.
    """
    table = KINDS[kind]
    what = "t.id, t.text" if kind == "text" else "t.id, t.path"
    readable = " and t.error is null" if kind == "real" else ""
    sql = (
        f"select {what} from {table} t where t.experiment_id = ?{readable} and not exists"
        " (select 1 from embeddings e where e.kind = ? and e.model = ? and e.item_id = t.id)"
        " order by t.id"
    )
    args: list = [experiment_id, kind, model]
    if limit is not None:
        sql += " limit ?"
        args.append(int(limit))
    return [dict(r) for r in store.conn.execute(sql, args)]


ITEM_COLUMNS = {"image": ("class_id", "prompt_id"), "real": ("class_id", "split"), "text": ("class_id",)}


def load(store: Store, experiment_id: int, kind: str, model: str,
         class_id: int | None = None) -> tuple[list[dict], np.ndarray]:
    """The experiment's ``kind`` embeddings from ``model`` (of one class when given), in item
    order: one row per embedding (``id`` and the item's ``ITEM_COLUMNS``) and the float32 matrix,
    (0, 0) when there are none. Unreadable real images have no embedding and so no row."""
    table = KINDS[kind]
    cols = ", ".join(f"t.{c}" for c in ITEM_COLUMNS[kind])
    sql = (f"select t.id, {cols}, e.dim, e.vector from embeddings e join {table} t on t.id = e.item_id"
           " where e.kind = ? and e.model = ? and t.experiment_id = ?")
    args: list = [kind, model, experiment_id]
    if class_id is not None:
        sql += " and t.class_id = ?"
        args.append(class_id)
    found = store.conn.execute(sql + " order by t.id", args).fetchall()
    if not found:
        return [], np.zeros((0, 0), np.float32)
    rows = [{k: r[k] for k in ("id", *ITEM_COLUMNS[kind])} for r in found]
    return rows, np.stack([np.frombuffer(r["vector"], np.float32, count=r["dim"]) for r in found])


def count(store: Store, experiment_id: int, kind: str, model: str | None = None) -> int:
    """How many ``kind`` embeddings the experiment has (from ``model``, or from any model); read
    from the tallies."""
    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}")
    if model is None:
        return tallies.total(store, experiment_id, f"emb:{kind}:%")
    return tallies.total(store, experiment_id, f"emb:{kind}:{model}")


def vectors(store: Store, kind: str, item_ids: list[int], model: str) -> dict[int, np.ndarray]:
    """The ``kind`` embeddings of the given items from ``model``: item id → vector (items with
    no embedding yet are absent)."""
    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}")
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(item_ids), 500):
        chunk = [int(i) for i in item_ids[start:start + 500]]
        marks = ",".join("?" * len(chunk))
        for item, dim, blob in store.conn.execute(
                f"select item_id, dim, vector from embeddings where kind = ? and model = ? and item_id in ({marks})",
                [kind, model, *chunk]):
            out[item] = np.frombuffer(blob, np.float32, count=dim)
    return out
