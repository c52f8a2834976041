"""The simulated incidents: declaring, status moves and their rules, edits, updates and
timeline items."""

from __future__ import annotations

from datetime import datetime

from oncall_tui.sim.records import (
    Actor,
    SimIncident,
    SimIncidentUpdate,
    SimSeverity,
    SimStatus,
    SimTimelineItem,
    invalid,
    iso,
    not_found,
)
from oncall_tui.sim.world_paging import PagingWorld
from oncall_tui.sim.world_state import _slug


class IncidentWorld(PagingWorld):
    """Incidents and what is written on them."""

    # ------------------------------------------------------------------ incidents

    def check_status_move(self, current: SimStatus, target: SimStatus) -> None:
        """Refuse the moves incident.io forbids, with the reason in words."""
        a, b = current.category, target.category
        if current.id == target.id:
            return
        if a == "learning" and b == "learning":
            raise invalid(
                f"cannot move from {current.name} to {target.name}: an incident cannot move "
                "between post-incident statuses",
                "incident_status_id",
                "invalid_transition",
            )
        allowed = {
            "triage": {
                "triage",
                "live",
                "learning",
                "closed",
                "declined",
                "canceled",
                "merged",
                "paused",
            },
            "live": {"live", "paused", "learning", "closed", "merged"},
            "paused": {"paused", "live", "learning", "closed"},
            "learning": {"closed"},
        }.get(a, set())
        if b not in allowed:
            if a in ("closed", "declined", "canceled", "merged"):
                why = f"the incident is already {current.name.lower()}"
            elif b == "triage":
                why = "an incident that has left triage cannot go back to it"
            else:
                why = f"{a} incidents cannot move to the {b} category"
            raise invalid(
                f"cannot move from {current.name} to {target.name}: {why}",
                "incident_status_id",
                "invalid_transition",
            )

    def _status(self, status_id: str, field_name: str) -> SimStatus:
        st = self.statuses.get(status_id)
        if st is None:
            raise invalid("incident status not found", field_name, "not_found")
        return st

    def _severity(self, severity_id: str, field_name: str) -> SimSeverity:
        sev = self.severities.get(severity_id)
        if sev is None:
            raise invalid("severity not found", field_name, "not_found")
        return sev

    def declare_incident(
        self,
        *,
        idempotency_key: str,
        name: str | None,
        summary: str | None = None,
        severity_id: str | None = None,
        status_id: str | None = None,
        type_id: str | None = None,
        mode: str = "standard",
        visibility: str = "public",
        role_assignments: dict[str, str | None] | None = None,
        actor: Actor | None = None,
        at: datetime | None = None,
        record: bool = True,
    ) -> tuple[SimIncident, bool]:
        """Open an incident. Without a lead assignment the lead is "me": the sim's API key
        was made by me, and declaring from the dashboard makes you lead."""
        with self.lock:
            if ("incident", idempotency_key) in self._idem:
                return self.incidents[self._idem[("incident", idempotency_key)]], False
            itype = None
            if type_id:
                itype = self.incident_types.get(type_id)
                if itype is None:
                    raise invalid("incident type not found", "incident_type_id", "not_found")
            else:
                itype = next(t for t in self.incident_types.values() if t.is_default)
            if itype.create_in_triage == "always":
                status = self.status_by_name("Triage")
            elif status_id:
                status = self._status(status_id, "incident_status_id")
            else:
                status = self.status_by_name("Investigating")
            if status.category not in ("triage", "live"):
                raise invalid(
                    "a new incident must start in triage or an active status", "incident_status_id"
                )
            if severity_id:
                self._severity(severity_id, "severity_id")
            elif status.category != "triage":
                raise invalid(
                    "A severity is required to open an incident", "severity_id", "is_required"
                )
            at = at or self.now()
            roles: dict[str, str] = {}
            for role_id, user_id in (role_assignments or {}).items():
                if role_id not in self.roles:
                    raise invalid(
                        "incident role not found", "incident_role_assignments", "not_found"
                    )
                if user_id:
                    roles[role_id] = user_id
            lead = self.role_by_type("lead")
            if lead.id not in roles:
                roles[lead.id] = self.me.id
            n = self.next_external_id
            self.next_external_id += 1
            inc = SimIncident(
                id=self.ids.new(at),
                external_id=n,
                name=name or f"Incident {n}",
                summary=summary or "",
                status_id=status.id,
                severity_id=severity_id,
                type_id=itype.id,
                creator=actor or self.api_key,
                created_at=at,
                updated_at=at,
                mode=mode,
                visibility=visibility,
                roles=roles,
                slack_channel_id="C" + self.ids.new(at)[-9:],
                slack_channel_name=f"inc-{n}-" + _slug(name or "incident")[:40],
                idempotency_key=idempotency_key,
            )
            self.incidents[inc.id] = inc
            self._idem[("incident", idempotency_key)] = inc.id
            self._activity(
                inc,
                at,
                "Incident declared",
                f"{inc.reference} was declared as {status.name}.",
                actor or self.api_key,
            )
            if record:
                self._record(
                    "incident.create",
                    inc.id,
                    actor,
                    name=inc.name,
                    severity_id=severity_id,
                    status_id=status.id,
                    lead_id=roles.get(lead.id),
                )
            return inc, True

    def _activity(
        self, inc: SimIncident, at: datetime, title: str, description: str, actor: Actor
    ) -> SimTimelineItem:
        item = SimTimelineItem(
            self.ids.new(at),
            inc.id,
            at,
            title,
            actor,
            at,
            at,
            description,
            activity_log_id=self.ids.new(at),
        )
        self.timeline_items[item.id] = item
        return item

    def _apply_change(
        self,
        inc: SimIncident,
        *,
        status_id: str | None,
        severity_id: str | None,
        message: str | None,
        actor: Actor,
        at: datetime,
        idempotency_key: str = "",
    ) -> SimIncidentUpdate | None:
        status = self.statuses[inc.status_id]
        new_status = self._status(status_id, "incident_status_id") if status_id else status
        if severity_id:
            self._severity(severity_id, "severity_id")
        self.check_status_move(status, new_status)
        changed = new_status.id != inc.status_id or (severity_id and severity_id != inc.severity_id)
        if not changed and not message:
            return None
        old_sev = self.severities.get(inc.severity_id or "")
        inc.status_id = new_status.id
        if severity_id:
            inc.severity_id = severity_id
        inc.updated_at = at
        update = SimIncidentUpdate(
            self.ids.new(at),
            inc.id,
            new_status.id,
            actor,
            at,
            message or None,
            severity_id,
            idempotency_key,
        )
        self.incident_updates[update.id] = update
        if new_status.id != status.id:
            self._activity(
                inc,
                at,
                f"Status changed to {new_status.name}",
                f"From {status.name} to {new_status.name}.",
                actor,
            )
        if severity_id and old_sev and severity_id != old_sev.id:
            self._activity(
                inc,
                at,
                f"Severity changed to {self.severities[severity_id].name}",
                f"From {old_sev.name}.",
                actor,
            )
        return update

    def edit_incident(
        self,
        incident_id: str,
        *,
        name: str | None = None,
        summary: str | None = None,
        status_id: str | None = None,
        severity_id: str | None = None,
        call_url: str | None = None,
        role_assignments: dict[str, str | None] | None = None,
        actor: Actor | None = None,
    ) -> SimIncident:
        with self.lock:
            inc = self.incident(incident_id)
            now = self.now()
            actor = actor or self.api_key
            for role_id in role_assignments or {}:
                if role_id not in self.roles:
                    raise invalid(
                        "incident role not found", "incident.incident_role_assignments", "not_found"
                    )
            self._apply_change(
                inc, status_id=status_id, severity_id=severity_id, message=None, actor=actor, at=now
            )
            if name is not None:
                inc.name = name
            if summary is not None:
                inc.summary = summary
            if call_url is not None:
                inc.call_url = call_url or None
            for role_id, user_id in (role_assignments or {}).items():
                before = inc.roles.get(role_id)
                if user_id:
                    inc.roles[role_id] = user_id
                else:
                    inc.roles.pop(role_id, None)
                if before != user_id:
                    role = self.roles[role_id]
                    who = self.users[user_id].name if user_id else "nobody"
                    self._activity(
                        inc,
                        now,
                        f"{role.name} is now {who}",
                        f"{role.name} assigned to {who}.",
                        actor,
                    )
            inc.updated_at = now
            self._record(
                "incident.edit",
                inc.id,
                actor,
                status_id=status_id,
                severity_id=severity_id,
                name=name,
                summary=summary,
                roles={k: v for k, v in (role_assignments or {}).items()},
            )
            return inc

    def create_incident_update(
        self,
        *,
        idempotency_key: str,
        incident_id: str,
        message: str | None = None,
        status_id: str | None = None,
        severity_id: str | None = None,
        actor: Actor | None = None,
        at: datetime | None = None,
        record: bool = True,
    ) -> tuple[SimIncidentUpdate, bool]:
        with self.lock:
            if ("incident_update", idempotency_key) in self._idem:
                uid = self._idem[("incident_update", idempotency_key)]
                return self.incident_updates[uid], False
            if not (message or status_id or severity_id):
                raise invalid(
                    "an update needs a message, a new status or a new severity",
                    "message",
                    "is_required",
                )
            inc = self.incident(incident_id)
            at = at or self.now()
            actor = actor or self.api_key
            update = self._apply_change(
                inc,
                status_id=status_id,
                severity_id=severity_id,
                message=message or None,
                actor=actor,
                at=at,
                idempotency_key=idempotency_key,
            )
            if update is None:  # nothing changed and no message: still record an update
                update = SimIncidentUpdate(
                    self.ids.new(at), inc.id, inc.status_id, actor, at, None, None, idempotency_key
                )
                self.incident_updates[update.id] = update
            self._idem[("incident_update", idempotency_key)] = update.id
            if record:
                self._record(
                    "incident_update.create",
                    update.id,
                    actor,
                    incident_id=inc.id,
                    message=message,
                    status_id=status_id,
                    severity_id=severity_id,
                )
            return update, True

    def create_timeline_item(
        self,
        *,
        idempotency_key: str,
        incident_id: str,
        timestamp: datetime,
        title: str,
        description: str | None = None,
        actor: Actor | None = None,
        at: datetime | None = None,
        record: bool = True,
    ) -> tuple[SimTimelineItem, bool]:
        with self.lock:
            if ("timeline_item", idempotency_key) in self._idem:
                return self.timeline_items[self._idem[("timeline_item", idempotency_key)]], False
            inc = self.incident(incident_id)
            if not title.strip():
                raise invalid("title must not be empty", "title", "is_required")
            at = at or self.now()
            actor = actor or self.api_key
            item = SimTimelineItem(
                self.ids.new(at),
                inc.id,
                timestamp,
                title,
                actor,
                at,
                at,
                description or None,
                None,
                idempotency_key,
            )
            self.timeline_items[item.id] = item
            self._idem[("timeline_item", idempotency_key)] = item.id
            if record:
                self._record(
                    "timeline_item.create",
                    item.id,
                    actor,
                    incident_id=inc.id,
                    title=title,
                    description=description,
                )
            return item, True

    def update_timeline_item(
        self,
        item_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        timestamp: datetime | None = None,
        actor: Actor | None = None,
    ) -> SimTimelineItem:
        with self.lock:
            item = self.timeline_items.get(item_id)
            if item is None:
                raise not_found("Timeline item", item_id)
            if timestamp is not None and item.activity_log_id:
                raise invalid(
                    "only custom timeline items can have their timestamp changed",
                    "timestamp",
                    "not_editable",
                )
            if title is not None:
                if not title.strip():
                    raise invalid("title must not be empty", "title", "is_required")
                item.title = title
            if description is not None:
                item.description = description or None
            if timestamp is not None:
                item.timestamp = timestamp
            item.updated_at = self.now()
            self._record(
                "timeline_item.update",
                item.id,
                actor,
                title=title,
                description=description,
                timestamp=iso(timestamp) if timestamp else None,
            )
            return item
