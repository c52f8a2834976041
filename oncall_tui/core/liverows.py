"""The alert list kept up to date in proportion to what changed.

:func:`~oncall_tui.core.alerts.alert_rows` computes the rows from scratch, which costs
what exists: at 10,000 alerts, tens of milliseconds on every poll and every keystroke.
The dashboard holds a :class:`LiveRows` instead. The incremental sync keeps an alert that
did not change as the same object from one poll to the next, so what changed is found by
identity alone (a set difference, in C); only those alerts are re-entered, only their
groups regrouped, only those groups' rows rebuilt, and only those rows moved in the
sorted list of each filter in use. Pages, paths and me are compared the same way.

A filter the user types is computed once and kept with its rows (the last few filters
are), so deleting a character comes back at once; a longer query only searches the
alerts the shorter one matched. The rows are always the ones :func:`alert_rows` gives
for the same data and filter (a property test holds them to it); when the order of the
alerts that stayed changed, or a large share changed, everything is rebuilt.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from oncall_tui.core.alert_index import (
    _Entry,
    _new_keys,
    _same_facts,
    group_entries,
)
from oncall_tui.core.alert_model import AlertFilter, AlertRow
from oncall_tui.core.alerts import (
    AlertPages,
    Sieve,
    _first,
    _matches,
    filtered_group_row,
    page_entry,
    page_rows_of,
)
from oncall_tui.core.linking import SourceLinks
from oncall_tui.domain import Alert, EscalationPath, Page, User

P = ParamSpec("P")
T = TypeVar("T")
REBUILD_SHARE = 0.25  # more of the alerts changed than this: rebuild everything
MAX_VIEWS = 4  # filters whose rows are kept (the current one and the last few)


class _Group:
    """Duplicates shown as one row: its row key, the title token that named it first,
    and its members in snapshot order."""

    __slots__ = ("key", "members", "token")

    def __init__(self, key: str, token: str, members: list[_Entry]) -> None:
        self.key = key
        self.token = token
        self.members = members


class _View:
    """The rows under one filter, in order, with their sort keys."""

    __slots__ = ("keys", "matched", "result", "rows", "sieve", "where")

    def __init__(self, sieve: Sieve) -> None:
        self.sieve = sieve
        self.keys: list[tuple[Any, ...]] = []
        self.rows: list[AlertRow] = []
        self.where: dict[str, tuple[Any, ...]] = {}  # row key -> its sort key
        self.matched: list[_Entry] | None = None  # what the words matched, while current
        self.result: tuple[AlertRow, ...] | None = None

    def fill(self, decorated: list[tuple[tuple[Any, ...], AlertRow]]) -> None:
        # Sort keys end with the row key, which is unique: rows are never compared.
        decorated.sort(key=_first)
        self.keys = [key for key, _ in decorated]
        self.rows = [row for _, row in decorated]
        self.where = {row.key: key for key, row in decorated}

    def remove(self, row_key: str) -> None:
        sort_key = self.where.pop(row_key, None)
        if sort_key is not None:
            i = bisect_left(self.keys, sort_key)
            del self.keys[i]
            del self.rows[i]
            self.result = None

    def put(self, sort_key: tuple[Any, ...], row: AlertRow) -> None:
        i = bisect_left(self.keys, sort_key)
        self.keys.insert(i, sort_key)
        self.rows.insert(i, row)
        self.where[row.key] = sort_key
        self.result = None

    def tuple(self) -> tuple[AlertRow, ...]:
        if self.result is None:
            self.result = tuple(self.rows)
        return self.result


def _collector_paused(build: Callable[P, T]) -> Callable[P, T]:
    """Building a whole list allocates tens of thousands of objects that all live on: a
    garbage collection in the middle (a full one costs 100 ms or more at 10,000 alerts)
    would find nothing to free, so none runs until the list is built."""

    @wraps(build)
    def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        was = gc.isenabled()
        gc.disable()
        try:
            return build(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return paused


def _relinked(before: SourceLinks, after: SourceLinks, ids: set[str]) -> tuple[set[str], set[str]]:
    """``ids`` and the incident.io alert ids whose alert behind changed, and the keys of
    alerts whose folding into an incident.io alert's row changed."""
    ids = set(ids)
    old, new = before.by_id, after.by_id
    if old != new:
        ids.update(i for i in old.keys() | new.keys() if old.get(i) != new.get(i))
    keys: set[str] = set()
    old_f, new_f = before.folded, after.folded
    if old_f != new_f:
        keys.update(k for k in old_f.keys() | new_f.keys() if old_f.get(k) != new_f.get(k))
    return ids, keys


def _add(index: dict[str, list[_Entry]], name: str, entry: _Entry, pos: dict[int, int]) -> None:
    """File ``entry`` under ``name``, keeping each list in snapshot order."""
    found = index.get(name)
    if found is None:
        index[name] = [entry]
        return
    found.append(entry)
    if len(found) > 1:
        found.sort(key=lambda e: pos[id(e.alert)])


def _drop(index: dict[str, list[_Entry]], name: str, entry: _Entry) -> None:
    found = index.get(name)
    if found is not None:
        found[:] = [e for e in found if e is not entry]
        if not found:
            del index[name]


class LiveRows:
    """The rows of the pages-and-alerts list, for one screen, kept between refreshes.

    Call :meth:`rows` with the snapshot's pages, alerts, paths and me and the filter, as
    often as any of them changes; it returns what :func:`alert_rows` would, at a cost in
    proportion to what changed since the last call. ``counts`` says how much work was
    done: ``entries`` (alerts prepared), ``groups`` (groups formed), ``rows`` (rows
    computed), ``rebuilds`` (whole rebuilds), for tests and benchmarks.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._alerts: Sequence[Alert] | None = None
        self._order: list[int] = []  # id() of each alert, in snapshot order
        self._pos: dict[int, int] = {}  # id(alert) -> position in the snapshot
        self._entry: dict[int, _Entry] = {}  # id(alert) -> its entry
        self._group: dict[int, _Group] = {}  # id(entry) -> its group
        self._groups: dict[str, _Group] = {}  # row key -> group
        self._by_token: dict[str, _Group] = {}
        self._by_alias: dict[str, _Group] = {}
        self._by_id: dict[str, list[_Entry]] = {}  # alert id -> entries, snapshot order
        self._by_key: dict[str, list[_Entry]] = {}  # alert key -> entries, snapshot order
        self._context: tuple[Any, ...] | None = None  # (pages, paths, me)
        self._alert_page: AlertPages = {}
        self._pages: dict[str, Any] = {}  # page row key -> (sort key, row, search, source)
        self._page_refs: dict[str, list[str]] = {}  # alert id -> page row keys naming it
        self._whole: dict[Any, Any] = {}  # rows of whole groups, for this context
        self._views: dict[AlertFilter, _View] = {}
        self._links = SourceLinks(())

    # -- public ------------------------------------------------------------------

    def rows(
        self,
        pages: Sequence[Page],
        alerts: Sequence[Alert],
        paths: Sequence[EscalationPath],
        me: User | None,
        filters: AlertFilter = AlertFilter(),
    ) -> tuple[AlertRow, ...]:
        dirty_groups: set[str] = set()
        dirty_ids: set[str] = set()
        dirty_keys: set[str] = set()
        fresh = False
        if alerts is not self._alerts or not isinstance(alerts, tuple):
            changed = self._take_alerts(alerts)
            if changed is None:
                fresh = True
            else:
                dirty_groups, dirty_ids = changed
            # The alert behind each incident.io alert (one row per problem).
            links = self._links
            self._links = SourceLinks(alerts, links)
            if not fresh:
                dirty_ids, dirty_keys = _relinked(links, self._links, dirty_ids)
        context = self._context
        same = (
            context is not None
            and isinstance(pages, tuple)
            and isinstance(paths, tuple)
            and paths is context[1]
            and me is context[2]
        )
        if fresh or context is None or not same:
            self._reset_rows(pages, paths, me)
        else:
            dirty_pages: set[str] = set()
            if pages is not context[0]:
                dirty_pages, moved = self._take_pages(pages, paths, me)
                dirty_ids |= moved
                # An alert folded into an incident.io alert shows again when its page goes.
                dirty_keys |= {k for k, via in self._links.folded.items() if via.id in moved}
            elif dirty_ids:
                dirty_pages = self._repage(dirty_ids, me)
            for alert_id in dirty_ids:
                for entry in self._by_id.get(alert_id, ()):
                    dirty_groups.add(self._group[id(entry)].key)
            for key in dirty_keys:
                for entry in self._by_key.get(key, ()):
                    dirty_groups.add(self._group[id(entry)].key)
            if dirty_groups or dirty_pages:
                self._patch(dirty_groups, dirty_pages)
        return self._view(filters).tuple()

    @property
    def source(self) -> Sequence[Alert] | None:
        """The alerts the rows were last computed from."""
        return self._alerts

    @property
    def links(self) -> SourceLinks:
        """The alert behind each incident.io alert, for the alerts of the last call."""
        return self._links

    @property
    def alerts_by_key(self) -> Mapping[str, Alert]:
        """The alerts by key (the first in snapshot order of a key)."""
        return _FirstAlert(self._by_key, None)

    @property
    def alerts_by_id(self) -> Mapping[str, tuple[int, Alert]]:
        """(position in the snapshot, alert) by alert id, the first of an id."""
        return _FirstAlert(self._by_id, self._pos)

    # -- alerts ------------------------------------------------------------------

    def _take_alerts(self, alerts: Sequence[Alert]) -> tuple[set[str], set[str]] | None:
        """Bring the entries and groups up to date; the row keys of groups that changed
        and the alert ids whose alerts changed, or None after a whole rebuild."""
        order = list(map(id, alerts))
        pos = dict(zip(order, range(len(order)), strict=True))
        old = self._pos
        if self._alerts is None or len(pos) != len(order):  # first, or one alert twice
            self._rebuild(alerts, order, pos)
            return None
        added_ids = pos.keys() - old.keys()
        removed_ids = old.keys() - pos.keys()
        if len(added_ids) + len(removed_ids) > max(64, REBUILD_SHARE * len(order)):
            self._rebuild(alerts, order, pos)
            return None
        # The alerts that stayed must be in the same order (the incremental sync keeps
        # it); otherwise groups' member order would differ from a fresh build.
        kept_before = (
            [i for i in self._order if i not in removed_ids] if removed_ids else self._order
        )
        kept_now = [i for i in order if i not in added_ids] if added_ids else order
        if kept_before != kept_now:
            self._rebuild(alerts, order, pos)
            return None
        self._alerts, self._order, self._pos = alerts, order, pos
        removed = [self._entry.pop(i) for i in removed_ids]
        gone: dict[str, _Entry] = {e.alert.key: e for e in removed}
        if len(gone) != len(removed):
            self._rebuild(alerts, order, pos)
            return None
        new: list[_Entry] = []
        moved: list[_Entry] = []
        for i in added_ids:
            alert = alerts[pos[i]]
            entry = gone.get(alert.key)
            if entry is not None and _same_facts(entry.alert, alert):
                # The same facts in another object: the entry, its group and its row
                # stay; only the alert it reads (description, …) is the new one.
                del gone[alert.key]
                entry.alert = alert
                self._entry[i] = entry
                moved.append(entry)
                continue
            entry = _Entry(alert, alert.source_label)
            self.counts["entries"] += 1
            self._entry[i] = entry
            new.append(entry)
        lost = list(gone.values())
        dirty_ids = {e.alert.id for e in new} | {e.alert.id for e in lost}
        for entry in lost:
            _drop(self._by_id, entry.alert.id, entry)
            _drop(self._by_key, entry.alert.key, entry)
        for entry in new:
            _add(self._by_id, entry.alert.id, entry, pos)
            _add(self._by_key, entry.alert.key, entry, pos)
        dirty_groups = self._regroup(new, lost, pos) if new or lost else set()
        moved_groups, moved_ids = self._reorder(moved, pos)
        return dirty_groups | moved_groups, dirty_ids | moved_ids

    def _reorder(self, moved: list[_Entry], pos: dict[int, int]) -> tuple[set[str], set[str]]:
        """Alerts that came back as other objects may sit elsewhere in the snapshot: keep
        their groups and id lists in snapshot order (the groups and ids whose order moved)."""
        groups: set[str] = set()
        ids: set[str] = set()

        def place(entry: _Entry) -> int:
            return pos[id(entry.alert)]

        for entry in moved:
            group = self._group[id(entry)]
            if len(group.members) > 1 and group.key not in groups:
                ordered = sorted(group.members, key=place)
                if any(a is not b for a, b in zip(ordered, group.members, strict=True)):
                    group.members[:] = ordered
                    groups.add(group.key)
            for index, name, dirty in (
                (self._by_id, entry.alert.id, ids),
                (self._by_key, entry.alert.key, None),
            ):
                found = index[name]
                if len(found) > 1:
                    ordered = sorted(found, key=place)
                    if any(a is not b for a, b in zip(ordered, found, strict=True)):
                        found[:] = ordered
                        if dirty is not None:
                            dirty.add(name)
        return groups, ids

    def _regroup(self, new: list[_Entry], lost: list[_Entry], pos: dict[int, int]) -> set[str]:
        """Regroup only the groups the new and lost alerts touch (a new alert joins a
        group by its title or a shared fingerprint or dedup key; a lost one can split
        its group); the row keys of every group before and after."""
        touched: dict[str, _Group] = {}
        for entry in lost:
            group = self._group.pop(id(entry))
            touched[group.key] = group
        for entry in new:
            joined = self._by_token.get(entry.token)
            if joined is not None:
                touched[joined.key] = joined
            for alias in entry.aliases:
                joined = self._by_alias.get(alias)
                if joined is not None:
                    touched[joined.key] = joined
        lost_ids = {id(e) for e in lost}
        pool = list(new)
        for group in touched.values():
            del self._groups[group.key]
            for member in group.members:
                if self._by_token.get(member.token) is group:
                    del self._by_token[member.token]
                for alias in member.aliases:
                    if self._by_alias.get(alias) is group:
                        del self._by_alias[alias]
                if id(member) not in lost_ids:
                    pool.append(member)
        pool.sort(key=lambda e: pos[id(e.alert)])
        formed = self._form_groups(pool, list(touched.values()))
        return set(touched) | {group.key for group in formed}

    def _form_groups(self, entries: list[_Entry], before: list[_Group]) -> list[_Group]:
        """Group ``entries`` (in snapshot order) and file the groups. A group keeps the
        key of the group (in ``before``) its title token named, else of a group its
        members were in (a row keeps its ID while its group lives), and never takes a
        key another group holds."""
        formed = group_entries(entries)
        tokens = [token for token, _ in formed]
        members = [[entries[i] for i in positions] for _, positions in formed]
        named = {g.token: g.key for g in before}
        keys = [named.get(token, "") for token in tokens]
        if "" in keys:
            was = {m.alert.key: g.key for g in before for m in g.members}
            _new_keys(keys, tokens, members, {}, was, lambda: was, self._groups.keys())
        groups = []
        for key, token, group_members in zip(keys, tokens, members, strict=True):
            group = _Group(key, token, group_members)
            self.counts["groups"] += 1
            self._groups[key] = group
            for member in group_members:
                self._group[id(member)] = group
                self._by_token[member.token] = group
                for alias in member.aliases:
                    self._by_alias[alias] = group
            groups.append(group)
        return groups

    @_collector_paused
    def _rebuild(self, alerts: Sequence[Alert], order: list[int], pos: dict[int, int]) -> None:
        self.counts["rebuilds"] += 1
        old = {e.alert.key: e for e in self._entry.values()}
        self._alerts, self._order, self._pos = alerts, order, pos
        self._entry = {}
        entries: list[_Entry] = []
        for alert in alerts:
            entry = old.get(alert.key)
            if entry is None or not _same_facts(entry.alert, alert):
                entry = _Entry(alert, alert.source_label)
                self.counts["entries"] += 1
            else:
                entry.alert = alert
                old.pop(alert.key)  # one alert per entry, even when two share a key
            self._entry[id(alert)] = entry
            entries.append(entry)
        before = list(self._groups.values())
        self._group, self._groups, self._by_token, self._by_alias = {}, {}, {}, {}
        self._form_groups(entries, before)
        self._by_id, self._by_key = {}, {}
        for entry in entries:  # in snapshot order: appending keeps each list in order
            self._by_id.setdefault(entry.alert.id, []).append(entry)
            self._by_key.setdefault(entry.alert.key, []).append(entry)

    def _entries_with_id(self, alert_id: str) -> Sequence[_Entry]:
        return self._by_id.get(alert_id, ())

    # -- pages and rows ------------------------------------------------------------

    def _reset_rows(
        self, pages: Sequence[Page], paths: Sequence[EscalationPath], me: User | None
    ) -> None:
        self._context = (pages, paths, me)
        self._alert_page, page_rows = page_rows_of(
            pages, paths, me, self._entries_with_id, self._links
        )
        self.counts["rows"] += len(page_rows)
        self._set_pages(page_rows)
        self._whole = {}
        self._views = {}

    def _set_pages(self, page_rows: Iterable[Any]) -> None:
        self._pages = {}
        self._page_refs = {}
        for line in page_rows:
            row = line[1]
            self._pages[row.key] = line
            for alert_id in line[3][0].alert_ids:
                self._page_refs.setdefault(alert_id, []).append(row.key)

    def _take_pages(
        self, pages: Sequence[Page], paths: Sequence[EscalationPath], me: User | None
    ) -> tuple[set[str], set[str]]:
        """New pages (the same paths and me): every page row is redone (there are few),
        and the groups of alerts whose pages changed. Returns the page row keys and the
        alert ids whose open pages changed."""
        before = self._alert_page
        self._context = (pages, paths, me)
        self._alert_page, page_rows = page_rows_of(
            pages, paths, me, self._entries_with_id, self._links
        )
        self.counts["rows"] += len(page_rows)
        dirty_pages = set(self._pages)
        self._set_pages(page_rows)
        dirty_pages |= set(self._pages)
        after = self._alert_page
        moved = {
            alert_id
            for alert_id in before.keys() | after.keys()
            if before.get(alert_id) != after.get(alert_id)
        }
        return dirty_pages, moved

    def _repage(self, alert_ids: set[str], me: User | None) -> set[str]:
        """Redo the rows of pages that name an alert that changed."""
        dirty: set[str] = set()
        for alert_id in alert_ids:
            for key in self._page_refs.get(alert_id, ()):
                if key in dirty:
                    continue
                dirty.add(key)
                page, path, mine = self._pages[key][3]
                entry = page_entry(page, path, mine, me, self._entries_with_id, self._links)
                self.counts["rows"] += 1
                self._pages[key] = (*entry, (page, path, mine))
        return dirty

    def _group_row(self, group: _Group, sieve: Sieve) -> tuple[tuple[Any, ...], AlertRow] | None:
        self.counts["rows"] += 1
        return filtered_group_row(
            group.key, group.members, self._alert_page, self._links, sieve, self._whole, group.key
        )

    def _patch(self, dirty_groups: set[str], dirty_pages: set[str]) -> None:
        """Move only the rows that changed, in every filter's rows kept."""
        for key in dirty_groups:
            self._whole.pop(key, None)
        for view in self._views.values():
            view.matched = None  # the words' matches are for alerts that changed since
            sieve = view.sieve
            for key in dirty_groups:
                view.remove(key)
                group = self._groups.get(key)
                if group is not None:
                    hit = self._group_row(group, sieve)
                    if hit is not None:
                        view.put(*hit)
            for key in dirty_pages:
                view.remove(key)
                line = self._pages.get(key)
                if line is not None and sieve.page(line[1], line[2]):
                    view.put(line[0], line[1])

    def _view(self, filters: AlertFilter) -> _View:
        view = self._views.pop(filters, None)
        if view is None:
            view = self._build_view(Sieve(filters))
        self._views[filters] = view  # the most recent last
        while len(self._views) > MAX_VIEWS:
            del self._views[next(iter(self._views))]
        return view

    @_collector_paused
    def _build_view(self, sieve: Sieve) -> _View:
        view = _View(sieve)
        decorated = [
            (line[0], line[1]) for line in self._pages.values() if sieve.page(line[1], line[2])
        ]
        groups: Iterable[_Group]
        terms = sieve.terms
        if terms:
            # Only groups with a member the words match can show; a longer query
            # searches only what a shorter one kept matched.
            source: Iterable[_Entry] = self._narrower(terms)
            matched = [e for e in source if _matches(e.search, terms)]
            view.matched = matched
            group_of = self._group
            groups = {id(g): g for g in (group_of[id(e)] for e in matched)}.values()
        else:
            groups = self._groups.values()
        for group in groups:
            hit = self._group_row(group, sieve)
            if hit is not None:
                decorated.append(hit)
        view.fill(decorated)
        return view

    def _narrower(self, terms: tuple[str, ...]) -> Iterable[_Entry]:
        """Entries matched by a kept filter whose every word is inside one of ``terms``
        (whatever those match, they matched too), else every entry."""
        best: list[_Entry] | None = None
        for view in self._views.values():
            matched = view.matched
            if matched is None or (best is not None and len(matched) >= len(best)):
                continue
            if all(any(old in new for new in terms) for old in view.sieve.terms):
                best = matched
        return best if best is not None else self._entry.values()


class _FirstAlert(Mapping[str, Any]):
    """A read-only view of an index of entries: the first alert of each name (with its
    position when ``pos`` is given)."""

    def __init__(self, index: dict[str, list[_Entry]], pos: dict[int, int] | None) -> None:
        self._index = index
        self._pos = pos

    def __getitem__(self, name: str) -> Any:
        alert = self._index[name][0].alert
        return alert if self._pos is None else (self._pos[id(alert)], alert)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)
