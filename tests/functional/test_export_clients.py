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
