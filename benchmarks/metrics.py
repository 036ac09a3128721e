"""Metric speed and memory at the sizes researchers use: ``python -m benchmarks.metrics``.

Vendi on 50,000 × 768 and PRDC on 10,000 vs 10,000 × 768 (k = 5), each against a 30 s budget on
2 CPU cores, with the peak memory the call added (tracemalloc) next to the size an n × n float64
matrix would take. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from synthdiv import metrics


def measure(fn, *args, **kwargs):
    tracemalloc.start()
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return value, seconds, peak


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vendi-n", type=int, default=50_000)
    parser.add_argument("--prdc-n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=768)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    x = rng.normal(size=(args.vendi_n, args.dim)).astype(np.float32)
    value, s, peak = measure(metrics.vendi, x)
    rows.append((f"Vendi {args.vendi_n:,} × {args.dim}", s, peak, args.vendi_n**2 * 8, f"{value:.2f}"))
    del x
    a = rng.normal(size=(args.prdc_n, args.dim)).astype(np.float32)
    b = (rng.normal(size=(args.prdc_n, args.dim)) * 0.9 + 0.05).astype(np.float32)
    value, s, peak = measure(metrics.prdc, a, b, k=5)
    rows.append((f"PRDC {args.prdc_n:,} vs {args.prdc_n:,} × {args.dim}", s, peak, args.prdc_n**2 * 8,
                 " ".join(f"{k[0]}={v:.3f}" for k, v in value.items())))
    print(f"{'metric':<34} {'seconds':>8} {'budget':>7} {'peak MiB':>9} {'n×n MiB':>9}  value")
    for name, s, peak, nn, val in rows:
        print(f"{name:<34} {s:8.2f} {'ok' if s < 30 else 'OVER':>7} {peak / 2**20:9.0f} {nn / 2**20:9.0f}  {val}")


if __name__ == "__main__":
    main()
