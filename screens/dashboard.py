"""The dashboard: progress, the four causes, diversity, accuracy, similarity heatmaps and
CLIP geometry of one experiment, refreshed live from what the app reads off the store."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from screens.heatmap import heatmap
from synthdiv.analysis import CAUSE_COLUMNS
from screens.status import experiment_view

DIVERSITY = (
    ("class", "class"), ("n_synthetic", "n syn"), ("n_real", "n real"), ("vendi_synthetic", "Vendi syn"),
    ("vendi_real", "Vendi real"), ("distance_synthetic", "dist syn"), ("distance_real", "dist real"),
    ("precision", "prec"), ("recall", "recall"), ("density", "dens"), ("coverage", "cover"),
    ("frechet", "Fréchet"), ("separability", "separ."),
)
ACCURACY = (
    ("class", "class"), ("synthetic_to_real", "synth→real"), ("real_to_real", "real→real"),
    ("zero_shot_real", "zs real"), ("zero_shot_synthetic", "zs synth"), ("n_real_test", "n test"),
)
MATRICES = (
    ("similarity_synthetic_text", "synthetic centroid × class text (adherence: is the diagonal the row maximum?)"),
    ("similarity_text", "class text × class text (ambiguity of names)"),
    ("similarity_synthetic_real", "synthetic centroid × real centroid (is the synthetic concept the real one?)"),
)


def cell(v) -> Text | str:
    if v is None:
        return Text("—", style="dim")
    if isinstance(v, float):
        return Text(f"{v:.3f}", justify="right")
    return str(v)


class SortableTable(DataTable):
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


class DashboardScreen(Screen):
    """One store's experiments, live: tabs for progress and every analysis table."""

    BINDINGS = [
        Binding("r", "app.reload", "Refresh", id="dashboard.refresh"),
        Binding("g", "app.start_workers", "Start", id="dashboard.start"),
        Binding("x", "app.stop_workers", "Stop", id="dashboard.stop"),
        Binding("m", "next_matrix", "Matrix", id="dashboard.matrix"),
        Binding("q", "app.request_quit", "Quit", id="dashboard.quit"),
    ]
    DEFAULT_CSS = """
    DashboardScreen .experiment { margin: 1 0 0 0; }
    DashboardScreen DataTable { height: 1fr; }
    DashboardScreen #matrix-title { padding: 0 1; text-style: bold; }
    """

    def __init__(self, store_root: str | Path) -> None:
        super().__init__()
        self.store_root = Path(store_root)
        self.matrix_index = 0
        self.analysis: dict | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="tabs"):
            with TabPane("Progress", id="tab-progress"):
                yield VerticalScroll(id="experiments")
            with TabPane("Four causes", id="tab-causes"):
                yield SortableTable(CAUSE_COLUMNS, id="causes")
            with TabPane("Diversity", id="tab-diversity"):
                yield SortableTable(DIVERSITY, id="diversity")
            with TabPane("Accuracy", id="tab-accuracy"):
                yield SortableTable(ACCURACY, id="accuracy")
                yield Static(id="confusions")
            with TabPane("Similarity", id="tab-similarity"):
                yield Static(id="matrix-title")
                with VerticalScroll():
                    yield Static(id="matrix")
            with TabPane("Geometry", id="tab-geometry"):
                yield Static(id="geometry")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "synthdiv"
        self.sub_title = self.store_root.name

    def show(self, summary: dict, analysis: dict | None) -> None:
        """Show a store summary (``store.status.summary``) and the newest analysis (or None)."""
        exps = summary["experiments"]
        counted = "no analysis yet" if analysis is None else (
            f"analysis: {analysis['counts']['synthetic']} syn + {analysis['counts']['real']} real")
        self.sub_title = (f"{self.store_root.name} · {summary['images']} images"
                          f" · {summary['image_embeddings']} embedded · {counted}")
        box = self.query_one("#experiments", VerticalScroll)
        panels = list(box.query(".experiment"))
        for i, e in enumerate(exps):
            if i < len(panels):
                panels[i].update(experiment_view(e))
            else:
                box.mount(Static(experiment_view(e), classes="experiment"))
        for extra in panels[len(exps):]:
            extra.remove()
        if analysis is not None and (self.analysis is None or analysis["id"] != self.analysis["id"]):
            # only a new analysis refills the tables: the cursor and sort order survive refreshes
            self.analysis = analysis
            self._show_analysis(analysis["result"])

    def _show_analysis(self, result: dict) -> None:
        """Fill every panel that is mounted (tab contents mount as they are first shown)."""
        for table_id, key in (("#causes", "four_causes"), ("#diversity", "diversity"), ("#accuracy", "accuracy")):
            for table in self.query(table_id).results(SortableTable):
                table.fill(result[key])
        top = result.get("top_confusions", [])[:8]
        for widget in self.query("#confusions").results(Static):
            widget.update(
            "top confusions (synthetic-trained probe on real test images): "
                + (", ".join(f"{c['class']} → {c['predicted']} {c['count']}" for c in top) or "none"))
        geo = result["geometry"][0]
        summary = result["summary"][0]
        lines = [f"{k.replace('_', ' '):<22} {cell(v) if v is not None else '—'}" for k, v in {**summary, **geo}.items()]
        for widget in self.query("#geometry").results(Static):
            widget.update("\n".join(str(x) for x in lines))
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

    def action_next_matrix(self) -> None:
        self.matrix_index = (self.matrix_index + 1) % len(MATRICES)
        self._show_matrix()

    def show_error(self, message: str) -> None:
        self.sub_title = f"{self.store_root.name} · cannot read the store"
        self.notify(message, title="Store", severity="error")
