"""The four causes as the study means them: classes ranked by the synthetic gap, each labelled
with the causes whose evidence crosses its declared threshold."""

import numpy as np
import pytest

from synthdiv import causes
from synthdiv.analysis import Inputs, analyse
from workbench.trained import with_pixel


def _gaussian_classes(seed: int = 0) -> Inputs:
    """Four Gaussian classes (σ = 0.5 in 16 dimensions, far off the origin as CLIP embeddings are).
    "easy" and "hard" sit 0.4 apart: hard for a classifier trained on real images and for one
    trained on synthetic images alike, and the synthetic images of both are drawn like the real
    ones. "broken" and "plain" sit 1.6 apart, easy on real images; but the synthetic "broken" is a
    caricature, drawn 0.8 further away from "plain" than the real ones are, so a classifier trained
    on it puts the boundary into the real "broken" images."""
    rng = np.random.default_rng(seed)
    names = ["easy", "hard", "broken", "plain"]
    base = 10.0 * np.eye(16)[15]
    centres = np.stack([base, base + 0.4 * np.eye(16)[0], base + 4 * np.eye(16)[1],
                        base + 4 * np.eye(16)[1] + 1.6 * np.eye(16)[2]])
    ry = np.repeat(np.arange(4), 240)
    real = centres[ry] + rng.normal(size=(len(ry), 16)) * 0.5
    sy = np.repeat(np.arange(4), 120)
    drawn = centres.copy()
    drawn[2] = centres[2] - 0.8 * np.eye(16)[2]
    synthetic = drawn[sy] + rng.normal(size=(len(sy), 16)) * 0.5
    return Inputs(classes=names, synthetic=synthetic, synthetic_y=sy, real=real, real_y=ry,
                  real_split=np.array(["train", "test"] * (len(ry) // 2)), text=centres, text_y=np.arange(4))


def test_a_class_broken_for_synthetic_ranks_before_one_hard_for_real_and_synthetic_alike():
    result = analyse(_gaussian_classes())
    rows = {r["class"]: r for r in result["four_causes"]}
    accuracy = {r["class"]: r for r in result["accuracy"]}
    # by raw synthetic→real, "easy" and "hard" are the worst; their real→real ceilings are as low
    worst_raw = min(accuracy.values(), key=lambda r: r["synthetic_to_real"])
    assert worst_raw["class"] in ("easy", "hard") and accuracy["broken"]["synthetic_to_real"] > 0.65
    assert all(accuracy[c]["real_to_real"] < 0.7 for c in ("easy", "hard"))
    assert result["four_causes"][0]["class"] == "broken"
    broken = rows["broken"]
    assert broken["gap_low"] > 0 and broken["gap_by"] == causes.BY_PROBE
    assert broken["gap"] == pytest.approx(accuracy["broken"]["real_to_real"] - accuracy["broken"]["synthetic_to_real"],
                                          abs=1e-6)
    for c in ("easy", "hard", "plain"):
        assert rows[c]["gap_low"] <= 0 <= rows[c]["gap_high"], c  # within noise of 0
        assert rows[c]["causes"] == "none", c
    # CLIP reads the caricature as the class (adherence is fine) and it is as diverse as the real
    # images: what is left is the concept
    assert broken["causes"] == "concept"
    gaps = [r["gap"] for r in result["four_causes"]]
    assert gaps == sorted(gaps, reverse=True)


def test_the_gap_interval_is_paired_over_the_class_images():
    # both classifiers right on the same 18 images and wrong on the same 2: every difference is 0,
    # so the paired interval is [0, 0], where unpaired resampling would spread around 0
    real_ok = np.array([1] * 18 + [0] * 2)
    syn_ok = real_ok.copy()
    (g,) = causes.class_gaps(real_ok, syn_ok, np.zeros(20, int), 1)
    assert g == {"gap": 0.0, "gap_low": 0.0, "gap_high": 0.0}
    syn_ok = np.array([1] * 10 + [0] * 10)  # 8 images the synthetic-trained one gets wrong besides
    (g,) = causes.class_gaps(real_ok, syn_ok, np.zeros(20, int), 1)
    d = real_ok - syn_ok
    rng = np.random.default_rng(0)
    draws = d[rng.integers(0, 20, size=(1000, 20))].mean(1)  # the percentile bootstrap, written out
    assert g["gap"] == pytest.approx(0.4)
    assert (g["gap_low"], g["gap_high"]) == pytest.approx(tuple(np.quantile(draws, [0.025, 0.975])))
    assert causes.class_gaps(real_ok, syn_ok, np.zeros(20, int), 2)[1] == {"gap": None, "gap_low": None,
                                                                          "gap_high": None}


@pytest.mark.parametrize("row, expected", [
    ({"adherence": 0.60, "adherence_real": 0.75, "diversity_vendi_ratio": 0.9, "gap_low": 0.1}, ["adherence"]),
    ({"adherence": 0.70, "adherence_real": 0.75, "diversity_vendi_ratio": 0.5, "gap_low": 0.1}, ["diversity"]),
    ({"adherence": 0.50, "adherence_real": 0.75, "diversity_vendi_ratio": 0.5, "gap_low": -0.1},
     ["adherence", "diversity"]),
    ({"adherence": 0.70, "adherence_real": 0.75, "diversity_vendi_ratio": 0.9, "gap_low": 0.1}, ["concept"]),
    ({"adherence": 0.70, "adherence_real": 0.75, "diversity_vendi_ratio": 0.9, "gap_low": -0.1}, []),
    ({"adherence": None, "adherence_real": None, "diversity_vendi_ratio": None, "gap_low": 0.2}, ["concept"]),
], ids=["adherence", "diversity", "both-without-a-gap", "concept", "none", "image-only-encoder"])
def test_each_cause_is_named_where_its_evidence_crosses_the_declared_threshold(row, expected):
    assert causes.causes_of(row) == expected


def test_the_headline_sentence_names_the_classes_whose_gap_lies_above_zero():
    result = analyse(_gaussian_classes())
    text = causes.headline_sentence(result["four_causes"])
    assert text.startswith("1 of 4 classes do measurably worse") and "broken +" in text and "clip probe" in text
    fine = [{**r, "gap": 0.0, "gap_low": -0.05, "gap_high": 0.05} for r in result["four_causes"]]
    assert causes.headline_sentence(fine).startswith("No class's gap")


def _run(name, pred, truth, classes):
    per_class = [{"class": c, "accuracy": float((pred[truth == i] == i).mean()), "low": 0.0, "high": 1.0,
                  "n": int((truth == i).sum())} for i, c in enumerate(classes)]
    return {"name": name, "state": "done", "result": {
        "test": {"accuracy": float((pred == truth).mean()), "low": 0.0, "high": 1.0, "n": len(truth),
                 "n_classes": len(classes), "per_class": per_class},
        "test_pred": pred.tolist(), "test_truth": truth.tolist()}}


def test_the_pixel_classifiers_gap_replaces_the_probes_and_reorders_the_table():
    result = analyse(_gaussian_classes())
    classes = result["classes"]
    truth = np.repeat(np.arange(4), 30)
    real_pred = truth.copy()
    syn_pred = truth.copy()
    syn_pred[truth == 3] = 0  # the pixel classifier trained on synthetic images fails on "plain"
    runs = [_run("real", real_pred, truth, classes), _run("synthetic", syn_pred, truth, classes)]
    out = with_pixel(result, runs)
    first = out["four_causes"][0]
    assert first["class"] == "plain" and first["gap"] == 1.0 and first["gap_by"] == causes.BY_PIXELS
    assert first["concept_pixel_synthetic_to_real"] == 0.0
    assert with_pixel(out, runs)["four_causes"] == out["four_causes"]  # applying it again changes nothing
    # runs stored before they recorded the truth: the per-class accuracies, unpaired
    for r in runs:
        del r["result"]["test_truth"]
    old = with_pixel(result, runs)["four_causes"][0]
    assert old["class"] == "plain" and old["gap"] == 1.0 and old["gap_by"] == causes.BY_PIXELS + ", unpaired"


def test_docs_causes_md_holds_the_thresholds_and_columns_as_declared():
    from tests.helpers import REPO
    from workbench import schema

    text = (REPO / "docs" / "causes.md").read_text(encoding="utf-8")
    assert schema.causes_doc(text) == text, "docs/causes.md is stale: run python -m workbench.schema --write"
    for t in causes.THRESHOLDS:
        assert t.rule in text and t.rationale in text
