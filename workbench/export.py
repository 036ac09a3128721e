"""The result tables written to files (``synthdiv export``, the workbench's export key): one
writer per format — CSV, Markdown, LaTeX, JSON — each with the one function that makes a string
safe in its format, chosen from :data:`WRITERS`. The tables themselves are built in
:mod:`workbench.tables`."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Callable

from synthdiv.errors import SynthdivError
from workbench.results import Results
from synthdiv.dictionary import COLUMNS_HEAD, base_table, dictionary
from workbench.tables import ENCODER_TABLES, fmt, heading, metadata

Tables = dict[str, tuple[list[str], list[list]]]


# Exported strings hold names, templates and paths the user typed. Each format has one function
# that makes a string safe in it; every string written in that format goes through it.
_LINE_BREAKS = str.maketrans({c: " " for c in "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


def _one_line(s: str) -> str:
    """``s`` with every character that would start a new line made a space."""
    return s.translate(_LINE_BREAKS)


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "—": "---", "–": "--",
        "→": r"$\rightarrow$", "÷": r"$\div$", "×": r"$\times$", "−": "$-$", "≥": r"$\geq$", "≤": r"$\leq$",
        "·": r"$\cdot$", "\u200b": r"\allowbreak{}", "‖": r"$\|$", "²": r"$^2$", "σ": r"$\sigma$", "≈": r"$\approx$", "…": r"\ldots{}"}
_TEX_SPECIAL = re.compile("|".join(re.escape(c) for c in _TEX))


def _tex_escape(v) -> str:
    """A table cell or heading as LaTeX text: every special character escaped in one pass (so an
    escape's own braces are never escaped again), the symbols synthdiv writes (→, ÷, ×, −, …) in
    math mode, on one line (a newline in a name must not end a comment or start a command)."""
    s = _one_line(fmt(v) if not isinstance(v, str) else v)
    return _TEX_SPECIAL.sub(lambda m: _TEX[m.group(0)], s)


def _tex_comment(text: str) -> str:
    """``text`` as LaTeX comment lines: every line, however the text breaks, starts with ``%``."""
    return "\n".join("% " + line for line in text.translate(
        str.maketrans({c: "\n" for c in "\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})).split("\n"))


def _csv_cell(v):
    """A CSV cell: numbers as they are; a string that a spreadsheet would run as a formula
    (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``,
    the usual guard, which spreadsheets show as text."""
    if v is None:
        return ""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def _md_cell(v) -> str:
    """A Markdown table cell: one line, ``|`` escaped, HTML's ``<``, ``>`` and ``&`` as entities."""
    s = _one_line(fmt(v))
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def md_text(v) -> str:
    """Markdown prose (a heading, a caption): one line, every character Markdown would read as
    syntax escaped — emphasis, code, links, tables and strike-through anywhere, HTML as entities,
    and a heading, list or quote marker at the start."""
    s = _one_line(fmt(v) if not isinstance(v, str) else v)
    s = re.sub(r"([\\`*_\[\]|~])", r"\\\1", s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"^(\s*)([#+-]|\d+[.)])", r"\1\\\2", s)


def report_data(res: Results) -> dict:
    """Every result of the experiment as JSON-ready data: ``metadata`` (what reproduces it), the
    analysis's tables and matrices, each image encoder's tables and the training runs (the JSON
    export, and ``synthdiv report --json``)."""
    from workbench import trained

    runs, result, encoders, every, epochs = res.runs, res.result, res.encoders, res.every_run, res.epochs
    meta = metadata(res.st, res.exp, res.analysis)
    data = {"metadata": meta, **result}
    if encoders:
        meta["image_encoders"] = [name for name, _ in encoders]
        data["image_encoders"] = {name: {t: a["result"][t] for t in ENCODER_TABLES} | {"counts": a["result"]["counts"]}
                                  for name, a in encoders}
    if every:
        data["training"] = {"runs": [{**row, "settings": r["settings"], "result": r["result"]}
                                     for row, r in zip(trained.run_rows(every), every, strict=True)],
                            "per_class": trained.per_class_rows(runs), "epochs": trained.epoch_rows(runs, epochs),
                            "gap": trained.gap(runs), "headline": trained.headline(runs)}
    return data


def export(res: Results, formats: list[str], out: Path,
           extra: dict[str, tuple[list[str], list[list]]] | None = None, extra_json: dict | None = None) -> list[Path]:
    """Write every table of the experiment's results in each format into ``out``; return the
    files written. ``extra``: more tables to write beside the experiment's (the store's compare
    tables), ``extra_json`` the same as data for the JSON file."""
    data = {**report_data(res), **(extra_json or {})}
    tables = {**res.tables(), **(extra or {})}
    return write_tables(tables, formats, out, f"synthdiv report: {res.exp['name']}", data["metadata"], data,
                        "synthdiv-report")


# --- the writers: each gives the files of its format as {file name: text} --------------------------

_MATRICES = ("similarity_text", "similarity_synthetic_text", "similarity_real_text", "similarity_synthetic_real",
             "confusion")


def field_name(table: str, head: str) -> str:
    """A CSV or JSON header: snake_case (``trains on`` → ``trains_on``, a run ``mix-1x`` →
    ``mix_1x``); the class names heading a class × class matrix's columns stay as they are."""
    if base_table(table) in _MATRICES and head != "class":
        return head
    return re.sub(r"[^0-9a-z]+", "_", head.lower()).strip("_") or "column"


def _named(tables: Tables) -> Tables:
    """``tables`` with snake_case headers (:func:`field_name`)."""
    return {name: ([field_name(name, h) for h in head], rows) for name, (head, rows) in tables.items()}


def column_table(tables: Tables) -> tuple[list[str], list[list]]:
    """The column dictionary of ``tables`` as a table (:func:`synthdiv.dictionary.dictionary`)."""
    rows = dictionary(_named(tables))
    return COLUMNS_HEAD, [[r[c] for c in COLUMNS_HEAD] for r in rows]


def _json_files(tables: Tables, title: str, meta: dict, data: dict, stem: str) -> dict[str, str]:
    head, rows = column_table(tables)
    return {f"{stem}.json": json.dumps({**data, "columns": [dict(zip(head, r, strict=True)) for r in rows]}, indent=2)}


def _csv_files(tables: Tables, title: str, meta: dict, data: dict, stem: str) -> dict[str, str]:
    """One file per table, ``columns.csv`` (what every column means) and ``metadata.json``."""
    out = {}
    for name, (head, rows) in {**_named(tables), "columns": column_table(tables)}.items():
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([_csv_cell(h) for h in head])
        w.writerows([[_csv_cell(v) for v in row] for row in rows])
        out[f"{name}.csv"] = buf.getvalue()
    out["metadata.json"] = json.dumps(meta, indent=2)
    return out


def _md_files(tables: Tables, title: str, meta: dict, data: dict, stem: str) -> dict[str, str]:
    # the metadata is JSON in a fenced block: json.dumps writes no raw line break and no backtick run
    parts = [f"# {_md_cell(title)}\n", _md_cell(_NOTE) + "\n", "```json\n" + json.dumps(meta, indent=2) + "\n```\n"]
    for name, (head, rows) in {**tables, "columns": column_table(tables)}.items():
        parts.append(f"## {_md_cell(name)}\n")
        parts.append("| " + " | ".join(_md_cell(heading(name, h)) for h in head) + " |")
        parts.append("|" + "---|" * len(head))
        parts += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
        parts.append("")
    return {f"{stem}.md": "\n".join(parts)}


_NOTE = ("Intervals are 95 % bootstrap intervals; the columns table says, for every column, its meaning, unit,"
         " the column holding the n it rests on, and how its interval was drawn. CMMD is MMD² × 1000.")

TEXT_WIDTH_PT = 340.0  # an A4 or letter page's text width in the article class (345 pt), with a margin
_CHAR_PT = 4.6  # a character of \small text (9 pt), on average
_COLUMN_PAD_PT = 8.0  # \tabcolsep 4 pt each side


def _cell_width(text: str) -> float:
    return len(text) * _CHAR_PT


_WRAP_PT = 160.0  # a column wider than this wraps its text in a paragraph column of this width


def _tex_columns(head: list[str], rows: list[list]) -> list[tuple[float, str]]:
    """Each column's estimated width in points and its column type: ``l`` for the first, ``r``
    for the others, a wrapping ``p{…}`` for one whose text runs wider than :data:`_WRAP_PT`."""
    out = []
    for i, h in enumerate(head):
        w = max([_cell_width(h)] + [_cell_width(r[i] if isinstance(r[i], str) else fmt(r[i])) for r in rows])
        if w > _WRAP_PT:
            out.append((_WRAP_PT + _COLUMN_PAD_PT, f"p{{{_WRAP_PT:.0f}pt}}"))
        else:
            out.append((w + _COLUMN_PAD_PT, "l" if i == 0 else "r"))
    return out


def _tex_parts(head: list[str], rows: list[list], width: float = TEXT_WIDTH_PT) -> list[list[int]]:
    """The columns of a table cut into parts that each fit ``width``: every part repeats the first
    column (the class or the measure), the others follow in order, as many as fit."""
    widths = [w for w, _ in _tex_columns(head, rows)]
    parts, current, used = [], [0], widths[0]
    for i in range(1, len(head)):
        if len(current) > 1 and used + widths[i] > width:
            parts.append(current)
            current, used = [0], widths[0]
        current.append(i)
        used += widths[i]
    parts.append(current)
    return parts


def _tex_label(name: str) -> str:
    return "tab:synthdiv-" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


def _tex_files(tables: Tables, title: str, meta: dict, data: dict, stem: str) -> dict[str, str]:
    """Every table as a ``longtable`` (rows break across pages) in \\small type, its columns cut into
    parts that fit the page's width (:func:`_tex_parts`), each part with its caption and label."""
    parts = [_tex_comment(title), "% needs \\usepackage{array,booktabs,longtable}; \\input this file in a document",
             _tex_comment(_NOTE), _tex_comment(json.dumps(meta, indent=1))]
    for name, (head, rows) in {**tables, "columns": column_table(tables)}.items():
        if not head:  # a table with no rows yet has no columns either: nothing to set
            parts += [f"% table: {name} (empty)", ""]
            continue
        shown = [heading(name, h) for h in head]
        if name == "columns":
            # prose: every cell wraps in its paragraph column, names break after an underscore
            kinds = [f">{{\\raggedright\\arraybackslash}}p{{{w}pt}}" for w in (52, 62, 62, 40, 34, 46)]
            cut = [list(range(len(head)))]
            rows = [[re.sub(r"([_./])", "\\1\u200b", v) if isinstance(v, str) else v for v in r] for r in rows]
        else:
            kinds = [k for _, k in _tex_columns(shown, rows)]
            cut = _tex_parts(shown, rows)
        for k, cols in enumerate(cut):
            label = _tex_label(name) + (f"-{k + 1}" if len(cut) > 1 else "")
            caption = f"synthdiv: {name}" + (f" (part {k + 1} of {len(cut)})" if len(cut) > 1 else "")
            colspec = "".join(kinds[i] for i in cols)
            heads = " & ".join(_tex_escape(heading(name, head[i])) for i in cols) + " \\\\"
            size = "\\footnotesize" if name == "columns" else "\\small"
            parts += [f"% table: {name}", "{" + size + "\\setlength{\\tabcolsep}{4pt}",
                      f"\\begin{{longtable}}{{{colspec}}}",
                      f"\\caption{{{_tex_escape(caption)}}}\\label{{{label}}} \\\\",
                      "\\toprule", heads, "\\midrule", "\\endfirsthead",
                      "\\toprule", heads, "\\midrule", "\\endhead", "\\bottomrule", "\\endlastfoot"]
            parts += [" & ".join(_tex_escape(row[i]) for i in cols) + " \\\\" for row in rows]
            parts += ["\\end{longtable}}", ""]
    return {f"{stem}.tex": "\n".join(parts)}


Writer = Callable[[Tables, str, dict, dict, str], dict[str, str]]
WRITERS: dict[str, Writer] = {"csv": _csv_files, "md": _md_files, "tex": _tex_files, "json": _json_files}
FORMATS = tuple(WRITERS)


def write_tables(tables: Tables, formats: list[str], out: Path, title: str, meta: dict, data: dict,
                 stem: str) -> list[Path]:
    """Write ``tables`` (name → header, rows) into ``out`` as CSV (one file per table, and
    ``metadata.json``), Markdown and LaTeX (one file, ``stem``.md / .tex, headed by ``title`` and
    ``meta``) and JSON (``data``, as ``stem``.json); every string escaped for its format."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for f in formats:
        writer = WRITERS.get(f)
        if writer is None:
            raise SynthdivError(f"unknown export format {f!r}", f"use {', '.join(FORMATS)}")
        for name, text in writer(tables, title, meta, data, stem).items():
            path = out / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
