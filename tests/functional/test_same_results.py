"""A store written before the house was rebuilt (issue 23) opens, reports and exports as it did: the
code of the last commit before it makes a store and exports it, today's code exports the same
store, and the files are compared byte for byte. What the science issue (24) changed on purpose is
declared here (the four-causes table ranked by the gap, CMMD as published) and compared for
exactly that: every other table, and every other headline number, is byte for byte the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.functional.conftest import SMALL_DIGITS
from tests.helpers import REPO, tree_digest, write_config

pytestmark = pytest.mark.slow

BEFORE = "b8cb64a"  # main before issue 23: the last commit whose store layout and outputs are the reference
# What issue 24 changed on purpose: these exported files (the four-causes table gained the gap,
# its interval, what it was measured with and the causes, and is ranked by the gap; the headline's
# CMMD is the published estimator), and the headline row of CMMD
CHANGED = {"four_causes.csv", "headline.csv", "summary.csv", "synthdiv-report.json", "synthdiv-report.md",
           "synthdiv-report.tex", "diversity.csv", "memorisation.csv", "geometry.csv", "metadata.json"}
CHANGED_MEASURES = {"cmmd"}
# and what it added: tables (diversity by prompt, the real side of the image·text matrix), the
# columns of the real baselines and of image·text closeness, headline numbers beside the old ones
NEW_FILES = {"diversity_by_template.csv", "similarity_real_text.csv",
             "columns.csv"}  # issue 26: the column dictionary beside the tables
CHANGED |= {"training_runs.csv"}  # issue 26: its header "trains on" is trains_on
NEW_MEASURES = {"near_duplicates_real", "nearest_real_train_real", "prompt_closeness", "open_set_adherence",
                "open_set_adherence_real", "sense_confusion", "sense_confusion_real", "adherence_judge"}
RENAMED = {"ambiguity_name_similarity": "confusability_name_similarity",
           "ambiguity_nearest_class": "confusability_nearest_class",
           "ambiguity_zero_shot_confusion": "confusability_zero_shot"}
NEW_DIVERSITY = {"vendi_within_template", "vendi_across_template", "nearest_real_train_real", "text_cosine_synthetic",
                 "text_cosine_real", "text_closeness", "text_closeness_low", "text_closeness_high"}


def synthdiv_of(tree: Path | None, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``synthdiv ARGS`` run by the code under ``tree`` (None: the installed package, today's)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    env.pop("PYTHONPATH", None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)  # it and the worker processes it starts import that tree's packages
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], cwd=tempfile.gettempdir(), env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def code_before(tmp_path_factory) -> Path:
    shallow = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--is-shallow-repository"],
                             capture_output=True, text=True).stdout.strip()
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", BEFORE + "^{commit}"]).returncode != 0:
        if shallow == "true":
            pytest.skip(f"a shallow clone without commit {BEFORE}: there is no code before to compare with")
        raise AssertionError(f"commit {BEFORE} is not in the repository")
    tree = tmp_path_factory.mktemp("before")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BEFORE, "synthdiv", "store", "workbench", "screens"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def test_a_store_written_before_reports_and_exports_as_it_did(tmp_path, code_before):
    config = SMALL_DIGITS + '[train]\nruns = ["synthetic", "real"]\nepochs = 2\nbatch_size = 32\nflip = false\n'
    made = synthdiv_of(code_before, "run", str(write_config(tmp_path, config)), "--store", str(tmp_path / "S"))
    assert made.returncode == 0, made.stdout + made.stderr
    store = tmp_path / "S"
    outputs = {}
    for who, tree in (("before", code_before), ("now", None)):
        report = synthdiv_of(tree, "report", str(store), "--all")
        assert report.returncode == 0, report.stdout + report.stderr
        exported = synthdiv_of(tree, "export", str(store), "--out", str(tmp_path / who))
        assert exported.returncode == 0, exported.stdout + exported.stderr
        outputs[who] = (report.stdout.replace(str(tmp_path / who), "OUT"),
                        tree_digest(tmp_path / who), exported.stdout.replace(str(tmp_path / who), "OUT"))
    before, now = outputs["before"], outputs["now"]
    assert set(now[1]) == set(before[1]) | NEW_FILES
    differ = sorted(f for f in before[1] if now[1][f] != before[1][f])
    assert set(differ) <= CHANGED, "exported files that differ: " + ", ".join(sorted(set(differ) - CHANGED))
    listed = lambda text: set(text.split(": ", 1)[1].split(", ")) if ": " in text else set()  # noqa: E731
    assert {f.strip() for f in listed(now[2])} == {f.strip() for f in listed(before[2])} | NEW_FILES
    assert {"four_causes.csv", "training_runs.csv", "synthdiv-report.json", "synthdiv-report.tex"} <= set(now[1])
    old, new = (json.loads((tmp_path / who / "synthdiv-report.json").read_text()) for who in ("before", "now"))
    assert [r for r in new["headline"] if r["measure"] not in CHANGED_MEASURES | NEW_MEASURES] == \
        [r for r in old["headline"] if r["measure"] not in CHANGED_MEASURES]
    assert (old["version"], new["version"]) == (2, 4)
    # a store from before the open-set vocabulary: its columns are empty, and a note says why
    assert all(r["open_set_adherence"] is None for r in new["four_causes"])
    for run in old.get("training", {}).get("runs", []):  # issue 26: snake_case headers
        run["trains_on"] = run.pop("trains on")
    for table in set(old) - {"headline", "summary", "four_causes", "metadata", "version", "diversity", "geometry",
                             "memorisation", "notes"}:
        assert new[table] == old[table], table
    for old_row, new_row in zip(old["diversity"], new["diversity"], strict=True):
        assert {k: v for k, v in new_row.items() if k not in NEW_DIVERSITY} == old_row
    assert {k: v for k, v in new["geometry"][0].items() if k != "modality_gap_real"} == old["geometry"][0]
    # the memorisation table gained the real test images' row (the baseline) and the likely copies
    (old_memo,), (syn_memo, real_memo) = old["memorisation"], new["memorisation"]
    assert syn_memo["images"] == "synthetic" and real_memo["images"] == "real test"
    assert {k: syn_memo[k] for k in old_memo if k != "n_synthetic"} == {k: v for k, v in old_memo.items()
                                                                        if k != "n_synthetic"}
    assert syn_memo["n"] == old_memo["n_synthetic"]
    # metadata: the same but for when the analysis was computed (today's code computes it anew: an
    # analysis of another version is never reused)
    added_keys = ("intervals", "units")  # issue 26: what the numbers' intervals and units are
    assert {k: v for k, v in new["metadata"].items() if k not in ("computed_at", "notes", "counts", *added_keys)} == \
        {k: v for k, v in old["metadata"].items() if k not in ("computed_at", "notes", "counts")}
    assert new["metadata"]["intervals"]["level"] == 0.95
    assert new["metadata"]["counts"] == {**old["metadata"]["counts"], "vocabulary": 0}
    # its notes gained one: the store has no open-set vocabulary yet
    added = [n for n in new["metadata"]["notes"] if n not in old["metadata"]["notes"]]
    assert [n for n in new["metadata"]["notes"] if n in old["metadata"]["notes"]] == old["metadata"]["notes"]
    assert len(added) == 1 and "open-set vocabulary has no embeddings" in added[0]
    if "notes" in old:
        assert new["notes"] == new["metadata"]["notes"] and old["notes"] == old["metadata"]["notes"]
    # the four-causes rows hold every number they held, in the order of the gap now
    assert sorted(r["class"] for r in new["four_causes"]) == sorted(r["class"] for r in old["four_causes"])
    by_class = {r["class"]: r for r in new["four_causes"]}
    for row in old["four_causes"]:  # the old ambiguity columns hold confusability, and are named so now
        assert {k: by_class[row["class"]][RENAMED.get(k, k)] for k in row} == row
    gaps = [r["gap"] for r in new["four_causes"]]
    assert gaps == sorted(gaps, reverse=True) and {r["gap_by"] for r in new["four_causes"]} == {
        "pixel classifier, unpaired"}  # runs trained before they recorded their test labels
    # the report prints every other headline line as before
    lines = lambda text: [" ".join(ln.split()).split(" classes")[0] for ln in text.splitlines()  # noqa: E731
                          if ln.strip().startswith(
        ("synthetic→real", "real→real", "prompt adherence", "Vendi ratio", "diversity ratio", "precision", "recall"))
                          and " classes" in ln]  # name, value, interval, n: the description wraps with the widths
    assert lines(now[0]) == lines(before[0]) and lines(now[0])
    status = [synthdiv_of(tree, "status", str(store)).stdout for tree in (code_before, None)]
    assert status[1] == status[0]
