"""The embedding worker's live analysis: recomputed when embeddings arrive, but never taking more
than a fifth of the worker's time, however long an analysis of a large experiment takes."""

from __future__ import annotations

import numpy as np

from store import embeddings, open_store
from tests.functional.stores import MODEL, build
from workbench import analysis


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_after_a_slow_analysis_the_worker_embeds_four_times_as_long_before_the_next(tmp_path, monkeypatch):
    e = build(tmp_path, done=12, analysed=False)
    clock, started = Clock(), []

    def compute(st, experiment_id, model):  # an analysis of a large experiment: 100 s
        started.append(clock.now)
        clock.now += 100.0
        return {"id": len(started)}

    monkeypatch.setattr(analysis, "compute", compute)
    with open_store(tmp_path) as st:
        live = analysis.LiveAnalysis(st, e, MODEL, every_s=15.0, clock=clock)
        embed_one_more = arriving(st, e, 6)

        assert live.maybe() is True  # first look: computes at once
        assert live.wait_s() == 500.0  # 100 s analysing, then at least 400 s embedding
        # embeddings keep arriving; 15 s (every_s) is long past, but the last analysis took 100 s
        for _ in range(3):
            clock.now += 60.0
            embed_one_more()
            assert live.maybe() is False
        clock.now = started[0] + 499.0  # 100 s analysing + 399 s embedding: not yet
        embed_one_more()
        assert live.maybe() is False
        clock.now = started[0] + 500.0  # an analysis is a fifth of the worker's time
        assert live.maybe() is True
        assert len(started) == 2
        # nothing new: no analysis however long one waits; the end of the run forces one when new
        clock.now += 10_000.0
        assert live.maybe() is False
        embed_one_more()
        assert live.maybe(force=True) is True


def test_a_fast_analysis_refreshes_every_interval(tmp_path, monkeypatch):
    e = build(tmp_path, done=12, analysed=False)
    clock = Clock()
    monkeypatch.setattr(analysis, "compute", lambda st, x, m: (setattr(clock, "now", clock.now + 0.5), {})[1])
    with open_store(tmp_path) as st:
        live = analysis.LiveAnalysis(st, e, MODEL, every_s=15.0, clock=clock)
        embed_one_more = arriving(st, e, 1)
        assert live.maybe() is True
        assert live.wait_s() == 15.0
        embed_one_more()
        clock.now += 14.0
        assert live.maybe() is False
        clock.now += 1.0
        assert live.maybe() is True


def arriving(st, e: int, n: int):
    """Take the embeddings of the last ``n`` images away; the function returned embeds them again,
    one a call, as the worker would when they arrive."""
    ids = [r[0] for r in st.conn.execute("select id from images order by id desc limit ?", [n])]
    with st.immediate():
        st.conn.executemany("delete from embeddings where kind = 'image' and item_id = ?", [(i,) for i in ids])
    todo = iter(ids)

    def embed_one_more() -> None:
        assert embeddings.add(st, "image", [next(todo)], MODEL, np.ones((1, 8), np.float32)) == 1

    return embed_one_more
