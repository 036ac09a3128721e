"""Running the analyses on a store: gather embeddings, compute (synthdiv.analysis), save.

``ensure`` reuses the newest stored analysis when the counts it was computed from are still
the store's counts, and recomputes otherwise. ``LiveAnalysis`` is what the embedding worker
calls as embeddings arrive: it recomputes at most every ``every_s`` seconds (debounced), and
only when the counts changed.
"""

from __future__ import annotations

import time

import numpy as np

from store import analyses
from store.core import Store
from synthdiv.analysis import Inputs, analyse


def counts(st: Store, experiment_id: int, model: str) -> dict:
    """The embedding counts an analysis depends on."""
    one = lambda sql: st.conn.execute(sql, [model, experiment_id]).fetchone()[0]  # noqa: E731
    return {
        "synthetic": one("select count(*) from embeddings e join images t on t.id = e.item_id"
                         " where e.kind = 'image' and e.model = ? and t.experiment_id = ?"),
        "real": one("select count(*) from embeddings e join real_images t on t.id = e.item_id"
                    " where e.kind = 'real' and e.model = ? and t.experiment_id = ?"),
        "texts": one("select count(*) from embeddings e join prompts t on t.id = e.item_id"
                     " where e.kind = 'text' and e.model = ? and t.experiment_id = ?"),
    }


def gather(st: Store, experiment_id: int, model: str) -> Inputs:
    """The experiment's embeddings from ``model``, with class indices (and real splits)."""
    classes = [r[0] for r in st.conn.execute(
        "select name from classes where experiment_id = ? order by position", [experiment_id])]
    pos = {r[0]: r[1] for r in st.conn.execute(
        "select id, position from classes where experiment_id = ?", [experiment_id])}
    order = {p: i for i, p in enumerate(sorted(pos.values()))}

    def load(sql: str):
        rows = st.conn.execute(sql, [model, experiment_id]).fetchall()
        if not rows:
            return [], np.zeros((0, 1))
        return rows, np.stack([np.frombuffer(r["vector"], np.float32, count=r["dim"]) for r in rows])

    syn_rows, syn = load(
        "select i.class_id, e.dim, e.vector, i.prompt_id from embeddings e join images i on i.id = e.item_id"
        " where e.kind = 'image' and e.model = ? and i.experiment_id = ? order by i.id")
    real_rows, real = load(
        "select r.class_id, e.dim, e.vector, r.split from embeddings e join real_images r on r.id = e.item_id"
        " where e.kind = 'real' and e.model = ? and r.experiment_id = ? and r.error is null order by r.id")
    text_rows, text = load(
        "select p.class_id, e.dim, e.vector, p.id from embeddings e join prompts p on p.id = e.item_id"
        " where e.kind = 'text' and e.model = ? and p.experiment_id = ? order by p.id")
    dim = max(x.shape[1] for x in (syn, real, text))
    real = real if len(real) else np.zeros((0, dim), np.float32)  # no real set: an empty (0, d) array
    prompt_vec = {r["id"]: text[i] for i, r in enumerate(text_rows)}
    cls = lambda rows: np.array([order[pos[r["class_id"]]] for r in rows], int)  # noqa: E731
    synthetic_prompt = (np.stack([prompt_vec[r["prompt_id"]] for r in syn_rows])
                        if syn_rows and all(r["prompt_id"] in prompt_vec for r in syn_rows) else None)
    return Inputs(classes=classes, synthetic=syn, synthetic_y=cls(syn_rows), real=real, real_y=cls(real_rows),
                  real_split=np.array([r["split"] for r in real_rows]), text=text, text_y=cls(text_rows),
                  synthetic_prompt=synthetic_prompt)


def compute(st: Store, experiment_id: int, model: str) -> dict | None:
    """Compute and save an analysis now; None when there is nothing to analyse yet."""
    c = counts(st, experiment_id, model)
    if c["synthetic"] < 2 or c["texts"] == 0:
        return None
    result = analyse(gather(st, experiment_id, model))
    analyses.save(st, experiment_id, model, c, result)
    return analyses.latest(st, experiment_id, model)


def ensure(st: Store, experiment_id: int, model: str) -> dict | None:
    """The newest analysis if it matches the store's current counts, else a fresh one."""
    stored = analyses.latest(st, experiment_id, model)
    if stored is not None and stored["counts"] == counts(st, experiment_id, model):
        return stored
    return compute(st, experiment_id, model)


class LiveAnalysis:
    """Debounced recomputation while embeddings arrive (called by the embedding worker)."""

    def __init__(self, st: Store, experiment_id: int, model: str, every_s: float = 15.0) -> None:
        self.st, self.experiment_id, self.model, self.every_s = st, experiment_id, model, every_s
        self.last_at = 0.0
        self.last_counts: dict | None = None

    def maybe(self, force: bool = False) -> bool:
        """Recompute if the counts changed and (``force`` or ``every_s`` passed); True if it did.

        An analysis that fails is reported on standard output (the worker's log) and never stops
        the embedding worker: embeddings matter more than a table that can be recomputed later.
        """
        try:
            return self._maybe(force)
        except Exception as exc:  # noqa: BLE001
            import traceback

            print(f"analysis failed (embedding goes on): {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc()
            return False

    def _maybe(self, force: bool) -> bool:
        now = time.monotonic()
        if not force and now - self.last_at < self.every_s:
            return False
        c = counts(self.st, self.experiment_id, self.model)
        if c == self.last_counts:
            return False
        self.last_at, self.last_counts = now, c
        return compute(self.st, self.experiment_id, self.model) is not None
