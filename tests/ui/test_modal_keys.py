"""The dialogs' own keys that no flow test pressed alone: Esc on the duration dialog and
on the availability form, and Up in the severity picker."""

from __future__ import annotations

import calendar_apps as c
import widget_apps as w
from test_calendar_screen import settle
from textual.widgets import RadioButton
from widget_apps import WidgetApp

from oncall_tui.ui.screens.availability import AvailabilityScreen
from oncall_tui.ui.screens.calendar import CalendarScreen
from oncall_tui.ui.screens.declare import SeverityPicker
from oncall_tui.ui.screens.modals import DurationScreen


async def test_escape_cancels_the_duration_dialog():
    app = WidgetApp()
    results: list = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DurationScreen("Snooze for how long?", clock=w.clock), results.append)
        await pilot.pause()
        assert isinstance(app.screen, DurationScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert results == [None]
        assert not isinstance(app.screen, DurationScreen)


async def test_up_in_the_severity_picker_chooses_the_one_above():
    picker = SeverityPicker(RadioButton("Critical"), RadioButton("Major"), RadioButton("Minor"))
    app = WidgetApp(picker)
    async with app.run_test(size=(80, 24)) as pilot:
        picker.focus()
        await pilot.press("down", "down")
        below = picker.pressed_index
        assert below >= 1
        await pilot.press("up")
        await pilot.pause()
        assert picker.pressed_index == below - 1
        labels = ["Critical", "Major", "Minor"]
        assert picker.pressed_button is not None
        assert str(picker.pressed_button.label) == labels[below - 1]


async def test_escape_closes_the_availability_form_and_plans_nothing():
    session = c.demo_session()
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, AvailabilityScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        assert not session.demo.world.overrides
