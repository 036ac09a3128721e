"""The declared per-class columns: every number a per-class table of an analysis holds (the
accuracy, diversity and four-causes tables), what it means, which function computes it, which
way is better, and whether it compares the synthetic and real sets at equal n.

:mod:`synthdiv.analysis` makes the rows (a test checks that their keys are these); the report,
the dashboard and the compare screen show them under the headings of :mod:`screens.labels`. A new per-class number is one
function in :mod:`synthdiv.metrics` (or :mod:`synthdiv.probe`), its computation in
:mod:`synthdiv.analysis`, one entry here and its heading there. The headline numbers (one per
experiment) are declared in :mod:`synthdiv.measures`.
"""

from __future__ import annotations

from dataclasses import dataclass

TABLES = ("accuracy", "diversity", "diversity_by_template", "four_causes")
CAUSES = ("ambiguity", "adherence", "diversity", "concept")  # the study's four, in its order


@dataclass(frozen=True)
class Column:
    key: str
    table: str  # one of TABLES
    what: str  # its definition, one line
    function: str | None = None  # the dotted name of the function that computes it (None: a count or a name)
    better: str | None = None  # "higher" | "lower" | None (neither is better in itself)
    equal_n: bool = False  # the synthetic and real sets are compared at equal n (random subsets)
    interval: bool = False  # a 95 % bootstrap interval stands beside it (<key>_low, <key>_high)
    cause: str | None = None  # the four-causes table: the cause it is evidence of (one of CAUSES)
    source: str = "embeddings"  # "embeddings" (the analysis) | "training" (the [train] runs' pixel classifiers)


_CLASS = "the class's name"
_PROBE = "synthdiv.probe.linear_probe"
_ZERO_SHOT = "synthdiv.probe.zero_shot_predict"
_PIXELS = "synthdiv.classifier.train"

COLUMNS: tuple[Column, ...] = (
    # accuracy: probes and zero-shot on the real test images of the class (and on its synthetic ones)
    Column("class", "accuracy", _CLASS),
    Column("synthetic_to_real", "accuracy", "share of the class's real test images a linear probe on CLIP, trained on"
           " the synthetic images, reads as the class", _PROBE, "higher", interval=True),
    Column("real_to_real", "accuracy", "the same, for the probe trained on as many real train images per class",
           _PROBE, "higher", interval=True),
    Column("zero_shot_real", "accuracy", "share of the class's real test images whose nearest class text (CLIP"
           " zero-shot) is the class's", _ZERO_SHOT, "higher", interval=True),
    Column("zero_shot_synthetic", "accuracy", "the same on the class's synthetic images (prompt adherence)",
           _ZERO_SHOT, "higher", interval=True),
    Column("n_synthetic", "accuracy", "synthetic images of the class"),
    Column("n_real_train", "accuracy", "real train images of the class the real→real probe trained on"),
    Column("n_real_test", "accuracy", "real test images of the class"),
    Column("pixel_synthetic_to_real", "accuracy", "share of the class's real test images the image classifier"
           " trained on the synthetic pixels ([train] run synthetic) reads as the class", _PIXELS, "higher",
           interval=True, source="training"),
    Column("pixel_real_to_real", "accuracy", "the same for the classifier trained on real pixels ([train] run real)",
           _PIXELS, "higher", interval=True, source="training"),
    Column("pixel_n_test", "accuracy", "real test images of the class the pixel classifiers were tested on",
           source="training"),
    # diversity and fidelity: the class's synthetic images against its real test images
    Column("class", "diversity", _CLASS),
    Column("n_synthetic", "diversity", "synthetic images of the class"),
    Column("n_real", "diversity", "real test images of the class"),
    Column("n_equal", "diversity", "the n at which the equal-n columns compare the two sets (the smaller set's size)"),
    Column("vendi_synthetic", "diversity", "Vendi score of the synthetic images (effective number of distinct images)",
           "synthdiv.metrics.vendi", "higher"),
    Column("vendi_real", "diversity", "Vendi score of the real test images", "synthdiv.metrics.vendi"),
    Column("distance_synthetic", "diversity", "mean pairwise cosine distance among the synthetic images",
           "synthdiv.metrics.mean_pairwise_cosine_distance", "higher"),
    Column("distance_real", "diversity", "mean pairwise cosine distance among the real test images",
           "synthdiv.metrics.mean_pairwise_cosine_distance"),
    Column("precision", "diversity", "share of synthetic images inside the real images' k-NN manifold (PRDC)",
           "synthdiv.metrics.prdc", "higher", equal_n=True),
    Column("recall", "diversity", "share of real images inside the synthetic images' k-NN manifold (PRDC)",
           "synthdiv.metrics.prdc", "higher", equal_n=True),
    Column("density", "diversity", "PRDC density: real neighbourhoods holding each synthetic image, on average",
           "synthdiv.metrics.prdc", "higher", equal_n=True),
    Column("coverage", "diversity", "PRDC coverage: share of real images with a synthetic one in their neighbourhood",
           "synthdiv.metrics.prdc", "higher", equal_n=True),
    Column("frechet", "diversity", "Fréchet distance between Gaussians fitted to the synthetic and the real embeddings",
           "synthdiv.metrics.frechet_distance", "lower", equal_n=True),
    Column("centroid_cosine", "diversity", "cosine between the synthetic and the real centroid",
           "synthdiv.metrics.centroid_cosine", "higher"),
    Column("separability", "diversity", "cross-validated accuracy of a linear classifier telling synthetic from real"
           " (0.5: indistinguishable)", "synthdiv.metrics.separability", "lower"),
    Column("vendi_ratio", "diversity", "Vendi score synthetic ÷ real at equal n", "synthdiv.metrics.vendi", "higher",
           equal_n=True),
    Column("near_duplicates", "diversity", "share of synthetic images whose nearest other synthetic image of the class"
           " has cosine ≥ 0.95", "synthdiv.metrics.near_duplicate_share", "lower"),
    Column("near_duplicates_real", "diversity", "the same among the class's real test images, for scale",
           "synthdiv.metrics.near_duplicate_share"),
    Column("nearest_real_train", "diversity", "mean cosine of each synthetic image to its nearest real train image of"
           " the class (near 1: copies)", "synthdiv.metrics.nearest_cosine"),
    Column("distance_ratio", "diversity", "mean pairwise cosine distance, synthetic ÷ real",
           "synthdiv.metrics.mean_pairwise_cosine_distance", "higher", interval=True),
    Column("vendi_within_template", "diversity", "conditional Vendi exp H(X|T): the effective number of distinct"
           " images one template gives, on average (what the model adds)", "synthdiv.metrics.template_split", "higher"),
    Column("vendi_across_template", "diversity", "information Vendi exp I(X;T): the variety the templates cause (1: every"
           " template draws the same images); × the within part = the class's Vendi", "synthdiv.metrics.template_split",
           "higher"),
    Column("nearest_real_train_real", "diversity", "the same for the class's real test images: the baseline a copy"
           " must exceed", "synthdiv.metrics.nearest_cosine"),
    Column("text_cosine_synthetic", "diversity", "mean cosine of the class's synthetic images with the class's text"
           " vector", "synthdiv.metrics.own_text_cosine"),
    Column("text_cosine_real", "diversity", "the same for the class's real test images",
           "synthdiv.metrics.own_text_cosine"),
    Column("text_closeness", "diversity", "synthetic minus real of that cosine (> 0: the synthetic images sit closer"
           " to their prompt than real images of the class do); each set resampled on its own",
           "synthdiv.confidence.difference_of_means", interval=True),
    # diversity by prompt: one row per class and template
    Column("class", "diversity_by_template", _CLASS),
    Column("template", "diversity_by_template", "the prompt template, as written"),
    Column("n", "diversity_by_template", "synthetic images of the class from this template"),
    Column("vendi", "diversity_by_template", "Vendi score of those images", "synthdiv.metrics.vendi", "higher"),
    Column("share", "diversity_by_template", "their share of the class's synthetic images (p_t in H(X|T))"),
    # the four causes of the study, per class
    Column("class", "four_causes", _CLASS),
    Column("gap", "four_causes", "real→real − synthetic→real on the class's real test images, paired per image: the"
           " table's order, largest first", "synthdiv.causes.class_gaps", "lower", interval=True),
    Column("gap_by", "four_causes", "the classifiers the gap compares: the [train] runs' pixel classifier, else the"
           " linear probe on CLIP"),
    Column("causes", "four_causes", "the causes whose evidence crosses its threshold (docs/causes.md), or none",
           "synthdiv.causes.causes_of"),
    Column("adherence_main", "four_causes", "the adherence the label reads: the [train] judge's where it ran, else CLIP's"
           " open set, else CLIP's among the experiment's classes", "synthdiv.causes.adherence_evidence", "higher",
           cause="adherence"),
    Column("adherence_main_real", "four_causes", "the same reader on the class's real test images: the baseline",
           "synthdiv.causes.adherence_evidence", "higher", cause="adherence"),
    Column("adherence_by", "four_causes", "which reader that is (and whether CLIP's text tower is the generator's)",
           "synthdiv.causes.adherence_evidence", cause="adherence"),
    Column("sense_confusion", "four_causes", "share of the class's synthetic images nearer (CLIP cosine) another"
           " WordNet sense's text (its lemma and gloss) than their own sense's: they show the other meaning",
           "synthdiv.open_set.sense_confused", "lower", interval=True, cause="ambiguity"),
    Column("sense_confusion_real", "four_causes", "the same among the class's real test images: its baseline",
           "synthdiv.open_set.sense_confused", "lower", cause="ambiguity"),
    Column("own_sense", "four_causes", "the class's own WordNet sense: its id, first lemma and gloss",
           "synthdiv.senses.senses_of", cause="ambiguity"),
    Column("own_sense_by", "four_causes", "how the own sense was found (its WordNet id, the class's definition, the one"
           " ImageNet-1k sense of its name, the first listed)", "synthdiv.senses.senses_of", cause="ambiguity"),
    Column("other_senses", "four_causes", "the other synsets that share a lemma with the class (timm's ImageNet-21k"
           " lemmas), each with its gloss", "synthdiv.senses.senses_of", cause="ambiguity"),
    Column("confusability_name_similarity", "four_causes", "highest cosine between the class's text embedding and"
           " another class's of the experiment (confusability, not polysemy)", "synthdiv.probe.class_text_vectors",
           "lower"),
    Column("confusability_nearest_class", "four_causes", "the class whose text embedding is nearest"),
    Column("confusability_zero_shot", "four_causes", "share of the class's real test images CLIP zero-shot puts in"
           " another of the experiment's classes", _ZERO_SHOT, "lower"),
    Column("adherence", "four_causes", "share of the class's synthetic images CLIP zero-shot reads as the class, among"
           " the experiment's classes (closed set)", _ZERO_SHOT, "higher", cause="adherence"),
    Column("adherence_real", "four_causes", "the same on the class's real test images: adherence's baseline",
           _ZERO_SHOT, "higher", cause="adherence"),
    Column("open_set_adherence", "four_causes", "the same among ImageNet-1k's 1,000 classes plus the class's other"
           " senses (open set)", "synthdiv.open_set.read_as", "higher", interval=True, cause="adherence"),
    Column("open_set_adherence_real", "four_causes", "the same on the class's real test images: its baseline",
           "synthdiv.open_set.read_as", "higher", cause="adherence"),
    Column("read_as", "four_causes", "what the class's synthetic images are read as instead, open set: the three"
           " most frequent, with their shares", "synthdiv.open_set.read_as", cause="adherence"),
    Column("adherence_circular", "four_causes", "the judging CLIP's text tower is the generator's own text encoder"
           " (same weights): CLIP's adherence then asks the model's encoder about itself", "synthdiv.towers.fingerprint",
           cause="adherence"),
    Column("adherence_judge", "four_causes", "share of the class's synthetic images the [train] real-trained pixel"
           " classifier (the judge, which never saw a prompt) reads as the class: the headline adherence where it ran",
           _PIXELS, "higher", interval=True, cause="adherence", source="training"),
    Column("adherence_judge_real", "four_causes", "the judge's accuracy on the class's real test images: its baseline",
           _PIXELS, "higher", cause="adherence", source="training"),
    Column("diversity_vendi_ratio", "four_causes", "Vendi score synthetic ÷ real at equal n", "synthdiv.metrics.vendi",
           "higher", equal_n=True, cause="diversity"),
    Column("diversity_distance_ratio", "four_causes", "mean pairwise cosine distance, synthetic ÷ real",
           "synthdiv.metrics.mean_pairwise_cosine_distance", "higher", cause="diversity"),
    Column("concept_synthetic_to_real", "four_causes", "real test accuracy of the synthetic-trained probe on CLIP",
           _PROBE, "higher", cause="concept"),
    Column("concept_centroid_cosine", "four_causes", "cosine between the synthetic and the real centroid",
           "synthdiv.metrics.centroid_cosine", "higher", cause="concept"),
    Column("concept_pixel_synthetic_to_real", "four_causes", "real test accuracy of the synthetic-trained pixel"
           " classifier ([train] runs)", _PIXELS, "higher", cause="concept", source="training"),
)


def of_table(table: str, source: str | None = None) -> tuple[Column, ...]:
    """The columns of one table in their order (``source``: only those the analysis, or the
    training runs, fill)."""
    if table not in TABLES:
        raise KeyError(f"no per-class table {table!r}; the tables are {', '.join(TABLES)}")
    return tuple(c for c in COLUMNS if c.table == table and (source is None or c.source == source))


def column(table: str, key: str) -> Column:
    """The declaration of ``key`` in ``table``."""
    for c in of_table(table):
        if c.key == key:
            return c
    raise KeyError(f"table {table} has no column {key!r}")


def keys(table: str, source: str | None = None) -> list[str]:
    """The keys a row of ``table`` holds, intervals included (in the order of declaration; a row's
    own order is the analysis's, which the exports keep)."""
    return [k for c in of_table(table, source)
            for k in ((c.key, c.key + "_low", c.key + "_high") if c.interval else (c.key,))]
