"""Idle costs nothing: the dashboard has one clock, which stops while another screen
covers it and starts again when it shows (polling goes on meanwhile); no widget of it,
nor the header, runs a timer of its own; the shift panel works its words out again only
when the minute turns or its data changes; the demo polls at the default intervals."""

from __future__ import annotations

from datetime import timedelta

import widget_apps as w
from widget_apps import WidgetApp

from oncall_tui.config import PollConfig, Settings
from oncall_tui.core import views
from oncall_tui.sim.demo import build_demo
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.shift_panel import ShiftPanel
from oncall_tui.ui.widgets.status_bar import StatusBar


def _timers(app) -> list[str]:
    """The names of every timer running in the app, its screens and their widgets."""
    pumps = [app, *app.screen_stack]
    for screen in app.screen_stack:
        pumps.extend(screen.walk_children(with_self=False))
    return [t.name for p in pumps for t in p._timers if t._active.is_set()]


async def test_one_clock_ticks_only_while_the_dashboard_is_on_screen(monkeypatch) -> None:
    ticks: list[str] = []
    monkeypatch.setattr(AlertTable, "tick", lambda self: ticks.append("table"))
    monkeypatch.setattr(ShiftPanel, "tick", lambda self: ticks.append("shifts"))
    monkeypatch.setattr(StatusBar, "tick", lambda self: ticks.append("status"))
    session = make_session(Settings(), demo=True, readonly=False)
    app = OnCallApp(session.settings, demo=True, readonly=False, session=session)
    async with app.run_test(size=(150, 45)) as pilot:
        for _ in range(100):
            if app.screen.__class__.__name__ == "DashboardScreen":
                break
            await pilot.pause(0.02)
        dashboard = app.screen
        await pilot.pause(1.3)
        assert "table" in ticks and "shifts" in ticks  # on screen: they move
        # One clock for the screen: no widget ticks by itself, the header has no clock.
        for widget_type in (AlertTable, ShiftPanel, StatusBar):
            assert dashboard.query_one(widget_type).clock_timer is None
        assert not [n for n in _timers(app) if "clock" in (n or "")]
        await pilot.press("i")  # the incident screen covers the dashboard
        for _ in range(100):
            if app.screen is not dashboard:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.1)
        polls = session.engine.polls
        ticks.clear()
        session.engine.poll_soon()  # a feed falls due while the dashboard is covered
        await pilot.pause(2.5)
        assert ticks == []
        assert not dashboard._clock_timer._active.is_set()
        assert session.engine.polls > polls  # polling goes on underneath
        app.pop_screen()
        await pilot.pause(1.3)
        assert "table" in ticks
        await pilot.press("q")


async def test_the_shift_panel_works_its_words_out_only_when_the_minute_turns(
    monkeypatch,
) -> None:
    now = [w.NOW.replace(second=5)]
    worked: list[int] = []
    original = views.my_current_shifts

    def counting(*args, **kwargs):
        worked.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(views, "my_current_shifts", counting)
    panel = ShiftPanel(clock=lambda: now[0], zone=w.ZONE, ticks=False)
    app = WidgetApp(panel)
    async with app.run_test(size=(120, 40)) as pilot:
        data = dict(schedules=w.SCHEDULES, shifts=w.shifts(on_call=True), me=w.ME)
        panel.update_data(**data, glance_schedule_ids=w.GLANCE)
        await pilot.pause()
        assert worked
        worked.clear()
        for seconds in range(6, 60, 10):  # the clock moves within the minute
            now[0] = now[0].replace(second=seconds)
            panel.tick()
        panel.update_data(**data, glance_schedule_ids=w.GLANCE)  # the same data again
        await pilot.pause()
        assert worked == []
        before = [line.plain for line in panel.lines()]
        worked.clear()
        now[0] = now[0] + timedelta(minutes=1)  # the minute turns: the countdown moves
        panel.tick()
        await pilot.pause()
        assert worked
        assert [line.plain for line in panel.lines()] != before


def test_the_demo_polls_no_faster_than_the_default_intervals() -> None:
    poll = build_demo(Settings()).settings.incident_io.poll
    default = PollConfig()
    for name in ("alerts", "schedules", "incidents", "timeline", "pages_when_paged"):
        assert getattr(poll, name) >= getattr(default, name), name
    assert poll.pages >= default.pages_when_paged  # pages as often as when paged
