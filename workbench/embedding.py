"""The embedding worker: embeds prompts and generated images into the store as they arrive.

It follows the generation worker: while jobs are pending or running it polls for new images;
once generation is over (or on SIGUSR1, "drain"), it embeds what is left and exits.
"""

from __future__ import annotations

import time

from PIL import Image

from store import embeddings, jobs, real, workers
from store.core import Store
from synthdiv.embed import Embedder, resolve_embedder
from workbench.analysis import LiveAnalysis
from workbench.config import ExperimentConfig
from workbench.worker_common import io_threads

POLL_S = 0.5
NO_GENERATOR_GRACE_S = 90.0  # pending jobs but no generation worker for this long: stop waiting


def load_embedder(cfg: ExperimentConfig) -> Embedder:
    e = cfg.embedding
    return Embedder(resolve_embedder(e.model, e.pretrained), device=e.device, batch_size=e.batch_size)


def backlog(st: Store, experiment_id: int, model: str) -> dict[str, embeddings.Unembedded]:
    """Where a polling worker has got to, kind by kind (text, image, real)."""
    return {kind: embeddings.Unembedded(st, experiment_id, kind, model) for kind in ("text", "image", "real")}


class ImageReader:
    """Reads stored images and prepares them for the model.

    With the model on a GPU: in a pool of threads (one per core, at most 8), each taking a
    contiguous share of a batch, and one batch ahead — the next batch is read while the model
    embeds this one, since the CPU work of decoding is what would otherwise set the pace (one
    thread prepares ~130 images/s at 512 px here). With the model on the CPU, its own threads
    need the cores: images are read in the calling thread, then embedded, as a plain loop does
    (2 reader threads beside the model halved the embedding rate on 2 cores). ``threads`` (0: in
    the calling thread) and ``ahead`` override the choice."""

    def __init__(self, root, embedder: Embedder, threads: int | None = None, ahead: bool | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        on_gpu = embedder.device.type != "cpu"
        self.root, self.embedder = root, embedder
        self.threads = (io_threads() if on_gpu else 0) if threads is None else threads
        self.ahead = (on_gpu if ahead is None else ahead) and self.threads > 0
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="image-reader") if self.threads else None

    def _share(self, rows: list[dict]) -> list[tuple]:
        decoded = []
        for row in rows:  # all the decoding, then all the preparing: each loop stays hot (~8 % faster)
            try:
                with Image.open(self.root / row["path"]) as im:
                    decoded.append((row, im.convert("RGB"), None))
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                decoded.append((row, None, exc))
        return [(row, None if im is None else self.embedder.pixels(im), exc) for row, im, exc in decoded]

    def read(self, rows: list[dict]) -> list:
        """Start reading ``rows``; :meth:`result` of what this returns gives them prepared."""
        from concurrent.futures import Future

        if self._pool is None:
            done = Future()
            done.set_result(self._share(rows))
            return [done]
        size = -(-len(rows) // self.threads)
        return [self._pool.submit(self._share, rows[i:i + size]) for i in range(0, len(rows), size)]

    @staticmethod
    def result(reading: list) -> list[tuple]:
        """The rows of a :meth:`read`, in order, as (row, tensor or None, error or None)."""
        return [item for share in reading for item in share.result()]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def embed_pending(st: Store, experiment_id: int, embedder: Embedder, beat=None,
                  todo: dict[str, embeddings.Unembedded] | None = None, reader: ImageReader | None = None) -> int:
    """Embed every prompt, generated image and real image with no embedding from this model yet.

    ``todo`` (from :func:`backlog`), kept across the calls of a polling worker, makes each call
    look only at what arrived since the last one; without it the search starts at the first row.
    ``reader``: the worker's :class:`ImageReader` (one is made for this call without it).
    A generated image that cannot be read is an error; an unreadable real image is marked so
    and left out. Returns how many embeddings were added.
    """
    import torch

    if reader is None:
        with ImageReader(st.root, embedder) as own:
            return embed_pending(st, experiment_id, embedder, beat, todo, own)
    todo = todo or backlog(st, experiment_id, embedder.name)
    done = 0
    texts = todo["text"].next()
    if texts:
        vecs = embedder.embed_texts([t["text"] for t in texts])
        done += embeddings.add(st, "text", [t["id"] for t in texts], embedder.name, vecs)
    limit = embedder.batch_size * 4
    for kind in ("image", "real"):
        def fetch(kind=kind):
            rows = todo[kind].next(limit=limit)
            return reader.read(rows) if rows else None

        reading = fetch()
        while reading is not None:
            prepared = reader.result(reading)
            reading = fetch() if reader.ahead else None  # the next batch is read while this one is embedded
            ids, pixels = [], []
            for row, tensor, exc in prepared:
                if exc is None:
                    ids.append(row["id"])
                    pixels.append(tensor)
                elif kind == "real":
                    real.mark_unreadable(st, row["id"], f"{type(exc).__name__}: {exc}")
                else:
                    raise exc
            if pixels:
                done += embeddings.add(st, kind, ids, embedder.name, embedder.embed_pixels(torch.stack(pixels)))
            if beat is not None:
                beat.processed += len(prepared)
            if not reader.ahead:
                reading = fetch()
    return done


def follow(st: Store, experiment_id: int, cfg: ExperimentConfig, worker_id: int, flag, beat) -> str:
    """Embed until generation is over and nothing is left; return ``done`` or ``stopped``."""
    embedder = load_embedder(cfg)
    live = LiveAnalysis(st, experiment_id, embedder.name)
    todo = backlog(st, experiment_id, embedder.name)
    with ImageReader(st.root, embedder) as reader:
        idle_since = time.monotonic()
        while not flag.stop.is_set():
            if embed_pending(st, experiment_id, embedder, beat, todo, reader):
                idle_since = time.monotonic()
                live.maybe()
                continue
            counts = jobs.counts(st, experiment_id)
            open_jobs = counts["pending"] + counts["running"]
            if open_jobs == 0 or flag.drain.is_set():
                embed_pending(st, experiment_id, embedder, beat, todo, reader)  # what arrived since the last look
                live.maybe(force=True)
                return "done"
            if workers.running(st, experiment_id, "generation"):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > NO_GENERATOR_GRACE_S:
                return "done"  # nothing generates: leave; a later run embeds the rest
            flag.stop.wait(POLL_S)
        return "stopped"
