"""Reminders before my shifts start and end: pure, and never given twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factories
from factories import ME

from oncall_tui.core.reminders import KIND_END, KIND_START, ReminderTracker, due_reminders
from oncall_tui.domain import Layer, Rotation, Schedule, Shift, User

ANA = User("U_ANA", "Ana Souza")
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
LEAD = timedelta(minutes=15)
PAY = Schedule(
    "S",
    "On call: Payments",
    "Europe/London",
    rotations=(Rotation("R", "Working hours", (Layer("L", "Working hours"),)),),
)


def shift(start: datetime, hours: float, user: User = ME) -> Shift:
    return factories.shift("S", "R", "L", start, start + timedelta(hours=hours), user)


# Me 08:00–12:00 and 12:00–17:00 (two parts, one shift), then Ana 17:00–20:00.
SHIFTS = (shift(T0, 4), shift(T0 + timedelta(hours=4), 5), shift(T0 + timedelta(hours=9), 3, ANA))


def due(after: datetime, until: datetime, **kw):
    return due_reminders(SHIFTS, [PAY], ME, after=after, until=until, lead=LEAD, **kw)


def test_start_reminder_is_due_lead_minutes_before():
    found = due(T0 - timedelta(minutes=20), T0 - timedelta(minutes=15))
    assert [(r.kind, r.at) for r in found] == [(KIND_START, T0)]
    assert found[0].text == (
        "Your shift on On call: Payments — Working hours starts in 15m (08:00 UTC), "
        "until Tue 17:00 UTC."
    )


def test_touching_parts_are_one_shift_and_the_end_names_who_takes_over():
    end = T0 + timedelta(hours=9)
    # No reminder at 12:00 where the two parts touch.
    assert due(T0 + timedelta(hours=3), T0 + timedelta(hours=4)) == ()
    found = due(end - timedelta(minutes=16), end - timedelta(minutes=14))
    assert [(r.kind, r.at) for r in found] == [(KIND_END, end)]
    assert "ends in 14m (17:00 UTC); Ana Souza takes over." in found[0].text


def test_zone_and_nothing_for_others_or_when_off():
    found = due(T0 - timedelta(minutes=20), T0 - timedelta(minutes=1), zone="America/New_York")
    assert "03:00 EST" in found[0].text
    assert (
        due_reminders(SHIFTS, [PAY], ANA, after=T0, until=T0 + timedelta(hours=1), lead=LEAD) == ()
    )
    assert due_reminders(SHIFTS, [PAY], None, after=T0, until=T0, lead=LEAD) == ()
    assert due_reminders(SHIFTS, [PAY], ME, after=T0 - LEAD, until=T0, lead=timedelta(0)) == ()


def test_an_edge_already_passed_is_not_reminded():
    # The window reaches past the start itself: too late to say "starts in …".
    assert due(T0 - timedelta(minutes=16), T0 + timedelta(minutes=1)) == ()


def test_tracker_never_repeats_and_catches_up_at_start():
    tracker = ReminderTracker(LEAD)
    # Nothing loaded yet: nothing, and the look-back is kept for later.
    assert tracker.check((), [PAY], ME, T0 - timedelta(minutes=10)) == ()
    # Started ten minutes before the shift: the start is still reminded.
    first = tracker.check(SHIFTS, [PAY], ME, T0 - timedelta(minutes=10))
    assert [r.kind for r in first] == [KIND_START]
    assert "starts in 10m" in first[0].text
    # Ticks later, or the same tick twice, or shifts reloaded: no repeat.
    assert tracker.check(SHIFTS, [PAY], ME, T0 - timedelta(minutes=9)) == ()
    assert tracker.check(tuple(reversed(SHIFTS)), [PAY], ME, T0 - timedelta(minutes=5)) == ()
    # The end comes once.
    end = T0 + timedelta(hours=9)
    got = [
        r
        for minute in range(0, 60 * 9, 7)
        for r in tracker.check(SHIFTS, [PAY], ME, T0 + timedelta(minutes=minute))
    ]
    assert [(r.kind, r.at) for r in got] == [(KIND_END, end)]


def test_tracker_survives_a_clock_going_back_without_repeating():
    tracker = ReminderTracker(LEAD)
    assert tracker.check(SHIFTS, [PAY], ME, T0 - timedelta(minutes=14))
    assert tracker.check(SHIFTS, [PAY], ME, T0 - timedelta(minutes=30)) == ()
    assert tracker.check(SHIFTS, [PAY], ME, T0 - timedelta(minutes=13)) == ()


def test_tracker_forgets_old_edges():
    tracker = ReminderTracker(LEAD)
    tracker.check(SHIFTS, [PAY], ME, T0 - timedelta(minutes=14))
    assert tracker.sent
    tracker.check(SHIFTS, [PAY], ME, T0 + timedelta(days=5))
    assert not tracker.sent
