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
