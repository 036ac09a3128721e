import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from synthdiv.metrics import mean_pairwise_cosine_distance
from synthdiv.probe import class_text_vectors, linear_probe, zero_shot_predict


def brute_force(x):
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    c = u @ u.T
    n = len(x)
    return float(np.mean(1 - c[~np.eye(n, dtype=bool)]))


def test_known_answers():
    assert mean_pairwise_cosine_distance(np.ones((5, 3))) == pytest.approx(0.0, abs=1e-12)
    assert mean_pairwise_cosine_distance(np.eye(4)) == pytest.approx(1.0)
    assert mean_pairwise_cosine_distance(np.array([[1.0, 0], [-1.0, 0]])) == pytest.approx(2.0)
    # three unit vectors 120° apart: cos = -1/2 for every pair
    angles = np.deg2rad([0, 120, 240])
    assert mean_pairwise_cosine_distance(np.c_[np.cos(angles), np.sin(angles)]) == pytest.approx(1.5)


def test_matches_the_n_by_n_definition_on_random_data():
    x = np.random.default_rng(0).normal(size=(200, 16))
    assert mean_pairwise_cosine_distance(x) == pytest.approx(brute_force(x), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 8)),
              elements=st.floats(0.1, 10)), st.randoms())
def test_row_order_does_not_matter(x, rnd):
    order = list(range(len(x)))
    rnd.shuffle(order)
    assert mean_pairwise_cosine_distance(x[order]) == pytest.approx(mean_pairwise_cosine_distance(x), abs=1e-9)


def test_zero_shot_and_probe_on_separable_clusters():
    rng = np.random.default_rng(1)
    centres = np.eye(3, 8) * 5
    y = np.repeat(np.arange(3), 40)
    x = centres[y] + rng.normal(size=(120, 8)) * 0.3
    texts = centres[[0, 0, 1, 2]] + 0.01
    classes = class_text_vectors(texts, np.array([0, 0, 1, 2]), 3)
    np.testing.assert_allclose(np.linalg.norm(classes, axis=1), 1.0)
    assert (zero_shot_predict(x, classes) == y).mean() == 1.0
    assert linear_probe(x, y).score(x / np.linalg.norm(x, axis=1, keepdims=True), y) == 1.0


def test_nearest_cosine_and_near_duplicates_known_answers():
    from synthdiv.metrics import near_duplicate_share, nearest_cosine

    x = np.array([[1.0, 0], [0.99, 0.01], [0, 1.0], [-1.0, 0]])
    within = nearest_cosine(x)
    assert within[2] == pytest.approx(0.01 / np.hypot(0.99, 0.01))  # its nearest other row, not itself
    assert within[0] == pytest.approx(within[1]) and within[0] > 0.99
    assert near_duplicate_share(x) == 0.5  # the first two are near-twins
    assert near_duplicate_share(np.eye(5)) == 0.0
    assert nearest_cosine(np.array([[2.0, 0]]), x) == pytest.approx([1.0])  # a copy of a reference row
    big = np.random.default_rng(0).normal(size=(5000, 8))  # more rows than a chunk
    brute = (lambda u: np.where(np.eye(len(u), dtype=bool), -np.inf, u @ u.T).max(1))(
        big / np.linalg.norm(big, axis=1, keepdims=True))
    np.testing.assert_allclose(nearest_cosine(big), brute, atol=1e-12)


def test_the_analysis_flags_copies_of_training_images_and_collapsed_classes():
    from synthdiv.analysis import Inputs, analyse

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(2, 16)) * 1.5
    ry = np.repeat(np.arange(2), 40)
    real = centres[ry] + rng.normal(size=(80, 16))
    split = np.array(["train", "test"] * 40)
    train = real[split == "train"]
    # class 0: exact copies of its real train images; class 1: one picture drawn 20 times (collapse)
    syn = np.vstack([train[ry[split == "train"] == 0], np.repeat(centres[1:2] + 0.5, 20, axis=0)])
    sy = np.repeat(np.arange(2), 20)
    out = analyse(Inputs(classes=["a", "b"], synthetic=syn, synthetic_y=sy, real=real, real_y=ry, real_split=split,
                         text=centres, text_y=np.arange(2)))
    rows = {r["class"]: r for r in out["diversity"]}
    assert rows["a"]["nearest_real_train"] == pytest.approx(1.0) and rows["a"]["near_duplicates"] < 0.5
    assert rows["b"]["near_duplicates"] == 1.0 and rows["b"]["nearest_real_train"] < 0.99
    assert rows["a"]["near_duplicates_real"] == 0.0
    mem = out["memorisation"][0]
    assert mem["near_copies"] >= 20 and mem["q100"] == pytest.approx(1.0) and mem["n"] == 40 and mem["images"] == "synthetic"
