"""Rows as things to act on: their one ID, the items behind them, their links.

Every row of the pages-and-alerts list has one ID, printed by ``oncall-tui alerts`` (table
and JSON) and accepted as given by ``ack``, ``unack`` and the other commands: a page's own
id, or for alerts the group's id, which acts on every member (a grouped alert seen on two
Grafana instances is one ID). A member's own id, key or fingerprint finds its row too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from oncall_tui.core.linking import SourceLinks, SourceView, source_view
from oncall_tui.core.views import KIND_PAGE, AlertRow
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RUNBOOK,
    LINK_SOURCE,
    SOURCE_INCIDENT_IO,
    Alert,
    Link,
    Page,
)

ALERT_PREFIX = "alert:"
PAGE_PREFIX = "page:"
LINK_KINDS = (LINK_RUNBOOK, LINK_DASHBOARD, LINK_PANEL, LINK_SOURCE)


def row_id(row: AlertRow) -> str:
    """The ID printed for a row: the page's id, or the alert group's id."""
    if row.kind == KIND_PAGE and row.page_ids:
        return row.page_ids[0]
    return row.key.removeprefix(ALERT_PREFIX)


def row_items(
    row: AlertRow, pages: Iterable[Page], alerts_by_key: Mapping[str, Alert]
) -> list[Page | Alert]:
    """Everything a row stands for: its pages, then every alert of its group."""
    wanted = set(row.page_ids)
    found: list[Page | Alert] = [p for p in pages if p.id in wanted]
    found.extend(alerts_by_key[k] for k in row.alert_keys if k in alerts_by_key)
    return found


def row_targets(
    row: AlertRow, pages: Iterable[Page], alerts_by_key: Mapping[str, Alert]
) -> list[Page | Alert]:
    """What an action on a row acts on: a page row's page (its alerts are shown with it,
    not acted on twice), or every alert of an alert group."""
    items = row_items(row, pages, alerts_by_key)
    if row.kind == KIND_PAGE:
        return [i for i in items if isinstance(i, Page)]
    return [i for i in items if isinstance(i, Alert)]


def _names(row: AlertRow, alerts_by_key: Mapping[str, Alert]) -> set[str]:
    """Every id a person may have been shown for this row (lower case)."""
    names = {row_id(row).lower(), row.key.lower(), *(p.lower() for p in row.page_ids)}
    for key in row.alert_keys:
        names.add(key.lower())
        alert = alerts_by_key.get(key)
        if alert is not None:
            names.add(alert.id.lower())
            if alert.fingerprint:
                names.add(alert.fingerprint.lower())
    return names


def find_rows(
    rows: Sequence[AlertRow], ident: str, alerts_by_key: Mapping[str, Alert]
) -> list[AlertRow]:
    """The rows an ID names: exact matches first (a row's ID, a page id, an alert's key,
    id or fingerprint), else rows one of whose IDs starts with it. Several members of one
    row matching is one row."""
    wanted = ident.strip().lower()
    if not wanted:
        return []
    exact = [r for r in rows if wanted in _names(r, alerts_by_key)]
    if exact:
        return exact
    return [r for r in rows if any(n.startswith(wanted) for n in _names(r, alerts_by_key))]


def row_links(items: Iterable[Page | Alert]) -> dict[str, str | None]:
    """The first usable URL of each link kind among a row's alerts (None: no such link)."""
    links: dict[str, str | None] = dict.fromkeys(LINK_KINDS)
    for item in items:
        if not isinstance(item, Alert):
            continue
        for kind in LINK_KINDS:
            if links[kind] is None:
                url = item.link(kind).url
                if url:
                    links[kind] = url
    return links


def first_link(kind: str, alerts: Iterable[Alert | None]) -> Link:
    """The first usable ``kind`` link among ``alerts`` (a page's own alert, then the
    Grafana alert behind it), else the first alert's reason there is none."""
    first: Link | None = None
    for alert in alerts:
        if alert is None:
            continue
        link = alert.link(kind)
        if link.url:
            return link
        first = first or link
    return first or Link(kind=kind, problem="missing")


def row_source(
    row: AlertRow,
    pages: Sequence[Page],
    alerts_by_key: Mapping[str, Alert],
    links: SourceLinks,
    hosts: Mapping[str, str],
) -> SourceView | None:
    """The Grafana or Alertmanager alert behind a page or incident.io alert row, or why
    there is none; None for rows that are Grafana or Alertmanager alerts themselves."""
    io = [
        i
        for i in row_items(row, pages, alerts_by_key)
        if isinstance(i, Alert) and i.source == SOURCE_INCIDENT_IO
    ]
    if row.kind != KIND_PAGE and not io:
        return None
    named = row.kind != KIND_PAGE or any(p.alert_ids for p in pages if p.id in row.page_ids)
    return source_view(row.kind, row.source_key, io, links, alerts_by_key, hosts, from_alert=named)
