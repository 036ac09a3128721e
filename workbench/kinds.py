"""The registry of worker kinds: everything synthdiv knows about a kind of worker, in one place.

The worker entry point (:mod:`workbench.worker`), the supervisor (:mod:`workbench.run`), control
(start / pause / cancel, :mod:`workbench.control`), status and the UI read this table; nothing
else lists kinds. Adding a kind is one entry here plus its body module.

A body is named as ``"module:function"`` and imported only inside the worker process, so reading
the registry (the UI does, on every refresh) never imports torch. A kind with a ``cluster_body``
runs on a Ray cluster when the experiment asks for one: a single worker process here (on the seat
``ray``) owns the kind's work in the store and feeds actors on the cluster's nodes. It is called as
``body(store, experiment_id, config, worker_id, stop_flag, heartbeat)`` and returns the worker's
final state, ``done`` or ``stopped``; it counts its progress in ``heartbeat.processed``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from workbench.progress import Progressed


SUPERVISOR = "supervisor"  # the kind recorded for a supervisor process (workbench.supervisor): not a worker kind


@dataclass(frozen=True)
class WorkerKind:
    name: str
    body: str  # "module:function", imported in the worker process only
    needed: Callable[[Progressed], bool]  # whether the experiment still needs this kind of worker
    bar: str  # the progress bar's label in ``synthdiv run``
    progress: Callable[[Progressed], tuple[int, int]]  # (completed, total) of the kind's bar
    processed: str  # what the worker row's ``processed`` counts, in words
    unit: str = "img"  # the unit of its progress bar's rate
    # Its priority rule (workbench.priority): ``nice`` steps lower in priority while a worker of
    # ``yields_to`` of its experiment runs on this machine's CPU, at the priority it started with
    # otherwise. Without ``yields_to`` a kind always runs at the priority it started with.
    nice: int = 0
    yields_to: str | None = None
    live_analysis: bool = False  # whether it re-runs the analysis as results arrive
    follows: str | None = None  # the kind whose output it consumes: drained when that one fails
    section: str = ""  # the config section whose ``devices`` places it and whose ``device`` it runs on
    auto: str = "each"  # what ``devices = "auto"`` gives it: "each" visible GPU, or "one" (the last)
    configured: Callable[[object], bool] = lambda cfg: True  # whether an ExperimentConfig asks for it at all
    # how much of its work waits now, read off a store.status.experiment_summary (status and the
    # dashboard call a worker that makes no progress while work waits stalled: workbench.priority)
    waiting: Callable[[dict], int] = lambda summary: 0
    waiting_what: str = "images"
    cluster_body: str = ""  # its body with ``[cluster] engine = "ray"`` (the seat's device is "ray"); "" runs here

    def load_body(self, on_cluster: bool = False) -> Callable[..., str]:
        module, _, function = (self.cluster_body if on_cluster else self.body).partition(":")
        return getattr(importlib.import_module(module), function)


# Why the embedding worker runs at nice 19 beside CPU generation: it yields the CPU to it. It catches up in
# moments once generation is done, whereas every cycle it takes from generation delays the whole
# run. Nice 10 was not enough on 2 cores: it still got ~10 % of a core, the generation worker's
# parallel kernels then waited on their slowed thread, and generation lost 5–20 % (end to end
# 0.79–0.96 of generation alone, BENCHMARKS.md). At nice 19 (~1.5 % of a contended core)
# embedding still keeps pace with generation. Not SCHED_IDLE: a process that gets no CPU at all
# while holding the store's write lock would stall the generation worker's writes.
# Only beside it: at nice 19 on a machine other people's jobs load, embedding starved (0 of 24
# images in 4.5 minutes after generation had ended), so it returns to normal priority once no CPU
# generation worker of its experiment runs here. Training and the final analysis run at normal
# priority; the live analyses during generation run in the embedding worker, at its priority.
KINDS: dict[str, WorkerKind] = {
    kind.name: kind for kind in (
        WorkerKind(
            name="generation", body="workbench.generation:generate_jobs",
            needed=lambda now: now.generating,
            bar="generate", progress=lambda now: (now.done, now.total), processed="images made",
            section="generation", auto="each",
            waiting=lambda s: s["jobs"]["pending"] + s["jobs"]["running"], waiting_what="images to make",
            cluster_body="workbench.cluster_generation:generate_on_cluster",
        ),
        WorkerKind(
            name="embedding", body="workbench.embedding:follow",
            needed=lambda now: now.generating or not now.embedding_done,
            bar="embed", progress=lambda now: (now.embedded, now.total), processed="images embedded",
            nice=19, yields_to="generation", live_analysis=True, follows="generation", section="embedding", auto="one",
            waiting=lambda s: s["images_unembedded"], waiting_what="images to embed",
            cluster_body="workbench.cluster_embedding:follow_on_cluster",
        ),
        # Training reads the finished images: it starts once generation is over (beside the
        # embedding worker's last minutes) and shares the runs among its workers, one per device.
        WorkerKind(
            name="training", body="workbench.training:train_runs",
            needed=lambda now: not now.generating and now.train_open > 0,
            bar="train", progress=lambda now: (now.epochs_done, now.epochs_total), processed="epochs trained", unit="epochs",
            section="train", auto="each", configured=lambda cfg: cfg.trains,
            waiting=lambda s: sum(r["state"] in ("pending", "running") for r in s.get("training", [])),
            waiting_what="training runs",
        ),
    )
}


def configured(cfg) -> dict[str, WorkerKind]:
    """The kinds the experiment ``cfg`` asks for (training only with ``[train] runs``)."""
    return {name: kind for name, kind in KINDS.items() if kind.configured(cfg)}
