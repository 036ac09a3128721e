"""A worker's priority follows what it competes with (issue 27): the embedding worker yields only
while a CPU generation worker of its experiment runs on this machine, a worker that may not lower
its own niceness is restarted (not counted as a crash), and status and the dashboard show a
worker's niceness and a worker that makes no progress while work waits, with the likely cause."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest

from store import embeddings, open_store, workers
from tests.functional.stores import build
from tests.helpers import REPO, tiny_text, write_config
from workbench import supervisor as supervisor_module
from workbench.app import WorkbenchApp
from workbench.placement import Seat
from workbench.priority import STALL_S, stalled
from workbench.worker_common import RESTART_EXIT

SYNTHDIV = str(Path(sys.executable).with_name("synthdiv"))

# Run in a process of its own: renicing the test's process would slow every test after it.
FOLLOW = r"""
import json, os, sys, threading
from store import open_store, workers
from workbench import priority
from workbench.kinds import KINDS

said, out = [], {}
started = threading.Event()
threading.Thread(target=started.wait, daemon=True).start()  # a thread started before any change
def seen():
    return {"now": p.now, "threads": sorted({os.getpriority(os.PRIO_PROCESS, t) for t in priority.threads()})}
with open_store(sys.argv[1]) as st:
    p = priority.Priority(KINDS["embedding"], 1, say=said.append)
    out["start"] = seen()
    gen = workers.register(st, 1, "generation", "cpu")  # this process, as a CPU generation worker here
    out["beside generation"] = (p.follow(st), seen())
    out["training beside generation"] = priority.Priority(KINDS["training"], 1, base=p.base).wanted(st)[0]
    later = threading.Thread(target=started.wait, daemon=True)
    later.start()  # started while yielding: it inherits the niceness
    out["later thread"] = os.getpriority(os.PRIO_PROCESS, later.native_id)
    workers.stop(st, gen, "done")
    out["generation ended"] = (p.follow(st), seen())
    gpu = workers.register(st, 1, "generation", "cuda:0")
    out["generation on a GPU"] = (p.follow(st), seen())
    workers.stop(st, gpu, "done")
    workers.register(st, 1, "generation", "cpu")
    p.follow(st)
    def refused(value):  # as for a process that is not root
        if value < p.now:
            raise PermissionError(1, "Operation not permitted")
    priority.renice = refused
    st.db.execute("update workers set state = 'done' where kind = 'generation'")
    out["not root"] = (p.follow(st), p.now)
out["said"] = said
print(json.dumps(out))
"""


def test_the_embedding_worker_yields_only_beside_cpu_generation_here(tmp_path):
    build(tmp_path, done=10, analysed=False)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    if base >= 19:
        pytest.skip("the tests run at nice 19 already: there is no lower priority to yield to")
    proc = subprocess.run([sys.executable, "-c", FOLLOW, str(tmp_path)], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    low = min(19, base + 19)
    assert out["start"] == {"now": base, "threads": [base]}
    assert out["beside generation"] == [True, {"now": low, "threads": [low]}]  # every thread, the earlier one too
    assert out["later thread"] == low
    assert out["training beside generation"] == base  # training never yields
    if os.geteuid() == 0:  # only root may lower a niceness again
        assert out["generation ended"] == [True, {"now": base, "threads": [base]}]
        assert out["generation on a GPU"] == [True, {"now": base, "threads": [base]}]  # no yielding to a GPU
        assert out["not root"] == [False, low]  # it asks to be restarted instead
    said = out["said"]
    assert said[0].startswith(f"priority: nice {base} → {low} (a generation worker runs on this CPU (pid")
    assert any("may not set: restarting at the priority it started with" in s for s in said), said


def test_a_worker_that_asks_for_a_restart_is_started_again_at_once_and_not_counted_as_a_crash(tmp_path):
    e = build(tmp_path, done=10, analysed=False)
    said: list[str] = []
    with open_store(tmp_path) as st:
        sup = supervisor_module.Supervisor(st, e, tmp_path, "tiny", [Seat("embedding", "cpu")],
                                           say=lambda text, style: said.append(text))
        slot = sup.slots[("embedding", "cpu")]
        slot.crashes, slot.proc = 2, SimpleNamespace(returncode=RESTART_EXIT, pid=4242)
        sup._ended(slot, now=None)
        assert slot.crashes == 0 and slot.failed is None and slot.not_before <= time.monotonic()
    assert said == ["Restarting the embedding worker on cpu at normal priority (it cannot lower its own niceness)."]


def test_a_heartbeat_whose_priority_cannot_be_set_stops_the_worker_for_a_restart(tmp_path):
    from workbench.worker_common import run_worker

    e = build(tmp_path, done=10, analysed=False)

    class Refused:
        now = 19

        def follow(self, st):
            return False

    def body(st, worker_id, flag, beat):
        beat.every_s = 0.05  # the first beat comes after the thread's first wait (5 s): quicker here
        assert flag.stop.wait(30), "the heartbeat never asked the worker to stop"
        return "stopped"

    assert run_worker(tmp_path, e, "embedding", body, device="cpu", priority=Refused()) == RESTART_EXIT
    with open_store(tmp_path) as st:
        row = dict(st.db.execute("select * from workers where kind = 'embedding' order by id desc limit 1").fetchone())
    assert row["state"] == "stopped" and not row["error"]


def starved_store(tmp_path) -> int:
    """A store with 10 images, none embedded, and a running embedding worker (this process) whose
    last heartbeat says: nothing embedded for 10 minutes, nice 19, load 16.4 on 2 cores."""
    e = build(tmp_path, done=10, analysed=False)
    with open_store(tmp_path) as st:
        st.db.execute("delete from embeddings where kind = 'image'")
        w = workers.register(st, e, "embedding", "cpu")
        st.db.execute("update workers set started_at = ?, progress_at = ?, nice = 19, load = 16.4, cpus = 2 where id = ?",
                      [time.time() - 900, time.time() - 600, w])
        assert embeddings.count(st, e, "image") == 0
    return e


STARVED = ("embedding worker on cpu: no progress for 10 min while 10 images to embed wait: likely starved by load:"
           " load average 16.4 on 2 cores, and it runs at nice 19")


async def test_status_and_the_dashboard_show_the_niceness_and_a_starved_worker(tmp_path):
    from tests.functional.test_workbench import text_of, until
    from workbench import cli

    starved_store(tmp_path)
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["status", str(tmp_path)]) == 0
    text = " ".join(out.getvalue().split())
    assert STARVED in text, text
    header = next(line for line in out.getvalue().splitlines() if line.split()[:2] == ["worker", "device"])
    row = next(line for line in out.getvalue().splitlines() if line.split()[:2] == ["embedding", "cpu"])
    assert header.split()[4] == "nice" and row.split()[4] == "19", (header, row)
    with redirect_stdout(out := io.StringIO()):
        assert cli.main(["status", str(tmp_path), "--json"]) == 0
    (w,) = [w for w in json.loads(out.getvalue())["experiments"][0]["workers"] if w["kind"] == "embedding"]
    assert w["nice"] == 19 and w["stalled"] == STARVED.split(": ", 1)[1]

    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await until(pilot, lambda: "no progress for 10 min" in text_of(app))
        assert STARVED in " ".join(text_of(app).split())


def test_a_worker_at_work_or_with_nothing_waiting_is_not_called_stalled(tmp_path):
    e = starved_store(tmp_path)
    from store.status import experiment_summary
    from store import experiments

    with open_store(tmp_path) as st:
        summary = experiment_summary(st, experiments.get(st, "tiny"))
        assert [w["kind"] for w in stalled(summary, now=time.time())] == ["embedding"]
        st.db.execute("update workers set progress_at = ? where kind = 'embedding' and state = 'running'",
                      [time.time() - STALL_S + 30])  # it embedded something half a minute before the limit
        assert stalled(experiment_summary(st, experiments.get(st, "tiny"))) == []
        st.db.execute("update workers set progress_at = ?, load = 0.3 where kind = 'embedding'", [time.time() - 600])
        (w,) = stalled(experiment_summary(st, experiments.get(st, "tiny")))
        assert w["stalled"].endswith("not for lack of CPU (load average 0.3 on 2 cores): see its log")
        ids = [r[0] for r in st.conn.execute("select id from images where experiment_id = ?", [e])]
        embeddings.add(st, "image", ids, "tiny-random", [[1.0, 0.0]] * len(ids))
        assert stalled(experiment_summary(st, experiments.get(st, "tiny"))) == []  # nothing waits


@pytest.mark.slow
def test_the_tiny_run_embeds_everything_beside_two_cpu_hogs(tmp_path):
    """Two processes of the test's own burn both cores at nice 0 (each stops by itself after at
    most 10 minutes, and the test kills them at the end) while the tiny experiment runs: it ends
    with every image embedded. The times are printed (-s shows them); only completion is asserted."""
    hog = "import time\nend = time.monotonic() + 600\nwhile time.monotonic() < end:\n    pass\n"
    hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(2)]
    try:
        config = write_config(tmp_path, tiny_text())
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
        env.pop("PYTHONPATH", None)
        started = time.monotonic()
        run = subprocess.run([SYNTHDIV, "run", str(config), "--store", str(tmp_path / "S")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=900)
        took = time.monotonic() - started
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with open_store(tmp_path / "S", readonly=True) as st:
        made = st.conn.execute("select count(*) from images").fetchone()[0]
        embedded = st.conn.execute("select count(distinct item_id) from embeddings where kind = 'image'").fetchone()[0]
    print(f"\ntiny run beside two CPU hogs: {made} images made and {embedded} embedded in {took:.0f} s")
    assert made == 24 and embedded == 24
