"""Fixtures shared by the functional tests, built once per test session."""

from __future__ import annotations

import pytest

from tests.helpers import built_once, run_cli, write_config

SMALL_DIGITS = """\
# The default experiment made small: 10 digits × 2 templates × 3 seeds, 10 steps, real digits.
name = "digits-small"
[classes]
set = "digits"
[templates]
custom = ["a photo of the digit {}", "a handwritten {}"]
[generation]
model = "mini-digits"
steps = 10
guidance = 1.5
width = 16
height = 16
images_per_prompt = 3
seed = 0
batch_size = 60
[embedding]
model = "mini-digits"
batch_size = 256
[real]
source = "digits"
"""


@pytest.fixture(scope="session")
def digits_store(tmp_path_factory):
    """A finished store of the shipped mini models on the digits (60 synthetic images, the real
    digits), made by ``synthdiv run`` once per test run (shared by the xdist workers). Tests must
    not change it: copy it first."""

    def build(root):
        out = run_cli("run", str(write_config(root, SMALL_DIGITS)), "--store", str(root / "S"), timeout=600)
        assert out.returncode == 0, out.stdout + out.stderr

    return built_once(tmp_path_factory, "digits", build) / "S"


from benchmarks.repair import BASE as REPAIR_BASE  # noqa: E402 - one base for the repair tests and benchmark

@pytest.fixture(scope="session")
def base_store(tmp_path_factory):
    """A finished digits store at guidance 5 with both pixel runs (the gap's two classifiers), for
    ``synthdiv repair`` (built once per test run; copy it before changing it)."""
    def build(root):
        out = run_cli("run", str(write_config(root, REPAIR_BASE)), "--store", str(root / "S"), timeout=600)
        assert out.returncode == 0, out.stdout + out.stderr

    return built_once(tmp_path_factory, "repair-base", build) / "S"


