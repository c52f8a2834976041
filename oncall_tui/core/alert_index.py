"""The alerts indexed once per snapshot: per-alert facts (search key, title token, ranks)
computed once and shared with the next index while the alert is unchanged, and alerts grouped
by source and title."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import Any

from oncall_tui.core.alert_model import (
    _LINK_RANK,
    STATE_FIRING,
    STATE_PENDING,
    STATE_RESOLVED,
    STATE_SILENCED,
    alert_link_states,
    normalise_severity,
)
from oncall_tui.core.linking import SourceLinks
from oncall_tui.domain import (
    ALERT_FIRING,
    ALERT_INHIBITED,
    ALERT_PENDING,
    ALERT_RESOLVED,
    ALERT_SILENCED,
    SOURCE_INCIDENT_IO,
    Alert,
    severity_rank,
)

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


def group_entries(entries: Sequence[_Entry]) -> list[tuple[str, list[int]]]:
    """Duplicates grouped: alerts with the same title token (source and title, any case)
    share a group, and a fingerprint or dedup key seen in two groups joins them
    (union-find, rare). Each group: its smallest title token (which does not depend on
    the order the alerts came in, and stays while any member with that title remains)
    and its members' positions in ``entries``, in order; groups in order of first member."""
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
    root_token: dict[int, str] = {}
    for g, token in enumerate(group_title):
        root = find(g)
        current = root_token.get(root)
        if current is None or token < current:
            root_token[root] = token
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(provisional):
        root = find(g)
        members = groups.get(root)
        if members is None:
            groups[root] = [i]
        else:
            members.append(i)
    return [(root_token[root], members) for root, members in groups.items()]


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
        "links",
        "member_group",
    )
    _by_key: dict[str, _Entry]
    _key_of_token: dict[str, str]
    links: SourceLinks

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

        group_keys: list[str] = []
        key_of_token: dict[str, str] = {}
        members_of: list[list[_Entry]] = []
        member_group: list[int] = [0] * len(entries)
        group_tokens: list[str] = []
        for token, positions in group_entries(entries):
            key = old_keys.get(token, "")  # "": a new key, chosen below
            key_of_token[token] = key
            for i in positions:
                member_group[i] = len(group_keys)
            group_keys.append(key)
            group_tokens.append(token)
            members_of.append([entries[i] for i in positions])
        by_alert_id: dict[str, list[int]] = {}
        for i, entry in enumerate(entries):
            alert_id = entry.alert.id
            ids = by_alert_id.get(alert_id)
            if ids is None:
                by_alert_id[alert_id] = [i]
            else:
                ids.append(i)
        if "" in group_keys:
            _new_keys(
                group_keys,
                group_tokens,
                members_of,
                key_of_token,
                previous._by_key if previous is not None else (),
                previous.group_key_of if previous is not None else dict,
            )
        self.entries = entries
        self.member_group = member_group
        self.group_keys = group_keys
        self.group_members = [tuple(m) for m in members_of]
        self.group_sizes = [len(m) for m in members_of]
        self.by_alert_id = by_alert_id
        self._by_key = by_key
        self._key_of_token = key_of_token
        self._group_index = {key: g for g, key in enumerate(group_keys)}
        # One row per problem: the alert behind each incident.io alert.
        self.links = SourceLinks(alerts, previous.links if previous is not None else None)
        # Rows of whole groups (and their sort keys) for one (pages, paths, me): filtering
        # on each keystroke then rebuilds only the groups a filter cuts into.
        self._context: tuple[Any, ...] = ()
        self._row_cache: dict[Any, Any] = {}
        self._inherit: tuple[Any, ...] = ()
        if previous is not None and previous._context:
            self._inherit = (previous, previous._context, previous._row_cache)

    def group_key_of(self) -> dict[str, str]:
        """Each alert's group key, by alert key."""
        keys = self.group_keys
        return {e.alert.key: keys[g] for e, g in zip(self.entries, self.member_group, strict=True)}

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
        old_links, links = previous.links, self.links
        if old_links.by_id != links.by_id or old_links.folded != links.folded:
            return {}  # a row shows the alert behind it: those rows may have changed
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

    def entries_with_id(self, alert_id: str) -> list[_Entry]:
        return [self.entries[i] for i in self.by_alert_id.get(alert_id, ())]


def _new_keys(
    keys: list[str],
    tokens: list[str],
    members: Sequence[Sequence[_Entry]],
    key_of_token: dict[str, str],
    had: Container[str],
    old_key_of: Callable[[], Mapping[str, str]],
    taken: Iterable[str] = (),
) -> None:
    """Keys for the groups that have none yet (``""`` in ``keys``). A group that holds
    alerts of a group of the last refresh (``had``: their alert keys; ``old_key_of``:
    each one's group key then, asked for only when needed) keeps that group's key while
    it lives, even when the member whose title gave the key has resolved; otherwise the
    key comes from the group's smallest title token. Two groups never share a key, nor
    one of ``taken`` (keys of groups that are not being keyed here)."""
    used = {k for k in keys if k}
    used.update(taken)
    old_of: Mapping[str, str] | None = None
    for group, key in enumerate(keys):
        if key:
            continue
        if any(e.alert.key in had for e in members[group]):
            if old_of is None:  # built only when a group of the last refresh lost its key
                old_of = old_key_of()
            carried = sorted(
                {old_of[e.alert.key] for e in members[group] if e.alert.key in old_of} - used
            )
            key = carried[0] if carried else ""
        salt = 0
        while not key or key in used:
            key = _group_key(tokens[group] + (f"\x1f{salt}" if salt else ""))
            salt += 1
        keys[group] = key
        key_of_token[tokens[group]] = key
        used.add(key)
