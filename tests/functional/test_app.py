"""The live store view (``synthdiv open``): Pilot behaviour, a snapshot, and a real terminal."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from rich.console import Console

from store import experiments, jobs, open_store, workers
from workbench.app import WorkbenchApp


def fill(root, done: int, n_seeds: int = 4):
    """A store with 3 classes × 2 templates × n_seeds jobs, ``done`` of them finished."""
    with open_store(root, create=True) as st:
        e = experiments.ensure(st, "tiny", {"name": "tiny"}, {"generation": {}})
        classes = [("goldfish", "goldfish"), ("tabby cat", "tabby cat"), ("golden retriever", "golden retriever")]
        templates = ["a photo of a {}.", "a drawing of a {}."]
        prompts = [(c, t, t.format(c)) for c, _ in classes for t in templates]
        experiments.register_plan(st, e, classes, templates, prompts,
                                  [(c, t, s) for c, _ in classes for t in templates for s in range(n_seeds)])
        finish(st, e, done)
        return e


def finish(st, e, n):
    wid = workers.register(st, e, "generation")
    for job in jobs.claim(st, e, wid, n):
        jobs.finish(st, job["id"], {
            "experiment_id": e, "class_id": job["class_id"], "template_id": job["template_id"],
            "prompt_id": job["prompt_id"], "class_name": job["class_name"], "template": job["template"],
            "prompt": job["prompt"], "seed": job["seed"], "path": f"images/{job['id']}.png", "sha256": "x",
            "width": 8, "height": 8, "model_id": "m", "steps": 1, "guidance": 1.0,
        })
    workers.stop(st, wid, "done")


def screen_text(app) -> str:
    """The text of every panel on the screen, as a terminal would show it."""
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    for widget in app.screen.query("Static"):
        console.print(widget.content)
    return out.getvalue()


async def test_shows_the_counts_and_follows_the_store_live(tmp_path):
    e = fill(tmp_path, done=5)
    app = WorkbenchApp(tmp_path, refresh_s=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(50):  # refreshes overlap (exclusive workers cancel each other): wait for the text
            await pilot.pause(0.05)
            if "5/24" in screen_text(app):
                break
        text = screen_text(app)
        assert "5/24" in text and "pending 19" in text and "3 classes × 2 templates" in text
        with open_store(tmp_path) as st:
            finish(st, e, 7)
        for _ in range(50):
            await pilot.pause(0.05)
            if "12/24" in screen_text(app):
                break
        assert "12/24" in screen_text(app)
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_a_failed_worker_shows_with_its_error(tmp_path):
    e = fill(tmp_path, done=2)
    with open_store(tmp_path) as st:
        wid = workers.register(st, e, "generation")
        workers.stop(st, wid, "failed", "ModelError: cannot load diffusers pipeline /x")
    app = WorkbenchApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "generation worker failed: ModelError: cannot load diffusers pipeline /x" in screen_text(app)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_open_in_a_real_terminal(tmp_path):
    fill(tmp_path / "D", done=24)
    session = f"synthdiv-test-{time.monotonic_ns()}"
    cmd = f"{sys.executable} -m workbench.cli open {tmp_path / 'D'}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", str(tmp_path), cmd], check=True)
    try:
        screen = ""
        for _ in range(100):
            time.sleep(0.1)
            screen = subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True).stdout
            if "24/24" in screen:
                break
        assert "24/24" in screen and "pending 0" in screen and "Quit" in screen, screen
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        for _ in range(50):
            time.sleep(0.1)
            if subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode != 0:
                break
        else:
            pytest.fail("q did not quit the app")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


async def test_analysis_tabs_show_sort_and_switch_matrices(tmp_path):
    from synthdiv.analysis import Inputs, analyse
    from store import analyses

    e = fill(tmp_path, done=24)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 3
    y = np.repeat(np.arange(3), 8)
    result = analyse(Inputs(classes=["goldfish", "tabby cat", "golden retriever"],
                            synthetic=centres[y] + rng.normal(size=(24, 8)), synthetic_y=y,
                            real=centres[np.r_[y, y]] + rng.normal(size=(48, 8)) * 2, real_y=np.r_[y, y],
                            real_split=np.array(["train"] * 24 + ["test"] * 24), text=centres, text_y=np.arange(3)))
    with open_store(tmp_path) as st:
        analyses.save(st, e, "m", {"synthetic": 24, "real": 48, "texts": 3}, result)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        causes = app.screen.query_one("#causes")
        assert causes.row_count == 3
        assert [str(causes.get_row_at(i)[0]) for i in range(3)] == [r["class"] for r in result["four_causes"]]
        app.screen.query_one("#tabs").active = "tab-causes"
        causes.focus()
        await pilot.pause()
        await pilot.press("s")  # sort by the column under the cursor (class), ascending
        await pilot.pause()
        assert [str(causes.get_row_at(i)[0]) for i in range(3)] == ["golden retriever", "goldfish", "tabby cat"]
        await pilot.press("s")
        await pilot.pause()
        assert str(causes.get_row_at(0)[0]) == "tabby cat"
        first = app.screen.matrix_index
        await pilot.press("m")
        assert app.screen.matrix_index == (first + 1) % 3


async def test_quit_with_running_workers_asks_first(tmp_path):
    e = fill(tmp_path, done=2)
    with open_store(tmp_path) as st:
        workers.register(st, e, "generation")  # this process: alive
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("q")
        await pilot.pause()
        assert type(app.screen).__name__ == "QuitScreen"
        await pilot.press("c")
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"
        await pilot.press("q", "l")
        await pilot.pause()
    with open_store(tmp_path) as st:
        assert len(workers.running(st, e)) == 1  # left running
