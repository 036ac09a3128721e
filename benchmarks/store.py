"""The store at the sizes of a large study: ``python -m benchmarks.store [--images N]``.

Builds a store of N generated images (1,000 classes × 10 templates × N/10,000 seeds, every job done,
every image embedded; the embedding vectors are 8-dimensional, as counting never reads them) through
plain SQL inserts, then times what the dashboard reads on every refresh: the store summary, the
per-class progress and the throughput. Prints the times; the budget is 100 ms a refresh.

Then adds one more seed for every class (1,000 images nobody has embedded) and times the embedding
worker's look for the next batch to embed: from where its previous look stopped (what the worker
does) against a search from the first row (what each look cost before, and what a worker's first
look still costs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from store import embeddings, experiments, images, jobs, open_store
from store.status import summary

BUDGET_MS = 100.0


CLASSES = [(f"class {i}", f"class {i}") for i in range(1000)]
TEMPLATES = [f"template {t} {{}}" for t in range(10)]
PROMPTS = [(c, t, t.replace("{}", c)) for c, _ in CLASSES for t in TEMPLATES]


def _generate(st, e: int, templates: list[str], seeds) -> int:
    """Queue (class, template, seed) for every class and the given templates and seeds, and
    "generate" every pending job: done, with an image row. Returns how many images were added."""
    experiments.register_plan(st, e, CLASSES, TEMPLATES, PROMPTS,
                              [(c, t, s) for c, _ in CLASSES for t in templates for s in seeds])
    now = time.time()
    with st.immediate():
        c = st.conn
        c.execute("update jobs set state = 'done', finished_at = ? where state = 'pending'", [now])
        return c.execute(
            "insert into images (experiment_id, job_id, class_id, template_id, prompt_id, class_name, template,"
            " prompt, seed, path, sha256, width, height, model_id, steps, guidance, created_at)"
            " select j.experiment_id, j.id, j.class_id, j.template_id, j.prompt_id, 'c', 't', 'p', j.seed,"
            " 'images/' || j.id || '.png', 'x', 512, 512, 'm', 25, 7.5, ? - (j.id % 3600) from jobs j"
            " where j.id > (select coalesce(max(job_id), 0) from images)",
            [now]).rowcount


def build(root: Path, n: int) -> int:
    seeds = max(1, n // (len(CLASSES) * len(TEMPLATES)))
    with open_store(root, create=True) as st:
        e = experiments.ensure(st, "big", {"name": "big"}, {"generation": {}})
        _generate(st, e, TEMPLATES, range(seeds))
        now = time.time()
        vec = np.zeros(8, np.float32).tobytes()
        with st.immediate():
            c = st.conn
            c.execute("insert into embeddings (kind, item_id, model, dim, vector, created_at)"
                      " select 'image', id, 'clip', 2, ?, ? from images", [vec, now])
            c.execute("insert into embeddings (kind, item_id, model, dim, vector, created_at)"
                      " select 'text', id, 'clip', 2, ?, ? from prompts", [vec, now])
        return e


def embedding_look(root: Path, e: int, limit: int = 1024) -> tuple[int, int, float, float]:
    """Add one seed's images for every class (none embedded) to a built store and time the embedding
    worker's look for the next ``limit`` of them: from where its last look stopped, and from the
    first row. Returns (images embedded before, new images, ms with the cursor, ms from the first row)."""
    with open_store(root) as st:
        before = st.conn.execute("select max(id) from images").fetchone()[0]
        embedded = embeddings.count(st, e, "image", "clip")
        seed = st.conn.execute("select max(seed) from jobs").fetchone()[0] + 1
        new = _generate(st, e, TEMPLATES[:1], [seed])
        todo = embeddings.Unembedded(st, e, "image", "clip")

        def look():
            todo.after = before  # where the previous look stopped
            assert len(todo.next(limit)) == min(limit, new)

        def first_look():
            assert len(embeddings.missing(st, e, "image", "clip", limit)) == min(limit, new)

        return embedded, new, timed(look), timed(first_look, repeat=3)


def timed(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--store", help="build into (or reuse) this folder instead of a temporary one")
    args = parser.parse_args(argv)
    folder = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="synthdiv-bench-"))
    t0 = time.perf_counter()
    with open_store(folder, create=True) as st:
        have = st.conn.execute("select count(*) from images").fetchone()[0]
    e = build(folder, args.images) if have == 0 else 1
    print(f"store with {args.images:,} images: {folder} ({time.perf_counter() - t0:.0f} s to build or open)")
    with open_store(folder) as st:
        rows = {
            "summary (status counts)": timed(lambda: summary(st)),
            "per-class progress": timed(lambda: jobs.per_class(st, e)),
            "throughput (last minute)": timed(lambda: images.rate(st, e, 60.0)),
        }
    total = sum(rows.values())
    for name, ms in rows.items():
        print(f"  {name:<28} {ms:8.1f} ms")
    print(f"  {'one dashboard refresh':<28} {total:8.1f} ms   (budget {BUDGET_MS:.0f} ms:"
          f" {'met' if total < BUDGET_MS else 'NOT met'})")
    embedded, new, ms, first = embedding_look(folder, e)
    print(f"embedding worker's look for the next 1,024 of {new:,} new images, {embedded:,} embedded before:")
    print(f"  {'from its last look':<28} {ms:8.1f} ms\n  {'from the first row':<28} {first:8.1f} ms")


if __name__ == "__main__":
    main()
