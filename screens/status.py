"""One experiment's progress as rich renderables: what the store holds and what its workers do.

It only shows what it is given (a summary from ``store.status``); reading the store happens
off the UI thread in the app, so a busy database never freezes the screen.
"""

from __future__ import annotations

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from store.workers import STATE_WORDS, worker_name, worker_problem
from synthdiv.errors import first_line


def _bar(done: int, total: int) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=30)
    grid.add_column()
    grid.add_row(ProgressBar(total=max(total, 1), completed=done, width=30), f"{done}/{total}")
    return grid


def running_line(running: list[dict], hosts: bool = False) -> str:
    """The running workers in one line: "generation cpu:0 (pid 12), supervisor (pid 10)"."""
    return ", ".join(f"{w['kind']}{' ' + w['device'] if w.get('device') else ''}"
                     f" (pid {w['pid']}{' on ' + w['host'] if hosts else ''})" for w in running)


def workers_view(board: list[dict]) -> Table | Group:
    """Every worker of an experiment (``store.workers.board``): kind, device, pid, state, its
    niceness where a running one's is not 0, its rate per second, what it processed, and the first
    line of its last error; under it, a line for each worker marked ``stalled`` (no progress while
    work waits, with the likely cause)."""
    niced = any(w["state"] == "running" and w.get("nice") for w in board)
    table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False, expand=True)
    columns = (("worker", "left"), ("device", "left"), ("pid", "right"), ("state", "left"),
               *((("nice", "right"),) if niced else ()), ("per s", "right"), ("done", "right"))
    for heading, justify in columns:
        table.add_column(heading, justify=justify, no_wrap=True)
    table.add_column("last error", no_wrap=True, overflow="ellipsis", ratio=1)  # takes what the others leave
    for w in board:
        bad = w["state"] in ("failed", "lost", "given_up")
        nice = [str(w["nice"]) if w["state"] == "running" and w.get("nice") else ""] if niced else []
        table.add_row(
            Text(w["kind"]), Text(w["device"] or "—"), str(w["pid"]),
            Text(STATE_WORDS.get(w["state"], w["state"]), style="red" if bad else "green" if w["state"] == "running" else ""),
            *nice, f"{w['rate']:.2f}" if w["rate"] else "—", "—" if w["kind"] == "supervisor" else str(w["processed"]),
            Text(w["error"], style="red"),
        )
    stalls = [Text(f"{worker_name(w)}: {w['stalled']}", style="yellow") for w in board if w.get("stalled")]
    return Group(table, *stalls) if stalls else table


def training_line(runs: list[dict]) -> Text:
    """The training runs in one line: "synthetic 0.976 · real 12/30 epochs · mix-1x pending"."""
    out = Text()
    for i, r in enumerate(runs):
        if i:
            out.append(" · ")
        out.append(r["name"], style="bold")
        if r["state"] == "done":
            out.append(f" {r['accuracy']:.3f}" if r["accuracy"] is not None else " done")
        elif r["state"] == "running":
            out.append(f" {r['epoch']}/{r['epochs']} epochs", style="green")
        elif r["state"] == "failed":
            out.append(" failed", style="red")
        elif r["state"] == "interrupted":
            out.append(f" interrupted at {r['epoch']}/{r['epochs']} epochs (g or synthdiv run resumes it)", style="yellow")
        else:
            out.append(f" {r['state']}" + (f" ({r['epoch']}/{r['epochs']} epochs)" if r["epoch"] else ""), style="dim")
    return out


def experiment_view(e: dict) -> Group:
    """One experiment as rich renderables: progress bars, counts, workers, latest errors."""
    j = e["jobs"]
    total = sum(j.values())
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("plan", f"{e['classes']} classes × {e['templates']} templates = {e['prompts']} prompts")
    table.add_row("generated", _bar(j["done"], total))
    table.add_row("embedded", _bar(e["image_embeddings"], total))
    table.add_row("jobs", f"pending {j['pending']} · running {j['running']} · done {j['done']} · failed {j['failed']}")
    table.add_row("text emb.", str(e["text_embeddings"]))
    if e.get("real_images") or e.get("real_unreadable"):
        bad = f" · {e['real_unreadable']} unreadable, skipped" if e.get("real_unreadable") else ""
        table.add_row("real", f"{e['real_images']} images · {e['real_embeddings']} embedded{bad}")
    if e.get("training"):
        table.add_row("training", training_line(e["training"]))
    running = running_line(e["workers_running"])
    table.add_row("workers", Text(running) if running else Text("none running", style="dim"))
    parts = [Text(e["name"], style="bold underline"), table]
    for w in e["worker_errors"][:2]:
        parts.append(Text(": ".join(worker_problem(w)), style="red"))
    for run in e.get("training", []):
        if run["state"] == "failed":
            parts.append(Text(f"training run {run['name']} failed: {first_line(run['error'])}", style="red"))
    for job in e["job_errors"][:2]:
        parts.append(Text(f"job {job['class']} seed {job['seed']} {job['state']}: {first_line(job['error'])}", style="red"))
    return Group(*parts)
