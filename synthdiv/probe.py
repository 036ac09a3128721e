"""Classifiers on CLIP embeddings: zero-shot from class texts, and a linear probe.

Both work on L2-normalised embeddings. The linear probe chooses its regularisation C by
cross-validation on its training set only: nothing of the test set enters training or the
choice of C.
"""

from __future__ import annotations

import numpy as np

from synthdiv.metrics import normalise


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


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, seed: int = 0):
    """A logistic regression on normalised embeddings, C picked by 3-fold CV on the training set."""
    from sklearn.linear_model import LogisticRegressionCV

    folds = int(min(3, np.bincount(train_y).min())) if len(train_y) else 0
    if folds < 2:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=5000).fit(normalise(train_x), train_y)
    return LogisticRegressionCV(Cs=[0.1, 1, 10, 100], cv=folds, max_iter=5000, random_state=seed).fit(
        normalise(train_x), train_y)
