"""The dashboard's layout, shared by the dashboard and its first frame.

:class:`DashboardFrame` lays out the header, the stale banner, the shift panel, the alert
table beside its detail, the status bar and the footer, with the styles and the size
classes (``narrow``, ``short``) of both. It imports only the widgets the first frame
draws, so the first frame (:mod:`oncall_tui.ui.screens.first_frame`) is drawn before the
dashboard's actions, backends and their imports are loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Static

from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.key_footer import KeyFooter
from oncall_tui.ui.widgets.shift_panel import ShiftPanel
from oncall_tui.ui.widgets.status_bar import StatusBar

NARROW_WIDTH = 110  # below this many columns the detail is shown instead of the table
SHORT_HEIGHT = 30  # below this many rows the shift panel is cut to three lines
# Benchmarks: leave once the first frame showing data has been drawn.
EXIT_AFTER_DATA = bool(os.environ.get("ONCALL_TUI_EXIT_AFTER_DATA"))


class DashboardFrame(Screen):
    """The dashboard's layout (see module doc). ``#detail`` is the detail pane."""

    DEFAULT_CSS = """
    DashboardFrame #stale-banner {
        display: none; height: auto; padding: 0 1;
        background: $stale 30%; color: $foreground; text-style: bold;
    }
    DashboardFrame #stale-banner.shown { display: block; }
    DashboardFrame #body { height: 1fr; }
    DashboardFrame #left { width: 3fr; min-width: 50; }
    DashboardFrame AlertTable { height: 1fr; }
    DashboardFrame #detail { width: 2fr; min-width: 36; border-left: vkey $panel; }
    DashboardFrame #filter { dock: bottom; display: none; }
    DashboardFrame #filter.shown { display: block; }
    DashboardFrame.narrow #detail { display: none; }
    DashboardFrame.narrow.detail-open #detail { display: block; width: 1fr; }
    DashboardFrame.narrow.detail-open #left { display: none; }
    DashboardFrame.short ShiftPanel { max-height: 3; }
    /* Toasts stack above the status bar, not over it: a source going stale, or the
       READ-ONLY badge, must stay readable while a notice is up. */
    DashboardFrame ToastRack { margin-bottom: 2; }
    """

    def frame(self, detail: Widget, below: Iterable[Widget] = ()) -> Iterator[Widget]:
        """The layout's widgets, for ``compose``: ``detail`` beside the table, ``below``
        (the filter box) above the status bar. The widgets tick on the screen's one
        clock, not on timers of their own; the header has no clock (it would repaint
        every second)."""
        # Size classes before the first styling: set after mount, each restyles every widget.
        self.apply_size(*self.app.size, update=False)
        yield Header(icon="☎")
        # "incident.io: no answer since 14:02 (3m) — showing what was known then"
        yield Static(id="stale-banner", markup=False)
        yield ShiftPanel(id="shifts", ticks=False)
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield AlertTable(id="alerts", empty_text="Loading pages and alerts…", ticks=False)
            yield detail
        yield from below
        yield StatusBar(id="status", ticks=False)
        # Compact, with the rarer keys left to help (?) and the palette; Help and Quit
        # always show, the other keys as the width allows (shorter labels when narrow).
        yield KeyFooter(compact=True)

    def apply_size(self, width: int, height: int, *, update: bool = True) -> None:
        self.set_class(width < NARROW_WIDTH, "narrow", update=update)
        self.set_class(height < SHORT_HEIGHT, "short", update=update)
