"""A class × class matrix as a coloured heatmap with labels, for the terminal."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text


# matplotlib's viridis (perceptually uniform, readable with every common colour-vision deficiency)
# at 17 evenly spaced points, the figures' colour map: colours between them are interpolated.
VIRIDIS = ((68, 1, 84), (72, 24, 106), (71, 45, 123), (66, 64, 134), (59, 82, 139), (51, 99, 141),
           (44, 114, 142), (38, 130, 142), (33, 145, 140), (31, 160, 136), (40, 174, 128), (63, 188, 115),
           (94, 201, 98), (132, 212, 75), (173, 220, 48), (216, 226, 25), (253, 231, 37))


def viridis(t: float) -> tuple[int, int, int]:
    """The viridis colour at ``t`` in [0, 1] (clipped)."""
    t = min(max(t, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(t), len(VIRIDIS) - 2)
    f = t - i
    a, b = VIRIDIS[i], VIRIDIS[i + 1]
    return tuple(round(a[k] + (b[k] - a[k]) * f) for k in range(3))  # type: ignore[return-value]


def _colour(value: float, lo: float, hi: float) -> Style:
    """The value's viridis colour on the matrix's scale (dark violet low, yellow high)."""
    t = 0.0 if hi <= lo else min(max((value - lo) / (hi - lo), 0.0), 1.0)
    r, g, b = viridis(t)
    return Style(bgcolor=f"rgb({r},{g},{b})", color="black" if t > 0.55 else "white")


def heatmap(matrix: list[list[float]], labels: list[str], label_width: int = 12, cell: int = 6) -> Table:
    """A rich Table: one row and one column per class, each cell coloured by its value.

    The row maximum is underlined, so "is the diagonal the row maximum?" (adherence) reads at a glance.
    """
    values = [v for row in matrix for v in row]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    table = Table(show_header=True, header_style="bold", box=None, padding=0, pad_edge=False)
    table.add_column("", width=label_width, no_wrap=True)
    for label in labels:
        table.add_column(label[: cell - 1], width=cell, justify="right", no_wrap=True)
    for label, row in zip(labels, matrix, strict=True):
        top = max(row) if row else None
        cells = []
        for v in row:
            style = _colour(v, lo, hi) + (Style(underline=True, bold=True) if v == top else Style())
            cells.append(Text(f"{v:.2f}".rjust(cell), style=style))
        table.add_row(Text(label[:label_width]), *cells)
    return table
