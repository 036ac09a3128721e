"""Entry point of the worker processes: ``python -m workbench.worker generation|embedding STORE EXPERIMENT``.

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.worker", description=__doc__)
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

        # The embedding worker (and the live analyses it runs) yields the CPU to generation: it
        # catches up in moments once generation is done, whereas every cycle it takes from
        # generation delays the whole run (measured in BENCHMARKS.md, end to end vs generation alone).
        os.nice(10)

    def body(st, worker_id, flag, beat):
        return work(st, exp["id"], cfg, worker_id, flag, beat)

    return run_worker(args.store, exp["id"], args.kind, body)


if __name__ == "__main__":
    sys.exit(main())
