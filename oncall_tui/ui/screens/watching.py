"""``W`` on the dashboard: watch a page or alert, and be told when it resolves or rises
past its last peak (the rule is :mod:`oncall_tui.core.watch`). Watched rows carry a ◎;
the command palette lists them (:class:`WatchCommands`), and choosing one moves the
cursor to it. Notices go through the app's one notification path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from oncall_tui.core import views
from oncall_tui.core.graphs import fetch_metric
from oncall_tui.core.metric import format_value
from oncall_tui.core.session import cache_identity
from oncall_tui.core.sync import utcnow
from oncall_tui.core.watch import (
    WatchList,
    default_path,
    event_notice,
    start,
    unwatch_words,
    watch_words,
)
from oncall_tui.domain import Alert, Page, Series
from oncall_tui.ui.widgets.alert_table import AlertTable

if TYPE_CHECKING:
    from oncall_tui.ui.screens.dashboard import DashboardScreen

__all__ = ["CHECK_EVERY", "WatchCommands", "WatchKeys"]

CHECK_EVERY = 15.0  # seconds between looks at the watched items (and after each poll)
SERIES_EVERY = timedelta(seconds=30)  # a watched metric is read at most this often


class WatchKeys:
    """The dashboard's watch list: ``W``, the ◎ marker and the periodic check."""

    def __init__(self, screen: DashboardScreen, path=None) -> None:
        self.screen = screen
        session = screen.session
        demo = session.demo is not None
        # A demo's list belongs to its run of the world; a real one to its configuration.
        identity = (
            f"demo:{getattr(session.demo, 'run_id', '')}"
            if demo
            else cache_identity(session.settings)
        )
        path = path if path is not None else default_path(demo=demo)
        self.list = WatchList.load(path, identity)
        self.checks = 0
        self._checking = False
        self._series_at: dict[str, tuple[datetime, Series | None]] = {}

    def start_checking(self) -> None:
        if self.list.problem:
            self.screen.fail(f"{self.list.problem[0].upper()}{self.list.problem[1:]}.")
        self.mark()
        self.screen.set_interval(CHECK_EVERY, self.check, name="watch-check")

    # -- W --------------------------------------------------------------------------

    def toggle(self, row: views.AlertRow | None) -> None:
        if row is None:
            self.screen.fail("Nothing selected: W watches the page or alert under the cursor.")
            return
        watched = self.list.find(row.key, row.page_ids, row.alert_keys)
        if watched is not None:
            self.list.remove(watched)
            self._said(unwatch_words(watched))
            self.mark()
            return
        self.screen.run_worker(self._watch(row), group="watch-start", exit_on_error=False)

    async def _watch(self, row: views.AlertRow) -> None:
        items = self.screen._items(row)
        pages = [i for i in items if isinstance(i, Page)]
        alerts = [i for i in items if isinstance(i, Alert)]
        metric = self.screen._graph_alert(row)  # the Grafana alert behind a page, if any
        if metric is not None and all(a.key != metric.key for a in alerts):
            alerts.append(metric)
        series = await self._series(metric) if metric is not None else None
        if self.list.find(row.key, row.page_ids, row.alert_keys) is not None:
            self.screen.say(f"“{row.title}” is already watched.")
            return
        watch = start(row.key, row.title, pages, alerts, metric, series, utcnow())
        if not self.list.add(watch):
            self.screen.fail(f"Not watched: the watch list is full ({len(self.list.items)}).")
            return
        self._said(watch_words(watch, format_value))
        self.mark()

    def _said(self, words: str) -> None:
        if self.list.problem:
            words += f" (Kept for this session only: {self.list.problem}.)"
            self.screen.fail(words)
        else:
            self.screen.say(words)

    async def _series(self, alert: Alert) -> Series | None:
        """The alert's metric over the last hour (None: it has none, or it could not be
        read now)."""
        found = await fetch_metric(alert, self.screen.session.backends, utcnow())
        return found if isinstance(found, Series) else None

    # -- the marker -----------------------------------------------------------------

    def mark(self) -> None:
        """Put the ◎ on the watched rows (the table asks for the rows it draws)."""
        self.screen.query_one(AlertTable).set_watch_test(
            self.list.watches if self.list.items else None
        )

    # -- the check ------------------------------------------------------------------

    def check(self) -> None:
        """Look at the watched items now (on the timer, and after each poll)."""
        if self.list.items and not self._checking:
            self._checking = True
            self.screen.run_worker(self._check(), group="watch-check", exit_on_error=False)

    async def _check(self) -> None:
        try:
            await self._check_now()
        finally:
            self._checking = False

    async def _check_now(self) -> None:
        by_key, _ = self.screen._alert_lookup()
        series: dict[str, Series | None] = {}
        for watch in list(self.list.items.values()):
            alert = by_key.get(watch.metric_key) if watch.metric_key else None
            if alert is None:
                continue
            known = self._series_at.get(alert.key)
            if known is None or utcnow() - known[0] >= SERIES_EVERY:
                known = (utcnow(), await self._series(alert))
                self._series_at[alert.key] = known
            series[watch.metric_key] = known[1]
        snap = self.screen._snapshot  # the latest, after the metrics were read
        by_key, _ = self.screen._alert_lookup()
        events = self.list.check(
            {p.id: p for p in snap.pages},
            by_key,
            series,
            snap.health,
            utcnow(),
            cached=snap.cached_from is not None,
        )
        self.checks += 1
        if events:
            self.screen.oncall.send_notices([event_notice(e, format_value) for e in events])
            self.mark()

    # -- the palette ----------------------------------------------------------------

    def go_to(self, key: str) -> None:
        """Move the cursor to the watched item ``key`` (where it is listed now)."""
        watch = self.list.items.get(key)
        if watch is None:
            return
        table = self.screen.query_one(AlertTable)
        for row in table.rows:
            if watch.covers(row.key, row.page_ids, row.alert_keys):
                table.move_cursor_to_key(row.key)
                table.focus()
                return
        self.screen.fail(f"“{watch.title}” is not in the list now (a filter may hide it).")


class WatchCommands(Provider):
    """The watched items in the command palette: "Watched: Checkout p99 latency"."""

    def _commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        keys: Any = getattr(self.screen, "watch_keys", None)
        if keys is None:
            return []
        out = []
        for watch in keys.list.items.values():
            peak = f"peak {format_value(watch.peak, watch.unit)}" if watch.peak is not None else ""
            out.append((f"Watched: {watch.title}", peak, self._runner(keys, watch.key)))
        return out

    @staticmethod
    def _runner(keys: WatchKeys, key: str) -> Callable[[], None]:
        def run() -> None:
            keys.go_to(key)

        return run

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            yield DiscoveryHit(title, run, help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help=help_text or None)
