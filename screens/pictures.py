"""Pictures in the terminal: how an image is drawn (the mode), chosen once at start-up, and the
widget that draws one image as large as its place allows.

Modes:

- ``kitty``: the Kitty graphics protocol (kitty, and terminals that implement its Unicode
  placeholders), through textual-image: the image at the terminal's pixel resolution;
- ``sixel``: Sixel graphics (xterm -ti vt340, foot, mlterm, WezTerm, Konsole…), through textual-image;
- ``halfcell``: rich-pixels' half-cell blocks, two pixels per cell, coloured: works in every
  colour terminal, tmux and screen included.

``auto`` asks the terminal before the workbench starts, the way textual-image documents it
(importing it sends the queries and reads the replies: Sixel in the device attributes, then a
Kitty graphics query; the terminal's cell size in pixels), and takes halfcell where the terminal
does not answer, where stdout is not a terminal, and inside tmux or screen (which pass neither
protocol through by default). Once Textual runs, it owns standard input and nothing can be asked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from PIL import Image
from rich.text import Text
from rich_pixels import HalfcellRenderer, Pixels
from textual.app import ComposeResult, RenderResult
from textual.widget import Widget

from synthdiv.decode import open_rgb  # the pixels every measure sees: EXIF, 16-bit, alpha

MODES = ("auto", "kitty", "sixel", "halfcell")
DRAWN = ("halfcell", "kitty", "sixel")  # what a picture can be drawn as, in the order the switch key cycles
WORDS = {"halfcell": "half-cell blocks", "kitty": "Kitty graphics", "sixel": "Sixel graphics"}
MAX_SIDE = 1024  # pixels: larger images are scaled down once, when read (a terminal shows no more)


def mode_of(app) -> str:
    """How ``app`` draws pictures (its ``pictures``; half cells for an app that has no choice)."""
    return getattr(app, "pictures", "halfcell")


def multiplexed(env: Mapping[str, str]) -> bool:
    """Inside tmux or GNU screen (they drop graphics escapes unless configured to pass them through)."""
    term = env.get("TERM", "")
    return bool(env.get("TMUX")) or term.startswith(("screen", "tmux"))


def detect(requested: str = "auto", env: Mapping[str, str] | None = None, isatty: bool | None = None) -> str:
    """The mode to draw pictures in: ``requested`` unless it is ``auto``; then what the terminal
    answers (see the module's docstring). Call it before the app runs: it reads the terminal's
    replies from standard input."""
    if requested not in MODES:
        raise ValueError(f"unknown picture mode {requested!r}; use one of {', '.join(MODES)}")
    if requested != "auto":
        return requested
    env = os.environ if env is None else env
    tty = (sys.__stdout__ is not None and sys.__stdout__.isatty() and sys.__stdin__ is not None
           and sys.__stdin__.isatty()) if isatty is None else isatty
    if not tty or multiplexed(env) or env.get("TERM") == "dumb":
        return "halfcell"
    try:
        import textual_image.renderable as found  # asks the terminal, once per process
        import textual_image.widget  # noqa: F401 - reads the cell size in pixels now, while it still can
    except Exception:  # noqa: BLE001 - a terminal that answers oddly (or reports 0 columns) gets half cells
        return "halfcell"
    from textual_image.renderable.sixel import Image as SixelImage
    from textual_image.renderable.tgp import Image as TGPImage

    if found.Image is SixelImage:
        return "sixel"
    if found.Image is TGPImage:
        return "kitty"
    return "halfcell"


def read_picture(path, max_side: int = MAX_SIDE) -> Image.Image | str:
    """The image at ``path`` as RGB, at most ``max_side`` pixels on its longer side (read in a
    thread, before it is shown), or why it cannot be shown."""
    try:
        image = open_rgb(path)
        if max(image.size) > max_side:
            image.thumbnail((max_side, max_side), Image.Resampling.BOX)
        return image
    except (OSError, ValueError) as exc:
        name = getattr(path, "name", str(path))
        return f"cannot read\n{name}\n({type(exc).__name__})"


def fit(size: tuple[int, int], width: int, height: int) -> tuple[int, int]:
    """The largest ``(w, h)`` in half-cell pixels (``width`` columns, ``2 × height`` rows) with the
    image's aspect ratio, at least 1 × 1."""
    iw, ih = size
    scale = min(width / iw, 2 * height / ih)
    return max(1, int(iw * scale)), max(1, int(ih * scale))


def halfcell(image: Image.Image, width: int, height: int) -> Pixels:
    """``image`` as half-cell blocks filling at most ``width`` × ``height`` cells, aspect kept."""
    return Pixels.from_image(image.resize(fit(image.size, width, height), Image.Resampling.BOX),
                             renderer=HalfcellRenderer())


class _NotATerminal:
    """Standard output as textual-image sees it while it is imported inside a running app: not a
    terminal, so its import asks nothing (the replies would reach Textual's input thread as keys)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name):
        return getattr(self._stream, name)


def protocol_widget(mode: str):
    """textual-image's widget class for ``kitty`` or ``sixel``. Imported by :func:`detect` before
    the app runs where the terminal was asked; else (a forced or switched mode) imported here
    without asking: the cell size is then taken as 10 × 20 pixels, which sets the resolution the
    image is sent at, not its size on the screen."""
    if "textual_image.widget" not in sys.modules:
        real = sys.__stdout__
        sys.__stdout__ = _NotATerminal(real)
        try:
            import textual_image.widget  # noqa: F401
        finally:
            sys.__stdout__ = real
    from textual_image.widget import SixelImage, TGPImage

    return {"kitty": TGPImage, "sixel": SixelImage}[mode]


class Picture(Widget):
    """One image drawn in ``mode``, as large as the widget's size allows, aspect kept; or the reason
    it cannot be shown (``image`` a string)."""

    DEFAULT_CSS = """
    Picture { width: 16; height: 8; }
    Picture > .graphics { width: auto; height: auto; }
    """

    def __init__(self, image: Image.Image | str | None, mode: str = "halfcell", **kwargs) -> None:
        super().__init__(**kwargs)
        self.image, self.mode = image, mode
        self._drawn: tuple[int, int, Pixels] | None = None  # (width, height, half-cell renderable) last drawn

    def compose(self) -> ComposeResult:
        if self.mode in ("kitty", "sixel") and isinstance(self.image, Image.Image):
            yield protocol_widget(self.mode)(self.image, classes="graphics")

    def set_mode(self, mode: str) -> None:
        """Draw the picture in ``mode`` from now on."""
        if mode == self.mode:
            return
        self.on_unmount()
        self.remove_children()
        self.mode, self._drawn = mode, None
        if mode in ("kitty", "sixel") and isinstance(self.image, Image.Image):
            self.mount(protocol_widget(mode)(self.image, classes="graphics"))
        self.refresh()

    def on_unmount(self) -> None:
        for child in self.query(".graphics"):
            child.image = None  # frees the image the terminal holds (Kitty), and the renderable

    def render(self) -> RenderResult:
        if isinstance(self.image, str):
            return Text(self.image, style="red")  # text, never markup
        if self.image is None or self.mode != "halfcell":
            return ""
        w, h = self.content_size.width, self.content_size.height
        if w < 1 or h < 1:
            return ""
        if self._drawn is None or self._drawn[:2] != (w, h):
            self._drawn = (w, h, halfcell(self.image, w, h))
        return self._drawn[2]
