"""Metrics on embeddings, one vectorised (and where it matters chunked) implementation each.

Every function takes (n, d) arrays of row vectors and says in its docstring exactly what it
computes. Functions that need several samples raise ``ValueError`` naming the minimum instead of
returning NaN. Nothing here forms an n × n matrix for large n: pairwise work goes in row chunks.
"""

from __future__ import annotations

import numpy as np

CHUNK = 2048  # rows per block in pairwise computations


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length (zero rows stay zero), as float64."""
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _need(x: np.ndarray, n: int, what: str, keep_float32: bool = False) -> np.ndarray:
    """``x`` as a 2-d float64 array (float32 stays float32 with ``keep_float32``), or a ValueError
    naming ``what`` when it is not 2-d or has fewer than ``n`` rows."""
    x = np.asarray(x)
    if not (keep_float32 and x.dtype == np.float32):
        x = x.astype(np.float64, copy=False)
    if x.ndim != 2:
        raise ValueError(f"{what} needs a 2-d array of row vectors, got shape {x.shape}")
    if len(x) < n:
        raise ValueError(f"{what} needs at least {n} samples, got {len(x)}")
    return x


def mean_pairwise_cosine_distance(x: np.ndarray) -> float:
    """Mean over ordered pairs i ≠ j of 1 − cos(x_i, x_j); 0 for identical rows, up to 2.

    With u_i = x_i / ‖x_i‖: Σ_{i≠j} u_i·u_j = ‖Σ u_i‖² − n, so the mean is computed in O(n·d)
    without forming the n × n matrix. Needs at least 2 rows.
    """
    u = normalise(_need(x, 2, "mean pairwise cosine distance"))
    n = len(u)
    s = u.sum(axis=0)
    mean_cos = (float(s @ s) - float((u * u).sum())) / (n * (n - 1))
    return 1.0 - mean_cos


def cone(x: np.ndarray) -> float:
    """Cone effect: mean pairwise cosine similarity within one set (1 − mean pairwise distance).

    Near 0 for directions spread over the sphere, near 1 when all embeddings lie in a narrow cone
    (as CLIP embeddings of one modality do).
    """
    return 1.0 - mean_pairwise_cosine_distance(x)


def vendi(x: np.ndarray) -> float:
    """Vendi score with the cosine kernel: exp(−Σ λ_i log λ_i), λ the eigenvalues of K/n.

    K_ij = cos(x_i, x_j). The effective number of distinct samples: 1 for n copies of one vector,
    n for n orthogonal vectors, never more than n (Friedman & Dieng, 2023). With U the normalised
    rows, K/n = U Uᵀ/n shares its non-zero eigenvalues with the d × d matrix Uᵀ U / n (the dual
    form), which is accumulated in row chunks when d < n; otherwise K/n is used directly.
    float32 input (CLIP embeddings are float32) is kept in float32 for the products, each chunk's
    Gram summed in float64 (relative error ~1e-7, about twice as fast); anything else is float64.
    Needs at least 1 row.
    """
    x = _need(x, 1, "Vendi score", keep_float32=True)
    if x.dtype == np.float32:
        u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))
    else:
        u = normalise(x)
    n, d = u.shape
    if d < n:
        gram = np.zeros((d, d))
        for start in range(0, n, 4 * CHUNK):
            block = u[start : start + 4 * CHUNK]
            gram += block.T @ block
        w = np.linalg.eigvalsh(gram / n)
    else:
        w = np.linalg.eigvalsh((u @ u.T).astype(np.float64) / n)
    w = w[w > 1e-12]
    return float(np.exp(-(w * np.log(w)).sum()))


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0)


def pairwise_distances(a: np.ndarray, b: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """Distances between the rows of ``a`` and ``b``: Euclidean, or cosine (1 − cos)."""
    if metric == "euclidean":
        return np.sqrt(_sq_dist(np.asarray(a, np.float64), np.asarray(b, np.float64)))
    if metric == "cosine":
        return 1.0 - normalise(a) @ normalise(b).T
    raise ValueError(f"unknown metric {metric!r}: use euclidean or cosine")


def kth_neighbour_distance(x: np.ndarray, k: int, metric: str = "euclidean") -> np.ndarray:
    """For each row, the distance to its k-th nearest other row (the row itself not counted)."""
    x = _need(x, k + 1, f"the {k}-th neighbour distance")
    out = np.empty(len(x))
    for start in range(0, len(x), CHUNK):
        d = pairwise_distances(x[start : start + CHUNK], x, metric)
        out[start : start + CHUNK] = np.partition(d, k, axis=1)[:, k]  # index 0 is the row itself
    return out


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5, metric: str = "euclidean") -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` (Naeem et al., 2020).

    With r_i the distance from real i to its k-th nearest real neighbour, f_j likewise for fake,
    and B(x, r) the closed-open ball d < r:
    precision = share of fakes inside some real ball B(real_i, r_i);
    recall = share of reals inside some fake ball B(fake_j, f_j);
    density = (1/k) · mean over fakes of the number of real balls containing it;
    coverage = share of reals whose nearest fake lies inside B(real_i, r_i).
    Computed in row chunks: memory O(chunk · n), not O(n²). Needs more than k samples of each.
    """
    real = _need(real, k + 1, "PRDC (real set)")
    fake = _need(fake, k + 1, "PRDC (synthetic set)")
    r_real = kth_neighbour_distance(real, k, metric)
    r_fake = kth_neighbour_distance(fake, k, metric)
    in_balls = np.zeros(len(fake))
    covered = np.zeros(len(real), bool)
    recalled = np.zeros(len(real), bool)
    for start in range(0, len(real), CHUNK):
        d = pairwise_distances(real[start : start + CHUNK], fake, metric)  # (chunk, n_fake)
        radius = r_real[start : start + CHUNK, None]
        in_balls += (d < radius).sum(axis=0)
        covered[start : start + CHUNK] = d.min(axis=1) < radius[:, 0]
        recalled[start : start + CHUNK] = (d < r_fake[None, :]).any(axis=1)
    return {
        "precision": float((in_balls > 0).mean()),
        "recall": float(recalled.mean()),
        "density": float(in_balls.mean() / k),
        "coverage": float(covered.mean()),
    }


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets (the FID formula on any features).

    ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}), with sample covariances
    (n − 1). Needs at least 2 samples in each set.

    Computed without a d × d matrix square root. With the centred rows A (n_a × d) and B
    (n_b × d), Σ_a = AᵀA / (n_a − 1), so Tr Σ_a = ‖A‖²_F / (n_a − 1), and the eigenvalues of
    Σ_a^{1/2} Σ_b Σ_a^{1/2} (those of Σ_a Σ_b) are the squared singular values of
    A Bᵀ / √((n_a − 1)(n_b − 1)): the trace of its square root is the nuclear norm (sum of singular
    values) of that matrix. With thin QR factors A = Q_a R_a and B = Q_b R_b (R has min(n, d)
    rows), A Bᵀ has the singular values of R_a R_bᵀ. The covariances are never formed, so nothing
    is squared: exact up to rounding also when they are singular (fewer samples than dimensions,
    the usual case per class), where square roots of eigenvalues near zero lose half the digits.
    No matrix is larger than min(n, d) on a side: per-class sets of a few dozen images in 768
    dimensions cost a few small products instead of two 768 × 768 eigendecompositions.
    """
    a = _need(a, 2, "Fréchet distance")
    b = _need(b, 2, "Fréchet distance")
    mu = a.mean(0) - b.mean(0)
    ca, cb = a - a.mean(0), b - b.mean(0)
    ra, rb = np.linalg.qr(ca, mode="r"), np.linalg.qr(cb, mode="r")
    na, nb = len(a) - 1, len(b) - 1
    cross = np.linalg.svd(ra @ rb.T, compute_uv=False).sum() / np.sqrt(na * nb)
    value = float(mu @ mu + (ca * ca).sum() / na + (cb * cb).sum() / nb - 2 * cross)
    return max(value, 0.0)


CMMD_SIGMA = 10.0  # Jayasumana et al. 2024: the RBF bandwidth for unit-length CLIP embeddings
CMMD_SCALE = 1000.0  # ... and the factor their numbers are reported in


def _rbf_sum(a: np.ndarray, b: np.ndarray, gamma: float) -> float:
    """Σ_ij exp(−γ ‖a_i − b_j‖²), in row chunks (never an n × m matrix for large n)."""
    total = 0.0
    for i in range(0, len(a), CHUNK):
        total += float(np.exp(-gamma * _sq_dist(a[i:i + CHUNK], b)).sum())
    return total


def _cmmd_sets(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a = normalise(_need(a, 2, what))
    b = normalise(_need(b, 2, what))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{what} needs sets of one dimension, got {a.shape[1]} and {b.shape[1]}")
    return a, b


def cmmd(a: np.ndarray, b: np.ndarray, sigma: float = CMMD_SIGMA, scale: float = CMMD_SCALE) -> float:
    """CMMD as published (Jayasumana et al., "Rethinking FID: Towards a Better Evaluation Metric
    for Image Generation", CVPR 2024; reference code google-research ``cmmd/distance.py``): the
    squared maximum mean discrepancy between two sets of CLIP embeddings with a Gaussian RBF
    kernel, times ``scale``.

    Rows are normalised to unit length (the reference's CLIP embeddings are) and
    k(x, y) = exp(−‖x − y‖² / (2σ²)), σ = 10. The reference's estimator is the minimum-variance,
    biased one, the mean over **all** pairs, the diagonal included:
        MMD²_b = 1/m² Σ_ij k(a_i, a_j) + 1/n² Σ_ij k(b_i, b_j) − 2/(mn) Σ_ij k(a_i, b_j).
    It is never negative (the squared distance between the two sets' mean embeddings in the
    kernel's feature space), and for two samples of one distribution it is not 0 but about
    (1/m + 1/n)(1 − E k(x, x′)): compare values at similar set sizes. The unbiased estimator is
    :func:`mmd2_unbiased`. Needs at least 2 rows each.
    """
    a, b = _cmmd_sets(a, b, "CMMD")
    gamma = 1.0 / (2.0 * sigma * sigma)
    m, n = len(a), len(b)
    return scale * (_rbf_sum(a, a, gamma) / (m * m) + _rbf_sum(b, b, gamma) / (n * n)
                    - 2.0 * _rbf_sum(a, b, gamma) / (m * n))


def mmd2_unbiased(a: np.ndarray, b: np.ndarray, sigma: float = CMMD_SIGMA, scale: float = CMMD_SCALE) -> float:
    """The unbiased estimator of the same MMD² as :func:`cmmd` (Gretton et al., "A Kernel
    Two-Sample Test", JMLR 2012, eq. 3), the diagonal terms left out:
        MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(a_i, a_j) + 1/(n(n−1)) Σ_{i≠j} k(b_i, b_j) − 2/(mn) Σ_ij k(a_i, b_j),
    whose expectation is 0 when both sets come from one distribution (a single estimate may then
    be slightly negative). Unit-length rows, σ = 10, ×1000 as in CMMD. Needs at least 2 rows each.
    """
    a, b = _cmmd_sets(a, b, "MMD²")
    gamma = 1.0 / (2.0 * sigma * sigma)
    m, n = len(a), len(b)
    k_aa = (_rbf_sum(a, a, gamma) - m) / (m * (m - 1))  # the diagonal terms are exp(0) = 1
    k_bb = (_rbf_sum(b, b, gamma) - n) / (n * (n - 1))
    k_ab = _rbf_sum(a, b, gamma) / (m * n)
    return scale * (k_aa + k_bb - 2.0 * k_ab)


def rbf_matrix(a: np.ndarray, b: np.ndarray, sigma: float = CMMD_SIGMA) -> np.ndarray:
    """k(a_i, b_j) = exp(−‖a_i − b_j‖² / (2σ²)) for every pair of rows, as an m × n matrix."""
    return np.exp(-_sq_dist(a, b) / (2.0 * sigma * sigma))


def centroid_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine between the means of the (normalised) rows of two sets: 1 = same mean direction."""
    ma = normalise(_need(a, 1, "centroid cosine")).mean(0)
    mb = normalise(_need(b, 1, "centroid cosine")).mean(0)
    return float(ma @ mb / max(np.linalg.norm(ma) * np.linalg.norm(mb), 1e-12))


def clip_scores(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """Each image's CLIP score: the cosine between image embedding i and the embedding of its own
    prompt, text row i (one value per row, in [−1, 1]).

    (CLIPScore of Hessel et al. rescales this as 2.5 · max(cos, 0); we report the plain cosine.)
    """
    images, texts = _need(images, 1, "CLIP score"), _need(texts, 1, "CLIP score")
    if images.shape != texts.shape:
        raise ValueError(f"CLIP score needs one text per image, got {images.shape} and {texts.shape}")
    return (normalise(images) * normalise(texts)).sum(1)


def clip_score(images: np.ndarray, texts: np.ndarray) -> float:
    """Mean of :func:`clip_scores`: the mean cosine between each image embedding and the embedding
    of its own prompt (row i with i)."""
    return float(clip_scores(images, texts).mean())


def template_split(x: np.ndarray, templates: np.ndarray) -> dict:
    """A set's Vendi score split into what the prompts cause and what the model adds, after the
    conditional Vendi score of Jalali et al. 2024 ("Conditional Vendi Score: An Information-
    Theoretic Approach to Diversity Evaluation of Prompt-based Generative Models", arXiv
    2411.02817), with the template of each image's prompt as the condition T.

    With the matrix-based entropy H(X) = −Σ λ log λ of the cosine kernel K/n (log of the Vendi
    score) and the template kernel k_T(i, j) = 1 if images i and j share a template, else 0, the
    joint kernel K ⊙ K_T is block-diagonal by template, so
        H(X | T) = H(X, T) − H(T) = Σ_t p_t H(X_t)    (p_t: the share of images of template t),
        I(X; T) = H(X) − H(X | T),
    and Vendi(X) = exp H(X) = exp H(X | T) · exp I(X; T). Returned: ``vendi`` = exp H(X);
    ``within`` = exp H(X | T), the conditional Vendi (the effective number of distinct images a
    template gives on average: what the model adds); ``across`` = exp I(X; T), the information
    Vendi (how many distinct templates' worth of variety the prompts cause: 1 when every template
    draws the same images, the number of templates when each draws its own distinct images);
    ``per_template``: template → Vendi of its images; ``n``: template → images. ``templates``
    holds one label per row. Needs at least 1 row.
    """
    x = np.asarray(x)
    labels = np.asarray(templates)
    if len(labels) != len(_need(x, 1, "template split")):
        raise ValueError(f"template split needs one template per image, got {len(labels)} for {len(x)} images")
    h = float(np.log(vendi(x)))
    order = list(dict.fromkeys(labels.tolist()))
    per = {t: vendi(x[labels == t]) for t in order}
    count = {t: int((labels == t).sum()) for t in order}
    h_given = float(sum(count[t] / len(x) * np.log(per[t]) for t in order))
    return {"vendi": float(np.exp(h)), "within": float(np.exp(h_given)), "across": float(np.exp(h - h_given)),
            "per_template": per, "n": count}


def own_text_cosine(images: np.ndarray, classes: np.ndarray, class_texts: np.ndarray) -> np.ndarray:
    """Each image's cosine with its own class's text vector: row i of ``images`` (normalised)
    with row ``classes[i]`` of ``class_texts`` (one unit vector per class, e.g. the mean prompt
    embedding, :func:`synthdiv.probe.class_text_vectors`). The image side of CLIP's image·text
    geometry, for synthetic and real images alike (a real image has no prompt, but a class)."""
    images = normalise(_need(images, 1, "cosine with the class text"))
    return (images * normalise(np.asarray(class_texts, np.float64))[np.asarray(classes, int)]).sum(1)


def modality_gap(images: np.ndarray, texts: np.ndarray) -> float:
    """‖mean of normalised image embeddings − mean of normalised text embeddings‖ (Liang et al., 2022)."""
    return float(np.linalg.norm(normalise(_need(images, 1, "modality gap")).mean(0)
                                - normalise(_need(texts, 1, "modality gap")).mean(0)))


def separability(synthetic: np.ndarray, real: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated accuracy of a linear classifier telling synthetic from real embeddings.

    Both sets are cut to the size of the smaller (a fixed random subset), so chance is 0.5:
    0.5 = indistinguishable, 1.0 = perfectly separable. Logistic regression on normalised
    embeddings, stratified k-fold (k = min(folds, smaller set)). Needs at least 2 of each.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    synthetic = _need(synthetic, 2, "separability (synthetic)")
    real = _need(real, 2, "separability (real)")
    rng = np.random.default_rng(seed)
    m = min(len(synthetic), len(real))
    s = synthetic[rng.permutation(len(synthetic))[:m]]
    r = real[rng.permutation(len(real))[:m]]
    x = normalise(np.concatenate([s, r]))
    y = np.r_[np.ones(m), np.zeros(m)]
    cv = StratifiedKFold(n_splits=min(folds, m), shuffle=True, random_state=seed)
    return float(cross_val_score(LogisticRegression(max_iter=2000), x, y, cv=cv).mean())


NEAR_DUPLICATE_COSINE = 0.95  # two embeddings this close show (nearly) the same picture


def nearest_cosine(x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """For each row of ``x``, the highest cosine with a row of ``reference``, or — without a
    reference — with another row of ``x`` (itself left out). In row chunks. Needs 2 rows of ``x``
    without a reference, 1 row in each otherwise."""
    if reference is None:
        u = normalise(_need(x, 2, "nearest neighbour within a set"))
        v = u
    else:
        u = normalise(_need(x, 1, "nearest neighbour"))
        v = normalise(_need(reference, 1, "nearest neighbour (reference)"))
        if u.shape[1] != v.shape[1]:
            raise ValueError(f"nearest neighbour needs sets of one dimension, got {u.shape[1]} and {v.shape[1]}")
    out = np.empty(len(u))
    for i in range(0, len(u), CHUNK):
        sims = u[i:i + CHUNK] @ v.T
        if reference is None:
            rows = np.arange(i, min(i + CHUNK, len(u)))
            sims[rows - i, rows] = -np.inf
        out[i:i + CHUNK] = sims.max(axis=1)
    return out


def near_duplicate_share(x: np.ndarray, threshold: float = NEAR_DUPLICATE_COSINE) -> float:
    """The share of rows whose nearest other row has cosine ≥ ``threshold`` (0.95 by default):
    near-copies within one set, the visible face of mode collapse. 0 for a set of distinct
    pictures, 1 when every image has a near-twin. Needs at least 2 rows."""
    return float((nearest_cosine(x) >= threshold).mean())
