"""Runs on a busy machine: ``python -m benchmarks.contention [--cap S] [--only tiny|digits]``.

Each example experiment (``examples/tiny.toml``, ``examples/digits.toml``) runs end to end with
``synthdiv run`` three times, each into a fresh store, in one session:

- on a quiet machine (the baseline);
- beside two CPU hogs (processes of this benchmark burning a core each at nice 0, as other
  people's jobs on a shared lab machine do), with the embedding worker's priority rule as it was
  before issue 27: nice 19 from start to end (``SYNTHDIV_NICE_RULE=fixed``);
- beside the same two hogs with today's rule: nice 19 only while CPU generation runs beside it.

Each line gives the wall time (and the images made and embedded), and the ratio of the busy runs
to the quiet one. A run that has not ended after ``--cap`` seconds is stopped (Ctrl-C, as a user
would) and said so with what it had embedded by then.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = {"tiny": REPO / "examples" / "tiny.toml", "digits": REPO / "examples" / "digits.toml"}
HOG = "while True:\n    pass\n"


def counts(store: Path) -> tuple[int, int]:
    """(images made, images embedded) in the store."""
    try:
        with sqlite3.connect(f"file:{store / 'synthdiv.db'}?mode=ro", uri=True) as c:
            made = c.execute("select count(*) from images").fetchone()[0]
            embedded = c.execute("select count(distinct item_id) from embeddings where kind = 'image'").fetchone()[0]
            return made, embedded
    except sqlite3.Error:
        return 0, 0


def one_run(config: Path, hogs: int, rule: str, cap_s: float) -> dict:
    """``synthdiv run CONFIG`` into a fresh store beside ``hogs`` CPU-burning processes, with the
    priority rule ``rule`` (``fixed`` or ``""``, today's); its wall time, counts and whether it ended."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    env.pop("PYTHONPATH", None)
    env.pop("SYNTHDIV_NICE_RULE", None)
    if rule:
        env["SYNTHDIV_NICE_RULE"] = rule
    burners = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
    with tempfile.TemporaryDirectory(prefix="synthdiv-contention-") as tmp:
        store = Path(tmp) / "store"
        started = time.monotonic()
        run = subprocess.Popen([sys.executable, "-m", "workbench.cli", "run", str(config), "--store", str(store)],
                               cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
        capped = False
        try:
            run.wait(timeout=cap_s)
            ended = run.returncode == 0
        except subprocess.TimeoutExpired:
            capped = True
            os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the run stops its workers
            try:
                run.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
            ended = False
        took = cap_s if capped else time.monotonic() - started  # a stopped run's own stop is not its time
        for b in burners:
            b.kill()
            b.wait()
        made, embedded = counts(store)
    return {"seconds": took, "ended": ended, "capped": capped, "made": made, "embedded": embedded}


def line(name: str, quiet: dict, busy: dict, label: str) -> str:
    ratio = busy["seconds"] / quiet["seconds"]
    if busy["ended"]:
        return (f"| {name} | {label} | {busy['seconds']:.0f} s ({busy['made']} made, {busy['embedded']} embedded)"
                f" | {quiet['seconds']:.0f} s | {ratio:.2f} |")
    if not busy["capped"]:
        return f"| {name} | {label} | FAILED after {busy['seconds']:.0f} s | {quiet['seconds']:.0f} s | — |"
    return (f"| {name} | {label} | not finished at the {busy['seconds']:.0f} s cap (stopped): {busy['made']} made,"
            f" {busy['embedded']} embedded | {quiet['seconds']:.0f} s | > {ratio:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.contention", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cap", type=float, default=600.0, help="stop a run after this many seconds (default 600)")
    parser.add_argument("--only", choices=list(EXAMPLES), action="append", help="one experiment (repeatable)")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}; two CPU hogs at nice 0 beside the busy runs; cap {args.cap:.0f} s", flush=True)
    print("| experiment | run | wall time | quiet machine | ratio |\n|---|---|---|---|---|", flush=True)
    for name in args.only or list(EXAMPLES):
        quiet = one_run(EXAMPLES[name], 0, "", args.cap)
        print(f"| {name} | quiet machine | {quiet['seconds']:.0f} s ({quiet['made']} made, {quiet['embedded']} embedded)"
              f" | | 1.00 |", flush=True)
        for label, rule in (("two hogs, before (nice 19 throughout)", "fixed"),
                            ("two hogs, now (nice 19 only beside CPU generation)", "")):
            print(line(name, quiet, one_run(EXAMPLES[name], 2, rule, args.cap), label), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
