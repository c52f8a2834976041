"""The dashboard's first frame, drawn from the last run's snapshot cache before the
session exists.

Start-up (:func:`oncall_tui.ui.launch.start_from_cache`) shows this screen first: the
dashboard's own layout and widgets (:class:`DashboardFrame`), filled from the cached
snapshot alone and marked with its age ("from 14:02, refreshing…"). Only then are the
settings, the backends, the session and the dashboard's actions loaded, and the
dashboard takes its place, drawn from the same snapshot.
"""

from __future__ import annotations

from datetime import tzinfo

from textual.app import ComposeResult
from textual.widgets import Static

from oncall_tui.core import views
from oncall_tui.domain import Snapshot
from oncall_tui.ui.screens.dashboard_frame import EXIT_AFTER_DATA, DashboardFrame
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.shift_panel import ShiftPanel
from oncall_tui.ui.widgets.status_bar import StatusBar


class FirstFrameScreen(DashboardFrame):
    """The dashboard as the cache has it (see module doc); no keys of its own (keys
    typed meanwhile wait for the dashboard)."""

    def __init__(self, snapshot: Snapshot, *, zone: tzinfo, readonly: bool, notice: str) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.zone = zone
        self.readonly = readonly
        self.notice = notice

    def compose(self) -> ComposeResult:
        yield from self.frame(Static(id="detail"))

    def on_mount(self) -> None:
        snap = self.snapshot
        self.query_one(ShiftPanel).update_view(snap, zone=self.zone)
        index = views.AlertIndex(snap.alerts)
        rows = views.alert_rows(snap.pages, index, snap.paths, snap.me, views.AlertFilter())
        table = self.query_one(AlertTable)
        table.update_rows(rows)
        table.focus()
        self.query_one(StatusBar).update_health(
            snap.health, readonly=self.readonly, notices=(self.notice,)
        )
        if EXIT_AFTER_DATA and (snap.alerts or snap.pages) and snap.shifts:
            # Benchmarks: leave once the first frame showing data has been drawn.
            self.call_after_refresh(self.app.exit, 0)
