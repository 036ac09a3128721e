"""A plot in plain text: values against a numeric x, with their intervals as vertical bars.

Used by the Compare screen and by ``synthdiv compare`` (a metric against the swept value). Pure
text, so it reads the same in tmux, over SSH and in a log file.
"""

from __future__ import annotations


def _label(v: float) -> str:
    return f"{v:.3g}"


def text_plot(points: list[tuple[float, float, float | None, float | None]], width: int = 50,
              height: int = 8) -> list[str]:
    """Lines of a plot of ``points`` = (x, value, low, high): each value a ``●`` at its x, its
    interval (where it has one) a ``│`` bar; the y axis labelled at its top, middle and bottom,
    the x axis with each point's x below it. x positions are to scale."""
    pts = sorted((float(x), float(y), None if lo is None else float(lo), None if hi is None else float(hi))
                 for x, y, lo, hi in points)
    if not pts:
        return ["(nothing to plot)"]
    width, height = max(width, 10), max(height, 3)
    ys = [v for _, y, lo, hi in pts for v in (y, lo, hi) if v is not None]
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-12:
        y0, y1 = y0 - 0.5, y1 + 0.5
    x0, x1 = pts[0][0], pts[-1][0]
    span = (x1 - x0) or 1.0
    row_of = lambda v: round((y1 - v) / (y1 - y0) * (height - 1))  # noqa: E731
    col_of = lambda x: round((x - x0) / span * (width - 1)) if x1 > x0 else width // 2  # noqa: E731
    grid = [[" "] * width for _ in range(height)]
    for x, y, lo, hi in pts:
        c = col_of(x)
        if lo is not None and hi is not None:
            for r in range(row_of(hi), row_of(lo) + 1):
                grid[r][c] = "│"
        grid[row_of(y)][c] = "●"
    labels = {0: _label(y1), (height - 1) // 2: _label((y0 + y1) / 2), height - 1: _label(y0)}
    pad = max(len(s) for s in labels.values())
    lines = [f"{labels.get(r, ''):>{pad}} ┤{''.join(row)}" for r, row in enumerate(grid)]
    lines.append(" " * pad + " └" + "─" * width)
    axis = [" "] * (width + pad + 2)
    for x, *_ in pts:
        text = _label(x)
        start = min(max(pad + 2 + col_of(x) - len(text) // 2, 0), len(axis) - len(text))
        if all(ch == " " for ch in axis[max(start - 1, 0):start + len(text) + 1]):
            axis[start:start + len(text)] = text
    lines.append("".join(axis).rstrip())
    return lines
