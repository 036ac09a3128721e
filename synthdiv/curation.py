"""Curation at equal n: which ``k`` of one class's images to train on.

Each selection takes one class's images (as rows of arrays) and returns the indices of the ``k`` it
keeps, in the order it chose them; ties are broken by index, so a selection is reproducible.
``synthdiv repair`` compares them by the pixel classifier's synthetic→real accuracy at one budget,
and ``synthdiv export --dataset … --select`` writes the same selection.

- ``random``: a seeded uniform sample without replacement — the baseline every other selection
  must beat.
- ``clip``: the ``k`` highest CLIP scores (the cosine between an image's embedding and its prompt's
  text embedding; Hessel et al. 2021, "CLIPScore"), the filter of He et al. (2023).
- ``adherent``: the images the real-trained judge reads as the class first, most confident first,
  then the others by the judge's probability of the class (a classifier that never saw a prompt:
  Marwood et al. 2023's adherence, read by pixels).
- ``diverse``: greedy k-centre (farthest-point) selection in the embedding space (Gonzalez 1985,
  "Clustering to minimize the maximum intercluster distance"): start at the image nearest the
  class's mean, then repeatedly take the image farthest (cosine distance) from every image taken so
  far. It is the greedy 2-approximation of the k-centre problem, and the idea behind FiftyOne's
  ``compute_uniqueness``/``find_unique`` and Lightly's coreset selection: the kept images cover the
  class's spread rather than its mode.
"""

from __future__ import annotations

import numpy as np

SELECTIONS = ("random", "clip", "adherent", "diverse")


def _check(n: int, k: int) -> None:
    if k < 0:
        raise ValueError(f"cannot keep {k} images")
    if k > n:
        raise ValueError(f"cannot keep {k} of {n} images")


def random_subset(n: int, k: int, seed: int = 0) -> np.ndarray:
    """``k`` of ``n`` indices, uniformly without replacement, from a seeded generator."""
    _check(n, k)
    return np.random.default_rng(seed).permutation(n)[:k]


def top_scored(scores: np.ndarray, k: int) -> np.ndarray:
    """The indices of the ``k`` highest ``scores`` (ties: the lower index first)."""
    scores = np.asarray(scores, np.float64)
    _check(len(scores), k)
    return np.lexsort((np.arange(len(scores)), -scores))[:k]


def adherent(judged: np.ndarray, own_probability: np.ndarray, label: int, k: int) -> np.ndarray:
    """``k`` indices: first the images ``judged`` as ``label``, then the others, each part by
    ``own_probability`` (the judge's probability of ``label``) from the highest."""
    judged, p = np.asarray(judged), np.asarray(own_probability, np.float64)
    _check(len(judged), k)
    return np.lexsort((np.arange(len(p)), -p, judged != label))[:k]


def k_centre(x: np.ndarray, k: int) -> np.ndarray:
    """Greedy k-centre (farthest-point) selection of ``k`` rows of ``x`` (embeddings, normalised
    here) by cosine distance, starting from the row nearest the mean."""
    x = np.asarray(x, np.float64)
    _check(len(x), k)
    if k == 0:
        return np.zeros(0, int)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    mean = x.mean(axis=0)
    first = int(np.argmax(x @ mean))
    chosen = [first]
    nearest = 1.0 - x @ x[first]  # each row's distance to the nearest chosen row
    nearest[first] = -np.inf
    for _ in range(k - 1):
        nxt = int(np.argmax(nearest))  # the first of equal distances: the lowest index
        chosen.append(nxt)
        nearest = np.minimum(nearest, 1.0 - x @ x[nxt])
        nearest[chosen] = -np.inf
    return np.array(chosen, int)


def select(how: str, k: int, *, embeddings: np.ndarray | None = None, clip_scores: np.ndarray | None = None,
           judged: np.ndarray | None = None, own_probability: np.ndarray | None = None, label: int = 0,
           n: int | None = None, seed: int = 0) -> np.ndarray:
    """The indices selection ``how`` (one of :data:`SELECTIONS`) keeps; each needs its inputs."""
    if how == "random":
        size = n if n is not None else len(next(a for a in (embeddings, clip_scores, judged) if a is not None))
        return random_subset(size, k, seed)
    if how == "clip":
        if clip_scores is None:
            raise ValueError("the clip selection needs the images' CLIP scores (embed them first)")
        return top_scored(clip_scores, k)
    if how == "adherent":
        if judged is None or own_probability is None:
            raise ValueError("the adherent selection needs the real-trained judge's reading of the images"
                             ' (a finished "real" [train] run)')
        return adherent(judged, own_probability, label, k)
    if how == "diverse":
        if embeddings is None:
            raise ValueError("the diverse selection needs the images' embeddings (embed them first)")
        return k_centre(embeddings, k)
    raise ValueError(f"unknown selection {how!r}: use one of {', '.join(SELECTIONS)}")
