"""The pixel classifier (synthdiv.classifier): training sets, schedule, scores, models and weights,
a real training on the digits, and resuming a stopped training to the same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from synthdiv import digits
from synthdiv.classifier import (
    ImageFiles,
    Recipe,
    Stopped,
    build_model,
    check_model,
    lr_at,
    predict,
    scored,
    train,
    training_set,
)
from synthdiv.errors import ConfigError, SynthdivError


def _items(tag: str, per_class: int, n_classes: int = 3) -> list[tuple[str, int]]:
    return [(f"{tag}/{c}/{i}.png", c) for c in range(n_classes) for i in range(per_class)]


def test_training_sets_are_made_of_what_each_run_names():
    syn, real = _items("syn", 10), _items("real", 40)
    s, made = training_set("synthetic", syn, real, 3)
    assert s == syn and made["synthetic"] == [10, 10, 10] and made["real"] == [0, 0, 0]
    r, made = training_set("real", syn, real, 3, seed=5)
    assert made["real"] == [10, 10, 10] and all(p.startswith("real/") for p, _ in r)  # as many as synthetic
    m, made = training_set("mix-1x", syn, real, 3, seed=5)
    assert made == {"synthetic": [10, 10, 10], "real": [10, 10, 10], "notes": []}
    assert [it for it in m if it[0].startswith("real/")] == r  # the same real images as the real run
    m2, made = training_set("mix-2x", syn, real, 3, real_per_class=5, seed=5)
    assert made["real"] == [5, 5, 5] and made["synthetic"] == [10, 10, 10]
    short, made = training_set("real", syn, _items("real", 4), 3)
    assert made["real"] == [4, 4, 4] and "4 real train images of the 10 wanted" in made["notes"][0]
    other, _ = training_set("real", syn, real, 3, seed=6)
    assert other != r  # the seed draws the subset


def test_learning_rate_warms_up_then_decays_to_zero_on_a_cosine():
    total = 1000  # warm-up: 30 steps
    assert lr_at(0, total, 1.0) == pytest.approx(1 / 30)
    assert lr_at(29, total, 1.0) == pytest.approx(1.0)
    assert lr_at(30, total, 1.0) == pytest.approx(1.0)
    assert lr_at(30 + 485, total, 1.0) == pytest.approx(0.5, abs=1e-3)
    assert lr_at(total, total, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_scores_know_the_answer():
    truth = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 1, 2, 0])
    s = scored(pred, truth, ["a", "b", "c"])
    assert s["accuracy"] == pytest.approx(6 / 8) and s["n"] == 8 and s["n_classes"] == 3
    assert [c["accuracy"] for c in s["per_class"]] == pytest.approx([0.75, 1.0, 0.5])
    assert s["low"] <= s["accuracy"] <= s["high"]
    assert {(c["class"], c["predicted"], c["count"]) for c in s["top_confusions"]} == {("a", "b", 1), ("c", "a", 1)}


def test_model_names_are_checked_with_close_suggestions():
    check_model("digits-cnn")
    check_model("resnet18")
    with pytest.raises(ConfigError, match="resnet5.*resnet50") as err:
        check_model("resnet5", "train.model")
    assert "train.model" in err.value.message


def test_weights_load_where_they_fit_and_a_head_of_another_size_is_left_alone(tmp_path):
    from safetensors.torch import save_file

    src = build_model("digits-cnn", 10, seed=1)
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    fresh = build_model("digits-cnn", 10, seed=2)
    loaded = build_model("digits-cnn", 4, str(path), seed=2)
    for k, v in loaded.state_dict().items():
        if k.startswith("8."):  # the head: 4 classes, not 10
            assert torch.equal(v, build_model("digits-cnn", 4, seed=2).state_dict()[k])
        else:
            assert torch.equal(v, src.state_dict()[k]), k
    assert not torch.equal(fresh.state_dict()["0.0.weight"], src.state_dict()["0.0.weight"])
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(SynthdivError, match="not a readable safetensors file"):
        build_model("digits-cnn", 10, str(tmp_path / "bad.safetensors"))


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory) -> tuple[list, list]:
    """30 real train digits per class and the 450 real test digits, as 16×16 PNG files."""
    root = tmp_path_factory.mktemp("digits")
    d = digits.split()
    pick = np.concatenate([np.flatnonzero(d.train_y == c)[:30] for c in range(10)])

    def save(xs, ys, tag):
        out = []
        for i, (x, y) in enumerate(zip(digits.upsample(xs), ys, strict=True)):
            path = root / f"{tag}-{i}.png"
            digits.to_pil(x).save(path)
            out.append((str(path), int(y)))
        return out

    return save(d.train_x[pick], d.train_y[pick], "train"), save(d.test_x, d.test_y, "test")


RECIPE = Recipe(epochs=12, batch_size=64, lr=0.003, image_size=16, crop_scale=0.8, flip=False)


def test_the_digits_cnn_learns_real_digits_in_seconds(digit_files):
    train_items, test_items = digit_files
    model = build_model("digits-cnn", 10)
    history = train(model, ImageFiles(train_items, RECIPE, train=True), RECIPE, test=ImageFiles(test_items, RECIPE, False))
    assert [e.epoch for e in history] == list(range(1, 13))
    assert history[-1].loss < history[0].loss
    acc = float((predict(model, ImageFiles(test_items, RECIPE, False)) == np.array([c for _, c in test_items])).mean())
    assert acc > 0.85  # 300 training images; chance is 0.1
    assert history[-1].test_accuracy == pytest.approx(acc)


def test_a_stopped_training_resumes_from_its_checkpoint_to_the_same_model(digit_files, tmp_path):
    train_items, test_items = digit_files
    recipe = Recipe(epochs=4, batch_size=64, lr=0.003, image_size=16, crop_scale=0.8, flip=True, seed=3)
    whole = build_model("digits-cnn", 10, seed=3)
    straight = train(whole, ImageFiles(train_items, recipe, True), recipe, checkpoint=tmp_path / "a.safetensors")

    steps = iter(range(10_000))
    stop_at = 2 * 5 + 2  # 5 steps an epoch (300 / 64): stop in the third epoch
    first = build_model("digits-cnn", 10, seed=3)
    with pytest.raises(Stopped):
        train(first, ImageFiles(train_items, recipe, True), recipe, checkpoint=tmp_path / "b.safetensors",
              should_stop=lambda: next(steps) == stop_at)
    resumed = build_model("digits-cnn", 10, seed=3)  # a new process: fresh weights, then the checkpoint
    history = train(resumed, ImageFiles(train_items, recipe, True), recipe, checkpoint=tmp_path / "b.safetensors")
    assert [e.loss for e in history] == [e.loss for e in straight]
    for k, v in whole.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    test = ImageFiles(test_items, recipe, False)
    assert np.array_equal(predict(whole, test), predict(resumed, test))

    other = Recipe(**{**recipe.__dict__, "lr": 0.01})
    with pytest.raises(SynthdivError, match="checkpoint .* of another training"):
        train(build_model("digits-cnn", 10), ImageFiles(train_items, other, True), other,
              checkpoint=tmp_path / "b.safetensors")


def test_augmentation_is_drawn_per_epoch_and_image_and_eval_is_plain(digit_files):
    train_items, _ = digit_files
    recipe = Recipe(image_size=16, crop_scale=0.3, flip=True)
    data = ImageFiles(train_items[:5], recipe, train=True)
    a = data[0][0]
    assert torch.equal(a, data[0][0])  # the same epoch and image: the same crop
    data.set_epoch(1)
    assert not torch.equal(a, data[0][0])
    plain = ImageFiles(train_items[:5], recipe, train=False)
    pixels = plain.pixels(0).float() / 255
    mean, std = torch.tensor((0.485, 0.456, 0.406)).view(3, 1, 1), torch.tensor((0.229, 0.224, 0.225)).view(3, 1, 1)
    assert torch.allclose(plain[0][0], (pixels - mean) / std)
    assert Path(train_items[0][0]).exists()


@pytest.mark.parametrize("name", ["resnet18", "vit_tiny_patch16_224"])
def test_timm_architectures_train_from_scratch_at_the_experiments_image_size(digit_files, name):
    train_items, test_items = digit_files
    recipe = Recipe(model=name, epochs=1, batch_size=16, lr=0.001, image_size=32, crop_scale=0.8, flip=False)
    model = build_model(name, 10, image_size=32)  # a ViT of 224 px rebuilt for 32 px inputs
    history = train(model, ImageFiles(train_items[:48], recipe, train=True), recipe,
                    test=ImageFiles(test_items[:20], recipe, train=False))
    assert len(history) == 1 and np.isfinite(history[0].loss) and 0 <= history[0].test_accuracy <= 1
    assert predict(model, ImageFiles(test_items[:20], recipe, train=False)).shape == (20,)
