"""How the workbench's thread workers talk back to the UI: the typed messages that carry what
they read or did, and the one handler that shows any error they raise.

Nothing on the UI thread waits on SQLite: every read or write of the store from the UI runs in
a ``@work(thread=True, exit_on_error=False)`` worker. A worker never calls a screen's methods
(a screen may be gone by the time the result arrives: replaced, closed, or the app shutting
down); it posts one of these messages, and a message posted to a screen that has closed is
dropped by Textual instead of touching its removed widgets. A worker that fails just raises:
:class:`ShowsWorkerErrors` (on the app and on every screen that runs workers) shows the error
with its own title and message, the way the screen in front shows errors (inline on setup and
compare, a notification elsewhere).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.message import Message
from textual.worker import Worker, WorkerState

from synthdiv.errors import describe


def show_error(node, error: BaseException) -> None:
    """Show ``error``: through the front screen's ``show_error(text, title)`` when it has one,
    else as a notification titled with the error's own title."""
    text, title = describe(error), getattr(error, "title", "") or "synthdiv"
    shower = getattr(node.app.screen, "show_error", None)
    if shower is not None:
        shower(text, title)
    else:
        node.app.notify(text, title=title, severity="error", timeout=12)


class ShowsWorkerErrors:
    """Mixed into the app and the screens that run thread workers: a worker that raised is shown
    (:func:`show_error`), and the UI goes on."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            show_error(self, event.worker.error)


# --- the dashboard --------------------------------------------------------------------------------

class StoreRead(Message):
    """A fresh read of the store for the dashboard: the summary (``store.status.summary``), the
    newest analysis (or None) and the open experiment's live figures."""

    def __init__(self, summary: dict[str, Any], analysis: dict | None, live: dict[str, Any]) -> None:
        super().__init__()
        self.summary, self.analysis, self.live = summary, analysis, live


class StoreUnreadable(Message):
    """The timed read of the store failed this time (it is tried again at the next refresh);
    ``text`` says why and what to do."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


# --- the app: workers, setup, export, quit --------------------------------------------------------

class WorkersStarted(Message):
    """``g``: the kinds of worker the experiment's supervisor starts (empty: nothing to start)."""

    def __init__(self, kinds: list[str]) -> None:
        super().__init__()
        self.kinds = kinds


class WorkersPaused(Message):
    """``p``: how many supervisors and workers were asked to stop."""

    def __init__(self, asked: int, then_quit: bool = False) -> None:
        super().__init__()
        self.asked, self.then_quit = asked, then_quit


class WorkCancelled(Message):
    """``c``: processes asked to stop and pending jobs dropped."""

    def __init__(self, stopped: int, dropped: int) -> None:
        super().__init__()
        self.stopped, self.dropped = stopped, dropped


class SetupRead(Message):
    """The open experiment's config table, for the setup screen to edit."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self.data = data


class RunningCounted(Message):
    """Before quitting: how many workers of the store are running."""

    def __init__(self, running: int) -> None:
        super().__init__()
        self.running = running


class Exported(Message):
    """The tables were written: ``files`` of them into ``folder``."""

    def __init__(self, files: int, folder: Path) -> None:
        super().__init__()
        self.files, self.folder = files, folder


class Launched(Message):
    """An experiment set up on the setup screen was recorded and its workers started."""

    def __init__(self, root: Path, name: str, planned: int, added: int, started: list[str], notes: list[str]) -> None:
        super().__init__()
        self.root, self.name, self.planned, self.added, self.started, self.notes = root, name, planned, added, started, notes


# --- the compare, gallery and prompt-iteration screens --------------------------------------------

class ComparisonRead(Message):
    def __init__(self, comparison: dict[str, Any]) -> None:
        super().__init__()
        self.comparison = comparison


class GalleryChoices(Message):
    def __init__(self, classes: list[dict], templates: list[dict]) -> None:
        super().__init__()
        self.classes, self.templates = classes, templates


class GalleryPage(Message):
    def __init__(self, total: int, rows: list[dict], pictures: list) -> None:
        super().__init__()
        self.total, self.rows, self.pictures = total, rows, pictures


class GalleryDetail(Message):
    """The selected image's nearest real images (``problem``: why none could be found; the
    image's provenance shows anyway)."""

    def __init__(self, row: dict, near: list, problem: str = "") -> None:
        super().__init__()
        self.row, self.near, self.problem = row, near, problem


class TemplateRows(Message):
    def __init__(self, rows: list[dict], progress: dict) -> None:
        super().__init__()
        self.rows, self.progress = rows, progress


class TemplateQueued(Message):
    def __init__(self, template: str, added: int, started: list[str]) -> None:
        super().__init__()
        self.template, self.added, self.started = template, added, started


class ImageShown(Message):
    """One image, read for the one-image view: its row, its picture, its nearest real images with
    theirs (``problem``: why they could not be found), and where it stands in its sequence."""

    def __init__(self, index: int, total: int, row: dict | None, picture, near: list, problem: str = "") -> None:
        super().__init__()
        self.index, self.total, self.row, self.picture, self.near, self.problem = index, total, row, picture, near, problem


class ClassGridShown(Message):
    """One class's images across its templates: (template, how many it has, [(row, picture)]) each."""

    def __init__(self, rows: list[tuple[dict, int, list]]) -> None:
        super().__init__()
        self.rows = rows


# --- the repair screen -----------------------------------------------------------------------------

class RepairRead(Message):
    """What the Repair screen shows (``workbench.repair.state``)."""

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__()
        self.state = state


class RepairDone(Message):
    """A start or a pause of the repair, said in words."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class RecipeRead(Message):
    def __init__(self, path: str, text: str) -> None:
        super().__init__()
        self.path, self.text = path, text


class BeforeAfterRead(Message):
    """One class's images before its remedy (the base's) and after it (the remedy's), each a list of
    (row, picture)."""

    def __init__(self, label: str, remedy: str, before: list, after: list) -> None:
        super().__init__()
        self.label, self.remedy, self.before, self.after = label, remedy, before, after
