"""Bad input: exit 2, one line naming the problem and the fix, no traceback, store unchanged."""

from __future__ import annotations

import pytest

from tests.helpers import TINY, run_cli, tree_digest, write_config

pytestmark = pytest.mark.slow

BAD = {
    "unknown class": (lambda t: t.replace('"goldfish"', '"goldfsh"'), "unknown class 'goldfsh'"),
    "no placeholder": (lambda t: t.replace('"a photo of a {}."', '"a photo of a fish"'), "has no placeholder"),
    "format attack": (lambda t: t.replace('"a photo of a {}."', '"{0.__class__}"'), "'{0.__class__}'"),
    "missing model folder": (
        lambda t: t.replace('model = "tiny-random"\nscheduler', 'model = "/no/such/folder"\nscheduler'),
        "model folder or file /no/such/folder does not exist",
    ),
}


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("s") / "D"
    out = run_cli("run", str(TINY), "--store", str(store))
    assert out.returncode == 0, out.stderr
    return store


def assert_one_line_error(out, needle):
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("synthdiv: error: ") and needle in lines[0]
    assert "Traceback" not in out.stderr + out.stdout
    return lines[0]


@pytest.mark.parametrize("case", list(BAD))
def test_bad_config_exits_2_and_leaves_the_store_unchanged(case, filled_store, tmp_path):
    edit, needle = BAD[case]
    before = tree_digest(filled_store)
    config = write_config(tmp_path, edit(TINY.read_text()))
    line = assert_one_line_error(run_cli("run", str(config), "--store", str(filled_store)), needle)
    assert line.count(": ") >= 2  # "synthdiv: error: problem: fix"
    assert tree_digest(filled_store) == before


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_store_folder_that_cannot_be_written(where, tmp_path):
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "store" if where == "under-a-file" else "/proc/synthdiv-store"
    out = run_cli("run", str(TINY), "--store", str(target))
    assert_one_line_error(out, f"cannot write to store folder {target}")
    assert (tmp_path / "afile").read_text() == "x"


def test_changed_settings_under_the_same_name_are_refused(filled_store, tmp_path):
    before = tree_digest(filled_store)
    config = write_config(tmp_path, TINY.read_text().replace("guidance = 5.0", "guidance = 7.0"))
    assert_one_line_error(run_cli("run", str(config), "--store", str(filled_store)), "guidance 5.0 → 7.0")
    assert tree_digest(filled_store) == before


def test_status_of_a_folder_without_store(tmp_path):
    assert_one_line_error(run_cli("status", str(tmp_path)), "holds no synthdiv store")


def test_missing_config_file(tmp_path):
    assert_one_line_error(run_cli("run", str(tmp_path / "nope.toml")), "does not exist")


def test_help_explains_the_commands():
    out = run_cli("--help")
    assert out.returncode == 0
    for word in ("run", "status", "classes", "templates", "docs/config.md"):
        assert word in out.stdout
    run_help = run_cli("run", "--help").stdout
    assert "--store" in run_help and "resumes" in run_help


def test_classes_and_templates_list_what_a_config_can_name():
    found = run_cli("classes", "imagenet", "--search", "retriever")
    assert found.returncode == 0
    assert "Golden Retriever" in found.stdout and "tench" not in found.stdout
    assert run_cli("classes", "digits").stdout.split()[-1] == "nine"
    templates = run_cli("templates").stdout.splitlines()
    assert len(templates) == 80 and "a bad photo of a {}." in templates[0]
    assert_one_line_error(run_cli("classes", "imagenett"), "unknown class set 'imagenett'")
