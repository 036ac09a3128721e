"""Prompt iteration for one class: write a template, generate a small batch of that class only,
and compare its diversity and adherence with the class's other templates as the images arrive."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static

from synthdiv.errors import SynthdivError
from synthdiv.templates import parse_template
from screens.header import Header
from screens.messages import ShowsWorkerErrors, TemplateQueued, TemplateRows

COLUMNS = (("template", "template"), ("n", "images"), ("diversity", "diversity"), ("adherence", "adherence"),
           ("clip_score", "CLIP score"))
REFRESH_S = 1.0


class IterateScreen(ShowsWorkerErrors, Screen):
    """One class's templates side by side; enter on the template box queues a small batch of it."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", priority=True, id="iterate.back"),
        Binding("ctrl+e", "edit_selected", "Edit selected", id="iterate.edit"),
    ]
    DEFAULT_CSS = """
    IterateScreen #iterate-info { height: auto; padding: 0 1; }
    IterateScreen #templates { height: 1fr; }
    IterateScreen #new-row { height: 3; }
    IterateScreen #new-row Label { padding: 1 1 0 1; }
    IterateScreen #new-template { width: 1fr; }
    IterateScreen #batch { width: 10; }
    IterateScreen #iterate-check { height: auto; padding: 0 1; }
    """

    def __init__(self, view, class_label: str) -> None:
        super().__init__()
        self.view = view
        self.class_label = class_label
        self.tried: list[str] = []  # templates queued from this screen, newest last
        self.rows: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="iterate-info")
        yield DataTable(id="templates", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="new-row"):
            yield Label("template")
            yield Input(id="new-template", placeholder="e.g. a blurry photo of a {}")
            yield Label("images")
            yield Input("8", id="batch", type="integer")
        yield Static(id="iterate-check")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"synthdiv · iterate on a prompt for {self.class_label}"
        table = self.query_one("#templates", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.query_one("#new-template", Input).focus()
        self._explain("")
        self.refresh_rows()
        self.set_interval(REFRESH_S, self.refresh_rows)

    def _explain(self, extra: str) -> None:
        self.query_one("#iterate-info", Static).update(Text.assemble(
            ("class ", "bold"), (self.class_label, "bold cyan"),
            " · diversity: mean pairwise cosine distance · adherence: share CLIP puts in this class ·"
            " CLIP score: image·prompt cosine · enter queues a batch of this class only. ", extra))

    @work(thread=True, exclusive=True, group="iterate-rows", exit_on_error=False)
    def refresh_rows(self) -> None:
        self.post_message(TemplateRows(self.view.template_rows(self.class_label), self.view.class_jobs(self.class_label)))

    def on_template_rows(self, message: TemplateRows) -> None:
        self._show(message.rows, message.progress)

    def _show(self, rows: list[dict], progress: dict) -> None:
        self.rows = rows
        table = self.query_one("#templates", DataTable)
        keep = table.cursor_row
        table.clear()
        best = {k: max((r[k] for r in rows if r[k] is not None), default=None)
                for k in ("diversity", "adherence", "clip_score")}
        for r in rows:
            mark = " ◀ new" if self.tried and r["template"] == self.tried[-1] else (
                " · tried" if r["template"] in self.tried else "")
            cells = [Text(r["template"] + mark, style="bold" if mark else "")]
            cells.append(Text(str(r["n"]), justify="right"))
            for k in ("diversity", "adherence", "clip_score"):
                v = r[k]
                cells.append(Text("—", style="dim") if v is None else
                             Text(f"{v:.3f}", justify="right", style="bold green" if v == best[k] else ""))
            table.add_row(*cells, key=r["template"])
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))
        if progress:
            self._explain(f"Jobs: {progress.get('done', 0)}/{progress.get('total', 0)} done,"
                          f" {progress.get('pending', 0) + progress.get('running', 0)} to go.")

    @on(Input.Changed, "#new-template")
    def _check(self, event: Input.Changed) -> None:
        out = self.query_one("#iterate-check", Static)
        if not event.value:
            out.update("")
            return
        try:
            t = parse_template(event.value)
        except SynthdivError as exc:
            out.update(Text(f"✗ {exc.message}", style="red"))
            return
        out.update(Text.assemble(("✓ ", "green"), "prompt: ", (t.render(self.class_label), "bold")))

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        text = self.query_one("#new-template", Input).value
        out = self.query_one("#iterate-check", Static)
        try:
            parse_template(text)
            n = int(self.query_one("#batch", Input).value or "0")
        except SynthdivError as exc:
            out.update(Text(f"✗ {exc.message}", style="red"))
            return
        except ValueError:
            n = 0
        if not 1 <= n <= 1000:
            out.update(Text("✗ the number of images must be from 1 to 1000", style="red"))
            return
        self.queue(text, n)

    @work(thread=True, exclusive=True, group="iterate-queue", exit_on_error=False)
    def queue(self, template: str, n: int) -> None:
        self.post_message(TemplateQueued(template, *self.view.try_template(self.class_label, template, n)))

    def on_template_queued(self, message: TemplateQueued) -> None:
        self.tried.append(parse_template(message.template).text)
        self.notify(f"{message.added} images of {self.class_label} queued"
                    + (f"; started {', '.join(message.started)}" if message.started else "; workers already running")
                    if message.added else "this template already has these images for the class",
                    title="Prompt iteration")
        self.refresh_rows()

    def action_edit_selected(self) -> None:
        """Load the template under the cursor into the box, to try a variant of it."""
        table = self.query_one("#templates", DataTable)
        if self.rows:
            box = self.query_one("#new-template", Input)
            box.value = self.rows[table.cursor_row]["template"]
            box.focus()
