"""The simulator's switches for pacing: 429s with any ``Retry-After``, a shared rate
limit that runs low, rate-limit headers missing, malformed or listing several limits,
and a server that trickles its answer a byte at a time. Each is driven through the real
incident.io client, as the dashboard meets it."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from oncall_tui.backends.http import NetworkError, RateLimited, RetryPolicy
from oncall_tui.backends.incidentio import IncidentIoClient
from oncall_tui.sim.faults import Faults
from oncall_tui.sim.incidentio import create_app
from oncall_tui.sim.scenario import SimClock, build_world

TOKEN = "sim-pacing-token"
WED = datetime(2026, 11, 25, 14, 2, tzinfo=UTC)


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def rig():
    world = build_world(SimClock(WED, frozen=True), seed=5, background_alerts=0)
    faults = Faults(seed=1)
    app = create_app(world, token=TOKEN, faults=faults)
    sleeps = Sleeps()
    client = IncidentIoClient(
        "https://api.incident.io",
        TOKEN,
        transport=httpx.ASGITransport(app=app),
        retry=RetryPolicy(attempts=3, sleep=sleeps),
    )
    return faults, client, sleeps, app


async def test_the_simulator_reports_its_shared_budget_on_every_answer(rig):
    _faults, client, _sleeps, _app = rig
    await client.identity()
    seen = client.rate_limit
    assert seen is not None and seen.problem is None
    assert seen.limit == 1200 and seen.remaining is not None and seen.fraction_left > 0.9


async def test_a_budget_that_runs_low_is_what_the_client_reads(rig):
    faults, client, _sleeps, _app = rig
    faults.update(rate_remaining=144)
    await client.identity()
    assert client.rate_limit is not None and client.rate_limit.fraction_left == 0.12


@pytest.mark.parametrize(
    ("mode", "expect"),
    [
        ("missing", None),
        ("malformed", "X-RateLimit-"),
        ("several", ""),
    ],
)
async def test_rate_limit_header_shapes(rig, mode, expect):
    faults, client, _sleeps, _app = rig
    faults.update(rate_headers=mode, rate_remaining=600)
    await client.identity()  # the call itself works whatever the headers say
    seen = client.rate_limit
    if expect is None:
        assert seen is None
    elif expect:
        assert seen is not None and expect in (seen.problem or "") and seen.fraction_left is None
    else:
        assert seen is not None and seen.problem is None
        assert (seen.limit, seen.remaining, seen.window) == (1200, 600, 60.0)


@pytest.mark.parametrize(
    ("header", "waits"),
    [("0", [1.0, 1.0]), ("-5", [1.0, 1.0]), ("Wed, 25 Nov 2026 14:00:00 GMT", [1.0, 1.0])],
)
async def test_429_with_a_retry_after_of_nothing_waits_a_second(rig, header, waits):
    faults, client, sleeps, _app = rig
    faults.update(burst=2, burst_status=429, retry_after=header)
    await client.identity()
    assert sleeps.waits == waits


async def test_429_with_a_day_long_retry_after_is_capped_and_named(rig):
    faults, client, sleeps, _app = rig
    faults.update(burst=1, burst_status=429, retry_after="86400")
    with pytest.raises(RateLimited) as info:
        await client.identity()
    assert info.value.retry_after == 300 and info.value.asked_retry_after == 86400
    assert "asked to wait 24h, trying again in 5m" in str(info.value)
    assert sleeps.waits == []


async def test_a_trickling_server_meets_the_overall_deadline(rig):
    faults, client, _sleeps, _app = rig
    client.retry = RetryPolicy(attempts=1)
    client.deadline = 0.5
    faults.update(trickle=0.02)
    with pytest.raises(NetworkError) as info:
        await client.identity()
    assert "no complete answer within" in str(info.value)


async def test_the_switches_over_http(rig):
    faults, _client, _sleeps, app = rig
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sim.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        r = await c.post(
            "/_sim/faults",
            json={"retry_after": "0", "rate_remaining": 10, "rate_headers": "several"},
        )
        assert r.status_code == 200
        assert (faults.retry_after, faults.rate_remaining, faults.rate_headers) == (
            "0",
            10,
            "several",
        )
        r = await c.post("/_sim/faults", json={"rate_headers": "weird"})
        assert r.status_code == 422
        r = await c.post("/_sim/faults", json={"trickle": -1})
        assert r.status_code == 422
