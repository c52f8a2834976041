"""A metric over the last hour: bars with the threshold line, and what they say in words.

Shows one of three states: loading ("loading metric…"), no metric ("no metric for this
alert", or the reason the screen gives: "metric not available: grafana:us timed out"),
or the series as a small block chart (:func:`oncall_tui.ui.chart.chart_lines`, with the
rule's threshold as a dashed line) and a caption from :func:`oncall_tui.core.metric.describe`:

    ledger lag  last 1h · range 45–650 · threshold > 600
    now 650 (the peak) · past the threshold (> 600) since 10:19 (1m ago)
    rising, at its peak

plus a warning line when the samples are doubtful (a skewed clock, no recent sample).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from oncall_tui.core import metric, timefmt
from oncall_tui.core import trend as trend_mod
from oncall_tui.core.metric import format_value
from oncall_tui.domain import Series, Trend
from oncall_tui.ui.chart import chart_lines
from oncall_tui.ui.text import clean

__all__ = ["MetricSparkline", "format_value", "metric_caption"]

CHART_HEIGHT = 3
NAME_LIMIT = 48  # a long query is cut: the rule's name is above it


def metric_caption(series: Series, now: datetime, zone: timefmt.ZoneLike = None) -> Content:
    """The words under a chart: name, span, scale and threshold; now against the peak and
    the threshold; the trend; and any doubt about the samples."""
    facts = metric.describe(series, now, zone)
    t = facts.trend
    head = [facts.span, facts.scale]
    if series.threshold is not None:
        head.append("threshold " + metric.threshold_words(series.threshold, series.unit))
    colour = {"rising": "$critical", "falling": "$acked"}.get(t.direction, "$info")
    parts: list[tuple[str, str] | str] = [
        (clean(series.name, limit=NAME_LIMIT) or "metric", "bold"),
        ("  " + " · ".join(h for h in head if h), "$foreground-muted"),
        "\n",
        (facts.now_vs_peak, "bold"),
    ]
    if facts.against_threshold:
        breached = facts.against_threshold.startswith("past")
        parts.append((" · ", "$foreground-muted"))
        parts.append((facts.against_threshold, "$critical" if breached else "$acked"))
    parts.append("\n")
    parts.append((clean(t.words, limit=120), colour))
    if facts.doubt:
        parts.append("\n")
        parts.append((f"⚠ {facts.doubt}", "bold $warning"))
    return Content.assemble(*parts)


class MetricSparkline(Widget):
    """A small chart of a :class:`~oncall_tui.domain.Series` with its summary underneath."""

    DEFAULT_CSS = """
    MetricSparkline {
        height: auto;
        width: 1fr;
        margin-bottom: 1;
        & > #spark-chart { height: auto; }
        & > #spark-caption { height: auto; }
        &.-empty > #spark-chart { display: none; }
    }
    """

    def __init__(
        self,
        *,
        clock=None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.zone: timefmt.ZoneLike = None
        self._series: Series | None = None
        self._trend: Trend | None = None
        self._state = "none"
        self._reason = "no metric for this alert"
        self._caption: str | None = None  # the caption shown, as markup

    def compose(self) -> ComposeResult:
        yield Static(id="spark-chart", markup=False)
        yield Static(id="spark-caption", markup=False)

    def on_mount(self) -> None:
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    # -- public API ----------------------------------------------------------------

    @property
    def trend(self) -> Trend | None:
        return self._trend

    @property
    def series(self) -> Series | None:
        return self._series

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
        return metric_caption(self._series, self._clock(), self.zone)

    def chart(self, width: int) -> Content:
        if self._state != "series" or self._series is None:
            return Content("")
        return Content("\n").join(chart_lines(self._series, width, CHART_HEIGHT))

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        chart = self.query_one("#spark-chart", Static)
        if self._state == "series" and self._series is not None:
            chart.update(self.chart(max(10, self.size.width)))
            self.remove_class("-empty")
        else:
            chart.update("")
            self.add_class("-empty")
        caption = self.caption()
        if caption.markup != self._caption:  # the same words again: no new layout
            self._caption = caption.markup
            self.query_one("#spark-caption", Static).update(caption)
