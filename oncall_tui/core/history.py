"""Fired before? How often an alert fired over the last seven days, and when it last did.

Each source that could know is asked (:mod:`oncall_tui.backends.history`): Grafana's
state history, else its alert annotations, for Grafana-managed rules; incident.io alerts
with the same deduplication key; and Alertmanager's own view (only the current firing).
Each says "no history available: <reason>" when it cannot answer; a source that fails
or does not answer within :data:`PROBE_DEADLINE` says so too, and never holds up the
others.

The rule that combines them (:func:`combine`): the strip comes from **one** source, the
first that answered in the order Grafana state history, Grafana annotations, incident.io,
Alertmanager (adding sources would count one firing twice, and their clocks may
disagree). A source that only knows the current firing (Alertmanager) is used only when
no other answered, and the strip says so. The alert's own current firing is counted when
the chosen source has not recorded it yet. A firing stamped in the future (a source's
clock ahead of ours) counts as now.

:class:`HistoryService` asks on demand (when the detail shows an alert), one alert at a
time, and keeps each answer for :data:`CACHE_FOR`: never a request per row per poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from oncall_tui.backends.history import (
    Firing,
    SourceHistory,
    alertmanager_view,
    grafana_annotations,
    grafana_state_history,
    incident_io_history,
    unavailable,
)
from oncall_tui.backends.http import ApiError
from oncall_tui.core import timefmt
from oncall_tui.core.sources import Backends
from oncall_tui.domain import SOURCE_INCIDENT_IO, Alert

DAYS = 7
PROBE_DEADLINE = 8.0  # seconds one source may take
CACHE_FOR = timedelta(minutes=10)
MAX_CACHED = 500
SAME_FIRING = timedelta(minutes=10)  # the alert's own start this close to a recorded one


@dataclass(frozen=True, slots=True)
class Probe:
    """One source's answer in words: "23 firings" or "no history available: …"."""

    source: str
    words: str
    used: bool = False  # the strip comes from this source


@dataclass(frozen=True, slots=True)
class HistoryView:
    """The strip: firings per day (oldest first, the last is today), the total, when it
    last fired, which source it came from (``source`` "" when none could answer) and
    what that source leaves out; then every source's answer."""

    days: tuple[tuple[date, int], ...]
    total: int
    last: datetime | None
    source: str
    partial: str
    probes: tuple[Probe, ...]

    @property
    def available(self) -> bool:
        return bool(self.source)


def window(now: datetime, zone: timefmt.ZoneLike = None) -> tuple[datetime, list[date]]:
    """The first instant of the window (local midnight six days ago) and its days."""
    today = now.astimezone(timefmt.resolve_zone(zone)).date()
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    return timefmt.local_midnight(days[0], zone), days


def _count_words(firings: Sequence[Firing]) -> str:
    n = len(firings)
    return "no firings in 7 days" if n == 0 else f"{n} firing{'s' if n != 1 else ''} in 7 days"


def _words(answer: SourceHistory, now: datetime, zone: timefmt.ZoneLike) -> str:
    """One source's answer: "23 firings in 7 days", "firing since Tue 10:05 (Alertmanager
    keeps no history of earlier firings)", "no history available: …"."""
    firings = answer.firings
    if firings is None:
        return f"no history available: {answer.reason}"
    if answer.partial and len(firings) == 1:
        since = timefmt.format_time(firings[0].start, zone, now=now)
        return f"firing since {since} ({answer.partial})"
    return _count_words(firings) + (f" ({answer.partial})" if answer.partial else "")


def combine(
    alert: Alert,
    answers: Sequence[SourceHistory],
    now: datetime,
    zone: timefmt.ZoneLike = None,
) -> HistoryView:
    """The strip from the best answer (see the module's docstring), with every probe."""
    start, days = window(now, zone)
    chosen = next((a for a in answers if a.available and not a.partial), None)
    if chosen is None:
        chosen = next((a for a in answers if a.available), None)
    probes = tuple(Probe(a.source, _words(a, now, zone), used=a is chosen) for a in answers)
    if chosen is None:
        return HistoryView(tuple((d, 0) for d in days), 0, None, "", "", probes)
    starts = [min(f.start, now) for f in chosen.firings or ()]
    own = alert.started_at
    if alert.resolved_at is None and not any(abs(s - own) <= SAME_FIRING for s in starts):
        starts.append(min(own, now))  # firing now, not yet in the source's record
    starts = [s for s in starts if s >= start]
    tz = timefmt.resolve_zone(zone)
    counts = dict.fromkeys(days, 0)
    for s in starts:
        day = s.astimezone(tz).date()
        if day in counts:
            counts[day] += 1
    return HistoryView(
        tuple(counts.items()),
        len(starts),
        max(starts) if starts else None,
        chosen.source,
        chosen.partial,
        probes,
    )


# ------------------------------------------------------------------------ asking


async def _within(source: str, call: Awaitable[SourceHistory]) -> SourceHistory:
    """A source's answer, or "no history available" with why: its error in words, or
    no answer within :data:`PROBE_DEADLINE`."""
    try:
        return await asyncio.wait_for(call, PROBE_DEADLINE)
    except TimeoutError:
        return unavailable(source, f"no answer within {PROBE_DEADLINE:g} s")
    except ApiError as exc:
        return unavailable(source, exc.message or type(exc).__name__)
    except Exception as exc:  # untrusted bytes: a parser surprise is "not available"
        return unavailable(source, f"unreadable answer ({type(exc).__name__})")


async def probe(
    backends: Backends,
    alert: Alert,
    now: datetime,
    zone: timefmt.ZoneLike = None,
    *,
    also: Alert | None = None,
) -> list[SourceHistory]:
    """Ask every source that could know about ``alert``, at once; their answers in the
    order :func:`combine` prefers them. incident.io is asked by the deduplication key of
    ``also`` when that is an incident.io alert (the page's, when ``alert`` is the
    Grafana alert behind it), else by ``alert``'s."""
    io_alert = also if also is not None and also.source == SOURCE_INCIDENT_IO else alert
    start, _ = window(now, zone)
    grafana = backends.grafanas.get(f"{alert.source}:{alert.instance}")

    async def grafana_history() -> list[SourceHistory]:
        """State history; when it cannot answer, the alert annotations too."""
        if grafana is None:
            return [unavailable("Grafana", f"no Grafana {alert.instance!r} is set up")]
        if not alert.rule_uid:
            return [unavailable("Grafana", "the alert names no Grafana rule")]
        name = grafana.instance
        first = await _within(
            f"Grafana state history ({name})", grafana_state_history(grafana, alert, start, now)
        )
        if first.available:
            return [first]
        fallback = await _within(
            f"Grafana annotations ({name})", grafana_annotations(grafana, alert, start, now)
        )
        return [first, fallback]

    async def incident_io() -> list[SourceHistory]:
        if backends.incidentio is None or not io_alert.dedup_key:
            return []
        call = incident_io_history(backends.incidentio, io_alert, start)
        return [await _within("incident.io alerts", call)]

    async def alertmanager() -> list[SourceHistory]:
        if alert.source not in ("grafana", "alertmanager"):
            return []
        return [alertmanager_view(alert, alert.instance)]

    calls = [incident_io(), alertmanager()]
    if alert.source == "grafana":
        calls.insert(0, grafana_history())
    answers = await asyncio.gather(*calls)
    return [answer for group in answers for answer in group]


class HistoryService:
    """Answers on demand, kept for :data:`CACHE_FOR` per alert."""

    def __init__(
        self,
        backends: Backends,
        clock: Callable[[], datetime],
        zone: timefmt.ZoneLike = None,
    ) -> None:
        self.backends = backends
        self.clock = clock
        self.zone = zone
        self._cache: dict[str, tuple[datetime, HistoryView]] = {}
        self.asked = 0  # how many times the sources were asked (one per alert and TTL)

    def cached(self, alert: Alert) -> HistoryView | None:
        hit = self._cache.get(alert.key)
        if hit is None or self.clock() - hit[0] > CACHE_FOR:
            return None
        return hit[1]

    async def fetch(self, alert: Alert, *, also: Alert | None = None) -> HistoryView:
        """Ask every source now (use :meth:`cached` first), and keep the answer.
        ``also``: the incident.io alert of the same problem (a page's), asked by its
        own deduplication key."""
        now = self.clock()
        self.asked += 1
        answers = await probe(self.backends, alert, now, self.zone, also=also)
        view = combine(alert, answers, now, self.zone)
        self._cache[alert.key] = (now, view)
        if len(self._cache) > MAX_CACHED:
            for key in sorted(self._cache, key=lambda k: self._cache[k][0])[: MAX_CACHED // 5]:
                self._cache.pop(key, None)
        return view
