"""The header every screen shows: Textual's, with title updates that cannot crash the app.

Textual's ``Header`` (6.x to 8.x) watches the app's and its screen's titles and, on each change,
looks up its ``HeaderTitle`` child. When a change lands while the header's screen is being
switched away (the setup screen giving way to the dashboard, whose titles change as it mounts),
that child is already gone, the lookup raises ``NoMatches`` inside a watcher, and the app exits
with a traceback. This header makes the same updates and lets a header without its title be.
"""

from __future__ import annotations

from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.events import Mount
from textual.widgets import Header as TextualHeader
from textual.widgets._header import HeaderTitle


class Header(TextualHeader):
    def _on_mount(self, event: Mount) -> None:
        event.prevent_default()  # instead of Textual's Header._on_mount, not as well as it

        async def set_title() -> None:
            try:
                self.query_one(HeaderTitle).update(self.format_title())
            except (NoScreen, NoMatches):  # being removed: there is nothing left to show it in
                pass

        for owner in (self.app, self.screen):
            self.watch(owner, "title", set_title)
            self.watch(owner, "sub_title", set_title)
