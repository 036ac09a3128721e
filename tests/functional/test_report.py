"""``synthdiv report`` and ``synthdiv export`` on a store, and a real folder source with a corrupt file."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from synthdiv.analysis import MATRICES, TABLES
from screens.labels import REPORT_CAUSES as CAUSE_COLUMNS
from tests.helpers import TINY, run_cli, write_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store_with_real(tmp_path_factory):
    """The tiny example plus a real folder source (3 classes, 6 images each) with one corrupt file."""
    root = tmp_path_factory.mktemp("r")
    rng = np.random.default_rng(0)
    for name in ("Goldfish", "tabby_cat", "golden-retriever"):
        (root / "real" / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), np.uint8)).save(root / "real" / name / f"{i}.png")
    (root / "real" / "Goldfish" / "broken.png").write_bytes(b"not a png at all")
    config = write_config(root, TINY.read_text() + '\n[real]\nsource = "real"\ntest_fraction = 0.5\n')
    out = run_cli("run", str(config), "--store", str(root / "D"))
    assert out.returncode == 0, out.stdout + out.stderr
    return root / "D"


def test_a_corrupt_real_file_is_skipped_counted_and_reported(store_with_real):
    status = json.loads(run_cli("status", str(store_with_real), "--json").stdout)
    e = status["experiments"][0]
    assert e["real_images"] == 18 and e["real_unreadable"] == 1 and e["real_embeddings"] == 18
    human = run_cli("status", str(store_with_real)).stdout
    assert "1 unreadable" in human


def test_report_prints_the_four_causes_and_export_writes_every_table(store_with_real, tmp_path):
    report = run_cli("report", str(store_with_real), "--all")
    assert report.returncode == 0, report.stderr
    assert "The four causes per class, largest gap first (gap by the clip probe)" in report.stdout
    out = run_cli("export", str(store_with_real), "--format", "csv,md,tex,json", "--out", str(tmp_path / "x"))
    assert out.returncode == 0, out.stderr
    names = {p.name for p in (tmp_path / "x").iterdir()}
    for table in TABLES + MATRICES:
        assert f"{table}.csv" in names
    assert {"synthdiv-report.md", "synthdiv-report.tex", "synthdiv-report.json", "metadata.json"} <= names
    data = json.loads((tmp_path / "x" / "synthdiv-report.json").read_text())
    meta = data["metadata"]
    assert meta["experiment"] == "tiny" and meta["embedding_model"] == "tiny-random"
    assert meta["generation"][0]["model_id"] == "tiny-random" and meta["generation"][0]["images"] == 24
    assert [r["path"].rsplit("/", 1)[-1] for r in meta["real_unreadable"]] == ["broken.png"]
    # the JSON reloads and matches the printed table, row by row, largest gap first
    at = report.stdout.index("The four causes per class")
    lines = [ln for ln in report.stdout[at:].splitlines()[1:] if ln.strip()][1:1 + len(data["four_causes"])]
    assert len(lines) == len(data["four_causes"]) == 3
    senses = any(r["sense_confusion"] is not None for r in data["four_causes"])
    shown = [key for key, _ in CAUSE_COLUMNS if senses or not key.startswith("sense_")]
    for line, row in zip(lines, data["four_causes"], strict=True):
        # the row's cells, in the order of the columns (the table has no borders: find each in turn)
        cells = [("—" if row[key] is None else row[key] if isinstance(row[key], str) else f"{row[key]:.3f}")
                 if key != "gap_low" else "—" if row["gap_low"] is None
                 else f"[{row['gap_low']:.3f}, {row['gap_high']:.3f}]" for key in shown]
        assert line.lstrip().startswith(row["class"]), (line, row["class"])
        at_cell = 0
        for key, cell in zip(shown, cells, strict=True):
            found = line.find(cell, at_cell)
            assert found >= 0, f"{key} {cell!r} not in order in {line!r}"
            at_cell = found + len(cell)
    header = next(ln for ln in report.stdout[at:].splitlines() if ln.lstrip().startswith("class"))
    assert ("sense" in header) == senses  # the senses' columns only where a class has another sense
    assert senses  # "tabby" names two synsets (n02122878, n02123045): a sense to be confused with
    assert any("open-set adherence" in n and "mean nothing" in n for n in meta["notes"])  # tiny-random's numbers
    with open(tmp_path / "x" / "four_causes.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["class"] for r in rows] == [r["class"] for r in data["four_causes"]]
    md = (tmp_path / "x" / "synthdiv-report.md").read_text()
    assert "## four_causes" in md and "## similarity_text" in md
    tex = (tmp_path / "x" / "synthdiv-report.tex").read_text()
    assert tex.count("\\begin{longtable}") >= len(TABLES) + len(MATRICES)


def test_export_refuses_an_unknown_format(store_with_real, tmp_path):
    out = run_cli("export", str(store_with_real), "--format", "xlsx", "--out", str(tmp_path / "y"))
    assert out.returncode == 2 and "unknown export format" in out.stderr


def test_the_embedding_worker_stored_a_current_analysis_and_its_metrics(store_with_real):
    from store import analyses, open_store
    from workbench.analysis import counts

    with open_store(store_with_real) as st:
        latest = analyses.latest(st, 1, "tiny-random")
        assert latest is not None and latest["counts"] == counts(st, 1, "tiny-random")
        # the open-set vocabulary: ImageNet-1k's 1,000 class texts (two names twice) and the classes' senses
        assert latest["counts"] == {"synthetic": 24, "real": 18, "texts": 6, "vocabulary": 1002}
        names = {r[0] for r in st.conn.execute("select distinct name from metrics")}
        assert {"vendi_synthetic", "separability", "synthetic_to_real", "modality_gap"} <= names
        n = st.conn.execute("select n from metrics where name = 'vendi_synthetic' and scope = 'goldfish'").fetchone()[0]
        assert n == 8  # computed from the 8 goldfish images
        real = st.conn.execute("select n from metrics where name = 'vendi_real' and scope = 'goldfish'").fetchone()[0]
        n_real = next(r["n_real"] for r in latest["result"]["diversity"] if r["class"] == "goldfish")
        assert real == n_real < n  # from its real test images, not the synthetic count
