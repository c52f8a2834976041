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
    return slope if math.isfinite(slope) else 0.0


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

    # Work on values scaled into [-1, 1] so sums of huge magnitudes cannot overflow.
    scale = max(abs(peak), abs(low))
    norm = [v / scale for v in values] if scale > 0 else [0.0] * len(values)
    n_peak, n_low, n_now = max(norm), min(norm), norm[-1]
    span = n_peak - n_low
    if span <= 1e-12:
        return Trend(peak, now, low, FLAT, "flat")

    tail_len = min(len(points), max(3, math.ceil(len(points) * TAIL_SHARE)))
    tail = [(t, v) for (t, _), v in zip(points[-tail_len:], norm[-tail_len:], strict=True)]
    duration = tail[-1][0] - tail[0][0]
    change = _slope(tail) * (duration if duration > 0 else (tail_len - 1))
    # A turn inside the tail (a peak just passed, a dip just left) decides the
    # direction when the move since the turn is itself more than noise.
    before = [v for _, v in tail[:-1]]
    hi = len(before) - 1 - before[::-1].index(max(before))
    lo = len(before) - 1 - before[::-1].index(min(before))
    since_turn = n_now - before[max(hi, lo)]
    if abs(since_turn) >= FLAT_SHARE * span:
        change = since_turn

    share_of_range = abs(change) / span
    from_peak = (n_peak - n_now) / span
    from_low = (n_now - n_low) / span
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
