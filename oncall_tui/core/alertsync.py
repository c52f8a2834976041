"""incident.io's firing alerts at a cost that does not grow with how many fire.

Reading every firing alert on every poll costs one request per 50 alerts: at 10,000
firing alerts that is 200 requests a poll, most of an organisation's shared budget of
1,200 a minute. :class:`AlertTail` keeps the set instead and brings it up to date:

* **Incremental:** each poll asks only for alerts written since the last one
  (``updated_at[gte]``, any status, so a resolved alert is seen and dropped), overlapping
  the previous window by :data:`OVERLAP` as the API asks, because writes may commit out of
  timestamp order. A quiet poll costs one request whatever the number of firing alerts.
* **A full listing now and then**, read at most :data:`LISTING_PAGES_PER_POLL` pages a
  poll (the first load too): it finds alerts the increments could not see (deleted ones)
  and replaces the set when it ends. Its interval stretches with the size of the set
  (:func:`listing_interval`). Until the first listing ends, the set is partial and says
  how many alerts it holds (:attr:`AlertTail.complete`).
* **The alerts behind pages that reach me** are read by id at once (:meth:`AlertTail.need`),
  whatever the listing has reached: those are never left out.

Unchanged alerts stay the same objects from one poll to the next, so the views can tell
what changed by identity alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from oncall_tui.backends.http import ApiError
from oncall_tui.domain import Alert

OVERLAP = timedelta(minutes=3)
LISTING_PAGES_PER_POLL = 20  # 1,000 alerts a poll while a listing runs
INCREMENT_PAGES = 10  # beyond 500 changed alerts in one window, list everything again
MIN_LISTING_INTERVAL = timedelta(minutes=10)
LISTING_SECONDS_PER_PAGE = 9.0  # 200 pages (10,000 alerts): a full listing every 30 min
MAX_BY_ID = 20  # alerts behind my pages read by id in one poll


class AlertReader(Protocol):
    async def alert_pages(
        self,
        statuses: tuple[str, ...] | None = ...,
        *,
        updated_since: datetime | None = ...,
        after: str | None = ...,
        max_pages: int,
    ) -> tuple[tuple[Alert, ...], str | None]: ...

    async def get_alert(self, alert_id: str) -> Alert: ...


def listing_interval(size: int) -> timedelta:
    """How long between full listings of ``size`` firing alerts: at least ten minutes,
    and longer the more pages a listing costs, so its share of the budget stays flat."""
    pages = max(1, -(-size // 50))
    return max(MIN_LISTING_INTERVAL, timedelta(seconds=pages * LISTING_SECONDS_PER_PAGE))


@dataclass
class _Listing:
    started: datetime
    after: str | None = None
    seen: set[str] = field(default_factory=set)


@dataclass
class PollResult:
    """What one poll read: for the status detail and the benchmarks."""

    changed: int = 0
    removed: int = 0


class AlertTail:
    """The firing alerts of incident.io, kept up to date incrementally."""

    def __init__(self, reader: AlertReader) -> None:
        self.reader = reader
        self.alerts: dict[str, Alert] = {}
        self._touched: dict[str, datetime] = {}  # id -> when an increment last saw it
        self._since: datetime | None = None  # start of the next increment's window
        self._listing: _Listing | None = None
        self._next_listing: datetime | None = None
        self._listed_once = False
        self._wanted: set[str] = set()
        self._not_firing: set[str] = set()  # wanted ids read by id that were not firing
        self.last = PollResult()
        self.seeded = False  # started from the snapshot cache

    # -- state -----------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """True once a full listing has ended: the set holds every firing alert (as of
        the last poll)."""
        return self._listed_once

    @property
    def listing(self) -> bool:
        return self._listing is not None

    def snapshot(self) -> tuple[Alert, ...]:
        return tuple(self.alerts.values())

    def need(self, alert_ids: Iterable[str]) -> list[str]:
        """Remember alert ids that must be shown (behind pages that reach me); returns
        those not held yet."""
        missing = [a for a in alert_ids if a and a not in self.alerts and a not in self._not_firing]
        self._wanted.update(missing)
        return missing

    def seed(self, alerts: Iterable[Alert], at: datetime) -> None:
        """Start from alerts cached at ``at``: the first increment asks for what changed
        since then, and the first listing confirms the rest (and drops what it does not
        see)."""
        self.alerts = {a.id: a for a in alerts}
        self._since = at
        self.seeded = True

    # -- polling ---------------------------------------------------------------

    async def fetch_wanted(self) -> list[Alert]:
        """Read by id the wanted alerts not held yet (at most :data:`MAX_BY_ID`)."""
        wanted = [a for a in self._wanted if a not in self.alerts][:MAX_BY_ID]
        found: list[Alert] = []
        for alert_id in wanted:
            found.append(await self.reader.get_alert(alert_id))
            self._wanted.discard(alert_id)
        return found

    def add(self, alerts: Iterable[Alert], now: datetime) -> int:
        """Fold in alerts read by id (firing ones join the set); returns how many
        changed it."""
        changed = 0
        for alert in alerts:
            if alert.state == "firing":
                changed += self._upsert(alert)
                self._touched[alert.id] = now
            else:
                self._not_firing.add(alert.id)
        return changed

    async def poll(self, now: datetime) -> PollResult:
        """One poll: the increment since the last one, a few pages of a running (or due)
        listing, and the wanted alerts. Raises what the reader raises; what was read
        before the failing request stays folded in, and the next poll asks again."""
        result = PollResult()
        if self._listing is None and (self._next_listing is None or now >= self._next_listing):
            self._listing = _Listing(started=now)
        if self._since is not None:
            alerts, after = await self.reader.alert_pages(
                None, updated_since=self._since - OVERLAP, max_pages=INCREMENT_PAGES
            )
            for alert in alerts:
                if alert.state == "firing":
                    result.changed += self._upsert(alert)
                    self._touched[alert.id] = now
                elif self.alerts.pop(alert.id, None) is not None:
                    self._touched.pop(alert.id, None)
                    result.removed += 1
            if after is not None and self._listing is None:
                # More changed than one increment reads: list everything again.
                self._listing = _Listing(started=now)
        listing = self._listing
        if listing is not None:
            try:
                alerts, after = await self.reader.alert_pages(
                    ("firing",), after=listing.after, max_pages=LISTING_PAGES_PER_POLL
                )
            except ApiError as exc:
                if exc.status in (400, 404, 422) and listing.after is not None:
                    # The cursor no longer names a record: start the listing again.
                    self._listing = _Listing(started=now)
                raise
            for alert in alerts:
                listing.seen.add(alert.id)
                result.changed += self._upsert(alert)
            listing.after = after
            if after is None:
                result.removed += self._end_listing(listing)
                self._listing = None
                self._listed_once = True
                self._next_listing = now + listing_interval(len(self.alerts))
        result.changed += self.add(await self.fetch_wanted(), now)
        # The next increment reads what was written since this poll began (the first
        # listing's start, for the first one: increments cover what changes meanwhile).
        self._since = now
        self.last = result
        return result

    def _upsert(self, alert: Alert) -> int:
        old = self.alerts.get(alert.id)
        if old is not None and old == alert:
            return 0  # keep the old object: unchanged alerts stay the same object
        self.alerts[alert.id] = alert
        return 1

    def _end_listing(self, listing: _Listing) -> int:
        """A full listing ended: drop alerts it did not see, unless an increment saw them
        firing after it started (they fired after the listing passed their place)."""
        gone = [
            alert_id
            for alert_id in self.alerts
            if alert_id not in listing.seen
            and self._touched.get(alert_id, listing.started) <= listing.started
            and alert_id not in self._wanted
        ]
        for alert_id in gone:
            del self.alerts[alert_id]
            self._touched.pop(alert_id, None)
        return len(gone)
