"""The gallery: generated images drawn in the terminal (rich-pixels, two pixels per cell), per class
and per template, a page at a time; the selected image's prompt, seed and model, and its nearest
real images in CLIP space beside it.

Everything it shows comes from a view object the app gives it (``choices``, ``page``,
``nearest``, ``path``); reading and decoding happen in a thread worker, so paging never stalls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from screens.header import Header
from screens.pictures import Picture, mode_of, read_picture
from synthdiv.errors import describe
from screens.messages import GalleryChoices, GalleryDetail, GalleryPage, ShowsWorkerErrors

THUMB = 16  # pixels across a thumbnail (16 cells wide, 8 rows high)
NEIGHBOURS = 3
DETAIL_ROWS = 12  # three lines of provenance, the neighbours (8 rows) and their captions


THUMB_READ = 256  # pixels: thumbnails are read at most this large (enough for graphics at 16 cells)


def picture(path: Path):
    """The image at ``path``, read for a thumbnail (or why it cannot be shown)."""
    return read_picture(path, THUMB_READ)


class Thumb(Vertical):
    """A thumbnail and its caption."""

    DEFAULT_CSS = """
    Thumb { width: 16; height: 9; }
    Thumb > .caption { height: 1; width: 16; }
    """

    def __init__(self, image, mode: str, caption: Text) -> None:
        super().__init__()
        self.image, self.mode, self.caption = image, mode, caption

    def compose(self) -> ComposeResult:
        yield Picture(self.image, self.mode)
        yield Static(self.caption, classes="caption")


@dataclass
class Position:
    class_index: int = -1  # -1: all classes
    template_index: int = -1  # -1: all templates
    offset: int = 0  # first image of the page
    selected: int = 0  # index within the page


class GalleryScreen(ShowsWorkerErrors, Screen):
    """Generated images, a page at a time, with the selected one's provenance and nearest real images."""

    BINDINGS = [
        Binding("left,h", "move(-1)", "Prev", id="gallery.prev"),
        Binding("right,l", "move(1)", "Next", id="gallery.next"),
        Binding("up,k", "move_row(-1)", "Up", show=False, id="gallery.up"),
        Binding("down,j", "move_row(1)", "Down", show=False, id="gallery.down"),
        Binding("pagedown,n", "page(1)", "Next page", id="gallery.next_page"),
        Binding("pageup,p", "page(-1)", "Prev page", id="gallery.prev_page"),
        Binding("c", "cycle_class(1)", "Class", id="gallery.class"),
        Binding("C", "cycle_class(-1)", "Class back", show=False, id="gallery.class_back"),
        Binding("t", "cycle_template(1)", "Template", id="gallery.template"),
        Binding("T", "cycle_template(-1)", "Template back", show=False, id="gallery.template_back"),
        Binding("enter,o", "open_image", "Open", id="gallery.open"),
        Binding("g", "class_grid", "Class grid", id="gallery.grid"),
        Binding("m", "app.cycle_pictures", "Pictures", id="gallery.pictures"),
        Binding("escape,q", "app.pop_screen", "Back", id="gallery.back"),
    ]
    DEFAULT_CSS = """
    GalleryScreen #filter { height: 1; padding: 0 1; background: $boost; }
    GalleryScreen #empty { height: 1; padding: 0 1; color: $text-muted; }
    GalleryScreen #grid { height: 1fr; padding: 0 1; grid-gutter: 0 2; grid-rows: 9; grid-columns: 16; }
    GalleryScreen #detail { height: 12; padding: 0 1; background: $boost; }
    GalleryScreen #info { height: 3; }
    GalleryScreen #near { height: 9; }
    GalleryScreen #near-label { width: 16; height: 9; text-style: bold; }
    GalleryScreen #near > Thumb { margin-right: 2; }
    """

    def __init__(self, view, class_label: str | None = None) -> None:
        super().__init__()
        self.view = view
        self.start_class = class_label
        self.class_choices: list[dict] = []
        self.template_choices: list[dict] = []
        self.pos = Position()
        self.total = 0
        self.rows: list[dict] = []

    @property
    def mode(self) -> str:
        return mode_of(self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="filter")
        yield Static(id="empty")
        yield Grid(id="grid")
        with Vertical(id="detail"):
            yield Static(id="info")
            yield Horizontal(id="near")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "synthdiv · gallery"
        self.query_one("#empty").display = False
        self.load_choices()

    def on_resize(self) -> None:
        if self.class_choices or self.template_choices:
            self.pos.offset = (self.pos.offset + self.pos.selected) // self.per_page * self.per_page
            self.pos.selected = 0
            self.load_page()

    # --- geometry: how many thumbnails fit ------------------------------------------------------

    @property
    def columns(self) -> int:
        width = self.size.width or 80
        return max(1, (width - 2) // (THUMB + 2))

    @property
    def per_page(self) -> int:
        height = self.size.height or 24
        rows = max(1, (height - 3 - DETAIL_ROWS) // (THUMB // 2 + 1))  # header, footer, filter line, detail
        return self.columns * rows

    # --- loading (thread) ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="gallery-choices", exit_on_error=False)
    def load_choices(self) -> None:
        self.post_message(GalleryChoices(*self.view.choices()))

    def on_gallery_choices(self, message: GalleryChoices) -> None:
        self.class_choices, self.template_choices = message.classes, message.templates
        if self.start_class is not None:
            self.pos.class_index = next((i for i, c in enumerate(message.classes) if c["name"] == self.start_class), -1)
        self.load_page()

    def _filter(self) -> tuple[int | None, int | None]:
        c = self.class_choices[self.pos.class_index]["id"] if self.pos.class_index >= 0 else None
        t = self.template_choices[self.pos.template_index]["id"] if self.pos.template_index >= 0 else None
        return c, t

    def load_page(self) -> None:
        self._load(*self._filter(), self.pos.offset, self.per_page, self.pos.selected)

    @work(thread=True, exclusive=True, group="gallery-page", exit_on_error=False)
    def _load(self, class_id, template_id, offset: int, limit: int, selected: int) -> None:
        total, rows = self.view.page(class_id, template_id, offset, limit)
        pictures = [picture(self.view.path(r["path"])) for r in rows]
        self.post_message(GalleryPage(total, rows, pictures))
        if rows:
            self._load_detail(rows[min(selected, len(rows) - 1)])

    def on_gallery_page(self, message: GalleryPage) -> None:
        self._show_page(message.total, message.rows, message.pictures)

    def _show_page(self, total: int, rows: list[dict], pictures: list) -> None:
        self.total, self.rows = total, rows
        self.pos.selected = min(self.pos.selected, max(len(rows) - 1, 0))
        self._show_filter()
        grid = self.query_one("#grid", Grid)
        grid.remove_children()
        empty = self.query_one("#empty", Static)
        empty.display = not rows
        if not rows:
            empty.update(Text("No images here yet." if total == 0 else ""))
            self.query_one("#info", Static).update("")
            self.query_one("#near").remove_children()
            return
        grid.styles.grid_size_columns = self.columns
        grid.mount_all([Thumb(pic, self.mode, self._caption(i)) for i, pic in enumerate(pictures)])
        self._show_detail(self.rows[self.pos.selected], None)

    def _caption(self, i: int) -> Text:
        chosen = i == self.pos.selected
        return Text(f"{'▶' if chosen else ' '}{self.pos.offset + i + 1}", style="bold reverse" if chosen else "dim")

    def _mark_selected(self) -> None:
        """Move the ▶ to the selected thumbnail (the pictures stay as drawn)."""
        for i, thumb in enumerate(self.query_one("#grid", Grid).query(Thumb)):
            thumb.query_one(".caption", Static).update(self._caption(i))

    def _show_filter(self) -> None:
        cls = self.class_choices[self.pos.class_index]["name"] if self.pos.class_index >= 0 else "all"
        tpl = self.template_choices[self.pos.template_index]["text"] if self.pos.template_index >= 0 else "all"
        pages = max(1, -(-self.total // self.per_page))
        image = self.pos.offset + self.pos.selected + 1 if self.total else 0
        self.query_one("#filter", Static).update(Text.assemble(
            "class ", (cls, "bold"), " (c) · template ", (tpl, "bold"),
            f" (t) · image {image}/{self.total} · page {self.pos.offset // self.per_page + 1}/{pages}"))

    @work(thread=True, exclusive=True, group="gallery-detail", exit_on_error=False)
    def _load_detail(self, row: dict) -> None:
        try:
            near, problem = self.view.nearest(row["id"], NEIGHBOURS), ""
        except Exception as exc:  # noqa: BLE001 - the image and its provenance still show, and why the neighbours do not
            near, problem = [], describe(exc)
        shown = [(n, picture(self.view.path(n["path"]))) for n in near]
        self.post_message(GalleryDetail(row, shown, problem))

    def on_gallery_detail(self, message: GalleryDetail) -> None:
        if message.problem:
            self.notify(message.problem, title="Gallery", severity="error")
        self._show_detail(message.row, message.near)

    def _show_detail(self, row: dict, near: list[tuple[dict, object]] | None) -> None:
        """The selected image's provenance, and its nearest real images (``None``: still looking;
        the provenance is in the row, so it shows with the thumbnails, never waits for the lookup)."""
        if not self.rows or self.rows[min(self.pos.selected, len(self.rows) - 1)]["id"] != row["id"]:
            return  # a lookup for an image no longer selected
        self.query_one("#info", Static).update(provenance(row))
        box = self.query_one("#near", Horizontal)
        box.remove_children()
        if near is None:
            box.mount(Static(Text("nearest real images: looking…", style="dim")))
        elif near:
            box.mount(Static(Text("nearest real\nimages\n(class,\ncosine,\nsplit)"), id="near-label"))
            box.mount_all([Thumb(pic, self.mode, neighbour_caption(n, row)) for n, pic in near])
        else:
            box.mount(Static(Text("nearest real images: none embedded yet", style="dim")))

    # --- keys ----------------------------------------------------------------------------------

    def _select(self, index: int) -> None:
        """Select image ``index`` (absolute), moving to its page when needed."""
        if not self.total:
            return
        index = max(0, min(index, self.total - 1))
        page_start = index // self.per_page * self.per_page
        self.pos.selected = index - page_start
        if page_start != self.pos.offset or not self.rows:
            self.pos.offset = page_start
            self.load_page()
            return
        self._show_filter()
        self._mark_selected()
        self._show_detail(self.rows[self.pos.selected], None)
        self._load_detail(self.rows[self.pos.selected])

    def action_move(self, step: int) -> None:
        self._select(self.pos.offset + self.pos.selected + step)

    def action_move_row(self, step: int) -> None:
        self._select(self.pos.offset + self.pos.selected + step * self.columns)

    def action_page(self, step: int) -> None:
        self._select(self.pos.offset + self.pos.selected + step * self.per_page)

    def action_open_image(self) -> None:
        if self.rows:
            from screens.image_view import ImageScreen

            self.app.push_screen(ImageScreen(self.view, *self._filter(), self.pos.offset + self.pos.selected, self.total))

    def action_class_grid(self) -> None:
        if self.rows:
            from screens.image_view import ClassGridScreen

            row = self.rows[self.pos.selected]
            self.app.push_screen(ClassGridScreen(self.view, row["class_id"], row["class_name"]))

    def _refilter(self) -> None:
        self.pos.offset = self.pos.selected = 0
        self.load_page()

    def action_cycle_class(self, step: int) -> None:
        if self.class_choices:
            self.pos.class_index = (self.pos.class_index + 1 + step) % (len(self.class_choices) + 1) - 1
            self._refilter()

    def action_cycle_template(self, step: int) -> None:
        if self.template_choices:
            self.pos.template_index = (self.pos.template_index + 1 + step) % (len(self.template_choices) + 1) - 1
            self._refilter()


def provenance(row: dict) -> Table:
    """An image's provenance in three lines: prompt and seed, how it was made, the model and file."""
    info = Table.grid(padding=(0, 1))
    info.add_column(style="bold", no_wrap=True, min_width=6)
    info.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    negative = f"  (negative: {row['negative_prompt']})" if row["negative_prompt"] else ""
    info.add_row("prompt", Text.assemble((row["prompt"], "bold"), negative, f" · seed {row['seed']}"))
    info.add_row("how", Text(f"{row['width']}×{row['height']} · {row['steps']} steps · guidance {row['guidance']:g}"
                             f" · {row['scheduler']} · template {row['template']}"))
    info.add_row("model", Text(f"{row['model_id']}" + (f" @ {row['model_revision']}" if row["model_revision"] else "")
                               + (f" {row['model_hash'][:10]}" if row["model_hash"] else "") + f" · {row['path']}"))
    return info


def neighbour_caption(n: dict, row: dict, width: int = 9) -> Text:
    """A nearest real image's caption: its class, cosine and split; green when it is the image's class."""
    return Text(f"{n['class_name'][:width]} {n['cosine']:.2f} {n['split'][:2]}", no_wrap=True,
                style="green" if n["class_name"] == row["class_name"] else "red")
