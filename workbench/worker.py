"""Entry point of the worker processes: ``main([KIND, STORE, EXPERIMENT])``, KIND one of
:data:`workbench.kinds.KINDS`.

Started by :func:`workbench.supervisor.worker_command`, which imports this module without the working
folder on ``sys.path`` (never ``python -m``: that would import same-named folders found there).

Workers talk to everyone else only through the store. They are started by ``synthdiv run`` and
by the workbench app, and keep running if the UI that started them goes away.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from store import experiments, open_store
from workbench.config import from_experiment
from workbench.kinds import KINDS
from workbench.placement import CLUSTER, Seat, local_device
from workbench.priority import Priority
from workbench.worker_common import run_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synthdiv worker", description=__doc__)
    parser.add_argument("kind", choices=list(KINDS))
    parser.add_argument("store", help="the store folder")
    parser.add_argument("experiment", help="the experiment's name in the store")
    parser.add_argument("--device", default="", help="the device it was placed on (cuda:2, cpu:1); its "
                        "CUDA_VISIBLE_DEVICES names that one GPU. Without it: the config's device")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (CPU workers sharing the cores)")
    parser.add_argument("--share", default="0/1", help="I/N: worker I of the kind's N (embedding splits its work by id)")
    args = parser.parse_args(argv)
    i, _, n = args.share.partition("/")
    seat = Seat(args.kind, args.device, threads=args.threads, share=(int(i), int(n or 1)))
    kind = KINDS[args.kind]
    with open_store(args.store) as st:
        exp = experiments.get(st, args.experiment)
        priority = Priority(kind, exp["id"])
        priority.follow(st)  # before the model's threads start: they inherit it (workbench.kinds says why)
    cfg = from_experiment(exp)
    on_cluster = args.device == CLUSTER
    if args.device and not on_cluster:  # its model runs where it was placed
        cfg = replace(cfg, **{kind.section: replace(getattr(cfg, kind.section), device=local_device(args.device))})
    work = kind.load_body(on_cluster)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    def body(st, worker_id, flag, beat):
        return work(st, exp["id"], cfg, worker_id, flag, beat, seat=seat)

    return run_worker(args.store, exp["id"], args.kind, body, device=args.device, priority=priority)

if __name__ == "__main__":
    sys.exit(main())
