"""The polling engine's pacing and staleness: polls slow down as the shared rate limit
runs low (and say so), a 429 holds the whole backend within [1 s, 5 min], "refresh now"
overrides all of it once, more than one reason can stretch an interval, and a feed with
no answer for two intervals is stale until its first good poll.

The engine runs on a fake clock; no test waits or asserts how long anything took.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from oncall_tui.backends.http import NetworkError, RateLimit, RateLimited
from oncall_tui.core.pacing import (
    MAX_INTERVAL,
    Pace,
    Stretch,
    budget_stretch,
    pace_words,
    paced,
    rate_words,
)
from oncall_tui.core.sync import Feed, SyncEngine, World

T0 = datetime(2026, 12, 3, 14, 2, tzinfo=UTC)
IO = "incident.io"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Server:
    """Answers for the feeds of one backend, and the rate limit its last answer had."""

    def __init__(self) -> None:
        self.rate: RateLimit | None = None
        self.fail: Exception | None = None
        self.calls: dict[str, int] = {}

    def budget(self, remaining: int, limit: int = 1200) -> None:
        self.rate = RateLimit(limit=limit, remaining=remaining, observed=time.monotonic())

    def fetcher(self, name: str):
        async def fetch():
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.fail is not None:
                raise self.fail
            return (name,)

        return fetch


def io_feed(server: Server, name: str, interval: float) -> Feed:
    def apply(world: World, data) -> None:
        world.alerts[name] = data

    return Feed(
        name,
        server.fetcher(name),
        apply,
        interval=lambda w: interval,
        backend=IO,
        rate_limit=lambda: server.rate,
        requests_per_minute=lambda: 9.0,
    )


def rig() -> tuple[Clock, Server, SyncEngine]:
    clock = Clock()
    server = Server()
    engine = SyncEngine(
        [io_feed(server, "incident.io pages", 15), io_feed(server, "incident.io alerts", 30)],
        clock=clock,
    )
    return clock, server, engine


def wait_of(engine: SyncEngine, name: str, clock: Clock) -> float:
    return (engine.health(name).next_poll - clock()).total_seconds()


def io_health(engine: SyncEngine):
    return next(h for h in engine.snapshot().health if h.name == IO)


# ------------------------------------------------------------------------- pacing rules


def test_budget_stretch_starts_below_half_and_grows_as_it_runs_out():
    assert budget_stretch(None) is None
    assert budget_stretch(RateLimit(limit=1200, remaining=700)) is None
    assert budget_stretch(RateLimit(limit=1200)) is None  # remaining unknown: no guess
    at_12 = budget_stretch(RateLimit(limit=100, remaining=12))
    assert at_12 is not None and 4 < at_12.factor < 4.5
    assert at_12.reason == "12% of the shared rate limit left"
    empty = budget_stretch(RateLimit(limit=100, remaining=0))
    assert empty is not None and empty.factor == 8


def test_stretches_multiply_and_are_capped():
    two = paced(15, [Stretch(2, "a"), None, Stretch(3, "b"), Stretch(0.5, "ignored")])
    assert two == Pace(base=15, interval=90, reasons=("a", "b"))
    assert paced(15, [Stretch(1000, "huge")]).interval == MAX_INTERVAL
    assert paced(3600, [Stretch(2, "x")]).interval == 3600  # never shorter than its own


def test_pace_and_rate_in_words():
    pace = paced(15, [budget_stretch(RateLimit(limit=100, remaining=12))])
    assert pace_words(IO, pace) == (
        "incident.io: 12% of the shared rate limit left; polling every 63 s"
    )
    assert pace_words(IO, paced(15, [])) is None
    rate = RateLimit(limit=1200, remaining=1056)
    assert rate_words(12, rate) == (
        "12.0 requests/min from this dashboard, 1.0% of the organisation's 1200/min; "
        "88% of the shared limit left"
    )
    assert "no rate-limit headers" in rate_words(3, None)
    broken = RateLimit(limit=1200, problem="X-RateLimit-Remaining is not a count ('x')")
    assert "not pacing by it" in rate_words(3, broken)


# ---------------------------------------------------------------------- the engine


async def test_polls_slow_down_as_the_shared_limit_runs_low_and_the_status_says_so():
    clock, server, engine = rig()
    server.budget(remaining=1000)
    await engine.poll("incident.io pages")
    assert wait_of(engine, "incident.io pages", clock) == 15
    assert io_health(engine).pace is None

    server.budget(remaining=144)  # 12% left
    clock.advance(15)
    await engine.poll("incident.io pages")
    assert wait_of(engine, "incident.io pages", clock) > 60
    assert io_health(engine).pace == (
        "incident.io: 12% of the shared rate limit left; polling every 63 s"
    )
    # the budget is the backend's: the sibling feed slows down too
    assert engine.pace("incident.io alerts").interval > 120

    server.budget(remaining=1100)  # refilled
    clock.advance(63)
    await engine.poll("incident.io pages")
    assert wait_of(engine, "incident.io pages", clock) == 15
    assert io_health(engine).pace is None


async def test_missing_or_unreadable_rate_limit_headers_never_slow_polls():
    clock, server, engine = rig()
    server.rate = RateLimit(limit=None, remaining=None, problem="X-RateLimit-Limit is 'x'")
    await engine.poll("incident.io pages")
    assert wait_of(engine, "incident.io pages", clock) == 15
    health = io_health(engine)
    assert health.pace is None and "not pacing by it" in (health.rate or "")


async def test_the_status_detail_has_the_request_rate_and_share_of_the_budget():
    _clock, server, engine = rig()
    server.budget(remaining=600)
    await engine.poll("incident.io pages")
    assert io_health(engine).rate == (
        "9.0 requests/min from this dashboard, 0.8% of the organisation's 1200/min; "
        "50% of the shared limit left"
    )


async def test_another_reason_stretches_on_top_of_the_budget():
    _clock, server, engine = rig()
    server.budget(remaining=300)  # 25% left: twice as slow

    def many_alerts(feed: Feed, world: World) -> Stretch | None:
        return Stretch(3, "10,000 alerts firing") if feed.name.endswith("alerts") else None

    engine.add_stretch(many_alerts)
    await engine.poll("incident.io pages")
    assert engine.pace("incident.io pages").interval == 30
    alerts = engine.pace("incident.io alerts")
    assert alerts.interval == 180
    assert alerts.reasons == ("25% of the shared rate limit left", "10,000 alerts firing")


async def test_a_429_with_a_day_long_retry_after_leaves_pages_unpolled_five_minutes_at_most():
    clock, server, engine = rig()
    await engine.poll("incident.io pages")
    await engine.poll("incident.io alerts")
    server.fail = RateLimited("rate limited", retry_after=86400)
    clock.advance(15)
    await engine.poll("incident.io pages")
    assert 0 < wait_of(engine, "incident.io pages", clock) <= 300
    server.fail = None
    polled_at = []
    for _ in range(400):  # 400 s of the dashboard's timer
        clock.advance(1)
        for name in engine.due():
            await engine.poll(name)
            polled_at.append((name, clock()))
    pages = [t for name, t in polled_at if name == "incident.io pages"]
    assert pages and pages[0] - T0 <= timedelta(seconds=15 + 300)
    assert len(pages) > 3  # and polled at its own pace again after that


async def test_a_429_holds_every_feed_of_the_backend():
    clock, server, engine = rig()
    await engine.poll("incident.io pages")
    await engine.poll("incident.io alerts")
    server.fail = RateLimited("rate limited", retry_after=120)
    clock.advance(15)
    await engine.poll("incident.io pages")
    # the alerts feed was due in 15 s more; the shared limit holds it to the Retry-After
    assert wait_of(engine, "incident.io alerts", clock) >= 120


async def test_a_retry_after_of_zero_or_less_waits_at_least_a_second():
    for asked in (0.0, -30.0):
        clock, server, engine = rig()
        server.fail = RateLimited("rate limited", retry_after=asked)
        await engine.poll("incident.io pages")
        assert wait_of(engine, "incident.io pages", clock) >= 1


async def test_refresh_now_overrides_the_pacing_once():
    clock, server, engine = rig()
    server.budget(remaining=12)  # 1% left: polls stretched to the full
    await engine.poll("incident.io pages")
    assert engine.due() == ["incident.io alerts"]
    await engine.poll("incident.io alerts")
    server.fail = RateLimited("rate limited", retry_after=300)
    clock.advance(1)
    engine.poll_soon()
    await engine.poll("incident.io pages")  # refused again: the wait is back
    assert engine.due() == [] or "incident.io pages" not in engine.due()
    engine.poll_soon()  # r: both feeds at once, whatever the Retry-After
    assert sorted(engine.due()) == ["incident.io alerts", "incident.io pages"]
    server.fail = None
    calls = dict(server.calls)
    for name in engine.due():
        await engine.poll(name)
    assert server.calls["incident.io pages"] == calls["incident.io pages"] + 1
    # once: the next poll keeps the stretched pace
    assert wait_of(engine, "incident.io pages", clock) > 100


# ------------------------------------------------------------------------- staleness


async def test_no_answer_for_two_intervals_is_stale_and_the_first_good_poll_clears_it():
    clock, server, engine = rig()
    await engine.poll("incident.io pages")
    await engine.poll("incident.io alerts")
    assert not io_health(engine).is_stale(clock())
    server.fail = NetworkError("cannot reach api.incident.io")
    clock.advance(29)
    await engine.poll("incident.io pages")
    assert not io_health(engine).is_stale(clock())  # one missed poll is not stale yet
    clock.advance(2)  # 31 s: two 15 s intervals without an answer
    health = io_health(engine)
    assert health.is_stale(clock())
    assert health.stale_since(clock()) == T0
    assert [f.name for f in health.stale_feeds(clock())] == ["incident.io pages"]
    server.fail = None
    await engine.poll("incident.io pages")
    assert not io_health(engine).is_stale(clock())


async def test_a_feed_stuck_on_one_request_goes_stale_while_its_siblings_answer():
    """A server that trickles bytes holds one poll open; the others keep answering,
    so the backend's last answer is recent, but the stuck feed's data is not."""
    clock, _server, engine = rig()
    await engine.poll("incident.io pages")
    for _ in range(4):
        clock.advance(30)
        await engine.poll("incident.io alerts")  # fine
    health = io_health(engine)
    assert health.age_seconds(clock()) == 0
    assert health.is_stale(clock())
    assert [f.name for f in health.stale_feeds(clock())] == ["incident.io pages"]


async def test_a_stretched_interval_moves_the_stale_line_with_it():
    clock, server, engine = rig()
    server.budget(remaining=300)  # 25% left: pages every 30 s
    await engine.poll("incident.io pages")
    await engine.poll("incident.io alerts")
    clock.advance(45)
    assert not io_health(engine).is_stale(clock())  # 45 s < two 30 s intervals
    clock.advance(20)
    assert io_health(engine).is_stale(clock())


async def test_an_answer_brings_feeds_refused_for_the_shared_limit_forward():
    clock, server, engine = rig()
    await engine.poll("incident.io pages")
    server.fail = RateLimited("rate limited", retry_after=5)
    await engine.poll("incident.io alerts")
    server.fail = RateLimited("rate limited", retry_after=5)
    clock.advance(6)
    await engine.poll("incident.io alerts")  # second refusal: backoff beyond the 5 s
    assert wait_of(engine, "incident.io alerts", clock) > 5
    server.fail = None
    clock.advance(10)
    await engine.poll("incident.io pages")  # the budget has room again
    assert "incident.io alerts" in engine.due()
