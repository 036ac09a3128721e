"""Helpers for the tests: experiment files written on the fly, and the CLI run as a user runs it."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import tempfile
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "examples" / "tiny.toml"


def write_config(folder: Path, text: str, name: str = "exp.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def tiny_text(**generation: object) -> str:
    """examples/tiny.toml with some [generation] values replaced."""
    lines = TINY.read_text().splitlines()
    out, section = [], ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[]")
        key = stripped.split("=", 1)[0].strip() if "=" in stripped else None
        if section == "generation" and key in generation:
            value = generation.pop(key)
            line = f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"'
        out.append(line)
    text = "\n".join(out) + "\n"
    for key, value in generation.items():  # keys tiny.toml does not set
        text = text.replace("[generation]\n", f"[generation]\n{key} = {value!r}\n")
    return text


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    """``synthdiv ARGS`` in a subprocess, as a user would run it.

    It runs outside the source tree, so it uses the installed package (what a user gets from
    ``pip install .``), package data included.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args],
        cwd=cwd or tempfile.gettempdir(), env=env, capture_output=True, text=True, timeout=timeout, **popen,
    )


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path → digest)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def store_rows(store: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the store's file while a run writes it (none when it cannot be read yet)."""
    try:
        c = sqlite3.connect(store / "synthdiv.db", timeout=5)
        try:
            return c.execute(sql).fetchall()
        finally:
            c.close()
    except sqlite3.Error:
        return []


def kill_and_see_it_restarted(run: subprocess.Popen, store: Path, pid: int, worker: str, images: int) -> str:
    """SIGKILL the worker ``pid`` of the running ``synthdiv run`` (as the out-of-memory killer
    does), and check that the run restarts it, says so, and ends with exactly ``images`` images,
    each made once, every file with its row; returns the run's output."""
    from store import open_store
    from store.images import consistency

    os.kill(pid, signal.SIGKILL)
    out, _ = run.communicate(timeout=400)
    assert run.returncode == 0, out
    text = " ".join(out.split())
    assert f"The {worker} (pid {pid}) was killed by SIGKILL" in text and "restarting it" in text, text
    with open_store(store) as st:
        assert consistency(st) == {"files_without_rows": [], "rows_without_files": []}
        assert tuple(st.conn.execute("select count(*), count(distinct job_id) from images").fetchone()) == (images, images)
        lost = st.conn.execute("select state, error from workers where pid = ?", [pid]).fetchone()
        assert lost["state"] == "lost" and "SIGKILL" in lost["error"]
    return text


def built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder ``build(folder)`` fills once per test run, however many xdist workers ask for it:
    the first builds it under a file lock in the run's shared temporary folder, the others wait
    and reuse it. Without xdist, a fresh folder of this session. Callers must not change it."""
    from filelock import FileLock

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    folder = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    with FileLock(str(folder) + ".lock"):
        if not (folder / ".built").exists():
            import shutil

            shutil.rmtree(folder, ignore_errors=True)  # a build that died half-way is made again
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


def _figure(text: str) -> tuple[float, float, str]:
    """A printed figure ("2,506 img/s", "118.5 s"): its value, half its last printed digit, its unit."""
    import re

    m = re.fullmatch(r"\s*([\d,]*\.?\d+)\s*(\S+)\s*", text)
    assert m, f"not a figure: {text!r}"
    digits = m.group(1).replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return float(digits), 0.5 * 10 ** -decimals, m.group(2)


def assert_ratio_of(ours: str, baseline: str, ratio: str, per: int = 1) -> None:
    """A benchmark row's printed ratio is the ratio of its two printed timings, within their
    rounding: ours ÷ baseline for rates (img/s: higher is better), baseline ÷ ours for times (s);
    ``per``: the ratio is divided by it (a scaling row's efficiency, rate ratio ÷ workers)."""
    (o, ho, unit), (b, hb, base_unit) = _figure(ours), _figure(baseline)
    assert unit == base_unit, (ours, baseline)
    r, hr, _ = _figure(ratio + " x")
    if unit.endswith("/s"):
        low, high = (o - ho) / (b + hb), (o + ho) / max(b - hb, 1e-12)
    else:
        low, high = (b - hb) / (o + ho), (b + hb) / max(o - ho, 1e-12)
    low, high = low / per, high / per
    assert low - hr <= r <= high + hr, f"ratio {ratio} is not {ours} against {baseline} (÷ {per}): {low:.3f}–{high:.3f}"
