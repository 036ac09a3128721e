"""Bootstrap intervals and CMMD against known answers (issue 12, statistics)."""

from __future__ import annotations

import numpy as np
import pytest

from synthdiv import metrics as m
from synthdiv.confidence import bootstrap, paired_difference


def test_the_95_percent_interval_of_a_bernoulli_accuracy_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    p, n, reps = 0.3, 200, 400
    covered = 0
    for r in range(reps):
        sample = (rng.random(n) < p).astype(float)
        ci = bootstrap(sample, draws=500, seed=r)
        covered += ci.low <= p <= ci.high
        assert ci.low <= ci.value <= ci.high and ci.n == n
    assert 0.91 <= covered / reps <= 0.98, covered / reps


def test_an_interval_narrows_as_n_grows_and_a_generic_statistic_works():
    rng = np.random.default_rng(2)
    small, large = rng.normal(size=50), rng.normal(size=5000)
    a, b = bootstrap(small), bootstrap(large)
    assert (b.high - b.low) < (a.high - a.low) / 5  # ~ 1/sqrt(n): 10× narrower
    med = bootstrap(large, statistic=np.median, draws=200)
    assert med.low < 0 < med.high
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap(np.array([1.0]))


def test_the_paired_difference_finds_a_small_real_gain_that_class_difficulty_would_hide():
    rng = np.random.default_rng(3)
    difficulty = rng.uniform(0.2, 0.9, size=100)  # per-class accuracy varies a lot between classes
    a = difficulty + 0.03 + rng.normal(0, 0.01, 100)  # experiment A: 3 points better on every class
    b = difficulty + rng.normal(0, 0.01, 100)
    d = paired_difference(a, b)
    assert d.excludes(0) and abs(d.value - 0.03) < 0.01
    ia, ib = bootstrap(a), bootstrap(b)
    assert ia.low < ib.high  # unpaired, the two intervals overlap: the gain is hidden
    same = paired_difference(b + rng.normal(0, 0.01, 100), b)
    assert not same.excludes(0)


def _cmmd_reference(x, y, sigma=10.0, scale=1000.0):
    """The estimator of google-research cmmd/distance.py (Jayasumana et al. 2024), written out here
    as that code does it: unit-length CLIP rows, squared norms, one Gaussian kernel per pair and
    the mean over all pairs, diagonal included ("the minimum-variance/biased version")."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    gamma = 1 / (2 * sigma**2)
    xx, yy, xy = x @ x.T, y @ y.T, x @ y.T
    xs, ys = np.diag(xx), np.diag(yy)
    k_xx = np.mean(np.exp(-gamma * (-2 * xx + xs[:, None] + xs[None, :])))
    k_yy = np.mean(np.exp(-gamma * (-2 * yy + ys[:, None] + ys[None, :])))
    k_xy = np.mean(np.exp(-gamma * (-2 * xy + xs[:, None] + ys[None, :])))
    return scale * (k_xx + k_yy - 2 * k_xy)


def _mmd2_unbiased_direct(a, b, sigma=10.0, scale=1000.0):
    a, b = m.normalise(a), m.normalise(b)
    k = lambda x, y: np.exp(-((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) / (2 * sigma ** 2))  # noqa: E731
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    ma, nb = len(a), len(b)
    return scale * ((kaa.sum() - np.trace(kaa)) / (ma * (ma - 1)) + (kbb.sum() - np.trace(kbb)) / (nb * (nb - 1))
                    - 2 * kab.mean())


def test_cmmd_is_the_published_estimator_to_1e_6(monkeypatch):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(40, 16)), rng.normal(0.3, 1, size=(25, 16))
    monkeypatch.setattr(m, "CHUNK", 7)  # several row blocks
    assert abs(m.cmmd(a, b) - _cmmd_reference(a, b)) < 1e-6
    assert abs(m.cmmd(a, b) - _cmmd_reference(a, b)) <= 1e-9 * abs(_cmmd_reference(a, b))
    # the same on CLIP-like rows: 512 dimensions, a small shift, and a set size the reference used
    c, d = rng.normal(size=(300, 512)), rng.normal(size=(200, 512)) + 0.05
    assert abs(m.cmmd(c, d) - _cmmd_reference(c, d)) < 1e-6
    # it is not the unbiased U-statistic (which is also kept, under its own name)
    assert m.mmd2_unbiased(a, b) == pytest.approx(_mmd2_unbiased_direct(a, b), rel=1e-10, abs=1e-12)
    assert abs(m.cmmd(a, b) - m.mmd2_unbiased(a, b)) > 1e-3


def test_cmmd_is_never_negative_and_grows_with_the_shift():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(400, 32))
    same = m.cmmd(base, rng.normal(size=(400, 32)))
    shifts = [m.cmmd(base, rng.normal(size=(400, 32)) + s * np.eye(32)[0] * 3) for s in (0.25, 0.5, 1.0, 2.0)]
    assert 0 < same < shifts[0] / 3
    assert all(x < y for x, y in zip(shifts, shifts[1:], strict=False)), shifts
    assert abs(m.mmd2_unbiased(base, rng.normal(size=(400, 32)))) < shifts[0] / 3
    with pytest.raises(ValueError, match="at least 2"):
        m.cmmd(base[:1], base)


def _cmmd_interval(a, b, seed=0):
    from synthdiv.confidence import biased_mmd_interval

    a, b = m.normalise(a), m.normalise(b)
    return biased_mmd_interval(m.rbf_matrix(a, a), m.rbf_matrix(b, b), m.rbf_matrix(a, b), scale=1000.0, seed=seed)


def _null_value(pool, m_size, rng, splits=30):
    """The published estimator's value when both sets come from one distribution, at these sizes:
    its mean over random splits of the pooled images (a permutation estimate)."""
    return float(np.mean([_cmmd_reference(pool[p[:m_size]], pool[p[m_size:]])
                          for p in (rng.permutation(len(pool)) for _ in range(splits))]))


@pytest.mark.parametrize("sizes", [(120, 120), (20, 400)], ids=["halves", "20-against-400"])
def test_the_cmmd_interval_of_one_distribution_split_in_two_contains_the_null_value(sizes):
    # two sets of one distribution: the published (biased) estimator is above 0, and its interval,
    # which resamples both sets, holds the value the estimator takes under the null at these sizes
    # (with 20 against 400 too: the old interval, equal-n subsets of the larger set only, had no
    # spread from the small set)
    m_size, n_size = sizes
    rng = np.random.default_rng(8)
    covered = 0
    for trial in range(10):
        pool = rng.normal(size=(m_size + n_size, 32)) + 2 * np.eye(32)[0]  # off the origin, as CLIP's are
        ci = _cmmd_interval(pool[:m_size], pool[m_size:], seed=trial)
        assert ci.value == pytest.approx(_cmmd_reference(pool[:m_size], pool[m_size:]), abs=1e-9)
        assert ci.n == min(sizes) and ci.value > 0 and ci.low <= ci.value <= ci.high
        covered += ci.low <= _null_value(pool, m_size, rng) <= ci.high
    assert covered >= 9, covered


def test_the_cmmd_interval_excludes_the_null_value_of_a_real_shift():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(120, 32)) + 2 * np.eye(32)[0]
    y = rng.normal(size=(120, 32)) + 2 * np.eye(32)[0] + 1.5 * np.eye(32)[1]
    ci = _cmmd_interval(x, y)
    assert ci.low > _null_value(np.concatenate([x, y]), 120, rng)


def test_vendi_of_a_set_and_its_3x_superset_differ_raw_and_agree_at_equal_n():
    from synthdiv.confidence import at_equal_n

    rng = np.random.default_rng(6)
    big = rng.normal(size=(300, 256))  # one distribution; the small set is a third of it
    small = big[:100]
    raw_small, raw_big = m.vendi(small), m.vendi(big)
    assert raw_big > 1.5 * raw_small  # Vendi grows with n: the raw numbers disagree
    a, b = at_equal_n(m.vendi, small, 100), at_equal_n(m.vendi, big, 100, draws=30)
    assert a.n == b.n == 100 and a.value == pytest.approx(raw_small)
    assert b.low <= a.value <= b.high  # at the same n they agree within the spread
    assert abs(b.value - a.value) < 0.1 * a.value
    fd = at_equal_n(m.frechet_distance, big, 50, big[200:], draws=5)  # other sets pass through
    assert fd.n == 50 and fd.low <= fd.value <= fd.high
    with pytest.raises(ValueError, match="2 ≤ n ≤ 100"):
        at_equal_n(m.vendi, small, 200)


def test_per_class_and_pooled_accuracy_intervals_cover_the_truth_about_95_percent_of_the_time():
    from synthdiv.confidence import pooled_proportion, proportions

    rng = np.random.default_rng(5)
    p = rng.uniform(0.5, 0.95, size=20)  # 20 classes of different difficulty, 40 images each
    n = np.full(20, 40)
    per_class_hits, pooled_hits, reps = 0, 0, 300
    for rep in range(reps):
        k = rng.binomial(n, p)
        low, high = proportions(k, n, seed=rep)
        per_class_hits += int(((low <= p) & (p <= high)).sum())
        # classes drawn from a population of classes: the truth is the population's mean accuracy
        classes = rng.integers(0, 20, size=20)
        iv = pooled_proportion(rng.binomial(n, p[classes]), n, seed=rep)
        pooled_hits += int(iv.low <= p.mean() <= iv.high)
    assert 0.90 <= per_class_hits / (reps * 20) <= 0.98
    assert 0.88 <= pooled_hits / reps <= 0.99


def test_the_analysis_reports_vendi_ratios_at_equal_n():
    """Synthetic and real sets from one distribution, the synthetic one 3× larger: the raw Vendi
    scores differ, the ratio at equal n is about 1 and says the n it used."""
    from synthdiv.analysis import Inputs, analyse

    rng = np.random.default_rng(2)
    centres = rng.normal(size=(3, 32)) * 0.5
    sy, ry = np.repeat(np.arange(3), 150), np.repeat(np.arange(3), 100)
    out = analyse(Inputs(classes=["a", "b", "c"], synthetic=centres[sy] + rng.normal(size=(450, 32)), synthetic_y=sy,
                         real=centres[ry] + rng.normal(size=(300, 32)), real_y=ry,
                         real_split=np.array(["train", "test"] * 150), text=centres, text_y=np.arange(3)))
    for row in out["diversity"]:
        assert row["n_equal"] == 50 and row["n_synthetic"] == 150
        assert row["vendi_synthetic"] > 1.1 * row["vendi_real"]  # raw: more images, higher Vendi
        assert row["vendi_ratio"] == pytest.approx(1.0, abs=0.08)  # at equal n: the same distribution
    head = {r["measure"]: r for r in out["headline"]}
    assert head["vendi_ratio"]["low"] <= 1.0 <= head["vendi_ratio"]["high"] + 0.05
    assert out["summary"][0]["vendi_ratio"] == head["vendi_ratio"]["value"]


def test_bootstrap_draws_of_the_pairwise_distance_match_resampling_directly():
    from synthdiv.confidence import pairwise_distance_draws
    from synthdiv.metrics import mean_pairwise_cosine_distance

    x = np.random.default_rng(4).normal(size=(30, 6))
    draws = pairwise_distance_draws(x, draws=50, seed=7)
    # the same draws, done the slow way: the resampled rows, every ordered pair of distinct positions
    rng = np.random.default_rng(7)
    counts = rng.multinomial(30, np.full(30, 1 / 30), size=50)
    for got, w in zip(draws, counts, strict=True):
        rows = np.repeat(x, w, axis=0)
        assert got == pytest.approx(mean_pairwise_cosine_distance(rows), abs=1e-12)
    assert draws.min() < mean_pairwise_cosine_distance(x) < draws.max() + 0.05
