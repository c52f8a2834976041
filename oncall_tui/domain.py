"""Plain data shared by every layer.

Frozen dataclasses, no behaviour beyond small derived properties. Backends parse API
payloads into these (tolerating unknown fields and enum values); the core computes
views from them; the UI renders them. Text fields hold already-cleaned, inert text
(see :mod:`oncall_tui.safety`). Times are timezone-aware UTC ``datetime`` objects.

Enumerations from the APIs are kept as plain strings, because incident.io and Grafana
add values without notice. The ``KNOWN_*`` tuples list the values this version knows;
anything else is shown as it came.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

# --------------------------------------------------------------------------- people


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    email: str | None = None
    slack_user_id: str | None = None

    @property
    def is_nobody(self) -> bool:
        return self.id == NOBODY_ID


NOBODY_ID = "NOBODY"
NOBODY = User(id=NOBODY_ID, name="No one")


@dataclass(frozen=True, slots=True)
class Identity:
    """What the API key can do (``/v1/identity``)."""

    name: str
    roles: tuple[str, ...] = ()
    dashboard_url: str | None = None
    team_roles: tuple[str, ...] = ()  # roles that apply only to the teams below
    teams: tuple[str, ...] = ()  # names of the teams a team-scoped key belongs to


# ------------------------------------------------------------------------ schedules


@dataclass(frozen=True, slots=True)
class Layer:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Rotation:
    id: str
    name: str
    layers: tuple[Layer, ...] = ()
    users: tuple[User, ...] = ()
    effective_from: datetime | None = None
    handover: str = ""  # e.g. "weekly", "every 2 days"
    working_hours: str = ""  # e.g. "Mon-Fri 09:00-17:00"


SHIFT_FINAL = "final"
SHIFT_SCHEDULED = "scheduled"
SHIFT_OVERRIDE = "override"


@dataclass(frozen=True, slots=True)
class Shift:
    """A user (or nobody) holding one layer of one rotation for a window.

    ``layer_id`` is "" when it cannot be told: incident.io's entries name only their
    rotation (2.29.0 schema); see :meth:`Schedule.layer_of`.
    """

    schedule_id: str
    rotation_id: str
    layer_id: str
    start: datetime
    end: datetime
    user: User | None = None
    kind: str = SHIFT_FINAL
    entry_id: str | None = None  # set for stored records such as overrides
    fingerprint: str | None = None

    @property
    def is_override(self) -> bool:
        return self.kind == SHIFT_OVERRIDE or self.entry_id is not None

    @property
    def uncovered(self) -> bool:
        return self.user is None or self.user.is_nobody

    def covers(self, t: datetime) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True)
class ScheduleEntries:
    """``/v2/schedule_entries`` for one schedule and window, the three lists kept apart."""

    schedule_id: str
    window_start: datetime
    window_end: datetime
    final: tuple[Shift, ...] = ()
    scheduled: tuple[Shift, ...] = ()
    overrides: tuple[Shift, ...] = ()


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    name: str
    timezone: str = "UTC"
    permalink: str | None = None
    team_ids: tuple[str, ...] = ()
    rotations: tuple[Rotation, ...] = ()
    current_shifts: tuple[Shift, ...] = ()
    next_shifts: tuple[Shift, ...] = ()

    def layer_of(self, rotation_id: str, layer_id: str = "") -> str:
        """The layer a shift is on, or "" when it cannot be told.

        incident.io's schedule entries (2.29.0 schema) name only the rotation, not the
        layer; an override must name both. A shift that names its layer keeps it; else,
        when the rotation has exactly one layer, it is that one. A rotation with several
        layers does not say which of its users holds which layer, so "" then: the caller
        must refuse, never guess.
        """
        if layer_id:
            return layer_id
        for rotation in self.rotations:
            if rotation.id == rotation_id:
                ids = {layer.id for layer in rotation.layers if layer.id}
                return next(iter(ids)) if len(ids) == 1 else ""
        return ""

    def why_no_layer(self, rotation_id: str) -> str:
        """In words, why :meth:`layer_of` could not tell a shift's layer."""
        for rotation in self.rotations:
            if rotation.id == rotation_id:
                count = len({layer.id for layer in rotation.layers if layer.id})
                if count == 0:
                    return f"the rotation {rotation.name or rotation.id} lists no layers"
                return (
                    f"the rotation {rotation.name or rotation.id} has {count} layers and "
                    "incident.io does not say which one this shift is on"
                )
        return f"the schedule {self.name} has no rotation {rotation_id or '(none named)'}"

    def with_layers(self, shifts: tuple[Shift, ...]) -> tuple[Shift, ...]:
        """``shifts`` with each missing layer filled in where :meth:`layer_of` can."""
        out = []
        for shift in shifts:
            if not shift.layer_id:
                layer_id = self.layer_of(shift.rotation_id)
                if layer_id:
                    shift = replace(shift, layer_id=layer_id)
            out.append(shift)
        return tuple(out)

    def layer_name(self, rotation_id: str, layer_id: str) -> str:
        for rotation in self.rotations:
            if rotation.id == rotation_id:
                for layer in rotation.layers:
                    if layer.id == layer_id:
                        if len(rotation.layers) == 1 or layer.name == rotation.name:
                            return rotation.name
                        return f"{rotation.name} / {layer.name}"
                return rotation.name
        return layer_id or rotation_id or "?"


@dataclass(frozen=True, slots=True)
class Override:
    id: str
    schedule_id: str
    rotation_id: str
    layer_id: str
    start: datetime
    end: datetime
    user: User | None = None
    created_at: datetime | None = None


# ----------------------------------------------------------------------- escalation

# A page that is paging people now (its status); the rows of the alert list say the same.
PAGE_TRIGGERED = "triggered"
PAGE_PENDING_REPEAT = "pending_repeat"  # paging again after a snooze or a repeat

KNOWN_PAGE_STATUSES = (
    "pending",
    PAGE_TRIGGERED,
    "acked",
    "resolved",
    "expired",
    "cancelled",
    "snoozed",
    "delayed",
    PAGE_PENDING_REPEAT,
)
OPEN_PAGE_STATUSES = (
    "pending",
    PAGE_TRIGGERED,
    "acked",
    "snoozed",
    "delayed",
    PAGE_PENDING_REPEAT,
)


@dataclass(frozen=True, slots=True)
class EscalationTarget:
    type: str  # user | schedule | slack_channel | msteams_channel | …
    id: str
    name: str = ""
    urgency: str = "high"


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    targets: tuple[EscalationTarget, ...]
    time_to_ack_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class EscalationPath:
    """An escalation path. A ``templated`` one is built from an escalation path template:
    incident.io then lists no levels for it (an empty ``path``), only the template and the
    values bound to its parameters, so ``levels`` is empty and must not read as "0 levels".
    """

    id: str
    name: str
    levels: tuple[EscalationLevel, ...] = ()
    current_responders: tuple[User, ...] = ()
    team_ids: tuple[str, ...] = ()
    kind: str = "standalone"  # standalone | templated | whatever incident.io adds later
    template_id: str | None = None
    bound_ids: tuple[str, ...] = ()  # literal ids bound to a template's parameters

    @property
    def templated(self) -> bool:
        return self.kind == "templated" or (self.template_id is not None and not self.levels)


@dataclass(frozen=True, slots=True)
class PageEvent:
    id: str
    event: str  # triggered | notified_users | acked | …
    occurred_at: datetime
    users: tuple[User, ...] = ()
    channels: tuple[str, ...] = ()
    urgency: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """An incident.io escalation: someone is being paged."""

    id: str
    title: str
    status: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    priority: str = ""
    path_id: str | None = None
    events: tuple[PageEvent, ...] = ()
    alert_ids: tuple[str, ...] = ()
    incident_ids: tuple[str, ...] = ()
    creator: str = ""
    creator_id: str = ""  # the creating user's id ("" for an API key, workflow or alert)

    @property
    def is_open(self) -> bool:
        return self.status not in ("resolved", "expired", "cancelled")

    @property
    def notified_user_ids(self) -> frozenset[str]:
        return frozenset(u.id for e in self.events if e.event == "notified_users" for u in e.users)

    @property
    def level(self) -> int:
        """1-based level reached: one per ``triggered``/``notified_users`` round."""
        rounds = sum(1 for e in self.events if e.event == "notified_users")
        return max(1, rounds)


# --------------------------------------------------------------------------- alerts

SOURCE_INCIDENT_IO = "incident.io"
SOURCE_GRAFANA = "grafana"
SOURCE_ALERTMANAGER = "alertmanager"

# Alert states across sources; incident.io alerts are only firing/resolved, an
# Alertmanager alert can be active/suppressed/unprocessed and silenced or inhibited.
ALERT_FIRING = "firing"
ALERT_RESOLVED = "resolved"
ALERT_SILENCED = "silenced"
ALERT_INHIBITED = "inhibited"
ALERT_PENDING = "pending"

# Normalised severities, most urgent first. Anything else is kept as text and sorts last.
SEVERITY_ORDER = ("critical", "major", "high", "warning", "minor", "low", "info")


def severity_rank(severity: str) -> int:
    """0 for the most urgent; unknown severities after every known one."""
    try:
        return SEVERITY_ORDER.index(severity.lower())
    except ValueError:
        return len(SEVERITY_ORDER)


LINK_RUNBOOK = "runbook"
LINK_DASHBOARD = "dashboard"
LINK_PANEL = "panel"
LINK_RULE = "rule"
LINK_SOURCE = "source"
LINK_SILENCE = "silence"
LINK_INCIDENT = "incident"


@dataclass(frozen=True, slots=True)
class Link:
    """A link an alert carries, or the reason it cannot be opened.

    ``url`` is set only for absolute http(s) links. ``problem`` says "missing" when the
    alert has none, or "refused: …" when it had one we will not open.
    """

    kind: str
    url: str | None = None
    problem: str | None = None
    label: str = ""

    @property
    def ok(self) -> bool:
        return self.url is not None


@dataclass(frozen=True, slots=True)
class Alert:
    """One shape for an alert from any source.

    ``key`` is unique across sources (``"{source}:{instance}:{id}"``) and is what the UI
    keys rows by. ``id`` is the source's own id (incident.io ULID, Alertmanager
    fingerprint).
    """

    key: str
    id: str
    source: str  # incident.io | grafana | alertmanager
    instance: str  # config name of the Grafana/Alertmanager instance, "" for incident.io
    title: str
    state: str
    severity: str
    started_at: datetime
    description: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    links: tuple[Link, ...] = ()
    resolved_at: datetime | None = None
    updated_at: datetime | None = None
    silenced_by: tuple[str, ...] = ()
    fingerprint: str = ""
    dedup_key: str = ""
    rule_uid: str | None = None  # Grafana-managed rule
    expression: str | None = None  # Prometheus expression behind the alert

    @property
    def source_label(self) -> str:
        return f"{self.source}:{self.instance}" if self.instance else self.source

    def link(self, kind: str) -> Link:
        for link in self.links:
            if link.kind == kind:
                return link
        return Link(kind=kind, problem="missing")

    def label(self, name: str, default: str = "") -> str:
        for key, value in self.labels:
            if key == name:
                return value
        return default


@dataclass(frozen=True, slots=True)
class AlertNote:
    id: str
    alert_id: str
    content: str
    author: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AlertSource:
    """Where incident.io alerts come from (``/v2/alert_sources``); never carries the token."""

    id: str
    name: str
    source_type: str  # http | alertmanager | grafana | datadog | … (unknown kept)


@dataclass(frozen=True, slots=True)
class IncidentAlert:
    """An alert attached to an incident (``/v2/incident_alerts``)."""

    id: str
    alert_id: str
    alert_title: str
    alert_status: str
    incident_id: str
    incident_reference: str
    incident_name: str
    incident_status_category: str = ""  # triage | active | post-incident | closed | …
    alert_route_id: str | None = None


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[tuple[str, str, bool, bool], ...]  # name, value, is_regex, is_equal
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str  # active | pending | expired


@dataclass(frozen=True, slots=True)
class Threshold:
    """The condition of an alert rule: the metric fires when it is ``op`` ``value``
    (``op`` one of > >= < <=), or ``outside``/``within`` ``value``..``upper``."""

    op: str
    value: float
    upper: float | None = None

    def breached(self, v: float) -> bool:
        op, a, b = self.op, self.value, self.upper if self.upper is not None else self.value
        if op == ">":
            return v > a
        if op == ">=":
            return v >= a
        if op == "<":
            return v < a
        if op == "<=":
            return v <= a
        if op == "outside":
            return v < a or v > b
        if op == "within":
            return a < v < b
        return False

    @property
    def levels(self) -> tuple[float, ...]:
        return (self.value,) if self.upper is None else (self.value, self.upper)


@dataclass(frozen=True, slots=True)
class Series:
    """A metric over time for a sparkline. ``points`` are (UTC time, value); ``start`` and
    ``end`` the window asked for; ``threshold`` the rule's condition, where it has one."""

    name: str
    points: tuple[tuple[datetime, float], ...] = ()
    unit: str = ""
    start: datetime | None = None
    end: datetime | None = None
    threshold: Threshold | None = None


@dataclass(frozen=True, slots=True)
class Trend:
    """A series summarised in words a person reads at 3 a.m."""

    peak: float
    now: float
    low: float
    direction: str  # rising | falling | flat | unknown
    words: str  # "falling, 40% below peak"


# ------------------------------------------------------------------------ incidents

STATUS_CATEGORIES = (
    "triage",
    "live",
    "learning",
    "paused",
    "closed",
    "declined",
    "canceled",
    "merged",
)
OPEN_STATUS_CATEGORIES = ("triage", "live")
# The incidents the incident screen lists, in this order: open, paused, post-incident.
LISTED_STATUS_CATEGORIES = ("triage", "live", "paused", "learning")
MAX_LISTED_INCIDENTS = 500


@dataclass(frozen=True, slots=True)
class Severity:
    id: str
    name: str
    rank: int = 0
    description: str = ""


@dataclass(frozen=True, slots=True)
class IncidentStatus:
    id: str
    name: str
    category: str
    rank: int = 0


@dataclass(frozen=True, slots=True)
class IncidentRole:
    id: str
    name: str
    role_type: str = ""  # lead | reporter | custom
    shortform: str = ""


@dataclass(frozen=True, slots=True)
class IncidentType:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    role: IncidentRole
    assignee: User | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    reference: str
    name: str
    status: IncidentStatus
    created_at: datetime
    updated_at: datetime
    summary: str = ""
    severity: Severity | None = None
    type: IncidentType | None = None
    visibility: str = "public"
    mode: str = "standard"
    permalink: str | None = None
    call_url: str | None = None
    slack_channel_id: str | None = None
    slack_channel_name: str | None = None
    roles: tuple[RoleAssignment, ...] = ()
    creator: str = ""

    @property
    def lead(self) -> User | None:
        for assignment in self.roles:
            if assignment.role.role_type == "lead":
                return assignment.assignee
        return None

    def roles_of(self, user_id: str) -> tuple[str, ...]:
        return tuple(
            a.role.name for a in self.roles if a.assignee is not None and a.assignee.id == user_id
        )


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    id: str
    incident_id: str
    created_at: datetime
    new_status: IncidentStatus | None = None
    new_severity: Severity | None = None
    message: str = ""
    author: str = ""


@dataclass(frozen=True, slots=True)
class TimelineItem:
    id: str
    incident_id: str
    timestamp: datetime
    title: str
    description: str = ""
    author: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RoleChange:
    """Someone took (or left) an incident role, e.g. the lead handed over."""

    at: datetime
    role: str  # role name as shown, e.g. "Incident Lead"
    assignee: User | None = None  # None: the role was left empty
    previous: User | None = None
    author: str = ""
    id: str = ""


TIMELINE_UPDATE = "update"
TIMELINE_NOTE = "note"
TIMELINE_PAGE = "page"
TIMELINE_ALERT = "alert"
TIMELINE_ROLE = "role"
TIMELINE_CREATED = "created"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of the merged incident timeline."""

    at: datetime
    kind: str
    text: str
    author: str = ""
    detail: str = ""
    pending: bool = False
    ref: str = ""  # id of the underlying object, or the outbox key while pending
    state: str = ""  # for local writes: the outbox state (pending, failed, needs_attention, …)


# ------------------------------------------------------------------------ the world


@dataclass(frozen=True, slots=True)
class FeedClock:
    """When one feed of a source last answered, and when its data turns stale (two
    poll intervals after that, decided by the polling engine)."""

    name: str  # the feed, e.g. "incident.io pages"
    last_ok: datetime | None = None
    stale_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """How fresh one data source is.

    ``feeds`` carry each feed's clock, so whether the source is stale can be told at any
    moment (:meth:`is_stale`) without asking the engine again. ``pace`` says why polls
    are slower than configured ("12% of the shared rate limit left; polling every 60 s"),
    and ``rate`` how much of the shared budget this dashboard uses (for ``w``).
    """

    name: str
    last_ok: datetime | None = None
    last_attempt: datetime | None = None
    error: str | None = None
    failures: int = 0
    next_poll: datetime | None = None
    unavailable: tuple[str, ...] = ()  # capabilities this source lacks
    feeds: tuple[FeedClock, ...] = ()
    pace: str | None = None
    rate: str | None = None

    def age_seconds(self, now: datetime) -> float | None:
        if self.last_ok is None:
            return None
        return (now - self.last_ok).total_seconds()

    def stale_feeds(self, now: datetime) -> tuple[FeedClock, ...]:
        """The feeds with data that has had no answer for two poll intervals."""
        return tuple(f for f in self.feeds if f.stale_at is not None and now >= f.stale_at)

    def is_stale(self, now: datetime) -> bool:
        return bool(self.stale_feeds(now))

    def stale_since(self, now: datetime) -> datetime | None:
        """The oldest last answer among the stale feeds (None when nothing is stale)."""
        times = [f.last_ok for f in self.stale_feeds(now) if f.last_ok is not None]
        return min(times) if times else None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the dashboard knows at one moment. Replaced whole on each change."""

    at: datetime
    me: User | None = None
    schedules: tuple[Schedule, ...] = ()
    shifts: tuple[Shift, ...] = ()  # final entries for a window around now, all schedules
    pages: tuple[Page, ...] = ()
    alerts: tuple[Alert, ...] = ()
    incidents: tuple[Incident, ...] = ()
    paths: tuple[EscalationPath, ...] = ()
    health: tuple[SourceHealth, ...] = ()
    pending_writes: int = 0
    capabilities: frozenset[str] = field(default_factory=frozenset)
    # What a feed wants the user to know about its data, in words ("1,000 incident.io
    # alerts so far, more loading"), by feed.
    notices: tuple[str, ...] = ()
    # Some of what is shown comes from the cache of the last run, written then; None once
    # every feed has answered.
    cached_from: datetime | None = None
    # Everyone known by the data above (shift holders, path responders, rotation
    # members), by name: see :func:`index_people`. Computed once per snapshot.
    people: tuple[User, ...] = ()

    def person(self, user_id: str) -> User | None:
        return next((u for u in self.people if u.id == user_id), None)

    def others(self) -> tuple[User, ...]:
        """Everyone known but me: whom I can escalate to, shadow or ask for cover."""
        return but_me(self.people, self.me)


# ------------------------------------------------------------------------ people index


def index_people(
    shifts: Iterable[Shift] = (),
    paths: Iterable[EscalationPath] = (),
    schedules: Iterable[Schedule] = (),
    users: Iterable[User] = (),
) -> tuple[User, ...]:
    """Everyone these know of, once each, by name: whoever holds a shift, the paths'
    current responders, the rotations' members and any ``users`` given (never the
    NOBODY placeholder)."""
    seen: dict[str, User] = {}
    every = [s.user for s in shifts if s.user is not None]
    every += [u for p in paths for u in p.current_responders]
    every += [u for s in schedules for r in s.rotations for u in r.users]
    every += list(users)
    for user in every:
        if not user.is_nobody:
            seen.setdefault(user.id, user)
    return tuple(sorted(seen.values(), key=lambda u: u.name.casefold()))


def but_me(people: Iterable[User], me: User | None) -> tuple[User, ...]:
    return tuple(u for u in people if me is None or u.id != me.id)


@dataclass(frozen=True, slots=True)
class NotificationMethod:
    """One way incident.io can reach a person (the app, a phone, email…)."""

    id: str
    method_type: str  # app | email | microsoft_teams | phone | slack | whatsapp_message | …
    address: str
    is_usable: bool


@dataclass(frozen=True, slots=True)
class NotificationRule:
    """When a page reaches a person's methods: ``target_id`` is one method, or None for
    every method of ``method_type``; ``channel`` is sms or voice for a phone."""

    id: str
    method_type: str
    urgency: str  # high_urgency | low_urgency | …
    delay_seconds: int
    target_id: str | None
    channel: str = ""
