"""A metric over the last hour: bars, peak, now, and the trend in words.

Shows one of three states: loading ("loading metric…"), no metric ("no metric for this
alert", or a reason given by the screen), or the series as a Textual
:class:`~textual.widgets.Sparkline` with a caption such as "peak 812 ms · now 230 ms ·
falling, 72% below peak" from :func:`oncall_tui.core.trend.summarize`.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from oncall_tui.core import trend as trend_mod
from oncall_tui.domain import Series, Trend
from oncall_tui.ui.text import clean

__all__ = ["MetricSparkline", "format_value"]


def format_value(value: float, unit: str = "") -> str:
    """A number short enough for a caption: "812", "1.2k", "3.4M", "0.023"."""
    if not math.isfinite(value):
        return "—"
    size = abs(value)
    if size >= 1e9:
        text = f"{value / 1e9:.1f}G"
    elif size >= 1e6:
        text = f"{value / 1e6:.1f}M"
    elif size >= 1e4:
        text = f"{value / 1e3:.1f}k"
    elif size >= 100 or value == int(value):
        text = f"{value:.0f}"
    elif size >= 1:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.3g}"
    unit = clean(unit, limit=12)
    return f"{text} {unit}" if unit else text


class MetricSparkline(Widget):
    """Bars of a :class:`~oncall_tui.domain.Series` with its summary underneath."""

    DEFAULT_CSS = """
    MetricSparkline {
        height: auto;
        width: 1fr;
        margin-bottom: 1;
        & > Sparkline { height: 2; margin: 0 0; }
        & > Sparkline > .sparkline--max-color { color: $major; }
        & > Sparkline > .sparkline--min-color { color: $info; }
        & > #spark-caption { height: auto; }
        &.-empty > Sparkline { display: none; }
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._series: Series | None = None
        self._trend: Trend | None = None
        self._state = "none"
        self._reason = "no metric for this alert"

    def compose(self) -> ComposeResult:
        yield Sparkline([])
        yield Static(id="spark-caption", markup=False)

    def on_mount(self) -> None:
        self._redraw()

    # -- public API ----------------------------------------------------------------

    @property
    def trend(self) -> Trend | None:
        return self._trend

    def show_loading(self) -> None:
        self._state, self._series, self._trend = "loading", None, None
        self._redraw()

    def show_none(self, reason: str = "no metric for this alert") -> None:
        self._state, self._series, self._trend = "none", None, None
        self._reason = reason
        self._redraw()

    def show_series(self, series: Series | None) -> None:
        """Draw ``series``; None or a series with no finite point shows "no metric"."""
        if series is None:
            self.show_none()
            return
        summary = trend_mod.summarize(series)
        if summary.direction == trend_mod.UNKNOWN and not math.isfinite(summary.peak):
            self.show_none("no data for this metric in the last hour")
            return
        self._state, self._series, self._trend = "series", series, summary
        self._redraw()

    def caption(self) -> Content:
        if self._state == "loading":
            return Content.styled("loading metric…", "italic $foreground-muted")
        if self._state == "none" or self._series is None or self._trend is None:
            return Content.styled(clean(self._reason), "$foreground-muted")
        unit = self._series.unit
        t = self._trend
        colour = {"rising": "$critical", "falling": "$acked"}.get(t.direction, "$info")
        return Content.assemble(
            (clean(self._series.name, limit=120) or "metric", "bold"),
            ("  peak ", "$foreground-muted"),
            format_value(t.peak, unit),
            (" · now ", "$foreground-muted"),
            (format_value(t.now, unit), "bold"),
            (" · ", "$foreground-muted"),
            (clean(t.words, limit=120), colour),
        )

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        spark = self.query_one(Sparkline)
        if self._state == "series" and self._series is not None:
            values = [v for _, v in self._series.points if isinstance(v, int | float)]
            spark.data = [v for v in values if math.isfinite(v)]
            self.remove_class("-empty")
        else:
            spark.data = []
            self.add_class("-empty")
        self.query_one("#spark-caption", Static).update(self.caption())
