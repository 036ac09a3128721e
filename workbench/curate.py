"""Curation of stored images at equal n: the rows of one class that a selection of
:mod:`synthdiv.curation` keeps, read from the store (embeddings, prompt texts) or from the
real-trained judge (a finished ``real`` run's weights). ``synthdiv repair``'s training runs and
``synthdiv export --dataset --select`` both choose through :func:`kept`."""

from __future__ import annotations

import numpy as np

from store import embeddings, experiments, training
from store.core import Store
from synthdiv import curation
from synthdiv.errors import SynthdivError


class NotReady(SynthdivError):
    """What a selection reads is still being made (embeddings, the judge's run): try again soon."""


def judge_run(st: Store, experiment_id: int) -> dict | None:
    """The experiment's finished ``real`` run (the judge: a classifier that never saw a prompt)."""
    return next((r for r in training.runs(st, experiment_id) if r["name"] == "real" and r["state"] == "done"
                 and r["result"] and r["result"].get("weights")), None)


def judge_probabilities(st: Store, judge_experiment: int, paths: list[str], device: str = "cpu") -> np.ndarray:
    """The judge's class probabilities for the images at ``paths`` (items × the judge's classes)."""
    from synthdiv.classifier import ImageFiles, Recipe, build_model, load_weights, probabilities

    run = judge_run(st, judge_experiment)
    if run is None and any(r["name"] == "real" and r["state"] in ("pending", "running")
                           for r in training.runs(st, judge_experiment)):
        raise NotReady("the judge (the real run) has not finished yet", "wait for it")
    if run is None:
        raise SynthdivError("the adherent selection needs the real-trained judge, and the experiment has no finished"
                            ' "real" training run', 'add "real" to [train] runs and run it (synthdiv run CONFIG)')
    recipe = Recipe(**run["settings"]["recipe"])
    names = experiments.class_names(st, judge_experiment)
    model = build_model(recipe.model, len(names), "", recipe.seed, recipe.image_size)
    load_weights(model, str(st.root / run["result"]["weights"]))
    return probabilities(model, ImageFiles([(p, 0) for p in paths], recipe, train=False, cache=False), device)


def kept(st: Store, experiment_id: int, rows: list[dict], how: str, n: int, *, label_index: int,
         judge_experiment: int | None = None, model: str = "", device: str = "cpu", seed: int = 0) -> list[dict]:
    """The ``n`` of ``rows`` (one class's image rows: ``id``, ``path``, ``prompt_id``) that selection
    ``how`` keeps, in the order it chose them. ``label_index``: the class's index among the judge's
    classes; ``model``: the CLIP model whose embeddings ``clip`` and ``diverse`` read."""
    if n > len(rows):
        raise SynthdivError(f"the selection keeps {n} images of a class that has {len(rows)}",
                            "make more images of it, or keep fewer")
    if how == "random":
        idx = curation.random_subset(len(rows), n, seed)
    elif how == "adherent":
        p = judge_probabilities(st, judge_experiment if judge_experiment is not None else experiment_id,
                                [str(st.root / r["path"]) for r in rows], device)
        idx = curation.adherent(p.argmax(1), p[:, label_index], label_index, n)
    elif how in ("clip", "diverse"):
        images = embeddings.by_item(st, "image", [r["id"] for r in rows], model)
        if len(images) < len(rows) and st.conn.execute(
                "select count(*) from workers where experiment_id = ? and kind = 'embedding' and state = 'running'",
                [experiment_id]).fetchone()[0]:
            raise NotReady(f"{len(rows) - len(images)} images have no embedding yet", "wait for the embedding worker")
        if len(images) < len(rows):
            raise SynthdivError(f"the {how} selection needs every image's embedding from {model}, and"
                                f" {len(rows) - len(images)} have none yet", "let the embedding worker finish first"
                                " (synthdiv run CONFIG)")
        x = np.stack([images[r["id"]] for r in rows]).astype(np.float64)
        if how == "diverse":
            idx = curation.k_centre(x, n)
        else:
            texts = embeddings.by_item(st, "text", sorted({r["prompt_id"] for r in rows}), model)
            t = np.stack([texts[r["prompt_id"]] for r in rows]).astype(np.float64)
            cos = (x * t).sum(1) / np.maximum(np.linalg.norm(x, axis=1) * np.linalg.norm(t, axis=1), 1e-12)
            idx = curation.top_scored(cos, n)
    else:
        raise SynthdivError(f"unknown selection {how!r}", f"use one of {', '.join(curation.SELECTIONS)}")
    return [rows[int(i)] for i in idx]
