"""Planning "mark me unavailable" and "ask a colleague to cover".

Pure: given my ``final`` shifts, the schedules and the overrides that exist, compute the
overrides to create (one per run of my shifts on a layer, clipped to the range), what
they would displace, who still covers the schedule's other layers meanwhile, and the
words for the confirm dialog and for afterwards. Nothing is sent from here; the action
layer creates the overrides and, if it stops half way, asks :func:`plan_undo` what to
delete.

incident.io has no public "cover request" endpoint, so covering is an override to the
colleague, and "unavailable" is an override to NOBODY (see the API notes, section b).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from oncall_tui.core import timefmt, views
from oncall_tui.core.views import LayerKey
from oncall_tui.domain import NOBODY, Override, Schedule, Shift, User

KIND_UNAVAILABLE = "unavailable"
KIND_COVER = "cover"

# The longest range planned in one go. incident.io caps its schedule preview at 91 days,
# the only window the API itself bounds, and a plan must be checkable against the rota
# it was made from. Longer absences belong in the rotation itself (ask its owner to take
# you out), not in months of overrides.
MAX_RANGE = timedelta(days=90)


# ======================================================================== the plan


@dataclass(frozen=True, slots=True)
class StillCovering:
    """Someone on another layer of the same schedule during (part of) a window."""

    layer_name: str
    user: User
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class PlannedOverride:
    """One override to create."""

    schedule_id: str
    schedule_name: str
    rotation_id: str
    layer_id: str
    layer_name: str
    start: datetime
    end: datetime
    user: User  # NOBODY or the colleague
    replaces: User  # me
    schedule_timezone: str = "UTC"
    displaces: tuple[Override, ...] = ()  # existing overrides this one would replace
    still_covered: tuple[StillCovering, ...] = ()  # other layers held meanwhile
    uncovered: tuple[tuple[datetime, datetime], ...] = ()  # no one on any layer then

    @property
    def key(self) -> LayerKey:
        return (self.schedule_id, self.rotation_id, self.layer_id)

    @property
    def nobody(self) -> bool:
        return self.user.is_nobody

    @property
    def title(self) -> str:
        """ "On call: Payments" or "Global on-call — Europe"."""
        if not self.layer_name or self.layer_name in self.schedule_name:
            return self.schedule_name
        return f"{self.schedule_name} — {self.layer_name}"

    def matches(self, override: Override) -> bool:
        """Is ``override`` (as returned by the API) the one this plan made?"""
        return (
            override.schedule_id == self.schedule_id
            and override.rotation_id == self.rotation_id
            and override.layer_id == self.layer_id
            and override.start == self.start
            and override.end == self.end
        )


@dataclass(frozen=True, slots=True)
class AvailabilityPlan:
    kind: str  # unavailable | cover
    me: User
    colleague: User | None  # None when marking unavailable
    start: datetime  # the range as planned (a start in the past is moved to now)
    end: datetime
    overrides: tuple[PlannedOverride, ...] = ()
    errors: tuple[str, ...] = ()  # in words; a plan with errors must not be applied
    warnings: tuple[str, ...] = ()  # in words; show them before confirming
    refused: tuple[str, ...] = ()  # in words: my shifts left as they are, and why

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.overrides)

    @property
    def displaced(self) -> tuple[Override, ...]:
        seen: dict[str, Override] = {}
        for planned in self.overrides:
            for o in planned.displaces:
                seen.setdefault(o.id, o)
        return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class UndoPlan:
    delete: tuple[Override, ...]  # overrides this plan made, newest first
    recreate: tuple[Override, ...]  # overrides they displaced, to put back
    text: str

    @property
    def empty(self) -> bool:
        return not self.delete and not self.recreate


# ===================================================================== validation


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def validate_range(
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    zone: timefmt.ZoneLike = None,
) -> tuple[datetime, tuple[str, ...], tuple[str, ...]]:
    """Check a requested range. Returns (effective start, errors, warnings).

    A range already over, empty or inverted, or longer than :data:`MAX_RANGE` is an
    error. A range that started in the past starts now instead, with a warning.
    """
    start, end, now = _aware(start), _aware(end), _aware(now)
    errors: list[str] = []
    warnings: list[str] = []
    fmt = timefmt.format_time
    if end < start:
        errors.append(
            f"The end ({fmt(end, zone, now=now)}) is before the start "
            f"({fmt(start, zone, now=now)}); swap them or pick another end."
        )
        return start, tuple(errors), ()
    if end == start:
        errors.append("The range is empty: the start and the end are the same time.")
        return start, tuple(errors), ()
    if end <= now:
        errors.append(
            f"That range is over (it ended {timefmt.ago(end, now)}); "
            "overrides only change what is still to come."
        )
        return start, tuple(errors), ()
    if start < now:
        warnings.append(
            f"The range started in the past ({fmt(start, zone, now=now)}); "
            f"it will start now ({timefmt.format_clock(now, zone)}) instead."
        )
        start = now
    if end - start > MAX_RANGE:
        days = (end - start).days
        errors.append(
            f"That is {days} days; plan at most {MAX_RANGE.days} days at a time "
            "(the longest window incident.io previews). For a longer absence, ask the "
            "schedule's owner to take you out of the rotation."
        )
    return start, tuple(errors), tuple(warnings)


def clock_changes(start: datetime, end: datetime, zone: timefmt.ZoneLike) -> list[datetime]:
    """The instants in (start, end] at which ``zone``'s UTC offset changes (to the
    minute)."""
    tz = timefmt.resolve_zone(zone)
    out: list[datetime] = []
    t = start
    before = t.astimezone(tz).utcoffset()
    while t < end:
        nxt = min(t + timedelta(hours=1), end)
        if nxt.astimezone(tz).utcoffset() != before:
            probe = t
            while probe < nxt:
                probe = min(probe + timedelta(minutes=1), nxt)
                offset = probe.astimezone(tz).utcoffset()
                if offset != before:
                    out.append(probe)
                    before = offset
        t = nxt
    return out


# ======================================================================== planning


def _as_override(item: Override | Shift) -> Override | None:
    if isinstance(item, Override):
        return item
    if item.entry_id is None:
        return None
    return Override(
        id=item.entry_id,
        schedule_id=item.schedule_id,
        rotation_id=item.rotation_id,
        layer_id=item.layer_id,
        start=item.start,
        end=item.end,
        user=item.user,
    )


def _who(user: User | None) -> str:
    if user is None or user.is_nobody:
        return "no one"
    return user.name or user.id


def _still_covering(
    shifts: Sequence[Shift],
    key: LayerKey,
    start: datetime,
    end: datetime,
    schedules: Mapping[str, Schedule],
    exclude_user_id: str,
) -> tuple[StillCovering, ...]:
    out: list[StillCovering] = []
    for s in views.merge_contiguous(
        s
        for s in shifts
        if s.schedule_id == key[0]
        and views.layer_key(s) != key
        and views.is_person(s.user)
        and s.start < end
        and s.end > start
    ):
        if s.user is None or s.user.id == exclude_user_id:
            continue
        out.append(
            StillCovering(
                layer_name=views.layer_display_name(schedules, views.layer_key(s)),
                user=s.user,
                start=max(s.start, start),
                end=min(s.end, end),
            )
        )
    out.sort(key=lambda c: (c.start, c.layer_name))
    return tuple(out)


def _plan(
    kind: str,
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    overrides: Iterable[Override | Shift],
    me: User,
    colleague: User | None,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    zone: timefmt.ZoneLike,
) -> AvailabilityPlan:
    start, end, now = _aware(start), _aware(end), _aware(now)
    start, errors, warns = validate_range(start, end, now=now, zone=zone)
    errors_l, warnings = list(errors), list(warns)
    target = colleague if colleague is not None else NOBODY
    if kind == KIND_COVER:
        if colleague is None or colleague.is_nobody:
            errors_l.append("Pick a colleague to cover you (or mark yourself unavailable).")
        elif colleague.id == me.id:
            errors_l.append("You cannot cover for yourself; pick a colleague.")
    if errors_l:
        return AvailabilityPlan(
            kind, me, colleague, start, end, errors=tuple(errors_l), warnings=tuple(warnings)
        )

    by_id = {s.id: s for s in schedules}
    existing = [o for o in (_as_override(x) for x in overrides) if o is not None]
    my_zone = timefmt.zone_name(zone)
    mine = views.merge_contiguous(
        s
        for s in shifts
        if s.user is not None and s.user.id == me.id and s.start < end and s.end > start
    )
    planned: list[PlannedOverride] = []
    refused: list[str] = []
    zone_warned: set[str] = set()
    for s in mine:
        a, b = max(s.start, start), min(s.end, end)
        if b <= a:
            continue
        key = views.layer_key(s)
        schedule = by_id.get(s.schedule_id)
        schedule_name = schedule.name if schedule is not None else s.schedule_id
        layer_id = s.layer_id or (schedule.layer_of(s.rotation_id) if schedule else "")
        if not layer_id:
            # An override must name its layer; never send an empty one, never guess.
            why = (
                schedule.why_no_layer(s.rotation_id)
                if schedule is not None
                else f"the schedule {s.schedule_id} could not be read"
            )
            refused.append(
                f"{schedule_name}, {timefmt.format_range(a, b, zone)}: left as it is, "
                f"because {why}; change it in incident.io"
            )
            continue
        if layer_id != s.layer_id:
            s = replace(s, layer_id=layer_id)
            key = views.layer_key(s)
        schedule_zone = timefmt.zone_name(schedule.timezone if schedule else "UTC")
        displaces = tuple(
            sorted(
                (
                    o
                    for o in existing
                    if (o.schedule_id, o.rotation_id, o.layer_id) == key
                    and o.start < b
                    and o.end > a
                ),
                key=lambda o: (o.start, o.id),
            )
        )
        still = _still_covering(shifts, key, a, b, by_id, me.id)
        others = [
            x
            for x in shifts
            if x.schedule_id == key[0]
            and views.layer_key(x) != key
            and not (x.user is not None and x.user.id == me.id)
        ]
        uncovered: tuple[tuple[datetime, datetime], ...] = ()
        if target.is_nobody:
            uncovered = tuple((g.start, g.end) for g in views.coverage_gaps(others, key[0], a, b))
        planned.append(
            PlannedOverride(
                schedule_id=s.schedule_id,
                schedule_name=schedule_name,
                rotation_id=s.rotation_id,
                layer_id=s.layer_id,
                layer_name=views.layer_display_name(by_id, key),
                start=a,
                end=b,
                user=target,
                replaces=me,
                schedule_timezone=schedule_zone,
                displaces=displaces,
                still_covered=still,
                uncovered=uncovered,
            )
        )
        # --- warnings for this window
        rng = timefmt.format_range(a, b, zone)
        for o in displaces:
            whose = (
                "your own" if o.user is not None and o.user.id == me.id else (f"{_who(o.user)}'s")
            )
            warnings.append(
                f"{planned[-1].title}, {rng}: replaces {whose} existing override "
                f"({timefmt.format_range(o.start, o.end, zone)})."
            )
        for tz_name in dict.fromkeys((schedule_zone, my_zone)):
            changes = clock_changes(a, b, tz_name)
            if changes:
                when = timefmt.format_time(changes[0], tz_name, now=now)
                warnings.append(
                    f"{planned[-1].title}, {rng}: the clocks change in {tz_name} at {when}; "
                    f"the override follows real time and lasts "
                    f"{timefmt.format_duration(b - a)}."
                )
        if schedule_zone != my_zone and schedule_zone not in zone_warned:
            zone_warned.add(schedule_zone)
            warnings.append(
                f"{schedule_name} keeps its rota in {schedule_zone}; times here are in {my_zone}."
            )
        if colleague is not None and not colleague.is_nobody:
            if schedule is not None:
                rota = {u.id for r in schedule.rotations for u in r.users}
                if rota and colleague.id not in rota:
                    warnings.append(
                        f"{_who(colleague)} is not in the rota of {schedule_name}; "
                        "check they can take pages for it."
                    )
            busy = [c for c in still if c.user.id == colleague.id]
            if busy:
                warnings.append(
                    f"{_who(colleague)} is already on call for {busy[0].layer_name} "
                    f"({timefmt.format_range(busy[0].start, busy[0].end, zone)}) and would "
                    "hold two layers."
                )
    if not planned and refused:
        errors_l.append("None of your shifts can be changed here: " + " ".join(refused))
    elif not planned:
        errors_l.append(
            f"You have no shifts {timefmt.format_range(start, end, zone)}: nothing to change."
        )
    warnings = [f"Not changed: {r}." for r in refused] + warnings
    return AvailabilityPlan(
        kind=kind,
        me=me,
        colleague=colleague,
        start=start,
        end=end,
        overrides=tuple(planned),
        errors=tuple(errors_l),
        warnings=tuple(dict.fromkeys(warnings)),
        refused=tuple(refused),
    )


def plan_unavailable(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    overrides: Iterable[Override | Shift],
    me: User,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    zone: timefmt.ZoneLike = None,
) -> AvailabilityPlan:
    """Plan NOBODY overrides over my shifts in [start, end).

    ``shifts`` are ``final`` entries of the schedules concerned (all layers: they tell
    who still covers); ``overrides`` are the existing overrides (``Override`` records or
    override entries with an ``entry_id``), used to warn what would be displaced.
    """
    return _plan(
        KIND_UNAVAILABLE, shifts, schedules, overrides, me, None, start, end, now=now, zone=zone
    )


def plan_cover(
    shifts: Sequence[Shift],
    schedules: Sequence[Schedule],
    overrides: Iterable[Override | Shift],
    me: User,
    colleague: User,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    zone: timefmt.ZoneLike = None,
) -> AvailabilityPlan:
    """Plan overrides that put ``colleague`` on my shifts in [start, end)."""
    return _plan(
        KIND_COVER, shifts, schedules, overrides, me, colleague, start, end, now=now, zone=zone
    )


# ========================================================================== words


def _covered_words(planned: PlannedOverride, zone: timefmt.ZoneLike) -> str:
    if not planned.still_covered:
        return f"no other layer of {planned.schedule_name} has anyone then"
    names: dict[str, list[str]] = {}
    for c in planned.still_covered:
        people = names.setdefault(c.layer_name, [])
        if _who(c.user) not in people:
            people.append(_who(c.user))
    parts = [f"{layer} still covered by {' then '.join(p)}" for layer, p in names.items()]
    text = "; ".join(parts)
    if planned.uncovered:
        holes = ", ".join(timefmt.format_range(a, b, zone) for a, b in planned.uncovered[:3])
        more = f" and {len(planned.uncovered) - 3} more" if len(planned.uncovered) > 3 else ""
        text += f"; no one at all on {planned.schedule_name} {holes}{more}"
    return text


def describe(planned: PlannedOverride, zone: timefmt.ZoneLike = None) -> str:
    """One confirm line: "On call: Payments, Tue 09:00–17:00 CET: no one will be paged for
    this layer; Search still covered by Ana"."""
    rng = timefmt.format_range(planned.start, planned.end, zone)
    if planned.nobody:
        return (
            f"{planned.title}, {rng}: no one will be paged for this layer; "
            f"{_covered_words(planned, zone)}"
        )
    return f"{planned.title}, {rng}: {_who(planned.user)} will be on call instead of you"


def confirm_summary(plan: AvailabilityPlan, zone: timefmt.ZoneLike = None) -> str:
    """The text of the confirm dialog: what will happen, line by line, then warnings."""
    if plan.errors:
        return "\n".join(plan.errors)
    rng = timefmt.format_range(plan.start, plan.end, zone)
    n = len(plan.overrides)
    noun = "override" if n == 1 else "overrides"
    if plan.kind == KIND_COVER:
        head = f"Ask {_who(plan.colleague)} to cover you {rng}: {n} {noun}."
    else:
        head = f"Mark you unavailable {rng}: {n} {noun}."
    lines = [head, *(f"• {describe(p, zone)}" for p in plan.overrides)]
    if plan.warnings:
        lines.append("")
        lines.extend(f"Note: {w}" for w in plan.warnings)
    return "\n".join(lines)


def after_message(planned: PlannedOverride, *, now: datetime, zone: timefmt.ZoneLike = None) -> str:
    """What changed, once the override exists: "Ana is on call for Europe instead until
    16:00 UTC", or "No one is on call for Working hours from Tue 09:00 until 17:00 CET"."""
    until = (
        timefmt.format_clock(planned.end, zone)
        if planned.end - max(planned.start, _aware(now)) < timedelta(hours=24)
        else timefmt.format_time(planned.end, zone, now=now)
    )
    when = f"until {until}"
    if planned.start > _aware(now):
        when = f"from {timefmt.format_time(planned.start, zone, now=now)} {when}"
    if planned.nobody:
        return f"No one is on call for {planned.title} {when}; you are off it"
    return f"{_who(planned.user)} is on call for {planned.title} instead {when}"


def after_messages(
    plan: AvailabilityPlan,
    created: Sequence[Override],
    *,
    now: datetime,
    zone: timefmt.ZoneLike = None,
) -> tuple[str, ...]:
    """One :func:`after_message` per planned override that was actually created."""
    return tuple(
        after_message(p, now=now, zone=zone)
        for p in plan.overrides
        if any(p.matches(o) for o in created)
    )


def plan_undo(
    plan: AvailabilityPlan,
    created: Sequence[Override],
    *,
    zone: timefmt.ZoneLike = None,
) -> UndoPlan:
    """Undo a plan that was applied in part (or whole): delete the overrides it made,
    newest first, and recreate the overrides they displaced (the API deleted or trimmed
    those; recreating restores who was on, under new ids)."""
    made = [o for o in created if any(p.matches(o) for p in plan.overrides)]
    stray = [o for o in created if o not in made]
    delete = tuple(reversed([*made, *stray]))
    recreate: dict[str, Override] = {}
    for p in plan.overrides:
        if any(p.matches(o) for o in made):
            for old in p.displaces:
                recreate.setdefault(old.id, old)
    if not delete:
        return UndoPlan((), (), "Nothing was changed, so there is nothing to undo.")
    listed = "; ".join(
        f"{_title_for(plan, o) or o.schedule_id} {timefmt.format_range(o.start, o.end, zone)}"
        for o in reversed(delete)
    )
    noun = "override" if len(delete) == 1 else "overrides"
    text = f"Undo: delete {len(delete)} {noun} already made ({listed})"
    if recreate:
        back = "; ".join(
            f"{_who(o.user)} {timefmt.format_range(o.start, o.end, zone)}"
            for o in recreate.values()
        )
        text += f", and put back the overrides they replaced ({back})"
    return UndoPlan(delete, tuple(recreate.values()), text + ".")


def _title_for(plan: AvailabilityPlan, override: Override) -> str:
    for p in plan.overrides:
        if p.key == (override.schedule_id, override.rotation_id, override.layer_id):
            return p.title
    return ""
