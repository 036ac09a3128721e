"""The terminal output of the command line: text, never markup.

Every string synthdiv prints may hold what a user typed — class and experiment names, templates,
paths, errors quoting them — and Rich would read ``[/]`` in one as a closing tag (and crash) or
``[link=…]`` as a live link. So the CLI's console interprets no markup at all (titles and table
cells included); emphasis is given as a ``style`` or as :class:`rich.text.Text` parts.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def text_console(**kwargs) -> Console:
    """A console that prints every string as it is (no markup, no highlighting)."""
    return Console(markup=False, highlight=False, **kwargs)


def note(text: str) -> Text:
    """``note: TEXT`` with the label in yellow."""
    return Text.assemble(("note:", "yellow"), " ", text)


def problem(label: str, text: str) -> Text:
    """``LABEL TEXT`` with the label in red (a failed worker or job)."""
    return Text.assemble((label, "red"), " ", text)
