"""Incidents: declare, take notes, change status and severity, hand over, page in, close.

Textual-free; the incident screen, the declare form and the command line all call
:class:`IncidentActions`.

Writes that carry what a person typed (notes, status and severity updates, checklist
ticks, the closing update) never go straight to the network: they are committed to the
durable :class:`~oncall_tui.core.outbox.Outbox` first, with an idempotency key fixed at
that moment, and delivered from there (:meth:`IncidentActions.send`, with
:meth:`IncidentActions.reroute` as the fallback when an endpoint is missing on the
account). A note typed while incident.io is down is shown at once, marked pending, and
goes out, once and in order, when the API is back.

Declaring uses an idempotency key too, kept by the caller (the form, ``--key``) until
the incident exists, so a retry never opens a second incident.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from oncall_tui import __version__
from oncall_tui.backends.http import ApiError, InvalidRequest, NotFound
from oncall_tui.backends.incidentio import (
    CAP_TIMELINE_ITEMS,
    CapabilityUnavailable,
    IncidentIoClient,
    normalise_incident_ref,
    parse_datetime,
)
from oncall_tui.config import default_data_dir
from oncall_tui.core import guard, timefmt
from oncall_tui.core.actions import ActionError, Outcome, check_write, new_key
from oncall_tui.core.outbox import (
    KIND_NOTE,
    KIND_UPDATE,
    OUTCOME_DELIVERED,
    OUTCOME_FAILED,
    OUTCOME_NEEDS_ATTENTION,
    OUTCOME_REROUTED,
    OUTCOME_RETRYING,
    ROUTE_FALLBACK,
    STATE_DELIVERED,
    STATE_DISMISSED,
    STATE_FAILED,
    Delivery,
    Outbox,
    OutboxItem,
    Rerouted,
    StorageError,
    note_payload,
    update_payload,
)
from oncall_tui.core.sent import KIND_INCIDENT_PAGE, PARENT_INCIDENT, SentLedger
from oncall_tui.core.sources import FEED_INCIDENTS, Backends
from oncall_tui.core.sync import SyncEngine, utcnow
from oncall_tui.core.timeline import merge_timeline, resolution_time, timeline_markdown
from oncall_tui.core.whoami import WhoAmI
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_RUNBOOK,
    LINK_SOURCE,
    LISTED_STATUS_CATEGORIES,
    MAX_LISTED_INCIDENTS,
    OPEN_STATUS_CATEGORIES,
    TIMELINE_NOTE,
    TIMELINE_UPDATE,
    Alert,
    EscalationPath,
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
from oncall_tui.safety import clean_text, clean_user_text, openable_url

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


@dataclass(frozen=True, slots=True)
class Lookups:
    """The account's severities (least severe first), statuses, roles and types."""

    severities: tuple[Severity, ...] = ()
    statuses: tuple[IncidentStatus, ...] = ()
    roles: tuple[IncidentRole, ...] = ()
    types: tuple[IncidentType, ...] = ()

    def severity(self, ident: str) -> Severity | None:
        """By id or (case-insensitive) name."""
        wanted = ident.strip().casefold()
        for severity in self.severities:
            if severity.id == ident or severity.name.casefold() == wanted:
                return severity
        return None

    def status(self, ident: str) -> IncidentStatus | None:
        wanted = ident.strip().casefold()
        for status in self.statuses:
            if status.id == ident or status.name.casefold() == wanted:
                return status
        return None

    def incident_type(self, ident: str) -> IncidentType | None:
        wanted = ident.strip().casefold()
        for itype in self.types:
            if itype.id == ident or itype.name.casefold() == wanted:
                return itype
        return None

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


class IncidentActions:
    """Every incident action, each saying in words what changed (or raising
    :class:`~oncall_tui.core.actions.ActionError` with why not and what to do)."""

    sent: SentLedger | None = None  # the pages this tool made (not shown as alert rows)

    def __init__(
        self,
        backends: Backends,
        outbox: Outbox | None = None,
        *,
        engine: SyncEngine | None = None,
        readonly: bool = False,
        clock: Callable[[], datetime] = utcnow,
        whoami: WhoAmI | None = None,
    ) -> None:
        self.backends = backends
        self.outbox = outbox
        self.engine = engine
        self.readonly = readonly
        self.clock = clock
        self.whoami = whoami or WhoAmI(backends, engine)
        self._cached_source: Sequence[Incident] | None = None  # the list last cached
        self._lookups: Lookups | None = None
        self._lookups_lock = asyncio.Lock()
        self.roles = RoleWatcher()
        self.delivering = False  # a delivery loop (run_delivery) is running
        self.settling: set[str] = set()  # outbox keys whose outcome a caller reports itself

    # -- plumbing ---------------------------------------------------------------

    @property
    def io(self) -> IncidentIoClient:
        return self.backends.io()

    async def me(self, *, strict: bool = False) -> User | None:
        """The configured user (``[user] email``), or None. With ``strict``, a user
        that cannot be found raises, saying why."""
        return await self.whoami.me(strict=strict)

    def check_write(self, action: str) -> None:
        check_write(self.backends, self.readonly, action)

    def _need_outbox(self) -> Outbox:
        if self.outbox is None:
            raise ActionError("No outbox: notes cannot be kept safely, so none are taken.")
        return self.outbox

    def count_changed(self) -> None:
        """Tell the engine (status bar) how many writes are still on their way."""
        if self.engine is None or self.outbox is None:
            return
        count = self.outbox.count_pending()
        if self.engine.world.pending_writes != count:
            self.engine.mutate(lambda w: setattr(w, "pending_writes", count))

    async def lookups(self, *, refresh: bool = False) -> Lookups:
        async with self._lookups_lock:
            if self._lookups is None or refresh:
                io = self.io
                try:
                    severities, statuses, roles, types = await asyncio.gather(
                        io.severities(),
                        io.incident_statuses(),
                        io.incident_roles(),
                        io.incident_types(),
                    )
                except ApiError as exc:
                    raise ActionError(
                        f"Cannot read the account's severities and statuses: {exc}"
                    ) from None
                self._lookups = Lookups(severities, statuses, roles, types)
            return self._lookups

    # -- reading ------------------------------------------------------------------

    async def list_incidents(self) -> list[Incident]:
        """Open incidents (triage, live, paused) and post-incident ones, in that order."""
        try:
            found = await self.io.list_incidents(
                LISTED_STATUS_CATEGORIES, limit=MAX_LISTED_INCIDENTS
            )
        except ApiError as exc:
            raise ActionError(f"Cannot list incidents: {exc}") from None
        return self.listed(found)

    def listed(self, incidents: Sequence[Incident]) -> list[Incident]:
        """``incidents`` (as polled by the engine, or listed just now) in the order the
        incident screen shows them; kept on this machine too, so notes can still find
        their incident while incident.io cannot be reached."""
        ordered = sort_incidents(incidents)
        if self.outbox is not None and incidents is not self._cached_source:
            self._cached_source = incidents
            self.outbox.cache_incidents((i.id, i.reference, _cached(i)) for i in ordered)
        return ordered

    def cached_incidents(self) -> tuple[list[Incident], datetime | None]:
        """The incident list as last seen (for notes while incident.io is unreachable),
        and when it was seen."""
        if self.outbox is None:
            return [], None
        found: list[Incident] = []
        seen: datetime | None = None
        for ident, ref, fields, at in self.outbox.cached_incidents():
            incident = _from_cache(ident, ref, fields)
            if incident is not None:
                found.append(incident)
                seen = at if seen is None else min(seen, at)
        return found, seen

    async def note_by_ref(self, ref: str, text: str) -> tuple[Queued, str]:
        """A note for ``INC-N`` from the command line: to the incident found now, or, when
        incident.io cannot be reached, to the id kept from the last list, or by
        reference, resolved on delivery. Returns the queued note and how the incident was
        found ("" when incident.io answered)."""
        try:
            number = normalise_incident_ref(ref)
        except InvalidRequest as exc:
            raise ActionError(str(exc)) from None
        try:
            incident = await self.io.get_incident(ref)
        except NotFound:
            shown = clean_text(ref, limit=60)
            raise ActionError(f"No incident {shown} on this incident.io account.") from None
        except ApiError as exc:
            if not exc.retryable:
                raise ActionError(
                    f"Cannot read incident {clean_text(ref, limit=60)}: {exc}"
                ) from None
            reference = number if not number.isdigit() else f"INC-{number}"
            cached = self.outbox.cached_id(reference) if self.outbox is not None else None
            why = clean_text(str(exc), limit=200)
            if cached is not None:
                return self.note_to(cached, reference, text), (
                    f"incident.io cannot be reached ({why}); queued for {reference} by the "
                    "id kept from the last incident list"
                )
            return self.note_to(f"{REF_TARGET}{reference}", reference, text), (
                f"incident.io cannot be reached ({why}) and {reference} is not in the last "
                "incident list kept here; queued by reference, looked up when it is sent"
            )
        return self.note(incident, text), ""

    async def find(self, ref: str) -> Incident:
        """One incident by INC-123, #inc-123, 123 or its id; a clear error otherwise."""
        try:
            normalise_incident_ref(ref)
        except InvalidRequest as exc:
            raise guard.BadInput(str(exc)) from None
        try:
            return await self.io.get_incident(ref)
        except NotFound:
            shown = clean_text(ref, limit=60)
            raise ActionError(f"No incident {shown} on this incident.io account.") from None
        except ApiError as exc:
            raise ActionError(f"Cannot read incident {clean_text(ref, limit=60)}: {exc}") from None

    async def load_timeline(self, incident: Incident) -> TimelineData:
        """Updates, timeline items, pages and linked alerts of one incident.

        Only the updates are essential; a part that fails is left out and named in
        ``problems`` so the rest still shows.
        """
        io = self.io
        problems: list[str] = []
        now = self.clock()

        async def part(label: str, make: Callable[[], Any], default: Any = ()) -> Any:
            try:  # made here, so a cancelled poll leaves no coroutine un-awaited
                return await make()
            except CapabilityUnavailable:
                if label == "timeline notes":
                    problems.append(
                        "this account has no timeline notes API: notes go out as incident updates"
                    )
                return default
            except ApiError as exc:
                problems.append(f"{label}: {clean_text(str(exc), limit=200)}")
                return default

        try:
            updates = await io.list_incident_updates(incident.id)
        except ApiError as exc:
            raise ActionError(f"Cannot read the updates of {incident.reference}: {exc}") from None
        items, pages, links = await asyncio.gather(
            part("timeline notes", lambda: io.list_timeline_items(incident.id)),
            part(
                "pages",
                lambda: io.list_escalations(None, incident_id=incident.id, limit=MAX_PAGES),
            ),
            part("linked alerts", lambda: io.incident_alerts(incident_id=incident.id)),
        )
        alert_ids = list(dict.fromkeys(link.alert_id for link in links))[:MAX_LINKED_ALERTS]
        fetched = await asyncio.gather(
            *(part("an alert", functools.partial(io.get_alert, a), None) for a in alert_ids)
        )
        alerts = tuple(a for a in fetched if a is not None)
        if len(links) > MAX_LINKED_ALERTS:
            problems.append(
                f"only the first {MAX_LINKED_ALERTS} of {len(links)} linked alerts are shown"
            )
        role_changes: tuple[RoleChange, ...] = ()
        if CAP_TIMELINE_ITEMS in io.unavailable:
            role_changes = self.roles.observe(incident, now)
        return TimelineData(
            incident,
            tuple(updates),
            tuple(items),
            tuple(pages),
            alerts,
            role_changes,
            tuple(problems),
            now,
        )

    def local_writes(self, incident_id: str) -> list[OutboxItem]:
        if self.outbox is None:
            return []
        return self.outbox.items(target=incident_id)

    def entries(self, data: TimelineData, *, me: str = "you") -> list[TimelineEntry]:
        """The merged timeline: the server's story plus what is still in the outbox."""
        entries = merge_timeline(
            data.incident,
            data.updates,
            data.items,
            data.pages,
            data.alerts,
            data.role_changes,
            self.local_writes(data.incident.id),
            me=me,
        )
        held = {h.key for h, _ in self.outbox.held(data.incident.id)} if self.outbox else set()
        if held:
            entries = [
                dataclasses.replace(e, state=STATE_HELD) if e.pending and e.ref in held else e
                for e in entries
            ]
        return entries

    def markdown(
        self, data: TimelineData, *, tz: timefmt.ZoneLike, now: datetime | None = None
    ) -> str:
        incident = data.incident
        links: list[tuple[str, str]] = []
        slack = slack_url(incident)
        if slack:
            links.append(("Slack channel", slack))
        return timeline_markdown(
            incident,
            self.entries(data),
            tz=tz,
            now=now or self.clock(),
            links=links,
            resolved_at=resolution_time(incident, data.updates),
        )

    # -- declaring --------------------------------------------------------------------

    async def declare(self, draft: DeclareDraft) -> Declared:
        """Open an incident. Resubmitting the same draft (same key) never opens two."""
        self.check_write("declare")
        name = clean_text(draft.name, limit=NAME_LIMIT + 1).strip()
        if not name:
            raise guard.BadInput("Give the incident a name: what is broken, in a few words.")
        if len(name) > NAME_LIMIT:
            raise guard.BadInput(
                f"The name is too long ({len(draft.name)} characters, at most {NAME_LIMIT}); "
                "put the detail in the summary."
            )
        summary = clean_text(draft.summary, limit=MAX_SUMMARY_CHARS + 1, multiline=True).strip()
        if len(summary) > MAX_SUMMARY_CHARS:
            raise guard.BadInput(
                f"The summary is too long (at most {MAX_SUMMARY_CHARS} characters); "
                "add the rest as notes."
            )
        lookups = await self.lookups()
        severity = lookups.severity(draft.severity_id) if draft.severity_id else None
        if severity is None:
            names = ", ".join(s.name for s in lookups.severities) or "none defined"
            if draft.severity_id:
                given = clean_text(draft.severity_id, limit=60)
                raise guard.BadInput(f"No severity {given!r}: choose one of {names}.")
            raise guard.BadInput(f"Choose a severity ({names}).")
        itype = lookups.incident_type(draft.type_id) if draft.type_id else None
        if draft.type_id and itype is None:
            names = ", ".join(t.name for t in lookups.types) or "none defined"
            raise guard.BadInput(
                f"No incident type {clean_text(draft.type_id, limit=60)!r}: choose one of {names}."
            )
        try:
            lead = await self.me(strict=True) if draft.me_as_lead else None
        except ActionError as exc:
            raise ActionError(
                f"Not declared: {exc}. Try again: the same request key is used, so "
                "incident.io will not open it twice."
            ) from None
        if draft.me_as_lead and lead is None:
            raise ActionError(
                "Cannot make you the lead: your incident.io user is not known "
                "(set [user] email in the config). Untick “me as lead” to declare anyway."
            )
        try:
            incident = await self.io.create_incident(
                name,
                severity_id=severity.id,
                summary=summary or None,
                visibility="private" if draft.private else "public",
                incident_type_id=itype.id if itype else None,
                lead_user_id=lead.id if lead else None,
                idempotency_key=draft.key,
            )
        except ApiError as exc:
            raise ActionError(
                f"Not declared: {exc}. Try again: the same request key is used, so "
                "incident.io will not open it twice."
            ) from None
        if self.engine is not None:
            self.engine.poll_soon(FEED_INCIDENTS)
        parts = [f"Declared {incident.reference} “{incident.name}” as {severity.name}"]
        if incident.lead is not None:
            parts.append(
                f"{_who(incident.lead)} leads it"
                if not lead or incident.lead.id != lead.id
                else "you lead it"
            )
        if incident.slack_channel_name:
            parts.append(f"Slack #{incident.slack_channel_name}")
        return Declared(incident, "; ".join(parts) + ".")

    # -- notes and updates (through the outbox) ------------------------------------------

    def _enqueue(self, kind: str, incident: Incident, payload: dict[str, Any]) -> OutboxItem:
        return self._enqueue_to(kind, incident.id, incident.reference, payload)

    def _enqueue_to(
        self,
        kind: str,
        target: str,
        reference: str,
        payload: dict[str, Any],
        *,
        draft: bool = False,
    ) -> OutboxItem:
        outbox = self._need_outbox()
        payload["incident_ref"] = clean_text(reference, limit=60)
        try:
            item = outbox.enqueue(
                kind, target, payload, now=self.clock(), clear_draft=target if draft else None
            )
        except StorageError as exc:
            raise NotSaved(f"Not saved: {exc}.") from None
        except ValueError as exc:
            raise ActionError(f"Not saved: {exc}.") from None
        self.count_changed()
        return item

    def author(self) -> str:
        """Who is writing, as the note will name them: the configured user's name (or
        email when the name is not known yet)."""
        me = self.whoami.known
        if me is not None and (me.name or me.email):
            return clean_text(me.name or me.email, limit=100)
        return clean_text(self.backends.settings.user.email or "", limit=100)

    def note(self, incident: Incident, text: str) -> Queued:
        """Keep a note: committed to the outbox now, sent to the timeline from there."""
        return self.note_to(incident.id, incident.reference, text)

    def note_to(self, target: str, reference: str, text: str) -> Queued:
        """A note for an incident known by id (or, offline, by ``ref:INC-N``)."""
        self.check_write("note")
        body, _removed = clean_user_text(text)
        body = body.strip()
        if not body:
            raise guard.BadInput("Empty note: nothing was saved. Type something, then Enter.")
        if len(body) > MAX_NOTE_CHARS:
            raise guard.BadInput(
                f"That note is {len(text):,} characters; the limit is {MAX_NOTE_CHARS:,}. "
                "Put big logs in a file or paste service and note the link."
            )
        first = body.splitlines()[0].strip()
        title = first if len(first) <= TITLE_LIMIT else first[: TITLE_LIMIT - 1] + "…"
        payload = note_payload(body, at=self.clock(), title=title)
        author = self.author()
        if author:
            payload["author"] = author
        item = self._enqueue_to(KIND_NOTE, target, reference, payload, draft=True)
        return Queued(item, f"Note saved for {reference}; sending…")

    def prune(self) -> int:
        """Forget delivered (and skipped) writes older than the retention period
        (``[actions] outbox_retention_days``). Returns how many."""
        if self.outbox is None:
            return 0
        days = getattr(self.backends.settings.actions, "outbox_retention_days", 30)
        try:
            return self.outbox.prune_delivered(self.clock() - timedelta(days=days))
        except Exception as exc:  # a full or read-only disk: pruning waits for next time
            import logging

            logging.getLogger(__name__).warning("outbox not pruned: %s", exc)
            return 0

    # -- drafts ------------------------------------------------------------------------

    def save_draft(self, target: str, reference: str, text: str) -> str:
        """Keep what is typed in a note box; "" when kept, else why not (in words)."""
        if self.outbox is None:
            return "drafts are not kept: the outbox file could not be opened"
        try:
            self.outbox.save_draft(target, text, label=reference)
        except StorageError as exc:
            return f"draft not saved: {exc}"
        return ""

    def draft(self, target: str) -> str:
        return self.outbox.draft(target) if self.outbox is not None else ""

    def drop_draft(self, target: str) -> None:
        if self.outbox is not None:
            try:
                self.outbox.save_draft(target, "")
            except StorageError:
                pass  # the note itself is safe; a stale draft comes back at worst

    # -- refused notes: resend or skip ---------------------------------------------------

    def refused(self, target: str | None = None) -> list[OutboxItem]:
        """Writes incident.io refused, oldest first (they hold later ones back)."""
        if self.outbox is None:
            return []
        return [i for i in self.outbox.undelivered(target) if i.needs_user]

    def resend(self, target: str | None = None, refs: Sequence[str] = ()) -> Outcome:
        """Put refused writes back in the queue (those of ``target``, or ``refs``), to be
        sent at once, in their place."""
        self.check_write("outbox_retry")
        outbox = self._need_outbox()
        if refs:
            items = []
            for ref in refs:
                item = outbox.by_ref(ref)
                if item is None:
                    raise guard.BadInput(
                        f"No outbox item {clean_text(ref, limit=60)!r} "
                        "(`oncall-tui outbox` lists them)."
                    )
                items.append(item)
        else:
            # Refused ones, and those waiting out a backoff or a Retry-After: "resend"
            # tries at once, whatever the wait.
            now = self.clock()
            items = self.refused(target) + [
                i
                for i in outbox.pending(target)
                if i.state == "pending"
                and i.next_attempt_at is not None
                and i.next_attempt_at > now
            ]
        again = [i for i in items if i.needs_user or i.state in (STATE_DISMISSED, "pending")]
        if not again:
            raise ActionError("Nothing to resend: no note or update here was refused.")
        for item in again:
            outbox.requeue(item.key, now=self.clock())
        self.count_changed()
        return Outcome(f"Resending {_count(len(again), 'note or update', 'notes and updates')}.")

    def skip(self, item: OutboxItem) -> Outcome:
        """Set a refused write aside (kept in the file) so the ones behind it go."""
        self.check_write("outbox_skip")
        outbox = self._need_outbox()
        behind = [h for h, b in outbox.held(item.target) if b.key == item.key]
        outbox.dismiss(item.key)
        self.count_changed()
        return Outcome(
            f"Skipped “{_label(item)}”: kept in the outbox, not sent"
            + (f"; {len(behind)} held behind it now go." if behind else ".")
        )

    def change(
        self,
        incident: Incident,
        *,
        status: IncidentStatus | None = None,
        severity: Severity | None = None,
        message: str = "",
    ) -> Queued:
        """A status and/or severity change with a message, through the outbox."""
        self.check_write("status" if status is not None or severity is None else "severity")
        text = clean_text(message, limit=MAX_NOTE_CHARS + 1, multiline=True).strip()
        if len(text) > MAX_NOTE_CHARS:
            raise ActionError(f"The message is too long (at most {MAX_NOTE_CHARS:,} characters).")
        if status is not None and status.id == incident.status.id:
            status = None
        if (
            severity is not None
            and incident.severity is not None
            and severity.id == incident.severity.id
        ):
            severity = None
        if status is None and severity is None and not text:
            raise ActionError(
                "Nothing to change: that is already the incident's status and severity."
            )
        payload = update_payload(
            at=self.clock(),
            message=text,
            status_id=status.id if status else None,
            status_name=status.name if status else None,
            severity_id=severity.id if severity else None,
            severity_name=severity.name if severity else None,
        )
        payload["from_status_name"] = incident.status.name
        item = self._enqueue(KIND_UPDATE, incident, payload)
        what = []
        if status is not None:
            what.append(f"status to {status.name}")
        if severity is not None:
            what.append(f"severity to {severity.name}")
        words = " and ".join(what) if what else "an update"
        return Queued(item, f"{incident.reference}: {words} saved; sending…")

    def tick(self, incident: Incident, item_id: str, done: bool = True) -> Queued:
        """Tick (or untick) a lead checklist item: a timeline note, so others see it."""
        self.check_write("checklist")
        item = next((i for i in CHECKLIST if i.id == item_id), None)
        if item is None:
            raise ActionError(f"No checklist item {clean_text(item_id, limit=40)!r}.")
        title = checklist_title(item, done)
        queued = self._enqueue(
            KIND_NOTE, incident, note_payload(title, at=self.clock(), title=title)
        )
        verb = "ticked" if done else "unticked"
        return Queued(queued, f"Checklist: {verb} “{item.label}”; sending…")

    async def wait_for(self, key: str, timeout: float = 10.0) -> OutboxItem | None:
        """Until the item has left the queue (delivered or refused), or ``timeout``.

        With a delivery loop running it is woken and watched; without one (the command
        line), one delivery round is run here.
        """
        outbox = self._need_outbox()
        if not self.delivering:
            await outbox.deliver_due(self.send, self.clock(), fallback=self.reroute)
            self.count_changed()
            return outbox.get(key)
        outbox.wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            item = outbox.get(key)
            if item is None or not item.is_open or loop.time() >= deadline:
                return item
            await asyncio.sleep(0.05)

    async def settle(self, queued: Queued, done: str, *, timeout: float = 10.0) -> Outcome:
        """Wait for a queued change and say how it ended; a refusal raises in the API's
        own words. A change with nothing typed is put aside after a refusal (nothing
        is lost); one with a message stays in the outbox for the record."""
        self.settling.add(queued.item.key)
        try:
            item = await self.wait_for(queued.item.key, timeout)
        finally:
            self.settling.discard(queued.item.key)
        if item is None:
            return Outcome(queued.message)
        if item.state == STATE_DELIVERED:
            how = rerouted_how(item)
            return Outcome(done + (f" ({how})" if how else "") + ".")
        if item.needs_user:
            reason = (item.last_error or item.status_text).removeprefix("refused: ")
            reason = reason.removeprefix("incident.io: ")
            # Told now, so set aside: it must not hold the notes typed after it.
            self._need_outbox().dismiss(item.key)
            kept = ""
            if item.payload.get("message") or item.payload.get("text"):
                kept = (
                    f" Your text is kept in the outbox ({self._need_outbox().path}): "
                    f"`oncall-tui outbox --all` lists it, `oncall-tui outbox retry {item.id}` "
                    "sends it again."
                )
            self.count_changed()
            raise ActionError(f"incident.io refused it: {clean_text(reason, limit=500)}.{kept}")
        return Outcome(
            "Saved, not sent yet: incident.io is not answering. It is shown as pending and "
            "will be sent, once, when the API is back."
        )

    # -- delivery ----------------------------------------------------------------------

    async def send(self, item: OutboxItem) -> str | None:
        """The outbox's sender: a note to the timeline, an update to incident updates."""
        io = self.io
        payload = item.payload
        target = await self._resolve(item)
        if item.kind == KIND_NOTE:
            text = signed(str(payload.get("text") or ""), str(payload.get("author") or ""))
            title = str(payload.get("title") or (text.splitlines()[0] if text else "") or "Note")
            created = await io.create_timeline_item(
                target,
                title=title,
                description=_description(text, title),
                timestamp=_when(payload, item),
                idempotency_key=item.key,
            )
            return created.id
        if item.kind == KIND_UPDATE:
            update = await io.create_incident_update(
                target,
                message=str(payload.get("message") or "") or None,
                status_id=payload.get("status_id") or None,
                severity_id=payload.get("severity_id") or None,
                idempotency_key=item.key,
            )
            return update.id
        raise InvalidRequest(f"this version cannot send a {clean_text(item.kind, limit=40)!r}")

    async def _resolve(self, item: OutboxItem) -> str:
        """The incident id to send to: a note queued offline by reference is resolved
        now (and the outbox remembers the id for the notes behind it)."""
        if not item.target.startswith(REF_TARGET):
            return item.target
        ref = item.target[len(REF_TARGET) :]
        incident = await self.io.get_incident(ref)  # NotFound: the user is asked to look
        if self.outbox is not None:
            self.outbox.retarget(item.target, incident.id)
        return incident.id

    async def reroute(self, item: OutboxItem, cause: BaseException) -> Rerouted:
        """The outbox's fallback when an endpoint is missing on the account (404)."""
        io = self.io
        payload = item.payload
        if item.kind == KIND_NOTE:
            text = signed(str(payload.get("text") or ""), str(payload.get("author") or ""))
            update = await io.create_incident_update(
                await self._resolve(item), message=text, idempotency_key=item.key
            )
            return Rerouted(
                update.id,
                "posted as an incident update message, because this incident.io account "
                "has no timeline notes API",
            )
        if item.kind == KIND_UPDATE:
            message = str(payload.get("message") or "")
            status_id = payload.get("status_id") or None
            severity_id = payload.get("severity_id") or None
            if not (status_id or severity_id):
                created = await self._message_as_note(item, message, item.key)
                return Rerouted(
                    created.id,
                    "added as a timeline note, because this account cannot post incident updates",
                )
            await io.edit_incident(item.target, status_id=status_id, severity_id=severity_id)
            how = "changed with an incident edit, because this account cannot post incident updates"
            if message.strip():
                try:
                    await self._message_as_note(item, message, f"{item.key}:message")
                    how += "; the message was added as a timeline note"
                except CapabilityUnavailable:
                    how += (
                        "; the message could not be posted (no notes API) and is kept in "
                        f"{self.outbox.path if self.outbox else 'the outbox'}"
                    )
            return Rerouted(None, how)
        raise cause

    async def _message_as_note(self, item: OutboxItem, message: str, key: str) -> TimelineItem:
        first = message.strip().splitlines()[0] if message.strip() else "Update"
        title = first if len(first) <= TITLE_LIMIT else first[: TITLE_LIMIT - 1] + "…"
        return await self.io.create_timeline_item(
            item.target,
            title=title,
            description=_description(message, title),
            timestamp=_when(item.payload, item),
            idempotency_key=key,
        )

    async def run_delivery(
        self,
        stop: asyncio.Event,
        on_delivery: Callable[[list[Delivery]], None] | None = None,
        *,
        poll_interval: float = 5.0,
    ) -> None:
        """Deliver the outbox until ``stop`` is set (the app runs this in a worker). In
        read-only mode nothing is sent: what waits keeps waiting."""
        if guard.why_not("outbox_send", readonly=self.readonly) is not None:
            return
        outbox = self._need_outbox()

        def delivered(results: list[Delivery]) -> None:
            self.count_changed()
            if on_delivery is not None:
                on_delivery(results)

        self.prune()
        self.delivering = True
        self.count_changed()
        try:
            await outbox.run(
                self.send,
                stop,
                fallback=self.reroute,
                poll_interval=poll_interval,
                on_delivery=delivered,
            )
        finally:
            self.delivering = False

    # -- people, roles, pages ------------------------------------------------------------

    async def hand_over(self, incident: Incident, user: User) -> Outcome:
        """Make ``user`` the incident lead."""
        self.check_write("lead")
        lookups = await self.lookups()
        lead = lookups.lead_role
        if lead is None:
            raise ActionError("This incident.io account has no incident lead role.")
        current = incident.lead
        if current is not None and current.id == user.id:
            raise ActionError(f"{_who(user)} already leads {incident.reference}.")
        try:
            await self.io.edit_incident(incident.id, role_assignments={lead.id: user.id})
        except ApiError as exc:
            raise ActionError(f"Hand-over failed: {exc}") from None
        if self.engine is not None:
            self.engine.poll_soon(FEED_INCIDENTS)
        was = f" (was {_who(current)})" if current is not None else ""
        return Outcome(f"{_who(user)} now leads {incident.reference}{was}.")

    async def page_into(
        self,
        incident: Incident,
        *,
        user_ids: Sequence[str] = (),
        path: EscalationPath | None = None,
        names: str = "",
    ) -> Outcome:
        """Page people (or an escalation path) into the incident."""
        self.check_write("page")
        if bool(path) == bool(user_ids):
            raise ActionError("Choose one escalation path or some people to page.")
        me = await self.me()
        who_asks = _who(me) if me else "the incident lead"
        try:
            created = await self.io.create_escalation(
                f"{incident.reference}: {incident.name}"[:250],
                path_id=path.id if path else None,
                user_ids=list(user_ids) or None,
                description=(
                    f"{who_asks} asks you to join {incident.reference} ({TOOL})."
                    + (f" Call: {incident.call_url}" if incident.call_url else "")
                ),
                incident_id=incident.id,
                idempotency_key=new_key("page"),
            )
        except ApiError as exc:
            raise ActionError(f"Paging failed: {exc}") from None
        if self.sent is not None:
            self.sent.record(created.id, PARENT_INCIDENT + incident.id, KIND_INCIDENT_PAGE)
        target = path.name if path else (names or f"{len(user_ids)} people")
        return Outcome(f"Paged {target} into {incident.reference}.")

    async def close(
        self, incident: Incident, root_cause: str, fix: str, *, timeout: float = 15.0
    ) -> Outcome:
        """Post the root cause and the fix as the closing update and move the status on
        (post-incident if the account has it, else closed)."""
        self.check_write("close")
        cause = clean_text(root_cause, limit=MAX_NOTE_CHARS, multiline=True).strip()
        remedy = clean_text(fix, limit=MAX_NOTE_CHARS, multiline=True).strip()
        if not cause or not remedy:
            raise ActionError(
                "An incident ends when the root cause is known and a fix is in place: give both."
            )
        if incident.status.category in ("closed", "declined", "canceled", "merged"):
            raise ActionError(f"{incident.reference} is already {incident.status.name}.")
        target = (await self.lookups()).close_status(incident)
        if target is None:
            raise ActionError("This account has no post-incident or closed status to move to.")
        message = f"Root cause: {cause}\n\nFix in place: {remedy}"
        queued = self.change(incident, status=target, message=message)
        return await self.settle(
            queued,
            f"{incident.reference} moved to {target.name}; root cause and fix posted",
            timeout=timeout,
        )


def _count(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n} {many}"


def _label(item: OutboxItem) -> str:
    title = item.payload.get("title") or item.payload.get("message") or item.kind
    return clean_text(str(title).splitlines()[0] if title else item.kind, limit=60)


def _cached(incident: Incident) -> dict[str, Any]:
    """An incident as kept in the local cache (enough to list it and take a note)."""
    sev = incident.severity
    return {
        "name": incident.name,
        "status": [incident.status.id, incident.status.name, incident.status.category],
        "severity": [sev.id, sev.name, sev.rank] if sev else None,
        "created_at": incident.created_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
        "summary": incident.summary[:600],
    }


def _from_cache(ident: str, ref: str, fields: dict[str, Any]) -> Incident | None:
    try:
        status_id, status_name, category = (str(v) for v in fields["status"][:3])
        status = IncidentStatus(status_id, status_name, category)
        sev = fields.get("severity")
        severity = Severity(str(sev[0]), str(sev[1]), int(sev[2])) if sev else None
        return Incident(
            id=ident,
            reference=ref,
            name=str(fields.get("name") or ""),
            status=status,
            created_at=parse_datetime(fields["created_at"]),
            updated_at=parse_datetime(fields["updated_at"]),
            summary=str(fields.get("summary") or ""),
            severity=severity,
        )
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _description(text: str, title: str) -> str | None:
    """What goes under a timeline item's title: the rest of the text after its first
    line, or all of it when the title had to be cut."""
    text = text.strip()
    title = title.strip()
    if text == title:
        return None
    if title and text.startswith(title):
        return text[len(title) :].strip() or None
    return text or None


def _when(payload: Any, item: OutboxItem) -> datetime:
    raw = payload.get("timestamp") if hasattr(payload, "get") else None
    try:
        return parse_datetime(raw)
    except (ValueError, TypeError, IndexError):
        return item.created_at


# ----------------------------------------------------------------- delivery words


def rerouted_how(item: OutboxItem) -> str:
    """How a delivered item got there when it took the fallback route ("" otherwise)."""
    if item.route != ROUTE_FALLBACK or ", " not in item.status_text:
        return ""
    return item.status_text.split(", ", 1)[1].rstrip(".")


def delivery_words(delivery: Delivery) -> tuple[str, str] | None:
    """What to tell the user about one delivery: (text, "information"|"warning"|"error"),
    or None when nothing needs saying (a quiet retry)."""
    item = delivery.item
    ref = clean_text(item.payload.get("incident_ref") or "the incident", limit=60)
    what = "Note" if item.kind == KIND_NOTE else "Update"
    title = item.payload.get("title") or item.payload.get("message") or ""
    quoted = clean_text(str(title).splitlines()[0] if title else "", limit=60)
    label = f"{what} “{quoted}”" if quoted else what
    if delivery.outcome == OUTCOME_DELIVERED:
        return f"{label} is on {ref}'s timeline.", "information"
    if delivery.outcome == OUTCOME_REROUTED:
        how = rerouted_how(item)
        return f"{label} reached {ref}: {how}.", "warning"
    if delivery.outcome == OUTCOME_RETRYING:
        if item.attempts == 1:
            return (
                f"{label} is kept and will be sent when incident.io answers "
                f"({clean_text(item.last_error, limit=120)}).",
                "warning",
            )
        return None
    if delivery.outcome in (OUTCOME_FAILED, OUTCOME_NEEDS_ATTENTION):
        return (
            f"{label} for {ref} was not sent: {clean_text(item.last_error, limit=300)}. "
            "It is kept on this machine in the outbox; `oncall-tui outbox` lists it.",
            "error",
        )
    return None


def item_summary(item: OutboxItem, zone: timefmt.ZoneLike = None) -> dict[str, Any]:
    """One outbox item as plain fields, for ``oncall-tui outbox``."""
    payload = item.payload
    text = payload.get("text") or payload.get("message") or ""
    change = []
    if payload.get("status_name"):
        change.append(f"status → {payload.get('status_name')}")
    if payload.get("severity_name"):
        change.append(f"severity → {payload.get('severity_name')}")
    return {
        "id": item.id,
        "key": item.key,
        "kind": item.kind,
        "incident": clean_text(payload.get("incident_ref") or item.target, limit=60),
        "incident_id": item.target,
        "state": item.state,
        "created_at": item.created_at,
        "attempts": item.attempts,
        "change": ", ".join(clean_text(c, limit=120) for c in change),
        "text": clean_text(text, limit=100_000, multiline=True),
        "status": clean_text(item.status_text, limit=500),
        "error": clean_text(item.last_error, limit=500),
        "route": item.route,
    }
