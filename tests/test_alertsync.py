"""incident.io's firing alerts at a bounded cost: incremental polls, a listing read a few
pages a poll, the alerts behind my pages read at once. Run against the simulated world
over the real client; what reached the simulator is what is asserted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from oncall_tui.core import alertsync
from oncall_tui.core.sources import ALERTS_FEED, build_backends, build_engine
from oncall_tui.sim.demo import build_demo


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Recording(httpx.AsyncBaseTransport):
    """The demo's in-process transport, keeping every request it carried."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def alert_lists(self) -> list[httpx.URL]:
        return [r.url for r in self.requests if r.url.path == "/v2/alerts"]


def setup(alerts: int):
    clock = Clock()
    demo = build_demo(clock=clock, scenario=False, background_alerts=0)
    if alerts:
        demo.world.add_bulk_alerts(alerts)
    recording = Recording(demo.transports["incident-io"])
    transports = dict(demo.transports, **{"incident-io": recording})
    backends = build_backends(demo.settings, transports=transports, tokens=demo.tokens)
    engine = build_engine(backends, clock=clock)
    return clock, demo, recording, backends, engine


def firing_ids(demo) -> set[str]:
    return {a.id for a in demo.world.alerts.values() if a.status == "firing"}


def shown_ids(engine) -> set[str]:
    return {a.id for a in engine.snapshot().alerts if a.source == "incident.io"}


async def poll_alerts(engine, clock, *, seconds: float = 15) -> None:
    await engine.poll("incident.io alerts")
    clock.now += timedelta(seconds=seconds)


def test_a_quiet_poll_costs_one_request_whatever_the_number_of_alerts() -> None:
    async def main() -> None:
        clock, demo, recording, backends, engine = setup(3000)
        # 3,000 alerts are 60 pages: the listing reads them a few pages a poll.
        polls = 0
        while not backends.alert_tail.complete:
            await poll_alerts(engine, clock)
            polls += 1
        assert polls >= 3000 // 50 // alertsync.LISTING_PAGES_PER_POLL
        assert shown_ids(engine) == firing_ids(demo)
        recording.requests.clear()
        for _ in range(5):
            await poll_alerts(engine, clock)
        lists = recording.alert_lists()
        assert len(lists) == 5, lists  # one request a poll, not 60
        for url in lists:
            assert "updated_at[gte]" in url.params
            assert "status[one_of]" not in url.params  # resolutions must come through
        await backends.aclose()

    asyncio.run(main())


def test_changes_arrive_incrementally_and_resolved_alerts_leave() -> None:
    async def main() -> None:
        clock, demo, recording, backends, engine = setup(400)
        while not backends.alert_tail.complete:
            await poll_alerts(engine, clock)
        before = engine.snapshot().alerts
        some = sorted(firing_ids(demo))[:3]
        for alert_id in some:
            demo.world.resolve_alert(alert_id, at=clock(), record=False)
        new = demo.world.fire_alert(
            title="disk full on db-7", dedup_key="disk-db-7", at=clock(), page=False
        )
        recording.requests.clear()
        await poll_alerts(engine, clock)
        assert len(recording.alert_lists()) == 1
        shown = shown_ids(engine)
        assert shown == firing_ids(demo)
        assert new.id in shown and not shown & set(some)
        # Alerts that did not change are the very same objects as before.
        after = {a.id: a for a in engine.snapshot().alerts}
        kept = [a for a in before if a.id in after and a.id != new.id]
        assert kept and all(after[a.id] is a for a in kept)
        await backends.aclose()

    asyncio.run(main())


def test_the_first_listing_is_capped_per_poll_and_says_it_is_partial() -> None:
    async def main() -> None:
        clock, demo, recording, backends, engine = setup(2000)
        await poll_alerts(engine, clock)
        tail = backends.alert_tail
        cap = alertsync.LISTING_PAGES_PER_POLL
        assert len(recording.alert_lists()) == cap
        assert len(shown_ids(engine)) == cap * 50 < len(firing_ids(demo))
        assert not tail.complete
        # The dashboard says the list is partial, and how much it holds so far.
        assert engine.snapshot().notices == (
            f"{cap * 50:,} incident.io alerts so far, more loading",
        )
        while not tail.complete:
            await poll_alerts(engine, clock)
        assert shown_ids(engine) == firing_ids(demo)
        assert engine.snapshot().notices == ()
        await backends.aclose()

    asyncio.run(main())


def test_a_full_listing_now_and_then_drops_alerts_the_increments_cannot_see() -> None:
    async def main() -> None:
        clock, demo, _recording, backends, engine = setup(200)
        while not backends.alert_tail.complete:
            await poll_alerts(engine, clock)
        gone = sorted(firing_ids(demo))[0]
        del demo.world.alerts[gone]  # deleted without a write an increment would see
        await poll_alerts(engine, clock)
        assert gone in shown_ids(engine)
        clock.now += alertsync.listing_interval(200)
        for _ in range(3):
            await poll_alerts(engine, clock)
        assert gone not in shown_ids(engine)
        await backends.aclose()

    asyncio.run(main())


def test_the_alert_behind_a_page_to_me_is_read_at_once() -> None:
    async def main() -> None:
        clock, demo, recording, backends, engine = setup(3000)
        await engine.poll("incident.io access")
        me = engine.world.me
        assert me is not None
        # The oldest firing alert: the listing reads newest first and reaches it last.
        oldest = min(
            (a for a in demo.world.alerts.values() if a.status == "firing"),
            key=lambda a: a.created_at,
        )
        demo.world.create_escalation(
            idempotency_key="page-me",
            title=oldest.title,
            alert_ids=[oldest.id],
            user_ids=[me.id],
            at=clock(),
        )
        await poll_alerts(engine, clock)  # a first, partial listing
        assert oldest.id not in shown_ids(engine)
        await engine.poll("incident.io pages")
        assert oldest.id in shown_ids(engine)
        shown_by_id = [u for u in recording.requests if u.url.path == f"/v2/alerts/{oldest.id}"]
        assert len(shown_by_id) == 1
        await backends.aclose()

    asyncio.run(main())


def test_the_listing_interval_stretches_with_size() -> None:
    small, big = alertsync.listing_interval(100), alertsync.listing_interval(10_000)
    assert small == alertsync.MIN_LISTING_INTERVAL
    assert big > small
    # A full listing's share of the budget stays flat: 200 pages at most every 30 min.
    assert 200 / (big.total_seconds() / 60) <= 10


def test_the_alert_feed_polls_less_often_the_more_alerts_fire() -> None:
    async def main() -> None:
        clock, _demo, _recording, backends, engine = setup(0)
        while not backends.alert_tail.complete:
            await poll_alerts(engine, clock)
        base = engine.pace(ALERTS_FEED)
        assert not base.stretched
        # 15,000 firing alerts (their content does not matter to the pace).
        backends.alert_tail.alerts.update({str(i): object() for i in range(15_000)})
        pace = engine.pace(ALERTS_FEED)
        assert pace.interval == 3 * base.interval
        assert pace.reasons == (f"{len(backends.alert_tail.alerts):,} firing alerts",)
        # Pages keep their own pace.
        assert not engine.pace("incident.io pages").stretched
        await backends.aclose()

    asyncio.run(main())
