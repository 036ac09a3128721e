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


def add_training(root, experiment: str = "tiny", failed: bool = False,
                 synthetic_pred: tuple[int, ...] = (0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 0)) -> None:
    """Training runs on the store ``build`` made, through the store API (no model is trained): a
    finished synthetic→real run (accuracy 10/12), a finished real→real run with its judge, and a
    third run failed with its error (``failed``) or half-way through its epochs. ``synthetic_pred``:
    the synthetic run's predictions of the 12 test images (4 per class, in class order)."""
    from store import training
    from synthdiv.classifier import scored

    names = [c for c, _ in CLASSES]
    truth = np.repeat(np.arange(3), 4)
    with open_store(root) as st:
        e = experiments.get(st, experiment)["id"]
        recipe = {"model": "digits-cnn", "epochs": 6}
        wanted = [(name, {"run": name, "recipe": recipe, "real_per_class": 0}, name, 6)
                  for name in ("synthetic", "real", "mix-1x")]
        training.plan(st, e, wanted)
        wid = workers.register(st, e, "training", "cpu")
        curves = {"synthetic": [0.4, 0.6, 0.7, 0.75, 0.8, 0.833], "real": [0.5, 0.7, 0.8, 0.9, 0.92, 0.917],
                  "mix-1x": [0.45, 0.7, 0.8]}
        for name, preds in (("synthetic", list(synthetic_pred)),
                            ("real", [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 1]), ("mix-1x", None)):
            run = training.claim(st, e, wid)
            for i, acc in enumerate(curves[name]):
                training.record_epoch(st, run["id"], {"epoch": i + 1, "loss": 2.0 / (i + 1), "train_accuracy": acc,
                                                      "test_accuracy": acc, "lr": 0.001, "seconds": 0.5,
                                                      "images_per_s": 100.0})
            if preds is None:
                if failed:
                    training.fail(st, run["id"], "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n  (trace)")
                continue
            result = {"test": scored(np.array(preds), truth, names), "test_pred": preds, "n_train": 12,
                      "made_of": {"synthetic": [4, 4, 4] if name == "synthetic" else [0, 0, 0],
                                  "real": [0, 0, 0] if name == "synthetic" else [4, 4, 4], "notes": []},
                      "images_per_s": 100.0}
            if name == "real":
                result["judge"] = scored(np.array([0, 0, 1, 1, 1, 1, 2, 2]), np.array([0, 0, 0, 0, 1, 1, 2, 2]), names)
            training.finish(st, run["id"], result)
        if not failed:
            st.db.execute("update train_runs set state = 'running' where experiment_id = ? and name = 'mix-1x'", [e])
        st.db.execute("update workers set pid = 4343, started_at = 990, stopped_at = 1000, heartbeat_at = 1000,"
                      " state = 'done', processed = 15 where id = ?", [wid])


def add_repair(root, experiment: str = "tiny") -> None:
    """A finished ``synthdiv repair`` of ``experiment`` as the Repair screen reads it: its plan, its
    report and recipe (written as the command writes them), and the images of one remedy's
    experiment (``tiny/repair/guidance-down``, made by :func:`build`)."""
    from workbench.repair import PLAN, RECIPE, REPAIR_DIR, REPORT

    build(root, name=f"{experiment}/repair/guidance-down", guidance=2.5)
    folder = root / REPAIR_DIR
    folder.mkdir(exist_ok=True)
    remedies = [("control", "the base's own images again, retrained: the noise floor", 8),
                ("guidance-down", "guidance 5 → 2.5", 8), ("contexts", "8 prompts: the templates × 4 neutral"
                                                                     " backgrounds and viewpoints, one image each", 8)]
    plan = {"experiment": experiment, "images": 24, "generation_s": 12.0, "training_s": 9.0, "start_s": 45.0,
            "classes": [{"class": "goldfish", "gap": 0.25, "gap_low": 0.05, "gap_high": 0.5, "causes": "diversity",
                         "notes": [], "remedies": [{"remedy": r, "what": w, "images": n, "dropped": False}
                                                   for r, w, n in remedies]},
                        {"class": "tabby cat", "gap": 0.5, "gap_low": 0.25, "gap_high": 0.75, "causes": "concept",
                         "notes": ["no prompt remedy: the model does not draw what the real images show. The measured"
                                   " alternative is a real-image mix: add \"mix-1x\" to [train] runs"],
                         "remedies": []}]}
    gains = {"control": (0.0, 0.0, 0.0), "guidance-down": (0.5, 0.25, 0.75), "contexts": (0.0, -0.25, 0.25)}
    rows = [{"class": "goldfish", "remedy": r, "cause": "diversity", "what": w, "override": {}, "select": None,
             "keep": None, "equal_n": True, "n_test": 4, "gap_before": 0.25, "state": "done",
             "gap_after": 0.25 - gains[r][0], "gain": gains[r][0], "gain_low": gains[r][1], "gain_high": gains[r][2],
             "accuracy_before": 0.75, "accuracy_after": 0.75 + gains[r][0] / 3, "accuracy_gain_low": 0.0,
             "accuracy_gain_high": 0.25, "n_train": 24} for r, w, _ in remedies]
    (folder / PLAN).write_text(json.dumps(plan), encoding="utf-8")
    (folder / REPORT).write_text(json.dumps({"experiment": experiment, "rows": rows,
                                             "winners": {"goldfish": "guidance-down"}, "notes": {}}), encoding="utf-8")
    (folder / RECIPE).write_text(f'# synthdiv repair\'s recipe for {experiment!r}\nname = "{experiment}-repaired"\n'
                                 '[classes.overrides.goldfish]\nguidance = 2.5\n', encoding="utf-8")
