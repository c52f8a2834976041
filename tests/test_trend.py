"""The trend words under a sparkline: examples an on-call reader relies on, and properties."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from oncall_tui.core.trend import FALLING, FLAT, RISING, UNKNOWN, summarize
from oncall_tui.domain import Series

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def series(values, step=60) -> Series:
    return Series(
        name="m", points=tuple((T0 + timedelta(seconds=i * step), v) for i, v in enumerate(values))
    )


def test_empty_series_is_unknown():
    trend = summarize(series([]))
    assert trend.direction == UNKNOWN
    assert trend.words == "no data"
    assert math.isnan(trend.peak)


def test_only_gaps_is_unknown():
    trend = summarize(series([math.nan, math.inf, -math.inf]))
    assert trend.direction == UNKNOWN
    assert trend.words == "no data"


def test_one_point_has_no_direction():
    trend = summarize(series([3.5]))
    assert (trend.peak, trend.now, trend.low) == (3.5, 3.5, 3.5)
    assert trend.direction == UNKNOWN
    assert "one sample" in trend.words


def test_constant_series_is_flat():
    trend = summarize(series([7.0] * 30))
    assert trend.direction == FLAT
    assert trend.words == "flat"


def test_spike_coming_down_reads_falling_below_peak():
    values = [1.0] * 20 + [2, 4, 8, 10, 9, 8, 7, 6]
    trend = summarize(series(values))
    assert trend.direction == FALLING
    assert trend.peak == 10 and trend.now == 6 and trend.low == 1
    assert trend.words == "falling, 40% below peak"


def test_rising_to_a_new_high_reads_at_its_peak():
    trend = summarize(series([1, 1, 1, 2, 3, 4, 5, 6]))
    assert trend.direction == RISING
    assert trend.words == "rising, at its peak"


def test_peak_just_passed_reads_falling_not_rising():
    # Most of the recent points climb, but the last ones come down from the peak.
    values = [1.0] * 30 + [2, 3, 5, 8, 10, 9, 8]
    trend = summarize(series(values))
    assert trend.direction == FALLING


def test_spike_over_and_back_to_baseline_is_flat_at_its_low():
    values = [1.0] * 10 + [5, 10, 5] + [1.0] * 30
    trend = summarize(series(values))
    assert trend.direction == FLAT
    assert trend.words.startswith("flat, back at its low")
    assert "90% below peak" in trend.words


def test_gaps_are_ignored():
    values = [1.0, math.nan, 2.0, math.inf, 3.0, 4.0]
    trend = summarize(series(values))
    assert trend.now == 4.0
    assert trend.direction == RISING


def test_negative_values_say_share_of_range():
    values = [-10.0, -8, -6, -4, -2, -3, -5, -7]
    trend = summarize(series(values))
    assert trend.direction == FALLING
    assert "of its range below peak" in trend.words


def test_points_out_of_order_are_sorted_by_time():
    pts = ((T0 + timedelta(minutes=2), 3.0), (T0, 1.0), (T0 + timedelta(minutes=1), 2.0))
    assert summarize(Series(name="m", points=pts)).now == 3.0


def test_noisy_but_level_series_is_flat():
    values = [100 + (1 if i % 2 else -1) for i in range(60)]
    values[30] = 200  # an old spike
    trend = summarize(series(values))
    assert trend.direction == FLAT


# ----------------------------------------------------------------- properties

any_float = st.floats(allow_nan=True, allow_infinity=True)
sane = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(any_float, max_size=80))
def test_never_raises_and_stays_consistent(values):
    trend = summarize(series(values))
    assert trend.direction in (RISING, FALLING, FLAT, UNKNOWN)
    assert trend.words
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        assert trend.low <= trend.now <= trend.peak
        assert trend.peak == max(finite) and trend.low == min(finite)
        assert trend.now == finite[-1]
    else:
        assert trend.direction == UNKNOWN


@given(st.lists(sane, min_size=2, max_size=60), st.floats(min_value=0.001, max_value=1000))
def test_direction_does_not_depend_on_positive_scale(values, factor):
    a = summarize(series(values))
    b = summarize(series([v * factor for v in values]))
    if a.direction != FLAT and b.direction != FLAT:
        assert a.direction == b.direction


@given(st.lists(sane, min_size=2, max_size=60))
def test_negating_swaps_rising_and_falling(values):
    up = summarize(series(values)).direction
    down = summarize(series([-v for v in values])).direction
    swap = {RISING: FALLING, FALLING: RISING, FLAT: FLAT, UNKNOWN: UNKNOWN}
    assert down == swap[up]


@given(
    st.floats(min_value=-1e6, max_value=1e6),
    st.floats(min_value=0.01, max_value=1e3),
    st.integers(min_value=3, max_value=80),
)
def test_straight_lines_go_their_way(start, slope, n):
    rising = summarize(series([start + slope * i for i in range(n)]))
    falling = summarize(series([start - slope * i for i in range(n)]))
    assert rising.direction == RISING and rising.words == "rising, at its peak"
    assert falling.direction == FALLING


@given(sane, st.integers(min_value=1, max_value=80))
def test_constant_series_are_flat(value, n):
    trend = summarize(series([value] * n))
    assert trend.direction == (UNKNOWN if n == 1 else FLAT)
