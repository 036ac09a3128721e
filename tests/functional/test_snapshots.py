"""How each workbench screen looks at 80×24 (pytest-textual-snapshot). Update on purpose with
``pytest --snapshot-update`` after looking at the report."""

from __future__ import annotations

from tests.functional.stores import build
from workbench.app import WorkbenchApp
from workbench.defaults import default_experiment


async def settle(pilot, check=lambda app: True, tries: int = 100) -> None:
    """Wait until the screen shows what it should (``check``) and nothing moves any more."""
    for _ in range(tries):
        await pilot.pause(0.05)
        if check(pilot.app):
            break
    await pilot.app.workers.wait_for_complete()
    await pilot.wait_for_animation()
    await pilot.pause(0.2)


def shows(text: str):
    from tests.functional.test_workbench import text_of

    return lambda app: text in text_of(app)


def test_setup_classes(tmp_path, snap_compare):
    async def run(pilot):
        await settle(pilot, shows("10 of 10 selected"))

    app = WorkbenchApp(setup=default_experiment(), setup_store="runs/digits")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_setup_templates(tmp_path, snap_compare):
    async def run(pilot):
        await settle(pilot)
        await pilot.press("f3", "tab", *"a blurry {}")
        await settle(pilot, shows("→ a blurry zero"))

    app = WorkbenchApp(setup=default_experiment(), setup_store="runs/digits")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_dashboard(tmp_path, snap_compare):
    build(tmp_path / "D", done=20)

    async def run(pilot):
        await settle(pilot, shows("diversity ratio vs"))

    assert snap_compare(WorkbenchApp(tmp_path / "D", refresh_s=60), terminal_size=(80, 24), run_before=run)


def test_gallery(tmp_path, snap_compare):
    build(tmp_path / "D", done=24)

    async def run(pilot):
        await settle(pilot, shows("diversity ratio vs"))
        await pilot.press("v")
        await settle(pilot, shows("nearest real"))

    assert snap_compare(WorkbenchApp(tmp_path / "D", refresh_s=60), terminal_size=(80, 24), run_before=run)


def test_iterate(tmp_path, snap_compare):
    build(tmp_path / "D", done=24)

    async def run(pilot):
        await settle(pilot, shows("diversity ratio vs"))
        await pilot.press("i")
        await settle(pilot, shows("a drawing of a {}."))

    assert snap_compare(WorkbenchApp(tmp_path / "D", refresh_s=60), terminal_size=(80, 24), run_before=run)


def test_help(tmp_path, snap_compare):
    build(tmp_path / "D", done=24, analysed=False)

    async def run(pilot):
        await settle(pilot, shows("24/24"))
        await pilot.press("question_mark")
        await settle(pilot, shows("Export"))

    assert snap_compare(WorkbenchApp(tmp_path / "D", refresh_s=60), terminal_size=(80, 24), run_before=run)


def test_cancel_dialog(tmp_path, snap_compare):
    build(tmp_path / "D", done=10, analysed=False)

    async def run(pilot):
        await settle(pilot, shows("10/24"))
        await pilot.press("c")
        await settle(pilot, shows("Cancel the experiment's remaining work?"))

    assert snap_compare(WorkbenchApp(tmp_path / "D", refresh_s=60), terminal_size=(80, 24), run_before=run)
