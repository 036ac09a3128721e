"""The conventions of a Python command line, as a user meets them in a shell: pipes into ``head``,
``--version``, ``python -m synthdiv``, JSON errors, ``report --json``, shell completion."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from tests.helpers import run_cli


def _shell(command: str) -> subprocess.CompletedProcess:
    """``command`` in bash with pipefail: the exit status is synthdiv's, not head's."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, env=env,
                          cwd=tempfile.gettempdir(), timeout=300)


@pytest.mark.parametrize("command", ["synthdiv classes imagenet | head -2", "synthdiv templates | head -1",
                                     "synthdiv schema | head -3"])
def test_a_closed_pipe_ends_quietly(command):
    out = _shell(command)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) <= 3
    assert out.stderr == "", out.stderr  # no BrokenPipeError traceback, no "Exception ignored"


@pytest.mark.slow
def test_status_json_into_head_exits_0(digits_store):
    out = _shell(f"synthdiv status {digits_store} --json | head -1")
    assert out.returncode == 0 and out.stdout.strip() == "{" and out.stderr == "", out.stderr


def test_version_names_the_libraries_and_the_accelerator():
    out = run_cli("--version")
    assert out.returncode == 0, out.stderr
    first, *rest = out.stdout.splitlines()
    assert first.startswith("synthdiv 0.") and "Python 3." in first
    names = {line.split()[0] for line in rest}
    assert {"torch", "diffusers", "open_clip_torch", "accelerator"} <= names
    assert "CUDA" in out.stdout or "CPU only" in out.stdout or "MPS" in out.stdout


def test_python_m_synthdiv_is_the_command():
    env = {**os.environ}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([sys.executable, "-m", "synthdiv", "--help"], capture_output=True, text=True, env=env,
                         cwd=tempfile.gettempdir(), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: synthdiv") and "repair" in out.stdout


def test_an_error_under_json_is_json(tmp_path):
    out = run_cli("status", str(tmp_path / "none"), "--json")
    assert out.returncode == 2
    data = json.loads(out.stdout)
    assert set(data) == {"error", "fix"} and "none" in data["error"] and "synthdiv run" in data["fix"]
    assert out.stderr == ""


def test_quiet_and_verbose_exclude_each_other():
    out = run_cli("run", "x.toml", "-q", "-v")
    assert out.returncode == 2 and "not allowed with" in out.stderr


@pytest.mark.slow
def test_report_json_holds_the_headline_with_intervals(digits_store):
    out = run_cli("report", str(digits_store), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    head = {r["measure"]: r for r in data["headline"]}
    assert head["synthetic_to_real"]["low"] <= head["synthetic_to_real"]["value"] <= head["synthetic_to_real"]["high"]
    assert data["metadata"]["experiment"] == "digits-small" and data["four_causes"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_and_choices():
    script = run_cli("completion", "bash").stdout
    probe = script + """
COMP_WORDS=(synthdiv rep); COMP_CWORD=1; _synthdiv; echo "${COMPREPLY[*]}"
COMP_WORDS=(synthdiv export D --dataset w); COMP_CWORD=4; _synthdiv; echo "${COMPREPLY[*]}"
COMP_WORDS=(synthdiv figures D --fo); COMP_CWORD=3; _synthdiv; echo "${COMPREPLY[*]}"
"""
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["report repair", "webdataset", "--format"]


def test_fish_completion_names_every_command():
    script = run_cli("completion", "fish").stdout
    for command in ("run", "export", "repair", "completion"):
        assert f"-a {command} " in script
