"""Geometry on both sides (real·text beside synthetic·text), diversity split by prompt template,
and the baselines of the memorisation and near-duplicate checks, on constructed vectors whose
answers are known."""

import numpy as np
import pytest

from synthdiv import metrics
from synthdiv.analysis import Inputs, analyse


def _entropy(x: np.ndarray) -> float:
    """The matrix-based entropy of the cosine kernel, written out: −Σ λ log λ over K/n's eigenvalues."""
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = np.linalg.eigvalsh(u @ u.T / len(u))
    w = w[w > 1e-12]
    return float(-(w * np.log(w)).sum())


_E = np.eye(12)


@pytest.mark.parametrize("x, templates, vendi, within, across", [
    (np.repeat(_E[:3], 4, axis=0), np.repeat(["t0", "t1", "t2"], 4), 3.0, 1.0, 3.0),  # one picture per template
    (_E[:6], ["t0"] * 6, 6.0, 6.0, 1.0),  # one template: all of the variety is within it
    (np.concatenate([_E[:4], _E[:4]]), np.repeat(["t0", "t1"], 4), 4.0, 4.0, 1.0),  # both draw the same four
    (_E[:6], np.repeat(["t0", "t1"], 3), 6.0, 3.0, 2.0),  # three pictures each, all six orthogonal
], ids=["one-picture-per-template", "one-template", "templates-add-nothing", "half-and-half"])
def test_the_template_split_of_constructed_clusters(x, templates, vendi, within, across):
    split = metrics.template_split(x, np.asarray(templates))
    assert split["vendi"] == pytest.approx(vendi, rel=1e-9)
    assert split["within"] == pytest.approx(within, rel=1e-9)
    assert split["across"] == pytest.approx(across, rel=1e-9)
    assert split["vendi"] == pytest.approx(split["within"] * split["across"], rel=1e-12)


def test_the_template_split_is_the_entropy_split_written_out():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 8)) + np.repeat(rng.normal(size=(3, 8)) * 2, 20, axis=0)
    t = np.repeat(["red", "blue", "green"], 20)
    split = metrics.template_split(x, t)
    h = _entropy(x)
    h_given = sum(_entropy(x[t == k]) / 3 for k in ("red", "blue", "green"))  # p_t = 1/3 each
    assert np.log(split["vendi"]) == pytest.approx(h, abs=1e-9)
    assert np.log(split["within"]) == pytest.approx(h_given, abs=1e-9)
    assert np.log(split["across"]) == pytest.approx(h - h_given, abs=1e-9)
    assert split["across"] > 1.5  # the templates' clusters are far apart: they cause much of the variety
    assert list(split["per_template"]) == ["red", "blue", "green"] and split["n"] == {"red": 20, "blue": 20, "green": 20}
    with pytest.raises(ValueError, match="one template per image"):
        metrics.template_split(x, t[:5])


def _two_sides(seed: int = 0) -> Inputs:
    """Two classes; their texts are e0 and e1. Synthetic images lie on their class text (cosine 1,
    a little noise off the axis); real images of class c are 0.6 e_c + 0.8 e5 (cosine 0.6)."""
    rng = np.random.default_rng(seed)
    d = 8
    e = np.eye(d)
    sy = np.repeat([0, 1], 30)
    synthetic = e[sy] + rng.normal(size=(60, d)) * 1e-3
    ry = np.repeat([0, 1], 40)
    real = 0.6 * e[ry] + 0.8 * e[5] + rng.normal(size=(80, d)) * 1e-3
    return Inputs(classes=["a", "b"], synthetic=synthetic, synthetic_y=sy, real=real, real_y=ry,
                  real_split=np.array(["train", "test"] * 40), text=e[:2], text_y=np.array([0, 1]),
                  synthetic_template=np.array(["a photo of {}", "{}"] * 30, dtype=object))


def test_real_images_are_measured_against_the_text_as_synthetic_ones_are():
    inp = _two_sides()
    out = analyse(inp)
    for row in out["diversity"]:
        assert row["text_cosine_synthetic"] == pytest.approx(1.0, abs=1e-3)
        assert row["text_cosine_real"] == pytest.approx(0.6, abs=1e-3)
        assert row["text_closeness"] == pytest.approx(0.4, abs=2e-3)
        assert 0 < row["text_closeness_low"] <= row["text_closeness"] <= row["text_closeness_high"]
    head = {r["measure"]: r for r in out["headline"]}
    assert head["prompt_closeness"]["value"] == pytest.approx(0.4, abs=2e-3)
    # the real side of the matrices and of the modality gap, computed here by hand
    test = inp.real_split == "test"
    real_c = np.stack([inp.real[test & (inp.real_y == c)].mean(0) for c in (0, 1)])
    real_c /= np.linalg.norm(real_c, axis=1, keepdims=True)
    assert np.allclose(out["similarity_real_text"], real_c @ np.eye(8)[:2].T, atol=1e-5)
    unit = inp.real[test] / np.linalg.norm(inp.real[test], axis=1, keepdims=True)
    gap = np.linalg.norm(unit.mean(0) - np.eye(8)[:2].mean(0))
    geo = out["geometry"][0]
    assert geo["modality_gap_real"] == pytest.approx(gap, abs=1e-6)
    assert geo["modality_gap"] < geo["modality_gap_real"]  # the synthetic images lie on the text
    # the templates alternate over the same pictures: they cause no variety of their own
    by_template = [r for r in out["diversity_by_template"] if r["class"] == "a"]
    assert [r["template"] for r in by_template] == ["a photo of {}", "{}"] and all(r["n"] == 15 for r in by_template)


def test_a_copy_counts_only_above_the_real_images_own_nearness_to_the_train_set():
    rng = np.random.default_rng(5)
    d = 16
    centre = np.eye(d)[0] * 3
    ry = np.zeros(200, int)
    real = centre + rng.normal(size=(200, d))
    split = np.array(["train", "test"] * 100)
    train = real[split == "train"]
    synthetic = centre + rng.normal(size=(40, d))
    synthetic[:3] = train[:3] + rng.normal(size=(3, d)) * 1e-4  # three copies of training images
    out = analyse(Inputs(classes=["x"], synthetic=synthetic, synthetic_y=np.zeros(40, int), real=real,
                         real_y=ry, real_split=split, text=np.zeros((0, d)), text_y=np.zeros(0, int)))
    syn_row, real_row = out["memorisation"]
    assert (syn_row["images"], real_row["images"]) == ("synthetic", "real test")
    assert syn_row["n"] == 40 and real_row["n"] == 100
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    nearest_real = (unit(real[split == "test"]) @ unit(train).T).max(1)
    assert syn_row["copy_threshold"] == pytest.approx(np.quantile(nearest_real, 0.99), abs=1e-6)
    nearest_syn = (unit(synthetic) @ unit(train).T).max(1)
    above = nearest_syn > syn_row["copy_threshold"]
    assert above[:3].all() and syn_row["likely_copies"] == above.sum() <= 3 + 2  # the copies, and chance's share
    assert real_row["likely_copies"] is None and syn_row["near_copies"] >= 3
    row = out["diversity"][0]
    assert row["nearest_real_train_real"] == pytest.approx(nearest_real.mean(), abs=1e-6)
    head = {r["measure"]: r["value"] for r in out["headline"]}
    assert head["nearest_real_train_real"] == pytest.approx(nearest_real.mean(), abs=1e-6)
    assert head["near_duplicates_real"] == row["near_duplicates_real"]
