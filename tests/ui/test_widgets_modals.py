"""Modals: confirm, choose with type-to-filter, duration, prompt; duration parsing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import widget_apps as w
from textual.widgets import Input, OptionList, Static, TextArea
from widget_apps import WidgetApp

from oncall_tui.ui.screens.modals import (
    ChooseScreen,
    ConfirmScreen,
    DurationScreen,
    PromptScreen,
    describe_duration,
    parse_duration,
)

# ------------------------------------------------------------------ parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1 hour 5 mins", timedelta(hours=1, minutes=5)),
        ("90", timedelta(minutes=90)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("  45S ", timedelta(seconds=45)),
    ],
)
def test_parse_duration_lengths(text, expected):
    assert parse_duration(text, now=w.NOW) == expected


def test_parse_duration_until_a_time_in_my_zone():
    # NOW is 14:37 CET.
    assert parse_duration("until 16:00", now=w.NOW, zone=w.ZONE) == timedelta(hours=1, minutes=23)
    assert parse_duration("16:00", now=w.NOW, zone=w.ZONE) == timedelta(hours=1, minutes=23)
    # A time already past today means tomorrow.
    assert parse_duration("until 09:00", now=w.NOW, zone=w.ZONE) == timedelta(hours=18, minutes=23)
    assert parse_duration("until tomorrow 15:00", now=w.NOW, zone=w.ZONE) == timedelta(
        hours=24, minutes=23
    )
    assert parse_duration("until 16:00", now=w.NOW) == timedelta(hours=2, minutes=23)  # UTC


@pytest.mark.parametrize(
    "text", ["", "soon", "5x", "1h and 5m", "0m", "-5m", "until 25:00", "40d", "m5", "\x1b[2J"]
)
def test_parse_duration_refuses_in_words(text):
    with pytest.raises(ValueError) as info:
        parse_duration(text, now=w.NOW, zone=w.ZONE)
    assert "\x1b" not in str(info.value)
    assert str(info.value)


def test_describe_duration():
    assert describe_duration(timedelta(hours=2), now=w.NOW, zone=w.ZONE) == (
        "2h (until Tue 16:37 CET)"
    )


# ------------------------------------------------------------------------- screens


class Host(WidgetApp):
    def __init__(self) -> None:
        super().__init__()
        self.results: list = []


async def push(app: Host, screen) -> None:
    app.push_screen(screen, app.results.append)


async def test_confirm_danger_focuses_cancel_and_y_confirms():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await push(app, ConfirmScreen("Resolve 2 alerts?", ["a", "b"], "Resolve", danger=True))
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [False]
        await push(app, ConfirmScreen("Ack?", ["[bold]x[/bold]"], "Ack"))
        await pilot.pause()
        summary = app.screen.query_one(".modal-summary", Static)
        assert "[bold]x[/bold]" in str(summary.render())
        await pilot.press("y")
        await pilot.pause()
        assert app.results == [False, True]
        await push(app, ConfirmScreen("Ack?", [], "Ack"))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [False, True, False]


async def test_confirm_button_click():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await push(app, ConfirmScreen("Escalate?", ["to Escalators"], "Escalate"))
        await pilot.pause()
        assert await pilot.click("#confirm")
        await pilot.pause()
        assert app.results == [True]


OPTIONS = [
    ("u1", "Ana Alvarez", "ana@example.com"),
    ("u2", "Ben Brook", "ben@example.com"),
    ("u3", "Cy Chen", "payments team"),
]


async def test_choose_filters_as_you_type_and_enter_picks():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await push(app, ChooseScreen("Who should shadow you?", OPTIONS))
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        assert options.option_count == 3
        await pilot.press("p", "a", "y")  # matches the detail of Cy
        await pilot.pause()
        assert options.option_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == ["u3"]


async def test_choose_arrows_move_and_escape_cancels():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await push(app, ChooseScreen("Pick", OPTIONS))
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.results == ["u2"]
        await push(app, ChooseScreen("Pick", OPTIONS))
        await pilot.pause()
        await pilot.press("z", "z", "z", "enter")  # nothing matches: Enter does nothing
        await pilot.pause()
        assert app.results == ["u2"]
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == ["u2", None]


async def test_duration_preset_or_typed():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await push(app, DurationScreen("Snooze for how long?", clock=w.clock, zone=w.ZONE))
        await pilot.pause()
        await pilot.press("down", "enter")  # second preset: 30m
        await pilot.pause()
        assert app.results == [timedelta(minutes=30)]
        await push(app, DurationScreen("Snooze", [timedelta(hours=1)], clock=w.clock, zone=w.ZONE))
        await pilot.pause()
        app.screen.query_one(Input).focus()
        await pilot.press(*"soon", "enter")
        await pilot.pause()
        assert len(app.results) == 1  # refused, stays open
        error = app.screen.query_one("#duration-error", Static)
        assert "cannot read" in str(error.render())
        app.screen.query_one(Input).value = ""
        await pilot.press(*"1h30m")
        await pilot.pause()
        assert "1h 30m (until Tue 16:07 CET)" in str(error.render())
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [timedelta(minutes=30), timedelta(hours=1, minutes=30)]


async def test_prompt_single_and_multiline():
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await push(app, PromptScreen("Note", "what happened?"))
        await pilot.pause()
        await pilot.press("enter")  # empty: refused
        await pilot.pause()
        assert app.results == []
        await pilot.press(*"failover done", "enter")
        await pilot.pause()
        assert app.results == ["failover done"]
        await push(app, PromptScreen("Update", multiline=True))
        await pilot.pause()
        area = app.screen.query_one(TextArea)
        area.insert("line one\nline two")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results[-1] == "line one\nline two"
        await push(app, PromptScreen("Note"))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.results[-1] is None
