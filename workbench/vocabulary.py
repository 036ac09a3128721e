"""The experiment's open-set vocabulary (:mod:`synthdiv.senses`): planned from its classes,
embedded by the embedding worker's CLIP, read back for the analysis.

The worker embeds the vocabulary's texts once per model when it starts (a few thousand short
texts for 1,000 ImageNet classes: seconds on a GPU), and records its text tower's fingerprint
(:mod:`synthdiv.towers`); the generation worker records its text encoder's. Without the
vocabulary's embeddings (a store made before them, an image-only encoder) the open-set columns
are empty and the analysis's notes say why.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from store import vocabulary
from store.core import Store
from synthdiv import senses
from synthdiv.classes import load_class_set
from synthdiv.errors import SynthdivError
from workbench.config import ExperimentConfig

IMAGENET_SETS = ("imagenet", "imagenet-raw", "imagenet-r", "imagenet-a", "mini-imagenet")


@lru_cache(maxsize=4)
def _wnids(set_name: str) -> dict[str, str]:
    return load_class_set(set_name).wnids or {}


def plan_for(cfg: ExperimentConfig) -> senses.Plan | None:
    """The vocabulary plan of the experiment's classes (None where timm's or open_clip's lists are
    missing: the open-set measures then have no candidates)."""
    return _plan(cfg.class_set, tuple(cfg.classes), tuple(cfg.definition_of(label) for label, _ in cfg.classes))


@lru_cache(maxsize=16)
def _plan(class_set: str, classes: tuple[tuple[str, str], ...], definitions: tuple[str, ...]) -> senses.Plan | None:
    try:
        wnids = _wnids(class_set) if class_set in IMAGENET_SETS else {}
        return senses.plan([name for _, name in classes], [wnids.get(label) for label, _ in classes],
                           [d or None for d in definitions])
    except SynthdivError:
        return None


def embed(st: Store, cfg: ExperimentConfig, embedder) -> int:
    """Embed the vocabulary texts ``embedder`` has not embedded yet (an image-only encoder has none)
    and record its text tower; returns how many were embedded."""
    fingerprint = getattr(embedder, "text_fingerprint", None)
    if fingerprint:
        vocabulary.record_tower(st, "clip", embedder.name, fingerprint)
    plan = plan_for(cfg) if getattr(embedder, "texts", True) else None
    if plan is None:
        return 0
    todo = vocabulary.missing(st, list(plan.texts), embedder.name)
    done = 0
    for start in range(0, len(todo), 512):
        rows = todo[start:start + 512]
        done += vocabulary.add(st, [r["id"] for r in rows], embedder.name, embedder.embed_texts([r["text"] for r in rows]))
    return done


def vectors(st: Store, cfg: ExperimentConfig, model: str) -> tuple[senses.Plan | None, np.ndarray | None]:
    """The plan and its texts' ``model`` embeddings (None until every text has one)."""
    plan = plan_for(cfg)
    return plan, (None if plan is None else vocabulary.vectors(st, list(plan.texts), model))


def count(st: Store, cfg: ExperimentConfig, model: str) -> int:
    """How many of the plan's texts have a ``model`` embedding (an analysis recomputes when it changes)."""
    plan = plan_for(cfg)
    return 0 if plan is None else vocabulary.count(st, list(plan.texts), model)


def missing_count(st: Store, cfg: ExperimentConfig, model: str) -> int:
    """How many distinct texts of the plan ``model`` has not embedded (ImageNet names two classes alike)."""
    plan = plan_for(cfg)
    return 0 if plan is None else len(set(plan.texts)) - count(st, cfg, model)


def circular(st: Store, generator_models: list[str], model: str) -> bool | None:
    """Whether the CLIP ``model`` has the text tower of one of the generators that made the
    experiment's images (None: a fingerprint is missing)."""
    clip = vocabulary.tower(st, "clip", model)
    gens = [vocabulary.tower(st, "generator", g) for g in generator_models]
    if clip is None or not gens or any(g is None for g in gens):
        return None
    return clip in gens
