"""``synthdiv repair`` end to end on the shipped mini models: the plan, the remedies' experiments,
the retrained classifiers, the paired gains, the recipe (byte for byte), a kill at any point, and
the refusals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest

from tests.functional.conftest import REPAIR_BASE as BASE
from tests.helpers import run_cli, store_rows, write_config

pytestmark = pytest.mark.slow

TRIED = ("--classes", "four,eight", "--remedies", "guidance-down,guidance-up")


def _copy(base_store, tmp_path):
    shutil.copytree(base_store, tmp_path / "S")
    return tmp_path / "S"


def _planned(store) -> dict[str, int]:
    """Each remedy experiment's images in its plan, and those made."""
    return dict(store_rows(store, "select e.name, count(*) from jobs j join experiments e on e.id = j.experiment_id"
                                  " group by e.name"))


def _assert_complete(store):
    jobs = store_rows(store, "select e.name, j.state, count(*) from jobs j join experiments e on e.id = j.experiment_id"
                             " where e.name like 'g5/repair/%' group by e.name, j.state")
    assert jobs and all(state == "done" for _, state, _ in jobs), jobs
    images = store_rows(store, "select experiment_id, class_id, template_id, seed, count(*) from images"
                               " group by 1, 2, 3, 4 having count(*) > 1")
    assert images == []  # no image made twice
    runs = store_rows(store, "select e.name, r.name, r.state, r.epoch, r.epochs from train_runs r join experiments e"
                             " on e.id = r.experiment_id where r.name like 'repair:%'")
    assert len(runs) == 6 and all(state == "done" and epoch == epochs for _, _, state, epoch, epochs in runs), runs
    epochs = store_rows(store, "select run_id, epoch, count(*) from train_epochs group by 1, 2 having count(*) > 1")
    assert epochs == []


def test_repair_tries_each_remedy_and_reports_paired_gains_and_a_recipe(base_store, tmp_path):
    store = _copy(base_store, tmp_path)
    plan = run_cli("repair", str(store), *TRIED, "--plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Plan: 6 remedies (with the control) for 2 classes, in 3 experiments: 36 images" in plan.stdout
    assert "guidance-down: guidance 5 → 2.5, 6 images" in plan.stdout and not (store / "repair").exists()

    out = run_cli("repair", str(store), *TRIED, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((store / "repair" / "report.json").read_text())
    rows = {(r["class"], r["remedy"]): r for r in report["rows"]}
    assert set(rows) == {(c, r) for c in ("four", "eight") for r in ("control", "guidance-down", "guidance-up")}
    for r in rows.values():
        assert r["state"] == "done" and 40 <= r["n_test"] <= 50 and r["gain_low"] <= r["gain"] <= r["gain_high"]
        assert r["gap_after"] == pytest.approx(r["gap_before"] - r["gain"], abs=1e-9)
    assert abs(rows[("four", "control")]["gain"]) <= 2 / 45  # the same images retrained: at most retraining noise
    assert "synthdiv repair: each class's gap before → after a remedy" in out.stdout
    recipe = tomllib.loads((store / "repair" / "recipe.toml").read_text())
    won = report["winners"]
    own = recipe["classes"].get("overrides", {})
    assert set(own) == set(won) and recipe["name"] == "g5-repaired" and recipe["store"] == ".."
    for label, remedy in won.items():
        assert own[label] == rows[(label, remedy)]["override"] and rows[(label, remedy)]["gain_low"] > 0
    # the images of a remedy's experiment: only its classes, with their own guidance recorded
    made = store_rows(store, "select e.name, i.class_name, i.guidance, count(*) from images i join experiments e on"
                             " e.id = i.experiment_id where e.name like 'g5/repair/%' group by 1, 2, 3 order by 1, 2")
    assert made == [("g5/repair/control", "eight", 5.0, 6), ("g5/repair/control", "four", 5.0, 6),
                    ("g5/repair/guidance-down", "eight", 2.5, 6), ("g5/repair/guidance-down", "four", 2.5, 6),
                    ("g5/repair/guidance-up", "eight", 10.0, 6), ("g5/repair/guidance-up", "four", 10.0, 6)]
    # the control's images are the base's, byte for byte (the same seeds and settings)
    same = store_rows(store, "select count(*) from images a join images b on a.sha256 = b.sha256 join experiments e on"
                             " e.id = b.experiment_id where a.experiment_id = 1 and e.name = 'g5/repair/control'")
    assert same == [(12,)]

    again = run_cli("repair", str(store), *TRIED, timeout=600)
    assert again.returncode == 0 and again.stdout.count("Nothing to do") == 3, again.stdout
    assert json.loads((store / "repair" / "report.json").read_text())["rows"] == report["rows"]
    _assert_complete(store)


def test_the_recipe_remakes_a_remedy_s_images_byte_for_byte(base_store, tmp_path):
    from workbench.config import load_config
    from workbench.repair import recipe

    store = _copy(base_store, tmp_path)
    out = run_cli("repair", str(store), "--classes", "four", "--remedies", "guidance-down", timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    row = next(r for r in json.loads((store / "repair" / "report.json").read_text())["rows"]
               if r["remedy"] == "guidance-down")
    # whether or not it won here, the recipe that names it must remake its images
    base = load_config(write_config(tmp_path, BASE))
    (store / "repair" / "forced.toml").write_text(recipe(base, {"four": row}), encoding="utf-8")
    made = run_cli("run", str(store / "repair" / "forced.toml"), timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    pairs = store_rows(store, "select a.template, a.seed, a.sha256 = b.sha256 from images a join images b on"
                              " a.template = b.template and a.seed = b.seed and a.class_name = b.class_name"
                              " join experiments ea on ea.id = a.experiment_id join experiments eb on"
                              " eb.id = b.experiment_id where ea.name = 'g5/repair/guidance-down'"
                              " and eb.name = 'g5-repaired'")
    assert len(pairs) == 6 and all(equal for _, _, equal in pairs), pairs


def test_killing_repair_at_any_point_then_running_it_again_makes_everything_once(base_store, tmp_path):
    store = _copy(base_store, tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)

    def kill_when(sql: str) -> None:
        proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "repair", str(store), *TRIED], cwd=tmp_path,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 300
        seen = 0
        while time.monotonic() < deadline and not seen and proc.poll() is None:
            time.sleep(0.05)
            try:
                c = sqlite3.connect(store / "synthdiv.db", timeout=5)
                seen = c.execute(sql).fetchone()[0]
                c.close()
            except sqlite3.Error:
                pass
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert seen and not finished, f"the kill did not land where it was meant to ({sql})"

    # in the middle of a remedy's images, then once its training has begun (the runs take a second here)
    kill_when("select count(*) from images i join experiments e on e.id = i.experiment_id"
              " where e.name = 'g5/repair/guidance-down'")
    kill_when("select count(*) from train_runs r join experiments e on e.id = r.experiment_id"
              " where e.name = 'g5/repair/guidance-up' and r.state in ('running', 'done')")
    again = run_cli("repair", str(store), *TRIED, timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    _assert_complete(store)
    assert {k: v for k, v in _planned(store).items() if "/repair/" in k} == {
        "g5/repair/control": 12, "g5/repair/guidance-down": 12, "g5/repair/guidance-up": 12}


def test_repair_refuses_what_it_cannot_measure_and_says_why(base_store, tmp_path):
    store = _copy(base_store, tmp_path)
    none = run_cli("repair", str(store), "--classes", "ten")
    assert none.returncode == 2 and "--classes names 'ten', which is not a class" in none.stderr
    bad = run_cli("repair", str(store), "--remedies", "prayer", "--classes", "four")
    assert bad.returncode == 2 and "--remedies names 'prayer', which is no remedy" in bad.stderr
    c = sqlite3.connect(store / "synthdiv.db")
    c.execute("update real_images set split = 'train' where split = 'test'")
    c.commit()
    c.close()
    no_test = run_cli("repair", str(store), "--classes", "four")
    assert no_test.returncode == 2 and "has no real test split, so no gap to close can be measured" in no_test.stderr
    assert not (store / "repair").exists()
