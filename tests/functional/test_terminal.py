"""The workbench end to end in a real terminal (tmux): set up an experiment on the tiny preset by
keys alone, watch it finish on the dashboard, open the gallery, export, quit leaving workers
running, re-open with ``synthdiv open`` and see the store's counts. Slow: real workers run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")]


class Terminal:
    """One tmux session of 80×24 running a command; keys in, screen text out."""

    def __init__(self, cwd, command: str) -> None:
        self.name = f"synthdiv-e2e-{os.getpid()}-{time.monotonic_ns()}"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24", "-c", str(cwd),
                        command], check=True, env={**env, "HF_HUB_OFFLINE": "1"})

    def keys(self, *keys: str, pause: float = 0.25) -> None:
        for k in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, k], check=True)
            time.sleep(pause)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)
        time.sleep(0.3)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True).stdout

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.2)
        pytest.fail(f"the screen never showed {pattern!r}; it shows:\n{self.screen()}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def status(tmp_path, store) -> dict:
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "status", str(store), "--json"], cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_setup_run_gallery_export_quit_and_reopen(tmp_path):
    cli = f"{sys.executable} -m workbench.cli"
    term = Terminal(tmp_path, f"{cli}; sleep 600")
    store = tmp_path / "runs" / "e2e"
    try:
        term.wait_for("10 of 10 selected")
        # classes: only "one" and "two"
        term.keys("C-x")
        term.type("one")
        term.keys("Enter", "Space", "BTab", "C-u")
        term.type("two")
        term.keys("Enter", "Space")
        term.wait_for("2 of 10 selected")
        # templates: keep two of the five
        term.keys("F3", "d", "d", "d")
        term.wait_for(r"Templates \(2\)")
        # settings: the tiny preset, small images, three per prompt, no real set
        term.keys("F4")
        term.wait_for("experiment name")  # the settings tab is shown: keys from here go to its fields
        from screens.setup import SETTINGS

        values = ("e2e", "runs/e2e", "tiny-random", None, "4", None, "32", "32", "3", None, None,
                  "tiny-random", None, "", "")  # ... no real set, so no pixel classifiers
        for setting, value in zip(SETTINGS, values, strict=True):
            label = setting.label
            if value is not None:
                term.keys("C-u")
                if value:
                    term.type(value)
                    term.wait_for(re.escape(label) + r"\s+" + re.escape(value) + r"\s", timeout=30)  # it took the value
            term.keys("Tab", pause=0.15)
        term.keys("C-s")
        # the dashboard, live, until every image is generated and embedded
        term.wait_for(r"(?s)(?=.*generated\s+\S+ 12/12)(?=.*embedded\s+\S+ 12/12)", timeout=180)
        # the worker list: the supervisor and the worker of each kind it placed, with device, pid and state
        term.wait_for(r"(?s)worker\s+device\s+pid\s+state.*supervisor\s+—\s+\d+\s+(running|done)"
                      r".*embedding\s+cpu\s+\d+\s+(running|done).*generation\s+cpu\s+\d+\s+(running|done)", timeout=30)
        term.keys("3")  # the diversity tab
        term.wait_for(r"one\s+\d+\s+\d+\s+\d\.\d{3}", timeout=90)
        # the gallery
        term.keys("v")
        # the first image's provenance shows with its thumbnails (the real-image lookup may follow)
        term.wait_for(r"image 1/\d+[\s\S]*prompt [\s\S]*model\s+tiny-random", timeout=30)
        term.wait_for("nearest real images: none embedded yet")  # this experiment has no real set
        term.keys("Enter")  # the one-image view, then the class across its templates
        term.wait_for(r"image 1/\d+ · ←/→ next[\s\S]*synthetic · (one|two)", timeout=30)
        term.keys("g")
        term.wait_for(r"across its templates[\s\S]*t1 · ", timeout=30)
        term.keys("Escape")
        term.wait_for(r"image 1/\d+ · ←/→ next")
        term.keys("Escape")
        term.wait_for(r"image 1/\d+ · page")
        term.keys("Escape")
        term.wait_for("Diversity")
        # export from the UI
        term.keys("e")
        term.wait_for("Exported", timeout=60)
        exported = list((store / "exports").iterdir())
        assert len(exported) == 1
        files = {p.name for p in exported[0].iterdir()}
        assert {"diversity.csv", "four_causes.csv", "synthdiv-report.json", "synthdiv-report.md"} <= files
        report = json.loads((exported[0] / "synthdiv-report.json").read_text())
        assert [r["class"] for r in report["diversity"]] == ["one", "two"]
        # more work for class "one" (prompt iteration), then quit leaving the workers running
        term.keys("2")
        term.keys("i")
        term.wait_for("iterate on a prompt")
        term.type("a sketch of the digit {}")
        term.keys("Tab", "C-u")
        term.type("600")
        term.keys("Enter")
        term.wait_for("queued")
        term.keys("Escape", "q")
        term.wait_for("running for this store")
        term.keys("l")
        deadline = time.monotonic() + 10
        while term.alive() and "running for this store" in term.screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        after_quit = status(tmp_path, store)
        assert after_quit["experiments"][0]["workers_running"], "the workers did not outlive the UI"
        term.close()
        # the workers finish on their own; re-open and see the store's counts
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            now = status(tmp_path, store)["experiments"][0]
            if not now["workers_running"]:
                break
            time.sleep(1)
        assert not now["workers_running"] and now["jobs"]["done"] == 612 and now["image_embeddings"] == 612
        term = Terminal(tmp_path, f"{cli} open {store}; sleep 600")
        # every panel of the re-opened dashboard agrees (they may draw on different refreshes)
        term.wait_for(r"(?s)(?=.*612/612)(?=.*612 images · 612 embedded)(?=.*workers    none running)", timeout=60)
    finally:
        term.close()


def test_compare_a_sweep_in_a_real_terminal(tmp_path):
    """synthdiv open on a store of two experiments; C opens the Compare screen at 80×24, b moves
    the baseline, 4 and m plot a headline number against the swept guidance, escape goes back."""
    from tests.functional.stores import build

    store = tmp_path / "S"
    build(store, name="tiny/guidance=5", guidance=5.0)
    build(store, name="tiny/guidance=2", guidance=2.0, image_scale=1.5)
    term = Terminal(tmp_path, f"{sys.executable} -m workbench.cli open {store}; sleep 600")
    try:
        term.wait_for(r"q Quit")
        term.keys("C")
        text = term.wait_for(r"baseline tiny/guidance=5")
        assert "varied: generation.guidance" in text and "tiny/guidance=2" in text
        assert re.search(r"1\.000 \[1\.00,1\.00\]", text)  # values with their intervals
        term.keys("2")
        text = term.wait_for(r"dist÷")
        assert re.search(r"dist÷ +\+\d\.\d{3}\*", text), text  # the spread-out sweep differs, marked
        term.keys("1", "Down", "b")
        term.wait_for(r"baseline tiny/guidance=2")
        term.keys("4")
        text = term.wait_for(r"against generation\.guidance")
        assert "●" in text and "┤" in text
        term.keys("m")
        term.wait_for(r"real to real against generation\.guidance")
        term.keys("Escape")
        term.wait_for(r"g Start")
    finally:
        term.close()


def test_from_the_dashboard_to_a_finished_repair(base_store, tmp_path):
    """R opens the Repair screen on the dashboard's experiment; g starts synthdiv repair in the
    background; the screen follows it to its gains, winners and recipe (o shows it)."""
    store = tmp_path / "S"
    shutil.copytree(base_store, store)
    term = Terminal(tmp_path, f"{sys.executable} -m workbench.cli open {store}; sleep 600")
    try:
        term.wait_for(r"g5", timeout=60)
        term.keys("R")
        screen = term.wait_for(r"repair of g5 · not running", timeout=60)
        assert "control" in screen and any(cause in screen for cause in ("diversity", "adherence", "ambiguity"))
        term.keys("g")
        term.wait_for(r"repair of g5 · running", timeout=60)
        screen = term.wait_for(r"winners: ", timeout=600)
        assert "· finished ·" in screen and "recipe:" in screen
        assert re.search(r"control\s+\d+/\d+\s+done\s+[+-]\d\.\d\d \[", screen), screen
        term.keys("o")
        term.wait_for(r"recipe\.toml", timeout=30)
        term.wait_for(r'name = "g5-repaired"', timeout=30)
        assert (store / "repair" / "report.json").is_file() and (store / "logs" / "repair.log").is_file()
    finally:
        term.close()
