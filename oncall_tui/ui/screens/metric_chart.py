"""The wider graph (``G`` on a row): a large block chart of the last hour, or six hours.

The chart fills the screen: the value axis on the left (the top and bottom values, and
the threshold where its line runs), the time axis underneath (the window's start, its
middle, and now), and the same words as the detail's sparkline (span, unit or range,
now against the peak, against the threshold since when, the trend, and any doubt about
the samples). ``6`` shows six hours, ``1`` the last hour again; each is fetched in a
worker, so a slow source shows "loading…" and never blocks the keys. A metric that
cannot be fetched shows why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from oncall_tui.core import timefmt
from oncall_tui.core.metric import format_value
from oncall_tui.core.sync import utcnow
from oncall_tui.domain import Series
from oncall_tui.ui.chart import axis_bounds, chart_lines, columns
from oncall_tui.ui.text import clean
from oncall_tui.ui.widgets.sparkline import metric_caption

Fetch = Callable[[datetime, timedelta], Awaitable[Series | str]]
HOUR = timedelta(hours=1)
SIX_HOURS = timedelta(hours=6)
AXIS = 9  # cells for the value labels on the left

__all__ = ["ChartScreen"]


class ChartScreen(ModalScreen[None]):
    """A large chart of one alert's metric."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,G", "dismiss", "Close", id="chart.close"),
        Binding("1", "window(1)", "Last hour", id="chart.hour"),
        Binding("6", "window(6)", "Six hours", id="chart.six_hours"),
    ]

    DEFAULT_CSS = """
    ChartScreen { align: center middle; }
    ChartScreen > Vertical {
        width: 1fr; height: 1fr; margin: 1 2; padding: 0 1;
        background: $surface; border: round $primary;
    }
    ChartScreen #chart-title { text-style: bold; height: auto; }
    ChartScreen #chart-plot { height: 1fr; }
    ChartScreen #chart-caption { height: auto; }
    ChartScreen #chart-keys { height: 1; color: $foreground-muted; }
    """

    def __init__(
        self,
        title: str,
        fetch: Fetch,
        *,
        zone: timefmt.ZoneLike = None,
        first: Series | None = None,
    ) -> None:
        super().__init__()
        self._title = title
        self._fetch = fetch
        self.zone = zone
        self.window = HOUR
        self.state: Series | str = first if first is not None else "loading"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="chart-title", markup=False)
            yield Static(id="chart-plot", markup=False)
            yield Static(id="chart-caption", markup=False)
            yield Static(
                Content("1 last hour · 6 six hours · Esc close"), id="chart-keys", markup=False
            )

    def on_mount(self) -> None:
        self._redraw()
        self._load(self.window)

    def on_resize(self) -> None:
        self._redraw()

    def action_window(self, hours: int) -> None:
        window = SIX_HOURS if hours == 6 else HOUR
        if window == self.window and isinstance(self.state, Series):
            return
        self.window, self.state = window, "loading"
        self._redraw()
        self._load(window)

    @work(group="chart", exclusive=True, exit_on_error=False)
    async def _load(self, window: timedelta) -> None:
        result = await self._fetch(utcnow(), window)
        if window == self.window:
            self.state = result
            self._redraw()

    # -- drawing --------------------------------------------------------------------

    def title_content(self) -> Content:
        span = "six hours" if self.window == SIX_HOURS else "the last hour"
        return Content.assemble(
            clean(self._title, limit=300) or "(no title)", (f"  ·  {span}", "$foreground-muted")
        )

    def plot_content(self, width: int, height: int) -> Content:
        state = self.state
        if not isinstance(state, Series):
            words = f"loading {self._span_words()}…" if state == "loading" else state
            return Content.styled(clean(words, limit=400), "$foreground-muted")
        width = max(10, width - AXIS)
        rows = max(3, height - 1)
        lines = chart_lines(state, width, rows)
        low, high = axis_bounds(columns(state, width), state.threshold)
        labels = {0: format_value(high), rows - 1: format_value(low)}
        if state.threshold is not None:
            step = (high - low) / rows
            for level in state.threshold.levels:
                if low <= level <= high:
                    at = rows - 1 - min(rows - 1, int((level - low) / step))
                    labels[at] = "╌" + format_value(level)
        out = []
        for n, line in enumerate(lines):
            label = labels.get(n, "")[: AXIS - 1].rjust(AXIS - 1) + " "
            style = "$major" if label.strip().startswith("╌") else "$foreground-muted"
            out.append(Content.assemble((label, style), line))
        out.append(Content.styled(" " * AXIS + self._time_axis(state, width), "$foreground-muted"))
        return Content("\n").join(out)

    def _span_words(self) -> str:
        return "six hours" if self.window == SIX_HOURS else "the last hour"

    def _time_axis(self, series: Series, width: int) -> str:
        end = series.end or (series.points[-1][0] if series.points else utcnow())
        start = series.start or end - self.window
        middle = start + (end - start) / 2

        def clock(t: datetime) -> str:
            return timefmt.format_clock(t, self.zone, with_zone=False)

        left, mid, right = clock(start), clock(middle), "now " + clock(end)
        gap = max(1, (width - len(left) - len(mid) - len(right)) // 2)
        text = left + " " * gap + mid + " " * gap + right
        return text[:width].ljust(width)

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        self.query_one("#chart-title", Static).update(self.title_content())
        plot = self.query_one("#chart-plot", Static)
        size = plot.size
        plot.update(self.plot_content(size.width or 60, size.height or 12))
        caption = self.query_one("#chart-caption", Static)
        if isinstance(self.state, Series):
            caption.update(metric_caption(self.state, utcnow(), self.zone))
        else:
            caption.update("")
