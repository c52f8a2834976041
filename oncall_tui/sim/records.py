"""The simulated incident.io world's records: people, rota, paths and pages, alerts,
incidents, and the writes made to them, plus the clock and errors they share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

Clock = Callable[[], datetime]


NOBODY_ID = "NOBODY"


DEFAULT_ME_EMAIL = "me@example.com"


DEFAULT_ORG_URL = "https://app.incident.io/example-org"


DEFAULT_GRAFANA_URL = "https://grafana.example.com"


DEFAULT_RUNBOOK_URL = "https://runbooks.example.com"


ORG_EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


OPEN_ESCALATION_STATUSES = ("pending", "triggered", "acked", "snoozed", "delayed", "pending_repeat")


TERMINAL_ESCALATION_STATUSES = ("resolved", "expired", "cancelled")


def real_clock() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (what incident.io sends)."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SimError(Exception):
    """A request the real API would refuse; the app turns it into an error body."""

    def __init__(
        self,
        status: int,
        type: str,
        code: str,
        message: str,
        *,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.field = field


def not_found(what: str, ident: str) -> SimError:
    return SimError(404, "not_found", "not_found", f"{what} {ident!r} was not found")


T = TypeVar("T")


def found(records: Mapping[str, T], ident: str, kind: str) -> T:
    """The record ``ident`` of ``records``, or the API's 404 for a ``kind`` not found."""
    try:
        return records[ident]
    except KeyError:
        raise not_found(kind, ident) from None


def invalid(message: str, field: str | None = None, code: str = "invalid_value") -> SimError:
    return SimError(422, "validation_error", code, message, field=field)


@dataclass(slots=True)
class Actor:
    """Who did something: a user, the API key, an alert or a workflow."""

    kind: str  # user | api_key | alert | workflow
    id: str
    name: str


@dataclass(slots=True)
class SimNotificationMethod:
    """How incident.io can reach a person (``OnCallNotificationMethodPublicV2``)."""

    id: str
    method_type: str  # app | email | microsoft_teams | phone | slack | whatsapp_message
    address: str
    is_usable: bool = True
    sms: bool = False  # phone only
    voice: bool = False  # phone only


@dataclass(slots=True)
class SimNotificationRule:
    """When a page reaches a method (``OnCallNotificationRulePublicV2``). ``target`` is
    a method id, or None for every method of ``method_type``."""

    id: str
    method_type: str
    rule_type: str  # high_urgency | low_urgency
    delay_seconds: int = 0
    target: str | None = None
    channel: str | None = None  # phone: sms | voice
    criticality: str | None = None  # app: critical | active


@dataclass(slots=True)
class SimUser:
    id: str
    name: str
    email: str
    slack_user_id: str
    region: str
    hours: tuple[str, str]  # Mon–Fri working hours, schedule-local "HH:MM"
    team_ids: list[str] = field(default_factory=list)
    role: str = "responder"
    base_role: str = "responder"
    on_call_seat: str = "full_access"
    is_active: bool = True


@dataclass(slots=True)
class Team:
    id: str
    name: str


@dataclass(slots=True)
class WorkingInterval:
    weekday: int  # 0 = Monday
    start: str  # "HH:MM"
    end: str  # "HH:MM", "24:00" for end of day

    def minutes(self) -> tuple[int, int]:
        return _minutes(self.start), _minutes(self.end)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass(slots=True)
class SimLayer:
    id: str
    name: str


@dataclass(slots=True)
class SimRotation:
    id: str
    name: str
    layers: list[SimLayer]
    user_ids: list[str]
    handover_start_at: datetime
    interval_type: str = "weekly"  # hourly | daily | weekly
    interval: int = 1
    working_intervals: list[WorkingInterval] = field(default_factory=list)
    effective_from: datetime | None = None

    @property
    def period(self) -> timedelta:
        unit = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}.get(
            self.interval_type, timedelta(weeks=1)
        )
        return unit * max(1, self.interval)


@dataclass(slots=True)
class SimSchedule:
    id: str
    name: str
    timezone: str
    team_ids: list[str]
    rotations: list[SimRotation]
    created_at: datetime
    updated_at: datetime
    annotations: dict[str, str] = field(default_factory=dict)

    def rotation(self, rotation_id: str) -> SimRotation | None:
        return next((r for r in self.rotations if r.id == rotation_id), None)


@dataclass(slots=True)
class SimOverride:
    id: str
    schedule_id: str
    rotation_id: str
    layer_id: str
    start: datetime
    end: datetime
    user_id: str | None  # None = NOBODY
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, frozen=True)
class Entry:
    """One computed schedule entry (scheduled, override or final)."""

    start: datetime
    end: datetime
    rotation_id: str
    layer_id: str
    user_id: str | None
    fingerprint: str
    entry_id: str | None = None


@dataclass(slots=True)
class SimTarget:
    type: str  # schedule | user
    id: str
    urgency: str = "high"
    schedule_mode: str = "currently_on_call"


@dataclass(slots=True)
class SimLevel:
    node_id: str
    targets: list[SimTarget]
    time_to_ack_seconds: int
    ack_mode: str = "first"


@dataclass(slots=True)
class SimPath:
    """An escalation path. A ``templated`` path is built from a template: the API shows
    its template and parameter bindings and an empty ``path``, while the levels here
    still drive its escalations."""

    id: str
    name: str
    team_ids: list[str]
    levels: list[SimLevel]
    kind: str = "standalone"  # standalone | templated
    template_id: str | None = None
    param_bindings: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SimEscalationEvent:
    id: str
    event: str
    occurred_at: datetime
    user_ids: list[str] = field(default_factory=list)
    urgency: str | None = None


@dataclass(slots=True)
class SimEscalation:
    id: str
    title: str
    description: str
    status: str
    priority: str
    creator: Actor
    created_at: datetime
    updated_at: datetime
    path_id: str | None = None
    direct_user_ids: list[str] = field(default_factory=list)
    alert_ids: list[str] = field(default_factory=list)
    incident_ids: list[str] = field(default_factory=list)
    events: list[SimEscalationEvent] = field(default_factory=list)
    idempotency_key: str = ""
    level: int = 0  # index into the path's levels
    deadline: datetime | None = None  # when the current level times out
    snoozed_until: datetime | None = None
    reassigned_to: str | None = None


@dataclass(slots=True)
class SimAttribute:
    id: str
    name: str
    type: str
    array: bool = False
    required: bool = False
    emoji: str | None = None


@dataclass(slots=True)
class SimAlertSource:
    id: str
    name: str
    source_type: str
    secret_token: str
    owning_team_ids: list[str]
    created_at: datetime


@dataclass(slots=True)
class SimAlert:
    id: str
    source_id: str
    dedup_key: str
    status: str
    title: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    source_url: str | None = None
    resolved_at: datetime | None = None
    team_id: str | None = None
    severity: str = "warning"
    service: str = ""
    runbook_url: str | None = None
    dashboard_url: str | None = None
    group_ids: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SimAlertNote:
    id: str
    content: str
    creator: Actor
    created_at: datetime
    updated_at: datetime
    alert_id: str | None = None
    alert_group_id: str | None = None


@dataclass(slots=True)
class SimSeverity:
    id: str
    name: str
    rank: int
    description: str
    created_at: datetime


@dataclass(slots=True)
class SimStatus:
    id: str
    name: str
    category: str
    rank: int
    description: str
    created_at: datetime


@dataclass(slots=True)
class SimRole:
    id: str
    name: str
    shortform: str
    role_type: str
    description: str
    instructions: str
    required: bool
    created_at: datetime


@dataclass(slots=True)
class SimIncidentType:
    id: str
    name: str
    description: str
    is_default: bool
    create_in_triage: str
    created_at: datetime
    private_incidents_only: bool = False


@dataclass(slots=True)
class SimIncident:
    id: str
    external_id: int
    name: str
    summary: str
    status_id: str
    severity_id: str | None
    type_id: str | None
    creator: Actor
    created_at: datetime
    updated_at: datetime
    mode: str = "standard"
    visibility: str = "public"
    roles: dict[str, str] = field(default_factory=dict)  # role id -> user id
    call_url: str | None = None
    slack_channel_id: str = ""
    slack_channel_name: str = ""
    idempotency_key: str = ""
    team_ids: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return f"INC-{self.external_id}"


@dataclass(slots=True)
class SimIncidentUpdate:
    id: str
    incident_id: str
    status_id: str
    updater: Actor
    created_at: datetime
    message: str | None = None
    severity_id: str | None = None
    idempotency_key: str = ""


@dataclass(slots=True)
class SimTimelineItem:
    id: str
    incident_id: str
    timestamp: datetime
    title: str
    creator: Actor
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    activity_log_id: str | None = None
    idempotency_key: str = ""


@dataclass(slots=True)
class SimIncidentAlert:
    id: str
    alert_id: str
    incident_id: str
    alert_route_id: str


@dataclass(slots=True, frozen=True)
class Write:
    """One write the simulator received and applied."""

    seq: int
    at: datetime
    kind: str  # e.g. "escalation.respond", "override.create"
    target_id: str
    actor: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso(self.at),
            "kind": self.kind,
            "target_id": self.target_id,
            "actor": self.actor,
            "data": self.data,
        }
