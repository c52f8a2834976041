"""SVG snapshots of the incident screen and the declare form on the demo world, the wall
clock frozen (see ``demo_session.py``).

Regenerate after a deliberate change with ``pytest tests/ui/test_incident_screen_snapshots.py
--snapshot-update`` and look at the SVGs before committing them.
"""

from __future__ import annotations

import pytest
from demo_session import FrozenDemo, frozen_time
from textual.widgets import DataTable

from oncall_tui.ui.screens.declare import DeclareScreen
from oncall_tui.ui.screens.incidents import IncidentsScreen, NoteInput
from oncall_tui.ui.widgets.timeline_view import TimelineView

WIDE = (120, 35)
SMALL = (80, 24)


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def incident_screen(demo: FrozenDemo) -> FrozenDemo:
    session = demo.session
    demo.app._main_screen = lambda app: IncidentsScreen(session)
    return demo


async def on_incident(demo: FrozenDemo, pilot, reference: str) -> IncidentsScreen:
    await demo.until(pilot, lambda: isinstance(demo.screen, IncidentsScreen), "incidents")
    screen = demo.screen
    table = screen.query_one(DataTable)
    await demo.until(pilot, lambda: table.row_count >= 3, "the incident list")
    ids = [i for i, inc in screen._incidents.items() if inc.reference == reference]
    table.move_cursor(row=screen._order.index(ids[0]))
    await demo.until(pilot, lambda: screen.incident.id == ids[0], reference)
    await quiet(demo, pilot)
    return screen


async def quiet(demo: FrozenDemo, pilot) -> None:
    screen = demo.screen

    def done() -> bool:
        busy = any(
            w.group in ("timeline", "incidents", "lookups", "incident-action") and not w.is_finished
            for w in demo.app.workers
        )
        return not busy and bool(screen.query_one(TimelineView).entries)

    await demo.until(pilot, done, "timeline loaded")
    await pilot.pause(0.1)
    await demo.until(pilot, done, "timeline loaded")
    await pilot.pause()


def test_live_incident_with_a_delivered_note(snap_compare, frozen):
    """INC-242 (live, I am Communications): its story from page to rollback, and my note
    confirmed by incident.io at the end; the lead checklist above."""
    demo = incident_screen(FrozenDemo(frozen, background_alerts=0))

    async def run_before(pilot) -> None:
        screen = await on_incident(demo, pilot, "INC-242")
        await pilot.press("n")
        screen.query_one(NoteInput).insert("EU card success rate back to 99.6% after rollback")
        await pilot.press("enter")
        await demo.until(
            pilot,
            lambda: any(w.kind == "timeline_item.create" for w in demo.demo.world.writes),
            "the note delivered",
        )
        await quiet(demo, pilot)
        await demo.until(
            pilot,
            lambda: not any(e.state for e in screen.query_one(TimelineView).entries),
            "the server's copy",
        )
        # the box keeps focus: a steady cursor, not one caught mid-blink
        screen.query_one(NoteInput).cursor_blink = False
        demo.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)


def test_notes_pending_while_incident_io_is_down(snap_compare, frozen):
    """incident.io is down: two notes typed anyway show at once, marked as being sent."""
    demo = incident_screen(FrozenDemo(frozen, background_alerts=0))

    async def run_before(pilot) -> None:
        screen = await on_incident(demo, pilot, "INC-243")
        demo.faults("incident-io").update(down=True)
        await pilot.press("n")
        for text in ("Reset requests come from one IP range", "Blocked it at the edge"):
            screen.query_one(NoteInput).insert(text)
            await pilot.press("enter")
        await demo.until(
            pilot,
            lambda: sum(e.pending for e in screen.query_one(TimelineView).entries) == 2,
            "two pending notes",
        )
        await demo.until(
            pilot, lambda: demo.session.outbox.items()[0].attempts >= 1, "a failed try"
        )
        demo.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(demo.app, run_before=run_before, terminal_size=SMALL)


def test_declare_form_from_an_alert(snap_compare, frozen):
    """The declare form opened on an alert: its title as the name, its links in the
    summary, a severity chosen from the alert's (and why), the guidance beside it."""
    demo = FrozenDemo(frozen, scenario=False, background_alerts=0)

    async def run_before(pilot) -> None:
        await demo.loaded(pilot)
        alerts = [a for feed in demo.session.engine.world.alerts.values() for a in feed]
        alert = sorted(
            (a for a in alerts if a.link("runbook").url), key=lambda a: (a.source, a.title)
        )[0]
        demo.app.open_declare(alert=alert)
        await demo.until(pilot, lambda: isinstance(demo.screen, DeclareScreen), "the form")
        form = demo.screen
        await demo.until(pilot, lambda: len(form.query("RadioButton")) == 3, "severities loaded")
        await demo.until(pilot, form._chosen_severity, "the severity chosen from the alert's")
        demo.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(demo.app, run_before=run_before, terminal_size=WIDE)
