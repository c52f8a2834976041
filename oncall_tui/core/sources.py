"""From settings to live data: build the backend clients and the feeds that poll them.

``build_backends`` makes one client per configured backend, with its secret from the
keyring or environment. ``--demo`` passes in-process transports to the simulator so the
very same clients and feeds run without a network. ``build_feeds`` turns the clients
into :class:`~oncall_tui.core.sync.Feed` objects for the engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from oncall_tui.backends.grafana import (
    KIND_ALERTMANAGER,
    KIND_GRAFANA,
    AlertmanagerClient,
    GrafanaClient,
    PrometheusClient,
    sparkline_for,
)
from oncall_tui.backends.http import ApiClient, RequestStats, Secret
from oncall_tui.backends.incidentio import Capabilities, IncidentIoClient
from oncall_tui.config import DEFAULT_SILENCE_LABELS, Settings
from oncall_tui.core.alertsync import AlertTail
from oncall_tui.core.errors import ActionError
from oncall_tui.core.pacing import Stretch
from oncall_tui.core.sync import Feed, SyncEngine, World, utcnow
from oncall_tui.domain import (
    LISTED_STATUS_CATEGORIES,
    MAX_LISTED_INCIDENTS,
    SOURCE_INCIDENT_IO,
    Alert,
    Schedule,
    ScheduleEntries,
    Series,
    Shift,
    User,
)
from oncall_tui.secrets import Found
from oncall_tui.secrets import get as get_secret

# Schedules whose entries are fetched at once: one round trip's wait for a handful of
# schedules instead of one each, and still gentle on the API's rate limit.
SCHEDULES_FEED = "incident.io schedules"  # the feed shifts and paths come from
SCHEDULE_CONCURRENCY = 4
# The feed the incident screen reads (and asks to poll when it wants fresh data).
FEED_INCIDENTS = "incident.io incidents"
SCHEDULE_WINDOW_BEFORE = timedelta(days=1)
SCHEDULE_WINDOW_AFTER = timedelta(days=14)
MAX_SCHEDULES = 40


@dataclass
class Backends:
    """Every configured backend client. Keys of the dicts are ``grafana:NAME`` or
    ``alertmanager:NAME``."""

    settings: Settings
    incidentio: IncidentIoClient | None = None
    alertmanagers: dict[str, AlertmanagerClient] = field(default_factory=dict)
    grafanas: dict[str, GrafanaClient] = field(default_factory=dict)
    prometheus: dict[str, PrometheusClient] = field(default_factory=dict)
    missing_secrets: list[str] = field(default_factory=list)
    capabilities: Capabilities | None = None
    alert_tail: AlertTail | None = None  # incident.io's firing alerts, kept incrementally
    stats: RequestStats = field(default_factory=RequestStats)

    async def aclose(self) -> None:
        clients: list[ApiClient | None] = [self.incidentio, *self.alertmanagers.values()]
        clients += [*self.grafanas.values(), *self.prometheus.values()]
        for client in clients:
            if client is not None:
                await client.aclose()

    async def __aenter__(self) -> Backends:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def io(self) -> IncidentIoClient:
        """The incident.io client, or a clear refusal when none is configured."""
        if self.incidentio is None:
            raise ActionError("incident.io is not configured.")
        return self.incidentio

    def alertmanager_for(self, alert: Alert) -> AlertmanagerClient | None:
        return self.alertmanagers.get(f"{alert.source}:{alert.instance}")

    def silence_labels(self, alert: Alert) -> tuple[str, ...]:
        """The labels an ack-by-silence of ``alert`` matches, as configured per source."""
        table = self.settings.grafana if alert.source == "grafana" else self.settings.alertmanager
        config = table.get(alert.instance)
        labels = getattr(config, "silence_labels", None)
        return tuple(labels) if labels else DEFAULT_SILENCE_LABELS

    async def sparkline(
        self,
        alert: Alert,
        now: datetime,
        *,
        window: timedelta = timedelta(hours=1),
        points: int = 60,
    ) -> Series | None:
        key = f"{alert.source}:{alert.instance}"
        return await sparkline_for(
            alert,
            grafana=self.grafanas.get(key),
            prometheus=self.prometheus.get(key),
            now=now,
            window=window,
            points=points,
        )


SecretLookup = Callable[[str], Found]


def build_backends(
    settings: Settings,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    secret: SecretLookup = get_secret,
    stats: RequestStats | None = None,
    tokens: Mapping[str, str] | None = None,
    services: Collection[str] | None = None,
) -> Backends:
    """Clients for every configured backend. ``transports`` (keyed like the secrets:
    ``incident-io``, ``grafana:NAME``, ``alertmanager:NAME``) replace the network, as
    ``--demo`` does; ``tokens`` replace the keyring and environment. ``services`` builds
    only those backends (by key, or a whole kind: ``grafana``, ``alertmanager``); a
    backend left out has no client, and actions that need it say it is not configured."""
    transports = transports or {}
    backends = Backends(settings=settings, stats=stats or RequestStats())

    def wanted(service: str) -> bool:
        return services is None or service in services or service.split(":")[0] in services

    def token(service: str, *, optional: bool = False) -> Secret:
        if tokens is not None and service in tokens:
            return Secret(tokens[service])
        found = secret(service)
        if not found.value and not optional:
            backends.missing_secrets.append(service)
        return Secret(found.value)

    io = settings.incident_io
    if wanted("incident-io"):
        backends.incidentio = IncidentIoClient(
            io.base_url,
            token("incident-io"),
            transport=transports.get("incident-io"),
            stats=backends.stats,
            timeout=io.timeout,
        )

    def add_alertmanager(
        kind: str, name: str, url: str, timeout: float, **extra: Any
    ) -> tuple[Secret, httpx.AsyncBaseTransport | None] | None:
        """The Alertmanager client of ``kind:name`` when wanted; its secret and transport."""
        service = f"{kind}:{name}"
        if not wanted(service):
            return None
        secret_value, transport = token(service), transports.get(service)
        backends.alertmanagers[service] = AlertmanagerClient(
            kind, name, url, secret_value, kind=kind, transport=transport,
            stats=backends.stats, timeout=timeout, **extra,
        )  # fmt: skip
        return secret_value, transport

    for name, g in settings.grafana.items():
        added = add_alertmanager(
            KIND_GRAFANA, name, g.url, g.timeout, org_id=g.org_id, alertmanager_uid=g.alertmanager
        )
        if added is not None:
            secret_value, transport = added
            backends.grafanas[f"{KIND_GRAFANA}:{name}"] = GrafanaClient(
                name, g.url, secret_value, g.org_id, transport=transport, stats=backends.stats
            )
    for name, am in settings.alertmanager.items():
        added = add_alertmanager(KIND_ALERTMANAGER, name, am.url, am.timeout)
        if added is None:
            continue
        service, transport = f"{KIND_ALERTMANAGER}:{name}", added[1]
        if am.prometheus_url:
            # Prometheus is another host: it gets its own secret, never the Alertmanager's.
            backends.prometheus[service] = PrometheusClient(
                am.prometheus_url,
                token(f"{service}:prometheus", optional=True),
                source=f"prometheus:{name}",
                transport=transports.get(f"prometheus:{name}", transport),
                stats=backends.stats,
            )
    return backends


# ------------------------------------------------------------------------- feeds


async def look_up_me(io: IncidentIoClient, email: str | None) -> User | None:
    """Me: the incident.io user with ``email`` (None without an email, or with no such
    user). The client keeps the answer for the rest of its life."""
    return await io.find_user_by_email(email) if email else None


def _mine(schedule: Schedule, shifts: tuple[Shift, ...], me: User | None) -> bool:
    if me is None:
        return False
    every = (*schedule.current_shifts, *schedule.next_shifts, *shifts)
    return any(s.user is not None and s.user.id == me.id for s in every)


def _wanted(schedule: Schedule, wanted: list[str]) -> bool:
    lowered = {w.lower() for w in wanted}
    return schedule.id in wanted or schedule.name.lower() in lowered


@dataclass
class _Known:
    """What the feeds of one backend share between polls (who I am)."""

    me: User | None = None


ALERTS_STRETCH_PER = 5000  # one more interval per this many firing alerts
ALERTS_MAX_STRETCH = 3.0
ALERTS_FEED = "incident.io alerts"


def size_stretch(tail: AlertTail) -> Callable[[Feed, World], Stretch | None]:
    """A pacing rule: incident.io's alert feed polls less often the more alerts fire
    (each increment is one request whatever the size, but a big set is a busy one, and
    its long tail can wait a little; pages keep their own pace). Not while a listing
    runs, so the first load ends soon."""

    def rule(feed: Feed, world: World) -> Stretch | None:
        if feed.name != ALERTS_FEED or tail.listing:
            return None
        size = len(tail.alerts)
        factor = min(ALERTS_MAX_STRETCH, size / ALERTS_STRETCH_PER)
        if factor <= 1.0:
            return None
        return Stretch(factor, f"{size:,} firing alerts")

    return rule


def build_feeds(backends: Backends, *, clock: Callable[[], datetime] = utcnow) -> list[Feed]:
    settings = backends.settings
    poll = settings.incident_io.poll
    feeds: list[Feed] = []
    io = backends.incidentio

    if io is not None:
        email = settings.user.email
        # Every incident.io feed reads the shared rate limit its client last saw.
        budget: dict[str, Any] = {
            "rate_limit": lambda: io.rate_limit,
            "requests_per_minute": lambda: backends.stats.per_minute(io.source),
        }
        known = _Known()

        async def fetch_identity() -> Any:
            me = await look_up_me(io, email)
            if me is not None and settings.incident_io.act_as_user:
                io.act_as_user_id = me.id
            capabilities = await io.probe_capabilities()
            return capabilities, me

        def apply_identity(world: World, data: Any) -> None:
            capabilities, me = data
            backends.capabilities = capabilities
            world.capabilities = capabilities.usable
            world.me = me
            known.me = me

        feeds.append(
            Feed(
                "incident.io access",
                fetch_identity,
                apply_identity,
                interval=lambda w: 3600.0,
                backend=SOURCE_INCIDENT_IO,
                **budget,
            )
        )

        tail = AlertTail(io)
        backends.alert_tail = tail

        async def fetch_pages() -> Any:
            pages = await io.list_escalations()
            # The alerts behind pages that reach me are read at once, by id, whatever
            # the listing of the long tail has reached.
            me = known.me
            mine = [p for p in pages if me is not None and me.id in p.notified_user_ids]
            tail.need(a for p in mine for a in p.alert_ids)
            return pages, await tail.fetch_wanted()

        def apply_pages(world: World, data: Any) -> None:
            pages, wanted = data
            world.pages = {p.id: p for p in pages}
            _confirm_optimistic(world, {p.id: p.status for p in pages}, clock())
            if tail.add(wanted, clock()):
                world.alerts["incident.io"] = tail.snapshot()

        feeds.append(
            Feed(
                "incident.io pages",
                fetch_pages,
                apply_pages,
                interval=lambda w: poll.pages_when_paged if w.i_am_paged() else poll.pages,
                backend=SOURCE_INCIDENT_IO,
                **budget,
            )
        )

        async def fetch_alerts() -> Any:
            return await tail.poll(clock())

        def apply_alerts(world: World, result: Any) -> None:
            if result.changed or result.removed or "incident.io" not in world.alerts:
                world.alerts["incident.io"] = tail.snapshot()
            if tail.complete:
                world.notices.pop("incident.io alerts", None)
            elif tail.seeded:
                world.notices["incident.io alerts"] = (
                    f"{len(tail.alerts):,} incident.io alerts, not all confirmed since the"
                    " cache; checking"
                )
            else:
                # The first listing is read a few pages a poll: say the list is partial.
                world.notices["incident.io alerts"] = (
                    f"{len(tail.alerts):,} incident.io alerts so far, more loading"
                )

        feeds.append(
            Feed(
                ALERTS_FEED,
                fetch_alerts,
                apply_alerts,
                interval=lambda w: poll.alerts,
                backend=SOURCE_INCIDENT_IO,
                **budget,
            )
        )

        async def fetch_schedules() -> Any:
            now = clock()
            me = await look_up_me(io, email)
            schedules = list(await io.list_schedules())[:MAX_SCHEDULES]
            wanted = settings.incident_io.schedules
            if wanted:
                schedules = [s for s in schedules if _wanted(s, wanted)]
            fetched = await schedules_with_entries(
                io, schedules, now - SCHEDULE_WINDOW_BEFORE, now + SCHEDULE_WINDOW_AFTER
            )
            detailed = [schedule for schedule, _ in fetched]
            shifts = tuple(shift for _, entries in fetched for shift in entries.final)
            paths = await io.list_escalation_paths()
            return me, detailed, shifts, paths

        def apply_schedules(world: World, data: Any) -> None:
            me, schedules, shifts, paths = data
            if me is not None:
                world.me = me
                known.me = me
            world.schedules = {s.id: s for s in schedules}
            world.shifts = shifts
            world.paths = {p.id: p for p in paths}

        feeds.append(
            Feed(
                SCHEDULES_FEED,
                fetch_schedules,
                apply_schedules,
                interval=lambda w: poll.schedules,
                backend=SOURCE_INCIDENT_IO,
                **budget,
            )
        )

        async def fetch_incidents() -> Any:
            return await io.list_incidents(LISTED_STATUS_CATEGORIES, limit=MAX_LISTED_INCIDENTS)

        def apply_incidents(world: World, incidents: Any) -> None:
            world.incidents = {i.id: i for i in incidents}

        feeds.append(
            Feed(
                FEED_INCIDENTS,
                fetch_incidents,
                apply_incidents,
                interval=lambda w: poll.incidents,
                backend=SOURCE_INCIDENT_IO,
                **budget,
            )
        )

    for key, client in backends.alertmanagers.items():
        feeds.append(_alertmanager_feed(key, client, poll.alerts, clock))
    return feeds


async def schedules_with_entries(
    io: IncidentIoClient, schedules: Iterable[Schedule], start: datetime, end: datetime
) -> list[tuple[Schedule, ScheduleEntries]]:
    """Each schedule with its rotations (fetched when the listing left them out) and its
    entries over ``[start, end)``, a few schedules at a time, in the order given."""
    gate = asyncio.Semaphore(SCHEDULE_CONCURRENCY)

    async def detail(schedule: Schedule) -> tuple[Schedule, ScheduleEntries]:
        async with gate:
            if not schedule.rotations:
                schedule = await io.get_schedule(schedule.id)
            return schedule, await io.schedule_entries(schedule.id, start, end)

    return await _all_or_first_error([detail(s) for s in schedules])


async def _all_or_first_error(calls: list[Awaitable[Any]]) -> list[Any]:
    """Await every call concurrently; the results in order. On the first failure the
    others are cancelled and that error is raised as itself (the engine reads its
    ``retry_after``), not wrapped in a group."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _alertmanager_feed(
    key: str, client: AlertmanagerClient, interval: float, clock: Callable[[], datetime]
) -> Feed:
    async def fetch() -> Any:
        return await client.list_alerts(now=clock())

    def apply(world: World, alerts: Any) -> None:
        world.alerts[key] = tuple(alerts)
        _confirm_optimistic(world, {a.key: a.state for a in alerts}, clock())

    return Feed(key, fetch, apply, interval=lambda w: interval, backend=key)


OPTIMISTIC_GRACE = timedelta(seconds=30)


def _confirm_optimistic(world: World, states: Mapping[str, str], now: datetime) -> None:
    """Drop optimistic states the server now agrees with, and those it has not confirmed
    within the grace period: after that, what the server says is what is shown."""
    for key, state in list(world.optimistic.items()):
        since = world.optimistic_since.get(key, now)
        agreed = key in states and states[key] == state
        if agreed or now - since > OPTIMISTIC_GRACE:
            world.optimistic.pop(key, None)
            world.optimistic_since.pop(key, None)


def build_engine(backends: Backends, *, clock: Callable[[], datetime] = utcnow) -> SyncEngine:
    engine = SyncEngine(build_feeds(backends, clock=clock), clock=clock)
    if backends.alert_tail is not None:
        engine.add_stretch(size_stretch(backends.alert_tail))
    return engine
