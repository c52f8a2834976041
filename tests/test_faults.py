"""Fault injection: the sync engine, the real clients and the outbox on a bad day.

The dashboard's own engine and clients run headless on a simulated clock against the demo
world (simulated incident.io and two Grafana instances, in process), and the simulators'
fault switches break one backend at a time: bursts of 500s, 429 with ``Retry-After``,
malformed, truncated and dropped bodies, a load balancer's HTML 503, a login page, a
ten-minute outage, one Grafana down while the other answers.

Every test checks the same promises: the engine never raises; the broken backend's health
carries the error and turns stale while the others stay fresh; what the engine last knew
is kept; notes typed meanwhile wait in the outbox and are delivered once (and only once)
when the backend is back; and every backend recovers by itself within one poll interval
of coming back, with no help from the user.

Timeouts and dropped connections over real sockets are in ``test_faults_network.py``; a
real Alertmanager stopped and restarted in ``test_faults_alertmanager.py``; the Textual
app with a failing backend in ``test_faults_ui.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factories import fast_polling

from oncall_tui.backends.http import RetryPolicy
from oncall_tui.core.incidents import IncidentActions
from oncall_tui.core.outbox import STATE_DELIVERED, Backoff, Outbox
from oncall_tui.core.sources import Backends, build_backends, build_engine
from oncall_tui.core.sync import SyncEngine, staleness
from oncall_tui.domain import SourceHealth
from oncall_tui.sim.demo import DEMO_TOKEN, Demo, build_demo
from oncall_tui.sim.faults import FaultInjector, Faults
from oncall_tui.sim.grafana import Faults as GrafanaFaults
from oncall_tui.sim.grafana import create_app as create_grafana_app
from oncall_tui.sim.incidentio import TokenBucket

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday morning, Europe on call
IO = "incident.io"
EU = "grafana:eu"
US = "grafana:us"
K8S = "alertmanager:k8s"
BACKENDS = (IO, US, EU, K8S)
TICK = 1.0  # the test's clock step: the engine's scheduling granularity here
# The client's retries inside one poll: quick (no real sleeping), and a Retry-After is
# handed straight to the engine to schedule on the simulated clock.
FAST_RETRY = RetryPolicy(attempts=2, base=0.001, cap=0.01, max_retry_after=0.0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Rig:
    """The demo world, the real clients and engine, an outbox, and the fault switches."""

    clock: Clock
    demo: Demo
    backends: Backends
    engine: SyncEngine
    io_faults: Faults  # incident.io simulator's switches
    eu_http: GrafanaFaults  # Grafana EU simulator's own switches (status, HTML, Retry-After)
    eu_wire: Faults  # the same fault injector as incident.io's, in front of Grafana EU
    outbox: Outbox
    actions: IncidentActions
    polls_raised: int = 0

    async def tick(self, seconds: float = TICK) -> None:
        """One second of life: due feeds poll, due notes are sent."""
        await self.engine.poll_due()  # would raise into the test if the engine ever did
        delivered = await self.outbox.deliver_due(
            self.actions.send, self.clock(), fallback=self.actions.reroute
        )
        if delivered:
            self.actions.count_changed()  # as the app's delivery loop does
        self.clock.advance(seconds)

    async def run(self, seconds: int, *, each: Callable[[], None] | None = None) -> None:
        for _ in range(seconds):
            await self.tick()
            if each is not None:
                each()

    async def until(self, condition: Callable[[], bool], limit: int) -> float:
        """Tick until ``condition()`` holds; simulated seconds it took (fails after
        ``limit``)."""
        start = self.clock()
        for _ in range(limit + 1):
            if condition():
                return (self.clock() - start).total_seconds()
            await self.tick()
        raise AssertionError(f"not reached within {limit} simulated seconds")

    def health(self, backend: str) -> SourceHealth:
        return next(h for h in self.engine.snapshot().health if h.name == backend)

    def healthy(self, backend: str) -> bool:
        h = self.health(backend)
        return h.error is None and h.failures == 0 and h.last_ok is not None

    def interval(self, backend: str) -> float:
        """The backend's shortest poll interval, as paced now (a shared rate limit that
        runs low stretches it)."""
        return min(self.engine.interval(f.name) for f in self.engine.feeds if f.backend == backend)

    def back_within(self, backend: str) -> float:
        """How soon a backend must be seen whole again once it answers: its fastest feed
        asks within one interval, and the feeds that were failing with it follow on the
        engine's next tick."""
        return self.interval(backend) + TICK

    def requests(self, backend: str) -> int:
        return sum(
            n for source, n in self.backends.stats.by_source.items() if source.startswith(backend)
        )

    def known(self, backend: str) -> Any:
        """What the engine knows from one backend (to compare before and after)."""
        w = self.engine.world
        if backend == IO:
            return (
                dict(w.pages),
                dict(w.incidents),
                w.shifts,
                dict(w.schedules),
                dict(w.paths),
                w.me,
                w.alerts.get(IO),
            )
        return w.alerts.get(backend)

    def all_faults_off(self) -> None:
        self.io_faults.clear()
        self.eu_wire.clear()
        self.eu_http.status = None
        self.eu_http.html = False
        self.eu_http.hang_seconds = 0.0
        self.eu_http.retry_after = None


async def make_rig(tmp_path) -> Rig:
    clock = Clock()
    demo = build_demo(clock=clock, background_alerts=30)
    fast_polling(demo)  # these drills test faults, not the demo's cadence
    eu_http = GrafanaFaults()
    eu_wire = Faults(seed=11)
    eu_app = create_grafana_app(demo.grafana["eu"], token=DEMO_TOKEN, faults=eu_http)
    demo.transports[EU] = httpx.ASGITransport(app=FaultInjector(eu_app, eu_wire))
    backends = build_backends(demo.settings, transports=demo.transports, tokens=demo.tokens)
    clients = [backends.incidentio, *backends.alertmanagers.values(), *backends.grafanas.values()]
    for client in clients:
        client.retry = FAST_RETRY
    engine = build_engine(backends, clock=clock)
    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=clock, rng=random.Random(5))
    actions = IncidentActions(backends, outbox, engine=engine, clock=clock)
    io_faults = demo.transports["incident-io"].app.state.faults
    rig = Rig(clock, demo, backends, engine, io_faults, eu_http, eu_wire, outbox, actions)
    await rig.until(lambda: all(rig.healthy(b) for b in BACKENDS), limit=10)
    await rig.run(10)
    assert all(rig.healthy(b) for b in BACKENDS)
    assert engine.world.pages and engine.world.incidents and engine.world.shifts
    assert engine.world.alerts.get(EU) and engine.world.alerts.get(US)
    return rig


@pytest.fixture
async def rig(tmp_path):
    made = await make_rig(tmp_path)
    try:
        yield made
    finally:
        await made.backends.aclose()
        made.outbox.close()


def _io(**switches) -> Callable[[Rig], None]:
    return lambda rig: rig.io_faults.update(**switches)


def _eu_wire(**switches) -> Callable[[Rig], None]:
    return lambda rig: rig.eu_wire.update(**switches)


def _eu_http(**switches) -> Callable[[Rig], None]:
    def apply(rig: Rig) -> None:
        for name, value in switches.items():
            setattr(rig.eu_http, name, value)

    return apply


FAULTS = [
    pytest.param(IO, _io(burst=10_000), "server error 500", id="incident.io-500-burst"),
    pytest.param(IO, _io(down=True), "HTML error page", id="incident.io-down-html-503"),
    pytest.param(IO, _io(malformed_rate=1.0), "malformed", id="incident.io-malformed"),
    pytest.param(IO, _io(truncated_rate=1.0), "truncated", id="incident.io-truncated"),
    pytest.param(IO, _io(drop_rate=1.0), "connection closed", id="incident.io-dropped"),
    pytest.param(EU, _eu_http(status=500), "500", id="grafana-500"),
    pytest.param(EU, _eu_http(status=502), "502", id="grafana-502"),
    pytest.param(EU, _eu_http(html=True), "HTML", id="grafana-login-page"),
    pytest.param(EU, _eu_wire(malformed_rate=1.0), "malformed", id="grafana-malformed"),
    pytest.param(EU, _eu_wire(truncated_rate=1.0), "truncated", id="grafana-truncated"),
    pytest.param(EU, _eu_wire(drop_rate=1.0), "connection closed", id="grafana-dropped"),
]


@pytest.mark.parametrize(("backend", "switch_on", "words"), FAULTS)
async def test_a_failing_backend_is_shown_stale_keeps_its_data_and_recovers(
    rig: Rig, backend: str, switch_on: Callable[[Rig], None], words: str
) -> None:
    before = rig.known(backend)
    last_good = rig.health(backend).last_ok
    others = [b for b in BACKENDS if b != backend]
    switch_on(rig)
    broken_at = rig.clock()
    await rig.run(90)

    health = rig.health(backend)
    assert health.error is not None and words in health.error, health.error
    assert health.failures >= 1
    # As old as the data it cannot refresh: never newer than the fault.
    assert health.last_ok is not None and health.last_ok <= broken_at
    assert last_good is not None
    assert staleness(health, rig.clock(), rig.interval(backend)) == "stale"
    assert rig.known(backend) == before  # what it last knew is kept…
    if backend != IO:  # …and still shown: the snapshot carries the kept alerts
        kept = {a.key for a in before}
        assert kept <= {a.key for a in rig.engine.snapshot().alerts}
    for other in others:  # one sick backend does not hold the others back
        assert rig.healthy(other), rig.health(other)
        assert staleness(rig.health(other), rig.clock(), rig.interval(other)) == "fresh"

    rig.all_faults_off()
    back_at = rig.clock()
    took = await rig.until(lambda: rig.healthy(backend), limit=600)
    assert took <= rig.back_within(backend), f"{backend} took {took}s to be seen back"
    assert rig.health(backend).last_ok >= back_at
    assert all(rig.healthy(b) for b in BACKENDS)


async def test_a_short_burst_of_500s_is_absorbed_by_the_client_retry(rig: Rig) -> None:
    """One failed request is retried inside the poll: nothing to show the user."""
    rig.io_faults.update(burst=1)
    await rig.run(5)
    assert rig.io_faults.injected.get("burst") == 1
    assert rig.healthy(IO)


async def test_incident_io_rate_limit_waits_for_retry_after_on_every_feed(rig: Rig) -> None:
    """The simulator's own token bucket, run on the simulated clock: once the key's
    budget is spent, incident.io answers 429 with ``Retry-After``; no feed asks again
    before the time it was given, and all recover when the budget refills."""
    sim = rig.demo.transports["incident-io"].app.state.sim
    bucket = TokenBucket(6, clock=lambda: rig.clock().timestamp())
    bucket.tokens = 0.0  # the key's budget was just spent (by a script, another tab…)
    sim.bucket = bucket
    seen: dict[str, tuple[datetime, datetime]] = {}
    sent_too_early: list[str] = []

    def check() -> None:
        for feed in rig.engine.feeds:
            if feed.backend != IO:
                continue
            h = rig.engine.health(feed.name)
            if h.error and "rate limited; retry in" in h.error:
                seen.setdefault(feed.name, (h.last_attempt, h.next_poll))
                wait = int(h.error.split("retry in ")[1].split("s")[0])
                if (h.next_poll - h.last_attempt).total_seconds() < wait:
                    sent_too_early.append(f"{feed.name}: {h.error} next {h.next_poll}")

    await rig.run(120, each=check)
    assert seen, "no feed was rate limited"
    assert not sent_too_early
    assert "rate limited" in (rig.health(IO).error or "") or rig.healthy(IO)
    # Bucket at 6/minute cannot carry the demo's polling: back to the real budget.
    sim.bucket = TokenBucket(1200, clock=lambda: rig.clock().timestamp())
    took = await rig.until(lambda: rig.healthy(IO), limit=120)
    assert took <= max(10, rig.interval(IO))


async def test_grafana_429_with_retry_after_is_a_floor_for_the_next_request(rig: Rig) -> None:
    rig.eu_http.status = 429
    rig.eu_http.retry_after = "120"
    await rig.until(lambda: rig.health(EU).error is not None, limit=10)
    limited_at = rig.clock()
    assert "rate limited; retry in 120s" in rig.health(EU).error
    asked = rig.requests(EU)
    await rig.run(118)  # nothing is asked before the two minutes are up…
    assert rig.requests(EU) == asked
    assert rig.healthy(US) and rig.healthy(K8S)
    rig.all_faults_off()
    took = await rig.until(lambda: rig.healthy(EU), limit=30)  # …and then at once
    assert rig.clock() - limited_at <= timedelta(seconds=121 + took)
    assert took <= 3


async def test_ten_minute_outage_keeps_data_and_notes_and_delivers_them_once(rig: Rig) -> None:
    world = rig.demo.world
    incident = next(i for i in rig.engine.world.incidents.values() if i.status.category == "live")
    asked = rig.requests(IO)
    await rig.run(60)
    healthy_rate = (rig.requests(IO) - asked) / 60
    before = rig.known(IO)

    rig.io_faults.update(down=True)
    down_at = rig.clock()
    asked = rig.requests(IO)
    notes = ["Rolled back checkout to v41", "Error rate back under 1%\nwatching for 15 min"]
    typed: list[str] = []
    for minute in range(10):
        if minute in (1, 6):
            queued = rig.actions.note(incident, notes[len(typed)])
            typed.append(queued.item.key)
        await rig.run(60)
        h = rig.health(IO)
        assert h.error and "503" in h.error
        assert h.last_ok is not None and h.last_ok < down_at
        assert staleness(h, rig.clock(), rig.interval(IO)) == "stale"
        assert rig.known(IO) == before  # pages, incidents, shifts, me: all kept
        for other in (US, EU, K8S):
            assert rig.healthy(other)
    assert rig.clock() - down_at == timedelta(minutes=10)
    outage_rate = (rig.requests(IO) - asked) / 600
    # An outage never makes us ask harder than a healthy backend (client retries counted).
    assert outage_rate <= healthy_rate * FAST_RETRY.attempts

    waiting = rig.outbox.pending(incident.id)
    assert [i.key for i in waiting] == typed
    # The first note has been tried (and refused by the outage); the second waits its
    # turn behind it, so the two reach the timeline in the order typed.
    assert waiting[0].attempts >= 1 and "503" in waiting[0].last_error
    assert waiting[1].attempts == 0
    assert rig.engine.snapshot().pending_writes == 2
    assert not [t for t in world.timeline_items.values() if t.idempotency_key in typed]

    rig.io_faults.clear()
    back_at = rig.clock()
    took = await rig.until(lambda: rig.healthy(IO), limit=600)
    assert took <= rig.back_within(IO)
    assert rig.health(IO).last_ok >= back_at
    cap = Backoff().cap
    await rig.until(lambda: not rig.outbox.pending(incident.id), limit=int(cap) + 2)
    for key, text in zip(typed, notes, strict=True):
        item = rig.outbox.get(key)
        assert item is not None and item.state == STATE_DELIVERED
        made = [t for t in world.timeline_items.values() if t.idempotency_key == key]
        assert len(made) == 1  # delivered exactly once, though tried many times
        assert made[0].incident_id == incident.id
        assert made[0].title == text.splitlines()[0]
        assert made[0].timestamp < back_at  # stamped when typed, not when sent
    # In the order typed.
    first, second = (
        next(t for t in world.timeline_items.values() if t.idempotency_key == k) for k in typed
    )
    assert first.created_at <= second.created_at
    await rig.run(3)
    assert rig.engine.snapshot().pending_writes == 0


async def test_one_grafana_down_while_the_other_answers(rig: Rig) -> None:
    eu_before = rig.known(EU)
    rig.eu_http.status = 503
    us_seen: list[datetime] = []
    await rig.run(300, each=lambda: us_seen.append(rig.health(US).last_ok))
    assert rig.health(EU).error and "503" in rig.health(EU).error
    assert rig.known(EU) == eu_before
    # The US instance kept being polled and stayed fresh the whole time.
    assert us_seen[-1] - us_seen[0] >= timedelta(seconds=290)
    assert rig.healthy(US) and rig.healthy(K8S) and rig.healthy(IO)
    snapshot = rig.engine.snapshot()
    assert {a.key for a in eu_before} <= {a.key for a in snapshot.alerts}
    assert [h.name for h in snapshot.health if h.error] == [EU]
    rig.all_faults_off()
    assert await rig.until(lambda: rig.healthy(EU), limit=60) <= rig.back_within(EU)


async def test_random_faults_everywhere_for_five_minutes(rig: Rig) -> None:
    """A soak: every kind of fault at random on incident.io and Grafana EU at once."""
    rig.io_faults.update(
        error_rate=0.15, malformed_rate=0.1, truncated_rate=0.1, drop_rate=0.1, seed=3
    )
    rig.eu_wire.update(error_rate=0.2, malformed_rate=0.1, truncated_rate=0.1, drop_rate=0.1)
    incident = next(iter(rig.engine.world.incidents.values()))
    key = rig.actions.note(incident, "Soak note").item.key
    await rig.run(300)
    assert rig.io_faults.injected and rig.eu_wire.injected
    assert rig.healthy(US) and rig.healthy(K8S)
    rig.all_faults_off()
    # Each failing feed tries again within its own interval; a backend that was down as a
    # whole is seen back within its shortest one (test above). Here faults were random
    # per request, so each backend is back once its slowest failing feed has asked.
    world = rig.engine.world
    limits = {
        b: max(
            (
                f.interval(world)
                for f in rig.engine.feeds
                if f.backend == b and rig.engine.health(f.name).failures
            ),
            default=0.0,
        )
        for b in BACKENDS
    }
    for backend, limit in limits.items():
        took = await rig.until(lambda b=backend: rig.healthy(b), limit=int(limit) + 2)
        assert took <= limit + TICK
    await rig.until(lambda: rig.outbox.get(key).state == STATE_DELIVERED, limit=310)
    made = [t for t in rig.demo.world.timeline_items.values() if t.idempotency_key == key]
    assert len(made) == 1
