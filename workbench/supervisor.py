"""One supervisor for ``synthdiv run`` and the workbench: it starts the workers an experiment
still needs, one per placed device (:mod:`workbench.placement`), watches them, restarts one that
died (with a back-off; after :attr:`Supervisor.MAX_CRASHES` crashes in a row it stops restarting
that worker, and records why in the store for ``synthdiv status`` and the dashboard), and drains
them all on pause, cancel and Ctrl-C.

``synthdiv run`` runs it in its own process, with progress bars. The workbench starts it as a
process of its own (:func:`start_supervisor`, in a session of its own, so it and its workers go
on when the UI quits) and reads what it does from the store. Either way it records itself as a
``supervisor`` row of the workers table: one per experiment, so a second ``synthdiv run`` or a g
in the workbench follows it instead of starting a second set of workers, and pause and cancel
find it (SIGTERM: it stops its workers, which put their unfinished jobs back, and exits).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from store import experiments, jobs, open_store, workers
from store.core import Store, disk_full
from synthdiv.errors import SynthdivError
from workbench.kinds import KINDS, SUPERVISOR
from workbench.placement import Seat
from workbench.worker_common import DISK_FULL_EXIT, RESTART_EXIT

POLL_S = 0.5

Say = Callable[[str, str], None]  # (text, style: "" | "yellow" | "red")


def _print(text: str, style: str = "") -> None:
    print(text, flush=True)


def log_path(root: Path, kind: str, device: str = "") -> Path:
    """Where a worker's (or the supervisor's) output goes: ``logs/<kind>[-<device>].log``."""
    tail = f"-{device.replace(':', '')}" if device else ""
    return root / "logs" / f"{kind}{tail}.log"


# ``python -m workbench.worker`` would put the working folder first on sys.path, so a folder named
# ``store``, ``screens`` or ``workbench`` there (``--store store`` makes one) would be imported in
# place of synthdiv's own, and its code would run in the worker. ``-c`` puts "" (the working
# folder) first instead, which this drops before importing anything; PYTHONSAFEPATH (Python 3.11+)
# keeps it from being added at all, for the worker and any Python process it starts.
def safe_start(module: str) -> str:
    return ("import sys\n"
            "if sys.path and sys.path[0] == '': del sys.path[0]\n"
            f"from {module} import main\n"
            "sys.exit(main())")


def worker_command(seat: Seat, root: Path, experiment: str) -> list[str]:
    """The command line of a worker process: it imports synthdiv's packages as installed, never
    a same-named folder of the working directory."""
    cmd = [sys.executable, "-c", safe_start("workbench.worker"), seat.kind, str(root), experiment,
           "--device", seat.device, "--share", f"{seat.share[0]}/{seat.share[1]}"]
    return cmd + (["--threads", str(seat.threads)] if seat.threads else [])


def _spawn(cmd: list[str], log: Path, env: dict[str, str], detach: bool) -> subprocess.Popen:
    log.parent.mkdir(exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **env, "PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1"},
                                start_new_session=detach)


def start_worker(root: Path, experiment: str, seat: Seat, detach: bool = False) -> subprocess.Popen:
    """Start the worker of ``seat``, its ``CUDA_VISIBLE_DEVICES`` naming its one GPU; its output
    goes to :func:`log_path`. ``detach``: in a session of its own (it goes on when the terminal
    that started it hangs up; ``synthdiv run`` keeps its workers in its group, so Ctrl-C stops all)."""
    return _spawn(worker_command(seat, root, experiment), log_path(root, seat.kind, seat.device), dict(seat.env), detach)


def start_supervisor(root: Path, experiment: str, wait_s: float = 20.0) -> subprocess.Popen:
    """Start a supervisor process for the experiment, detached from the caller (the workbench),
    and wait until it has recorded itself (or ended), so that whoever asks next — the quit
    dialog's "workers are running", a second g — sees it."""
    cmd = [sys.executable, "-c", safe_start("workbench.supervisor"), str(root), experiment]
    proc = _spawn(cmd, log_path(root, SUPERVISOR), {}, detach=True)
    deadline = time.monotonic() + wait_s
    with open_store(root) as st:
        exp_id = experiments.get(st, experiment)["id"]
        while proc.poll() is None and time.monotonic() < deadline:
            if any(w["pid"] == proc.pid for w in workers.running(st, exp_id, SUPERVISOR)):
                break
            time.sleep(0.05)
    return proc


def how_it_ended(returncode: int) -> str:
    """A worker's exit status in words: the signal that killed it, or its exit code."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        why = " (what the kernel's out-of-memory killer sends)" if -returncode == signal.SIGKILL else ""
        return f"was killed by {name}{why}"
    return f"exited with status {returncode} without recording why"


def last_line(path: Path) -> str:
    """The last non-empty line of a log (what a crashing worker printed last), or ""."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 4096))
            lines = [x.strip() for x in f.read().decode("utf-8", "replace").splitlines() if x.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


@dataclass
class Slot:
    """One placed worker as the supervisor keeps it: its process, starts and crashes."""

    seat: Seat
    proc: subprocess.Popen | None = None
    starts: int = 0
    crashes: int = 0  # in a row
    not_before: float = 0.0  # a restart is due after this (monotonic)
    failed: int | None = None  # the exit status it stopped with for good
    drained: bool = False
    followed: int | None = None  # the id of a live worker of another process on this seat

    @property
    def name(self) -> str:
        return f"{self.seat.kind} worker on {self.seat.device}"


class Supervisor:
    """Keeps a worker on every seat of the experiment whose kind the experiment still needs.

    Workers already running on a seat (started by another ``synthdiv run`` or an older
    workbench) are followed, not doubled: a worker refuses to register beside a live one of its
    kind on its device. A worker of ours that fails and records why (a model that does not load,
    a full disk) is not restarted: its error is reported. One that dies without a word (killed by
    a signal — the out-of-memory killer sends SIGKILL — or crashed at start) is restarted after a
    back-off, and the supervisor says how it ended; after ``MAX_CRASHES`` in a row it gives up on
    that seat, records why as a ``given up`` worker row, and the others go on.
    """

    MAX_CRASHES = 5
    BACKOFF_S = (1.0, 2.0, 4.0, 8.0)  # before the 1st, 2nd, 3rd and later restarts
    MAX_STARTS = 20  # starts of one seat in all: a guard against a worker that keeps leaving at once

    def __init__(self, st: Store, exp_id: int, root: Path, name: str, seats: list[Seat], say: Say = _print) -> None:
        self.st, self.exp_id, self.root, self.name, self.say = st, exp_id, root, name, say
        self.slots: dict[tuple[str, str], Slot] = {}
        self.place(seats)
        self.row: int | None = None
        self.unrecorded: list[tuple[int, str]] = []  # (worker row, why) that a full disk kept from being written

    def place(self, seats: list[Seat]) -> None:
        """The seats to keep a worker on, one slot each (keyed by kind and device)."""
        self.slots = {(seat.kind, seat.device): Slot(seat) for seat in seats}

    # --- the supervisor's own row ---------------------------------------------------------------

    def register(self) -> dict | None:
        """Record this process as the experiment's supervisor; the live supervisor already
        recorded (another process's row) instead, when there is one."""
        try:
            self.row = workers.register(self.st, self.exp_id, SUPERVISOR)
        except workers.AlreadyServed:
            live = workers.running(self.st, self.exp_id, SUPERVISOR)
            return live[0] if live else None
        return None

    def close(self, state: str = "done", error: str = "") -> None:
        """Record how the workers a full disk kept from recording their end ended (the others that
        stopped since may have freed the space), then this supervisor's own end (and ``error``,
        why it failed, for status and the dashboard)."""
        for worker_id, why in self.unrecorded:
            try:
                workers.stop(self.st, worker_id, "failed", why)
            except Exception:  # noqa: BLE001 - still full: the next run marks it lost
                pass
        self.unrecorded.clear()
        if self.row is not None:
            workers.stop(self.st, self.row, state, error)
            self.row = None

    # --- watching -------------------------------------------------------------------------------

    def _of(self, kind: str) -> list[Slot]:
        return [s for s in self.slots.values() if s.seat.kind == kind]

    def gave_up(self, kind: str | None) -> bool:
        """Whether every worker of ``kind`` has stopped for good (so none will make more)."""
        slots = self._of(kind) if kind else []
        return bool(slots) and all(s.failed is not None for s in slots)

    def _ended(self, slot: Slot, now) -> None:
        """``slot``'s worker has exited: note a failure it recorded, or schedule a restart."""
        proc, slot.proc = slot.proc, None
        rc = proc.returncode
        if rc in (0, RESTART_EXIT):
            slot.crashes = 0
            if rc == RESTART_EXIT:  # it may not lower its own niceness: started again, at the priority it started with
                self.say(f"Restarting the {slot.name} at normal priority (it cannot lower its own niceness).", "")
            return
        row = workers.of_process(self.st, self.exp_id, proc.pid)
        if rc == DISK_FULL_EXIT:
            slot.failed = rc
            full = disk_full(self.root)
            self.say(f"The {slot.name} stopped: {full.message}", "red")
            if row is not None and row["state"] == "running":  # it could not record it: record it here
                try:
                    workers.stop(self.st, row["id"], "failed", full.message)
                except Exception:  # noqa: BLE001 - still full: tried again at close (space may be freed by then)
                    self.unrecorded.append((row["id"], full.message))
            return
        if row is not None and row["state"] == "failed":
            slot.failed = rc  # it said why; reported at the end
            return
        how = how_it_ended(rc)
        if row is not None and row["state"] == "running":
            workers.stop(self.st, row["id"], "lost", f"the process {how}")
        n = slot.crashes = slot.crashes + 1
        kind = KINDS[slot.seat.kind]
        completed, total = kind.progress(now)
        where = f" at {completed}/{total} {kind.processed}"
        if n >= self.MAX_CRASHES:
            slot.failed = rc
            log = log_path(self.root, slot.seat.kind, slot.seat.device)
            said = last_line(log)
            why = (f"crashed {n} times in a row" + (f"; its log ends: {said}" if said else "")
                   + f"; the last one {how}{where}. Not started again: see {log}, fix the cause, and run the"
                   " experiment again (g in the workbench).")
            workers.give_up(self.st, self.exp_id, slot.seat.kind, slot.seat.device, proc.pid, why)
            self.say(f"The {slot.name} (pid {proc.pid}) {why}", "red")
            return
        delay = self.BACKOFF_S[min(n - 1, len(self.BACKOFF_S) - 1)]
        slot.not_before = time.monotonic() + delay
        self.say(f"The {slot.name} (pid {proc.pid}) {how}{where}; restarting it in {delay:.0f} s "
                 f"(restart {n} of {self.MAX_CRASHES - 1}). Nothing finished is lost.", "yellow")

    def tend(self, now) -> bool:
        """Start or follow workers as needed; False once nothing runs and nothing more will."""
        busy = False
        needed = {name: kind.needed(now) for name, kind in KINDS.items()}
        for slot in self.slots.values():  # every exit first: a start below marks dead workers lost
            if slot.proc is not None and slot.proc.poll() is not None:
                self._ended(slot, now)
        for slot in self.slots.values():
            kind = KINDS[slot.seat.kind]
            if slot.proc is not None:
                busy = True
                continue
            if self.gave_up(kind.follows) and slot.starts:
                continue  # what it consumes will not come: it has drained and stopped
            if not needed[kind.name] or slot.failed is not None:
                continue
            live = workers.running(self.st, self.exp_id, kind.name, slot.seat.device)
            if live:
                if slot.followed != live[0]["id"]:
                    slot.followed = live[0]["id"]
                    self.say(f"Following the {slot.name} already running (pid {live[0]['pid']} on {live[0]['host']}).", "")
                busy = True
                continue
            if time.monotonic() < slot.not_before:
                busy = True  # a restart is due after its back-off
                continue
            if slot.starts >= self.MAX_STARTS:
                continue
            jobs.reclaim(self.st, self.exp_id)  # jobs of dead workers back to the queue first
            slot.proc = start_worker(self.root, self.name, slot.seat)
            slot.starts += 1
            busy = True
        for slot in self.slots.values():
            follows = KINDS[slot.seat.kind].follows
            if self.gave_up(follows) and slot.proc is not None and slot.proc.poll() is None and not slot.drained:
                slot.proc.send_signal(signal.SIGUSR1)  # what it consumes failed: finish what exists, then stop
                slot.drained = True
        return busy

    def status(self) -> int:
        """The exit status of the first worker that stopped for good, else 0."""
        return next((s.failed for s in self.slots.values() if s.failed is not None), 0)

    def stop_all(self, timeout_s: float = 60.0) -> None:
        """Ask every worker of ours to stop (each finishes the batch in hand and puts the rest of
        its jobs back), wait for them, and kill what is left after ``timeout_s``."""
        procs = [s.proc for s in self.slots.values() if s.proc is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # --- the lifecycle ---------------------------------------------------------------------------

    def run(self, config, stop: threading.Event | None = None, on_tick: Callable | None = None,
            models: tuple[str, tuple[str, ...]] | None = None) -> int:
        """Supervise the experiment from start to end, the one way ``synthdiv run`` and the
        workbench's supervisor process both do it:

        1. register as the experiment's supervisor — or, when another process already is, leave it
           the work (with ``on_tick``, someone watches: follow its workers until they end);
        2. place the workers (a Ray cluster is joined, or started, only now: the run is ours);
        3. fetch the models into the hub cache (unless the caller did: ``models``);
        4. tend the workers until nothing runs and nothing more will, calling ``on_tick(progress)``
           at each poll (``synthdiv run``'s bars);
        5. on ``stop`` or Ctrl-C, stop the workers (each finishes its batch) and put their jobs back;
        6. close the supervisor's row: done, stopped or failed, with why.

        ``config``: the experiment's config, or a function that gives it (called once registered,
        so whoever started this process sees it at once, before the slow imports). Returns 0, or
        the exit status of a worker that stopped for good. Raises :class:`SynthdivError` (also
        recorded on the row) when the workers cannot be placed or a model fetched, and
        KeyboardInterrupt once the workers are stopped after Ctrl-C."""
        from workbench.progress import measure

        stop = stop or threading.Event()
        other = self.register()
        if other is not None:
            return self._leave_to(other, stop, on_tick, models)
        try:
            cfg = config() if callable(config) else config
            model, encoders = self._start(cfg, models, watched=on_tick is not None)
        except SynthdivError as exc:
            self.close("failed", exc.message)
            raise
        except BaseException:
            self.close("failed")
            raise
        try:
            while not stop.is_set():
                now = measure(self.st, self.exp_id, model, encoders)
                busy = self.tend(now)
                if on_tick is not None:  # what the last workers wrote before they exited, too
                    on_tick(now if busy else measure(self.st, self.exp_id, model, encoders))
                if not busy:
                    break
                stop.wait(POLL_S)
        except KeyboardInterrupt:
            self._stop_and_reclaim()
            raise
        except BaseException:
            self.stop_all()
            self.close("failed")
            raise
        if stop.is_set():
            self.say("Asked to stop: stopping the workers (each finishes the batch in hand).", "")
            self._stop_and_reclaim()
            return 0
        self.close("done")
        return self.status()

    def _start(self, cfg, models, watched: bool) -> tuple[str, tuple[str, ...]]:
        """Place the workers and have the models: (the embedding model's stored name, encoders).
        Unless someone watches the progress, the log says which workers were placed."""
        from workbench.cluster import serve
        from workbench.embedding import fetch_models
        from workbench.placement import plan
        from workbench.results import embedding_model

        self.place(plan(cfg, cluster=serve(cfg)))
        if models is None:  # hub models come into the cache first, so their stored names have their commits
            encoders = fetch_models(cfg)[1]
            models = (embedding_model(cfg, self.st, self.exp_id), encoders)
        if not watched:
            self.say(f"Supervising {self.name}: " + ", ".join(s.name for s in self.slots.values()), "")
        return models

    def _leave_to(self, other: dict, stop: threading.Event, on_tick: Callable | None,
                  models: tuple[str, tuple[str, ...]] | None) -> int:
        """Another process supervises the experiment: nothing to do, or (``on_tick``, with the
        ``models`` whose progress it shows) watch its workers until they end."""
        if on_tick is None:
            self.say(f"The experiment already has a supervisor (pid {other['pid']}); this one leaves it the work.", "")
            return 0
        from workbench.progress import measure

        self.say(f"Following the supervisor already running for {self.name} (pid {other['pid']} on"
                 f" {other['host']}: started by the workbench or another synthdiv run).", "")
        model, encoders = models or ("", ())
        while not stop.is_set():
            busy = bool(workers.running(self.st, self.exp_id))
            on_tick(measure(self.st, self.exp_id, model, encoders))
            if not busy:
                break
            stop.wait(POLL_S)
        return 0

    def _stop_and_reclaim(self) -> None:
        self.stop_all()
        jobs.reclaim(self.st, self.exp_id)
        self.close("stopped")


def supervise(root: Path, experiment: str, say: Say = _print, stop: threading.Event | None = None) -> int:
    """Supervise the experiment's workers until it needs none (the workbench's supervisor
    process): :meth:`Supervisor.run`, nothing added. SIGTERM (pause, cancel) stops the workers and
    ends it. 0, 2 when the workers cannot be placed or a model fetched (said, and recorded on the
    supervisor's row), or the exit status of a worker that stopped for good."""
    from workbench.config import from_experiment

    with open_store(root) as st:
        exp = experiments.get(st, experiment)
        sup = Supervisor(st, exp["id"], Path(root), exp["name"], [], say)
        try:
            return sup.run(lambda: from_experiment(exp), stop=stop)
        except SynthdivError as exc:
            say(exc.message, "red")
            return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synthdiv supervisor", description=__doc__)
    parser.add_argument("store", help="the store folder")
    parser.add_argument("experiment", help="the experiment's name in the store")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    return supervise(Path(args.store), args.experiment, stop=stop)


if __name__ == "__main__":
    sys.exit(main())
