"""The embedding worker: embeds prompts and generated images into the store as they arrive.

It follows the generation worker: while jobs are pending or running it polls for new images;
once generation is over (or on SIGUSR1, "drain"), it embeds what is left and exits.
"""

from __future__ import annotations

import time
from functools import partial

from PIL import Image

from store import embeddings, images, jobs, real, workers
from store.core import Store
from synthdiv.decode import open_rgb
from synthdiv.embed import Embedder, embedder_identity, fetch_embedder, resolve_embedder
from synthdiv.image_encoders import ImageEncoder, encoder_identity, fetch_encoder, resolve_image_encoder
from synthdiv.sources import hub_snapshot
from workbench.analysis import LiveAnalysis
from workbench.config import ExperimentConfig
from workbench.placement import Seat
from workbench.vocabulary import embed as embed_vocabulary
from workbench.worker_common import file_threads

POLL_S = 0.5
NO_GENERATOR_GRACE_S = 90.0  # pending jobs but no generation worker for this long: stop waiting


def load_embedder(cfg: ExperimentConfig) -> Embedder:
    e = cfg.embedding
    return Embedder(resolve_embedder(e.model, e.pretrained), device=e.device, batch_size=e.batch_size, dtype=e.dtype)


def load_image_encoders(cfg: ExperimentConfig) -> list[ImageEncoder]:
    """The experiment's image-only encoders (``[embedding] image_models``), on the embedder's device."""
    e = cfg.embedding
    return [ImageEncoder(resolve_image_encoder(spec), device=e.device, batch_size=e.batch_size, dtype=e.dtype)
            for spec in e.image_models]


def fetch_models(cfg: ExperimentConfig, say=None) -> tuple[str, tuple[str, ...]]:
    """Bring the experiment's hub models (an ``hf-hub:`` CLIP, hub image encoders) into the cache
    before anything is generated, saying so with ``say(text)``; a ``ModelError`` for one that
    cannot be had. Returns the names their embeddings are stored under: CLIP's, and the image
    encoders' (each with its commit or hash)."""
    spec = resolve_embedder(cfg.embedding.model, cfg.embedding.pretrained)
    if say is not None and spec.kind == "hf-hub" and hub_snapshot(spec.repo) is None:
        say(f"Fetching {spec.model} into the hub cache (once), before anything is generated…")
    fetch_embedder(spec)
    names = []
    for text in cfg.embedding.image_models:
        encoder = resolve_image_encoder(text)
        if say is not None and encoder.kind == "hf-hub" and hub_snapshot(encoder.ref) is None:
            say(f"Fetching image encoder {encoder.ref} into the hub cache (once)…")
        fetch_encoder(encoder)
        names.append(encoder_identity(encoder))
    return embedder_identity(spec)[0], tuple(names)


def backlog(st: Store, experiment_id: int, model: str, share: tuple[int, int] = (0, 1)) -> dict[str, embeddings.Unembedded]:
    """Where a polling worker has got to, kind by kind (text, image, real); ``share`` (i, n): the
    part of the items that is worker i of n's."""
    return {kind: embeddings.Unembedded(st, experiment_id, kind, model, share) for kind in ("text", "image", "real")}


class ImageReader:
    """Reads stored images and prepares them for the model, a batch at a time.

    With more than one thread (a GPU model: :func:`~workbench.worker_common.file_threads`) each
    thread takes a contiguous share of a batch, and with ``ahead`` (the default then) the next
    batch is read while the caller embeds this one: on a GPU machine the CPU work of decoding is
    what would otherwise set the pace (one thread prepares ~130 images/s at 512 px). With one
    thread — a CPU model, whose own threads need the cores — images are read in the calling
    thread, then embedded, as a plain loop does."""

    def __init__(self, root, embedder: Embedder, threads: int | None = None, ahead: bool | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.root, self.embedder = root, embedder
        self.threads = file_threads(embedder.device.type) if threads is None else threads
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="image-reader") if self.threads > 1 else None
        self.ahead = self._pool is not None and ahead is not False  # reading ahead needs the pool

    def _share(self, rows: list[dict]) -> list[tuple]:
        decoded = []
        for row in rows:  # all the decoding, then all the preparing: each loop stays hot (~8 % faster)
            try:
                decoded.append((row, open_rgb(self.root / row["path"]), None))
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                decoded.append((row, None, exc))
        return [(row, None if im is None else self.embedder.pixels(im), exc) for row, im, exc in decoded]

    def _start(self, rows: list[dict]):
        """A callable giving ``rows`` prepared; in the pool, the reading starts now."""
        if not rows:
            return None
        if self._pool is None:
            return lambda: self._share(rows)
        size = -(-len(rows) // self.threads)
        shares = [self._pool.submit(self._share, rows[i:i + size]) for i in range(0, len(rows), size)]
        return lambda: [item for share in shares for item in share.result()]

    def batches(self, next_rows):
        """Prepared batches — lists of (row, tensor or None, error or None), in order — of the rows
        ``next_rows()`` gives, until it gives none."""
        reading = self._start(next_rows())
        while reading is not None:
            prepared = reading()
            if self.ahead:
                reading = self._start(next_rows())  # read while the caller embeds this batch
            yield prepared
            if not self.ahead:
                reading = self._start(next_rows())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def regenerate(st: Store, row: dict, exc: BaseException) -> None:
    """A generated image whose file cannot be read (missing, truncated, not a PNG): its job goes
    back to the queue, so the generation worker makes it again (the same seed and settings give
    the same image), and the worker goes on with the others."""
    reason = f"image file {st.root / row['path']} could not be read ({type(exc).__name__}: {exc})"
    if images.requeue(st, [row["id"]], reason):
        print(f"{reason}: its job is back in the queue and the image will be made again", flush=True)


def embed_pending(st: Store, experiment_id: int, embedder: Embedder, beat=None,
                  todo: dict[str, embeddings.Unembedded] | None = None, reader: ImageReader | None = None) -> int:
    """Embed every prompt, generated image and real image with no embedding from this model yet.

    ``todo`` (from :func:`backlog`), kept across the calls of a polling worker, makes each call
    look only at what arrived since the last one; without it the search starts at the first row.
    ``reader``: the worker's :class:`ImageReader` (one is made for this call without it).
    A generated image that cannot be read is made again (:func:`regenerate`); an unreadable real
    image is marked so and left out. Returns how many embeddings were added.
    """
    if reader is None:
        with ImageReader(st.root, embedder) as own:
            return embed_pending(st, experiment_id, embedder, beat, todo, own)
    todo = todo or backlog(st, experiment_id, embedder.name)
    done = 0
    texts = todo["text"].next() if getattr(embedder, "texts", True) else []  # an image encoder has no text side
    if texts:
        vecs = embedder.embed_texts([t["text"] for t in texts])
        done += embeddings.add(st, "text", [t["id"] for t in texts], embedder.name, vecs)
    for kind in ("image", "real"):
        for prepared in reader.batches(partial(todo[kind].next, limit=embedder.batch_size * 4)):
            ids, pixels = [], []
            for row, tensor, exc in prepared:
                if exc is None:
                    ids.append(row["id"])
                    pixels.append(tensor)
                elif kind == "real":
                    real.mark_unreadable(st, row["id"], f"{type(exc).__name__}: {exc}")
                else:
                    regenerate(st, row, exc)
            if pixels:
                done += embeddings.add(st, kind, ids, embedder.name, embedder.embed_pixels(pixels))
            if beat is not None:
                beat.processed += len(prepared)
    return done


def follow(st: Store, experiment_id: int, cfg: ExperimentConfig, worker_id: int, flag, beat,
           seat: Seat | None = None) -> str:
    """Embed until generation is over and nothing is left; return ``done`` or ``stopped``.

    Several embedding workers (``seat.share`` (i, n)) split the items by id, so none embeds what
    another does; the first of them runs the live analysis."""
    share = seat.share if seat is not None else (0, 1)
    models = [load_embedder(cfg), *load_image_encoders(cfg)]
    if share[0] == 0:  # the open-set vocabulary, once per model: the first worker embeds it
        embed_vocabulary(st, cfg, models[0])
    return follow_with(st, experiment_id, models, flag, beat, share)


def follow_with(st: Store, experiment_id: int, models: list, flag, beat, share: tuple[int, int] = (0, 1)) -> str:
    """:func:`follow` with ``models`` — CLIP first, then each image-only encoder ([embedding]
    image_models) — loaded here or standing for models on a cluster
    (:mod:`workbench.cluster_embedding`). Each has its own backlog and reader."""
    embedder = models[0]
    live = LiveAnalysis(st, experiment_id, embedder.name) if share[0] == 0 else None
    todos = [backlog(st, experiment_id, m.name, share) for m in models]
    readers = [ImageReader(st.root, m) for m in models]

    def embed_all() -> int:  # images/s counts CLIP's images: each image once, whatever the encoders
        return sum(embed_pending(st, experiment_id, m, beat if m is embedder else None, todo, reader)
                   for m, todo, reader in zip(models, todos, readers, strict=True))

    try:
        idle_since = time.monotonic()
        while not flag.stop.is_set():
            if embed_all():
                idle_since = time.monotonic()
                if live is not None:
                    live.maybe()
                continue
            counts = jobs.counts(st, experiment_id)
            open_jobs = counts["pending"] + counts["running"]
            if open_jobs == 0 or flag.drain.is_set():
                embed_all()  # what arrived since the last look
                if live is not None:
                    live.maybe(force=True)
                return "done"
            if workers.running(st, experiment_id, "generation"):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > NO_GENERATOR_GRACE_S:
                return "done"  # nothing generates: leave; a later run embeds the rest
            flag.stop.wait(POLL_S)
        return "stopped"
    finally:
        for reader in readers:
            reader.close()
