"""The notebook API (``workbench.notebook.open_store``): experiments, images with provenance, embeddings as
numpy arrays, every analysis table as rows and DataFrames; read-only; and the README's example runs."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from synthdiv.errors import SynthdivError
from tests.helpers import REPO, run_cli
from workbench.notebook import open_store

pytestmark = pytest.mark.slow


def digest(folder) -> str:
    return hashlib.sha256((folder / "synthdiv.db").read_bytes()).hexdigest()


def test_a_notebook_reads_what_the_report_and_export_show(digits_store, tmp_path):
    before = digest(digits_store)
    with open_store(digits_store) as s:
        assert s.experiments == ["digits-small"]
        e = s.experiment()
        assert "digits-small" in repr(s) and "10 classes" in repr(e)
        assert e.classes[:3] == ["zero", "one", "two"] and len(e.templates) == 2
        assert e.config["generation"]["model"] == "mini-digits"

        imgs = e.images()
        assert len(imgs) == 60 and len(e.images("three")) == 6
        first = imgs[0]
        assert {"prompt", "template", "seed", "model_id", "model_hash", "scheduler", "steps", "guidance", "sha256"} <= set(first)
        assert hashlib.sha256(open(first["file"], "rb").read()).hexdigest() == first["sha256"]
        assert all(-1 <= r["clip_score"] <= 1 and isinstance(r["adherent"], bool) for r in imgs)

        rows, x = e.embeddings("image")
        assert x.shape[0] == 60 == len(rows) and x.dtype == np.float32
        texts, t = e.embeddings("text")
        by_prompt = {r["id"]: t[i] for i, r in enumerate(texts)}
        i = next(k for k, r in enumerate(rows) if r["id"] == first["id"])
        cos = x[i] @ by_prompt[rows[i]["prompt_id"]] / np.linalg.norm(x[i]) / np.linalg.norm(by_prompt[rows[i]["prompt_id"]])
        assert first["clip_score"] == pytest.approx(cos, abs=1e-5)  # the score is its own prompt's cosine
        real_rows, real = e.embeddings("real")
        assert len(real_rows) == len(real) > 0 and {r["split"] for r in real_rows} == {"train", "test"}
        assert real_rows[0]["class_name"] in e.classes

        assert {"four_causes", "diversity", "accuracy", "headline", "confusion"} <= set(e.tables)
        causes = e.table("four_causes")
        frame = e.dataframe("four_causes")
        assert list(frame["class"]) == [r["class"] for r in causes] and len(causes) == 10
        assert {"open_set_adherence", "read_as", "sense_confusion", "other_senses", "adherence_main"} <= set(frame.columns)
        plan, vectors = e.vocabulary()
        assert vectors.shape == (len(plan.texts), x.shape[1]) and "goldfish" in plan.labels
        assert all(r["open_set_adherence"] is not None for r in causes)  # the worker embedded the vocabulary
        confusion = e.table("confusion")
        assert len(confusion) == 10 and list(confusion[0])[0] == "class" and len(confusion[0]) == 11

        with pytest.raises(SynthdivError, match="no table 'nope'"):
            e.table("nope")
        with pytest.raises(SynthdivError, match="no class 'ten'"):
            e.images("ten")
        with pytest.raises(SynthdivError, match="unknown embedding kind"):
            e.embeddings("audio")
    assert digest(digits_store) == before  # read-only: the store is as it was

    out = run_cli("export", str(digits_store), "--format", "json", "--out", str(tmp_path / "x"))
    assert out.returncode == 0, out.stderr
    exported = json.loads((tmp_path / "x" / "synthdiv-report.json").read_text())
    assert [r["class"] for r in exported["four_causes"]] == [r["class"] for r in causes]
    assert exported["four_causes"][0]["adherence"] == causes[0]["adherence"]


def test_dataframe_without_pandas_says_what_to_install(digits_store, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails, as where it is not installed
    with open_store(digits_store) as s:
        with pytest.raises(SynthdivError, match="pip install pandas"):
            s.experiment().dataframe("four_causes")


def test_a_store_that_is_not_there_is_one_clear_error(tmp_path):
    with pytest.raises(SynthdivError):
        open_store(tmp_path / "nothing-here")


def test_the_readme_notebook_example_runs(digits_store, tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Sharing results"):]
    code = re.search(r"^```python\n(.*?)^```", section, flags=re.S | re.M).group(1)
    assert 'open_store("runs/digits")' in code and "from workbench.notebook import open_store" in code
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "digits").symlink_to(digits_store)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "four_causes" in out.stdout
