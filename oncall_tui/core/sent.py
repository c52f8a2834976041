"""What I sent is not a firing alert: escalations, shadow requests and incident pages I made.

incident.io lists a page I made (``e`` escalate, ``S`` ask a colleague to shadow, paging
someone into an incident) like any other page, so it used to show as a row of its own
("◇ CRIT triggered", with no links). The rule here decides, once for the dashboard and
the command line, which pages are rows:

- a page is **sent by me** when this tool made it (its id is in the :class:`SentLedger`,
  a small local file the actions write to) or incident.io names me as its creator (made
  in the web app or Slack as me);
- a page sent by me is **not a row**, unless it is paging me now (a drill I sent myself
  still wakes me, and must show);
- it belongs to what it was sent about: the page or alert it was sent from (the ledger
  keeps that), else the incident it pages into, else the alerts it names. It shows in
  that row's detail (and under that row in ``oncall-tui alerts``), with its id, state and
  who it pages.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from oncall_tui.core import paging, timefmt
from oncall_tui.domain import EscalationPath, Page, User
from oncall_tui.safety import clean_text

log = logging.getLogger(__name__)

SENT_FILE = "sent.json"
KEEP_DAYS = 14  # a page lasts hours; its record is kept a while longer, then pruned
MAX_RECORDS = 2000

# What a page was sent about, as "kind:id" (kind: page, alert, alert-id, incident).
PARENT_PAGE = "page:"
PARENT_ALERT = "alert:"  # an alert's key (as the row holds it)
PARENT_ALERT_ID = "alert-id:"  # an alert's id (as incident.io relates it to a page)
PARENT_INCIDENT = "incident:"

KIND_ESCALATE = "escalation"
KIND_SHADOW = "shadow request"
KIND_INCIDENT_PAGE = "incident page"
KIND_OTHER = "page"  # made as me elsewhere (web app, Slack)


@dataclass(frozen=True, slots=True)
class SentRecord:
    page_id: str
    parent: str  # "page:ID", "alert:KEY", "incident:ID"
    kind: str
    at: datetime


class SentLedger:
    """The pages this tool made, with what each was sent about: a small JSON file (or
    memory only, with no path). A file that cannot be read or written is logged and
    left; the ledger then works from memory."""

    def __init__(
        self, path: Path | None = None, *, clock: Callable[[], datetime] = timefmt.utcnow
    ) -> None:
        self.path = path
        self._clock = clock
        self._records: dict[str, SentRecord] = {}
        self.version = 0  # moves with every change (views cache on it)
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            items = data.get("sent", []) if isinstance(data, dict) else []
            for item in items[-MAX_RECORDS:]:
                record = SentRecord(
                    str(item["id"]),
                    str(item["parent"]),
                    str(item.get("kind", KIND_OTHER)),
                    datetime.fromisoformat(str(item["at"])),
                )
                self._records[record.page_id] = record
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("the record of pages sent from here could not be read: %s", exc)

    def _save(self) -> None:
        if self.path is None:
            return
        cutoff = self._clock() - timedelta(days=KEEP_DAYS)
        kept = [r for r in self._records.values() if r.at >= cutoff][-MAX_RECORDS:]
        self._records = {r.page_id: r for r in kept}
        body = {
            "sent": [
                {"id": r.page_id, "parent": r.parent, "kind": r.kind, "at": r.at.isoformat()}
                for r in kept
            ]
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("the record of pages sent from here could not be saved: %s", exc)

    def record(self, page_id: str, parent: str, kind: str) -> None:
        """Remember that this tool made page ``page_id`` about ``parent``."""
        if not page_id:
            return
        self._records[page_id] = SentRecord(page_id, parent, kind, self._clock())
        self.version += 1
        self._save()

    def get(self, page_id: str) -> SentRecord | None:
        return self._records.get(page_id)

    def __contains__(self, page_id: object) -> bool:
        return page_id in self._records

    def __len__(self) -> int:
        return len(self._records)


def parent_of(item: object) -> str:
    """What a page is sent about, for the ledger: a page, or an alert (by its key)."""
    if isinstance(item, Page):
        return PARENT_PAGE + item.id
    key = getattr(item, "key", "")
    return PARENT_ALERT + key if key else ""


@dataclass(frozen=True, slots=True)
class SentItem:
    """A page I sent, and what it belongs to (``parents``: "kind:id" strings, the
    first the most precise; empty when nothing is known)."""

    page: Page
    kind: str
    parents: tuple[str, ...]

    @property
    def incident_id(self) -> str | None:
        for parent in self.parents:
            if parent.startswith(PARENT_INCIDENT):
                return parent.removeprefix(PARENT_INCIDENT)
        return None


def is_sent_by_me(page: Page, me: User | None, ledger: SentLedger | None) -> bool:
    """This tool made the page, or incident.io names me as its creator."""
    if ledger is not None and page.id in ledger:
        return True
    return bool(me is not None and page.creator_id and page.creator_id == me.id)


def sent_item(page: Page, ledger: SentLedger | None) -> SentItem:
    record = ledger.get(page.id) if ledger is not None else None
    parents: list[str] = []
    kind = KIND_OTHER
    if record is not None:
        parents.append(record.parent)
        kind = record.kind
    parents += [PARENT_INCIDENT + i for i in page.incident_ids]
    parents += [PARENT_ALERT_ID + a for a in page.alert_ids]
    if kind == KIND_OTHER and page.incident_ids:
        kind = KIND_INCIDENT_PAGE
    return SentItem(page, kind, tuple(dict.fromkeys(p for p in parents if p)))


@dataclass(frozen=True, slots=True)
class Split:
    """Pages that are rows (the very tuple given when nothing is left out, so views that
    cache on it keep their work), and the pages I sent that are not."""

    rows: tuple[Page, ...]
    sent: tuple[SentItem, ...]


class PageRows:
    """:func:`split` remembered for the last pages, paths, me and ledger version: the
    dashboard asks on every redraw, the answer changes only with the data."""

    def __init__(self, ledger: SentLedger | None) -> None:
        self.ledger = ledger
        self._key: tuple[Any, ...] = ()
        self._last = Split((), ())

    def split(
        self,
        pages: tuple[Page, ...],
        paths: Sequence[EscalationPath],
        me: User | None,
    ) -> Split:
        version = self.ledger.version if self.ledger is not None else 0
        key = (pages, paths, me, version)
        if len(self._key) == 4 and all(a is b for a, b in zip(self._key, key, strict=True)):
            return self._last
        self._key = key
        self._last = split(pages, paths, me, self.ledger)
        return self._last


def split(
    pages: tuple[Page, ...],
    paths: Sequence[EscalationPath],
    me: User | None,
    ledger: SentLedger | None,
) -> Split:
    """Which pages are rows: all but those I sent, unless one of those is paging me now."""
    if not pages or (not ledger and me is None):
        return Split(pages, ())
    paths_by_id: Mapping[str, EscalationPath] | None = None
    sent: list[SentItem] = []
    for page in pages:
        if not is_sent_by_me(page, me, ledger):
            continue
        if paths_by_id is None:
            paths_by_id = {p.id: p for p in paths}
        path = paths_by_id.get(page.path_id or "")
        if paging.is_mine(page, path, me):
            continue  # it pages me (or I acked it): a row like any page to me
        sent.append(sent_item(page, ledger))
    if not sent:
        return Split(pages, ())
    hidden = {s.page.id for s in sent}
    return Split(tuple(p for p in pages if p.id not in hidden), tuple(sent))


def row_tokens(
    page_ids: Iterable[str], alert_keys: Iterable[str], alert_ids: Iterable[str]
) -> set[str]:
    """What a row stands for, in the "kind:id" words of :attr:`SentItem.parents`."""
    tokens = {PARENT_PAGE + p for p in page_ids}
    tokens.update(PARENT_ALERT + k for k in alert_keys)
    tokens.update(PARENT_ALERT_ID + a for a in alert_ids)
    return tokens


def belonging(sent: Sequence[SentItem], tokens: set[str]) -> tuple[SentItem, ...]:
    """The pages I sent that belong to a row (by its :func:`row_tokens`), newest first."""
    found = [s for s in sent if any(p in tokens for p in s.parents)]
    found.sort(key=lambda s: s.page.created_at, reverse=True)
    return tuple(found)


def paged_people(page: Page) -> str:
    """Who the page notified, by name ("Kofi Mensah, Ana Souza"), else ""."""
    names: list[str] = []
    for event in page.events:
        if event.event == "notified_users":
            for user in event.users:
                name = clean_text(user.name or user.id, limit=60)
                if name not in names:
                    names.append(name)
    return ", ".join(names)


def sent_words(item: SentItem, now: datetime, zone: timefmt.ZoneLike = None) -> str:
    """One line about a page I sent: "shadow request “T” · triggered · paged Kofi
    Mensah · Thu 18:02 UTC (3m ago) · id 01J…"."""
    page = item.page
    parts = [
        f"{item.kind} “{clean_text(page.title, limit=120)}”",
        clean_text(page.status, limit=40) or "?",
    ]
    who = paged_people(page)
    if who:
        parts.append(f"paged {who}")
    when = timefmt.format_time(page.created_at, zone, now=now)
    parts.append(f"{when} ({timefmt.ago(page.created_at, now)})")
    parts.append(f"id {clean_text(page.id, limit=80)}")
    return " · ".join(parts)
