"""The exported tables as the tools of a paper read them: a spreadsheet or pandas (snake_case
headers, a column dictionary), pdflatex (every table fits an A4 page, with caption and label)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.slow

MATRICES = {"similarity_text", "similarity_synthetic_text", "similarity_real_text", "similarity_synthetic_real",
            "confusion"}


@pytest.fixture(scope="module")
def exported(base_store, tmp_path_factory):
    """Every table of a finished store with training runs, in every format."""
    out = tmp_path_factory.mktemp("export") / "x"
    done = run_cli("export", str(base_store), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_every_exported_column_is_in_the_dictionary_with_its_unit_and_n(exported):
    entries = {(r["table"], r["column"]): r for r in csv.DictReader(open(exported / "columns.csv"))}
    tables = [p for p in exported.glob("*.csv") if p.name != "columns.csv"]
    assert {"training_runs.csv", "four_causes.csv", "headline.csv"} <= {p.name for p in tables}
    for path in tables:
        head = _csv(path)[0]
        for col in head:
            if path.stem not in MATRICES or col == "class":
                assert re.fullmatch(r"[a-z0-9_]+", col), f"{path.name}: header {col!r} is not snake_case"
            e = entries.get((path.stem, col))
            assert e is not None, f"{path.name}: {col} has no entry in columns.csv"
            assert e["meaning"] and e["unit"], (path.name, col, e)
            if col.endswith("_low") or col.endswith("_high"):
                assert "bootstrap" in e["interval"], (path.name, col, e)
    # the numbers a reader misreads without it
    measures = {r["column"]: r for r in csv.DictReader(open(exported / "columns.csv")) if r["table"] == "measures"}
    assert measures["cmmd"]["unit"] == "MMD² × 1000" and "the synthetic and the real" in measures["cmmd"]["interval"]
    assert entries[("accuracy", "synthetic_to_real")]["n_column"] == "n_real_test"
    assert entries[("diversity", "vendi_real")]["n_column"] == "n_real"
    assert entries[("diversity", "precision")]["n_column"] == "n_equal"
    assert "trains_on" in _csv(exported / "training_runs.csv")[0]
    meta = json.loads((exported / "metadata.json").read_text())
    assert meta["intervals"]["level"] == 0.95 and "classes" in meta["intervals"]["methods"]
    data = json.loads((exported / "synthdiv-report.json").read_text())
    assert {(c["table"], c["column"]) for c in data["columns"]} == set(entries)
    md = (exported / "synthdiv-report.md").read_text()
    assert "## columns" in md and "| synthetic→real |" in md  # people's headings in Markdown


def test_every_latex_table_has_a_caption_and_a_unique_label(exported):
    tex = (exported / "synthdiv-report.tex").read_text()
    tables = tex.count("\\begin{longtable}")
    assert tables >= 15
    labels = re.findall(r"\\label\{([^}]*)\}", tex)
    assert tex.count("\\caption{") == tables == len(labels) == len(set(labels))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (apt-get install"
                    " texlive-latex-base texlive-latex-recommended); the LaTeX export is not compiled")
def test_the_latex_export_compiles_and_fits_an_a4_page(exported, tmp_path):
    (tmp_path / "paper.tex").write_text(
        "\\documentclass[a4paper]{article}\n\\usepackage{array,booktabs,longtable}\n\\begin{document}\n"
        f"\\input{{{exported / 'synthdiv-report.tex'}}}\n\\end{{document}}\n")
    for _ in range(2):  # longtable settles its column widths on the second run
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:]
    log = (tmp_path / "paper.log").read_text(errors="replace")
    over = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert max(over, default=0.0) <= 10.0, f"{len(over)} overfull boxes, the widest {max(over)} pt"
    assert (tmp_path / "paper.pdf").stat().st_size > 10_000


def _sql(db, query: str) -> list[dict]:
    """``query`` run by the sqlite-utils command line, as a client of the store would."""
    import sys

    done = subprocess.run([sys.executable, "-m", "sqlite_utils", "query", str(db), query], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_plain_sql_on_metrics_gives_the_n_and_interval_the_analysis_used(base_store):
    report = json.loads(run_cli("report", str(base_store), "--json").stdout)
    db = base_store / "synthdiv.db"
    rows = _sql(db, "select * from metrics")
    assert rows and {"model", "low", "high", "level", "interval", "params"} <= set(rows[0])
    models = {r["model"] for r in rows}
    assert models == {report["metadata"]["embedding_model"]}  # the model has its own column
    assert {r["subset"] for r in rows} >= {"headline", "accuracy", "diversity", "four_causes", "geometry"}
    get = {(r["subset"], r["name"], r["scope"]): r for r in rows}
    for h in report["headline"]:
        if h["value"] is None:
            continue
        r = get[("headline", h["measure"], "")]
        assert r["value"] == pytest.approx(h["value"]) and r["n"] == h["n"], h["measure"]
        if h["low"] is not None:
            assert (r["low"], r["high"], r["level"]) == (pytest.approx(h["low"]), pytest.approx(h["high"]), 0.95)
            assert "bootstrap" in r["interval"]
    assert get[("headline", "pixel_synthetic_to_real", "")]["low"] is not None  # the pixel classifier is there
    for a in report["accuracy"]:
        r = get[("accuracy", "synthetic_to_real", a["class"])]
        assert r["n"] == a["n_real_test"] and r["low"] == pytest.approx(a["synthetic_to_real_low"])
        assert get[("accuracy", "zero_shot_synthetic", a["class"])]["n"] == a["n_synthetic"]
        assert get[("accuracy", "pixel_synthetic_to_real", a["class"])]["n"] == a["pixel_n_test"]
    for d in report["diversity"]:
        assert get[("diversity", "vendi_real", d["class"])]["n"] == d["n_real"]
        assert get[("diversity", "vendi_synthetic", d["class"])]["n"] == d["n_synthetic"]
        if d["precision"] is not None:
            assert get[("diversity", "precision", d["class"])]["n"] == d["n_equal"]
    cmmd = get[("headline", "cmmd", "")]
    assert json.loads(cmmd["params"])["unit"] == "MMD² × 1000"
