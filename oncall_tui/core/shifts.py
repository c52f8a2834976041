"""Shifts and coverage: who is on call on each layer, my shifts, at a glance, gaps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from oncall_tui.core import timefmt
from oncall_tui.domain import (
    Schedule,
    Shift,
    User,
)

LayerKey = tuple[str, str, str]  # schedule_id, rotation_id, layer_id


def layer_key(shift: Shift) -> LayerKey:
    return (shift.schedule_id, shift.rotation_id, shift.layer_id)


def is_person(user: User | None) -> bool:
    """True for a real person; False for a missing user or NOBODY."""
    return user is not None and not user.is_nobody


def same_user(a: User | None, b: User | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.id == b.id


def schedule_layers(schedule: Schedule, shifts: Iterable[Shift] = ()) -> tuple[LayerKey, ...]:
    """Every layer of ``schedule``: configured layers in config order (rotation versions
    deduplicated), then layers seen only in ``shifts``, sorted."""
    seen: dict[LayerKey, None] = {}
    for rotation in schedule.rotations:
        for layer in rotation.layers:
            seen.setdefault((schedule.id, rotation.id, layer.id), None)
    extra = sorted({layer_key(s) for s in shifts if s.schedule_id == schedule.id} - seen.keys())
    return (*seen, *extra)


def layer_display_name(schedules: Mapping[str, Schedule], key: LayerKey) -> str:
    schedule = schedules.get(key[0])
    if schedule is None:
        return key[2] or key[1] or "?"
    return schedule.layer_name(key[1], key[2])


def _by_id(schedules: Iterable[Schedule]) -> dict[str, Schedule]:
    return {s.id: s for s in schedules}


def _schedule_name(schedules: Mapping[str, Schedule], schedule_id: str) -> str:
    schedule = schedules.get(schedule_id)
    return schedule.name if schedule is not None else schedule_id


def _group_by_layer(shifts: Iterable[Shift]) -> dict[LayerKey, list[Shift]]:
    groups: dict[LayerKey, list[Shift]] = {}
    for shift in shifts:
        if shift.end <= shift.start:
            continue  # zero-length or inverted: covers no instant
        groups.setdefault(layer_key(shift), []).append(shift)
    for items in groups.values():
        items.sort(key=lambda s: (s.start, s.end))
    return groups


def chain_end(layer_shifts: Iterable[Shift], shift: Shift) -> datetime:
    """End of the run of touching shifts held by ``shift``'s user on its layer.

    Entries are often split at override or rota boundaries; a person reads "until
    17:00", not "until 12:00" followed by another entry of their own.
    """
    same = [s for s in layer_shifts if same_user(s.user, shift.user) and s.end > s.start]
    end = shift.end
    grown = True
    while grown:
        grown = False
        for other in same:
            if other.start <= end < other.end:
                end, grown = other.end, True
    return end


def chain_start(layer_shifts: Iterable[Shift], shift: Shift) -> datetime:
    """Start of the run of touching shifts held by ``shift``'s user on its layer."""
    same = [s for s in layer_shifts if same_user(s.user, shift.user) and s.end > s.start]
    start = shift.start
    grown = True
    while grown:
        grown = False
        for other in same:
            if other.start < start <= other.end:
                start, grown = other.start, True
    return start


def merge_contiguous(
    shifts: Iterable[Shift], *, keep_overrides_apart: bool = False
) -> tuple[Shift, ...]:
    """Join touching or overlapping shifts of the same user on the same layer.

    The merged shift keeps the first part's fields (kind, entry_id, fingerprint) and is
    an override if any part was one. With ``keep_overrides_apart``, an override part is
    never joined to a rota part (a calendar shows them apart). Zero-length shifts are
    dropped. Sorted by (start, schedule, rotation, layer).
    """
    out: list[Shift] = []
    for items in _group_by_layer(shifts).values():
        current = items[0]
        override = current.is_override
        for nxt in items[1:]:
            joinable = nxt.start <= current.end and same_user(nxt.user, current.user)
            if joinable and keep_overrides_apart and nxt.is_override != override:
                joinable = False
            if joinable:
                override = override or nxt.is_override
                if nxt.end > current.end:
                    current = _replace_end(current, nxt.end, override)
            else:
                out.append(_mark_override(current, override))
                current, override = nxt, nxt.is_override
        out.append(_mark_override(current, override))
    out.sort(key=lambda s: (s.start, s.schedule_id, s.rotation_id, s.layer_id))
    return tuple(out)


def _replace_end(shift: Shift, end: datetime, override: bool) -> Shift:
    return replace(shift, end=end, kind="override" if override else shift.kind)


def _mark_override(shift: Shift, override: bool) -> Shift:
    if override and not shift.is_override:
        return replace(shift, kind="override")
    return shift


@dataclass(frozen=True, slots=True)
class LayerOnCall:
    """Who holds one layer at one moment."""

    schedule_id: str
    schedule_name: str
    rotation_id: str
    layer_id: str
    layer_name: str
    users: tuple[User, ...] = ()  # real people holding the layer (NOBODY excluded)
    until: datetime | None = None  # end of the holder's contiguous cover
    nobody_override: bool = False  # an explicit NOBODY/no-user entry holds the layer
    shifts: tuple[Shift, ...] = ()

    @property
    def key(self) -> LayerKey:
        return (self.schedule_id, self.rotation_id, self.layer_id)

    @property
    def covered(self) -> bool:
        return bool(self.users)

    @property
    def who(self) -> str:
        """ "Ana", "Ana, Ben", or "no one"."""
        return ", ".join(u.name or u.id for u in self.users) if self.users else "no one"


def on_call_at(
    shifts: Iterable[Shift],
    schedules: Sequence[Schedule],
    t: datetime,
    *,
    schedule_ids: Iterable[str] | None = None,
) -> tuple[LayerOnCall, ...]:
    """Who is on call at ``t`` on every layer of every schedule (or of ``schedule_ids``).

    Ordered by schedule (as given), then layer (config order). A layer nobody holds is
    returned with no users. A schedule with no known layer at all yields one entry with
    empty rotation and layer ids, so "no one" can still be shown for it.
    """
    wanted = None if schedule_ids is None else set(schedule_ids)
    by_id = _by_id(schedules)
    shifts = [s for s in shifts if wanted is None or s.schedule_id in wanted]
    groups = _group_by_layer(shifts)
    out: list[LayerOnCall] = []
    for schedule in schedules:
        if wanted is not None and schedule.id not in wanted:
            continue
        keys = schedule_layers(schedule, shifts)
        if not keys:
            out.append(LayerOnCall(schedule.id, schedule.name, "", "", ""))
            continue
        for key in keys:
            out.append(_layer_at(groups.get(key, []), key, by_id, t))
    return tuple(out)


def _layer_at(
    layer_shifts: Sequence[Shift], key: LayerKey, by_id: Mapping[str, Schedule], t: datetime
) -> LayerOnCall:
    covering = [s for s in layer_shifts if s.start <= t < s.end]
    people: list[User] = []
    until: datetime | None = None
    for shift in covering:
        user = shift.user
        if user is not None and not user.is_nobody and all(p.id != user.id for p in people):
            people.append(user)
        end = chain_end(layer_shifts, shift)
        until = end if until is None else min(until, end)
    nobody = bool(covering) and not people
    return LayerOnCall(
        schedule_id=key[0],
        schedule_name=_schedule_name(by_id, key[0]),
        rotation_id=key[1],
        layer_id=key[2],
        layer_name=layer_display_name(by_id, key),
        users=tuple(people),
        until=until,
        nobody_override=nobody,
        shifts=tuple(covering),
    )


def next_on_layer(
    shifts: Iterable[Shift],
    key: LayerKey,
    after: datetime,
    *,
    exclude_user_id: str | None = None,
) -> Shift | None:
    """The shift that holds layer ``key`` from ``after`` on, skipping shifts held by
    ``exclude_user_id`` (usually me, so "next" is who takes over from me).

    The answer may be a NOBODY/no-user shift ("no one takes over"). None means the data
    does not say (nothing known after ``after``).
    """
    candidates = sorted(
        (s for s in shifts if layer_key(s) == key and s.end > after and s.end > s.start),
        key=lambda s: (s.start, s.end),
    )
    for shift in candidates:
        if (
            exclude_user_id is not None
            and shift.user is not None
            and (shift.user.id == exclude_user_id)
        ):
            continue
        return shift
    return None


@dataclass(frozen=True, slots=True)
class MyShift:
    """One of my shifts (contiguous parts on one layer joined), with its context."""

    schedule_id: str
    schedule_name: str
    rotation_id: str
    layer_id: str
    layer_name: str
    start: datetime
    end: datetime
    is_override: bool
    left: timedelta  # until the end, from the ``now`` given (zero once ended)
    starts_in: timedelta  # until the start, from ``now`` (zero once started)
    others: tuple[LayerOnCall, ...] = ()  # other layers of the schedule (at now, or at start)
    next_user: User | None = None  # who takes this layer over after me (None: no one/unknown)
    next_start: datetime | None = None  # when the hand-over happens, if known
    next_known: bool = False  # False when the data ends before anyone takes over
    parts: tuple[Shift, ...] = ()

    @property
    def key(self) -> LayerKey:
        return (self.schedule_id, self.rotation_id, self.layer_id)

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end


def _my_chains(shifts: Sequence[Shift], me: User) -> list[tuple[LayerKey, list[Shift]]]:
    """My shifts, grouped into runs of contiguous parts per layer, sorted by start."""
    chains: list[tuple[LayerKey, list[Shift]]] = []
    for key, items in _group_by_layer(shifts).items():
        current: list[Shift] = []
        end: datetime | None = None
        for shift in items:
            mine = shift.user is not None and shift.user.id == me.id
            if not mine:
                continue
            if current and end is not None and shift.start <= end:
                current.append(shift)
                end = max(end, shift.end)
            else:
                if current:
                    chains.append((key, current))
                current, end = [shift], shift.end
        if current:
            chains.append((key, current))
    chains.sort(key=lambda c: (c[1][0].start, c[0]))
    return chains


def _build_my_shift(
    key: LayerKey,
    parts: list[Shift],
    shifts: Sequence[Shift],
    by_id: Mapping[str, Schedule],
    schedules: Sequence[Schedule],
    me: User,
    now: datetime,
) -> MyShift:
    start = parts[0].start
    end = max(p.end for p in parts)
    at = now if start <= now < end else start
    schedule = by_id.get(key[0])
    others: tuple[LayerOnCall, ...] = ()
    if schedule is not None:
        others = tuple(
            lay
            for lay in on_call_at(shifts, [schedule], at)
            if lay.key != key and (lay.rotation_id or lay.layer_id)
        )
    nxt = next_on_layer(shifts, key, end, exclude_user_id=me.id)
    next_user = nxt.user if nxt is not None and is_person(nxt.user) else None
    return MyShift(
        schedule_id=key[0],
        schedule_name=_schedule_name(by_id, key[0]),
        rotation_id=key[1],
        layer_id=key[2],
        layer_name=layer_display_name(by_id, key),
        start=start,
        end=end,
        is_override=any(p.is_override for p in parts),
        left=max(end - now, timedelta(0)),
        starts_in=max(start - now, timedelta(0)),
        others=others,
        next_user=next_user,
        next_start=max(nxt.start, end) if nxt is not None else None,
        next_known=nxt is not None,
        parts=tuple(parts),
    )


def my_current_shifts(
    shifts: Sequence[Shift], schedules: Sequence[Schedule], me: User | None, now: datetime
) -> tuple[MyShift, ...]:
    """The shifts I hold at ``now``, soonest-ending first, each with who else is on the
    schedule's other layers now and who takes over after me."""
    if me is None:
        return ()
    by_id = _by_id(schedules)
    out = [
        _build_my_shift(key, parts, shifts, by_id, schedules, me, now)
        for key, parts in _my_chains(shifts, me)
        if parts[0].start <= now < max(p.end for p in parts)
    ]
    out.sort(key=lambda m: (m.end, m.schedule_name, m.layer_name))
    return tuple(out)


def my_upcoming_shifts(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    me: User | None,
    now: datetime,
    *,
    limit: int | None = None,
) -> tuple[MyShift, ...]:
    """My shifts starting after ``now``, soonest first (``limit`` of them at most)."""
    if me is None:
        return ()
    by_id = _by_id(schedules)
    out: list[MyShift] = []
    for key, parts in _my_chains(shifts, me):
        if parts[0].start > now:
            out.append(_build_my_shift(key, parts, shifts, by_id, schedules, me, now))
            if limit is not None and len(out) >= limit:
                break
    return tuple(out)


def my_next_shift(
    shifts: Sequence[Shift], schedules: Sequence[Schedule], me: User | None, now: datetime
) -> MyShift | None:
    """My next shift that starts after ``now`` (whether or not I am on now)."""
    upcoming = my_upcoming_shifts(shifts, schedules, me, now, limit=1)
    return upcoming[0] if upcoming else None


def is_on_call(shifts: Iterable[Shift], me: User | None, now: datetime) -> bool:
    return me is not None and any(
        s.user is not None and s.user.id == me.id and s.start <= now < s.end for s in shifts
    )


@dataclass(frozen=True, slots=True)
class Glance:
    """One line about a schedule for the "at a glance" strip (escalators, global)."""

    schedule_id: str
    schedule_name: str
    layers: tuple[LayerOnCall, ...]  # every layer at now, covered or not
    covered: bool
    next_change: datetime | None  # earliest moment a layer's holder changes
    text: str


def at_a_glance(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    now: datetime,
    *,
    schedule_ids: Sequence[str],
    zone: timefmt.ZoneLike = None,
) -> tuple[Glance, ...]:
    """A compact summary of who is on call now on each of ``schedule_ids`` (in that
    order), e.g. "Global on-call: Europe: Ben until 16:00 UTC · Americas East: Cy until
    23:00 UTC", or "Escalators: no one on call now; Dee from Tue 09:00 CET"."""
    by_id = _by_id(schedules)
    out: list[Glance] = []
    for sid in schedule_ids:
        schedule = by_id.get(sid)
        if schedule is None:
            continue
        layers = on_call_at(shifts, [schedule], now)
        covered = [lay for lay in layers if lay.covered]
        own = [s for s in shifts if s.schedule_id == sid and s.end > s.start]
        changes = [s.start for s in own if s.start > now] + [
            lay.until for lay in layers if lay.until is not None and lay.until > now
        ]
        next_change = min(changes) if changes else None
        if covered:
            single = len([lay for lay in layers if lay.rotation_id or lay.layer_id]) == 1
            parts = []
            for lay in covered:
                until = f" until {_until_text(lay.until, now, zone)}" if lay.until else ""
                who = f"{lay.who}{until}"
                parts.append(who if single else f"{lay.layer_name}: {who}")
            text = f"{schedule.name}: " + " · ".join(parts)
        else:
            text = f"{schedule.name}: no one on call now"
            upcoming = sorted(
                (s for s in own if s.start > now and is_person(s.user)), key=lambda s: s.start
            )
            if upcoming:
                first = upcoming[0]
                name = first.user.name if first.user is not None else "?"
                when = timefmt.format_time(first.start, zone, now=now)
                text += f"; {name} from {when}"
        out.append(
            Glance(
                schedule_id=sid,
                schedule_name=schedule.name,
                layers=layers,
                covered=bool(covered),
                next_change=next_change,
                text=text,
            )
        )
    return tuple(out)


def _until_text(until: datetime, now: datetime, zone: timefmt.ZoneLike) -> str:
    """ "17:00 CET" later today; "Mon 09:00 GMT" on another day, so it never reads as over."""
    tz = timefmt.resolve_zone(zone)
    if until.astimezone(tz).date() == now.astimezone(tz).date():
        return timefmt.format_clock(until, zone)
    return timefmt.format_time(until, zone, now=now)


@dataclass(frozen=True, slots=True)
class Gap:
    """A window in which no layer of a schedule has anyone on call."""

    schedule_id: str
    start: datetime
    end: datetime
    schedule_name: str = ""

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def covered_intervals(
    shifts: Iterable[Shift], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Merged, sorted windows inside [start, end) in which a real person holds a shift."""
    spans = sorted(
        (max(s.start, start), min(s.end, end))
        for s in shifts
        if is_person(s.user) and s.start < end and s.end > start and s.end > s.start
    )
    merged: list[tuple[datetime, datetime]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def coverage_gaps(
    shifts: Iterable[Shift],
    schedule_id: str,
    start: datetime,
    end: datetime,
    *,
    schedule_name: str = "",
) -> tuple[Gap, ...]:
    """The windows inside [start, end) in which no layer of ``schedule_id`` is held by a
    person (NOBODY overrides and missing users count as uncovered). Merged and sorted.

    Only as good as the shifts given: fetch entries for the whole window.
    """
    if end <= start:
        return ()
    covered = covered_intervals((s for s in shifts if s.schedule_id == schedule_id), start, end)
    gaps: list[Gap] = []
    cursor = start
    for a, b in covered:
        if a > cursor:
            gaps.append(Gap(schedule_id, cursor, a, schedule_name))
        cursor = max(cursor, b)
    if cursor < end:
        gaps.append(Gap(schedule_id, cursor, end, schedule_name))
    return tuple(gaps)


def all_coverage_gaps(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    start: datetime,
    end: datetime,
) -> tuple[Gap, ...]:
    """Coverage gaps of every schedule, sorted by start then schedule order."""
    order = {s.id: i for i, s in enumerate(schedules)}
    out: list[Gap] = []
    for schedule in schedules:
        out.extend(coverage_gaps(shifts, schedule.id, start, end, schedule_name=schedule.name))
    out.sort(key=lambda g: (g.start, order.get(g.schedule_id, 0), g.end))
    return tuple(out)
