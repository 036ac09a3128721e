"""The Textual app: a live dashboard of a store, with the workers started and stopped from it.

Reads happen in a thread worker with its own connection, on a timer, so the screen never waits
on SQLite. Workers are separate processes in their own session: they go on when the UI quits or
the SSH link drops, and ``synthdiv open`` re-attaches to them.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from textual import work
from textual.app import App

from screens.dashboard import DashboardScreen
from screens.quit import QuitScreen
from store import analyses, experiments, jobs, open_store, workers
from store.status import summary
from synthdiv.errors import SynthdivError


class WorkbenchApp(App):
    """``synthdiv open DIR``: the store's experiments, their progress, analyses and workers, live."""

    TITLE = "synthdiv"

    def __init__(self, store_root: str | Path, refresh_s: float = 1.0, experiment: str | None = None) -> None:
        super().__init__()
        self.store_root = Path(store_root)
        self.refresh_s = refresh_s
        self.experiment = experiment
        self.dashboard = DashboardScreen(self.store_root)

    def on_mount(self) -> None:
        self.push_screen(self.dashboard)
        self.action_reload()
        self.set_interval(self.refresh_s, self.action_reload)

    def action_reload(self) -> None:
        self.read_store()

    @work(thread=True, exclusive=True, group="read-store")
    def read_store(self) -> None:
        try:
            with open_store(self.store_root) as st:
                data = summary(st)
                names = [e["name"] for e in data["experiments"]]
                analysis = self.dashboard.analysis  # parsed once; re-read only when a newer one exists
                if names:
                    exp = experiments.get(st, self.experiment or names[0])
                    newest = analyses.latest_id(st, exp["id"])
                    if newest is not None and (analysis is None or analysis["id"] != newest):
                        analysis = analyses.latest(st, exp["id"])
        except SynthdivError as exc:
            self.call_from_thread(self.dashboard.show_error, exc.message)
            return
        self.call_from_thread(self.dashboard.show, data, analysis)

    # --- workers -------------------------------------------------------------------------------

    def _experiment(self, st) -> dict:
        names = experiments.names_of(st)
        if not names:
            raise SynthdivError("this store holds no experiment yet", "run one with synthdiv run CONFIG --store DIR")
        return experiments.get(st, self.experiment or names[0])

    def action_start_workers(self) -> None:
        from workbench.run import start_worker

        try:
            with open_store(self.store_root) as st:
                exp = self._experiment(st)
                jobs.reclaim(st, exp["id"])
                jobs.retry_failed(st, exp["id"])
                started = []
                pending = jobs.counts(st, exp["id"])["pending"]
                for kind in ("generation", "embedding"):
                    if workers.running(st, exp["id"], kind) or (kind == "generation" and not pending):
                        continue
                    start_worker(self.store_root, exp["name"], kind, detach=True)
                    started.append(kind)
        except SynthdivError as exc:
            self.notify(exc.message, title=exc.title, severity="error")
            return
        self.notify(f"started: {', '.join(started)}" if started else "nothing to start: workers are running or done",
                    title="Workers")
        self.action_reload()

    def _live_workers(self) -> list[dict]:
        with open_store(self.store_root) as st:
            return [w for name in experiments.names_of(st)
                    for w in workers.running(st, experiments.get(st, name)["id"])]

    def action_stop_workers(self) -> None:
        stopped = 0
        for w in self._live_workers():
            try:
                os.kill(w["pid"], signal.SIGTERM)  # they finish the batch in hand and put the rest back
                stopped += 1
            except (ProcessLookupError, PermissionError):
                pass
        self.notify(f"asked {stopped} worker(s) to stop" if stopped else "no worker is running", title="Workers")

    def action_request_quit(self) -> None:
        running = self._live_workers()
        if not running:
            self.exit()
            return

        def chosen(choice: str | None) -> None:
            if choice == "stop":
                self.action_stop_workers()
                self.exit()
            elif choice == "leave":
                self.exit()

        self.push_screen(QuitScreen(len(running)), chosen)
