"""Help: every key of the screen it was opened from, and what the workbench is for."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = """[b]synthdiv[/b] — can images from a text-to-image model replace real images for training a
classifier, and if not, why? Per class it measures the four causes of failure of the study
"Diversity and Diffusion" (arXiv 2311.00056): ambiguity of the class name, weak prompt adherence,
lack of diversity, and inability to represent the concept — from CLIP embeddings of generated
and real images. Workers are separate processes writing to the store; they go on when this UI
quits, and [b]synthdiv open STORE[/b] re-attaches. ctrl+p opens the command palette."""


class HelpScreen(ModalScreen[None]):
    """The keys active on the screen below (as ``App.active_bindings`` had them) with what they do."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: thick $accent;
                                  padding: 0 1; background: $surface; }
    """

    def __init__(self, title: str, about: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.about, self.keys = title, about, keys

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        for key, does in self.keys:
            table.add_row(key, does)
        with VerticalScroll():
            yield Static(f"[b]{self.title_text}[/b]  (escape closes)\n")
            yield Static(table)
            yield Static(f"\n{self.about}\n\n{ABOUT}")

    def action_close(self) -> None:
        self.dismiss()
