"""The workbench's default experiment is the README's default run (examples/digits.toml)."""

from __future__ import annotations

from tests.helpers import REPO
from workbench import control
from workbench.config import load_config
from workbench.defaults import default_experiment


def test_default_experiment_is_examples_digits():
    assert control.check(default_experiment(), REPO / "examples") == load_config(REPO / "examples" / "digits.toml")


def test_written_config_reads_back_the_same(tmp_path):
    data = default_experiment()
    data["templates"]["custom"].append('a "quoted" \\ {} with ünïcode')
    (tmp_path / "x.toml").write_text(control.to_toml(data))
    assert load_config(tmp_path / "x.toml") == control.check(data, tmp_path)
