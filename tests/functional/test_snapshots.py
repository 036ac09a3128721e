"""How each workbench screen looks at 80×24 (pytest-textual-snapshot). Update on purpose with
``pytest --snapshot-update`` after looking at the report."""

from __future__ import annotations

import pytest

from tests.functional.stores import add_training, build
from workbench.app import WorkbenchApp
from workbench.defaults import default_experiment


async def settle(pilot, check=lambda app: True, tries: int = 100) -> None:
    """Wait until the screen shows what it should (``check``) and nothing moves any more.

    Text cursors stop blinking (they stay shown): a blinking cursor is on or off depending on
    how long the run took, which made the picture depend on the machine's speed."""
    from textual.widgets import Input, TextArea

    for _ in range(tries):
        await pilot.pause(0.05)
        if check(pilot.app):
            break
    await pilot.app.workers.wait_for_complete()
    for editor in pilot.app.screen.query("Input, TextArea"):
        if isinstance(editor, (Input, TextArea)):
            editor.cursor_blink = False
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


# (screen, finished jobs, analysed, text shown first, keys, text shown after the keys)
ON_A_STORE = [
    ("dashboard", 20, True, "diversity ratio vs", (), "diversity ratio vs"),
    ("causes_tab", 24, True, "diversity ratio vs", ("2",), "per class, largest gap first · b: next cause"),
    ("diversity_tab", 24, True, "diversity ratio vs", ("3",), "goldfish | "),
    ("accuracy_tab", 24, True, "diversity ratio vs", ("4",), "top confusions (synthetic-trained probe"),
    ("matrices_tab", 24, True, "diversity ratio vs", ("5",), "(m: next matrix)"),
    ("geometry_tab", 24, True, "diversity ratio vs", ("6",), "modality gap"),
    ("gallery", 24, True, "diversity ratio vs", ("v",), "nearest real"),
    ("gallery_one_image", 24, True, "diversity ratio vs", ("v", "right", "enter"), "goldfish 0.97 te"),
    ("gallery_class_grid", 24, True, "diversity ratio vs", ("v", "g"), "t2 · a drawing of a {}."),
    ("iterate", 24, True, "diversity ratio vs", ("i",), "a drawing of a {}."),
    ("help", 24, False, "24/24", ("question_mark",), "Export"),
    ("cancel_dialog", 10, False, "10/24", ("c",), "Cancel the experiment's remaining work?"),
]


@pytest.mark.parametrize(("screen", "done", "analysed", "first", "keys", "after"), ON_A_STORE,
                         ids=[c[0] for c in ON_A_STORE])
def test_screen_on_a_store(tmp_path, snap_compare, screen, done, analysed, first, keys, after):
    build(tmp_path / "D", done=done, analysed=analysed)

    async def run(pilot):
        await settle(pilot, shows(first))
        if keys:
            await pilot.press(*keys)
            await settle(pilot, shows(after))

    assert snap_compare(WorkbenchApp(tmp_path / "D", refresh_s=60), terminal_size=(80, 24), run_before=run)


def test_compare_screen(tmp_path, snap_compare):
    """The Compare screen on a store of two experiments (a sweep of guidance)."""
    build(tmp_path / "S", name="tiny/guidance=5", guidance=5.0)
    build(tmp_path / "S", name="tiny/guidance=2", guidance=2.0, image_scale=1.5)

    async def run(pilot):
        await settle(pilot, shows("tiny/guidance=5"))
        await pilot.press("C")
        await settle(pilot, shows("baseline tiny/guidance=5"))

    app = WorkbenchApp(tmp_path / "S", refresh_s=60, experiment="tiny/guidance=5")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_training_tab(tmp_path, snap_compare):
    """The Training tab at 80×24: two finished runs, one half-way, its curve."""
    build(tmp_path / "D")
    add_training(tmp_path / "D")

    async def run(pilot):
        await settle(pilot, shows("24/24"))
        await pilot.press("7")
        await settle(pilot, shows("real-test accuracy by epoch"))

    assert snap_compare(WorkbenchApp(tmp_path / "D", refresh_s=60), terminal_size=(80, 24), run_before=run)


def test_repair_screen(tmp_path, snap_compare):
    """The Repair screen at 80×24 on a finished repair: a class's remedies with their gains, the
    winner, a class with no prompt remedy."""
    from tests.functional.stores import add_repair

    build(tmp_path / "D")
    add_repair(tmp_path / "D")

    async def run(pilot):
        await settle(pilot, shows("24/24"))
        await pilot.press("R")
        await settle(pilot, shows("winners: goldfish: guidance-down"))

    assert snap_compare(WorkbenchApp(tmp_path / "D", refresh_s=60, experiment="tiny"), terminal_size=(80, 24),
                        run_before=run)
