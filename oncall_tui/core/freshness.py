"""What is stale, in words and in rows, for the screens to render.

The engine decides when a feed's data turns stale (no answer for two of its poll
intervals; see :mod:`oncall_tui.core.pacing`) and each :class:`SourceHealth` carries
the clocks. From those, at any moment:

* :func:`stale_sources`: the sources whose data is stale now;
* :func:`stale_banner`: one line per stale source, "incident.io: no answer since 14:02
  (3m) — showing what was known then";
* :func:`stale_rows`: the table rows built from a stale source (dimmed, and their
  countdowns marked, by the UI).

The first good poll clears all of it, as the clocks move on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from oncall_tui.core import timefmt
from oncall_tui.core.views import KIND_PAGE, AlertRow
from oncall_tui.domain import SOURCE_INCIDENT_IO, Alert, SourceHealth
from oncall_tui.safety import clean_text


def stale_sources(health: Iterable[SourceHealth], now: datetime) -> frozenset[str]:
    """Names of the sources ("incident.io", "grafana:eu") with stale data now."""
    return frozenset(h.name for h in health if h.is_stale(now))


def stale_line(health: SourceHealth, now: datetime, zone: timefmt.ZoneLike = None) -> str | None:
    """ "incident.io: no answer since 14:02 (3m) — showing what was known then", or
    None while the source is fresh.

    When nothing of the source has answered since its stale feeds last did, the source
    is named with the time of its last answer; when other feeds of it still answer, the
    stale feeds are named ("incident.io pages: …") with the oldest of their times."""
    stale = health.stale_feeds(now)
    if not stale:
        return None
    answered = [f.last_ok for f in health.feeds if f.last_ok is not None]
    stale_times = [f.last_ok for f in stale if f.last_ok is not None]
    if not stale_times:
        return None
    if max(answered) <= max(stale_times):
        who, since = health.name, max(answered)
    else:
        who, since = ", ".join(f.name for f in stale), min(stale_times)
    who = clean_text(who, limit=120)
    clock = timefmt.format_clock(since, zone, with_zone=False)
    age = timefmt.format_duration(now - since)
    return f"{who}: no answer since {clock} ({age}) — showing what was known then"


def feed_stale_since(health: Iterable[SourceHealth], feed: str, now: datetime) -> datetime | None:
    """When ``feed`` last answered, if its data is stale now (else None): e.g. the
    schedules feed, behind the shift panel's countdowns."""
    for h in health:
        for clock in h.stale_feeds(now):
            if clock.name == feed:
                return clock.last_ok
    return None


def stale_banner(
    health: Iterable[SourceHealth], now: datetime, zone: timefmt.ZoneLike = None
) -> tuple[str, ...]:
    """One line per stale source (empty while every source is fresh)."""
    lines = (stale_line(h, now, zone) for h in health)
    return tuple(line for line in lines if line)


def row_sources(row: AlertRow, alerts_by_key: Mapping[str, Alert]) -> frozenset[str]:
    """The sources a row's data comes from: incident.io for a page, each alert's own
    source ("grafana:eu") for alerts."""
    names = {alerts_by_key[k].source_label for k in row.alert_keys if k in alerts_by_key}
    if row.kind == KIND_PAGE or row.page_ids:
        names.add(SOURCE_INCIDENT_IO)
    return frozenset(names)


def stale_rows(
    rows: Iterable[AlertRow], alerts_by_key: Mapping[str, Alert], stale: frozenset[str]
) -> frozenset[str]:
    """Keys of the rows built from a stale source (none, cheaply, when none is)."""
    if not stale:
        return frozenset()
    return frozenset(r.key for r in rows if row_sources(r, alerts_by_key) & stale)


def source_detail(
    health: Iterable[SourceHealth], now: datetime, zone: timefmt.ZoneLike = None
) -> list[str]:
    """What ``w`` says about each source: its last error, whether its data is stale,
    why polls are slower than configured, and the request rate against the shared
    budget. Empty when there is nothing to say."""
    lines: list[str] = []
    for h in health:
        name = clean_text(h.name, limit=60)
        if h.error:
            if h.last_ok is not None:
                age = f"last good {timefmt.ago(h.last_ok, now)}"
            else:
                age = "no answer yet"
            noun = "failure" if h.failures == 1 else "failures"
            # "incident.io pages: incident.io: rate limited…" names the source once
            error = clean_text(h.error, limit=300).replace(f": {h.name}: ", ": ")
            said = error if error.startswith(h.name) else f"{name}: {error}"
            lines.append(f"{said} ({age}, {h.failures} {noun})")
        stale = stale_line(h, now, zone)
        if stale:
            lines.append(stale)
        if h.pace:
            lines.append(clean_text(h.pace, limit=200))
        if h.rate:
            lines.append(f"{name}: {clean_text(h.rate, limit=300)}")
    return lines
