"""The typed messages that carry what thread workers read or did back to the screens.

A thread worker never calls a screen's methods (a screen may be gone by the time the result
arrives: replaced, closed, or the app shutting down); it posts one of these to the screen, and a
message posted to a screen that has closed is dropped by Textual instead of touching its
removed widgets.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class StoreRead(Message):
    """A fresh read of the store for the dashboard: the summary (``store.status.summary``), the
    newest analysis (or None) and the open experiment's live figures."""

    def __init__(self, summary: dict[str, Any], analysis: dict | None, live: dict[str, Any]) -> None:
        super().__init__()
        self.summary, self.analysis, self.live = summary, analysis, live


class StoreUnreadable(Message):
    """The store could not be read this time; ``text`` says why and what to do."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
