"""The alert list: pages and alerts as rows (grouped, filtered, sorted), and what changed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from oncall_tui.core import paging, timefmt
from oncall_tui.domain import (
    ALERT_FIRING,
    ALERT_INHIBITED,
    ALERT_PENDING,
    ALERT_RESOLVED,
    ALERT_SILENCED,
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RUNBOOK,
    PAGE_PENDING_REPEAT,
    PAGE_TRIGGERED,
    SEVERITY_ORDER,
    SOURCE_INCIDENT_IO,
    Alert,
    EscalationPath,
    Link,
    Page,
    User,
    severity_rank,
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


_severity_cache: dict[str, tuple[str, int]] = {}


def _severity_of(value: str) -> tuple[str, int]:
    hit = _severity_cache.get(value)
    if hit is None:
        severity = normalise_severity(value)
        hit = (severity, severity_rank(severity))
        if len(_severity_cache) < 1024:  # bounded: severities are a handful of words
            _severity_cache[value] = hit
    return hit


class _Entry:
    """Per-alert facts computed once (search key, title token, ranks). An entry is shared
    by the next :class:`AlertIndex` when its alert comes back with the same facts."""

    __slots__ = (
        "alert",
        "aliases",
        "dashboard",
        "label",
        "page_key",
        "rank",
        "runbook",
        "search",
        "severity",
        "started",
        "state",
        "token",
    )

    def __init__(self, alert: Alert, source_label: str) -> None:
        self.alert = alert
        self.label = source_label
        self.token = _title_token(source_label, alert.title)
        aliases = []
        if alert.fingerprint:
            aliases.append("f\x1f" + alert.fingerprint)
        if alert.dedup_key:
            aliases.append("d\x1f" + source_label + "\x1f" + alert.dedup_key)
        self.aliases = tuple(aliases)
        self.started = alert.started_at
        self.severity, self.rank = _severity_of(alert.severity)
        self.state = _alert_state(alert)
        runbook, dashboard = alert_link_states(alert)
        self.runbook, self.dashboard = _LINK_RANK[runbook], _LINK_RANK[dashboard]
        parts = [alert.title, source_label, self.severity]
        for name, value in alert.labels:
            parts.append(name + "=" + value)
        self.search = "\n".join(parts).casefold()
        # The alert id a page names, for incident.io alerts (shown by the page's row).
        self.page_key = alert.id if alert.source == SOURCE_INCIDENT_IO else None


def _same_facts(a: Alert, b: Alert) -> bool:
    """True when everything an entry and its row are made of is the same in both (the
    rest, e.g. the description, is read from the alert itself when shown)."""
    return a is b or (
        a.title == b.title
        and a.state == b.state
        and a.severity == b.severity
        and a.started_at == b.started_at
        and a.silenced_by == b.silenced_by
        and a.source == b.source
        and a.instance == b.instance
        and a.id == b.id
        and a.fingerprint == b.fingerprint
        and a.dedup_key == b.dedup_key
        and a.labels == b.labels
        and a.links == b.links
    )


def _alert_state(alert: Alert) -> str:
    state = (alert.state or "").lower()
    if alert.silenced_by or state in (ALERT_SILENCED, ALERT_INHIBITED, "suppressed"):
        return STATE_SILENCED if state != ALERT_RESOLVED else STATE_RESOLVED
    if state in (ALERT_FIRING, "active", "alerting", "unprocessed"):
        return STATE_FIRING
    if state in (ALERT_RESOLVED, "inactive", "normal", "ok"):
        return STATE_RESOLVED
    if state == ALERT_PENDING:
        return STATE_PENDING
    return state or STATE_FIRING


def _title_token(source_label: str, title: str) -> str:
    return source_label + "\x1f" + title.casefold()


def _group_key(token: str) -> str:
    # Hashed: bounded length and no control characters, whatever the title holds.
    return "alert:" + hashlib.blake2b(token.encode("utf-8"), digest_size=10).hexdigest()


def alert_group_key(source_label: str, title: str) -> str:
    """The row key of the group holding alerts from ``source_label`` titled ``title``
    (case-insensitive). When fingerprints join titles, the smallest title token wins."""
    return _group_key(_title_token(source_label, title))


class AlertIndex:
    """Alerts prepared once per refresh so that filtering is cheap on every keystroke.

    Groups duplicates (same source and title, case-insensitive, or the same fingerprint
    or deduplication key) and precomputes lower-case search keys. Build it when the
    alerts change; pass it to :func:`alert_rows` as often as the filter changes.

    ``previous`` (the index of the last refresh) makes a refresh cost what changed:
    alerts that come back with the same facts keep their entries, and groups whose
    members are all kept keep their rows for the same pages, paths and me.
    """

    __slots__ = (
        "_by_key",
        "_context",
        "_group_index",
        "_inherit",
        "_key_of_token",
        "_row_cache",
        "by_alert_id",
        "entries",
        "group_keys",
        "group_members",
        "group_sizes",
        "member_group",
    )
    _by_key: dict[str, _Entry]
    _key_of_token: dict[str, str]

    def __init__(self, alerts: Sequence[Alert], previous: AlertIndex | None = None) -> None:
        old_by_key = previous._by_key if previous is not None else {}
        old_keys = previous._key_of_token if previous is not None else {}
        entries: list[_Entry] = []
        by_key: dict[str, _Entry] = {}
        for alert in alerts:
            entry = old_by_key.get(alert.key)
            if entry is None or not _same_facts(entry.alert, alert):
                entry = _Entry(alert, alert.source_label)
            else:
                entry.alert = alert  # same facts; the rest (description, …) as it is now
            entries.append(entry)
            by_key[alert.key] = entry

        # Alerts with the same title token share a provisional group; a fingerprint or
        # dedup key seen in two provisional groups joins them (union-find, rare).
        parent: list[int] = []
        group_title: list[str] = []
        title_group: dict[str, int] = {}
        alias_group: dict[str, int] = {}

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        provisional: list[int] = []
        for entry in entries:
            token = entry.token
            g = title_group.get(token)
            if g is None:
                g = len(parent)
                parent.append(g)
                group_title.append(token)
                title_group[token] = g
            for alias in entry.aliases:
                other = alias_group.setdefault(alias, g)
                if other != g:
                    x, y = find(other), find(g)
                    if x != y:
                        parent[max(x, y)] = min(x, y)
            provisional.append(g)
        # A group's key is its smallest title token: it does not depend on the order the
        # alerts came in, and it stays put while any member with that title remains.
        root_key: dict[int, str] = {}
        for g, token in enumerate(group_title):
            root = find(g)
            current = root_key.get(root)
            if current is None or token < current:
                root_key[root] = token
        group_of_root: dict[int, int] = {}
        group_keys: list[str] = []
        key_of_token: dict[str, str] = {}
        members_of: list[list[_Entry]] = []
        member_group: list[int] = []
        by_alert_id: dict[str, list[int]] = {}
        for i, entry in enumerate(entries):
            root = find(provisional[i])
            group = group_of_root.get(root)
            if group is None:
                group = len(group_keys)
                group_of_root[root] = group
                token = root_key[root]
                key = old_keys.get(token) or _group_key(token)
                key_of_token[token] = key
                group_keys.append(key)
                members_of.append([entry])
            else:
                members_of[group].append(entry)
            member_group.append(group)
            alert_id = entry.alert.id
            ids = by_alert_id.get(alert_id)
            if ids is None:
                by_alert_id[alert_id] = [i]
            else:
                ids.append(i)
        self.entries = entries
        self.member_group = member_group
        self.group_keys = group_keys
        self.group_members = [tuple(m) for m in members_of]
        self.group_sizes = [len(m) for m in members_of]
        self.by_alert_id = by_alert_id
        self._by_key = by_key
        self._key_of_token = key_of_token
        self._group_index = {key: g for g, key in enumerate(group_keys)}
        # Rows of whole groups (and their sort keys) for one (pages, paths, me): filtering
        # on each keystroke then rebuilds only the groups a filter cuts into.
        self._context: tuple[Any, ...] = ()
        self._row_cache: dict[Any, Any] = {}
        self._inherit: tuple[Any, ...] = ()
        if previous is not None and previous._context:
            self._inherit = (previous, previous._context, previous._row_cache)

    def _rows_for(self, pages: object, paths: object, me: object) -> dict[Any, Any]:
        """The row cache, emptied when the pages, paths or me are other objects. Only
        tuples are trusted to stay as they were; other sequences get a throwaway cache."""
        if not (isinstance(pages, tuple) and isinstance(paths, tuple)):
            return {}
        context = self._context
        if (
            len(context) != 3
            or context[0] is not pages
            or context[1] is not paths
            or context[2] is not me
        ):
            self._context = (pages, paths, me)
            self._row_cache = self._inherited(pages, paths, me)
        return self._row_cache

    def _inherited(self, pages: object, paths: object, me: object) -> dict[Any, Any]:
        """Rows of the previous index for groups whose members are the very same entries
        (same facts), when the pages, paths and me are the same objects too."""
        inherit, self._inherit = self._inherit, ()
        if not inherit:
            return {}
        previous, context, cache = inherit
        if context[0] is not pages or context[1] is not paths or context[2] is not me:
            return {}
        kept: dict[Any, Any] = {}
        old_members = previous.group_members
        old_group_index = previous._group_index
        members = self.group_members
        for group, key in enumerate(self.group_keys):
            old = old_group_index.get(key)
            if old is not None:
                hit = cache.get(old)
                # Entries have no __eq__: tuple equality is identity, member by member.
                if hit is not None and members[group] == old_members[old]:
                    kept[group] = hit
        return kept

    def __len__(self) -> int:
        return len(self.entries)

    def alerts_with_id(self, alert_id: str) -> list[Alert]:
        return [self.entries[i].alert for i in self.by_alert_id.get(alert_id, ())]


def _matches(search: str, terms: tuple[str, ...]) -> bool:
    # A plain loop: this runs once per alert per keystroke, and a generator costs more.
    for term in terms:  # noqa: SIM110
        if term not in search:
            return False
    return True


_STATE_ORDER = {
    STATE_TRIGGERED: 0,
    STATE_FIRING: 0,
    STATE_PENDING: 1,
    "delayed": 1,
    "pending_repeat": 0,
    STATE_SNOOZED: 2,
    STATE_ACKED: 2,
    STATE_SILENCED: 3,
    STATE_RESOLVED: 4,
    "expired": 4,
    "cancelled": 4,
}


def row_sort_key(row: AlertRow) -> tuple[int, int, int, float, str]:
    """Pages that reach me, then other pages, then alerts; within each, by urgency
    (severity), then unhandled before handled, then newest first; the key breaks ties."""
    return (
        row.section,
        row.urgency,
        _STATE_ORDER.get(row.state, 1),
        -row.latest_at.timestamp(),
        row.key,
    )


def alert_rows(
    pages: Sequence[Page],
    alerts: Sequence[Alert] | AlertIndex,
    paths: Sequence[EscalationPath],
    me: User | None,
    filters: AlertFilter = AlertFilter(),
) -> tuple[AlertRow, ...]:
    """The ordered rows of the pages-and-alerts list.

    Pages come first (those that reach me, then others), then alerts grouped by
    duplicates. Each row carries severity, state, escalation level and when it moves
    up, link markers, and a stable key. ``alerts`` may be an :class:`AlertIndex` built
    once per refresh, which makes repeated filtering cheap.
    """
    index = alerts if isinstance(alerts, AlertIndex) else AlertIndex(alerts)
    terms = filters.terms
    # Rows (and sort keys, and a page's search text) that do not depend on the filter are
    # kept in the index for these pages, paths and me, so a keystroke rebuilds only the
    # groups a filter cuts into.
    cache = index._rows_for(pages, paths, me)
    decorated: list[tuple[tuple[Any, ...], AlertRow]] = []

    # --- pages
    alert_page = cache.get("alert_page")
    page_rows = cache.get("pages")
    if alert_page is None or page_rows is None:
        paths_by_id = {p.id: p for p in paths}
        alert_page = {}
        page_rows = []
        for page in pages:
            path = paths_by_id.get(page.path_id) if page.path_id else None
            mine = page_reaches_me(page, path, me)
            if page.is_open:
                for aid in page.alert_ids:
                    alert_page.setdefault(aid, []).append((page, mine, path))
            row = _page_row(page, path, mine, index, paging.where_it_went(page, path, me))
            # A page has no labels of its own: its alerts' titles and labels count.
            parts = [row.title, row.source, row.severity, page.priority]
            for aid in page.alert_ids:
                parts.extend(index.entries[i].search for i in index.by_alert_id.get(aid, ()))
            page_rows.append((row_sort_key(row), row, "\n".join(parts).casefold()))
        cache["alert_page"] = alert_page
        cache["pages"] = page_rows
    for sort_key, row, search in page_rows:
        if _keep(row, filters) and (not terms or _matches(search, terms)):
            decorated.append((sort_key, row))

    # --- alerts, filtered per alert, then aggregated per group
    # Per-alert filters run before grouping so that a row's count is the number of
    # alerts it stands for under the current filter. An incident.io alert that an open
    # page stands for is shown by the page's row (which carries its links and labels),
    # not twice.
    skip_resolved = not filters.include_resolved
    skip_silenced = filters.hide_acked
    critical_only = filters.critical_only
    groups: dict[int, list[_Entry]] = {}
    for entry, group in zip(index.entries, index.member_group, strict=True):
        if alert_page and entry.page_key in alert_page:
            continue
        state = entry.state
        if skip_resolved and state == STATE_RESOLVED:
            continue
        if skip_silenced and state == STATE_SILENCED:
            continue
        if critical_only and entry.rank != 0:
            continue
        if terms:  # _matches, inlined: this runs once per alert per keystroke
            search = entry.search
            missing = False
            for term in terms:
                if term not in search:
                    missing = True
                    break
            if missing:
                continue
        members = groups.get(group)
        if members is None:
            groups[group] = [entry]
        else:
            members.append(entry)
    # A group whose members all passed is the same row whatever the filter: cached.
    sizes = index.group_sizes
    plain = not (filters.mine_only or filters.hide_acked or filters.critical_only)
    closed = () if filters.include_resolved else CLOSED_STATES
    for group, members in groups.items():
        whole = len(members) == sizes[group]
        hit = cache.get(group) if whole else None
        if hit is None:
            made = _group_row(index.group_keys[group], members, alert_page)
            hit = (row_sort_key(made) if made is not None else (), made)
            if whole:
                cache[group] = hit
        grouped: AlertRow | None = hit[1]
        if grouped is None:
            continue
        if plain:
            if grouped.state in closed:
                continue
        elif not _keep(grouped, filters):
            continue
        decorated.append((hit[0], grouped))

    # Sort keys end with the row key, which is unique: rows themselves are never compared.
    decorated.sort(key=_first)
    return tuple(row for _, row in decorated)


def _first(pair: tuple[tuple[Any, ...], AlertRow]) -> tuple[Any, ...]:
    return pair[0]


def _keep(row: AlertRow, filters: AlertFilter) -> bool:
    if filters.mine_only and not row.mine:
        return False
    if filters.hide_acked and row.state in HANDLED_STATES:
        return False
    if filters.critical_only and not row.critical:
        return False
    return not (not filters.include_resolved and row.state in CLOSED_STATES)


def _page_row(
    page: Page, path: EscalationPath | None, mine: bool, index: AlertIndex, went: str = ""
) -> AlertRow:
    severity = page_severity(page)
    rank = severity_rank(severity) if severity else severity_rank("high")
    runbook = dashboard = _LINK_RANK[LINK_UNKNOWN]
    for aid in page.alert_ids:
        for i in index.by_alert_id.get(aid, ()):
            entry = index.entries[i]
            runbook = min(runbook, entry.runbook)
            dashboard = min(dashboard, entry.dashboard)
    state = page.status or STATE_TRIGGERED
    return AlertRow(
        key=f"page:{page.id}",
        kind=KIND_PAGE,
        mine=mine,
        title=page.title,
        source=SOURCE_INCIDENT_IO,
        severity=severity,
        urgency=rank,
        critical=rank == 0 or page_urgency(page) == "high",
        state=state,
        started_at=page.created_at,
        latest_at=page.created_at,
        level=page.level,
        levels=len(path.levels) if path is not None and path.levels else None,
        next_level_at=escalation_next_at(page, path),
        runbook=_LINK_NAMES[runbook],
        dashboard=_LINK_NAMES[dashboard],
        page_ids=(page.id,),
        alert_keys=tuple(a.key for aid in page.alert_ids for a in index.alerts_with_id(aid)),
        went=went,
    )


def _group_row(
    key: str,
    members: list[_Entry],
    alert_page: Mapping[str, list[tuple[Page, bool, EscalationPath | None]]],
) -> AlertRow | None:
    first = members[0]
    rep = first
    rank = first.rank
    severity = first.severity
    started = latest = first.started
    runbook = first.runbook
    dashboard = first.dashboard
    states: set[str] = set()
    labels: set[str] = set()
    for entry in members:
        if entry.rank < rank:
            rank, severity = entry.rank, entry.severity
        t = entry.started
        if t < started:
            started, rep = t, entry
        elif t > latest:
            latest = t
        if entry.runbook < runbook:
            runbook = entry.runbook
        if entry.dashboard < dashboard:
            dashboard = entry.dashboard
        states.add(entry.state)
        labels.add(entry.label)
    # Pages these alerts triggered: they decide "mine", acked/snoozed and the level.
    mine = False
    page_ids: list[str] = []
    page_states: set[str] = set()
    best: tuple[Page, EscalationPath | None] | None = None
    if alert_page:
        for entry in members:
            for page, page_mine, path in alert_page.get(entry.alert.id, ()):
                if page.id in page_ids:
                    continue
                page_ids.append(page.id)
                mine = mine or page_mine
                page_states.add(page.status)
                if best is None or page.level > best[0].level:
                    best = (page, path)
    state = _group_state(states, page_states)
    sources = sorted(labels)
    if len(sources) > 2:
        source = f"{sources[0]}, {sources[1]} +{len(sources) - 2}"
    else:
        source = ", ".join(sources)
    level = levels = next_at = None
    if best is not None:
        page, path = best
        level = page.level
        levels = len(path.levels) if path is not None and path.levels else None
        next_at = escalation_next_at(page, path)
    return AlertRow(
        key=key,
        kind=KIND_ALERT,
        mine=mine,
        title=rep.alert.title,
        source=source,
        severity=severity,
        urgency=rank,
        critical=rank == 0,
        state=state,
        started_at=started,
        latest_at=latest,
        count=len(members),
        level=level,
        levels=levels,
        next_level_at=next_at,
        runbook=_LINK_NAMES[runbook],
        dashboard=_LINK_NAMES[dashboard],
        page_ids=tuple(page_ids),
        alert_keys=tuple(e.alert.key for e in members),
    )


def _group_state(states: set[str], page_states: set[str]) -> str:
    if STATE_FIRING in states:
        if PAGE_TRIGGERED in page_states or PAGE_PENDING_REPEAT in page_states or not page_states:
            return STATE_FIRING
        if STATE_ACKED in page_states:
            return STATE_ACKED
        if STATE_SNOOZED in page_states:
            return STATE_SNOOZED
        return STATE_FIRING
    for state in (STATE_PENDING, STATE_SILENCED, STATE_RESOLVED):
        if state in states:
            return state
    return min(states) if states else STATE_FIRING


@dataclass(frozen=True, slots=True)
class RowDiff:
    """What changed between two row lists, so a table can touch only those cells."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (key, changed cell names)
    order_changed: bool = False
    order: tuple[str, ...] = ()  # the new order of keys

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.order_changed)


def diff_rows(old: Sequence[AlertRow], new: Sequence[AlertRow]) -> RowDiff:
    """Compare two row lists by key: which keys were added, removed, which changed (and
    which cells), and whether the surviving rows changed order."""
    old_by = {r.key: r for r in old}
    new_by = {r.key: r for r in new}
    added = tuple(r.key for r in new if r.key not in old_by)
    removed = tuple(r.key for r in old if r.key not in new_by)
    changed: list[tuple[str, tuple[str, ...]]] = []
    for row in new:
        before = old_by.get(row.key)
        if before is None or before == row:
            continue
        cells = tuple(name for name in ROW_CELLS if getattr(before, name) != getattr(row, name))
        if cells:
            changed.append((row.key, cells))
    kept_old = [r.key for r in old if r.key in new_by]
    kept_new = [r.key for r in new if r.key in old_by]
    return RowDiff(
        added=added,
        removed=removed,
        changed=tuple(changed),
        order_changed=kept_old != kept_new,
        order=tuple(r.key for r in new),
    )
