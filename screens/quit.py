"""Asking, on quit, whether the workers should stop or go on without the UI."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class QuitScreen(ModalScreen[str]):
    """Dismisses with ``leave``, ``stop`` or ``cancel``."""

    BINDINGS = [
        Binding("l", "choose('leave')", "Leave running", id="quit.leave"),
        Binding("s", "choose('stop')", "Stop workers", id="quit.stop"),
        Binding("escape,c", "choose('cancel')", "Cancel", id="quit.cancel"),
    ]
    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical { width: 60; height: auto; border: thick $warning; padding: 1 2; background: $surface; }
    """

    def __init__(self, running: int) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.running} worker{'s are' if self.running != 1 else ' is'} running for this store.\n\n"
                         "[b]l[/b]  leave them running (reopen with synthdiv open)\n"
                         "[b]s[/b]  stop them (finished images are kept; run again to resume)\n"
                         "[b]c[/b]  cancel")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
