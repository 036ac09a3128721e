"""``synthdiv run``: a headless experiment from a config file to images and embeddings.

Checks the whole config first (bad input changes nothing), records the plan in the store,
puts back jobs of dead workers, starts a generation and an embedding worker process (unless
live ones already serve the experiment, which it then follows), shows progress, and exits
0 when every job is done and every image embedded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from store import check_writable, jobs, open_store, workers
from store.core import Store, disk_full
from store.images import slug
from synthdiv.embed import embedder_identity, resolve_embedder
from workbench.config import ExperimentConfig, load_configs
from workbench.console import note as console_note
from workbench.console import problem
from workbench.control import prepare
from workbench.kinds import KINDS
from workbench.plan import check_size, long_prompt_notes
from workbench.progress import Progressed, measure
from workbench.worker_common import DISK_FULL_EXIT

POLL_S = 0.5


def _prepare_with_progress(st: Store, cfg: ExperimentConfig, planned: int, console: Console):
    """:func:`prepare`, with a progress bar while a large plan's jobs are registered."""
    if planned < 200_000:
        return prepare(st, cfg)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("recording the plan", total=planned)
        return prepare(st, cfg, progress=lambda n: bar.update(task, completed=n))


def default_store(cfg: ExperimentConfig) -> Path:
    """The store folder: the config's ``store`` key, else ``runs/<name>`` in the working folder."""
    return Path(cfg.store) if cfg.store else Path("runs") / slug(cfg.name, 80)


def start_worker(root: Path, experiment: str, kind: str, detach: bool = False) -> subprocess.Popen:
    """Start a worker process; its output goes to ``logs/<kind>.log`` in the store.

    ``detach``: in a session of its own, so it goes on when the UI that started it quits or its
    terminal hangs up (``synthdiv run`` keeps its workers in its own group, so Ctrl-C stops all).
    """
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / f"{kind}.log", "ab") as log:
        return subprocess.Popen(
            worker_command(kind, root, experiment),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1"}, start_new_session=detach,
        )


# ``python -m workbench.worker`` would put the working folder first on sys.path, so a folder named
# ``store``, ``screens`` or ``workbench`` there (``--store store`` makes one) would be imported in
# place of synthdiv's own, and its code would run in the worker. ``-c`` puts "" (the working
# folder) first instead, which this drops before importing anything; PYTHONSAFEPATH (Python 3.11+)
# keeps it from being added at all, for the worker and any Python process it starts.
_SAFE_START = ("import sys\n"
               "if sys.path and sys.path[0] == '': del sys.path[0]\n"
               "from workbench.worker import main\n"
               "sys.exit(main())")


def worker_command(kind: str, root: Path, experiment: str) -> list[str]:
    """The command line of a worker process: it imports synthdiv's packages as installed, never
    a same-named folder of the working directory."""
    return [sys.executable, "-c", _SAFE_START, kind, str(root), experiment]


def run_experiment(config_path: str, store_dir: str | None, console: Console, yes: bool = False) -> int:
    """Run the file's experiment, or each experiment of its sweep in turn (every one checked
    first); 0 when all finished, 130 on Ctrl-C, else 1 (the others still ran)."""
    cfgs = load_configs(config_path)
    sizes = [check_size(cfg, yes) for cfg in cfgs]
    if len(cfgs) > 1:
        console.print(f"Sweep: {len(cfgs)} experiments, {sum(sizes):,} images in all: "
                      + ", ".join(cfg.name for cfg in cfgs))
    worst = 0
    for i, (cfg, planned) in enumerate(zip(cfgs, sizes, strict=True)):
        if len(cfgs) > 1:
            console.rule(f"{i + 1}/{len(cfgs)}  {cfg.name}")
        status = _run_one(cfg, planned, store_dir, console)
        if status == 130:
            return status
        worst = max(worst, status)
    return worst


def _run_one(cfg: ExperimentConfig, planned: int, store_dir: str | None, console: Console) -> int:
    model_name, _ = embedder_identity(resolve_embedder(cfg.embedding.model, cfg.embedding.pretrained))
    root = check_writable(store_dir or default_store(cfg))
    started = time.monotonic()
    with open_store(root, create=True) as st:
        p = _prepare_with_progress(st, cfg, planned, console)
        exp_id = p.experiment_id
        for note in cfg.notes() + long_prompt_notes(cfg):
            console.print(console_note(note))
        console.print(
            f"Experiment {cfg.name}: {len(cfg.classes)} classes × {len(cfg.templates)} templates"
            f" × {cfg.generation.images_per_prompt} seeds = {p.jobs} images, store {root}"
        )
        if p.added and p.added != p.jobs:
            console.print(f"{p.added} new jobs added to the experiment.")
        if p.reclaimed:
            console.print(f"Resuming: {p.reclaimed} jobs left unfinished by a stopped worker go back to the queue.")
        if p.missing:
            shown = ", ".join(p.missing[:3]) + (f" and {len(p.missing) - 3} more" if len(p.missing) > 3 else "")
            console.print(f"{len(p.missing)} recorded images were missing from {root} ({shown}): "
                          "they go back to the queue and will be made again.")
        if p.retried:
            console.print(f"Retrying {p.retried} jobs that failed before.")
        if p.real_added:
            console.print(f"Real set: {p.real_added} images from {cfg.real} added to the store.")
        before = measure(st, exp_id, model_name)
        if before.done == before.total and before.embedding_done:
            console.print(
                f"Nothing to do: all {before.total} images are generated and embedded "
                f"({before.texts_embedded} prompt embeddings). See: synthdiv status {root}"
            )
            _headline(st, exp_id, model_name, console)
            return 0
        supervisor = Supervisor(st, exp_id, root, cfg.name, console)
        try:
            status = _watch(st, exp_id, model_name, supervisor, before, console)
        except KeyboardInterrupt:
            supervisor.stop_all()
            jobs.reclaim(st, exp_id)
            console.print("Stopped. Run the same command again to resume; nothing finished is lost.")
            return 130
        after = measure(st, exp_id, model_name)
        elapsed = time.monotonic() - started
        made = after.done - before.done
        rate = f" ({made / elapsed:.2f} images/s)" if made and elapsed > 0 else ""
        console.print(
            f"Generated {made} images{rate}; the experiment has {after.done}/{after.total} images,"
            f" {after.embedded} image embeddings and {after.texts_embedded} prompt embeddings"
            f" ({model_name}). {elapsed:.0f} s."
        )
        if status != 0 or after.failed or after.done < after.total or not after.embedding_done:
            _report_failures(st, exp_id, console)
            return 1
        _headline(st, exp_id, model_name, console)
        console.print(f"Store: {root}  ·  details: synthdiv status {root}")
        return 0


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


class Supervisor:
    """Keeps one worker of each kind (:data:`workbench.kinds.KINDS`) on the experiment while it
    needs that kind.

    Workers already running for it (started by another ``synthdiv run`` or by the app) are
    followed, not doubled: a worker refuses to register beside a live one of its kind, so two runs
    started together still make one set. When a followed worker disappears with work left, a new
    one is started in its place. A worker of ours that fails and records why (a model that does not
    load, a full disk) is not restarted: its error is reported. One that dies without a word
    (killed by a signal — the out-of-memory killer sends SIGKILL — or crashed) is restarted after a
    back-off, and the run says how it ended; after ``MAX_CRASHES`` in a row it gives up and says so.
    """

    MAX_CRASHES = 3
    BACKOFF_S = (1.0, 3.0)  # before the first and second restart
    MAX_STARTS = 20  # starts of a kind in all: a guard against a worker that keeps leaving at once

    def __init__(self, st: Store, exp_id: int, root: Path, name: str, console: Console) -> None:
        self.st, self.exp_id, self.root, self.name, self.console = st, exp_id, root, name, console
        self.procs: dict[str, subprocess.Popen] = {}
        self.starts: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        self.crashes: dict[str, int] = {}
        self.not_before: dict[str, float] = {}
        self.followed: set[int] = set()
        self.drained: set[str] = set()

    def needed(self, now: Progressed) -> dict[str, bool]:
        return {name: kind.needed(now) for name, kind in KINDS.items()}

    def _ended(self, kind: str, proc: subprocess.Popen, now: Progressed) -> None:
        """Our ``kind`` worker has exited: note a failure it recorded, or schedule a restart."""
        del self.procs[kind]
        rc = proc.returncode
        if rc == 0:
            self.crashes[kind] = 0
            return
        row = workers.of_process(self.st, self.exp_id, proc.pid)
        if rc == DISK_FULL_EXIT:
            self.failed[kind] = rc
            full = disk_full(self.root)
            self.console.print(f"The {kind} worker stopped: {full.message}", style="red")
            if row is not None and row["state"] == "running":  # it could not record it: record it here
                try:
                    workers.stop(self.st, row["id"], "failed", full.message)
                except Exception:  # noqa: BLE001 - still full: the next run marks it lost
                    pass
            return
        if row is not None and row["state"] == "failed":
            self.failed[kind] = rc  # it said why; reported at the end
            return
        how = how_it_ended(rc)
        if row is not None and row["state"] == "running":
            workers.stop(self.st, row["id"], "lost", f"the process {how}")
        n = self.crashes[kind] = self.crashes.get(kind, 0) + 1
        completed, total = KINDS[kind].progress(now)
        where = f" at {completed}/{total} {KINDS[kind].processed}"
        if n >= self.MAX_CRASHES:
            self.failed[kind] = rc
            self.console.print(f"The {kind} worker (pid {proc.pid}) {how}{where}; that is {n} times in a row, "
                               "so it is not started again.", style="red")
            return
        delay = self.BACKOFF_S[min(n - 1, len(self.BACKOFF_S) - 1)]
        self.not_before[kind] = time.monotonic() + delay
        self.console.print(f"The {kind} worker (pid {proc.pid}) {how}{where}; restarting it in {delay:.0f} s "
                           f"(restart {n} of {self.MAX_CRASHES - 1}). Nothing finished is lost.", style="yellow")

    def tend(self, now: Progressed) -> bool:
        """Start or follow workers as needed; False once nothing runs and nothing more will."""
        busy = False
        for kind, need in self.needed(now).items():
            proc = self.procs.get(kind)
            if proc is not None and proc.poll() is None:
                busy = True
                continue
            if proc is not None:
                self._ended(kind, proc, now)
            follows = KINDS[kind].follows
            if follows in self.failed and self.starts.get(kind):
                continue  # what it consumes failed: it has drained and stopped
            if not need or kind in self.failed:
                continue
            live = workers.running(self.st, self.exp_id, kind)
            if live:
                for w in live:
                    if w["id"] not in self.followed:
                        self.followed.add(w["id"])
                        self.console.print(
                            f"Following the {kind} worker already running (pid {w['pid']} on {w['host']}).")
                busy = True
                continue
            if time.monotonic() < self.not_before.get(kind, 0.0):
                busy = True  # a restart is due after its back-off
                continue
            if self.starts.get(kind, 0) >= self.MAX_STARTS:
                continue
            jobs.reclaim(self.st, self.exp_id)  # jobs of dead workers back to the queue first
            self.procs[kind] = start_worker(self.root, self.name, kind)
            self.starts[kind] = self.starts.get(kind, 0) + 1
            busy = True
        for name, kind in KINDS.items():
            proc = self.procs.get(name)
            if kind.follows in self.failed and proc is not None and proc.poll() is None and name not in self.drained:
                proc.send_signal(signal.SIGUSR1)  # what it consumes failed: finish what exists, then stop
                self.drained.add(name)
        return busy

    def status(self) -> int:
        return next(iter(self.failed.values()), 0)

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _watch(st: Store, exp_id: int, model: str, sup: Supervisor, before: Progressed, console: Console) -> int:
    """Show progress while workers run; the first failed worker's exit status, else 0."""
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn())
    t0 = time.monotonic()
    with Progress(*columns, console=console, transient=False) as bar:
        tasks = {}
        for name, kind in KINDS.items():
            completed, total = kind.progress(before)
            tasks[name] = bar.add_task(kind.bar, total=total, completed=completed, rate="")
        while True:
            now = measure(st, exp_id, model)
            busy = sup.tend(now)
            if not busy:
                now = measure(st, exp_id, model)  # what the last workers wrote before they exited
            dt = max(time.monotonic() - t0, 1e-9)
            for name, task in tasks.items():
                (value, total), (start, _) = KINDS[name].progress(now), KINDS[name].progress(before)
                rate = f"{(value - start) / dt:.2f} img/s" if value > start else ""
                bar.update(task, total=total, completed=value, rate=rate)
            if not busy:
                return sup.status()
            time.sleep(POLL_S)


def _headline(st: Store, exp_id: int, model: str, console: Console) -> None:
    """The headline numbers and the worst classes, from the (stored or fresh) analysis."""
    from workbench.analysis import ensure
    from workbench.report import print_causes, print_summary

    try:
        analysis = ensure(st, exp_id, model)
    except Exception as exc:  # noqa: BLE001 - the run itself succeeded; say why the tables are missing
        console.print(f"The analysis failed ({type(exc).__name__}: {exc}); synthdiv report {st.root} tries again.",
                      style="yellow")
        return
    if analysis is None:
        return
    print_summary(console, analysis["result"], model)
    print_causes(console, analysis["result"], limit=5)


def _report_failures(st: Store, exp_id: int, console: Console) -> None:
    for w in workers.recent(st, exp_id, limit=4):
        if w["state"] in ("failed", "lost") and w["error"]:
            console.print(problem(f"{w['kind']} worker failed:", w['error'].strip().splitlines()[0]))
    for j in jobs.errors(st, exp_id, limit=3):
        console.print(problem(f"job {j['id']} ({j['class_name']}, seed {j['seed']}, {j['state']}):",
                              (j['error'] or '').strip().splitlines()[0] if j['error'] else ''))
    console.print(f"Worker logs: {st.root / 'logs'}. Run the same command again to retry.")
