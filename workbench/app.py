"""The Textual app: a live view of a store. Reads happen in a thread worker with its own connection."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import App

from screens.status import StatusScreen
from store import open_store
from store.status import summary
from synthdiv.errors import SynthdivError


class WorkbenchApp(App):
    """``synthdiv open DIR``: the store's experiments, their progress and workers, refreshed live."""

    TITLE = "synthdiv"

    def __init__(self, store_root: str | Path, refresh_s: float = 1.0) -> None:
        super().__init__()
        self.store_root = Path(store_root)
        self.refresh_s = refresh_s
        self.status_screen = StatusScreen(self.store_root)

    def on_mount(self) -> None:
        self.push_screen(self.status_screen)
        self.action_reload()
        self.set_interval(self.refresh_s, self.action_reload)

    def action_reload(self) -> None:
        self.read_store()

    @work(thread=True, exclusive=True, group="read-store")
    def read_store(self) -> None:
        try:
            with open_store(self.store_root) as st:
                data = summary(st)
        except SynthdivError as exc:
            self.call_from_thread(self.status_screen.show_error, exc.message)
            return
        self.call_from_thread(self.status_screen.show, data)
