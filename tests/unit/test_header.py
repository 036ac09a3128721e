"""A title change that reaches a header whose title child is already gone (its screen being
switched away) leaves the app running: Textual's own Header crashes it there."""

import pytest
from textual.app import App
from textual.css.query import NoMatches
from textual.widgets import Header as TextualHeader
from textual.widgets._header import HeaderTitle

from screens.header import Header


def app_with(header_class):
    class One(App):
        def compose(self):
            yield header_class()

    return One()


async def title_change_after_the_title_went(header_class) -> App:
    app = app_with(header_class)
    async with app.run_test() as pilot:
        await pilot.pause()
        await app.query_one(HeaderTitle).remove()
        app.screen.sub_title = "the dashboard's first read"
        await pilot.pause()
        await pilot.pause()
    return app


async def test_textuals_header_crashes_there():
    """The race screens.header is for, shown on Textual's own header (so the test below makes it
    happen); a Textual that has fixed it skips, saying screens.header can go."""
    try:
        await title_change_after_the_title_went(TextualHeader)
    except NoMatches:
        return
    pytest.skip("Textual's Header survives a title change after its title went: screens.header can go")


async def test_our_header_shows_titles_and_survives_it():
    app = app_with(Header)
    async with app.run_test() as pilot:
        app.screen.title, app.screen.sub_title = "synthdiv", "digits"
        await pilot.pause()
        shown = str(app.query_one(HeaderTitle).render())
        assert "synthdiv" in shown and "digits" in shown
    app = await title_change_after_the_title_went(Header)
    assert app.return_code in (0, None)
