"""Stores for the workbench tests, built through the store API (no models): generated images as
real PNG files, real images, CLIP-like embeddings in known clusters, and a computed analysis."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from store import embeddings, experiments, jobs, open_store, real, workers

CLASSES = [("goldfish", "goldfish"), ("tabby cat", "tabby cat"), ("golden retriever", "golden retriever")]
TEMPLATES = ["a photo of a {}.", "a drawing of a {}."]
MODEL = "tiny-random"  # the embedder name the stored config resolves to (no model is loaded)
COLOURS = {"goldfish": (230, 120, 20), "tabby cat": (120, 120, 120), "golden retriever": (220, 190, 90)}


def config(n_seeds: int, name: str = "tiny", guidance: float = 5.0) -> dict:
    """A stored config (as ExperimentConfig.stored() writes it) for the test experiment."""
    return {
        "name": name, "class_set": "imagenet", "classes": [list(c) for c in CLASSES], "templates": TEMPLATES,
        "generation": {"model": "tiny-random", "revision": "", "scheduler": "default", "steps": 4, "guidance": guidance,
                       "width": 32, "height": 32, "negative_prompt": "", "images_per_prompt": n_seeds, "seed": 0,
                       "seeds": "shared", "batch_size": 4, "device": "auto"},
        "embedding": {"model": MODEL, "pretrained": "", "batch_size": 64, "device": "auto"},
        "store": "", "real": "", "real_mapping": "", "real_test_fraction": 0.5,
    }


def png(path, rgb, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(rgb)[None, None, :] + rng.normal(0, 25, (16, 16, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def build(root, done: int = 24, n_seeds: int = 4, analysed: bool = True, name: str = "tiny", guidance: float = 5.0,
          image_scale: float = 0.3) -> int:
    """3 classes × 2 templates × ``n_seeds`` jobs, ``done`` finished with PNGs; 8 real images per
    class (4 train, 4 test); embeddings of everything in three well-separated clusters; an analysis.
    Image creation times are set in the past, so throughput reads 0 (a stable picture). Called
    again on the same store with another ``name`` (and ``guidance``, ``image_scale``: the spread of
    the synthetic embeddings around their class centre) it adds a second experiment, as a sweep does."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 3
    with open_store(root, create=True) as st:
        cfg = config(n_seeds, name, guidance)
        e = experiments.ensure(st, name, cfg, {"generation": {"guidance": guidance}})
        st.db.execute("update experiments set config = ? where id = ?", [json.dumps(cfg), e])
        prompts = [(c, t, t.format(c)) for c, _ in CLASSES for t in TEMPLATES]
        experiments.register_plan(st, e, CLASSES, TEMPLATES, prompts,
                                  [(c, t, s) for c, _ in CLASSES for t in TEMPLATES for s in range(n_seeds)])
        wid = workers.register(st, e, "generation", "cpu")
        for job in jobs.claim(st, e, wid, done):
            path = f"images/{job['id']:03d}.png"
            png(root / path, COLOURS[job["class_name"]], job["id"])
            jobs.finish(st, job["id"], {
                "experiment_id": e, "class_id": job["class_id"], "template_id": job["template_id"],
                "prompt_id": job["prompt_id"], "class_name": job["class_name"], "template": job["template"],
                "prompt": job["prompt"], "seed": job["seed"], "path": path, "sha256": "x",
                "width": 16, "height": 16, "model_id": "tiny-random", "steps": 4, "guidance": guidance,
                "scheduler": "DDIMScheduler",
            })
        jobs.release(st, wid)
        workers.stop(st, wid, "done")
        # fixed figures, so that what a screen shows does not depend on the test's process or clock
        st.db.execute("update workers set pid = 4242, processed = ?, started_at = 990, stopped_at = 1000 where id = ?",
                      [done, wid])
        st.db.execute("update images set created_at = 1000")
        rows = []
        for label, _ in CLASSES:
            for i in range(8):
                rel = f"real/{label.replace(' ', '-')}/{i}.png"
                png(root / rel, COLOURS[label], 100 + i)
                rows.append({"class": label, "path": rel, "sha256": "x", "width": 16, "height": 16,
                             "split": "train" if i < 4 else "test"})
        real.add(st, e, "digits", rows)
        index = {c["id"]: i for i, c in enumerate(experiments.classes_of(st, e))}
        for kind in ("image", "real", "text"):
            table = embeddings.KINDS[kind]
            class_of = dict(st.conn.execute(f"select id, class_id from {table} where experiment_id = ?", [e]))
            items = embeddings.missing(st, e, kind, MODEL)
            if items:
                y = np.array([index[class_of[r["id"]]] for r in items])
                scale = {"image": image_scale, "real": 0.6, "text": 0.0}[kind]
                embeddings.add(st, kind, [r["id"] for r in items], MODEL,
                               (centres[y] + rng.normal(size=(len(y), 16)) * scale).astype(np.float32))
        if analysed:
            from workbench.analysis import compute

            compute(st, e, MODEL)
        return e
