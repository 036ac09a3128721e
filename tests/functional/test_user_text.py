"""User text is text: class, template and experiment names holding Rich/Textual markup are shown
as typed by run, status, report, check and every screen of the workbench — never a crash, never a
live link (issue 11, bug 3)."""

from __future__ import annotations

import pytest

from tests.functional.test_workbench import text_of, until
from tests.helpers import run_cli, write_config
from workbench.app import WorkbenchApp

pytestmark = pytest.mark.slow

CLASS = "red [/] fish"
LINK = "[link=https://evil.example]cat[/link]"
TEMPLATE = "a [bold]photo[/] of a {}."
NAME = "exp [/] [link=https://evil.example]x"


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("markup")
    (folder / "classes.txt").write_text(f"{CLASS}\n{LINK}\n", encoding="utf-8")
    config = write_config(folder, f"""
name = "{NAME}"
[classes]
set = "classes.txt"
[templates]
custom = ["{TEMPLATE}"]
[generation]
model = "tiny-random"
steps = 2
width = 32
height = 32
images_per_prompt = 2
[embedding]
model = "tiny-random"
""")
    store = folder / "D"
    out = run_cli("run", str(config), "--store", str(store))
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert f"Experiment {NAME}:" in text and "Traceback" not in out.stderr
    return store


def test_status_report_and_check_print_the_names_as_typed(hostile_store):
    status = run_cli("status", str(hostile_store))
    assert status.returncode == 0, status.stderr
    assert f"experiment {NAME}" in status.stdout
    report = run_cli("report", str(hostile_store), "--all")
    assert report.returncode == 0, report.stderr
    assert CLASS in report.stdout and "evil.example" in report.stdout  # the link text, printed, not a link
    assert "\x1b]8;" not in report.stdout + status.stdout  # no terminal hyperlink escape
    check = run_cli("check", str(hostile_store))
    assert check.returncode == 0 and NAME in check.stdout


async def test_every_screen_shows_the_names_as_typed(hostile_store):
    app = WorkbenchApp(hostile_store)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: NAME in text_of(app), tries=200)
        app.action_export()  # a notification quoting the store path
        await pilot.press("v")  # the gallery: the prompt and template as typed
        assert await until(pilot, lambda: "photo[/] of a" in text_of(app), tries=200)
        assert CLASS in text_of(app) or LINK in text_of(app)
        await pilot.press("escape")
        await pilot.pause()
        app.action_setup()  # the setup screen, filled from the stored config
        await pilot.pause()
        assert await until(pilot, lambda: "a [bold]photo[/] of a red [/] fish." in text_of(app), tries=100)
        app.notify(f"{CLASS} {LINK}", title=NAME)
        await pilot.pause()
    assert app.return_code in (0, None)
