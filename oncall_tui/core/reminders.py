"""Reminders before my shifts start and end.

Pure: :func:`due_reminders` says which reminders fall due in a window of time, given my
shifts (``final`` entries; touching parts on one layer count as one shift) and how long
before each start and end to remind. :class:`ReminderTracker` adds the memory a running
dashboard needs so that no reminder is given twice, also when shifts are reloaded or a
timer tick comes late. Neither reads the clock; ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from oncall_tui.core import timefmt, views
from oncall_tui.domain import Schedule, Shift, User

KIND_START = "start"
KIND_END = "end"


@dataclass(frozen=True, slots=True)
class Reminder:
    kind: str  # start | end
    at: datetime  # when the shift starts or ends
    due: datetime  # when to remind (``at`` minus the lead time)
    schedule_id: str
    rotation_id: str
    layer_id: str
    title: str  # "On call: Payments — Robin (working hours)"
    text: str  # the words to show

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """Stable identity: the same shift edge gives the same key on every reload."""
        return (self.kind, self.schedule_id, self.rotation_id, self.layer_id, self.at.isoformat())


def _title(shift: views.MyShift) -> str:
    if not shift.layer_name or shift.layer_name in shift.schedule_name:
        return shift.schedule_name
    return f"{shift.schedule_name} — {shift.layer_name}"


def _my_shifts(
    shifts: Sequence[Shift], schedules: Sequence[Schedule], me: User, now: datetime
) -> tuple[views.MyShift, ...]:
    current = views.my_current_shifts(shifts, schedules, me, now)
    upcoming = views.my_upcoming_shifts(shifts, schedules, me, now)
    return (*current, *upcoming)


def due_reminders(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    me: User | None,
    *,
    after: datetime,
    until: datetime,
    lead: timedelta,
    zone: timefmt.ZoneLike = None,
) -> tuple[Reminder, ...]:
    """Reminders whose due time is in ``(after, until]`` and whose shift edge has not
    passed by ``until``, soonest first. A shift already running at ``after`` has only
    its end reminded. ``lead`` of zero or less turns reminders off."""
    if me is None or lead <= timedelta(0) or until <= after:
        return ()
    out: list[Reminder] = []
    for shift in _my_shifts(shifts, schedules, me, after):
        title = _title(shift)
        edges = [(KIND_END, shift.end)]
        if shift.start > after:
            edges.insert(0, (KIND_START, shift.start))
        for kind, at in edges:
            due = at - lead
            if not (after < due <= until) or at <= until:
                continue  # not due in this window, or the edge itself has passed
            out.append(
                Reminder(
                    kind=kind,
                    at=at,
                    due=due,
                    schedule_id=shift.schedule_id,
                    rotation_id=shift.rotation_id,
                    layer_id=shift.layer_id,
                    title=title,
                    text=_words(kind, shift, at, until, zone),
                )
            )
    out.sort(key=lambda r: (r.due, r.title))
    return tuple(out)


def _words(
    kind: str, shift: views.MyShift, at: datetime, now: datetime, zone: timefmt.ZoneLike
) -> str:
    when = f"{timefmt.countdown(at, now)} ({timefmt.format_clock(at, zone)})"
    title = _title(shift)
    if kind == KIND_START:
        until = timefmt.format_time(shift.end, zone, now=now)
        return f"Your shift on {title} starts {when}, until {until}."
    if shift.next_user is not None:
        nxt = f"{shift.next_user.name or shift.next_user.id} takes over"
    elif shift.next_known:
        nxt = "no one takes over"
    else:
        nxt = "who takes over is not known yet"
    return f"Your shift on {title} ends {when}; {nxt}."


@dataclass
class ReminderTracker:
    """Remembers which reminders were given, so none is given twice.

    Call :meth:`check` on a timer with the latest shifts. The first call looks back one
    lead time, so starting the dashboard ten minutes before a shift still reminds of it.
    """

    lead: timedelta
    last: datetime | None = None
    sent: dict[tuple[str, str, str, str, str], datetime] = field(default_factory=dict)

    def check(
        self,
        shifts: Sequence[Shift],
        schedules: Sequence[Schedule],
        me: User | None,
        now: datetime,
        *,
        zone: timefmt.ZoneLike = None,
    ) -> tuple[Reminder, ...]:
        if me is None or not shifts:
            # Nothing loaded yet: keep the look-back for when the shifts arrive.
            return ()
        after = self.last if self.last is not None else now - self.lead
        if now < after:  # the clock went back: do not look into the future twice
            after = now - self.lead
        self.last = now
        found = due_reminders(
            shifts, schedules, me, after=after, until=now, lead=self.lead, zone=zone
        )
        fresh = tuple(r for r in found if r.key not in self.sent)
        self.sent.update((r.key, r.at) for r in fresh)
        # Forget edges long past, so a dashboard running for weeks stays small.
        horizon = now - timedelta(days=2)
        self.sent = {k: at for k, at in self.sent.items() if at >= horizon}
        return fresh
