"""Two views the gallery opens: one image as large as the terminal allows beside its three nearest
real images at the same size (``ImageScreen``), and one class's images across its templates, a row
per template (``ClassGridScreen``). Both read in thread workers and draw with
:class:`screens.pictures.Picture`, in the app's picture mode (``m`` switches it)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from screens.gallery import NEIGHBOURS, neighbour_caption, picture, provenance
from screens.header import Header
from screens.pictures import MAX_SIDE, Picture, mode_of, read_picture
from synthdiv.errors import describe
from screens.messages import ClassGridShown, ImageShown, ShowsWorkerErrors


def redraw(screen: Screen, mode: str) -> None:
    """Every picture of ``screen`` drawn in ``mode`` from now on."""
    for pic in screen.query(Picture):
        pic.set_mode(mode)


class ImageScreen(ShowsWorkerErrors, Screen):
    """One generated image, large, beside its nearest real images at the same size, with its
    provenance; ←/→ move through the gallery's images (same class and template filter)."""

    BINDINGS = [
        Binding("left,h", "move(-1)", "Prev", id="image.prev"),
        Binding("right,l", "move(1)", "Next", id="image.next"),
        Binding("g", "class_grid", "Class grid", id="image.grid"),
        Binding("m", "app.cycle_pictures", "Pictures", id="image.pictures"),
        Binding("escape,q", "app.pop_screen", "Back", id="image.back"),
    ]
    DEFAULT_CSS = """
    ImageScreen #where { height: 1; padding: 0 1; background: $boost; }
    ImageScreen #info { height: 3; padding: 0 1; }
    ImageScreen #pictures { height: 1fr; padding: 0 1; }
    ImageScreen .cell { width: 18; height: auto; margin-right: 1; }
    ImageScreen .cell > Picture { width: 1fr; height: 9; }
    ImageScreen .cell > .caption { height: 1; }
    """

    def __init__(self, view, class_id: int | None, template_id: int | None, index: int, total: int) -> None:
        super().__init__()
        self.view, self.class_id, self.template_id = view, class_id, template_id
        self.index, self.total = index, total
        self.row: dict | None = None

    @property
    def mode(self) -> str:
        return mode_of(self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="where")
        yield Static(id="info")
        yield Horizontal(id="pictures")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "synthdiv · image"
        self._where()
        self.load(self.index)

    def _where(self, note: str = "") -> None:
        self.query_one("#where", Static).update(Text(
            f"image {self.index + 1}/{self.total} · ←/→ next · g the class across templates · m pictures: "
            f"{self.mode}{note}", no_wrap=True, overflow="ellipsis"))

    @work(thread=True, exclusive=True, group="image-view", exit_on_error=False)
    def load(self, index: int) -> None:
        total, rows = self.view.page(self.class_id, self.template_id, index, 1)
        if not rows:
            self.post_message(ImageShown(index, total, None, None, []))
            return
        row = rows[0]
        image = read_picture(self.view.path(row["path"]), MAX_SIDE)
        try:
            near, problem = self.view.nearest(row["id"], NEIGHBOURS), ""
        except Exception as exc:  # noqa: BLE001 - the image shows, and why its neighbours do not
            near, problem = [], describe(exc)
        self.post_message(ImageShown(index, total, row, image,
                                     [(n, read_picture(self.view.path(n["path"]), MAX_SIDE)) for n in near], problem))

    def on_image_shown(self, message: ImageShown) -> None:
        if message.index != self.index:
            return  # a read for an image no longer shown
        self.total, self.row = message.total, message.row
        self._where()
        box = self.query_one("#pictures", Horizontal)
        box.remove_children()
        if message.row is None:
            self.query_one("#info", Static).update(Text("No image here (it may have been re-queued).", style="dim"))
            return
        if message.problem:
            self.notify(message.problem, title="Nearest real images", severity="error")
        self.query_one("#info", Static).update(provenance(message.row))
        cells = [Vertical(Picture(message.picture, self.mode),
                          Static(Text(f"synthetic · {message.row['class_name']}", style="bold", no_wrap=True,
                                      overflow="ellipsis"), classes="caption"), classes="cell")]
        for n, pic in message.near:
            cells.append(Vertical(Picture(pic, self.mode),
                                  Static(neighbour_caption(n, message.row, 24), classes="caption"), classes="cell"))
        if not message.near:
            cells.append(Vertical(Static(Text("nearest real images: none embedded yet", style="dim")), classes="cell"))
        box.mount_all(cells)
        self._size_cells()

    def on_resize(self) -> None:
        self._size_cells()

    def _size_cells(self) -> None:
        """Every cell as wide as the others, so the image and its neighbours are drawn at one size."""
        width = max(4, ((self.size.width or 80) - 2) // (1 + NEIGHBOURS) - 1)  # the image and its neighbours
        height = max(2, min((self.size.height or 24) - 7, width // 2))  # a square image: two pixels a row
        for cell in self.query(".cell"):
            cell.styles.width = width
        for pic in self.query(".cell > Picture"):
            pic.styles.height = height

    def action_move(self, step: int) -> None:
        if self.total:
            self.index = max(0, min(self.index + step, self.total - 1))
            self._where()
            self.load(self.index)

    def action_class_grid(self) -> None:
        if self.row is not None:
            self.app.push_screen(ClassGridScreen(self.view, self.row["class_id"], self.row["class_name"]))


class ClassGridScreen(ShowsWorkerErrors, Screen):
    """One class's images across its templates: a row per template, as many images as fit across."""

    BINDINGS = [
        Binding("m", "app.cycle_pictures", "Pictures", id="classgrid.pictures"),
        Binding("escape,q", "app.pop_screen", "Back", id="classgrid.back"),
    ]
    DEFAULT_CSS = """
    ClassGridScreen #title { height: 1; padding: 0 1; background: $boost; }
    ClassGridScreen #rows { height: 1fr; padding: 0 1; }
    ClassGridScreen .template { height: 1; }
    ClassGridScreen .strip { height: auto; }
    ClassGridScreen .strip > Picture { margin-right: 1; }
    """

    def __init__(self, view, class_id: int, class_name: str) -> None:
        super().__init__()
        self.view, self.class_id, self.class_name = view, class_id, class_name
        self.templates: list = []  # as last read: (template, its image count, [(row, picture)])

    @property
    def mode(self) -> str:
        return mode_of(self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text.assemble("class ", (self.class_name, "bold"), " across its templates · m pictures"),
                     id="title")
        yield VerticalScroll(id="rows")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "synthdiv · class grid"
        self.load()

    def geometry(self, templates: int) -> tuple[int, int]:
        """(picture height in rows, pictures across) for ``templates`` rows: 3 to 8 lines each so
        that, with their labels, the templates fit on the screen where they can; square pictures
        (two pixels a row)."""
        height, width = (self.size.height or 24) - 3, (self.size.width or 80) - 2
        rows = max(3, min(8, height // max(1, templates) - 1))
        return rows, max(1, width // (2 * rows + 1))

    @work(thread=True, exclusive=True, group="class-grid", exit_on_error=False)
    def load(self) -> None:
        _, templates = self.view.choices()
        rows, across = self.geometry(len(templates))
        out = []
        for t in templates:
            total, found = self.view.page(self.class_id, t["id"], 0, across)
            out.append((t, total, [(r, picture(self.view.path(r["path"]))) for r in found]))
        self.post_message(ClassGridShown(out))

    def on_class_grid_shown(self, message: ClassGridShown) -> None:
        box = self.query_one("#rows", VerticalScroll)
        box.remove_children()
        self.templates = message.rows
        rows, across = self.geometry(len(message.rows))
        widgets = []
        for i, (t, total, shown) in enumerate(message.rows):
            widgets.append(Static(Text(f"t{i + 1} · {t['text']} · {len(shown)} of {total} images", no_wrap=True,
                                       overflow="ellipsis"), classes="template"))
            pics = []
            for _, pic in shown[:across]:
                p = Picture(pic, self.mode)
                p.styles.width, p.styles.height = 2 * rows, rows
                pics.append(p)
            widgets.append(Horizontal(*pics, classes="strip") if pics else
                           Static(Text("no images of this template yet", style="dim")))
            widgets[-1].styles.height = rows if pics else 1
        box.mount_all(widgets)
