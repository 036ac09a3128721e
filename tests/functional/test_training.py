"""Training image classifiers on an experiment's pixels, end to end: ``synthdiv run`` with a
[train] section, its report, status and export; the real test split never read in training; a
SIGKILLed training worker resumes to the same numbers; a training crash is a failed run; the
dashboard's Training tab."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from store import open_store, training
from tests.helpers import run_cli, store_rows, write_config

pytestmark = pytest.mark.slow

CONFIG = """
name = "pixels"
[classes]
set = "digits"
[templates]
custom = ["a handwritten {}", "the number {}"]
[generation]
model = "mini-digits"
steps = 10
guidance = 1.5
width = 16
height = 16
images_per_prompt = 5
batch_size = 50
[embedding]
model = "mini-digits"
batch_size = 256
[real]
source = "digits"
[train]
runs = ["synthetic", "real", "mix-1x"]
epochs = 40
batch_size = 32
lr = 0.003
crop_scale = 0.8
flip = false
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, str]:
    """A finished experiment with three training runs (100 images, 10 per class): its config
    file, its store and what ``synthdiv run`` printed. Built once for the module."""
    folder = tmp_path_factory.mktemp("trained")
    cfg = write_config(folder, CONFIG)
    out = run_cli("run", str(cfg), "--store", str(folder / "S"), timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return cfg, folder / "S", " ".join(out.stdout.split())


def _runs(store: Path) -> dict[str, dict]:
    with open_store(store) as st:
        return {r["name"]: r for r in training.runs(st, 1)}


def test_run_trains_every_run_and_reports_both_synthetic_to_real_numbers(trained):
    _, store, text = trained
    assert "training runs finished" in text and "3/3 training runs finished" in text
    for line in ("Pixel classifiers (digits-cnn", "synthetic→real (CAS)", "real→real (ceiling)",
                 "real + 1× synthetic → real", "gap (real − synthetic)", "judge on synthetic",
                 "adh read by: the real-trained judge"):
        assert line in text, line
    runs = _runs(store)
    assert [r["state"] for r in runs.values()] == ["done"] * 3
    assert runs["synthetic"]["result"]["made_of"]["synthetic"] == [10] * 10
    assert runs["real"]["result"]["made_of"] == {"synthetic": [0] * 10, "real": [10] * 10, "notes": []}
    assert runs["mix-1x"]["result"]["n_train"] == 200
    for r in runs.values():
        test = r["result"]["test"]
        assert test["n"] == 450 and test["low"] <= test["accuracy"] <= test["high"]
        assert test["accuracy"] > 0.5  # ten classes: chance is 0.1
        assert (store / r["result"]["weights"]).is_file()  # the trained model stays; its checkpoint went
        assert not (store / r["result"]["weights"]).with_name("checkpoint.safetensors").exists()
    assert 0 <= runs["real"]["result"]["judge"]["accuracy"] <= 1
    with open_store(store) as st:
        epochs = training.epochs(st, [r["id"] for r in runs.values()])
    assert all([e["epoch"] for e in rows] == list(range(1, 41)) for rows in epochs.values())

    report = run_cli("report", str(store))
    assert report.returncode == 0, report.stderr
    said = " ".join(report.stdout.split())
    assert "synthetic→real (CAS)" in said and "real→real (ceiling)" in said
    # the judge reads the headline adherence and the four causes' adherence; the gap is the pixel classifiers'
    assert "adherence, judge" in said and "adh read by: the real-trained judge" in said
    assert "largest gap first (gap by the pixel classifier)" in said
    status = run_cli("status", str(store))
    assert "training synthetic 0." in " ".join(status.stdout.split())
    again = run_cli("run", str(trained[0]), "--store", str(store))
    assert again.returncode == 0 and "3 training runs finished" in again.stdout


def test_export_writes_every_run_per_class_and_epoch(trained, tmp_path):
    _, store, _ = trained
    out = run_cli("export", str(store), "--out", str(tmp_path / "x"))
    assert out.returncode == 0, out.stderr
    runs = (tmp_path / "x" / "training_runs.csv").read_text().splitlines()
    assert runs[0].startswith("run,trains_on,model,state") and len(runs) == 4
    assert len((tmp_path / "x" / "training_per_class.csv").read_text().splitlines()) == 11
    assert len((tmp_path / "x" / "training_epochs.csv").read_text().splitlines()) == 1 + 3 * 40
    data = json.loads((tmp_path / "x" / "synthdiv-report.json").read_text())
    assert [r["run"] for r in data["training"]["runs"]] == ["synthetic", "real", "mix-1x"]
    assert data["training"]["runs"][0]["settings"]["recipe"]["epochs"] == 40
    assert data["training"]["gap"]["low"] <= data["training"]["gap"]["value"] <= data["training"]["gap"]["high"]
    assert all("concept_pixel_synthetic_to_real" in row for row in data["four_causes"])
    assert "training_runs" in (tmp_path / "x" / "synthdiv-report.md").read_text()


def test_the_real_test_split_never_enters_training(trained, tmp_path, monkeypatch):
    """Every image a training data set reads, spied on while the three runs train again."""
    from synthdiv import classifier
    from workbench import training as worker

    _, src, _ = trained
    store = tmp_path / "S"
    shutil.copytree(src, store)
    read: list[tuple[bool, str]] = []
    original = classifier.ImageFiles.__getitem__

    def spy(self, i):
        read.append((self.train, self.items[i][0]))
        return original(self, i)

    monkeypatch.setattr(classifier.ImageFiles, "__getitem__", spy)
    with open_store(store) as st:
        test_paths = {str(st.root / r[0]) for r in st.conn.execute("select path from real_images where split = 'test'")}
        assert len(test_paths) == 450
        for run in training.runs(st, 1):
            run = {**run, "settings": {**run["settings"], "recipe": {**run["settings"]["recipe"], "epochs": 2}}}
            read.clear()
            worker.train_one(st, 1, run, "cpu")
            trained_on = {p for is_train, p in read if is_train}
            assert trained_on and not trained_on & test_paths, run["name"]
            assert {p for is_train, p in read if not is_train} >= test_paths  # it is tested on all of them


def _reset_training(store: Path) -> None:
    with open_store(store) as st, st.immediate():
        st.conn.execute("delete from train_epochs")
        st.conn.execute("update train_runs set state = 'pending', epoch = 0, result = null, worker_id = null")
    shutil.rmtree(store / "training")


def test_a_training_worker_killed_mid_epoch_resumes_to_the_same_numbers(trained, tmp_path):
    cfg, src, _ = trained
    store = tmp_path / "S"
    shutil.copytree(src, store)
    _reset_training(store)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
    env.pop("PYTHONPATH", None)
    run = subprocess.Popen([sys.executable, "-m", "workbench.cli", "run", str(cfg), "--store", str(store)],
                           cwd=tempfile.gettempdir(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pid, deadline = None, time.monotonic() + 120
    while pid is None and time.monotonic() < deadline:  # a run in the middle of its epochs
        rows = store_rows(store, "select w.pid from train_runs r join workers w on w.id = r.worker_id"
                                 " where r.state = 'running' and w.state = 'running' and r.epoch between 2 and 30")
        pid = rows[0][0] if rows else None
        time.sleep(0.01)
    assert pid is not None, "no training run was seen half-way"
    os.kill(pid, signal.SIGKILL)
    out, _ = run.communicate(timeout=400)
    assert run.returncode == 0, out
    text = " ".join(out.split())
    assert f"The training worker on cpu (pid {pid}) was killed by SIGKILL" in text and "restarting it" in text, text
    log = (store / "logs" / "training-cpu.log").read_text()
    assert "resuming" in log and "from its checkpoint" in log, log[-2000:]  # it went on, not from the start
    before, after = _runs(src), _runs(store)
    for name in ("synthetic", "real", "mix-1x"):
        assert after[name]["state"] == "done"
        assert after[name]["result"]["test_pred"] == before[name]["result"]["test_pred"], name
        assert after[name]["result"]["test"]["accuracy"] == before[name]["result"]["test"]["accuracy"]


def test_a_training_crash_is_a_failed_run_with_its_error_and_the_others_go_on(trained, tmp_path, monkeypatch):
    from workbench import training as worker
    from workbench.config import from_experiment
    from workbench.worker_common import Heartbeat, StopFlag

    _, src, _ = trained
    store = tmp_path / "S"
    shutil.copytree(src, store)
    _reset_training(store)
    real_train = worker.train

    def train(model, data, recipe, *args, **kwargs):
        if any(item[0].startswith(str(store.resolve() / "images")) for item in data.items[:1]) and len(data) == 100:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (a simulated crash)")
        return real_train(model, data, recipe, *args, **kwargs)

    monkeypatch.setattr(worker, "train", train)
    with open_store(store) as st:
        from store import experiments, workers

        exp = experiments.get(st, "pixels")
        cfg = from_experiment(exp)
        wid = workers.register(st, exp["id"], "training", "cpu")
        state = worker.train_runs(st, exp["id"], cfg, wid, StopFlag(), Heartbeat(store, wid))
        workers.stop(st, wid, state)
    assert state == "done"  # not stuck, not dead: the other runs were trained
    runs = _runs(store)
    assert runs["synthetic"]["state"] == "failed" and "CUDA out of memory" in runs["synthetic"]["error"]
    assert runs["real"]["state"] == "done" and runs["mix-1x"]["state"] == "done"
    status = run_cli("status", str(store))
    said = " ".join(status.stdout.split())
    assert "training run synthetic failed: RuntimeError: CUDA out of memory" in said
    assert "synthetic failed" in said
    report = run_cli("report", str(store))
    assert "RuntimeError: CUDA out of memory" in " ".join(report.stdout.split())


def test_a_bad_train_value_exits_2_naming_the_key_before_anything_is_written(tmp_path):
    cfg = write_config(tmp_path, CONFIG.replace("epochs = 40", "epochs = -3"))
    out = run_cli("run", str(cfg), "--store", str(tmp_path / "S"))
    assert out.returncode == 2 and "train.epochs is -3" in out.stderr
    assert not (tmp_path / "S").exists()
    cfg = write_config(tmp_path, CONFIG.replace('runs = ["synthetic", "real", "mix-1x"]', 'runs = ["synthetic", "fake"]'))
    out = run_cli("run", str(cfg), "--store", str(tmp_path / "S"))
    assert out.returncode == 2 and "train.runs has 'fake'" in out.stderr and not (tmp_path / "S").exists()
