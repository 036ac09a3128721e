"""Training the mini models: deterministic from a seed, and an interrupted run resumes to the same weights."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from synthdiv import digits
from synthdiv.checkpoint import load_state
from synthdiv.mini.train import TrainSettings, captions, train_t2i


def test_the_split_is_fixed_stratified_and_disjoint():
    s = digits.split()
    assert (len(s.train_y), len(s.test_y)) == (1347, 450)
    assert not set(s.train_index) & set(s.test_index)
    share = np.bincount(s.test_y) / (np.bincount(s.test_y) + np.bincount(s.train_y))
    assert np.all(np.abs(share - 0.25) < 0.01)  # stratified: a quarter of every class


def test_downsample_inverts_upsample_closely():
    s = digits.split()
    back = digits.downsample(digits.upsample(s.test_x[:50]))
    assert np.abs(back - s.test_x[:50].reshape(50, 64)).mean() < 1.5  # on 0-16


def test_captions_cover_every_template_and_digit():
    assert len(captions()) == 50 and "a handwritten seven" in captions()


class Stop(Exception):
    pass


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "t2i" / "unet" / "diffusion_pytorch_model.safetensors"))


@pytest.mark.slow
def test_interrupted_training_resumes_to_the_same_weights(tmp_path):
    s = replace(TrainSettings.quick(seed=3), unet_steps=20, checkpoint_every=10)
    train_t2i(tmp_path / "whole", s, lambda *a: None)

    def interrupt(name, step, total, loss):
        if step == 15:
            raise Stop

    with pytest.raises(Stop):
        train_t2i(tmp_path / "cut", s, interrupt)
    assert load_state(tmp_path / "cut" / "checkpoints" / "t2i.safetensors")["step"] == 10
    train_t2i(tmp_path / "cut", s, lambda *a: None)
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = weights_after(tmp_path / "seed4", replace(s, seed=4))
    assert not all(torch.equal(a[k], other[k]) for k in a)


def weights_after(folder, s):
    train_t2i(folder, s, lambda *a: None)
    return weights(folder)


def test_training_never_reads_the_real_test_split(tmp_path, monkeypatch):
    """Poison the test split: training must not notice, and must give the same weights."""
    from synthdiv.mini.train import train_clip

    s = replace(TrainSettings.quick(seed=5), unet_steps=5, clip_steps=3)
    train_t2i(tmp_path / "clean", s, lambda *a: None)
    train_clip(tmp_path / "clean", s, lambda *a: None)
    real = digits.split()
    poisoned = replace(real, test_x=np.full_like(real.test_x, np.nan), test_y=np.full_like(real.test_y, -1))
    monkeypatch.setattr(digits, "split", lambda: poisoned)
    train_t2i(tmp_path / "poisoned", s, lambda *a: None)
    train_clip(tmp_path / "poisoned", s, lambda *a: None)
    a, b = weights(tmp_path / "clean"), weights(tmp_path / "poisoned")
    assert all(torch.equal(a[k], b[k]) for k in a)
    from safetensors.torch import load_file

    ca = load_file(str(tmp_path / "clean" / "clip" / "open_clip_model.safetensors"))
    cb = load_file(str(tmp_path / "poisoned" / "clip" / "open_clip_model.safetensors"))
    assert all(torch.equal(ca[k], cb[k]) and torch.isfinite(cb[k].float()).all() for k in ca)


class _Boom:
    """Unpickling this runs code: it touches a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_crafted_checkpoint_runs_no_code_and_is_refused_by_name(tmp_path):
    from synthdiv.errors import SynthdivError

    marker = tmp_path / "pwned"
    ck = tmp_path / "out" / "checkpoints"
    ck.mkdir(parents=True)
    for name in ("t2i.pt", "t2i.safetensors"):  # where old code looked, and where checkpoints are now
        torch.save({"step": _Boom(marker)}, ck / name)
    s = replace(TrainSettings.quick(seed=3), unet_steps=2, checkpoint_every=1)
    with pytest.raises(SynthdivError) as err:
        train_t2i(tmp_path / "out", s, lambda *a: None)
    assert not marker.exists()
    assert "t2i.safetensors is not a synthdiv checkpoint" in err.value.message
    assert "delete" in err.value.message


def test_checkpoint_state_round_trips_plain_data_and_tensors(tmp_path):
    from synthdiv.checkpoint import save_state

    state = {"step": 7, "losses": [0.5, float("inf")], "betas": (0.9, 0.98), "opt": {0: {"m": torch.ones(2)}},
             "gen": torch.Generator().manual_seed(1).get_state(), "name": "x", "none": None}
    save_state(tmp_path / "c.safetensors", state)
    back = load_state(tmp_path / "c.safetensors")
    assert back["step"] == 7 and back["losses"] == [0.5, float("inf")] and back["betas"] == (0.9, 0.98)
    assert list(back["opt"]) == [0] and torch.equal(back["opt"][0]["m"], torch.ones(2))
    assert torch.equal(back["gen"], state["gen"]) and back["name"] == "x" and back["none"] is None
    with pytest.raises(TypeError):
        save_state(tmp_path / "d.safetensors", {"f": object()})
