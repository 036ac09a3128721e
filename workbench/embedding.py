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

POLL_S = 0.5
NO_GENERATOR_GRACE_S = 90.0  # pending jobs but no generation worker for this long: stop waiting


def load_embedder(cfg: ExperimentConfig) -> Embedder:
    e = cfg.embedding
    return Embedder(resolve_embedder(e.model, e.pretrained), device=e.device, batch_size=e.batch_size)


def backlog(st: Store, experiment_id: int, model: str) -> dict[str, embeddings.Unembedded]:
    """Where a polling worker has got to, kind by kind (text, image, real)."""
    return {kind: embeddings.Unembedded(st, experiment_id, kind, model) for kind in ("text", "image", "real")}


def embed_pending(st: Store, experiment_id: int, embedder: Embedder, beat=None,
                  todo: dict[str, embeddings.Unembedded] | None = None) -> int:
    """Embed every prompt, generated image and real image with no embedding from this model yet.

    ``todo`` (from :func:`backlog`), kept across the calls of a polling worker, makes each call
    look only at what arrived since the last one; without it the search starts at the first row.
    Returns how many embeddings were added.
    """
    todo = todo or backlog(st, experiment_id, embedder.name)
    done = 0
    texts = todo["text"].next()
    if texts:
        vecs = embedder.embed_texts([t["text"] for t in texts])
        done += embeddings.add(st, "text", [t["id"] for t in texts], embedder.name, vecs)
    for kind in ("image", "real"):
        while rows := todo[kind].next(limit=embedder.batch_size * 4):
            pictures, ids = [], []
            for row in rows:
                try:
                    with Image.open(st.root / row["path"]) as im:
                        pictures.append(im.convert("RGB"))
                    ids.append(row["id"])
                except (OSError, ValueError, Image.DecompressionBombError) as exc:
                    if kind != "real":
                        raise
                    real.mark_unreadable(st, row["id"], f"{type(exc).__name__}: {exc}")
            if pictures:
                done += embeddings.add(st, kind, ids, embedder.name, embedder.embed_images(pictures))
            if beat is not None:
                beat.processed += len(rows)
    return done


def follow(st: Store, experiment_id: int, cfg: ExperimentConfig, worker_id: int, flag, beat) -> str:
    """Embed until generation is over and nothing is left; return ``done`` or ``stopped``."""
    embedder = load_embedder(cfg)
    live = LiveAnalysis(st, experiment_id, embedder.name)
    todo = backlog(st, experiment_id, embedder.name)
    idle_since = time.monotonic()
    while not flag.stop.is_set():
        if embed_pending(st, experiment_id, embedder, beat, todo):
            idle_since = time.monotonic()
            live.maybe()
            continue
        counts = jobs.counts(st, experiment_id)
        open_jobs = counts["pending"] + counts["running"]
        if open_jobs == 0 or flag.drain.is_set():
            embed_pending(st, experiment_id, embedder, beat, todo)  # what arrived since the last look
            live.maybe(force=True)
            return "done"
        if workers.running(st, experiment_id, "generation"):
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > NO_GENERATOR_GRACE_S:
            return "done"  # nothing generates: leave; a later run embeds the rest
        flag.stop.wait(POLL_S)
    return "stopped"
