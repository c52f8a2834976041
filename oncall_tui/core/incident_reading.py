"""Reading incidents: the plumbing every incident action shares (client, me, the write
guard, the outbox, the account's look-ups) and what is read (the listed incidents, cached
for offline notes, one incident by reference, its timeline, its Markdown)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from oncall_tui.backends.http import ApiError, InvalidRequest, NotFound
from oncall_tui.backends.incidentio import (
    CAP_TIMELINE_ITEMS,
    CapabilityUnavailable,
    IncidentIoClient,
    normalise_incident_ref,
    parse_datetime,
)
from oncall_tui.core import guard, timefmt
from oncall_tui.core.actions import ActionError, check_write
from oncall_tui.core.incident_model import (
    MAX_LINKED_ALERTS,
    MAX_PAGES,
    STATE_HELD,
    Lookups,
    RoleWatcher,
    TimelineData,
    slack_url,
    sort_incidents,
)
from oncall_tui.core.outbox import (
    Outbox,
    OutboxItem,
)
from oncall_tui.core.sent import SentLedger
from oncall_tui.core.sources import Backends
from oncall_tui.core.sync import SyncEngine, utcnow
from oncall_tui.core.timeline import merge_timeline, resolution_time, timeline_markdown
from oncall_tui.core.whoami import WhoAmI
from oncall_tui.domain import (
    LISTED_STATUS_CATEGORIES,
    MAX_LISTED_INCIDENTS,
    Incident,
    IncidentStatus,
    RoleChange,
    Severity,
    TimelineEntry,
    User,
)
from oncall_tui.safety import clean_text


class IncidentReader:
    """The incident actions' plumbing (client, me, the write guard, the outbox, look-ups)
    and reading: the listed incidents, one incident, its timeline."""

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
