"""What the workbench's panels read: per-class progress, throughput, metric history, cancelling,
image pages, nearest real images, and the per-template comparison (known answers)."""

from __future__ import annotations

import numpy as np
import pytest

from store import analyses, images, jobs, open_store
from synthdiv.analysis import compare_templates
from synthdiv.probe import class_text_vectors
from tests.functional.stores import CLASSES, MODEL, build
from workbench.gallery import Filter, Neighbours, page


def test_rate_is_images_per_second_inside_the_window(tmp_path):
    e = build(tmp_path, done=10, analysed=False)
    with open_store(tmp_path) as st:
        st.db.execute("update images set created_at = 100 + id * 0.5")  # one image every 0.5 s
        ids = [r[0] for r in st.conn.execute("select id from images order by id")]
        now = 100 + ids[-1] * 0.5 + 0.5  # when the next image is due
        assert images.rate(st, e, window_s=60, now=now) == pytest.approx(2.0)
        st.db.execute("update images set created_at = 500")  # a whole batch committed at once
        assert images.rate(st, e, window_s=60, now=500.01) == pytest.approx(10.0)  # not 1000 images/s
        assert images.rate(st, e, window_s=60, now=now + 3600) == 0.0  # nothing in the last minute


def test_per_class_counts_and_cancel_keeps_finished_images(tmp_path):
    e = build(tmp_path, done=10, analysed=False)
    with open_store(tmp_path) as st:
        per = jobs.per_class(st, e)
        assert [r["class"] for r in per] == [c for c, _ in CLASSES]
        assert [r["done"] for r in per] == [8, 2, 0] and all(r["total"] == 8 for r in per)
        assert jobs.cancel_pending(st, e) == 14
        assert jobs.counts(st, e) == {"pending": 0, "running": 0, "done": 10, "failed": 0}
        assert images.count(st, e) == 10


def test_history_follows_the_analyses(tmp_path):
    e = build(tmp_path, done=24)
    with open_store(tmp_path) as st:
        first = analyses.latest(st, e)["result"]["summary"][0]["diversity_ratio"]
        analyses.save(st, e, MODEL, {"synthetic": 30}, {"summary": [{"diversity_ratio": 0.5}]})
        analyses.save(st, e, MODEL, {"synthetic": 40}, {"summary": [{"diversity_ratio": None}]})
        assert analyses.history(st, e, "diversity_ratio") == [(24, pytest.approx(first)), (30, 0.5)]


def test_pages_filter_and_neighbours(tmp_path):
    e = build(tmp_path, done=24)
    with open_store(tmp_path) as st:
        total, rows = page(st, e, Filter(), 4, 4)
        assert total == 24 and len(rows) == 4
        cls = rows[0]["class_id"]
        total_c, rows_c = page(st, e, Filter(class_id=cls), 0, 100)
        assert total_c == 8 and {r["class_id"] for r in rows_c} == {cls}
        near = Neighbours(MODEL).nearest(st, e, rows[0]["id"], k=3)
        assert len(near) == 3 and all(n["class_name"] == rows[0]["class_name"] for n in near)
        assert near[0]["cosine"] >= near[1]["cosine"] >= near[2]["cosine"]


def test_compare_templates_known_answer():
    # two classes along the axes; template "a" draws class 0 as three distinct directions close to
    # its text, template "b" draws the same vector three times but closer to class 1's text.
    text = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    vectors = class_text_vectors(text, np.array([0, 1]), 2)
    a = np.array([[1.0, 0.1, 0], [1.0, -0.1, 0], [1.0, 0, 0.1]])
    b = np.array([[0.4, 1.0, 0]] * 3)
    rows = compare_templates(np.vstack([a, b]), ["a"] * 3 + ["b"] * 3, None, vectors, 0)
    assert [r["template"] for r in rows] == ["a", "b"]
    assert rows[1]["diversity"] == pytest.approx(0.0) and rows[0]["diversity"] > 0.005
    assert rows[0]["adherence"] == 1.0 and rows[1]["adherence"] == 0.0
    assert rows[0]["clip_score"] is None
    with_prompts = compare_templates(a, ["a"] * 3, np.array([[1.0, 0, 0]] * 3), vectors, 0)
    u = a / np.linalg.norm(a, axis=1, keepdims=True)
    assert with_prompts[0]["clip_score"] == pytest.approx(u[:, 0].mean(), abs=1e-6)
    assert compare_templates(a[:1], ["a"], None, vectors, 0)[0]["diversity"] is None
