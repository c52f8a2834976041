"""The dashboard: my shift, what is paging me, what is firing, and one key to respond.

The screen renders snapshots from the core's sync engine and sends actions. Polling runs
in Textual workers, one group per feed, ``exclusive=True``, so two polls of a feed never
overlap; a timer asks the engine which feeds are due.
"""

from __future__ import annotations

import gc
import time
from datetime import datetime, timedelta
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from oncall_tui.core import (
    freshness,
    graphs,
    guard,
    notify,
    paging,
    resolved,
    sent,
    snapcache,
    views,
)
from oncall_tui.core.history import HistoryService
from oncall_tui.core.linking import SourceView, configured_hosts
from oncall_tui.core.liverows import LiveRows
from oncall_tui.core.rows import row_source
from oncall_tui.core.session import Session
from oncall_tui.core.sources import SCHEDULES_FEED
from oncall_tui.core.sync import utcnow
from oncall_tui.domain import Alert, Page, Series, Snapshot
from oncall_tui.ui.quiet import quiet_words, toggle_quiet
from oncall_tui.ui.screens.alert_incident import IncidentKeys
from oncall_tui.ui.screens.dashboard_frame import EXIT_AFTER_DATA, DashboardFrame
from oncall_tui.ui.screens.incidents import BindingCommands
from oncall_tui.ui.screens.links import LinkCommands, LinksScreen, configured_links, open_quick_link
from oncall_tui.ui.screens.metric_chart import ChartScreen
from oncall_tui.ui.screens.row_actions import RowActions
from oncall_tui.ui.screens.watching import WatchCommands, WatchKeys
from oncall_tui.ui.widgets.alert_detail import AlertDetail
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.shift_panel import ShiftPanel
from oncall_tui.ui.widgets.status_bar import StatusBar

# Actions that need a row under the cursor (whether each may run is core.guard's rule).
ROW_ACTIONS = frozenset(
    {
        "ack",
        "unack",
        "escalate",
        "decline",
        "snooze",
        "shadow",
        "resolve",
        "open_runbook",
        "open_dashboard",
        "open_panel",
        "graph",
        "open_source",
        "copy_link",
        "declare",
    }
)
SPARKLINE_TTL = timedelta(seconds=60)
FIRST_ROWS_WAIT = 5.0  # seconds the first rows wait for every backend's first answer
GC_YOUNG_THRESHOLD = 20_000  # allocations between young collections (Python's default: 700)


class DashboardScreen(DashboardFrame, RowActions):
    TITLE = "On call"
    # Ctrl+P lists this screen's actions by name too ("ack" finds Ack), as help promises.
    COMMANDS: ClassVar[set] = {BindingCommands, LinkCommands, WatchCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "ack", "Ack", id="ack"),
        Binding("u", "unack", "Unack", show=False, id="unack"),
        Binding("e", "escalate", "Escalate", id="escalate"),
        Binding("x", "decline", "Decline", id="decline"),
        Binding("z", "snooze", "Snooze", id="snooze"),
        Binding("S", "shadow", "Shadow", show=False, id="shadow"),
        Binding("R", "resolve", "Resolve", show=False, id="resolve"),
        Binding("o", "open_runbook", "Runbook", id="open.runbook"),
        Binding("g", "open_dashboard", "Grafana", id="open.dashboard"),
        Binding("p", "open_panel", "Panel", show=False, id="open.panel"),
        Binding("G", "graph", "Graph", show=False, id="graph"),
        Binding("O", "open_source", "Source", show=False, id="open.source"),
        Binding("y", "copy_link", "Copy link", show=False, id="copy.link"),
        Binding("D", "declare", "Declare", id="declare"),
        Binding("slash", "filter", "Filter", show=False, id="filter"),
        Binding("m", "toggle_filter('mine_only')", "Mine only", show=False, id="filter.mine"),
        Binding(
            "H", "toggle_filter('hide_acked')", "Hide acked", show=False, id="filter.hide_acked"
        ),
        Binding(
            "c", "toggle_filter('critical_only')", "Critical only", show=False, id="filter.critical"
        ),
        Binding("n", "newest_page", "Newest page to me", show=False, id="newest_page"),
        Binding("r", "refresh", "Refresh", show=False, id="refresh"),
        Binding("w", "show_errors", "Source errors", show=False, id="errors"),
        Binding("C", "calendar", "Calendar", id="calendar"),
        Binding("escape", "back", "Close filter or detail", show=False, id="back"),
        Binding("i", "incidents", "Incidents", id="incidents"),
        Binding("L", "quick_links", "Quick links", show=False, id="links"),
        Binding("Q", "quiet", "Quiet notifications", show=False, id="quiet"),
        Binding("s", "silences", "Silences", show=False, id="silences"),
        Binding("W", "watch", "Watch (or stop watching)", show=False, id="watch"),
        Binding("enter", "open_incident", "Open its incident", show=False, id="open.incident"),
        Binding(
            "shift+down,ctrl+down",
            "scroll_detail(1)",
            "Scroll detail down",
            show=False,
            id="detail.scroll_down",
        ),
        Binding(
            "shift+up,ctrl+up",
            "scroll_detail(-1)",
            "Scroll detail up",
            show=False,
            id="detail.scroll_up",
        ),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.engine = session.engine
        self.actions = session.actions
        self.filters = views.AlertFilter()
        self._snapshot: Snapshot = self.engine.snapshot()
        self._live = LiveRows()  # the rows, kept in proportion to what changed
        self._reasons: dict[tuple, tuple] = {}  # unavailable_reason's answers, this tick
        self._known_pages: frozenset[str] = frozenset()
        self._sparklines: dict[str, tuple[datetime, Series | str]] = {}
        self._hosts: dict[str, str] | None = None  # configured hosts, for core.linking
        self.history = HistoryService(
            session.backends, session.clock, session.settings.display_zone()
        )
        self._dirty = True
        self._started = False  # every backend answered (or failed) at least once
        self._mounted_at = time.monotonic()
        self._banner_text = ""
        self._stale_sources: frozenset[str] = frozenset()
        self._gc_frozen = False
        self._page_rows = sent.PageRows(session.sent)  # pages I sent are not rows
        self.incident_keys = IncidentKeys(self)
        self.watch_keys = WatchKeys(self)
        # Rows that ended stay a while, dimmed ("recently resolved").
        keep = timedelta(minutes=session.settings.ui.resolved_minutes)
        self._trace = resolved.ResolvedTrace(keep)
        self._observed: Snapshot | None = None

    # -- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        filter_box = Input(
            placeholder="Filter: words in title, source, labels (Esc to close)", id="filter"
        )
        yield from self.frame(AlertDetail(id="detail"), below=[filter_box])

    def on_mount(self) -> None:
        self.query_one(AlertTable).zone = self.session.settings.display_zone()
        # Any subset of backends: what needs a missing one is off, and says so.
        off = guard.features_off(self.session.backends)
        if self.session.backends.incidentio is None and off:
            self.query_one(ShiftPanel).show_off(off[0][0].upper() + off[0][1:] + ".")
        self.engine.subscribe(self._on_snapshot)
        # The screen's one clock: ages, countdowns and the status bar move on it, once a
        # second, and only while this screen is shown (no widget has a timer of its own).
        self._clock_timer = self.set_interval(1.0, self._redraw_clock)
        self.watch_keys.start_checking()
        self._render_snapshot()
        self.query_one(AlertTable).focus()
        self.apply_size(self.size.width, self.size.height)

    def on_screen_suspend(self) -> None:
        """Another screen is on top: clocks and countdowns stop ticking until this one
        shows again (polling goes on: a new page must still be announced)."""
        for timer in self._clocks():
            timer.pause()

    def on_screen_resume(self) -> None:
        for timer in self._clocks():
            timer.resume()
        self._redraw_clock()

    def _clocks(self) -> list:
        return [self._clock_timer] if hasattr(self, "_clock_timer") else []

    def on_resize(self, event) -> None:
        self.apply_size(event.size.width, event.size.height)

    # -- data --------------------------------------------------------------------

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        if not self._dirty:
            self._dirty = True
            self.call_later(self._render_snapshot)

    def _redraw_clock(self) -> None:
        self._reasons.clear()  # "ended 3m ago" moves with the clock
        saver = self.session.snapshot_cache
        if saver is not None and saver.due():
            # Taken here (cheap), written on a thread: the next start draws it at once.
            self.run_worker(partial(saver.write, saver.take()), thread=True, group="snapshot-cache")
        status = self.query_one(StatusBar)
        update = partial(status.update_health, self._snapshot.health, utcnow())
        self.query_one(ShiftPanel).tick()
        if self.query_one(AlertTable).tick():
            # Rows moved: the status line goes in a frame of its own, as one frame over
            # both would repaint everything between them.
            self.call_after_refresh(lambda: update(**self._status_extras()))
        else:
            update(**self._status_extras())
        self._show_staleness()
        if self._trace.expire(utcnow()) and self._started:  # a trace is over: it goes
            self.query_one(AlertTable).update_rows(self._rows())
        if not self._started and self._every_backend_tried(self._snapshot):
            self._render_snapshot()  # the wait for a slow backend is over: show the rest

    def _status_extras(self) -> dict:
        return {
            "readonly": self.session.readonly,
            "pending": self._snapshot.pending_writes,
            "filters": self.filters,
            "notices": self._notices(),
        }

    def _notices(self) -> tuple[str, ...]:
        snap = self._snapshot
        quiet = quiet_words(self.session)
        if quiet:
            return (quiet, *self._source_notices(snap))
        return self._source_notices(snap)

    def _source_notices(self, snap: Snapshot) -> tuple[str, ...]:
        if snap.cached_from is None:
            return snap.notices
        zone = self.session.settings.display_zone()
        return (snapcache.cached_words(snap.cached_from, utcnow(), zone), *snap.notices)

    def _rows(self) -> tuple[views.AlertRow, ...]:
        snap = self._snapshot
        pages = self._page_rows.split(snap.pages, snap.paths, snap.me).rows
        rows = self._live.rows(pages, snap.alerts, snap.paths, snap.me, self.filters)
        if snap is not self._observed:  # new data: which rows ended since the last
            self._observed = snap
            by_key, _ = self._alert_lookup()
            open_pages = {p.id: p for p in snap.pages if p.is_open}
            self._trace.observe(
                rows, lambda r: resolved.still_open(r, by_key, open_pages), self._items, utcnow()
            )
        return rows + self._trace.rows(self.filters)

    def _render_snapshot(self) -> None:
        self._dirty = False
        self._reasons.clear()  # which keys apply may change with the data
        snap = self._snapshot
        now = utcnow()
        zone = self.session.settings.display_zone()
        self.query_one(ShiftPanel).update_view(snap, now=now, zone=zone)
        table = self.query_one(AlertTable)
        if self._every_backend_tried(snap):
            # Rows go to the table once every backend has answered (or failed) once, so
            # what is there at start-up is the baseline, not a list of "new" rows.
            table.empty_text = "No pages and nothing firing (or nothing matches the filter)."
            table.update_rows(self._rows())
            self.watch_keys.check()
        self.query_one(StatusBar).update_health(snap.health, now, **self._status_extras())
        self._show_staleness(rows_changed=True)
        self._announce_new_pages(snap)
        self._show_detail(table.cursor_key)
        if not self._gc_frozen and self._loaded(snap):
            self._gc_frozen = True  # once, after the frame with the rows is drawn
            self.call_after_refresh(self._freeze_gc)
        if EXIT_AFTER_DATA and (snap.alerts or snap.pages) and snap.shifts:
            # Benchmarks: leave once the first frame showing data has been drawn.
            self.call_after_refresh(self.app.exit, 0)

    def _show_staleness(self, *, rows_changed: bool = False) -> None:
        """The banner, dimmed rows and marked countdowns for sources the engine calls
        stale now (it moves with the clock, so this runs every second as well)."""
        now = utcnow()
        health = self._snapshot.health
        lines = freshness.stale_banner(health, now, self.session.settings.display_zone())
        banner = self.query_one("#stale-banner", Static)
        text = "\n".join(lines)
        if text != self._banner_text:
            self._banner_text = text
            banner.update(text)
            banner.set_class(bool(lines), "shown")
        self.query_one(ShiftPanel).set_stale(
            freshness.feed_stale_since(health, SCHEDULES_FEED, now)
        )
        stale = freshness.stale_sources(health, now)
        if stale == self._stale_sources and not rows_changed:
            return
        self._stale_sources = stale
        table = self.query_one(AlertTable)
        by_key, _ = self._alert_lookup()
        table.set_stale(freshness.stale_rows(table.rows, by_key, stale))
        self._show_detail(table.cursor_key)

    def _stale_since(self, row: views.AlertRow) -> datetime | None:
        """When the stale sources behind ``row`` last answered (None: all fresh)."""
        if not self._stale_sources:
            return None
        by_key, _ = self._alert_lookup()
        sources = freshness.row_sources(row, by_key) & self._stale_sources
        now = utcnow()
        times = [
            since
            for h in self._snapshot.health
            if h.name in sources and (since := h.stale_since(now)) is not None
        ]
        return min(times) if times else None

    def _loaded(self, snap: Snapshot) -> bool:
        """Every feed has answered with what it has (nothing from the cache, no list
        still loading)."""
        return (
            self._started
            and snap.cached_from is None
            and not snap.notices
            and bool(snap.health)
            and all(h.last_ok is not None for h in snap.health)
        )

    def _freeze_gc(self) -> None:
        """After the first load, what is loaded lives as long as the app: move it out of
        the collector's sight (:func:`gc.freeze`), so a full collection (50–150 ms over
        10,000 alerts) never falls inside a refresh, and collect the young generation
        less often (each poll allocates thousands of objects at once)."""
        self._gc_frozen = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])

    def _every_backend_tried(self, snap: Snapshot) -> bool:
        if self._started:
            return True
        if snap.cached_from is not None:
            # Rows from the cache are the baseline: show them at once.
            self._started = True
            return True
        # …or after a few seconds: a backend that hangs must not hold back the others.
        self._started = time.monotonic() - self._mounted_at > FIRST_ROWS_WAIT or (
            bool(snap.health) and all(h.last_ok is not None or h.error for h in snap.health)
        )
        return self._started

    def _announce_new_pages(self, snap: Snapshot) -> None:
        found = paging.new_pages_to_me(
            snap.pages, snap.paths, snap.me, self._known_pages, cached=snap.cached_from is not None
        )
        self._known_pages = found.paging
        if not found.new:
            return
        # The cursor goes to the new page unless it rests on a page that is paging me.
        table = self.query_one(AlertTable)
        here = table.cursor_item
        target = paging.cursor_for_new_page(
            (here.kind, here.state, here.mine) if here is not None else None,
            [f"page:{pid}" for pid in found.new],
        )
        if target is not None:
            table.move_cursor_to_key(target)
        pages = [p for pid in found.new for p in snap.pages if p.id == pid]
        self.oncall.send_notices([notify.page_notice(p) for p in pages])

    def _path(self, page: Page):
        for path in self._snapshot.paths:
            if path.id == page.path_id:
                return path
        return None

    # -- selection and detail -----------------------------------------------------

    @on(AlertTable.Highlighted)
    def _highlighted(self, event: AlertTable.Highlighted) -> None:
        self._show_detail(event.row_id)
        self.refresh_bindings()  # decline, snooze, resolve… depend on the row
        if event.row_id:
            self.query_one(AlertTable).mark_seen([event.row_id])

    @on(AlertTable.Selected)
    def _selected(self, event: AlertTable.Selected) -> None:
        if self.has_class("narrow") and not self.has_class("detail-open"):
            self.add_class("detail-open")  # narrow: the detail first, then its incident
            return
        self.action_open_incident()

    def action_open_incident(self) -> None:
        """Enter on the detail (or the row): the incident the row belongs to."""
        self.incident_keys.open(self._current())

    @on(AlertTable.MarkToggled)
    def _marks_changed(self, event: AlertTable.MarkToggled) -> None:
        self.refresh_bindings()  # the keys act on the marked rows: which may, follows them

    @on(StatusBar.ErrorsRequested)
    def _errors_requested(self, event: StatusBar.ErrorsRequested) -> None:
        self.action_show_errors()

    def _show_detail(self, row_id: str | None) -> None:
        detail = self.query_one(AlertDetail)
        row = self.query_one(AlertTable).get_row(row_id) if row_id else None
        if row is None:
            detail.show_nothing()
            detail.fired_before.show_nothing()
            return
        pages = [p for p in self._items(row) if isinstance(p, Page)]
        alert = self._first_alert(row)
        path = self._path(pages[0]) if pages else None
        series_state = self._sparkline_state(self._graph_alert(row))
        snap = self._snapshot
        levels = (
            paging.path_view(
                path,
                pages[0] if pages else None,
                schedules=snap.schedules,
                shifts=snap.shifts,
                people=snap.people,
                now=utcnow(),
                next_level_at=row.next_level_at,
            )
            if path is not None
            else ()
        )
        by_key, _ = self._alert_lookup()
        ids = [by_key[k].id for k in row.alert_keys if k in by_key]
        ids += [a for p in pages for a in p.alert_ids]
        mine_sent = sent.belonging(
            self._page_rows.split(snap.pages, snap.paths, snap.me).sent,
            sent.row_tokens(row.page_ids, row.alert_keys, ids),
        )
        detail.show(
            row,
            pages=pages,
            sent=mine_sent,
            alert=alert,
            path=path,
            levels=levels,
            series=series_state,
            incident=self.incident_keys.view(row),
            now=utcnow(),
            zone=self.session.settings.display_zone(),
            source=self._source_view(row),
        )
        detail.set_stale(self._stale_since(row))
        # "Fired before?" for the alert behind the row, asked on demand and kept a while.
        # (the Grafana or Alertmanager alert behind the row, and its incident.io alert)
        detail.fired_before.show_for(
            self._graph_alert(row), self.history, also=alert, reason="no alert behind this page"
        )

    def action_graph(self) -> None:
        """The wider chart of the row's metric (the alert behind a page, or its own)."""
        row = self._current()
        alert = self._graph_alert(row)
        if row is None or alert is None:
            self.fail("This row has no alert with a metric.")
            return
        cached = self._sparklines.get(alert.key)
        first = cached[1] if cached is not None and isinstance(cached[1], Series) else None
        backends = self.session.backends

        async def fetch(now: datetime, window: timedelta) -> Series | str:
            return await graphs.fetch_metric(alert, backends, now, window)

        zone = self.session.settings.display_zone()
        self.app.push_screen(ChartScreen(row.title, fetch, zone=zone, first=first))

    def _source_view(self, row: views.AlertRow) -> SourceView | None:
        """The alert behind a page or incident.io alert row, or why there is none."""
        if self._live.source is None:
            return None
        if self._hosts is None:
            self._hosts = configured_hosts(self.session.settings)
        by_key, _ = self._alert_lookup()
        return row_source(row, self._snapshot.pages, by_key, self._live.links, self._hosts)

    def _sparkline_state(self, alert: Alert | None) -> Series | str | None:
        """A cached series (or the reason there is none), or start fetching one; returns
        what to show now."""
        if alert is None:
            return graphs.why_no_metric(None, self.session.backends)
        cached = self._sparklines.get(alert.key)
        now = utcnow()
        if cached is not None and now - cached[0] < SPARKLINE_TTL:
            return cached[1]
        self._fetch_sparkline(alert)
        return cached[1] if cached else "loading"

    @work(group="sparkline", exclusive=True, exit_on_error=False)
    async def _fetch_sparkline(self, alert: Alert) -> None:
        series = await graphs.fetch_metric(alert, self.session.backends, utcnow())
        self._sparklines[alert.key] = (utcnow(), series)
        if len(self._sparklines) > 500:
            oldest = sorted(self._sparklines, key=lambda k: self._sparklines[k][0])[:100]
            for key in oldest:
                self._sparklines.pop(key, None)
        row = self._current()
        shown = self._graph_alert(row)
        if row is not None and shown is not None and shown.key == alert.key:
            self._show_detail(row.key)

    # -- availability of keys -------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if self.unavailable_reason(action) else True

    def unavailable_reason(self, action: str) -> str | None:
        """Why ``action`` cannot run now, in words (None when it can). The footer dims
        such keys; pressing one shows this instead of doing nothing. Textual asks this of
        every key on every key press and binding refresh: the answers are kept for the
        row they were given for until the next tick or refresh."""
        row = self._current() if action in ROW_ACTIONS and self.is_mounted else None
        # What the key could do depends on the row, read-only mode and what the key's
        # token may do (capabilities, read again now and then).
        caps = getattr(self.session.backends, "capabilities", None)
        key = (action, id(row), id(caps), self.session.readonly)
        memo = self._reasons
        hit = memo.get(key)
        if hit is not None and hit[0] is row and hit[1] is caps:
            return hit[2]
        reason = self._unavailable_reason(action, row)
        memo[key] = (row, caps, reason)
        return reason

    def _unavailable_reason(self, action: str, row: views.AlertRow | None) -> str | None:
        label = next(
            (b.description for b in self.BINDINGS if isinstance(b, Binding) and b.action == action),
            action,
        )
        target = None
        if action in ROW_ACTIONS:
            target = (
                guard.NO_TARGET
                if row is None
                else guard.Target(
                    "page" if row.page_ids else "alert",
                    row.state,
                    title=row.title,
                    ended=resolved.ended_words(row, self.session.settings.display_zone()),
                )
            )
        refused = guard.why_not(
            action,
            readonly=self.session.readonly,
            backends=self.session.backends,
            target=target,
            label=label,
        )
        return str(refused) if refused is not None else None

    # -- filters, refresh, navigation ----------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filters(query=event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(AlertTable).focus()
        if not event.value:
            event.input.remove_class("shown")

    def action_scroll_detail(self, direction: int) -> None:
        """Scroll the detail pane by most of its height (the table keeps the cursor)."""
        pane = self.query_one(AlertDetail).scroller
        step = max(1, pane.scrollable_content_region.height - 2)
        pane.scroll_relative(y=direction * step, animate=False)

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            box.value = ""
            box.remove_class("shown")
            self.query_one(AlertTable).focus()
        elif self.has_class("detail-open"):
            self.remove_class("detail-open")

    def action_toggle_filter(self, name: str) -> None:
        value = not getattr(self.filters, name)
        self._set_filters(**{name: value})
        label = {
            "mine_only": "Mine only",
            "hide_acked": "Hide acked",
            "critical_only": "Critical only",
        }[name]
        self.app.notify(f"{label}: {'on' if value else 'off'}", timeout=2)

    def _set_filters(self, **changes) -> None:
        from dataclasses import replace

        self.filters = replace(self.filters, **changes)
        self.query_one(AlertTable).update_rows(self._rows())
        self._redraw_clock()

    def action_refresh(self) -> None:
        self.engine.poll_soon()  # the app polls every source on its next tick
        self._sparklines.clear()
        self.app.notify("Refreshing every source…", timeout=2)

    def action_newest_page(self) -> None:
        """Jump to the newest page that is paging me."""
        table = self.query_one(AlertTable)
        paging_rows = [r for r in table.rows if paging.row_is_paging_me(r.kind, r.state, r.mine)]
        if not paging_rows:
            self.app.notify("Nothing is paging you now.", timeout=4)
            return
        newest = max(paging_rows, key=lambda r: r.latest_at)
        table.move_cursor_to_key(newest.key)

    def action_show_errors(self) -> None:
        """Each source's last error, staleness, pacing and its share of the shared
        rate limit (the engine's words)."""
        now = utcnow()
        health = self._snapshot.health
        lines = freshness.source_detail(health, now, self.session.settings.display_zone())
        trouble = any(h.error for h in health) or bool(freshness.stale_sources(health, now))
        if not trouble:
            self.app.notify("Every source is answering.", timeout=15)
        for line in lines:
            self.app.notify(line, severity="warning" if trouble else "information", timeout=15)

    def action_calendar(self) -> None:
        self.oncall.open_calendar()

    def action_incidents(self) -> None:
        self.oncall.open_incidents()

    def action_declare(self) -> None:
        alert = self._first_alert(self._current())
        page = next((i for i in self._items(self._current()) if isinstance(i, Page)), None)
        self.incident_keys.declare(self._current(), alert, page)

    def action_watch(self) -> None:
        self.watch_keys.toggle(self._current())

    def action_quiet(self) -> None:
        toggle_quiet(self)

    def action_silences(self) -> None:
        """Every silence on every Grafana and Alertmanager (core.silences)."""
        from oncall_tui.ui.screens.silences import SilencesScreen

        self.app.push_screen(SilencesScreen(self.session))

    @work(group="links", exclusive=True, exit_on_error=False)
    async def action_quick_links(self) -> None:
        """The quick links by region; Enter opens one (never blocking)."""
        link = await self.app.push_screen_wait(LinksScreen(configured_links(self.app)))
        if link is not None:
            open_quick_link(self.app, link)
