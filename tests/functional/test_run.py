"""``synthdiv run`` and ``synthdiv status`` end to end, in subprocesses, as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from store import jobs, open_store
from store.images import consistency
from tests.helpers import TINY, run_cli, tiny_text, tree_digest, write_config

pytestmark = pytest.mark.slow


def status_json(store) -> dict:
    out = run_cli("status", str(store), "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def assert_complete(store, n=24, prompts=6):
    data = status_json(store)
    assert data["images"] == n and data["image_embeddings"] == n and data["text_embeddings"] == prompts
    assert data["jobs"] == {"pending": 0, "running": 0, "done": n, "failed": 0}
    pngs = sorted((store / "images").rglob("*.png"))
    assert len(pngs) == n
    with open_store(store) as st:
        assert consistency(st) == {"files_without_rows": [], "rows_without_files": []}
        keys = st.conn.execute("select count(distinct class_id || '/' || template_id || '/' || seed) from images").fetchone()[0]
        assert keys == n
        shas = {r[0]: r[1] for r in st.conn.execute("select path, sha256 from images")}
    digests = tree_digest(store / "images")
    assert all(digests[p.removeprefix("images/")] == s for p, s in shas.items())
    return data


def test_tiny_example_makes_24_images_embeddings_and_resumes_with_nothing_to_do(tmp_path):
    store = tmp_path / "D"
    first = run_cli("run", str(TINY), "--store", str(store))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "tiny-random models have random weights" in first.stdout
    assert "24/24 images, 24 image embeddings and 6 prompt embeddings" in " ".join(first.stdout.split())
    data = assert_complete(store)
    assert data["experiments"][0]["name"] == "tiny" and data["experiments"][0]["prompts"] == 6
    with open_store(store) as st:
        row = dict(next(iter(st.conn.execute("select * from images order by id limit 1"))))
    for key in ("prompt", "template", "class_name", "seed", "model_id", "model_revision", "scheduler",
                "steps", "guidance", "width", "height", "sha256"):
        assert row[key] not in (None, ""), key
    assert (row["model_id"], row["steps"], row["guidance"], row["width"]) == ("tiny-random", 4, 5.0, 32)
    _the_open_set_vocabulary_was_embedded_and_the_towers_told_apart(store)

    before = tree_digest(store / "images")
    again = run_cli("run", str(TINY), "--store", str(store))
    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stdout
    assert tree_digest(store / "images") == before
    assert_complete(store)

    human = run_cli("status", str(store))
    assert human.returncode == 0 and "24 made of 24 jobs" in human.stdout

    # a store from before the open-set vocabulary: run embeds it, and only it
    with open_store(store) as st, st.immediate():
        st.conn.execute("delete from embeddings where kind = 'vocab'")
    later = run_cli("run", str(TINY), "--store", str(store))
    assert later.returncode == 0 and "Nothing to do" not in later.stdout, later.stdout + later.stderr
    assert tree_digest(store / "images") == before
    _the_open_set_vocabulary_was_embedded_and_the_towers_told_apart(store)


def _the_open_set_vocabulary_was_embedded_and_the_towers_told_apart(store):
    """The embedding worker embedded ImageNet-1k's class texts and the classes' senses once; both
    workers recorded their text tower; the analysis read them (the tiny pipeline's text encoder is
    not the tiny CLIP's: not circular)."""
    from workbench.results import results_of

    with open_store(store) as st:
        vocab = st.conn.execute("select count(*) from embeddings where kind = 'vocab'").fetchone()[0]
        towers = dict(st.conn.execute("select role, fingerprint from text_towers").fetchall())
        rows = results_of(st).result["four_causes"]
    assert vocab > 1000 and set(towers) == {"clip", "generator"} and towers["clip"] != towers["generator"]
    assert all(r["open_set_adherence"] is not None and r["read_as"] for r in rows)
    assert all(r["adherence_circular"] is False for r in rows)
    assert {r["class"].casefold(): r["own_sense"].split(" (")[0] for r in rows} == {
        "goldfish": "goldfish", "tabby cat": "tabby", "golden retriever": "golden retriever"}


def test_sigkill_in_the_middle_then_run_again_gives_exactly_24_images(tmp_path):
    store = tmp_path / "D"
    config = write_config(tmp_path, tiny_text(batch_size=1, steps=60))  # slow enough to kill midway
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "run", str(config), "--store", str(store)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    made = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and made < 3:
        time.sleep(0.05)
        try:
            c = sqlite3.connect(store / "synthdiv.db", timeout=5)
            made = c.execute("select count(*) from images").fetchone()[0]
            c.close()
        except sqlite3.Error:
            pass
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with open_store(store) as st:
        counts = jobs.counts(st, 1)
    assert 3 <= counts["done"] < 24, f"the kill did not land mid-run: {counts}"

    again = run_cli("run", str(config), "--store", str(store))
    assert again.returncode == 0, again.stdout + again.stderr
    assert_complete(store)


def test_a_png_whose_row_was_never_written_is_made_again_identically(tmp_path):
    """The window between renaming a PNG into place and committing its row."""
    store = tmp_path / "D"
    assert run_cli("run", str(TINY), "--store", str(store)).returncode == 0
    with open_store(store) as st:
        path, sha, job = st.conn.execute("select path, sha256, job_id from images order by id desc limit 1").fetchone()
        with st.immediate():
            st.conn.execute("delete from embeddings where kind = 'image' and item_id = (select id from images where job_id = ?)", [job])
            st.conn.execute("delete from images where job_id = ?", [job])
            # claimed by a worker that died before it wrote the row (a worker row of a pid that is gone)
            experiment = st.conn.execute("select experiment_id from jobs where id = ?", [job]).fetchone()[0]
            dead = st.db["workers"].insert({"experiment_id": experiment, "kind": "generation", "pid": 2 ** 22 + 7,
                                            "pid_start": "", "host": socket.gethostname(), "state": "running",
                                            "started_at": 0, "heartbeat_at": 0, "processed": 0}).last_pk
            st.conn.execute("update jobs set state = 'running', worker_id = ? where id = ?", [dead, job])
        assert consistency(st)["files_without_rows"] == [path]
    again = run_cli("run", str(TINY), "--store", str(store))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 jobs left unfinished" in again.stdout
    assert_complete(store)
    with open_store(store) as st:
        assert st.conn.execute("select sha256 from images where path = ?", [path]).fetchone()[0] == sha


def test_a_generation_worker_that_fails_is_reported_and_the_run_exits_1(tmp_path):
    # a pipeline folder whose index passes the config check, but whose parts are not there: it fails
    # only when the worker loads it (an empty folder is refused up front: not a pipeline folder)
    (tmp_path / "not-a-pipeline").mkdir()
    (tmp_path / "not-a-pipeline" / "model_index.json").write_text(
        '{"_class_name": "StableDiffusionPipeline", "scheduler": ["diffusers", "PNDMScheduler"],'
        ' "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}')
    config = write_config(tmp_path, tiny_text(model="not-a-pipeline"))
    store = tmp_path / "D"
    out = run_cli("run", str(config), "--store", str(store), timeout=240)
    assert out.returncode == 1, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert "generation worker on cpu failed: cannot load diffusers pipeline" in text
    assert "Run the same command again to retry" in text
    data = status_json(store)
    assert data["images"] == 0 and data["jobs"]["pending"] == 24  # nothing lost, nothing half-done
    errors = data["experiments"][0]["worker_errors"]
    assert errors and errors[0]["kind"] == "generation" and "cannot load" in errors[0]["error"]
    assert data["experiments"][0]["workers_running"] == []
