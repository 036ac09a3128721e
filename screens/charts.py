"""Plots in the terminal (textual-plotext, plotext drawn as a Textual widget): a number against a
numeric x with each point's 95 % interval as a vertical bar, and one number per class as
horizontal bars. Every chart names its axes, with units where the number has one, and stays
readable at 80×24 (its ticks thin out, long class names are cut). Class names, measure names and
titles are passed to plotext as plain text; plotext's own output is read back as ANSI colour,
never as markup.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

NAME_WIDTH = 14  # characters of a class name beside its bar


def _short(name: str, width: int = NAME_WIDTH) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


class Chart(PlotextPlot):
    """A plotext chart drawn by :meth:`curve` or :meth:`bars` (each replaces what was drawn; the
    figure is built at its size each time it is rendered)."""

    DEFAULT_CSS = """
    Chart { width: 1fr; height: 12; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.drawn: dict = {}  # what was drawn last, in words (titles, labels, points or bars shown)
        self._draw = None  # draws the figure for a height in rows

    def render(self):
        self.plt.clear_figure()
        if self._draw is not None:
            self._draw(self.size.height)
        return super().render()

    def curve(self, points: list[tuple[float, float, float | None, float | None]], *, title: str, xlabel: str,
              ylabel: str, ylim: tuple[float, float] | None = None) -> None:
        """``points`` = (x, value, low, high): the values joined by a line, each interval a vertical
        bar at its x (where it has one)."""
        pts = sorted(p for p in points if p[1] is not None)

        def draw(height: int) -> None:
            plt = self.plt
            if pts:
                xs, ys = [float(p[0]) for p in pts], [float(p[1]) for p in pts]
                for x, _, lo, hi in pts:
                    if lo is not None and hi is not None:
                        plt.plot([float(x), float(x)], [float(lo), float(hi)], marker="│", color="gray")
                plt.plot(xs, ys, marker="braille", color="cyan")
                plt.scatter(xs, ys, marker="●", color="cyan")
                if len(set(xs)) <= 8:
                    plt.xticks(xs, [f"{x:g}" for x in xs])
            if ylim is not None:
                plt.ylim(*ylim)
            plt.title(title)
            plt.xlabel(xlabel)
            plt.ylabel(ylabel)

        self._draw = draw
        self.drawn = {"kind": "curve", "title": title, "xlabel": xlabel, "ylabel": ylabel, "points": pts}
        self.refresh()

    def bars(self, labels: list[str], values: list[float | None], *, title: str, xlabel: str) -> None:
        """One horizontal bar per label, in the order given (the first on top), as many as the
        chart's height holds; a missing value has no bar."""
        pairs = list(zip(labels, values, strict=True))

        def draw(height: int) -> None:
            plt = self.plt
            shown = pairs[:max(1, height - 5)]  # the title, the frame, the ticks and the label take five rows
            if shown:
                # plotext draws the first label at the bottom of a horizontal bar chart: hand them reversed
                plt.bar([_short(label) for label, _ in reversed(shown)],
                        [0.0 if v is None else float(v) for _, v in reversed(shown)],
                        orientation="horizontal", color="cyan",
                        # one text row per bar: a thick bar spills into its neighbour's row
                        width=0.6 if height - 5 >= 2 * len(shown) else 0.2)
            more = len(pairs) - len(shown)
            plt.title(title + (f" ({len(shown)} of {len(pairs)})" if more > 0 else ""))
            plt.xlabel(xlabel)
            self.drawn["shown"] = [label for label, _ in shown]

        self._draw = draw
        self.drawn = {"kind": "bars", "title": title, "xlabel": xlabel, "labels": labels}
        self.refresh()
