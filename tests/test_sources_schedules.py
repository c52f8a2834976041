"""The schedules feed: entries of several schedules fetched at once, bounded, in order;
a failure is the feed's error as itself, and the engine keeps its Retry-After."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.backends.http import RateLimited
from oncall_tui.config import Settings, UserConfig
from oncall_tui.core.sources import SCHEDULE_CONCURRENCY, Backends, build_feeds
from oncall_tui.core.sync import SyncEngine
from oncall_tui.domain import Rotation, Schedule, ScheduleEntries, Shift, User

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ME = User(id="U1", name="Ana", email="ana@example.com")


class FakeIncidentIo:
    """Just what the schedules feed calls; each entries call waits a little so calls
    that run at once overlap, and the most seen at once is recorded."""

    def __init__(self, count: int, *, fail: str | None = None) -> None:
        self.schedules = [
            Schedule(
                id=f"S{i}",
                name=f"Schedule {i}",
                # Every other one comes without rotations, so the feed fetches it whole.
                rotations=() if i % 2 else (Rotation(id=f"R{i}", name="rota"),),
            )
            for i in range(count)
        ]
        self.fail = fail
        self.in_flight = 0
        self.most_at_once = 0
        self.detailed: list[str] = []

    async def find_user_by_email(self, email: str) -> User:
        return ME

    async def list_schedules(self) -> list[Schedule]:
        return list(self.schedules)

    async def get_schedule(self, schedule_id: str) -> Schedule:
        self.detailed.append(schedule_id)
        return Schedule(
            id=schedule_id, name=f"{schedule_id} in full", rotations=(Rotation(id="R", name="r"),)
        )

    async def schedule_entries(self, schedule_id: str, start: datetime, end: datetime):
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            # Later schedules answer first: the feed must still keep the list's order.
            await asyncio.sleep(0.001 * (len(self.schedules) - int(schedule_id[1:])))
            if schedule_id == self.fail:
                raise RateLimited("slow down", source="incident.io", status=429, retry_after=42)
            shift = Shift(schedule_id, "R", "L", start, end, user=ME)
            return ScheduleEntries(schedule_id, start, end, final=(shift,))
        finally:
            self.in_flight -= 1

    async def list_escalation_paths(self) -> list:
        return []


def schedules_feed(io: FakeIncidentIo):
    settings = Settings(user=UserConfig(email=ME.email))
    backends = Backends(settings=settings, incidentio=io)  # type: ignore[arg-type]
    feeds = build_feeds(backends, clock=lambda: NOW)
    return next(f for f in feeds if f.name == "incident.io schedules")


async def test_entries_are_fetched_at_once_bounded_and_in_order():
    io = FakeIncidentIo(9)
    me, schedules, shifts, _paths = await schedules_feed(io).fetch()

    assert me == ME
    assert io.most_at_once == SCHEDULE_CONCURRENCY
    assert [s.id for s in schedules] == [f"S{i}" for i in range(9)]
    assert [s.schedule_id for s in shifts] == [f"S{i}" for i in range(9)]
    # Schedules listed without rotations were fetched whole, and that version is kept.
    assert sorted(io.detailed) == ["S1", "S3", "S5", "S7"]
    assert schedules[1].name == "S1 in full" and schedules[0].name == "Schedule 0"
    assert shifts[0].start == NOW - timedelta(days=1)


async def test_a_failure_is_raised_as_itself_and_the_rest_are_stopped():
    io = FakeIncidentIo(9, fail="S8")
    with pytest.raises(RateLimited) as caught:
        await schedules_feed(io).fetch()
    assert caught.value.retry_after == 42
    assert io.in_flight == 0  # nothing left running behind the failed poll


async def test_the_engine_backs_off_for_at_least_the_retry_after():
    io = FakeIncidentIo(5, fail="S2")
    feed = schedules_feed(io)
    engine = SyncEngine([feed], clock=lambda: NOW)
    await engine.poll(feed.name)
    health = engine.health(feed.name)
    assert health.error is not None and "slow down" in health.error
    assert health.next_poll is not None and health.next_poll >= NOW + timedelta(seconds=42)
