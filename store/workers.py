"""Worker processes as the store sees them: who is running, alive, done or failed.

A worker registers itself, beats a heartbeat while it runs, and marks itself done or failed
(with its error) when it stops. A worker is alive while its process exists (same host: pid and
process start time match) or, seen from another host, while its heartbeat is fresh.

A worker may have parts: the actors a cluster run feeds on other machines
(:mod:`workbench.cluster`). Each has a row of its own (its node, pid and device, what it made), with
``parent_id`` naming the worker process that feeds it, which records for it; a part is alive while
that process is and the part is recorded as running.
"""

from __future__ import annotations

import os
import socket
import time

from store.core import Store, pid_alive, process_start_token
from store.errors import StoreError
from synthdiv.errors import first_line

LEASE_S = 120.0  # a heartbeat older than this means the worker is gone


class AlreadyServed(StoreError):
    """Another live worker of the same kind already serves the experiment on the same device."""

    title = "Workers"


def register(store: Store, experiment_id: int, kind: str, device: str = "") -> int:
    """Record this process as a running worker of ``kind`` on ``device``; return its worker id.

    Several workers of a kind may serve an experiment, one per device: when a live one of the
    kind is already recorded on the same device, this raises :class:`AlreadyServed` and records
    nothing. The check and the insert are one write transaction, so two workers started at the
    same moment for one device (two ``synthdiv run`` of one store) cannot both register."""
    now = time.time()
    with store.immediate():
        for row in store.db.query("select * from workers where experiment_id = ? and kind = ? and state = 'running'",
                                  [experiment_id, kind]):
            row = dict(row)
            if not row.get("parent_id") and (row.get("device") or "") == device and row["pid"] != os.getpid() and is_alive(row):
                on = f" on {device}" if device else ""
                raise AlreadyServed(f"a {kind} worker already serves this experiment{on} (pid {row['pid']} on {row['host']})",
                                    "this one leaves it the work")
        return store.db["workers"].insert(
            {
                "experiment_id": experiment_id, "kind": kind, "pid": os.getpid(),
                "pid_start": process_start_token(), "host": socket.gethostname(),
                "state": "running", "started_at": now, "heartbeat_at": now, "processed": 0,
                **({"device": device} if device else {}),
            }
        ).last_pk


def register_part(store: Store, parent_id: int, device: str, host: str, pid: int) -> int:
    """Record a part of the worker ``parent_id`` (an actor on a cluster node ``host``, process
    ``pid`` there) running on ``device``; return its worker id."""
    parent = dict(store.db["workers"].get(parent_id))
    now = time.time()
    return store.db["workers"].insert({
        "experiment_id": parent["experiment_id"], "kind": parent["kind"], "pid": pid, "pid_start": "",
        "host": host, "state": "running", "started_at": now, "heartbeat_at": now, "processed": 0,
        "device": device, "parent_id": parent_id,
    }).last_pk


def parts(store: Store, parent_id: int) -> list[dict]:
    """The rows of the parts of worker ``parent_id``, oldest first."""
    return [dict(r) for r in store.db.query("select * from workers where parent_id = ? order by id", [parent_id])]


def heartbeat(store: Store, worker_id: int, processed: int | None = None, nice: int | None = None,
              here: bool = True) -> None:
    """The worker is alive: its heartbeat time, what it has ``processed`` so far (``progress_at``
    moves when that grows), its niceness and, when it runs ``here`` (not a part on a cluster
    node, whose beat the head writes), this machine's load average and cores."""
    now = time.time()
    load = os.getloadavg()[0] if here and hasattr(os, "getloadavg") else None
    store.db.execute(
        "update workers set heartbeat_at = ?, progress_at = case when ? > coalesce(processed, 0)"
        " then ? else coalesce(progress_at, started_at) end, processed = coalesce(?, processed),"
        " nice = coalesce(?, nice), load = ?, cpus = ? where id = ?",
        [now, processed if processed is not None else -1, now, processed, nice, load, os.cpu_count() if here else None,
         worker_id],
    )


def stop(store: Store, worker_id: int, state: str, error: str = "", processed: int | None = None) -> None:
    """Mark a worker ``done``, ``failed`` (with ``error``), ``stopped`` or ``lost``, with its
    final count of what it ``processed`` when given."""
    now = time.time()
    store.db.execute(
        "update workers set state = ?, error = ?, stopped_at = ?, heartbeat_at = ?,"
        " processed = coalesce(?, processed) where id = ?",
        [state, error or None, now, now, processed, worker_id],
    )


def give_up(store: Store, experiment_id: int, kind: str, device: str, pid: int, why: str) -> int:
    """Record that the supervisor stopped restarting the ``kind`` worker on ``device`` (its last
    process was ``pid``) and ``why``: a ``given_up`` row that status and the dashboard show."""
    now = time.time()
    return store.db["workers"].insert({
        "experiment_id": experiment_id, "kind": kind, "pid": pid, "pid_start": "", "host": socket.gethostname(),
        "state": "given_up", "started_at": now, "heartbeat_at": now, "stopped_at": now, "processed": 0,
        "device": device or None, "error": why,
    }).last_pk


def is_alive(row: dict, now: float | None = None, parent: dict | None = None) -> bool:
    """Whether the worker in ``row`` still runs; for a part (``parent_id`` set), whether its
    ``parent`` row (None: not recorded as running) still runs."""
    if row["state"] != "running":
        return False
    if row.get("parent_id"):
        return parent is not None and is_alive(parent, now)
    if row["host"] == socket.gethostname():
        if not pid_alive(row["pid"]):
            return False
        token = row["pid_start"] or ""
        return not token or process_start_token(row["pid"]) == token
    now = time.time() if now is None else now
    return (now - (row["heartbeat_at"] or 0)) < LEASE_S


def running(store: Store, experiment_id: int, kind: str | None = None, device: str | None = None) -> list[dict]:
    """Workers recorded as running and still alive (of ``kind``, on ``device``, when given)."""
    sql = "select * from workers where experiment_id = ? and state = 'running'"
    args: list = [experiment_id]
    if kind:
        sql += " and kind = ?"
        args.append(kind)
    rows = [dict(r) for r in store.db.query(sql, args)]
    parents = _running_parents(store, rows)
    return [r for r in rows if is_alive(r, parent=parents.get(r.get("parent_id")))
            and (device is None or (r.get("device") or "") == device)]


def _running_parents(store: Store, rows: list[dict]) -> dict[int, dict]:
    """The rows recorded as running of the parents of the parts among ``rows``, by id."""
    ids = sorted({r["parent_id"] for r in rows if r.get("parent_id")})
    if not ids:
        return {}
    return {r["id"]: dict(r) for r in store.db.query(
        f"select * from workers where state = 'running' and id in ({','.join('?' * len(ids))})", ids)}


def mark_lost(store: Store, experiment_id: int) -> list[int]:
    """Mark workers that are recorded as running but dead as ``lost``; return their ids."""
    rows = [dict(r) for r in store.db.query(
        "select * from workers where experiment_id = ? and state = 'running'", [experiment_id])]
    parents = _running_parents(store, rows)
    lost = [r for r in rows if not is_alive(r, parent=parents.get(r.get("parent_id")))]
    for r in lost:
        stop(store, r["id"], "lost", "the process feeding this actor ended (killed or crashed)" if r.get("parent_id")
             else "the process ended without saying so (killed or crashed)")
    lost = [r["id"] for r in lost]
    return lost


def of_process(store: Store, experiment_id: int, pid: int) -> dict | None:
    """The newest worker row of process ``pid`` on this host, or None (it never registered)."""
    rows = list(store.db.query("select * from workers where experiment_id = ? and pid = ? and host = ?"
                               " order by id desc limit 1", [experiment_id, pid, socket.gethostname()]))
    return dict(rows[0]) if rows else None


def recent(store: Store, experiment_id: int, limit: int = 10) -> list[dict]:
    return [dict(r) for r in store.db.query(
        "select * from workers where experiment_id = ? order by id desc limit ?", [experiment_id, limit])]


def board(store: Store, experiment_id: int, now: float | None = None) -> list[dict]:
    """The newest worker row of each (kind, device) of the experiment — what runs, and how the
    last one of each seat ended — with ``rate`` (what it processed per second over its life)
    and ``state`` ``lost`` for a row recorded as running whose process is gone. Supervisors first,
    then by kind and device."""
    now = time.time() if now is None else now
    has_device = any(c[1] == "device" for c in store.conn.execute("pragma table_info(workers)"))
    seat = "kind, coalesce(device, '')" if has_device else "kind"
    rows = [dict(r) for r in store.db.query(
        f"select * from workers where id in (select max(id) from workers where experiment_id = ? group by {seat})",
        [experiment_id])]
    parents = _running_parents(store, rows)
    out = []
    for r in rows:
        alive = is_alive(r, now, parents.get(r.get("parent_id")))
        state = r["state"] if r["state"] != "running" or alive else "lost"
        end = r["stopped_at"] if r["state"] != "running" else (r["heartbeat_at"] or now)
        span = (end or now) - (r["started_at"] or now)
        out.append({
            "id": r["id"], "kind": r["kind"], "device": r.get("device") or "", "pid": r["pid"], "host": r["host"],
            "state": state, "processed": r["processed"] or 0,
            "rate": (r["processed"] or 0) / span if span > 0 and r["processed"] else None,
            # from its heartbeat (schema 11; absent in older stores): niceness, the machine's load
            # average and cores, and when what it processed last grew
            "nice": r.get("nice"), "load": r.get("load"), "cpus": r.get("cpus"),
            "progress_at": r.get("progress_at") or r["started_at"], "part": bool(r.get("parent_id")),
            "error": (r["error"] or "").strip().split("\n", 1)[0],  # its first line
        })
    return sorted(out, key=lambda w: (w["kind"] != "supervisor", w["kind"], w["device"]))


# --- how people name a worker row (the CLI and the dashboard say it the same way) ---------------

def worker_name(w: dict) -> str:
    """A worker as people name it: "generation worker on cuda:1", "embedding worker", "supervisor"."""
    if w["kind"] == "supervisor":
        return "supervisor"
    return f"{w['kind']} worker" + (f" on {w['device']}" if w.get("device") else "")


STATE_WORDS = {"given_up": "given up"}


def worker_problem(w: dict) -> tuple[str, str]:
    """A stopped worker's trouble: who and how it ended ("generation worker on cpu given up"),
    and the first line of why."""
    return f"{worker_name(w)} {STATE_WORDS.get(w['state'], w['state'])}", first_line(w["error"])
