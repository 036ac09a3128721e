"""Classifiers on CLIP embeddings: zero-shot from class texts, and a linear probe.

Both work on L2-normalised embeddings. The linear probe follows the protocol of CLIP (Radford et
al. 2021, appendix A.3) and CLIP_benchmark: a multinomial logistic regression whose
regularisation C is chosen on a validation split carved from the training set, over a wide
log-spaced grid; then refitted on the whole training set with that C. Nothing of the test set
enters training or the choice of C.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthdiv.metrics import normalise

# C, as scikit-learn spells it (the inverse of the L2 weight on the summed loss): decades from
# 10⁻² to 10⁴. The search walks it from strong to weak regularisation, each fit starting from the
# last one's weights (SEARCH_ITERATIONS L-BFGS steps at most), and stops when PATIENCE steps in a
# row did not beat the best validation accuracy (ties keep the stronger regularisation). The
# final fit on the whole training set starts from the chosen C's weights.
C_GRID = tuple(float(c) for c in np.logspace(-2, 4, 7))
PATIENCE = 2
SEARCH_ITERATIONS = 100
FINAL_ITERATIONS = 100
# The search for C fits on at most this many training rows (a stratified random subset, so a
# 1,000-class probe searches on 16 images per class instead of all of them); the final fit uses
# every training row.
SEARCH_ROWS = 20_000
VALIDATION_SHARE = 0.2


def class_text_vectors(text: np.ndarray, text_class: np.ndarray, n_classes: int) -> np.ndarray:
    """One unit vector per class: the normalised mean of its (normalised) prompt embeddings."""
    t = normalise(text)
    out = np.zeros((n_classes, t.shape[1]))
    for c in range(n_classes):
        rows = t[text_class == c]
        if len(rows):
            out[c] = rows.mean(axis=0)
    return normalise(out)


def zero_shot_predict(images: np.ndarray, class_vectors: np.ndarray) -> np.ndarray:
    """The class whose text vector has the highest cosine with each image."""
    return (normalise(images) @ class_vectors.T).argmax(axis=1)


@dataclass
class Probe:
    """A fitted linear probe: ``predict`` and ``score`` take raw embeddings (normalised here)."""

    weight: np.ndarray  # (d, k)
    bias: np.ndarray  # (k,)
    classes: np.ndarray  # the label of each of the k columns
    C: float
    search: list[tuple[float, float]] = field(default_factory=list)  # (C, validation accuracy) tried

    def predict(self, x: np.ndarray) -> np.ndarray:
        logits = normalise(np.asarray(x, np.float64)).astype(np.float32) @ self.weight + self.bias
        return self.classes[logits.argmax(axis=1)]

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(x) == np.asarray(y)).mean())


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _fit(x, y, k: int, C: float, start=None, max_iter: int = 200):
    """Minimise mean cross-entropy + ‖W‖² / (2·C·n) (scikit-learn's objective divided by C·n; the
    bias is not penalised) with full-batch L-BFGS; returns (W, b) as torch tensors."""
    import torch

    n, d = x.shape
    w = torch.zeros(d, k, device=x.device) if start is None else start[0].clone()
    b = torch.zeros(k, device=x.device) if start is None else start[1].clone()
    w.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=max_iter, history_size=10, tolerance_grad=1e-5,
                            tolerance_change=1e-7, line_search_fn="strong_wolfe")
    penalty = 1.0 / (2.0 * C * n)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + penalty * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def _validation_split(y: np.ndarray, share: float, seed: int) -> np.ndarray:
    """A boolean mask of validation rows: ``share`` of each class (at least one where a class has
    two or more rows, none where it has one), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    val = np.zeros(len(y), bool)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        take = int(round(share * len(rows)))
        take = min(max(take, 1), len(rows) - 1)
        if take > 0:
            val[rng.choice(rows, take, replace=False)] = True
    return val


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, seed: int = 0, device: str | None = None,
                 grid: tuple[float, ...] = C_GRID) -> Probe:
    """A multinomial logistic regression on normalised embeddings (torch, on the GPU when there is
    one), C chosen on a validation split of the training set (``VALIDATION_SHARE`` of each class),
    then refitted on all of it. With a single training row in some class there is no validation
    split for it; with fewer than two rows in every class, C = 1 (scikit-learn's default)."""
    import torch

    train_y = np.asarray(train_y)
    classes, y_index = np.unique(train_y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"a linear probe needs training images of at least 2 classes, got {len(classes)}")
    torch.manual_seed(seed)
    dev = device or _device()
    x = torch.from_numpy(normalise(np.asarray(train_x, np.float64)).astype(np.float32)).to(dev)
    y = torch.from_numpy(y_index.astype(np.int64)).to(dev)
    k = len(classes)
    val = _validation_split(y_index, VALIDATION_SHARE, seed)
    if len(y_index) > SEARCH_ROWS:  # search on a stratified subset: the rows left out take no part
        keep = _validation_split(y_index, SEARCH_ROWS / len(y_index), seed + 1)
        val &= keep
    search: list[tuple[float, float]] = []
    best_c, best_start = 1.0, None
    if val.any() and (~val).any() and len(np.unique(y_index[~val])) >= 2:
        train_rows = ~val if len(y_index) <= SEARCH_ROWS else (~val & keep)
        vt, tt = torch.from_numpy(val).to(dev), torch.from_numpy(train_rows).to(dev)
        xt, yt, xv, yv = x[tt], y[tt], x[vt], y[vt]
        start, best, stale = None, -1.0, 0
        for c in grid:
            start = _fit(xt, yt, k, c, start, max_iter=SEARCH_ITERATIONS)
            with torch.no_grad():
                accuracy = float(((xv @ start[0] + start[1]).argmax(1) == yv).float().mean())
            search.append((c, accuracy))
            if accuracy > best:
                best, best_c, best_start, stale = accuracy, c, start, 0
            else:
                stale += 1
                if stale >= PATIENCE:
                    break
        w, b = _fit(x, y, k, best_c, best_start, max_iter=FINAL_ITERATIONS)
    else:
        w, b = _fit(x, y, k, best_c, max_iter=FINAL_ITERATIONS)
    return Probe(w.cpu().numpy(), b.cpu().numpy(), classes, best_c, search)


def sklearn_probe(train_x: np.ndarray, train_y: np.ndarray, seed: int = 0):
    """The previous probe, kept as the reference the torch probe is tested and benchmarked
    against: scikit-learn's LogisticRegressionCV, C from [0.1, 1, 10, 100] by 3-fold CV."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    folds = int(min(3, np.bincount(np.unique(train_y, return_inverse=True)[1]).min())) if len(train_y) else 0
    if folds < 2:
        return LogisticRegression(max_iter=5000).fit(normalise(train_x), train_y)
    return LogisticRegressionCV(Cs=[0.1, 1, 10, 100], cv=folds, max_iter=5000, random_state=seed).fit(
        normalise(train_x), train_y)
