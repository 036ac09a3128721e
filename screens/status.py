"""The status screen: what a store holds and what its workers are doing, refreshed live.

It only shows what it is given (a summary from ``store.status``); reading the store happens
off the UI thread in the app, so a busy database never freezes the screen.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


def _bar(done: int, total: int) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=30)
    grid.add_column()
    grid.add_row(ProgressBar(total=max(total, 1), completed=done, width=30), f"{done}/{total}")
    return grid


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
    running = ", ".join(f"{w['kind']} (pid {w['pid']})" for w in e["workers_running"])
    table.add_row("workers", running or Text("none running", style="dim"))
    parts = [Text(e["name"], style="bold underline"), table]
    for w in e["worker_errors"][:2]:
        first = (w["error"] or "").strip().splitlines()[0] if w["error"] else ""
        parts.append(Text(f"{w['kind']} worker {w['state']}: {first}", style="red"))
    for job in e["job_errors"][:2]:
        first = (job["error"] or "").strip().splitlines()[0] if job["error"] else ""
        parts.append(Text(f"job {job['class']} seed {job['seed']} {job['state']}: {first}", style="red"))
    return Group(*parts)


class StatusScreen(Screen):
    """Every experiment of one store, live."""

    BINDINGS = [
        Binding("r", "app.reload", "Refresh", id="status.refresh"),
        Binding("q", "app.quit", "Quit", id="status.quit"),
    ]
    DEFAULT_CSS = """
    StatusScreen #experiments { padding: 0 1; }
    StatusScreen .experiment { margin: 1 0 0 0; }
    StatusScreen #message { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, store_root: str | Path) -> None:
        super().__init__()
        self.store_root = Path(store_root)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"store {self.store_root.name} — reading…", id="message")
        yield VerticalScroll(id="experiments")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "synthdiv"
        self.sub_title = str(self.store_root.name)

    def show(self, summary: dict) -> None:
        """Replace the panels with ``summary`` (as made by ``store.status.summary``)."""
        exps = summary["experiments"]
        self.query_one("#message", Static).update(
            f"store {self.store_root.name} · {len(exps)} experiment{'s' if len(exps) != 1 else ''}"
            f" · {summary['images']} images · {summary['image_embeddings']} image embeddings"
        )
        box = self.query_one("#experiments", VerticalScroll)
        panels = list(box.query(".experiment"))
        for i, e in enumerate(exps):
            if i < len(panels):
                panels[i].update(experiment_view(e))
            else:
                box.mount(Static(experiment_view(e), classes="experiment"))
        for extra in panels[len(exps):]:
            extra.remove()

    def show_error(self, message: str) -> None:
        self.query_one("#message", Static).update(Text(message, style="red"))
