"""The calendar's a (all schedules), r (reload) and Esc (back), each by its effect: the
lanes shown, the requests that reach incident.io, the screen on top."""

from __future__ import annotations

import calendar_apps as c
import httpx
from test_calendar_screen import screen_of, settle

from oncall_tui.ui.screens.calendar import CalendarScreen


class Recording(httpx.AsyncBaseTransport):
    """Passes every request through and keeps its method and path."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    def count(self, path: str) -> int:
        return sum(1 for method, p in self.seen if method == "GET" and p == path)


def schedules_shown(app) -> set[str]:
    view = screen_of(app).view
    assert view is not None
    return {lane.schedule_name for lane in view.lanes}


async def test_a_shows_every_schedule_then_mine_again():
    app = c.CalendarApp(c.demo_session())
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        mine = schedules_shown(app)
        assert mine and "Support: Search" not in mine
        await pilot.press("a")
        await settle(app, pilot)
        every = schedules_shown(app)
        assert mine < every and "Support: Search" in every
        await pilot.press("a")
        await settle(app, pilot)
        assert schedules_shown(app) == mine


async def test_r_fetches_the_shown_week_from_incident_io_again():
    recording: list[Recording] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> Recording:
        recording.append(Recording(inner))
        return recording[0]

    app = c.CalendarApp(c.demo_session(wrap_io=wrap))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        io = recording[0]
        before = io.count("/v2/schedule_entries")
        assert before > 0  # the week was loaded once
        await pilot.press("r")
        await settle(app, pilot)
        assert io.count("/v2/schedule_entries") > before, "r fetched nothing again"
        assert any(n.message == "Reloading the schedules…" for n in app._notifications)


async def test_escape_closes_the_calendar():
    app = c.CalendarApp(c.demo_session())
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CalendarScreen)
        assert not any(isinstance(s, CalendarScreen) for s in app.screen_stack)


async def test_the_zone_toggle_leaves_the_sessions_override_actions_as_they_were():
    """z changes what the calendar shows and the zone it plans in, call by call; the
    override actions the CLI and other screens share keep the display zone."""
    session = c.demo_session()
    shared_zone = session.overrides.zone
    app = c.CalendarApp(session)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("z")
        await settle(app, pilot)
        assert screen_of(app).zone == "UTC"
        assert session.overrides.zone == shared_zone != "UTC"
