"""What a careless or hostile user does, run as a user runs it: odd folders, odd names, broken and
missing files, killed workers, two runs at once (issue 11). Nothing stored may be lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import open_store
from store.images import consistency
from tests.helpers import TINY, kill_and_see_it_restarted, store_rows, tiny_text, write_config

pytestmark = pytest.mark.slow

SYNTHDIV = str(Path(sys.executable).with_name("synthdiv"))  # the console script, as a user runs it


def synthdiv(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([SYNTHDIV, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_folders_named_like_synthdivs_packages_in_the_working_folder_are_never_imported(tmp_path):
    marker = tmp_path / "imported"
    for package in ("store", "screens", "workbench", "synthdiv"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(f"open({str(marker)!r}, 'a').write({package!r})\n")
    out = synthdiv("run", str(TINY), "--store", "store", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "24/24 images, 24 image embeddings" in " ".join(out.stdout.split())
    assert not marker.exists(), marker.read_text()


def _done_store(tmp_path) -> Path:
    store = tmp_path / "D"
    out = synthdiv("run", str(TINY), "--store", str(store), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    return store


def _shas(store: Path) -> dict[str, str]:
    with open_store(store) as st:
        return dict(st.conn.execute("select path, sha256 from images").fetchall())


def test_deleted_images_are_noticed_by_run_and_made_again_identically(tmp_path):
    store = _done_store(tmp_path)
    before = _shas(store)
    gone = sorted(before)[:3]
    for rel in gone:
        (store / rel).unlink()
    out = synthdiv("run", str(TINY), "--store", str(store), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert "3 recorded images were missing" in text and gone[0] in text and "made again" in text
    assert "Nothing to do" not in text
    assert _shas(store) == before  # the same images, byte for byte
    with open_store(store) as st:
        assert consistency(st) == {"files_without_rows": [], "rows_without_files": []}
        assert st.conn.execute("select count(*) from embeddings where kind = 'image'").fetchone()[0] == 24


def test_check_finds_changed_and_missing_files_and_fix_requeues_them(tmp_path):
    store = _done_store(tmp_path)
    before = _shas(store)
    changed, gone = sorted(before)[0], sorted(before)[5]
    (store / changed).write_bytes((store / changed).read_bytes() + b"tampered")
    (store / gone).unlink()
    out = synthdiv("check", str(store), cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert "2 of 24 images are damaged" in text
    assert f"{store / changed}: changed (SHA-256 differs)" in text and f"{store / gone}: missing" in text
    assert "--fix" in text
    assert _shas(store) == before  # checking changed nothing
    fixed = synthdiv("check", str(store), "--fix", cwd=tmp_path)
    assert fixed.returncode == 1 and "back in the queue" in fixed.stdout
    again = synthdiv("run", str(TINY), "--store", str(store), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _shas(store) == before
    clean = synthdiv("check", str(store), cwd=tmp_path)
    assert clean.returncode == 0 and "all 24 images are present and match" in clean.stdout


def test_a_truncated_image_waiting_for_its_embedding_is_made_again_and_the_run_succeeds(tmp_path):
    store = _done_store(tmp_path)
    before = _shas(store)
    victim = sorted(before)[2]
    with open_store(store) as st:
        with st.immediate():  # its embedding still to come, as when the run was stopped between the two
            st.conn.execute("delete from embeddings where kind = 'image' and item_id ="
                            " (select id from images where path = ?)", [victim])
    (store / victim).write_bytes((store / victim).read_bytes()[:50])
    out = synthdiv("run", str(TINY), "--store", str(store), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert _shas(store) == before
    log = (store / "logs" / "embedding-cpu.log").read_text()
    assert f"image file {store / victim} could not be read" in log
    with open_store(store) as st:
        assert st.conn.execute("select count(*) from embeddings where kind = 'image'").fetchone()[0] == 24


def _start_run(config: Path, store: Path, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    env.pop("PYTHONPATH", None)
    return subprocess.Popen([SYNTHDIV, "run", str(config), "--store", str(store)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_generation_worker_killed_like_the_oom_killer_does_is_restarted_and_the_run_says_so(tmp_path):
    config = write_config(tmp_path, tiny_text(batch_size=1, steps=60))  # slow enough to kill midway
    store = tmp_path / "D"
    run = _start_run(config, store, tmp_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and store_rows(store, "select count(*) from images")[:1] < [(3,)]:
        time.sleep(0.05)
    pid = (store_rows(store, "select pid from workers where kind = 'generation' and state = 'running'") or [(0,)])[0][0]
    assert pid, "no generation worker to kill"
    kill_and_see_it_restarted(run, store, pid, "generation worker on cpu", 24)


def test_two_runs_of_one_store_started_together_make_one_set_of_workers(tmp_path):
    config = write_config(tmp_path, tiny_text(batch_size=2, steps=20))
    store = tmp_path / "D"
    runs = [_start_run(config, store, tmp_path) for _ in range(2)]
    outs = [r.communicate(timeout=300)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    with open_store(store) as st:
        kinds = dict(st.conn.execute("select kind, count(*) from workers group by kind").fetchall())
        assert kinds == {"supervisor": 1, "generation": 1, "embedding": 1}, kinds
        assert tuple(st.conn.execute("select count(*), count(distinct job_id) from images").fetchone()) == (24, 24)
    assert any("Following the supervisor already running" in o for o in outs), outs


@pytest.fixture
def small_disk(tmp_path):
    """A 1.5 MiB file system (tmpfs; needs root, as CI has), grown to 64 MiB by calling the result."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a small file system here (not root)")
    try:
        yield mnt, lambda: subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_is_said_recorded_truthfully_and_the_next_run_finishes(tmp_path, small_disk):
    mnt, grow = small_disk
    store = mnt / "D"
    # 256-px noise PNGs (~0.2 MB each): the disk fills after a few images
    config = write_config(tmp_path, tiny_text(width=256, height=256, steps=1, batch_size=2))
    out = synthdiv("run", str(config), "--store", str(store), cwd=tmp_path, timeout=600)
    said = out.stdout + out.stderr
    assert out.returncode != 0, said
    assert f"disk full at {store}" in " ".join(said.split()), said
    assert "Traceback" not in said and "OperationalError" not in said
    again = synthdiv("run", str(config), "--store", str(store), cwd=tmp_path, timeout=600)
    said = again.stdout + again.stderr
    assert again.returncode != 0 and "disk full at" in said and "Traceback" not in said, said
    with open_store(store, readonly=True) as st:
        states = [r[0] for r in st.conn.execute("select state from workers")]
        assert "running" not in states, states  # no worker left "running" after it ended
    grow()
    last = synthdiv("run", str(config), "--store", str(store), cwd=tmp_path, timeout=600)
    assert last.returncode == 0, last.stdout + last.stderr
    with open_store(store) as st:
        assert consistency(st) == {"files_without_rows": [], "rows_without_files": []}
        assert st.conn.execute("select count(*) from images").fetchone()[0] == 24
        assert st.conn.execute("select count(*) from embeddings where kind = 'image'").fetchone()[0] == 24


def test_long_prompts_are_warned_at_start_and_each_image_records_what_the_model_saw(tmp_path):
    """Two templates sharing a long prefix: the model reads the same 77 tokens of both."""
    prefix = "a photo of a {} " + "in a very detailed and elaborate setting " * 12
    text = TINY.read_text().replace('"a photo of a {}.", "a drawing of a {class}."',
                                    f'"{prefix} at noon.", "{prefix} at night."')
    config = write_config(tmp_path, text)
    out = synthdiv("run", str(config), "--store", str(tmp_path / "D"), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    said = " ".join(out.stdout.split())
    assert "6 prompts are longer than the text encoder of tiny-random reads (77 tokens)" in said
    with open_store(tmp_path / "D") as st:
        rows = [dict(r) for r in st.conn.execute("select prompt, prompt_tokens, prompt_seen from images")]
    assert len(rows) == 24 and all(r["prompt_tokens"] > 77 for r in rows)
    assert all(r["prompt_seen"] and "noon" not in r["prompt_seen"] and "night" not in r["prompt_seen"] for r in rows)
    assert len({r["prompt_seen"] for r in rows}) == 3  # one text seen per class, whatever the template
