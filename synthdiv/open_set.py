"""Open-set adherence and sense confusion: what CLIP reads an image as, among far more than the
experiment's own classes.

Closed-set zero-shot (``adherence``) picks among the experiment's classes only, so a "crane" drawn
as a machine counts as adherent when no machine class is in the experiment. Here each image of
class c is scored against its open-set candidates (:func:`synthdiv.senses.plan`: the 1,000
ImageNet-1k class texts, the class's own text, its other WordNet senses):

- ``open_set_adherence``: the share of the class's images whose highest-cosine candidate is the
  class's own text or its own sense's (Radford et al. 2021's zero-shot rule, over a larger label set); the real test
  images' share is its baseline, and ``read_as`` names the three candidates its synthetic images
  are read as most often instead, with their shares;
- ``sense_confusion``: among classes with another sense, the share of the class's images nearer
  (cosine) to another sense's text (its lemma and gloss) than to the own sense's: the images show
  the wrong "crane". The real test images' share is the baseline.

Both are shares with a binomial bootstrap interval over the class's images
(:func:`synthdiv.confidence.proportions`). All images are scored in one chunked matrix product
(images × candidates), never one class at a time.
"""

from __future__ import annotations

import numpy as np

from synthdiv import confidence
from synthdiv.metrics import normalise
from synthdiv.senses import Plan

CHUNK = 4096  # image rows per block of the images × candidates product
TOP = 3  # what a class's synthetic images are read as instead: this many candidates


def read_as(x: np.ndarray, y: np.ndarray, vectors: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """For each image (row of ``x``, class ``y``), the candidate column with the highest cosine among
    the columns ``allowed[y]`` of ``vectors`` (one text embedding a column)."""
    v = normalise(vectors).T
    out = np.zeros(len(x), int)
    for start in range(0, len(x), CHUNK):
        s = normalise(x[start:start + CHUNK]) @ v
        s[~allowed[y[start:start + CHUNK]]] = -np.inf
        out[start:start + CHUNK] = s.argmax(1)
    return out


def sense_confused(x: np.ndarray, y: np.ndarray, vectors: np.ndarray, plan: Plan) -> np.ndarray:
    """Per image: 1.0 where another sense of its class is nearer than the own sense, 0.0 where not,
    NaN where its class has no own sense or no other sense."""
    out = np.full(len(x), np.nan)
    v, u = normalise(vectors), normalise(x) if len(x) else np.zeros((0, vectors.shape[1]))
    for c, cols in enumerate(plan.sense_columns):
        own = plan.own_sense_columns[c]
        rows = np.flatnonzero(y == c)
        if own is None or not cols or not len(rows):
            continue
        scores = u[rows] @ v[[own, *cols]].T  # a class's few senses: small per class, and only for polysemous ones
        out[rows] = (scores[:, 1:].max(1) > scores[:, 0]).astype(float)
    return out


def _shares(hit: np.ndarray, y: np.ndarray, n: int, key: str) -> list[dict]:
    """Per class: the mean of ``hit`` (NaN: not counted) with its 95 % interval, as ``key``,
    ``key_low``, ``key_high``."""
    ok = ~np.isnan(hit)
    total = np.bincount(y[ok], minlength=n)
    correct = np.bincount(y[ok], weights=hit[ok], minlength=n)
    low, high = confidence.proportions(np.rint(correct), total)
    r6 = lambda v: None if not np.isfinite(v) else round(float(v), 6)  # noqa: E731
    return [{key: r6(correct[c] / total[c]) if total[c] else None,
             f"{key}_low": r6(low[c]) if total[c] else None, f"{key}_high": r6(high[c]) if total[c] else None}
            for c in range(n)]


def _top(picked: np.ndarray, own: tuple[int, int], labels: tuple[str, ...]) -> str | None:
    if not len(picked):
        return None
    cols, counts = np.unique(picked[~np.isin(picked, own)], return_counts=True)
    order = np.lexsort((cols, -counts))[:TOP]
    return ", ".join(f"{labels[cols[i]]} {counts[i] / len(picked):.2f}" for i in order) or "—"


def rows(classes: list[str], plan: Plan, vectors: np.ndarray, syn: np.ndarray, syn_y: np.ndarray,
         real: np.ndarray, real_y: np.ndarray) -> list[dict]:
    """The open-set and sense columns of the four-causes table, one row per class (in class order):
    synthetic images ``syn`` and real test images ``real`` with their class indices."""
    n = len(classes)
    pick_s = read_as(syn, syn_y, vectors, plan.allowed) if len(syn) else np.zeros(0, int)
    pick_r = read_as(real, real_y, vectors, plan.allowed) if len(real) else np.zeros(0, int)
    own = plan.own
    own_sense = np.array([-1 if c is None else c for c in plan.own_sense_columns], int)

    def hit(pick, y):  # read as the class: its own text or its own sense's
        return ((pick == own[y]) | (pick == own_sense[y])).astype(float)

    adh_s = _shares(hit(pick_s, syn_y), syn_y, n, "open_set_adherence")
    adh_r = _shares(hit(pick_r, real_y), real_y, n, "open_set_adherence_real")
    conf_s = _shares(sense_confused(syn, syn_y, vectors, plan), syn_y, n, "sense_confusion")
    conf_r = _shares(sense_confused(real, real_y, vectors, plan), real_y, n, "sense_confusion_real")
    out = []
    for c, name in enumerate(classes):
        found = plan.senses[c]
        out.append({
            "class": name,
            "own_sense": None if found.own is None else f"{found.own.label}: {found.own.gloss}",
            "own_sense_by": found.own_by,
            "other_senses": "; ".join(f"{s.label}: {s.gloss}" for s in found.others) or None,
            **conf_s[c], "sense_confusion_real": conf_r[c]["sense_confusion_real"],
            **adh_s[c], "open_set_adherence_real": adh_r[c]["open_set_adherence_real"],
            "read_as": _top(pick_s[syn_y == c], (int(own[c]), int(own_sense[c])), plan.labels),
        })
    return out
