"""The incident screen and the declare form on the demo world, driven by keys."""

from __future__ import annotations

import functools

import pytest
from factories import until
from textual.widgets import DataTable, Input, RadioSet, TextArea

from oncall_tui.config import Settings
from oncall_tui.core.outbox import Backoff
from oncall_tui.sim import demo as demo_module
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session
from oncall_tui.ui.screens.declare import DeclareScreen
from oncall_tui.ui.screens.incidents import IncidentsScreen, NoteInput
from oncall_tui.ui.widgets.timeline_view import TimelineView

SIZE = (130, 42)


@pytest.fixture(autouse=True)
def _small_world(monkeypatch):
    """The demo world without its 500 background alerts: these tests are about incidents."""
    original = demo_module.build_demo
    monkeypatch.setattr(demo_module, "build_demo", functools.partial(original, background_alerts=0))


def make_app(*, readonly: bool = False, dashboard: bool = False) -> OnCallApp:
    session = make_session(Settings(), demo=True, readonly=readonly)
    if session.outbox is not None:
        session.outbox.backoff = Backoff(base=0.01, cap=0.02, floor=0.01)
    main = None if dashboard else (lambda app: IncidentsScreen(session))
    return OnCallApp(
        session.settings, demo=True, readonly=readonly, session=session, main_screen=main
    )


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def writes(app, kind: str):
    return [w for w in app.session.demo.world.writes if w.kind == kind]


def faults(app):
    return app.session.demo.transports["incident-io"].app.state.faults


def screen(app) -> IncidentsScreen:
    assert isinstance(app.screen, IncidentsScreen), app.screen
    return app.screen


def timeline_text(app) -> list[str]:
    view = app.screen.query_one(TimelineView)
    return [f"{e.text} {e.detail} [{e.state}]" for e in view.entries]


async def open_incidents(pilot, reference: str | None = None) -> IncidentsScreen:
    app = pilot.app
    await until(
        pilot, lambda: app.screen.__class__.__name__ in ("DashboardScreen", "IncidentsScreen")
    )
    if not isinstance(app.screen, IncidentsScreen):
        await pilot.press("i")
    await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
    await until(pilot, lambda: screen(app).query_one(DataTable).row_count >= 3)
    if reference is not None:
        table = screen(app).query_one(DataTable)
        ids = [i for i, inc in screen(app)._incidents.items() if inc.reference == reference]
        table.move_cursor(row=screen(app)._order.index(ids[0]))
        await until(pilot, lambda: screen(app).incident.reference == reference)
    await until(pilot, lambda: screen(app).query_one(TimelineView).entries)
    return screen(app)


async def choose(pilot, words: str) -> None:
    """Filter a ChooseScreen by ``words`` and take the first match."""
    pilot.app.screen.query_one(Input).value = words
    await pilot.pause()
    await pilot.press("enter")


async def type_note(pilot, text: str) -> None:
    note = pilot.app.screen.query_one(NoteInput)
    if not note.has_focus:  # after a note the box keeps the focus: "n" would be typed
        await pilot.press("n")
    assert note.has_focus
    note.insert(text)
    await pilot.press("enter")


async def test_list_orders_incidents_and_shows_my_role():
    app = make_app(dashboard=True)  # reached from the dashboard's "i"
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot)
        categories = [s._incidents[i].status.category for i in s._order]
        assert categories.index("learning") > categories.index("live")
        table = s.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(n)] for n in range(table.row_count)]
        assert any("Incident Lead" in row for row in rows)
        assert rows[-1][2] == "Documenting"  # post-incident, after the open ones
        head = str(s.query_one("#incident-head").render())
        table.move_cursor(row=table.row_count - 1)
        await until(pilot, lambda: "(post-incident)" in str(s.query_one("#incident-head").render()))
        assert head != str(s.query_one("#incident-head").render())


async def test_a_note_shows_at_once_and_is_confirmed():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        await type_note(pilot, "[bold]Rolled back[/bold] \x1b[31mpayments-api")
        note = s.query_one(NoteInput)
        assert note.text == "" and note.has_focus  # ready for the next note
        assert any("[bold]Rolled back[/bold] payments-api" in t for t in timeline_text(app))
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        assert writes(app, "timeline_item.create")[0].data["title"] == (
            "[bold]Rolled back[/bold] payments-api"
        )
        await until(pilot, lambda: any("is on INC-242's timeline" in m for m in notices(app)))
        await until(
            pilot,
            lambda: not any(e.pending for e in s.query_one(TimelineView).entries),
        )


async def test_an_empty_note_is_refused_politely():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_incidents(pilot, "INC-242")
        await type_note(pilot, "   ")
        await until(pilot, lambda: any("Empty note" in m for m in notices(app)))
        assert not app.session.outbox.items()


async def test_a_big_paste_keeps_every_line():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        lines = [f"{n:05d} upstream connect error or disconnect/reset" for n in range(2200)]
        paste = "\n".join(lines)
        assert len(paste.encode()) > 100_000
        await pilot.press("n")
        s.query_one(NoteInput).focus()
        from textual import events

        app.post_message(events.Paste(paste))  # as the terminal driver delivers it
        await pilot.pause()
        assert s.query_one(NoteInput).text == paste
        await pilot.press("enter")
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        data = writes(app, "timeline_item.create")[0].data
        assert data["title"] == lines[0]
        assert data["description"] == "\n".join(lines[1:]) + "\n\n— Robin Ahn"  # the author


async def test_notes_typed_while_the_api_is_down_arrive_once_in_order():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        faults(app).update(down=True)
        texts = [f"outage note {n}" for n in range(4)]
        for text in texts:
            await type_note(pilot, text)
        view = s.query_one(TimelineView)
        assert [e.text for e in view.entries if e.pending] == texts  # shown, marked pending
        await until(pilot, lambda: app.session.engine.world.pending_writes == len(texts))
        await until(pilot, lambda: any("kept and will be sent" in m for m in notices(app)))
        assert not writes(app, "timeline_item.create")
        faults(app).clear()
        app.session.outbox.retry_now()
        await until(pilot, lambda: len(writes(app, "timeline_item.create")) == len(texts))
        await pilot.pause(0.3)
        created = writes(app, "timeline_item.create")
        assert [w.data["title"] for w in created] == texts
        await until(pilot, lambda: app.session.engine.world.pending_writes == 0)


async def test_status_change_with_a_message_and_a_forbidden_move():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        await pilot.press("s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await choose(pilot, "monitoring")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PromptScreen")
        app.screen.query_one(TextArea).insert("Fix deployed, watching the error rate")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any(m == "INC-242 is now Monitoring." for m in notices(app)))
        [write] = writes(app, "incident_update.create")
        assert write.data["message"] == "Fix deployed, watching the error rate"
        await until(pilot, lambda: s.incident.status.name == "Monitoring")
        # A move incident.io forbids: the API's reason is shown in words.
        await pilot.press("s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await choose(pilot, "triage")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PromptScreen")
        app.screen.query_one(TextArea).insert("back to triage")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("cannot go back to it" in m for m in notices(app)))


async def test_severity_change_hand_over_and_page():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        await pilot.press("v")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await choose(pilot, "critical")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PromptScreen")
        app.screen.query_one(TextArea).insert("All EU card payments failing")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any(m == "INC-242 is now Critical." for m in notices(app)))

        await pilot.press("L")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await choose(pilot, "ana souza")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(
            pilot, lambda: any(m.startswith("Ana Souza now leads INC-242") for m in notices(app))
        )
        await until(pilot, lambda: s.incident.lead and s.incident.lead.name == "Ana Souza")

        await pilot.press("p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await choose(pilot, "jonas")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(
            pilot, lambda: any(m == "Paged Jonas Becker into INC-242." for m in notices(app))
        )
        io = app.session.backends.incidentio
        pages = await io.list_escalations(None, incident_id=s.incident.id)
        assert "INC-242: Card payments failing for some EU customers" in [p.title for p in pages]


async def test_checklist_ticks_are_timeline_notes():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        await pilot.press("c")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await choose(pilot, "status page")
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        assert writes(app, "timeline_item.create")[0].data["title"] == (
            "Lead checklist, done: Status page updated"
        )
        checklist = str(s.query_one("#checklist").render())
        assert "[x] status page" in checklist and "[ ] banner" in checklist


async def test_close_asks_for_cause_and_fix_and_moves_to_post_incident():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        await pilot.press("X")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PromptScreen")
        await pilot.press("ctrl+s")  # empty: refused in the prompt itself
        assert app.screen.__class__.__name__ == "PromptScreen"
        app.screen.query_one(TextArea).insert("A config change disabled one card network")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "fix" in str(app.screen.query_one(".modal-title").render()))
        app.screen.query_one(TextArea).insert("Rolled back; config check added")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: any("moved to Documenting" in m for m in notices(app)))
        message = writes(app, "incident_update.create")[-1].data["message"]
        assert message.startswith("Root cause: A config change")
        await until(pilot, lambda: s.incident.status.name == "Documenting")


async def test_declare_from_the_incident_screen_and_a_duplicate_submit():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, DeclareScreen))
        form = app.screen
        await until(pilot, lambda: len(form.query_one(RadioSet).query("RadioButton")) == 3)
        await pilot.press("ctrl+s")
        assert "name" in str(form.query_one("#error").render())
        form.query_one("#name", Input).value = "[red]Search[/red] \x1b]8;;http://x\x07down"
        await pilot.press("ctrl+s")
        assert "severity" in str(form.query_one("#error").render())
        # Minor: the third button (most severe first); the guidance is beside it.
        buttons = list(form.query_one(RadioSet).query("RadioButton"))
        buttons[2].value = True
        await pilot.pause()
        assert "Declaring is cheap" in str(form.query_one("#guidance").render())
        key = form.draft.key
        faults(app).update(down=True)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "same request key" in str(form.query_one("#error").render()))
        assert isinstance(app.screen, DeclareScreen) and form.draft.key == key
        faults(app).clear()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        created = writes(app, "incident.create")
        assert len(created) == 1 and created[0].data["name"] == "[red]Search[/red] down"
        await until(pilot, lambda: s.incident is not None and s.incident.name.endswith("down"))
        assert s.incident.severity.name == "Minor"
        head = str(s.query_one("#incident-head").render())
        assert "[red]Search[/red] down" in head  # shown literally


async def test_declare_from_a_selected_alert_prefills_name_and_links():
    app = make_app(dashboard=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
        alerts = app.session.engine.world.alerts
        await until(pilot, lambda: any(alerts.values()))
        alert = next(a for feed in alerts.values() for a in feed if a.link("runbook").url)
        app.open_declare(alert=alert)
        await until(pilot, lambda: isinstance(app.screen, DeclareScreen))
        form = app.screen
        await until(pilot, lambda: form.is_mounted and form.query("#name"))
        assert form.query_one("#name", Input).value == alert.title
        assert alert.link("runbook").url in form.query_one("#summary", TextArea).text


async def test_readonly_refuses_notes_and_declaring_with_a_message():
    app = make_app(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_incidents(pilot, "INC-242")
        await pilot.press("n")
        await until(pilot, lambda: any("Read-only" in m for m in notices(app)))
        assert not app.screen.query_one(NoteInput).has_focus
        await pilot.press("D")
        await until(pilot, lambda: sum("Read-only" in m for m in notices(app)) >= 2)
        assert not isinstance(app.screen, DeclareScreen)


async def test_export_writes_markdown(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_incidents(pilot, "INC-242")
        await pilot.press("E")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PromptScreen")
        target = tmp_path / "export.md"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await until(pilot, target.exists)
        text = target.read_text()
        assert text.startswith("# INC-242") and "## What surprised us" in text


async def test_the_command_palette_runs_incident_actions():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_incidents(pilot, "INC-242")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
        await pilot.press(*"hand over")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        assert "Hand the lead of INC-242" in str(app.screen.query_one(".modal-title").render())


async def test_the_list_is_the_engines_snapshot_and_r_asks_the_engine_for_a_poll():
    """The incident screen never lists incidents itself: its rows are the engine's
    snapshot, and r makes the engine's incidents feed poll again (run by the app)."""
    app = make_app()
    io = app.session.backends.io()
    listed = []
    real = io.list_incidents

    async def counted(*args, **kwargs):
        listed.append(args)
        return await real(*args, **kwargs)

    io.list_incidents = counted  # type: ignore[method-assign]
    engine = app.session.engine
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: screen(app).query_one(DataTable).row_count > 0)
        table = screen(app).query_one(DataTable)
        shown = {str(key.value) for key in table.rows}
        assert shown == {i.id for i in engine.snapshot().incidents}
        asked: list[str | None] = []
        ask = engine.poll_soon

        def poll_soon(name: str | None = None) -> None:
            asked.append(name)
            ask(name)

        engine.poll_soon = poll_soon  # type: ignore[method-assign]
        polls = len(listed)
        await pilot.press("r")
        assert asked == ["incident.io incidents"]
        await until(pilot, lambda: len(listed) > polls)
        await pilot.pause(0.2)
        assert len(listed) == polls + 1  # one poll, the engine's


async def test_moving_through_the_severities_chooses_and_shows_that_guidance():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_incidents(pilot)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, DeclareScreen))
        form = app.screen
        radio = form.query_one(RadioSet)
        await until(pilot, lambda: len(radio.query("RadioButton")) == 3)
        assert radio.pressed_index == -1
        radio.focus()
        await pilot.press("down")
        first = radio.pressed_index
        await pilot.press("down")
        assert radio.pressed_index == (first + 1) % 3
        chosen = form._chosen_severity()
        assert chosen and chosen == form._severity_ids[radio.pressed_index]


async def test_refused_keys_are_dimmed_in_the_footer_with_the_guards_reason():
    from textual.widgets._footer import FooterKey

    app = make_app(readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_incidents(pilot, "INC-242")
        await pilot.pause(0.2)
        shown = {k.action: k for k in app.screen.query(FooterKey)}
        for action in ("note", "status", "close_incident"):  # writes: dimmed, with why
            assert shown[action].has_class("-disabled"), action
            assert "Read-only mode" in screen(app).unavailable_reason(action)
        assert app.screen.active_bindings["E"].enabled  # export: reading is still allowed
        await pilot.press("s")
        await until(pilot, lambda: any("Read-only mode: Status is off" in m for m in notices(app)))


async def test_paging_someone_into_an_incident_shows_there_not_as_an_alert_row():
    from oncall_tui.ui.widgets.alert_table import AlertTable

    app = make_app(dashboard=True)
    async with app.run_test(size=SIZE) as pilot:
        s = await open_incidents(pilot, "INC-242")
        await pilot.press("p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await choose(pilot, "jonas")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: "Paged Jonas Becker into INC-242." in notices(app))
        page = writes(app, "escalation.create")[-1].target_id
        # In the incident's detail: its timeline shows the page.
        s.action_refresh()
        await until(pilot, lambda: any("Page triggered: INC-242" in t for t in timeline_text(app)))
        # Not a row of the dashboard's pages and alerts.
        await pilot.press("escape")
        engine = app.session.engine
        engine.poll_soon("incident.io pages")
        await until(pilot, lambda: page in engine.world.pages)
        await pilot.pause(0.3)
        rows = app.screen.query_one(AlertTable).rows
        assert rows and not any(page in r.page_ids for r in rows)
