"""Modal questions answered by one key: the quit dialog and confirmations."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class Question(ModalScreen):
    """A framed text in the middle of the screen; subclasses bind the keys that dismiss it."""

    DEFAULT_CSS = """
    Question { align: center middle; }
    Question > Vertical { width: 64; height: auto; border: thick $warning; padding: 1 2; background: $surface; }
    """

    def __init__(self, text: str, keys: tuple[tuple[tuple[str, str], ...], ...] = ()) -> None:
        """``text``: the question (it may quote names and paths: text, never markup); ``keys``:
        lines of (key, what it does) pairs, the keys in bold."""
        super().__init__()
        self.text, self.keys = text, keys

    def compose(self) -> ComposeResult:
        legend = [part for line in self.keys for part in
                  ("\n", *(p for i, (key, what) in enumerate(line) for p in (("    " if i else ""), (key, "bold"), f"  {what}")))]
        with Vertical():
            yield Static(Text.assemble(self.text, *legend))

    def action_choose(self, choice) -> None:
        self.dismiss(choice)


class ConfirmScreen(Question):
    """Dismisses with True (``y``) or False (``n`` / escape)."""

    BINDINGS = [
        Binding("y", "choose(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "choose(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(f"{question}\n", ((("y", "yes"), ("n", "no")),))


class QuitScreen(Question):
    """Asked on quit while workers run: dismisses with ``leave``, ``stop`` or ``cancel``."""

    BINDINGS = [
        Binding("l", "choose('leave')", "Leave running", id="quit.leave"),
        Binding("s", "choose('stop')", "Stop workers", id="quit.stop"),
        Binding("escape,c", "choose('cancel')", "Cancel", id="quit.cancel"),
    ]

    def __init__(self, running: int) -> None:
        super().__init__(f"{running} worker{'s are' if running != 1 else ' is'} running for this store.\n",
                         ((("l", "leave them running (reopen with synthdiv open)"),),
                          (("s", "stop them (finished images are kept; run again to resume)"),),
                          (("c", "cancel"),)))
