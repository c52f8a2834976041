"""incident.io payloads to domain objects: tolerant of unknown fields and values, never
trusting the bytes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from oncall_tui.backends.http import (
    InvalidRequest,
    MalformedResponse,
)
from oncall_tui.backends.incidentio.operations import SOURCE
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_RUNBOOK,
    LINK_SOURCE,
    NOBODY,
    NOBODY_ID,
    SHIFT_FINAL,
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
    Severity,
    Shift,
    TimelineItem,
    User,
)
from oncall_tui.safety import clean_long_text, clean_text, openable_url


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


def parse_actor_user_id(o: _Obj | None) -> str:
    """The id of the user an actor is ("" for an API key, a workflow or an alert)."""
    user = o.opt_obj("user") if o is not None else None
    return user.text("id", limit=200, required=False) if user is not None else ""


def parse_identity(o: _Obj) -> Identity:
    return Identity(
        name=o.text("name", limit=200, required=False),
        roles=o.strs("roles", limit=100),
        dashboard_url=openable_url(o.data.get("dashboard_url"))[0],
        team_roles=o.strs("team_roles", limit=100),
        teams=tuple(t.text("name", limit=200, required=False) for t in o.objs("teams")),
    )


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
        creator_id=parse_actor_user_id(o.opt_obj("creator")),
    )


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


def _one_of(name: str, values: Sequence[str] | None) -> list[tuple[str, str]]:
    """A deepObject filter: ``name[one_of]=a&name[one_of]=b``."""
    return [(f"{name}[one_of]", v) for v in values or () if v]
