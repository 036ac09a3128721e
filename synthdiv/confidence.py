"""Confidence intervals by the bootstrap, for numbers computed from a sample of images.

A number shown without its uncertainty invites reading noise as a difference. These functions
resample the units the number is made of (images within a class, or classes for a headline
average) with replacement, recompute the number on each resample, and report the percentile
interval (Efron & Tibshirani 1993, ch. 13): the 2.5th and 97.5th percentiles of the resampled
values for a 95 % interval. Draws come from a seeded generator, so an interval is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

DRAWS = 1000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A number, its bootstrap interval at ``level``, and the n it was computed from."""

    value: float
    low: float
    high: float
    n: int
    level: float = LEVEL

    def excludes(self, x: float = 0.0) -> bool:
        """Whether ``x`` lies outside the interval (for a difference: a real one at this level)."""
        return not self.low <= x <= self.high


def bootstrap(values: np.ndarray, statistic: Callable[[np.ndarray], float] = np.mean, draws: int = DRAWS,
              level: float = LEVEL, seed: int = 0) -> Interval:
    """The percentile bootstrap interval of ``statistic`` over the rows of ``values``.

    ``values``: one entry (or row) per unit — per image (e.g. 1 if its class was read correctly,
    else 0) or per class (a per-class number, for a headline average over classes). Each draw
    takes n units with replacement. Needs at least 2 units.
    """
    values = np.asarray(values)
    n = len(values)
    if n < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 values, got {n}")
    rng = np.random.default_rng(seed)
    if statistic is np.mean and values.ndim == 1:  # the common case, vectorised
        idx = rng.integers(0, n, size=(draws, n))
        stats = values[idx].mean(axis=1)
    else:
        stats = np.array([statistic(values[rng.integers(0, n, size=n)]) for _ in range(draws)])
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return Interval(float(statistic(values)), float(low), float(high), n, level)


def paired_difference(a: np.ndarray, b: np.ndarray, draws: int = DRAWS, level: float = LEVEL,
                      seed: int = 0) -> Interval:
    """The mean of ``a − b`` over paired units (the same classes in two experiments of a sweep) with
    its paired bootstrap interval: each draw resamples the pairs, so what the two experiments share
    (how hard a class is) cancels. An interval that excludes 0 marks a difference at ``level``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a paired difference needs values for the same units, got {a.shape} and {b.shape}")
    return bootstrap(a - b, draws=draws, level=level, seed=seed)


def difference_of_means(a: np.ndarray, b: np.ndarray, draws: int = DRAWS, level: float = LEVEL,
                        seed: int = 0) -> Interval:
    """mean(a) − mean(b) for two independent samples (say, a class's synthetic and its real
    images), with the percentile bootstrap interval that resamples each sample on its own. ``n``
    is the smaller sample's size. Needs at least 2 values in each."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a difference of means needs 2 values on each side, got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    da = a[rng.integers(0, len(a), size=(draws, len(a)))].mean(1)
    db = b[rng.integers(0, len(b), size=(draws, len(b)))].mean(1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(da - db, [tail, 1.0 - tail])
    return Interval(float(a.mean() - b.mean()), float(low), float(high), min(len(a), len(b)), level)


def at_equal_n(metric: Callable[..., float], x: np.ndarray, n: int, *others: np.ndarray, draws: int = 20,
               level: float = LEVEL, seed: int = 0) -> Interval:
    """``metric(x_sub, *others)`` on random subsets of ``n`` rows of ``x`` (without replacement),
    averaged over ``draws`` subsets, with the spread of the draws as its interval (the ``level``
    percentile range of the draws) and ``n`` as the n used.

    For metrics that depend on the number of samples — Vendi grows with n, the Fréchet distance
    and PRDC shrink or move with it — two sets are compared only at the same n: compute both at
    the smaller set's size. ``x`` with exactly ``n`` rows gives its plain value (no spread).
    """
    x = np.asarray(x)
    if not 2 <= n <= len(x):
        raise ValueError(f"equal-n subsets of {n} rows need 2 ≤ n ≤ {len(x)} (the set's size)")
    if n == len(x):
        v = float(metric(x, *others))
        return Interval(v, v, v, n, level)
    rng = np.random.default_rng(seed)
    values = np.array([metric(x[rng.choice(len(x), size=n, replace=False)], *others) for _ in range(draws)])
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return Interval(float(values.mean()), float(low), float(high), n, level)


def proportions(correct: np.ndarray, total: np.ndarray, draws: int = DRAWS, level: float = LEVEL,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit bootstrap intervals of ``correct[i] / total[i]`` (e.g. a class's accuracy over its
    images): resampling a class's ``total`` images with replacement gives Binomial(total, p̂)
    correct ones, so the draws are binomial (exactly the bootstrap, without materialising the
    resamples). Returns (low, high) arrays; NaN where ``total`` is 0."""
    correct, total = np.asarray(correct, np.int64), np.asarray(total, np.int64)
    rng = np.random.default_rng(seed)
    p = np.where(total > 0, correct / np.maximum(total, 1), 0.0)
    stats = rng.binomial(total[:, None], p[:, None], size=(len(total), draws)) / np.maximum(total, 1)[:, None]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail], axis=1)
    empty = total == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def pooled_proportion(correct: np.ndarray, total: np.ndarray, draws: int = DRAWS, level: float = LEVEL,
                      seed: int = 0) -> Interval:
    """Σ correct / Σ total (an accuracy over all images) with the cluster bootstrap interval that
    resamples classes (the units the images are grouped in): each draw takes as many classes as
    there are, with replacement, and pools their counts. ``n`` is the number of classes. Classes
    with no images are left out; needs 2 classes with images."""
    correct, total = np.asarray(correct, np.float64), np.asarray(total, np.float64)
    keep = total > 0
    correct, total = correct[keep], total[keep]
    if len(total) < 2:
        raise ValueError(f"a bootstrap interval over classes needs at least 2 classes, got {len(total)}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(total), size=(draws, len(total)))
    stats = correct[idx].sum(1) / total[idx].sum(1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return Interval(float(correct.sum() / total.sum()), float(low), float(high), len(total), level)


def difference_of_proportions(correct_a: np.ndarray, total_a: np.ndarray, correct_b: np.ndarray,
                              total_b: np.ndarray, draws: int = DRAWS, level: float = LEVEL,
                              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit bootstrap intervals of ``correct_a/total_a − correct_b/total_b``, each side's
    images resampled independently (Binomial draws, as in :func:`proportions`). Where the two
    sides are the same images (a probe's accuracy on one real test set) a paired resampling would
    be tighter: this interval is the conservative one. Returns (low, high) arrays."""
    rng = np.random.default_rng(seed)
    ka, na = np.asarray(correct_a, np.int64), np.maximum(np.asarray(total_a, np.int64), 1)
    kb, nb = np.asarray(correct_b, np.int64), np.maximum(np.asarray(total_b, np.int64), 1)
    a = rng.binomial(na[:, None], (ka / na)[:, None], size=(len(na), draws)) / na[:, None]
    b = rng.binomial(nb[:, None], (kb / nb)[:, None], size=(len(nb), draws)) / nb[:, None]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(a - b, [tail, 1.0 - tail], axis=1)
    return low, high


def pairwise_distance_draws(x: np.ndarray, draws: int = DRAWS, seed: int = 0) -> np.ndarray:
    """Bootstrap draws of the mean pairwise cosine distance of the rows of ``x``
    (:func:`synthdiv.metrics.mean_pairwise_cosine_distance`): each draw resamples the rows with
    replacement and takes the mean over ordered pairs of distinct positions (a row drawn twice
    pairs with itself at distance 0). In O(draws · n · d): with u the unit rows and w the draw's
    counts, Σ_{p≠q} u_p·u_q = ‖Σ w_i u_i‖² − n. Needs at least 2 rows."""
    x = np.asarray(x, np.float64)
    n = len(x)
    if n < 2:
        raise ValueError(f"a bootstrap of pairwise distances needs at least 2 rows, got {n}")
    u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=draws).astype(np.float64)
    sums = counts @ u
    return 1.0 - ((sums * sums).sum(1) - n) / (n * (n - 1))


def ratio_interval(a: np.ndarray, b: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of ``a / b`` over paired bootstrap draws of two independent samples
    (a draw where ``b`` is 0 counts as an infinite ratio, without a warning on the terminal)."""
    tail = (1.0 - level) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = np.quantile(np.asarray(a) / np.asarray(b), [tail, 1.0 - tail])
    return float(low), float(high)



def biased_mmd_interval(k_aa: np.ndarray, k_bb: np.ndarray, k_ab: np.ndarray, scale: float = 1.0,
                        draws: int = DRAWS, level: float = LEVEL, seed: int = 0) -> Interval:
    """The biased (all pairs, diagonal included) MMD² of two sets from their kernel matrices
    (``k_aa`` m × m, ``k_bb`` n × n, ``k_ab`` m × n; a kernel with k(x, x) = 1, as the RBF), times
    ``scale``, with its percentile interval over resamples of **both** sets, each with
    replacement and independently of the other.

    A resample of a set is a vector w of counts (multinomial, Σ w = m) and its MMD² is the
    quadratic form w_aᵀK_aa w_a / m² + w_bᵀK_bb w_b / n² − 2 w_aᵀK_ab w_b / (mn): no kernel is
    recomputed. A resample repeats images, and the biased estimator would count each repeat's
    pair with its copy as a pair of two images at k = 1, which inflates every draw by about the
    estimator's own bias. So those w_i(w_i − 1) pairs count at the set's mean kernel value between
    two different images instead; the diagonal (each position with itself) stays, as in the
    estimator. The draws then centre on the estimate, and the interval is the spread of the
    estimator at these set sizes: for two samples of one distribution it covers the estimator's
    value under the null (above 0: the biased estimator's expectation is then about
    (1/m + 1/n)(1 − mean k between two images)). The lower end is clipped at 0, below which the
    estimator never lies.
    """
    m, n = len(k_aa), len(k_bb)
    if m < 2 or n < 2:
        raise ValueError(f"an MMD interval needs 2 rows in each set, got {m} and {n}")
    value = scale * (k_aa.mean() + k_bb.mean() - 2.0 * k_ab.mean())
    off_a = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))  # mean kernel value between two images
    off_b = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    rng = np.random.default_rng(seed)
    stats = []
    for start in range(0, draws, 100):  # in blocks of 100 count vectors per set
        size = min(100, draws - start)
        wa = rng.multinomial(m, np.full(m, 1.0 / m), size=size).astype(np.float64)
        wb = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        repeats_a = (wa * (wa - 1)).sum(1)  # ordered pairs of two positions holding one image
        repeats_b = (wb * (wb - 1)).sum(1)
        aa = (((wa @ k_aa) * wa).sum(1) - repeats_a * (1.0 - off_a)) / (m * m)
        bb = (((wb @ k_bb) * wb).sum(1) - repeats_b * (1.0 - off_b)) / (n * n)
        stats.append(scale * (aa + bb - 2.0 * ((wa @ k_ab) * wb).sum(1) / (m * n)))
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(np.concatenate(stats), [tail, 1.0 - tail])
    return Interval(float(value), max(0.0, float(low)), float(high), min(m, n), level)  # MMD²_b ≥ 0
