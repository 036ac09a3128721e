"""synthdiv compare on a store of two experiments (a sweep of guidance), and the compare tables of
synthdiv export."""

from __future__ import annotations

import json

import pytest

from tests.functional.stores import build
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep") / "S"
    build(root, name="tiny/guidance=5", guidance=5.0)
    build(root, name="tiny/guidance=2", guidance=2.0, image_scale=1.5)  # far more spread: diversity differs
    return root


def test_compare_prints_every_experiment_the_differences_and_a_plot(swept):
    out = run_cli("compare", str(swept))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "tiny/guidance=5" in text and "tiny/guidance=2" in text
    assert "generation.guidance" in text  # what the sweep varied
    assert "Against tiny/guidance=5" in text and "diversity ratio" in text
    assert "*" in text  # the diversity difference's interval excludes 0
    assert "against generation.guidance" in text and "●" in text  # the plot against the swept value


def test_compare_json_reloads_and_matches_the_printed_comparison(swept, tmp_path):
    from store import open_store
    from workbench.compare import comparison_of

    out = run_cli("compare", str(swept), "--format", "json,csv", "--out", str(tmp_path / "c"),
                  "--baseline", "tiny/guidance=2")
    assert out.returncode == 0, out.stderr
    saved = json.loads((tmp_path / "c" / "synthdiv-compare.json").read_text())
    with open_store(swept, readonly=True) as st:
        fresh = comparison_of(st, baseline="tiny/guidance=2")
    assert saved["experiments"] == json.loads(json.dumps(fresh["experiments"]))
    assert saved["differences"] == json.loads(json.dumps(fresh["differences"]))
    assert saved["baseline"] == "tiny/guidance=2" and saved["varying"] == ["generation.guidance"]
    assert (tmp_path / "c" / "compare_per_class.csv").read_text().startswith("experiment,baseline,class")


def test_export_of_a_store_with_several_experiments_holds_the_compare_tables(swept, tmp_path):
    out = run_cli("export", str(swept), "--experiment", "tiny/guidance=5", "--format", "json,md",
                  "--out", str(tmp_path / "t"))
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "t" / "synthdiv-report.json").read_text())
    assert data["comparison"]["baseline"] == "tiny/guidance=5"
    assert {r["experiment"] for r in data["comparison"]["experiments"]} == {"tiny/guidance=5", "tiny/guidance=2"}
    assert "## compare_differences" in (tmp_path / "t" / "synthdiv-report.md").read_text()
    assert any(r["measure"] == "cmmd" for r in data["headline"])


def test_compare_refuses_what_it_cannot_do(swept, tmp_path):
    one = tmp_path / "one"
    build(one)
    out = run_cli("compare", str(one))
    assert out.returncode == 2 and "comparing needs two experiments" in out.stderr
    for args, said in ((("--baseline", "nope"), "baseline 'nope'"), (("--experiments", "tiny/guidance=5,nope"), "nope"),
                       (("--format", "json"), "--out"), (("--format", "xls"), "unknown compare format")):
        out = run_cli("compare", str(swept), *args)
        assert out.returncode == 2 and said in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)
