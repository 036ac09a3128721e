"""Classifiers on CLIP embeddings: zero-shot from class texts, and a linear probe.

Both work on L2-normalised embeddings. The linear probe follows the protocol of CLIP (Radford et
al. 2021, appendix A.3) and CLIP_benchmark: a multinomial logistic regression whose
regularisation C is chosen on validation splits carved from the training set (here the folds of
a stratified 3-fold cross-validation: one split's accuracy is too noisy to choose between
neighbouring Cs), over a wide log-spaced grid; then refitted on the whole training set with that
C. Nothing of the test set enters training or the choice of C.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthdiv.metrics import normalise

# C, as scikit-learn spells it (the inverse of the L2 weight on the summed loss): decades from
# 10⁻² to 10⁴. The search walks it from strong to weak regularisation, each fold's fit starting
# from its last one's weights (SEARCH_ITERATIONS L-BFGS steps at most), and stops when PATIENCE
# steps in a row did not beat the best mean validation accuracy.
C_GRID = tuple(float(c) for c in np.logspace(-2, 4, 7))
FOLDS = 3
PATIENCE = 2
SEARCH_ITERATIONS = 100
FINAL_ITERATIONS = 100
TOLERANCE = 1e-4  # on the largest gradient entry of the mean loss, as scikit-learn's lbfgs stops
# The search for C fits on at most this many training rows (a stratified random subset, so a
# 1,000-class probe searches on 20 images per class instead of all of them); the final fit uses
# every training row.
SEARCH_ROWS = 20_000


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
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=max_iter, history_size=10, tolerance_grad=TOLERANCE,
                            tolerance_change=1e-7, line_search_fn="strong_wolfe")
    penalty = 1.0 / (2.0 * C * n)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + penalty * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def _folds(y: np.ndarray, folds: int, seed: int, limit: int | None = None) -> np.ndarray:
    """A stratified fold number (0 … folds−1) for each row, −1 for rows left out of the search:
    each class's rows in a random order dealt round the folds; with ``limit`` (fewer rows than
    there are), each class keeps its share of ``limit`` rows (at least ``folds``)."""
    rng = np.random.default_rng(seed)
    fold = np.full(len(y), -1)
    share = 1.0 if limit is None or len(y) <= limit else limit / len(y)
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        rows = rows[:max(folds, int(round(share * len(rows))))]
        fold[rows] = np.arange(len(rows)) % folds
    return fold


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, seed: int = 0, device: str | None = None,
                 grid: tuple[float, ...] = C_GRID) -> Probe:
    """A multinomial logistic regression on normalised embeddings (torch, on the GPU when there is
    one): C chosen by stratified ``FOLDS``-fold cross-validation on the training set (on at most
    ``SEARCH_ROWS`` of its rows) — each fold in turn the validation split, the best mean validation
    accuracy wins — then refitted on all of it. With fewer than ``FOLDS`` rows in some class there
    is no search: C = 1 (scikit-learn's default)."""
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
    search: list[tuple[float, float]] = []
    best_c = 1.0
    if np.bincount(y_index).min() >= FOLDS:
        fold = torch.from_numpy(_folds(y_index, FOLDS, seed, SEARCH_ROWS)).to(dev)
        splits = [(x[(fold >= 0) & (fold != f)], y[(fold >= 0) & (fold != f)], x[fold == f], y[fold == f])
                  for f in range(FOLDS)]
        starts: list = [None] * FOLDS
        best, stale = -1.0, 0
        for c in grid:
            scores = []
            for f, (xt, yt, xv, yv) in enumerate(splits):
                starts[f] = _fit(xt, yt, k, c, starts[f], max_iter=SEARCH_ITERATIONS)
                with torch.no_grad():
                    scores.append(float(((xv @ starts[f][0] + starts[f][1]).argmax(1) == yv).float().mean()))
            search.append((c, float(np.mean(scores))))
            if search[-1][1] > best:
                best, best_c, stale = search[-1][1], c, 0
            else:
                stale += 1
                if stale >= PATIENCE:
                    break
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
