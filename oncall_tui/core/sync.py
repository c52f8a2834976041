"""The polling engine: when to fetch what, what we last knew, and how fresh it is.

A :class:`Feed` is one kind of data from one backend ("pages from incident.io", "alerts
from grafana:eu"): an async ``fetch`` that returns data, an ``apply`` that folds it into
the :class:`World`, and an interval that may adapt to the world (faster while I am
paged). The :class:`SyncEngine` never lets two polls of one feed overlap, keeps what it
last knew when a poll fails, backs off (honouring ``Retry-After`` within [1 s, 5 min]),
records each feed's health for the status bar, and recovers by itself on the next good
poll.

Pacing (:mod:`oncall_tui.core.pacing`): a feed's interval is stretched by every reason
that applies now. The engine brings one, the shared rate limit a backend reports in its
``X-RateLimit-*`` headers; more are added with :meth:`SyncEngine.add_stretch`. A 429
holds every feed of that backend (the budget is shared), and "refresh now"
(:meth:`SyncEngine.poll_soon`) overrides all of it once. A feed with no answer for two
of its intervals is stale; each snapshot's health carries the clocks to tell.

The engine does not own a loop of its own when a UI is present: the UI asks
:meth:`SyncEngine.due` on a timer and runs :meth:`SyncEngine.poll` in its workers (one
group per feed). :meth:`SyncEngine.run` is the same thing for headless use (benchmarks,
CLI, tests).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from oncall_tui.backends.http import ApiError, RateLimit, RateLimited, bound_retry_after
from oncall_tui.core.pacing import (
    Pace,
    Stretch,
    budget_stretch,
    pace_words,
    paced,
    rate_words,
    stale_after,
)
from oncall_tui.core.paging import paging_me
from oncall_tui.core.timefmt import utcnow as utcnow  # re-exported
from oncall_tui.domain import (
    PAGE_TRIGGERED,
    Alert,
    EscalationPath,
    FeedClock,
    Incident,
    Page,
    Schedule,
    Shift,
    Snapshot,
    SourceHealth,
    User,
    index_people,
)
from oncall_tui.safety import clean_text


@dataclass
class World:
    """What the dashboard knows, mutable, owned by the engine. Snapshots are copies."""

    me: User | None = None
    schedules: dict[str, Schedule] = field(default_factory=dict)
    shifts: tuple[Shift, ...] = ()
    pages: dict[str, Page] = field(default_factory=dict)
    alerts: dict[str, tuple[Alert, ...]] = field(default_factory=dict)  # by feed
    incidents: dict[str, Incident] = field(default_factory=dict)
    paths: dict[str, EscalationPath] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()
    pending_writes: int = 0
    notices: dict[str, str] = field(default_factory=dict)  # by feed, shown as given
    # Parts shown from the snapshot cache, by the feed that replaces them: when the cache
    # was written. A feed's mark goes when it answers.
    cached: dict[str, datetime] = field(default_factory=dict)
    # Optimistic overrides: page/alert key -> state shown until a poll confirms it, and
    # when each was set (a state the server does not confirm in time is dropped).
    optimistic: dict[str, str] = field(default_factory=dict)
    optimistic_since: dict[str, datetime] = field(default_factory=dict)

    def i_am_paged(self) -> bool:
        if self.me is None:
            return False
        return any(
            p.status == PAGE_TRIGGERED and paging_me(p, self.paths.get(p.path_id or ""), self.me)
            for p in self.pages.values()
        )


@dataclass
class Feed:
    name: str  # shown in the status bar, e.g. "incident.io pages", "grafana:eu"
    fetch: Callable[[], Awaitable[Any]]
    apply: Callable[[World, Any], None]
    interval: Callable[[World], float]
    backend: str = ""  # "incident.io", "grafana:eu": feeds of one backend share staleness
    enabled: bool = True
    # The backend's latest X-RateLimit-* reading (its client's ``rate_limit``), and the
    # requests a minute this dashboard sends it: for pacing and the status detail.
    rate_limit: Callable[[], RateLimit | None] | None = None
    requests_per_minute: Callable[[], float] | None = None


@dataclass
class _FeedState:
    health: SourceHealth
    next_due: datetime
    in_flight: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    not_before: datetime | None = None  # a server's Retry-After: no poll before this
    rate_limited: bool = False  # the last poll was refused for the shared rate limit


MAX_BACKOFF = 300.0


def backoff_delay(interval: float, failures: int, retry_after: float | None = None) -> float:
    """Seconds until the next try after ``failures`` consecutive failures.

    Exponential from the feed's interval, capped at five minutes, with ±20% jitter; a
    ``Retry-After`` from the server is a floor, kept within [1 s, 5 min] itself (a
    server asking for a day must not leave pages unpolled for a day).
    """
    retry_after = bound_retry_after(retry_after)
    base = min(MAX_BACKOFF, interval * (2 ** max(0, failures - 1)))
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return float(min(max(delay, 1.0), MAX_BACKOFF))


StretchRule = Callable[[Feed, World], Stretch | None]


class SyncEngine:
    def __init__(
        self,
        feeds: list[Feed] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        world: World | None = None,
    ) -> None:
        self.clock = clock
        self.world = world or World()
        self._feeds: dict[str, Feed] = {}
        self._state: dict[str, _FeedState] = {}
        self._listeners: list[Callable[[Snapshot], None]] = []
        self._snapshot: Snapshot | None = None
        self._reused: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        self._stretches: list[StretchRule] = []
        # The latest shared rate-limit reading per backend.
        self.budgets: dict[str, RateLimit] = {}
        self.polls = 0
        for feed in feeds or ():
            self.add(feed)

    # -- feeds -------------------------------------------------------------------

    def add(self, feed: Feed) -> None:
        now = self.clock()
        self._feeds[feed.name] = feed
        self._state[feed.name] = _FeedState(
            health=SourceHealth(name=feed.name, next_poll=now), next_due=now
        )
        self._changed()

    @property
    def feeds(self) -> list[Feed]:
        return list(self._feeds.values())

    def health(self, name: str) -> SourceHealth:
        return self._state[name].health

    # -- pacing ------------------------------------------------------------------

    def add_stretch(self, rule: StretchRule) -> None:
        """Add a reason to poll feeds less often: ``rule(feed, world)`` returns a
        :class:`~oncall_tui.core.pacing.Stretch` for the feeds it slows, else None.
        Rules combine with each other and with the shared rate limit."""
        self._stretches.append(rule)
        self._changed()

    def pace(self, name: str) -> Pace:
        """The feed's interval now: its own, stretched by every reason that applies."""
        feed = self._feeds[name]
        stretches: list[Stretch | None] = [budget_stretch(self.budgets.get(_backend(feed)))]
        for rule in self._stretches:
            try:
                stretches.append(rule(feed, self.world))
            except Exception:  # a broken rule must not stop polling
                continue
        return paced(feed.interval(self.world), stretches)

    def interval(self, name: str) -> float:
        return self.pace(name).interval

    def _read_budget(self, feed: Feed) -> None:
        if feed.rate_limit is None:
            return
        try:
            reading = feed.rate_limit()
        except Exception:
            return
        if reading is not None:
            self.budgets[_backend(feed)] = reading

    def due(self, now: datetime | None = None) -> list[str]:
        """Feeds whose next poll is due and that are not already polling."""
        now = now or self.clock()
        return [
            name
            for name, state in self._state.items()
            if self._feeds[name].enabled and not state.in_flight and state.next_due <= now
        ]

    def next_due(self) -> datetime | None:
        times = [s.next_due for n, s in self._state.items() if self._feeds[n].enabled]
        return min(times) if times else None

    def poll_soon(self, name: str | None = None) -> None:
        """Make a feed (or every feed) due now: "refresh now", or after an action.

        This overrides the pacing once: a slow-down for the shared rate limit, a backoff
        and a server's ``Retry-After`` are all set aside for this one poll; the poll's
        own answer sets the next wait."""
        now = self.clock()
        for feed_name, state in self._state.items():
            if name is None or feed_name == name or self._feeds[feed_name].backend == name:
                state.next_due = now
                state.not_before = None

    # -- polling -----------------------------------------------------------------

    async def poll(self, name: str) -> bool:
        """Poll one feed once. Never raises; returns True when the world changed.

        A second call while one is running waits for the lock and then returns without
        polling again, so polls of one feed never overlap.
        """
        feed = self._feeds[name]
        state = self._state[name]
        if state.lock.locked():
            async with state.lock:
                return False
        async with state.lock:
            state.in_flight = True
            started = self.clock()
            try:
                data = await feed.fetch()
                feed.apply(self.world, data)
                self.world.cached.pop(name, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed poll never kills the app
                self._read_budget(feed)
                self._failed(feed, state, started, exc)
                self._changed()
                return True
            finally:
                state.in_flight = False
                self.polls += 1
            self._read_budget(feed)
            now = self.clock()
            interval = self.interval(name)
            was_failing = state.health.failures > 0
            state.next_due = now + timedelta(seconds=interval)
            state.not_before = None
            state.health = replace(
                state.health,
                last_ok=now,
                last_attempt=started,
                error=None,
                failures=0,
                next_poll=state.next_due,
            )
            state.rate_limited = False
            if was_failing:
                self._backend_is_back(feed, now)
            else:
                # An answer means the shared budget has room again: feeds refused for it
                # try now (after their Retry-After) rather than at their backoff.
                self._backend_is_back(feed, now, rate_limited_only=True)
            # The pages interval depends on the world we just applied: re-plan others.
            self._replan()
            self._changed()
            return True

    def _failed(self, feed: Feed, state: _FeedState, started: datetime, exc: Exception) -> None:
        failures = state.health.failures + 1
        retry_after = exc.retry_after if isinstance(exc, RateLimited | ApiError) else None
        retry_after = bound_retry_after(retry_after)
        interval = self.interval(feed.name)
        delay = backoff_delay(interval, failures, retry_after)
        # Between polls, never wait longer than the feed's own interval (a Retry-After
        # aside): a backend that comes back is then seen within one interval. The client
        # already backs off between the attempts of one poll, so a failing backend is
        # asked no more often than a healthy one.
        delay = min(delay, max(interval, retry_after or 0.0))
        now = self.clock()
        state.next_due = now + timedelta(seconds=delay)
        state.not_before = now + timedelta(seconds=retry_after) if retry_after else None
        state.rate_limited = isinstance(exc, RateLimited)
        state.health = replace(
            state.health,
            last_attempt=started,
            error=describe_error(exc),
            failures=failures,
            next_poll=state.next_due,
        )
        if isinstance(exc, RateLimited) and retry_after and state.not_before and feed.backend:
            # The limit is shared: the backend's other feeds hold off as long.
            for name, other in self._state.items():
                if name == feed.name or self._feeds[name].backend != feed.backend:
                    continue
                other.not_before = max(other.not_before or now, state.not_before)
                if other.next_due < other.not_before:
                    other.next_due = other.not_before
                    other.health = replace(other.health, next_poll=other.next_due)

    def _backend_is_back(
        self, feed: Feed, now: datetime, *, rate_limited_only: bool = False
    ) -> None:
        """A failing feed of a backend answered again: the backend is back, so its other
        failing feeds try now instead of waiting out their backoff (a Retry-After still
        holds). Only on that transition, so one endpoint that keeps failing is not
        polled at the pace of a healthy sibling."""
        if not feed.backend:
            return
        for name, state in self._state.items():
            other = self._feeds[name]
            if other is feed or other.backend != feed.backend or not state.health.failures:
                continue
            if rate_limited_only and not state.rate_limited:
                continue
            due = max(now, state.not_before) if state.not_before else now
            if due < state.next_due:
                state.next_due = due
                state.health = replace(state.health, next_poll=due)

    def _replan(self) -> None:
        """Bring a feed forward when its interval shrank (I just got paged, or the shared
        rate limit has room again)."""
        now = self.clock()
        for name, state in self._state.items():
            # A failing feed waits at most one interval from its last try, so it counts
            # from there (its interval shrinks too when the shared budget refills).
            anchor = state.health.last_attempt if state.health.failures else state.health.last_ok
            if state.in_flight or anchor is None:
                continue
            wanted = anchor + timedelta(seconds=self.interval(name))
            if state.not_before is not None:
                wanted = max(wanted, state.not_before)
            if wanted < state.next_due:
                state.next_due = max(now, wanted)

    async def poll_due(self) -> int:
        names = self.due()
        await asyncio.gather(*(self.poll(n) for n in names))
        return len(names)

    async def run(self, stop: asyncio.Event, *, tick: float = 0.25) -> None:
        """Poll feeds as they fall due until ``stop`` is set (headless use)."""
        running: dict[str, asyncio.Task[bool]] = {}
        try:
            while not stop.is_set():
                for name in self.due():
                    if name not in running or running[name].done():
                        running[name] = asyncio.create_task(self.poll(name))
                try:
                    await asyncio.wait_for(stop.wait(), timeout=tick)
                except TimeoutError:
                    pass
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)

    def backend_health(self) -> tuple[SourceHealth, ...]:
        """Health per backend ("incident.io", "grafana:eu"), for a compact status bar.

        A backend that has never answered but whose feeds have not been tried yet is
        shown as waiting (no ``last_ok``, no error)."""
        groups: dict[str, list[SourceHealth]] = {}
        paces: dict[str, list[Pace]] = {}
        for name, state in self._state.items():
            feed = self._feeds[name]
            backend = _backend(feed)
            pace = self.pace(name)
            last_ok = state.health.last_ok
            clock = FeedClock(
                name=name,
                last_ok=last_ok,
                stale_at=last_ok + timedelta(seconds=stale_after(pace.interval))
                if last_ok is not None and feed.enabled
                else None,
            )
            groups.setdefault(backend, []).append(replace(state.health, feeds=(clock,)))
            paces.setdefault(backend, []).append(pace)
        merged = []
        for backend, parts in groups.items():
            health = merge_health(backend, parts)
            stretched = [p for p in paces[backend] if p.stretched and p.reasons]
            slowest = min(stretched, key=lambda p: p.interval) if stretched else None
            merged.append(
                replace(
                    health,
                    pace=pace_words(backend, slowest) if slowest is not None else None,
                    rate=self._rate_words(backend),
                )
            )
        return tuple(merged)

    def _rate_words(self, backend: str) -> str | None:
        feeds = [f for f in self._feeds.values() if _backend(f) == backend]
        counter = next((f.requests_per_minute for f in feeds if f.requests_per_minute), None)
        if counter is None:
            return None
        try:
            per_minute = counter()
        except Exception:
            return None
        return rate_words(per_minute, self.budgets.get(backend))

    # -- snapshots ---------------------------------------------------------------

    def subscribe(self, listener: Callable[[Snapshot], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Snapshot], None]) -> None:
        """Stop telling ``listener`` (a screen that closes) about new snapshots."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def mutate(self, change: Callable[[World], None]) -> None:
        """Apply a local change (an optimistic action, a pending-writes count)."""
        change(self.world)
        self._changed()

    def _changed(self) -> None:
        self._snapshot = None
        if self._listeners:
            snap = self.snapshot()
            for listener in list(self._listeners):
                listener(snap)

    def _reuse(
        self, name: str, parts: tuple[Any, ...], build: Callable[[], tuple[Any, ...]]
    ) -> tuple[Any, ...]:
        """The tuple built from ``parts`` for the last snapshot when every part is the
        same object, else a new one. Unchanged lists then stay the same object from one
        snapshot to the next, so views can keep what they computed from them (at 10,000
        alerts, re-indexing them because the pages changed costs a frame or more)."""
        last = self._reused.get(name)
        if last is not None and len(last[0]) == len(parts):
            for old, new in zip(last[0], parts, strict=True):
                if old is not new:
                    break
            else:
                return last[1]
        built = build()
        self._reused[name] = (parts, built)
        return built

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            w = self.world
            feeds = tuple(w.alerts.values())
            alerts = self._reuse("alerts", feeds, lambda: tuple(a for f in feeds for a in f))
            pages = self._reuse("pages", tuple(w.pages.values()), lambda: tuple(w.pages.values()))
            paths = self._reuse("paths", tuple(w.paths.values()), lambda: tuple(w.paths.values()))
            schedules = self._reuse(
                "schedules", tuple(w.schedules.values()), lambda: tuple(w.schedules.values())
            )
            people = self._reuse(
                "people",
                (w.shifts, paths, schedules),
                lambda: index_people(w.shifts, paths, schedules),
            )
            if w.optimistic:
                pages = tuple(
                    replace(p, status=w.optimistic[p.id]) if p.id in w.optimistic else p
                    for p in pages
                )
                alerts = tuple(
                    replace(a, state=w.optimistic[a.key]) if a.key in w.optimistic else a
                    for a in alerts
                )
            self._snapshot = Snapshot(
                at=self.clock(),
                me=w.me,
                schedules=schedules,
                shifts=w.shifts,
                pages=pages,
                alerts=alerts,
                incidents=tuple(w.incidents.values()),
                paths=paths,
                health=self.backend_health(),
                pending_writes=w.pending_writes,
                capabilities=w.capabilities,
                notices=tuple(w.notices.values()),
                cached_from=min(w.cached.values()) if w.cached else None,
                people=people,
            )
        return self._snapshot


def merge_health(name: str, parts: list[SourceHealth]) -> SourceHealth:
    """One backend's health from its feeds', with the first error (prefixed by the feed
    that has it).

    ``last_ok`` is when the backend last answered, or, while some of its feeds fail, the
    oldest good answer among the failing ones (the data we cannot refresh). Feeds polled
    rarely (identity hourly, schedules every few minutes) do not make a healthy backend
    look stale. None while a feed has never answered."""
    oks = [h.last_ok for h in parts]
    errors = [h for h in parts if h.error]
    first = errors[0] if errors else None
    if any(t is None for t in oks):
        last_ok = None
    elif errors:
        last_ok = min(h.last_ok for h in errors)  # type: ignore[type-var]
    else:
        last_ok = max(oks)  # type: ignore[type-var]
    return SourceHealth(
        name=name,
        last_ok=last_ok,
        last_attempt=max((h.last_attempt for h in parts if h.last_attempt), default=None),
        error=f"{first.name}: {first.error}"
        if first and first.name != name
        else (first.error if first else None),
        failures=max((h.failures for h in parts), default=0),
        next_poll=min((h.next_poll for h in parts if h.next_poll), default=None),
        feeds=tuple(clock for h in parts for clock in h.feeds),
    )


def _backend(feed: Feed) -> str:
    return feed.backend or feed.name


def on_recovery(engine: SyncEngine, backend: str, callback: Callable[[], object]) -> None:
    """Call ``callback`` each time ``backend`` answers again after failing (e.g. to send
    the notes that waited in the outbox at once, rather than at their next backoff)."""
    failing = False

    def listener(snapshot: Snapshot) -> None:
        nonlocal failing
        health = next((h for h in snapshot.health if h.name == backend), None)
        if health is None:
            return
        now_failing = bool(health.error)
        if failing and not now_failing:
            callback()
        failing = now_failing

    engine.subscribe(listener)


def describe_error(exc: BaseException) -> str:
    """One line a person can act on, for the status bar."""
    if isinstance(exc, ApiError):
        return clean_text(str(exc), limit=300)
    return clean_text(f"{type(exc).__name__}: {exc}", limit=300)


def staleness(health: SourceHealth, now: datetime, interval: float) -> str:
    """ "fresh", "stale" (missed two polls or last poll failed) or "never" (no data yet)."""
    if health.last_ok is None:
        return "never"
    age = (now - health.last_ok).total_seconds()
    if health.error or age > max(2 * interval, interval + 30):
        return "stale"
    return "fresh"
