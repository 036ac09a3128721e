"""``synthdiv run``: a headless experiment from a config file to images and embeddings.

Checks the whole config first (bad input changes nothing), records the plan in the store,
puts back jobs of dead workers, supervises the workers the experiment needs on the devices it
places them on (:mod:`workbench.supervisor`; or follows the supervisor already running for it),
shows progress, and exits 0 when every job is done and every image embedded.
"""

from __future__ import annotations

import signal
import threading
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
from store.core import Store
from store.images import slug
from workbench.config import ExperimentConfig, load_configs
from workbench.console import note as console_note
from workbench.console import problem
from workbench.control import prepare
from workbench.kinds import KINDS, configured
from workbench.plan import check_size, long_prompt_notes
from workbench.progress import Progressed, measure
from workbench.supervisor import Supervisor

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


def run_experiment(config_path: str, store_dir: str | None, console: Console, yes: bool = False,
                   ray: str | None = None) -> int:
    """Run the file's experiment, or each experiment of its sweep in turn (every one checked
    first); 0 when all finished, 130 on Ctrl-C, else 1 (the others still ran). ``ray``: the
    address of a Ray cluster to run on (``--ray``), in place of the file's ``[cluster]``."""
    cfgs = on_cluster(load_configs(config_path), ray)
    sizes = [check_size(cfg, yes) for cfg in cfgs]
    if len(cfgs) > 1:
        console.print(f"Sweep: {len(cfgs)} experiments, {sum(sizes):,} images in all: "
                      + ", ".join(cfg.name for cfg in cfgs))
    worst = 0
    for i, (cfg, planned) in enumerate(zip(cfgs, sizes, strict=True)):
        if len(cfgs) > 1:
            console.rule(f"{i + 1}/{len(cfgs)}  {cfg.name}")
        status = run_one(cfg, planned, store_dir, console)
        if status == 130:
            return status
        worst = max(worst, status)
    return worst


def on_cluster(cfgs: list[ExperimentConfig], address: str | None) -> list[ExperimentConfig]:
    """The experiments, on the Ray cluster at ``address`` when one is given; ray's extra is
    checked here for any that runs on a cluster, before anything is written (exit 2 without it)."""
    from dataclasses import replace

    from workbench.cluster import require_ray
    from workbench.config import check_address

    if address is not None:
        address = check_address(address, "--ray")
        cfgs = [replace(c, cluster=replace(c.cluster, engine="ray", address=address)) for c in cfgs]
    if any(c.cluster.engine == "ray" for c in cfgs):
        require_ray()
    return cfgs


def run_one(cfg: ExperimentConfig, planned: int, store_dir: str | None, console: Console,
            headline: bool = True) -> int:
    """Run one experiment to its end (resuming what is there); 0 when all finished, 130 on Ctrl-C,
    else 1. ``headline``: print the headline numbers at the end (``synthdiv repair``'s experiments
    do not: its report follows)."""
    from workbench.embedding import fetch_models

    # hub models come into the cache first: one that cannot be had fails here, not after every image
    model_name, encoders = fetch_models(cfg, console.print)
    root = check_writable(store_dir or default_store(cfg))
    started = time.monotonic()
    with open_store(root, create=True) as st:
        p = _prepare_with_progress(st, cfg, planned, console)
        exp_id = p.experiment_id
        _say_plan(console, cfg, p, root)
        before = measure(st, exp_id, model_name, encoders)
        if before.finished:
            trained = f" and {before.train_runs} training runs finished" if before.train_runs else ""
            console.print(
                f"Nothing to do: all {before.total} images are generated and embedded "
                f"({before.texts_embedded} prompt embeddings){trained}. See: synthdiv status {root}"
            )
            if headline:
                _headline(st, exp_id, model_name, console)
            return 0
        supervisor = Supervisor(st, exp_id, root, cfg.name, [], lambda text, style: console.print(text, style=style or None))
        main_thread = threading.current_thread() is threading.main_thread()  # signals are the main thread's
        previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None  # a pause: stop as Ctrl-C does
        try:
            with _Bars(console, before, list(configured(cfg))) as bars:
                status = supervisor.run(cfg, on_tick=bars.update, models=(model_name, encoders))
        except KeyboardInterrupt:
            console.print("Stopped. Run the same command again to resume; nothing finished is lost.")
            return 130
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
        after = measure(st, exp_id, model_name, encoders)
        elapsed = time.monotonic() - started
        made = after.done - before.done
        rate = f" ({made / elapsed:.2f} images/s)" if made and elapsed > 0 else ""
        console.print(
            f"Generated {made} images{rate}; the experiment has {after.done}/{after.total} images,"
            f" {after.embedded} image embeddings and {after.texts_embedded} prompt embeddings"
            f" ({model_name})" + (f"; {after.train_runs - after.train_open - after.train_failed}/{after.train_runs}"
                                  " training runs finished" if after.train_runs else "") + f". {elapsed:.0f} s."
        )
        if status != 0 or after.failed or after.train_failed or not after.finished:
            _report_failures(st, exp_id, console)
            return 1
        if headline:
            _headline(st, exp_id, model_name, console)
        console.print(f"Store: {root}  ·  details: synthdiv status {root}")
        return 0


def _say_plan(console: Console, cfg: ExperimentConfig, p, root: Path) -> None:
    """What the run is about to do: notes on the config, the plan, and what resuming found."""
    for note in cfg.notes() + long_prompt_notes(cfg):
        console.print(console_note(note))
    own = (f", {len(cfg.overrides)} of them with settings of their own ([classes.overrides]:"
           f" {', '.join(label for label, _ in cfg.overrides[:3])}{' …' if len(cfg.overrides) > 3 else ''})"
           if cfg.overrides else "")
    console.print(
        f"Experiment {cfg.name}: {len(cfg.classes)} classes × {len(cfg.templates)} templates"
        f" × {cfg.generation.images_per_prompt} seeds{own} = {p.jobs} images, store {root}"
    )
    if cfg.cluster.engine == "ray":
        console.print(f"On the Ray cluster ({cfg.cluster.address}): the models run in actors there; the store stays"
                      f" here. Logs: {root / 'logs'}")
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
    if p.runs_retried:
        console.print(f"Retrying {p.runs_retried} training runs that failed before (each from its last epoch).")
    if p.real_added:
        console.print(f"Real set: {p.real_added} images from {cfg.real} added to the store.")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class _Bars:
    """``synthdiv run``'s progress bars, one per kind the experiment runs, with each kind's rate
    since the run began; drawn from the first update on (a run that cannot start shows none)."""

    COLUMNS = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn())

    def __init__(self, console: Console, before: Progressed, kinds: list[str]) -> None:
        self.console, self.before, self.kinds = console, before, kinds
        self.bar: Progress | None = None
        self.tasks: dict[str, int] = {}
        self.t0 = time.monotonic()

    def __enter__(self) -> "_Bars":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, now: Progressed) -> None:
        if self.bar is None:
            self.bar = Progress(*self.COLUMNS, console=self.console, transient=False)
            self.bar.start()
            for name, kind in KINDS.items():
                if name in self.kinds:
                    completed, total = kind.progress(self.before)
                    self.tasks[name] = self.bar.add_task(kind.bar, total=total, completed=completed, rate="")
        dt = max(time.monotonic() - self.t0, 1e-9)
        for name, task in self.tasks.items():
            (value, total), (start, _) = KINDS[name].progress(now), KINDS[name].progress(self.before)
            rate = f"{(value - start) / dt:.2f} {KINDS[name].unit}/s" if value > start else ""
            self.bar.update(task, total=total, completed=value, rate=rate)


def _headline(st: Store, exp_id: int, model: str, console: Console) -> None:
    """The headline numbers and the worst classes, from the (stored or fresh) analysis."""
    from workbench.analysis import ensure
    from workbench.printing import print_causes, print_summary

    try:
        analysis = ensure(st, exp_id, model)
    except Exception as exc:  # noqa: BLE001 - the run itself succeeded; say why the tables are missing
        console.print(f"The analysis failed ({type(exc).__name__}: {exc}); synthdiv report {st.root} tries again.",
                      style="yellow")
        return
    if analysis is None:
        return
    from store import training
    from workbench.printing import print_training
    from workbench.trained import with_pixel

    runs = training.runs(st, exp_id)
    result = with_pixel(analysis["result"], runs)
    print_summary(console, result, model)
    print_training(console, runs)
    print_causes(console, result, limit=5)


def _report_failures(st: Store, exp_id: int, console: Console) -> None:
    from store.workers import worker_problem
    from synthdiv.errors import first_line

    for w in workers.recent(st, exp_id, limit=4):
        if w["state"] in ("failed", "lost", "given_up") and w["error"]:
            who, why = worker_problem(w)
            console.print(problem(f"{who}:", why))
    from store import training

    for r in training.runs(st, exp_id):
        if r["state"] == "failed":
            console.print(problem(f"training run {r['name']} failed:", first_line(r["error"] or "")))
    for j in jobs.errors(st, exp_id, limit=3):
        console.print(problem(f"job {j['id']} ({j['class_name']}, seed {j['seed']}, {j['state']}):", first_line(j['error'])))
    console.print(f"Worker logs: {st.root / 'logs'}. Run the same command again to retry.")
