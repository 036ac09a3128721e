"""A class × class matrix as a coloured heatmap with labels, for the terminal."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text


def _colour(value: float, lo: float, hi: float) -> Style:
    """Dark blue (low) through to yellow (high), on a per-matrix scale."""
    t = 0.0 if hi <= lo else min(max((value - lo) / (hi - lo), 0.0), 1.0)
    r, g, b = int(40 + 215 * t), int(40 + 180 * t), int(120 - 100 * t)
    return Style(bgcolor=f"rgb({r},{g},{b})", color="black" if t > 0.6 else "white")


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
