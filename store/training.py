"""Training runs: image classifiers trained on an experiment's pixels, as the store holds them.

A run is named after what it trains on (``synthetic``, ``real``, ``mix-1x``, …) and keyed by its
settings (``settings_key``): a run recorded with other settings stays in the store, out of the
plan (``planned = 0``), so nothing finished is ever lost. Runs are claimed like jobs: one write
transaction moves a pending run to ``running`` under a worker, and the run of a worker that died
goes back to ``pending`` (:func:`reclaim`; it resumes from its last epoch's checkpoint). Each
finished epoch is a row of ``train_epochs``; a finished run holds its result as JSON.
"""

from __future__ import annotations

import json
import time

from store import workers
from store.core import Store

STATES = ("pending", "running", "done", "failed")


def has_tables(store: Store) -> bool:
    """Whether the store has the training tables (a read-only open of an older store may not)."""
    return store.conn.execute("select 1 from sqlite_master where type = 'table' and name = 'train_runs'").fetchone() is not None


def plan(store: Store, experiment_id: int, wanted: list[tuple[str, dict, str, int]]) -> int:
    """Make ``wanted`` — (name, settings, settings_key, epochs) of each run — the experiment's
    planned runs: new ones are added as pending, those of other settings leave the plan (and are
    kept). Returns how many were added."""
    now = time.time()
    with store.immediate():
        have = {(r[0], r[1]) for r in store.conn.execute(
            "select name, settings_key from train_runs where experiment_id = ?", [experiment_id])}
        store.conn.execute("update train_runs set planned = 0 where experiment_id = ?", [experiment_id])
        for name, settings, key, epochs in wanted:
            store.conn.execute(
                "insert into train_runs (experiment_id, name, settings, settings_key, planned, state, epochs, epoch,"
                " created_at) values (?, ?, ?, ?, 1, 'pending', ?, 0, ?) on conflict (experiment_id, name, settings_key)"
                " do update set planned = 1",
                [experiment_id, name, json.dumps(settings, sort_keys=True), key, epochs, now])
        return sum((name, key) not in have for name, _, key, _ in wanted)


def claim(store: Store, experiment_id: int, worker_id: int) -> dict | None:
    """Take the first pending planned run for ``worker_id``; None when there is none."""
    with store.immediate():
        row = store.conn.execute(
            "select * from train_runs where experiment_id = ? and planned = 1 and state = 'pending' order by id limit 1",
            [experiment_id]).fetchone()
        if row is None:
            return None
        store.conn.execute("update train_runs set state = 'running', worker_id = ?, started_at = ?, error = null"
                           " where id = ?", [worker_id, time.time(), row["id"]])
    return _parsed(dict(row))


def reclaim(store: Store, experiment_id: int) -> int:
    """Put back to pending the running runs whose worker is dead; return how many."""
    if not has_tables(store):
        return 0
    workers.mark_lost(store, experiment_id)
    with store.immediate():
        return store.conn.execute(
            "update train_runs set state = 'pending', worker_id = null where experiment_id = ? and state = 'running'"
            " and (worker_id is null or worker_id not in (select id from workers where state = 'running'))",
            [experiment_id]).rowcount


def retry_failed(store: Store, experiment_id: int) -> int:
    """Give the failed planned runs another try (they resume from their last checkpoint)."""
    with store.immediate():
        return store.conn.execute("update train_runs set state = 'pending', error = null, worker_id = null"
                                  " where experiment_id = ? and planned = 1 and state = 'failed'", [experiment_id]).rowcount


def cancel_pending(store: Store, experiment_id: int) -> int:
    """Take the pending runs out of the plan (kept with their checkpoints: recording the plan
    again, as g does, puts them back); return how many."""
    if not has_tables(store):
        return 0
    with store.immediate():
        return store.conn.execute("update train_runs set planned = 0 where experiment_id = ? and state = 'pending'",
                                  [experiment_id]).rowcount


def record_epoch(store: Store, run_id: int, epoch: dict) -> None:
    """Record a finished epoch (a resumed run that redoes one writes the same row again)."""
    with store.immediate():
        store.conn.execute(
            "insert or replace into train_epochs (run_id, epoch, loss, train_accuracy, test_accuracy, lr, seconds,"
            " images_per_s) values (:run_id, :epoch, :loss, :train_accuracy, :test_accuracy, :lr, :seconds, :images_per_s)",
            {"run_id": run_id, **{k: epoch[k] for k in ("epoch", "loss", "train_accuracy", "test_accuracy", "lr",
                                                         "seconds", "images_per_s")}})
        store.conn.execute("update train_runs set epoch = ? where id = ?", [epoch["epoch"], run_id])


def finish(store: Store, run_id: int, result: dict) -> None:
    store.db.execute("update train_runs set state = 'done', result = ?, finished_at = ?, error = null where id = ?",
                     [json.dumps(result), time.time(), run_id])


def fail(store: Store, run_id: int, error: str) -> None:
    store.db.execute("update train_runs set state = 'failed', error = ?, finished_at = ? where id = ?",
                     [error[:2000], time.time(), run_id])


def release(store: Store, run_id: int) -> None:
    """A run stopped by its worker (pause): pending again, to resume from its checkpoint."""
    store.db.execute("update train_runs set state = 'pending', worker_id = null where id = ? and state = 'running'",
                     [run_id])


def _parsed(row: dict) -> dict:
    row["settings"] = json.loads(row["settings"])
    row["result"] = json.loads(row["result"]) if row.get("result") else None
    return row


def runs(store: Store, experiment_id: int, planned_only: bool = True) -> list[dict]:
    """The experiment's runs (the planned ones, or all), in the order they were planned, with
    settings and result parsed (and ``interrupted`` for a running run whose worker is gone)."""
    if not has_tables(store):
        return []
    sql = "select * from train_runs where experiment_id = ?" + (" and planned = 1" if planned_only else "")
    return _interrupted(store, [_parsed(dict(r)) for r in store.conn.execute(sql + " order by id", [experiment_id])])


def epochs(store: Store, run_ids: list[int]) -> dict[int, list[dict]]:
    """The finished epochs of each run, in order."""
    out: dict[int, list[dict]] = {int(i): [] for i in run_ids}
    if not run_ids:
        return out
    marks = ",".join("?" * len(run_ids))
    for r in store.conn.execute(f"select * from train_epochs where run_id in ({marks}) order by run_id, epoch",
                                [int(i) for i in run_ids]):
        out[r["run_id"]].append(dict(r))
    return out


def counts(store: Store, experiment_id: int) -> dict[str, int]:
    """The planned runs by state, and their epochs done and in all."""
    out = dict.fromkeys(STATES, 0) | {"epochs_done": 0, "epochs_total": 0}
    if not has_tables(store):
        return out
    for state, n, done, total in store.conn.execute(
            "select state, count(*), sum(case when state = 'done' then epochs else epoch end), sum(epochs)"
            " from train_runs where experiment_id = ? and planned = 1 group by state", [experiment_id]):
        out[state] = n
        out["epochs_done"] += done or 0
        out["epochs_total"] += total or 0
    return out


def items(store: Store, experiment_id: int) -> tuple[list[dict], list[dict]]:
    """What a training run may read: the generated images (``id``, ``path`` relative to the store,
    ``class_id``) and the readable real images (``id``, ``path``, ``class_id``, ``split``), by id."""
    synthetic = [dict(r) for r in store.conn.execute(
        "select id, path, class_id from images where experiment_id = ? order by id", [experiment_id])]
    real = [dict(r) for r in store.conn.execute(
        "select id, path, class_id, split from real_images where experiment_id = ? and error is null order by id",
        [experiment_id])]
    return synthetic, real


def board(store: Store, experiment_id: int) -> list[dict]:
    """The planned runs in brief (``name``, ``state``, ``epoch``, ``epochs``, ``accuracy`` on the
    real test split when done, ``error``), without reading their results' full tables. A run
    recorded as running whose worker is gone is ``interrupted`` (the next start resumes it)."""
    if not has_tables(store):
        return []
    rows = [dict(r) for r in store.conn.execute(
        "select name, state, epoch, epochs, json_extract(result, '$.test.accuracy') as accuracy, error, worker_id"
        " from train_runs where experiment_id = ? and planned = 1 order by id", [experiment_id])]
    return [{k: v for k, v in r.items() if k != "worker_id"} for r in _interrupted(store, rows)]


def _interrupted(store: Store, rows: list[dict]) -> list[dict]:
    """``rows`` with the state of a run recorded as running whose worker is gone (killed, or given
    up on by its supervisor) as ``interrupted``: it waits for the next start, which resumes it."""
    for r in rows:
        if r["state"] == "running" and r.get("worker_id") is not None:
            w = store.conn.execute("select * from workers where id = ?", [r["worker_id"]]).fetchone()
            if w is None or not workers.is_alive(dict(w)):
                r["state"] = "interrupted"
    return rows
