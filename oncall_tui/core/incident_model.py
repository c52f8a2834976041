"""What the incident actions work with: limits and names, the lead's checklist, the
account's look-ups (severities, statuses, types, roles), a declare draft, a timeline's data,
role changes seen, a queued write, and an incident's Slack link and list order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import quote

from oncall_tui import __version__
from oncall_tui.config import default_data_dir
from oncall_tui.core.actions import ActionError, new_key
from oncall_tui.core.alerts import page_severity
from oncall_tui.core.outbox import (
    STATE_DISMISSED,
    STATE_FAILED,
    OutboxItem,
)
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_RUNBOOK,
    LINK_SOURCE,
    LISTED_STATUS_CATEGORIES,
    OPEN_STATUS_CATEGORIES,
    TIMELINE_NOTE,
    TIMELINE_UPDATE,
    Alert,
    Incident,
    IncidentRole,
    IncidentStatus,
    IncidentType,
    IncidentUpdate,
    Page,
    RoleChange,
    Severity,
    TimelineEntry,
    TimelineItem,
    User,
)
from oncall_tui.safety import clean_text, openable_url

TOOL = f"oncall-tui {__version__}"

OUTBOX_FILE = "outbox.sqlite3"
DEMO_OUTBOX_FILE = "demo-outbox.sqlite3"

NAME_LIMIT = 250  # incident names
TITLE_LIMIT = 200  # a timeline item's title: the first line of a note, cut here
MAX_NOTE_CHARS = 200_000  # a pasted log is fine; a whole file is not a note
MAX_SUMMARY_CHARS = 20_000
MAX_LINKED_ALERTS = 25  # alerts fetched one by one for the timeline
MAX_PAGES = 100

# Shown first, in this order; anything else (an unknown category) after them.
CATEGORY_ORDER = LISTED_STATUS_CATEGORIES


def outbox_path(demo: bool = False) -> Path:
    """Where notes wait to be sent. The demo world has its own file."""
    return default_data_dir() / (DEMO_OUTBOX_FILE if demo else OUTBOX_FILE)


STATE_HELD = "held"  # shown for a write that waits behind a refused one
REF_TARGET = "ref:"  # an outbox target queued by reference, resolved on delivery
SIGNATURE = "— "  # the author line carried at the end of a delivered note


class NotSaved(ActionError):
    """The local file could not take the write (disk full, read-only, damaged). Nothing
    was stored: the caller keeps the text in front of the user."""


def signed(text: str, author: str) -> str:
    """The note as sent: the user's text and, on a line of its own, who wrote it
    (incident.io credits notes made with an API key to the key, not to a person)."""
    if not author:
        return text
    return f"{text.rstrip()}\n\n{SIGNATURE}{author}"


def signature_of(text: str) -> tuple[str, str]:
    """(text without the author line, author) of a note as delivered."""
    body, sep, last = text.rstrip().rpartition("\n")
    if sep and last.startswith(SIGNATURE) and 0 < len(last) - len(SIGNATURE) <= 100:
        return body.rstrip(), last[len(SIGNATURE) :].strip()
    if not sep and text.startswith(SIGNATURE):
        return "", text[len(SIGNATURE) :].strip()
    return text, ""


# ------------------------------------------------------------------- the checklist


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    label: str
    short: str


CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("call", "The right people are on the call", "people"),
    ChecklistItem("notes", "Notes are being taken", "notes"),
    ChecklistItem("banner", "Status banner updated", "banner"),
    ChecklistItem("statuspage", "Status page updated", "status page"),
    ChecklistItem("announce", "Announcement posted", "announced"),
)
CHECK_DONE = "Lead checklist, done:"
CHECK_UNDONE = "Lead checklist, not done any more:"


def checklist_title(item: ChecklistItem, done: bool) -> str:
    return f"{CHECK_DONE if done else CHECK_UNDONE} {item.label}"


@dataclass(frozen=True, slots=True)
class CheckState:
    item: ChecklistItem
    done: bool
    by: str = ""
    at: datetime | None = None
    pending: bool = False


def checklist_state(entries: Iterable[TimelineEntry]) -> tuple[CheckState, ...]:
    """Each checklist item's state, read from the timeline (the last tick wins).

    A tick is a note whose first line is :func:`checklist_title`; when the account
    has no timeline notes it arrives as an incident update message, so both kinds are
    read. A tick still in the outbox counts (marked ``pending``); a refused one does not.
    """
    by_title = {}
    for item in CHECKLIST:
        by_title[checklist_title(item, True).casefold()] = (item, True)
        by_title[checklist_title(item, False).casefold()] = (item, False)
    states = {item.id: CheckState(item, False) for item in CHECKLIST}
    for entry in sorted(entries, key=lambda e: e.at):
        if entry.kind not in (TIMELINE_NOTE, TIMELINE_UPDATE):
            continue
        if entry.state in (STATE_FAILED, "needs_attention", STATE_DISMISSED):
            continue
        candidates = [entry.text]
        if entry.detail:
            candidates.append(entry.detail.strip().splitlines()[0])
        for text in candidates:
            hit = by_title.get(text.strip().casefold())
            if hit is not None:
                item, done = hit
                states[item.id] = CheckState(item, done, entry.author, entry.at, entry.pending)
                break
    return tuple(states[item.id] for item in CHECKLIST)


# ------------------------------------------------------------------------ lookups


class _Named(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def _by_id_or_name(items: Iterable[N], ident: str) -> N | None:
    """The item whose id is ``ident``, or whose name is, whatever the case."""
    wanted = ident.strip().casefold()
    return next((i for i in items if i.id == ident or i.name.casefold() == wanted), None)


@dataclass(frozen=True, slots=True)
class Lookups:
    """The account's severities (least severe first), statuses, roles and types."""

    severities: tuple[Severity, ...] = ()
    statuses: tuple[IncidentStatus, ...] = ()
    roles: tuple[IncidentRole, ...] = ()
    types: tuple[IncidentType, ...] = ()

    def severity(self, ident: str) -> Severity | None:
        """By id or (case-insensitive) name."""
        return _by_id_or_name(self.severities, ident)

    def status(self, ident: str) -> IncidentStatus | None:
        return _by_id_or_name(self.statuses, ident)

    def incident_type(self, ident: str) -> IncidentType | None:
        return _by_id_or_name(self.types, ident)

    @property
    def lead_role(self) -> IncidentRole | None:
        return next((r for r in self.roles if r.role_type == "lead"), None)

    def close_status(self, incident: Incident) -> IncidentStatus | None:
        """Where closing moves the incident: the first post-incident (learning) status,
        or, when there is none or the incident is already there, the first closed one."""
        ordered = sorted(self.statuses, key=lambda s: s.rank)
        learning = [s for s in ordered if s.category == "learning"]
        closed = [s for s in ordered if s.category == "closed"]
        if incident.status.category in (*OPEN_STATUS_CATEGORIES, "paused") and learning:
            return learning[0]
        return closed[0] if closed else None


def severity_guidance(severity: Severity, guidance: dict[str, str]) -> str:
    """Our own words for a severity (``[ui] severity_guidance``), else the account's."""
    ours = guidance.get(severity.name.strip().casefold())
    if ours is None:
        ours = next(
            (v for k, v in guidance.items() if k.casefold() == severity.name.casefold()), None
        )
    return clean_text(ours or severity.description or "", limit=1000)


# ----------------------------------------------------------------------- declaring


@dataclass
class DeclareDraft:
    """What the declare form holds. ``key`` is made once and kept until the incident
    exists: resubmitting after a failure reuses it, so incident.io opens it only once."""

    name: str = ""
    summary: str = ""
    severity_id: str = ""
    type_id: str = ""
    private: bool = False
    me_as_lead: bool = True
    key: str = field(default_factory=lambda: new_key("declare"))
    from_alert: str = ""  # the alert's key, when declared from one
    alert_severity: str = ""  # the alert's (or page's) severity, to pre-select from


def draft_from_alert(alert: Alert | None, page: Page | None = None) -> DeclareDraft:
    """A draft prefilled from the selected alert (or page): its title as the name, and a
    summary carrying its description and links (incident.io's API cannot attach an
    alert to a new incident, so its links travel in the summary)."""
    draft = DeclareDraft()
    if alert is None and page is None:
        return draft
    source = alert or page
    title = clean_text(source.title if source is not None else "", limit=NAME_LIMIT)
    draft.name = title
    lines: list[str] = []
    if alert is not None:
        draft.alert_severity = alert.severity
    elif page is not None:
        draft.alert_severity = page_severity(page)
    if alert is not None:
        draft.from_alert = alert.key
        description = clean_text(alert.description, limit=2000, multiline=True).strip()
        if description:
            lines += [description, ""]
        lines.append(
            f"Declared from the alert “{title}” ({clean_text(alert.source_label, limit=100)}, "
            f"{clean_text(alert.severity, limit=30) or 'no severity'}, firing since "
            f"{alert.started_at:%Y-%m-%d %H:%M} UTC)."
        )
        for kind, label in (
            (LINK_RUNBOOK, "Runbook"),
            (LINK_DASHBOARD, "Dashboard"),
            (LINK_SOURCE, "Alert"),
        ):
            link = alert.link(kind)
            if link.url:
                lines.append(f"{label}: {link.url}")
    if page is not None:
        lines.append(
            f"Page: “{clean_text(page.title, limit=200)}” ({clean_text(page.status, limit=30)})."
        )
    draft.summary = "\n".join(lines).strip()
    return draft


@dataclass(frozen=True, slots=True)
class Declared:
    incident: Incident
    message: str


# ------------------------------------------------------------------------ timeline


@dataclass(frozen=True, slots=True)
class TimelineData:
    """What the server knows about one incident's story (the outbox is merged later)."""

    incident: Incident
    updates: tuple[IncidentUpdate, ...] = ()
    items: tuple[TimelineItem, ...] = ()
    pages: tuple[Page, ...] = ()
    alerts: tuple[Alert, ...] = ()
    role_changes: tuple[RoleChange, ...] = ()
    problems: tuple[str, ...] = ()
    fetched_at: datetime | None = None


class RoleWatcher:
    """Role changes seen between polls, for accounts whose timeline API (which records
    them itself) is not available."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, tuple[IncidentRole, User | None]]] = {}
        self.changes: dict[str, list[RoleChange]] = {}

    def observe(self, incident: Incident, at: datetime) -> tuple[RoleChange, ...]:
        now = {a.role.id: (a.role, a.assignee) for a in incident.roles}
        before = self._seen.get(incident.id)
        self._seen[incident.id] = now
        found = self.changes.setdefault(incident.id, [])
        if before is not None:
            for role_id in sorted(set(now) | set(before)):
                role, who = now.get(role_id, (before.get(role_id, (None, None))[0], None))
                was = before.get(role_id, (None, None))[1]
                if (who.id if who else None) != (was.id if was else None) and role is not None:
                    found.append(
                        RoleChange(
                            at=at, role=role.name, assignee=who, previous=was, id=f"seen:{at}"
                        )
                    )
        del found[:-50]
        return tuple(found)


@dataclass(frozen=True, slots=True)
class Queued:
    """A write committed to the outbox: it will be delivered, and shows at once."""

    item: OutboxItem
    message: str


# ------------------------------------------------------------------------- actions


def _who(user: User | None) -> str:
    if user is None:
        return "nobody"
    return clean_text(user.name or user.email or user.id, limit=100)


def slack_url(incident: Incident) -> str | None:
    """A link that opens the incident's Slack channel (Slack resolves the workspace)."""
    if not incident.slack_channel_id:
        return None
    url = f"https://slack.com/app_redirect?channel={quote(incident.slack_channel_id, safe='')}"
    return openable_url(url)[0]


def sort_incidents(incidents: Iterable[Incident]) -> list[Incident]:
    """Triage and live first, then paused, then post-incident; within a group the most
    severe, then the newest."""

    def key(incident: Incident) -> tuple[int, int, float]:
        category = incident.status.category
        group = (
            CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)
        )
        rank = incident.severity.rank if incident.severity else -1
        return (group, -rank, -incident.created_at.timestamp())

    return sorted(incidents, key=key)
