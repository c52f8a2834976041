"""The incident timeline: one time-ordered story, and its markdown export.

:func:`merge_timeline` merges what the server knows (incident creation, incident updates
with their status and severity changes, timeline items, pages and their acks, linked
alerts firing and resolving, role changes) with what is still only local (notes and
updates in the outbox). A local write is shown, marked pending, until the server lists
it; then the server's copy replaces it (matched by the id the server gave it).

:func:`timeline_markdown` writes the whole timeline for the incident analysis, with a
header and room for what surprised us and the follow-ups. Every string from an API (or
typed by the user) is escaped so it reads as text: a note starting with ``#`` does not
become a heading, a ``|`` does not split a table cell, ``[x](y)`` is not a link.

Both are pure: the time zone and "now" are parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from oncall_tui.core.outbox import (
    ATTENTION_STATES,
    KIND_NOTE,
    KIND_UPDATE,
    STATE_DELIVERED,
    STATE_DISMISSED,
    STATE_FAILED,
    STATE_NEEDS_ATTENTION,
)
from oncall_tui.core.timefmt import ZoneLike, format_duration, resolve_zone, zone_label, zone_name
from oncall_tui.domain import (
    OPEN_STATUS_CATEGORIES,
    TIMELINE_ALERT,
    TIMELINE_CREATED,
    TIMELINE_NOTE,
    TIMELINE_PAGE,
    TIMELINE_ROLE,
    TIMELINE_UPDATE,
    Alert,
    Incident,
    IncidentUpdate,
    Page,
    PageEvent,
    RoleChange,
    TimelineEntry,
    TimelineItem,
    User,
)
from oncall_tui.safety import clean_long_text, clean_text, openable_url

__all__ = [
    "LocalWrite",
    "merge_timeline",
    "resolution_time",
    "timeline_markdown",
]

NAME_LIMIT = 200
TITLE_LIMIT = 1000


class LocalWrite(Protocol):
    """What the timeline needs from an outbox item (:class:`~.outbox.OutboxItem`), read
    only."""

    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def state(self) -> str: ...
    @property
    def remote_id(self) -> str | None: ...


# ------------------------------------------------------------------------ helpers


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return clean_text(user.name or user.email or user.id, limit=NAME_LIMIT)


def _names(users: Iterable[User]) -> str:
    names = [n for n in (_name(u) for u in users) if n]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return _utc(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return _utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def _text(value: object, limit: int = TITLE_LIMIT) -> str:
    return clean_text(value, limit=limit)


# --------------------------------------------------------------------- the merge


_SIGNATURE = "— "
_ACTIVITY_CHANGE = re.compile(r"^(Status|Severity) changed to (.+)$")
_FROM = re.compile(r"^From (.+?)(?: to .+)?\.$")
SAME_CHANGE_SECONDS = 120  # an activity item this close to an update is the same change


def _signed(text: str, author: str) -> tuple[str, str]:
    """(text, author): a note delivered with its author line ("— Robin Ahn") is shown
    without it, credited to that person rather than to the API key."""
    body, sep, last = text.rstrip().rpartition("\n")
    if sep and last.startswith(_SIGNATURE) and 0 < len(last) - len(_SIGNATURE) <= NAME_LIMIT:
        return body.rstrip(), _text(last[len(_SIGNATURE) :], NAME_LIMIT)
    if not sep and text.startswith(_SIGNATURE) and len(text) <= NAME_LIMIT + 2:
        return "", _text(text[len(_SIGNATURE) :], NAME_LIMIT)
    return text, author


def _item_time(item: TimelineItem) -> datetime:
    """When the server made it: a note's own timestamp is the sender's clock, which may
    be wrong, so the server's creation time orders delivered notes."""
    return _utc(item.created_at or item.timestamp)


def _is_duplicate_change(
    item: TimelineItem, incident: Incident, updates: list[IncidentUpdate]
) -> bool:
    """An activity item that repeats an incident update (or the declaration)."""
    at = _item_time(item)
    if item.title.strip() == "Incident declared":
        return abs((at - _utc(incident.created_at)).total_seconds()) <= SAME_CHANGE_SECONDS
    match = _ACTIVITY_CHANGE.match(item.title.strip())
    if match is None:
        return False
    what, name = match.group(1), match.group(2).strip().casefold()
    for update in updates:
        new = update.new_status if what == "Status" else update.new_severity
        if new is None or new.name.strip().casefold() != name:
            continue
        if abs((_utc(update.created_at) - at).total_seconds()) <= SAME_CHANGE_SECONDS:
            return True
    return False


def declared_severity(
    incident: Incident, updates: Iterable[IncidentUpdate], items: Iterable[TimelineItem]
) -> str | None:
    """The severity the incident was declared with: its severity now if it never
    changed; else the "from" of the first recorded severity change; None if unknown."""
    changes = sorted(
        (i for i in items if (i.title or "").startswith("Severity changed to")),
        key=_item_time,
    )
    for item in changes:
        found = _FROM.match((item.description or "").strip())
        if found:
            return _text(found.group(1), NAME_LIMIT)
    current = incident.severity.name if incident.severity is not None else None
    ordered = sorted(updates, key=lambda u: _utc(u.created_at))
    # incident.io records the declaration as the first update, carrying the severity
    first = ordered[0] if ordered else None
    if (
        first is not None
        and first.new_severity is not None
        and abs((_utc(first.created_at) - _utc(incident.created_at)).total_seconds())
        <= SAME_CHANGE_SECONDS
    ):
        return _text(first.new_severity.name, NAME_LIMIT)
    severities = [u.new_severity for u in ordered if u.new_severity is not None]
    never_changed = not severities or (
        all(s.id == severities[0].id for s in severities)
        and (incident.severity is None or severities[0].id == incident.severity.id)
    )
    if never_changed and current:
        return _text(current, NAME_LIMIT)
    return None


def _update_entries(
    incident: Incident, updates: Iterable[IncidentUpdate], declared: str | None = None
) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    prev_status = None
    prev_severity = None
    declared_name = declared
    ordered = sorted(
        (u for u in updates if not u.incident_id or u.incident_id == incident.id),
        key=lambda u: _utc(u.created_at),
    )
    for update in ordered:
        parts: list[str] = []
        status, severity = update.new_status, update.new_severity
        if status is not None and (prev_status is None or status.id != prev_status.id):
            now_name = _text(status.name, NAME_LIMIT) or "?"
            if prev_status is not None:
                was = _text(prev_status.name, NAME_LIMIT) or "?"
                parts.append(f"Status: {now_name} (was {was})")
            else:
                parts.append(f"Status: {now_name}")
        if severity is not None and (prev_severity is None or severity.id != prev_severity.id):
            now_name = _text(severity.name, NAME_LIMIT) or "?"
            if prev_severity is not None:
                was = _text(prev_severity.name, NAME_LIMIT) or "?"
                parts.append(f"Severity: {now_name} (was {was})")
            elif declared_name and declared_name != now_name:
                parts.append(f"Severity: {now_name} (was {declared_name})")
            else:
                parts.append(f"Severity: {now_name}")
        if status is not None:
            prev_status = status
        if severity is not None:
            prev_severity = severity
        message, author = _signed(
            clean_long_text(update.message).strip(), _text(update.author, NAME_LIMIT)
        )
        if not parts and not message:
            continue  # nothing changed and nothing said: not a story line
        entries.append(
            TimelineEntry(
                at=_utc(update.created_at),
                kind=TIMELINE_UPDATE,
                text="; ".join(parts) or "Update",
                author=author,
                detail=message,
                ref=update.id,
            )
        )
    return entries


def _item_entries(
    incident: Incident, items: Iterable[TimelineItem], updates: list[IncidentUpdate]
) -> list[TimelineEntry]:
    entries = []
    for item in items:
        if item.incident_id and item.incident_id != incident.id:
            continue
        if _is_duplicate_change(item, incident, updates):
            continue
        detail, author = _signed(
            clean_long_text(item.description).strip(), _text(item.author, NAME_LIMIT)
        )
        title = _text(item.title) or "Note"
        if not detail and not item.description:
            title, author = _signed(title, author)
        entries.append(
            TimelineEntry(
                at=_item_time(item),
                kind=TIMELINE_NOTE,
                text=title or "Note",
                author=author,
                detail=detail,
                ref=item.id,
            )
        )
    return entries


_PAGE_VERBS = {
    "acked": "acknowledged",
    "nacked": "declined",
    "declined": "declined",
    "snoozed": "snoozed",
}


def _page_event_text(page: Page, event: PageEvent) -> tuple[str, str]:
    """(text, author) for one page event."""
    title = _text(page.title) or "a page"
    who = _names(event.users)
    kind = event.event
    if kind == "triggered":
        return f"Page triggered: {title}", _text(page.creator, NAME_LIMIT)
    if kind == "notified_users":
        return (f"Paged {who}: {title}" if who else f"Paged: {title}"), ""
    verb = _PAGE_VERBS.get(kind)
    if verb is not None:
        return (f"{who} {verb} the page: {title}" if who else f"Page {verb}: {title}"), who
    if kind in ("expired", "resolved", "cancelled", "escalated"):
        return f"Page {kind}: {title}", who
    words = _text(kind, 60).replace("_", " ") or "changed"
    return f"Page {words}: {title}", who


def _page_entries(pages: Iterable[Page]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for page in pages:
        events = sorted(page.events, key=lambda e: _utc(e.occurred_at))
        if not events:
            entries.append(
                TimelineEntry(
                    at=_utc(page.created_at),
                    kind=TIMELINE_PAGE,
                    text=f"Page triggered: {_text(page.title) or 'a page'}",
                    author=_text(page.creator, NAME_LIMIT),
                    detail=f"Status: {_text(page.status, 40)}",
                    ref=page.id,
                )
            )
            continue
        for event in events:
            text, author = _page_event_text(page, event)
            entries.append(
                TimelineEntry(
                    at=_utc(event.occurred_at),
                    kind=TIMELINE_PAGE,
                    text=text,
                    author=author,
                    ref=f"{page.id}/{event.id}",
                )
            )
    return entries


def _alert_entries(alerts: Iterable[Alert]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for alert in alerts:
        title = _text(alert.title) or "an alert"
        detail = ", ".join(
            p for p in (_text(alert.severity, 40), _text(alert.source_label, NAME_LIMIT)) if p
        )
        entries.append(
            TimelineEntry(
                at=_utc(alert.started_at),
                kind=TIMELINE_ALERT,
                text=f"Alert firing: {title}",
                detail=detail,
                ref=alert.key,
            )
        )
        if alert.resolved_at is not None:
            entries.append(
                TimelineEntry(
                    at=_utc(alert.resolved_at),
                    kind=TIMELINE_ALERT,
                    text=f"Alert resolved: {title}",
                    detail=detail,
                    ref=alert.key,
                )
            )
    return entries


def _role_entries(changes: Iterable[RoleChange]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for change in changes:
        role = _text(change.role, NAME_LIMIT) or "a role"
        who, was = _name(change.assignee), _name(change.previous)
        if who:
            text = f"{who} is now {role}" + (f" (was {was})" if was else "")
        else:
            text = f"{role} is unassigned" + (f" (was {was})" if was else "")
        entries.append(
            TimelineEntry(
                at=_utc(change.at),
                kind=TIMELINE_ROLE,
                text=text,
                author=_text(change.author, NAME_LIMIT),
                ref=change.id,
            )
        )
    return entries


def _local_entry(item: LocalWrite, me: str) -> TimelineEntry | None:
    payload = item.payload if isinstance(item.payload, Mapping) else {}
    at = _parse_time(payload.get("timestamp")) or _utc(item.created_at)
    pending = item.state != STATE_DELIVERED
    if item.kind == KIND_NOTE:
        full = clean_long_text(payload.get("text") or "").strip()
        title = _text(payload.get("title")) or _text(full.splitlines()[0] if full else "")
        rest = full
        if full.startswith(title) and title:
            rest = full[len(title) :].strip()
        elif title and not full:
            rest = ""
        kind, text, detail = TIMELINE_NOTE, title or "Note", rest
    elif item.kind == KIND_UPDATE:
        parts = []
        if payload.get("status_id"):
            parts.append(f"Status: {_text(payload.get('status_name'), NAME_LIMIT) or '?'}")
        if payload.get("severity_id"):
            parts.append(f"Severity: {_text(payload.get('severity_name'), NAME_LIMIT) or '?'}")
        kind, text = TIMELINE_UPDATE, "; ".join(parts) or "Update"
        detail = clean_long_text(payload.get("message") or "").strip()
    else:
        return None
    return TimelineEntry(
        at=at,
        kind=kind,
        text=text,
        author=_text(payload.get("author"), NAME_LIMIT) or me,
        detail=detail,
        pending=pending,
        ref=item.key,
        state=item.state,
    )


def merge_timeline(
    incident: Incident,
    updates: Iterable[IncidentUpdate] = (),
    items: Iterable[TimelineItem] = (),
    pages: Iterable[Page] = (),
    alerts: Iterable[Alert] = (),
    role_changes: Iterable[RoleChange] = (),
    pending_notes: Iterable[LocalWrite] = (),
    *,
    me: str = "you",
) -> list[TimelineEntry]:
    """Everything that happened in one incident, oldest first.

    Pass the pages and alerts linked to this incident (they carry no incident id to
    filter on here); updates and timeline items of other incidents are ignored.
    ``pending_notes`` are outbox items: those for this incident are shown until the
    server lists them (matched by the id the server returned); dismissed ones are not
    shown. Entries at the same time keep this order: creation, updates, notes, pages,
    alerts, role changes, local writes.
    """
    updates = [u for u in updates if not u.incident_id or u.incident_id == incident.id]
    items = list(items)
    declared = declared_severity(incident, updates, items)
    entries: list[TimelineEntry] = [
        TimelineEntry(
            at=_utc(incident.created_at),
            kind=TIMELINE_CREATED,
            text=f"Incident declared: {_text(incident.name) or _text(incident.reference)}",
            author=_text(incident.creator, NAME_LIMIT),
            detail=(
                f"Severity: {declared}"
                if declared
                else ("Severity at declaration not known" if incident.severity else "")
            ),
            ref=incident.id,
        )
    ]
    entries += _update_entries(incident, updates, declared)
    entries += _item_entries(incident, items, updates)
    entries += _page_entries(pages)
    entries += _alert_entries(alerts)
    entries += _role_entries(role_changes)

    server_ids = {u.id for u in updates} | {i.id for i in items}
    seen_keys: set[str] = set()
    for write in pending_notes:
        if write.target != incident.id or write.key in seen_keys:
            continue
        seen_keys.add(write.key)
        if write.state == STATE_DISMISSED:
            continue
        if write.remote_id and write.remote_id in server_ids:
            continue  # the server has it; its copy is already in the list
        if write.key in server_ids:
            continue
        entry = _local_entry(write, _text(me, NAME_LIMIT))
        if entry is not None:
            entries.append(entry)

    return sorted(entries, key=lambda e: e.at)  # stable: equal times keep the order above


def resolution_time(incident: Incident, updates: Iterable[IncidentUpdate]) -> datetime | None:
    """When the incident last left triage/live (None while it is open or if unknown)."""
    if incident.status.category in OPEN_STATUS_CATEGORIES:
        return None
    resolved: datetime | None = None
    open_now = True
    for update in sorted(updates, key=lambda u: _utc(u.created_at)):
        if update.incident_id and update.incident_id != incident.id:
            continue
        if update.new_status is None:
            continue
        is_open = update.new_status.category in OPEN_STATUS_CATEGORIES
        if open_now and not is_open:
            resolved = _utc(update.created_at)
        open_now = is_open
    return resolved


# ----------------------------------------------------------------------- markdown

# Characters that start inline markdown constructs anywhere in a line: emphasis, code,
# links and images, autolinks and HTML, table cells, strikethrough, entities, escapes.
_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
# Constructs that only count at the start of a line: headings, quotes, lists, rules,
# setext underlines, fenced code.
_LINE_START = re.compile(r"^([#>+=-])")
_ORDERED = re.compile(r"^(\d{1,9})([.)])")


def md_escape(text: str) -> str:
    """One line of untrusted text as inert markdown (already cleaned of controls)."""
    text = _INLINE.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))
    return text


def _md_line(text: str) -> str:
    """A line that may sit at the start of a markdown line."""
    text = md_escape(text.strip())
    text = _LINE_START.sub(r"\\\1", text)
    return _ORDERED.sub(r"\1\\\2", text)


def _md_block(text: str, indent: str) -> list[str]:
    """Multi-line untrusted text as a block quote, each line escaped."""
    out: list[str] = []
    for raw in text.splitlines():
        line = _md_line(raw)
        out.append(f"{indent}> {line}" if line else f"{indent}>")
    return out


def _md_link(url: str | None) -> str:
    ok, problem = openable_url(url)
    if ok is None:
        return f"(not linked: {md_escape(problem or 'missing')})" if url else "—"
    safe = ok.replace("<", "%3C").replace(">", "%3E")
    return f"<{safe}>"


def _local_time(t: datetime, zone: Any) -> str:
    local = _utc(t).astimezone(zone)
    return f"{local:%H:%M:%S} {zone_label(t, zone)}"


def _day(t: datetime, zone: Any) -> str:
    local = _utc(t).astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y}"


_KIND_WORDS = {
    TIMELINE_CREATED: "declared",
    TIMELINE_UPDATE: "update",
    TIMELINE_NOTE: "note",
    TIMELINE_PAGE: "page",
    TIMELINE_ALERT: "alert",
    TIMELINE_ROLE: "role",
}


def _kind_words(entry: TimelineEntry) -> str:
    words = _KIND_WORDS.get(entry.kind) or md_escape(_text(entry.kind, 40)) or "event"
    if entry.state == STATE_FAILED:
        return f"{words}, NOT SENT (refused)"
    if entry.state == STATE_NEEDS_ATTENTION:
        return f"{words}, NOT SENT (needs attention)"
    if entry.state in ATTENTION_STATES:
        return f"{words}, NOT SENT"
    if entry.pending:
        return f"{words}, not sent yet"
    return words


def timeline_markdown(
    incident: Incident,
    entries: Iterable[TimelineEntry],
    *,
    tz: ZoneLike,
    now: datetime,
    links: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    resolved_at: datetime | None = None,
) -> str:
    """The incident's whole timeline as markdown, for the incident analysis.

    ``tz`` is the zone times are shown in (named in the text); ``now`` is the export time
    (and the end of the duration of an open incident). ``links`` adds labelled links to
    the header (e.g. ``{"Slack channel": "https://…"}``); only http(s) links are linked.
    ``resolved_at`` (see :func:`resolution_time`) ends the duration of a closed incident.
    """
    zone = resolve_zone(tz)
    entries = sorted(entries, key=lambda e: _utc(e.at))
    created = _utc(incident.created_at)
    now = _utc(now)
    reference = _text(incident.reference, NAME_LIMIT)
    name = _text(incident.name) or "(no name)"
    category = _text(incident.status.category, 40)
    is_open = incident.status.category in OPEN_STATUS_CATEGORIES

    if is_open:
        duration = f"{format_duration(now - created)} so far (open at export)"
    elif resolved_at is not None:
        end = _utc(resolved_at)
        until = f"{_day(end, zone)} {_local_time(end, zone)}"
        duration = f"{format_duration(end - created)} (until {until})"
    else:
        duration = "unknown (no resolution time recorded)"

    lead = incident.lead
    status = _text(incident.status.name, NAME_LIMIT) or "?"
    rows: list[tuple[str, str]] = [
        ("Reference", md_escape(reference) or "—"),
        (
            "Severity",
            md_escape(_text(incident.severity.name, NAME_LIMIT)) if incident.severity else "—",
        ),
        ("Status", md_escape(f"{status} ({category})" if category else status)),
    ]
    if incident.type is not None:
        rows.append(("Type", md_escape(_text(incident.type.name, NAME_LIMIT))))
    rows += [
        ("Declared", md_escape(f"{_day(created, zone)} {_local_time(created, zone)}")),
        ("Duration", md_escape(duration)),
        ("Lead", md_escape(_name(lead)) if lead is not None and _name(lead) else "nobody"),
        ("Incident page", _md_link(incident.permalink)),
        ("Call", _md_link(incident.call_url) if incident.call_url else "—"),
    ]
    extra = list(links.items()) if isinstance(links, Mapping) else list(links)
    slack_name = _text(incident.slack_channel_name, NAME_LIMIT)
    slack_url = next((u for label, u in extra if label.lower() == "slack channel"), None)
    if slack_name or slack_url:
        shown = md_escape("#" + slack_name.lstrip("#")) if slack_name else ""
        link = _md_link(slack_url) if slack_url else ""
        rows.append(("Slack channel", " ".join(p for p in (shown, link) if p)))
    for label, url in extra:
        if label.lower() == "slack channel":
            continue
        rows.append((md_escape(_text(label, 60)) or "Link", _md_link(url)))
    rows.append(
        ("Exported", md_escape(f"{_day(now, zone)} {_local_time(now, zone)}")),
    )

    title = f"{reference}: {name}" if reference else name
    out: list[str] = [f"# {md_escape(title)}", "", "| | |", "|---|---|"]
    out += [f"| {label} | {value} |" for label, value in rows]
    out.append("")

    summary = clean_long_text(incident.summary).strip()
    if summary:
        out += ["## Summary", ""]
        out += [_md_line(line) if line.strip() else "" for line in summary.splitlines()]
        out.append("")

    zone_words = zone_name(zone)
    out += ["## Timeline", "", f"Times are in {md_escape(zone_words)}.", ""]
    if not entries:
        out += ["Nothing recorded yet.", ""]
    day = None
    for entry in entries:
        this_day = _day(entry.at, zone)
        if this_day != day:
            if day is not None:
                out.append("")
            out += [f"### {this_day}", ""]
            day = this_day
        author = md_escape(_text(entry.author, NAME_LIMIT))
        head = f"- **{_local_time(entry.at, zone)}** · {_kind_words(entry)}"
        if author:
            head += f" · {author}"
        head += f" — {md_escape(_text(entry.text)) or '(no text)'}"
        out.append(head)
        detail = clean_long_text(entry.detail).strip()
        if detail:
            out += _md_block(detail, "  ")
    out.append("")

    out += [
        "## What surprised us",
        "",
        "_What did we not expect? What made it harder to notice, understand or fix?_",
        "",
        "## What went well",
        "",
        "_What should we keep doing?_",
        "",
        "## Follow-ups",
        "",
        "- [ ] _Action, owner, due date_",
        "",
    ]
    return "\n".join(out)
