"""What a store holds, in counts: the figures ``synthdiv status`` and the UI show."""

from __future__ import annotations

from store import embeddings, jobs, real, tallies, training, workers
from store.core import Store
from store.schema import SCHEMA_VERSION


def experiment_summary(store: Store, experiment: dict) -> dict:
    """Counts for one experiment: images, embeddings, jobs by state, workers running."""
    e = experiment["id"]
    one = lambda sql: store.conn.execute(sql, [e]).fetchone()[0]  # noqa: E731
    return {
        "name": experiment["name"],
        "classes": one("select count(*) from classes where experiment_id = ?"),
        "templates": one("select count(*) from templates where experiment_id = ?"),
        "prompts": one("select count(*) from prompts where experiment_id = ?"),
        "images": tallies.total(store, e, "images"),
        "real_images": real.count(store, e),
        "real_unreadable": one("select count(*) from real_images where experiment_id = ? and error is not null"),
        "image_embeddings": embeddings.count(store, e, "image"),
        # images some embedding model of the experiment has not embedded yet (all, before any has)
        "images_unembedded": max(0, tallies.total(store, e, "images") - min(embeddings.models(store, e).values(), default=0)),
        "real_embeddings": embeddings.count(store, e, "real"),
        "text_embeddings": embeddings.count(store, e, "text"),
        "jobs": jobs.counts(store, e),
        "workers_running": [
            {"id": w["id"], "kind": w["kind"], "device": w.get("device") or "", "pid": w["pid"], "host": w["host"]}
            for w in workers.running(store, e)
        ],
        "workers": workers.board(store, e),
        "training": training.board(store, e),
        "job_errors": [
            {"class": r["class_name"], "seed": r["seed"], "state": r["state"], "error": r["error"]}
            for r in jobs.errors(store, e, limit=3)
        ],
        "worker_errors": [
            {"id": w["id"], "kind": w["kind"], "device": w.get("device") or "", "state": w["state"], "error": w["error"]}
            for w in workers.recent(store, e) if w["state"] in ("failed", "lost", "given_up")
        ],
    }


def summary(store: Store) -> dict:
    """The whole store: its folder, schema version, one summary per experiment, and totals."""
    exps = [dict(r) for r in store.db.query("select * from experiments order by id")]
    per = [experiment_summary(store, x) for x in exps]
    keys = ("images", "real_images", "image_embeddings", "real_embeddings", "text_embeddings")
    totals = {k: sum(p[k] for p in per) for k in keys}
    totals["jobs"] = {s: sum(p["jobs"][s] for p in per) for s in jobs.STATES}
    return {"store": str(store.root), "schema_version": SCHEMA_VERSION, **totals, "experiments": per}
