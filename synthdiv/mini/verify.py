"""The quality numbers of the mini models, recomputed from the weights.

All numbers use the fixed real-digit split (``synthdiv.digits``). Generated 16×16 digits are
read at 8×8 (area average, scaled to 0–16), the scale of the real digits.

- **adherence**: the share of generated digits (50 per class) that a logistic regression trained
  on the real train split reads as the prompted class;
- **synthetic→real**: accuracy on the real test split of a logistic regression trained on 1000
  generated digits (100 per class);
- **real→real**: the same with 1000 real train-split digits (100 per class): the ceiling;
- **diversity (synthetic ÷ real)**: mean over classes of the mean pairwise Euclidean distance
  between a class's images (8×8, values 0–1), generated over real test; below 1 = less varied;
- **CLIP zero-shot**: accuracy of the mini CLIP on the real test split, each class's text
  embedding being the normalised mean of its caption-template embeddings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from synthdiv import digits
from synthdiv.classes import DIGITS
from synthdiv.mini import CAPTION_TEMPLATES

THRESHOLDS = {"adherence": 0.65, "synthetic_to_real": 0.70, "real_to_real": 0.90, "clip_zero_shot": 0.90}
DEFAULT_GUIDANCE = 1.5  # chosen from the guidance sweep: docs/mini-models.md
DEFAULT_STEPS = 25
SAMPLE_SEED = 10_000  # seeds for verification samples: SAMPLE_SEED + class * per_class + i


def sample_digits(pipe, per_class: int, guidance: float, steps: int, seed: int = SAMPLE_SEED,
                  batch: int = 100, progress: Callable[[int, int], None] | None = None):
    """``per_class`` digits per class as (n, 16, 16) in [0, 1], with their labels; templates cycle."""
    import torch

    jobs = [(c, CAPTION_TEMPLATES[i % len(CAPTION_TEMPLATES)].format(DIGITS[c]), seed + c * per_class + i)
            for c in range(10) for i in range(per_class)]
    out = []
    for start in range(0, len(jobs), batch):
        chunk = jobs[start : start + batch]
        gens = [torch.Generator("cpu").manual_seed(s) for _, _, s in chunk]
        res = pipe([p for _, p, _ in chunk], num_inference_steps=steps, guidance_scale=guidance,
                   generator=gens, output_type="np")
        out.append(res.images[..., 0])
        if progress:
            progress(min(start + batch, len(jobs)), len(jobs))
    return np.concatenate(out), np.array([c for c, _, _ in jobs])


def _classifier(features: np.ndarray, labels: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=5000).fit(features / 16.0, labels)


def per_class_subset(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` items per class, drawn without replacement with a fixed seed."""
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), n, replace=False) for c in range(10)]))


def spread(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean over classes of the mean pairwise Euclidean distance within the class (off-diagonal)."""
    from scipy.spatial.distance import pdist

    return float(np.mean([pdist(features[labels == c] / 16.0).mean() for c in np.unique(labels)]))


def zero_shot_accuracy(embedder, images, labels: np.ndarray) -> float:
    """CLIP zero-shot accuracy: nearest class text embedding (mean over caption templates)."""
    from synthdiv.probe import class_text_vectors, zero_shot_predict

    texts = [tpl.format(name) for name in DIGITS for tpl in CAPTION_TEMPLATES]
    classes = class_text_vectors(embedder.embed_texts(texts), np.repeat(np.arange(10), len(CAPTION_TEMPLATES)), 10)
    return float((zero_shot_predict(embedder.embed_images(images), classes) == labels).mean())


def quality(root: str | Path | None = None, guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS,
            per_class: int = 100, progress: Callable[[int, int], None] | None = None, pipe=None) -> dict:
    """Every quality number of the mini models in ``root`` (default: the shipped ones)."""
    from synthdiv.embed import Embedder, EmbedderSpec
    from synthdiv.mini import bundle

    root = Path(root) if root else bundle.shipped()
    pipe = pipe or bundle.load_pipeline(root / "t2i")
    pipe.set_progress_bar_config(disable=True)
    data = digits.split()
    x16, y = sample_digits(pipe, per_class, guidance, steps, progress=progress)
    gen = digits.downsample(x16)
    real_train = data.train_x.reshape(-1, 64)
    real_test = data.test_x.reshape(-1, 64)
    reader = _classifier(real_train, data.train_y)
    first50 = np.concatenate([np.flatnonzero(y == c)[: min(50, per_class)] for c in range(10)])
    pred = reader.predict(gen[first50] / 16.0)
    per_class_adh = [float((pred[y[first50] == c] == c).mean()) for c in range(10)]
    synth = _classifier(gen, y).score(real_test / 16.0, data.test_y)
    pick = per_class_subset(data.train_y, 100)
    real = _classifier(real_train[pick], data.train_y[pick]).score(real_test / 16.0, data.test_y)
    embedder = Embedder(EmbedderSpec("local-dir", str(root / "clip")), device="cpu")
    test_images = [digits.to_pil(im) for im in digits.upsample(data.test_x)]
    return {
        "guidance": guidance, "steps": steps, "generated": int(len(y)),
        "adherence": float((pred == y[first50]).mean()),
        "adherence_per_class": dict(zip(DIGITS, per_class_adh, strict=True)),
        "synthetic_to_real": float(synth),
        "real_to_real": float(real),
        "diversity_ratio": spread(gen, y) / spread(real_test, data.test_y),
        "clip_zero_shot": zero_shot_accuracy(embedder, test_images, data.test_y),
    }


def failures(q: dict) -> list[str]:
    """The checks ``q`` fails, as readable lines (empty when all pass)."""
    return [f"{k} {q[k]:.3f} < {v:.2f}" for k, v in THRESHOLDS.items() if q[k] < v]
