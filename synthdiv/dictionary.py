"""The column dictionary: what every column of every result table means, its unit, the count it
rests on and how its interval was drawn. Exports write it beside their tables (``columns.csv``,
a section of the Markdown and LaTeX files, ``columns`` in the JSON), the store's ``metrics`` table
reads its n and interval method from it, and a test checks that every exported column has an entry.

The per-class columns' meanings are :mod:`synthdiv.columns`', the headline measures'
:mod:`synthdiv.measures`'; this module adds the rest (geometry, memorisation, confusions, the
class × class matrices, the training tables) and, for every column, the unit and the n.
"""

from __future__ import annotations

from synthdiv import columns as declared
from synthdiv.confidence import DRAWS, LEVEL
from synthdiv.measures import BY_KEY

LEVEL_TEXT = f"{LEVEL:.0%}"
_BOOT = f"{LEVEL_TEXT} percentile bootstrap ({DRAWS} draws, seeded; synthdiv.confidence)"
INTERVALS = {
    "images": f"{_BOOT} resampling the class's images",
    "paired": f"{_BOOT} resampling the class's real test images, both classifiers' answers on an image together",
    "classes": f"{_BOOT} resampling classes (a cluster bootstrap: a class's images are not independent)",
    "sets": f"{LEVEL_TEXT} basic bootstrap ({DRAWS} draws) resampling the synthetic and the real test images",
    "runs": f"{_BOOT} resampling classes of the real test images",
}

SHARE = "share (0–1)"
COSINE = "cosine (−1–1)"
IMAGES = "images"
TEXT = "text"

# Per-class columns: the count column each rests on (the table's own, or TABLE.COLUMN of another
# table of the same class). Unlisted: n_synthetic.
_N_OF = {
    ("accuracy", k): "n_real_test" for k in ("synthetic_to_real", "real_to_real", "zero_shot_real")
} | {("accuracy", k): "pixel_n_test" for k in ("pixel_synthetic_to_real", "pixel_real_to_real")} | {
    ("diversity", k): "n_real" for k in ("vendi_real", "distance_real", "near_duplicates_real",
                                         "nearest_real_train_real", "text_cosine_real")
} | {("diversity", k): "n_equal" for k in ("precision", "recall", "density", "coverage", "frechet", "vendi_ratio",
                                           "centroid_cosine", "separability", "distance_ratio", "text_closeness")} | {
    ("diversity_by_template", k): "n" for k in ("vendi", "share")
} | {("four_causes", k): "accuracy.n_real_test" for k in (
    "gap", "sense_confusion_real", "adherence_real", "open_set_adherence_real", "adherence_main_real",
    "confusability_zero_shot", "concept_synthetic_to_real")} | {
    ("four_causes", k): "accuracy.pixel_n_test" for k in ("adherence_judge_real", "concept_pixel_synthetic_to_real")
} | {("four_causes", k): "diversity.n_equal" for k in ("diversity_vendi_ratio", "diversity_distance_ratio",
                                                      "concept_centroid_cosine")} | {
    ("four_causes", k): "accuracy.n_synthetic" for k in ("sense_confusion", "adherence", "open_set_adherence",
                                                          "adherence_judge", "adherence_main")}

_SHARE_KEYS = {"synthetic_to_real", "real_to_real", "zero_shot_real", "zero_shot_synthetic", "pixel_synthetic_to_real",
               "pixel_real_to_real", "precision", "recall", "coverage", "separability", "near_duplicates",
               "near_duplicates_real", "share", "sense_confusion", "sense_confusion_real", "adherence",
               "adherence_real", "open_set_adherence", "open_set_adherence_real", "adherence_judge",
               "adherence_judge_real", "adherence_main", "adherence_main_real", "confusability_zero_shot",
               "concept_synthetic_to_real", "concept_pixel_synthetic_to_real", "share_of_class", "accuracy",
               "low", "high", "judge_low", "judge_high",
               "judge_synthetic", "separability_all"}
_COSINE_KEYS = {"centroid_cosine", "nearest_real_train", "nearest_real_train_real", "text_cosine_synthetic",
                "text_cosine_real", "confusability_name_similarity", "concept_centroid_cosine", "clip_score",
                "cone_synthetic", "cone_real", "cone_text", "copy_threshold"}
_UNITS = {"vendi_synthetic": "effective number of images", "vendi_real": "effective number of images",
          "vendi": "effective number of images",
          "vendi_within_template": "effective number of images", "vendi_across_template": "effective number of images", "distance_synthetic": "cosine distance (0–2)",
          "distance_real": "cosine distance (0–2)", "density": "real neighbourhoods per image (≥ 0)",
          "frechet": "squared distance in the embedding space", "vendi_ratio": "ratio", "distance_ratio": "ratio",
          "diversity_vendi_ratio": "ratio", "diversity_distance_ratio": "ratio",
          "text_closeness": "cosine difference", "gap": "difference of shares (−1–1)",
          "modality_gap": "Euclidean distance between unit-vector means (0–2)", "modality_gap_real":
          "Euclidean distance between unit-vector means (0–2)", "cmmd": "MMD² × 1000",
          "images_per_s": "images per second", "seconds": "seconds", "loss": "cross-entropy (nats)",
          "epoch": "epochs", "epochs": "epochs", "lr": "learning rate", "train_accuracy": SHARE,
          "test_accuracy": SHARE, "current": "true / false", "adherence_circular": "true / false"}

# Columns of the tables synthdiv.columns does not declare: table → {column: meaning}.
_OTHER = {
    "geometry": {
        "modality_gap": "‖mean normalised synthetic image embedding − mean normalised text embedding‖ (Liang et al."
                        " 2022)",
        "modality_gap_real": "the same for the real test images", "cone_synthetic": "cone effect: mean pairwise"
        " cosine similarity among the synthetic image embeddings (near 1: a narrow cone)",
        "cone_real": "the same among the real test images", "cone_text": "the same among the prompt embeddings",
        "clip_score": "mean cosine between each synthetic image and its own prompt (CLIPScore without its ×2.5)",
        "separability_all": "cross-validated accuracy of a linear classifier telling synthetic from real embeddings"
                            " (both cut to the smaller set: 0.5 = indistinguishable)"},
    "memorisation": {
        "images": "which images the row describes: synthetic, or the real test images (the baseline)",
        **{f"q{q:02d}": f"the {q}th percentile of each image's cosine to its nearest real train image of its class"
           for q in (0, 5, 25, 50, 75, 95, 100)},
        "n": "images the row's distribution is over", "near_copies": "images with a nearest real train cosine ≥ 0.95",
        "copy_threshold": "the real test images' own 99th percentile of that cosine",
        "likely_copies": "synthetic images above copy_threshold (likely copies of a train image)"},
    "top_confusions": {
        "class": "the class of the real test images", "predicted": "the class the synthetic-trained probe reads them"
        " as instead", "count": "real test images of the class read so", "share_of_class": "their share of the class's"
        " real test images"},
    "headline": {
        "measure": "the headline measure (its definition: the measures' entries of this dictionary)",
        "value": "its value", "low": "the lower end of its interval", "high": "the upper end of its interval",
        "n": "what its interval resampled: classes, or images of the smaller set (column resampled)",
        "resampled": "the units its interval resampled (classes, or images for a whole-set measure)"},
    "training_runs": {
        "run": "the run's name ([train] runs: synthetic, real, mix-Kx, …)", "trains_on": "what it trains on, in words",
        "model": "the image classifier", "state": "queued, running, done, failed or cancelled",
        "epoch": "epochs done", "epochs": "epochs planned", "n_synthetic": "synthetic images it trained on",
        "n_real": "real train images it trained on", "accuracy": "its accuracy on the real test images",
        "low": "lower end of that accuracy's interval", "high": "upper end of that accuracy's interval",
        "n_test": "real test images it was tested on", "judge_synthetic": "the real-trained run's accuracy on the"
        " synthetic images (the judge's adherence)", "judge_low": "lower end of the judge's interval",
        "judge_high": "upper end of the judge's interval", "images_per_s": "training speed",
        "error": "why it failed, first line", "current": "whether the run is of the experiment's current settings"},
    "training_per_class": {"class": "the class", "n_test": "real test images of the class",
                           "judge_synthetic": "share of the class's synthetic images the real-trained run reads as"
                                              " the class (the judge)"},
    "training_epochs": {"run": "the run", "epoch": "the epoch (from 1)", "loss": "mean training loss of the epoch",
                        "train_accuracy": "accuracy on the run's training images during the epoch",
                        "test_accuracy": "accuracy on the real test images after the epoch",
                        "lr": "the learning rate of the epoch", "seconds": "seconds the epoch took",
                        "images_per_s": "training images per second during the epoch"},
}
_MATRICES = {
    "similarity_text": "cosine between class i's and class j's mean prompt (text) embedding",
    "similarity_synthetic_text": "cosine between class i's mean synthetic image embedding and class j's mean text"
                                 " embedding",
    "similarity_real_text": "cosine between class i's mean real test image embedding and class j's mean text"
                            " embedding",
    "similarity_synthetic_real": "cosine between class i's mean synthetic and class j's mean real test image"
                                 " embedding",
    "confusion": "real test images of class i (row) the synthetic-trained linear probe reads as class j (column)",
}


def base_table(name: str) -> str:
    """The table a name exports: ``diversity.ENCODER`` is an image encoder's ``diversity``."""
    return name.split(".", 1)[0]


def unit(table: str, key: str) -> str:
    """The unit of ``key`` in ``table`` (its interval ends share it)."""
    table, key = base_table(table), _stem(key)
    if table in _MATRICES:
        return IMAGES if table == "confusion" else COSINE
    if table == "summary":
        return unit_of_measure(key)
    if table == "headline" and key in ("value", "low", "high"):
        return "the measure's (its row in the measures entries)"
    if table == "headline" and key == "n":
        return "classes or images (column resampled)"
    if table == "training_per_class" and key not in ("class", "n_test"):
        return SHARE
    if key in _UNITS:
        return _UNITS[key]
    if key in _SHARE_KEYS:
        return SHARE
    if key in _COSINE_KEYS or key.startswith("q") and key[1:].isdigit():
        return COSINE
    if key == "n" or key.startswith("n_") or key.endswith("_n_test") or key in (
            "count", "near_copies", "likely_copies"):
        return IMAGES
    return TEXT


def unit_of_measure(measure: str) -> str:
    """The unit of a headline measure."""
    m = BY_KEY.get(measure)
    if m is None:
        return TEXT
    if measure == "cmmd":
        return _UNITS["cmmd"]
    return unit(m.source, m.column) if m.column else SHARE


def _stem(key: str) -> str:
    for tail in ("_low", "_high"):
        if key.endswith(tail) and key not in ("low", "high", "judge_low", "judge_high"):
            return key[: -len(tail)]
    return key


def n_column(table: str, key: str) -> str:
    """The column holding the n that ``key`` of ``table`` rests on ("" for a count, a name or text)."""
    table, key = base_table(table), _stem(key)
    if table in declared.TABLES:
        if key in ("class", "template") or unit(table, key) in (IMAGES, TEXT):
            return ""
        return _N_OF.get((table, key), "n_synthetic" if table in ("accuracy", "diversity")
                         else "accuracy.n_synthetic")
    if table == "training_per_class" and key not in ("class", "n_test"):
        return "n_test"
    return {"headline": {"value": "n", "low": "n", "high": "n"},
            "memorisation": {k: "n" for k in _OTHER["memorisation"] if k.startswith("q")},
            "top_confusions": {"share_of_class": "accuracy.n_real_test"},
            "training_runs": {"accuracy": "n_test", "low": "n_test", "high": "n_test"}}.get(table, {}).get(key, "")


def interval(table: str, key: str) -> str:
    """How the interval of ``key`` (or the interval ``key`` is an end of) was drawn; "" without one."""
    table = base_table(table)
    stem = _stem(key)
    if table in declared.TABLES:
        try:
            col = declared.column(table, stem)
        except KeyError:
            return ""
        if not col.interval:
            return ""
        return INTERVALS["paired" if stem == "gap" else "images"]
    if table == "headline" and key in ("value", "low", "high"):
        return "per measure: " + "; ".join(f"{k} — {INTERVALS[v]}" for k, v in
                                           (("pooled and class means", "classes"), ("cmmd", "sets")))
    if table == "training_runs" and key in ("accuracy", "low", "high", "judge_synthetic", "judge_low", "judge_high"):
        return INTERVALS["runs"]
    return ""


def interval_of_measure(measure: str) -> str:
    """How a headline measure's interval was drawn."""
    m = BY_KEY.get(measure)
    return "" if m is None else INTERVALS["sets" if m.kind == "set" else "classes"]


def meaning(table: str, key: str) -> str:
    """What ``key`` of ``table`` holds, one line."""
    table, stem = base_table(table), _stem(key)
    end = "" if stem == key else ("lower" if key.endswith("_low") else "upper")
    if table in declared.TABLES:
        try:
            what = declared.column(table, stem).what
        except KeyError:
            what = ""
    elif table in _MATRICES:
        what = "the row's class (i)" if key == "class" else f"column class j: {_MATRICES[table]}"
    elif table == "summary":
        what = BY_KEY[stem].what if stem in BY_KEY else ""
    elif table == "training_per_class":
        what = _OTHER[table].get(key) or f"real test accuracy of run {key.removeprefix('accuracy_')} on the class"
    else:
        what = _OTHER.get(table, {}).get(key, "")
    if end and what:
        return f"the {end} end of the {LEVEL_TEXT} interval of {stem}"
    return what


def entry(table: str, key: str) -> dict:
    """One row of the column dictionary."""
    return {"table": table, "column": key, "meaning": meaning(table, key), "unit": unit(table, key),
            "n_column": n_column(table, key), "interval": interval(table, key)}


def dictionary(tables: dict[str, tuple[list[str], list]]) -> list[dict]:
    """The column dictionary of ``tables`` (name → header, rows): one row per column of each, and
    one per headline measure (table ``measures``: the headline table's rows)."""
    out = [entry(name, key) for name, (head, _) in tables.items() for key in head]
    if "headline" in tables:
        head, rows = tables["headline"]
        at = head.index("measure")
        out += [{"table": "measures", "column": r[at], "meaning": BY_KEY[r[at]].what if r[at] in BY_KEY else "",
                 "unit": unit_of_measure(r[at]), "n_column": "headline.n", "interval": interval_of_measure(r[at])}
                for r in rows]
    return out


COLUMNS_HEAD = ["table", "column", "meaning", "unit", "n_column", "interval"]
