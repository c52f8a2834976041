"""The simulated incident.io public API, as a Starlette app over a :class:`IncidentIoWorld`.

Shapes follow the official schema (the ``openapi.json`` of the official SDK incident-io
2.29.0, which the contract tests check every response against; schedule entries name only
their rotation unless the world asks for the older shape with layers): the same envelopes, ID-cursor
pagination (``page_size``/``after`` → ``pagination_meta``), the time-window cursor of
``/v2/schedule_entries`` (``after``/``after_url``), deepObject filters
(``status[one_of]=firing&status[one_of]=resolved``), 201/202/204 where the real API uses
them, idempotency keys, bearer-token auth, a token-bucket rate limit with
``X-RateLimit-*`` and ``Retry-After``, and error bodies of the form
``{type, status, request_id, errors: [{code, message, source: {field}}]}``.

Not part of incident.io: ``/_sim/...`` control endpoints (same bearer token) to read the
write log, set faults, move a controllable clock, page someone, or add bulk data.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oncall_tui.sim.faults import FaultInjector, Faults
from oncall_tui.sim.world import (
    Actor,
    Entry,
    IncidentIoWorld,
    SimAlert,
    SimAlertNote,
    SimAlertSource,
    SimError,
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
    invalid,
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


# ---------------------------------------------------------------------- helpers


def error_body(
    status: int,
    type: str,
    code: str,
    message: str,
    *,
    field: str | None = None,
    rate_limit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["source"] = {"field": field, "pointer": "/" + field.replace(".", "/")}
    body: dict[str, Any] = {
        "type": type,
        "status": status,
        "request_id": str(uuid.uuid4()),
        "errors": [err],
    }
    if rate_limit:
        body["rate_limit"] = rate_limit
    return body


def error_response(exc: SimError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(exc.status, exc.type, exc.code, exc.message, field=exc.field),
        status_code=exc.status,
        headers=headers,
    )


def parse_time(value: Any, field: str, *, required: bool = True) -> datetime | None:
    if value in (None, ""):
        if required:
            raise invalid(f"{field} is required", field, "is_required")
        return None
    if not isinstance(value, str):
        raise invalid(f"{field} must be an RFC 3339 date-time", field)
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{field} must be an RFC 3339 date-time", field) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def req_time(value: Any, field: str) -> datetime:
    """A required RFC 3339 date-time (a 422 when missing or malformed)."""
    parsed = parse_time(value, field)
    assert parsed is not None  # parse_time raises for a missing required time
    return parsed


def deep_filters(request: Request, name: str) -> dict[str, list[str]]:
    """``name[op]=v`` query keys (repeated for several values) → ``{op: [v, …]}``."""
    out: dict[str, list[str]] = {}
    prefix = name + "["
    for key, value in request.query_params.multi_items():
        if key.startswith(prefix) and key.endswith("]"):
            op = key[len(prefix) : -1]
            out.setdefault(op, []).append(value)
    return out


def nested_filters(request: Request, name: str) -> dict[str, dict[str, list[str]]]:
    """``name[id][op]=v`` → ``{id: {op: [v, …]}}`` (incident roles, custom fields)."""
    out: dict[str, dict[str, list[str]]] = {}
    prefix = name + "["
    for key, value in request.query_params.multi_items():
        if key.startswith(prefix) and key.endswith("]") and "][" in key:
            inner = key[len(prefix) : -1]
            ident, op = inner.split("][", 1)
            out.setdefault(ident, {}).setdefault(op, []).append(value)
    return out


def check_ops(name: str, filters: dict[str, list[str]], allowed: tuple[str, ...]) -> None:
    for op in filters:
        if op not in allowed:
            raise invalid(
                f"{name}[{op}] is not a supported filter; use one of "
                + ", ".join(f"{name}[{a}]" for a in allowed),
                name,
                "invalid_filter",
            )


def match_set(filters: dict[str, list[str]], values: set[str] | str | None) -> bool:
    """one_of / not_in / is semantics over one value or a set of values."""
    have = {values} if isinstance(values, str) else set(values or ())
    if "one_of" in filters and not have & set(filters["one_of"]):
        return False
    if "is" in filters and not have & set(filters["is"]):
        return False
    return not ("not_in" in filters and have & set(filters["not_in"]))


def match_time(name: str, filters: dict[str, list[str]], value: datetime) -> bool:
    check_ops(name, filters, ("gte", "lte", "date_range"))
    for op, vals in filters.items():
        for raw in vals:
            if op == "date_range":
                if "~" not in raw:
                    raise invalid(f"{name}[date_range] must look like 2024-12-02~2024-12-08", name)
                lo, hi = raw.split("~", 1)
                start = _date_or_time(lo, name)
                end = _date_or_time(hi, name, end_of_day=True)
                if not start <= value < end:
                    return False
            else:
                bound = _date_or_time(raw, name, end_of_day=op == "lte")
                day_only = len(raw.strip()) == 10
                too_early = op == "gte" and value < bound
                too_late = op == "lte" and (value >= bound if day_only else value > bound)
                if too_early or too_late:
                    return False
    return True


def _date_or_time(raw: str, field: str, *, end_of_day: bool = False) -> datetime:
    raw = raw.strip()
    if len(raw) == 10:
        try:
            day = datetime.fromisoformat(raw).replace(tzinfo=UTC)
        except ValueError:
            raise invalid(f"{field} has an invalid date {raw!r}", field) from None
        return day + timedelta(days=1) if end_of_day else day
    dt = parse_time(raw, field)
    assert dt is not None
    return dt


def page_size(request: Request, *, maximum: int, default: int = 25, required: bool = False) -> int:
    raw = request.query_params.get("page_size")
    if raw is None or raw == "":
        if required:
            raise invalid("page_size is required", "page_size", "is_required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid("page_size must be an integer", "page_size") from None
    if value < 1 or value > maximum:
        raise invalid(f"page_size must be between 1 and {maximum}", "page_size")
    return value


def paginate(items: list[Any], size: int, after: str | None) -> tuple[list[Any], str | None]:
    start = 0
    if after:
        for i, item in enumerate(items):
            if item.id == after:
                start = i + 1
                break
        else:
            raise invalid("the after cursor does not match a record in this list", "after")
    page = items[start : start + size]
    more = start + size < len(items)
    return page, (page[-1].id if more and page else None)


def meta(size: int, after: str | None, total: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"page_size": size}
    if after:
        out["after"] = after
    if total is not None:
        out["total_record_count"] = total
    return out


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise SimError(
            400, "invalid_request_error", "invalid_json", "The request body is not valid JSON"
        ) from None
    if not isinstance(body, dict):
        raise SimError(
            400, "invalid_request_error", "invalid_json", "The request body must be an object"
        )
    return body


def req_str(body: dict[str, Any], field: str, *, path: str | None = None) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{field} is required", path or field, "is_required")
    return value


def opt_str(body: dict[str, Any], field: str, *, path: str | None = None) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{field} must be a string", path or field)
    return value


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


# --------------------------------------------------------------- rate limiting


class TokenBucket:
    """incident.io's limiter: ``limit`` requests a minute, refilled continuously."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = max(1, int(limit))
        self.rate = self.limit / 60.0
        self.tokens = float(self.limit)
        self.clock = clock
        self.last = clock()
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, float]:
        """``(allowed, seconds until a token is free)``."""
        with self._lock:
            now = self.clock()
            self.tokens = min(self.limit, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                self.used += 1
                return True, 0.0
            return False, (1 - self.tokens) / self.rate

    def headers(self) -> dict[str, str]:
        remaining = int(self.tokens)
        full_in = (self.limit - self.tokens) / self.rate
        return {
            "X-RateLimit-Limit": f"{self.limit}, {self.limit};window=60",
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Used": str(self.limit - max(0, remaining)),
            "X-RateLimit-Reset": str(int(time.time() + full_in)),
        }


# ------------------------------------------------------------------------ app


Handler = Callable[[Request], Awaitable[Response]]


class IncidentIoSim:
    """The routes and their state. :func:`create_app` is the public entry point."""

    def __init__(
        self,
        world: IncidentIoWorld,
        *,
        token: str,
        rate_limit_per_min: int,
        faults: Faults,
        escalation_create_limit_per_min: int = 60,
    ) -> None:
        self.world = world
        self.token = token
        self.faults = faults
        self.shapes = Shapes(world)
        self.bucket = TokenBucket(rate_limit_per_min)
        self.escalation_bucket = TokenBucket(escalation_create_limit_per_min)
        self._alerts_sorted: tuple[int, list[SimAlert], dict[str, int]] = (-1, [], {})

    # -------------------------------------------------------------- plumbing

    def _auth_error(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header:
            return JSONResponse(
                error_body(
                    401,
                    "authentication_error",
                    "missing_authorization_material",
                    "No API key was provided: send 'Authorization: Bearer <key>'",
                ),
                status_code=401,
            )
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or value.strip() != self.token:
            return JSONResponse(
                error_body(
                    401,
                    "authentication_error",
                    "invalid_authorization_material",
                    "The API key provided is not valid",
                ),
                status_code=401,
            )
        return None

    def _limited(self, bucket: TokenBucket) -> JSONResponse | None:
        allowed, wait = bucket.take()
        if allowed:
            return None
        retry = max(1, math.ceil(wait))
        headers = {**bucket.headers(), "Retry-After": str(retry)}
        body = error_body(
            429,
            "too_many_requests",
            "rate_limit_exceeded",
            f"Rate limit of {bucket.limit} requests per minute exceeded; retry in {retry}s",
            rate_limit={
                "name": "api_key",
                "limit": bucket.limit,
                "remaining": 0,
                "retry_after": iso(datetime.now(UTC) + timedelta(seconds=retry)),
            },
        )
        return JSONResponse(body, status_code=429, headers=headers)

    def endpoint(self, fn: Handler, *, newer: bool = False, limited: bool = False) -> Handler:
        async def wrapped(request: Request) -> Response:
            denied = self._auth_error(request)
            if denied is not None:
                return denied
            refused = self._limited(self.bucket) or (
                self._limited(self.escalation_bucket) if limited else None
            )
            if refused is not None:
                return refused
            if newer and self.faults.hide_newer_endpoints:
                return self._not_found(request)
            await request.body()  # read (and cache) the body before taking the world's lock
            try:
                with self.world.lock:
                    self.world.advance()
                    response = await fn(request)
            except SimError as exc:
                response = error_response(exc)
            response.headers.update(self.bucket.headers())
            return response

        return wrapped

    def _not_found(self, request: Request) -> JSONResponse:
        return JSONResponse(
            error_body(
                404,
                "not_found",
                "not_found",
                f"No route matches {request.method} {request.url.path}",
            ),
            status_code=404,
        )

    def actor(self, request: Request) -> Actor:
        """The API key, or the user named by ``X-Incident-User`` (acting on their behalf)."""
        uid = request.headers.get("x-incident-user", "").strip()
        if uid:
            if uid not in self.world.users:
                raise invalid("X-Incident-User does not name a user", "X-Incident-User")
            return self.world.actor_for(uid)
        return self.world.api_key

    @staticmethod
    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # ------------------------------------------------------------ look-ups

    async def identity(self, request: Request) -> Response:
        w = self.world
        return JSONResponse(
            {
                "identity": {
                    "name": w.api_key.name,
                    "roles": IDENTITY_ROLES,
                    "team_roles": [],
                    "teams": [{"id": t.id, "name": t.name} for t in w.teams.values()],
                    "dashboard_url": w.org_url,
                }
            }
        )

    async def users(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=10000)
        email = (q.get("email") or "").strip().lower()
        slack = (q.get("slack_user_id") or "").strip()
        inactive = (q.get("include_inactive") or "").lower() == "true"
        items = [
            u
            for u in self.world.users.values()
            if (inactive or u.is_active)
            and (not email or u.email.lower() == email)
            and (not slack or u.slack_user_id == slack)
        ]
        page, after = paginate(items, size, q.get("after"))
        return JSONResponse(
            {
                "users": [self.shapes.user_with_roles(u) for u in page],
                "pagination_meta": meta(size, after),
            }
        )

    async def user(self, request: Request) -> Response:
        return JSONResponse(
            {"user": self.shapes.user_with_roles(self.world.user(request.path_params["id"]))}
        )

    async def notification_methods(self, request: Request) -> Response:
        methods, _ = self.world.notification_setup(request.path_params["id"])
        out = []
        for m in methods:
            item: dict[str, Any] = {
                "id": m.id,
                "method_type": m.method_type,
                "address": m.address,
                "is_usable": m.is_usable,
            }
            if m.method_type == "phone":
                item["phone_details"] = {"supports_sms": m.sms, "supports_voice": m.voice}
            out.append(item)
        return JSONResponse({"notification_methods": out})

    async def notification_rules(self, request: Request) -> Response:
        _, rules = self.world.notification_setup(request.path_params["id"])
        out = []
        for r in rules:
            target: dict[str, Any] = (
                {"type": "specific", "specific": {"id": r.target}}
                if r.target
                else {"type": "all", "all": {}}
            )
            item: dict[str, Any] = {
                "id": r.id,
                "method_type": r.method_type,
                "method_target": target,
                "rule_type": r.rule_type,
                "delay_seconds": r.delay_seconds,
            }
            if r.channel:
                item["phone"] = {"channel": r.channel}
            if r.criticality:
                item["app"] = {"push_notification_criticality": r.criticality}
            out.append(item)
        return JSONResponse({"notification_rules": out})

    async def severities(self, request: Request) -> Response:
        sevs = sorted(self.world.severities.values(), key=lambda s: s.rank)
        return JSONResponse({"severities": [self.shapes.severity(s) for s in sevs]})

    async def statuses(self, request: Request) -> Response:
        sts = sorted(self.world.statuses.values(), key=lambda s: s.rank)
        return JSONResponse({"incident_statuses": [self.shapes.status(s) for s in sts]})

    async def roles(self, request: Request) -> Response:
        return JSONResponse(
            {"incident_roles": [self.shapes.role(r) for r in self.world.roles.values()]}
        )

    async def types(self, request: Request) -> Response:
        return JSONResponse(
            {
                "incident_types": [
                    self.shapes.incident_type(t) for t in self.world.incident_types.values()
                ]
            }
        )

    # ------------------------------------------------------------ schedules

    async def schedules(self, request: Request) -> Response:
        size = page_size(request, maximum=10000)
        items = list(self.world.schedules.values())
        page, after = paginate(items, size, request.query_params.get("after"))
        now = self.world.now()
        return JSONResponse(
            {
                "schedules": [self.shapes.schedule(s, now, with_next=size <= 25) for s in page],
                "pagination_meta": meta(size, after, len(items)),
            }
        )

    async def schedule(self, request: Request) -> Response:
        sched = self.world.schedules.get(request.path_params["id"])
        if sched is None:
            raise SimError(404, "not_found", "not_found", "Schedule not found")
        return JSONResponse({"schedule": self.shapes.schedule(sched, self.world.now())})

    async def schedule_entries(self, request: Request) -> Response:
        w, q = self.world, request.query_params
        schedule_id = q.get("schedule_id")
        if not schedule_id:
            raise invalid("schedule_id is required", "schedule_id", "is_required")
        sched = w.schedules.get(schedule_id)
        if sched is None:
            raise SimError(404, "not_found", "not_found", "Schedule not found")
        raw_start = q.get("entry_window_start") or ""
        cursor_from: datetime | None = None
        if raw_start.startswith("c1_"):
            cursor_from, window_start = _decode_cursor(raw_start)
        else:
            window_start = parse_time(raw_start, "entry_window_start", required=False) or w.now()
        window_end = parse_time(q.get("entry_window_end"), "entry_window_end", required=False)
        window_end = window_end or window_start + DEFAULT_ENTRY_WINDOW
        if window_end <= window_start:
            raise invalid("entry_window_end must be after entry_window_start", "entry_window_end")
        if window_end - window_start > MAX_ENTRY_WINDOW:
            raise invalid("the entry window may be at most a year long", "entry_window_end")
        scheduled, overrides, final = w.entries(sched, window_start, window_end)
        if cursor_from is not None:  # later pages: entries starting at or after the cut
            scheduled = [e for e in scheduled if e.start >= cursor_from]
            overrides = [e for e in overrides if e.start >= cursor_from]
            final = [e for e in final if e.start >= cursor_from]
        limit = max(1, w.schedule_entries_page_limit)
        cut: datetime | None = None
        if len(final) > limit or len(scheduled) > limit:
            starts = sorted({e.start for e in final} | {e.start for e in scheduled})
            # the first start time that would not fit; everything before it goes now
            counted, cut = 0, None
            for s in starts:
                counted += sum(1 for e in final if e.start == s)
                if counted > limit and s != starts[0]:
                    cut = s
                    break
            if cut is not None:
                scheduled = [e for e in scheduled if e.start < cut]
                overrides = [e for e in overrides if e.start < cut]
                final = [e for e in final if e.start < cut]
        body: dict[str, Any] = {
            "schedule_entries": {
                "scheduled": [self.shapes.entry(e) for e in scheduled],
                "overrides": [self.shapes.entry(e) for e in overrides],
                "final": [self.shapes.entry(e) for e in final],
            }
        }
        if cut is not None:
            token = _encode_cursor(cut, window_start)
            params = {"schedule_id": schedule_id, "entry_window_start": token}
            params["entry_window_end"] = iso(window_end)
            after_url = str(request.url.replace_query_params(**params))
            body["pagination_meta"] = {"after": token, "after_url": after_url}
        return JSONResponse(body)

    async def overrides(self, request: Request) -> Response:
        q = request.query_params
        schedule_id = q.get("schedule_id")
        if not schedule_id:
            raise invalid("schedule_id is required", "schedule_id", "is_required")
        if schedule_id not in self.world.schedules:
            raise SimError(404, "not_found", "not_found", "Schedule not found")
        size = page_size(request, maximum=250)
        items = sorted(
            (
                o
                for o in self.world.overrides.values()
                if o.schedule_id == schedule_id
                and (not q.get("rotation_id") or o.rotation_id == q.get("rotation_id"))
                and (not q.get("layer_id") or o.layer_id == q.get("layer_id"))
            ),
            key=lambda o: (o.start, o.id),
        )
        page, after = paginate(items, size, q.get("after"))
        return JSONResponse(
            {
                "overrides": [self.shapes.override(o) for o in page],
                "pagination_meta": meta(size, after),
            }
        )

    def _override_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        if "user" not in body or not isinstance(body.get("user"), dict):
            raise invalid("user is required", "user", "is_required")
        return {
            "rotation_id": req_str(body, "rotation_id"),
            "layer_id": req_str(body, "layer_id"),
            "start": parse_time(body.get("start_at"), "start_at"),
            "end": parse_time(body.get("end_at"), "end_at"),
            "user_ref": body["user"],
        }

    async def create_override(self, request: Request) -> Response:
        body = await json_body(request)
        schedule_id = req_str(body, "schedule_id")
        fields = self._override_fields(body)
        ov = self.world.create_override(
            schedule_id=schedule_id, actor=self.actor(request), **fields
        )
        return JSONResponse({"override": self.shapes.override(ov)}, status_code=201)

    async def update_override(self, request: Request) -> Response:
        body = await json_body(request)
        fields = self._override_fields(body)
        ov = self.world.update_override(
            request.path_params["id"], actor=self.actor(request), **fields
        )
        return JSONResponse({"override": self.shapes.override(ov)})

    async def delete_override(self, request: Request) -> Response:
        self.world.delete_override(request.path_params["id"], actor=self.actor(request))
        return Response(status_code=204)

    # ------------------------------------------------------------ escalation

    async def paths(self, request: Request) -> Response:
        size = page_size(request, maximum=25)
        items = list(self.world.paths.values())
        page, after = paginate(items, size, request.query_params.get("after"))
        now = self.world.now()
        return JSONResponse(
            {
                "escalation_paths": [self.shapes.path(p, now) for p in page],
                "pagination_meta": meta(size, after),
            }
        )

    async def path(self, request: Request) -> Response:
        p = self.world.paths.get(request.path_params["id"])
        if p is None:
            raise SimError(404, "not_found", "not_found", "Escalation path not found")
        return JSONResponse({"escalation_path": self.shapes.path(p, self.world.now())})

    async def escalations(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=50)
        status = deep_filters(request, "status")
        path = deep_filters(request, "escalation_path")
        alert = deep_filters(request, "alert")
        incident = deep_filters(request, "incident")
        key = deep_filters(request, "idempotency_key")
        created = deep_filters(request, "created_at")
        updated = deep_filters(request, "updated_at")
        for name, f in (("status", status), ("escalation_path", path), ("alert", alert),
                        ("incident", incident)):  # fmt: skip
            check_ops(name, f, ("one_of", "not_in"))
        check_ops("idempotency_key", key, ("is", "starts_with"))

        def keep(e: SimEscalation) -> bool:
            if not match_set(status, e.status) or not match_set(path, e.path_id):
                return False
            if not match_set(alert, set(e.alert_ids)) or not match_set(
                incident, set(e.incident_ids)
            ):
                return False
            if "is" in key and e.idempotency_key not in key["is"]:
                return False
            if "starts_with" in key and not any(
                e.idempotency_key.startswith(p) for p in key["starts_with"]
            ):
                return False
            return match_time("created_at", created, e.created_at) and match_time(
                "updated_at", updated, e.updated_at
            )

        items = sorted(
            (e for e in self.world.escalations.values() if keep(e)),
            key=lambda e: (e.created_at, e.id),
            reverse=True,
        )
        page, after = paginate(items, size, q.get("after"))
        return JSONResponse(
            {
                "escalations": [self.shapes.escalation(e) for e in page],
                "pagination_meta": meta(size, after),
            }
        )

    async def escalation(self, request: Request) -> Response:
        esc = self.world.escalation(request.path_params["id"])
        return JSONResponse({"escalation": self.shapes.escalation(esc)})

    async def create_escalation(self, request: Request) -> Response:
        body = await json_body(request)
        key = req_str(body, "idempotency_key")
        title = req_str(body, "title")
        user_ids = body.get("user_ids")
        if user_ids is not None and (
            not isinstance(user_ids, list) or not all(isinstance(u, str) for u in user_ids)
        ):
            raise invalid("user_ids must be a list of user ids", "user_ids")
        esc, _created = self.world.create_escalation(
            idempotency_key=key,
            title=title,
            description=opt_str(body, "description") or "",
            path_id=opt_str(body, "escalation_path_id"),
            user_ids=user_ids or None,
            incident_id=opt_str(body, "incident_id"),
            creator=self.actor(request),
        )
        return JSONResponse({"escalation": self.shapes.escalation(esc)}, status_code=201)

    async def cancel_escalation(self, request: Request) -> Response:
        self.world.cancel_escalation(request.path_params["id"], actor=self.actor(request))
        return Response(status_code=200)

    async def respond_escalation(self, request: Request) -> Response:
        body = await json_body(request)
        response = body.get("response")
        if response not in ("ack", "nack", "snooze"):
            raise invalid("response must be one of ack, nack, snooze", "response")
        details = body.get("snooze_details")
        until = reason = None
        if details is not None:
            if not isinstance(details, dict):
                raise invalid("snooze_details must be an object", "snooze_details")
            until = parse_time(details.get("snooze_until"), "snooze_details.snooze_until")
            reason = opt_str(details, "reason", path="snooze_details.reason")
        if self.world.refuse_act_as_on_respond and request.headers.get("x-incident-user"):
            raise SimError(
                403,
                "resource_forbidden",
                "forbidden",
                "X-Incident-User is not accepted when responding to an escalation",
            )
        self.world.respond_escalation(
            request.path_params["id"],
            response,
            snooze_until=until,
            reason=reason,
            actor=self.actor(request),
        )
        return Response(status_code=200)

    async def reassign_escalation(self, request: Request) -> Response:
        body = await json_body(request)
        path_id = opt_str(body, "escalation_path_id")
        user_ids = body.get("user_ids")
        if user_ids is not None and not isinstance(user_ids, list):
            raise invalid("user_ids must be a list of user ids", "user_ids")
        resolve = body.get("resolve_original", True)
        if not isinstance(resolve, bool):
            raise invalid("resolve_original must be a boolean", "resolve_original")
        new = self.world.reassign_escalation(
            request.path_params["id"],
            path_id=path_id,
            user_ids=user_ids or None,
            resolve_original=resolve,
            title=opt_str(body, "title"),
            description=opt_str(body, "description"),
            actor=self.actor(request),
        )
        return JSONResponse({"escalation": self.shapes.escalation(new)}, status_code=201)

    # ---------------------------------------------------------------- alerts

    def _sorted_alerts(self) -> tuple[list[SimAlert], dict[str, int]]:
        """Alerts newest first, and each one's position (rebuilt when alerts are added)."""
        count, cached, positions = self._alerts_sorted
        if count != len(self.world.alerts):
            cached = sorted(
                self.world.alerts.values(), key=lambda a: (a.created_at, a.id), reverse=True
            )
            positions = {a.id: i for i, a in enumerate(cached)}
            self._alerts_sorted = (len(self.world.alerts), cached, positions)
        return cached, positions

    async def alerts(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=50, required=True)
        status = deep_filters(request, "status")
        dedup = deep_filters(request, "deduplication_key")
        source = deep_filters(request, "alert_source")
        group = deep_filters(request, "alert_group_id")
        created = deep_filters(request, "created_at")
        updated = deep_filters(request, "updated_at")
        notes = deep_filters(request, "has_notes")
        check_ops("status", status, ("one_of", "not_in"))
        check_ops("deduplication_key", dedup, ("is",))
        check_ops("alert_source", source, ("one_of", "not_in"))
        check_ops("alert_group_id", group, ("one_of",))
        check_ops("has_notes", notes, ("is",))
        noted = {n.alert_id for n in self.world.alert_notes.values()} if notes else set()
        want_notes = notes.get("is", [""])[0].lower() == "true" if notes else None

        def keep(a: SimAlert) -> bool:
            if status and not match_set(status, a.status):
                return False
            if dedup and not match_set(dedup, a.dedup_key):
                return False
            if source and not match_set(source, a.source_id):
                return False
            if group and not match_set(group, set(a.group_ids)):
                return False
            if want_notes is not None and (a.id in noted) != want_notes:
                return False
            if updated and not match_time("updated_at", updated, a.updated_at):
                return False
            return not created or match_time("created_at", created, a.created_at)

        # Scan from the cursor instead of filtering everything: a page of firing alerts
        # out of ten thousand costs a page, not the whole list.
        ordered, positions = self._sorted_alerts()
        cursor = q.get("after")
        start = 0
        if cursor:
            if cursor not in positions:
                raise invalid("the after cursor does not match a record in this list", "after")
            start = positions[cursor] + 1
        page: list[SimAlert] = []
        for a in itertools.islice(ordered, start, None):
            if keep(a):
                page.append(a)
                if len(page) > size:
                    break
        after = page[size - 1].id if len(page) > size else None
        page = page[:size]
        return JSONResponse(
            {"alerts": [self.shapes.alert(a) for a in page], "pagination_meta": meta(size, after)}
        )

    async def alert(self, request: Request) -> Response:
        return JSONResponse(
            {"alert": self.shapes.alert(self.world.alert(request.path_params["id"]))}
        )

    async def resolve_alert(self, request: Request) -> Response:
        alert = self.world.resolve_alert(request.path_params["id"], actor=self.actor(request))
        return JSONResponse({"alert": self.shapes.alert(alert)})

    async def alert_notes(self, request: Request) -> Response:
        q = request.query_params
        alert_id, group_id = q.get("alert_id"), q.get("alert_group_id")
        if not alert_id and not group_id:
            raise invalid("alert_id or alert_group_id is required", "alert_id", "is_required")
        size = page_size(request, maximum=250)
        items = [
            n
            for n in self.world.alert_notes.values()
            if (alert_id and n.alert_id == alert_id) or (group_id and n.alert_group_id == group_id)
        ]
        items.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        page, after = paginate(items, size, q.get("after"))
        return JSONResponse(
            {
                "alert_notes": [self.shapes.note(n) for n in page],
                "pagination_meta": meta(size, after),
            }
        )

    async def create_alert_note(self, request: Request) -> Response:
        body = await json_body(request)
        content = req_str(body, "content")
        alert_id, group_id = opt_str(body, "alert_id"), opt_str(body, "alert_group_id")
        if not alert_id and not group_id:
            raise invalid("alert_id or alert_group_id is required", "alert_id", "is_required")
        note = self.world.add_alert_note(
            alert_id=alert_id, alert_group_id=group_id, content=content, actor=self.actor(request)
        )
        return JSONResponse({"alert_note": self.shapes.note(note)}, status_code=201)

    async def incident_alerts(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=50, required=True)
        alert_id, incident_id = q.get("alert_id"), q.get("incident_id")
        items = [
            link
            for link in self.world.incident_alerts.values()
            if (not alert_id or link.alert_id == alert_id)
            and (not incident_id or link.incident_id == incident_id)
        ]
        page, after = paginate(items, size, q.get("after"))
        w = self.world
        return JSONResponse(
            {
                "incident_alerts": [
                    {
                        "id": link.id,
                        "alert": self.shapes.alert_slim(w.alerts[link.alert_id]),
                        "incident": self.shapes.incident_slim(w.incidents[link.incident_id]),
                        "alert_route_id": link.alert_route_id,
                    }
                    for link in page
                ],
                "pagination_meta": meta(size, after),
            }
        )

    async def alert_sources(self, request: Request) -> Response:
        base = self.base_url(request)
        return JSONResponse(
            {
                "alert_sources": [
                    self.shapes.source(s, base) for s in self.world.alert_sources.values()
                ]
            }
        )

    async def alert_event(self, request: Request) -> Response:
        """HTTP alert source: authenticated by the source's secret token, not the API key."""
        source = self.world.alert_sources.get(request.path_params["id"])
        header = request.headers.get("authorization", "")
        scheme, _, bearer = header.partition(" ")
        offered = {request.query_params.get("token", "")}
        if scheme.lower() == "bearer":
            offered.add(bearer.strip())
        elif scheme.lower() == "basic":  # user or password may carry the token
            offered.update(_basic_parts(bearer.strip()))
        if source is None:
            return self._not_found(request)
        if source.secret_token not in offered:
            return JSONResponse(
                error_body(
                    401,
                    "authentication_error",
                    "invalid_authorization_material",
                    "This alert source expects its secret token as a bearer token or ?token=",
                ),
                status_code=401,
            )
        try:
            body = await json_body(request)
            title = req_str(body, "title")
            status = body.get("status")
            if status not in ("firing", "resolved"):
                raise invalid("status must be firing or resolved", "status")
            key = req_str(body, "deduplication_key")
            if body.get("metadata") is not None and not isinstance(body.get("metadata"), dict):
                raise invalid("metadata must be an object", "metadata")
            with self.world.lock:
                self.world.ingest_alert_event(
                    source.id, {**body, "title": title, "deduplication_key": key}
                )
        except SimError as exc:
            return error_response(exc)
        return JSONResponse(
            {
                "status": "success",
                "message": "Event accepted for processing",
                "deduplication_key": key,
            },
            status_code=202,
        )

    # ------------------------------------------------------------ incidents

    async def incidents(self, request: Request) -> Response:
        w, q = self.world, request.query_params
        size = page_size(request, maximum=500)
        sort = q.get("sort_by") or "created_at_newest_first"
        if sort not in ("created_at_newest_first", "created_at_oldest_first"):
            raise invalid(
                "sort_by must be created_at_newest_first or created_at_oldest_first", "sort_by"
            )
        mode_any = (q.get("filter_mode") or "all") == "any"
        status = deep_filters(request, "status")
        category = deep_filters(request, "status_category")
        severity = deep_filters(request, "severity")
        itype = deep_filters(request, "incident_type")
        modes = deep_filters(request, "mode")
        created = deep_filters(request, "created_at")
        updated = deep_filters(request, "updated_at")
        roles = nested_filters(request, "incident_role")
        custom = nested_filters(request, "custom_field")
        check_ops("status", status, ("one_of", "not_in"))
        check_ops("status_category", category, ("one_of", "not_in"))
        check_ops("severity", severity, ("one_of", "not_in", "gte", "lte"))
        check_ops("incident_type", itype, ("one_of", "not_in"))
        check_ops("mode", modes, ("one_of",))
        for cf in custom:
            raise invalid(f"custom field {cf!r} not found", "custom_field", "not_found")
        for role_id, ops in roles.items():
            if role_id not in w.roles:
                raise invalid(f"incident role {role_id!r} not found", "incident_role", "not_found")
            check_ops("incident_role", ops, ("one_of", "is_blank", "is_set"))
        ranks = {s.id: s.rank for s in w.severities.values()}

        def sev_ok(i: SimIncident) -> bool:
            if not severity:
                return True
            if not match_set(
                {k: v for k, v in severity.items() if k in ("one_of", "not_in")}, i.severity_id
            ):
                return False
            rank = ranks.get(i.severity_id or "", -1)
            for op in ("gte", "lte"):
                for sid in severity.get(op, []):
                    if sid not in ranks:
                        raise invalid(f"severity {sid!r} not found", "severity", "not_found")
                    if (op == "gte" and rank < ranks[sid]) or (op == "lte" and rank > ranks[sid]):
                        return False
            return True

        def role_ok(i: SimIncident) -> bool:
            for role_id, ops in roles.items():
                who = i.roles.get(role_id)
                if "one_of" in ops and who not in ops["one_of"]:
                    return False
                if "is_blank" in ops and (who is not None) == (ops["is_blank"][0] == "true"):
                    return False
                if "is_set" in ops and (who is not None) != (ops["is_set"][0] == "true"):
                    return False
            return True

        allowed_modes = set(modes.get("one_of", ["standard", "retrospective"]))

        def keep(i: SimIncident) -> bool:
            if i.mode not in allowed_modes:
                return False
            checks = []
            if status:
                checks.append(match_set(status, i.status_id))
            if category:
                checks.append(match_set(category, w.statuses[i.status_id].category))
            if severity:
                checks.append(sev_ok(i))
            if itype:
                checks.append(match_set(itype, i.type_id))
            if roles:
                checks.append(role_ok(i))
            if created:
                checks.append(match_time("created_at", created, i.created_at))
            if updated:
                checks.append(match_time("updated_at", updated, i.updated_at))
            if not checks:
                return True
            return any(checks) if mode_any else all(checks)

        items = sorted(
            (i for i in w.incidents.values() if keep(i)),
            key=lambda i: (i.created_at, i.id),
            reverse=sort == "created_at_newest_first",
        )
        page, after = paginate(items, size, q.get("after"))
        return JSONResponse(
            {
                "incidents": [self.shapes.incident(i) for i in page],
                "pagination_meta": meta(size, after, len(items)),
            }
        )

    async def incident(self, request: Request) -> Response:
        return JSONResponse(
            {"incident": self.shapes.incident(self.world.incident(request.path_params["id"]))}
        )

    def _role_assignments(self, raw: Any, field: str) -> dict[str, str | None]:
        if raw is None:
            return {}
        if not isinstance(raw, list):
            raise invalid("incident_role_assignments must be a list", field)
        out: dict[str, str | None] = {}
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("incident_role_id"), str):
                raise invalid(
                    "each role assignment needs an incident_role_id", field, "is_required"
                )
            assignee = item.get("assignee")
            if not assignee and self.world.refuse_unassign_by_omission:
                raise invalid("assignee is required", f"{field}.assignee", "is_required")
            out[item["incident_role_id"]] = (
                self.world.resolve_user_ref(assignee, f"{field}.assignee") if assignee else None
            )
        return out

    async def create_incident(self, request: Request) -> Response:
        body = await json_body(request)
        key = req_str(body, "idempotency_key")
        visibility = body.get("visibility")
        if visibility not in ("public", "private"):
            raise invalid("visibility must be public or private", "visibility", "is_required")
        mode = body.get("mode") or "standard"
        if mode not in ("standard", "retrospective", "test", "tutorial"):
            raise invalid("mode must be standard, retrospective, test or tutorial", "mode")
        inc, _ = self.world.declare_incident(
            idempotency_key=key,
            name=opt_str(body, "name"),
            summary=opt_str(body, "summary"),
            severity_id=opt_str(body, "severity_id"),
            status_id=opt_str(body, "incident_status_id"),
            type_id=opt_str(body, "incident_type_id"),
            mode=mode,
            visibility=visibility,
            role_assignments=self._role_assignments(
                body.get("incident_role_assignments"), "incident_role_assignments"
            ),
            actor=self.actor(request),
        )
        return JSONResponse({"incident": self.shapes.incident(inc)})

    async def edit_incident(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body.get("notify_incident_channel"), bool):
            raise invalid(
                "notify_incident_channel is required", "notify_incident_channel", "is_required"
            )
        fields = body.get("incident")
        if not isinstance(fields, dict):
            raise invalid("incident is required", "incident", "is_required")
        inc = self.world.edit_incident(
            request.path_params["id"],
            name=opt_str(fields, "name", path="incident.name"),
            summary=opt_str(fields, "summary", path="incident.summary"),
            status_id=opt_str(fields, "incident_status_id", path="incident.incident_status_id"),
            severity_id=opt_str(fields, "severity_id", path="incident.severity_id"),
            call_url=opt_str(fields, "call_url", path="incident.call_url"),
            role_assignments=self._role_assignments(
                fields.get("incident_role_assignments"), "incident.incident_role_assignments"
            )
            or None,
            actor=self.actor(request),
        )
        return JSONResponse({"incident": self.shapes.incident(inc)})

    async def incident_updates(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=250)
        incident_id = q.get("incident_id")
        items = sorted(
            (
                u
                for u in self.world.incident_updates.values()
                if not incident_id or u.incident_id == incident_id
            ),
            key=lambda u: (u.created_at, u.id),
            reverse=True,
        )
        page, after = paginate(items, size, q.get("after"))
        return JSONResponse(
            {
                "incident_updates": [self.shapes.update(u) for u in page],
                "pagination_meta": meta(size, after),
            }
        )

    async def create_incident_update(self, request: Request) -> Response:
        body = await json_body(request)
        update, _ = self.world.create_incident_update(
            idempotency_key=req_str(body, "idempotency_key"),
            incident_id=req_str(body, "incident_id"),
            message=opt_str(body, "message"),
            status_id=opt_str(body, "to_incident_status_id"),
            severity_id=opt_str(body, "to_severity_id"),
            actor=self.actor(request),
        )
        return JSONResponse({"incident_update": self.shapes.update(update)}, status_code=201)

    async def timeline_items(self, request: Request) -> Response:
        q = request.query_params
        incident_id = q.get("incident_id")
        if not incident_id:
            raise invalid("incident_id is required", "incident_id", "is_required")
        inc = self.world.incident(incident_id)
        size = page_size(request, maximum=250)
        items = sorted(
            (t for t in self.world.timeline_items.values() if t.incident_id == inc.id),
            key=lambda t: (t.timestamp, t.id),
        )
        page, after = paginate(items, size, q.get("after"))
        return JSONResponse(
            {
                "incident_timeline_items": [self.shapes.timeline_item(t) for t in page],
                "pagination_meta": meta(size, after),
            }
        )

    async def create_timeline_item(self, request: Request) -> Response:
        body = await json_body(request)
        item, _ = self.world.create_timeline_item(
            idempotency_key=req_str(body, "idempotency_key"),
            incident_id=req_str(body, "incident_id"),
            timestamp=req_time(body.get("timestamp"), "timestamp"),
            title=req_str(body, "title"),
            description=opt_str(body, "description"),
            actor=self.actor(request),
        )
        return JSONResponse(
            {"incident_timeline_item": self.shapes.timeline_item(item)}, status_code=201
        )

    async def update_timeline_item(self, request: Request) -> Response:
        body = await json_body(request)
        item = self.world.update_timeline_item(
            request.path_params["id"],
            title=opt_str(body, "title"),
            description=opt_str(body, "description"),
            timestamp=parse_time(body.get("timestamp"), "timestamp", required=False),
            actor=self.actor(request),
        )
        return JSONResponse({"incident_timeline_item": self.shapes.timeline_item(item)})

    # ------------------------------------------------------- simulator control

    def control(self, fn: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            denied = self._auth_error(request)
            if denied is not None:
                return denied
            await request.body()
            try:
                with self.world.lock:
                    return await fn(request)
            except (SimError, ValueError) as exc:
                if isinstance(exc, ValueError):
                    exc = invalid(str(exc))
                return error_response(exc)

        return wrapped

    async def sim_state(self, request: Request) -> Response:
        return JSONResponse({**self.world.summary(), "faults": self.faults.as_dict()})

    async def sim_writes(self, request: Request) -> Response:
        q = request.query_params
        since = int(q.get("since") or 0)
        kind = q.get("kind")
        writes = [
            w.as_dict() for w in self.world.writes if w.seq > since and (not kind or w.kind == kind)
        ]
        return JSONResponse({"writes": writes})

    async def sim_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method in ("POST", "PUT", "PATCH"):
            self.faults.update(**(await json_body(request)))
        return JSONResponse(
            {"faults": self.faults.as_dict(), "injected": dict(self.faults.injected)}
        )

    async def sim_clock(self, request: Request) -> Response:
        clock = self.world.clock
        if request.method == "POST":
            body = await json_body(request)
            seconds = body.get("advance_seconds")
            if not isinstance(seconds, int | float) or seconds < 0:
                raise invalid("advance_seconds must be a non-negative number", "advance_seconds")
            advance = getattr(clock, "advance", None)
            if advance is None:
                raise SimError(
                    409,
                    "conflict",
                    "clock_not_controllable",
                    "This world runs on a clock that cannot be moved; build it with a SimClock",
                )
            advance(float(seconds))
        now = self.world.advance()
        return JSONResponse({"now": iso(now), "controllable": hasattr(clock, "advance")})

    async def sim_page(self, request: Request) -> Response:
        """Page someone now, like an alert route would: ``{"title", "team"|"path_id"|"to_me"}``."""
        body = await json_body(request)
        w = self.world
        title = opt_str(body, "title") or "Drill: please acknowledge this page"
        if body.get("to_me"):
            esc, _ = w.create_escalation(
                idempotency_key=f"sim-page-{uuid.uuid4()}", title=title, user_ids=[w.me.id]
            )
        else:
            path_id = opt_str(body, "path_id")
            team_name = opt_str(body, "team")
            if not path_id:
                team = w.team_by_name(team_name) if team_name else w.teams["payments"]
                if team is None:
                    raise invalid(f"no team called {team_name!r}", "team", "not_found")
                path_id = w.path_by_team[team.id].id
            esc, _ = w.create_escalation(
                idempotency_key=f"sim-page-{uuid.uuid4()}", title=title, path_id=path_id
            )
        return JSONResponse({"escalation": self.shapes.escalation(esc)}, status_code=201)

    async def sim_bulk(self, request: Request) -> Response:
        body = await json_body(request)
        alerts, pages = int(body.get("alerts") or 0), int(body.get("pages") or 0)
        if not 0 <= alerts <= 100_000 or not 0 <= pages <= alerts:
            raise invalid("alerts must be 0–100000 and pages at most alerts", "alerts")
        self.world.add_bulk_alerts(alerts, pages=pages)
        return JSONResponse(self.world.summary(), status_code=201)

    # ----------------------------------------------------------------- routes

    def routes(self) -> list[Route]:
        e, c = self.endpoint, self.control
        return [
            Route("/v1/identity", e(self.identity)),
            Route("/v2/users", e(self.users)),
            Route("/v2/users/{id}", e(self.user)),
            Route("/v2/users/{id}/notification_methods", e(self.notification_methods)),
            Route("/v2/users/{id}/notification_rules", e(self.notification_rules)),
            Route("/v1/severities", e(self.severities)),
            Route("/v1/incident_statuses", e(self.statuses)),
            Route("/v2/incident_roles", e(self.roles)),
            Route("/v1/incident_types", e(self.types)),
            Route("/v2/schedules", e(self.schedules)),
            Route("/v2/schedules/{id}", e(self.schedule)),
            Route("/v2/schedule_entries", e(self.schedule_entries)),
            Route("/v2/schedule_overrides", e(self.overrides), methods=["GET"]),
            Route("/v2/schedule_overrides", e(self.create_override), methods=["POST"]),
            Route("/v2/schedule_overrides/{id}", e(self.update_override), methods=["PUT"]),
            Route("/v2/schedule_overrides/{id}", e(self.delete_override), methods=["DELETE"]),
            Route("/v2/escalation_paths", e(self.paths)),
            Route("/v2/escalation_paths/{id}", e(self.path)),
            Route("/v2/escalations", e(self.escalations), methods=["GET"]),
            Route("/v2/escalations", e(self.create_escalation, limited=True), methods=["POST"]),
            Route("/v2/escalations/{id}", e(self.escalation)),
            Route(
                "/v2/escalations/{id}/actions/cancel", e(self.cancel_escalation), methods=["POST"]
            ),
            Route(
                "/v2/escalations/{id}/actions/respond",
                e(self.respond_escalation, newer=True),
                methods=["POST"],
            ),
            Route(
                "/v2/escalations/{id}/actions/reassign",
                e(self.reassign_escalation, newer=True),
                methods=["POST"],
            ),
            Route("/v2/alerts", e(self.alerts)),
            Route("/v2/alerts/{id}", e(self.alert)),
            Route("/v2/alerts/{id}/actions/resolve", e(self.resolve_alert), methods=["POST"]),
            Route("/v1/alert_notes", e(self.alert_notes), methods=["GET"]),
            Route("/v1/alert_notes", e(self.create_alert_note), methods=["POST"]),
            Route("/v2/incident_alerts", e(self.incident_alerts)),
            Route("/v2/alert_sources", e(self.alert_sources)),
            Route("/v2/alert_events/http/{id}", self.alert_event, methods=["POST"]),
            Route("/v2/incidents", e(self.incidents), methods=["GET"]),
            Route("/v2/incidents", e(self.create_incident), methods=["POST"]),
            Route("/v2/incidents/{id}", e(self.incident)),
            Route("/v2/incidents/{id}/actions/edit", e(self.edit_incident), methods=["POST"]),
            Route("/v2/incident_updates", e(self.incident_updates), methods=["GET"]),
            Route(
                "/v2/incident_updates",
                e(self.create_incident_update, newer=True),
                methods=["POST"],
            ),
            Route(
                "/v2/incident_timeline_items", e(self.timeline_items, newer=True), methods=["GET"]
            ),
            Route(
                "/v2/incident_timeline_items",
                e(self.create_timeline_item, newer=True),
                methods=["POST"],
            ),
            Route(
                "/v2/incident_timeline_items/{id}",
                e(self.update_timeline_item, newer=True),
                methods=["PATCH"],
            ),
            Route("/_sim/state", c(self.sim_state)),
            Route("/_sim/writes", c(self.sim_writes)),
            Route(
                "/_sim/faults",
                c(self.sim_faults),
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
            Route("/_sim/clock", c(self.sim_clock), methods=["GET", "POST"]),
            Route("/_sim/page", c(self.sim_page), methods=["POST"]),
            Route("/_sim/bulk", c(self.sim_bulk), methods=["POST"]),
        ]


def _basic_parts(value: str) -> set[str]:
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return set()
    return {user, password}


def _encode_cursor(cut: datetime, window_start: datetime) -> str:
    """An opaque time-window cursor: where the next page starts, and the original window."""
    return f"c1_{int(cut.timestamp() * 1000)}_{int(window_start.timestamp() * 1000)}"


def _decode_cursor(token: str) -> tuple[datetime, datetime]:
    try:
        _, cut_ms, start_ms = token.split("_")
        cut = datetime.fromtimestamp(int(cut_ms) / 1000, tz=UTC)
        start = datetime.fromtimestamp(int(start_ms) / 1000, tz=UTC)
    except ValueError:
        raise invalid("entry_window_start is not a valid cursor", "entry_window_start") from None
    return cut, start


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    kinds = {404: "not_found", 405: "method_not_allowed"}
    kind = kinds.get(status, "invalid_request_error")
    return JSONResponse(
        error_body(
            status, kind, kind, f"{request.method} {request.url.path}: {getattr(exc, 'detail', '')}"
        ),
        status_code=status,
    )


def create_app(
    world: IncidentIoWorld,
    *,
    token: str = DEFAULT_TOKEN,
    rate_limit_per_min: int = 1200,
    faults: Faults | None = None,
    escalation_create_limit_per_min: int = 60,
) -> Starlette:
    """The simulated incident.io API over ``world``.

    ``faults`` (shared, so a test can flip switches while the app runs) defaults to a
    fresh all-off :class:`Faults`; it is also reachable as ``app.state.faults``, and the
    world as ``app.state.world``.
    """
    faults = faults if faults is not None else Faults()
    sim = IncidentIoSim(
        world,
        token=token,
        rate_limit_per_min=rate_limit_per_min,
        faults=faults,
        escalation_create_limit_per_min=escalation_create_limit_per_min,
    )
    app = Starlette(routes=sim.routes(), exception_handlers={HTTPException: _http_error})
    app.state.world = world
    app.state.faults = faults
    app.state.sim = sim
    app.add_middleware(FaultInjector, faults=faults)
    return app
