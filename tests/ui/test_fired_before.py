"""Fired before? The detail shows how often the alert (or the alert behind a page) fired
over the last seven days, when it last did, and which source said so; each source that
cannot answer says why; missing or slow history endpoints never hold up the screen; and
the sources are asked once per alert, not per row per poll.

Pilot on the demo world with the wall clock standing still. What the sources hold comes
from the simulators: the Grafana rules' metrics (``sim/fired_before.py``) and the demo
alerts' earlier firings in the incident.io world.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from demo_session import FrozenDemo, frozen_time
from starlette.types import ASGIApp, Receive, Scope, Send

from oncall_tui.core import history
from oncall_tui.sim.fired_before import DEMO_REPEATS, firing_periods

SIZE = (160, 48)


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def section(demo: FrozenDemo) -> str:
    return str(demo.dashboard.query_one("FiredBefore").render())


class Asked:
    """Counts the history requests that reach a simulated server."""

    def __init__(self, demo: FrozenDemo, service: str, path: str) -> None:
        transport = demo.demo.transports[service]
        self.app: ASGIApp = transport.app
        self.path = path
        self.queries: list[str] = []
        transport.app = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            query = scope.get("query_string", b"").decode()
            if "deduplication_key" in query or self.path != "/v2/alerts":
                self.queries.append(query)
        await self.app(scope, receive, send)


def expected_grafana_days(demo: FrozenDemo, uid: str, instance: str = "us") -> list[int]:
    """Firings per day of the rule in a Grafana world, counted from its metric."""
    world = demo.demo.grafana[instance]
    rule = world.rule(uid)
    now = demo.session.engine.clock()
    zone = demo.session.settings.display_zone()
    start, days = history.window(now, zone)
    counts = dict.fromkeys(days, 0)
    for began, _ in firing_periods(world, rule, start, now):
        if start <= began <= now:
            counts[began.astimezone(zone).date()] += 1
    return list(counts.values())


def assert_strip(text: str, days: list[int]) -> None:
    """The seven cells after "Fired before? ": "·" for a day with none, a full bar for
    the busiest day, a lower bar for a day in between."""
    line = next(line for line in text.splitlines() if line.startswith("Fired before? "))
    cells = line.removeprefix("Fired before? ")[:7]
    assert len(cells) == 7, line
    peak = max(days)
    for cell, count in zip(cells, days, strict=True):
        if count == 0:
            assert cell == "·", (line, days)
        elif count == peak:
            assert cell == "█", (line, days)
        else:
            assert cell in "▁▂▃▄▅▆▇", (line, days)


def incident_io_days(demo: FrozenDemo, key: str) -> list[int]:
    """Firings per day of the incident.io alerts with deduplication key ``key``."""
    now = demo.session.engine.clock()
    zone = demo.session.settings.display_zone()
    start, days = history.window(now, zone)
    counts = dict.fromkeys(days, 0)
    for alert in demo.demo.world.alerts.values():
        if alert.dedup_key == key and start <= alert.created_at <= now:
            counts[alert.created_at.astimezone(zone).date()] += 1
    return list(counts.values())


def grafana_row(demo: FrozenDemo, uid: str):
    return demo.move_to(
        lambda r: (
            (a := demo.dashboard._first_alert(r)) is not None
            and a.rule_uid == uid
            and a.instance == "us"
        )
    )


async def grafana_week_shown(demo: FrozenDemo, pilot, uid: str) -> tuple[str, list[int]]:
    """Put the cursor on the US alert of rule ``uid``; check its strip and count against
    the rule's metric; return the section's text and the days."""
    grafana_row(demo, uid)
    await demo.settle(pilot)
    text = section(demo)
    days = expected_grafana_days(demo, uid)
    assert_strip(text, days)
    assert f"  {sum(days)} times in 7 days" in text
    return text, days


async def test_a_grafana_alert_shows_its_week_from_grafana_state_history(frozen):
    demo = FrozenDemo(frozen, scenario=False, background_alerts=20)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        text, days = await grafana_week_shown(demo, pilot, "checkout-latency")
        assert sum(days) > 7  # the demo rule spikes every 45 minutes
        assert "from Grafana state history (us)" in text
        assert "last Tue " in text
        # The other sources are named with what they could say.
        assert "incident.io alerts: no history available: no incident.io alert has this" in text
        assert "Alertmanager (us): firing since" in text


async def test_a_page_shows_the_week_of_the_grafana_alert_behind_it_and_its_own(frozen):
    """A page raised by a Grafana alert: the strip is the Grafana rule's; incident.io,
    asked by the page's own alert's deduplication key, is listed with its count."""
    demo = FrozenDemo(frozen, scenario=True, background_alerts=20)
    asked = Asked(demo, "incident-io", "/v2/alerts")
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        row = demo.move_to(lambda r: r.kind == "page" and "5xx" in r.title)
        await demo.settle(pilot)
        own = demo.dashboard._first_alert(row)
        behind = demo.dashboard._graph_alert(row)
        assert own is not None and own.dedup_key == "payments-api-5xx"
        assert behind is not None and behind.source == "grafana" and behind.rule_uid
        text = section(demo)
        days = expected_grafana_days(demo, behind.rule_uid, behind.instance)
        assert_strip(text, days)
        assert f"  {sum(days)} times in 7 days" in text
        assert f"from Grafana state history ({behind.instance})" in text
        # The page's own alert: its earlier firings this week, and the one that paged now.
        total = sum(incident_io_days(demo, "payments-api-5xx"))
        assert total == DEMO_REPEATS["payments-api-5xx"] + 1
        assert f"incident.io alerts: {total} firings in 7 days" in text
        [query] = [q for q in asked.queries if "payments-api-5xx" in q]
        assert "deduplication_key%5Bis%5D=payments-api-5xx" in query
        assert "created_at%5Bgte%5D=" in query


async def test_an_incident_io_alert_shows_its_week_and_is_asked_once(frozen):
    demo = FrozenDemo(frozen, scenario=True, background_alerts=20)
    asked = Asked(demo, "incident-io", "/v2/alerts")

    def incident_io_row(r) -> bool:
        alert = demo.dashboard._graph_alert(r)
        return (
            alert is not None
            and alert.source == "incident.io"
            and (alert.dedup_key in DEMO_REPEATS)
        )

    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        row = demo.move_to(incident_io_row)
        await demo.settle(pilot)
        alert = demo.dashboard._graph_alert(row)
        assert alert is not None
        key = alert.dedup_key
        days = incident_io_days(demo, key)
        text = section(demo)
        assert_strip(text, days)
        assert f"  {sum(days)} times in 7 days" in text
        assert "from incident.io alerts" in text

        # Polls come and go, the cursor leaves and comes back: no second question.
        for _ in range(3):
            demo.advance(6)
            await demo.settle(pilot)
        demo.move_to(lambda r: r.key != row.key)
        await demo.settle(pilot)
        demo.move_to(lambda r: r.key == row.key)
        await demo.settle(pilot)
        assert len([q for q in asked.queries if f"%5D={key}&" in q]) == 1
        assert f"  {sum(days)} times in 7 days" in section(demo)


async def test_without_state_history_grafana_annotations_answer(frozen):
    demo = FrozenDemo(frozen, scenario=False, background_alerts=20)
    demo.demo.transports["grafana:us"].app.state.history_mode = "missing"  # Grafana 9
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        text, _ = await grafana_week_shown(demo, pilot, "api-errors")
        assert "from Grafana annotations (us)" in text
        assert (
            "Grafana state history (us): no history available: this Grafana has no state "
            "history API (before 10.0)"
        ) in text


async def test_when_grafana_cannot_answer_each_source_says_why(frozen):
    demo = FrozenDemo(frozen, scenario=False, background_alerts=20)
    app = demo.demo.transports["grafana:us"].app
    app.state.history_mode = "off"  # state history not recorded
    faults = app.state.faults
    faults.path_prefix, faults.status = "/api/annotations", 404
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        grafana_row(demo, "queue-backlog")
        await demo.settle(pilot)
        text = section(demo)
        assert "from Alertmanager (us): Alertmanager keeps no history of earlier firings" in text
        assert "once in 7 days" in text
        assert (
            "Grafana state history (us): no history available: state history is not "
            "recorded in this Grafana"
        ) in text
        assert (
            "Grafana annotations (us): no history available: this Grafana does not list annotations"
        ) in text


async def test_a_slow_history_endpoint_never_holds_up_the_screen(frozen, monkeypatch):
    monkeypatch.setattr(history, "PROBE_DEADLINE", 1.0)
    demo = FrozenDemo(frozen, scenario=False, background_alerts=20)
    app = demo.demo.transports["grafana:us"].app
    faults = app.state.faults
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        faults.path_prefix, faults.hang_seconds = "/api/v1/rules/history", 30.0
        row = grafana_row(demo, "api-errors")  # not asked yet: the cursor was on another
        await demo.until(
            pilot, lambda: "asking its sources" in section(demo), "the question is asked"
        )
        # While Grafana hangs, the table answers keys at once.
        await pilot.press("up")
        await demo.until(pilot, lambda: demo.table.cursor_key != row.key, "the cursor moved")
        await pilot.press("down")
        await demo.until(pilot, lambda: demo.table.cursor_key == row.key, "and back")
        await demo.until(pilot, lambda: "no answer within 1 s" in section(demo), "the deadline")
        text = section(demo)
        assert "Grafana state history (us): no history available: no answer within 1 s" in text
        assert "from Grafana annotations (us)" in text  # the fallback answered


def test_a_firing_stamped_in_the_future_counts_as_now():
    """Clock skew: a source whose clock runs ahead stamps a firing after our now."""
    from datetime import UTC, datetime

    from oncall_tui.backends.history import Firing, SourceHistory
    from oncall_tui.domain import Alert

    now = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    alert = Alert(
        key="k", id="1", source="incident.io", instance="", title="t", state="firing",
        severity="critical", started_at=now - timedelta(minutes=2), dedup_key="d",
    )  # fmt: skip
    ahead = SourceHistory("incident.io alerts", (Firing(now + timedelta(minutes=3)),))
    view = history.combine(alert, [ahead], now, "UTC")
    assert view.total == 1 and view.last == now and view.days[-1][1] == 1
