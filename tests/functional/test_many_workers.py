"""Several workers of a kind, one per device, under one supervisor (issue 13): they share the
queue, each image names its worker's device, a killed worker is restarted and nothing is made
twice, and a worker that crashes at start again and again is given up on, said where a user
looks (synthdiv status, the dashboard)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from store import open_store, workers
from tests.functional.stores import build
from tests.helpers import kill_and_see_it_restarted, store_rows, tiny_text, write_config
from workbench import supervisor as supervisor_module
from workbench.app import WorkbenchApp

SYNTHDIV = str(Path(sys.executable).with_name("synthdiv"))


@pytest.mark.slow
def test_three_cpu_workers_share_sixty_jobs_and_one_killed_midway_is_restarted(tmp_path):
    """3 generation workers and 2 embedding workers (counts of CPU workers) on 60 jobs."""
    two_embedders = tiny_text(images_per_prompt=10, batch_size=1, steps=60, devices=3).replace(
        "[embedding]\n", "[embedding]\ndevices = 2\n")
    config = write_config(tmp_path, two_embedders)
    store = tmp_path / "D"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    env.pop("PYTHONPATH", None)
    run = subprocess.Popen([SYNTHDIV, "run", str(config), "--store", str(store)], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, made = time.monotonic() + 240, {}
    while time.monotonic() < deadline:  # until each of the three has made an image
        made = dict(store_rows(store, "select device, count(*) from images group by device"))
        if len(made) == 3:
            break
        time.sleep(0.05)
    assert set(made) == {"cpu:0", "cpu:1", "cpu:2"}, made
    (pid,) = store_rows(store, "select pid from workers where kind = 'generation' and device = 'cpu:1' and state = 'running'")[0]
    kill_and_see_it_restarted(run, store, pid, "generation worker on cpu:1", 60)
    with open_store(store) as st:
        assert dict(st.conn.execute("select state, count(*) from jobs group by state").fetchall()) == {"done": 60}
        by_device = dict(st.conn.execute("select device, count(*) from images group by device").fetchall())
        assert set(by_device) == {"cpu:0", "cpu:1", "cpu:2"} and all(n > 0 for n in by_device.values()), by_device
        seats = st.conn.execute("select distinct kind, device from workers where kind != 'supervisor'").fetchall()
        assert sorted(tuple(r) for r in seats) == [("embedding", "cpu:0"), ("embedding", "cpu:1"), ("generation", "cpu:0"),
                                                   ("generation", "cpu:1"), ("generation", "cpu:2")]
        # the two embedding workers split the images and prompts: each did part, together all, none twice
        assert st.conn.execute("select count(*) from embeddings where kind = 'image'").fetchone()[0] == 60
        parts = st.conn.execute("select processed from workers where kind = 'embedding' and state = 'done'").fetchall()
        assert len(parts) == 2 and all(p[0] > 0 for p in parts) and sum(p[0] for p in parts) == 60, parts


def _crashing_command(seat, root, experiment):
    """A worker that dies at start before it can record anything, as a broken CUDA install makes it."""
    return [sys.executable, "-c", "import sys; print('ImportError: libcudnn.so.9: cannot open shared object file');"
            " sys.exit(1)"]


async def test_a_worker_crashing_at_start_five_times_is_given_up_on_and_status_and_the_dashboard_say_why(tmp_path, monkeypatch):
    build(tmp_path, done=10, analysed=False)  # 14 images still to make
    monkeypatch.setattr(supervisor_module, "worker_command", _crashing_command)
    monkeypatch.setattr(supervisor_module.Supervisor, "BACKOFF_S", (0.05,))
    said: list[str] = []
    status = supervisor_module.supervise(tmp_path, "tiny", say=lambda text, style: said.append(text))
    assert status == 1
    restarts = [s for s in said if "restarting it" in s]
    assert len(restarts) == 2 * 4, said  # generation and embedding, each restarted 4 times
    (gave_up,) = [s for s in said if s.startswith("The generation worker on cpu (pid") and "Not started again" in s]
    assert "5 times in a row" in gave_up and "libcudnn.so.9" in gave_up and "generation-cpu.log" in gave_up
    with open_store(tmp_path) as st:
        rows = [dict(r) for r in st.db.query("select * from workers where state = 'given_up'")]
        assert sorted(r["kind"] for r in rows) == ["embedding", "generation"]
        assert not workers.running(st, 1)  # the supervisor recorded its own end too

    from workbench import cli

    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["status", str(tmp_path)]) == 0
    text = " ".join(out.getvalue().split())
    assert "generation worker on cpu given up: crashed 5 times in a row; its log ends: ImportError: libcudnn.so.9" in text, text
    assert "fix the cause, and run the experiment again" in text and "libcudnn.so.9" in text

    from tests.functional.test_workbench import text_of, until

    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await until(pilot, lambda: "given up" in text_of(app))
        row = next(line for line in text_of(app).splitlines() if line.split()[:2] == ["generation", "cpu"])
        assert "given up" in row and "crashed 5 times in a row; its log ends: ImportError: libcudnn" in row, row


async def test_the_dashboard_lists_every_worker_with_its_device_state_rate_and_error(tmp_path):
    from tests.functional.test_workbench import text_of, until

    e = build(tmp_path, done=20, analysed=False)
    with open_store(tmp_path) as st:
        for device, processed in (("cpu:0", 7), ("cpu:1", 5)):
            wid = workers.register(st, e, "generation", device)
            st.db.execute("update workers set processed = ?, started_at = started_at - 10, heartbeat_at = ? where id = ?",
                          [processed, time.time(), wid])
        workers.give_up(st, e, "generation", "cpu:2", 4242, "the generation worker on cpu:2 (pid 4242) exited with"
                        " status 1 without recording why, 5 times in a row. It is not started again")
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: "given up" in text_of(app))
        lines = text_of(app).splitlines()
        row = lambda device: next(line for line in lines if line.split()[:2] == ["generation", device])  # noqa: E731
        assert "running" in row("cpu:0") and "0.70" in row("cpu:0") and " 7" in row("cpu:0")
        assert "running" in row("cpu:1") and "0.50" in row("cpu:1")
        assert "given up" in row("cpu:2") and "4242" in row("cpu:2") and "exited with status 1" in row("cpu:2")


@pytest.mark.slow
def test_a_pause_from_the_workbench_drains_a_synthdiv_run_and_the_next_run_finishes(tmp_path):
    from workbench import control

    config = write_config(tmp_path, tiny_text(batch_size=1, steps=60))
    store = tmp_path / "D"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    env.pop("PYTHONPATH", None)
    run = subprocess.Popen([SYNTHDIV, "run", str(config), "--store", str(store)], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and store_rows(store, "select count(*) from images")[:1] < [(3,)]:
        time.sleep(0.05)
    with open_store(store) as st:
        assert control.stop_workers(st) >= 3  # the run's supervisor, then its two workers
    out, _ = run.communicate(timeout=120)
    assert run.returncode == 130, out
    assert "Stopped. Run the same command again to resume" in " ".join(out.split())
    with open_store(store) as st:
        assert not control.live_workers(st)
        assert st.conn.execute("select count(*) from jobs where state = 'running'").fetchone()[0] == 0
        made = st.conn.execute("select count(*) from images").fetchone()[0]
    assert 3 <= made < 24
    again = subprocess.run([SYNTHDIV, "run", str(config), "--store", str(store)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    with open_store(store) as st:
        assert tuple(st.conn.execute("select count(*), count(distinct job_id) from images").fetchone()) == (24, 24)
