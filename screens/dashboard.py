"""The dashboard: progress, the four causes, diversity, accuracy, similarity heatmaps and
CLIP geometry of one experiment, refreshed live from what the app reads off the store."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Static,
    TabbedContent,
    TabPane,
)

from rich.table import Table

from screens.charts import Chart
from screens.header import Header
from screens.heatmap import heatmap
from screens.plot import text_plot
from screens.status import experiment_view, workers_view
from screens.labels import ACCURACY, CAUSE_BARS, CAUSES, DIVERSITY
from synthdiv.measures import rests_on
from screens.messages import StoreRead, StoreUnreadable

PER_CLASS = (("class", "class"), ("done", "done"), ("total", "of"), ("share", "%"), ("pending", "pending"),
             ("running", "running"), ("failed", "failed"))
MATRICES = (
    ("similarity_synthetic_text", "synthetic centroid × class text (adherence: is the diagonal the row maximum?)"),
    ("similarity_real_text", "real centroid × class text (CLIP's reading of the real images)"),
    ("similarity_text", "class text × class text (ambiguity of names)"),
    ("similarity_synthetic_real", "synthetic centroid × real centroid (is the synthetic concept the real one?)"),
)


def cell(v) -> Text | str:
    if v is None:
        return Text("—", style="dim")
    if isinstance(v, float):
        return Text(f"{v:.3f}", justify="right")
    return Text(str(v))  # class names are text, never markup


class LiveTable(DataTable):
    """A DataTable whose rows arrive after it was first drawn, and that shows them properly."""

    async def _on_idle(self, event) -> None:
        # DataTable widens its columns to new cells when it idles, but keeps the header line it
        # drew before at the old widths (its cache key does not change), so the headings stood
        # misaligned over the cells of rows that arrived after the first paint.
        widening = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if widening:
            self._clear_caches()
            self.refresh()


class SortableTable(LiveTable):
    """A DataTable that sorts by the column under the cursor (key ``s``; again to reverse)."""

    BINDINGS = [Binding("s", "sort_column", "Sort", id="table.sort")]

    def __init__(self, columns, **kwargs) -> None:
        super().__init__(zebra_stripes=True, cursor_type="cell", **kwargs)
        self.spec = columns
        self._sorted: tuple[str, bool] | None = None

    def _ensure_columns(self) -> None:
        if not self.columns:
            for key, label in self.spec:
                self.add_column(label, key=key)

    def on_mount(self) -> None:
        self._ensure_columns()

    def fill(self, rows: list[dict]) -> None:
        self._ensure_columns()  # rows may arrive before the table's tab was ever shown
        self.clear()
        for r in rows:
            self.add_row(*(cell(r.get(key)) for key, _ in self.spec), key=str(r.get("class")))
        if self._sorted:
            self._apply(*self._sorted)

    def refill(self, rows: list[dict]) -> None:
        """Like :meth:`fill`, for rows that change often: cells update in place when the rows are
        the same ones, so the cursor, the scroll position and the sort order stay."""
        self._ensure_columns()
        keys = [str(r.get("class")) for r in rows]
        if self.row_count != len(keys) or any(k not in self.rows for k in keys):
            self.fill(rows)
            return
        for r, k in zip(rows, keys, strict=True):
            for key, _ in self.spec:
                new = cell(r.get(key))
                if str(self.get_cell(k, key)) != str(new):
                    self.update_cell(k, key, new, update_width=True)  # "9%" → "100%" widens its column
        if self._sorted:
            self._apply(*self._sorted)

    def _apply(self, key: str, reverse: bool) -> None:
        def value(v):
            plain = v.plain if isinstance(v, Text) else v
            try:
                return (0, float(plain))
            except (TypeError, ValueError):
                return (1 if plain == "—" else 0, str(plain))

        self.sort(key, key=value, reverse=reverse)

    def action_sort_column(self) -> None:
        key = self.spec[self.cursor_column][0]
        reverse = bool(self._sorted and self._sorted[0] == key and not self._sorted[1])
        self._sorted = (key, reverse)
        self._apply(key, reverse)


def training_runs_view(rows: list[dict]) -> Table:
    """The runs (``workbench.trained.run_rows``): what each trained on (synthetic + real images),
    how far it got, its real-test accuracy with its interval, the judge's accuracy on the synthetic
    images (the real run's) and the first line of an error."""
    table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False, expand=True)
    for head, justify in (("run", "left"), ("syn+real", "right"), ("state", "left"), ("accuracy", "right"),
                          ("95 % interval", "right"), ("judge", "right"), ("img/s", "right")):
        table.add_column(head, justify=justify, no_wrap=True)
    table.add_column("error", no_wrap=True, overflow="ellipsis", ratio=1)  # takes what the others leave
    for row in rows:
        on = "—" if row["n_synthetic"] is None else f"{row['n_synthetic']}+{row['n_real']}"
        state = "done" if row["state"] == "done" else f"{row['state']} {row['epoch']}/{row['epochs']}"
        ci = "—" if row["low"] is None else f"[{row['low']:.3f}, {row['high']:.3f}]"
        style = {"failed": "red", "running": "green", "interrupted": "yellow"}.get(row["state"], "")
        table.add_row(Text(row["run"]), on, Text(state, style=style), cell(row["accuracy"]), ci,
                      cell(row["judge_synthetic"]), "—" if row["images_per_s"] is None else f"{row['images_per_s']:.0f}",
                      Text(row["error"] or "", style="red"))
    return table


def training_per_class_view(rows: list[dict], cols: list[tuple[str, str]]) -> Table | Text:
    """Each class's real-test accuracy for every finished run (and the judge's on synthetic)."""
    if not rows:
        return Text("per-class accuracy: when a run finishes", style="dim")
    table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False, title="per-class accuracy",
                  title_justify="left")
    for key, head in cols:
        table.add_column(head, justify="left" if key == "class" else "right", no_wrap=True)
    for r in rows:
        table.add_row(*(cell(r.get(key)) for key, _ in cols))
    return table


def headline_line(row: dict) -> str:
    """One headline number as the dashboard shows it: name, value, 95 % interval and its n."""
    value = "—" if row["value"] is None else cell(row["value"])
    ci = "" if row.get("low") is None else f" [{cell(row['low'])}, {cell(row['high'])}]"
    n = f"  n={rests_on(row)}" if row.get("n") else ""
    return f"{row['measure'].replace('_', ' '):<24} {value}{ci}{n}"


class DashboardScreen(Screen):
    """One store's experiments, live: tabs for progress and every analysis table."""

    BINDINGS = [
        Binding("g", "app.start_workers", "Start", id="dashboard.start",
                tooltip="start the workers on the devices the experiment names (resumes after a pause; they outlive the UI)"),
        Binding("p,x", "app.stop_workers", "Pause", id="dashboard.pause",
                tooltip="workers finish the batch in hand and stop; unfinished jobs stay queued"),
        Binding("c", "app.cancel_jobs", "Cancel", id="dashboard.cancel",
                tooltip="stop the workers and drop pending jobs (asks first; finished images are kept)"),
        Binding("v", "app.gallery", "Gallery", id="dashboard.gallery",
                tooltip="the images of the class under the cursor, with their nearest real images"),
        Binding("i", "app.iterate", "Iterate", id="dashboard.iterate",
                tooltip="try a new template on the class under the cursor and compare it"),
        Binding("C", "app.compare", "Compare", show=False, id="dashboard.compare",
                tooltip="the store's experiments (a sweep) side by side, with 95 % intervals"),
        Binding("R", "app.repair", "Repair", show=False, id="dashboard.repair",
                tooltip="synthdiv repair: try remedies for the failing classes and measure each gain"),
        Binding("e", "app.export", "Export", id="dashboard.export",
                tooltip="every table as csv, md, tex and json into STORE/exports/TIME"),
        Binding("n", "app.setup", "Setup", show=False, id="dashboard.setup",
                tooltip="add classes or templates to this experiment"),
        Binding("m", "next_matrix", "Matrix", show=False, id="dashboard.matrix",
                tooltip="next similarity matrix on the Similarity tab"),
        Binding("b", "next_cause", "Cause bars", show=False, id="dashboard.cause",
                tooltip="the next cause's per-class bars on the Four causes tab"),
        Binding("t", "next_run", "Run", show=False, id="dashboard.run",
                tooltip="next training run on the Training tab (its curve and confusions)"),
        Binding("r", "app.reload", "Refresh", show=False, id="dashboard.refresh"),
        *(Binding(str(i + 1), f"show_tab('{tab}')", name, show=False, id=f"dashboard.tab{i + 1}")
          for i, (tab, name) in enumerate((("tab-progress", "Progress tab"), ("tab-causes", "Four causes tab"),
                                           ("tab-diversity", "Diversity tab"), ("tab-accuracy", "Accuracy tab"),
                                           ("tab-similarity", "Similarity tab"), ("tab-geometry", "Geometry tab"),
                                           ("tab-training", "Training tab")))),
        Binding("q", "app.request_quit", "Quit", id="dashboard.quit",
                tooltip="asks whether running workers stop or go on"),
    ]
    DEFAULT_CSS = """
    DashboardScreen .experiment { margin: 1 0 0 0; }
    DashboardScreen #experiment-panels { height: auto; }
    DashboardScreen DataTable { height: 1fr; }
    DashboardScreen #matrix-title { padding: 0 1; text-style: bold; }
    DashboardScreen #rate { height: 1; padding: 0 1; }
    DashboardScreen #history { height: 12; margin: 0 1; }
    DashboardScreen #history-note { height: auto; padding: 0 1; color: $text-muted; }
    DashboardScreen #causes { height: 1fr; min-height: 5; }
    DashboardScreen #cause-bars { height: 13; }
    DashboardScreen #per-class { height: auto; max-height: 14; }
    DashboardScreen #workers { height: auto; margin: 0 0 1 0; }
    """

    def __init__(self, store_root: str | Path) -> None:
        super().__init__()
        self.store_root = Path(store_root)
        self.matrix_index = 0
        self.analysis: dict | None = None
        self.history_id: int | None = None  # the analysis the history chart was drawn for
        self.cause_index = 0  # the cause whose per-class bars the Four causes tab shows
        self.last_table: str = "#per-class"  # the table whose cursor names "the class" for i and v
        self.training: dict | None = None  # the runs and their epochs, as last read
        self.run_index = 0  # the run whose curve and confusions the Training tab shows

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="tabs"):
            with TabPane("1 Progress", id="tab-progress"):
                with VerticalScroll(id="experiments"):
                    yield Vertical(id="experiment-panels")
                    yield Static(id="rate")
                    yield Static(id="workers")
                    yield SortableTable(PER_CLASS, id="per-class")
                    yield Static(id="history-note")
                    yield Chart(id="history")
            with TabPane("2 Four causes", id="tab-causes"):
                yield SortableTable(CAUSES, id="causes")
                yield Chart(id="cause-bars")
            with TabPane("3 Diversity", id="tab-diversity"):
                yield SortableTable(DIVERSITY, id="diversity")
            with TabPane("4 Accuracy", id="tab-accuracy"):
                yield SortableTable(ACCURACY, id="accuracy")
                yield Static(id="confusions")
            with TabPane("5 Similarity", id="tab-similarity"):
                yield Static(id="matrix-title")
                with VerticalScroll():
                    yield Static(id="matrix")
            with TabPane("6 Geometry", id="tab-geometry"):
                with VerticalScroll(id="geometry-scroll"):  # every headline number and the geometry: more
                    yield Static(id="geometry")                 # lines than a terminal has
            with TabPane("7 Training", id="tab-training"):
                with VerticalScroll():
                    yield Static(id="training-runs")
                    yield Static(id="training-curve")
                    yield Static(id="training-confusions")
                    yield Static(id="training-per-class")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "synthdiv"
        self.sub_title = self.store_root.name
        self.app.action_reload()  # the first read, now that there is somewhere to show it

    def on_store_read(self, message: StoreRead) -> None:
        self.show(message.summary, message.analysis, message.live)

    def on_store_unreadable(self, message: StoreUnreadable) -> None:
        self.sub_title = f"{self.store_root.name} · cannot read the store"
        self.notify(message.text, title="Store", severity="error")

    def show(self, summary: dict, analysis: dict | None, live: dict | None = None) -> None:
        """Show a store summary (``store.status.summary``), the newest analysis (or None) and the
        open experiment's live figures (``per_class`` jobs, ``rate`` images/s, ``history`` of a metric)."""
        exps = summary["experiments"]
        counted = "no analysis yet" if analysis is None else (
            f"analysis: {analysis['counts']['synthetic']} syn + {analysis['counts']['real']} real")
        self.sub_title = (f"{self.store_root.name} · {summary['images']} images"
                          f" · {summary['image_embeddings']} embedded · {counted}")
        box = self.query_one("#experiment-panels", Vertical)
        panels = list(box.query(".experiment"))
        for i, e in enumerate(exps):
            if i < len(panels):
                panels[i].update(experiment_view(e))
            else:
                box.mount(Static(experiment_view(e), classes="experiment"))
        for extra in panels[len(exps):]:
            extra.remove()
        if live:
            self._show_live(live, analysis)
            if "training" in live:
                self.training = live["training"]
                self._show_training()
        if analysis is not None and (self.analysis is None or analysis["id"] != self.analysis["id"]
                                     or analysis.get("training_key") != self.analysis.get("training_key")):
            # only a new analysis refills the tables: the cursor and sort order survive refreshes
            self.analysis = analysis
            self._show_analysis(analysis["result"])

    def _show_live(self, live: dict, analysis: dict | None) -> None:
        rate = live["rate"]
        self.query_one("#rate", Static).update(Text.assemble(
            ("throughput ", "bold"), f"{rate:.2f} images/s" if rate else "—", " (last minute) · s sorts by a column"))
        rows = [{**r, "share": f"{100 * r['done'] // r['total']}%" if r["total"] else None}
                for r in live["per_class"]]
        self.query_one("#per-class", SortableTable).refill(rows)
        self._show_workers(live.get("workers", []))
        history = live.get("history")
        chart, note = self.query_one("#history", Chart), self.query_one("#history-note", Static)
        chart.display = bool(history) and analysis is not None and len(history) >= 2  # one point is no trend
        note.display = not chart.display
        if history and len(history) == 1:
            note.update(f"{live['metric'].replace('_', ' ')}: {history[0][1]:.3f} at {history[0][0]} images analysed,"
                        " one analysis so far (the plot against images analysed starts at the second)")
        elif not history:
            note.update("no analysis yet")
        if history is not None and analysis is not None and analysis["id"] != self.history_id:
            self.history_id = analysis["id"]
            label = live["metric"].replace("_", " ")
            chart.curve([(n, v, None, None) for n, v in history], title=f"{label} against images analysed",
                        xlabel="synthetic images analysed", ylabel=f"{label} (÷)")

    def _show_workers(self, board: list[dict]) -> None:
        box = self.query_one("#workers", Static)
        box.display = bool(board)
        box.update(workers_view(board))

    def cursor_class(self) -> str | None:
        """The class under the cursor of the table used last (None when no table has rows)."""
        for table in self.query(self.last_table).results(SortableTable):
            if table.row_count:
                key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
                return key.value
        return None

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        if event.data_table.id:
            self.last_table = f"#{event.data_table.id}"

    def _show_cause_bars(self) -> None:
        """The Four causes tab's chart: one cause's number per class, in the table's order (largest gap first)."""
        if self.analysis is None:
            return
        key, cause, words = CAUSE_BARS[self.cause_index % len(CAUSE_BARS)]
        rows = self.analysis["result"]["four_causes"]
        for chart in self.query("#cause-bars").results(Chart):
            chart.bars([r["class"] for r in rows], [r.get(key) for r in rows],
                       title=f"{cause} per class, largest gap first · b: next cause", xlabel=f"{cause}: {words}")

    def action_next_cause(self) -> None:
        self.cause_index += 1
        self._show_cause_bars()

    def _show_analysis(self, result: dict) -> None:
        """Fill every panel that is mounted (tab contents mount as they are first shown)."""
        for table_id, key in (("#causes", "four_causes"), ("#diversity", "diversity"), ("#accuracy", "accuracy")):
            for table in self.query(table_id).results(SortableTable):
                table.fill(result[key])
        self._show_cause_bars()
        top = result.get("top_confusions", [])[:8]
        for widget in self.query("#confusions").results(Static):
            widget.update(Text(
                "top confusions (synthetic-trained probe on real test images): "
                + (", ".join(f"{c['class']} → {c['predicted']} {c['count']}" for c in top) or "none")))
        geo = result["geometry"][0]
        lines = [headline_line(row) for row in result.get("headline", [])]
        if not lines:  # an analysis stored before intervals existed
            lines = [f"{k.replace('_', ' '):<24} {cell(v) if v is not None else '—'}" for k, v in result["summary"][0].items()]
        lines += [f"{k.replace('_', ' '):<24} {cell(v) if v is not None else '—'}" for k, v in geo.items()]
        for widget in self.query("#geometry").results(Static):
            widget.update(Text("\n".join(str(x) for x in lines)))
        self._show_matrix()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self.analysis is not None:
            self._show_analysis(self.analysis["result"])

    def _show_matrix(self) -> None:
        if self.analysis is None:
            return
        key, title = MATRICES[self.matrix_index]
        result = self.analysis["result"]
        for widget in self.query("#matrix-title").results(Static):
            widget.update(f"{title}   (m: next matrix)")
        for widget in self.query("#matrix").results(Static):
            widget.update(heatmap(result[key], result["classes"]))

    def action_show_tab(self, tab: str) -> None:
        """Show a tab and put the focus in its table, so the cursor names a class for i and v (on the
        Geometry tab, in its list, so the arrows scroll it)."""
        self.query_one("#tabs", TabbedContent).active = tab
        table = {"tab-progress": "#per-class", "tab-causes": "#causes", "tab-diversity": "#diversity",
                 "tab-accuracy": "#accuracy", "tab-geometry": "#geometry-scroll"}.get(tab)
        if table:
            self.query_one(table).focus()

    def _show_training(self) -> None:
        """The Training tab: the runs, the chosen run's test-accuracy curve and confusions, and the
        per-class accuracy of every finished run."""
        tr = self.training or {"runs": []}
        runs = tr["runs"]
        for widget in self.query("#training-runs").results(Static):
            widget.update(training_runs_view(runs) if runs else Text(
                "No training runs: list them in the experiment's [train] runs (docs/config.md), e.g."
                ' runs = ["synthetic", "real"], then g.', style="dim"))
        if not runs:
            for wid in ("#training-curve", "#training-confusions", "#training-per-class"):
                for widget in self.query(wid).results(Static):
                    widget.update("")
            return
        run = runs[self.run_index % len(runs)]
        epochs = tr["epochs"].get(run["run"], [])
        points = [(e["epoch"], e["test_accuracy"], None, None) for e in epochs if e["test_accuracy"] is not None]
        width = max(20, min(70, self.size.width - 12))
        head = Text.assemble((f"real-test accuracy by epoch · {run['trains_on']}", "bold"),
                             f"  ({len(epochs)}/{run['epochs']} epochs; t: next run)")
        curve = text_plot(points, width=width, height=6) if points else ["(no epoch finished yet)"]
        for widget in self.query("#training-curve").results(Static):
            widget.update(Text("\n").join([head, *(Text(line) for line in curve)]))
        top = tr["confusions"].get(run["run"], [])[:8]
        for widget in self.query("#training-confusions").results(Static):
            widget.update(Text("top confusions (real test images): " + (
                ", ".join(f"{c['class']} → {c['predicted']} {c['count']}" for c in top) or "none")))
        for widget in self.query("#training-per-class").results(Static):
            widget.update(training_per_class_view(tr["per_class"], tr["columns"]))

    def action_next_run(self) -> None:
        self.run_index += 1
        self._show_training()

    def action_next_matrix(self) -> None:
        self.matrix_index = (self.matrix_index + 1) % len(MATRICES)
        self._show_matrix()


