"""The Compare screen: the experiments of the store (a sweep) side by side, every headline number
with its 95 % interval, each experiment against a baseline, the classes that differ most, and a
plot of a headline number against the swept value."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from screens.charts import Chart
from screens.header import Header
from screens.labels import HEADLINE_HEADINGS as HEADINGS
from synthdiv.measures import HEADLINE
from screens.messages import ComparisonRead, ShowsWorkerErrors

def number(v) -> str:
    return "—" if v is None else f"{v:.3f}"


def config_value(v) -> str:
    return f"{len(v)} items" if isinstance(v, (list, tuple)) else ("—" if v is None else str(v))


class CompareScreen(ShowsWorkerErrors, Screen):
    """The experiments of the store side by side, with 95 % bootstrap intervals. b makes the
    experiment under the cursor the baseline; m plots the next headline number."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", priority=True, id="compare.back"),
        Binding("b", "baseline", "Baseline", id="compare.baseline",
                tooltip="compare every experiment with the one under the cursor (Experiments tab)"),
        Binding("m", "next_measure", "Plot next", id="compare.measure",
                tooltip="plot the next headline number against the swept value"),
        Binding("r", "reload", "Refresh", show=False, id="compare.refresh"),
        *(Binding(str(i + 1), f"show_tab('{tab}')", name, show=False, id=f"compare.tab{i + 1}")
          for i, (tab, name) in enumerate((("cmp-experiments", "Experiments tab"), ("cmp-differences", "Against tab"),
                                           ("cmp-classes", "Per class tab"), ("cmp-plot", "Plot tab")))),
    ]
    DEFAULT_CSS = """
    CompareScreen #compare-info { height: auto; max-height: 4; padding: 0 1; }
    CompareScreen #compare-tabs { height: 1fr; }
    CompareScreen TabPane { height: 1fr; padding: 0; }
    CompareScreen DataTable { height: 1fr; }
    CompareScreen #compare-plot-note { height: auto; padding: 0 1; }
    CompareScreen #compare-plot { height: 1fr; padding: 0 1; }
    """

    def __init__(self, view, baseline: str | None = None) -> None:
        super().__init__()
        self.view = view
        self.baseline = baseline
        self.comparison: dict | None = None
        self.measure_index = next(i for i, m in enumerate(HEADLINE) if m.key == "synthetic_to_real")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("comparing the store's experiments …", id="compare-info")
        with TabbedContent(id="compare-tabs"):
            with TabPane("1 Experiments", id="cmp-experiments"):
                yield DataTable(id="compare-experiments", cursor_type="row", zebra_stripes=True)
            with TabPane("2 Against baseline", id="cmp-differences"):
                yield DataTable(id="compare-differences", cursor_type="row", zebra_stripes=True)
            with TabPane("3 Per class", id="cmp-classes"):
                yield DataTable(id="compare-classes", cursor_type="row", zebra_stripes=True)
            with TabPane("4 Plot", id="cmp-plot"):
                yield Static(id="compare-plot-note")
                yield Chart(id="compare-plot")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "synthdiv · compare experiments"
        self.action_reload()

    def action_reload(self) -> None:
        self.load(self.baseline)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def load(self, baseline: str | None) -> None:
        self.post_message(ComparisonRead(self.view.comparison(baseline)))

    def on_comparison_read(self, message: ComparisonRead) -> None:
        self.show(message.comparison)

    def show_error(self, message: str, title: str = "") -> None:
        self.query_one("#compare-info", Static).update(Text(message, style="red"))

    def show(self, comparison: dict) -> None:
        self.comparison, self.baseline = comparison, comparison["baseline"]
        keys = comparison["varying"]
        info = Text.assemble(("baseline ", "bold"), (comparison["baseline"], "bold cyan"),
                             f" · varied: {', '.join(keys) or 'nothing in the config'}"
                             " · [95 % interval] · * a difference whose interval excludes 0")
        for note in comparison.get("notes", []):
            info.append("\n" + note, style="dim")
        self.query_one("#compare-info", Static).update(info)
        first = self.comparison is None or not self.query_one("#compare-experiments", DataTable).row_count
        self._fill_experiments(comparison, keys)
        if first and self.query_one("#compare-tabs", TabbedContent).active == "cmp-experiments":
            self.query_one("#compare-experiments", DataTable).focus()
        self._fill_differences(comparison)
        self._fill_classes(comparison)
        self._fill_plot()

    def _fill_experiments(self, comparison: dict, keys: list[str]) -> None:
        table = self.query_one("#compare-experiments", DataTable)
        table.clear(columns=True)
        shown = [m for m in HEADLINE if any(r.get(m.key) is not None for r in comparison["experiments"])]
        table.add_column("experiment", key="experiment")
        for k in keys:
            table.add_column(k.split(".")[-1], key=k)
        for m in shown:
            table.add_column(HEADINGS.get(m.key, m.key), key=m.key)
        for r in comparison["experiments"]:
            name = Text(r["experiment"], style="bold cyan" if r["experiment"] == comparison["baseline"] else "")
            cells = [name, *(Text(config_value(r.get(k))) for k in keys)]
            for m in shown:
                low = r.get(m.key + "_low")
                cells.append(Text(number(r.get(m.key)) + ("" if low is None else f" [{low:.2f},{r[m.key + '_high']:.2f}]"),
                                  justify="right"))
            table.add_row(*cells, key=r["experiment"])
        names = [r["experiment"] for r in comparison["experiments"]]
        table.move_cursor(row=names.index(comparison["baseline"]))  # the cursor stays on the baseline

    def _fill_differences(self, comparison: dict) -> None:
        table = self.query_one("#compare-differences", DataTable)
        table.clear(columns=True)
        for head in ("experiment", "measure", "difference", "95 % interval", "classes"):
            table.add_column(head, key=head)
        for r in comparison["differences"]:
            if r["difference"] is None:
                continue
            mark = "*" if r["excludes_zero"] else ""
            style = "green" if r["excludes_zero"] and ((r["difference"] > 0) == (r["better"] == "higher")) \
                and r["better"] else ("red" if r["excludes_zero"] and r["better"] else "")
            table.add_row(Text(r["experiment"]), HEADINGS.get(r["measure"], r["measure"]),
                          Text(f"{r['difference']:+.3f}{mark}", style=style, justify="right"),
                          Text("—" if r["low"] is None else f"[{r['low']:+.3f}, {r['high']:+.3f}]", justify="right"),
                          Text(str(r["n_classes"]), justify="right"))

    def _fill_classes(self, comparison: dict) -> None:
        table = self.query_one("#compare-classes", DataTable)
        table.clear(columns=True)
        for head in ("experiment", "class", comparison["per_class_measure"], "baseline", "difference", "95 % interval"):
            table.add_column(head, key=head)
        for r in comparison["per_class"]:
            table.add_row(Text(r["experiment"]), Text(r["class"]), Text(number(r["value"]), justify="right"),
                          Text(number(r["baseline_value"]), justify="right"),
                          Text(f"{r['difference']:+.3f}" + ("*" if r["excludes_zero"] else ""), justify="right"),
                          Text(f"[{r['low']:+.3f}, {r['high']:+.3f}]", justify="right"))

    def _fill_plot(self) -> None:
        note, chart = self.query_one("#compare-plot-note", Static), self.query_one("#compare-plot", Chart)
        comparison = self.comparison
        if comparison is None:
            return
        m = HEADLINE[self.measure_index]
        axis = comparison.get("axis")
        chart.display = axis is not None
        if axis is None:
            note.update(Text("A plot needs a sweep of one numeric key (e.g. generation.guidance); these experiments"
                             f" vary {', '.join(comparison['varying']) or 'nothing in the config'}.", style="dim"))
            return
        points = [(r[axis], r[m.key], r.get(m.key + "_low"), r.get(m.key + "_high"))
                  for r in comparison["experiments"] if r.get(m.key) is not None]
        name = m.key.replace("_", " ")
        note.update(Text(f"{m.what} · bars: 95 % interval · m: next number"
                         + ("" if points else " · (no values for this number)"), style="dim"))
        chart.curve(points, title=f"{name} against {axis}", xlabel=axis, ylabel=name)

    def action_next_measure(self) -> None:
        self.measure_index = (self.measure_index + 1) % len(HEADLINE)
        self._fill_plot()
        self.query_one("#compare-tabs", TabbedContent).active = "cmp-plot"

    def action_baseline(self) -> None:
        table = self.query_one("#compare-experiments", DataTable)
        if not table.row_count:
            return
        name = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self.query_one("#compare-info", Static).update(f"comparing against {name} …")
        self.load(name)

    def action_show_tab(self, tab: str) -> None:
        """Show a tab and put the focus in its table (the cursor picks the baseline on the first)."""
        self.query_one("#compare-tabs", TabbedContent).active = tab
        table = {"cmp-experiments": "#compare-experiments", "cmp-differences": "#compare-differences",
                 "cmp-classes": "#compare-classes"}.get(tab)
        if table:
            self.query_one(table).focus()
