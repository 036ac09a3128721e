"""Diversity metrics on embeddings. Each is vectorised and defined in its docstring."""

from __future__ import annotations

import numpy as np


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length (zero rows stay zero)."""
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def mean_pairwise_cosine_distance(x: np.ndarray) -> float:
    """Mean over ordered pairs i ≠ j of 1 − cos(x_i, x_j); 0 for identical rows, up to 2.

    With u_i = x_i / ‖x_i‖: Σ_{i≠j} u_i·u_j = ‖Σ u_i‖² − n, so the mean is computed in O(n·d)
    without forming the n × n matrix. Needs at least 2 rows.
    """
    u = normalise(x)
    n = len(u)
    if n < 2:
        raise ValueError(f"mean pairwise cosine distance needs at least 2 samples, got {n}")
    s = u.sum(axis=0)
    mean_cos = (float(s @ s) - float((u * u).sum())) / (n * (n - 1))
    return 1.0 - mean_cos
