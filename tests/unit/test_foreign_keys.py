"""The worker references are foreign keys (schema v10): declared for new stores, added to old ones
by a migration that keeps every row, index and trigger, and enforced from then on."""

import sqlite3

import numpy as np
import pytest

import store.core as core
import store.schema as schema
from store import embeddings, experiments, jobs, open_store, training, workers

CLASSES = [("fox", "fox"), ("owl", "owl")]
TEMPLATES = ["a {}", "a photo of a {}"]
REFERENCES = {("jobs", "worker_id"), ("images", "worker_id"), ("train_runs", "worker_id"), ("workers", "parent_id")}


def plan(st) -> int:
    e = experiments.ensure(st, "x", {"name": "x"}, {"generation": {}})
    experiments.register_plan(st, e, CLASSES, TEMPLATES,
                              [(c, t, t.replace("{}", c)) for c, _ in CLASSES for t in TEMPLATES],
                              [(c, t, s) for c, _ in CLASSES for t in TEMPLATES for s in range(4)])
    return e


def image_row(e, job, worker) -> dict:
    return {"experiment_id": e, "class_id": job["class_id"], "template_id": job["template_id"],
            "prompt_id": job["prompt_id"], "class_name": job["class_name"], "template": job["template"],
            "prompt": job["prompt"], "seed": job["seed"], "path": f"images/{job['id']}.png", "sha256": "x",
            "width": 8, "height": 8, "model_id": "m", "steps": 1, "guidance": 1.0, "worker_id": worker}


def declared(st) -> set:
    return {(t, r["from"]) for t in ("jobs", "images", "train_runs", "workers")
            for r in st.conn.execute(f"pragma foreign_key_list({t})") if r["table"] == "workers"}


def schema_of(st, kind) -> dict:
    return {r["name"]: r["sql"] for r in st.conn.execute(
        "select name, sql from sqlite_master where type = ? and sql is not null", [kind])}


def rows(st, table, columns=None) -> list:
    """Every row of ``table`` (its ``columns``, else all), in rowid order."""
    chosen = ", ".join(columns) if columns else "*"
    return [tuple(r) for r in st.conn.execute(f"select {chosen} from {table} order by rowid")]


def columns_of(st, table) -> list[str]:
    return [r["name"] for r in st.conn.execute(f"pragma table_info({table})")]


def tallies(st) -> dict:
    return {(c, w): n for c, w, n in st.conn.execute("select class_id, what, n from tallies where n != 0")}


def counted(st) -> dict:
    out = {(c, f"job:{s}"): n for c, s, n in st.conn.execute("select class_id, state, count(*) from jobs group by 1, 2")}
    out.update({(c, "images"): n for c, n in st.conn.execute("select class_id, count(*) from images group by 1")})
    out.update({(c, f"emb:image:{m}"): n for c, m, n in st.conn.execute(
        "select i.class_id, e.model, count(*) from embeddings e join images i on i.id = e.item_id"
        " where e.kind = 'image' group by 1, 2")})
    return out


def test_a_new_store_declares_every_worker_reference_and_refuses_a_dangling_one(tmp_path):
    with open_store(tmp_path, create=True) as st:
        assert declared(st) == REFERENCES
        e = plan(st)
        w = workers.register(st, e, "generation")
        part = workers.register_part(st, w, "cuda:0", "node-1", 4242)
        job = jobs.claim(st, e, w, 1)[0]
        assert jobs.finish(st, job["id"], image_row(e, job, part))
        with pytest.raises(sqlite3.IntegrityError):
            st.conn.execute("update jobs set worker_id = 999 where id = ?", [job["id"]])
        with pytest.raises(sqlite3.IntegrityError):
            st.conn.execute("update workers set parent_id = 999 where id = ?", [part])


def test_a_version_9_store_gets_the_keys_and_keeps_every_row_index_and_trigger(tmp_path):
    saved = schema.MIGRATIONS[:]
    try:  # a store made and filled by the v9 code
        schema.MIGRATIONS[:] = saved[:9]
        core.SCHEMA_VERSION = 9
        with open_store(tmp_path, create=True) as st:
            e = plan(st)
            w = workers.register(st, e, "generation")
            part = workers.register_part(st, w, "cuda:0", "node-1", 4242)
            batch = jobs.claim(st, e, w, 6)
            for job in batch[:4]:
                jobs.finish(st, job["id"], image_row(e, job, part))
            ids = [r[0] for r in st.conn.execute("select id from images")]
            embeddings.add(st, "image", ids, "clip", np.ones((len(ids), 4)))
            training.plan(st, e, [("probe", {"lr": 0.1}, "k", 3)])
            training.claim(st, e, w)
            st.conn.execute("update jobs set worker_id = 77 where id = ?", [batch[5]["id"]])  # no worker 77
            assert declared(st) == set()
            tables = ("jobs", "images", "train_runs", "workers", "tallies")
            before = {t: rows(st, t) for t in tables}
            had = {t: columns_of(st, t) for t in tables}  # later migrations may add columns
            indexes, triggers = schema_of(st, "index"), schema_of(st, "trigger")
    finally:
        schema.MIGRATIONS[:] = saved
        core.SCHEMA_VERSION = len(saved)

    with open_store(tmp_path) as st:
        assert st.schema_version() == len(saved)
        assert declared(st) == REFERENCES
        assert st.conn.execute("pragma foreign_keys").fetchone()[0] == 1
        assert st.conn.execute("pragma foreign_key_check").fetchall() == []
        dangling = [i for i, r in enumerate(before["jobs"]) if r[0] == batch[5]["id"]][0]
        after = {t: rows(st, t, had[t]) for t in before}
        for table in before:
            assert len(after[table]) == len(before[table])
        worker_column = had["jobs"].index("worker_id")
        assert after["jobs"][dangling][worker_column] is None  # the reference to nothing, and only it, went
        expect = [r if i != dangling else r[:worker_column] + (None,) + r[worker_column + 1:]
                  for i, r in enumerate(before["jobs"])]
        assert after["jobs"] == expect
        assert {t: after[t] for t in after if t != "jobs"} == {t: before[t] for t in before if t != "jobs"}
        assert schema_of(st, "index") == indexes and schema_of(st, "trigger") == triggers
        assert not [t for t in st.db.table_names() if t.startswith("_new_")]
        # the tallies' triggers still fire on the tables made again
        job = batch[4]
        assert jobs.finish(st, job["id"], image_row(e, job, w))
        assert tallies(st) == counted(st)
        with pytest.raises(sqlite3.IntegrityError):
            st.conn.execute("update images set worker_id = 999")


def test_a_table_definition_it_cannot_read_is_refused_not_guessed(tmp_path):
    with pytest.raises(sqlite3.DatabaseError, match="jobs.worker_id"):
        schema._with_reference("CREATE TABLE [jobs] ([id] INTEGER, [worker_id] TEXT)", "jobs", "worker_id", "workers")
    made = schema._with_reference('CREATE TABLE "jobs" (\n   "id" INTEGER PRIMARY KEY,\n   "worker_id" INTEGER,\n'
                                  '   "worker_ids" INTEGER\n)', "jobs", "worker_id", "workers")
    assert made.startswith("CREATE TABLE [_new_jobs]")
    assert '"worker_id" INTEGER REFERENCES [workers]([id]),' in made and '"worker_ids" INTEGER\n' in made
