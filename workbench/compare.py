"""Comparing the experiments of a store (``synthdiv compare``, the Compare screen, and the compare
tables of ``synthdiv export``): gather each experiment's analysis and config, compare them
(:mod:`synthdiv.compare`), print, and write the tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from store import experiments, training
from store.core import Store
from synthdiv.compare import compare, swept_axis
from synthdiv.errors import SynthdivError
from synthdiv.measures import HEADLINE
from workbench.config import from_experiment, to_table
from workbench.report import LABELS, columns_of, embedding_model, fmt
from workbench.trained import with_pixel


# The headline numbers plotted against a sweep's value by synthdiv compare (every one is in the tables).
PLOTTED = ("synthetic_to_real", "pixel_synthetic_to_real", "adherence", "diversity_ratio", "coverage")


def flat_config(exp: dict) -> dict[str, Any]:
    """An experiment's config as ``{"section.key": value}`` (lists as they are)."""
    out: dict[str, Any] = {}
    for key, value in to_table(from_experiment(exp)).items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def chosen(st: Store, names: list[str] | None) -> list[dict]:
    """The experiments named (in that order; each must exist), or every experiment of the store."""
    if names:
        return [experiments.get(st, n) for n in names]
    return [experiments.get(st, n) for n in experiments.names_of(st)]


def gather(st: Store, names: list[str] | None = None, progress=None) -> tuple[dict, dict, list[str]]:
    """(analysis results by experiment name, flat configs by name, notes): each experiment's
    current analysis (computed where the stored one is stale); experiments with nothing to
    analyse yet are left out with a note. ``progress(i, n, name)`` is called before each."""
    from workbench.analysis import ensure

    exps = chosen(st, names)
    results, configs, notes = {}, {}, []
    for i, exp in enumerate(exps):
        if progress:
            progress(i, len(exps), exp["name"])
        analysis = ensure(st, exp["id"], embedding_model(from_experiment(exp), st, exp["id"]))
        if analysis is None:
            notes.append(f"{exp['name']}: nothing embedded yet, left out")
            continue
        results[exp["name"]] = with_pixel(analysis["result"], training.runs(st, exp["id"]))
        configs[exp["name"]] = flat_config(exp)
    return results, configs, notes


def comparison_of(st: Store, names: list[str] | None = None, baseline: str | None = None,
                  measure: str = "synthetic_to_real", progress=None) -> dict:
    """The comparison tables of the store's experiments (see :func:`synthdiv.compare.compare`),
    with ``notes`` and the ``axis`` a sweep's plot uses (or None). Exits 2 (SynthdivError) when
    fewer than two experiments have an analysis or an argument names nothing."""
    results, configs, notes = gather(st, names, progress)
    if len(results) < 2:
        have = ", ".join(results) or "none"
        raise SynthdivError(f"comparing needs two experiments with embeddings; store {st.root} has {have}",
                            "run a sweep into it (a [sweep] table, docs/config.md) or another experiment")
    try:
        out = compare(results, configs, baseline=baseline, per_class_measure=measure)
    except ValueError as exc:
        raise SynthdivError(str(exc), "see synthdiv compare --help") from None
    out["notes"] = notes
    out["axis"] = swept_axis(out)
    return out


def short_names(names: list[str]) -> dict[str, str]:
    """Experiment names without the sweep's common ``NAME/`` prefix (``guidance=3`` for
    ``digits/guidance=3``), for column headings; names as they are when they share none."""
    if len(names) < 2 or not all("/" in n for n in names):
        return {n: n for n in names}
    heads = {n.split("/", 1)[0] for n in names}
    return {n: n.split("/", 1)[1] for n in names} if len(heads) == 1 else {n: n for n in names}


def shown(value: Any) -> str:
    """A config value in a table cell: lists as their length ("3 items"), the rest as text."""
    if isinstance(value, (list, tuple)):
        return f"{len(value)} items"
    return fmt(value)


def tables_of(comparison: dict) -> dict[str, tuple[list[str], list[list]]]:
    """The comparison as (header, rows) tables, named for export (``compare_*``)."""
    out = {}
    for name in ("experiments", "differences", "per_class"):
        rows = comparison[name]
        head = columns_of(rows)
        out[f"compare_{name}"] = (head, [[r.get(c) if not isinstance(r.get(c), (list, tuple)) else shown(r.get(c))
                                          for c in head] for r in rows])
    return out


def print_comparison(console: Console, comparison: dict, limit: int = 15) -> None:
    """The three tables and, for a sweep of one numeric key, a plot of each headline against it."""
    keys = comparison["varying"]
    exps = comparison["experiments"]
    # measures down, experiments across (a sweep of several values fits the terminal this way)
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

    axis = comparison.get("axis")
    if axis:
        from screens.plot import text_plot

        for m in (m for m in measures if m.key in PLOTTED):
            points = [(r[axis], r.get(m.key), r.get(m.key + "_low"), r.get(m.key + "_high"))
                      for r in comparison["experiments"] if r.get(m.key) is not None]
            if len(points) >= 2:
                console.print(f"{LABELS.get(m.key, m.key)} against {axis} (bars: 95 % interval)", style="bold")
                console.print("\n".join(text_plot(points, width=min(60, console.width - 12), height=8)))
    for note in comparison.get("notes", []):
        console.print(note, style="dim")


def _with_interval(value, low, high) -> str:
    """A value with its interval on the line below (two decimals), or the value alone."""
    if value is None:
        return "—"
    return fmt(value) + ("" if low is None else f"\n[{low:.2f}, {high:.2f}]")
