"""The generation worker: claims jobs, makes images in batches, writes PNGs and their rows."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL.PngImagePlugin import PngInfo

from store import jobs, vocabulary
from store.core import Store
from workbench.placement import Seat
from store.images import relative_path
from synthdiv.errors import SynthdivError
from synthdiv.generate import BadImage, GenerationSettings, Generator
from synthdiv.sources import resolve_source
from workbench.config import ExperimentConfig
from workbench.worker_common import error_text, file_threads, remove_files_of_dead

MAX_FAILED_BATCHES = 3  # consecutive batches that all fail: the worker gives up


def png_bytes(image, text: dict[str, str]) -> bytes:
    """The PNG encoding of ``image`` with ``text`` as tEXt chunks (no time stamps: reproducible)."""
    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, str(value))
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


@dataclass(frozen=True)
class Encoded:
    """An image already encoded as PNG, with its provenance text (:func:`png_text`), where it was
    made (a cluster actor): the writer writes its bytes as they are."""

    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Written:
    """An image already written to its place under the store's images folder by the actor that
    made it (``[cluster] shared_dir``), with the SHA-256 of the file: the writer records its row."""

    sha256: str
    width: int
    height: int


def png_text(job: dict, settings: "GenerationSettings | ClassSettings", prov: dict) -> dict[str, str]:
    """The provenance every image file carries as PNG text: enough to make it again (the negative
    prompt where there is one)."""
    settings = settings_for(settings, job)
    return {
        "synthdiv:prompt": job["prompt"], "synthdiv:class": job["class_name"],
        "synthdiv:template": job["template"], "synthdiv:seed": job["seed"],
        "synthdiv:model": prov["model_id"], "synthdiv:scheduler": prov["scheduler"],
        "synthdiv:steps": settings.steps, "synthdiv:guidance": settings.guidance,
        **({"synthdiv:negative_prompt": settings.negative_prompt} if settings.negative_prompt else {}),
    }


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # on a full disk this gives back the space the worker needs to say so
        raise


def write_image_file(root: Path, job: dict, data: bytes) -> tuple[str, str]:
    """Write a job's PNG ``data`` atomically to its place under ``root`` (a store folder, or a
    cluster's shared folder); its path relative to ``root`` and its SHA-256."""
    rel = relative_path(job["class_id"], job["class_name"], job["template_id"], job["seed"])
    write_atomic(root / rel, data)
    return rel, hashlib.sha256(data).hexdigest()


def remove_stale_temporaries(images_dir: Path) -> int:
    """Delete temporary files left by dead processes (their pid is in the name)."""
    return remove_files_of_dead(images_dir.rglob(".*.tmp"), lambda name: name.rsplit(".", 2)[-2])


def settings_of(cfg: ExperimentConfig, label: str | None = None) -> GenerationSettings:
    """How the experiment's images (of class ``label``: its overrides applied) are made."""
    g = cfg.generation if label is None else cfg.generation_for(label)
    return GenerationSettings(
        steps=g.steps, guidance=g.guidance, width=g.width, height=g.height, negative_prompt=g.negative_prompt
    )


@dataclass(frozen=True)
class ClassSettings:
    """How each class's images are made, where some class's ``[classes.overrides]`` change it:
    ``base`` for the others."""

    base: GenerationSettings
    own: dict  # class label → GenerationSettings

    def of(self, label: str) -> GenerationSettings:
        return self.own.get(label, self.base)


def class_settings(cfg: ExperimentConfig) -> "GenerationSettings | ClassSettings":
    """The settings a worker makes the experiment's images with: one for all, or per class."""
    base = settings_of(cfg)
    own = {label: settings_of(cfg, label) for label, o in cfg.overrides if o.shaping()}
    return ClassSettings(base, own) if own else base


def settings_for(settings: "GenerationSettings | ClassSettings", job: dict) -> GenerationSettings:
    """The settings of one claimed job's image."""
    return settings.of(job["class_name"]) if isinstance(settings, ClassSettings) else settings


AUTO_BATCH = {"cuda": 64, "cpu": 8}  # batch_size = 0: where to start (CUDA halves it until it fits)


def load_generator(cfg: ExperimentConfig) -> Generator:
    g = cfg.generation
    gen = Generator(resolve_source(g.model, "generation.model", base_config=g.base_config), revision=g.revision or None, scheduler=g.scheduler,
                    device=g.device, compile_unet=g.compile, dtype=g.dtype)
    if gen.speedups:
        print(f"GPU path: {', '.join(gen.speedups)}", flush=True)
    return gen


def batch_size_of(cfg: ExperimentConfig, device_type: str) -> int:
    """The configured batch size; for 0 (automatic) a start that out-of-memory halving trims to fit."""
    return cfg.generation.batch_size or AUTO_BATCH.get(device_type, AUTO_BATCH["cpu"])


class BatchWriter:
    """Stores finished batches (PNG files, then their rows) in a thread of its own, with its own
    store connection, while the next batch is generated: the GPU (or CPU) never waits on the disk.

    ``encoders`` threads encode and write the PNGs (zlib releases the GIL); the rows are recorded
    in job order. One thread caps a worker at ~28 PNGs/s at 512 px, below what a GPU makes at 1–4
    steps; the worker asks :func:`~workbench.worker_common.file_threads` how many to use.

    At most one batch waits to be written; a write error is raised in the generating thread at its
    next hand-over. A batch whose write never happened (the process died) has its jobs still
    ``running`` under this worker, and they are put back like any stopped worker's jobs.
    """

    def __init__(self, root: Path, experiment_id: int, worker_id: int, settings: GenerationSettings,
                 provenance: dict, beat, encoders: int = 1) -> None:
        from concurrent.futures import ThreadPoolExecutor
        self.root, self.experiment_id, self.worker_id = root, experiment_id, worker_id
        self.settings, self.prov, self.beat = settings, provenance, beat
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="png-writer")
        self._encoders = (ThreadPoolExecutor(max_workers=encoders, thread_name_prefix="png-encoder")
                          if encoders > 1 else None)  # one: the writer thread encodes itself
        self._pending = None
        self._store = None

    def submit(self, batch: list[dict], images: list, readings: list | None = None,
               provenance: dict | None = None) -> None:
        """Store ``images`` of the jobs in ``batch`` (PIL images, or :class:`Encoded` or
        :class:`Written` ones); ``readings``: what the model read of each prompt
        (:meth:`Generator.readings`, taken in the generating thread: a tokenizer is not shared
        across threads), recorded with the image. ``provenance``: this batch's, when it is not the
        writer's (a cluster's actors each have their own device)."""
        self.wait()
        self._pending = self._pool.submit(self._write, batch, images, readings, provenance or self.prov)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises the writer's error here

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.submit(self._close_store).result()
            self._pool.shutdown()
            if self._encoders is not None:
                self._encoders.shutdown()

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()

    def _write(self, batch: list[dict], images: list, readings: list | None, prov: dict) -> None:
        from synthdiv.prompts import Reading

        from store import open_store

        if self._store is None:
            self._store = open_store(self.root)
        st = self._store
        encode = self._encoders.map if self._encoders is not None else map
        files = encode(self._file, batch, images, [prov] * len(batch))  # the PNGs (in parallel); the rows below, in order
        read = readings or [Reading(None, None)] * len(batch)
        for job, image, (rel, digest), reading in zip(batch, images, files, read, strict=True):
            settings = settings_for(self.settings, job)
            jobs.finish(st, job["id"], {
                "experiment_id": self.experiment_id, "class_id": job["class_id"],
                "template_id": job["template_id"], "prompt_id": job["prompt_id"],
                "class_name": job["class_name"], "template": job["template"], "prompt": job["prompt"],
                "negative_prompt": settings.negative_prompt, "seed": job["seed"], "path": rel,
                "sha256": digest, "width": image.width, "height": image.height,
                "model_id": prov["model_id"], "model_revision": prov["model_revision"],
                "model_hash": prov["model_hash"], "scheduler": prov["scheduler"], "steps": settings.steps,
                "guidance": settings.guidance, "dtype": prov["dtype"], "device": prov["device"],
                "worker_id": self.worker_id, "prompt_tokens": reading.tokens, "prompt_seen": reading.seen,
            })
            self.beat.processed += 1

    def _file(self, job: dict, image, prov: dict) -> tuple[str, str]:
        """Encode one image with its provenance as PNG text and write it atomically; its path
        (relative to the store) and SHA-256. Runs in the encoder threads (zlib releases the GIL)."""
        if isinstance(image, Written):
            rel = relative_path(job["class_id"], job["class_name"], job["template_id"], job["seed"])
            if not (self.root / rel).is_file():
                raise SynthdivError(
                    f"the actor on {prov['device']} wrote {rel} in the shared folder, and this machine does not see it"
                    f" under {self.root}", "make cluster.shared_dir a folder every node and this machine see at the"
                    " same path (a network file system), or leave it out to have the images sent here")
            return rel, image.sha256
        data = image.data if isinstance(image, Encoded) else png_bytes(image, png_text(job, self.settings, prov))
        return write_image_file(self.root, job, data)


def generate_jobs(st: Store, experiment_id: int, cfg: ExperimentConfig, worker_id: int, flag, beat,
                  seat: Seat | None = None) -> str:
    """Make every pending image of the experiment; return ``done`` or ``stopped``. ``seat``: where
    the worker was placed; its device is recorded with each image (``cuda:2``; the model's own
    device type without one). Several generation workers share the work through the queue.

    A batch is stored (in a writer thread) while the next one is generated."""
    remove_stale_temporaries(st.images_dir)
    generator = load_generator(cfg)
    if generator.text_fingerprint:  # is the CLIP that judges these images this text encoder? (workbench.vocabulary)
        vocabulary.record_tower(st, "generator", generator.provenance["model_id"], generator.text_fingerprint)
    settings = class_settings(cfg)
    provenance = {**generator.provenance, "device": seat.device if seat and seat.device else generator.provenance["device"]}
    writer = BatchWriter(st.root, experiment_id, worker_id, settings, provenance, beat,
                         encoders=file_threads(generator.device.type))
    try:
        return _generate(st, experiment_id, generator, settings, batch_size_of(cfg, generator.device.type),
                         worker_id, flag, writer)
    finally:
        writer.close()  # the last batch is stored before the worker reports how it ended


def make_batch(generator: Generator, batch: list[dict], settings: "GenerationSettings | ClassSettings",
               fits: int) -> tuple[list, list, int]:
    """Make the images of ``batch`` (claimed jobs) in this process: (an image or a
    :class:`~synthdiv.generate.BadImage` per job, what the model read of each prompt, the batch
    size that fit in memory). What an engine runs where the model is: here, or in a Ray actor.
    Jobs whose classes are made otherwise (``[classes.overrides]``) are made in a call of their own."""
    groups: dict[GenerationSettings, list[int]] = {}
    for i, job in enumerate(batch):
        groups.setdefault(settings_for(settings, job), []).append(i)
    images: list = [None] * len(batch)
    for each, where in groups.items():
        made, fits = generator.generate_fitting([batch[i]["prompt"] for i in where], [batch[i]["seed"] for i in where],
                                                each, fits)
        for i, image in zip(where, made, strict=True):
            images[i] = image
    return images, generator.readings([j["prompt"] for j in batch]), fits


def record_batch(st: Store, batch: list[dict], images: list, readings: list, writer: BatchWriter,
                 provenance: dict | None = None) -> int:
    """Store a made batch as every engine does: a job whose image is bad fails, saying why and what
    to do (never stored as good); the good images go to ``writer`` with what the model read of
    their prompts (and ``provenance``, when it is not the writer's). Returns how many were handed
    to the writer."""
    good = []
    for job, image, reading in zip(batch, images, readings, strict=True):
        if isinstance(image, BadImage):
            jobs.fail(st, job["id"], image.reason)
            print(f"job {job['id']} ({job['prompt'][:60]!r}, seed {job['seed']}): {image.reason}", flush=True)
        else:
            good.append((job, image, reading))
    if good:
        writer.submit([j for j, _, _ in good], [i for _, i, _ in good], [r for _, _, r in good], provenance)
    return len(good)


def _generate(st: Store, experiment_id: int, generator: Generator, settings: GenerationSettings, size: int,
              worker_id: int, flag, writer: BatchWriter) -> str:
    failed_batches = 0
    fits = size  # halved for good when CUDA runs out of memory
    while not flag.stop.is_set():
        batch = jobs.claim(st, experiment_id, worker_id, size)
        if not batch:
            return "done"
        try:
            images, readings, fitted = make_batch(generator, batch, settings, fits)
            if fitted < fits:
                print(f"CUDA ran out of memory at batch {fits}: generating {fitted} images at a time", flush=True)
                fits = fitted
        except Exception as exc:  # noqa: BLE001 - count the attempt on every job of the batch
            for job in batch:
                jobs.fail(st, job["id"], error_text(exc))
            failed_batches += 1
            if failed_batches >= MAX_FAILED_BATCHES:
                raise
            continue
        failed_batches = 0
        record_batch(st, batch, images, readings, writer)
    return "stopped"
