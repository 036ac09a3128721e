"""A worker's CPU priority, following what it competes with.

:mod:`workbench.kinds` declares each kind's rule: a kind with ``yields_to`` runs ``nice`` steps
lower in priority while a worker of that kind, of its experiment, runs on the CPU of this machine,
and at the priority it was started with otherwise. The embedding worker so yields to CPU
generation beside it on a small machine (BENCHMARKS.md), and keeps pace on a machine that other
people's jobs load once generation has finished, when none runs here (a Ray head, whose
generation worker only feeds the cluster) or when generation runs on GPUs.

The heartbeat thread (:class:`workbench.worker_common.Heartbeat`) applies the rule every few
seconds. Niceness is per thread on Linux: every thread of the process is changed, and threads
started later inherit it from the thread that starts them. A process that is not root may raise its
niceness but not lower it again; such a worker asks to be restarted
(:data:`workbench.worker_common.RESTART_EXIT`), and the supervisor starts it again at once, at the
priority it started with: a restart loses nothing (its unfinished jobs go back to the queue, and
what it embedded is stored).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Callable

from store import workers
from store.core import Store
from workbench.kinds import KINDS, WorkerKind

MAX_NICE = 19
# SYNTHDIV_NICE_RULE=fixed: the rule before issue 27, a yielding kind's ``nice`` from start to end
# whatever runs beside it; kept so that python -m benchmarks.contention measures the change in one run.
FIXED_RULE = "SYNTHDIV_NICE_RULE"


def threads() -> list[int]:
    """The ids of this process's threads (Linux), or ``[0]`` (the calling thread's process) elsewhere."""
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def niceness() -> int:
    """The calling thread's niceness."""
    return os.getpriority(os.PRIO_PROCESS, 0)


def renice(value: int) -> None:
    """Set every thread of this process to niceness ``value``. Raises PermissionError when that
    is lower than now and this process may not lower it (not root)."""
    for tid in threads():
        try:
            os.setpriority(os.PRIO_PROCESS, tid, value)
        except ProcessLookupError:  # a thread that ended meanwhile
            pass


def competing(st: Store, experiment_id: int, kind: str) -> list[dict]:
    """The live workers of ``kind`` of the experiment that run on this machine's CPU: not a part
    on a cluster node, not a process feeding a cluster (device ``ray``), not on a GPU."""
    here = socket.gethostname()
    return [w for w in workers.running(st, experiment_id, kind) if w["host"] == here and not w.get("parent_id")
            and not (w.get("device") or "").startswith(("cuda", "ray", "mps"))]


class Priority:
    """One worker's priority rule applied: :meth:`follow` sets what the rule wants now, and says
    when the worker must restart to get there. ``base``: the niceness it was started with."""

    def __init__(self, kind: WorkerKind, experiment_id: int, say: Callable[[str], None] | None = None,
                 base: int | None = None) -> None:
        self.kind, self.experiment_id = kind, experiment_id
        self.say = say or (lambda text: print(text, flush=True))  # the worker's log
        self.base = niceness() if base is None else base
        self.now = self.base

    def wanted(self, st: Store) -> tuple[int, str]:
        """The niceness the rule wants now, and why."""
        if not self.kind.yields_to or not self.kind.nice:
            return self.base, ""
        if os.environ.get(FIXED_RULE) == "fixed":
            return min(MAX_NICE, self.base + self.kind.nice), f"{FIXED_RULE}=fixed"
        rivals = competing(st, self.experiment_id, self.kind.yields_to)
        if rivals:
            pids = ", ".join(str(w["pid"]) for w in rivals)
            return min(MAX_NICE, self.base + self.kind.nice), f"a {self.kind.yields_to} worker runs on this CPU (pid {pids})"
        return self.base, f"no {self.kind.yields_to} worker runs on this CPU"

    def follow(self, st: Store) -> bool:
        """Apply the rule; False when the niceness should go down and this process may not lower
        it (it should restart)."""
        value, why = self.wanted(st)
        if value == self.now:
            return True
        try:
            renice(value)
        except PermissionError:
            self.say(f"priority: nice {self.now} → {value} wanted ({why}), which this process may not"
                     " set: restarting at the priority it started with")
            return False
        self.say(f"priority: nice {self.now} → {value} ({why})")
        self.now = value
        return True


# --- a worker that makes no progress while its work waits ---------------------------------------

STALL_S = 180.0  # no growth of what a running worker processed for this long, while work waits: stalled


def stalled(summary: dict, now: float | None = None) -> list[dict]:
    """Mark each running worker of ``summary`` (a :func:`store.status.experiment_summary`) whose
    count of what it processed has not grown for :data:`STALL_S` while its kind's work waits:
    its ``stalled`` is one line with the likely cause (the machine's load average against its
    cores, and the worker's niceness, from its last heartbeat). Returns the marked rows."""
    now = time.time() if now is None else now
    marked = []
    for w in summary.get("workers", []):
        kind = KINDS.get(w["kind"])
        if kind is None or w["state"] != "running" or w.get("part"):
            continue
        quiet_s = now - (w.get("progress_at") or now)
        left = kind.waiting(summary)
        if quiet_s < STALL_S or left <= 0:
            continue
        load, cpus, nice = w.get("load"), w.get("cpus"), w.get("nice") or 0
        if load is not None and cpus and load >= cpus:
            cause = (f"likely starved by load: load average {load:.1f} on {cpus} cores"
                     + (f", and it runs at nice {nice}" if nice else ""))
        elif load is not None:
            cause = f"not for lack of CPU (load average {load:.1f} on {cpus} cores): see its log"
        else:
            cause = "see its log"
        w["stalled"] = f"no progress for {quiet_s / 60:.0f} min while {left} {kind.waiting_what} wait: {cause}"
        marked.append(w)
    return marked
