"""Running an experiment from the workbench: record its plan, start, pause, resume and cancel
its workers. ``synthdiv run`` and the app share :func:`prepare`.

Workers started here run in a session of their own: they go on when the UI quits or the SSH
link drops, and opening the store again re-attaches to them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store import check_writable, experiments, images, jobs, open_store, training, workers
from store.core import Store
from synthdiv.errors import SynthdivError
from workbench.config import ExperimentConfig, from_experiment, parse_config, to_table
from workbench.kinds import KINDS, SUPERVISOR
from workbench.plan import check_size, jobs_of, prompts_and_classes, size
from workbench.progress import measure
from workbench.real import register_real

CONFIG_FILE = "experiment.toml"


@dataclass(frozen=True)
class Prepared:
    experiment_id: int
    jobs: int  # jobs in the plan
    added: int  # new jobs put in the queue
    reclaimed: int  # jobs of stopped workers put back
    retried: int  # failed jobs given another try
    real_added: int  # real images added
    missing: tuple[str, ...] = ()  # recorded images whose file was gone: back in the queue
    runs_retried: int = 0  # failed training runs given another try (from their last checkpoint)


def requeue_missing(st: Store, experiment_id: int) -> list[str]:
    """Put back in the queue the experiment's images whose PNG file no longer exists (deleted by
    hand, lost with a disk); return their paths. Cheap: one ``stat`` per image (the full SHA-256
    check is ``synthdiv check``)."""
    gone = images.damaged_files(st, experiment_id, read=False)
    return images.requeue(st, [r["id"] for r in gone], "the image file was missing when the experiment was started")


def prepare(st: Store, cfg: ExperimentConfig, progress=None) -> Prepared:
    """Record the experiment and what is missing of its plan (jobs not in the queue, recorded
    images whose file is gone), put back work that stopped half-way, and add its real images.
    Nothing already stored changes. The jobs are registered in bounded batches, whatever the
    plan's size; ``progress(jobs registered so far)`` follows them."""
    exp_id = experiments.ensure(st, cfg.name, cfg.stored(), cfg.settings())
    added = experiments.register_plan(st, exp_id, list(cfg.classes), list(cfg.all_templates()), prompts_and_classes(cfg),
                                      jobs_of(cfg), progress=progress)
    reclaimed = jobs.reclaim(st, exp_id)
    retried = jobs.retry_failed(st, exp_id)
    missing = requeue_missing(st, exp_id)
    from workbench.training import wanted_runs

    training.plan(st, exp_id, wanted_runs(cfg))
    training.reclaim(st, exp_id)
    return Prepared(exp_id, size(cfg), added, reclaimed, retried, register_real(st, exp_id, cfg), tuple(missing),
                    training.retry_failed(st, exp_id))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[\n" + "".join(f"    {_toml_value(x)},\n" for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_tables(path: list[str], table: dict[str, Any]) -> list[str]:
    """``table`` as a TOML table headed ``[path]``, its sub-tables after it (``[classes.overrides."7"]``)."""
    out = [f"\n[{'.'.join(_toml_key(p) for p in path)}]"]
    out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for k, v in table.items():
        if isinstance(v, dict):
            out += _toml_tables([*path, k], v)
    return out


def to_toml(data: dict[str, Any]) -> str:
    """A config table (top-level keys, sections and their sub-tables) as TOML text."""
    head = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    body = []
    for section, table in data.items():
        if isinstance(table, dict):
            body += _toml_tables([section], table)
    return "\n".join(["# written by the synthdiv workbench; run it headless with: synthdiv run THIS_FILE",
                      *head, *body]) + "\n"


def check(data: dict[str, Any], base_dir: Path | None = None) -> ExperimentConfig:
    """Check a config table as the setup screen builds it (the same rules as a TOML file)."""
    return parse_config(data, "setup", (base_dir or Path.cwd()).resolve())


def launch(data: dict[str, Any], store_dir: str | Path) -> tuple[Path, ExperimentConfig, Prepared, list[str]]:
    """Check the config, write it to the store as ``experiment.toml``, record the plan and start
    the workers. Bad input raises before anything is written."""
    cfg = check(data)
    check_size(cfg, False, "run it from a shell: synthdiv run CONFIG --yes")
    root = check_writable(store_dir)
    with open_store(root, create=True) as st:
        prepared = prepare(st, cfg)
        (root / CONFIG_FILE).write_text(to_toml(to_table(cfg)), encoding="utf-8")
        started = start_needed(st, root, experiments.get(st, cfg.name))
    return root, cfg, prepared, started


def start_workers(st: Store, root: Path, name: str) -> list[str]:
    """Start (or resume) the workers the experiment ``name`` still needs;
    first its plan is recorded again (:func:`prepare`: jobs dropped by a cancel, jobs of stopped
    workers, failed jobs and images whose file is gone go back in the queue). Returns the kinds started."""
    exp = experiments.get(st, name)
    prepare(st, from_experiment(exp))
    return start_needed(st, root, exp)


def start_needed(st: Store, root: Path, exp: dict) -> list[str]:
    """Start a supervisor (:mod:`workbench.supervisor`) for the (prepared) experiment ``exp``
    when it needs workers and has none; it places and starts them, and goes on when the UI quits.
    Returns the kinds it will start (empty when a supervisor already runs or nothing is needed)."""
    from workbench.results import embedding_model
    from workbench.supervisor import start_supervisor

    if workers.running(st, exp["id"], SUPERVISOR):
        return []
    now = measure(st, exp["id"], embedding_model(from_experiment(exp), st, exp["id"]))
    needed = [name for name, kind in KINDS.items() if kind.needed(now)]
    if needed:
        start_supervisor(root, exp["name"])
    return needed


def live_workers(st: Store) -> list[dict]:
    """Workers running for any experiment of the store."""
    return [w for name in experiments.names_of(st) for w in workers.running(st, experiments.get(st, name)["id"])]


def stop_workers(st: Store) -> int:
    """Ask every supervisor and worker of the store to stop (SIGTERM: a supervisor stops its
    workers and exits; a worker finishes the batch in hand and puts the rest of its jobs back).
    Supervisors are asked first, so none restarts a worker that was asked to stop. Only this
    machine's processes are signalled: the actors of a cluster run end with the process that feeds
    them. Returns how many processes were asked."""
    asked = 0
    for w in sorted(live_workers(st), key=lambda w: w["kind"] != SUPERVISOR):
        if w.get("parent_id") or w["host"] != socket.gethostname():
            continue  # a cluster's actor (its pid is another machine's): the process feeding it ends it
        try:
            os.kill(w["pid"], signal.SIGTERM)
            asked += 1
        except (ProcessLookupError, PermissionError):
            pass
    return asked


def cancel(st: Store, exp: dict) -> tuple[int, int]:
    """Stop the workers and drop the experiment's pending jobs and training runs (finished images
    and runs are kept; a run stopped half-way keeps its checkpoint). Returns (workers asked to
    stop, jobs dropped)."""
    asked = stop_workers(st)
    training.cancel_pending(st, exp["id"])
    return asked, jobs.cancel_pending(st, exp["id"])


def experiment(st: Store, wanted: str | None) -> dict:
    """The experiment named ``wanted``, else the store's first one."""
    names = experiments.names_of(st)
    if not names:
        raise SynthdivError("this store holds no experiment yet", "set one up with synthdiv, or synthdiv run CONFIG")
    return experiments.get(st, wanted or names[0])
