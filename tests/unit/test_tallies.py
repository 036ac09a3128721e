"""The tallies the dashboard reads (schema v3) always equal counting the rows: after every kind of
change the queue and the workers make, and after migrating a store written before them."""

from __future__ import annotations

import numpy as np
import sqlite_utils

from store import embeddings, experiments, jobs, open_store, real, workers
from store.schema import MIGRATIONS

CLASSES = [("fox", "fox"), ("owl", "owl"), ("elk", "elk")]
TEMPLATES = ["a {}", "a photo of a {}"]


def counted(st, e) -> dict:
    """Every tally recomputed from the rows themselves."""
    out = {}
    for cid, state, n in st.conn.execute(
            "select class_id, state, count(*) from jobs where experiment_id = ? group by 1, 2", [e]):
        out[(cid, f"job:{state}")] = n
    for cid, n in st.conn.execute("select class_id, count(*) from images where experiment_id = ? group by 1", [e]):
        out[(cid, "images")] = n
    for kind, table in (("image", "images"), ("real", "real_images"), ("text", "prompts")):
        for cid, model, n in st.conn.execute(
                f"select t.class_id, e.model, count(*) from embeddings e join {table} t on t.id = e.item_id"
                " where e.kind = ? and t.experiment_id = ? group by 1, 2", [kind, e]):
            out[(cid, f"emb:{kind}:{model}")] = n
    return out


def tallied(st, e) -> dict:
    return {(cid, what): n for cid, what, n in st.conn.execute(
        "select class_id, what, n from tallies where experiment_id = ? and n != 0", [e])}


def plan(st, name="x", seeds=5) -> int:
    e = experiments.ensure(st, name, {"name": name}, {"generation": {}})
    experiments.register_plan(st, e, CLASSES, TEMPLATES,
                              [(c, t, t.replace("{}", c)) for c, _ in CLASSES for t in TEMPLATES],
                              [(c, t, s) for c, _ in CLASSES for t in TEMPLATES for s in range(seeds)])
    return e


def image_row(e, job) -> dict:
    return {"experiment_id": e, "class_id": job["class_id"], "template_id": job["template_id"],
            "prompt_id": job["prompt_id"], "class_name": job["class_name"], "template": job["template"],
            "prompt": job["prompt"], "seed": job["seed"], "path": f"images/{e}-{job['id']}.png", "sha256": "x",
            "width": 8, "height": 8, "model_id": "m", "steps": 1, "guidance": 1.0}


def test_tallies_follow_every_change(tmp_path):
    with open_store(tmp_path, create=True) as st:
        e, other = plan(st), plan(st, "other", seeds=2)
        assert tallied(st, e) == counted(st, e)
        w = workers.register(st, e, "generation")
        batch = jobs.claim(st, e, w, 12)
        for job in batch[:8]:
            assert jobs.finish(st, job["id"], image_row(e, job))
        assert not jobs.finish(st, batch[0]["id"], image_row(e, batch[0]))  # twice: ignored, not counted
        for _ in range(3):
            jobs.fail(st, batch[8]["id"], "boom")  # pending, pending, failed
        jobs.release(st, w)
        assert tallied(st, e) == counted(st, e)
        jobs.retry_failed(st, e)
        ids = [r[0] for r in st.conn.execute("select id from images where experiment_id = ?", [e])]
        assert embeddings.add(st, "image", ids, "clip", np.ones((len(ids), 4))) == len(ids)
        assert embeddings.add(st, "image", ids[:3], "clip", np.ones((3, 4))) == 0  # already there
        embeddings.add(st, "image", ids[:2], "other-model", np.ones((2, 4)))
        prompts = [r[0] for r in st.conn.execute("select id from prompts where experiment_id = ?", [e])]
        embeddings.add(st, "text", prompts, "clip", np.ones((len(prompts), 4)))
        real.add(st, e, "s", [{"class": "owl", "path": f"r{i}.png", "sha256": "x", "width": 8, "height": 8,
                               "split": "test"} for i in range(4)])
        real_ids = [r[0] for r in st.conn.execute("select id from real_images")]
        embeddings.add(st, "real", real_ids, "clip", np.ones((4, 4)))
        jobs.cancel_pending(st, e, class_id=batch[0]["class_id"])
        assert tallied(st, e) == counted(st, e)
        jobs.cancel_pending(st, e)
        st.db.execute("delete from embeddings where kind = 'image' and item_id = ?", [ids[0]])
        assert tallied(st, e) == counted(st, e) and tallied(st, other) == counted(st, other)
        assert embeddings.count(st, e, "image") == (len(ids) - 1) + 1  # both models of ids[0] went
        assert embeddings.count(st, e, "image", "clip") == len(ids) - 1
        assert jobs.counts(st, e)["done"] == 8 and sum(jobs.counts(st, other).values()) == 12


def test_a_version_2_store_gets_its_tallies_when_migrated(tmp_path):
    db = sqlite_utils.Database(tmp_path / "synthdiv.db")
    MIGRATIONS[0](db)
    MIGRATIONS[1](db)
    db.execute("pragma user_version = 2")
    db.conn.commit()
    db.close()
    import store.schema as schema

    saved = schema.MIGRATIONS[:]
    try:  # fill it with the v2 code paths (no triggers yet), then open with v3
        schema.MIGRATIONS[:] = saved[:2]
        import store.core as core

        core.SCHEMA_VERSION = 2
        with open_store(tmp_path) as st:
            e = plan(st)
            w = workers.register(st, e, "generation")
            for job in jobs.claim(st, e, w, 7):
                jobs.finish(st, job["id"], image_row(e, job))
            ids = [r[0] for r in st.conn.execute("select id from images")]
            st.conn.executemany("insert into embeddings (kind, item_id, model, dim, vector) values ('image', ?, 'clip', 1, x'00000000')",
                                [(i,) for i in ids])
            st.conn.commit()
    finally:
        schema.MIGRATIONS[:] = saved
        core.SCHEMA_VERSION = len(saved)
    with open_store(tmp_path) as st:
        assert st.schema_version() == len(saved)
        assert tallied(st, e) == counted(st, e) and jobs.counts(st, e)["done"] == 7
        assert embeddings.count(st, e, "image", "clip") == 7
