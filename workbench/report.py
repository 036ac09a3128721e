"""Result tables: printed (``synthdiv report``, the end of ``synthdiv run``) and exported
(``synthdiv export``) as CSV, Markdown, LaTeX or JSON, with what is needed to reproduce them."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from store import embeddings, experiments, real
from store.core import Store
from synthdiv.analysis import MATRICES, TABLES
from synthdiv.measures import CAUSE_COLUMNS
from synthdiv.embed import embedder_identity, resolve_embedder
from synthdiv.errors import SynthdivError
from synthdiv.measures import HEADLINE
from synthdiv.sources import hub_snapshot
from workbench.config import ExperimentConfig, from_experiment
from workbench.console import note as console_note
from workbench.results import Results

FORMATS = ("csv", "md", "tex", "json")
CAUSE_LEGEND = (
    "concept: s→r real accuracy of the synthetic-trained probe on CLIP, px s→r of the synthetic-trained pixel "
    "classifier ([train] runs), cent synthetic·real centroid cosine; "
    "adherence: adh zero-shot accuracy on synthetic; diversity: Vendi÷ and dist÷ synthetic ÷ real; "
    "ambiguity: name highest text similarity to another class (nearest), zs conf share of real images "
    "zero-shot put in another class"
)


def embedding_model(cfg: ExperimentConfig, st: Store | None = None, experiment_id: int | None = None) -> str:
    """The name the experiment's embeddings are stored under. An ``hf-hub:`` model is named with
    its snapshot's commit; where this machine's cache lacks it (a store read elsewhere), the
    name is the one in the store (``st``, ``experiment_id``) with the most embeddings."""
    spec = resolve_embedder(cfg.embedding.model, cfg.embedding.pretrained)
    name = embedder_identity(spec)[0]
    if st is not None and experiment_id is not None and spec.kind == "hf-hub" and name == spec.model:
        stored = {m: n for m, n in embeddings.models(st, experiment_id).items() if m.startswith(spec.model + "@")}
        if stored:
            name = max(stored, key=lambda m: (stored[m], m))
    return name


def encoder_analyses(st: Store, exp: dict) -> list[tuple[str, dict]]:
    """(stored name, analysis) of each image-only encoder of the experiment (``[embedding]
    image_models``) that has embeddings; the name found in the store where this machine lacks the
    encoder's weights (a store read elsewhere)."""
    from synthdiv.image_encoders import encoder_identity, name_stem, stored_spec
    from workbench.analysis import ensure

    out = []
    stored = embeddings.models(st, exp["id"])
    for text in from_experiment(exp).embedding.image_models:
        spec = stored_spec(text)
        here = Path(spec.ref).is_dir() if spec.kind == "local-dir" else hub_snapshot(spec.ref) is not None
        name = encoder_identity(spec) if here else None
        if name not in stored:  # weights not here, or changed since: the stored embeddings under this stem
            mine = {m: n for m, n in stored.items() if m.startswith(name_stem(spec) + "@")}
            name = max(mine, key=lambda m: (mine[m], m)) if mine else None
        analysis = ensure(st, exp["id"], name) if name else None
        if analysis is not None:
            out.append((name, analysis))
    return out


def print_encoders(console: Console, analyses: list[tuple[str, dict]]) -> None:
    """Each image-only encoder's headline numbers and its per-class diversity and probe columns."""
    for name, analysis in analyses:
        result = analysis["result"]
        print_summary(console, result, name, encoder=True)
        table = Table(title=f"Per class, image encoder {name}", title_justify="left", box=None)
        cols = (("class", "class"), ("synthetic_to_real", "s→r"), ("real_to_real", "r→r"), ("vendi_ratio", "Vendi÷"),
                ("distance_ratio", "dist÷"), ("precision", "prec"), ("recall", "rec"), ("frechet", "Fréchet"))
        for key, head in cols:
            table.add_column(head, justify="left" if key == "class" else "right")
        accuracy = {r["class"]: r for r in result["accuracy"]}
        for row in result["diversity"]:
            both = {**accuracy.get(row["class"], {}), **row}
            table.add_row(*(fmt(both.get(key)) for key, _ in cols))
        console.print(table)


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


ENCODER_TABLES = ("headline", "diversity", "accuracy", "memorisation")  # what an image-only encoder gives


def fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


# The report's names for the headline measures (synthdiv.measures.HEADLINE defines them).
LABELS = {
    "adherence": "prompt adherence", "zero_shot_real": "CLIP zero-shot, real", "synthetic_to_real": "synthetic→real",
    "real_to_real": "real→real", "pixel_synthetic_to_real": "synthetic→real, pixels",
    "pixel_real_to_real": "real→real, pixels", "diversity_ratio": "diversity ratio", "vendi_ratio": "Vendi ratio (equal n)",
    "precision": "precision", "recall": "recall", "density": "density", "coverage": "coverage",
    "frechet": "Fréchet distance", "cmmd": "CMMD", "near_duplicates": "near-duplicates",
    "nearest_real_train": "nearest real train",
}


def interval_text(row: dict) -> str:
    """``[low, high]`` of a headline row, or ``—`` where it has none."""
    return "—" if row.get("low") is None else f"[{fmt(row['low'])}, {fmt(row['high'])}]"


def n_text(row: dict) -> str:
    """What a headline number rests on: ``10 classes`` (the units its interval resampled) or
    ``2000 per set`` (an experiment-wide measure at equal n)."""
    if row.get("n") is None:
        return ""
    return f"{row['n']} per set" if row.get("resampled") == "subsets" else f"{row['n']} classes"


def headline_rows(result: dict) -> list[dict]:
    """The analysis's headline rows; an analysis stored before intervals existed gives its
    summary values without intervals."""
    if "headline" in result:
        return result["headline"]
    return [{"measure": k, "value": v, "low": None, "high": None, "n": None, "resampled": None}
            for k, v in result["summary"][0].items()]


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
        table.add_row(LABELS.get(row["measure"], row["measure"]), fmt(row["value"]), interval_text(row),
                      n_text(row), *((what.get(row["measure"], ""),) if wide else ()))
    console.print(table)


def print_causes(console: Console, result: dict, limit: int | None = 15) -> None:
    rows = result["four_causes"][:limit] if limit else result["four_causes"]
    more = len(result["four_causes"]) - len(rows)
    table = Table(title="The four causes per class, worst first" + (f" (top {len(rows)}; --all for every class)"
                                                                    if more else ""), title_justify="left")
    # the pixel classifier's column only where it has numbers ([train] runs): the table is wide
    cols = [(key, head) for key, head in CAUSE_COLUMNS
            if key != "concept_pixel_synthetic_to_real" or any(r.get(key) is not None for r in rows)]
    for key, head in cols:
        table.add_column(head, justify="left" if key in ("class", "ambiguity_nearest_class") else "right")
    for r in rows:
        table.add_row(*(fmt(r.get(key)) for key, _ in cols))
    console.print(table)
    console.print(CAUSE_LEGEND, style="dim")
    for note in result.get("notes", [])[:5]:
        console.print(console_note(note))


def generation_settings(st: Store, experiment_id: int) -> list[dict]:
    """How the experiment's images were made: one row per distinct model, revision, hash,
    scheduler, steps, guidance, size, dtype and device, with how many ``images`` each."""
    return [dict(r) for r in st.conn.execute(
        "select model_id, model_revision, model_hash, scheduler, steps, guidance, width, height, dtype, device,"
        " count(*) as images from images where experiment_id = ? group by model_id, model_revision, model_hash,"
        " scheduler, steps, guidance, width, height, dtype, device", [experiment_id])]


def metadata(st: Store, exp: dict, analysis: dict) -> dict:
    """What an exported table needs to be reproduced: config, models, hashes, counts, when."""
    generation = generation_settings(st, exp["id"])
    return {
        "experiment": exp["name"], "store": str(st.root), "config": json.loads(exp["config"]),
        "embedding_model": analysis["model"], "generation": generation, "counts": analysis["counts"],
        "analysis_counts": analysis["result"]["counts"], "computed_at": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(analysis["computed_at"])),
        "synthdiv_version": __import__("synthdiv").__version__, "notes": analysis["result"].get("notes", []),
        "real_unreadable": [{"path": r["path"], "error": r["error"]} for r in real.unreadable(st, exp["id"])],
    }


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


def export(res: Results, formats: list[str], out: Path,
           extra: dict[str, tuple[list[str], list[list]]] | None = None, extra_json: dict | None = None) -> list[Path]:
    """Write every table of the experiment's results in each format into ``out``; return the
    files written. ``extra``: more tables to write beside the experiment's (the store's compare
    tables), ``extra_json`` the same as data for the JSON file."""
    from workbench import trained

    st, exp, runs, result, encoders = res.st, res.exp, res.runs, res.result, res.encoders
    meta = metadata(st, exp, res.analysis)
    every, epochs = res.every_run, res.epochs
    tables = {**res.tables(), **(extra or {})}
    data = {"metadata": meta, **result, **(extra_json or {})}
    if encoders:
        meta["image_encoders"] = [name for name, _ in encoders]
        data["image_encoders"] = {name: {t: a["result"][t] for t in ENCODER_TABLES} | {"counts": a["result"]["counts"]}
                                  for name, a in encoders}
    if every:
        data["training"] = {"runs": [{**row, "settings": r["settings"], "result": r["result"]}
                                     for row, r in zip(trained.run_rows(every), every, strict=True)],
                            "per_class": trained.per_class_rows(runs), "epochs": trained.epoch_rows(runs, epochs),
                            "gap": trained.gap(runs), "headline": trained.headline(runs)}
    return write_tables(tables, formats, out, f"synthdiv report: {exp['name']}", meta, data, "synthdiv-report")


def write_tables(tables: dict[str, tuple[list[str], list[list]]], formats: list[str], out: Path, title: str,
                 meta: dict, data: dict, stem: str) -> list[Path]:
    """Write ``tables`` (name → header, rows) into ``out`` as CSV (one file per table, and
    ``metadata.json``), Markdown and LaTeX (one file, ``stem``.md / .tex, headed by ``title`` and
    ``meta``) and JSON (``data``, as ``stem``.json); every string escaped for its format."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(name: str, text: str) -> None:
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)

    for f in formats:
        if f == "json":
            write(f"{stem}.json", json.dumps(data, indent=2))
        elif f == "csv":
            for name, (head, rows) in tables.items():
                buf = io.StringIO()
                w = csv.writer(buf, lineterminator="\n")
                w.writerow([_csv_cell(h) for h in head])
                w.writerows([[_csv_cell(v) for v in row] for row in rows])
                write(f"{name}.csv", buf.getvalue())
            write("metadata.json", json.dumps(meta, indent=2))
        elif f == "md":
            # the metadata is JSON in a fenced block: json.dumps writes no raw line break and no backtick run
            parts = [f"# {_md_cell(title)}\n", "```json\n" + json.dumps(meta, indent=2) + "\n```\n"]
            for name, (head, rows) in tables.items():
                parts.append(f"## {name}\n")
                parts.append("| " + " | ".join(_md_cell(h) for h in head) + " |")
                parts.append("|" + "---|" * len(head))
                parts += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
                parts.append("")
            write(f"{stem}.md", "\n".join(parts))
        elif f == "tex":
            parts = [_tex_comment(title), "% needs \\usepackage{booktabs}", _tex_comment(json.dumps(meta, indent=1))]
            for name, (head, rows) in tables.items():
                parts += [f"% table: {name}", "\\begin{tabular}{l" + "r" * (len(head) - 1) + "}", "\\toprule",
                          " & ".join(_tex_escape(h) for h in head) + " \\\\", "\\midrule"]
                parts += [" & ".join(_tex_escape(v) for v in row) + " \\\\" for row in rows]
                parts += ["\\bottomrule", "\\end{tabular}", ""]
            write(f"{stem}.tex", "\n".join(parts))
        else:
            raise SynthdivError(f"unknown export format {f!r}", f"use {', '.join(FORMATS)}")
    return written


def experiment_and_model(st: Store, name: str | None) -> tuple[dict, str]:
    exp = experiments.get(st, name)
    return exp, embedding_model(from_experiment(exp), st, exp["id"])
