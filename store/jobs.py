"""The generation job queue.

A job is one image to make: (experiment, class, template, seed), unique. Its life:
``pending`` → claimed atomically by one worker (``running``) → ``done`` when its image row is
written, in the same transaction; or back to ``pending`` on an error (``failed`` after
``MAX_ATTEMPTS``). A job held by a worker that died is put back to ``pending`` by :func:`reclaim`.
Finishing twice is harmless: the image row is keyed on the job, and the second insert is ignored.
"""

from __future__ import annotations

import time

from store import tallies, workers
from store.core import Store

MAX_ATTEMPTS = 3
STATES = ("pending", "running", "done", "failed")

_CLAIMED = """
select j.id, j.seed, j.class_id, j.template_id, j.prompt_id, j.attempts,
       c.name as class_name, t.text as template, p.text as prompt
from jobs j
join classes c on c.id = j.class_id
join templates t on t.id = j.template_id
join prompts p on p.id = j.prompt_id
where j.worker_id = ? and j.state = 'running'
order by j.id
"""


def claim(store: Store, experiment_id: int, worker_id: int, limit: int) -> list[dict]:
    """Atomically move up to ``limit`` pending jobs to ``running`` for this worker; return them."""
    now = time.time()
    with store.immediate():
        ids = [r[0] for r in store.conn.execute(
            "select id from jobs where experiment_id = ? and state = 'pending' order by id limit ?",
            [experiment_id, int(limit)],
        )]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        store.conn.execute(
            f"update jobs set state = 'running', worker_id = ?, claimed_at = ? where id in ({marks})",
            [worker_id, now, *ids],
        )
        rows = [dict(r) for r in store.conn.execute(_CLAIMED, [worker_id])]
    wanted = set(ids)
    return [r for r in rows if r["id"] in wanted]


def finish(store: Store, job_id: int, image: dict) -> bool:
    """Record the job's image and mark the job done, in one transaction.

    Idempotent: returns False (and changes nothing) when the image was already recorded.
    """
    now = time.time()
    with store.immediate():
        cur = store.conn.execute(
            f"insert or ignore into images ({', '.join(image)}, job_id, created_at)"
            f" values ({', '.join('?' * len(image))}, ?, ?)",
            [*image.values(), job_id, now],
        )
        store.conn.execute(
            "update jobs set state = 'done', finished_at = coalesce(finished_at, ?), error = null where id = ?",
            [now, job_id],
        )
        return cur.rowcount == 1


def fail(store: Store, job_id: int, error: str) -> str:
    """Count a failed attempt; the job goes back to pending, or to failed after MAX_ATTEMPTS."""
    with store.immediate():
        store.conn.execute(
            "update jobs set attempts = attempts + 1, error = ?, worker_id = null,"
            " state = case when attempts + 1 >= ? then 'failed' else 'pending' end"
            " where id = ? and state = 'running'",
            [error[:2000], MAX_ATTEMPTS, job_id],
        )
        return store.conn.execute("select state from jobs where id = ?", [job_id]).fetchone()[0]


def release(store: Store, worker_id: int) -> int:
    """Put back every job this worker still holds (it is stopping); return how many."""
    with store.immediate():
        return store.conn.execute(
            "update jobs set state = 'pending', worker_id = null where worker_id = ? and state = 'running'",
            [worker_id],
        ).rowcount


def put_back(store: Store, worker_id: int, job_ids: list[int]) -> int:
    """Put back jobs ``job_ids`` that worker ``worker_id`` holds, without counting an attempt: the
    machine making them was lost, not the jobs at fault. Returns how many went back."""
    if not job_ids:
        return 0
    with store.immediate():
        return store.conn.execute(
            f"update jobs set state = 'pending', worker_id = null where worker_id = ? and state = 'running'"
            f" and id in ({','.join('?' * len(job_ids))})", [worker_id, *job_ids]).rowcount


def reclaim(store: Store, experiment_id: int) -> int:
    """Put back to pending the running jobs whose worker is dead; return how many."""
    workers.mark_lost(store, experiment_id)
    with store.immediate():
        return store.conn.execute(
            "update jobs set state = 'pending', worker_id = null"
            " where experiment_id = ? and state = 'running' and (worker_id is null or worker_id not in"
            " (select id from workers where state = 'running'))",
            [experiment_id],
        ).rowcount


def retry_failed(store: Store, experiment_id: int) -> int:
    """Give failed jobs a fresh set of attempts; return how many."""
    with store.immediate():
        return store.conn.execute(
            "update jobs set state = 'pending', attempts = 0 where experiment_id = ? and state = 'failed'",
            [experiment_id],
        ).rowcount


def counts(store: Store, experiment_id: int) -> dict[str, int]:
    """Jobs by state, every state present (zero when none); read from the tallies."""
    out = dict.fromkeys(STATES, 0)
    for what, n in tallies.by_what(store, experiment_id, "job:").items():
        out[what.removeprefix("job:")] = n
    return out


def errors(store: Store, experiment_id: int, limit: int = 5) -> list[dict]:
    """The latest job errors, newest first."""
    return [dict(r) for r in store.db.query(
        "select j.id, j.state, j.attempts, j.error, c.name as class_name, j.seed from jobs j"
        " join classes c on c.id = j.class_id where j.experiment_id = ? and j.error is not null"
        " order by j.id desc limit ?", [experiment_id, limit])]


def per_class(store: Store, experiment_id: int) -> list[dict]:
    """Jobs by state for every class, in class order: ``class``, ``total`` and one count per state."""
    out: dict[int, dict] = {}
    for cid, name in store.conn.execute(
            "select id, name from classes where experiment_id = ? order by position", [experiment_id]):
        out[cid] = {"class": name, "total": 0, **dict.fromkeys(STATES, 0)}
    for state in STATES:
        for cid, n in tallies.per_class(store, experiment_id, f"job:{state}").items():
            out[cid][state] = n
            out[cid]["total"] += n
    return list(out.values())


def cancel_pending(store: Store, experiment_id: int, class_id: int | None = None) -> int:
    """Drop the experiment's pending jobs (of one class when given): images not made yet will not be.

    Finished images, running jobs and the plan (classes, templates, prompts) are kept; running the
    experiment's config again puts the dropped jobs back in the queue. Returns how many were dropped."""
    sql, args = "delete from jobs where experiment_id = ? and state = 'pending'", [experiment_id]
    if class_id is not None:
        sql += " and class_id = ?"
        args.append(class_id)
    with store.immediate():
        return store.conn.execute(sql, args).rowcount
