"""The open-set vocabulary's texts and their embeddings, and the text towers' fingerprints.

The texts (ImageNet-1k's class texts, WordNet senses: :mod:`synthdiv.senses`) are the store's, not
an experiment's: two experiments on ImageNet classes share them. Their embeddings are rows of the
``embeddings`` table of kind ``vocab`` (``item_id`` → ``vocabulary.id``); no tally counts them.

``text_towers`` records, per role (``clip``: an embedding model; ``generator``: a generation
model's text encoder) and model name, a fingerprint of the tower's weights
(:func:`synthdiv.tokenizer.text_tower_fingerprint`).
"""

from __future__ import annotations

import time

import numpy as np

from store import embeddings
from store.core import Store

KIND = "vocab"


def has_tables(store: Store) -> bool:
    """Whether the store has the vocabulary tables (a read-only open of an older store may not)."""
    return store.conn.execute("select 1 from sqlite_master where type = 'table' and name = 'vocabulary'").fetchone() is not None


def _ids(store: Store, texts: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(texts), 500):
        chunk = texts[start:start + 500]
        marks = ",".join("?" * len(chunk))
        out.update(store.conn.execute(f"select text, id from vocabulary where text in ({marks})", chunk).fetchall())
    return out


def missing(store: Store, texts: list[str], model: str) -> list[dict]:
    """Those of ``texts`` with no ``model`` embedding yet (added to the vocabulary first): rows with
    ``id`` and ``text``, in the order given."""
    texts = list(dict.fromkeys(texts))
    with store.immediate():
        store.conn.executemany("insert or ignore into vocabulary (text) values (?)", [(t,) for t in texts])
    ids = _ids(store, texts)
    have = set(_embedded(store, list(ids.values()), model))
    return [{"id": ids[t], "text": t} for t in texts if ids[t] not in have]


def _embedded(store: Store, ids: list[int], model: str) -> dict[int, np.ndarray]:
    return embeddings.by_item(store, KIND, ids, model)


def add(store: Store, item_ids: list[int], model: str, vectors: np.ndarray) -> int:
    """Store one ``model`` vector per vocabulary row; return how many were new."""
    if np.ndim(vectors) != 2 or len(vectors) != len(item_ids):
        raise ValueError("need one row vector per vocabulary text")
    return embeddings.insert(store, KIND, item_ids, model, vectors)


def vectors(store: Store, texts: list[str], model: str) -> np.ndarray | None:
    """The ``model`` embeddings of ``texts`` in their order, or None unless every one has one."""
    if not texts or not has_tables(store):
        return None
    ids = _ids(store, list(dict.fromkeys(texts)))
    if len(ids) < len(set(texts)):
        return None
    found = _embedded(store, list(ids.values()), model)
    if len(found) < len(ids):
        return None
    return np.stack([found[ids[t]] for t in texts])


def count(store: Store, texts: list[str], model: str) -> int:
    """How many of ``texts`` have a ``model`` embedding (0 on a store without the vocabulary)."""
    if not texts or not has_tables(store):
        return 0
    return len(_embedded(store, list(_ids(store, list(dict.fromkeys(texts))).values()), model))


def record_tower(store: Store, role: str, model: str, fingerprint: str) -> None:
    """Record the fingerprint of ``model``'s text tower (``role``: "clip" or "generator")."""
    if not has_tables(store):
        return
    with store.immediate():
        store.conn.execute("insert into text_towers (role, model, fingerprint, recorded_at) values (?, ?, ?, ?)"
                           " on conflict (role, model) do update set fingerprint = excluded.fingerprint,"
                           " recorded_at = excluded.recorded_at", [role, model, fingerprint, time.time()])


def tower(store: Store, role: str, model: str) -> str | None:
    """The recorded fingerprint of ``model``'s text tower in ``role``, or None."""
    if not has_tables(store):
        return None
    row = store.conn.execute("select fingerprint from text_towers where role = ? and model = ?", [role, model]).fetchone()
    return row[0] if row else None
