"""A store written before the house was rebuilt (issue 23) opens, reports and exports exactly as it
did: the code of the last commit before it makes a store and exports it, today's code exports the
same store, and every file is compared byte for byte."""

from __future__ import annotations

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
    assert now[0] == before[0], "synthdiv report prints something else"
    assert now[1] == before[1], "the exported files differ: " + ", ".join(
        sorted(f for f in set(now[1]) | set(before[1]) if now[1].get(f) != before[1].get(f)))
    assert now[2] == before[2]
    assert {"four_causes.csv", "training_runs.csv", "synthdiv-report.json", "synthdiv-report.tex"} <= set(now[1])
    status = [synthdiv_of(tree, "status", str(store)).stdout for tree in (code_before, None)]
    assert status[1] == status[0]
