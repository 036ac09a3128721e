"""The analyses on controlled data, where the right answer is known."""

import numpy as np
import pytest

from synthdiv import analysis
from synthdiv.analysis import Inputs, analyse

D, N_CLASSES = 16, 4


def clusters(seed, n_per_class, spread=1.0, shift=0.0, centres=None):
    rng = np.random.default_rng(seed)
    centres = centres if centres is not None else rng.normal(size=(N_CLASSES, D)) * 3
    y = np.repeat(np.arange(N_CLASSES), n_per_class)
    x = centres[y] + shift + rng.normal(size=(len(y), D)) * spread
    return x, y, centres


def inputs(synthetic, synthetic_y, real_train, real_train_y, real_test, real_test_y, centres):
    real = np.concatenate([real_train, real_test])
    return Inputs(
        classes=[f"c{i}" for i in range(N_CLASSES)],
        synthetic=synthetic, synthetic_y=synthetic_y,
        real=real, real_y=np.r_[real_train_y, real_test_y],
        real_split=np.array(["train"] * len(real_train) + ["test"] * len(real_test)),
        text=centres, text_y=np.arange(N_CLASSES),
    )


@pytest.fixture(scope="module")
def real_sets():
    train, train_y, centres = clusters(1, 60, spread=2.5)
    test, test_y, _ = clusters(2, 60, spread=2.5, centres=centres)
    return train, train_y, test, test_y, centres


def test_shifted_collapsed_synthetic_set_shows_every_symptom(real_sets):
    train, train_y, test, test_y, centres = real_sets
    syn, syn_y, _ = clusters(3, 60, spread=0.3, shift=2.0, centres=centres)  # collapsed and shifted copy
    out = analyse(inputs(syn, syn_y, train, train_y, test, test_y, centres))
    s = out["summary"][0]
    assert s["synthetic_to_real"] < s["real_to_real"]
    assert s["diversity_ratio"] < 1
    for row in out["diversity"]:
        assert row["vendi_ratio"] < 1 and row["distance_ratio"] < 1
        assert row["separability"] > 0.9
    assert {r["class"] for r in out["four_causes"]} == {f"c{i}" for i in range(N_CLASSES)}
    assert len(out["similarity_text"]) == N_CLASSES and len(out["confusion"][0]) == N_CLASSES


def test_identical_sets_are_indistinguishable(real_sets):
    train, train_y, test, test_y, centres = real_sets
    syn, syn_y, _ = clusters(4, 60, spread=2.5, centres=centres)  # same distribution as real
    out = analyse(inputs(syn, syn_y, train, train_y, test, test_y, centres))
    for row in out["diversity"]:
        assert 0.3 < row["separability"] < 0.7
        assert 0.8 < row["distance_ratio"] < 1.25
    s = out["summary"][0]
    assert abs(s["synthetic_to_real"] - s["real_to_real"]) < 0.1


def test_worst_classes_come_first(real_sets):
    train, train_y, test, test_y, centres = real_sets
    syn, syn_y, _ = clusters(5, 60, spread=2.5, centres=centres)
    syn[syn_y == 2] = centres[0] + np.random.default_rng(9).normal(size=(60, D))  # class 2 drawn as class 0
    out = analyse(inputs(syn, syn_y, train, train_y, test, test_y, centres))
    assert out["four_causes"][0]["class"] == "c2"
    assert out["four_causes"][0]["concept_synthetic_to_real"] < 0.3
    assert any(c["class"] == "c2" and c["predicted"] == "c0" for c in out["top_confusions"])


def test_no_real_test_image_enters_training_or_the_choice_of_c(real_sets, monkeypatch):
    train, train_y, test, test_y, centres = real_sets
    syn, syn_y, _ = clusters(6, 60, spread=1.0, centres=centres)
    seen = []
    real_probe = analysis.linear_probe

    def spy(x, y, seed=0):
        seen.append(np.asarray(x).copy())  # everything the probe (and its CV for C) is fitted on
        return real_probe(x, y, seed)

    monkeypatch.setattr(analysis, "linear_probe", spy)
    analyse(inputs(syn, syn_y, train, train_y, test, test_y, centres))
    assert len(seen) == 2
    fitted = np.concatenate(seen)
    test_rows = {tuple(np.round(r / np.linalg.norm(r), 9)) for r in test}
    assert not any(tuple(np.round(r / np.linalg.norm(r), 9)) in test_rows for r in fitted)


def test_too_few_samples_gives_notes_not_nans(real_sets):
    train, train_y, test, test_y, centres = real_sets
    syn = centres[[0, 1, 1]] + 0.1
    out = analyse(inputs(syn, np.array([0, 1, 1]), train, train_y, test, test_y, centres))
    row0 = out["diversity"][0]
    assert row0["distance_synthetic"] is None and any("c0 distance" in n for n in out["notes"])
    flat = [v for r in out["diversity"] for v in r.values() if isinstance(v, float)]
    assert not any(np.isnan(flat))


def test_an_experiment_without_real_images_still_gets_its_tables(real_sets):
    _, _, _, _, centres = real_sets
    syn, syn_y, _ = clusters(8, 10, centres=centres)
    out = analyse(Inputs(classes=[f"c{i}" for i in range(N_CLASSES)], synthetic=syn, synthetic_y=syn_y,
                         real=np.zeros((0, D)), real_y=np.zeros(0, int), real_split=np.array([]),
                         text=centres, text_y=np.arange(N_CLASSES)))
    assert out["summary"][0]["adherence"] is not None and out["summary"][0]["synthetic_to_real"] is None
    assert out["diversity"][0]["vendi_synthetic"] > 1 and out["diversity"][0]["vendi_real"] is None
    assert any("synthetic→real" in n for n in out["notes"])
