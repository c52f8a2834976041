"""The simulated incident.io's response shapes: every object as the official schema has it
(users, schedules and entries, overrides, paths, pages, alerts, incidents, updates, timeline
items), and the constants the API shares."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from oncall_tui.sim.world import (
    Actor,
    Entry,
    IncidentIoWorld,
    SimAlert,
    SimAlertNote,
    SimAlertSource,
    SimEscalation,
    SimIncident,
    SimIncidentType,
    SimOverride,
    SimPath,
    SimRole,
    SimSchedule,
    SimSeverity,
    SimStatus,
    SimTimelineItem,
    SimUser,
    iso,
)

DEFAULT_TOKEN = "demo-token"
NEWER_PATHS = ("/actions/respond", "/actions/reassign", "/v2/incident_timeline_items")
SLIM_CATEGORY = {"live": "active", "learning": "post-incident"}
MAX_ENTRY_WINDOW = timedelta(days=366)
DEFAULT_ENTRY_WINDOW = timedelta(days=7)
IDENTITY_ROLES = [
    "viewer",
    "incident_creator",
    "incident_editor",
    "schedules_reader",
    "schedule_overrides_editor",
    "on_call_viewer",
    "on_call_editor",
    "escalation_creator",
    "post_incident_flow_opt_out",
    "act_on_behalf_of_users",
]


# ------------------------------------------------------------------ serialisers


class Shapes:
    """Simulated objects → incident.io JSON."""

    def __init__(self, world: IncidentIoWorld) -> None:
        self.w = world

    def user(self, u: SimUser) -> dict[str, Any]:
        return {
            "id": u.id,
            "name": u.name,
            "email": u.email,
            "slack_user_id": u.slack_user_id,
            "role": u.role,
        }

    def user_id(self, uid: str | None) -> dict[str, Any] | None:
        return self.user(self.w.users[uid]) if uid and uid in self.w.users else None

    def user_with_roles(self, u: SimUser) -> dict[str, Any]:
        role = {"id": "base-" + u.base_role, "name": u.base_role.title(), "slug": u.base_role}
        return {
            **self.user(u),
            "is_active": u.is_active,
            "base_role": role,
            "custom_roles": [],
            "seats": {
                "on_call": u.on_call_seat,
                "response": "full_access" if u.is_active else "none",
            },
        }

    def actor_v2(self, a: Actor) -> dict[str, Any]:
        if a.kind == "user" and a.id in self.w.users:
            return {"user": self.user(self.w.users[a.id])}
        if a.kind == "alert":
            return {"alert": {"id": a.id, "title": a.name}}
        if a.kind == "workflow":
            return {"workflow": {"id": a.id, "name": a.name}}
        return {"api_key": {"id": a.id, "name": a.name}}

    def actor_v1(self, a: Actor) -> dict[str, Any]:
        if a.kind == "user" and a.id in self.w.users:
            return {"user": self.user(self.w.users[a.id])}
        key = self.w.api_key
        return {"api_key": {"id": key.id, "name": key.name}}

    # schedules

    def entry(self, e: Entry) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start_at": iso(e.start),
            "end_at": iso(e.end),
            "rotation_id": e.rotation_id,
            "fingerprint": e.fingerprint,
        }
        if self.w.entry_layer_ids:  # the older shape, before the 2.29.0 schema
            out["layer_id"] = e.layer_id
        if e.entry_id:
            out["entry_id"] = e.entry_id
        user = self.user_id(e.user_id)
        if user:
            out["user"] = user
        return out

    def schedule(self, s: SimSchedule, now: datetime, *, with_next: bool = True) -> dict[str, Any]:
        current, upcoming = self.w.current_and_next_shifts(s, now)
        rotations = []
        for r in s.rotations:
            rot: dict[str, Any] = {
                "id": r.id,
                "name": r.name,
                "layers": [{"id": layer.id, "name": layer.name} for layer in r.layers],
                "users": [self.user(self.w.users[u]) for u in r.user_ids if u in self.w.users],
                "handover_start_at": iso(r.handover_start_at),
                "handovers": [{"interval_type": r.interval_type, "interval": r.interval}],
                "working_intervals": [
                    {"weekday": _weekday(i.weekday), "start_time": i.start, "end_time": i.end}
                    for i in r.working_intervals
                ],
            }
            if r.effective_from:
                rot["effective_from"] = iso(r.effective_from)
            rotations.append(rot)
        return {
            "id": s.id,
            "name": s.name,
            "timezone": s.timezone,
            "team_ids": list(s.team_ids),
            "permalink": f"{self.w.org_url}/on-call/schedules/{s.id}",
            "annotations": dict(s.annotations),
            "config": {"rotations": rotations},
            "holidays_public_config": {"country_codes": []},
            "current_shifts": [self.entry(e) for e in current],
            "next_shifts": [self.entry(e) for e in upcoming] if with_next else [],
            "created_at": iso(s.created_at),
            "updated_at": iso(s.updated_at),
        }

    def override(self, o: SimOverride) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": o.id,
            "schedule_id": o.schedule_id,
            "rotation_id": o.rotation_id,
            "layer_id": o.layer_id,
            "start_at": iso(o.start),
            "end_at": iso(o.end),
            "created_at": iso(o.created_at),
            "updated_at": iso(o.updated_at),
        }
        user = self.user_id(o.user_id)
        if user:
            out["user"] = user
        return out

    # escalation

    def path(self, p: SimPath, now: datetime) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": p.id,
            "name": p.name,
            "kind": p.kind,
            "team_ids": list(p.team_ids),
            "path": [
                {
                    "id": level.node_id,
                    "type": "level",
                    "level": {
                        "targets": [
                            {
                                "type": t.type,
                                "id": t.id,
                                "urgency": t.urgency,
                                **(
                                    {"schedule_mode": t.schedule_mode}
                                    if t.type == "schedule"
                                    else {}
                                ),
                            }
                            for t in level.targets
                        ],
                        "time_to_ack_seconds": level.time_to_ack_seconds,
                        "ack_mode": level.ack_mode,
                    },
                }
                for level in p.levels
            ]
            if p.kind != "templated"
            else [],
            "current_responders": [
                self.user(self.w.users[u]) for u in self.w.current_responders(p, now)
            ],
        }
        if p.kind == "templated":
            out["template_id"] = p.template_id
            out["param_bindings"] = p.param_bindings
        return out

    def escalation(self, e: SimEscalation) -> dict[str, Any]:
        creator: dict[str, Any] = {}
        if e.creator.kind in ("user", "alert", "workflow"):
            creator = self.actor_v2(e.creator)
        events = []
        for ev in e.events:
            item: dict[str, Any] = {
                "id": ev.id,
                "event": ev.event,
                "occurred_at": iso(ev.occurred_at),
            }
            if ev.user_ids or ev.event in ("notified_users", "acked"):
                item["users"] = [
                    self.user(self.w.users[u]) for u in ev.user_ids if u in self.w.users
                ]
            if ev.urgency:
                item["urgency"] = ev.urgency
            events.append(item)
        out: dict[str, Any] = {
            "id": e.id,
            "title": e.title,
            "description": e.description,
            "status": e.status,
            "priority": {"name": e.priority},
            "creator": creator,
            "events": events,
            "related_alerts": [
                self.alert_slim(self.w.alerts[a]) for a in e.alert_ids if a in self.w.alerts
            ],
            "related_incidents": [
                self.incident_slim(self.w.incidents[i])
                for i in e.incident_ids
                if i in self.w.incidents
            ],
            "created_at": iso(e.created_at),
            "updated_at": iso(e.updated_at),
        }
        if e.path_id:
            out["escalation_path_id"] = e.path_id
        return out

    # alerts

    def alert_slim(self, a: SimAlert) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": a.id,
            "title": a.title,
            "deduplication_key": a.dedup_key,
            "alert_source_id": a.source_id,
            "status": a.status,
            "created_at": iso(a.created_at),
            "updated_at": iso(a.updated_at),
        }
        if a.description:
            out["description"] = a.description
        if a.source_url:
            out["source_url"] = a.source_url
        if a.resolved_at:
            out["resolved_at"] = iso(a.resolved_at)
        if a.group_ids:
            out["alert_group_ids"] = list(a.group_ids)
        return out

    def alert(self, a: SimAlert) -> dict[str, Any]:
        attrs = self.w.alert_attributes
        entries: list[dict[str, Any]] = []

        def attribute(name: str, value: dict[str, Any]) -> None:
            at = attrs[name]
            meta: dict[str, Any] = {
                "id": at.id,
                "name": at.name,
                "type": at.type,
                "array": at.array,
                "required": at.required,
            }
            if at.emoji:
                meta["emoji"] = at.emoji
            entries.append({"attribute": meta, "value": value})

        team = next((t for t in self.w.teams.values() if t.id == a.team_id), None)
        if team:
            attribute(
                "team",
                {
                    "label": team.name,
                    "catalog_entry": {
                        "id": team.id,
                        "name": team.name,
                        "catalog_type_id": self.w.catalog_team_type_id,
                    },
                },
            )
        attribute("severity", {"literal": a.severity, "label": a.severity})
        if a.service:
            attribute("service", {"literal": a.service, "label": a.service})
        if a.runbook_url:
            attribute("runbook_url", {"literal": a.runbook_url, "label": a.runbook_url})
        if a.dashboard_url:
            attribute("dashboard_url", {"literal": a.dashboard_url, "label": a.dashboard_url})
        return {**self.alert_slim(a), "attributes": entries}

    def note(self, n: SimAlertNote) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": n.id,
            "content": n.content,
            "creator": self.actor_v1(n.creator),
            "images": [],
            "created_at": iso(n.created_at),
            "updated_at": iso(n.updated_at),
        }
        if n.alert_id:
            out["alert_id"] = n.alert_id
        if n.alert_group_id:
            out["alert_group_id"] = n.alert_group_id
        return out

    def source(self, s: SimAlertSource, base_url: str) -> dict[str, Any]:
        return {
            "id": s.id,
            "name": s.name,
            "source_type": s.source_type,
            "secret_token": s.secret_token,
            "alert_events_url": f"{base_url}/v2/alert_events/http/{s.id}",
            "owning_team_ids": list(s.owning_team_ids),
            "auto_resolve_incident_alerts": False,
            "template": {
                "title": {"label": "Title", "reference": "alert.title"},
                "description": {"label": "Description", "reference": "alert.description"},
                "attributes": [],
                "expressions": [],
                "is_private": False,
            },
        }

    # incidents

    def severity(self, s: SimSeverity) -> dict[str, Any]:
        return {
            "id": s.id,
            "name": s.name,
            "rank": s.rank,
            "description": s.description,
            "created_at": iso(s.created_at),
            "updated_at": iso(s.created_at),
        }

    def status(self, s: SimStatus) -> dict[str, Any]:
        return {
            "id": s.id,
            "name": s.name,
            "category": s.category,
            "rank": s.rank,
            "description": s.description,
            "created_at": iso(s.created_at),
            "updated_at": iso(s.created_at),
        }

    def role(self, r: SimRole, *, embedded: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": r.id,
            "name": r.name,
            "shortform": r.shortform,
            "role_type": r.role_type,
            "description": r.description,
            "instructions": r.instructions,
            "created_at": iso(r.created_at),
            "updated_at": iso(r.created_at),
        }
        if embedded:
            out["required"] = r.required
        return out

    def incident_type(self, t: SimIncidentType) -> dict[str, Any]:
        return {
            "id": t.id,
            "name": t.name,
            "description": t.description,
            "is_default": t.is_default,
            "private_incidents_only": t.private_incidents_only,
            "create_in_triage": t.create_in_triage,
            "created_at": iso(t.created_at),
            "updated_at": iso(t.created_at),
        }

    def incident_slim(self, i: SimIncident) -> dict[str, Any]:
        category = self.w.statuses[i.status_id].category
        out = {
            "id": i.id,
            "external_id": i.external_id,
            "name": i.name,
            "reference": i.reference,
            "visibility": i.visibility,
            "status_category": SLIM_CATEGORY.get(category, category),
        }
        if i.summary:
            out["summary"] = i.summary
        return out

    def incident(self, i: SimIncident) -> dict[str, Any]:
        w = self.w
        assignments = []
        for role in w.roles.values():
            item: dict[str, Any] = {"role": self.role(role, embedded=True)}
            user = self.user_id(i.roles.get(role.id))
            if user:
                item["assignee"] = user
            assignments.append(item)
        out: dict[str, Any] = {
            "id": i.id,
            "reference": i.reference,
            "name": i.name,
            "incident_status": self.status(w.statuses[i.status_id]),
            "mode": i.mode,
            "visibility": i.visibility,
            "permalink": f"{w.org_url}/incidents/{i.external_id}",
            "creator": self.actor_v2(i.creator),
            "incident_role_assignments": assignments,
            "custom_field_entries": [],
            "incident_timestamp_values": [],
            "duration_metrics": [],
            "slack_team_id": "T0SIMULATED",
            "slack_channel_id": i.slack_channel_id,
            "slack_channel_name": i.slack_channel_name,
            "has_debrief": False,
            "team_ids": list(i.team_ids),
            "last_activity_at": iso(i.updated_at),
            "created_at": iso(i.created_at),
            "updated_at": iso(i.updated_at),
        }
        if i.summary:
            out["summary"] = i.summary
        if i.severity_id and i.severity_id in w.severities:
            out["severity"] = self.severity(w.severities[i.severity_id])
        if i.type_id and i.type_id in w.incident_types:
            out["incident_type"] = self.incident_type(w.incident_types[i.type_id])
        if i.call_url:
            out["call_url"] = i.call_url
        return out

    def update(self, u: Any) -> dict[str, Any]:
        w = self.w
        out: dict[str, Any] = {
            "id": u.id,
            "incident_id": u.incident_id,
            "new_incident_status": self.status(w.statuses[u.status_id]),
            "updater": self.actor_v2(u.updater),
            "created_at": iso(u.created_at),
        }
        if u.message:
            out["message"] = u.message
        if u.severity_id and u.severity_id in w.severities:
            out["new_severity"] = self.severity(w.severities[u.severity_id])
        return out

    def timeline_item(self, t: SimTimelineItem) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": t.id,
            "incident_id": t.incident_id,
            "timestamp": iso(t.timestamp),
            "title": t.title,
            "creator": self.actor_v2(t.creator),
            "created_at": iso(t.created_at),
            "updated_at": iso(t.updated_at),
        }
        if t.description:
            out["description"] = t.description
        if t.activity_log_id:
            out["activity_log_id"] = t.activity_log_id
        return out


def _weekday(i: int) -> str:
    return ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[i]
