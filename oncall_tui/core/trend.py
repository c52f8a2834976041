"""Summarise a metric series in words a person reads at 3 a.m.

Pure functions, no I/O. ``summarize`` turns the points behind an alert's sparkline into
a :class:`~oncall_tui.domain.Trend`: the peak, the latest value, the low, which way it
is heading, and a short phrase such as "falling, 40% below peak".

Rules, so the words can be trusted:

* non-finite samples (NaN, ±inf) are gaps and ignored; an empty or all-gap series is
  ``unknown``, and so is a single sample (one point has no direction);
* the direction is the least-squares slope over the most recent tenth of the series
  (at least three points), measured against the whole series' range: a change smaller
  than ``FLAT_SHARE`` of the range over that tail is ``flat``;
* "x% below peak" is relative to the peak when every value is non-negative and the peak
  is positive (latency, error rate, queue depth); otherwise it is the share of the
  series' range, and the words say so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from oncall_tui.domain import Series, Trend

RISING = "rising"
FALLING = "falling"
FLAT = "flat"
UNKNOWN = "unknown"

FLAT_SHARE = 0.05  # tail change below 5% of the range reads as flat
AT_EXTREME_SHARE = 0.02  # within 2% of the range counts as "at its peak/low"
TAIL_SHARE = 0.1


def _finite_points(series: Series) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for when, value in series.points:
        try:
            v = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(v):
            continue
        t = when.timestamp() if isinstance(when, datetime) else float(when)
        if math.isfinite(t):
            points.append((t, v))
    points.sort(key=lambda p: p[0])
    return points


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope (value per second); falls back to index spacing."""
    n = len(points)
    xs = [p[0] for p in points]
    if max(xs) - min(xs) <= 0:
        xs = [float(i) for i in range(n)]
    ys = [p[1] for p in points]
    mean_x = math.fsum(xs) / n
    mean_y = math.fsum(ys) / n
    # Centre before multiplying so huge magnitudes do not overflow.
    sxx = math.fsum((x - mean_x) ** 2 for x in xs)
    if sxx <= 0:
        return 0.0
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    if not math.isfinite(slope):
        # Fall back to the endpoint difference (still finite for finite inputs).
        span = xs[-1] - xs[0]
        return (ys[-1] - ys[0]) / span if span else 0.0
    return slope


def _fmt_pct(share: float) -> str:
    pct = share * 100
    if pct >= 10:
        return f"{pct:.0f}%"
    return f"{pct:.1f}%".replace(".0%", "%")


def summarize(series: Series) -> Trend:
    """Summarise ``series``; never raises for any float values."""
    points = _finite_points(series)
    if not points:
        return Trend(math.nan, math.nan, math.nan, UNKNOWN, "no data")
    values = [v for _, v in points]
    peak = max(values)
    low = min(values)
    now = values[-1]
    if len(points) == 1:
        return Trend(peak, now, low, UNKNOWN, "one sample, no trend yet")

    # Ranges of huge opposite-signed values can overflow; halve both sides instead.
    span = peak - low if math.isfinite(peak - low) else math.inf
    scale = max(1.0, abs(peak), abs(low))
    if span <= 1e-12 * scale:
        return Trend(peak, now, low, FLAT, "flat")

    tail_len = min(len(points), max(3, math.ceil(len(points) * TAIL_SHARE)))
    tail = points[-tail_len:]
    duration = tail[-1][0] - tail[0][0]
    slope = _slope(tail)
    change = slope * (duration if duration > 0 else (tail_len - 1))
    if not math.isfinite(change):
        change = tail[-1][1] - tail[0][1]

    if math.isfinite(span):
        share_of_range = abs(change) / span if span else 0.0
        from_peak = (peak - now) / span
        from_low = (now - low) / span
    else:  # values near the float limits: compare halves so nothing overflows
        half = peak / 2 - low / 2
        share_of_range = abs(change / 2) / half if half else 0.0
        from_peak = (peak / 2 - now / 2) / half if half else 0.0
        from_low = (now / 2 - low / 2) / half if half else 0.0

    direction = FLAT if share_of_range < FLAT_SHARE else (RISING if change > 0 else FALLING)

    if from_peak <= AT_EXTREME_SHARE:
        where = "at its peak"
    elif direction != RISING and from_low <= AT_EXTREME_SHARE:
        where = "back at its low" if from_peak > 0.5 else "at its low"
    elif low >= 0 and peak > 0:
        where = f"{_fmt_pct(min(1.0, (peak - now) / peak))} below peak"
    else:
        where = f"{_fmt_pct(min(1.0, from_peak))} of its range below peak"
    if direction == FLAT and where == "back at its low":
        where = f"back at its low, {_peak_words(peak, now, low)}"
    return Trend(peak, now, low, direction, f"{direction}, {where}")


def _peak_words(peak: float, now: float, low: float) -> str:
    if low >= 0 and peak > 0:
        return f"{_fmt_pct(min(1.0, (peak - now) / peak))} below peak"
    return "well below peak"
