"""Read-only commands never write: an empty database stays empty, a store on a read-only file
system can be read by status, report, export and check, and export writes only under --out."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.functional.stores import build
from tests.helpers import run_cli, tree_digest


def contents(root) -> dict[str, str]:
    """Every file's digest but SQLite's WAL side files (a reader may create them, empty)."""
    return {k: v for k, v in tree_digest(root).items() if not k.endswith(("-wal", "-shm"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("ro") / "D"
    build(root)
    return root


def test_status_on_a_zero_byte_database_says_so_and_writes_nothing(tmp_path):
    (tmp_path / "synthdiv.db").write_bytes(b"")
    out = run_cli("status", str(tmp_path))
    assert out.returncode == 2
    assert "is not a synthdiv store" in out.stderr and "Traceback" not in out.stderr
    assert (tmp_path / "synthdiv.db").stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthdiv.db"]


def test_status_report_and_check_change_nothing_in_the_store(built):
    before = contents(built)
    for args in (("status", str(built)), ("status", str(built), "--json"), ("report", str(built), "--all")):
        out = run_cli(*args)
        assert out.returncode == 0, out.stderr
    assert contents(built) == before


@pytest.fixture
def read_only_copy(built, tmp_path):
    """The store on a read-only file system (a read-only bind mount; needs root, as CI has)."""
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    subprocess.run(["cp", "-a", str(built), str(src)], check=True)
    from store import open_store
    from workbench.config import from_experiment

    with open_store(src) as st:  # the settings a run records, so that starting workers gets to its first write
        exp = st.db["experiments"].get(1)
        st.db.execute("update experiments set settings = ? where id = 1",
                      [json.dumps(from_experiment(exp).settings())])
    mnt.mkdir()
    if subprocess.run(["mount", "--bind", str(src), str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount here (not root)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mnt)], check=True, capture_output=True)
        yield mnt
    finally:
        # synthdiv must have closed every file it opened there: otherwise the mount is busy
        done = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
        if done.returncode:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
            pytest.fail(f"the read-only store's files were left open: {done.stderr.strip()}")


def test_a_store_on_a_read_only_file_system_can_be_read(read_only_copy, tmp_path):
    probe = read_only_copy / "probe"
    with pytest.raises(OSError):
        probe.write_text("x")  # really read-only
    status = run_cli("status", str(read_only_copy), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["images"] == 24
    report = run_cli("report", str(read_only_copy))
    assert report.returncode == 0, report.stderr
    assert "Headline numbers" in report.stdout
    out = tmp_path / "tables"
    export = run_cli("export", str(read_only_copy), "--format", "csv,json", "--out", str(out))
    assert export.returncode == 0, export.stderr
    assert (out / "synthdiv-report.json").exists()


def test_export_refuses_the_stores_own_folders_and_bad_arguments_create_nothing(built, tmp_path):
    before = contents(built)
    for out_dir in (built, built / "images", built / "images" / "new", built / "logs"):
        out = run_cli("export", str(built), "--out", str(out_dir))
        assert out.returncode == 2, out.stdout
        assert "--out" in out.stderr and "inside the store's own folder" in out.stderr
    assert contents(built) == before
    assert not (built / "images" / "new").exists()
    target = tmp_path / "t"
    for args in (("--format", "xls"), ("--experiment", "nope")):
        out = run_cli("export", str(built), *args, "--out", str(target))
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert not target.exists(), args
    (tmp_path / "file").write_text("x")
    out = run_cli("export", str(built), "--out", str(tmp_path / "file"))
    assert out.returncode == 2 and "--out" in out.stderr and "--store" not in out.stderr


def test_exported_strings_are_escaped_for_each_format(tmp_path):
    """An experiment name that breaks a LaTeX comment line into a live \\input, and class names that
    a spreadsheet would run as formulas (as a store written before names were checked may hold)."""
    import csv

    from store import open_store

    root = tmp_path / "D"
    build(root)
    evil_name = "x\n\\input{/etc/passwd}\u2028\\input{/etc/shadow}"
    with open_store(root) as st, st.immediate():
        st.conn.execute("update experiments set name = ?", [evil_name])
        st.conn.execute("update classes set name = '=HYPERLINK(\"http://evil.example\")' where position = 0")
        st.conn.execute("update classes set name = '@SUM(1+1)<script>|' where position = 1")
        st.conn.execute("delete from analyses")
    out = run_cli("export", str(root), "--out", str(tmp_path / "t"))
    assert out.returncode == 0, out.stderr
    tex = (tmp_path / "t" / "synthdiv-report.tex").read_text()
    for line in tex.splitlines():
        assert line.startswith("%") or "\\input{" not in line, line
    cells = [c for f in (tmp_path / "t").glob("*.csv") for row in csv.reader(f.open()) for c in row]
    assert "'=HYPERLINK(\"http://evil.example\")" in cells and "'@SUM(1+1)<script>|" in cells
    assert not [c for c in cells if c and (c[:1] in "=+@" or (c[:1] == "-" and not c[1:2].isdigit()))]  # "" is safe
    md = (tmp_path / "t" / "synthdiv-report.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;\\|" in md
    assert md.splitlines()[0] == "# synthdiv report: x \\input{/etc/passwd} \\input{/etc/shadow}"


async def test_the_workbench_opens_a_store_on_a_read_only_file_system(read_only_copy):
    from tests.functional.test_workbench import text_of, until
    from workbench.app import WorkbenchApp

    app = WorkbenchApp(read_only_copy, refresh_s=60)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await until(pilot, lambda: "goldfish | 8 | 8 | 100%" in text_of(app), tries=200)
        await pilot.press("g")  # starting workers needs a write: said, not a crash
        said = lambda: " ".join(n.message for n in app._notifications)  # noqa: E731
        assert await until(pilot, lambda: "cannot be written" in said(), tries=100), said()
        assert f"store {read_only_copy}" in said()
    assert app.return_code in (0, None)


def test_a_store_of_the_previous_schema_is_read_as_it_is(built, tmp_path):
    """Read-only commands never migrate, and must still read a store the previous synthdiv wrote."""
    import sqlite3

    from store.schema import READABLE_SINCE

    old = tmp_path / "old"
    subprocess.run(["cp", "-a", str(built), str(old)], check=True)
    with sqlite3.connect(old / "synthdiv.db") as c:
        c.execute(f"pragma user_version = {READABLE_SINCE}")
    before = contents(old)
    for args in (("status", str(old), "--json"), ("report", str(old))):
        out = run_cli(*args)
        assert out.returncode == 0, out.stderr
    assert contents(old) == before  # not migrated
    with sqlite3.connect(old / "synthdiv.db") as c:
        c.execute(f"pragma user_version = {READABLE_SINCE - 1}")
    out = run_cli("status", str(old))
    assert out.returncode == 2 and f"upgrade it by opening it once: synthdiv open {old}" in out.stderr
