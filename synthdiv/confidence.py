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
