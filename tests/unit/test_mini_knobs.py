"""The shipped mini model answers the same knobs as Stable Diffusion: scheduler, steps, guidance, seed."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from synthdiv import digits
from synthdiv.classes import DIGITS
from synthdiv.generate import GenerationSettings, Generator
from synthdiv.sources import resolve_source

PROMPTS = [f"a handwritten {d}" for d in DIGITS] * 2
LABELS = np.arange(20) % 10


@pytest.fixture(scope="module")
def reader():
    s = digits.split()
    return LogisticRegression(max_iter=5000).fit(s.train_x.reshape(-1, 64) / 16, s.train_y)


def adherence(reader, images) -> float:
    feats = digits.downsample(digits.from_pil(images)) / 16
    return float((reader.predict(feats) == LABELS).mean())


@pytest.mark.parametrize("scheduler", ["default", "dpm++", "euler", "unipc"])
def test_schedulers_draw_recognisable_digits(scheduler, reader):
    g = Generator(resolve_source("mini-digits", "model"), scheduler=scheduler, device="cpu")
    images = g.generate(PROMPTS, list(range(20)), GenerationSettings(steps=20, guidance=2.0, width=16, height=16))
    assert adherence(reader, images) >= 0.8, scheduler


def test_guidance_steps_and_seed_change_the_image():
    g = Generator(resolve_source("mini-digits", "model"), device="cpu")
    base = GenerationSettings(steps=20, guidance=2.0, width=16, height=16)
    px = lambda s, seed=1: np.asarray(g.generate(["a handwritten four"], [seed], s)[0], float)  # noqa: E731
    ref = px(base)
    assert np.array_equal(ref, px(base))
    for other in (px(GenerationSettings(steps=20, guidance=5.0, width=16, height=16)),
                  px(GenerationSettings(steps=5, guidance=2.0, width=16, height=16)),
                  px(base, seed=2)):
        assert np.abs(other - ref).mean() > 2.0
