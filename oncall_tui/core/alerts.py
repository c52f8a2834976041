"""The alert list: pages and alerts as rows (grouped, filtered, sorted), and what changed.

What a row is lives in :mod:`oncall_tui.core.alert_model`, the per-snapshot index of alerts
in :mod:`oncall_tui.core.alert_index`; both are re-exported here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oncall_tui.core import paging
from oncall_tui.core.alert_index import AlertIndex as AlertIndex
from oncall_tui.core.alert_index import _alert_state as _alert_state
from oncall_tui.core.alert_index import _Entry as _Entry
from oncall_tui.core.alert_index import _group_key as _group_key
from oncall_tui.core.alert_index import _same_facts as _same_facts
from oncall_tui.core.alert_index import _severity_cache as _severity_cache
from oncall_tui.core.alert_index import _severity_of as _severity_of
from oncall_tui.core.alert_index import _title_token as _title_token
from oncall_tui.core.alert_index import alert_group_key as alert_group_key
from oncall_tui.core.alert_model import _LINK_NAMES as _LINK_NAMES
from oncall_tui.core.alert_model import _LINK_RANK as _LINK_RANK
from oncall_tui.core.alert_model import _SEVERITY_ALIASES as _SEVERITY_ALIASES
from oncall_tui.core.alert_model import CLOSED_STATES as CLOSED_STATES
from oncall_tui.core.alert_model import HANDLED_STATES as HANDLED_STATES
from oncall_tui.core.alert_model import KIND_ALERT as KIND_ALERT
from oncall_tui.core.alert_model import KIND_PAGE as KIND_PAGE
from oncall_tui.core.alert_model import LINK_MISSING as LINK_MISSING
from oncall_tui.core.alert_model import LINK_OK as LINK_OK
from oncall_tui.core.alert_model import LINK_REFUSED as LINK_REFUSED
from oncall_tui.core.alert_model import LINK_UNKNOWN as LINK_UNKNOWN
from oncall_tui.core.alert_model import PAGING_STATUSES as PAGING_STATUSES
from oncall_tui.core.alert_model import ROW_CELLS as ROW_CELLS
from oncall_tui.core.alert_model import STATE_ACKED as STATE_ACKED
from oncall_tui.core.alert_model import STATE_FIRING as STATE_FIRING
from oncall_tui.core.alert_model import STATE_PENDING as STATE_PENDING
from oncall_tui.core.alert_model import STATE_RESOLVED as STATE_RESOLVED
from oncall_tui.core.alert_model import STATE_SILENCED as STATE_SILENCED
from oncall_tui.core.alert_model import STATE_SNOOZED as STATE_SNOOZED
from oncall_tui.core.alert_model import STATE_TRIGGERED as STATE_TRIGGERED
from oncall_tui.core.alert_model import AlertFilter as AlertFilter
from oncall_tui.core.alert_model import AlertRow as AlertRow
from oncall_tui.core.alert_model import _one_link_state as _one_link_state
from oncall_tui.core.alert_model import alert_link_states as alert_link_states
from oncall_tui.core.alert_model import escalation_next_at as escalation_next_at
from oncall_tui.core.alert_model import normalise_severity as normalise_severity
from oncall_tui.core.alert_model import page_reaches_me as page_reaches_me
from oncall_tui.core.alert_model import page_severity as page_severity
from oncall_tui.core.alert_model import page_urgency as page_urgency
from oncall_tui.core.alert_model import path_summary as path_summary
from oncall_tui.core.linking import SourceLinks
from oncall_tui.domain import (
    PAGE_PENDING_REPEAT,
    PAGE_TRIGGERED,
    SOURCE_INCIDENT_IO,
    Alert,
    EscalationPath,
    Page,
    User,
    severity_rank,
)


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
    sieve = Sieve(filters)
    # Rows (and sort keys, and a page's search text) that do not depend on the filter are
    # kept in the index for these pages, paths and me, so a keystroke rebuilds only the
    # groups a filter cuts into.
    cache = index._rows_for(pages, paths, me)
    alert_page = cache.get("alert_page")
    page_rows = cache.get("pages")
    if alert_page is None or page_rows is None:
        alert_page, page_rows = page_rows_of(pages, paths, me, index.entries_with_id, index.links)
        cache["alert_page"] = alert_page
        cache["pages"] = page_rows
    decorated = [(key, row) for key, row, search, _ in page_rows if sieve.page(row, search)]
    keys = index.group_keys
    for group, members in enumerate(index.group_members):
        hit = filtered_group_row(keys[group], members, alert_page, index.links, sieve, cache, group)
        if hit is not None:
            decorated.append(hit)
    # Sort keys end with the row key, which is unique: rows themselves are never compared.
    decorated.sort(key=_first)
    return tuple(row for _, row in decorated)


AlertPages = Mapping[str, list[tuple[Page, bool, "EscalationPath | None"]]]


class Sieve:
    """A filter made ready to apply, alert by alert and row by row."""

    __slots__ = ("critical_only", "filters", "plain", "skip_resolved", "skip_silenced", "terms")

    def __init__(self, filters: AlertFilter) -> None:
        self.filters = filters
        self.terms = filters.terms
        self.skip_resolved = not filters.include_resolved
        self.skip_silenced = filters.hide_acked
        self.critical_only = filters.critical_only
        self.plain = not (filters.mine_only or filters.hide_acked or filters.critical_only)

    def page(self, row: AlertRow, search: str) -> bool:
        return _keep(row, self.filters) and (not self.terms or _matches(search, self.terms))

    def members(
        self, members: Sequence[_Entry], alert_page: AlertPages, folded: Mapping[str, Alert]
    ) -> list[_Entry]:
        """The members a row counts under this filter. Per-alert filters run before
        grouping so that a row's count is the number of alerts it stands for; an
        incident.io alert that an open page stands for is shown by the page's row (which
        carries its links and labels), not twice, and so is an alert that the row of the
        incident.io alert (or page) it caused shows."""
        skip_resolved = self.skip_resolved
        skip_silenced = self.skip_silenced
        critical_only = self.critical_only
        terms = self.terms
        passing = []
        for entry in members:
            if alert_page and entry.page_key in alert_page:
                continue
            via = folded.get(entry.alert.key) if folded else None
            if via is not None and (via.id in alert_page or _alert_state(via) == STATE_FIRING):
                continue
            state = entry.state
            if skip_resolved and state == STATE_RESOLVED:
                continue
            if skip_silenced and state == STATE_SILENCED:
                continue
            if critical_only and entry.rank != 0:
                continue
            if terms and not _matches(entry.search, terms):
                continue
            passing.append(entry)
        return passing

    def keep(self, row: AlertRow) -> bool:
        if self.plain:
            return self.filters.include_resolved or row.state not in CLOSED_STATES
        return _keep(row, self.filters)


def filtered_group_row(
    key: str,
    members: Sequence[_Entry],
    alert_page: AlertPages,
    links: SourceLinks,
    sieve: Sieve,
    cache: dict[Any, Any],
    cache_key: object,
) -> tuple[tuple[Any, ...], AlertRow] | None:
    """(sort key, row) of one group under a filter, None when the filter hides it. A
    group whose members all pass is the same row whatever the filter: it is kept in
    ``cache`` under ``cache_key`` (valid for one set of pages, paths and me)."""
    passing = sieve.members(members, alert_page, links.folded)
    if not passing:
        return None
    whole = len(passing) == len(members)
    hit = cache.get(cache_key) if whole else None
    if hit is None:
        made = _group_row(key, passing, alert_page)
        if made is not None and links.folded:
            ids = [e.alert.id for e in passing if e.page_key]
            made = links.attach(made, ids, _alert_state)
        hit = (row_sort_key(made) if made is not None else (), made)
        if whole:
            cache[cache_key] = hit
    row = hit[1]
    if row is None or not sieve.keep(row):
        return None
    return hit[0], row


EntriesWithId = Callable[[str], Sequence[_Entry]]


def page_rows_of(
    pages: Sequence[Page],
    paths: Sequence[EscalationPath],
    me: User | None,
    by_id: EntriesWithId,
    links: SourceLinks,
) -> tuple[dict[str, list[tuple[Page, bool, EscalationPath | None]]], list[Any]]:
    """The open pages each alert id stands behind, and every page's (sort key, row,
    search text, (page, path, mine))."""
    paths_by_id = {p.id: p for p in paths}
    alert_page: dict[str, list[tuple[Page, bool, EscalationPath | None]]] = {}
    page_rows = []
    for page in pages:
        path = paths_by_id.get(page.path_id) if page.path_id else None
        mine = page_reaches_me(page, path, me)
        if page.is_open:
            for aid in page.alert_ids:
                alert_page.setdefault(aid, []).append((page, mine, path))
        page_rows.append((*page_entry(page, path, mine, me, by_id, links), (page, path, mine)))
    return alert_page, page_rows


def page_entry(
    page: Page,
    path: EscalationPath | None,
    mine: bool,
    me: User | None,
    by_id: EntriesWithId,
    links: SourceLinks,
) -> tuple[tuple[Any, ...], AlertRow, str]:
    """A page's (sort key, row, search text). A page has no labels of its own: its
    alerts' titles and labels count for the filter."""
    row = _page_row(page, path, mine, by_id, paging.where_it_went(page, path, me))
    row = links.attach(row, page.alert_ids, _alert_state)
    parts = [row.title, row.source, row.severity, page.priority]
    for aid in page.alert_ids:
        parts.extend(entry.search for entry in by_id(aid))
    return row_sort_key(row), row, "\n".join(parts).casefold()


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
    page: Page, path: EscalationPath | None, mine: bool, by_id: EntriesWithId, went: str = ""
) -> AlertRow:
    severity = page_severity(page)
    rank = severity_rank(severity) if severity else severity_rank("high")
    runbook = dashboard = _LINK_RANK[LINK_UNKNOWN]
    for aid in page.alert_ids:
        for entry in by_id(aid):
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
        alert_keys=tuple(e.alert.key for aid in page.alert_ids for e in by_id(aid)),
        went=went,
    )


def _group_row(key: str, members: Sequence[_Entry], alert_page: AlertPages) -> AlertRow | None:
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
