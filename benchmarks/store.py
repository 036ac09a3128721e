"""The store at the sizes of a large study: ``python -m benchmarks.store [--images N]``.

Builds a store of N generated images (1,000 classes × 10 templates × N/10,000 seeds, every job done,
every image embedded; the embedding vectors are 8-dimensional, as counting never reads them) through
plain SQL inserts, then times what the dashboard reads on every refresh: the store summary, the
per-class progress and the throughput. Prints the times; the budget is 100 ms a refresh.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from store import experiments, images, jobs, open_store
from store.status import summary

BUDGET_MS = 100.0


def build(root: Path, n: int) -> int:
    classes = [(f"class {i}", f"class {i}") for i in range(1000)]
    templates = [f"template {t} {{}}" for t in range(10)]
    seeds = max(1, n // (len(classes) * len(templates)))
    with open_store(root, create=True) as st:
        e = experiments.ensure(st, "big", {"name": "big"}, {"generation": {}})
        prompts = [(c, t, t.replace("{}", c)) for c, _ in classes for t in templates]
        experiments.register_plan(st, e, classes, templates, prompts,
                                  [(c, t, s) for c, _ in classes for t in templates for s in range(seeds)])
        now = time.time()
        vec = np.zeros(8, np.float32).tobytes()
        with st.immediate():
            c = st.conn
            c.execute("update jobs set state = 'done', finished_at = ?", [now])
            c.execute(
                "insert into images (experiment_id, job_id, class_id, template_id, prompt_id, class_name, template,"
                " prompt, seed, path, sha256, width, height, model_id, steps, guidance, created_at)"
                " select j.experiment_id, j.id, j.class_id, j.template_id, j.prompt_id, 'c', 't', 'p', j.seed,"
                " 'images/' || j.id || '.png', 'x', 512, 512, 'm', 25, 7.5, ? - (j.id % 3600) from jobs j",
                [now])
            c.execute("insert into embeddings (kind, item_id, model, dim, vector, created_at)"
                      " select 'image', id, 'clip', 2, ?, ? from images", [vec, now])
            c.execute("insert into embeddings (kind, item_id, model, dim, vector, created_at)"
                      " select 'text', id, 'clip', 2, ?, ? from prompts", [vec, now])
        return e


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


if __name__ == "__main__":
    main()
