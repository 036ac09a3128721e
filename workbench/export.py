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
from workbench.tables import ENCODER_TABLES, fmt, metadata

Tables = dict[str, tuple[list[str], list[list]]]


# Exported strings hold names, templates and paths the user typed. Each format has one function
# that makes a string safe in it; every string written in that format goes through it.
_LINE_BREAKS = str.maketrans({c: " " for c in "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


def _one_line(s: str) -> str:
    """``s`` with every character that would start a new line made a space."""
    return s.translate(_LINE_BREAKS)


def _tex_escape(v) -> str:
    """A table cell or heading as LaTeX text: every special character escaped, on one line (a
    newline in a name must not end a comment or start a command)."""
    s = _one_line(fmt(v) if not isinstance(v, str) else v)
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                 ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}"), ("—", "--")):
        s = s.replace(a, b)
    return s


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

def _json_files(tables: Tables, title: str, meta: dict, data: dict, stem: str) -> dict[str, str]:
    return {f"{stem}.json": json.dumps(data, indent=2)}


def _csv_files(tables: Tables, title: str, meta: dict, data: dict, stem: str) -> dict[str, str]:
    """One file per table, and ``metadata.json`` beside them."""
    out = {}
    for name, (head, rows) in tables.items():
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([_csv_cell(h) for h in head])
        w.writerows([[_csv_cell(v) for v in row] for row in rows])
        out[f"{name}.csv"] = buf.getvalue()
    out["metadata.json"] = json.dumps(meta, indent=2)
    return out


def _md_files(tables: Tables, title: str, meta: dict, data: dict, stem: str) -> dict[str, str]:
    # the metadata is JSON in a fenced block: json.dumps writes no raw line break and no backtick run
    parts = [f"# {_md_cell(title)}\n", "```json\n" + json.dumps(meta, indent=2) + "\n```\n"]
    for name, (head, rows) in tables.items():
        parts.append(f"## {name}\n")
        parts.append("| " + " | ".join(_md_cell(h) for h in head) + " |")
        parts.append("|" + "---|" * len(head))
        parts += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
        parts.append("")
    return {f"{stem}.md": "\n".join(parts)}


def _tex_files(tables: Tables, title: str, meta: dict, data: dict, stem: str) -> dict[str, str]:
    parts = [_tex_comment(title), "% needs \\usepackage{booktabs}", _tex_comment(json.dumps(meta, indent=1))]
    for name, (head, rows) in tables.items():
        parts += [f"% table: {name}", "\\begin{tabular}{l" + "r" * (len(head) - 1) + "}", "\\toprule",
                  " & ".join(_tex_escape(h) for h in head) + " \\\\", "\\midrule"]
        parts += [" & ".join(_tex_escape(v) for v in row) + " \\\\" for row in rows]
        parts += ["\\bottomrule", "\\end{tabular}", ""]
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
