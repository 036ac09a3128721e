"""Generation on a Ray cluster: the process here that owns the store feeds generation actors on the
cluster's nodes (:class:`~workbench.actors.GenerationActor`, one per GPU) and records what they make.

It claims batches from the store's queue under its own worker id, at most ``[cluster] in_flight``
per actor (back-pressure: it never holds more than that many batches per actor in memory), and
stores each batch that comes back through :func:`~workbench.generation.record_batch` and a
:class:`~workbench.generation.BatchWriter`, exactly as the local worker does. Each actor has a
worker row of its own (a part of this worker's: node, device, pid, images made).

Faults: an actor (or its node) lost mid-batch — Ray says so on the batches it held — has those
jobs put back in the queue, not counted as failed attempts, and a new actor started in its place
(Ray puts it wherever there is room); the jobs are made once, by whichever actor claims them
next. After :data:`~workbench.cluster.MAX_LOSSES` actors lost in a row with no batch made between, the worker stops
and says why. If this process dies, its jobs go back to the queue when ``synthdiv run`` starts
again (as a local worker's do) and its actors end with it (Ray ends the actors of a finished driver).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from store import jobs, workers
from store.core import Store
from synthdiv.errors import SynthdivError
from workbench.cluster import check_losses, let_go
from workbench.config import ExperimentConfig
from workbench.generation import BatchWriter, batch_size_of, class_settings, record_batch, remove_stale_temporaries
from workbench.placement import Seat
from workbench.worker_common import io_threads

MAX_FAILED_BATCHES = 3  # batches in a row whose model call raised: the worker gives up
WAIT_S = 1.0  # how long one look for finished batches waits (stop signals are seen between looks)
UNPLACED_NOTE_S = 60.0  # how often the log says that actors are still waiting for room on the cluster


@dataclass
class Part:
    """One generation actor as the worker keeps it."""

    index: int
    handle: object
    ready: object  # the reference to its describe() call: done once the model is loaded
    info: dict | None = None
    row: int | None = None  # its worker row, once it reported where it runs
    batches: dict = field(default_factory=dict)  # reference of each batch in flight -> its jobs
    made: int = 0


def link_shared_images(root: Path, shared_dir: str) -> None:
    """With ``[cluster] shared_dir``, the store's images folder is a link to ``SHARED/images``, where
    the actors write the files; the store's database stays on this machine."""
    shared = Path(shared_dir) / "images"
    images = root / "images"
    try:
        shared.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthdivError(f"cannot make the shared image folder {shared} ({exc.strerror or exc})",
                            "make cluster.shared_dir a folder this machine and every node can write") from None
    if images.is_symlink():
        if images.resolve() == shared.resolve():
            return
        raise SynthdivError(f"the store's images folder {images} links to {images.resolve()}, not to {shared}",
                            "set cluster.shared_dir back to where the images are, or move them there and remove the link")
    if images.is_dir():
        if any(images.iterdir()):
            raise SynthdivError(f"the store already keeps images in {images}, and cluster.shared_dir asks for {shared}",
                                f"move the contents of {images} to {shared} and remove the folder, or leave shared_dir out")
        images.rmdir()
    images.symlink_to(shared.resolve(), target_is_directory=True)


def generate_on_cluster(st: Store, experiment_id: int, cfg: ExperimentConfig, worker_id: int, flag, beat,
                        seat: Seat | None = None) -> str:
    """Make every pending image of the experiment on the cluster's actors; ``done`` or ``stopped``."""
    from workbench.cluster import connect

    ray = connect(cfg.cluster.address)
    if cfg.cluster.shared_dir:
        link_shared_images(st.root, cfg.cluster.shared_dir)
    remove_stale_temporaries(st.images_dir)
    feeder = Feeder(ray, st, experiment_id, cfg, worker_id)
    writer = BatchWriter(st.root, experiment_id, worker_id, class_settings(cfg), {}, beat, encoders=io_threads())
    state = "failed"
    try:
        state = feeder.run(flag, writer)
        return state
    finally:
        try:
            writer.close()  # the last batches are stored before the worker reports how it ended
        finally:
            feeder.close(state)


class Feeder:
    """Keeps the actors busy from the store's queue and records what they make."""

    def __init__(self, ray, st: Store, experiment_id: int, cfg: ExperimentConfig, worker_id: int) -> None:
        from workbench.actors import GenerationActor
        from workbench.cluster import generation_actors

        self.ray, self.st, self.experiment_id, self.cfg, self.worker_id = ray, st, experiment_id, cfg, worker_id
        self.count, options = generation_actors(ray, cfg.cluster.actors)
        self.remote = ray.remote(**options, max_restarts=0)(GenerationActor)
        device_type = "cuda" if "num_gpus" in options else "cpu"
        self.size = batch_size_of(cfg, device_type)
        self.stored = cfg.stored()
        self.parts: list[Part] = []
        self.losses = 0  # actors lost in a row
        self.failed_batches = 0
        self.started = 0
        for _ in range(self.count):
            self._start()
        print(f"Generating on the Ray cluster: {self.count} actor{'s' if self.count != 1 else ''}"
              f" ({', '.join(f'{k} {v}' for k, v in options.items())} each), batches of {self.size},"
              f" at most {cfg.cluster.in_flight} per actor at once", flush=True)

    def _start(self) -> None:
        index = self.started
        self.started += 1
        handle = self.remote.remote(self.stored, index, self.cfg.cluster.shared_dir)
        self.parts.append(Part(index, handle, handle.describe.remote()))

    def ready(self, writer: BatchWriter) -> None:
        """Wait until every actor has loaded its model (or was lost): a benchmark then times the
        batches alone, as it times a local worker with its model loaded."""
        while any(p.info is None for p in self.parts):
            self._collect(next(p.ready for p in self.parts if p.info is None), writer)

    # --- the loop -------------------------------------------------------------------------------

    def run(self, flag, writer: BatchWriter) -> str:
        out_of_work = False
        noted = time.monotonic()
        while True:
            if flag.stop.is_set():
                return "stopped"
            if time.monotonic() - noted > UNPLACED_NOTE_S:
                noted = time.monotonic()
                self._note_unplaced()
            if not out_of_work:
                out_of_work = self._top_up()
            waiting = self._waiting()
            if not waiting:  # every actor ready and idle, and the queue was empty when last asked
                if jobs.counts(self.st, self.experiment_id)["pending"]:
                    out_of_work = False  # jobs came back (a lost actor's, a requeued image): go on
                    continue
                return "done"
            done, _ = self.ray.wait(waiting, num_returns=1, timeout=WAIT_S)
            for ref in done:
                self._collect(ref, writer)
            if done and out_of_work:
                out_of_work = False  # a lost batch may have come back to the queue

    def _note_unplaced(self) -> None:
        """Say in the log when actors are still waiting for the cluster to give them room."""
        waiting = sum(p.info is None for p in self.parts)
        if waiting:
            free = {k: round(v, 2) for k, v in self.ray.available_resources().items() if k in ("CPU", "GPU")}
            print(f"{waiting} of {len(self.parts)} actors are not running yet (loading their model, or waiting for"
                  f" room: the cluster has {free or 'nothing'} free)", flush=True)

    def _waiting(self) -> list:
        refs = []
        for p in self.parts:
            refs += [p.ready] if p.info is None else list(p.batches)
        return refs

    def _top_up(self) -> bool:
        """Hand every ready actor batches up to its limit; True when the queue has nothing left."""
        for p in self.parts:
            if p.info is None:
                continue
            while len(p.batches) < self.cfg.cluster.in_flight:
                batch = jobs.claim(self.st, self.experiment_id, self.worker_id, self.size)
                if not batch:
                    return True
                p.batches[p.handle.make.remote(batch)] = batch
        return False

    def _part_of(self, ref) -> Part:
        return next(p for p in self.parts if ref == p.ready or ref in p.batches)

    def _collect(self, ref, writer: BatchWriter) -> None:
        from ray.exceptions import RayTaskError

        from workbench.cluster import actor_error, losses, record_actor

        part = self._part_of(ref)
        if part.info is None and ref == part.ready:
            try:
                part.info = self.ray.get(ref)
            except losses() as exc:
                self._lost(part, f"could not start: {actor_error(exc)}")
                return
            part.row = record_actor(self.st, self.worker_id, part.info, f"Actor {part.index}")
            return
        batch = part.batches.pop(ref)
        try:
            images, readings, _ = self.ray.get(ref)
        except losses() as exc:
            self._lost(part, f"was lost ({actor_error(exc)})", batch)
            return
        except RayTaskError as exc:  # the model raised: each job of the batch counts an attempt
            why = actor_error(exc)
            for job in batch:
                jobs.fail(self.st, job["id"], why)
            print(f"A batch of {len(batch)} failed on actor {part.index}: {why}", flush=True)
            self.failed_batches += 1
            if self.failed_batches >= MAX_FAILED_BATCHES:
                raise SynthdivError(f"{self.failed_batches} batches in a row failed on the cluster: {why}",
                                    "see the worker's log; fix the cause and run the experiment again") from None
            return
        self.failed_batches = self.losses = 0
        made = record_batch(self.st, batch, images, readings, writer, part.info["provenance"])
        part.made += made
        workers.heartbeat(self.st, part.row, part.made, here=False)  # the node's load is not the head's

    def _lost(self, part: Part, why: str, batch: list[dict] | None = None) -> None:
        """``part``'s actor is gone: the jobs of every batch it held go back to the queue (this one
        first), its row says why, and a new actor takes its place."""
        held = ([batch] if batch else []) + list(part.batches.values())
        back = sum(jobs.put_back(self.st, self.worker_id, [j["id"] for j in b]) for b in held)
        part.batches.clear()
        self.parts.remove(part)
        where = f" on {part.info['node']}" if part.info else ""
        if part.row is not None:
            workers.stop(self.st, part.row, "lost", f"the actor {why}", processed=part.made)
        self.losses += 1
        print(f"Actor {part.index}{where} {why}; {back} of its jobs went back to the queue.", flush=True)
        check_losses("generation", self.losses, why)
        let_go(self.ray, part.handle)
        self._start()

    def close(self, state: str) -> None:
        """Record how the actors ended (with the worker) and let them go."""
        for p in self.parts:
            if p.row is not None:
                workers.stop(self.st, p.row, state, processed=p.made)
            let_go(self.ray, p.handle)
