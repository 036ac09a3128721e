"""The training worker: trains the experiment's image classifiers (``[train] runs``) on its pixels
and tests them on the real **test** split (:mod:`synthdiv.classifier`).

It starts once generation is over, claims one planned run at a time (several training workers,
one per device, share the runs), trains it with a checkpoint after every epoch under
``STORE/training/<run id>-<name>/``, records each epoch and, at the end, the run's result: test
accuracy with its interval, per class, its confusions and — for the ``real`` run — the reverse
judge, its accuracy on the synthetic images (adherence read by a classifier that never saw a
prompt). A run that raises is recorded as failed with its error and the worker goes on with the
next; a pause stops the run in hand, which resumes from its last epoch.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from store import experiments, training
from store.core import Store
from synthdiv.classifier import ImageFiles, Recipe, Stopped, build_model, predict, scored, train, training_set
from workbench.config import ExperimentConfig
from workbench.curate import NotReady
from workbench.placement import Seat
from workbench.worker_common import error_text

RUNS_DIR = "training"
WAIT_S = 1800.0  # how long a curated run waits for its embeddings or its judge before it fails


def recipe_of(cfg: ExperimentConfig) -> Recipe:
    t = cfg.train
    return Recipe(model=t.model, weights=t.weights, epochs=t.epochs, batch_size=t.batch_size, lr=t.lr,
                  optimizer=t.optimizer, weight_decay=t.weight_decay, image_size=t.image_size or cfg.generation.width,
                  crop_scale=t.crop_scale, flip=t.flip, seed=t.seed, compile=t.compile)


REPAIR = "repair"  # the run of an experiment made by synthdiv repair ([repair] of): repair:CLASS


def wanted_runs(cfg: ExperimentConfig) -> list[tuple[str, dict, str, int]]:
    """The runs the config asks for, as :func:`store.training.plan` takes them. An experiment made by
    ``synthdiv repair`` (``[repair] of``) has one run per class: the base experiment's images with
    that class's replaced by this experiment's (curated where ``[repair] keep`` says)."""
    recipe = recipe_of(cfg)
    out = []
    wanted = [(name, {"run": name}) for name in cfg.train.runs]
    if cfg.repair_of:
        keep = {label: (how, n) for label, how, n in cfg.repair_keep}
        wanted += [(f"{REPAIR}:{label}", {"run": REPAIR, "base": cfg.repair_of, "class": label,
                                          **({"keep": list(keep[label])} if label in keep else {})})
                   for label, _ in cfg.classes]
    for name, what in wanted:
        settings = {**what, "recipe": asdict(recipe), "real_per_class": cfg.train.real_per_class}
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        out.append((name, settings, key, recipe.epochs))
    return out


def run_dir(root: Path, run: dict) -> Path:
    return root / RUNS_DIR / f"{run['id']}-{run['name']}"


def _device(cfg: ExperimentConfig) -> str:
    from synthdiv.devices import pick_device

    return str(pick_device(cfg.train.device))


def train_one(st: Store, experiment_id: int, run: dict, device: str, should_stop=None, on_epoch=None) -> dict:
    """Train and test the stored run ``run``; return its result (raises :class:`Stopped` on a stop)."""
    recipe = Recipe(**run["settings"]["recipe"])
    names, synthetic, real_train, real_test = _inputs(st, experiment_id, run, device)
    if not real_test:
        raise ValueError("the experiment has no readable real test image to test on")
    kind = run["settings"]["run"]  # a repair's or a curated run trains on its synthetic images as they are chosen
    items, made_of = training_set(kind if kind in ("synthetic", "real") or kind.startswith("mix-") else "synthetic",
                                  synthetic, real_train, len(names), run["settings"]["real_per_class"], recipe.seed)
    if not items:
        raise ValueError(f"run {run['name']} has no training image (generated: {len(synthetic)},"
                         f" real train: {len(real_train)})")
    model = build_model(recipe.model, len(names), recipe.weights, recipe.seed, recipe.image_size)
    # decoded images are kept in memory on the CPU; on a GPU the loader's worker processes decode
    # (each would keep a copy of its own)
    cache = device.startswith("cpu")
    test = ImageFiles(real_test, recipe, train=False, cache=cache)
    history = train(model, ImageFiles(items, recipe, train=True, cache=cache), recipe, device,
                    checkpoint=run_dir(st.root, run) / "checkpoint.safetensors", test=test,
                    on_epoch=on_epoch, should_stop=should_stop)
    from safetensors.torch import save_file

    weights = run_dir(st.root, run) / "model.safetensors"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(weights))
    truth = np.array([c for _, c in real_test])
    pred = predict(model, test, device)
    result = {"test": scored(pred, truth, names, seed=recipe.seed), "test_pred": pred.tolist(), "test_truth": truth.tolist(),
              "made_of": made_of, "n_train": len(items), "device": device,
              "seconds": round(sum(e.seconds for e in history), 3),
              "images_per_s": round(sum(e.seconds * e.images_per_s for e in history)
                                    / max(sum(e.seconds for e in history), 1e-9), 1),
              "parameters": int(sum(p.numel() for p in model.parameters())),
              "weights": str(weights.relative_to(st.root))}
    if run["name"] == "real" and synthetic:  # the reverse judge: a classifier that never saw a prompt
        syn_truth = np.array([c for _, c in synthetic])
        judged = predict(model, ImageFiles(synthetic, recipe, train=False, cache=cache), device)
        result["judge"] = scored(judged, syn_truth, names, seed=recipe.seed)
    return result


def _inputs(st: Store, experiment_id: int, run: dict, device: str):
    """What a run trains and tests on: the class names (the classifier's outputs, in order) and
    (path, class index) items of the synthetic, real train and real test images. A repair run
    reads its base experiment's, with its class's synthetic images replaced by this experiment's."""
    base = experiment_id
    if run["settings"]["run"] == REPAIR:
        base = experiments.get(st, run["settings"]["base"])["id"]
    names = experiments.class_names(st, base)
    index = experiments.class_index(st, base)
    synthetic_rows, real_rows = training.items(st, base)
    as_item = lambda r: (str(st.root / r["path"]), index[r["class_id"]])  # noqa: E731 - a real path may be absolute
    real_train = [as_item(r) for r in real_rows if r["split"] == "train"]
    real_test = [as_item(r) for r in real_rows if r["split"] == "test"]
    from workbench.config import CURATED_RUN

    curated = CURATED_RUN.fullmatch(run["settings"]["run"])
    if curated:
        return names, _curated(st, experiment_id, curated.group(1), int(curated.group(2)), names, device,
                               int(run["settings"]["recipe"]["seed"])), real_train, real_test
    if run["settings"]["run"] != REPAIR:
        return names, [as_item(r) for r in synthetic_rows], real_train, real_test
    label = run["settings"]["class"]
    if label not in names:
        raise ValueError(f"the repair run's class {label!r} is not a class of {run['settings']['base']!r}")
    c = names.index(label)
    own_class = next(k["id"] for k in experiments.classes_of(st, experiment_id) if k["name"] == label)
    own = [dict(r) for r in st.conn.execute("select id, path, class_id, prompt_id from images where experiment_id = ?"
                                            " and class_id = ? order by id", [experiment_id, own_class])]
    if run["settings"].get("keep"):
        from workbench.curate import kept
        from workbench.config import from_experiment
        from workbench.results import embedding_model

        how, n = run["settings"]["keep"]
        cfg = from_experiment(experiments.by_id(st, experiment_id))
        own = kept(st, experiment_id, own, how, min(int(n), len(own)), label_index=c, judge_experiment=base,
                   model=embedding_model(cfg, st, experiment_id), device=device, seed=int(run["settings"]["recipe"]["seed"]))
    # the class's images take the places of the base's, in order (the rest after them, or fewer): with
    # the same images the run is the base's synthetic run, so a gain is the images', not the shuffle's
    mine = iter([(str(st.root / r["path"]), c) for r in own])
    synthetic = [next(mine, None) if index[r["class_id"]] == c else as_item(r) for r in synthetic_rows]
    return names, [x for x in synthetic if x is not None] + list(mine), real_train, real_test


def _curated(st: Store, experiment_id: int, how: str, n: int, names: list[str], device: str,
             seed: int) -> list[tuple[str, int]]:
    """A curated run's training images: ``n`` of each class's synthetic images, chosen by ``how``
    (:func:`workbench.curate.kept`; all of a class that has fewer)."""
    from workbench.config import from_experiment
    from workbench.curate import kept
    from workbench.results import embedding_model

    model = embedding_model(from_experiment(experiments.by_id(st, experiment_id)), st, experiment_id)
    out = []
    for c, k in enumerate(experiments.classes_of(st, experiment_id)):
        rows = [dict(r) for r in st.conn.execute("select id, path, class_id, prompt_id from images where"
                                                 " experiment_id = ? and class_id = ? order by id",
                                                 [experiment_id, k["id"]])]
        chosen = kept(st, experiment_id, rows, how, min(n, len(rows)), label_index=c, judge_experiment=experiment_id,
                      model=model, device=device, seed=seed + c)
        out += [(str(st.root / r["path"]), c) for r in chosen]
    return out


def train_runs(st: Store, experiment_id: int, cfg: ExperimentConfig, worker_id: int, flag, beat,
               seat: Seat | None = None) -> str:
    """Train planned runs until none is left (``done``) or a stop (``stopped``)."""
    training.reclaim(st, experiment_id)  # the runs of a worker that died resume from their checkpoint
    device = _device(cfg)
    waiting: dict[int, float] = {}  # run id → when it first found what it reads not ready
    while not flag.stop.is_set():
        run = training.claim(st, experiment_id, worker_id)
        if run is None:
            return "done"
        print(f"training run {run['name']} ({run['settings']['recipe']['model']}, {run['epochs']} epochs) on {device}",
              flush=True)
        if (run_dir(st.root, run) / "checkpoint.safetensors").exists():
            print(f"  resuming {run['name']} from its checkpoint ({run['epoch']} epochs recorded)", flush=True)

        def on_epoch(e, run=run):
            training.record_epoch(st, run["id"], asdict(e))
            beat.processed += 1
            print(f"  {run['name']} epoch {e.epoch}/{run['epochs']}: loss {e.loss:.4f}, test accuracy"
                  f" {e.test_accuracy if e.test_accuracy is not None else float('nan'):.4f}, {e.images_per_s:.0f} images/s",
                  flush=True)

        try:
            result = train_one(st, experiment_id, run, device, flag.stop.is_set, on_epoch)
        except NotReady as exc:  # a curated run's embeddings or judge are still being made
            waited = waiting.setdefault(run["id"], time.monotonic())
            if time.monotonic() - waited < WAIT_S:
                training.release(st, run["id"])
                flag.stop.wait(2.0)
                continue
            training.fail(st, run["id"], f"{exc.message} after {WAIT_S / 60:.0f} minutes")
            continue
        except Stopped:
            training.release(st, run["id"])
            return "stopped"
        except Exception as exc:  # noqa: BLE001 - a failed run is recorded with its error; the others go on
            text = error_text(exc)
            training.fail(st, run["id"], text)
            print(f"training run {run['name']} failed: {text}", flush=True)
            continue
        training.finish(st, run["id"], result)
        try:
            from workbench.analysis import refresh_metrics

            refresh_metrics(st, experiment_id)  # its numbers join the metrics table
        except Exception as exc:  # noqa: BLE001 - the run is done and stored; the SQL table catches up at the next analysis
            print(f"metrics not refreshed after {run['name']}: {exc}", flush=True)
        (run_dir(st.root, run) / "checkpoint.safetensors").unlink(missing_ok=True)  # done with; model.safetensors stays
    return "stopped"
