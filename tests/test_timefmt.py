"""Times and durations in words, across zones and clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oncall_tui.core import timefmt as tf


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ----------------------------------------------------------------- zones


def test_resolve_zone_unknown_and_empty_fall_back_to_utc() -> None:
    assert tf.zone_name("Not/AZone") == "UTC"
    assert tf.zone_name("") == "UTC"
    assert tf.zone_name(None) == "UTC"
    assert tf.zone_name("../../etc/passwd") == "UTC"
    assert tf.zone_name("Europe/Paris") == "Europe/Paris"
    assert tf.zone_name(" Europe/Paris ") == "Europe/Paris"
    assert tf.zone_name("Etc/UTC") == "UTC"


def test_zone_label_follows_dst_in_london_and_new_york() -> None:
    assert tf.zone_label(utc(2026, 1, 10, 12), "Europe/London") == "GMT"
    assert tf.zone_label(utc(2026, 7, 10, 12), "Europe/London") == "BST"
    assert tf.zone_label(utc(2026, 1, 10, 12), "America/New_York") == "EST"
    assert tf.zone_label(utc(2026, 7, 10, 12), "America/New_York") == "EDT"
    assert tf.zone_label(utc(2026, 7, 10, 12), "Europe/Berlin") == "CEST"
    assert tf.zone_label(utc(2026, 7, 10, 12), "UTC") == "UTC"


def test_zone_label_numeric_abbreviation_becomes_utc_offset() -> None:
    assert tf.zone_label(utc(2026, 7, 10, 12), "America/Sao_Paulo") == "UTC-03"
    assert tf.zone_label(utc(2026, 7, 10, 12), "Asia/Kathmandu") == "UTC+05:45"
    assert tf.zone_label(utc(2026, 7, 10, 12), timezone(timedelta(hours=2))) == "UTC+02"


def test_naive_datetime_is_read_as_utc_not_machine_local() -> None:
    assert tf.format_clock(datetime(2026, 1, 10, 12, 0), "Europe/Paris") == "13:00 CET"


# ----------------------------------------------------------------- formatting


def test_format_time_with_zone_name() -> None:
    t = utc(2026, 11, 24, 13, 5)  # a Tuesday
    assert tf.format_time(t, "Europe/Paris") == "Tue 14:05 CET"
    assert tf.format_time(t, "UTC") == "Tue 13:05 UTC"
    assert tf.format_time(t) == "Tue 13:05 UTC"
    assert tf.format_time(t, "Europe/Paris", with_zone=False) == "Tue 14:05"


def test_format_time_adds_date_when_far_and_year_when_other_year() -> None:
    now = utc(2026, 11, 23, 12)
    assert tf.format_time(utc(2026, 11, 26, 9), "UTC", now=now) == "Thu 09:00 UTC"
    assert tf.format_time(utc(2026, 12, 8, 9), "UTC", now=now) == "Tue 08 Dec 09:00 UTC"
    assert tf.format_time(utc(2027, 1, 12, 9), "UTC", now=now) == "Tue 12 Jan 2027 09:00 UTC"


def test_format_clock_across_london_spring_forward() -> None:
    # 2026-03-29 01:00 UTC: London goes from 01:00 GMT to 02:00 BST.
    assert tf.format_clock(utc(2026, 3, 29, 0, 59), "Europe/London") == "00:59 GMT"
    assert tf.format_clock(utc(2026, 3, 29, 1, 0), "Europe/London") == "02:00 BST"


def test_format_clock_new_york_fall_back_shows_repeated_hour_with_two_names() -> None:
    # 2026-11-01 06:00 UTC: New York goes from 02:00 EDT back to 01:00 EST.
    assert tf.format_clock(utc(2026, 11, 1, 5, 30), "America/New_York") == "01:30 EDT"
    assert tf.format_clock(utc(2026, 11, 1, 6, 30), "America/New_York") == "01:30 EST"


def test_format_range_same_day_overnight_midnight_and_dst() -> None:
    assert tf.format_range(utc(2026, 11, 24, 8), utc(2026, 11, 24, 16), "Europe/Paris") == (
        "Tue 09:00–17:00 CET"
    )
    assert tf.format_range(utc(2026, 11, 24, 21), utc(2026, 11, 25, 5), "Europe/Paris") == (
        "Tue 22:00 – Wed 06:00 CET"
    )
    assert tf.format_range(utc(2026, 11, 24, 18), utc(2026, 11, 25, 0), "UTC") == (
        "Tue 18:00–24:00 UTC"
    )
    assert tf.format_range(utc(2026, 3, 28, 22), utc(2026, 3, 29, 5), "Europe/London") == (
        "Sat 22:00 GMT – Sun 06:00 BST"
    )
    assert tf.format_range(utc(2026, 11, 2, 9), utc(2026, 11, 16, 9), "UTC") == (
        "Mon 02 Nov 09:00 – Mon 16 Nov 09:00 UTC"
    )


# ------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m"),
        (5 * 60 + 59, "5m"),
        (3600, "1h"),
        (2 * 3600 + 14 * 60 + 59, "2h 14m"),
        (86400, "1d"),
        (86400 + 3 * 3600, "1d 3h"),
        (3 * 86400 + 20 * 3600, "3 days"),
        (-90, "1m"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert tf.format_duration(seconds) == text
    assert tf.format_duration(timedelta(seconds=seconds)) == text


def test_time_left_countdown_ago_relative() -> None:
    now = utc(2026, 11, 23, 3, 0)
    assert tf.time_left(now + timedelta(hours=2, minutes=14, seconds=30), now) == "2h 14m left"
    assert tf.time_left(now + timedelta(seconds=20), now) == "under a minute left"
    assert tf.time_left(now, now) == "ended"
    assert tf.time_left(now - timedelta(hours=1), now) == "ended"
    assert tf.countdown(now + timedelta(days=3, hours=2), now) == "in 3 days"
    assert tf.countdown(now + timedelta(seconds=5), now) == "in under a minute"
    assert tf.countdown(now - timedelta(seconds=5), now) == "now"
    assert tf.ago(now - timedelta(minutes=5, seconds=10), now) == "5m ago"
    assert tf.ago(now - timedelta(seconds=10), now) == "just now"
    assert tf.ago(now + timedelta(seconds=30), now) == "just now"  # clock skew
    assert tf.relative(now + timedelta(minutes=90), now) == "in 1h 30m"
    assert tf.relative(now - timedelta(minutes=90), now) == "1h 30m ago"
    assert tf.relative(now + timedelta(seconds=20), now) == "just now"


def test_durations_are_measured_in_real_time_across_dst() -> None:
    # 00:00 to 08:00 London wall time on the spring-forward night is only 7 hours.
    start = utc(2026, 3, 29, 0)  # 00:00 GMT
    end = utc(2026, 3, 29, 7)  # 08:00 BST
    assert tf.format_range(start, end, "Europe/London") == "Sun 00:00 GMT – Sun 08:00 BST"
    assert tf.time_left(end, start) == "7h left"


# ----------------------------------------------------------------- day labels


def test_day_label_uses_the_zone_calendar() -> None:
    now = utc(2026, 11, 23, 23, 30)  # Monday 23:30 UTC, already Tuesday in Paris
    assert tf.day_label(now, now, "UTC") == "Today"
    assert tf.day_label(now + timedelta(hours=1), now, "UTC") == "Tomorrow"
    assert tf.day_label(now + timedelta(hours=1), now, "Europe/Paris") == "Today"
    assert tf.day_label(now - timedelta(days=1), now, "UTC") == "Yesterday"
    assert tf.day_label(now + timedelta(days=3), now, "UTC") == "Thursday"
    assert tf.day_label(now + timedelta(days=9), now, "UTC") == "Wed 02 Dec"
    assert tf.day_label(now - timedelta(days=5), now, "UTC") == "Wed 18 Nov"
    assert tf.day_label(utc(2027, 2, 1), now, "UTC") == "Mon 01 Feb 2027"


def test_local_midnight_including_dst_days_and_skipped_midnight() -> None:
    assert tf.local_midnight(date(2026, 7, 1), "Europe/London") == utc(2026, 6, 30, 23)
    assert tf.local_midnight(date(2026, 3, 29), "Europe/London") == utc(2026, 3, 29, 0)
    assert tf.local_midnight(date(2026, 3, 30), "Europe/London") == utc(2026, 3, 29, 23)
    # Santiago skips midnight when its clocks go forward: the day starts at 01:00.
    first = tf.local_midnight(date(2026, 9, 6), "America/Santiago")
    assert first.astimezone(tf.resolve_zone("America/Santiago")).hour == 1
    assert first.astimezone(tf.resolve_zone("America/Santiago")).date() == date(2026, 9, 6)


# ------------------------------------------------------------------ properties

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
zones = st.sampled_from(
    ["UTC", "Europe/London", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
)


@given(instants, zones)
def test_format_clock_round_trips_to_the_same_local_wall_time(t: datetime, zone: str) -> None:
    text = tf.format_clock(t, zone)
    local = t.astimezone(tf.resolve_zone(zone))
    assert text.startswith(local.strftime("%H:%M") + " ")
    assert text.split(" ", 1)[1] == tf.zone_label(t, zone)


@given(instants, st.integers(min_value=0, max_value=400 * 86400))
def test_countdown_and_ago_are_mirror_images(t: datetime, seconds: int) -> None:
    later = t + timedelta(seconds=seconds)
    if seconds >= 60:
        assert tf.countdown(later, t) == "in " + tf.format_duration(seconds)
        assert tf.ago(t, later) == tf.format_duration(seconds) + " ago"
    else:
        assert tf.ago(t, later) == "just now"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), zones)
def test_local_midnight_is_the_first_instant_of_that_day(day: date, zone: str) -> None:
    start = tf.local_midnight(day, zone)
    tz = tf.resolve_zone(zone)
    assert start.astimezone(tz).date() == day
    assert (start - timedelta(seconds=1)).astimezone(tz).date() < day
