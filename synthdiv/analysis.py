"""The analyses of one experiment, from its embeddings: every table the workbench shows and exports.

Inputs are CLIP embeddings with class indices: synthetic images, real images with a split
(``train`` / ``test``), and prompt texts — or an image-only encoder's embeddings (no texts:
:mod:`synthdiv.image_encoders`), for which the text-image measures are None and every image-only
table (probes, diversity, PRDC, Fréchet, CMMD, memorisation) is computed the same way. The real **test** split is the yardstick: it is never
used to train a probe nor to choose a probe's C. Tables are lists of rows (dicts), matrices are
lists of lists in class order; a value that cannot be computed (too few samples) is ``None`` and
``notes`` says why.

The four causes of the study, per class, ranked by the gap real→real − synthetic→real of the two
CLIP probes (paired over the class's test images) and labelled with the causes whose evidence
crosses its threshold (:mod:`synthdiv.causes`; the pixel classifiers' gap replaces the probes'
where ``[train]`` runs finished, :func:`workbench.trained.with_pixel`). The evidence:
- ambiguity (polysemy): the class's other WordNet senses (``other_senses``) and the share of its
  synthetic images nearer another sense's text than their own sense's (``sense_confusion``; its
  real test images' share beside it, :mod:`synthdiv.open_set`);
- confusability with the experiment's other classes, under its own name: the highest cosine
  between the class's text embedding and another class's (``confusability_name_similarity``, with
  that class), and the share of its real test images CLIP zero-shot assigns to another class
  (``confusability_zero_shot``);
- weak prompt adherence: zero-shot accuracy on the class's synthetic images among the experiment's
  classes (``adherence``) and among ImageNet-1k's 1,000 plus the class's senses
  (``open_set_adherence``, with what they are read as instead: ``read_as``), each against the same
  on its real test images; ``adherence_circular`` where the judging CLIP's text tower is the
  generator's own text encoder (:mod:`synthdiv.towers`); the ``[train]`` judge's where it ran
  (:func:`workbench.trained.with_pixel`);
- lack of diversity: synthetic ÷ real for the Vendi score and for mean pairwise distance;
- inability to represent the concept: real test accuracy, for the class, of the probe trained
  on synthetic images (``concept_synthetic_to_real``), and the cosine between the synthetic and
  the real centroid (``concept_centroid_cosine``).

Statistics (see :mod:`synthdiv.measures` for the headline table and its intervals):
- every per-class accuracy, and the per-class diversity ratio (mean pairwise cosine distance,
  synthetic ÷ real), has a 95 % bootstrap interval over the class's images (``<name>_low`` /
  ``<name>_high``); Vendi, PRDC and Fréchet distance have intervals in the headline only (over
  classes: a per-class bootstrap of them would cost an eigendecomposition or a neighbour search per
  draw);
- n-dependent per-class metrics (Vendi ratio, PRDC, Fréchet distance) compare the synthetic and
  the real set at equal n: both at the smaller set's size (``n_equal``), the larger one as random
  subsets, ``EQUAL_N_DRAWS`` of them averaged;
- ``near_duplicates``: share of a class's synthetic images whose nearest other synthetic image
  of the class has cosine ≥ 0.95 (``near_duplicates_real``: the same among its real test images,
  for scale); ``nearest_real_train``: mean over the class's synthetic images of the cosine to
  their nearest real **train** image, and the ``memorisation`` table: that cosine's distribution
  over all synthetic images (near 1: a copy of a training image);
- ``headline``: every headline measure with its value, interval and n.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from synthdiv import causes, confidence, metrics, open_set
from synthdiv.measures import HEADLINE
from synthdiv.probe import class_text_vectors, linear_probe, zero_shot_predict
from synthdiv.senses import Plan

VERSION = 4  # of the result's tables: 2 added the headline intervals, equal n and the new checks; 3 the gap ranking,
# cause labels and CMMD as published; 4 polysemy (sense confusion), open-set adherence and confusability by name
EQUAL_N_DRAWS = 5  # random subsets averaged per class when an n-dependent metric meets unequal sets
CMMD_CAP = 2000  # images per set for the experiment-wide CMMD (a random subset of a larger set)


@dataclass(frozen=True)
class Inputs:
    classes: list[str]
    synthetic: np.ndarray
    synthetic_y: np.ndarray
    real: np.ndarray
    real_y: np.ndarray
    real_split: np.ndarray  # "train" / "test" per real row
    text: np.ndarray
    text_y: np.ndarray
    synthetic_prompt: np.ndarray | None = None  # the text embedding of each synthetic image's prompt
    synthetic_template: np.ndarray | None = None  # the template of each synthetic image's prompt (its text)
    open_set: Plan | None = None  # the open-set vocabulary's plan (synthdiv.senses), None: not embedded
    open_set_vectors: np.ndarray | None = None  # its texts' embeddings, one row per text of the plan
    circular: bool | None = None  # the judging CLIP's text tower is the generator's text encoder (None: unknown)
    open_set_note: str = ""  # what the CLIP's open-set numbers are worth, when little (a preset's)


def _safe(fn, notes: list[str], label: str):
    try:
        return fn()
    except ValueError as exc:
        notes.append(f"{label}: {exc}")
        return None


def _centroids(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, x.shape[1]))
    for c in range(n):
        if (y == c).any():
            out[c] = metrics.normalise(x[y == c]).mean(0)
    return metrics.normalise(out)


def _round(m: np.ndarray) -> list[list[float]]:
    return [[round(float(v), 6) for v in row] for row in m]


def real_train_subset(real_y_train: np.ndarray, synthetic_y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices into the real train rows: per class as many as there are synthetic images (or all)."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in np.unique(real_y_train):
        rows = np.flatnonzero(real_y_train == c)
        want = min(len(rows), int((synthetic_y == c).sum()))
        picks.append(rng.choice(rows, want, replace=False))
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, int)


@dataclass
class _Sets:
    """The embeddings of one analysis, split as every table reads them."""

    syn: np.ndarray
    syn_y: np.ndarray
    real: np.ndarray
    real_y: np.ndarray
    test: np.ndarray  # a mask over real: the real test split
    train: np.ndarray  # a mask over real: the real train split
    text_c: np.ndarray | None  # one unit text vector per class (None: an image-only encoder)
    syn_template: np.ndarray | None = None  # each synthetic image's template (None: not known)

    @property
    def has_text(self) -> bool:
        return self.text_c is not None

    @property
    def ty(self) -> np.ndarray:
        return self.real_y[self.test]


def analyse(inp: Inputs, k: int = 5) -> dict:
    """Every table of the experiment (see the module docstring for the definitions), one function
    per table; ``notes`` collects, in order, what could not be computed and why."""
    n = len(inp.classes)
    notes: list[str] = []
    sets = _sets(inp, n, notes)
    syn, real, test = sets.syn, sets.real, sets.test
    out: dict = {"version": VERSION, "classes": list(inp.classes), "notes": notes,
                 "counts": {"synthetic": int(len(syn)), "real_train": int(sets.train.sum()), "real_test": int(test.sum()),
                            "texts": int(len(inp.text))}}
    out.update(_matrices(sets, n))
    s2r, r2r, zs_real, zs_syn, pick = _probes(sets, notes)
    if not test.any():
        notes.append("no real test images: the real-side metrics are empty")
    quiet: list[str] = []  # per-class real-side notes are noise when there is no real set at all
    real_notes = notes if test.any() else quiet
    accuracy = _accuracy_rows(inp.classes, sets, s2r, r2r, zs_real, zs_syn, pick)
    diversity, nearest_train, nearest_train_real = _diversity_rows(inp.classes, sets, k, notes, real_notes)
    out["four_causes"] = causes.with_gaps(_cause_rows(inp, sets, accuracy, diversity, notes),
                                          _probe_gaps(sets, s2r, r2r, n), causes.BY_PROBE)
    out["accuracy"] = accuracy
    out["diversity"] = diversity
    out["diversity_by_template"] = _template_rows(inp.classes, sets, diversity)
    out.update(_confusions(inp.classes, sets.ty, s2r))
    out["geometry"] = _geometry(inp, sets, notes, real_notes)
    _accuracy_intervals(accuracy)
    out["memorisation"] = _memorisation(nearest_train, nearest_train_real)
    out["headline"] = headline(accuracy, diversity, syn, real[test], out["four_causes"])
    out["summary"] = [{row["measure"]: row["value"] for row in out["headline"]}]
    return out


def _sets(inp: Inputs, n: int, notes: list[str]) -> _Sets:
    syn, syn_y = np.asarray(inp.synthetic, np.float64), np.asarray(inp.synthetic_y, int)
    real, real_y = np.asarray(inp.real, np.float64), np.asarray(inp.real_y, int)
    if not len(real):
        real = np.zeros((0, syn.shape[1]))
    has_text = len(inp.text) > 0  # an image-only encoder (synthdiv.image_encoders) has none
    if not has_text:
        notes.append("an image-only encoder: the text-image measures (zero-shot, adherence, ambiguity, CLIP score,"
                     " modality gap) are CLIP's")
    return _Sets(syn, syn_y, real, real_y, np.asarray(inp.real_split) == "test", np.asarray(inp.real_split) == "train",
                 class_text_vectors(inp.text, inp.text_y, n) if has_text else None,
                 None if inp.synthetic_template is None else np.asarray(inp.synthetic_template, dtype=object))


def _matrices(sets: _Sets, n: int) -> dict:
    """The class × class matrices (rows and columns in class order)."""
    syn_c = _centroids(sets.syn, sets.syn_y, n)
    real_c = _centroids(sets.real[sets.test], sets.ty, n)
    text_c = sets.text_c
    return {"similarity_text": _round(text_c @ text_c.T) if sets.has_text else None,
            "similarity_synthetic_text": _round(syn_c @ text_c.T) if sets.has_text else None,
            "similarity_real_text": _round(real_c @ text_c.T) if sets.has_text else None,
            "similarity_synthetic_real": _round(syn_c @ real_c.T)}


def _probes(sets: _Sets, notes: list[str]):
    """The predictions on the real test images of the probes trained on synthetic (s2r) or on as
    many real train images per class (r2r), zero-shot on real and synthetic, and the real train
    subset the r2r probe used."""
    syn, syn_y, real, real_y, test, train = sets.syn, sets.syn_y, sets.real, sets.real_y, sets.test, sets.train
    zs_real = None if not sets.has_text else zero_shot_predict(real[test], sets.text_c) if test.any() else np.zeros(0, int)
    zs_syn = None if not sets.has_text else zero_shot_predict(syn, sets.text_c) if len(syn) else np.zeros(0, int)
    s2r = r2r = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(np.unique(syn_y)) >= 2 and test.any():
            s2r = linear_probe(syn, syn_y).predict(metrics.normalise(real[test]))
        else:
            notes.append("synthetic→real: needs synthetic images of 2 classes and a real test split")
        pick = real_train_subset(real_y[train], syn_y)
        if len(np.unique(real_y[train][pick])) >= 2 and test.any():
            r2r = linear_probe(real[train][pick], real_y[train][pick]).predict(metrics.normalise(real[test]))
        else:
            notes.append("real→real: needs real train images of 2 classes and a real test split")
    return s2r, r2r, zs_real, zs_syn, pick


def _share_right(pred, truth, c):
    sel = truth == c
    return None if pred is None or not sel.any() else round(float((pred[sel] == c).mean()), 6)


def _accuracy_rows(classes, sets: _Sets, s2r, r2r, zs_real, zs_syn, pick) -> list[dict]:
    ty, picked = sets.ty, sets.real_y[sets.train][pick]
    return [{"class": name, "synthetic_to_real": _share_right(s2r, ty, c), "real_to_real": _share_right(r2r, ty, c),
             "zero_shot_real": _share_right(zs_real, ty, c), "zero_shot_synthetic": _share_right(zs_syn, sets.syn_y, c),
             "n_synthetic": int((sets.syn_y == c).sum()), "n_real_train": int((picked == c).sum()),
             "n_real_test": int((sets.test & (sets.real_y == c)).sum())}
            for c, name in enumerate(classes)]


def _diversity_rows(classes, sets: _Sets, k: int, notes: list[str], real_notes: list[str]):
    """The diversity table, and each class's synthetic and real test images' cosines to their
    nearest real train image (for the memorisation table)."""
    diversity, nearest_train, nearest_train_real = [], [], []
    for c, name in enumerate(classes):
        s, r = sets.syn[sets.syn_y == c], sets.real[sets.test & (sets.real_y == c)]
        own_train = sets.train & (sets.real_y == c)
        near_train = metrics.nearest_cosine(s, sets.real[own_train]) if len(s) and own_train.any() else None
        near_real = metrics.nearest_cosine(r, sets.real[own_train]) if len(r) and own_train.any() else None
        if near_train is not None:
            nearest_train.append(near_train)
        if near_real is not None:
            nearest_train_real.append(near_real)
        row = _diversity_row(c, name, s, r, k, notes, real_notes)
        row["nearest_real_train"] = float(near_train.mean()) if near_train is not None else None
        row["nearest_real_train_real"] = float(near_real.mean()) if near_real is not None else None
        row.update(_text_closeness(c, s, r, sets.text_c))
        row["distance_ratio"] = (row["distance_synthetic"] / row["distance_real"]
                                 if row["distance_synthetic"] is not None and row["distance_real"] else None)
        row["distance_ratio_low"] = row["distance_ratio_high"] = None
        if row["distance_ratio"] is not None:  # images of each set resampled, independently
            row["distance_ratio_low"], row["distance_ratio_high"] = confidence.ratio_interval(
                confidence.pairwise_distance_draws(s, seed=2 * c), confidence.pairwise_distance_draws(r, seed=2 * c + 1))
        diversity.append({key: (round(v, 6) if isinstance(v, float) else v) for key, v in row.items()})
    return diversity, nearest_train, nearest_train_real


def _template_rows(classes, sets: _Sets, diversity: list[dict]) -> list[dict]:
    """Per class and template: the Vendi score of the class's synthetic images of that template;
    and on each diversity row, the class's Vendi split into within and across templates
    (:func:`synthdiv.metrics.template_split`; None without templates)."""
    rows = []
    for c, name in enumerate(classes):
        row = diversity[c]
        row["vendi_within_template"] = row["vendi_across_template"] = None
        mask = sets.syn_y == c
        if sets.syn_template is None or not mask.any():
            continue
        split = metrics.template_split(sets.syn[mask], sets.syn_template[mask])
        row["vendi_within_template"] = round(split["within"], 6)
        row["vendi_across_template"] = round(split["across"], 6)
        rows += [{"class": name, "template": t, "n": split["n"][t], "vendi": round(v, 6),
                  "share": round(split["n"][t] / int(mask.sum()), 6)} for t, v in split["per_template"].items()]
    return rows


def _text_closeness(c: int, s: np.ndarray, r: np.ndarray, text_c: np.ndarray | None) -> dict:
    """One class's images' mean cosine with the class's text vector, synthetic and real test, and
    the difference with its interval (each set resampled on its own): > 0 when the synthetic
    images sit closer to their prompt than the real images of the class do."""
    row = {"text_cosine_synthetic": None, "text_cosine_real": None, "text_closeness": None,
           "text_closeness_low": None, "text_closeness_high": None}
    if text_c is None:
        return row
    cs = metrics.own_text_cosine(s, np.full(len(s), c), text_c) if len(s) else None
    cr = metrics.own_text_cosine(r, np.full(len(r), c), text_c) if len(r) else None
    row["text_cosine_synthetic"] = None if cs is None else float(cs.mean())
    row["text_cosine_real"] = None if cr is None else float(cr.mean())
    if cs is not None and cr is not None and len(cs) >= 2 and len(cr) >= 2:
        d = confidence.difference_of_means(cs, cr, seed=c)
        row.update({"text_closeness": d.value, "text_closeness_low": d.low, "text_closeness_high": d.high})
    return row


def _diversity_row(c: int, name: str, s: np.ndarray, r: np.ndarray, k: int, notes: list[str],
                   real_notes: list[str]) -> dict:
    """One class's diversity and fidelity measures, those that need both sets at equal n."""
    n_eq = min(len(s), len(r))
    kk = max(1, min(k, n_eq - 1))
    row = {"class": name, "n_synthetic": int(len(s)), "n_real": int(len(r)), "n_equal": int(n_eq),
           "vendi_synthetic": _safe(lambda: metrics.vendi(s), notes, f"{name} vendi"),
           "vendi_real": _safe(lambda: metrics.vendi(r), real_notes, f"{name} vendi real"),
           "distance_synthetic": _safe(lambda: metrics.mean_pairwise_cosine_distance(s), notes, f"{name} distance"),
           "distance_real": _safe(lambda: metrics.mean_pairwise_cosine_distance(r), real_notes, f"{name} distance real")}
    rng = np.random.default_rng(c)
    vendi_eq = _safe(lambda: _at_equal_n(lambda a, b: {"s": metrics.vendi(a), "r": metrics.vendi(b)},
                                         s, r, n_eq, rng), real_notes, f"{name} vendi at equal n") or {}
    pr = _safe(lambda: _at_equal_n(lambda a, b: metrics.prdc(b, a, k=kk, metric="cosine"), s, r, n_eq, rng),
               real_notes, f"{name} PRDC") or {}
    row.update({key: pr.get(key) for key in ("precision", "recall", "density", "coverage")})
    row["frechet"] = _safe(lambda: _at_equal_n(lambda a, b: {"f": metrics.frechet_distance(a, b)}, s, r, n_eq,
                                               rng)["f"], real_notes, f"{name} Fréchet")
    row["centroid_cosine"] = _safe(lambda: metrics.centroid_cosine(s, r), real_notes, f"{name} centroid")
    row["separability"] = _safe(lambda: metrics.separability(s, r), real_notes, f"{name} separability")
    row["vendi_ratio"] = vendi_eq["s"] / vendi_eq["r"] if vendi_eq.get("r") else None
    row["near_duplicates"] = _safe(lambda: metrics.near_duplicate_share(s), notes, f"{name} near-duplicates")
    row["near_duplicates_real"] = (metrics.near_duplicate_share(r) if len(r) >= 2 else None)
    return row


def _open_set_rows(inp: Inputs, sets: _Sets, notes: list[str]) -> list[dict]:
    """The sense and open-set columns per class (:mod:`synthdiv.open_set`); empty values, and a
    note, where the vocabulary has no embeddings."""
    classes = inp.classes
    if inp.open_set is None or inp.open_set_vectors is None or not sets.has_text:
        if sets.has_text:
            notes.append("open-set adherence and sense confusion: the open-set vocabulary has no embeddings from this"
                         " model (a store from before them: run the embedding worker once more, synthdiv run)")
        return [dict.fromkeys(_OPEN_SET_KEYS) for _ in classes]
    if inp.open_set_note:
        notes.append(inp.open_set_note)
    return open_set.rows(classes, inp.open_set, inp.open_set_vectors, sets.syn, sets.syn_y, sets.real[sets.test], sets.ty)


def _cause_rows(inp: Inputs, sets: _Sets, accuracy: list[dict], diversity: list[dict], notes: list[str]) -> list[dict]:
    classes = inp.classes
    n, text_c, out = len(classes), sets.text_c, []
    opened = _open_set_rows(inp, sets, notes)
    for c, name in enumerate(classes):
        others = [j for j in range(n) if j != c]
        near = max(others, key=lambda j: text_c[c] @ text_c[j]) if others and sets.has_text else None
        a, d = accuracy[c], diversity[c]
        o = opened[c]
        out.append({
            "class": name,
            **{k: o[k] for k in _AMBIGUITY_KEYS},
            "confusability_name_similarity": round(float(text_c[c] @ text_c[near]), 6) if near is not None else None,
            "confusability_nearest_class": classes[near] if near is not None else None,
            "confusability_zero_shot": None if a["zero_shot_real"] is None else round(1 - a["zero_shot_real"], 6),
            "adherence": a["zero_shot_synthetic"],
            "adherence_real": a["zero_shot_real"],
            **{k: o[k] for k in _ADHERENCE_KEYS},
            "adherence_circular": inp.circular if sets.has_text else None,
            "diversity_vendi_ratio": d["vendi_ratio"],
            "diversity_distance_ratio": d["distance_ratio"],
            "concept_synthetic_to_real": a["synthetic_to_real"],
            "concept_centroid_cosine": d["centroid_cosine"],
        })
    return out


_AMBIGUITY_KEYS = ("sense_confusion", "sense_confusion_low", "sense_confusion_high", "sense_confusion_real",
                   "own_sense", "own_sense_by", "other_senses")
_ADHERENCE_KEYS = ("open_set_adherence", "open_set_adherence_low", "open_set_adherence_high",
                   "open_set_adherence_real", "read_as")
_OPEN_SET_KEYS = _AMBIGUITY_KEYS + _ADHERENCE_KEYS


def _probe_gaps(sets: _Sets, s2r, r2r, n: int) -> list[dict] | None:
    """Per class, real→real − synthetic→real of the two CLIP probes on the class's real test images,
    paired per image (:func:`synthdiv.causes.class_gaps`); None without both probes."""
    if s2r is None or r2r is None:
        return None
    return causes.class_gaps(r2r == sets.ty, s2r == sets.ty, sets.ty, n)


def _confusions(classes, ty: np.ndarray, s2r) -> dict:
    """The synthetic-trained probe's confusion matrix on the real test images and its largest
    off-diagonal cells."""
    n = len(classes)
    confusion = np.zeros((n, n), int)
    if s2r is not None:
        np.add.at(confusion, (ty, s2r), 1)
    off = [(int(confusion[i, j]), i, j) for i in range(n) for j in range(n) if i != j and confusion[i, j]]
    return {"confusion": confusion.tolist(), "top_confusions": [
        {"class": classes[i], "predicted": classes[j], "count": cnt,
         "share_of_class": round(cnt / max(1, int(confusion[i].sum())), 6)}
        for cnt, i, j in sorted(off, reverse=True)[:20]]}


def _geometry(inp: Inputs, sets: _Sets, notes: list[str], real_notes: list[str]) -> list[dict]:
    syn, real_test = sets.syn, sets.real[sets.test]
    geo = {"modality_gap": _safe(lambda: metrics.modality_gap(syn, inp.text), notes, "modality gap")
           if sets.has_text else None,
           "modality_gap_real": _safe(lambda: metrics.modality_gap(real_test, inp.text), real_notes, "modality gap real")
           if sets.has_text else None,
           "cone_synthetic": _safe(lambda: metrics.cone(syn), notes, "cone synthetic"),
           "cone_real": _safe(lambda: metrics.cone(real_test), real_notes, "cone real"),
           "cone_text": _safe(lambda: metrics.cone(inp.text), notes, "cone text") if sets.has_text else None,
           "clip_score": None if inp.synthetic_prompt is None or not len(syn)
           else metrics.clip_score(syn, inp.synthetic_prompt),
           "separability_all": _safe(lambda: metrics.separability(syn, real_test), real_notes, "separability")}
    return [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in geo.items()}]


def _at_equal_n(fn, s: np.ndarray, r: np.ndarray, n: int, rng: np.random.Generator) -> dict:
    """``fn(s', r')`` (a dict of numbers) with both sets at ``n`` rows: the larger one as random
    subsets (``EQUAL_N_DRAWS`` of them, values averaged), the other whole."""
    if n < 2:
        raise ValueError(f"needs 2 images in each set, got {len(s)} synthetic and {len(r)} real")
    if len(s) == len(r):
        return fn(s, r)
    draws = [fn(s if len(s) == n else s[rng.choice(len(s), n, replace=False)],
                r if len(r) == n else r[rng.choice(len(r), n, replace=False)]) for _ in range(EQUAL_N_DRAWS)]
    return {key: float(np.mean([d[key] for d in draws])) for key in draws[0]}


def _accuracy_intervals(accuracy: list[dict]) -> None:
    """Each per-class accuracy's 95 % bootstrap interval over the class's images, beside it (the
    accuracies are the per-class columns of the pooled headline measures)."""
    for m in (m for m in HEADLINE if m.kind == "pooled"):
        if not any(m.column in r for r in accuracy):  # a column of another source (the pixel classifiers')
            continue
        for r in accuracy:
            r[m.column + "_low"] = r[m.column + "_high"] = None
        rows = [r for r in accuracy if r[m.column] is not None and r[m.count]]
        if not rows:
            continue
        n = np.array([r[m.count] for r in rows])
        low, high = confidence.proportions(np.rint(np.array([r[m.column] for r in rows]) * n), n)
        for r, lo, hi in zip(rows, low, high, strict=True):
            r[m.column + "_low"], r[m.column + "_high"] = round(float(lo), 6), round(float(hi), 6)


QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)


COPY_QUANTILE = 0.99  # a synthetic image is a likely copy above this quantile of the real test images' own


def _memorisation(nearest: list[np.ndarray], nearest_real: list[np.ndarray]) -> list[dict]:
    """The distribution of each image's cosine to its nearest real train image of its class, for
    the synthetic images and, as their baseline, for the real test images (which no generator
    copied): quantiles, near-copies (≥ 0.95), and on the synthetic row the likely copies, those
    above the real test images' own 99th percentile (``copy_threshold``)."""
    rows = []
    threshold = float(np.quantile(np.concatenate(nearest_real), COPY_QUANTILE)) if nearest_real else None
    for images, parts in (("synthetic", nearest), ("real test", nearest_real)):
        if not parts:
            continue
        x = np.concatenate(parts)
        row = {"images": images, **{f"q{int(q * 100):02d}": round(float(v), 6)
                                    for q, v in zip(QUANTILES, np.quantile(x, QUANTILES), strict=True)}}
        row.update({"n": int(len(x)), "near_copies": int((x >= metrics.NEAR_DUPLICATE_COSINE).sum()),
                    "copy_threshold": None if threshold is None else round(threshold, 6),
                    "likely_copies": int((x > threshold).sum()) if images == "synthetic" and threshold is not None
                    else None})
        rows.append(row)
    return rows


def headline(accuracy: list[dict], diversity: list[dict], synthetic: np.ndarray, real_test: np.ndarray,
             four_causes: list[dict] | None = None) -> list[dict]:
    """Every measure of :data:`synthdiv.measures.HEADLINE`: value, 95 % interval (low, high), the
    n it rests on and the unit the interval resampled (None where it cannot be computed)."""
    rows = []
    for m in HEADLINE:
        interval, value, n, unit = None, None, 0, "classes"
        if m.kind == "pooled":
            # (the pixel classifiers' columns come from training runs, not from embeddings: absent here)
            have = [r for r in accuracy if r.get(m.column) is not None and r.get(m.count)]
            n = len(have)
            if have:
                total = np.array([r[m.count] for r in have], np.float64)
                correct = np.rint(np.array([r[m.column] for r in have]) * total)
                value = float(correct.sum() / total.sum())
                if n >= 2:
                    interval = confidence.pooled_proportion(correct, total)
        elif m.kind == "class_mean":
            table = (four_causes or []) if m.source == "four_causes" else diversity
            values = np.array([r[m.column] for r in table if r.get(m.column) is not None], np.float64)
            n = len(values)
            if n:
                value = float(values.mean())
                if n >= 2:
                    interval = confidence.bootstrap(values)
        else:  # "set": the experiment-wide CMMD, both sets resampled
            unit = "images"
            interval = _cmmd(synthetic, real_test)
            if interval is not None:
                n, value = interval.n, interval.value
        rnd = lambda v: None if v is None else round(float(v), 6)  # noqa: E731
        rows.append({"measure": m.key, "value": rnd(value), "low": rnd(interval and interval.low),
                     "high": rnd(interval and interval.high), "n": n, "resampled": unit})
    return rows



def _cmmd(synthetic: np.ndarray, real_test: np.ndarray) -> confidence.Interval | None:
    """CMMD as published (:func:`synthdiv.metrics.cmmd`) between the synthetic and the real test
    embeddings, at most ``CMMD_CAP`` of each (a seeded random subset of a larger set), with its
    interval over resamples of both sets (:func:`synthdiv.confidence.biased_mmd_interval`);
    None below 2 images in either set. ``n`` is the smaller set's size."""
    if min(len(synthetic), len(real_test)) < 2:
        return None
    rng = np.random.default_rng(0)
    capped = [x if len(x) <= CMMD_CAP else x[np.sort(rng.choice(len(x), CMMD_CAP, replace=False))]
              for x in (synthetic, real_test)]
    a, b = (metrics.normalise(x) for x in capped)
    return confidence.biased_mmd_interval(metrics.rbf_matrix(a, a), metrics.rbf_matrix(b, b), metrics.rbf_matrix(a, b),
                                          scale=metrics.CMMD_SCALE)


# The four-causes table's columns with their short headings, for every place that shows it.
TABLES = ("headline", "four_causes", "diversity", "diversity_by_template", "accuracy", "top_confusions", "geometry",
          "memorisation", "summary")
MATRICES = ("similarity_text", "similarity_synthetic_text", "similarity_real_text", "similarity_synthetic_real",
            "confusion")


def compare_templates(images: np.ndarray, image_template: list[str], image_prompt: np.ndarray | None,
                      class_vectors: np.ndarray, class_index: int) -> list[dict]:
    """One class's images grouped by the template that prompted them, one row per template.

    ``images``: (n, d) embeddings of the class's synthetic images; ``image_template``: each image's
    template text; ``image_prompt``: each image's own prompt embedding (or None); ``class_vectors``:
    one unit text vector per class (:func:`synthdiv.probe.class_text_vectors`); ``class_index``:
    this class's row in it. Per template:

    - ``n``: images embedded;
    - ``diversity``: mean pairwise cosine distance among them (None below 2 images);
    - ``adherence``: share whose nearest class text is this class (zero-shot on the images);
    - ``clip_score``: mean cosine between each image and its own prompt (None without prompts).
    Rows keep the order templates first appear in ``image_template``.
    """
    order = list(dict.fromkeys(image_template))
    labels = np.array(image_template, dtype=object)
    rows = []
    for t in order:
        mask = labels == t
        x = images[mask]
        rows.append({
            "template": t,
            "n": int(mask.sum()),
            "diversity": round(metrics.mean_pairwise_cosine_distance(x), 6) if len(x) >= 2 else None,
            "adherence": round(float((zero_shot_predict(x, class_vectors) == class_index).mean()), 6),
            "clip_score": None if image_prompt is None else round(metrics.clip_score(x, image_prompt[mask]), 6),
        })
    return rows
