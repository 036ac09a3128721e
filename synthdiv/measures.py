"""The declared table of headline measures: what each number of an experiment's summary means,
how it is made from the per-class tables, and how its confidence interval is drawn.

The analysis computes every entry; the report, the export, the dashboard and the compare screen
read this table (their headings live with them). A new headline number is one metric in
:mod:`synthdiv.metrics`, its per-class column declared in :mod:`synthdiv.columns` and made in
:mod:`synthdiv.analysis`, and one entry here (its name and heading in :mod:`screens.labels`).

Kinds of measure, and their intervals (95 %, percentile bootstrap, :mod:`synthdiv.confidence`):

- ``pooled``: an accuracy over all images, Σ correct / Σ images of a per-class accuracy column;
  the interval resamples classes (a cluster bootstrap: images of a class are not independent).
- ``class_mean``: the mean over classes of a per-class column (of the diversity table, or of the
  four-causes table where ``table`` says so; classes without a value left out); the interval
  resamples classes.
- ``set``: computed on the whole synthetic and real test sets (each capped at 2,000 images, a
  random subset of a larger one); the interval resamples both sets (the basic bootstrap of
  :func:`synthdiv.confidence.biased_mmd_interval`), and ``n`` is the smaller set's size.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    key: str
    what: str
    kind: str  # "pooled" | "class_mean" | "set"
    column: str | None = None  # the per-class column (table "accuracy" for pooled, "diversity" for class_mean)
    count: str | None = None  # for pooled: the per-class column holding the images it is a share of
    better: str | None = None  # "higher" | "lower" | None (neither is better in itself)
    n_dependent: bool = False  # computed at equal n when sets of different sizes meet
    table: str = ""  # the per-class table a class_mean reads ("": diversity)

    @property
    def source(self) -> str:
        """The per-class table its column is in."""
        return "accuracy" if self.kind == "pooled" else self.table or "diversity"


HEADLINE: tuple[Measure, ...] = (
    Measure("adherence_judge", "share of synthetic images the [train] real-trained pixel classifier (the judge, which"
            " never saw a prompt) reads as their class: the headline adherence where it ran (filled from that run,"
            " pooled over images, its interval over classes)", "class_mean", "adherence_judge", better="higher",
            table="four_causes"),
    Measure("adherence", "share of synthetic images CLIP zero-shot reads as their class", "pooled",
            "zero_shot_synthetic", "n_synthetic", "higher"),
    Measure("zero_shot_real", "the same on the real test images", "pooled", "zero_shot_real", "n_real_test",
            "higher"),
    Measure("synthetic_to_real", "real test accuracy of a linear probe trained on the synthetic images",
            "pooled", "synthetic_to_real", "n_real_test", "higher"),
    Measure("real_to_real", "the same probe trained on as many real train images per class",
            "pooled", "real_to_real", "n_real_test", "higher"),
    Measure("pixel_synthetic_to_real", "real test accuracy of an image classifier trained on the synthetic"
            " pixels ([train] run synthetic: the Classification Accuracy Score)", "pooled",
            "pixel_synthetic_to_real", "pixel_n_test", "higher"),
    Measure("pixel_real_to_real", "the same classifier trained on as many real train images per class"
            " ([train] run real)", "pooled", "pixel_real_to_real", "pixel_n_test", "higher"),
    Measure("diversity_ratio", "mean pairwise cosine distance, synthetic ÷ real, mean over classes",
            "class_mean", "distance_ratio", better="higher"),
    Measure("vendi_ratio", "Vendi score synthetic ÷ real at equal n, mean over classes", "class_mean",
            "vendi_ratio", better="higher", n_dependent=True),
    Measure("precision", "share of synthetic images inside the real manifold (PRDC, k = 5, equal n)",
            "class_mean", "precision", better="higher", n_dependent=True),
    Measure("recall", "share of real images inside the synthetic manifold (PRDC, equal n)", "class_mean",
            "recall", better="higher", n_dependent=True),
    Measure("density", "PRDC density (equal n): how many real neighbourhoods hold each synthetic image",
            "class_mean", "density", better="higher", n_dependent=True),
    Measure("coverage", "PRDC coverage (equal n): share of real images with a synthetic one nearby",
            "class_mean", "coverage", better="higher", n_dependent=True),
    Measure("frechet", "Fréchet distance between synthetic and real embeddings (equal n), mean over classes",
            "class_mean", "frechet", better="lower", n_dependent=True),
    Measure("cmmd", "CMMD as published: biased MMD² (RBF, σ = 10, ×1000) between the synthetic and the real test"
            " embeddings; its interval resamples both sets", "set", better="lower"),
    Measure("near_duplicates", "share of synthetic images with a near-twin (cosine ≥ 0.95) in their class",
            "class_mean", "near_duplicates", better="lower"),
    Measure("near_duplicates_real", "the same share among the real test images: near-duplicates' baseline",
            "class_mean", "near_duplicates_real"),
    Measure("nearest_real_train", "mean cosine of each synthetic image to its nearest real train image"
            " (memorisation check: near 1 = copies)", "class_mean", "nearest_real_train"),
    Measure("nearest_real_train_real", "the same for the real test images: the baseline a copy must exceed",
            "class_mean", "nearest_real_train_real"),
    Measure("open_set_adherence", "share of a class's synthetic images CLIP reads as the class among ImageNet-1k's"
            " 1,000 classes and the class's WordNet senses (open set), mean over classes", "class_mean",
            "open_set_adherence", better="higher", table="four_causes"),
    Measure("open_set_adherence_real", "the same on the real test images: its baseline", "class_mean",
            "open_set_adherence_real", better="higher", table="four_causes"),
    Measure("sense_confusion", "share of a class's synthetic images nearer another WordNet sense of its name than"
            " their own, mean over the classes whose name has another sense", "class_mean", "sense_confusion",
            better="lower", table="four_causes"),
    Measure("sense_confusion_real", "the same on the real test images: its baseline", "class_mean",
            "sense_confusion_real", better="lower", table="four_causes"),
    Measure("prompt_closeness", "synthetic images' cosine to their class text minus the real test images', mean over"
            " classes (> 0: synthetic images sit closer to their prompt than real ones do)", "class_mean",
            "text_closeness"),
)

BY_KEY = {m.key: m for m in HEADLINE}

UNIT_WORDS = {"classes": "classes", "images": "images (the smaller set)",
              "subsets": "per set"}  # "subsets": an analysis stored before CMMD resampled both sets


def rests_on(row: dict) -> str:
    """What a headline row's number rests on, in words: ``10 classes`` (the units its interval
    resampled) or ``450 images (the smaller set)`` (an experiment-wide measure); "" without n."""
    if not row.get("n"):
        return ""
    return f"{row['n']} {UNIT_WORDS.get(row.get('resampled') or 'classes', 'classes')}"

