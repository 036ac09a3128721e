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


def _cmmd_direct(a, b, sigma=10.0, scale=1000.0):
    a, b = m.normalise(a), m.normalise(b)
    k = lambda x, y: np.exp(-((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) / (2 * sigma ** 2))  # noqa: E731
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    ma, nb = len(a), len(b)
    return scale * ((kaa.sum() - np.trace(kaa)) / (ma * (ma - 1)) + (kbb.sum() - np.trace(kbb)) / (nb * (nb - 1))
                    - 2 * kab.mean())


def test_cmmd_matches_a_direct_implementation_in_chunks(monkeypatch):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(40, 16)), rng.normal(0.3, 1, size=(25, 16))
    monkeypatch.setattr(m, "CHUNK", 7)  # several row blocks
    assert m.cmmd(a, b) == pytest.approx(_cmmd_direct(a, b), rel=1e-10, abs=1e-12)


def test_cmmd_is_zero_for_one_distribution_and_grows_with_the_shift():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(400, 32))
    same = m.cmmd(base, rng.normal(size=(400, 32)))
    shifts = [m.cmmd(base, rng.normal(size=(400, 32)) + s * np.eye(32)[0] * 3) for s in (0.25, 0.5, 1.0, 2.0)]
    assert abs(same) < shifts[0] / 3
    assert all(x < y for x, y in zip(shifts, shifts[1:], strict=False)), shifts
    with pytest.raises(ValueError, match="at least 2"):
        m.cmmd(base[:1], base)


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
