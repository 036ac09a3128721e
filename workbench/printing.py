"""The command line's result tables on the terminal (``synthdiv compare``; rich tables and text
plots). What the tables hold is built elsewhere (:mod:`workbench.compare`); this module only draws
it, with the text views it shares with the workbench's screens (:mod:`screens.plot`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from screens.plot import text_plot
from synthdiv.measures import HEADLINE
from workbench.compare import PLOTTED, short_names, shown
from workbench.report import LABELS, fmt


def print_comparison(console: Console, comparison: dict, limit: int | None = 15) -> None:
    """The three tables and, for a sweep of one numeric key, a plot of each headline against it."""
    measures = _print_headlines(console, comparison)
    _print_differences(console, comparison)
    _print_per_class(console, comparison, limit)
    _plot_against_axis(console, comparison, measures)
    for note in comparison.get("notes", []):
        console.print(note, style="dim")


def _print_headlines(console: Console, comparison: dict) -> list:
    """Measures down, experiments across (a sweep of several values fits the terminal this way);
    returns the headline measures that any experiment has."""
    keys = comparison["varying"]
    exps = comparison["experiments"]
    short = short_names([r["experiment"] for r in exps])
    prefix = exps[0]["experiment"][: -len(short[exps[0]["experiment"]])] if exps else ""
    table = Table(title="Headline numbers per experiment" + (f" of {prefix.rstrip('/')}" if prefix else "")
                  + ", 95 % bootstrap intervals below each", title_justify="left")
    table.add_column("")
    for r in exps:
        table.add_column(short[r["experiment"]], justify="right", overflow="fold")
    for k in keys:
        table.add_row(k, *(shown(r.get(k)) for r in exps), style="bold")
    measures = [m for m in HEADLINE if any(r.get(m.key) is not None for r in exps)]
    for m in measures:
        table.add_row(LABELS.get(m.key, m.key),
                      *(_with_interval(r.get(m.key), r.get(m.key + "_low"), r.get(m.key + "_high")) for r in exps))
    console.print(table)
    return measures


def _print_differences(console: Console, comparison: dict) -> None:
    """Each experiment against the baseline: the mean per-class difference of each measure."""
    exps = comparison["experiments"]
    base = comparison["baseline"]
    short = short_names([r["experiment"] for r in exps])
    for name in (r["experiment"] for r in exps):
        diffs = [r for r in comparison["differences"] if r["experiment"] == name and r["difference"] is not None]
        if not diffs:
            continue
        table = Table(title=f"{short[name]} against {short[base]}: mean per-class difference, paired over classes"
                            " (* the interval excludes 0)", title_justify="left")
        for head, justify in (("measure", "left"), ("difference", "right"), ("95 % interval", "right"),
                              ("classes", "right")):
            table.add_column(head, justify=justify)
        for r in diffs:
            mark = " *" if r["excludes_zero"] else ""
            table.add_row(LABELS.get(r["measure"], r["measure"]), f"{r['difference']:+.3f}{mark}",
                          "—" if r["low"] is None else f"[{r['low']:+.3f}, {r['high']:+.3f}]", str(r["n_classes"]))
        console.print(table)


def _print_per_class(console: Console, comparison: dict, limit: int | None) -> None:
    """The per-class measure against the baseline, largest differences first."""
    short = short_names([r["experiment"] for r in comparison["experiments"]])
    base = comparison["baseline"]
    rows = comparison["per_class"][:limit]
    measure = LABELS.get(comparison["per_class_measure"], comparison["per_class_measure"])
    table = Table(title=f"{measure} per class against {short[base]}, largest differences first"
                        + (f" (top {len(rows)} of {len(comparison['per_class'])})"
                           if len(comparison["per_class"]) > len(rows) else "") + " (* interval excludes 0)",
                  title_justify="left")
    for head, justify in (("experiment", "left"), ("class", "left"), ("value", "right"), ("baseline", "right"),
                          ("difference", "right"), ("95 % interval", "right")):
        table.add_column(head, justify=justify)
    for r in rows:
        table.add_row(short.get(r["experiment"], r["experiment"]), r["class"], fmt(r["value"]), fmt(r["baseline_value"]),
                      f"{r['difference']:+.3f}" + (" *" if r["excludes_zero"] else ""),
                      f"[{r['low']:+.3f}, {r['high']:+.3f}]")
    console.print(table)


def _plot_against_axis(console: Console, comparison: dict, measures: list) -> None:
    """For a sweep of one numeric key: each plotted headline against it, with its intervals."""
    axis = comparison.get("axis")
    if not axis:
        return
    for m in (m for m in measures if m.key in PLOTTED):
        points = [(r[axis], r.get(m.key), r.get(m.key + "_low"), r.get(m.key + "_high"))
                  for r in comparison["experiments"] if r.get(m.key) is not None]
        if len(points) >= 2:
            console.print(f"{LABELS.get(m.key, m.key)} against {axis} (bars: 95 % interval)", style="bold")
            console.print("\n".join(text_plot(points, width=min(60, console.width - 12), height=8)))


def _with_interval(value, low, high) -> str:
    """A value with its interval on the line below (two decimals), or the value alone."""
    if value is None:
        return "—"
    return fmt(value) + ("" if low is None else f"\n[{low:.2f}, {high:.2f}]")
