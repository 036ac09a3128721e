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
_LAST_ID = 2**63 - 1  # SQLite's largest rowid


def add(store: Store, kind: str, item_ids: list[int], model: str, vectors: np.ndarray) -> int:
    """Store one vector per item (float32); return how many were new."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(item_ids):
        raise ValueError("need one row vector per item")
    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}")
    return insert(store, kind, item_ids, model, vectors)


def insert(store: Store, kind: str, item_ids: list[int], model: str, vectors: np.ndarray) -> int:
    """:func:`add` for any ``kind`` (the open-set vocabulary's ``vocab`` too: :mod:`store.vocabulary`)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    now, dim = time.time(), int(vectors.shape[1])
    with store.immediate():
        cur = store.conn.executemany(
            "insert or ignore into embeddings (kind, item_id, model, dim, vector, created_at)"
            " values (?, ?, ?, ?, ?, ?)",
            [(kind, int(i), model, dim, v.tobytes(), now) for i, v in zip(item_ids, vectors, strict=True)],
        )
        return cur.rowcount  # rows this statement inserted (not those its triggers wrote)


def missing(store: Store, experiment_id: int, kind: str, model: str, limit: int | None = None,
            after: int = 0, upto: int | None = None, share: tuple[int, int] = (0, 1)) -> list[dict]:
    """Items of the experiment with no ``model`` embedding yet, oldest first; only ids above
    ``after`` (and up to ``upto``, when given). ``share`` ``(i, n)``: only the items whose id
    is i modulo n — the part of embedding worker i of n, so several never embed the same item.

    Rows have ``id`` and, for images, ``path``; for text, ``text``. The search is a range on the
    rowid: it reads the rows from ``after`` on, so a poller that passes how far it has looked
    (:class:`Unembedded`) pays for what arrived since, not for what is already embedded.
    """
    table = KINDS[kind]
    what = "t.id, t.text" if kind == "text" else "t.id, t.path"
    readable = " and t.error is null" if kind == "real" else ""
    # "+t.experiment_id": keep the planner on the rowid range; an index on experiment_id would
    # read every row of the experiment and sort them
    sql = (
        f"select {what} from {table} t where +t.experiment_id = ? and t.id > ? and t.id <= ?{readable}"
        f"{' and t.id % ? = ?' if share[1] > 1 else ''}"
        " and not exists (select 1 from embeddings e where e.kind = ? and e.model = ? and e.item_id = t.id)"
        " order by t.id"
    )
    args: list = [experiment_id, int(after), _LAST_ID if upto is None else int(upto),
                  *((share[1], share[0]) if share[1] > 1 else ()), kind, model]
    if limit is not None:
        sql += " limit ?"
        args.append(int(limit))
    return [dict(r) for r in store.conn.execute(sql, args)]


class Unembedded:
    """The items of one kind an embedding worker still has to embed, found by polling: each
    :meth:`next` looks only past the last id the previous one looked at.

    Nothing is skipped: ids only grow (rows are never deleted, and SQLite lets one writer in at a
    time, so a row with a smaller id is committed before any row with a larger one), and a look
    that comes back short has seen every row up to the largest id read before it, so the next one
    starts there. The first look of a worker reads from the first row; later ones cost what
    arrived since, however much is already embedded.
    """

    def __init__(self, store: Store, experiment_id: int, kind: str, model: str, share: tuple[int, int] = (0, 1)):
        if kind not in KINDS:
            raise ValueError(f"unknown embedding kind {kind!r}")
        self.store, self.experiment_id, self.kind, self.model = store, experiment_id, kind, model
        self.share = share  # (i, n): this poller's part of the items (store.embeddings.missing)
        self.after = 0  # every item up to this id has been looked at

    def next(self, limit: int | None = None) -> list[dict]:
        """The next items with no embedding (at most ``limit``), as :func:`missing` gives them."""
        top = self.store.conn.execute(f"select max(id) from {KINDS[self.kind]}").fetchone()[0] or 0
        rows = missing(self.store, self.experiment_id, self.kind, self.model, limit, self.after, top, self.share)
        full = limit is not None and len(rows) == limit
        self.after = rows[-1]["id"] if full else top
        return rows


ITEM_COLUMNS = {"image": ("class_id", "prompt_id", "template"), "real": ("class_id", "split"), "text": ("class_id",)}


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


def models(store: Store, experiment_id: int, kind: str = "image") -> dict[str, int]:
    """The models the experiment has ``kind`` embeddings from: name → how many (from the tallies)."""
    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}")
    prefix = f"emb:{kind}:"
    return {what[len(prefix):]: n for what, n in tallies.by_what(store, experiment_id, prefix).items() if n}


def vectors(store: Store, kind: str, item_ids: list[int], model: str) -> dict[int, np.ndarray]:
    """The ``kind`` embeddings of the given items from ``model``: item id → vector (items with
    no embedding yet are absent)."""
    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}")
    return by_item(store, kind, item_ids, model)


def by_item(store: Store, kind: str, item_ids: list[int], model: str) -> dict[int, np.ndarray]:
    """:func:`vectors` for any ``kind`` (the open-set vocabulary's ``vocab`` too)."""
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(item_ids), 500):
        chunk = [int(i) for i in item_ids[start:start + 500]]
        marks = ",".join("?" * len(chunk))
        for item, dim, blob in store.conn.execute(
                f"select item_id, dim, vector from embeddings where kind = ? and model = ? and item_id in ({marks})",
                [kind, model, *chunk]):
            out[item] = np.frombuffer(blob, np.float32, count=dim)
    return out
