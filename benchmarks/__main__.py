"""synthdiv side by side with the plain library loops and the reference packages, in one run:
``python -m benchmarks [--quick]``.

Every row is measured in this run against a baseline measured in the same run, on this machine:

- generation worker (claim → generate → PNG → store) vs a plain diffusers loop calling the same
  pipeline with the same prompts, seeds, settings and batches (throughput ratio, target ≥ 0.95);
- embedding worker (read PNGs → CLIP → store) vs a plain open_clip loop over the same files
  (target ≥ 0.95);
- end to end (generation and embedding worker processes together) vs the generation worker
  process alone (target ≥ 0.90: embedding and storage overlap generation);
- Vendi, PRDC and mean pairwise cosine distance vs ``vendi-score``, ``prdc`` and scikit-learn at
  n = 10,000, d = 768 (speed ratio, largest absolute difference);
- the workers' file work at Stable Diffusion's 512 px: PNGs written by the generation worker's
  writer, and images read and prepared by the embedding worker, with a thread per core (at most
  8) vs one thread, the earlier design (on a GPU machine one thread would set the pace);
- the whole analysis of one experiment (synthdiv.analysis.analyse: probes, per-class metrics at
  equal n, bootstrap intervals, CMMD) at 100 classes × 200 synthetic + 100 real and at 1,000
  classes × 100 synthetic + 50 real (d = 768), vs the same analysis with the scikit-learn probe it
  replaced (run in a child process, stopped after ``BASELINE_CAP_S``: then the row says so);
- store ingest (image rows and embedding rows per second) and one dashboard refresh with
  1,000,000 images in the store (target < 100 ms);
- the training worker's loop vs a plain timm/torch training loop over the same PNG files and
  settings (training images per second, target ≥ 0.95; :mod:`benchmarks.training`);
- generation on a local Ray cluster's actors vs the local generation worker, same job (target ≥
  0.8 on a CPU machine; :mod:`benchmarks.cluster`). Needs the ``ray`` extra;
- ``synthdiv repair`` vs the same remedies' experiments run one after another with ``synthdiv run``
  (wall time, target ≥ 0.9; :mod:`benchmarks.repair`).

Models: the shipped ``mini-digits`` pair (CPU machines) — the loops are the same on a GPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

from benchmarks.cluster import bench_ray
from benchmarks.repair import bench_repair
from benchmarks.training import bench_training

ROWS: list[tuple[str, str, str, str, str, str]] = []
SECTIONS = ("generation", "embedding", "end-to-end", "files", "metrics", "analysis", "store", "train", "ray", "repair")


def row(what: str, ours: str, baseline: str, ratio: float | None, target: str, met: bool | None,
        difference: float | None = None) -> None:
    """One line of the table; ``difference``: the largest absolute difference from the baseline's value."""
    verdict = "—" if met is None else ("yes" if met else "NO")
    if difference is not None:
        verdict += f" (Δ {difference:.1e})"
    ROWS.append((what, ours, baseline, "—" if ratio is None else f"{ratio:.{2 if ratio < 10 else 0}f}", target, verdict))
    print(f"  {what}: {ours} vs {baseline} → {ROWS[-1][3]} (target {target})", flush=True)


def digits_config(seeds: int, batch: int = 50, name: str = "bench", generation: dict | None = None,
                  embedding: dict | None = None):
    """The benchmark experiment: 10 digits × 4 templates × ``seeds`` images, with the shipped
    mini models unless ``generation`` / ``embedding`` set other keys of those tables."""
    from workbench.control import check

    return check({"name": name, "classes": {"set": "digits"},
                  "templates": {"custom": ["a photo of the digit {}", "a handwritten {}", "the number {}", "{}"]},
                  "generation": {"model": "mini-digits", "steps": 25, "guidance": 1.5, "width": 16, "height": 16,
                                 "images_per_prompt": seeds, "batch_size": batch, **(generation or {})},
                  "embedding": {"model": "mini-digits", "batch_size": 256, **(embedding or {})}})


def time_generation(root: Path, cfg, gen=None) -> tuple[int, float, float]:
    """Queue ``cfg``'s jobs in a new store at ``root``, make them with a plain diffusers loop (same
    pipeline, prompts, seeds, settings and batches), then with the generation worker (claim →
    generate → PNG → store; it keeps the images). ``gen``: the loaded generator, when the caller
    has one. Returns (images, worker seconds, plain seconds)."""
    import torch

    from store import jobs, open_store, workers
    from workbench import control, generation
    from workbench.worker_common import StopFlag

    gen = gen or generation.load_generator(cfg)
    settings = generation.settings_of(cfg)
    batch = generation.batch_size_of(cfg, gen.device.type)
    gen.generate(["a 1"] * min(batch, 4), list(range(min(batch, 4))), settings)  # warm-up
    with open_store(root, create=True) as st:
        e = control.prepare(st, cfg).experiment_id
        batches = [[(j["prompt"], j["seed"]) for j in chunk] for chunk in _chunks(
            [dict(r) for r in st.conn.execute("select j.seed, p.text as prompt from jobs j join prompts p"
                                              " on p.id = j.prompt_id order by j.id")], batch)]
        n = sum(len(b) for b in batches)
        pipe = gen.pipe
        sync_gpu()
        t0 = time.perf_counter()
        for b in batches:  # the plain diffusers loop
            with torch.inference_mode():
                pipe(prompt=[p for p, _ in b], num_inference_steps=settings.steps, guidance_scale=settings.guidance,
                     height=settings.height, width=settings.width, output_type="pil",
                     generator=[torch.Generator("cpu").manual_seed(int(s)) for _, s in b])
        sync_gpu()
        plain = time.perf_counter() - t0
        original = generation.load_generator
        generation.load_generator = lambda c: gen  # the model is loaded once for both
        try:
            wid = workers.register(st, e, "generation")
            t0 = time.perf_counter()
            generation.generate_jobs(st, e, cfg, wid, StopFlag(), types.SimpleNamespace(processed=0))
            sync_gpu()
            worker = time.perf_counter() - t0
        finally:
            generation.load_generator = original
        assert jobs.counts(st, e)["done"] == n
    return n, worker, plain


def time_embedding(root: Path, cfg, repeats: int = 5) -> tuple[int, float, float]:
    """Embed every image of the store at ``root`` (made by :func:`time_generation`) with a plain
    open_clip loop over the files (the same model, loaded the same way, same batch), then with the
    embedding worker (read PNGs → CLIP → store), ``repeats`` times in turn (the worker's
    embeddings are deleted between its runs). Returns (images, median worker seconds, median plain
    seconds): a pass takes well under a second, so one pass alone is at the mercy of the machine."""
    import statistics

    import torch
    from PIL import Image

    from store import embeddings, experiments, open_store
    from synthdiv.embed import load_open_clip
    from workbench.embedding import embed_pending, load_embedder

    embedder = load_embedder(cfg)
    model, _, preprocess = load_open_clip(embedder.spec)
    model = model.to(embedder.device, embedder.dtype).eval()
    plain, worker = [], []
    with open_store(root) as st:
        e = experiments.get(st, cfg.name)["id"]
        paths = [root / r[0] for r in st.conn.execute("select path from images order by id")]
        for _ in range(repeats):
            sync_gpu()
            t0 = time.perf_counter()
            for chunk in _chunks(paths, embedder.batch_size):  # the plain open_clip loop
                pics = []
                for p in chunk:
                    with Image.open(p) as im:
                        pics.append(im.convert("RGB"))
                with torch.inference_mode():
                    feats = model.encode_image(torch.stack([preprocess(im) for im in pics]).to(embedder.device, embedder.dtype))
                    feats = (feats / feats.norm(dim=-1, keepdim=True)).float().cpu()
            plain.append(time.perf_counter() - t0)
            st.db.execute("delete from embeddings where kind = 'image' and model = ?", [embedder.name])
            t0 = time.perf_counter()
            embed_pending(st, e, embedder)
            worker.append(time.perf_counter() - t0)
            n = embeddings.count(st, e, "image", embedder.name)
            assert n == len(paths)
    return n, statistics.median(worker), statistics.median(plain)


def time_end_to_end(folder: Path, cfg) -> tuple[float, float]:
    """Wall time of the generation worker process alone, and of the generation and embedding worker
    processes together, each on a new store of ``cfg``'s jobs: (alone, together) seconds."""
    from store import open_store
    from workbench import control
    from workbench.placement import plan
    from workbench.supervisor import start_worker

    times = []
    for name, kinds in (("generation-alone", ("generation",)), ("end-to-end", ("generation", "embedding"))):
        root = folder / name
        with open_store(root, create=True) as st:
            control.prepare(st, cfg)
        t0 = time.perf_counter()
        procs = [start_worker(root, cfg.name, seat) for seat in plan(cfg) if seat.kind in kinds]
        for p in procs:
            p.wait()
        times.append(time.perf_counter() - t0)
        assert all(p.returncode == 0 for p in procs), f"a worker failed: see {root / 'logs'}"
    return times[0], times[1]


def steady_rate(folder: Path, cfg, seats) -> tuple[int, float]:
    """Generation worker processes on ``seats`` (one each) making ``cfg``'s jobs in a new store:
    (images made, images/s once every worker is running). The rate counts the images made
    after the last worker's first image: model loading, paid once per process, is left out, so
    the figure is the throughput a long run keeps."""
    from store import open_store
    from workbench import control
    from workbench.supervisor import start_worker

    with open_store(folder, create=True) as st:
        control.prepare(st, cfg)
    procs = [start_worker(folder, cfg.name, seat) for seat in seats]
    for p in procs:
        p.wait()
    assert all(p.returncode == 0 for p in procs), f"a worker failed: see {folder / 'logs'}"
    with open_store(folder) as st:
        firsts = [r[0] for r in st.conn.execute("select min(created_at) from images group by worker_id")]
        start = max(firsts)
        n, last = st.conn.execute("select count(*), max(created_at) from images where created_at > ?", [start]).fetchone()
        total = st.conn.execute("select count(*) from images").fetchone()[0]
    return total, (n / (last - start)) if n and last > start else float("nan")


def bench_generation(root: Path, seeds: int) -> None:
    cfg = digits_config(seeds)
    n, worker, plain = time_generation(root, cfg)
    row(f"generation worker vs diffusers loop ({n} images, batch {cfg.generation.batch_size})",
        f"{n / worker:.1f} img/s", f"{n / plain:.1f} img/s", plain / worker, "≥ 0.95", plain / worker >= 0.95)


def bench_embedding(root: Path) -> None:
    cfg = digits_config(1)
    n, worker, plain = time_embedding(root, cfg)
    row(f"embedding worker vs open_clip loop ({n} images, batch {cfg.embedding.batch_size})",
        f"{n / worker:.0f} img/s", f"{n / plain:.0f} img/s", plain / worker, "≥ 0.95", plain / worker >= 0.95)


def bench_end_to_end(folder: Path, seeds: int) -> None:
    cfg = digits_config(seeds)
    alone, together = time_end_to_end(folder, cfg)
    n = len(cfg.classes) * len(cfg.templates) * seeds
    ratio = alone / together
    row(f"end to end vs generation alone ({n} images, worker processes, wall time)",
        f"{together:.1f} s", f"{alone:.1f} s", ratio, "≥ 0.90", ratio >= 0.90)


def sd_like_images(count: int, size: int = 512) -> list:
    """``count`` distinct RGB images of ``size`` px that compress like generated photographs
    (smooth gradients and shapes with sensor-like noise), so PNG encoding costs what it will."""
    from PIL import Image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    out = []
    for i in range(count):
        a, b, c = rng.uniform(1, 6, 3)
        base = np.stack([np.sin(a * x + i) * 0.5 + 0.5, np.cos(b * y - i) * 0.5 + 0.5, (x * y * c) % 1.0], -1) * 255
        out.append(Image.fromarray((base + rng.normal(0, 6, base.shape)).clip(0, 255).astype(np.uint8)))
    return out


def time_files(folder: Path, images: int, threads: int) -> tuple[float, float, float, float]:
    """The generation worker's writer storing ``images`` 512-px images (PNG with provenance,
    fsync, row), then the embedding worker reading and embedding them, each with ``threads``
    threads for the files and with one. Returns (write s, write s with 1, read s, read s with 1)."""
    from store import embeddings, experiments, jobs, open_store, workers
    from workbench import control, generation
    from workbench.embedding import ImageReader, embed_pending, load_embedder

    cfg = digits_config(images // 40 + 1, name="files", generation={"width": 512, "height": 512})
    pictures = sd_like_images(16)
    embedder = load_embedder(cfg)
    write, read = {}, {}
    for k in (1, threads):
        root = folder / f"files-{k}"
        with open_store(root, create=True) as st:
            e = control.prepare(st, cfg).experiment_id
            wid = workers.register(st, e, "generation")
            todo = jobs.claim(st, e, wid, images)
            writer = generation.BatchWriter(st.root, e, wid, generation.settings_of(cfg),
                                            {"model_id": "mini-digits", "model_revision": "", "model_hash": "",
                                             "scheduler": "default", "dtype": "float32", "device": "cpu"},
                                            types.SimpleNamespace(processed=0), encoders=k)
            t0 = time.perf_counter()
            for batch in _chunks(todo, 16):
                writer.submit(batch, [pictures[j["id"] % len(pictures)] for j in batch])
            writer.close()
            write[k] = time.perf_counter() - t0
    with open_store(folder / f"files-{threads}") as st:
        e = experiments.get(st, cfg.name)["id"]
        for k in (1, threads):
            st.db.execute("delete from embeddings where kind = 'image'")
            with ImageReader(st.root, embedder, threads=k) as reader:
                t0 = time.perf_counter()
                embed_pending(st, e, embedder, reader=reader)
                read[k] = time.perf_counter() - t0
            assert embeddings.count(st, e, "image", embedder.name) == images
    return write[threads], write[1], read[threads], read[1]


def bench_files(folder: Path, images: int) -> None:
    from workbench.worker_common import io_threads

    threads = io_threads()
    write, write_one, read, read_one = time_files(folder, images, threads)
    target = 0.75 * threads
    row(f"generation worker's PNG writer at 512 px ({images} images): {threads} threads vs 1",
        f"{images / write:.0f} img/s", f"{images / write_one:.0f} img/s", write_one / write, f"≥ {target:.1f}",
        write_one / write >= target)
    row(f"embedding worker's image reading at 512 px ({images} images): {threads} threads vs 1",
        f"{images / read:.0f} img/s", f"{images / read_one:.0f} img/s", read_one / read, f"≥ {target:.1f}",
        read_one / read >= target)


def bench_metrics(n: int, d: int) -> None:
    from prdc import compute_prdc
    from sklearn.metrics import pairwise_distances
    from vendi_score import vendi as vendi_ref

    from synthdiv import metrics

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, d))
    real = (centres[rng.integers(0, 20, n)] + rng.normal(size=(n, d))).astype(np.float32)
    fake = (centres[rng.integers(0, 20, n)] * 0.9 + rng.normal(size=(n, d)) * 0.8).astype(np.float32)

    def clock(fn, repeat: int = 3):
        """The value and the best of ``repeat`` timings (the first call also warms BLAS up)."""
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            value = fn()
            best = min(best, time.perf_counter() - t0)
        return value, best

    ours, t_ours = clock(lambda: metrics.vendi(fake))
    # the package's dual form on rows normalised here (its cosine kernel), normalisation timed too
    ref, t_ref = clock(lambda: vendi_ref.score_dual(fake / np.linalg.norm(fake, axis=1, keepdims=True)))
    row(f"Vendi vs vendi-score score_dual (n {n}, d {d})", f"{t_ours:.2f} s", f"{t_ref:.2f} s", t_ref / t_ours,
        "faster", t_ours < t_ref, abs(ours - ref))
    ours, t_ours = clock(lambda: metrics.prdc(real, fake, k=5), repeat=1)
    ref, t_ref = clock(lambda: compute_prdc(real, fake, nearest_k=5), repeat=1)
    diff = max(abs(ours[k] - ref[k]) for k in ("precision", "recall", "density", "coverage"))
    row(f"PRDC vs prdc (n {n} vs {n}, d {d}, k 5)", f"{t_ours:.2f} s", f"{t_ref:.2f} s", t_ref / t_ours, "faster",
        t_ours < t_ref, diff)
    ours, t_ours = clock(lambda: metrics.mean_pairwise_cosine_distance(fake))
    dist, t_ref = clock(lambda: pairwise_distances(fake, metric="cosine"))
    ref = float((dist.sum() - np.trace(dist)) / (n * (n - 1)))
    row(f"mean pairwise cosine distance vs scikit-learn pairwise_distances (n {n}, d {d})", f"{t_ours:.3f} s",
        f"{t_ref:.2f} s", t_ref / t_ours, "faster", t_ours < t_ref, abs(ours - ref))


BASELINE_CAP_S = 900


def analysis_inputs(classes: int, synthetic: int, real: int, d: int = 768, seed: int = 0):
    """CLIP-like embeddings: per class a direction; synthetic images tighter around a slightly
    shifted centre than real ones (as generated images are), noisy enough that the probes are
    not perfect (synthetic→real ≈ 0.9 at 100 classes); real split half train, half test; five
    prompt texts per class near its direction. The classes are ImageNet-1k's first ``classes``, with
    their open-set vocabulary (ImageNet-1k's 1,000 class texts and the classes' WordNet senses,
    :mod:`synthdiv.senses`): each class's own text at its direction, the others random."""
    from synthdiv import senses
    from synthdiv.analysis import Inputs
    from synthdiv.classes import load_class_set

    rng = np.random.default_rng(seed)
    imagenet = load_class_set("imagenet")
    labels = list(imagenet.labels[:classes])
    plan = senses.plan([imagenet.prompt_names[lb] for lb in labels], [imagenet.wnids[lb] for lb in labels])
    centres = rng.normal(size=(classes, d)).astype(np.float32)
    sy = np.repeat(np.arange(classes), synthetic)
    ry = np.repeat(np.arange(classes), real)
    syn = centres[sy] + 6.0 * rng.normal(size=(len(sy), d)).astype(np.float32) + 0.5
    rea = centres[ry] + 7.0 * rng.normal(size=(len(ry), d)).astype(np.float32)
    ty = np.repeat(np.arange(classes), 5)
    text = centres[ty] + 0.5 * rng.normal(size=(len(ty), d)).astype(np.float32)
    vocab = rng.normal(size=(len(plan.texts), d)).astype(np.float32)
    vocab[plan.own] = centres
    return Inputs(classes=labels, synthetic=syn, synthetic_y=sy, real=rea, real_y=ry,
                  real_split=np.array(["train", "test"] * (len(ry) // 2)), text=text, text_y=ty,
                  open_set=plan, open_set_vectors=vocab)


def _analysis_seconds(classes: int, synthetic: int, real: int, probe: str) -> tuple[float, float]:
    """(seconds, synthetic→real) of one whole analysis with the ``torch`` or ``sklearn`` probe."""
    from synthdiv import analysis, probe as probes

    if probe == "sklearn":
        analysis.linear_probe = probes.sklearn_probe
    inputs = analysis_inputs(classes, synthetic, real)
    t0 = time.perf_counter()
    out = analysis.analyse(inputs)
    return time.perf_counter() - t0, out["summary"][0]["synthetic_to_real"]


def bench_analysis(sizes: list[tuple[int, int, int]]) -> None:
    import subprocess

    for classes, synthetic, real in sizes:
        ours, acc = _analysis_seconds(classes, synthetic, real, "torch")
        code = (f"from benchmarks.__main__ import _analysis_seconds; "
                f"print(*_analysis_seconds({classes}, {synthetic}, {real}, 'sklearn'))")
        try:
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=BASELINE_CAP_S,
                                  cwd=Path(__file__).resolve().parent.parent)
            base, base_acc = (float(v) for v in done.stdout.split()[-2:])
            baseline, ratio, diff = f"{base:.0f} s", base / ours, abs(acc - base_acc)
        except subprocess.TimeoutExpired:
            baseline, ratio, diff = f"> {BASELINE_CAP_S} s (stopped)", BASELINE_CAP_S / ours, None
        limit = 300 if classes >= 1000 else None
        row(f"whole analysis, {classes:,} classes × {synthetic} synthetic + {real} real (d 768): torch probe vs"
            " scikit-learn probe; Δ = synthetic→real", f"{ours:.0f} s", baseline, ratio,
            "< 300 s (2 CPU cores)" if limit else "faster", ours < limit if limit else ratio > 1, diff)


def bench_store(folder: Path, images: int) -> None:
    from benchmarks.store import build, embedding_look, timed
    from store import embeddings, experiments, jobs, open_store, workers
    from store import images as store_images
    from store.status import summary

    root = folder / "ingest"
    classes = [(f"c{i}", f"c{i}") for i in range(100)]
    with open_store(root, create=True) as st:
        e = experiments.ensure(st, "ingest", {"name": "ingest"}, {"generation": {}})
        experiments.register_plan(st, e, classes, ["a {}"], [(c, "a {}", f"a {c}") for c, _ in classes],
                                  [(c, "a {}", s) for c, _ in classes for s in range(50)])
        wid = workers.register(st, e, "generation")
        batch = jobs.claim(st, e, wid, 5000)
        t0 = time.perf_counter()
        for j in batch:
            jobs.finish(st, j["id"], {"experiment_id": e, "class_id": j["class_id"], "template_id": j["template_id"],
                                      "prompt_id": j["prompt_id"], "prompt": j["prompt"], "seed": j["seed"],
                                      "path": f"images/{j['id']}.png", "sha256": "x", "width": 512, "height": 512,
                                      "model_id": "m", "steps": 25, "guidance": 7.5})
        per_image = len(batch) / (time.perf_counter() - t0)
        ids = [r[0] for r in st.conn.execute("select id from images")]
        vecs = np.random.default_rng(0).normal(size=(len(ids), 768)).astype(np.float32)
        t0 = time.perf_counter()
        for start in range(0, len(ids), 256):
            embeddings.add(st, "image", ids[start:start + 256], "clip", vecs[start:start + 256])
        per_embedding = len(ids) / (time.perf_counter() - t0)
    row("store ingest: image rows (one transaction each, as the worker writes them)", f"{per_image:,.0f} rows/s",
        "—", None, "—", None)
    row("store ingest: 768-d embedding rows (batches of 256)", f"{per_embedding:,.0f} rows/s", "—", None, "—", None)
    big = folder / "big"
    t0 = time.perf_counter()
    e = build(big, images)
    built = time.perf_counter() - t0
    with open_store(big) as st:
        ms = timed(lambda: (summary(st), jobs.per_class(st, e), store_images.rate(st, e, 60.0)))
    row(f"dashboard refresh with {images:,} images (store built in {built:.0f} s)", f"{ms:.1f} ms", "—", None,
        "< 100 ms", ms < 100)
    embedded, _, ms, first = embedding_look(big, e)
    row(f"embedding worker's look for the next 1,024 new images, {embedded:,} embedded before: from its last look"
        " vs from the first row", f"{ms:.1f} ms", f"{first:.0f} ms", first / ms, "< 100 ms", ms < 100)


def print_table(started: float, command: list[str]) -> None:
    """Every row measured so far, as a table, then the time taken and the command."""
    width = max(len(r[0]) for r in ROWS)
    print(f"\n{'what':<{width}} | synthdiv | baseline | ratio | target | met")
    print(f"{'-' * width}-|----------|----------|-------|--------|----")
    for r in ROWS:
        print(" | ".join([r[0].ljust(width), *r[1:]]))
    print(f"\n{time.perf_counter() - started:.0f} s in all · command: {' '.join([Path(sys.executable).name, *command])}")


def sync_gpu() -> None:
    """Wait for the GPU's queued work, so that a timer reads finished work (nothing on a CPU)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run of every row)")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (may be given more than once)")
    args = parser.parse_args(argv)
    seeds, n, images, files = (5, 2000, 100_000, 32) if args.quick else (25, 10_000, 1_000_000, 160)
    import torch

    import synthdiv

    print(f"synthdiv {synthdiv.__version__} · torch {torch.__version__} · {platform.processor() or platform.machine()}"
          f" · {os.cpu_count()} CPU cores · {'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}"
          f" · {time.strftime('%Y-%m-%d')}", flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="synthdiv-bench-") as tmp:
        folder = Path(tmp)
        sections = {
            "generation": lambda: bench_generation(folder / "gen", seeds),
            "embedding": lambda: bench_embedding(folder / "gen"),  # embeds what generation made
            "end-to-end": lambda: bench_end_to_end(folder, seeds),
            "files": lambda: bench_files(folder, files),
            "metrics": lambda: bench_metrics(n, 768),
            "analysis": lambda: bench_analysis([(20, 50, 24)] if args.quick else [(100, 200, 100), (1000, 100, 50)]),
            "store": lambda: bench_store(folder, images),
            "train": lambda: bench_training(folder, args.quick, row),
            "ray": lambda: bench_ray(folder, 3 if args.quick else 10, row),
            "repair": lambda: bench_repair(folder, args.quick, row),
        }
        wanted = set(args.only or SECTIONS)
        if "embedding" in wanted:
            wanted.add("generation")
        for name in SECTIONS:
            if name in wanted:
                print(f"{name} …", flush=True)
                sections[name]()
    print_table(started, ["-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])])
    return 0


if __name__ == "__main__":
    sys.exit(main())
