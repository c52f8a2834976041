"""A metric as block characters: bars, the threshold line, and a time axis.

:func:`chart_lines` draws a :class:`~oncall_tui.domain.Series` into ``width`` × ``height``
cells. Time runs left to right over the series' window (``start``..``end``, else its
first..last sample); each column shows the highest sample that falls in it (a peak is
never averaged away); a column with no sample is left empty with a dot on the floor, so
a gap never reads as a low value. Bars use the eight block heights (▁▂▃▄▅▆▇█) per row.
The rule's threshold is a dashed line (╌) in the row where it falls; columns past the
threshold are drawn in the alert colour. The value axis starts a little under the lowest
value (or the threshold) so the smallest bar is still visible.

The text is built as :class:`textual.content.Content` from plain characters: nothing
from an API is ever interpreted as markup.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime

from textual.content import Content

from oncall_tui.domain import Series, Threshold

BLOCKS = " ▁▂▃▄▅▆▇█"
THRESHOLD_CHAR = "╌"
GAP_CHAR = "·"
STYLE_BAR = "$accent"
STYLE_BREACH = "$critical"
STYLE_LINE = "$major"
STYLE_GAP = "$foreground-muted"

__all__ = ["axis_bounds", "chart_lines", "columns"]


def _finite(series: Series) -> list[tuple[float, float]]:
    out = []
    for when, value in series.points:
        if isinstance(value, int | float) and math.isfinite(value) and isinstance(when, datetime):
            out.append((when.timestamp(), float(value)))
    out.sort()
    return out


def columns(series: Series, width: int) -> list[float | None]:
    """The highest sample in each of ``width`` time slices (None: no sample there)."""
    points = _finite(series)
    width = max(1, width)
    if not points:
        return [None] * width
    t0 = series.start.timestamp() if series.start is not None else points[0][0]
    t1 = series.end.timestamp() if series.end is not None else points[-1][0]
    if t1 <= t0:
        t0, t1 = points[0][0], max(points[-1][0], points[0][0] + 1)
    out: list[float | None] = [None] * width
    last_at: list[float | None] = [None] * width
    span = t1 - t0
    for t, v in points:
        if t < t0 or t > t1 + span * 0.01:
            continue  # outside the window asked for (a skewed clock): not drawn
        i = min(width - 1, max(0, int((t - t0) / span * width)))
        current = out[i]
        out[i] = v if current is None or v > current else current
        last_at[i] = t
    # Samples sparser than the columns: a column between two samples one step apart
    # shows the earlier sample; only a longer silence is drawn as a gap.
    gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(points) if b[0] > a[0])
    step = gaps[len(gaps) // 2] if gaps else 0.0
    carried: tuple[float, float] | None = None
    for i in range(width):
        if out[i] is not None:
            carried = (last_at[i] or t0, out[i])  # type: ignore[assignment]
        elif carried is not None and t0 + (i + 1) * span / width - carried[0] <= step * 1.5:
            out[i] = carried[1]
    return out


def axis_bounds(values: Sequence[float | None], threshold: Threshold | None) -> tuple[float, float]:
    """(low, high) of the value axis: every value and threshold level fits, with room
    under the lowest so that its bar shows."""
    seen = [v for v in values if v is not None]
    if threshold is not None:
        seen.extend(threshold.levels)
    if not seen:
        return 0.0, 1.0
    low, high = min(seen), max(seen)
    if high - low <= 1e-12 * max(1.0, abs(high)):
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    low -= (high - low) * 0.08
    if min(seen) >= 0 > low:
        low = 0.0 if min(seen) > 0 else low
    return low, high


def chart_lines(series: Series, width: int, height: int) -> list[Content]:
    """``height`` lines of ``width`` cells: the chart, top line first."""
    width, height = max(1, width), max(1, height)
    values = columns(series, width)
    threshold = series.threshold
    low, high = axis_bounds(values, threshold)
    scale = height * 8 / (high - low)
    eighths = [
        None if v is None else max(1, min(height * 8, round((v - low) * scale))) for v in values
    ]
    breach = [v is not None and threshold is not None and threshold.breached(v) for v in values]
    line_rows: set[int] = set()
    if threshold is not None:
        for level in threshold.levels:
            if low <= level <= high:
                line_rows.add(min(height - 1, int((level - low) * scale // 8)))
    lines: list[Content] = []
    for row in range(height - 1, -1, -1):  # top row first; row 0 is the floor
        runs: list[tuple[str, str]] = []
        for col, e in enumerate(eighths):
            if e is None:
                char = GAP_CHAR if row == 0 else " "
                style = STYLE_GAP
            else:
                fill = max(0, min(8, e - row * 8))
                char = BLOCKS[fill]
                style = STYLE_BREACH if breach[col] else STYLE_BAR
            if row in line_rows and char == " ":
                char, style = THRESHOLD_CHAR, STYLE_LINE
            if runs and runs[-1][1] == style:
                runs[-1] = (runs[-1][0] + char, style)
            else:
                runs.append((char, style))
        lines.append(Content.assemble(*runs))
    return lines
