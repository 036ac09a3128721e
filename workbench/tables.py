"""The result tables, built: every table of an experiment's results as (header, rows), the
names of the headline measures, and what an exported table needs to be reproduced. Written to
files by :mod:`workbench.export`, printed by :mod:`workbench.printing`."""

from __future__ import annotations

import json
import re
import time

from store import real
from store.core import Store
from store.images import generation_settings
from synthdiv.analysis import MATRICES, TABLES
from synthdiv.confidence import LEVEL
from synthdiv.dictionary import INTERVALS
from synthdiv.measures import rests_on


def fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def heading(table: str, key: str) -> str:
    """A column's heading in a table for people (Markdown, LaTeX): the headline measure's name, else
    the heading a screen shows it under, else its key in words (``n_real_test`` → ``n real test``)."""
    from screens import labels

    if key in labels.HEADLINE_NAMES:
        return labels.HEADLINE_NAMES[key]
    for view in (labels.ACCURACY, labels.DIVERSITY, labels.CAUSES):
        for k, h in view:
            if k == key and len(h) > 3:
                return h
    return key.replace("_", " ")


def interval_text(row: dict) -> str:
    """``[low, high]`` of a headline row, or ``—`` where it has none."""
    return "—" if row.get("low") is None else f"[{fmt(row['low'])}, {fmt(row['high'])}]"


def n_text(row: dict) -> str:
    """What a headline number rests on (:func:`synthdiv.measures.rests_on`)."""
    return rests_on(row)


def headline_rows(result: dict) -> list[dict]:
    """The analysis's headline rows; an analysis stored before intervals existed gives its
    summary values without intervals."""
    if "headline" in result:
        return result["headline"]
    return [{"measure": k, "value": v, "low": None, "high": None, "n": None, "resampled": None}
            for k, v in result["summary"][0].items()]


def columns_of(rows: list[dict]) -> list[str]:
    """Every key of ``rows``, in the order they first appear (a table's header)."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return cols


def tables_of(result: dict) -> dict[str, tuple[list[str], list[list]]]:
    """Every table and matrix as (header, rows) in a fixed order."""
    out = {}
    for name in TABLES:
        cols = columns_of(result[name])
        out[name] = (cols, [[r.get(c) for c in cols] for r in result[name]])
    for name in MATRICES:
        out[name] = (["class", *result["classes"]], [[c, *row] for c, row in zip(result["classes"], result[name], strict=True)])
    return out


ENCODER_TABLES = ("headline", "diversity", "accuracy", "memorisation")  # what an image-only encoder gives


def encoder_tables(analyses: list[tuple[str, dict]]) -> dict[str, tuple[list[str], list[list]]]:
    """Each encoder's image-only tables, named ``TABLE.ENCODER`` (e.g. ``diversity.timm-local-dir-dinov2-1a2b…``)."""
    out = {}
    for name, analysis in analyses:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
        result = analysis["result"]
        for table in ENCODER_TABLES:
            cols = columns_of(result[table])
            out[f"{table}.{slug}"] = (cols, [[r.get(c) for c in cols] for r in result[table]])
    return out


def metadata(st: Store, exp: dict, analysis: dict) -> dict:
    """What an exported table needs to be reproduced: config, models, hashes, counts, when."""
    generation = generation_settings(st, exp["id"])
    return {
        "experiment": exp["name"], "store": str(st.root), "config": json.loads(exp["config"]),
        "embedding_model": analysis["model"], "generation": generation, "counts": analysis["counts"],
        "analysis_counts": analysis["result"]["counts"], "computed_at": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(analysis["computed_at"])),
        "synthdiv_version": __import__("synthdiv").__version__, "notes": analysis["result"].get("notes", []),
        "intervals": {"level": LEVEL, "methods": INTERVALS,
                      "where": "each column's method: the columns table (columns.csv), column interval"},
        "units": {"cmmd": "MMD² × 1000 (as published)", "every column": "the columns table, column unit"},
        "real_unreadable": [{"path": r["path"], "error": r["error"]} for r in real.unreadable(st, exp["id"])],
    }
