"""The dashboard screen on the simulated world: every key, read-only, cursor, hostile text."""

from __future__ import annotations

import asyncio
import time

import pytest
from factories import until

from oncall_tui.config import Settings
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session
from oncall_tui.ui.widgets.alert_table import AlertTable


def make_app(*, readonly: bool = False, size=(150, 45)) -> OnCallApp:
    session = make_session(Settings(), demo=True, readonly=readonly)
    return OnCallApp(session.settings, demo=True, readonly=readonly, session=session)


def table(app) -> AlertTable:
    return app.screen.query_one(AlertTable)


def writes(app, kind: str | None = None):
    world = app.session.demo.world
    return [w for w in world.writes if kind is None or w.kind == kind]


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def move_to(app, predicate) -> None:
    t = table(app)
    for row in t.rows:
        if predicate(row):
            assert t.move_cursor_to_key(row.key)
            return
    raise AssertionError("no such row")


async def loaded(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
    await until(pilot, lambda: table(app).row_count > 3 and app.session.engine.world.shifts)
    # The demo's scripted page to me has arrived: it takes the cursor from rows that are
    # not paging me, so it must not arrive in the middle of a test's key presses.
    await until(pilot, lambda: any(r.kind == "page" and r.mine for r in table(app).rows))


async def test_shows_shift_pages_and_alerts():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        panel = app.screen.query_one("ShiftPanel")
        text = " ".join(str(line) for line in panel.lines())
        assert "Payments" in text and "left" in text
        sources = {row.source for row in table(app).rows}
        assert any("grafana" in s for s in sources) and "incident.io" in sources
        # The scripted page to me arrives within seconds and is announced.
        await until(pilot, lambda: any("New page" in (n.title or "") for n in app._notifications))


async def test_ack_a_page_records_it_and_says_what_changed():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: any(r.state == "triggered" for r in table(app).rows))
        move_to(app, lambda r: r.kind == "page" and r.state == "triggered")
        await pilot.press("a")
        await until(pilot, lambda: writes(app, "escalation.respond"))
        assert writes(app, "escalation.respond")[-1].data.get("response") == "ack"
        await until(pilot, lambda: any(m.startswith("Acked") for m in notices(app)))


async def test_ack_and_unack_a_grafana_alert_by_silence():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        await the_scripted_page_to_me(pilot)
        move_to(app, lambda r: r.source.startswith("alertmanager"))
        key = table(app).cursor_key
        await pilot.press("a")
        # A silence is shown before it is made: what it matches, and how many fire.
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith("Silenced") for m in notices(app)))
        am = app.session.demo.grafana["us"].plain_am
        await until(pilot, lambda: table(app).get_row(key).state == "silenced")
        assert any(
            s.comment.startswith("Acknowledged by me@example.com") for s in am.silences.values()
        )
        app.session.engine.poll_soon()
        await until(pilot, lambda: bool(table(app).get_row(key)))
        await until(
            pilot,
            lambda: any(
                a.silenced_by
                for a in app.session.engine.snapshot().alerts
                if a.key in table(app).get_row(key).alert_keys
            ),
        )
        move_to(app, lambda r: r.key == key)
        await pilot.press("u")
        await until(pilot, lambda: any(m.startswith("Removed") for m in notices(app)))


async def test_escalate_asks_then_pages():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        move_to(app, lambda r: r.kind == "page")
        before = len(writes(app, "escalation.create"))
        await pilot.press("e")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        # The first choice is the next level of the page's path.
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: len(writes(app, "escalation.create")) > before)
        await until(pilot, lambda: any(m.startswith("Paged") for m in notices(app)))


async def test_decline_confirms_first_and_moves_the_page_up():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: any(r.state == "triggered" for r in table(app).rows))
        move_to(app, lambda r: r.kind == "page" and r.state == "triggered")
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("n")  # cancel: nothing sent
        await pilot.pause(0.2)
        assert not [
            w for w in writes(app, "escalation.respond") if w.data.get("response") == "nack"
        ]
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(
            pilot,
            lambda: [
                w for w in writes(app, "escalation.respond") if w.data.get("response") == "nack"
            ],
        )


async def test_snooze_with_a_chosen_time():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: any(r.state == "triggered" for r in table(app).rows))
        move_to(app, lambda r: r.kind == "page" and r.state == "triggered")
        await pilot.press("z")
        await until(pilot, lambda: app.screen.__class__.__name__ == "DurationScreen")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: [
                w for w in writes(app, "escalation.respond") if w.data.get("response") == "snooze"
            ],
        )
        await until(pilot, lambda: any(m.startswith("Snoozed") for m in notices(app)))


async def test_shadow_pages_a_chosen_teammate():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        move_to(app, lambda r: r.kind == "page")
        before = len(writes(app, "escalation.create"))
        await pilot.press("S")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await pilot.press("enter")
        await until(pilot, lambda: len(writes(app, "escalation.create")) > before)
        assert "Shadow request" in writes(app, "escalation.create")[-1].data.get("title", "")


async def test_resolve_an_incident_io_alert():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        move_to(app, lambda r: r.kind == "alert" and r.source == "incident.io")
        await pilot.press("R")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: writes(app, "alert.resolve"))


async def test_links_open_only_http_and_say_what_is_missing(monkeypatch):
    opened: list[str] = []
    app = make_app()
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        move_to(app, lambda r: r.runbook == "ok")
        await pilot.press("o")
        await pilot.press("g")
        await pilot.press("O")
        await pilot.press("y")
        assert opened and all(u.startswith(("http://", "https://")) for u in opened)
        assert copied and copied[0].startswith("http")
        move_to(app, lambda r: r.runbook == "refused")
        count = len(opened)
        await pilot.press("o")
        assert len(opened) == count
        assert any("refused" in m for m in notices(app))


async def test_select_several_rows_and_ack_them_together():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        rows = [r for r in table(app).rows if r.source.startswith("grafana")][:2]
        table(app).set_marks([r.key for r in rows])
        await pilot.press("a")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith("Acked 2 items: ") for m in notices(app)))
        said = next(m for m in notices(app) if m.startswith("Acked 2 items: "))
        assert said.endswith(" done")  # every member of both rows, none failed


async def the_scripted_page_to_me(pilot) -> None:
    """The demo's page to me has arrived (it takes the cursor from an alert row)."""
    app = pilot.app
    await until(pilot, lambda: any(r.kind == "page" and r.mine for r in table(app).rows))


async def test_refresh_with_reordered_rows_keeps_the_cursor_on_the_item():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        await the_scripted_page_to_me(pilot)
        t = table(app)
        move_to(app, lambda r: r.kind == "alert" and "Settlement" in r.title)
        key = t.cursor_key
        t.update_rows(list(reversed(t.rows)))
        assert t.cursor_key == key
        app.session.engine.poll_soon()
        await pilot.pause(1.0)
        assert t.cursor_key == key


async def test_hostile_title_shows_literally():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        world = app.session.demo.world
        source = next(iter(world.alert_sources.values()))
        hostile = "[bold red]PWNED[/] \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[2J"
        await asyncio.to_thread(world.advance)
        from httpx import ASGITransport, AsyncClient

        transport = app.session.demo.transports["incident-io"]
        assert isinstance(transport, ASGITransport)
        async with AsyncClient(transport=transport, base_url="http://sim") as client:
            answer = await client.post(
                f"/v2/alert_events/http/{source.id}",
                json={"title": hostile, "status": "firing", "deduplication_key": "hostile-1"},
                headers={"Authorization": f"Bearer {source.secret_token}"},
            )
            assert answer.status_code == 202
        app.session.engine.poll_soon()
        await until(pilot, lambda: any("PWNED" in r.title for r in table(app).rows))
        row = next(r for r in table(app).rows if "PWNED" in r.title)
        assert "\x1b" not in row.title and "[bold red]PWNED[/]" in row.title
        move_to(app, lambda r: r.key == row.key)
        await pilot.pause(0.2)
        lines = [table(app).render_line(y).text for y in range(table(app).size.height)]
        assert any("[bold red]PWNED" in line for line in lines)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_narrow_terminals_stay_usable(size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        assert table(app).region.width >= 60
        await pilot.press("enter")
        await pilot.pause(0.1)
        await pilot.press("escape")
        await pilot.press("question_mark")
        await until(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")


async def test_unavailable_actions_are_dimmed_with_the_reason_in_help():
    from dataclasses import replace

    from oncall_tui.backends.incidentio import Capabilities, Capability

    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: app.session.backends.capabilities is not None)
        caps = app.session.backends.capabilities
        withdrawn = tuple(
            replace(c, available=False, reason="the key lacks act_on_behalf_of_users")
            if c.action == "nack"
            else c
            for c in caps.actions
        )
        app.session.backends.capabilities = Capabilities(caps.identity, withdrawn)
        assert isinstance(withdrawn[0], Capability)
        move_to(app, lambda r: r.kind == "page")
        assert app.screen.check_action("decline", ()) is None
        assert app.screen.check_action("ack", ()) is True
        assert "Decline is not available: the key lacks act_on_behalf_of_users" in (
            app.help_intro()
        )


async def test_toasts_never_read_api_text_as_markup():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        app.screen.fail("refused: [bold]x[/bold] [link=https://evil.example]y[/link]")
        await pilot.pause(0.1)
        toast = list(app._notifications)[-1]
        assert toast.markup is False
        assert "[link=https://evil.example]" in toast.message


async def test_decline_is_refused_on_a_page_that_is_not_paging():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        await the_scripted_page_to_me(pilot)
        move_to(app, lambda r: r.kind == "page" and r.state == "acked")
        await pilot.pause()  # keys act on the row the detail shows: let it follow
        assert app.screen.check_action("decline", ()) is None
        assert "not paging anyone" in app.screen.unavailable_reason("decline")
        page = next(p for p in app.session.engine.snapshot().pages if p.status == "acked")
        from oncall_tui.core.actions import ActionError

        with pytest.raises(ActionError, match="nothing to decline"):
            await app.session.actions.decline(page)
        nacks = [w for w in writes(app, "escalation.respond") if w.data.get("response") == "nack"]
        assert not nacks


async def test_first_rows_wait_for_every_backend_but_not_for_a_hung_one():
    from oncall_tui.domain import Snapshot, SourceHealth

    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        screen = app.screen
        now = app.session.engine.clock()
        waiting = Snapshot(
            at=now,
            health=(SourceHealth("incident.io", last_ok=now), SourceHealth("grafana:eu")),
        )
        screen._started = False
        screen._mounted_at = time.monotonic()
        assert screen._every_backend_tried(waiting) is False  # grafana:eu not yet answered
        screen._mounted_at -= 10  # …but a hung backend does not hold the others back
        assert screen._every_backend_tried(waiting) is True


async def test_clicking_the_status_bar_while_a_source_fails_shows_its_error():
    from oncall_tui.ui.widgets.status_bar import StatusBar

    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        app.session.demo.transports["incident-io"].app.state.faults.update(down=True)
        app.session.engine.poll_soon("incident.io")
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: bar.has_errors)
        app.clear_notifications()
        await pilot.click(StatusBar)
        await until(pilot, lambda: any("incident.io" in m for m in notices(app)))
