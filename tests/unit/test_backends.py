"""The generator and embedder backends on the tiny-random preset (real diffusers / open_clip code)."""

import numpy as np
import pytest

from synthdiv.embed import Embedder, resolve_embedder
from synthdiv.errors import ModelError
from synthdiv.generate import GenerationSettings, Generator
from synthdiv.sources import resolve_source
from workbench.generation import png_bytes

SETTINGS = GenerationSettings(steps=4, guidance=5.0, width=32, height=32)
PROMPTS = ["a photo of a goldfish.", "a drawing of a tabby cat.", "a photo of a tench.", "a goldfish"]
SEEDS = [11, 22, 33, 44]


@pytest.fixture(scope="module")
def generator():
    return Generator(resolve_source("tiny-random", "model"), device="cpu")


def pixels(im):
    return np.asarray(im, dtype=np.float64)


def test_same_seed_and_settings_give_byte_identical_png(generator):
    again = Generator(resolve_source("tiny-random", "model"), device="cpu")
    a = generator.generate(PROMPTS[:2], SEEDS[:2], SETTINGS)
    b = again.generate(PROMPTS[:2], SEEDS[:2], SETTINGS)
    for x, y in zip(a, b, strict=True):
        assert png_bytes(x, {"k": "v"}) == png_bytes(y, {"k": "v"})


def test_an_image_does_not_depend_on_its_batch(generator):
    batched = generator.generate(PROMPTS, SEEDS, SETTINGS)
    for i in range(4):
        alone = generator.generate([PROMPTS[i]], [SEEDS[i]], SETTINGS)[0]
        diff = np.abs(pixels(alone) - pixels(batched[i])).mean()
        assert diff < 1.0, f"image {i}: mean absolute difference {diff:.3f} on 0-255"


def test_different_seeds_give_different_images(generator):
    a, b = generator.generate([PROMPTS[0]] * 2, [1, 2], SETTINGS)
    assert np.abs(pixels(a) - pixels(b)).mean() > 1.0


def test_size_and_provenance(generator):
    im = generator.generate([PROMPTS[0]], [1], GenerationSettings(steps=2, guidance=1.0, width=48, height=24))[0]
    assert im.size == (48, 24)
    assert generator.provenance["model_id"] == "tiny-random"
    assert generator.provenance["dtype"] == "float32" and generator.provenance["device"] == "cpu"


def test_scheduler_choice_is_applied_and_recorded():
    g = Generator(resolve_source("tiny-random", "model"), scheduler="euler-a", device="cpu")
    assert g.provenance["scheduler"] == "EulerAncestralDiscreteScheduler"
    a = g.generate([PROMPTS[0]], [5], SETTINGS)[0]
    b = g.generate([PROMPTS[0]], [5], SETTINGS)[0]
    assert np.array_equal(pixels(a), pixels(b))  # ancestral noise also comes from the image's seed


def test_local_folder_loads_like_a_hub_model_and_is_hashed(generator, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    generator.pipe.save_pretrained(tmp_path / "pipe")
    local = Generator(resolve_source(str(tmp_path / "pipe"), "model"), device="cpu")
    assert len(local.provenance["model_hash"]) == 64
    a = generator.generate([PROMPTS[0]], [3], SETTINGS)[0]
    b = local.generate([PROMPTS[0]], [3], SETTINGS)[0]
    assert np.abs(pixels(a) - pixels(b)).mean() < 1.0


def test_a_folder_that_is_no_pipeline_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="cannot load diffusers pipeline"):
        Generator(resolve_source(str(tmp_path / "empty"), "model"), device="cpu")


def test_embeddings_are_unit_length_float32_and_batch_independent(generator):
    images = generator.generate(PROMPTS, SEEDS, SETTINGS)
    small = Embedder(resolve_embedder("tiny-random"), device="cpu", batch_size=1)
    big = Embedder(resolve_embedder("tiny-random"), device="cpu", batch_size=64)
    x1, x64 = small.embed_images(images), big.embed_images(images)
    assert x1.dtype == np.float32 and x1.shape == (4, small.dim)
    np.testing.assert_allclose(np.linalg.norm(x1, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(x1, x64, atol=1e-5)
    t = big.embed_texts(PROMPTS)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(t[0], t[1])


def test_open_clip_weights_file_is_named_by_its_hash(tmp_path):
    import torch
    from synthdiv.presets import tiny_random_clip

    model, _, _ = tiny_random_clip()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    spec = resolve_embedder("ViT-B-32", str(tmp_path / "w.pt"))
    assert spec.kind == "arch" and spec.pretrained_is_file
    from synthdiv.embed import embedder_identity

    name, digest = embedder_identity(spec)
    assert name == f"ViT-B-32/file:{digest[:12]}"
