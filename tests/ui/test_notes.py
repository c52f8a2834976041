"""Notes that reach the right incident, whatever happens to the list, the disk, the paste
buffer or the process: the incident screen and the app, driven by keys on the demo world."""

from __future__ import annotations

import functools

import pytest
from textual.widgets import DataTable

from oncall_tui.core.outbox import KIND_NOTE, Outbox, note_payload
from oncall_tui.sim import demo as demo_module
from oncall_tui.ui.screens.dashboard import DashboardScreen
from oncall_tui.ui.screens.incidents import IncidentsScreen, NoteInput
from oncall_tui.ui.screens.modals import ConfirmScreen
from oncall_tui.ui.widgets.timeline_view import TimelineView
from tests.ui.test_incident_screen import (
    SIZE,
    faults,
    make_app,
    notices,
    open_incidents,
    type_note,
    until,
    writes,
)


@pytest.fixture(autouse=True)
def _small_world(monkeypatch):
    original = demo_module.build_demo
    monkeypatch.setattr(demo_module, "build_demo", functools.partial(original, background_alerts=0))


def sim_incident(app, reference: str):
    world = app.session.demo.world
    return next(i for i in world.incidents.values() if i.reference == reference)


async def test_the_app_delivers_the_outbox_whatever_screen_is_shown():
    """The delivery worker belongs to the app: a note left in the outbox (by the command
    line, or a crash) goes out while only the dashboard is open."""
    app = make_app(dashboard=True)
    target = sim_incident(app, "INC-242")
    app.session.outbox.enqueue(
        KIND_NOTE, target.id, {**note_payload("left by the CLI", at=app.session.engine.clock())}
    )
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        [write] = writes(app, "timeline_item.create")
        assert write.data["title"] == "left by the CLI"
        assert isinstance(app.screen, DashboardScreen)


# ------------------------------------------------------------------ the right incident


def close_in_sim(app, reference: str) -> None:
    world = app.session.demo.world
    incident = sim_incident(app, reference)
    world.edit_incident(incident.id, status_id=world.status_by_name("Closed").id)


async def test_a_note_goes_to_the_incident_the_box_was_opened_on_even_if_it_closes():
    """Someone closes the incident while the note is being typed: the box says so, the
    list moves on, and Enter still sends the note there, not to the row now selected."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot)
        table = s.query_one(DataTable)
        table.move_cursor(row=1)
        await until(pilot, lambda: s.incident is not None and s._order.index(s.incident.id) == 1)
        target = s.incident
        await pilot.press("n")
        box = s.query_one(NoteInput)
        assert target.reference in str(box.border_title)
        box.insert("for the incident I opened the box on")
        close_in_sim(app, target.reference)
        s.action_refresh()
        await until(pilot, lambda: target.id not in s._incidents)
        assert s.incident is not None and s.incident.id != target.id  # the list moved on
        assert box.has_focus and target.reference in str(box.border_title)
        assert "has left the incident list" in str(box.border_subtitle)
        await pilot.press("enter")
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        [write] = writes(app, "timeline_item.create")
        assert write.data["incident_id"] == target.id
        assert write.data["title"] == "for the incident I opened the box on"


# ------------------------------------------------------------------- refused notes


def refuse_next_note(app, status: int = 401) -> None:
    """incident.io refuses the next note once (401: the key was revoked, then fixed)."""
    from oncall_tui.sim.world import SimError

    world = app.session.demo.world
    original = world.create_timeline_item
    refused = []

    def once(**kwargs):
        if not refused:
            refused.append(kwargs)
            raise SimError(status, "refused", "refused", "refused by the test")
        return original(**kwargs)

    world.create_timeline_item = once


async def test_a_refused_note_holds_the_next_one_and_R_resends_both_in_order():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        refuse_next_note(app, 401)
        await type_note(pilot, "first")
        await until(pilot, lambda: app.session.outbox.count_attention() == 1)
        await type_note(pilot, "second")
        await until(pilot, lambda: "R resends it" in str(s.query_one("#problems").render()))
        problems = str(s.query_one("#problems").render())
        assert "1 note(s) after it are held" in problems
        states = {e.text: e.state for e in s.query_one(TimelineView).entries if e.pending}
        assert states == {"first": "needs_attention", "second": "held"}
        assert not writes(app, "timeline_item.create")
        await pilot.press("escape")  # out of the note box
        await pilot.press("R")
        await until(pilot, lambda: len(writes(app, "timeline_item.create")) == 2)
        assert [w.data["title"] for w in writes(app, "timeline_item.create")] == [
            "first",
            "second",
        ]


async def test_K_skips_a_refused_note_and_the_held_one_goes():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_incidents(pilot, "INC-242")
        refuse_next_note(app, 422)
        await type_note(pilot, "refused")
        await until(pilot, lambda: app.session.outbox.count_attention() == 1)
        await type_note(pilot, "held")
        await pilot.press("escape")
        await pilot.press("K")
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        assert [w.data["title"] for w in writes(app, "timeline_item.create")] == ["held"]
        assert any("Skipped “refused”" in m for m in notices(app))


# --------------------------------------------------------------------------- paste


def _terminal_bytes(app, raw: str) -> None:
    """Feed ``raw`` through the terminal input parser the app runs with, as the driver
    does, and hand the events to the app."""
    from textual.drivers import linux_driver

    parser = linux_driver.XTermParser()
    for event in parser.feed(raw):
        app._driver.process_message(event)


async def test_a_coloured_paste_with_carriage_returns_is_text_and_sends_nothing():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        await pilot.press("n")
        box = s.query_one(NoteInput)
        _terminal_bytes(app, "\x1b[200~one \x1b[31mred\x1b[0m\rtwo\x1b[201~")
        await pilot.pause(0.3)
        assert not writes(app, "timeline_item.create")  # a carriage return never sends
        assert box.text == "one ␛[31mred␛[0m\ntwo"  # shown inert, nothing lost
        box.clear()
        lines = [f"\x1b[31mERROR\x1b[0m {n:04d} upstream reset" for n in range(3000)]
        paste = "\r".join(lines)
        assert len(paste.encode()) > 100_000
        _terminal_bytes(app, "\x1b[200~" + paste + "\x1b[201~")
        await until(pilot, lambda: box.text.count("\n") == 2999)
        await pilot.pause(0.3)
        assert not writes(app, "timeline_item.create")  # a carriage return never sends
        assert box.text.splitlines()[0] == "␛[31mERROR␛[0m 0000 upstream reset"  # inert
        assert "removed when the note is sent" in str(box.border_subtitle)
        await pilot.press("enter")
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        await pilot.pause(0.3)
        [write] = writes(app, "timeline_item.create")
        assert write.data["title"] == "ERROR 0000 upstream reset"
        assert write.data["description"].splitlines()[-3] == "ERROR 2999 upstream reset"


async def test_a_newline_key_and_zero_width_joiners_are_kept():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        await pilot.press("n")
        box = s.query_one(NoteInput)
        box.insert("خانه‌ها 👩\u200d💻")
        await pilot.press("ctrl+j")
        box.insert("second line")
        await pilot.press("enter")
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        [write] = writes(app, "timeline_item.create")
        assert write.data["title"] == "خانه‌ها 👩\u200d💻"  # ZWNJ and ZWJ as typed
        assert write.data["description"].startswith("second line")


# ---------------------------------------------------------------------- disk full


async def test_a_full_disk_keeps_the_note_in_the_box_and_the_app_running():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        outbox = app.session.outbox
        pages = outbox._db.execute("PRAGMA page_count").fetchone()[0]
        outbox._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
        text = "rolled back " + "z" * 30_000
        await pilot.press("n")
        box = s.query_one(NoteInput)
        box.insert(text)
        await pilot.press("enter")
        await until(pilot, lambda: any("disk is full" in m for m in notices(app)))
        assert box.text == text and app.is_running
        assert "press Enter again" in str(box.border_subtitle)
        outbox._db.execute("PRAGMA max_page_count = 1073741823")  # space freed
        await pilot.press("enter")
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        assert box.text == ""


# -------------------------------------------------------------------------- drafts


async def test_a_draft_survives_esc_a_screen_change_and_a_restart_and_quit_asks():
    app = make_app(dashboard=True)
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        target = s.incident
        await pilot.press("n")
        s.query_one(NoteInput).insert("half a thought")
        outbox = app.session.outbox
        # saved as it is typed (a crash now keeps it): another process sees it
        await until(pilot, lambda: outbox.draft(target.id) == "half a thought")
        other = Outbox(outbox.path)
        assert other.draft(target.id) == "half a thought"
        other.close()
        await pilot.press("escape")  # leave the box
        await pilot.press("escape")  # leave the screen
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        s = await open_incidents(pilot, "INC-242")
        await pilot.press("n")
        assert s.query_one(NoteInput).text == "half a thought"
        await pilot.press("escape")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        words = str(app.screen.query_one(".modal-summary").render())
        assert "1 draft(s) (INC-242)" in words
        await pilot.press("escape")  # stay
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running)


# ------------------------------------------------------------------------- offline


async def test_the_dashboard_takes_notes_from_the_kept_list_when_incident_io_is_down():
    app = make_app(dashboard=True)
    await app.session.incidents.list_incidents()  # an earlier run kept the list
    faults(app).update(down=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        s = app.screen
        await until(pilot, lambda: s.query_one(DataTable).row_count >= 3)
        assert "kept on this machine" in str(s.query_one("#problems").render())
        s.query_one(DataTable).move_cursor(row=0)
        await pilot.press("n")
        await pilot.press(*"qnr")  # letters are text in the box, never hotkeys
        assert s.query_one(NoteInput).text == "qnr" and app.is_running
        await pilot.press("enter")
        await until(pilot, lambda: app.session.outbox.count_pending() == 1)
        faults(app).clear()
        app.session.outbox.retry_now()
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        assert writes(app, "timeline_item.create")[0].data["title"] == "qnr"


# -------------------------------------------------------------------- housekeeping


async def test_delivered_notes_older_than_the_retention_are_pruned_at_start():
    from datetime import timedelta

    app = make_app(dashboard=True)
    outbox = app.session.outbox
    old = outbox.enqueue(KIND_NOTE, "01OLD", note_payload("old", at=app.session.engine.clock()))
    long_ago = app.session.engine.clock() - timedelta(days=31)
    outbox.mark_delivered(old.key, "R1", now=long_ago)
    recent = outbox.enqueue(KIND_NOTE, "01NEW", note_payload("new", at=long_ago))
    outbox.mark_delivered(recent.key, "R2")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: outbox.get(old.key) is None)
        assert outbox.get(recent.key) is not None


def test_the_log_named_in_messages_exists_and_holds_no_token(tmp_path, monkeypatch):
    import logging

    from oncall_tui import logs

    monkeypatch.setattr(logs, "_handler", None)
    path = logs.setup_logging()
    assert path == logs.log_path() and path.exists()
    logging.getLogger("oncall_tui.test").warning(
        "request failed: Authorization: Bearer sk-live-123 token=abc https://u:pw@host/x"
    )
    logs._handler.flush()
    text = path.read_text()
    assert "request failed" in text
    assert "sk-live-123" not in text and "abc" not in text and "pw@" not in text
    logging.getLogger("oncall_tui").removeHandler(logs._handler)
