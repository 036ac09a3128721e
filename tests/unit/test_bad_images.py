"""An image that comes out non-finite or blank (an overflowing half-precision model) is never
stored as good: its job fails with a message naming the likely cause (dtype) and the fix; and the
dtype setting resolves as documented."""

from __future__ import annotations

import types

import numpy as np
import pytest

from store import jobs, open_store
from synthdiv.devices import resolve_dtype
from synthdiv.generate import BadImage, Generator, judge
from synthdiv.sources import resolve_source
from tests.functional.stores import build
from workbench import generation
from workbench.config import from_experiment
from workbench.worker_common import StopFlag


def test_judge_passes_images_and_catches_nan_inf_and_blank():
    rng = np.random.default_rng(0)
    ok = judge(rng.random((8, 8, 3)).astype(np.float32), "float16")
    assert ok.size == (8, 8) and ok.mode == "RGB"
    nan = np.full((8, 8, 3), np.nan, np.float32)
    for pixels, word in ((nan, "non-finite"), (np.full((8, 8, 3), np.inf, np.float32), "non-finite"),
                         (np.zeros((8, 8, 3), np.float32), "blank")):
        bad = judge(pixels, "float16")
        assert isinstance(bad, BadImage) and word in bad.reason
        assert "float16" in bad.reason and 'generation.dtype = "bfloat16"' in bad.reason
    assert 'generation.dtype = "float32"' in judge(nan, "bfloat16").reason
    assert "not a half-precision overflow" in judge(nan, "float32").reason


def test_auto_dtype_is_float32_on_the_cpu_and_bfloat16_for_flux_and_sd3_on_cuda():
    import torch

    assert resolve_dtype("auto", "cpu", "FluxPipeline") == torch.float32
    assert resolve_dtype("auto", "cuda", "FluxPipeline") == torch.bfloat16
    assert resolve_dtype("auto", "cuda", "StableDiffusion3Pipeline") == torch.bfloat16
    assert resolve_dtype("auto", "cuda", "StableDiffusionPipeline") == torch.float16
    assert resolve_dtype("float32", "cuda", "StableDiffusionPipeline") == torch.float32


def test_a_pipeline_that_returns_nan_fails_its_jobs_with_the_dtype_message(tmp_path, monkeypatch):
    build(tmp_path, done=0, analysed=False)
    gen = Generator(resolve_source("tiny-random", "generation.model"), device="cpu")
    rng = np.random.default_rng(1)

    def nan_for_odd_seeds(**kwargs):  # the test double: NaN for half the images, as fp16 overflow makes
        seeds = [g.initial_seed() for g in kwargs["generator"]]
        return types.SimpleNamespace(images=np.stack([
            np.full((32, 32, 3), np.nan, np.float32) if s % 2 else rng.random((32, 32, 3)).astype(np.float32)
            for s in seeds]))

    gen.pipe = nan_for_odd_seeds
    gen._call_params = {"prompt", "num_inference_steps", "guidance_scale", "height", "width", "generator", "output_type"}
    monkeypatch.setattr(generation, "load_generator", lambda cfg: gen)
    beat = types.SimpleNamespace(processed=0)
    with open_store(tmp_path) as st:
        cfg = from_experiment(dict(st.conn.execute("select * from experiments").fetchone()))
        from store import workers

        wid = workers.register(st, 1, "generation", "cpu")
        assert generation.generate_jobs(st, 1, cfg, wid, StopFlag(), beat) == "done"
        rows = st.conn.execute("select seed, state, error from jobs").fetchall()
        made = [r[0] for r in st.conn.execute("select seed from images")]
    assert sorted(made) == sorted(s for s, _, _ in rows if s % 2 == 0) and made  # the good ones are stored
    bad = [(state, error) for seed, state, error in rows if seed % 2]
    assert bad and all(state == "failed" and "non-finite" in error and "in float32" in error for state, error in bad)
    assert len(list((tmp_path / "images").rglob("*.png"))) == len(made)  # no file for a bad image
    with open_store(tmp_path) as st:
        assert jobs.counts(st, 1)["failed"] == len(bad)
