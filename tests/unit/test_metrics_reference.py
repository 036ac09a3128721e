"""Every metric: a known answer, the reference package where one exists, and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from synthdiv import metrics as m

RNG = np.random.default_rng(7)


# --- Vendi ---------------------------------------------------------------------------------

def test_vendi_known_answers():
    assert m.vendi(np.ones((10, 4))) == pytest.approx(1.0)
    assert m.vendi(np.eye(6)) == pytest.approx(6.0)
    assert m.vendi(np.repeat(np.eye(3), 4, axis=0)) == pytest.approx(3.0)  # 3 distinct, 4 copies each


@pytest.mark.parametrize("n, d", [(300, 16), (20, 64)])  # dual form, and primal form
def test_vendi_matches_the_vendi_score_package(n, d):
    from sklearn.metrics.pairwise import cosine_similarity
    from vendi_score import vendi as ref

    x = RNG.normal(size=(n, d))
    expected = ref.score_K(cosine_similarity(x))  # score_K divides by n itself
    assert m.vendi(x) == pytest.approx(expected, abs=1e-6)
    assert m.vendi(x) == pytest.approx(ref.score_dual(x), abs=1e-6)


# --- PRDC ----------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 5])
def test_prdc_matches_the_prdc_package(k, capsys):
    from prdc import compute_prdc

    real = RNG.normal(size=(400, 12))
    fake = RNG.normal(size=(300, 12)) * 0.8 + 0.3
    expected = compute_prdc(real, fake, nearest_k=k)
    capsys.readouterr()
    old = m.CHUNK
    m.CHUNK = 64  # force several chunks
    try:
        got = m.prdc(real, fake, k=k)
    finally:
        m.CHUNK = old
    for key in ("precision", "recall", "density", "coverage"):
        assert got[key] == pytest.approx(float(expected[key]), abs=1e-6), key


def test_prdc_known_answers():
    x = RNG.normal(size=(50, 3))
    same = m.prdc(x, x.copy(), k=3)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    far = m.prdc(x, x + 100, k=3)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_cosine_metric_ignores_scale():
    x = RNG.normal(size=(60, 5))
    assert m.prdc(x, 3 * x, k=3, metric="cosine")["coverage"] == 1.0


# --- Fréchet, centroids, CLIP score, geometry ------------------------------------------------

def test_frechet_known_answers():
    x = RNG.normal(size=(2000, 3))
    assert m.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert m.frechet_distance(x, x + [3, 4, 0]) == pytest.approx(25.0, abs=1e-6)  # shift only: ‖δ‖²
    # a vs 2a in one dimension: mean term μ², covariance term σ² + 4σ² − 2·2σ² = σ²
    a = np.c_[RNG.normal(size=20000)]
    assert m.frechet_distance(a, 2 * a) == pytest.approx(np.var(a, ddof=1) + a.mean() ** 2, rel=1e-9)


def test_frechet_matches_scipy_sqrtm():
    from scipy.linalg import sqrtm

    a, b = RNG.normal(size=(500, 6)), RNG.normal(size=(400, 6)) @ RNG.normal(size=(6, 6))
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ref = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca + cb - 2 * np.real(sqrtm(ca @ cb)))
    assert m.frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)


def test_frechet_with_fewer_samples_than_dimensions_is_exact():
    """Per class there are usually fewer images than CLIP dimensions: both covariances are singular.
    Reference: the definition evaluated with 30-digit arithmetic (mpmath, which torch brings)."""
    import mpmath as mp

    a, b = RNG.normal(size=(12, 40)), RNG.normal(size=(7, 40)) * 1.3 + 0.1
    with mp.workdps(30):
        ca, cb = mp.matrix(a - a.mean(0)), mp.matrix(b - b.mean(0))
        traces = sum(mp.mpf(v) ** 2 for v in (a - a.mean(0)).ravel()) / 11 + sum(
            mp.mpf(v) ** 2 for v in (b - b.mean(0)).ravel()) / 6
        # Tr (Σa^½ Σb Σa^½)^½ = the nuclear norm of A Bᵀ / √((na−1)(nb−1))
        cross = sum(mp.svd_r(ca * cb.T / mp.sqrt(11 * 6), compute_uv=False))
        ref = float(mp.fsum((a.mean(0) - b.mean(0)) ** 2) + traces - 2 * cross)
    assert m.frechet_distance(a, b) == pytest.approx(ref, rel=1e-12)


def test_centroid_cosine_clip_score_gap_and_cone():
    assert m.centroid_cosine(np.array([[1.0, 0], [0, 1]]), np.array([[2.0, 2]])) == pytest.approx(1.0)
    assert m.centroid_cosine(np.array([[1.0, 0]]), np.array([[0.0, 3]])) == pytest.approx(0.0)
    img = np.array([[1.0, 0], [0, 1]])
    assert m.clip_score(img, np.array([[2.0, 0], [0, -1]])) == pytest.approx(0.0)  # cos 1 and -1
    np.testing.assert_allclose(m.clip_scores(np.array([[1.0, 0], [0, 1], [3, 4]]), np.array([[2.0, 0], [0, -1], [4, 3]])),
                               [1.0, -1.0, 24 / 25])  # per image: cos 1, cos -1, (12 + 12) / 25
    assert m.modality_gap(img, img) == 0.0
    assert m.modality_gap(np.array([[1.0, 0]]), np.array([[0.0, 1]])) == pytest.approx(np.sqrt(2))
    assert m.cone(np.ones((4, 3))) == pytest.approx(1.0)
    assert m.cone(np.eye(3)) == pytest.approx(0.0)


def test_separability_known_answers():
    x = RNG.normal(size=(200, 8))
    assert m.separability(x + np.r_[5.0, np.zeros(7)], x - np.r_[5.0, np.zeros(7)]) == pytest.approx(1.0)
    same = m.separability(x[:100], x[100:])
    assert 0.3 < same < 0.7


# --- properties -------------------------------------------------------------------------------

vectors = arrays(np.float64, st.tuples(st.integers(2, 25), st.integers(1, 6)), elements=st.floats(0.1, 5))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 30), arrays(np.float64, st.integers(1, 8), elements=st.floats(0.1, 5)))
def test_copies_of_one_vector_give_vendi_1_and_distance_0(n, v):
    x = np.tile(v, (n, 1))
    assert m.vendi(x) == pytest.approx(1.0, abs=1e-6)
    assert m.mean_pairwise_cosine_distance(x) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(vectors)
def test_vendi_is_between_1_and_n(x):
    assert 1.0 - 1e-6 <= m.vendi(x) <= len(x) + 1e-6


@settings(max_examples=25, deadline=None)
@given(vectors, st.randoms())
def test_results_do_not_depend_on_row_order(x, rnd):
    order = list(range(len(x)))
    rnd.shuffle(order)
    y = x[order]
    assert m.vendi(y) == pytest.approx(m.vendi(x), abs=1e-9)
    assert m.frechet_distance(y, x[::-1]) == pytest.approx(m.frechet_distance(x, x), abs=1e-7)
    assert m.centroid_cosine(y, x) == pytest.approx(1.0)
    if len(x) > 3:
        a, b = m.prdc(x, y, k=2), m.prdc(y, x, k=2)
        assert a == pytest.approx(b)


@pytest.mark.parametrize("fn", [m.mean_pairwise_cosine_distance, m.cone, lambda x: m.frechet_distance(x, x),
                                lambda x: m.separability(x, x), lambda x: m.prdc(x, x, k=1)])
def test_fewer_than_two_samples_is_a_clear_message(fn):
    with pytest.raises(ValueError, match="needs at least 2 samples, got 1"):
        fn(np.ones((1, 4)))


def test_vendi_of_float32_embeddings_matches_float64():
    centres = RNG.normal(size=(5, 64))
    x = centres[RNG.integers(0, 5, 3000)] + RNG.normal(size=(3000, 64)) * 0.5
    single = m.vendi(x.astype(np.float32))
    assert single == pytest.approx(m.vendi(x), rel=1e-5)
    assert single != m.vendi(x.astype(np.float32).astype(np.float64))  # the products really ran in float32
    small = x[:40].astype(np.float32)  # primal form (n < d)
    assert m.vendi(small) == pytest.approx(m.vendi(x[:40]), rel=1e-5)
