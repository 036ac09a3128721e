"""The embedded default: shipped mini models, their quality checks, quick training, the digits experiment."""

from __future__ import annotations

import json
import time

import pytest

from synthdiv.mini import bundle
from synthdiv.mini.verify import THRESHOLDS
from tests.helpers import REPO, run_cli

pytestmark = pytest.mark.slow


def test_shipped_bundle_is_small_complete_and_documented():
    root = bundle.shipped()
    files = [p for p in root.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert size < 20 * 2**20, f"{size / 2**20:.1f} MiB"
    assert not (root / "t2i" / "tokenizer").exists()  # rebuilt from open_clip's vocabulary
    m = bundle.manifest()
    assert m["command"].startswith("synthdiv mini train") and m["settings"]["seed"] == 0
    assert {"torch", "diffusers", "transformers", "open_clip"} <= set(m["versions"])
    assert m["data"]["train"] == 1347 and m["data"]["test"] == 450
    for key, bar in THRESHOLDS.items():
        assert m["quality"][key] >= bar, key


def test_mini_verify_recomputes_and_passes_every_check(tmp_path):
    out = run_cli("mini", "verify", "--json", str(tmp_path / "q.json"), timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "All checks pass" in out.stdout
    q = json.loads((tmp_path / "q.json").read_text())
    for key, bar in THRESHOLDS.items():
        assert q[key] >= bar, (key, q[key])
    recorded = bundle.manifest()["quality"]
    # the same weights, seeds and split: the numbers are recomputed, not copied
    for key in THRESHOLDS:
        assert q[key] == pytest.approx(recorded[key], abs=0.02), key


def test_quick_training_runs_in_under_two_minutes_and_loads(tmp_path):
    t0 = time.monotonic()
    out = run_cli("mini", "train", "--quick", "--out", str(tmp_path / "m"), timeout=300)
    took = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    assert took < 120, f"{took:.0f} s"
    m = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert m["settings"]["unet_steps"] < 100 and "--quick" in m["command"]
    assert not (tmp_path / "m" / "checkpoints").exists()

    from synthdiv.embed import Embedder, resolve_embedder
    from synthdiv.generate import GenerationSettings, Generator
    from synthdiv.sources import resolve_source

    g = Generator(resolve_source(str(tmp_path / "m" / "t2i"), "model"), device="cpu")
    images = g.generate(["a handwritten seven", "the number two"], [1, 2],
                        GenerationSettings(steps=3, guidance=2.0, width=16, height=16))
    assert [im.size for im in images] == [(16, 16), (16, 16)]
    e = Embedder(resolve_embedder(str(tmp_path / "m" / "clip")), device="cpu")
    assert e.embed_images(images).shape == (2, 64)

    again = run_cli("mini", "train", "--quick", "--out", str(tmp_path / "m"))
    assert again.returncode == 2 and "already holds trained mini models" in again.stderr


def test_digits_experiment_runs_offline_and_prints_headline_numbers(tmp_path):
    t0 = time.monotonic()
    out = run_cli("run", str(REPO / "examples" / "digits.toml"), "--store", str(tmp_path / "D"), timeout=600)
    took = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    assert took < 300, f"{took:.0f} s"
    text = " ".join(out.stdout.split())
    assert "500/500 images, 500 image embeddings" in text
    for line in ("prompt adherence", "CLIP zero-shot, real", "synthetic→real", "real→real", "diversity ratio",
                 "The four causes per class, largest gap first", "synthetic→real, pixels", "real→real, pixels",
                 "Pixel classifiers (digits-cnn", "gap (real − synthetic)", "3/3 training runs finished"):
        assert line in text, line
    status = json.loads(run_cli("status", str(tmp_path / "D"), "--json").stdout)
    assert status["real_images"] == 1797 and status["real_embeddings"] == 1797
    assert status["text_embeddings"] == 50
