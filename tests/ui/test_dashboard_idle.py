"""Idle costs nothing: the dashboard's clocks stop while another screen covers it, and
start again when it shows; polling goes on meanwhile."""

from __future__ import annotations

from oncall_tui.config import Settings
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.shift_panel import ShiftPanel
from oncall_tui.ui.widgets.status_bar import StatusBar


async def test_clocks_tick_only_while_the_dashboard_is_on_screen(monkeypatch) -> None:
    ticks: list[str] = []
    monkeypatch.setattr(AlertTable, "_tick", lambda self: ticks.append("table"))
    monkeypatch.setattr(ShiftPanel, "_tick", lambda self: ticks.append("shifts"))
    session = make_session(Settings(), demo=True, readonly=False)
    app = OnCallApp(session.settings, demo=True, readonly=False, session=session)
    async with app.run_test(size=(150, 45)) as pilot:
        for _ in range(100):
            if app.screen.__class__.__name__ == "DashboardScreen":
                break
            await pilot.pause(0.02)
        dashboard = app.screen
        await pilot.pause(1.3)
        assert "table" in ticks and "shifts" in ticks  # on screen: they tick
        await pilot.press("i")  # the incident screen covers the dashboard
        for _ in range(100):
            if app.screen is not dashboard:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.1)
        polls = session.engine.polls
        ticks.clear()
        await pilot.pause(2.5)
        assert ticks == []
        status = dashboard.query_one(StatusBar)
        assert not status.clock_timer._active.is_set()
        assert session.engine.polls > polls  # polling goes on underneath
        app.pop_screen()
        await pilot.pause(1.3)
        assert "table" in ticks
        await pilot.press("q")
