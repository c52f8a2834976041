"""SVG snapshots of the calendar on the demo world, with a fixed clock.

Tuesday 24 November 2026, 10:00 UTC, shown in Europe/London. The header clock reads
the machine's time, so it is frozen with time-machine. Regenerate after a deliberate
change with ``--snapshot-update`` and look at the SVGs (``rsvg-convert`` makes PNGs).
"""

from __future__ import annotations

from datetime import UTC, datetime

import calendar_apps as c
import pytest
import time_machine

from oncall_tui.ui.screens.calendar import CalendarScreen


async def _settle(pilot) -> None:
    app = pilot.app
    for _ in range(5):
        busy = [w for w in app.workers if not w.is_finished]
        if busy:
            await app.workers.wait_for_complete(busy)
        await pilot.pause(0.01)


def _run_before(*keys: str):
    async def run(pilot) -> None:
        await _settle(pilot)
        if keys:
            await pilot.press(*keys)
            await _settle(pilot)
        assert isinstance(pilot.app.screen, CalendarScreen)

    return run


@pytest.fixture
def frozen():
    with time_machine.travel(c.NOW, tick=False):
        yield


def test_week_view_80x24(snap_compare, frozen):
    app = c.CalendarApp(c.demo_session())
    assert snap_compare(app, run_before=_run_before(), terminal_size=(80, 24))


def test_day_view_80x24(snap_compare, frozen):
    app = c.CalendarApp(c.demo_session())
    assert snap_compare(app, run_before=_run_before("v"), terminal_size=(80, 24))


def test_week_view_with_overrides_120x35(snap_compare, frozen):
    # Ana covers my Wednesday working hours; no one holds my Thursday support day.
    session = c.demo_session()
    world = session.demo.world
    me = world.me
    ana = next(u for u in world.users.values() if u.name == "Ana Souza")
    on_call = world.schedule_by_name["On call: Payments"]
    support = world.schedule_by_name["Support: Payments"]
    mine = next(r for r in on_call.rotations if me.id in r.user_ids)
    world.create_override(
        schedule_id=on_call.id,
        rotation_id=mine.id,
        layer_id=mine.layers[0].id,
        start=datetime(2026, 11, 25, 8, tzinfo=UTC),
        end=datetime(2026, 11, 25, 17, tzinfo=UTC),
        user_ref={"id": ana.id},
    )
    rot = support.rotations[0]
    world.create_override(
        schedule_id=support.id,
        rotation_id=rot.id,
        layer_id=rot.layers[0].id,
        start=datetime(2026, 11, 26, tzinfo=UTC),
        end=datetime(2026, 11, 27, tzinfo=UTC),
        user_ref={"id": "NOBODY"},
    )
    app = c.CalendarApp(session)
    assert snap_compare(app, run_before=_run_before(), terminal_size=(120, 35))
