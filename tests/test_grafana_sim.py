"""The simulated Grafana world: alerts fire and resolve with the clock, metrics spike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.backends.grafana import KIND_ALERTMANAGER, AlertmanagerClient, RetryPolicy
from oncall_tui.domain import ALERT_FIRING, ALERT_SILENCED, LINK_PANEL, LINK_RUNBOOK
from oncall_tui.sim.grafana import DATASOURCE_UID, GrafanaWorld, create_app

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(base=0.001, cap=0.01)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock) -> GrafanaWorld:
    return GrafanaWorld(clock, seed=11)


@pytest.fixture
async def client(world):
    transport = httpx.ASGITransport(create_app(world))
    am = AlertmanagerClient(
        "grafana", "us", "http://127.0.0.1:3000", transport=transport, retry=FAST
    )
    yield am
    await am.aclose()


async def test_demo_opens_with_alerts_that_show_every_kind_of_link(client, clock):
    alerts = {a.label("alertname"): a for a in await client.list_alerts(now=clock.now)}
    assert set(alerts) == {
        "CheckoutLatencyHigh",
        "ApiErrorRateHigh",
        "QueueBacklogGrowing",
        "DiskAlmostFull",
    }
    assert alerts["CheckoutLatencyHigh"].link(LINK_RUNBOOK).ok
    assert alerts["CheckoutLatencyHigh"].link(LINK_PANEL).ok
    assert alerts["QueueBacklogGrowing"].link(LINK_RUNBOOK).problem == "missing"
    assert alerts["QueueBacklogGrowing"].link(LINK_PANEL).problem == "missing"
    hostile = alerts["DiskAlmostFull"]
    assert hostile.link(LINK_RUNBOOK).problem.startswith("refused: javascript")
    assert "\x1b" not in hostile.label("mountpoint") and "\x1b" not in hostile.title


async def test_alerts_resolve_and_fire_again_as_the_clock_moves(client, world, clock):
    def names(alerts):
        return {a.label("alertname") for a in alerts}

    first = {a.label("alertname"): a for a in await client.list_alerts(now=clock.now)}
    started = first["CheckoutLatencyHigh"].started_at
    assert started < clock.now

    clock.now = START + timedelta(minutes=20)  # the checkout spike is over
    assert "CheckoutLatencyHigh" not in names(await client.list_alerts(now=clock.now))

    clock.now = START + timedelta(minutes=45)  # one period later: firing again
    again = {a.label("alertname"): a for a in await client.list_alerts(now=clock.now)}
    assert again["CheckoutLatencyHigh"].started_at == started + timedelta(minutes=45)
    assert again["CheckoutLatencyHigh"].fingerprint == first["CheckoutLatencyHigh"].fingerprint


async def test_a_silence_outlives_a_resolve_and_expires_on_time(client, clock):
    alerts = await client.list_alerts(now=clock.now)
    checkout = next(a for a in alerts if a.label("alertname") == "CheckoutLatencyHigh")
    await client.silence_alert(checkout, timedelta(hours=1), "ana", "ack", now=clock.now)

    clock.now = START + timedelta(minutes=45)
    again = next(a for a in await client.list_alerts(now=clock.now) if a.id == checkout.id)
    assert again.state == ALERT_SILENCED

    clock.now = START + timedelta(minutes=90)
    later = next(a for a in await client.list_alerts(now=clock.now) if a.id == checkout.id)
    assert later.state == ALERT_FIRING
    assert await client.list_silences() == []


def test_metric_spikes_and_comes_back_down(world):
    rule = world.rule("checkout-latency")
    values = [world.value(rule, START + timedelta(minutes=m)) for m in range(-20, 30)]
    assert min(values[:5]) < 0.3  # baseline before the spike
    assert max(values) > 1.1  # the spike
    assert values[-1] < 0.3  # and back down


def test_same_seed_same_world_other_seed_other_noise(clock):
    a, b, c = GrafanaWorld(clock, seed=1), GrafanaWorld(clock, seed=1), GrafanaWorld(clock, seed=2)
    rule = a.rule("api-errors")
    times = [START - timedelta(minutes=m) for m in range(30)]
    assert [a.value(rule, t) for t in times] == [b.value(rule, t) for t in times]
    assert [a.value(rule, t) for t in times] != [c.value(rule, t) for t in times]


def test_no_future_samples(world, clock):
    rule = world.rule("api-errors")
    samples = world.samples(
        rule, START - timedelta(minutes=5), START + timedelta(hours=1), timedelta(minutes=1)
    )
    assert samples[-1][0] == START


async def test_posted_alerts_resolve_after_their_end(world, clock):
    transport = httpx.ASGITransport(create_app(world))
    am = AlertmanagerClient(
        "alertmanager", "local", "http://127.0.0.1:9093",
        kind=KIND_ALERTMANAGER, transport=transport, retry=FAST,
    )  # fmt: skip
    async with am, httpx.AsyncClient(transport=transport, base_url="http://sim") as raw:
        response = await raw.post("/api/v2/alerts", json=[{"labels": {"alertname": "Posted"}}])
        assert response.status_code == 200
        bad = await raw.post("/api/v2/alerts", json=[{"labels": {}}])
        assert bad.status_code == 400
        names = {a.label("alertname") for a in await am.list_alerts(now=clock.now)}
        assert "Posted" in names
        clock.now = START + timedelta(minutes=6)  # past the 5 min resolve timeout
        names = {a.label("alertname") for a in await am.list_alerts(now=clock.now)}
        assert "Posted" not in names


async def test_query_paths_answer_like_the_real_ones(world, clock):
    transport = httpx.ASGITransport(create_app(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as raw:
        relative = await raw.post(
            "/api/ds/query",
            json={
                "from": "now-1h",
                "to": "now",
                "queries": [
                    {
                        "refId": "A",
                        "datasource": {"uid": DATASOURCE_UID},
                        "expr": world.rule("queue-backlog").expr,
                        "intervalMs": 60000,
                    }
                ],
            },
        )
        frames = relative.json()["results"]["A"]["frames"]
        assert len(frames[0]["data"]["values"][0]) == 61

        start = (START - timedelta(hours=1)).timestamp()
        too_many = await raw.get(
            "/api/v1/query_range",
            params={"query": "up", "start": start, "end": START.timestamp(), "step": "0.1"},
        )
        assert too_many.status_code == 400
        assert "11,000 points" in too_many.json()["error"]
        bad_step = await raw.get(
            "/api/v1/query_range",
            params={"query": "up", "start": start, "end": START.timestamp(), "step": "soon"},
        )
        assert bad_step.json()["errorType"] == "bad_data"
        proxy = await raw.post(
            f"/api/datasources/proxy/uid/{DATASOURCE_UID}/api/v1/query_range",
            data={
                "query": world.rule("disk-full").expr,
                "start": start,
                "end": START.timestamp(),
                "step": "60",
            },
        )
        assert proxy.json()["data"]["result"][0]["metric"]["mountpoint"].startswith("/data")
