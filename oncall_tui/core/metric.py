"""A metric in words a person can trust at 3 a.m.: what the sparkline and the chart say.

:func:`describe` turns a :class:`~oncall_tui.domain.Series` into the facts the graph
shows around its bars: the time span ("last 1h"), the unit or else the value range,
"now" against the peak (and when the peak was), where the value stands against the
rule's threshold and since when, the trend in words (:mod:`oncall_tui.core.trend`), and
what makes the picture doubtful: samples from the future (the clocks of the two
machines differ) or no sample for a while (the metric stopped, or its data lags).

Pure: no I/O; ``now`` is a parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from oncall_tui.core import timefmt
from oncall_tui.core import trend as trend_mod
from oncall_tui.domain import Series, Threshold, Trend
from oncall_tui.safety import clean_text

# Samples this far ahead of our clock mean the clocks differ (a little is normal).
SKEW_TOLERANCE = timedelta(seconds=90)
# No sample for this share of the window (and at least this long) means the data lags.
QUIET_SHARE = 0.1
QUIET_MIN = timedelta(minutes=3)

__all__ = ["MetricFacts", "clock_ahead", "describe", "format_value", "threshold_words"]


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
    unit = clean_text(unit, limit=12)
    return f"{text} {unit}" if unit else text


def threshold_words(threshold: Threshold, unit: str = "") -> str:
    """ "> 600", "outside 10–90"."""
    if threshold.upper is not None:
        low, high = format_value(threshold.value), format_value(threshold.upper, unit)
        return f"{threshold.op} {low}–{high}"
    return f"{threshold.op} {format_value(threshold.value, unit)}"


@dataclass(frozen=True, slots=True)
class MetricFacts:
    """What the graph says, each as a short phrase ("" when it does not apply)."""

    trend: Trend
    span: str  # "last 1h"
    scale: str  # "unit s" or "range 45–742"
    now_vs_peak: str  # "now 626 · peak 742 at 10:27"
    against_threshold: str  # "above > 600 since 10:19 (12m)"; "" without a threshold
    doubt: str  # "samples up to 4m ahead of this clock: the clocks differ"; ""
    peak_at: datetime | None = None
    first: datetime | None = None
    last: datetime | None = None


def _finite(series: Series) -> list[tuple[datetime, float]]:
    out = []
    for when, value in series.points:
        if isinstance(value, int | float) and math.isfinite(value):
            out.append((when, float(value)))
    out.sort(key=lambda p: p[0])
    return out


def _span(series: Series, points: list[tuple[datetime, float]]) -> timedelta:
    if series.start is not None and series.end is not None and series.end > series.start:
        return series.end - series.start
    if len(points) > 1:
        return points[-1][0] - points[0][0]
    return timedelta()


def describe(series: Series, now: datetime, zone: timefmt.ZoneLike = None) -> MetricFacts:
    """The facts the graph shows; never raises for any values."""
    summary = trend_mod.summarize(series)
    points = _finite(series)
    span = _span(series, points)
    span_words = f"last {timefmt.format_duration(span)}" if span > timedelta() else ""
    if not points:
        return MetricFacts(summary, span_words, "", "", "", "no samples in this window")
    unit = series.unit
    scale = (
        f"unit {unit}"
        if unit
        else f"range {format_value(summary.low)}–{format_value(summary.peak)}"
    )
    peak_at = max(points, key=lambda p: p[1])[0]
    when = timefmt.format_clock(peak_at, zone, with_zone=False)
    if summary.now == summary.peak:
        now_vs_peak = f"now {format_value(summary.now, unit)} (the peak)"
    else:
        now_vs_peak = (
            f"now {format_value(summary.now, unit)} · peak "
            f"{format_value(summary.peak, unit)} at {when}"
        )
    return MetricFacts(
        trend=summary,
        span=span_words,
        scale=scale,
        now_vs_peak=now_vs_peak,
        against_threshold=_against(series.threshold, points, unit, now, zone),
        doubt=_doubt(points, span, now),
        peak_at=peak_at,
        first=points[0][0],
        last=points[-1][0],
    )


def _against(
    threshold: Threshold | None,
    points: list[tuple[datetime, float]],
    unit: str,
    now: datetime,
    zone: timefmt.ZoneLike,
) -> str:
    if threshold is None:
        return ""
    line = threshold_words(threshold, unit)
    breached = threshold.breached(points[-1][1])
    since = points[-1][0]
    for when, value in reversed(points):
        if threshold.breached(value) != breached:
            break
        since = when
    where = "past the threshold" if breached else "within the threshold"
    if since == points[0][0]:
        return f"{where} ({line}) all window"
    clock = timefmt.format_clock(since, zone, with_zone=False)
    return f"{where} ({line}) since {clock} ({timefmt.ago(since, now)})"


def clock_ahead(when: datetime, now: datetime) -> str:
    """ "4m" when ``when`` (a time another source gave) is that far ahead of ``now``,
    more than the skew a network round trip explains; else ""."""
    ahead = when - now
    return timefmt.format_duration(ahead) if ahead > SKEW_TOLERANCE else ""


def _doubt(points: list[tuple[datetime, float]], span: timedelta, now: datetime) -> str:
    last = points[-1][0]
    ahead = clock_ahead(last, now)
    if ahead:
        return (
            f"samples up to {ahead} ahead of this machine's clock: "
            "the clocks differ, times may be off"
        )
    behind = now - last
    if behind > max(QUIET_MIN, span * QUIET_SHARE):
        return f"no sample for {timefmt.format_duration(behind)}: the metric stopped or lags"
    return ""
