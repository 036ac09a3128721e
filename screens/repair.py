"""The Repair screen: the failing classes with their causes, the remedies planned with their cost,
each remedy's progress while ``synthdiv repair`` runs, then the gap before and after each remedy
with the gain's paired interval, and the winning recipe. g starts (or resumes) the repair in the
background, p pauses it, o shows the recipe, v a class's images before and after its remedy."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from screens.gallery import Thumb, picture
from screens.header import Header
from screens.messages import BeforeAfterRead, RecipeRead, RepairDone, RepairRead, ShowsWorkerErrors
from screens.pictures import mode_of

REFRESH_S = 1.0
COLUMNS = ("class", "gap", "causes", "remedy", "made", "train", "gain [95 %]")


def _interval(v, low, high) -> str:
    if v is None:
        return "—"
    return f"{v:+.2f}" + ("" if low is None else f" [{low:+.2f},{high:+.2f}]")


def _gap(c: dict) -> Text:
    """A class's gap, * where its interval lies above 0 (the interval itself is in the report)."""
    if c.get("gap") is None:
        return Text("—")
    above = c.get("gap_low") is not None and c["gap_low"] > 0
    return Text(f"{c['gap']:+.2f}" + ("*" if above else " "), justify="right")


class RepairScreen(ShowsWorkerErrors, Screen):
    """One experiment's repair (``synthdiv repair``), live from the store."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", priority=True, id="repair.back"),
        Binding("g", "start", "Start", id="repair.start", tooltip="start or resume the repair in the background"),
        Binding("p", "pause", "Pause", id="repair.pause", tooltip="stop the repair (resumable with g)"),
        Binding("o", "recipe", "Recipe", id="repair.recipe", tooltip="the recipe: the winners' overrides"),
        Binding("v", "before_after", "Before/after", id="repair.before_after",
                tooltip="the class's images before and after the remedy under the cursor"),
        Binding("r", "reload", "Refresh", show=False, id="repair.refresh"),
    ]
    DEFAULT_CSS = """
    RepairScreen #repair-info { height: auto; max-height: 3; padding: 0 1; }
    RepairScreen #repair-table { height: 1fr; }
    RepairScreen #repair-result { height: auto; max-height: 5; padding: 0 1; }
    """

    def __init__(self, view) -> None:
        super().__init__()
        self.view = view
        self.state: dict | None = None
        self.keys: list[tuple[str, str]] = []  # (class, remedy) of each table row

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("reading the repair …", id="repair-info")
        yield DataTable(id="repair-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="repair-result")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "synthdiv · repair"
        table = self.query_one("#repair-table", DataTable)
        for col in COLUMNS:
            table.add_column(col, key=col)
        table.focus()
        self.action_reload()
        self.set_interval(REFRESH_S, self.action_reload)

    def action_reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="repair-read", exit_on_error=False)
    def load(self) -> None:
        self.post_message(RepairRead(self.view.repair_state()))

    def show_error(self, message: str, title: str = "") -> None:
        self.query_one("#repair-result", Static).update(Text(message, style="red"))

    def on_repair_read(self, message: RepairRead) -> None:
        self.state = message.state
        self._show_info(message.state)
        self._fill(message.state)
        self._show_result(message.state)

    def _show_info(self, s: dict) -> None:
        info = Text.assemble(("repair of ", "bold"), (s["experiment"], "bold cyan"), " · ")
        if s["running"]:
            info.append("running", style="bold green")
        elif s["report"] is not None:
            info.append("finished", style="bold")
        else:
            info.append("not running (g starts it)", style="yellow")
        p = s["plan"]
        if p is not None:
            gen = p.get("generation_s")
            info.append(f" · {p['images']:,} images, ~{_took((gen or 0) + p['training_s'] + p.get('start_s', 0))}"
                        + ("" if gen is not None else " + generation"))
        if s["refused"]:
            info.append("\n" + s["refused"], style="red")
        elif s["log"] and s["running"]:
            info.append("\n" + s["log"][:200], style="dim")
        self.query_one("#repair-info", Static).update(info)

    def _fill(self, s: dict) -> None:
        table = self.query_one("#repair-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        self.keys = []
        measured = {(r["class"], r["remedy"]): r for r in (s["report"] or {}).get("rows", [])}
        winners = (s["report"] or {}).get("winners", {})
        for c in (s["plan"] or {}).get("classes", []):
            first = True
            for r in c["remedies"] or [{"remedy": "—", "what": "", "images": 0, "dropped": False}]:
                prog = s["progress"].get(r["remedy"], {})
                made = f"{prog.get('done', 0)}/{sum(v for k, v in prog.items() if k != 'runs')}" if prog else ""
                trained = prog.get("runs", {}).get(c["class"], "—")
                m = measured.get((c["class"], r["remedy"]))
                gain = Text("—" if m is None or m.get("gain") is None else _interval(m["gain"], m["gain_low"],
                                                                                    m["gain_high"]), justify="right")
                if m is not None and m.get("gain_low") is not None and m["gain_low"] > 0:
                    gain.stylize("bold green" if winners.get(c["class"]) == r["remedy"] else "green")
                if not prog and r["remedy"] != "—":
                    made = f"0/{r['images']}"
                table.add_row(Text(c["class"] if first else ""), _gap(c) if first else Text(""),
                              Text((c.get("causes") or "none") if first else ""),
                              Text(r["remedy"] + (" (over budget)" if r["dropped"] else ""),
                                   style="bold" if winners.get(c["class"]) == r["remedy"] else ""),
                              Text(made, justify="right"), Text(trained), gain)
                self.keys.append((c["class"], r["remedy"]))
                first = False
        if self.keys:
            table.move_cursor(row=min(cursor, len(self.keys) - 1))

    def _show_result(self, s: dict) -> None:
        out = Text()
        report = s["report"]
        if report is not None:
            won = report.get("winners", {})
            out.append("winners: " + (", ".join(f"{k}: {v}" for k, v in won.items()) or
                                      "none (no gain interval lies above 0)"), style="bold")
            if s["recipe"]:
                out.append("\nrecipe: STORE/repair/recipe.toml (o shows it; synthdiv run it for the repaired dataset)")
        for c in (s["plan"] or {}).get("classes", []):
            for note in c["notes"]:
                out.append(("\n" if out else "") + f"{c['class']}: {note}", style="dim")
        self.query_one("#repair-result", Static).update(out)

    # --- keys ---------------------------------------------------------------------------------------

    def action_start(self) -> None:
        self._act("start")

    def action_pause(self) -> None:
        self._act("pause")

    @work(thread=True, exclusive=True, group="repair-act", exit_on_error=False)
    def _act(self, what: str) -> None:
        text = self.view.start_repair() if what == "start" else self.view.pause_repair()
        self.post_message(RepairDone(text))

    def on_repair_done(self, message: RepairDone) -> None:
        self.notify(message.text, title="Repair", timeout=6)
        self.action_reload()

    def action_recipe(self) -> None:
        self._read_recipe()

    @work(thread=True, exclusive=True, group="repair-recipe", exit_on_error=False)
    def _read_recipe(self) -> None:
        self.post_message(RecipeRead(*self.view.recipe_text()))

    def on_recipe_read(self, message: RecipeRead) -> None:
        self.app.push_screen(RecipeScreen(message.path, message.text))

    def action_before_after(self) -> None:
        table = self.query_one("#repair-table", DataTable)
        if not self.keys:
            return
        label, remedy = self.keys[min(table.cursor_row, len(self.keys) - 1)]
        self._read_before_after(label, remedy)

    @work(thread=True, exclusive=True, group="repair-pictures", exit_on_error=False)
    def _read_before_after(self, label: str, remedy: str) -> None:
        before, after = self.view.before_after(label, remedy, 8)
        self.post_message(BeforeAfterRead(label, remedy, [(r, picture(self.view.path(r["path"]))) for r in before],
                                          [(r, picture(self.view.path(r["path"]))) for r in after]))

    def on_before_after_read(self, message: BeforeAfterRead) -> None:
        self.app.push_screen(BeforeAfterScreen(message))


def _took(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


class RecipeScreen(ModalScreen):
    """The recipe ``synthdiv repair`` wrote, as text (escape closes)."""

    BINDINGS = [Binding("escape,q,o", "app.pop_screen", "Close", id="recipe.close")]
    DEFAULT_CSS = """
    RecipeScreen { align: center middle; }
    RecipeScreen > Vertical { width: 90%; height: 90%; border: round $accent; background: $surface; }
    RecipeScreen #recipe-path { height: 1; padding: 0 1; }
    """

    def __init__(self, path: str, text: str) -> None:
        super().__init__()
        self.path, self.text = path, text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.path, style="bold"), id="recipe-path")
            with VerticalScroll():
                yield Static(Text(self.text))


class BeforeAfterScreen(Screen):
    """A class's images before its remedy (the base's, paired by template and seed) and after it."""

    BINDINGS = [Binding("escape,q,v", "app.pop_screen", "Back", id="before_after.back")]
    DEFAULT_CSS = """
    BeforeAfterScreen .row-title { height: 1; padding: 0 1; }
    BeforeAfterScreen Grid { grid-size: 2; height: auto; grid-gutter: 0 1; }
    """

    def __init__(self, found: BeforeAfterRead) -> None:
        super().__init__()
        self.found = found

    def compose(self) -> ComposeResult:
        f = self.found
        yield Header()
        with VerticalScroll():
            with Horizontal():
                for title, pairs in (("before: the base's", f.before), (f"after: {f.remedy}", f.after)):
                    with Vertical():
                        yield Static(Text(f"{title} ({len(pairs)})", style="bold"), classes="row-title")
                        if not pairs:
                            yield Static(Text("no images yet", style="dim"))
                        with Grid():
                            for i, (row, pic) in enumerate(pairs):
                                yield Thumb(pic, mode_of(self.app), Text(f"{i + 1} g{row['guidance']:g}", style="dim"))
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"synthdiv · {self.found.label}: before and after {self.found.remedy}"
