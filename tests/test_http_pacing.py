"""The HTTP layer's part in pacing: the shared rate limit read from every response,
``Retry-After`` kept within [1 s, 5 min] whatever the server says, and an overall
deadline for each attempt (a server that trickles bytes cannot hold a request open).

Waits are recorded by a fake ``sleep`` handed to :class:`RetryPolicy`; no test asserts
how long anything took.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.backends.http import (
    MAX_RETRY_AFTER,
    ApiClient,
    ApiError,
    NetworkError,
    RateLimited,
    RequestStats,
    RetryPolicy,
    bound_retry_after,
    parse_rate_limit,
)

BASE = "https://api.example.test"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(handler, *, sleeps: Sleeps | None = None, **kw) -> ApiClient:
    transport = handler if isinstance(handler, httpx.AsyncBaseTransport) else None
    return ApiClient(
        "incident.io",
        BASE,
        "tok",
        transport=transport or httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=3, base=0.001, cap=0.01, sleep=sleeps or Sleeps()),
        stats=RequestStats(),
        **kw,
    )


def answers(*responses: httpx.Response):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


def limited(retry_after: str | None = None, **headers: str) -> httpx.Response:
    extra = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, headers={**extra, **headers}, json={"type": "too_many_requests"})


OK = httpx.Response(200, json={"ok": True})


# ------------------------------------------------------------------ rate-limit headers


def test_rate_limit_headers_are_read():
    seen = parse_rate_limit(
        {
            "X-RateLimit-Limit": "1200",
            "X-RateLimit-Remaining": "144",
            "X-RateLimit-Used": "1056",
            "X-RateLimit-Reset": str(int(time.time()) + 30),
        }
    )
    assert seen is not None and seen.problem is None
    assert (seen.limit, seen.remaining, seen.used) == (1200, 144, 1056)
    assert seen.fraction_left == pytest.approx(0.12)
    assert seen.per_minute == 1200
    assert seen.reset_in is not None and 0 < seen.reset_in <= 30


def test_a_header_listing_several_limits_takes_the_first_and_the_lowest_remaining():
    seen = parse_rate_limit(
        {
            "X-RateLimit-Limit": "100, 100;w=60, 5000;w=3600",
            "X-RateLimit-Remaining": "40, 900",
        }
    )
    assert seen is not None and seen.problem is None
    assert (seen.limit, seen.remaining, seen.window) == (100, 40, 60.0)
    sim_style = parse_rate_limit({"x-ratelimit-limit": "1200, 1200;window=60"})
    assert sim_style is not None and sim_style.limit == 1200 and sim_style.remaining is None


def test_per_minute_follows_the_window_the_header_names():
    seen = parse_rate_limit({"X-RateLimit-Limit": "600;w=3600", "X-RateLimit-Remaining": "1"})
    assert seen is not None and seen.per_minute == 10


def test_missing_rate_limit_headers_mean_no_budget_known():
    assert parse_rate_limit({"content-type": "application/json"}) is None
    only_limit = parse_rate_limit({"X-RateLimit-Limit": "1200"})
    assert only_limit is not None and only_limit.fraction_left is None


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "3"},
        {"X-RateLimit-Limit": "1200", "X-RateLimit-Remaining": "-4"},
        {"X-RateLimit-Limit": "1200", "X-RateLimit-Remaining": "1e999"},
        {"X-RateLimit-Limit": "0", "X-RateLimit-Remaining": "0"},
        {"X-RateLimit-Limit": "", "X-RateLimit-Remaining": ""},
        {"X-RateLimit-Limit": "1200", "X-RateLimit-Reset": "tomorrow"},
    ],
)
def test_malformed_rate_limit_headers_are_named_and_never_guessed(headers):
    seen = parse_rate_limit(headers)
    assert seen is not None
    assert seen.problem and "X-RateLimit-" in seen.problem
    # nothing unreadable turns into a budget figure
    assert seen.fraction_left is None or seen.remaining is not None


def test_a_remaining_count_above_the_limit_reads_as_all_left():
    seen = parse_rate_limit({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "50"})
    assert seen is not None and seen.fraction_left == 1.0


async def test_the_client_keeps_the_latest_rate_limit_from_every_response():
    handler = answers(
        httpx.Response(
            200,
            json={},
            headers={"X-RateLimit-Limit": "1200", "X-RateLimit-Remaining": "600"},
        ),
        httpx.Response(
            404,
            json={"type": "not_found"},
            headers={"X-RateLimit-Limit": "1200", "X-RateLimit-Remaining": "599"},
        ),
        httpx.Response(200, json={}),
    )
    client = client_for(handler)
    assert client.rate_limit is None
    await client.request("GET", "/a")
    assert client.rate_limit is not None and client.rate_limit.remaining == 600
    with pytest.raises(ApiError):
        await client.request("GET", "/b")
    assert client.rate_limit.remaining == 599
    await client.request("GET", "/c")  # no headers: the last reading stays
    assert client.rate_limit.remaining == 599


# ------------------------------------------------------------------------ Retry-After


def test_bound_retry_after_keeps_waits_between_a_second_and_five_minutes():
    assert bound_retry_after(None) is None
    assert bound_retry_after(0) == 1.0
    assert bound_retry_after(-30) == 1.0
    assert bound_retry_after(0.2) == 1.0
    assert bound_retry_after(42) == 42
    assert bound_retry_after(86400) == MAX_RETRY_AFTER == 300
    assert bound_retry_after(float("inf")) == 300
    assert bound_retry_after(float("nan")) == 1.0


@pytest.mark.parametrize("value", ["0", "-5", "0.0001"])
async def test_retry_after_zero_or_negative_waits_a_second_not_a_hot_loop(value):
    sleeps = Sleeps()
    handler = answers(limited(value), limited(value), OK)
    client = client_for(handler, sleeps=sleeps)
    assert await client.request("GET", "/v2/alerts") == {"ok": True}
    assert sleeps.waits == [1.0, 1.0]


async def test_retry_after_as_a_past_http_date_waits_a_second():
    sleeps = Sleeps()
    past = email.utils.format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    client = client_for(answers(limited(past), OK), sleeps=sleeps)
    await client.request("GET", "/v2/alerts")
    assert sleeps.waits == [1.0]


@pytest.mark.parametrize(
    "value",
    [
        "86400",
        "99999999999999999999",
        # a fixed date: a value computed at collection differs between test workers
        "Fri, 31 Dec 2100 23:59:59 GMT",
    ],
)
async def test_a_huge_retry_after_is_cut_to_five_minutes_and_said_so(value):
    sleeps = Sleeps()
    handler = answers(limited(value))
    client = client_for(handler, sleeps=sleeps)
    with pytest.raises(RateLimited) as info:
        await client.request("GET", "/v2/alerts")
    err = info.value
    assert err.retry_after == 300
    assert err.asked_retry_after is not None and err.asked_retry_after > 300
    assert "trying again in 5m" in str(err) and "asked to wait" in str(err)
    # too long to wait inside one call: handed back to the caller, not slept on
    assert sleeps.waits == [] and len(handler.seen) == 1


@pytest.mark.parametrize("value", ["soon", "", "1e999", "Mon, 99 Foo 2026"])
async def test_an_unreadable_retry_after_backs_off_within_bounds(value):
    sleeps = Sleeps()
    client = client_for(answers(limited(value), OK), sleeps=sleeps)
    assert await client.request("GET", "/v2/alerts") == {"ok": True}
    assert len(sleeps.waits) == 1 and 0 <= sleeps.waits[0] <= 300


# ------------------------------------------------------------------------- deadline


class Trickle(httpx.AsyncByteStream):
    """A body that never ends: one byte every ``gap`` seconds, so no single read ever
    waits long enough for the per-read timeout."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.sent = 0

    async def __aiter__(self):
        yield b'{"alerts": ['
        while True:
            await asyncio.sleep(self.gap)
            self.sent += 1
            yield b" "


class TrickleTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.streams: list[Trickle] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        stream = Trickle(0.01)
        self.streams.append(stream)
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=stream)


async def test_a_server_that_trickles_bytes_meets_the_overall_deadline():
    transport = TrickleTransport()
    client = client_for(transport, timeout=5.0, deadline=0.3)
    with pytest.raises(NetworkError) as info:
        await client.request("GET", "/v2/alerts")
    assert "no complete answer within 0.3 s" in str(info.value)
    # it kept sending, a byte at a time, yet the call ended
    assert all(s.sent > 0 for s in transport.streams)


def test_every_client_has_a_deadline_by_default():
    client = ApiClient("x", BASE, transport=httpx.MockTransport(lambda r: OK), timeout=10)
    assert client.deadline == 20.0


# ---------------------------------------------------------------------- request rate


def test_request_rate_counts_the_last_five_minutes():
    now = [1000.0]
    stats = RequestStats(started=0.0, clock=lambda: now[0])
    for _ in range(30):
        stats.record("incident.io", "GET", "/v2/alerts")
    assert stats.per_minute("incident.io") == 6.0  # 30 in a 5-minute window
    now[0] += 400  # all of them older than the window
    stats.record("incident.io", "GET", "/v2/alerts")
    assert stats.per_minute("incident.io") == pytest.approx(0.2)
    assert stats.per_minute("grafana:eu") == 0
