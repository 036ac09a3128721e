"""The Repair screen by keys (Textual's Pilot): the refusal a store without the gap's classifiers
gets, a finished repair's gains and winners, the recipe, the images before and after a remedy, and
the start and pause keys."""

from __future__ import annotations

import pytest

from tests.functional.stores import add_repair, build
from tests.functional.test_snapshots import settle, shows
from tests.functional.test_workbench import text_of
from workbench.app import WorkbenchApp

pytestmark = pytest.mark.slow


async def test_a_store_without_the_gap_s_classifiers_says_what_repair_needs(tmp_path):
    build(tmp_path / "D")
    app = WorkbenchApp(tmp_path / "D", refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, shows("24/24"))
        await pilot.press("R")
        await settle(pilot, shows("repair of tiny"))
        text = text_of(app)
        assert "no finished synthetic and real training run" in text and '[train] runs = ["synthetic", "real"]' in text
        assert "not running (g starts it)" in text


async def test_a_finished_repair_shows_each_gain_the_winner_the_recipe_and_the_images(tmp_path, monkeypatch):
    build(tmp_path / "D")
    add_repair(tmp_path / "D")
    started = []
    monkeypatch.setattr("workbench.repair.start", lambda root, name: started.append(name) or 4242)
    app = WorkbenchApp(tmp_path / "D", refresh_s=60, experiment="tiny")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, shows("24/24"))
        await pilot.press("R")
        await settle(pilot, shows("winners: goldfish: guidance-down"))
        text = text_of(app)
        assert "goldfish | +0.25* | diversity | control | 0/8 |" in text  # no experiment of its own here
        assert "| guidance-down | 24/24 | — | +0.50 [+0.25,+0.75]" in text  # made by stores.build
        assert "tabby cat | +0.50* | concept | — |  |" in text and "tabby cat: no prompt remedy" in text
        assert "· finished ·" in text and "24 images" in text
        await pilot.press("o")
        await settle(pilot, shows("[classes.overrides.goldfish]"))
        assert "recipe.toml" in text_of(app)
        await pilot.press("escape")
        await settle(pilot, shows("winners:"))
        await pilot.press("down", "v")
        await settle(pilot, shows("after: guidance-down"))
        text = text_of(app)
        assert "before: the base's (8)" in text and "after: guidance-down (8)" in text and "1 g5" in text
        assert "1 g2.5" in text  # the remedy's images, made at its guidance
        await pilot.press("escape")
        await settle(pilot, shows("winners:"))
        await pilot.press("g")
        await settle(pilot, lambda app: started)
        assert started == ["tiny"]
        await pilot.press("p")
        await settle(pilot, lambda app: any("no repair is running" in str(n.message) for n in app._notifications))


async def test_the_setup_screen_marks_the_classes_with_settings_of_their_own_and_keeps_them(tmp_path):
    from workbench.defaults import default_experiment

    data = default_experiment()
    data["classes"]["overrides"] = {"seven": {"guidance": 3.0, "templates": ["a handwritten {}, crossed"]}}
    app = WorkbenchApp(setup=data, setup_store=str(tmp_path / "S"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, shows("1 with settings of their own"))
        shown = [str(app.screen.query_one("#class-list").get_option_at_index(i).prompt) for i in range(10)]
        assert "seven  own: guidance 3, 1 template" in shown and "six" in shown
        config, _ = app.screen.config()
        assert config["classes"]["overrides"] == data["classes"]["overrides"]
