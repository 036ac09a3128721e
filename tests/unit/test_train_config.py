"""The [train] section: checked in full when the file is read, and round-tripping through to_table."""

from __future__ import annotations

import pytest

from synthdiv.errors import ConfigError, SynthdivError
from workbench.config import parse_config, to_table
from workbench.defaults import default_experiment
from workbench.kinds import configured
from workbench.training import wanted_runs


def _with_train(**train):
    data = default_experiment()
    data["train"] = {**data["train"], **train}
    return data


def test_the_default_trains_three_runs_and_round_trips(tmp_path):
    cfg = parse_config(default_experiment(), "t", tmp_path)
    assert cfg.train.runs == ("synthetic", "real", "mix-1x") and cfg.train.model == "digits-cnn"
    assert parse_config(to_table(cfg), "t", tmp_path) == cfg
    assert "training" in configured(cfg)
    names = [w[0] for w in wanted_runs(cfg)]
    assert names == ["synthetic", "real", "mix-1x"]
    assert wanted_runs(cfg)[0][1]["recipe"]["image_size"] == 16  # 0: the generated width


def test_without_runs_there_is_no_training_worker(tmp_path):
    data = default_experiment()
    del data["train"]
    cfg = parse_config(data, "t", tmp_path)
    assert cfg.train.runs == () and "training" not in configured(cfg)
    assert "train" not in to_table(cfg)


@pytest.mark.parametrize("key, value, says", [
    ("runs", ["synthetic", "fake"], "train.runs has 'fake'"),
    ("runs", "synthetic", "train.runs must be a list"),
    ("runs", ["real", "real"], "lists a run twice"),
    ("runs", ["mix-2x"], "needs 2 × 50 = 100 synthetic images per class"),
    ("model", "resnet5", "train.model 'resnet5'"),
    ("weights", "model.pt", "train.weights"),
    ("epochs", 0, "train.epochs is 0"),
    ("epochs", "ten", "train.epochs must be int"),
    ("batch_size", -1, "train.batch_size is -1"),
    ("lr", 0.0, "train.lr is 0.0"),
    ("optimizer", "adam", "train.optimizer is 'adam'"),
    ("crop_scale", 1.5, "train.crop_scale is 1.5"),
    ("flip", "no", "train.flip must be bool"),
    ("devices", "tpu", "train.devices"),
    ("colour", 1, "unknown key 'train.colour'"),
])
def test_a_bad_train_value_is_refused_naming_the_key(tmp_path, key, value, says):
    with pytest.raises(SynthdivError) as err:  # ConfigError, or the device check's SynthdivError
        parse_config(_with_train(**{key: value}), "exp.toml", tmp_path)
    assert says in err.value.message


def test_runs_that_need_real_train_images_need_a_real_set_that_has_them(tmp_path):
    data = _with_train()
    data["real"] = {"source": "digits-test"}
    with pytest.raises(ConfigError, match="needs real train images"):
        parse_config(data, "t", tmp_path)
    data["train"]["runs"] = ["synthetic"]
    assert parse_config(data, "t", tmp_path).train.runs == ("synthetic",)
    del data["real"]
    with pytest.raises(ConfigError, match="needs real images to test on"):
        parse_config(data, "t", tmp_path)


def test_real_per_class_makes_room_for_bigger_mixes_and_changes_the_runs_key(tmp_path):
    cfg = parse_config(_with_train(runs=["real", "mix-2x"], real_per_class=25), "t", tmp_path)
    base = parse_config(_with_train(runs=["real"]), "t", tmp_path)
    assert wanted_runs(cfg)[0][2] != wanted_runs(base)[0][2]  # another setting: another run, the old one kept
