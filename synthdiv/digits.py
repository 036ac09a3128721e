"""The real digits scikit-learn ships, split once and for all, at the sizes the mini models use.

``load_digits()``: 1797 real 8×8 grayscale handwritten digits (values 0–16), ten classes.
The split is fixed: stratified 75/25 with ``SPLIT_SEED`` → 1347 train / 450 test. The test split
is never used in training or in the choice of any setting; it is the real set the experiments
compare synthetic images against.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from synthdiv.classes import DIGITS

SPLIT_SEED = 0
TEST_FRACTION = 0.25
SIZE = 16  # the mini models work at 16×16


@dataclass(frozen=True)
class DigitsSplit:
    """8×8 images in 0–16 (float32), labels 0–9, and each image's index in ``load_digits()``."""

    train_x: np.ndarray
    train_y: np.ndarray
    train_index: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    test_index: np.ndarray


@lru_cache(maxsize=1)
def split() -> DigitsSplit:
    """The fixed train/test split of the real digits."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    index = np.arange(len(data.target))
    tr, te = train_test_split(index, test_size=TEST_FRACTION, stratify=data.target, random_state=SPLIT_SEED)
    tr, te = np.sort(tr), np.sort(te)
    x = data.images.astype(np.float32)
    y = data.target.astype(np.int64)
    return DigitsSplit(x[tr], y[tr], tr, x[te], y[te], te)


def upsample(x8: np.ndarray) -> np.ndarray:
    """(n, 8, 8) digits in 0–16 → (n, 16, 16) in [0, 1], bilinear (half-pixel centres)."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.asarray(x8, np.float32) / 16.0)[:, None]
    return F.interpolate(t, size=(SIZE, SIZE), mode="bilinear", align_corners=False)[:, 0].clamp(0, 1).numpy()


def downsample(x: np.ndarray) -> np.ndarray:
    """(n, h, w) images in [0, 1] (h, w multiples of 8) → (n, 64) features in 0–16, by area averaging.

    This puts generated digits on the scale of ``load_digits()`` so a classifier trained on the
    real 8×8 digits can read them.
    """
    x = np.asarray(x, np.float32)
    n, h, w = x.shape
    return (x.reshape(n, 8, h // 8, 8, w // 8).mean(axis=(2, 4)) * 16.0).reshape(n, 64)


def to_pil(x: np.ndarray):
    """One (h, w) image in [0, 1] → a grayscale PIL image."""
    from PIL import Image

    return Image.fromarray(np.round(np.clip(x, 0, 1) * 255).astype(np.uint8), mode="L")


def from_pil(images) -> np.ndarray:
    """PIL images → (n, h, w) float32 in [0, 1] (grayscale)."""
    return np.stack([np.asarray(im.convert("L"), np.float32) / 255.0 for im in images])


def class_name(label: int) -> str:
    return DIGITS[int(label)]
