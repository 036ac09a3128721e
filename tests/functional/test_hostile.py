"""What a careless or hostile user does, run as a user runs it: odd folders, odd names, broken and
missing files, killed workers, two runs at once (issue 11). Nothing stored may be lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import open_store
from store.images import consistency
from tests.helpers import TINY, tiny_text, write_config

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
    log = (store / "logs" / "embedding.log").read_text()
    assert f"image file {store / victim} could not be read" in log
    with open_store(store) as st:
        assert st.conn.execute("select count(*) from embeddings where kind = 'image'").fetchone()[0] == 24
