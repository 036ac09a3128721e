"""The four causes as the study means them: which classes synthetic data fails, and why.

The study (Marwood et al., arXiv 2311.00056) asks why a classifier trained on synthetic images
does worse on real images than one trained on real images. So the four-causes table ranks the
classes by that **gap**, not by how hard a class is:

    gap(c) = accuracy of the real-trained classifier on class c's real test images
             − accuracy of the synthetic-trained classifier on the same images,

with a paired 95 % bootstrap interval over the class's test images (both classifiers are tested
on the same images, so each image gives one difference in {−1, 0, 1}, and what makes an image
hard for both cancels). A class that CLIP, or the pixel classifier, finds hard on real images
too has a small gap, however low its synthetic→real accuracy. The classifier is the pixel
classifier of the ``[train]`` runs where both runs have finished (the field's Classification
Accuracy Score), else the linear probe on CLIP embeddings; each row says which (``gap_by``).

Each class then gets its **causes**: those of :data:`THRESHOLDS` whose evidence crosses its
declared threshold, or ``none``. "concept" (the model cannot represent the concept) is what is
left: a gap whose interval lies above 0 while adherence and diversity are fine. docs/causes.md
gives each threshold with its rationale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from synthdiv import confidence

RANKING = ("gap", "gap_low", "gap_high", "gap_by", "causes", "adherence_main", "adherence_main_real",
           "adherence_by")  # the columns this module adds to a row
# (what the gap was measured with)
BY_PROBE = "clip probe"
BY_PIXELS = "pixel classifier"


@dataclass(frozen=True)
class Threshold:
    cause: str
    evidence: str  # the four-causes columns it reads
    rule: str  # in words, for the docs and the report's legend
    rationale: str
    crossed: Callable[[dict], bool | None]  # None: the evidence is missing (an image-only encoder, no real set)


def _num(row: dict, key: str) -> float | None:
    v = row.get(key)
    return None if v is None else float(v)


ADHERENCE_DROP = 0.10  # zero-shot on the synthetic images this far below zero-shot on the real ones
VENDI_RATIO = 0.80  # synthetic Vendi below this share of the real Vendi, at equal n
SENSE_EXCESS = 0.10  # sense confusion on the synthetic images this far above the real images'
# adherence's evidence, best first: the [train] judge, then CLIP open set, then CLIP closed set
ADHERENCE_BY = (("adherence_judge", "adherence_judge_real", "the real-trained judge"),
                ("open_set_adherence", "open_set_adherence_real", "CLIP, open set"),
                ("adherence", "adherence_real", "CLIP, the experiment's classes"))


def adherence_evidence(row: dict) -> tuple[float, float, str] | None:
    """The adherence a row's label rests on: (synthetic, real baseline, what read it), the first of
    :data:`ADHERENCE_BY` with both values, or None."""
    for syn_key, real_key, by in ADHERENCE_BY:
        syn, real = _num(row, syn_key), _num(row, real_key)
        if syn is not None and real is not None:
            return syn, real, by
    return None


def _adherence(row: dict) -> bool | None:
    found = adherence_evidence(row)
    return None if found is None else found[0] < found[1] - ADHERENCE_DROP


def _ambiguity(row: dict) -> bool | None:
    syn, real = _num(row, "sense_confusion"), _num(row, "sense_confusion_real")
    if syn is None or real is None:
        return None  # no other sense, no vocabulary, or no real images to say what CLIP confuses anyway
    return syn > real + SENSE_EXCESS


def _diversity(row: dict) -> bool | None:
    ratio = _num(row, "diversity_vendi_ratio")
    return None if ratio is None else ratio < VENDI_RATIO


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("ambiguity", "sense_confusion, sense_confusion_real",
              f"the class's name has another WordNet sense, and at least {SENSE_EXCESS:.2f} more of its synthetic images"
              " than of its real test images are nearer another sense's text (lemma and gloss) than their own sense's",
              "Polysemy is the study's ambiguity: a prompt that names \"crane\" may draw the bird or the machine. The"
              " real images of the class show the intended sense, so their share is the baseline: what CLIP confuses"
              " between two glosses on images that are right. A class without another sense cannot cross it. Ten points,"
              " as for adherence, is about the half-width of the 95 % interval of a share measured on 100 images.",
              _ambiguity),
    Threshold("adherence", "adherence_judge, open_set_adherence, adherence (each with its _real baseline)",
              f"the images are read as their class at least {ADHERENCE_DROP:.2f} less often than the real test images"
              " of the class, by the first that is there of: the [train] real-trained judge, CLIP open set (ImageNet-1k"
              " and the class's senses), CLIP among the experiment's classes",
              "The real images are the baseline: how often a reader gets a class right depends on the class (its name,"
              " CLIP's training data), so an absolute cut would flag the classes the reader is bad at rather than the"
              " prompts the model follows badly. The judge comes first: it never saw a prompt, while CLIP's text tower"
              " may be the generator's own (adherence_circular). Open set comes before closed set: among the"
              " experiment's classes alone, a \"crane\" drawn as a machine counts as adherent when no machine class is"
              " in the experiment. Ten points is about the half-width of the 95 % interval of a share measured on 100"
              " images.", _adherence),
    Threshold("diversity", "diversity_vendi_ratio",
              f"the synthetic images' Vendi score is below {VENDI_RATIO:.2f} × the real images' (equal n)",
              "The Vendi score is the effective number of distinct images; at equal n the ratio says how much of the"
              " real variety the synthetic set has, and below 0.8 a fifth of it is missing. Sampling alone does not"
              " get there: between two random halves of one real digit class (45 images each, 200 splits over the"
              " ten classes) the ratio lay in [0.86, 1.12] (95 %) and never below 0.81.", _diversity),
)
CONCEPT_RULE = ("the gap's 95 % interval lies above 0 and no other cause crosses its threshold:"
                " what the model draws for the class is not what the real images show")


def class_gaps(real_correct: np.ndarray, synthetic_correct: np.ndarray, y: np.ndarray, n_classes: int,
               seed: int = 0) -> list[dict]:
    """Per class: the gap (mean of ``real_correct − synthetic_correct`` over the class's test images,
    both 0/1 per image, the same images in the same order) with its paired bootstrap interval
    (None where the class has no test image; an interval needs 2 images)."""
    d = np.asarray(real_correct, np.float64) - np.asarray(synthetic_correct, np.float64)
    y = np.asarray(y, int)
    out = []
    for c in range(n_classes):
        dc = d[y == c]
        if not len(dc):
            out.append({"gap": None, "gap_low": None, "gap_high": None})
            continue
        ci = confidence.bootstrap(dc, seed=seed + c) if len(dc) >= 2 else None
        out.append({"gap": float(dc.mean()), "gap_low": None if ci is None else ci.low,
                    "gap_high": None if ci is None else ci.high})
    return out


def with_gaps(rows: list[dict], gaps: list[dict] | None, by: str) -> list[dict]:
    """The four-causes rows (in class order) with their gaps (``gaps``: :func:`class_gaps`, None: no
    classifier pair), causes and the order of the table: largest gap first."""
    out = []
    for i, row in enumerate(rows):
        g = gaps[i] if gaps is not None else {"gap": None, "gap_low": None, "gap_high": None}
        r6 = {k: (None if v is None else round(float(v), 6)) for k, v in g.items()}
        new = {"class": row["class"], **r6, "gap_by": by if gaps is not None else None, "causes": None,
               **{k: v for k, v in row.items() if k not in RANKING}}
        new["causes"] = ", ".join(causes_of(new)) or "none"
        found = adherence_evidence(new)
        circular = found is not None and found[2].startswith("CLIP") and new.get("adherence_circular") is True
        new["adherence_main"], new["adherence_main_real"] = (found[0], found[1]) if found else (None, None)
        new["adherence_by"] = None if found is None else found[2] + (" (its text tower is the generator's)" if circular else "")
        out.append(new)
    return sorted(out, key=_order)


def causes_of(row: dict) -> list[str]:
    """The causes whose evidence crosses its threshold (:data:`THRESHOLDS`), then "concept" for a gap
    above 0 that neither explains."""
    found = [t.cause for t in THRESHOLDS if t.crossed(row)]
    low = _num(row, "gap_low")
    if not found and low is not None and low > 0:
        found.append("concept")
    return found


def _order(row: dict) -> tuple:
    """Largest gap first; classes without a gap last; ties by lower adherence, then by name."""
    gap, adh = _num(row, "gap"), _num(row, "adherence")
    return (gap is None, -(gap or 0.0), adh if adh is not None else 2.0, str(row["class"]))


def failing(rows: list[dict]) -> list[dict]:
    """The rows whose gap interval lies above 0: classes where synthetic training does worse."""
    return [r for r in rows if _num(r, "gap_low") is not None and r["gap_low"] > 0]


def headline_sentence(rows: list[dict]) -> str:
    """The report's first sentence on the causes: the classes whose gap interval excludes 0, or
    that none does."""
    if not rows or all(r.get("gap") is None for r in rows):
        return "No class has a gap yet: it needs both classifiers (a real train and a real test split)."
    by = next(r["gap_by"] for r in rows if r.get("gap_by"))
    worse = failing(rows)
    better = [r for r in rows if _num(r, "gap_high") is not None and r["gap_high"] < 0]
    if not worse:
        text = (f"No class's gap (real→real − synthetic→real, {by}) has a 95 % interval above 0:"
                f" on these {len(rows)} classes synthetic training is not measurably worse than real.")
    else:
        names = ", ".join(f"{r['class']} {r['gap']:+.3f} ({r['causes']})" for r in worse[:10])
        more = f" and {len(worse) - 10} more" if len(worse) > 10 else ""
        text = (f"{len(worse)} of {len(rows)} classes do measurably worse trained on synthetic than on real images"
                f" (gap = real→real − synthetic→real, {by}, 95 % interval above 0): {names}{more}.")
    if better:
        text += f" {len(better)} do better on synthetic: " + ", ".join(r["class"] for r in better[:10]) + "."
    return text
