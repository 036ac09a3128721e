"""An experiment on a Ray cluster (``[cluster] engine = "ray"``, ``synthdiv run --ray``): a local
Ray cluster on 127.0.0.1, CPU only, the tiny preset.

Every Ray process runs in a network namespace that has only loopback (``unshare -n``), with Ray's
usage statistics off: no packet leaves this machine (shared/notes/ray.md says why both are
needed), and its state goes to a temporary folder."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from store import open_store
from tests.functional.test_run import assert_complete
from tests.helpers import tiny_text, write_config

RAY = Path(sys.executable).with_name("ray")


def cluster_text(**cluster) -> str:
    """The tiny example (3 classes × 2 templates × 4 seeds) with a [cluster] section."""
    lines = [f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"' for k, v in cluster.items()]
    return tiny_text() + "\n[cluster]\n" + "\n".join(lines) + "\n"


def loopback_only() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_loopback = pytest.mark.skipif(not loopback_only(), reason="needs unshare -n (root): Ray must not reach the network")


@pytest.fixture
def ray_env():
    """The environment of the commands: usage statistics off, Ray's state in a short temporary
    folder (its socket paths must stay short), the hub offline. Removed afterwards."""
    folder = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": folder, "HF_HUB_OFFLINE": "1", "COLUMNS": "120",
           # the cluster's token authentication (Ray's default), with a token of the test's, not ~/.ray's
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env.pop("PYTHONPATH", None)
    yield env
    shutil.rmtree(folder, ignore_errors=True)


def synthdiv(*args: str) -> str:
    return " ".join([sys.executable, "-m", "workbench.cli", *args])


def in_loopback(script: str, env: dict, cwd: Path, **popen) -> subprocess.Popen:
    """``script`` (bash) in a network namespace of its own that has only loopback."""
    return subprocess.Popen(["unshare", "-n", "bash", "-c", "ip link set lo up\n" + script], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def rows(store: Path, sql: str, args=()) -> list[dict]:
    if not (store / "synthdiv.db").exists():
        return []
    with open_store(store) as st:
        return [dict(r) for r in st.db.query(sql, args)]


def test_without_ray_installed_ray_runs_exit_2_naming_the_extra(tmp_path, monkeypatch, capsys):
    from workbench import cli

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as without the extra
    config = write_config(tmp_path, tiny_text())
    in_file = write_config(tmp_path, cluster_text(engine="ray"), "cluster.toml")
    for args in (["run", str(config), "--ray", "--store", str(tmp_path / "A")],
                 ["run", str(in_file), "--store", str(tmp_path / "B")]):
        assert cli.main(args) == 2
        out = capsys.readouterr()
        assert 'pip install "synthdiv[ray]"' in " ".join((out.out + out.err).split())
    assert not (tmp_path / "A").exists() and not (tmp_path / "B").exists()  # nothing written


def test_the_workbenchs_supervisor_without_ray_says_why_on_its_row(tmp_path, monkeypatch):
    """g in the workbench on a cluster experiment without the extra: the supervisor stops before
    any worker starts, and its row (which status and the dashboard show) names the extra."""
    from store import workers
    from workbench.config import load_config
    from workbench.control import prepare
    from workbench.supervisor import supervise

    monkeypatch.setitem(sys.modules, "ray", None)
    cfg = load_config(write_config(tmp_path, cluster_text(engine="ray")))
    with open_store(tmp_path / "S", create=True) as st:
        e = prepare(st, cfg).experiment_id
    said = []
    assert supervise(tmp_path / "S", cfg.name, say=lambda text, style: said.append(text)) == 2
    with open_store(tmp_path / "S") as st:
        rows = workers.board(st, e)
    assert [(w["kind"], w["state"]) for w in rows] == [("supervisor", "failed")]
    assert 'pip install "synthdiv[ray]"' in rows[0]["error"] and any("synthdiv[ray]" in t for t in said)


def test_pause_signals_the_process_feeding_the_actors_never_an_actors_pid_here(tmp_path):
    """An actor's pid is its node's: on this machine the same number may be another process."""
    from store import workers
    from store.core import process_start_token
    from tests.unit.test_store import make_experiment
    from workbench.control import stop_workers

    head = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with open_store(tmp_path, create=True) as st:
            e, _ = make_experiment(st)
            row = workers.register(st, e, "generation", "ray")
            st.db.execute("update workers set pid = ?, pid_start = ? where id = ?",
                          [head.pid, process_start_token(head.pid), row])
            workers.register_part(st, row, "ray:node7/gpu0", os.uname().nodename, bystander.pid)
            assert stop_workers(st) == 1
        assert head.wait(timeout=10) == -signal.SIGTERM
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        for p in (head, bystander):
            p.kill()
            p.wait()


def test_a_bad_cluster_setting_exits_2_naming_it(tmp_path, capsys):
    from workbench import cli

    config = write_config(tmp_path, tiny_text())
    assert cli.main(["run", str(config), "--ray", "head-node", "--store", str(tmp_path / "A")]) == 2
    assert "--ray is 'head-node'" in capsys.readouterr().err
    bad = write_config(tmp_path, cluster_text(engine="slurm"), "bad.toml")
    assert cli.main(["run", str(bad), "--store", str(tmp_path / "B")]) == 2
    assert "cluster.engine is 'slurm'" in capsys.readouterr().err
    assert not (tmp_path / "A").exists() and not (tmp_path / "B").exists()


def test_actors_are_one_per_gpu_or_share_the_cpus_and_never_more_than_the_gpus():
    from types import SimpleNamespace

    from synthdiv.errors import ConfigError
    from workbench.cluster import EMBEDDING_GPU, GENERATION_GPU, embedding_actor_options, generation_actors

    def cluster(**resources):
        return SimpleNamespace(cluster_resources=lambda: resources)

    assert generation_actors(cluster(CPU=64, GPU=8), 0) == (8, {"num_gpus": GENERATION_GPU, "num_cpus": 1})
    assert generation_actors(cluster(CPU=64, GPU=8), 3)[0] == 3
    with pytest.raises(ConfigError, match="cluster.actors is 9, but the cluster has 8 GPUs"):
        generation_actors(cluster(CPU=64, GPU=8), 9)
    assert generation_actors(cluster(CPU=2), 0) == (1, {"num_cpus": 2})
    assert generation_actors(cluster(CPU=16), 4) == (4, {"num_cpus": 4})
    assert GENERATION_GPU + EMBEDDING_GPU <= 1  # the embedding actor fits beside a generation actor on a GPU
    assert embedding_actor_options(cluster(CPU=64, GPU=8)) == {"num_gpus": EMBEDDING_GPU, "num_cpus": 0}


def test_an_actor_that_fails_as_it_starts_is_reported_by_its_error_not_rays_wrapping():
    from workbench.cluster import actor_error

    class Died(Exception):  # what Ray raises: its own words first, then the actor's traceback
        cause = None

    died = Died("The actor died because of an error raised in its creation task, \x1b[36mray::GenerationActor.__init__()"
                "\x1b[39m (pid=3083, ip=127.0.0.1)\n  File \"workbench/actors.py\", line 40, in __init__\n"
                "synthdiv.errors.ModelError: generation.model: model folder /m does not exist: give an existing folder")
    assert actor_error(died) == ("ModelError: generation.model: model folder /m does not exist: give an existing folder"
                                 " (raised as the actor started)")

    class TaskFailed(Exception):  # a batch that raised: Ray keeps the actor's exception as the cause
        cause = ValueError("prompt batch too large")

    assert actor_error(TaskFailed("ray wrapping")) == "ValueError: prompt batch too large"


def test_a_shared_folder_becomes_the_stores_images_folder_and_stored_images_are_never_moved(tmp_path):
    from synthdiv.errors import SynthdivError
    from workbench.cluster_generation import link_shared_images

    (tmp_path / "S" / "images").mkdir(parents=True)  # an empty images folder: replaced by the link
    link_shared_images(tmp_path / "S", str(tmp_path / "shared"))
    link_shared_images(tmp_path / "S", str(tmp_path / "shared"))  # again: already linked
    assert (tmp_path / "S" / "images").resolve() == tmp_path / "shared" / "images"
    with pytest.raises(SynthdivError, match="links to .* not to"):
        link_shared_images(tmp_path / "S", str(tmp_path / "elsewhere"))
    (tmp_path / "T" / "images" / "c0000-zero").mkdir(parents=True)
    (tmp_path / "T" / "images" / "c0000-zero" / "t0000-s1.png").write_bytes(b"png")
    with pytest.raises(SynthdivError, match="already keeps images") as err:
        link_shared_images(tmp_path / "T", str(tmp_path / "shared2"))
    assert "move the contents" in err.value.fix
    assert (tmp_path / "T" / "images" / "c0000-zero" / "t0000-s1.png").read_bytes() == b"png"


@pytest.mark.slow
@needs_loopback
def test_a_run_on_a_ray_cluster_it_starts_makes_every_image_once_with_its_row_and_provenance(tmp_path, ray_env):
    """Two actors write the files into a shared folder (the store's images folder links to it);
    the rows, and the database, stay in the store."""
    store = tmp_path / "D"
    config = write_config(tmp_path, cluster_text(actors=2, shared_dir=str(tmp_path / "shared")))
    run = in_loopback(synthdiv("run", str(config), "--store", str(store), "--ray", "local"), ray_env, tmp_path)
    out, _ = run.communicate(timeout=600)
    assert run.returncode == 0, out
    assert "On the Ray cluster (local)" in out
    assert_complete(store)
    assert (store / "images").is_symlink() and (store / "images").resolve() == (tmp_path / "shared" / "images")
    assert len(list((tmp_path / "shared" / "images").rglob("*.png"))) == 24 and (store / "synthdiv.db").is_file()
    host = os.uname().nodename
    made = rows(store, "select device, worker_id from images")
    assert {m["device"] for m in made} == {f"cpu@{host}"}  # where each image was made
    parts = rows(store, "select * from workers where parent_id is not null order by id")
    heads = {r["id"]: r for r in rows(store, "select * from workers where device = 'ray'")}
    assert sorted(heads[p["parent_id"]]["kind"] for p in parts) == ["embedding", "generation", "generation"]
    generation = [p for p in parts if p["kind"] == "generation"]
    assert sorted(p["device"] for p in generation) == [f"ray:{host}/cpu0", f"ray:{host}/cpu1"]
    assert sum(p["processed"] for p in generation) == 24 and all(p["state"] == "done" for p in parts)
    assert {m["worker_id"] for m in made} == {generation[0]["parent_id"]}  # recorded by the process feeding them
    from PIL import Image

    first = rows(store, "select path, prompt, seed from images limit 1")[0]
    text = Image.open(store / first["path"]).text  # the provenance travels inside the file as well
    assert text["synthdiv:prompt"] == first["prompt"] and text["synthdiv:seed"] == str(first["seed"])
    status = subprocess.run([sys.executable, "-m", "workbench.cli", "status", str(store)], capture_output=True,
                            text=True, env=ray_env, timeout=120)
    assert f"ray:{host}/cpu1" in status.stdout  # the actors are on the worker board


@pytest.mark.slow
@needs_loopback
def test_a_cluster_that_is_not_there_exits_2_naming_the_address_and_how_to_start_one(tmp_path, ray_env):
    config = write_config(tmp_path, tiny_text())
    run = in_loopback(synthdiv("run", str(config), "--store", str(tmp_path / "D"), "--ray", "127.0.0.1:6391"),
                      ray_env, tmp_path)
    out, _ = run.communicate(timeout=300)
    assert run.returncode == 2, out
    text = " ".join(out.split())
    assert "cannot join the Ray cluster at 127.0.0.1:6391: nothing answers there" in text and "ray start --head" in text
    assert not rows(tmp_path / "D", "select id from workers where kind != 'supervisor' or state = 'running'")


@pytest.mark.slow
@needs_loopback
def test_a_lost_actor_and_a_killed_head_lose_and_duplicate_nothing(tmp_path, ray_env):
    """A cluster started with ray start; one generation actor killed mid-run (its jobs go back and
    are made once elsewhere), and the embedding actor (another takes its batch); then the head's
    processes killed (synthdiv run again resumes)."""
    store = tmp_path / "D"
    text = cluster_text(engine="ray", actors=2, in_flight=1, address="127.0.0.1:6390").replace(
        "images_per_prompt = 4", "images_per_prompt = 20").replace("steps = 4", "steps = 20").replace(
        "batch_size = 4", "batch_size = 2")
    config = write_config(tmp_path, text)
    script = "\n".join([
        f"{RAY} start --head --port=6390 --num-cpus=2 --num-gpus=0 --include-dashboard=false --disable-usage-stats"
        f" --temp-dir={ray_env['RAY_TMPDIR']} > {tmp_path}/ray-start.log 2>&1 || exit 3",
        synthdiv("run", str(config), "--store", str(store)) + f" > {tmp_path}/first.log 2>&1",
        "echo first=$?",
        synthdiv("run", str(config), "--store", str(store)) + f" > {tmp_path}/second.log 2>&1",
        "echo second=$?",
        f"{RAY} stop --force > /dev/null 2>&1",
    ])
    proc = in_loopback(script, ray_env, tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 300

        def running_actor(kind: str, made: int) -> dict:
            """The first actor of ``kind`` running with at least ``made`` items done, once there is one."""
            while time.monotonic() < deadline and proc.poll() is None:
                found = rows(store, "select * from workers where parent_id is not null and kind = ?"
                             " and state = 'running' and processed >= ?", [kind, made])
                if found:
                    return found[0]
                time.sleep(0.2)
            raise AssertionError(f"no running {kind} actor: {proc.communicate()[0]}")

        actor = running_actor("generation", 4)
        os.kill(actor["pid"], signal.SIGKILL)  # an actor lost mid-run, its batch in hand
        embedder = running_actor("embedding", 1)
        os.kill(embedder["pid"], signal.SIGKILL)  # the embedding actor too: its batch is sent again to a new one
        while time.monotonic() < deadline and proc.poll() is None:
            if rows(store, "select id from jobs where state = 'done' limit 1 offset 70"):
                break
            time.sleep(0.2)
        heads = rows(store, "select pid from workers where state = 'running' and parent_id is null")
        assert heads, proc.communicate()[0]
        for h in heads:  # the head killed: synthdiv run, its supervisor and the processes feeding the actors
            os.kill(h["pid"], signal.SIGKILL)
        out, _ = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    second = (tmp_path / "second.log").read_text()
    assert "second=0" in out, out + second
    assert "first=0" not in out  # the first run was killed
    again = re.search(r"Generated (\d+) images", second)
    assert again and 0 < int(again.group(1)) < 120, second  # the second run made what the first had not
    assert_complete(store, n=120, prompts=6)  # every image once, its file and its row
    for gone in (actor, embedder):
        lost = rows(store, "select * from workers where id = ?", [gone["id"]])[0]
        assert lost["state"] == "lost" and "the actor was lost" in lost["error"], lost
    assert "The embedding actor was lost" in (store / "logs" / "embedding-ray.log").read_text()
    log = (store / "logs" / "generation-ray.log").read_text()
    assert "of its jobs went back to the queue" in log
    held = rows(store, "select count(*) as n from images group by job_id having n > 1")
    assert held == []


@pytest.mark.slow
@needs_loopback
def test_the_ray_benchmark_times_actors_against_the_local_worker(tmp_path, ray_env):
    run = in_loopback(f"{sys.executable} -m benchmarks --quick --only ray", ray_env, Path(__file__).resolve().parents[2])
    out, _ = run.communicate(timeout=600)
    assert run.returncode == 0, out
    rows = [r for r in out.splitlines() if r.startswith("generation on a local Ray cluster") and " | " in r]
    assert len(rows) == 1, out
    what, ours, base, ratio, target, _ = rows[0].split(" | ")
    assert "1 actor, vs the local generation worker (120 images, batch 50; overhead" in what and "ms per batch" in what
    assert "img/s" in ours and "img/s" in base and float(ratio) > 0 and target.strip() == "≥ 0.8"
