"""Typed client for the incident.io REST API.

Only the endpoints the on-call dashboard uses, each returning :mod:`oncall_tui.domain`
objects. The HTTP itself (retries, error bodies, size cap, token redaction) lives in
:class:`oncall_tui.backends.http.ApiClient`; this module adds what is incident.io's own:

* both pagination schemes — the ID cursor (``page_size``/``after``) of most lists and the
  time-window cursor of ``/v2/schedule_entries`` — bounded, with a guard against a server
  that hands back the same cursor twice;
* deepObject filters (``status[one_of]=a&status[one_of]=b``);
* permission errors that name the API-key role an operation needs (``IdentityV1.roles``);
* the contract is the official 2.29.0 schema (the ``openapi.json`` of the official SDK);
  endpoints added late to it (escalation respond/reassign, ``POST /v2/incident_updates``,
  incident timeline items) may be missing on a server: a 404 that means "this server does
  not have the route" marks the capability unavailable and raises
  :class:`CapabilityUnavailable`, while a 404 for a missing object stays :class:`NotFound`;
* schedule entries name their rotation but, since 2.29.0, not their layer: each entry's
  layer is found from the schedule's rotations (a one-layer rotation), and left empty
  when it cannot be told, for the caller to refuse by name;
* lists are read with the page sizes the schema documents as maxima;
* tolerant parsing: unknown fields ignored, unknown enum values kept as text, optional
  fields defaulted, every string cleaned; a missing required field or a wrong type raises
  :class:`MalformedResponse` naming the field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from oncall_tui.backends.http import (
    ApiClient,
    ApiError,
    AuthError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RequestStats,
    RetryPolicy,
    Secret,
)
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_RUNBOOK,
    LINK_SOURCE,
    NOBODY,
    NOBODY_ID,
    OPEN_PAGE_STATUSES,
    OPEN_STATUS_CATEGORIES,
    SHIFT_FINAL,
    SHIFT_OVERRIDE,
    SHIFT_SCHEDULED,
    SOURCE_INCIDENT_IO,
    Alert,
    AlertNote,
    AlertSource,
    EscalationLevel,
    EscalationPath,
    EscalationTarget,
    Identity,
    Incident,
    IncidentAlert,
    IncidentRole,
    IncidentStatus,
    IncidentType,
    IncidentUpdate,
    Layer,
    Link,
    NotificationMethod,
    NotificationRule,
    Override,
    Page,
    PageEvent,
    RoleAssignment,
    Rotation,
    Schedule,
    ScheduleEntries,
    Severity,
    Shift,
    TimelineItem,
    User,
)
from oncall_tui.safety import clean_long_text, clean_text, openable_url

log = logging.getLogger(__name__)

SOURCE = SOURCE_INCIDENT_IO
DEFAULT_BASE_URL = "https://api.incident.io"
ACT_AS_HEADER = "X-Incident-User"

# Page sizes: the maxima the 2.29.0 schema documents for each list (fewer requests from a
# rate limit the whole organisation shares), except where a larger page loses data.
PAGE_ALERTS = 50  # required, max 50
PAGE_INCIDENT_ALERTS = 50  # required, max 50
PAGE_ESCALATIONS = 50
PAGE_ESCALATION_PATHS = 25
PAGE_INCIDENTS = 500
PAGE_INCIDENT_UPDATES = 250
PAGE_OVERRIDES = 250
PAGE_ALERT_NOTES = 250
PAGE_SCHEDULES = 25  # max 10000, but next_shifts is only returned for page_size <= 25
PAGE_USERS = 10000
PAGE_TIMELINE_ITEMS = 250
MAX_PAGES = 200  # per listing; beyond this we stop and log rather than loop

# Newer-than-spec endpoint groups, as named in ``client.unavailable``.
CAP_RESPOND = "escalations.respond"
CAP_REASSIGN = "escalations.reassign"
CAP_INCIDENT_UPDATES_CREATE = "incident_updates.create"
CAP_TIMELINE_ITEMS = "incident_timeline_items"
NEWER_ENDPOINTS = (CAP_RESPOND, CAP_REASSIGN, CAP_INCIDENT_UPDATES_CREATE, CAP_TIMELINE_ITEMS)

# The actions the dashboard offers, as reported by :meth:`IncidentIoClient.probe_capabilities`.
ACTIONS = (
    "ack",
    "snooze",
    "nack",
    "escalate",
    "reassign",
    "override",
    "resolve_alert",
    "declare",
    "note",
    "update",
)

_PROBE_INCIDENT_ID = "01J" + "0" * 23  # a well-formed ULID no incident has

T = TypeVar("T")


# ------------------------------------------------------------------------ errors


class CapabilityUnavailable(NotFound):
    """The server has no such endpoint (it predates it): the action is not available.

    ``capability`` is one of :data:`NEWER_ENDPOINTS`.
    """

    def __init__(self, capability: str, message: str, **kwargs: Any) -> None:
        self.capability = capability
        super().__init__(message, **kwargs)


class AccessDenied(AuthError):
    """401/403 for one operation; ``missing_roles`` are the API-key roles that would grant it."""

    def __init__(
        self, message: str, *, operation: str, missing_roles: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        self.operation = operation
        self.missing_roles = missing_roles
        super().__init__(message, **kwargs)


# ------------------------------------------------------------------ operations


@dataclass(frozen=True, slots=True)
class Operation:
    """What one client method does, for messages and permission checks.

    ``roles`` are ``IdentityV1.roles`` values, any one of which grants the operation (the
    first is the one to ask for). ``capability`` is set for endpoints newer than the spec.
    """

    does: str
    roles: tuple[str, ...] = ()
    capability: str | None = None


_VIEW = ("viewer",)
_ONCALL_VIEW = ("on_call_viewer", "viewer", "on_call_editor")
_SCHEDULE_VIEW = ("schedules_reader", "schedules_editor", "viewer")
_OVERRIDE_EDIT = ("schedule_overrides_editor", "schedules_editor")
_ESCALATE = ("escalation_creator", "on_call_editor")
_ALERT_EDIT = ("on_call_editor",)
_INCIDENT_EDIT = ("incident_editor",)

OPERATIONS: dict[str, Operation] = {
    "identity": Operation("check the API key"),
    "users.list": Operation("list users", _VIEW),
    "users.show": Operation("look up a user", _VIEW),
    "notification_methods.list": Operation("read a person's notification methods", _VIEW),
    "notification_rules.list": Operation("read a person's notification rules", _VIEW),
    "severities.list": Operation("list severities", _VIEW),
    "incident_statuses.list": Operation("list incident statuses", _VIEW),
    "incident_roles.list": Operation("list incident roles", _VIEW),
    "incident_types.list": Operation("list incident types", _VIEW),
    "schedules.list": Operation("list schedules", _SCHEDULE_VIEW),
    "schedules.show": Operation("read a schedule", _SCHEDULE_VIEW),
    "schedule_entries.list": Operation("read schedule shifts", _SCHEDULE_VIEW),
    "overrides.list": Operation("list overrides", _SCHEDULE_VIEW),
    "overrides.create": Operation("create an override", _OVERRIDE_EDIT),
    "overrides.update": Operation("change an override", _OVERRIDE_EDIT),
    "overrides.delete": Operation("delete an override", _OVERRIDE_EDIT),
    "escalation_paths.list": Operation("list escalation paths", _ONCALL_VIEW),
    "escalation_paths.show": Operation("read an escalation path", _ONCALL_VIEW),
    "escalations.list": Operation("list pages", _ONCALL_VIEW),
    "escalations.show": Operation("read a page", _ONCALL_VIEW),
    "escalations.create": Operation("page someone", _ESCALATE),
    "escalations.cancel": Operation("cancel a page", _ESCALATE),
    "escalations.respond": Operation("respond to a page", _ESCALATE, CAP_RESPOND),
    "escalations.reassign": Operation("reassign a page", _ESCALATE, CAP_REASSIGN),
    "alerts.list": Operation("list alerts", _ONCALL_VIEW),
    "alerts.show": Operation("read an alert", _ONCALL_VIEW),
    "alerts.resolve": Operation("resolve an alert", _ALERT_EDIT),
    "alert_notes.list": Operation("read alert notes", _ONCALL_VIEW),
    "alert_notes.create": Operation("add a note to an alert", _ALERT_EDIT),
    "incident_alerts.list": Operation("list an incident's alerts", _ONCALL_VIEW),
    "alert_sources.list": Operation("list alert sources", _ONCALL_VIEW),
    "incidents.list": Operation("list incidents", _VIEW),
    "incidents.show": Operation("read an incident", _VIEW),
    "incidents.create": Operation("declare an incident", ("incident_creator", "incident_editor")),
    "incidents.edit": Operation("edit an incident", _INCIDENT_EDIT),
    "incident_updates.list": Operation("read incident updates", _VIEW),
    "incident_updates.create": Operation(
        "post an incident update", _INCIDENT_EDIT, CAP_INCIDENT_UPDATES_CREATE
    ),
    "timeline_items.list": Operation("read the incident timeline", _VIEW, CAP_TIMELINE_ITEMS),
    "timeline_items.create": Operation(
        "add to the incident timeline", _INCIDENT_EDIT, CAP_TIMELINE_ITEMS
    ),
    "timeline_items.update": Operation(
        "edit an incident timeline item", _INCIDENT_EDIT, CAP_TIMELINE_ITEMS
    ),
}

# Endpoints documented to honour ``X-Incident-User``. Respond is included because
# declining a page ("nack") is only possible on behalf of a person.
ACT_AS_OPERATIONS = frozenset({"escalations.respond", "escalations.reassign"})
ACT_AS_ROLE = "act_on_behalf_of_users"


def _roles_text(roles: Sequence[str]) -> str:
    quoted = [f"'{r}'" for r in roles]
    if len(quoted) == 1:
        return f"the {quoted[0]} role"
    return f"the {quoted[0]} role (or {', '.join(quoted[1:])})"


# ------------------------------------------------------------------ capabilities


@dataclass(frozen=True, slots=True)
class Capability:
    """Whether one dashboard action can be used, and if not, why.

    ``available`` is ``None`` when it cannot be known without trying (a newer endpoint with
    no harmless probe): the action is offered, and a 404 on first use withdraws it.
    """

    action: str
    available: bool | None
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.available is not False


@dataclass(frozen=True, slots=True)
class Capabilities:
    identity: Identity | None
    actions: tuple[Capability, ...]
    unavailable_endpoints: frozenset[str] = frozenset()

    def __getitem__(self, action: str) -> Capability:
        for capability in self.actions:
            if capability.action == action:
                return capability
        raise KeyError(action)

    def available(self, action: str) -> bool:
        """True unless the action is known not to work."""
        return self[action].usable

    def reason(self, action: str) -> str:
        return self[action].reason

    @property
    def usable(self) -> frozenset[str]:
        return frozenset(c.action for c in self.actions if c.usable)

    @property
    def unavailable(self) -> frozenset[str]:
        return frozenset(c.action for c in self.actions if not c.usable)


# ----------------------------------------------------------------------- parsing


def _malformed(where: str, problem: str) -> MalformedResponse:
    return MalformedResponse(f"incident.io sent something we cannot read: {where} {problem}")


_FRACTION = re.compile(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", re.IGNORECASE)


def parse_datetime(value: object) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime (``Z``, offsets, any fraction)."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    match = _FRACTION.match(text)
    if match:
        fraction = (match.group(2) + "000000")[:6]
        text = f"{match.group(1)}.{fraction}{match.group(3)}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: before the first UTC instant
        raise ValueError("outside the range of dates") from None


def format_datetime(value: datetime) -> str:
    """An aware datetime as RFC 3339 UTC with a ``Z`` suffix."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Obj:
    """A JSON object being read, with its path for error messages."""

    __slots__ = ("data", "where")

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise _malformed(where, f"is {_kind(data)}, not an object")
        self.data = data
        self.where = where

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}"

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            raise _malformed(self._at(key), "is missing")
        return value

    def text(self, key: str, *, limit: int = 500, required: bool = True) -> str:
        value = self._get(key, required)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _malformed(self._at(key), f"is {_kind(value)}, not text")
        return clean_text(value, limit=limit)

    def opt_str(self, key: str, *, limit: int = 500) -> str | None:
        return self.text(key, limit=limit, required=False) or None

    def id(self, key: str = "id", *, required: bool = True) -> str:
        return self.text(key, limit=200, required=required)

    def long(self, key: str, *, required: bool = False) -> str:
        value = self._get(key, required)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise _malformed(self._at(key), f"is {_kind(value)}, not text")
        return clean_long_text(value)

    def dt(self, key: str) -> datetime:
        value = self._get(key, True)
        try:
            return parse_datetime(value)
        except (ValueError, TypeError, IndexError):
            raise _malformed(self._at(key), "is not a timestamp") from None

    def opt_dt(self, key: str) -> datetime | None:
        if self.data.get(key) in (None, ""):
            return None
        return self.dt(key)

    def num(self, key: str, *, required: bool = False, default: int = 0) -> int:
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, bool):
            raise _malformed(self._at(key), "is a boolean, not a number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
            return int(value)
        raise _malformed(self._at(key), f"is {_kind(value)}, not a whole number")

    def opt_int(self, key: str) -> int | None:
        if self.data.get(key) is None:
            return None
        return self.num(key)

    def obj(self, key: str) -> _Obj:
        return _Obj(self._get(key, True), self._at(key))

    def opt_obj(self, key: str) -> _Obj | None:
        value = self.data.get(key)
        return None if value is None else _Obj(value, self._at(key))

    def array(self, key: str, *, required: bool = False) -> list[Any]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise _malformed(self._at(key), f"is {_kind(value)}, not a list")
        return value

    def objs(self, key: str, *, required: bool = False) -> Iterator[_Obj]:
        for index, item in enumerate(self.array(key, required=required)):
            yield _Obj(item, f"{self._at(key)}[{index}]")

    def strs(self, key: str, *, limit: int = 200) -> tuple[str, ...]:
        out = []
        for index, item in enumerate(self.array(key)):
            if not isinstance(item, str):
                raise _malformed(f"{self._at(key)}[{index}]", f"is {_kind(item)}, not text")
            out.append(clean_text(item, limit=limit))
        return tuple(out)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _root(body: object, what: str) -> _Obj:
    if body is None:
        raise _malformed(what, "came back empty")
    return _Obj(body, what)


# -- people ---------------------------------------------------------------------


def parse_user(o: _Obj) -> User:
    user_id = o.id()
    if user_id == NOBODY_ID:
        return NOBODY
    return User(
        id=user_id,
        name=o.text("name", limit=200, required=False) or user_id,
        email=o.opt_str("email", limit=320),
        slack_user_id=o.opt_str("slack_user_id", limit=100),
    )


def parse_notification_method(o: _Obj) -> NotificationMethod:
    usable = o.data.get("is_usable")
    return NotificationMethod(
        id=o.id(),
        method_type=o.text("method_type", limit=60),
        address=o.text("address", limit=200, required=False),
        is_usable=usable is True,  # anything but a plain true is not known to work
    )


def parse_notification_rule(o: _Obj) -> NotificationRule:
    target = o.opt_obj("method_target")
    target_id = None
    if target is not None and target.text("type", limit=40, required=False) == "specific":
        specific = target.opt_obj("specific")
        target_id = specific.id() if specific is not None else None
    phone = o.opt_obj("phone")
    return NotificationRule(
        id=o.id(),
        method_type=o.text("method_type", limit=60),
        urgency=o.text("rule_type", limit=60, required=False),
        delay_seconds=max(0, o.num("delay_seconds")),
        target_id=target_id,
        channel=phone.text("channel", limit=20, required=False) if phone is not None else "",
    )


def _opt_user(o: _Obj, key: str) -> User | None:
    sub = o.opt_obj(key)
    return None if sub is None else parse_user(sub)


def parse_actor(o: _Obj | None) -> str:
    """An ``ActorV1``/``ActorV2`` (user, API key, workflow or alert) as a display name."""
    if o is None:
        return ""
    for key, field_name in (("user", "name"), ("api_key", "name"), ("workflow", "name")):
        sub = o.opt_obj(key)
        if sub is not None:
            name = sub.text(field_name, limit=200, required=False)
            if key == "api_key":
                return f"API key {name}".strip()
            if key == "workflow":
                return f"workflow {name}".strip()
            return name
    alert = o.opt_obj("alert")
    if alert is not None:
        return f"alert {alert.text('title', limit=200, required=False)}".strip()
    return ""


def parse_identity(o: _Obj) -> Identity:
    return Identity(
        name=o.text("name", limit=200, required=False),
        roles=o.strs("roles", limit=100),
        dashboard_url=openable_url(o.data.get("dashboard_url"))[0],
        team_roles=o.strs("team_roles", limit=100),
        teams=tuple(t.text("name", limit=200, required=False) for t in o.objs("teams")),
    )


# -- schedules -------------------------------------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _handover_text(o: _Obj) -> str:
    parts = []
    for handover in o.objs("handovers"):
        unit = handover.text("interval_type", limit=40, required=False)
        interval = handover.num("interval", default=1)
        word = {"hourly": "hour", "daily": "day", "weekly": "week"}.get(unit, unit)
        if interval <= 1:
            parts.append(unit or "?")
        else:
            parts.append(f"every {interval} {word}s")
    return ", ".join(parts)


def _working_hours_text(o: _Obj) -> str:
    """``[{weekday, start_time, end_time}]`` → ``"Mon-Fri 09:00-17:00"``."""
    by_window: dict[tuple[str, str], list[int]] = {}
    other: list[str] = []
    for interval in o.objs("working_intervals"):
        day = interval.text("weekday", limit=20, required=False).lower()
        window = (
            interval.text("start_time", limit=10, required=False),
            interval.text("end_time", limit=10, required=False),
        )
        if day in _WEEKDAYS:
            by_window.setdefault(window, []).append(_WEEKDAYS.index(day))
        else:
            other.append(f"{day} {window[0]}-{window[1]}")
    parts = []
    for (start, end), days in by_window.items():
        days = sorted(set(days))
        names = [_WEEKDAYS[d][:3].title() for d in days]
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            span = f"{names[0]}-{names[-1]}"
        else:
            span = ",".join(names)
        parts.append(f"{span} {start}-{end}")
    return "; ".join(parts + other)


def parse_rotation(o: _Obj) -> Rotation:
    return Rotation(
        id=o.id(),
        name=o.text("name", limit=200, required=False),
        layers=tuple(
            # The spec leaves a layer's id optional: one without keeps its name, and its
            # shifts (which name a layer id) simply match no layer.
            Layer(
                id=layer.id(required=False),
                name=layer.text("name", limit=200, required=False),
            )
            for layer in o.objs("layers")
        ),
        users=tuple(parse_user(u) for u in o.objs("users")),
        effective_from=o.opt_dt("effective_from"),
        handover=_handover_text(o),
        working_hours=_working_hours_text(o),
    )


def parse_shift(o: _Obj, schedule_id: str, kind: str = SHIFT_FINAL) -> Shift:
    entry_id = o.opt_str("entry_id", limit=200)
    return Shift(
        schedule_id=schedule_id,
        rotation_id=o.text("rotation_id", limit=200, required=False),
        layer_id=o.text("layer_id", limit=200, required=False),
        start=o.dt("start_at"),
        end=o.dt("end_at"),
        user=_opt_user(o, "user"),
        kind=kind,
        entry_id=entry_id,
        fingerprint=o.opt_str("fingerprint", limit=200),
    )


def parse_schedule(o: _Obj) -> Schedule:
    schedule_id = o.id()
    config = o.opt_obj("config")
    rotations = tuple(parse_rotation(r) for r in config.objs("rotations")) if config else ()
    schedule = Schedule(
        id=schedule_id,
        name=o.text("name", limit=200),
        timezone=o.text("timezone", limit=100, required=False) or "UTC",
        permalink=openable_url(o.data.get("permalink"))[0],
        team_ids=o.strs("team_ids"),
        rotations=rotations,
    )
    # Entries name only their rotation (2.29.0 schema): find each one's layer from the
    # rotations; one that cannot be told keeps an empty layer_id.
    return replace(
        schedule,
        current_shifts=schedule.with_layers(
            tuple(parse_shift(s, schedule_id) for s in o.objs("current_shifts"))
        ),
        next_shifts=schedule.with_layers(
            tuple(parse_shift(s, schedule_id) for s in o.objs("next_shifts"))
        ),
    )


def parse_override(o: _Obj) -> Override:
    return Override(
        id=o.id(),
        schedule_id=o.id("schedule_id"),
        rotation_id=o.id("rotation_id"),
        layer_id=o.id("layer_id"),
        start=o.dt("start_at"),
        end=o.dt("end_at"),
        user=_opt_user(o, "user"),
        created_at=o.opt_dt("created_at"),
    )


# -- escalations ---------------------------------------------------------------------


def parse_target(o: _Obj) -> EscalationTarget:
    return EscalationTarget(
        type=o.text("type", limit=60),
        id=o.id(),
        urgency=o.text("urgency", limit=20, required=False) or "high",
    )


def _levels(nodes: Iterable[_Obj]) -> Iterator[EscalationLevel]:
    """Levels of a path in order; branches of conditions are flattened (then, else)."""
    for node in nodes:
        kind = node.text("type", limit=60, required=False)
        level = node.opt_obj("level") if kind == "level" else None
        if kind == "notify_channel":
            level = node.opt_obj("notify_channel")
        if level is not None:
            yield EscalationLevel(
                targets=tuple(parse_target(t) for t in level.objs("targets")),
                time_to_ack_seconds=level.opt_int("time_to_ack_seconds"),
            )
        branch = node.opt_obj("if_else") if kind == "if_else" else None
        if branch is not None:
            yield from _levels(branch.objs("then_path"))
            yield from _levels(branch.objs("else_path"))


def _bound_ids(o: _Obj) -> tuple[str, ...]:
    """Literal values bound to a templated path's parameters (schedule or user ids among
    them), in order, without repeats; anything unreadable is skipped."""
    bindings = o.data.get("param_bindings")
    out: list[str] = []
    if not isinstance(bindings, dict):
        return ()
    for binding in list(bindings.values())[:50]:
        if not isinstance(binding, dict):
            continue
        values = [binding.get("value")]
        array = binding.get("array_value")
        if isinstance(array, list):
            values += array[:50]
        for value in values:
            literal = value.get("literal") if isinstance(value, dict) else None
            if isinstance(literal, str) and 0 < len(literal) <= 200:
                text = clean_text(literal, limit=200)
                if text and text not in out:
                    out.append(text)
    return tuple(out)


def parse_escalation_path(o: _Obj) -> EscalationPath:
    # ``kind`` is standalone or templated in the 2.29.0 schema; an unknown kind is kept as
    # it came (cleaned) and the path shown with whatever levels it lists.
    return EscalationPath(
        id=o.id(),
        name=o.text("name", limit=200),
        levels=tuple(_levels(o.objs("path"))),
        current_responders=tuple(parse_user(u) for u in o.objs("current_responders")),
        team_ids=o.strs("team_ids"),
        kind=o.text("kind", limit=40, required=False) or "standalone",
        template_id=o.opt_str("template_id", limit=200),
        bound_ids=_bound_ids(o),
    )


def _channel_name(o: _Obj) -> str:
    for key in ("slack_channel_id", "microsoft_teams_channel_id"):
        value = o.text(key, limit=200, required=False)
        if value:
            return value
    return ""


def parse_page_event(o: _Obj) -> PageEvent:
    return PageEvent(
        id=o.id(),
        event=o.text("event", limit=60),
        occurred_at=o.dt("occurred_at"),
        users=tuple(parse_user(u) for u in o.objs("users")),
        channels=tuple(c for c in (_channel_name(ch) for ch in o.objs("channels")) if c),
        urgency=o.opt_str("urgency", limit=20),
    )


def parse_page(o: _Obj) -> Page:
    priority = o.opt_obj("priority")
    return Page(
        id=o.id(),
        title=o.text("title", limit=500),
        status=o.text("status", limit=60),
        created_at=o.dt("created_at"),
        updated_at=o.dt("updated_at"),
        description=o.long("description"),
        priority=priority.text("name", limit=100, required=False) if priority else "",
        path_id=o.opt_str("escalation_path_id", limit=200),
        events=tuple(parse_page_event(e) for e in o.objs("events")),
        alert_ids=tuple(a.id() for a in o.objs("related_alerts")),
        incident_ids=tuple(i.id() for i in o.objs("related_incidents")),
        creator=parse_actor(o.opt_obj("creator")),
    )


# -- alerts --------------------------------------------------------------------------

_RUNBOOK_NAME = re.compile(r"runbook|playbook|run[ _-]?book|sop\b", re.IGNORECASE)
_DASHBOARD_NAME = re.compile(r"dashboard|grafana|panel", re.IGNORECASE)
_SEVERITY_NAMES = ("severity", "priority", "urgency")
_LOOKS_LIKE_URL = re.compile(r"^\s*[a-z][a-z0-9+.-]*:(//|[^\s]*$)", re.IGNORECASE)
_URL_SCHEMES_TO_FLAG = ("javascript:", "data:", "file:", "vbscript:")


def _attribute_value(o: _Obj) -> str:
    """An attribute's value as text: a label, a literal, or a catalog entry's name."""
    label = o.text("label", limit=2000, required=False)
    literal = o.text("literal", limit=2000, required=False)
    catalog = o.opt_obj("catalog_entry")
    if catalog is not None:
        return label or catalog.text("name", limit=500, required=False) or literal
    # For a link attribute the literal is the URL; prefer it so links stay openable.
    return literal or label


def _looks_like_url(value: str) -> bool:
    lowered = value.strip().lower()
    return "://" in lowered[:40] or lowered.startswith(_URL_SCHEMES_TO_FLAG)


def _link_kind(name: str, value: str) -> str | None:
    if _RUNBOOK_NAME.search(name):
        return LINK_RUNBOOK
    if _DASHBOARD_NAME.search(name):
        return LINK_DASHBOARD
    if _looks_like_url(value):
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        return slug or "link"
    return None


def _link(kind: str, raw: str, label: str) -> Link:
    url, problem = openable_url(raw)
    if url is None and problem == "missing":
        problem = "refused: empty link"
    return Link(kind=kind, url=url, problem=problem, label=label)


def parse_alert(o: _Obj) -> Alert:
    alert_id = o.id()
    labels: list[tuple[str, str]] = []
    links: list[Link] = []
    severity = ""
    for entry in o.objs("attributes", required=True):
        attribute = entry.obj("attribute")
        name = attribute.text("name", limit=200, required=False) or attribute.id(required=False)
        values = [_attribute_value(v) for v in entry.objs("array_value")]
        single = entry.opt_obj("value")
        if single is not None:
            values.insert(0, _attribute_value(single))
        values = [v for v in values if v]
        if not values:
            continue
        labels.append((name, clean_text(", ".join(values), limit=2000)))
        if not severity and name.strip().lower() in _SEVERITY_NAMES:
            severity = clean_text(values[0], limit=60).lower()
        for value in values:
            kind = _link_kind(name, value)
            if kind is not None:
                links.append(_link(kind, value, name))
    if o.data.get("source_url") not in (None, ""):
        links.append(_link(LINK_SOURCE, o.text("source_url", limit=9000), "source"))
    annotations = [("alert_source_id", o.id("alert_source_id"))]
    for group in o.strs("alert_group_ids"):
        annotations.append(("alert_group_id", group))
    dedup = o.text("deduplication_key", limit=500)
    return Alert(
        key=f"{SOURCE}::{alert_id}",
        id=alert_id,
        source=SOURCE,
        instance="",
        title=o.text("title", limit=500),
        state=o.text("status", limit=60),
        severity=severity or "unknown",
        started_at=o.dt("created_at"),
        description=o.long("description"),
        labels=tuple(labels),
        annotations=tuple(annotations),
        links=tuple(links),
        resolved_at=o.opt_dt("resolved_at"),
        updated_at=o.dt("updated_at"),
        fingerprint=dedup,
        dedup_key=dedup,
    )


def parse_alert_note(o: _Obj, alert_id: str = "") -> AlertNote:
    return AlertNote(
        id=o.id(),
        alert_id=o.text("alert_id", limit=200, required=False) or alert_id,
        content=o.long("content", required=True),
        author=parse_actor(o.opt_obj("creator")),
        created_at=o.dt("created_at"),
    )


def parse_alert_source(o: _Obj) -> AlertSource:
    # secret_token is deliberately never read.
    return AlertSource(
        id=o.id(),
        name=o.text("name", limit=200),
        source_type=o.text("source_type", limit=60, required=False),
    )


def parse_incident_alert(o: _Obj) -> IncidentAlert:
    alert = o.obj("alert")
    incident = o.obj("incident")
    return IncidentAlert(
        id=o.id(),
        alert_id=alert.id(),
        alert_title=alert.text("title", limit=500, required=False),
        alert_status=alert.text("status", limit=60, required=False),
        incident_id=incident.id(),
        incident_reference=incident.text("reference", limit=60, required=False),
        incident_name=incident.text("name", limit=500, required=False),
        incident_status_category=incident.text("status_category", limit=60, required=False),
        alert_route_id=o.opt_str("alert_route_id", limit=200),
    )


# -- incidents ---------------------------------------------------------------------


def parse_severity(o: _Obj) -> Severity:
    return Severity(
        id=o.id(),
        name=o.text("name", limit=100),
        rank=o.num("rank"),
        description=o.long("description"),
    )


def parse_status(o: _Obj) -> IncidentStatus:
    return IncidentStatus(
        id=o.id(),
        name=o.text("name", limit=100),
        category=o.text("category", limit=60, required=False),
        rank=o.num("rank"),
    )


def parse_role(o: _Obj) -> IncidentRole:
    return IncidentRole(
        id=o.id(),
        name=o.text("name", limit=100),
        role_type=o.text("role_type", limit=60, required=False),
        shortform=o.text("shortform", limit=60, required=False),
    )


def parse_type(o: _Obj) -> IncidentType:
    return IncidentType(
        id=o.id(),
        name=o.text("name", limit=200),
        description=o.long("description"),
    )


def parse_incident(o: _Obj) -> Incident:
    severity = o.opt_obj("severity")
    incident_type = o.opt_obj("incident_type")
    roles = []
    for assignment in o.objs("incident_role_assignments"):
        roles.append(
            RoleAssignment(
                role=parse_role(assignment.obj("role")),
                assignee=_opt_user(assignment, "assignee"),
            )
        )
    call_url = openable_url(o.data.get("call_url"))[0]
    return Incident(
        id=o.id(),
        reference=o.text("reference", limit=60),
        name=o.text("name", limit=500),
        status=parse_status(o.obj("incident_status")),
        created_at=o.dt("created_at"),
        updated_at=o.dt("updated_at"),
        summary=o.long("summary"),
        severity=parse_severity(severity) if severity else None,
        type=parse_type(incident_type) if incident_type else None,
        visibility=o.text("visibility", limit=30, required=False) or "public",
        mode=o.text("mode", limit=30, required=False) or "standard",
        permalink=openable_url(o.data.get("permalink"))[0],
        call_url=call_url,
        slack_channel_id=o.opt_str("slack_channel_id", limit=100),
        slack_channel_name=o.opt_str("slack_channel_name", limit=200),
        roles=tuple(roles),
        creator=parse_actor(o.opt_obj("creator")),
    )


def parse_incident_update(o: _Obj) -> IncidentUpdate:
    status = o.opt_obj("new_incident_status")
    severity = o.opt_obj("new_severity")
    return IncidentUpdate(
        id=o.id(),
        incident_id=o.id("incident_id"),
        created_at=o.dt("created_at"),
        new_status=parse_status(status) if status else None,
        new_severity=parse_severity(severity) if severity else None,
        message=o.long("message"),
        author=parse_actor(o.opt_obj("updater")),
    )


def parse_timeline_item(o: _Obj) -> TimelineItem:
    return TimelineItem(
        id=o.id(),
        incident_id=o.id("incident_id"),
        timestamp=o.dt("timestamp"),
        title=o.text("title", limit=500),
        description=o.long("description"),
        author=parse_actor(o.opt_obj("creator")),
        created_at=o.opt_dt("created_at"),
    )


# ------------------------------------------------------------------ references

_ULID = re.compile(r"^[0-9A-Z]{26}$", re.IGNORECASE)  # incident.io ids are ULIDs
_REFERENCE = re.compile(r"^#?(?:inc-?)?(\d{1,12})$", re.IGNORECASE)


def normalise_incident_ref(ref: str) -> str:
    """``INC-123``, ``#inc-123``, ``123`` → ``"123"``; a ULID is returned as is.

    Raises :class:`InvalidRequest` for anything else, so a typo never becomes a request.
    """
    text = clean_text(ref, limit=100).strip()
    if _ULID.match(text):
        return text.upper()
    match = _REFERENCE.match(text)
    if match:
        return str(int(match.group(1)))
    raise InvalidRequest(
        f"{text!r} is not an incident reference (expected INC-123, #inc-123, 123 or an ID)",
        source=SOURCE,
    )


def _alert_filters(
    statuses: Sequence[str] | None, source_ids: Sequence[str] | None, dedup_key: str | None
) -> list[tuple[str, str]]:
    params = _one_of("status", statuses)
    params += _one_of("alert_source", source_ids)
    if dedup_key:
        params.append(("deduplication_key[is]", dedup_key))
    return params


def _seg(value: str) -> str:
    """One path segment, so an id can never reach another path."""
    if not value or value in (".", ".."):
        raise InvalidRequest(f"{clean_text(value, limit=20)!r} is not an id", source=SOURCE)
    return quote(value, safe="")


# ----------------------------------------------------------------------- client


class IncidentIoClient(ApiClient):
    """incident.io REST API, typed. See the module docstring."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: Secret | str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        act_as_user_id: str | None = None,
        retry: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(
            SOURCE,
            base_url,
            token,
            transport=transport,
            timeout=timeout,
            retry=retry,
            stats=stats,
        )
        act_as = clean_text(act_as_user_id, limit=200).strip() if act_as_user_id else ""
        self.act_as_user_id: str | None = act_as or None
        self.unavailable: set[str] = set()  # newer endpoints this server lacks
        self.act_as_refused: set[str] = set()  # operations that refused X-Incident-User
        self.known_available: set[str] = set()  # newer endpoints that answered
        self.capabilities: Capabilities | None = None
        self.last_identity: Identity | None = None
        self.pagination_warnings: list[str] = []
        self._user_by_email: dict[str, User] = {}
        self._lead_role_id: str | None = None
        # Each schedule's rotations as last read, to find the layer of entries that name
        # only their rotation.
        self._schedules_seen: dict[str, Schedule] = {}

    # -- plumbing -------------------------------------------------------------

    async def _call(
        self,
        op_name: str,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        parent: str | None = None,
        act_as: bool = True,
    ) -> Any:
        """One request for a named operation, with incident.io's error translation.

        ``parent`` is the path of the object a newer endpoint acts on; it is fetched only
        to tell "route missing" from "object missing" after an ambiguous 404. With
        ``act_as`` false the request goes as the API key even when a user is configured.
        """
        op = OPERATIONS[op_name]
        headers = None
        if act_as and self.act_as_user_id and op_name in ACT_AS_OPERATIONS:
            headers = {ACT_AS_HEADER: self.act_as_user_id}
        cap = op.capability
        if cap is not None and cap in self.unavailable:
            raise CapabilityUnavailable(
                cap,
                f"this incident.io account cannot {op.does} through the API "
                f"({method} {path.split('?')[0]} is not there)",
                source=SOURCE,
                status=404,
                method=method,
                path=path,
            )
        try:
            body = await self.request(
                method,
                path,
                params=params,
                json_body=json_body,
                idempotent=idempotent,
                headers=headers,
            )
        except AuthError as err:
            raise self._auth_error(op_name, err, acting=headers is not None) from None
        except NotFound as err:
            if (
                cap is not None
                and cap not in self.known_available
                and await self._route_missing(err, parent)
            ):
                raise self._lose(cap, op, err) from None
            raise
        except InvalidRequest as err:
            if cap is not None and err.status == 405:
                raise self._lose(cap, op, err) from None
            raise
        if cap is not None:
            self.known_available.add(cap)
            self.unavailable.discard(cap)
        return body

    async def _route_missing(self, err: ApiError, parent: str | None) -> bool:
        """After a 404 on a newer endpoint: is the route (not the object) missing?

        A 404 that is not incident.io's JSON error body comes from a router that does not
        know the path. An incident.io-shaped 404 is ambiguous, so the object the call acts
        on is fetched: if it exists, the 404 was the route's.
        """
        if err.type is None or err.request_id is None:
            return True
        if parent is None:
            return False
        try:
            await self.request("GET", parent)
        except ApiError:
            return False
        return True

    def _lose(self, cap: str, op: Operation, err: ApiError) -> CapabilityUnavailable:
        self.unavailable.add(cap)
        self.known_available.discard(cap)
        if self.capabilities is not None:
            self.capabilities = self._build_capabilities(self.capabilities.identity)
        log.info("incident.io capability %s is not available on this server", cap)
        return CapabilityUnavailable(
            cap,
            f"this incident.io account cannot {op.does} through the API: the endpoint is "
            "not available (newer than this server)",
            source=SOURCE,
            status=err.status,
            type=err.type,
            request_id=err.request_id,
            method=err.method,
            path=err.path,
        )

    def _auth_error(self, op_name: str, err: AuthError, *, acting: bool) -> AccessDenied:
        op = OPERATIONS[op_name]
        identity = self.last_identity
        if err.status == 401:
            message = (
                f"incident.io refused the API key when trying to {op.does}: it is missing, "
                "mistyped or revoked; check the key in your config or keyring"
            )
            missing: tuple[str, ...] = ()
        else:
            held = set(identity.roles + identity.team_roles) if identity else set()
            if acting and identity is not None and ACT_AS_ROLE not in identity.roles:
                missing = (ACT_AS_ROLE,)
                message = (
                    f"the API key may not {op.does} on behalf of a user: it needs "
                    f"{_roles_text(missing)}"
                )
            elif op.roles and identity is not None and held.intersection(op.roles):
                missing = ()
                have = next(r for r in op.roles if r in held)
                message = (
                    f"the API key may not {op.does}, although it has the '{have}' role: "
                    "the object is probably private or owned by a team the key is not "
                    "scoped to"
                )
            elif op.roles:
                missing = op.roles
                message = f"the API key may not {op.does}: it needs {_roles_text(op.roles)}"
            else:
                missing = ()
                message = f"the API key may not {op.does}"
            if missing:
                message += "; add it to the key in incident.io settings (API keys)"
        if err.message and err.message not in message:
            message = f"{message} (incident.io said: {err.message})"
        return AccessDenied(
            message,
            operation=op_name,
            missing_roles=missing,
            source=SOURCE,
            status=err.status,
            type=err.type,
            request_id=err.request_id,
            errors=err.errors,
            method=err.method,
            path=err.path,
        )

    async def _read(
        self,
        op_name: str,
        method: str,
        path: str,
        key: str,
        parse: Callable[[_Obj], T],
        **kwargs: Any,
    ) -> T:
        body = await self._call(op_name, method, path, **kwargs)
        return self._parse(lambda: parse(_root(body, "response").obj(key)), method, path)

    def _parse(self, fn: Callable[[], T], method: str, path: str) -> T:
        try:
            return fn()
        except MalformedResponse as err:
            raise MalformedResponse(
                err.message, source=SOURCE, method=method, path=path.split("?")[0]
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
            raise MalformedResponse(
                f"incident.io sent something we cannot read ({type(err).__name__})",
                source=SOURCE,
                method=method,
                path=path.split("?")[0],
            ) from None

    # -- pagination -------------------------------------------------------------

    async def paginate(
        self,
        op_name: str,
        path: str,
        key: str,
        parse: Callable[[_Obj], T],
        *,
        params: Sequence[tuple[str, str]] = (),
        page_size: int,
        limit: int | None = None,
        parent: str | None = None,
    ) -> tuple[T, ...]:
        """Follow the ID cursor (``page_size``/``after``) of a list endpoint.

        Stops when ``after`` is absent, a page is empty, ``limit`` items are read, the
        server repeats a cursor, or :data:`MAX_PAGES` pages were read (the last two are
        logged and kept in ``pagination_warnings``). Items are de-duplicated by id.
        """
        items, after = await self.page_through(
            op_name,
            path,
            key,
            parse,
            params=params,
            page_size=page_size,
            limit=limit,
            parent=parent,
            max_pages=MAX_PAGES,
        )
        if after is not None and (limit is None or len(items) < limit):
            self._warn(f"GET {path} had more than {MAX_PAGES} pages; read only those")
        return items

    async def page_through(
        self,
        op_name: str,
        path: str,
        key: str,
        parse: Callable[[_Obj], T],
        *,
        params: Sequence[tuple[str, str]] = (),
        page_size: int,
        max_pages: int,
        after: str | None = None,
        limit: int | None = None,
        parent: str | None = None,
    ) -> tuple[tuple[T, ...], str | None]:
        """Read at most ``max_pages`` pages of a list endpoint, from the cursor ``after``
        (the start when None). Returns the items and the cursor to go on from, None when
        the listing ended (or the server repeated a cursor, which is logged). A listing
        read a few pages per poll costs each poll a bounded number of requests."""
        if limit is not None:
            page_size = max(1, min(page_size, limit))
        items: list[T] = []
        seen_ids: set[str] = set()
        seen_cursors: set[str] = set()
        for _ in range(max(1, max_pages)):
            query = [*params, ("page_size", str(page_size))]
            if after:
                query.append(("after", after))
            body = await self._call(op_name, "GET", path, params=query, parent=parent)

            def read_page(body: Any = body) -> tuple[list[tuple[str, T]], str | None]:
                root = _root(body, "response")
                page = []
                for item in root.objs(key, required=True):
                    page.append((item.id(required=False), parse(item)))
                meta = root.opt_obj("pagination_meta")
                cursor = meta.text("after", limit=500, required=False) if meta else ""
                return page, cursor or None

            page, after = self._parse(read_page, "GET", path)
            for item_id, item in page:
                if item_id and item_id in seen_ids:
                    continue
                if item_id:
                    seen_ids.add(item_id)
                items.append(item)
                if limit is not None and len(items) >= limit:
                    return tuple(items), None
            if not page or after is None:
                return tuple(items), None
            if after in seen_cursors:
                self._warn(f"GET {path} repeated the page cursor {after!r}; stopped there")
                return tuple(items), None
            seen_cursors.add(after)
        return tuple(items), after

    def _warn(self, message: str) -> None:
        text = clean_text(message, limit=300)
        log.warning("incident.io: %s", text)
        self.pagination_warnings.append(text)
        del self.pagination_warnings[:-20]

    # -- identity and people -----------------------------------------------------

    async def identity(self) -> Identity:
        """``GET /v1/identity``: the API key's name and roles (it is not a person)."""
        identity = await self._read("identity", "GET", "/v1/identity", "identity", parse_identity)
        self.last_identity = identity
        return identity

    async def find_user_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), cached for the session."""
        wanted = email.strip().lower()
        if not wanted:
            return None
        if wanted in self._user_by_email:
            return self._user_by_email[wanted]
        for user in await self.list_users(email=email.strip()):
            if (user.email or "").lower() == wanted:
                self._user_by_email[wanted] = user
                return user
        return None

    async def get_user(self, user_id: str) -> User:
        return await self._read(
            "users.show", "GET", f"/v2/users/{_seg(user_id)}", "user", parse_user
        )

    async def notification_methods(self, user_id: str) -> tuple[NotificationMethod, ...]:
        """``GET /v2/users/{id}/notification_methods``: how incident.io can reach them."""
        path = f"/v2/users/{_seg(user_id)}/notification_methods"
        found = await self._lookup(
            "notification_methods.list", path, "notification_methods", parse_notification_method
        )
        return tuple(found)

    async def notification_rules(self, user_id: str) -> tuple[NotificationRule, ...]:
        """``GET /v2/users/{id}/notification_rules``: which methods a page reaches, when."""
        path = f"/v2/users/{_seg(user_id)}/notification_rules"
        found = await self._lookup(
            "notification_rules.list", path, "notification_rules", parse_notification_rule
        )
        return tuple(found)

    async def list_users(
        self,
        *,
        email: str | None = None,
        slack_user_id: str | None = None,
        include_inactive: bool = False,
        limit: int | None = None,
    ) -> tuple[User, ...]:
        params: list[tuple[str, str]] = []
        if email:
            params.append(("email", email))
        if slack_user_id:
            params.append(("slack_user_id", slack_user_id))
        if include_inactive:
            params.append(("include_inactive", "true"))
        return await self.paginate(
            "users.list",
            "/v2/users",
            "users",
            parse_user,
            params=params,
            page_size=PAGE_USERS,
            limit=limit,
        )

    # -- lookups ---------------------------------------------------------------

    async def _lookup(self, op: str, path: str, key: str, parse: Callable[[_Obj], T]) -> list[T]:
        body = await self._call(op, "GET", path)
        return self._parse(
            lambda: [parse(o) for o in _root(body, "response").objs(key, required=True)],
            "GET",
            path,
        )

    async def severities(self) -> tuple[Severity, ...]:
        """Severities, least severe first (a higher rank is more severe)."""
        found = await self._lookup(
            "severities.list", "/v1/severities", "severities", parse_severity
        )
        return tuple(sorted(found, key=lambda s: s.rank))

    async def incident_statuses(self) -> tuple[IncidentStatus, ...]:
        found = await self._lookup(
            "incident_statuses.list", "/v1/incident_statuses", "incident_statuses", parse_status
        )
        return tuple(sorted(found, key=lambda s: s.rank))

    async def incident_roles(self) -> tuple[IncidentRole, ...]:
        return tuple(
            await self._lookup(
                "incident_roles.list", "/v2/incident_roles", "incident_roles", parse_role
            )
        )

    async def incident_types(self) -> tuple[IncidentType, ...]:
        return tuple(
            await self._lookup(
                "incident_types.list", "/v1/incident_types", "incident_types", parse_type
            )
        )

    # -- schedules ---------------------------------------------------------------

    async def list_schedules(self) -> tuple[Schedule, ...]:
        """Every schedule with its current and next shifts (page size 25 keeps those)."""
        schedules = await self.paginate(
            "schedules.list", "/v2/schedules", "schedules", parse_schedule, page_size=PAGE_SCHEDULES
        )
        for schedule in schedules:
            self._schedules_seen[schedule.id] = schedule
        return schedules

    async def get_schedule(self, schedule_id: str) -> Schedule:
        """One schedule with its rotations and layers."""
        schedule = await self._read(
            "schedules.show",
            "GET",
            f"/v2/schedules/{_seg(schedule_id)}",
            "schedule",
            parse_schedule,
        )
        self._schedules_seen[schedule.id] = schedule
        return schedule

    async def _rota_of(self, schedule_id: str) -> Schedule | None:
        """The schedule's rotations, read once if not seen yet (None if unreadable)."""
        seen = self._schedules_seen.get(schedule_id)
        if seen is not None:
            return seen
        try:
            return await self.get_schedule(schedule_id)
        except ApiError as exc:
            self._warn(f"could not read schedule {schedule_id} to find its layers: {exc}")
            return None

    async def schedule_entries(
        self, schedule_id: str, start: datetime, end: datetime
    ) -> ScheduleEntries:
        """Shifts of one schedule overlapping ``[start, end)``, following the time cursor.

        ``final`` is the effective rota; entries in it that an override produced have
        kind ``override``. ``scheduled`` and ``overrides`` are kept apart.
        """
        path = "/v2/schedule_entries"
        end_text = format_datetime(end)
        cursor = format_datetime(start)
        seen_cursors = {cursor}
        final: dict[tuple[Any, ...], Shift] = {}
        scheduled: dict[tuple[Any, ...], Shift] = {}
        overrides: dict[tuple[Any, ...], Shift] = {}
        for _page in range(MAX_PAGES):
            params = [
                ("schedule_id", schedule_id),
                ("entry_window_start", cursor),
                ("entry_window_end", end_text),
            ]
            body = await self._call("schedule_entries.list", "GET", path, params=params)

            def read_page(body: Any = body) -> tuple[dict[str, list[Shift]], str | None]:
                root = _root(body, "response")
                entries = root.obj("schedule_entries")
                lists = {
                    name: [parse_shift(e, schedule_id, kind) for e in entries.objs(name)]
                    for name, kind in (
                        ("final", SHIFT_FINAL),
                        ("scheduled", SHIFT_SCHEDULED),
                        ("overrides", SHIFT_OVERRIDE),
                    )
                }
                meta = root.opt_obj("pagination_meta")
                after = meta.text("after", limit=500, required=False) if meta else ""
                return lists, after or None

            lists, after = self._parse(read_page, "GET", path)
            for target, name in (
                (final, "final"),
                (scheduled, "scheduled"),
                (overrides, "overrides"),
            ):
                for shift in lists[name]:
                    target.setdefault(_shift_key(shift), shift)
            if after is None:
                break
            if after in seen_cursors:
                self._warn(f"GET {path} repeated the window cursor {after!r}; stopped there")
                break
            seen_cursors.add(after)
            cursor = after
        else:
            self._warn(f"GET {path} had more than {MAX_PAGES} pages; read only those")
        override_marks = {s.fingerprint for s in overrides.values() if s.fingerprint} | {
            s.entry_id for s in overrides.values() if s.entry_id
        }
        marked = []
        for shift in final.values():
            if shift.entry_id or (shift.fingerprint and shift.fingerprint in override_marks):
                shift = _with_kind(shift, SHIFT_OVERRIDE)
            marked.append(shift)

        rota: Schedule | None = None
        if any(
            not s.layer_id
            for group in (marked, scheduled.values(), overrides.values())
            for s in group
        ):
            # Entries name only their rotation (2.29.0 schema): their layer comes from the
            # schedule's rotations. One that cannot be told keeps an empty layer_id, and
            # whoever plans an override on it must refuse it by name.
            rota = await self._rota_of(schedule_id)

        def ordered(shifts: Iterable[Shift]) -> tuple[Shift, ...]:
            shifts = tuple(shifts)
            if rota is not None:
                shifts = rota.with_layers(shifts)
            return tuple(sorted(shifts, key=lambda s: (s.start, s.rotation_id, s.layer_id)))

        return ScheduleEntries(
            schedule_id=schedule_id,
            window_start=start.astimezone(UTC),
            window_end=end.astimezone(UTC),
            final=ordered(marked),
            scheduled=ordered(scheduled.values()),
            overrides=ordered(overrides.values()),
        )

    async def list_overrides(
        self,
        schedule_id: str,
        *,
        rotation_id: str | None = None,
        layer_id: str | None = None,
    ) -> tuple[Override, ...]:
        params = [("schedule_id", schedule_id)]
        if rotation_id:
            params.append(("rotation_id", rotation_id))
        if layer_id:
            params.append(("layer_id", layer_id))
        return await self.paginate(
            "overrides.list",
            "/v2/schedule_overrides",
            "overrides",
            parse_override,
            params=params,
            page_size=PAGE_OVERRIDES,
        )

    async def create_override(
        self,
        schedule_id: str,
        rotation_id: str,
        layer_id: str,
        start: datetime,
        end: datetime,
        user: User | str,
    ) -> Override:
        """Put ``user`` on one layer for ``[start, end)``.

        ``user`` is a :class:`User`, a user id, an email address, or :data:`NOBODY` /
        ``"NOBODY"`` to leave the layer uncovered (pages for it reach no one). The new
        override replaces the overrides it overlaps on that layer.
        """
        if not (rotation_id and layer_id):
            # incident.io requires both; an empty one is a planning mistake, not a request.
            raise ValueError("an override needs its rotation and layer")
        body = {
            "schedule_id": schedule_id,
            "rotation_id": rotation_id,
            "layer_id": layer_id,
            "start_at": format_datetime(start),
            "end_at": format_datetime(end),
            "user": _user_reference(user),
        }
        _check_window(start, end)
        return await self._read(
            "overrides.create",
            "POST",
            "/v2/schedule_overrides",
            "override",
            parse_override,
            json_body=body,
        )

    async def update_override(
        self,
        override_id: str,
        *,
        rotation_id: str,
        layer_id: str,
        start: datetime,
        end: datetime,
        user: User | str,
    ) -> Override:
        """Move an override's window. The user cannot change: delete and recreate."""
        _check_window(start, end)
        body = {
            "rotation_id": rotation_id,
            "layer_id": layer_id,
            "start_at": format_datetime(start),
            "end_at": format_datetime(end),
            "user": _user_reference(user),
        }
        return await self._read(
            "overrides.update",
            "PUT",
            f"/v2/schedule_overrides/{_seg(override_id)}",
            "override",
            parse_override,
            json_body=body,
        )

    async def delete_override(self, override_id: str) -> None:
        """Delete an override; deleting one that is already gone succeeds."""
        try:
            await self._call(
                "overrides.delete", "DELETE", f"/v2/schedule_overrides/{_seg(override_id)}"
            )
        except NotFound:
            return

    # -- escalation paths and pages -----------------------------------------------

    async def list_escalation_paths(self) -> tuple[EscalationPath, ...]:
        return await self.paginate(
            "escalation_paths.list",
            "/v2/escalation_paths",
            "escalation_paths",
            parse_escalation_path,
            page_size=PAGE_ESCALATION_PATHS,
        )

    async def get_escalation_path(self, path_id: str) -> EscalationPath:
        """Levels with their targets and time-to-ack, and who would be paged now."""
        return await self._read(
            "escalation_paths.show",
            "GET",
            f"/v2/escalation_paths/{_seg(path_id)}",
            "escalation_path",
            parse_escalation_path,
        )

    async def list_escalations(
        self,
        statuses: Sequence[str] | None = OPEN_PAGE_STATUSES,
        *,
        alert_id: str | None = None,
        incident_id: str | None = None,
        path_id: str | None = None,
        limit: int | None = None,
    ) -> tuple[Page, ...]:
        """Pages (escalations), by default the open ones; ``statuses=None`` for all."""
        params = _one_of("status", statuses)
        params += _one_of("alert", [alert_id] if alert_id else None)
        params += _one_of("incident", [incident_id] if incident_id else None)
        params += _one_of("escalation_path", [path_id] if path_id else None)
        return await self.paginate(
            "escalations.list",
            "/v2/escalations",
            "escalations",
            parse_page,
            params=params,
            page_size=PAGE_ESCALATIONS,
            limit=limit,
        )

    async def get_escalation(self, escalation_id: str) -> Page:
        return await self._read(
            "escalations.show",
            "GET",
            f"/v2/escalations/{_seg(escalation_id)}",
            "escalation",
            parse_page,
        )

    async def create_escalation(
        self,
        title: str,
        *,
        path_id: str | None = None,
        user_ids: Sequence[str] | None = None,
        description: str | None = None,
        incident_id: str | None = None,
        idempotency_key: str,
    ) -> Page:
        """Page an escalation path or users (exactly one). Safe to retry: the key dedupes."""
        if bool(path_id) == bool(user_ids):
            raise InvalidRequest(
                "page either an escalation path or users, not both and not neither",
                source=SOURCE,
            )
        if not idempotency_key:
            raise InvalidRequest("an idempotency key is required", source=SOURCE)
        body: dict[str, Any] = {"idempotency_key": idempotency_key, "title": title}
        if path_id:
            body["escalation_path_id"] = path_id
        else:
            body["user_ids"] = list(user_ids or ())
        if description:
            body["description"] = description
        if incident_id:
            body["incident_id"] = incident_id
        return await self._read(
            "escalations.create",
            "POST",
            "/v2/escalations",
            "escalation",
            parse_page,
            json_body=body,
            idempotent=True,
        )

    async def cancel_escalation(self, escalation_id: str) -> None:
        """Stop paging. Cancelling twice is a no-op, so it is retried like a GET."""
        await self._call(
            "escalations.cancel",
            "POST",
            f"/v2/escalations/{_seg(escalation_id)}/actions/cancel",
            idempotent=True,
        )

    async def respond_escalation(
        self,
        escalation_id: str,
        response: str = "ack",
        snooze_until: datetime | None = None,
        reason: str | None = None,
    ) -> bool:
        """Acknowledge, snooze or decline ("nack") a page (newer endpoint).

        Declining is only possible on behalf of a user (``act_as_user_id``). Raises
        :class:`CapabilityUnavailable` if the server does not have the endpoint. Returns
        whether incident.io recorded the response as the configured person (False: as
        the API key, either because no person is configured or because incident.io
        refused ``X-Incident-User`` here).
        """
        if response not in ("ack", "nack", "snooze"):
            raise InvalidRequest(f"unknown response {response!r}", source=SOURCE)
        body: dict[str, Any] = {"response": response}
        if response == "snooze":
            if snooze_until is None:
                raise InvalidRequest("snoozing needs a time to snooze until", source=SOURCE)
            details: dict[str, Any] = {"snooze_until": format_datetime(snooze_until)}
            if reason:
                details["reason"] = reason
            body["snooze_details"] = details
        if response == "nack" and not self.act_as_user_id:
            raise InvalidRequest(
                "declining a page must be done as a person: configure your incident.io "
                "user so the dashboard can act on your behalf",
                source=SOURCE,
            )
        if response == "nack" and "escalations.respond" in self.act_as_refused:
            raise InvalidRequest(
                "incident.io would not take a decline on your behalf "
                f"(it refused {ACT_AS_HEADER} on an earlier response); decline in the "
                "incident.io app or Slack, or ack it and reassign",
                source=SOURCE,
            )
        path = f"/v2/escalations/{_seg(escalation_id)}"
        acting = bool(self.act_as_user_id) and "escalations.respond" not in self.act_as_refused
        try:
            await self._call(
                "escalations.respond",
                "POST",
                f"{path}/actions/respond",
                json_body=body,
                idempotent=response != "nack",
                parent=path,
                act_as=acting,
            )
        except (AuthError, InvalidRequest) as exc:
            # The 2.29.0 schema documents X-Incident-User for reassigning a page, not for
            # responding to one. If incident.io refuses the response as the person, an
            # ack or snooze goes again as the API key (and says so); a decline cannot.
            if not acting or not _refuses_acting(exc):
                raise
            self.act_as_refused.add("escalations.respond")
            if response == "nack":
                raise InvalidRequest(
                    "incident.io would not take a decline on your behalf "
                    f"({ACT_AS_HEADER} refused: {exc.message}); decline in the incident.io "
                    "app or Slack, or ack it and reassign",
                    source=SOURCE,
                    status=exc.status,
                ) from None
            try:
                await self._call(
                    "escalations.respond",
                    "POST",
                    f"{path}/actions/respond",
                    json_body=body,
                    idempotent=True,
                    parent=path,
                    act_as=False,
                )
            except ApiError:
                # Refused as the key too: the first refusal (which may name the missing
                # act_on_behalf_of_users role) is the one to act on.
                self.act_as_refused.discard("escalations.respond")
                raise exc from None
            acting = False
        return acting

    async def reassign_escalation(
        self,
        escalation_id: str,
        *,
        path_id: str | None = None,
        user_ids: Sequence[str] | None = None,
        resolve_original: bool = True,
        title: str | None = None,
        description: str | None = None,
    ) -> Page:
        """Send a page to another path or users; returns the new page (newer endpoint).

        Only one reassignment per page; it is not retried, since a repeat is rejected.
        """
        if bool(path_id) == bool(user_ids):
            raise InvalidRequest(
                "reassign to either an escalation path or users, not both and not neither",
                source=SOURCE,
            )
        body: dict[str, Any] = {"resolve_original": resolve_original}
        if path_id:
            body["escalation_path_id"] = path_id
        else:
            body["user_ids"] = list(user_ids or ())
        if title:
            body["title"] = title
        if description:
            body["description"] = description
        path = f"/v2/escalations/{_seg(escalation_id)}"
        return await self._read(
            "escalations.reassign",
            "POST",
            f"{path}/actions/reassign",
            "escalation",
            parse_page,
            json_body=body,
            idempotent=False,
            parent=path,
        )

    # -- alerts -----------------------------------------------------------------

    async def list_alerts(
        self,
        statuses: Sequence[str] | None = ("firing",),
        *,
        source_ids: Sequence[str] | None = None,
        dedup_key: str | None = None,
        limit: int | None = None,
    ) -> tuple[Alert, ...]:
        return await self.paginate(
            "alerts.list",
            "/v2/alerts",
            "alerts",
            parse_alert,
            params=_alert_filters(statuses, source_ids, dedup_key),
            page_size=PAGE_ALERTS,
            limit=limit,
        )

    async def alert_pages(
        self,
        statuses: Sequence[str] | None = ("firing",),
        *,
        updated_since: datetime | None = None,
        after: str | None = None,
        max_pages: int,
    ) -> tuple[tuple[Alert, ...], str | None]:
        """At most ``max_pages`` pages of ``GET /v2/alerts`` from the cursor ``after``;
        with ``updated_since``, only alerts written since then (``updated_at[gte]``, for
        incremental sync). Returns the alerts and the cursor to go on from (None at the
        end of the listing)."""
        params = _alert_filters(statuses, None, None)
        if updated_since is not None:
            params.append(("updated_at[gte]", format_datetime(updated_since)))
        return await self.page_through(
            "alerts.list",
            "/v2/alerts",
            "alerts",
            parse_alert,
            params=params,
            page_size=PAGE_ALERTS,
            after=after,
            max_pages=max_pages,
        )

    async def get_alert(self, alert_id: str) -> Alert:
        return await self._read(
            "alerts.show", "GET", f"/v2/alerts/{_seg(alert_id)}", "alert", parse_alert
        )

    async def resolve_alert(self, alert_id: str) -> Alert:
        """Resolve an alert (a no-op if already resolved, so it is retried like a GET)."""
        return await self._read(
            "alerts.resolve",
            "POST",
            f"/v2/alerts/{_seg(alert_id)}/actions/resolve",
            "alert",
            parse_alert,
            idempotent=True,
        )

    async def list_alert_notes(self, alert_id: str) -> tuple[AlertNote, ...]:
        return await self.paginate(
            "alert_notes.list",
            "/v1/alert_notes",
            "alert_notes",
            lambda o: parse_alert_note(o, alert_id),
            params=[("alert_id", alert_id)],
            page_size=PAGE_ALERT_NOTES,
        )

    async def create_alert_note(self, alert_id: str, content: str) -> AlertNote:
        """Add a markdown note to an alert. Not retried: it carries no idempotency key."""
        return await self._read(
            "alert_notes.create",
            "POST",
            "/v1/alert_notes",
            "alert_note",
            lambda o: parse_alert_note(o, alert_id),
            json_body={"alert_id": alert_id, "content": content},
        )

    async def incident_alerts(
        self, *, incident_id: str | None = None, alert_id: str | None = None
    ) -> tuple[IncidentAlert, ...]:
        """Links between alerts and incidents, for one incident or one alert."""
        if bool(incident_id) == bool(alert_id):
            raise InvalidRequest("give either an incident or an alert", source=SOURCE)
        params = [("incident_id", incident_id)] if incident_id else [("alert_id", alert_id or "")]
        return await self.paginate(
            "incident_alerts.list",
            "/v2/incident_alerts",
            "incident_alerts",
            parse_incident_alert,
            params=params,
            page_size=PAGE_INCIDENT_ALERTS,
        )

    async def list_alert_sources(self) -> tuple[AlertSource, ...]:
        return tuple(
            await self._lookup(
                "alert_sources.list", "/v2/alert_sources", "alert_sources", parse_alert_source
            )
        )

    # -- incidents --------------------------------------------------------------

    async def list_incidents(
        self,
        status_categories: Sequence[str] | None = OPEN_STATUS_CATEGORIES,
        *,
        severity_ids: Sequence[str] | None = None,
        created_after: datetime | None = None,
        oldest_first: bool = False,
        limit: int | None = None,
    ) -> tuple[Incident, ...]:
        """Incidents, by default the open ones (triage and live), newest first."""
        params = _one_of("status_category", status_categories)
        params += _one_of("severity", severity_ids)
        if created_after is not None:
            params.append(("created_at[gte]", format_datetime(created_after)))
        params.append(
            ("sort_by", "created_at_oldest_first" if oldest_first else "created_at_newest_first")
        )
        return await self.paginate(
            "incidents.list",
            "/v2/incidents",
            "incidents",
            parse_incident,
            params=params,
            page_size=PAGE_INCIDENTS,
            limit=limit,
        )

    async def get_incident(self, ref: str) -> Incident:
        """One incident by ULID, ``INC-123``, ``#inc-123`` or ``123``."""
        return await self._read(
            "incidents.show",
            "GET",
            f"/v2/incidents/{_seg(normalise_incident_ref(ref))}",
            "incident",
            parse_incident,
        )

    async def _lead_role(self) -> str:
        if self._lead_role_id is None:
            for role in await self.incident_roles():
                if role.role_type == "lead":
                    self._lead_role_id = role.id
                    break
            else:
                raise InvalidRequest(
                    "this incident.io account has no incident lead role", source=SOURCE
                )
        return self._lead_role_id

    async def create_incident(
        self,
        name: str,
        *,
        severity_id: str,
        summary: str | None = None,
        visibility: str = "public",
        incident_type_id: str | None = None,
        lead_user_id: str | None = None,
        idempotency_key: str,
    ) -> Incident:
        """Declare an incident. Safe to retry: the key dedupes."""
        if not idempotency_key:
            raise InvalidRequest("an idempotency key is required", source=SOURCE)
        if visibility not in ("public", "private"):
            raise InvalidRequest(f"unknown visibility {visibility!r}", source=SOURCE)
        body: dict[str, Any] = {
            "idempotency_key": idempotency_key,
            "visibility": visibility,
            "name": name,
            "severity_id": severity_id,
        }
        if summary:
            body["summary"] = summary
        if incident_type_id:
            body["incident_type_id"] = incident_type_id
        if lead_user_id:
            body["incident_role_assignments"] = [
                {"incident_role_id": await self._lead_role(), "assignee": {"id": lead_user_id}}
            ]
        return await self._read(
            "incidents.create",
            "POST",
            "/v2/incidents",
            "incident",
            parse_incident,
            json_body=body,
            idempotent=True,
        )

    async def edit_incident(
        self,
        incident_id: str,
        *,
        name: str | None = None,
        summary: str | None = None,
        severity_id: str | None = None,
        status_id: str | None = None,
        call_url: str | None = None,
        role_assignments: Mapping[str, str | None] | None = None,
        notify_incident_channel: bool = True,
    ) -> Incident:
        """Change fields of an incident; only those given change.

        ``role_assignments`` maps an incident role id to a user id (``None`` unassigns).
        Not retried: a repeat could notify the channel twice.
        """
        edit: dict[str, Any] = {}
        for key, value in (
            ("name", name),
            ("summary", summary),
            ("severity_id", severity_id),
            ("incident_status_id", status_id),
            ("call_url", call_url),
        ):
            if value is not None:
                edit[key] = value
        if role_assignments:
            edit["incident_role_assignments"] = [
                {"incident_role_id": role_id, "assignee": {"id": user_id}}
                if user_id
                else {"incident_role_id": role_id}
                for role_id, user_id in role_assignments.items()
            ]
        if not edit:
            raise InvalidRequest("nothing to change", source=SOURCE)
        try:
            return await self._read(
                "incidents.edit",
                "POST",
                f"/v2/incidents/{_seg(incident_id)}/actions/edit",
                "incident",
                parse_incident,
                json_body={"incident": edit, "notify_incident_channel": notify_incident_channel},
            )
        except InvalidRequest as exc:
            # Unassigning by leaving "assignee" out follows the schema (only the role id is
            # required) but is not documented as unassigning. If incident.io refuses it,
            # the whole edit was refused: say so, and where to do it instead.
            if role_assignments and None in role_assignments.values():
                raise InvalidRequest(
                    "incident.io would not unassign the role by leaving its assignee out, so "
                    f"nothing in this edit changed ({exc.message}); unassign it in the "
                    "incident.io app or Slack",
                    source=SOURCE,
                    status=exc.status,
                    errors=exc.errors,
                ) from None
            raise

    async def list_incident_updates(self, incident_id: str) -> tuple[IncidentUpdate, ...]:
        return await self.paginate(
            "incident_updates.list",
            "/v2/incident_updates",
            "incident_updates",
            parse_incident_update,
            params=[("incident_id", incident_id)],
            page_size=PAGE_INCIDENT_UPDATES,
        )

    async def create_incident_update(
        self,
        incident_id: str,
        *,
        message: str | None = None,
        status_id: str | None = None,
        severity_id: str | None = None,
        idempotency_key: str,
    ) -> IncidentUpdate:
        """Share an update: a message, a new status, a new severity, or a mix (newer)."""
        if not (message or status_id or severity_id):
            raise InvalidRequest("an update needs a message, a status or a severity", source=SOURCE)
        if not idempotency_key:
            raise InvalidRequest("an idempotency key is required", source=SOURCE)
        body: dict[str, Any] = {"idempotency_key": idempotency_key, "incident_id": incident_id}
        if message:
            body["message"] = message
        if status_id:
            body["to_incident_status_id"] = status_id
        if severity_id:
            body["to_severity_id"] = severity_id
        return await self._read(
            "incident_updates.create",
            "POST",
            "/v2/incident_updates",
            "incident_update",
            parse_incident_update,
            json_body=body,
            idempotent=True,
            parent=f"/v2/incidents/{_seg(incident_id)}",
        )

    async def list_timeline_items(self, incident_id: str) -> tuple[TimelineItem, ...]:
        """The incident's curated timeline, oldest first (newer endpoint)."""
        return await self.paginate(
            "timeline_items.list",
            "/v2/incident_timeline_items",
            "incident_timeline_items",
            parse_timeline_item,
            params=[("incident_id", incident_id)],
            page_size=PAGE_TIMELINE_ITEMS,
            parent=f"/v2/incidents/{_seg(incident_id)}",
        )

    async def create_timeline_item(
        self,
        incident_id: str,
        *,
        title: str,
        description: str | None = None,
        timestamp: datetime,
        idempotency_key: str,
    ) -> TimelineItem:
        """Add a note to the incident's timeline at ``timestamp`` (newer endpoint)."""
        if not idempotency_key:
            raise InvalidRequest("an idempotency key is required", source=SOURCE)
        body: dict[str, Any] = {
            "idempotency_key": idempotency_key,
            "incident_id": incident_id,
            "timestamp": format_datetime(timestamp),
            "title": title,
        }
        if description:
            body["description"] = description
        return await self._read(
            "timeline_items.create",
            "POST",
            "/v2/incident_timeline_items",
            "incident_timeline_item",
            parse_timeline_item,
            json_body=body,
            idempotent=True,
            parent=f"/v2/incidents/{_seg(incident_id)}",
        )

    async def update_timeline_item(
        self,
        item_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        timestamp: datetime | None = None,
    ) -> TimelineItem:
        """Edit a timeline item; ``description=""`` removes it (newer endpoint)."""
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if description is not None:
            body["description"] = description
        if timestamp is not None:
            body["timestamp"] = format_datetime(timestamp)
        if not body:
            raise InvalidRequest("nothing to change", source=SOURCE)
        return await self._read(
            "timeline_items.update",
            "PATCH",
            f"/v2/incident_timeline_items/{_seg(item_id)}",
            "incident_timeline_item",
            parse_timeline_item,
            json_body=body,
            idempotent=True,
        )

    # -- capabilities -------------------------------------------------------------

    async def probe_capabilities(self) -> Capabilities:
        """What this key on this server can do, per dashboard action.

        Reads the key's roles, and probes the newer timeline endpoint with a GET for an
        incident that does not exist: incident.io's JSON 404 means the route is there,
        anything else (a router's 404 or 405) means it is not. The other newer endpoints
        are writes with no harmless probe, so they stay "unknown" until first used.
        """
        self.unavailable.clear()
        self.known_available.clear()
        identity = await self.identity()
        await self._probe_timeline()
        self.capabilities = self._build_capabilities(identity)
        return self.capabilities

    async def _probe_timeline(self) -> None:
        if CAP_TIMELINE_ITEMS in self.known_available | self.unavailable:
            return
        query = [("incident_id", _PROBE_INCIDENT_ID), ("page_size", "1")]
        try:
            await self.request("GET", "/v2/incident_timeline_items", params=query)
        except NotFound as err:
            if err.type is None or err.request_id is None:
                self.unavailable.add(CAP_TIMELINE_ITEMS)
            else:
                self.known_available.add(CAP_TIMELINE_ITEMS)
        except InvalidRequest as err:
            # 405: the path exists for other methods only; 400/422: validation ran.
            if err.status == 405:
                self.unavailable.add(CAP_TIMELINE_ITEMS)
            else:
                self.known_available.add(CAP_TIMELINE_ITEMS)
        except ApiError as err:
            log.info("incident.io timeline probe was inconclusive: %s", err)
        else:
            self.known_available.add(CAP_TIMELINE_ITEMS)

    def _role_state(
        self, identity: Identity | None, roles: Sequence[str]
    ) -> tuple[bool | None, str]:
        if not roles:
            return True, ""
        if identity is None:
            return None, "the API key's roles are not known yet"
        if any(r in identity.roles for r in roles):
            return True, ""
        if any(r in identity.team_roles for r in roles):
            teams = ", ".join(identity.teams) or "its teams"
            return True, f"only for what {teams} own"
        return False, f"the API key lacks {_roles_text(roles)}"

    def _endpoint_state(self, cap: str) -> tuple[bool | None, str]:
        if cap in self.unavailable:
            return False, "this incident.io server does not offer it through the API yet"
        if cap in self.known_available:
            return True, ""
        return None, "not checked yet: it will be tried, and hidden if the server lacks it"

    def _build_capabilities(self, identity: Identity | None) -> Capabilities:
        def combine(action: str, *states: tuple[bool | None, str]) -> Capability:
            values = [s[0] for s in states]
            reasons = [s[1] for s in states if s[1]]
            if False in values:
                reasons = [s[1] for s in states if s[0] is False]
                return Capability(action, False, "; ".join(reasons))
            available = None if None in values else True
            return Capability(action, available, "; ".join(reasons))

        def role(op: str) -> tuple[bool | None, str]:
            return self._role_state(identity, OPERATIONS[op].roles)

        respond = self._endpoint_state(CAP_RESPOND)
        acting: tuple[bool | None, str]
        note: tuple[bool | None, str]
        if self.act_as_user_id and "escalations.respond" in self.act_as_refused:
            acting = (False, f"incident.io refused {ACT_AS_HEADER} on responses to pages")
        elif self.act_as_user_id:
            acting = self._role_state(identity, (ACT_AS_ROLE,))
        else:
            acting = (False, "declining needs the dashboard to act as you (no user configured)")
        timeline = self._endpoint_state(CAP_TIMELINE_ITEMS)
        updates = self._endpoint_state(CAP_INCIDENT_UPDATES_CREATE)
        if timeline[0] is False and updates[0] is False:
            note = (False, "this incident.io server has no API for incident notes")
        elif timeline[0] is True or updates[0] is True:
            note = (True, "")
        elif timeline[0] is False:
            note = (None, "no timeline endpoint; notes go out as incident updates, if offered")
        else:
            note = (None, timeline[1])
        if updates[0] is False:
            update = (True, "status and severity change without a message (edit only)")
        else:
            update = (True, "")
        actions = (
            combine("ack", role("escalations.respond"), respond),
            combine("snooze", role("escalations.respond"), respond),
            combine("nack", role("escalations.respond"), respond, acting),
            combine("escalate", role("escalations.create")),
            combine("reassign", role("escalations.reassign"), self._endpoint_state(CAP_REASSIGN)),
            combine("override", role("overrides.create")),
            combine("resolve_alert", role("alerts.resolve")),
            combine("declare", role("incidents.create")),
            combine("note", role("timeline_items.create"), note),
            combine("update", role("incidents.edit"), update),
        )
        return Capabilities(
            identity=identity,
            actions=actions,
            unavailable_endpoints=frozenset(self.unavailable),
        )


# ------------------------------------------------------------------ small helpers


def _one_of(name: str, values: Sequence[str] | None) -> list[tuple[str, str]]:
    """A deepObject filter: ``name[one_of]=a&name[one_of]=b``."""
    return [(f"{name}[one_of]", v) for v in values or () if v]


def _user_reference(user: User | str) -> dict[str, str]:
    if isinstance(user, User):
        return {"id": user.id}
    text = user.strip()
    if not text:
        raise InvalidRequest("no user given for the override", source=SOURCE)
    if text.upper() == NOBODY_ID:
        return {"id": NOBODY_ID}
    if "@" in text:
        return {"email": text}
    return {"id": text}


def _check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidRequest("the override must end after it starts", source=SOURCE)


def _refuses_acting(exc: ApiError) -> bool:
    """Does this refusal look like one of acting on a person's behalf? A 403 (the key may
    lack the scope for it), or a 400/422 that names the header or the scope."""
    if isinstance(exc, AuthError) and exc.status == 403:
        return True
    words = " ".join([exc.message, *(f"{e.field} {e.message}" for e in exc.errors)]).lower()
    return ACT_AS_HEADER.lower() in words or "behalf" in words


def _shift_key(shift: Shift) -> tuple[Any, ...]:
    if shift.fingerprint:
        return ("fp", shift.fingerprint)
    return (
        shift.rotation_id,
        shift.layer_id,
        shift.start,
        shift.end,
        shift.user.id if shift.user else None,
        shift.entry_id,
    )


def _with_kind(shift: Shift, kind: str) -> Shift:
    return replace(shift, kind=kind)


__all__ = [
    "ACTIONS",
    "DEFAULT_BASE_URL",
    "NEWER_ENDPOINTS",
    "OPERATIONS",
    "AccessDenied",
    "Capabilities",
    "Capability",
    "CapabilityUnavailable",
    "IncidentIoClient",
    "Operation",
    "format_datetime",
    "normalise_incident_ref",
    "parse_datetime",
]
