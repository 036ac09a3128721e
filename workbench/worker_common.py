"""What every worker process shares: registration, a heartbeat thread, stop signals, failure."""

from __future__ import annotations

import os
import signal
import threading
import traceback
from pathlib import Path
from typing import Callable

from store import StoreError, jobs, open_store, workers
from store.core import as_disk_full, pid_alive
from synthdiv.errors import SynthdivError


DISK_FULL_EXIT = 75  # EX_TEMPFAIL: stopped because the disk is full; free space and run again
RESTART_EXIT = 79  # stopped to be started again now, at the priority it started with (workbench.priority)


def remove_files_of_dead(paths, pid_in: Callable[[str], str]) -> int:
    """Delete the files among ``paths`` whose process is gone (``pid_in(name)`` is the pid written
    in the file's name; a name without one counts as gone); return how many."""
    removed = 0
    for path in paths:
        try:
            alive = pid_alive(int(pid_in(path.name)))
        except (ValueError, IndexError):
            alive = False
        if not alive:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


RESERVE_BYTES = 1 << 20


class SpaceReserve:
    """A file of ``RESERVE_BYTES`` that a worker keeps in the store folder while it runs, and
    deletes when the disk is full: the space it gives back lets the worker record why it stopped
    and put its jobs back (SQLite cannot write a byte on a full disk). Reserves of dead workers
    (their pid is in the name) are removed by the next worker."""

    def __init__(self, root: Path) -> None:
        self.path = root / f".synthdiv-reserve.{os.getpid()}"
        remove_files_of_dead(root.glob(".synthdiv-reserve.*"), lambda name: name.rsplit(".", 1)[-1])
        try:
            with open(self.path, "wb") as f:
                f.write(b"\0" * RESERVE_BYTES)
                f.flush()
                os.fsync(f.fileno())
        except OSError:  # the disk is already full: work without one
            self.path.unlink(missing_ok=True)

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def io_threads() -> int:
    """Threads for image files (encoding PNGs, or decoding and resizing them): one per core, at
    most 8. zlib and PIL's resampling release the GIL, so they scale with cores; one thread caps
    a worker at ~28 images/s written or ~130/s read at 512 px (BENCHMARKS.md)."""
    return max(1, min(8, os.cpu_count() or 1))


def file_threads(device_type: str) -> int:
    """Threads a worker whose model runs on ``device_type`` gives to its image files: with the
    model on a GPU, :func:`io_threads`; on the CPU one — the worker's own thread — since the
    model's threads need the cores (two file threads beside the CPU model halved the embedding
    rate on 2 cores)."""
    return 1 if device_type == "cpu" else io_threads()


class StopFlag:
    """Set by SIGTERM/SIGINT (stop soon: finish the batch in hand) or SIGUSR1 (drain, then exit)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.drain = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        signal.signal(signal.SIGUSR1, lambda *_: self.drain.set())


class Heartbeat(threading.Thread):
    """Refreshes the worker's heartbeat every few seconds on its own connection, with its
    niceness; applies its ``priority`` rule (:mod:`workbench.priority`) first. When the rule wants
    a priority this process may not set, it sets ``restart`` and asks the worker to stop."""

    def __init__(self, root, worker_id: int, every_s: float = 5.0, priority=None, flag: "StopFlag | None" = None) -> None:
        super().__init__(daemon=True, name="heartbeat")
        self.root, self.worker_id, self.every_s = root, worker_id, every_s
        self.priority, self.flag = priority, flag
        self.processed = 0
        self.restart = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        wait = min(1.0, self.every_s)  # the first beat soon: a generation worker started beside it has registered by then
        with open_store(self.root) as st:
            while not self._done.wait(wait):
                try:
                    self.beat(st)
                except Exception:  # noqa: BLE001 - a missed beat is retried next time
                    pass
                wait = self.every_s

    def beat(self, st) -> None:
        if self.priority is not None and not self.restart.is_set() and not self.priority.follow(st):
            self.restart.set()
            if self.flag is not None:
                self.flag.stop.set()  # it finishes the batch in hand and returns
        workers.heartbeat(st, self.worker_id, self.processed,
                          nice=self.priority.now if self.priority is not None else os.getpriority(os.PRIO_PROCESS, 0))

    def close(self) -> None:
        self._done.set()


def error_text(exc: BaseException) -> str:
    """One line for a user-facing error; the last frames for anything unexpected."""
    if isinstance(exc, SynthdivError):
        return exc.message
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return f"{type(exc).__name__}: {exc}\n" + "".join(tb[-3:])


def run_worker(root, experiment_id: int, kind: str, body: Callable[..., str], device: str = "", priority=None) -> int:
    """Register a worker of ``kind`` on ``device``, run ``body(store, worker_id, flag, heartbeat)``,
    record the end.

    ``body`` returns the final state (``done`` or ``stopped``). Exit status 0, or 1 on failure
    with the error recorded on the worker row for the CLI and the UI to show; on a full disk
    :data:`DISK_FULL_EXIT`, which tells the supervisor even when no row could be written; when its
    ``priority`` rule wants a priority this process may not set, ``stopped`` and
    :data:`RESTART_EXIT`, on which the supervisor starts it again at once.
    """
    flag = StopFlag()
    flag.install()
    st = open_store(root)
    reserve = SpaceReserve(st.root)
    try:
        worker_id = workers.register(st, experiment_id, kind, device)
    except workers.AlreadyServed as exc:  # another run or the workbench started one first: leave it the work
        reserve.release()
        print(exc.message, flush=True)
        st.close()
        return 0
    except StoreError as exc:  # nothing registered: nothing to record or release
        reserve.release()
        st.close()
        full = as_disk_full(exc, st.root)
        print(exc.message, flush=True)
        return DISK_FULL_EXIT if full is not None else 1
    beat = Heartbeat(root, worker_id, priority=priority, flag=flag)
    beat.start()
    try:
        state = body(st, worker_id, flag, beat)
        workers.stop(st, worker_id, state, processed=beat.processed)
        return RESTART_EXIT if beat.restart.is_set() and state == "stopped" else 0
    except BaseException as exc:  # noqa: BLE001 - a worker records every failure before it exits
        full = as_disk_full(exc, st.root)
        text = full.message if full is not None else error_text(exc)
        reserve.release()  # room to record it
        try:
            workers.stop(st, worker_id, "failed", text, processed=beat.processed)
        except Exception:  # noqa: BLE001 - a full disk may refuse even this; the exit status says it
            pass
        try:
            print(text, flush=True)
        except OSError:
            pass
        return DISK_FULL_EXIT if full is not None else 1
    finally:
        beat.close()
        try:
            jobs.release(st, worker_id)
        except StoreError:  # a full disk: the next run puts its jobs back (the worker is not alive then)
            pass
        st.close()
        reserve.release()
