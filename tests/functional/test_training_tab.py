"""The dashboard's Training tab, with the Pilot: the runs with their accuracies and intervals, a
failed run with its error, the epoch curve of each run in turn, confusions and per-class accuracy."""

from __future__ import annotations

from tests.functional.stores import add_training, build
from tests.functional.test_workbench import text_of, until
from workbench.app import WorkbenchApp


async def test_training_tab_shows_runs_curves_and_a_failed_run(tmp_path):
    build(tmp_path / "D")
    add_training(tmp_path / "D", failed=True)
    app = WorkbenchApp(tmp_path / "D", refresh_s=60)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("7")
        assert await until(pilot, lambda: "real-test accuracy by epoch" in text_of(app))
        text = text_of(app)
        assert app.screen.query_one("#tabs").active == "tab-training"
        for seen in ("synthetic", "12+0", "0.833", "real", "0.917", "mix-1x", "failed 3/6",
                     "RuntimeError: CUDA out of memory", "synthetic→real (CAS)", "(6/6 epochs; t: next run)",
                     "top confusions (real test images):", "goldfish → tabby cat 1", "per-class accuracy",
                     "judge on syn", "syn+real"):
            assert seen in text, seen
        await pilot.press("t")
        assert await until(pilot, lambda: "real→real (ceiling)  (6/6 epochs" in text_of(app))
        await pilot.press("t")
        assert await until(pilot, lambda: "real + 1× synthetic → real  (3/6 epochs" in text_of(app))
        assert "top confusions (real test images): none" in text_of(app)


async def test_training_tab_says_how_to_ask_for_runs_when_there_are_none(tmp_path):
    build(tmp_path / "D")
    app = WorkbenchApp(tmp_path / "D", refresh_s=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("7")
        assert await until(pilot, lambda: "No training runs: list them in the experiment's [train] runs" in text_of(app))
