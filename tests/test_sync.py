"""The polling engine: intervals, no overlap, backoff with Retry-After, staleness, recovery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.backends.http import NetworkError, RateLimited
from oncall_tui.core.sync import Feed, SyncEngine, World, backoff_delay, staleness
from oncall_tui.domain import Page, PageEvent, User

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now

    def advance(self, seconds: float):
        self.now += timedelta(seconds=seconds)


def feed(name, fetch, *, interval=10.0, apply=None):
    def default_apply(world: World, data):
        world.alerts[name] = data

    return Feed(name=name, fetch=fetch, apply=apply or default_apply, interval=lambda w: interval)


async def test_polls_when_due_and_keeps_last_known_on_failure():
    clock = Clock()
    answers = [("a",), NetworkError("cannot reach"), ("b",)]

    async def fetch():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    engine = SyncEngine([feed("grafana:us", fetch)], clock=clock)
    assert engine.due() == ["grafana:us"]
    await engine.poll("grafana:us")
    assert engine.world.alerts["grafana:us"] == ("a",)
    assert engine.due() == []
    clock.advance(10)
    assert engine.due() == ["grafana:us"]
    await engine.poll("grafana:us")  # fails
    health = engine.health("grafana:us")
    assert health.failures == 1 and "cannot reach" in health.error
    assert engine.world.alerts["grafana:us"] == ("a",)  # what we last knew stays
    assert staleness(health, clock(), 10) == "stale"
    clock.advance(400)
    await engine.poll("grafana:us")  # recovers by itself
    health = engine.health("grafana:us")
    assert health.failures == 0 and health.error is None
    assert engine.world.alerts["grafana:us"] == ("b",)
    assert staleness(health, clock(), 10) == "fresh"


async def test_retry_after_is_a_floor_for_the_next_poll():
    clock = Clock()

    async def fetch():
        raise RateLimited("slow down", retry_after=120)

    engine = SyncEngine([feed("incident.io pages", fetch, interval=5)], clock=clock)
    await engine.poll("incident.io pages")
    wait = (engine.health("incident.io pages").next_poll - clock()).total_seconds()
    assert wait >= 120


def test_backoff_grows_and_is_capped():
    delays = [backoff_delay(10, n) for n in range(1, 12)]
    assert delays[0] < 13 and delays[3] > 60
    assert max(delays) <= 300
    # a Retry-After is a floor, itself kept within [1 s, 5 min]
    assert backoff_delay(10, 1, retry_after=120) >= 120
    assert backoff_delay(10, 1, retry_after=900) == 300
    assert backoff_delay(10, 1, retry_after=86400) == 300


async def test_polls_of_one_feed_never_overlap():
    clock = Clock()
    running = 0
    peak = 0
    gate = asyncio.Event()

    async def fetch():
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1
        return ()

    engine = SyncEngine([feed("f", fetch)], clock=clock)
    first = asyncio.create_task(engine.poll("f"))
    await asyncio.sleep(0)
    assert engine.due() == []  # in flight: not due again
    second = asyncio.create_task(engine.poll("f"))
    await asyncio.sleep(0)
    gate.set()
    assert await first is True
    assert await second is False
    assert peak == 1


async def test_interval_adapts_when_i_am_paged():
    clock = Clock()
    me = User("U1", "Me")
    engine = SyncEngine(clock=clock, world=World(me=me))
    page = Page(
        id="P1",
        title="db down",
        status="triggered",
        created_at=T0,
        updated_at=T0,
        events=(PageEvent("E1", "notified_users", T0, users=(me,)),),
    )
    pages = [(), (page,)]

    async def fetch():
        return pages.pop(0)

    def apply(world, data):
        world.pages = {p.id: p for p in data}

    engine.add(
        Feed(
            "incident.io pages",
            fetch,
            apply,
            interval=lambda w: 5.0 if w.i_am_paged() else 15.0,
        )
    )
    await engine.poll("incident.io pages")
    assert (engine.health("incident.io pages").next_poll - clock()).total_seconds() == 15
    clock.advance(15)
    await engine.poll("incident.io pages")
    assert (engine.health("incident.io pages").next_poll - clock()).total_seconds() == 5


async def test_snapshot_reflects_optimistic_state_and_listeners_hear_changes():
    clock = Clock()
    seen = []
    engine = SyncEngine(clock=clock)
    engine.subscribe(seen.append)
    page = Page(id="P1", title="x", status="triggered", created_at=T0, updated_at=T0)
    engine.mutate(lambda w: w.pages.update({"P1": page}))
    engine.mutate(lambda w: w.optimistic.update({"P1": "acked"}))
    assert engine.snapshot().pages[0].status == "acked"
    engine.mutate(lambda w: w.optimistic.pop("P1"))
    assert engine.snapshot().pages[0].status == "triggered"
    assert len(seen) == 3


async def test_run_polls_until_stopped():
    calls = 0

    async def fetch():
        nonlocal calls
        calls += 1
        return ()

    engine = SyncEngine([feed("f", fetch, interval=0.01)])
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop, tick=0.01))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if calls >= 3:
            break
    stop.set()
    await task
    assert calls >= 3


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyError("x"), RuntimeError()])
async def test_unexpected_errors_are_recorded_not_raised(exc):
    async def fetch():
        raise exc

    engine = SyncEngine([feed("f", fetch)], clock=Clock())
    assert await engine.poll("f") is True
    assert engine.health("f").error


def test_optimistic_state_gives_way_to_the_server_after_a_grace_period():
    from oncall_tui.core.sources import OPTIMISTIC_GRACE, _confirm_optimistic

    world = World()
    world.optimistic["P1"] = "acked"
    world.optimistic_since["P1"] = T0
    _confirm_optimistic(world, {"P1": "triggered"}, T0 + timedelta(seconds=5))
    assert world.optimistic == {"P1": "acked"}  # the server may not have caught up yet
    _confirm_optimistic(world, {"P1": "triggered"}, T0 + OPTIMISTIC_GRACE * 2)
    assert world.optimistic == {} and world.optimistic_since == {}
    world.optimistic["P2"] = "acked"
    world.optimistic_since["P2"] = T0
    _confirm_optimistic(world, {"P2": "acked"}, T0)
    assert world.optimistic == {}


async def test_on_recovery_calls_back_when_a_backend_answers_again():
    from oncall_tui.core.sync import on_recovery

    clock = Clock()
    answers = [("a",), NetworkError("down"), NetworkError("down"), ("b",), ("c",)]

    async def fetch():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    engine = SyncEngine(clock=clock)
    engine.add(
        Feed("incident.io pages", fetch, lambda w, d: None, lambda w: 10.0, backend="incident.io")
    )
    recovered = []
    on_recovery(engine, "incident.io", lambda: recovered.append(clock()))
    for _ in range(5):
        await engine.poll("incident.io pages")
        clock.advance(400)
    assert len(recovered) == 1  # once, on the poll that answered after the failures
