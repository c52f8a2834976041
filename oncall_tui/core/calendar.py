"""Calendar models (week and day grids of shifts) and the ICS export of my shifts.

Pure: the current time is a parameter (the ICS export reads the clock only when it is
not given one). A view is computed in one display zone (the user's, or UTC) whose name
is carried with it. Days are calendar days of that zone, so a day can be 23 or 25 hours
long on a clock change; positions inside a day are measured in real time.

The ICS export writes every time in UTC (``DTSTART:20261124T090000Z``) and names the
schedule's own zone in the description, rather than shipping VTIMEZONE blocks. Shifts
are instants fixed by incident.io, not wall-clock appointments: UTC is exact for them,
needs no zone database in the calendar app (Outlook and older clients still mishandle
embedded VTIMEZONE rules), and every calendar app shows UTC events in its user's zone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event

from oncall_tui.core import timefmt, views
from oncall_tui.core.views import Gap, LayerKey, LayerOnCall
from oncall_tui.domain import EscalationPath, Schedule, Shift, User
from oncall_tui.safety import clean_text, openable_url

KIND_DAY = "day"
KIND_WEEK = "week"

ICS_PRODID = "-//oncall-tui//on-call shifts//EN"
ICS_UID_DOMAIN = "oncall-tui"


# ====================================================================== the model


@dataclass(frozen=True, slots=True)
class Block:
    """A stretch of one lane held by one person (or by no one)."""

    start: datetime  # clipped to the view
    end: datetime
    shift_start: datetime  # the shift's real bounds, which may reach past the view
    shift_end: datetime
    user: User | None
    mine: bool
    override: bool
    replaces: User | None = None  # for an override: who it replaced, when known
    nobody: bool = False  # NOBODY override or no user: pages on this layer reach no one

    @property
    def who(self) -> str:
        if self.nobody or self.user is None:
            return "no one"
        return self.user.name or self.user.id

    def label(self, zone: timefmt.ZoneLike = None) -> str:
        """ "Ana 09:00–17:00", "no one 10:00–12:00 (override)"; times in ``zone``,
        the zone named once by the view, not per block."""
        a = timefmt.format_clock(self.shift_start, zone, with_zone=False)
        b = timefmt.format_clock(self.shift_end, zone, with_zone=False)
        text = f"{self.who} {a}–{b}"
        if self.override:
            if self.replaces is not None and not self.nobody:
                text += f" (covering {self.replaces.name or self.replaces.id})"
            else:
                text += " (override)"
        return text


@dataclass(frozen=True, slots=True)
class Lane:
    """One layer of one schedule across the view."""

    schedule_id: str
    schedule_name: str
    rotation_id: str
    layer_id: str
    title: str
    blocks: tuple[Block, ...] = ()
    mine: bool = False  # I hold at least one block in the view

    @property
    def key(self) -> LayerKey:
        return (self.schedule_id, self.rotation_id, self.layer_id)


@dataclass(frozen=True, slots=True)
class ScheduleLanes:
    """A schedule's lanes and the gaps in which none of them has anyone."""

    schedule_id: str
    name: str
    timezone: str
    lanes: tuple[Lane, ...]
    gaps: tuple[Gap, ...]
    mine: bool


@dataclass(frozen=True, slots=True)
class Day:
    """One calendar day of the display zone."""

    date: date
    start: datetime  # UTC
    end: datetime  # UTC; 23 or 25 hours after start on a clock change
    label: str  # "Mon 23 Nov"
    is_today: bool

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def fraction(self, t: datetime) -> float:
        """Where ``t`` falls in this day, 0.0 at its start and 1.0 at its end (clamped)."""
        span = (self.end - self.start).total_seconds()
        pos = (t - self.start).total_seconds() / span if span > 0 else 0.0
        return min(1.0, max(0.0, pos))


@dataclass(frozen=True, slots=True)
class CalendarView:
    kind: str  # day | week
    start: datetime
    end: datetime
    zone: str  # IANA name ("UTC" when shown in UTC)
    zone_label: str  # "CET", or "GMT/BST" when the clocks change inside the view
    days: tuple[Day, ...]
    schedules: tuple[ScheduleLanes, ...]
    now: datetime | None  # the now line, when now is inside the view
    cursor: datetime | None = None
    at_cursor: tuple[LayerOnCall, ...] = ()  # who holds every layer at the cursor

    @property
    def lanes(self) -> tuple[Lane, ...]:
        return tuple(lane for s in self.schedules for lane in s.lanes)

    @property
    def gaps(self) -> tuple[Gap, ...]:
        return tuple(sorted((g for s in self.schedules for g in s.gaps), key=lambda g: g.start))

    @property
    def title(self) -> str:
        """ "Week of Mon 23 Nov 2026 (CET)" or "Tue 24 Nov 2026 (CET)"."""
        first = self.days[0].date if self.days else self.start.date()
        day = first.strftime("%a %d %b %Y")
        head = f"Week of {day}" if self.kind == KIND_WEEK else day
        return f"{head} ({self.zone_label})"

    def locate(self, t: datetime) -> tuple[int, float] | None:
        """(day index, fraction of that day) for ``t``, or None outside the view."""
        for i, day in enumerate(self.days):
            if day.start <= t < day.end:
                return i, day.fraction(t)
        return None


# ================================================================ bounds and steps


def day_bounds(anchor: datetime, zone: timefmt.ZoneLike) -> tuple[datetime, datetime]:
    """The UTC start and end of the calendar day (in ``zone``) containing ``anchor``."""
    tz = timefmt.resolve_zone(zone)
    d = anchor.astimezone(tz).date()
    return timefmt.local_midnight(d, tz), timefmt.local_midnight(d + timedelta(days=1), tz)


def week_bounds(
    anchor: datetime, zone: timefmt.ZoneLike, *, week_start: int = 0
) -> tuple[datetime, datetime]:
    """The UTC start and end of the week (in ``zone``, starting on ``week_start``,
    0 = Monday) containing ``anchor``. 167 or 169 hours long across a clock change."""
    tz = timefmt.resolve_zone(zone)
    d = anchor.astimezone(tz).date()
    first = d - timedelta(days=(d.weekday() - week_start) % 7)
    return timefmt.local_midnight(first, tz), timefmt.local_midnight(first + timedelta(days=7), tz)


def step(anchor: datetime, zone: timefmt.ZoneLike, *, days: int = 0, weeks: int = 0) -> datetime:
    """Move ``anchor`` by whole calendar days/weeks in ``zone``, keeping its wall-clock
    time where that exists (09:00 stays 09:00 across a clock change). Returns UTC."""
    tz = timefmt.resolve_zone(zone)
    local = anchor.astimezone(tz)
    target = local.date() + timedelta(days=days + 7 * weeks)
    moved = local.replace(year=target.year, month=target.month, day=target.day, fold=0)
    # Round trip through UTC resolves a wall time that does not exist on that day.
    return moved.astimezone(UTC)


def next_day(anchor: datetime, zone: timefmt.ZoneLike) -> datetime:
    return step(anchor, zone, days=1)


def prev_day(anchor: datetime, zone: timefmt.ZoneLike) -> datetime:
    return step(anchor, zone, days=-1)


def next_week(anchor: datetime, zone: timefmt.ZoneLike) -> datetime:
    return step(anchor, zone, weeks=1)


def prev_week(anchor: datetime, zone: timefmt.ZoneLike) -> datetime:
    return step(anchor, zone, weeks=-1)


def today(now: datetime) -> datetime:
    """The anchor for "today": now itself (views are built around their anchor)."""
    return now


def my_next_shift_start(
    shifts: Iterable[Shift], me: User | None, after: datetime
) -> datetime | None:
    """Where "jump to my next shift" goes: the start of my first shift starting after
    ``after`` (contiguous parts count as one shift). None if I have none."""
    if me is None:
        return None
    mine = [
        s
        for s in views.merge_contiguous(s for s in shifts if s.user is not None)
        if s.user is not None and s.user.id == me.id
    ]
    starts = [s.start for s in mine if s.start > after]
    return min(starts) if starts else None


def move_cursor(cursor: datetime, *, minutes: int = 0, hours: int = 0) -> datetime:
    """Move the time cursor by real time (an hour is an hour, also on a clock change)."""
    return cursor + timedelta(minutes=minutes, hours=hours)


# ===================================================================== building


def _order_schedules(
    schedules: Sequence[Schedule],
    mine_ids: set[str],
    order: Sequence[str] | None,
) -> list[Schedule]:
    if order is not None:
        by_id = {s.id: s for s in schedules}
        return [by_id[sid] for sid in order if sid in by_id]
    # My schedules (team working hours, support) first, in the order given; then the
    # rest (escalators, global) in the order given.
    return [s for s in schedules if s.id in mine_ids] + [
        s for s in schedules if s.id not in mine_ids
    ]


def _replaced_user(shift: Shift, scheduled: Sequence[Shift]) -> User | None:
    mid = shift.start + (shift.end - shift.start) / 2
    for s in scheduled:
        if (
            views.layer_key(s) == views.layer_key(shift)
            and s.start <= mid < s.end
            and views.is_person(s.user)
            and not views.same_user(s.user, shift.user)
        ):
            return s.user
    return None


def _view_zone_label(start: datetime, end: datetime, zone: timefmt.ZoneLike) -> str:
    labels: list[str] = []
    t = start
    while t < end:
        label = timefmt.zone_label(t, zone)
        if label not in labels:
            labels.append(label)
        t += timedelta(hours=1)
    return "/".join(labels) if labels else timefmt.zone_label(start, zone)


def build_view(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    me: User | None,
    *,
    start: datetime,
    end: datetime,
    zone: timefmt.ZoneLike,
    now: datetime,
    kind: str = KIND_WEEK,
    cursor: datetime | None = None,
    scheduled: Sequence[Shift] = (),
    schedule_order: Sequence[str] | None = None,
) -> CalendarView:
    """Lay ``shifts`` (final entries) out over [start, end) in lanes per schedule and
    layer. ``scheduled`` (the rota before overrides) lets an override block say whom it
    replaced. ``schedule_order`` fixes which schedules are shown, in which order."""
    tz = timefmt.resolve_zone(zone)
    in_view = [s for s in shifts if s.start < end and s.end > start and s.end > s.start]
    me_id = me.id if me is not None else None
    mine_ids = {
        s.schedule_id for s in in_view if me_id is not None and s.user and s.user.id == me_id
    }
    if me_id is not None:
        for schedule in schedules:
            if any(u.id == me_id for r in schedule.rotations for u in r.users):
                mine_ids.add(schedule.id)
    by_layer: dict[LayerKey, list[Shift]] = {}
    for s in views.merge_contiguous(in_view, keep_overrides_apart=True):
        by_layer.setdefault(views.layer_key(s), []).append(s)

    rows: list[ScheduleLanes] = []
    for schedule in _order_schedules(schedules, mine_ids, schedule_order):
        lanes: list[Lane] = []
        for key in views.schedule_layers(schedule, in_view):
            blocks = tuple(
                Block(
                    start=max(s.start, start),
                    end=min(s.end, end),
                    shift_start=s.start,
                    shift_end=s.end,
                    user=s.user,
                    mine=me_id is not None and s.user is not None and s.user.id == me_id,
                    override=s.is_override,
                    replaces=_replaced_user(s, scheduled) if s.is_override else None,
                    nobody=not views.is_person(s.user),
                )
                for s in by_layer.get(key, [])
            )
            lanes.append(
                Lane(
                    schedule_id=schedule.id,
                    schedule_name=schedule.name,
                    rotation_id=key[1],
                    layer_id=key[2],
                    title=schedule.layer_name(key[1], key[2]),
                    blocks=blocks,
                    mine=any(b.mine for b in blocks),
                )
            )
        rows.append(
            ScheduleLanes(
                schedule_id=schedule.id,
                name=schedule.name,
                timezone=schedule.timezone,
                lanes=tuple(lanes),
                gaps=views.coverage_gaps(
                    in_view, schedule.id, start, end, schedule_name=schedule.name
                ),
                mine=schedule.id in mine_ids,
            )
        )

    days: list[Day] = []
    today_date = now.astimezone(tz).date()
    d = start.astimezone(tz).date()
    while True:
        d_start = timefmt.local_midnight(d, tz)
        if d_start >= end:
            break
        d_end = timefmt.local_midnight(d + timedelta(days=1), tz)
        days.append(Day(d, d_start, d_end, d.strftime("%a %d %b"), d == today_date))
        d += timedelta(days=1)

    at_cursor: tuple[LayerOnCall, ...] = ()
    if cursor is not None:
        shown = [r.schedule_id for r in rows]
        at_cursor = views.on_call_at(shifts, schedules, cursor, schedule_ids=shown)
        order = {sid: i for i, sid in enumerate(shown)}
        at_cursor = tuple(sorted(at_cursor, key=lambda lay: order.get(lay.schedule_id, 0)))
    return CalendarView(
        kind=kind,
        start=start,
        end=end,
        zone=timefmt.zone_name(tz),
        zone_label=_view_zone_label(start, end, tz),
        days=tuple(days),
        schedules=tuple(rows),
        now=now if start <= now < end else None,
        cursor=cursor,
        at_cursor=at_cursor,
    )


def week_view(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    me: User | None,
    *,
    anchor: datetime,
    zone: timefmt.ZoneLike,
    now: datetime,
    cursor: datetime | None = None,
    scheduled: Sequence[Shift] = (),
    schedule_order: Sequence[str] | None = None,
    week_start: int = 0,
) -> CalendarView:
    """The week (in ``zone``) containing ``anchor``."""
    start, end = week_bounds(anchor, zone, week_start=week_start)
    return build_view(
        shifts,
        schedules,
        me,
        start=start,
        end=end,
        zone=zone,
        now=now,
        kind=KIND_WEEK,
        cursor=cursor,
        scheduled=scheduled,
        schedule_order=schedule_order,
    )


def day_view(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    me: User | None,
    *,
    anchor: datetime,
    zone: timefmt.ZoneLike,
    now: datetime,
    cursor: datetime | None = None,
    scheduled: Sequence[Shift] = (),
    schedule_order: Sequence[str] | None = None,
) -> CalendarView:
    """The calendar day (in ``zone``) containing ``anchor``."""
    start, end = day_bounds(anchor, zone)
    return build_view(
        shifts,
        schedules,
        me,
        start=start,
        end=end,
        zone=zone,
        now=now,
        kind=KIND_DAY,
        cursor=cursor,
        scheduled=scheduled,
        schedule_order=schedule_order,
    )


def who_is_on_at(
    shifts: Sequence[Shift], schedules: Sequence[Schedule], cursor: datetime
) -> tuple[LayerOnCall, ...]:
    """Who holds every layer of every schedule at the time cursor."""
    return views.on_call_at(shifts, schedules, cursor)


# ======================================================================= ICS export


def shift_uid(shift: Shift) -> str:
    """A UID stable across exports: derived from schedule, rotation, layer and start
    (never random), so re-importing updates an event instead of duplicating it."""
    basis = "|".join(
        (
            shift.schedule_id,
            shift.rotation_id,
            shift.layer_id,
            shift.start.astimezone(UTC).isoformat(),
        )
    )
    digest = hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
    return f"{digest}@{ICS_UID_DOMAIN}"


def _ics_text(value: str, limit: int = 500) -> str:
    return clean_text(value, limit=limit)


def shifts_to_ics(
    shifts: Iterable[Shift],
    schedules: Sequence[Schedule],
    me: User,
    *,
    calendar_name: str,
    now: datetime | None = None,
    scheduled: Sequence[Shift] = (),
) -> bytes:
    """An iCalendar file of my shifts (touching parts on one layer joined, except that
    an override part stays its own event).

    Each event: UID from :func:`shift_uid`, times in UTC, summary "<schedule> —
    <layer>" (prefixed "On call:" unless the schedule's name says so), overrides marked
    in the summary and in CATEGORIES (with whom they replaced, when ``scheduled`` says),
    the schedule's zone and link in the description. ``now`` is the DTSTAMP; pass it
    (everything else here is pure). Only when it is omitted is the clock read, because
    a DTSTAMP that does not move forward keeps some calendar apps from taking updates.
    """
    by_id: Mapping[str, Schedule] = {s.id: s for s in schedules}
    mine = [
        s
        for s in views.merge_contiguous(
            (s for s in shifts if s.user is not None), keep_overrides_apart=True
        )
        if s.user is not None and s.user.id == me.id
    ]
    mine.sort(key=lambda s: (s.start, s.schedule_id, s.rotation_id, s.layer_id))

    cal = Calendar()
    cal.add("prodid", ICS_PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    name = _ics_text(calendar_name, 200)
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    stamp = (now if now is not None else datetime.now(UTC)).astimezone(UTC)
    for s in mine:
        schedule = by_id.get(s.schedule_id)
        schedule_name = _ics_text(schedule.name if schedule else s.schedule_id)
        layer = _ics_text(schedule.layer_name(s.rotation_id, s.layer_id) if schedule else "")
        zone = schedule.timezone if schedule and schedule.timezone else "UTC"
        summary = (
            schedule_name if not layer or layer == schedule_name else (f"{schedule_name} — {layer}")
        )
        if s.is_override:
            summary += " (override)"
        lines = [
            f"Schedule: {schedule_name}",
            f"Layer: {layer or s.layer_id}",
            f"Schedule time zone: {_ics_text(timefmt.zone_name(zone))}",
            "Local times: " + timefmt.format_range(s.start, s.end, zone),
        ]
        if s.is_override:
            replaced = _replaced_user(s, scheduled)
            lines.append(
                f"Override: you cover for {_ics_text(replaced.name)}"
                if replaced is not None
                else "Override: you were put on this layer by an override"
            )
        event = Event()
        event.add("uid", shift_uid(s))
        event.add("dtstamp", stamp)
        event.add("dtstart", s.start.astimezone(UTC))
        event.add("dtend", s.end.astimezone(UTC))
        folded = summary.casefold()
        if "on call" not in folded and "on-call" not in folded:
            summary = f"On call: {summary}"
        event.add("summary", summary)
        event.add("description", "\n".join(lines))
        event.add("transp", "OPAQUE")
        event.add("categories", ["on-call", "override"] if s.is_override else ["on-call"])
        if schedule is not None and schedule.permalink:
            url, _ = openable_url(schedule.permalink)
            if url:
                event.add("url", url)
        cal.add_component(event)
    return bytes(cal.to_ical())


def care_about(
    schedules: Sequence[Schedule],
    me: User | None,
    paths: Sequence[EscalationPath],
    wanted: Sequence[str] = (),
) -> tuple[str, ...]:
    """The schedules I care about, in list order: those named in the config, those I am
    in the rota of, and every schedule on an escalation path that reaches one of mine
    first (so the escalators and the global schedule come along)."""
    if wanted:
        lowered = {w.casefold() for w in wanted}
        named = [s.id for s in schedules if s.id in wanted or s.name.casefold() in lowered]
        if named:
            return tuple(named)
    mine = {
        s.id
        for s in schedules
        if me is not None and any(u.id == me.id for r in s.rotations for u in r.users)
    }
    chosen = set(mine)
    known = {s.id for s in schedules}
    for path in paths:
        if not path.levels:
            # A path built from a template lists no levels: the schedules bound to its
            # parameters are what it pages. It is mine if one of them is, or if I am one
            # of its current responders.
            bound = {i for i in path.bound_ids if i in known}
            if bound & mine or (
                me is not None and any(u.id == me.id for u in path.current_responders)
            ):
                chosen |= bound
            continue
        levels = [{t.id for t in level.targets if t.type == "schedule"} for level in path.levels]
        # A path that pages one of my schedules first is my team's path: its later
        # levels (escalators, global) are where my pages go when I do not answer.
        if levels and levels[0] & mine:
            chosen |= set().union(*levels)
    return tuple(s.id for s in schedules if s.id in chosen)
