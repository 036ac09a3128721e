"""The command line's result tables on the terminal (``synthdiv run``, ``report``, ``compare``:
rich tables and text plots). What the tables hold is built elsewhere (:mod:`workbench.results`,
:mod:`workbench.tables`, :mod:`workbench.trained`, :mod:`workbench.compare`); this module only
draws it, with the text views it shares with the workbench's screens (:mod:`screens.plot`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from screens.plot import text_plot
from synthdiv.causes import headline_sentence
from synthdiv.measures import HEADLINE
from workbench.compare import PLOTTED, short_names, shown
from workbench.console import note as console_note
from screens.labels import ENCODER, HEADLINE_NAMES, REPORT_CAUSES, REPORT_CAUSES_LEGEND
from workbench.tables import fmt, headline_rows, interval_text, n_text
from workbench.trained import finished_run, gap, run_label, run_rows


def print_summary(console: Console, result: dict, model: str, encoder: bool = False) -> None:
    """The headline numbers, each with its 95 % bootstrap interval and the n it rests on (of an
    image-only ``encoder``: those it gives)."""
    c = result["counts"]
    table = Table(title=f"Headline numbers ({'image encoder' if encoder else 'CLIP'} {model}; {c['synthetic']} synthetic, {c['real_test']} real test,"
                        f" {c['real_train']} real train images; 95 % bootstrap intervals)", title_justify="left",
                  box=None)
    wide = console.width >= 120  # the definitions fit beside the numbers
    for head, style, justify in (("", "bold", "left"), ("value", None, "right"), ("95 % interval", None, "right"),
                                 ("n", "dim", "right"), *((("", "dim", "left"),) if wide else ())):
        table.add_column(head, style=style, justify=justify)
    what = {m.key: m.what for m in HEADLINE}
    for row in headline_rows(result):
        if row["value"] is None:
            continue
        table.add_row(HEADLINE_NAMES.get(row["measure"], row["measure"]), fmt(row["value"]), interval_text(row),
                      n_text(row), *((what.get(row["measure"], ""),) if wide else ()))
    console.print(table)


def print_causes(console: Console, result: dict, limit: int | None = 15) -> None:
    """The four-causes table, largest gap first, after the sentence naming the classes whose gap
    interval lies above 0: the ranking, the labels and the main evidence (every column: export)."""
    every = result["four_causes"]
    rows = every[:limit] if limit else every
    more = len(every) - len(rows)
    console.print(headline_sentence(every))
    by = next((r.get("gap_by") for r in every if r.get("gap_by")), None)
    said = ([f"gap by the {by}"] if by else []) + ([f"top {len(rows)}, --all for every class"] if more else [])
    table = Table(title="The four causes per class, largest gap first" + (f" ({'; '.join(said)})" if said else ""),
                  title_justify="left", box=None, collapse_padding=True)
    # the senses' columns only where a class has another sense
    cols = [(key, head) for key, head in REPORT_CAUSES
            if not key.startswith("sense_") or any(r.get(key) is not None for r in rows)]
    for key, head in cols:
        table.add_column(head, no_wrap=True, overflow="ellipsis", min_width={"class": 5, "causes": 6, "gap_low": 14}.get(key, 5),
                         justify="left" if key in ("class", "causes") else "right")
    for r in rows:
        table.add_row(*(Text(interval_text({"low": r.get("gap_low"), "high": r.get("gap_high")})) if key == "gap_low"
                        else Text(fmt(r.get(key))) for key, _ in cols))
    console.print(table)
    console.print(REPORT_CAUSES_LEGEND, style="dim")
    readers = sorted({r["adherence_by"] for r in every if r.get("adherence_by")})
    if readers:
        console.print("adh read by: " + "; ".join(readers) + ".", style="dim")
    if any(r.get("adherence_circular") for r in every):
        console.print("CLIP's adherence is circular here: the CLIP that reads the images has the generator's own text"
                      " encoder (the same weights). Its open- and closed-set adherence ask the model's encoder whether the"
                      " model followed it; a [train] judge (a classifier trained on real images) does not.", style="bold")
    for note in result.get("notes", [])[:5]:
        console.print(console_note(note))


def print_templates(console: Console, result: dict, limit: int | None = 15) -> None:
    """Per class (in the four-causes order), its synthetic images' Vendi score split into the part
    the templates cause and the part within a template, and its least and most diverse template
    (nothing when the experiment has one template per class, or no template is known)."""
    by_class: dict[str, list[dict]] = {}
    for r in result.get("diversity_by_template") or []:
        by_class.setdefault(r["class"], []).append(r)
    if not by_class or all(len(v) < 2 for v in by_class.values()):
        return
    diversity = {r["class"]: r for r in result["diversity"]}
    order = [r["class"] for r in result["four_causes"] if r["class"] in by_class]
    shown = order[:limit] if limit else order
    console.print("Diversity by prompt (conditional Vendi, Jalali et al. 2024): Vendi = within a template × across"
                  " templates" + (f" (top {len(shown)}; --all for every class)" if len(shown) < len(order) else ""))
    table = Table(box=None)
    for head in ("class", "Vendi", "within", "across", "tpl", "least diverse", "most diverse"):
        text = head in ("least diverse", "most diverse")
        table.add_column(head, justify="left" if text or head == "class" else "right", overflow="ellipsis", no_wrap=True,
                         min_width=None if text else {"tpl": 3, "within": 6, "across": 6}.get(head, 5),
                         max_width=28 if text else None)
    for name in shown:
        d, rows = diversity.get(name, {}), sorted(by_class[name], key=lambda r: r["vendi"])
        two = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
        table.add_row(Text(name), two(d.get("vendi_synthetic")), two(d.get("vendi_within_template")),
                      two(d.get("vendi_across_template")), str(len(rows)),
                      Text(f"{rows[0]['vendi']:.2f} {rows[0]['template']}"),
                      Text(f"{rows[-1]['vendi']:.2f} {rows[-1]['template']}"))
    console.print(table)


def print_encoders(console: Console, analyses: list[tuple[str, dict]]) -> None:
    """Each image-only encoder's headline numbers and its per-class diversity and probe columns."""
    for name, analysis in analyses:
        result = analysis["result"]
        print_summary(console, result, name, encoder=True)
        table = Table(title=f"Per class, image encoder {name}", title_justify="left", box=None)
        cols = ENCODER
        for key, head in cols:
            table.add_column(head, justify="left" if key == "class" else "right")
        accuracy = {r["class"]: r for r in result["accuracy"]}
        for row in result["diversity"]:
            both = {**accuracy.get(row["class"], {}), **row}
            table.add_row(*(fmt(both.get(key)) for key, _ in cols))
        console.print(table)


def print_training(console: Console, runs: list[dict]) -> None:
    """The runs, their accuracies with intervals, the gap and the judge (nothing without runs)."""
    if not runs:
        return
    model = runs[0]["settings"]["recipe"]["model"]
    table = Table(title=f"Pixel classifiers ({model}, trained on the images, tested on the real test split;"
                        " 95 % bootstrap intervals over classes)", title_justify="left", box=None)
    for head, justify in (("run", "left"), ("trained on", "right"), ("state", "left"), ("accuracy", "right"),
                          ("95 % interval", "right"), ("n test", "right")):
        table.add_column(head, justify=justify, style="bold" if head == "run" else None)
    for row in run_rows(runs):
        on = "" if row["n_synthetic"] is None else f"{row['n_synthetic']} syn + {row['n_real']} real"
        state = row["state"] if row["state"] in ("done",) else f"{row['state']} {row['epoch']}/{row['epochs']}"
        ci = "—" if row["low"] is None else f"[{fmt(row['low'])}, {fmt(row['high'])}]"
        table.add_row(run_label(row["run"]), on, state, fmt(row["accuracy"]), ci, fmt(row["n_test"]))
        if row["error"]:
            table.add_row("", "", Text(row["error"][:120], style="red"), "", "", "")  # text, never markup
    real = finished_run(runs, "real")
    judge = real["result"].get("judge") if real is not None else None
    for label, h in (("gap (real − synthetic)", gap(runs)),
                     ("judge on synthetic", judge and {**judge, "value": judge["accuracy"], "n": judge["n_classes"]})):
        if h is not None:
            ci = "—" if h["low"] is None else f"[{fmt(h['low'])}, {fmt(h['high'])}]"
            table.add_row(label, f"{h['n']} classes", "", fmt(h["value"]), ci, "")
    console.print(table)


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
        table.add_row(HEADLINE_NAMES.get(m.key, m.key),
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
            table.add_row(HEADLINE_NAMES.get(r["measure"], r["measure"]), f"{r['difference']:+.3f}{mark}",
                          "—" if r["low"] is None else f"[{r['low']:+.3f}, {r['high']:+.3f}]", str(r["n_classes"]))
        console.print(table)


def _print_per_class(console: Console, comparison: dict, limit: int | None) -> None:
    """The per-class measure against the baseline, largest differences first."""
    short = short_names([r["experiment"] for r in comparison["experiments"]])
    base = comparison["baseline"]
    rows = comparison["per_class"][:limit]
    measure = HEADLINE_NAMES.get(comparison["per_class_measure"], comparison["per_class_measure"])
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
            console.print(f"{HEADLINE_NAMES.get(m.key, m.key)} against {axis} (bars: 95 % interval)", style="bold")
            console.print("\n".join(text_plot(points, width=min(60, console.width - 12), height=8)))


def _with_interval(value, low, high) -> str:
    """A value with its interval on the line below (two decimals), or the value alone."""
    if value is None:
        return "—"
    return fmt(value) + ("" if low is None else f"\n[{low:.2f}, {high:.2f}]")
