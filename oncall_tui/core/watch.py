"""Watched pages and alerts: ``W`` marks one, and I am told when it resolves, or when its
metric rises again past its last peak.

The rule, for each watched item (:meth:`WatchList.check`):

* **resolved**: every page behind it is closed (resolved, expired, cancelled) and every
  alert resolved; or **gone**: some are no longer listed by sources that have answered
  since they were last seen (a source that is stale, or data from the last run's cache,
  proves nothing), and the rest are closed. The watch then ends, and the notice says so
  (and which of the two it was: a source may drop an alert for other reasons).
* **past its peak**: where the row has a metric, the peak is the highest value of the
  graph when it was watched. Once the value has come down from it, a sample above it is
  told, and that value becomes the new peak; it is told again only after it has come
  down and passed that one too (a steady climb is told once, not every minute).

The list is kept in a small JSON file in the app's data directory (mode 0600, written
atomically with :func:`~oncall_tui.core.snapcache.write_private`); a file that cannot be
read or written is logged and ignored: it never ends the app. Notices go through the one
notification path (:mod:`oncall_tui.core.notify`), so quiet and "never twice" apply.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from oncall_tui.core.notify import KIND_WATCH, Notice
from oncall_tui.core.snapcache import write_private
from oncall_tui.domain import (
    ALERT_RESOLVED,
    SOURCE_INCIDENT_IO,
    Alert,
    Page,
    Series,
    SourceHealth,
)
from oncall_tui.safety import clean_text

log = logging.getLogger(__name__)

FILE = "watched.json"
DEMO_FILE = "demo-watched.json"
VERSION = 1
MAX_WATCHED = 200
TITLE_LIMIT = 200

Format = Callable[[float, str], str]  # a value and its unit in words: "2.3 s"


def default_path(*, demo: bool = False) -> Path:
    from oncall_tui.config import default_data_dir  # imported when needed, not at start

    return default_data_dir() / (DEMO_FILE if demo else FILE)


@dataclass(frozen=True, slots=True)
class Watch:
    """One watched row: what it stands for, and its metric's peak so far."""

    key: str  # the row's key when it was watched
    title: str
    since: datetime
    page_ids: tuple[str, ...] = ()
    alert_keys: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # where its data comes from ("incident.io", "grafana:eu")
    metric_key: str = ""  # the alert whose metric is watched ("" for none)
    peak: float | None = None
    unit: str = ""
    armed: bool = False  # it has come down from the peak: passing it again is told
    last_seen: datetime | None = None  # when its pages or alerts were last listed

    def covers(self, key: str, page_ids: Iterable[str], alert_keys: Iterable[str]) -> bool:
        """Whether a row (by its key and items) is this watched item."""
        if key == self.key:
            return True
        return bool(set(page_ids) & set(self.page_ids) or set(alert_keys) & set(self.alert_keys))


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """What a check found for one watch: ``kind`` is "resolved", "gone" or "peak"."""

    watch: Watch
    kind: str
    value: float | None = None
    previous_peak: float | None = None


def _finite(series: Series | None, after: datetime | None = None) -> list[float]:
    if series is None:
        return []
    return [
        float(v)
        for t, v in series.points
        if isinstance(v, int | float) and math.isfinite(v) and (after is None or t > after)
    ]


def start(
    key: str,
    title: str,
    pages: Sequence[Page],
    alerts: Sequence[Alert],
    metric: Alert | None,
    series: Series | None,
    now: datetime,
) -> Watch:
    """A new watch of a row: its items, and the peak of its graph now (if it has one)."""
    values = _finite(series)
    sources = [SOURCE_INCIDENT_IO] if pages else []
    sources += [a.source_label for a in alerts]
    peak = max(values) if values else None
    return Watch(
        key=key,
        title=clean_text(title, limit=TITLE_LIMIT),
        since=now,
        page_ids=tuple(p.id for p in pages),
        alert_keys=tuple(a.key for a in alerts),
        sources=tuple(dict.fromkeys(sources)),
        metric_key=metric.key if metric is not None and values else "",
        peak=peak,
        unit=series.unit if series is not None and values else "",
        armed=bool(values) and values[-1] < max(values),
        last_seen=now,
    )


def watch_words(watch: Watch, fmt: Format) -> str:
    """What ``W`` did, exactly."""
    told = "you'll be told when it resolves"
    if watch.peak is None:
        told += " (it has no metric to watch for a new peak)"
    elif watch.armed:
        told += f" or passes {fmt(watch.peak, watch.unit)} again"
    else:  # at its peak now: a new peak counts once it has come down
        told += (
            f", or when it comes down and then passes its peak ({fmt(watch.peak, watch.unit)} now)"
        )
    return f"Watching “{watch.title}” — {told}."


def unwatch_words(watch: Watch) -> str:
    return f"Stopped watching “{watch.title}”."


def event_notice(event: WatchEvent, fmt: Format) -> Notice:
    """The notice for what a check found (its key makes it once only)."""
    w = event.watch
    if event.kind in ("resolved", "gone"):
        where = ", ".join(w.sources) or "its source"
        what = (
            "has resolved"
            if event.kind == "resolved"
            else f"is no longer listed by {where} (resolved, or removed there)"
        )
        return Notice(
            KIND_WATCH,
            f"watch:{w.key}:{w.since.isoformat()}:{event.kind}",
            "Watched: resolved" if event.kind == "resolved" else "Watched: gone",
            f"“{w.title}” {what}. It is no longer watched.",
            timeout=30.0,
        )
    value = fmt(event.value if event.value is not None else math.nan, w.unit)
    before = fmt(event.previous_peak if event.previous_peak is not None else math.nan, w.unit)
    return Notice(
        KIND_WATCH,
        f"watch:{w.key}:{w.since.isoformat()}:peak:{event.value!r}",
        "Watched: rising again",
        f"“{w.title}” passed its last peak: now {value}, the peak was {before}.",
        level="warning",
        timeout=30.0,
    )


def _ended(
    watch: Watch,
    pages: Mapping[str, Page],
    alerts: Mapping[str, Alert],
    health: Sequence[SourceHealth],
    now: datetime,
    cached: bool,
) -> tuple[str, bool]:
    """("resolved" | "gone" | "", whether any of its items is listed now)."""
    listed_pages = [pages[p] for p in watch.page_ids if p in pages]
    listed_alerts = [alerts[k] for k in watch.alert_keys if k in alerts]
    listed = bool(listed_pages or listed_alerts)
    if any(p.is_open for p in listed_pages):
        return "", listed
    if any(a.state != ALERT_RESOLVED and a.resolved_at is None for a in listed_alerts):
        return "", listed
    if len(listed_pages) + len(listed_alerts) == len(watch.page_ids) + len(watch.alert_keys):
        return "resolved", listed  # all listed, all closed
    # Some are no longer listed: only sources that answered since prove they are gone.
    if cached or watch.last_seen is None:
        return "", listed
    by_name = {h.name: h for h in health}
    for name in watch.sources:
        h = by_name.get(name)
        if h is None or h.last_ok is None or h.last_ok <= watch.last_seen or h.is_stale(now):
            return "", listed
    return "gone", listed


def _peak(watch: Watch, series: Series | None) -> tuple[Watch, WatchEvent | None]:
    if watch.peak is None or series is None:
        return watch, None
    values = _finite(series, after=watch.since)
    if not values:
        return watch, None
    latest = values[-1]
    top = max(values)
    if watch.armed and top > watch.peak:
        event = WatchEvent(watch, "peak", value=top, previous_peak=watch.peak)
        return replace(watch, peak=top, armed=latest < top), event
    if top > watch.peak:  # still climbing from where it was watched: a new peak, quietly
        return replace(watch, peak=top, armed=latest < top), None
    return replace(watch, armed=watch.armed or latest < watch.peak), None


@dataclass
class WatchList:
    """The watched items, kept in ``path`` (None: in memory only)."""

    path: Path | None
    items: dict[str, Watch] = field(default_factory=dict)
    problem: str = ""  # why the file could not be read or written, if it could not
    # Which configuration (or which run of the demo world) the list belongs to: a list
    # written for another one is not read (its items would all look gone).
    identity: str = ""
    _index: tuple[frozenset[str], frozenset[str], frozenset[str]] | None = None

    @classmethod
    def load(cls, path: Path | None, identity: str = "") -> WatchList:
        found = cls(path, identity=identity)
        if path is None:
            return found
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or raw.get("identity", identity) != identity:
                return found  # another configuration's list (or not a list at all)
            for entry in raw.get("watched", []):
                watch = _from_json(entry)
                if watch is not None:
                    found.items[watch.key] = watch
        except FileNotFoundError:
            pass
        except Exception as exc:  # damaged or unreadable: start empty, say why
            found.problem = f"the watch list {path} could not be read ({type(exc).__name__})"
            log.warning("%s", found.problem)
        return found

    def save(self) -> bool:
        """Write the list (atomically, mode 0600). Never raises; False when it could not."""
        if self.path is None:
            return True
        body = {
            "version": VERSION,
            "identity": self.identity,
            "watched": [_to_json(w) for w in self.items.values()],
        }
        try:
            write_private(self.path, json.dumps(body, indent=1).encode())
        except Exception as exc:  # a full or read-only disk: the watch lives in memory
            self.problem = f"the watch list could not be saved ({clean_text(str(exc), limit=120)})"
            log.warning("%s", self.problem)
            return False
        self.problem = ""
        return True

    def find(self, key: str, page_ids: Iterable[str], alert_keys: Iterable[str]) -> Watch | None:
        page_ids, alert_keys = tuple(page_ids), tuple(alert_keys)
        return next((w for w in self.items.values() if w.covers(key, page_ids, alert_keys)), None)

    def watches(self, row: Any) -> bool:
        """Whether a row (anything with ``key``, ``page_ids`` and ``alert_keys``) is
        watched: by its key, or by one of its pages or alerts (set look-ups only)."""
        if not self.items:
            return False
        if self._index is None:
            self._index = (
                frozenset(self.items),
                frozenset(p for w in self.items.values() for p in w.page_ids),
                frozenset(k for w in self.items.values() for k in w.alert_keys),
            )
        keys, pages, alerts = self._index
        return row.key in keys or not (
            pages.isdisjoint(row.page_ids) and alerts.isdisjoint(row.alert_keys)
        )

    def add(self, watch: Watch) -> bool:
        """Watch it; False when the list is full."""
        if len(self.items) >= MAX_WATCHED and watch.key not in self.items:
            return False
        self.items[watch.key] = watch
        self._index = None
        self.save()
        return True

    def remove(self, watch: Watch) -> None:
        self.items.pop(watch.key, None)
        self._index = None
        self.save()

    def check(
        self,
        pages: Mapping[str, Page],
        alerts: Mapping[str, Alert],
        series: Mapping[str, Series | None],
        health: Sequence[SourceHealth],
        now: datetime,
        *,
        cached: bool = False,
    ) -> list[WatchEvent]:
        """What happened to each watched item since the last check (see the module's
        rule); resolved ones leave the list. ``series`` by the watch's metric key."""
        events: list[WatchEvent] = []
        changed = False
        for key, watch in list(self.items.items()):
            ended, listed = _ended(watch, pages, alerts, health, now, cached)
            if ended:
                events.append(WatchEvent(watch, ended))
                del self.items[key]
                self._index = None
                changed = True
                continue
            updated, event = _peak(watch, series.get(watch.metric_key))
            if listed:
                updated = replace(updated, last_seen=now)
            if event is not None:
                events.append(event)
            if updated != watch:
                self.items[key] = updated
                changed = changed or updated.peak != watch.peak or updated.armed != watch.armed
        if changed:
            self.save()
        return events


def _to_json(watch: Watch) -> dict[str, object]:
    body = asdict(watch)
    for name in ("since", "last_seen"):
        value = body[name]
        body[name] = value.isoformat() if isinstance(value, datetime) else None
    return body


def _from_json(entry: object) -> Watch | None:
    """A watch from the file, or None for an entry that does not make one."""
    if not isinstance(entry, dict):
        return None
    try:
        since = datetime.fromisoformat(str(entry["since"]))
        if since.tzinfo is None:
            return None
        seen = entry.get("last_seen")
        peak = entry.get("peak")
        return Watch(
            key=str(entry["key"]),
            title=clean_text(str(entry.get("title", "")), limit=TITLE_LIMIT),
            since=since,
            page_ids=tuple(str(p) for p in entry.get("page_ids", ())),
            alert_keys=tuple(str(k) for k in entry.get("alert_keys", ())),
            sources=tuple(str(s) for s in entry.get("sources", ())),
            metric_key=str(entry.get("metric_key", "")),
            peak=float(peak) if isinstance(peak, int | float) else None,
            unit=clean_text(str(entry.get("unit", "")), limit=20),
            armed=bool(entry.get("armed", False)),
            last_seen=_aware(seen),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _aware(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    when = datetime.fromisoformat(value)
    return when if when.tzinfo is not None else None
