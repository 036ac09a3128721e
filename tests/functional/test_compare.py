"""synthdiv compare on a store of two experiments (a sweep of guidance), and the compare tables of
synthdiv export."""

from __future__ import annotations

import json
import re

import pytest

from tests.functional.stores import add_training, build
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep") / "S"
    build(root, name="tiny/guidance=5", guidance=5.0)
    build(root, name="tiny/guidance=2", guidance=2.0, image_scale=1.5)  # far more spread: diversity differs
    add_training(root, "tiny/guidance=5")  # pixel classifiers: synthetic→real 10/12
    add_training(root, "tiny/guidance=2", synthetic_pred=(0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0))  # 6/12
    return root


def test_compare_prints_every_experiment_the_differences_and_a_plot(swept):
    out = run_cli("compare", str(swept))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "experiment of tiny" in text and "guidance=5" in text and "guidance=2" in text
    assert "generation.guidance" in text  # what the sweep varied
    assert "guidance=2 against guidance=5" in text and "diversity ratio" in text
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


async def test_the_compare_screen_shows_the_sweep_and_changes_its_baseline(swept):
    from screens.compare import CompareScreen
    from tests.functional.test_workbench import text_of, until
    from workbench.app import WorkbenchApp

    app = WorkbenchApp(swept, refresh_s=60, experiment="tiny/guidance=5")
    async with app.run_test(size=(120, 36)) as pilot:
        assert await until(pilot, lambda: "tiny/guidance=5" in text_of(app), tries=200)
        await pilot.press("C")
        assert await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison, tries=300)
        shown = text_of(app)
        assert "baseline tiny/guidance=5" in shown and "varied: generation.guidance" in shown
        rows = [line for line in shown.splitlines() if line.startswith("tiny/guidance=2 | 2.0 |")]
        assert rows and re.search(r"\| \d\.\d{3} \[\d\.\d\d,\d\.\d\d\] \|", rows[0]), rows  # value [interval]
        await pilot.press("2")  # against the baseline: the diversity difference is marked
        rows = [line for line in text_of(app).splitlines() if "| dist÷ |" in line]
        assert rows and all("*" in line for line in rows), rows  # far more spread: a real difference
        await pilot.press("1", "down", "b")  # the second experiment becomes the baseline
        assert await until(pilot, lambda: app.screen.baseline == "tiny/guidance=2"
                           and "baseline tiny/guidance=2" in text_of(app), tries=300)
        await pilot.press("m")  # the plot of the next number against the swept value
        assert await until(pilot, lambda: "against generation.guidance" in text_of(app))
        assert "●" in text_of(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, CompareScreen)


@pytest.mark.slow
def test_the_guidance_sweep_example_runs_and_compares(tmp_path):
    """examples/guidance-sweep.toml as shipped, at 2 images per prompt and 8 training epochs (the
    shipped 6 and 30 take ~7 minutes on 2 cores): four paired experiments, then synthdiv compare's
    table and JSON."""
    from pathlib import Path

    from workbench.config import load_configs

    example = Path(__file__).resolve().parents[2] / "examples" / "guidance-sweep.toml"
    assert [c.generation.guidance for c in load_configs(example)] == [1.0, 1.5, 3.0, 5.0]
    text = example.read_text()
    assert "images_per_prompt = 6" in text and "epochs = 30" in text
    config = tmp_path / "sweep.toml"
    config.write_text(text.replace("images_per_prompt = 6", "images_per_prompt = 2").replace("epochs = 30", "epochs = 8"))
    store = tmp_path / "runs" / "guidance"
    run = run_cli("run", str(config), "--store", str(store), timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out = run_cli("compare", str(store), "--format", "table,json", "--out", str(tmp_path / "c"))
    assert out.returncode == 0, out.stderr
    for g in ("guidance=1", "guidance=1.5", "guidance=3", "guidance=5"):
        assert g in out.stdout
    assert "guidance=5 against guidance=1" in out.stdout and "against generation.guidance" in out.stdout
    saved = json.loads((tmp_path / "c" / "synthdiv-compare.json").read_text())
    rows = {r["experiment"]: r for r in saved["experiments"]}
    assert [r["generation.guidance"] for r in saved["experiments"]] == [1.0, 1.5, 3.0, 5.0]
    # guidance buys adherence with diversity, on the mini model as in the literature
    assert rows["guidance/guidance=5"]["adherence"] >= rows["guidance/guidance=1"]["adherence"]
    assert rows["guidance/guidance=5"]["diversity_ratio"] < rows["guidance/guidance=1"]["diversity_ratio"]
    # each experiment trained the digits CNN on its pixels: CAS per experiment, with its interval
    for r in rows.values():
        assert 0 < r["pixel_synthetic_to_real"] <= 1 and r["pixel_synthetic_to_real_low"] is not None
        assert 0 < r["pixel_real_to_real"] <= 1
    assert "synthetic→real, pixels" in out.stdout
    # paired: the same classes, templates and seeds in every experiment
    from store import open_store

    with open_store(store, readonly=True) as st:
        seeds = {tuple(r) for r in st.conn.execute(
            "select c.name, t.text, j.seed, count(*) from jobs j join classes c on c.id = j.class_id"
            " join templates t on t.id = j.template_id group by c.name, t.text, j.seed")}
    assert seeds and all(n == 4 for *_, n in seeds)


def test_an_analysis_stored_by_an_older_synthdiv_is_made_again_with_intervals(tmp_path):
    """A store whose analysis predates the headline intervals (no version in its result): report
    and compare show intervals, not dashes, without waiting for new embeddings."""
    from store import open_store

    root = tmp_path / "old"
    build(root)
    with open_store(root) as st:
        st.db.execute("update analyses set result = json_remove(json_remove(result, '$.version'), '$.headline')")
    out = run_cli("report", str(root))
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.strip().startswith("diversity ratio"))
    assert "[" in line and "3 classes" in line, line


def test_compare_shows_the_pixel_classifiers_synthetic_to_real_per_experiment(swept, tmp_path):
    out = run_cli("compare", str(swept), "--measure", "pixel_synthetic_to_real")
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if "synthetic→real, pixels" in line)
    assert "0.833" in row and "0.500" in row
    from store import open_store
    from workbench.compare import comparison_of

    with open_store(swept, readonly=True) as st:
        c = comparison_of(st, measure="pixel_synthetic_to_real")
    diff = next(r for r in c["differences"] if r["measure"] == "pixel_synthetic_to_real")
    assert diff["difference"] == pytest.approx(0.5 - 0.8333333, abs=1e-4) and diff["n_classes"] == 3
    assert {r["class"] for r in c["per_class"]} == {"goldfish", "tabby cat", "golden retriever"}
    assert all(r["measure"] == "pixel_synthetic_to_real" for r in c["per_class"])
