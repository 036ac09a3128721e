"""CUDA out of memory during generation: the batch is made in smaller pieces, no job is lost or
made twice (a generator that raises CUDA OOM above 4 images per call, batch size 8)."""

from __future__ import annotations

import dataclasses
import types

import torch

from store import jobs, open_store, workers
from store.images import consistency
from tests.helpers import TINY
from workbench import control, generation
from workbench.config import load_config
from workbench.worker_common import StopFlag


def test_out_of_memory_at_batch_8_halves_the_batch_and_finishes_every_job_once(tmp_path, monkeypatch, capsys):
    cfg = load_config(TINY)
    cfg = dataclasses.replace(cfg, generation=dataclasses.replace(cfg.generation, batch_size=8))
    real_load = generation.load_generator
    calls: list[int] = []

    def load_small_gpu(c):
        g = real_load(c)
        inner = g.generate

        def generate(prompts, seeds, settings):
            calls.append(len(prompts))
            if len(prompts) > 4:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return inner(prompts, seeds, settings)

        g.generate = generate
        return g

    monkeypatch.setattr(generation, "load_generator", load_small_gpu)
    with open_store(tmp_path, create=True) as st:
        e = control.prepare(st, cfg).experiment_id
        wid = workers.register(st, e, "generation")
        beat = types.SimpleNamespace(processed=0)
        assert generation.generate_jobs(st, e, cfg, wid, StopFlag(), beat) == "done"
        c = jobs.counts(st, e)
        assert c == {"pending": 0, "running": 0, "done": 24, "failed": 0}
        assert tuple(st.conn.execute("select count(*), count(distinct job_id) from images").fetchone()) == (24, 24)
        assert st.conn.execute("select count(*) from jobs where attempts > 0 or error is not null").fetchone()[0] == 0
        assert consistency(st) == {"files_without_rows": [], "rows_without_files": []}
    # one failed try at 8, then 4 at a time from then on (24 jobs: 3 batches of 8 → 6 calls of 4)
    assert calls == [8, 4, 4, 4, 4, 4, 4]
    assert "CUDA ran out of memory at batch 8: generating 4 images at a time" in capsys.readouterr().out


def test_batch_size_0_is_automatic_and_is_accepted_by_the_config(tmp_path):
    from workbench.control import check

    data = {"name": "x", "classes": {"set": "digits", "names": ["one"]}, "templates": {"custom": ["{}"]},
            "generation": {"model": "tiny-random", "width": 32, "height": 32, "batch_size": 0, "compile": True},
            "embedding": {"model": "tiny-random"}}
    cfg = check(data)
    assert generation.batch_size_of(cfg, "cuda") == generation.AUTO_BATCH["cuda"]
    assert generation.batch_size_of(cfg, "cpu") == generation.AUTO_BATCH["cpu"]
    cfg4 = check({**data, "generation": {**data["generation"], "batch_size": 4}})
    assert generation.batch_size_of(cfg4, "cuda") == 4


def test_a_short_last_batch_is_not_reported_as_out_of_memory(tmp_path, capsys):
    """24 jobs in batches of 5: the last batch has 4 images. That is not a smaller fit: no message,
    and the batch size the worker keeps is still 5."""
    cfg = load_config(TINY)
    cfg = dataclasses.replace(cfg, generation=dataclasses.replace(cfg.generation, batch_size=5))
    g = generation.load_generator(cfg)
    settings = generation.settings_of(cfg)
    images, fits = g.generate_fitting(["a"] * 4, [1, 2, 3, 4], settings, 5)
    assert (len(images), fits) == (4, 5)
    with open_store(tmp_path, create=True) as st:
        e = control.prepare(st, cfg).experiment_id
        wid = workers.register(st, e, "generation")
        assert generation.generate_jobs(st, e, cfg, wid, StopFlag(), types.SimpleNamespace(processed=0)) == "done"
    assert "out of memory" not in capsys.readouterr().out
