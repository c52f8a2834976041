"""Tidy rows in the dashboard (Pilot on the demo world): what I sent is not a firing alert;
it shows in the detail of what it was sent about."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import until

from oncall_tui.config import Settings
from oncall_tui.core.timefmt import format_clock
from oncall_tui.sim.records import Actor
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session
from oncall_tui.ui.widgets.alert_detail import AlertDetail
from oncall_tui.ui.widgets.alert_table import AlertTable


def make_app() -> OnCallApp:
    session = make_session(Settings(), demo=True, readonly=False)
    return OnCallApp(session.settings, demo=True, session=session)


def table(app) -> AlertTable:
    return app.screen.query_one(AlertTable)


def detail_text(app) -> str:
    return str(app.screen.query_one(AlertDetail).body_content())


def created(app) -> list:
    return [w for w in app.session.demo.world.writes if w.kind == "escalation.create"]


async def loaded(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
    await until(pilot, lambda: table(app).row_count > 3 and app.session.engine.world.shifts)
    await until(pilot, lambda: any(r.kind == "page" and r.mine for r in table(app).rows))


def my_page(app):
    return next(r for r in table(app).rows if r.kind == "page" and r.mine)


async def _sent_shows_in_the_detail_not_as_a_row(pilot, key: str, kind: str) -> None:
    app = pilot.app
    made = created(app)[-1]
    world = app.session.engine.world
    await until(pilot, lambda: made.target_id in world.pages)  # the engine has read it
    await pilot.pause(0.2)
    assert made.target_id not in {p for r in table(app).rows for p in r.page_ids}
    assert not any(r.title.startswith(("Escalated:", "Shadow request:")) for r in table(app).rows)
    assert table(app).move_cursor_to_key(key)
    await until(pilot, lambda: "Sent by me (1)" in detail_text(app))
    text = detail_text(app)
    assert f"{kind} “" in text and f"id {made.target_id}" in text
    # The row's own links are still there beside it.
    assert "runbook    ✓" in text


@pytest.mark.parametrize(
    ("key", "confirm", "kind"),
    [("e", True, "escalation"), ("S", False, "shadow request")],
    ids=["escalate", "shadow"],
)
async def test_what_i_send_about_a_page_is_not_a_row_but_shows_in_its_detail(key, confirm, kind):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        row_key = my_page(app).key
        assert table(app).move_cursor_to_key(row_key)
        before = len(created(app))
        await pilot.press(key)
        await until(pilot, lambda: app.screen.__class__.__name__ == "ChooseScreen")
        await pilot.press("enter")  # escalate: the next level of the page's path
        if confirm:
            await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
            await pilot.press("y")
        await until(pilot, lambda: len(created(app)) > before)
        await _sent_shows_in_the_detail_not_as_a_row(pilot, row_key, kind)


async def test_a_page_made_as_me_in_incident_io_is_not_a_row_unless_it_pages_me():
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        world = app.session.demo.world
        me = world.me
        other = next(u for u in world.users.values() if u.id != me.id)
        to_other, _ = world.create_escalation(
            idempotency_key="web-other",
            title="Please look at the ledger",
            user_ids=[other.id],
            creator=Actor("user", me.id, me.name),
        )
        to_me, _ = world.create_escalation(
            idempotency_key="web-me",
            title="Drill for me",
            user_ids=[me.id],
            creator=Actor("user", me.id, me.name),
        )
        app.session.engine.poll_soon("incident.io pages")
        engine = app.session.engine
        await until(pilot, lambda: {to_other.id, to_me.id} <= engine.world.pages.keys())
        await until(pilot, lambda: any(to_me.id in r.page_ids for r in table(app).rows))
        assert not any(to_other.id in r.page_ids for r in table(app).rows)


def _stop_rule(app, alert) -> None:
    """The Grafana rule behind ``alert`` stops firing on its instance (it resolves)."""
    world = app.session.demo.grafana[alert.instance]
    name = dict(alert.labels)["alertname"]
    before = len(world.rules)
    world.rules = [r for r in world.rules if r.title != name]
    assert len(world.rules) == before - 1


async def test_a_grouped_row_keeps_its_id_when_the_member_that_named_it_resolves():
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        rows = table(app).rows
        row = next(r for r in rows if r.title.startswith("Checkout p99") and r.count == 2)
        alerts = {a.key: a for a in app.session.engine.snapshot().alerts}
        members = sorted((alerts[k] for k in row.alert_keys), key=lambda a: a.source_label)
        assert len({a.instance for a in members}) == 2
        # The member whose source sorts first gives the group its id: it resolves.
        _stop_rule(app, members[0])
        app.session.engine.poll_soon()

        def same_title():
            return [r for r in table(app).rows if r.title == row.title and r.state != "resolved"]

        await until(pilot, lambda: len(same_title()) == 1 and same_title()[0].count == 1)
        assert same_title()[0].key == row.key


# ------------------------------------------------------------ recently resolved


def silences(app) -> int:
    worlds = app.session.demo.grafana.values()
    return sum(len(g.grafana_am.silences) + len(g.plain_am.silences) for g in worlds)


async def test_an_alert_that_resolves_leaves_a_dimmed_trace_whose_keys_send_nothing(monkeypatch):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        row = next(r for r in table(app).rows if r.title.startswith("Checkout p99"))
        alerts = {a.key: a for a in app.session.engine.snapshot().alerts}
        for key in row.alert_keys:  # every member's rule stops firing
            _stop_rule(app, alerts[key])
        app.session.engine.poll_soon()
        await until(pilot, lambda: (t := table(app).get_row(row.key)) and t.state == "resolved")
        trace = table(app).get_row(row.key)
        assert trace.resolved_at is not None and trace.title == row.title
        # Shown below every open row, the time it ended in place of the escalation.
        assert table(app).rows[-1].key == row.key
        clock = format_clock(
            trace.resolved_at, app.session.settings.display_zone(), with_zone=False
        )
        line = "".join(s.text for s in table(app).render_line(table(app).index_of(row.key) + 1))
        assert f"✓ {clock}" in line and "resolved" in line

        # Its keys say it is resolved and send nothing.
        assert table(app).move_cursor_to_key(row.key)
        await until(pilot, lambda: app.screen.query_one(AlertDetail).row.key == row.key)
        assert f"resolved at {clock}" in str(app.screen.query_one(AlertDetail).status_content())
        before, writes = silences(app), len(app.session.demo.world.writes)
        await pilot.press("a")
        await pilot.press("e")
        expected = f"“{row.title}” already resolved at {clock}; nothing was sent."
        await until(pilot, lambda: expected in [n.message for n in app._notifications])
        assert app.screen.__class__.__name__ == "DashboardScreen"  # no dialog opened
        assert silences(app) == before and len(app.session.demo.world.writes) == writes

        # Ten minutes on (the default), the trace is gone.
        later = trace.resolved_at + timedelta(minutes=10, seconds=1)
        monkeypatch.setattr("oncall_tui.ui.screens.dashboard.utcnow", lambda: later)
        await until(pilot, lambda: table(app).get_row(row.key) is None)


async def test_a_page_that_ends_leaves_a_closed_trace():
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        row = my_page(app)
        world = app.session.demo.world
        page = world.escalations[row.page_ids[0]]
        for alert_id in page.alert_ids:
            world.resolve_alert(alert_id)
        app.session.engine.poll_soon()
        await until(pilot, lambda: (t := table(app).get_row(row.key)) and t.state == "closed")
        trace = table(app).get_row(row.key)
        clock = format_clock(
            trace.resolved_at, app.session.settings.display_zone(), with_zone=False
        )
        assert table(app).move_cursor_to_key(row.key)
        await pilot.press("a")
        expected = f"“{row.title}” already closed at {clock}; nothing was sent."
        await until(pilot, lambda: expected in [n.message for n in app._notifications])
        assert not [w for w in world.writes if w.target_id == page.id and w.kind != "alert.resolve"]
