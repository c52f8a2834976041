"""The incident screen's reading keys and the note box's own keys, each by its effect: what
was opened, where the focus went, what the timeline shows, which screen is on top, what
the box holds."""

from __future__ import annotations

import contextlib
import functools
import stat

import pytest
from factories import until
from textual.widgets import DataTable

from oncall_tui.config import Settings
from oncall_tui.core.incidents import slack_url
from oncall_tui.sim import demo as demo_module
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session
from oncall_tui.ui.screens.incidents import IncidentsScreen, NoteInput
from oncall_tui.ui.widgets.timeline_view import TimelineView

SIZE = (130, 42)
CALL = "https://meet.example.com/inc-242-bridge"


@pytest.fixture(autouse=True)
def _small_world(monkeypatch):
    """The demo world without its 500 background alerts: these tests are about incidents."""
    original = demo_module.build_demo
    monkeypatch.setattr(demo_module, "build_demo", functools.partial(original, background_alerts=0))


def make_app(monkeypatch, *, dashboard: bool = False) -> tuple[OnCallApp, list[tuple[str, str]]]:
    """The demo app (on the incident screen unless ``dashboard``), INC-242 given a call
    link, and every URL the app opens recorded as (url, what)."""
    session = make_session(Settings(), demo=True, readonly=False)
    world = session.demo.world
    live = next(i for i in world.incidents.values() if i.reference == "INC-242")
    live.call_url = CALL
    main = None if dashboard else (lambda app: IncidentsScreen(session))
    app = OnCallApp(session.settings, demo=True, session=session, main_screen=main)
    opened: list[tuple[str, str]] = []
    monkeypatch.setattr(app, "open_url", lambda url, what="link", **kw: opened.append((url, what)))
    return app, opened


async def on_incident(pilot, reference: str = "INC-242") -> IncidentsScreen:
    app = pilot.app
    await until(pilot, lambda: type(app.screen).__name__ in ("DashboardScreen", "IncidentsScreen"))
    if not isinstance(app.screen, IncidentsScreen):
        await pilot.press("i")
    await until(pilot, lambda: isinstance(app.screen, IncidentsScreen), "the incident screen")
    s = app.screen
    await until(pilot, lambda: any(i.reference == reference for i in s._incidents.values()))
    ids = [i for i, inc in s._incidents.items() if inc.reference == reference]
    s.query_one(DataTable).move_cursor(row=s._order.index(ids[0]))
    await until(pilot, lambda: s.incident is not None and s.incident.reference == reference)
    await until(pilot, lambda: s.query_one(TimelineView).entries, "the timeline")
    s.query_one("#incidents", DataTable).focus()
    await pilot.pause()
    return s


async def test_o_opens_the_incidents_call_and_l_its_slack_channel(monkeypatch):
    app, opened = make_app(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        s = await on_incident(pilot)
        await pilot.press("o")
        await until(pilot, lambda: opened, "o opens the call")
        assert opened == [(CALL, "call")]
        await pilot.press("l")
        await until(pilot, lambda: len(opened) == 2, "l opens the Slack channel")
        assert s.incident is not None
        expected = slack_url(s.incident)
        assert expected and expected.startswith("https://slack.com/app_redirect?channel=C")
        assert opened[1] == (expected, "Slack channel")


async def test_t_moves_to_the_timeline_and_u_switches_its_times_to_utc(monkeypatch):
    app, _ = make_app(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        s = await on_incident(pilot)
        view = s.query_one(TimelineView)
        assert not view.has_focus
        await pilot.press("t")
        await until(pilot, lambda: view.has_focus, "t focuses the timeline")
        assert view.show_utc is False
        await pilot.press("U")
        await until(pilot, lambda: view.show_utc, "U shows the times in UTC")
        assert any(n.message == "Times in UTC." for n in app._notifications)
        await pilot.press("U")
        await until(pilot, lambda: not view.show_utc, "U again: back to the display zone")


async def test_escape_goes_back_to_the_dashboard(monkeypatch):
    app, _ = make_app(monkeypatch, dashboard=True)
    async with app.run_test(size=SIZE) as pilot:
        await on_incident(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "DashboardScreen", "Esc: back")


async def test_escape_in_the_note_box_leaves_it_and_keeps_the_draft(monkeypatch):
    app, _ = make_app(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        s = await on_incident(pilot)
        await pilot.press("n")
        note = s.query_one(NoteInput)
        await until(pilot, lambda: note.has_focus, "n focuses the note box")
        note.insert("checking the card network dashboards")
        await pilot.press("escape")
        table = s.query_one("#incidents", DataTable)
        await until(pilot, lambda: table.has_focus, "Esc leaves the note box for the list")
        assert isinstance(app.screen, IncidentsScreen)  # the box's Esc, not the screen's
        assert note.text == "checking the card network dashboards"
        assert app.session.incidents.draft(note.target_id) == note.text
        assert not app.session.demo.world.writes_of("timeline_item.create")


async def test_ctrl_o_edits_the_note_in_the_editor(monkeypatch, tmp_path):
    """Ctrl+O hands the note to $EDITOR and takes back what it saved (not sent yet)."""
    editor = tmp_path / "editor"
    editor.write_text('#!/bin/sh\nprintf "%s, and edited\\n" "$(cat "$1")" > "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    app, _ = make_app(monkeypatch)
    # The test terminal cannot be handed over; the editor runs all the same.
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    async with app.run_test(size=SIZE) as pilot:
        s = await on_incident(pilot)
        await pilot.press("n")
        note = s.query_one(NoteInput)
        await until(pilot, lambda: note.has_focus, "n focuses the note box")
        note.insert("Rolled back")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: note.text == "Rolled back, and edited", "the edited note")
        assert note.has_focus
        assert not app.session.demo.world.writes_of("timeline_item.create")
