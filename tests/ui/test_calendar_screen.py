"""Pilot tests of the calendar screen on the demo world, with a fixed clock.

The world: Tuesday 24 November 2026, 10:00 UTC, shown in Europe/London (GMT). Robin
Ahn ("me") works 08:00–17:00 on "On call: Payments", holds "Support: Payments" this
week, and is in the Europe rotations of "Global on-call".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import calendar_apps as c
import httpx
import pytest

from oncall_tui.core import calendar
from oncall_tui.core.calendar import care_about
from oncall_tui.ui.screens.availability import AvailabilityScreen
from oncall_tui.ui.screens.calendar import CalendarGrid, CalendarScreen, Grid, fit_name
from oncall_tui.ui.screens.modals import ChooseScreen, ConfirmScreen


async def settle(app, pilot) -> None:
    """Let loading finish. Action workers wait on dialogs, so they are not awaited:
    the pauses let them run up to the next dialog."""
    for _ in range(5):
        loading = [w for w in app.workers if w.group != "calendar-action" and not w.is_finished]
        if loading:  # (an empty list would mean "every worker")
            await app.workers.wait_for_complete(loading)
        await pilot.pause(0.01)


def screen_of(app) -> CalendarScreen:
    for screen in app.screen_stack:
        if isinstance(screen, CalendarScreen):
            return screen
    raise AssertionError("no calendar screen")


def cursor_text(app) -> str:
    return str(app.screen.query_one("#cal-cursor").render())


def title_text(app) -> str:
    return str(screen_of(app).query_one("#cal-title").render())


@pytest.fixture
def session():
    return c.demo_session()


async def test_opens_on_this_week_with_my_schedules_and_the_global_gap(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        view = screen_of(app).view
        assert view is not None
        assert view.kind == calendar.KIND_WEEK
        assert view.title == "Week of Mon 23 Nov 2026 (GMT)"
        names = [s.name for s in view.schedules]
        # My team's schedules, then the escalators and the global schedule; not the
        # other teams' schedules.
        assert names == ["On call: Payments", "Support: Payments", "Escalators", "Global on-call"]
        glob = next(s for s in view.schedules if s.name == "Global on-call")
        weekday_holes = [
            g for g in glob.gaps if g.start.hour == 23 and g.end - g.start == timedelta(hours=1)
        ]
        assert len(weekday_holes) >= 4  # Mon–Thu 23–24 UTC at least, inside this week
        mine = [b for lane in view.lanes for b in lane.blocks if b.mine]
        assert mine and all(b.user is not None and b.user.name == "Robin Ahn" for b in mine)
        assert view.now == c.NOW
        assert "zone Europe/London" in title_text(app)
        assert "At Tue 10:00 GMT" in cursor_text(app)
        assert "Robin Ahn until 17:00" in cursor_text(app)


async def test_navigation_keys(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        scr = screen_of(app)
        await pilot.press("right_curly_bracket")  # week forward
        await settle(app, pilot)
        assert scr.view.title == "Week of Mon 30 Nov 2026 (GMT)"
        assert scr.view.now is None
        await pilot.press("left_curly_bracket", "left_curly_bracket")
        await settle(app, pilot)
        assert scr.view.title == "Week of Mon 16 Nov 2026 (GMT)"
        await pilot.press("t")
        await settle(app, pilot)
        assert scr.view.title == "Week of Mon 23 Nov 2026 (GMT)"
        await pilot.press("v")  # day view
        await settle(app, pilot)
        assert scr.view.kind == calendar.KIND_DAY
        assert scr.view.title == "Tue 24 Nov 2026 (GMT)"
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert scr.view.title == "Wed 25 Nov 2026 (GMT)"
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(app, pilot)
        assert scr.view.title == "Mon 23 Nov 2026 (GMT)"
        await pilot.press("v")
        await settle(app, pilot)
        assert scr.view.kind == calendar.KIND_WEEK


async def test_cursor_says_who_is_on_every_layer(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        scr = screen_of(app)
        await pilot.press(*["right"] * 13)  # 23:00 UTC: the weekday hole of Global on-call
        await settle(app, pilot)
        assert scr.cursor == c.NOW + timedelta(hours=13)
        text = cursor_text(app)
        assert "At Tue 23:00 GMT" in text
        glob = [lay for lay in scr.view.at_cursor if lay.schedule_name == "Global on-call"]
        assert glob and not any(lay.covered for lay in glob)
        assert "← gap" in text
        await pilot.press("shift+left")
        await settle(app, pilot)
        assert scr.cursor == c.NOW + timedelta(hours=7)
        assert "Kofi Mensah" in cursor_text(app)  # Americas East, 14–23 UTC


async def test_zone_toggle_shows_the_zone_name(session):
    app = c.CalendarApp(c.demo_session(zone="America/New_York"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        scr = screen_of(app)
        assert scr.view.zone == "America/New_York"
        assert "zone America/New_York" in title_text(app)
        assert "(EST)" in scr.view.title
        await pilot.press("z")
        await settle(app, pilot)
        assert scr.view.zone == "UTC"
        assert "zone UTC" in title_text(app)
        assert "At Tue 10:00 UTC" in cursor_text(app)
        await pilot.press("z")
        await settle(app, pilot)
        assert "At Tue 05:00 EST" in cursor_text(app)


async def test_jump_to_my_next_shift(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        scr = screen_of(app)
        await pilot.press("n")
        await settle(app, pilot)
        # I am on now (since 08:00 and on support); the next start after 10:00 is
        # Wednesday's working hours at 08:00 GMT.
        assert scr.cursor == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
        await pilot.press("n")
        await settle(app, pilot)
        assert scr.cursor > datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


async def test_mark_unavailable_from_the_calendar(session):
    app = c.CalendarApp(session)
    world = session.demo.world
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("right_square_bracket")  # Wednesday
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, AvailabilityScreen)
        form = app.screen
        assert form.query_one("#av-from").value == "2026-11-25 00:00"
        assert form.query_one("#av-to").value == "2026-11-26 00:00"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        summary = str(app.screen.query_one(".modal-summary").render())
        assert "no one will be paged for this layer" in summary
        assert "still covered by Ana Souza" in summary
        assert not world.overrides
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        made = list(world.overrides.values())
        assert made and all(o.user_id is None or o.user_id == "NOBODY" for o in made)
        assert all(
            o.start >= datetime(2026, 11, 25, tzinfo=UTC)
            and o.end <= datetime(2026, 11, 26, tzinfo=UTC)
            for o in made
        )
        # The calendar reloads and marks the NOBODY overrides on my lanes.
        view = screen_of(app).view
        nobody = [b for lane in view.lanes for b in lane.blocks if b.nobody and b.override]
        assert nobody


async def test_cancel_changes_nothing(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(app, pilot)
        assert not session.demo.world.overrides


async def test_ask_a_colleague_to_cover_a_week(session):
    app = c.CalendarApp(session)
    world = session.demo.world
    ana = next(u for u in world.users.values() if u.name == "Ana Souza")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("right_curly_bracket")  # next week
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, AvailabilityScreen)
        await pilot.press("f3")  # the whole week at the cursor
        assert form.query_one("#av-from").value == "2026-11-30 00:00"
        assert form.query_one("#av-to").value == "2026-12-07 00:00"
        form.query_one("#av-who").value = "ana.souza@example.com"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        summary = str(app.screen.query_one(".modal-summary").render())
        assert "Ana Souza will be on call instead of you" in summary
        await pilot.press("y")
        await settle(app, pilot)
        made = list(world.overrides.values())
        assert made and all(o.user_id == ana.id for o in made)


async def test_unknown_colleague_is_refused_in_words(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        app.screen.query_one("#av-who").value = "nobody-here@example.com"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        messages = [n.message for n in app._notifications]
        wanted = "No incident.io user has the email nobody-here@example.com"
        assert any(wanted in m for m in messages)
        assert not session.demo.world.overrides


async def test_form_reads_typed_times_and_says_what_is_wrong(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        form = app.screen
        form.query_one("#av-from").value = "tomorrow 09:00"
        form.query_one("#av-to").value = "tomorrow 12:00"
        await pilot.pause()
        assert "Wed 09:00–12:00 GMT (3h)" in str(form.query_one("#av-range").render())
        form.query_one("#av-to").value = "next tuesday-ish"
        await pilot.pause()
        assert "cannot read" in str(form.query_one("#av-range").render())
        await pilot.press("ctrl+s")
        assert "cannot read" in str(form.query_one("#av-error").render())
        assert isinstance(app.screen, AvailabilityScreen)


async def test_partial_failure_reports_and_offers_undo():
    # The second override create fails: the first must be reported and undone.
    session = c.demo_session(wrap_io=lambda inner: FailNthCreate(inner, 2))
    world = session.demo.world
    app = c.CalendarApp(session)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("right_square_bracket", "u")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen), [n.message for n in app._notifications]
        text = str(app.screen.query_one(".modal-summary").render())
        assert "Stopped after 1 of 2 overrides" in text
        assert "Undo: delete 1 override already made" in text
        assert len(world.overrides) == 1
        await pilot.press("y")
        await settle(app, pilot)
        assert not world.overrides
        assert any("Undone: deleted 1 override" in n.message for n in app._notifications)


async def test_list_and_remove_my_overrides(session):
    app = c.CalendarApp(session)
    world = session.demo.world
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("right_square_bracket", "u")
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        before = len(world.overrides)
        assert before >= 1
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, ChooseScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert len(world.overrides) == before - 1
        assert any("Removed:" in n.message for n in app._notifications)


async def test_request_cover_opens_the_schedule_in_incident_io(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down", "down")  # the Support: Payments lane
        await settle(app, pilot)
        lane = screen_of(app)._selected_lane()
        assert lane is not None and lane.schedule_name == "Support: Payments"
        await pilot.press("R")
        assert app.opened and app.opened[0].endswith(lane.schedule_id)
        assert app.opened[0].startswith("https://")


async def test_readonly_refuses_every_change():
    session = c.demo_session(readonly=True)
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        scr = screen_of(app)
        assert scr.check_action("unavailable", ()) is None
        assert scr.check_action("cover", ()) is None
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        scr._open_form("unavailable")
        await settle(app, pilot)
        assert isinstance(app.screen, CalendarScreen)
        assert any("Read-only" in n.message for n in app._notifications)
        assert not session.demo.world.writes or all(
            not w.kind.startswith("override") for w in session.demo.world.writes
        )


async def test_bindings_have_ids_for_remapping(session):
    ids = {b.id for b in CalendarScreen.BINDINGS}
    for wanted in (
        "calendar.day.prev",
        "calendar.day.next",
        "calendar.week.prev",
        "calendar.week.next",
        "calendar.today",
        "calendar.next_shift",
        "calendar.toggle_view",
        "calendar.toggle_zone",
        "calendar.cursor.back",
        "calendar.cursor.forward",
        "calendar.unavailable",
        "calendar.cover",
        "calendar.overrides",
        "calendar.request_cover",
    ):
        assert wanted in ids


# ------------------------------------------------------------------ the grid alone


def test_grid_lines_fit_the_width_at_80_columns(session):
    view = calendar.week_view((), (), None, anchor=c.NOW, zone="Europe/London", now=c.NOW)
    for row in Grid(view, 80).rows():
        assert row.content.cell_length <= 80


def test_fit_name():
    assert fit_name("Robin Ahn", 20) == "Robin Ahn"
    assert fit_name("Robin Ahn", 7) == "Robin …"
    assert fit_name("Robin Ahn", 3) == "RA"
    assert fit_name("↻Ana Souza", 3) == "↻AS"
    assert fit_name("Robin Ahn", 1) == "R"


def test_care_about_follows_my_team_path_only():
    from oncall_tui.domain import (
        EscalationLevel,
        EscalationPath,
        EscalationTarget,
        Rotation,
        Schedule,
        User,
    )

    me = User("me", "Me")
    mine = Schedule("A", "On call: A", rotations=(Rotation("r", "r", users=(me,)),))
    other = Schedule("B", "On call: B")
    esc = Schedule("E", "Escalators")
    glob = Schedule("G", "Global", rotations=(Rotation("g", "g", users=(me,)),))

    def path(*ids):
        return EscalationPath(
            ids[0], "p", tuple(EscalationLevel((EscalationTarget("schedule", i),)) for i in ids)
        )

    paths = [path("A", "E", "G"), path("B", "E", "G")]
    assert care_about([mine, other, esc, glob], me, paths) == ("A", "E", "G")
    assert care_about([mine, other, esc, glob], me, paths, ["On call: B"]) == ("B",)


class FailNthCreate(httpx.AsyncBaseTransport):
    """Passes requests through, but answers the n-th override create with a 403."""

    def __init__(self, inner: httpx.AsyncBaseTransport, n: int) -> None:
        self.inner = inner
        self.n = n
        self.creates = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v2/schedule_overrides":
            self.creates += 1
            if self.creates == self.n:
                return httpx.Response(
                    403,
                    json={
                        "type": "authentication_error",
                        "status": 403,
                        "request_id": "req-1",
                        "errors": [{"code": "forbidden", "message": "not allowed on this layer"}],
                    },
                )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_grid_cells_map_times_both_ways():
    view = calendar.day_view((), (), None, anchor=c.NOW, zone="UTC", now=c.NOW)
    grid = Grid(view, 80)
    assert grid.cell_of(c.NOW) == int(10 / 24 * grid.cells)
    mid = grid.cell_time(grid.cell_of(c.NOW))
    assert abs((mid - c.NOW).total_seconds()) < 24 * 3600 / grid.cells
    assert isinstance(CalendarGrid().render(), object)


async def test_far_off_dates_in_the_form_are_refused_not_fatal(session):
    app = c.CalendarApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        form = app.screen
        for start, end in (("now", "9999-12-31"), ("in 99999999h", "in 99999999h")):
            form.query_one("#av-from").value = start
            await pilot.pause()
            form.query_one("#av-to").value = end
            await pilot.pause()
            shown = str(form.query_one("#av-range").render())
            assert "too far off" in shown and "are allowed" in shown
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "too far off" in str(form.query_one("#av-error").render())
        assert isinstance(app.screen, AvailabilityScreen)
        assert app.is_running
