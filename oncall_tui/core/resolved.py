"""Recently resolved: an alert or page that ends leaves a short, dimmed trace.

Without it a row simply vanished, and at 3 a.m. "it went away" cannot be told from "the
tool lost it". The rule, once for the dashboard and the command line:

- **The dashboard** sees a row go: it was open at the last refresh, it is not now, and
  none of what it stood for is still open (every alert of the group is gone from its
  source's answer or resolved, its page is no longer open). A row that only moved (a
  filter, a new group) is not a trace. Its trace keeps the row as it was last shown, with
  state ``resolved`` (an alert) or ``closed`` (a page: incident.io no longer lists it as
  open), and when that was seen.
- **The command line** asks the sources for what ended within the window: pages that
  are no longer open and incident.io alerts that resolved (Grafana and Alertmanager do
  not list resolved alerts, so a one-off command cannot know theirs).
- A trace lasts ``[ui] resolved_minutes`` (10 by default), then goes. If the same row
  opens again, the open row replaces the trace.
- Keys on a trace send nothing: they say "“T” already resolved at 14:02; nothing was sent"
  (:func:`ended_words`, used by the guard).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from oncall_tui.core import timefmt
from oncall_tui.core.alert_model import (
    KIND_PAGE,
    STATE_RESOLVED,
    AlertFilter,
    AlertRow,
)
from oncall_tui.domain import SOURCE_INCIDENT_IO, Alert, Page

if TYPE_CHECKING:
    from oncall_tui.backends.incidentio import IncidentIoClient

DEFAULT_MINUTES = 10
STATE_CLOSED = "closed"  # a page that incident.io no longer lists as open


@dataclass(frozen=True, slots=True)
class Trace:
    row: AlertRow  # as last shown, state resolved/closed, resolved_at set
    items: tuple[Page | Alert, ...]  # what it stood for, as last known (links, detail)


def ended_words(row: AlertRow, zone: timefmt.ZoneLike = None) -> str:
    """ "resolved at 14:02" (or "closed at …" for a page); "" for an open row."""
    if row.resolved_at is None:
        return ""
    clock = timefmt.format_clock(row.resolved_at, zone, with_zone=False)
    return f"{row.state} at {clock}"


def _ended(row: AlertRow, at: datetime) -> AlertRow:
    state = STATE_CLOSED if row.kind == KIND_PAGE else STATE_RESOLVED
    return replace(row, state=state, resolved_at=at, next_level_at=None, level=None, went="")


def still_open(
    row: AlertRow, alerts_by_key: Mapping[str, Alert], open_pages: Mapping[str, Page]
) -> bool:
    """Some of what the row stood for is still open: a page still listed as open, or an
    alert its source still lists and has not resolved."""
    if any(p in open_pages for p in row.page_ids):
        return True
    for key in row.alert_keys:
        alert = alerts_by_key.get(key)
        if alert is not None and (alert.state or "").lower() != STATE_RESOLVED:
            return True
    return False


class ResolvedTrace:
    """The traces of the rows that ended lately, from one refresh to the next."""

    def __init__(self, keep: timedelta = timedelta(minutes=DEFAULT_MINUTES)) -> None:
        self.keep = keep
        self._shown: dict[str, AlertRow] = {}
        self._items: Callable[[AlertRow], Iterable[Page | Alert]] = lambda row: ()
        self._traces: dict[str, Trace] = {}

    def observe(
        self,
        rows: Sequence[AlertRow],
        is_open: Callable[[AlertRow], bool],
        items: Callable[[AlertRow], Iterable[Page | Alert]],
        now: datetime,
    ) -> None:
        """A refresh: ``rows`` are the open rows now, ``is_open`` says whether what a row
        stood for is still open, ``items`` gives a row's items in this refresh (kept to
        find the items of a row that ends at the next one)."""
        now_keys = {r.key: r for r in rows if r.resolved_at is None}
        if self.keep > timedelta(0):
            for key, row in self._shown.items():
                if key not in now_keys and not is_open(row):
                    self._traces[key] = Trace(_ended(row, now), tuple(self._items(row)))
        for key in now_keys.keys() & self._traces.keys():
            del self._traces[key]  # open again: the open row replaces the trace
        self._shown = now_keys
        self._items = items
        self.expire(now)

    def expire(self, now: datetime) -> bool:
        """Drop traces older than :attr:`keep`; True when one went."""
        cutoff = now - self.keep
        old = [
            k
            for k, t in self._traces.items()
            if t.row.resolved_at is None or t.row.resolved_at <= cutoff
        ]
        for key in old:
            del self._traces[key]
        return bool(old)

    def get(self, key: str) -> Trace | None:
        return self._traces.get(key)

    def rows(self, filters: AlertFilter = AlertFilter()) -> tuple[AlertRow, ...]:
        """The traces as rows, newest first, under the same filter as the open rows."""
        return trace_rows((t.row for t in self._traces.values()), filters)


def trace_rows(
    rows: Iterable[AlertRow], filters: AlertFilter = AlertFilter()
) -> tuple[AlertRow, ...]:
    terms = filters.terms
    kept = []
    for row in rows:
        if filters.mine_only and not row.mine:
            continue
        if filters.critical_only and not row.critical:
            continue
        if terms:
            text = "\n".join((row.title, row.source, row.severity)).casefold()
            if not all(t in text for t in terms):
                continue
        kept.append(row)
    kept.sort(key=lambda r: (r.resolved_at, r.key), reverse=True)
    return tuple(kept)


def closed_rows(
    rows: Sequence[AlertRow],
    pages: Sequence[Page],
    alerts: Sequence[Alert],
    now: datetime,
    keep: timedelta = timedelta(minutes=DEFAULT_MINUTES),
) -> tuple[AlertRow, ...]:
    """For a one-off listing: ``rows`` made (with ``include_resolved``) from pages that
    are no longer open and alerts that resolved, as traces of those that ended within
    ``keep`` (when: the page's last change, the alerts' latest resolve time)."""
    page_end = {p.id: p.updated_at for p in pages if not p.is_open}
    alert_end = {a.key: a.resolved_at or a.updated_at for a in alerts}
    out = []
    for row in rows:
        times = [page_end[p] for p in row.page_ids if p in page_end]
        times += [t for k in row.alert_keys if (t := alert_end.get(k)) is not None]
        if not times:
            continue
        at = max(times)
        if now - keep <= at <= now + timedelta(minutes=1):
            out.append(replace(row, resolved_at=at, next_level_at=None, level=None, went=""))
    return trace_rows(out)


CLOSED_PAGE_STATUSES = ("resolved", "expired", "cancelled")
MAX_CLOSED = 100  # pages that ended within the window, read at most


async def recently_closed(
    io: IncidentIoClient, now: datetime, keep: timedelta = timedelta(minutes=DEFAULT_MINUTES)
) -> tuple[tuple[Page, ...], tuple[Alert, ...]]:
    """For a one-off listing: incident.io's pages that ended and alerts that resolved
    within ``keep`` (alerts a closed page stands for are left to its row)."""
    since = now - keep
    pages = await io.list_escalations(CLOSED_PAGE_STATUSES, updated_since=since, limit=MAX_CLOSED)
    alerts, _ = await io.alert_pages(("resolved",), updated_since=since, max_pages=1)
    named = {a for p in pages for a in p.alert_ids}
    kept = tuple(a for a in alerts if a.source == SOURCE_INCIDENT_IO and a.id not in named)
    return tuple(pages), kept
