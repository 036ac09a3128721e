"""Generation on a Ray cluster against the local generation worker, on the same mini-digits job,
in the same run (``python -m benchmarks --only ray``).

Both sides make the same images (same prompts, seeds, settings and batches) into stores of their
own, with their models loaded before the clock starts. Local: the generation worker (claim →
generate → PNG → store) in this process. Ray: a local Ray cluster started by this process, one
generation actor per GPU (one actor with every CPU on a machine without GPUs), fed by the
cluster path's loop (claim → actor → PNG bytes back → store;
:mod:`workbench.cluster_generation`). On a CPU machine the ratio is Ray's overhead (target ≥ 0.8);
on a GPU machine, actors on every GPU against one local worker. The overhead per batch is the
difference in wall time divided by the batches.

Run it where Ray cannot reach the network if the machine must not (shared/notes/ray.md):
``unshare -n bash -c 'ip link set lo up; python -m benchmarks --only ray'``.
"""

from __future__ import annotations

import time
import types
from pathlib import Path


def time_ray(root: Path, cfg) -> tuple[int, float, int, int]:
    """Make ``cfg``'s images on a local Ray cluster's actors into a new store at ``root``, their
    models loaded first. Returns (images, seconds, batches, actors)."""
    from dataclasses import replace

    from store import jobs, open_store, workers
    from workbench import control
    from workbench.cluster import connect
    from workbench.cluster_generation import Feeder
    from workbench.generation import BatchWriter, settings_of
    from workbench.worker_common import StopFlag, io_threads

    cfg = replace(cfg, cluster=replace(cfg.cluster, engine="ray", address="local"))
    ray = connect("local")
    with open_store(root, create=True) as st:
        e = control.prepare(st, cfg).experiment_id
        wid = workers.register(st, e, "generation", "ray")
        feeder = Feeder(ray, st, e, cfg, wid)
        writer = BatchWriter(st.root, e, wid, settings_of(cfg), {}, types.SimpleNamespace(processed=0),
                             encoders=io_threads())
        try:
            feeder.ready(writer)
            n = jobs.counts(st, e)["pending"]
            t0 = time.perf_counter()
            state = feeder.run(StopFlag(), writer)
            writer.wait()
            seconds = time.perf_counter() - t0
        finally:
            writer.close()
            feeder.close("done")
        assert state == "done" and jobs.counts(st, e)["done"] == n
    ray.shutdown()
    return n, seconds, -(-n // feeder.size), feeder.count


def bench_ray(folder: Path, seeds: int, row) -> None:
    from benchmarks.__main__ import digits_config, time_generation

    cfg = digits_config(seeds)
    n, local, _ = time_generation(folder / "ray-local", cfg)
    n_ray, ray_s, batches, actors = time_ray(folder / "ray-cluster", cfg)
    assert n_ray == n
    ratio = local / ray_s
    overhead_ms = (ray_s - local) / batches * 1000
    row(f"generation on a local Ray cluster, {actors} actor{'s' if actors != 1 else ''}, vs the local generation"
        f" worker ({n} images, batch {cfg.generation.batch_size}; overhead {overhead_ms:+.0f} ms per batch)",
        f"{n / ray_s:.1f} img/s", f"{n / local:.1f} img/s", ratio, "≥ 0.8", ratio >= 0.8)
