"""Entry point of the worker processes: ``main(["generation"|"embedding", STORE, EXPERIMENT])``.

Started by :func:`workbench.run.worker_command`, which imports this module without the working
folder on ``sys.path`` (never ``python -m``: that would import same-named folders found there).

Workers talk to everyone else only through the store. They are started by ``synthdiv run`` and
by the workbench app, and keep running if the UI that started them goes away.
"""

from __future__ import annotations

import argparse
import os
import sys

from store import experiments, open_store
from workbench.config import from_experiment
from workbench.worker_common import run_worker

KINDS = ("generation", "embedding")


def yield_cpu() -> None:
    """Lowest CPU priority (nice 19) for this process and the threads it starts.

    The embedding worker (and the live analyses it runs) yields the CPU to generation: it catches
    up in moments once generation is done, whereas every cycle it takes from generation delays the
    whole run. Nice 10 was not enough on 2 cores: it still gets ~10 % of a core, the generation
    worker's parallel kernels then wait on their slowed thread, and generation lost 5–20 % (end to
    end 0.79–0.96 of generation alone, BENCHMARKS.md). At nice 19 (~1.5 % of a contended core)
    embedding still keeps pace with generation. Not SCHED_IDLE: a process that gets no CPU at all
    while holding the store's write lock would stall the generation worker's writes."""
    os.nice(19)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synthdiv worker", description=__doc__)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("store", help="the store folder")
    parser.add_argument("experiment", help="the experiment's name in the store")
    args = parser.parse_args(argv)
    with open_store(args.store) as st:
        exp = experiments.get(st, args.experiment)
    cfg = from_experiment(exp)
    if args.kind == "generation":
        from workbench.generation import generate_jobs as work
    else:
        from workbench.embedding import follow as work

        yield_cpu()

    def body(st, worker_id, flag, beat):
        return work(st, exp["id"], cfg, worker_id, flag, beat)

    return run_worker(args.store, exp["id"], args.kind, body)


if __name__ == "__main__":
    sys.exit(main())
