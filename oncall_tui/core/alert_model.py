"""What a row of the alert list is: its states and kinds, link states, severity names, the
row and filter records, and the facts of a page (whom it reaches, its urgency, severity and
next level)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from oncall_tui.core import paging, timefmt
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RUNBOOK,
    PAGE_PENDING_REPEAT,
    PAGE_TRIGGERED,
    SEVERITY_ORDER,
    Alert,
    EscalationPath,
    Link,
    Page,
    User,
)

STATE_TRIGGERED = PAGE_TRIGGERED  # a page that is paging people
PAGING_STATUSES = (PAGE_TRIGGERED, PAGE_PENDING_REPEAT)


STATE_FIRING = "firing"  # an alert that is firing and not handled


STATE_PENDING = "pending"  # a Grafana rule pending, or a page in its grace period


STATE_ACKED = "acked"


STATE_SNOOZED = "snoozed"


STATE_SILENCED = "silenced"


STATE_RESOLVED = "resolved"


HANDLED_STATES = frozenset({STATE_ACKED, STATE_SNOOZED, STATE_SILENCED})


CLOSED_STATES = frozenset({STATE_RESOLVED, "expired", "cancelled"})


LINK_OK = "ok"


LINK_MISSING = "missing"


LINK_REFUSED = "refused"


LINK_UNKNOWN = "unknown"  # a page whose alerts we do not have


KIND_PAGE = "page"


KIND_ALERT = "alert"


_SEVERITY_ALIASES = {
    "crit": "critical",
    "p1": "critical",
    "sev1": "critical",
    "urgent": "critical",
    "emergency": "critical",
    "page": "critical",
    "p2": "major",
    "sev2": "major",
    "error": "major",
    "p3": "warning",
    "sev3": "warning",
    "medium": "warning",
    "warn": "warning",
    "p4": "low",
    "sev4": "low",
    "p5": "info",
    "none": "info",
}


def normalise_severity(value: str) -> str:
    """Lower-case a severity and map common aliases ("P1", "crit", "warn") onto
    :data:`~oncall_tui.domain.SEVERITY_ORDER`; unknown text is kept (lower-cased)."""
    text = (value or "").strip().lower()
    if not text:
        return ""
    if text in SEVERITY_ORDER:
        return text
    head = text.split()[0].rstrip(":-")
    if head in _SEVERITY_ALIASES:
        return _SEVERITY_ALIASES[head]
    if head in SEVERITY_ORDER:
        return head
    return _SEVERITY_ALIASES.get(text, text)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What the user has asked the alert list to show."""

    query: str = ""  # words, all of which must appear in title/source/labels/severity
    mine_only: bool = False
    hide_acked: bool = False  # also hides snoozed and silenced rows
    critical_only: bool = False
    include_resolved: bool = False

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.query.casefold().split())


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One row of the pages-and-alerts table. Times are absolute so a row only changes
    when its data does; format ages with :mod:`timefmt` when drawing."""

    key: str  # stable id: "page:<id>" or "alert:<group token>"
    kind: str  # page | alert
    mine: bool
    title: str
    source: str
    severity: str  # normalised ("critical", …) or as the source said
    urgency: int  # 0 most urgent; severity rank
    critical: bool
    state: str  # triggered | firing | pending | acked | snoozed | silenced | resolved | …
    started_at: datetime  # earliest start in the group
    latest_at: datetime  # latest start in the group (newest duplicate)
    count: int = 1
    level: int | None = None  # escalation level reached (1-based)
    levels: int | None = None  # levels on the path
    next_level_at: datetime | None = None  # when it moves up unless acked
    runbook: str = LINK_UNKNOWN  # ok | missing | refused | unknown
    dashboard: str = LINK_UNKNOWN
    page_ids: tuple[str, ...] = ()
    alert_keys: tuple[str, ...] = ()
    went: str = ""  # a page that paged me and is no longer mine: where it is now
    source_key: str = ""  # the Grafana/Alertmanager alert behind it (core.linking)
    source_state: str = ""  # that alert's state: firing | silenced | pending | …
    matched_by: str = ""  # the rule that linked it: deduplication key | source link | …
    resolved_at: datetime | None = None  # a recently resolved trace: when it ended

    @property
    def section(self) -> int:
        """0: pages that reach me, 1: other pages, 2: alerts."""
        if self.kind == KIND_PAGE:
            return 0 if self.mine else 1
        return 2

    def age(self, now: datetime) -> str:
        return timefmt.ago(self.started_at, now)

    def next_level_in(self, now: datetime) -> str:
        """ "in 3m" until the next level, "" when none is due."""
        if self.next_level_at is None:
            return ""
        return timefmt.countdown(self.next_level_at, now)


ROW_CELLS: tuple[str, ...] = tuple(f.name for f in fields(AlertRow) if f.name != "key")


def page_reaches_me(page: Page, path: EscalationPath | None, me: User | None) -> bool:
    """The page is mine now: paging me (its latest round names me), or acked by me.
    After I decline, or once it moves past my level, it is not (see
    :mod:`oncall_tui.core.paging`)."""
    return paging.is_mine(page, path, me)


def path_summary(path: EscalationPath) -> str:
    """What a path offers in a few words: "3 levels", or for a path built from a template
    (incident.io lists no levels for it) "from a template; on call now: Ana, Bo". Never
    "0 levels"."""
    responders = ", ".join(u.name or u.email or u.id for u in path.current_responders[:4])
    if len(path.current_responders) > 4:
        responders += f" and {len(path.current_responders) - 4} more"
    now = f"on call now: {responders}" if responders else "no one on call now"
    if path.levels:
        n = len(path.levels)
        return f"{n} level{'s' if n != 1 else ''}"
    if path.templated:
        return f"from a template; {now}"
    return f"levels not listed; {now}"


def page_urgency(page: Page) -> str:
    """The urgency of the latest event that carries one ("high"/"low"), else ""."""
    for event in sorted(page.events, key=lambda e: e.occurred_at, reverse=True):
        if event.urgency:
            return event.urgency.lower()
    return ""


def page_severity(page: Page) -> str:
    """The page's priority as a severity; without a priority, high urgency is "high"
    and low urgency "low"."""
    sev = normalise_severity(page.priority)
    if sev:
        return sev
    urgency = page_urgency(page)
    if urgency == "high":
        return "high"
    if urgency == "low":
        return "low"
    return ""


def escalation_next_at(page: Page, path: EscalationPath | None) -> datetime | None:
    """When the page moves to the next level of its path unless someone acks.

    Counted from the latest ``notified_users`` event (or ``triggered``, or the page's
    creation) plus that level's time-to-ack. None when acked/closed, on the last level,
    or when the path or its time-to-ack is unknown.
    """
    if page.status not in PAGING_STATUSES or path is None or not path.levels:
        return None
    level = page.level
    if level >= len(path.levels):
        return None
    tta = path.levels[level - 1].time_to_ack_seconds
    if tta is None or tta < 0:
        return None
    base = page.created_at
    for event in page.events:
        if event.event in ("notified_users", "triggered") and event.occurred_at > base:
            base = event.occurred_at
    return base + timedelta(seconds=tta)


def _one_link_state(link: Link | None) -> str:
    if link is None:
        return LINK_MISSING
    if link.url is not None:
        return LINK_OK
    if link.problem and link.problem.startswith("refused"):
        return LINK_REFUSED
    return LINK_MISSING


_LINK_RANK = {LINK_OK: 0, LINK_REFUSED: 1, LINK_MISSING: 2, LINK_UNKNOWN: 3}


_LINK_NAMES = (LINK_OK, LINK_REFUSED, LINK_MISSING, LINK_UNKNOWN)


def alert_link_states(alert: Alert) -> tuple[str, str]:
    """(runbook, dashboard) markers of an alert: "ok", "refused" or "missing".

    A Grafana panel link counts as the dashboard when it is better than the dashboard
    link (or there is none). One pass over the links, no allocation per missing link.
    """
    runbook = dashboard = panel = None
    for link in alert.links:
        kind = link.kind
        if kind == LINK_RUNBOOK:
            if runbook is None:
                runbook = link
        elif kind == LINK_DASHBOARD:
            if dashboard is None:
                dashboard = link
        elif kind == LINK_PANEL and panel is None:
            panel = link
    dash = _one_link_state(dashboard)
    if dash != LINK_OK and panel is not None:
        other = _one_link_state(panel)
        if _LINK_RANK[other] < _LINK_RANK[dash]:
            dash = other
    return _one_link_state(runbook), dash
