"""Availability actions: mark me unavailable, ask a colleague to cover, list and remove
my overrides.

The planning is pure (:mod:`oncall_tui.core.availability`); this module fetches what a
plan needs, creates the overrides one layer at a time, and when a create fails half way
reports which overrides exist and what undoing them would do. It never edits a rotation:
every change is an override (to ``NOBODY`` or to a colleague), which is what the
incident.io API offers (it has no cover-request endpoint).

Like :mod:`oncall_tui.core.actions`, everything returns words a person reads and raises
:class:`~oncall_tui.core.actions.ActionError` when it cannot go ahead.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from oncall_tui.backends.http import ApiError, InvalidRequest
from oncall_tui.backends.incidentio import IncidentIoClient
from oncall_tui.core import availability, calendar, guard, timefmt, views
from oncall_tui.core.actions import ActionError, Outcome, check_write
from oncall_tui.core.availability import AvailabilityPlan, UndoPlan
from oncall_tui.core.sources import Backends
from oncall_tui.core.sync import utcnow
from oncall_tui.core.whoami import WhoAmI
from oncall_tui.domain import (
    EscalationPath,
    Override,
    Schedule,
    ScheduleEntries,
    Shift,
    Snapshot,
    User,
)
from oncall_tui.safety import clean_text

# How far ahead "my overrides" looks, and how far back (an override running now).
OVERRIDES_AHEAD = timedelta(days=90)
PARALLEL_REQUESTS = 6

# ================================================================ reading times

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
_IN = re.compile(r"^in\s+(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)$")
WHEN_HELP = (
    "ISO 8601 (2026-12-24T09:00, with or without a zone such as Z or +01:00), a date "
    "(2026-12-24), today, tomorrow, a weekday (monday), each optionally followed by a "
    "time (tomorrow 09:00), a time alone (14:00), now, or in 2h / in 3d"
)


def _local(d: date, t: time, tz: tzinfo) -> datetime:
    # fold=0: an ambiguous wall time (clocks going back) is its first occurrence; a
    # wall time that does not exist (clocks going forward) is resolved by the round
    # trip through UTC to the instant just after the jump.
    return datetime.combine(d, t, tzinfo=tz).astimezone(UTC)


# Times a rota change may name: an override further off than this is a typo, and
# dates near the calendar's ends cannot be computed with at all.
WHEN_PAST = timedelta(days=366)
WHEN_FUTURE = timedelta(days=2 * 366)


def parse_when(
    text: str, *, now: datetime, zone: timefmt.ZoneLike = None, end: bool = False
) -> datetime:
    """Read a time a person typed; without a zone it is in ``zone`` (my display zone).

    A date with no time means the start of that day, or with ``end`` the end of it (so
    ``--from 2026-12-24 --to 2026-12-26`` covers three whole days). Raises ValueError in
    words, also for a time outside the allowed range (a year back to two years ahead),
    which it names. Returns an aware UTC datetime.
    """
    earliest, latest = now - WHEN_PAST, now + WHEN_FUTURE
    allowed = (
        f"times from {timefmt.format_time(earliest, zone, now=now)} "
        f"to {timefmt.format_time(latest, zone, now=now)} are allowed"
    )
    try:
        when = _parse_when(text, now=now, zone=zone, end=end)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, ValueError) and "out of range" not in str(exc):
            raise
        raise ValueError(f"{clean_text(text, limit=40)!r} is too far off: {allowed}") from None
    if not earliest <= when <= latest:
        raise ValueError(f"{clean_text(text, limit=40)!r} is too far off: {allowed}")
    return when


def _parse_when(text: str, *, now: datetime, zone: timefmt.ZoneLike, end: bool) -> datetime:
    raw = clean_text(text, limit=80).strip()
    if not raw:
        raise ValueError(f"no time given; use {WHEN_HELP}")
    tz = timefmt.resolve_zone(zone)
    lowered = raw.lower()
    local_now = now.astimezone(tz)
    if lowered == "now":
        return now.astimezone(UTC)
    match = _IN.match(lowered)
    if match:
        digits, unit = match.group(1), match.group(2)[0]
        if len(digits) > 7:
            raise OverflowError(digits)
        n = int(digits)
        delta = {
            "m": timedelta(minutes=n),
            "h": timedelta(hours=n),
            "d": timedelta(days=n),
            "w": timedelta(weeks=n),
        }[unit]
        return (now + delta).astimezone(UTC)
    # ISO 8601: a full date-time (zone or not), or a date alone.
    iso = raw.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", raw) else raw
    try:
        if re.match(r"^\d{4}-\d{2}-\d{2}$", iso):
            d = date.fromisoformat(iso)
            return _local(d + timedelta(days=1) if end else d, time(0), tz)
        if re.match(r"^\d{4}-\d{2}-\d{2}T", iso):
            parsed = datetime.fromisoformat(iso)
            if parsed.tzinfo is None:
                return _local(parsed.date(), parsed.time(), tz)
            return parsed.astimezone(UTC)
    except ValueError as exc:
        if "out of range" in str(exc):
            raise OverflowError(raw) from None
        raise ValueError(f"cannot read {raw!r} as a date or time; use {WHEN_HELP}") from None
    # Friendly: "<day> [HH:MM]" or "HH:MM".
    parts = lowered.split()
    day: date | None = None
    clock: str | None = None
    if len(parts) == 1 and _CLOCK.match(parts[0]) and ":" in parts[0]:
        day, clock = local_now.date(), parts[0]
    elif parts and len(parts) <= 2:
        word = parts[0]
        if word == "today":
            day = local_now.date()
        elif word == "tomorrow":
            day = local_now.date() + timedelta(days=1)
        elif word == "yesterday":
            day = local_now.date() - timedelta(days=1)
        elif len(word) >= 3 and any(w.startswith(word) for w in _WEEKDAYS):
            wanted = next(i for i, w in enumerate(_WEEKDAYS) if w.startswith(word))
            ahead = (wanted - local_now.weekday()) % 7
            day = local_now.date() + timedelta(days=ahead)
        if len(parts) == 2:
            clock = parts[1]
    if day is None:
        raise ValueError(f"cannot read {raw!r}; use {WHEN_HELP}")
    if clock is None:
        return _local(day + timedelta(days=1) if end else day, time(0), tz)
    m = _CLOCK.match(clock)
    if not m:
        raise ValueError(f"cannot read the time {clock!r}; write it as HH:MM (24-hour)")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour == 24 and minute == 0:
        return _local(day + timedelta(days=1), time(0), tz)
    if hour > 23 or minute > 59:
        raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day")
    return _local(day, time(hour, minute), tz)


# ===================================================================== results


@dataclass(frozen=True, slots=True)
class CalendarBase:
    """What the calendar starts from: every schedule (with its rotations), me, and the
    schedules I care about (see :func:`oncall_tui.core.calendar.care_about`)."""

    schedules: tuple[Schedule, ...]
    me: User
    care: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlanningData:
    """What a plan is made from: schedules with their layers, ``final`` shifts of the
    range (all layers: they tell who still covers) and the overrides that exist."""

    schedules: tuple[Schedule, ...]
    shifts: tuple[Shift, ...]
    overrides: tuple[Shift, ...]
    scheduled: tuple[Shift, ...] = ()


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """How applying a plan went. ``complete`` when every planned override was made."""

    plan: AvailabilityPlan
    created: tuple[Override, ...]
    messages: tuple[str, ...]  # who is on call instead, one per override made
    failed: availability.PlannedOverride | None = None
    error: str = ""
    undo: UndoPlan | None = None
    next_step: str = ""  # what to do instead, when incident.io refused the kind of change

    @property
    def complete(self) -> bool:
        return self.failed is None

    @property
    def summary(self) -> str:
        n = len(self.plan.overrides)
        left = "".join(f" Not changed: {r}." for r in self.plan.refused)
        if self.complete:
            noun = "override" if n == 1 else "overrides"
            return f"Made {n} {noun}. " + " ".join(f"{m}." for m in self.messages) + left
        made = len(self.created)
        assert self.failed is not None
        head = f"Stopped after {made} of {n} overrides: {self.failed.title} failed ({self.error})."
        step = f" {self.next_step}" if self.next_step else ""
        if made:
            return head + " Made: " + "; ".join(self.messages) + "." + left + step
        return head + " Nothing was changed." + step


@dataclass(frozen=True, slots=True)
class MyOverride:
    """An override that involves me: I cover someone, or someone (or no one) covers me."""

    override: Override
    schedule_name: str
    layer_name: str
    replaces: User | None  # who is on the rota underneath, when known
    i_cover: bool  # I am the override's user

    @property
    def id(self) -> str:
        return self.override.id

    @property
    def start(self) -> datetime:
        return self.override.start

    @property
    def end(self) -> datetime:
        return self.override.end

    def title(self) -> str:
        if not self.layer_name or self.layer_name in self.schedule_name:
            return self.schedule_name
        return f"{self.schedule_name} — {self.layer_name}"

    def describe(self, zone: timefmt.ZoneLike = None) -> str:
        """ "On call: Payments, Tue 09:00–17:00 CET: no one instead of you"."""
        rng = timefmt.format_range(self.start, self.end, zone)
        user = self.override.user
        if self.i_cover:
            whom = f"you cover {_who(self.replaces)}" if self.replaces else "you are on call"
        elif user is None or user.is_nobody:
            whom = "no one instead of you"
        else:
            whom = f"{_who(user)} instead of you"
        return f"{self.title()}, {rng}: {whom}"


def _who(user: User | None) -> str:
    if user is None or user.is_nobody:
        return "no one"
    return user.name or user.id


# ====================================================================== actions


class OverrideActions:
    """Availability on incident.io: plans, applies, undoes, lists and removes overrides."""

    def __init__(
        self,
        backends: Backends,
        *,
        readonly: bool = False,
        clock: Callable[[], datetime] = utcnow,
        zone: timefmt.ZoneLike = None,
        whoami: WhoAmI | None = None,
    ) -> None:
        self.backends = backends
        self.readonly = readonly
        self.clock = clock
        self.whoami = whoami or WhoAmI(backends)
        self.zone = zone if zone is not None else backends.settings.display_zone()
        self._schedules: tuple[Schedule, ...] | None = None

    # -- helpers -------------------------------------------------------------------

    def _io(self) -> IncidentIoClient:
        return self.backends.io()

    def check_write(self, action: str) -> None:
        """Refuse before anything is sent: read-only mode, or a key that cannot override."""
        check_write(self.backends, self.readonly, action)

    async def me(self) -> User:
        """Me, or :class:`ActionError` saying why not."""
        return await self.whoami.require()

    async def calendar_base(self, snapshot: Snapshot, *, refresh: bool = False) -> CalendarBase:
        """The calendar's starting point; me and the escalation paths come from the
        engine's ``snapshot`` when it has them, else from incident.io."""
        schedules = await self.schedules(refresh=refresh)
        me = snapshot.me or await self.me()
        paths: Sequence[EscalationPath] = snapshot.paths
        if not paths and self.backends.incidentio is not None:
            try:
                paths = await self.backends.incidentio.list_escalation_paths()
            except ApiError:
                paths = ()  # without paths, my own schedules still matter
        wanted = self.backends.settings.incident_io.schedules
        return CalendarBase(schedules, me, calendar.care_about(schedules, me, paths, wanted))

    async def schedules(self, *, refresh: bool = False) -> tuple[Schedule, ...]:
        """Every schedule with its rotations and layers (cached for this object)."""
        if self._schedules is not None and not refresh:
            return self._schedules
        io = self._io()
        try:
            listed = await io.list_schedules()
            sem = asyncio.Semaphore(PARALLEL_REQUESTS)

            async def full(s: Schedule) -> Schedule:
                if s.rotations:
                    return s
                async with sem:
                    return await io.get_schedule(s.id)

            self._schedules = tuple(await asyncio.gather(*(full(s) for s in listed)))
        except ApiError as exc:
            raise ActionError(f"Reading the schedules failed: {exc}") from None
        return self._schedules

    @staticmethod
    def pick_schedules(schedules: Sequence[Schedule], wanted: Iterable[str]) -> list[Schedule]:
        """Schedules named by id, by exact name (any case) or by a unique part of the name.
        Raises ActionError naming the schedules that exist."""
        picked: dict[str, Schedule] = {}
        for raw in wanted:
            text = raw.strip()
            if not text:
                continue
            folded = text.casefold()
            exact = [s for s in schedules if s.id == text or s.name.casefold() == folded]
            found = exact or [s for s in schedules if folded in s.name.casefold()]
            names = ", ".join(sorted(s.name for s in schedules)) or "none"
            if not found:
                raise ActionError(f"No schedule is called {text!r}. Schedules: {names}.")
            if len(found) > 1:
                many = ", ".join(s.name for s in found)
                raise ActionError(f"{text!r} matches several schedules ({many}); be exact.")
            picked[found[0].id] = found[0]
        return list(picked.values())

    async def load(
        self, start: datetime, end: datetime, schedules: Sequence[Schedule] | None = None
    ) -> PlanningData:
        """``final``, ``scheduled`` and override entries of ``schedules`` (default: all)
        for [start, end)."""
        io = self._io()
        chosen = list(schedules) if schedules is not None else list(await self.schedules())
        sem = asyncio.Semaphore(PARALLEL_REQUESTS)

        async def entries(s: Schedule) -> ScheduleEntries:
            async with sem:
                return await io.schedule_entries(s.id, start, end)

        try:
            found = await asyncio.gather(*(entries(s) for s in chosen))
        except ApiError as exc:
            raise ActionError(f"Reading the shifts failed: {exc}") from None
        return PlanningData(
            schedules=tuple(chosen),
            shifts=tuple(s for e in found for s in e.final),
            overrides=tuple(s for e in found for s in e.overrides),
            scheduled=tuple(s for e in found for s in e.scheduled),
        )

    async def colleague(self, text: str, me: User | None = None) -> User:
        """A colleague by email, or by a unique part of their name. ActionError in words
        for someone unknown or ambiguous."""
        wanted = clean_text(text, limit=200).strip()
        if not wanted:
            raise ActionError("Name a colleague (their email or name).")
        io = self._io()
        try:
            if "@" in wanted:
                user = await io.find_user_by_email(wanted)
                if user is None:
                    raise ActionError(
                        f"No incident.io user has the email {wanted}; check the spelling."
                    )
                found = [user]
            else:
                folded = wanted.casefold()
                users = await io.list_users()
                exact = [u for u in users if u.name.casefold() == folded]
                found = exact or [u for u in users if _name_matches(u.name, folded)]
                if not found:
                    raise ActionError(
                        f"No incident.io user is called {wanted!r}; give their email instead."
                    )
                if len(found) > 1:
                    many = ", ".join(f"{u.name} <{u.email}>" for u in found[:5])
                    raise ActionError(f"{wanted!r} matches several people ({many}); be exact.")
        except ApiError as exc:
            raise ActionError(f"Looking up {wanted} failed: {exc}") from None
        user = found[0]
        if me is not None and user.id == me.id:
            raise ActionError("You cannot cover for yourself; name a colleague.")
        return user

    def _zone(self, zone: timefmt.ZoneLike) -> timefmt.ZoneLike:
        """The zone a call asked for, else the session's display zone."""
        return zone if zone is not None else self.zone

    # -- planning -------------------------------------------------------------------

    async def plan(
        self,
        start: datetime,
        end: datetime,
        *,
        me: User | None = None,
        colleague: User | None = None,
        schedules: Sequence[str] = (),
        now: datetime | None = None,
        zone: timefmt.ZoneLike = None,
    ) -> tuple[AvailabilityPlan, PlanningData]:
        """Plan "unavailable" (no colleague) or "cover" over [start, end) on every
        schedule, or only on ``schedules`` (names or ids). Times are read and told in
        ``zone`` (default: the display zone)."""
        zone = self._zone(zone)
        now = now or self.clock()
        me = me or await self.me()
        everything = await self.schedules()
        chosen = self.pick_schedules(everything, schedules) if schedules else list(everything)
        # Validate first: no need to read months of shifts for a range that is refused.
        _, errors, _ = availability.validate_range(start, end, now=now, zone=zone)
        if errors:
            data = PlanningData(tuple(chosen), (), ())
        else:
            data = await self.load(max(start, now) - timedelta(minutes=1), end, chosen)
        if colleague is None:
            plan = availability.plan_unavailable(
                data.shifts, data.schedules, data.overrides, me, start, end, now=now, zone=zone
            )
        else:
            plan = availability.plan_cover(
                data.shifts,
                data.schedules,
                data.overrides,
                me,
                colleague,
                start,
                end,
                now=now,
                zone=zone,
            )
        return plan, data

    # -- applying -------------------------------------------------------------------

    async def apply(self, plan: AvailabilityPlan, *, zone: timefmt.ZoneLike = None) -> ApplyResult:
        """Create the plan's overrides in order. Stops at the first failure and returns
        what was made, with the undo for it (told in ``zone``); never raises for an API
        failure."""
        zone = self._zone(zone)
        self.check_write("cover" if plan.colleague is not None else "unavailable")
        if plan.errors:
            raise ActionError(" ".join(plan.errors))
        if not plan.overrides:
            raise ActionError("Nothing to change: the plan has no overrides.")
        io = self._io()
        made: list[tuple[availability.PlannedOverride, Override]] = []
        for planned in plan.overrides:
            start = planned.start
            now = self.clock()
            if start < now:
                # The plan moved a past start to "now" when it was made; now is later.
                start = now
            if planned.end <= start:
                continue
            try:
                override = await io.create_override(
                    planned.schedule_id,
                    planned.rotation_id,
                    planned.layer_id,
                    start,
                    planned.end,
                    planned.user,
                )
            except ApiError as exc:
                step = ""
                if planned.nobody and isinstance(exc, InvalidRequest):
                    # Overrides to {"id": "NOBODY"} are what incident.io's own app makes,
                    # but the public schema does not promise them.
                    step = (
                        "incident.io did not accept an override to no one: ask a colleague "
                        "to cover you instead (oncall-tui unavailable --cover EMAIL, or c in "
                        "the calendar), or have your rotation changed in incident.io."
                    )
                return self._result(plan, made, planned, str(exc), next_step=step, zone=zone)
            made.append((planned, override))
        return self._result(plan, made, zone=zone)

    def _result(
        self,
        plan: AvailabilityPlan,
        made: Sequence[tuple[availability.PlannedOverride, Override]],
        failed: availability.PlannedOverride | None = None,
        error: str = "",
        *,
        next_step: str = "",
        zone: timefmt.ZoneLike = None,
    ) -> ApplyResult:
        now = self.clock()
        messages = tuple(availability.after_message(p, now=now, zone=zone) for p, _ in made)
        # The plan knows each override by its window; a start moved to "now" (or a
        # window the server rounded) must still be recognised as the plan's own, so
        # undo puts back what it displaced.
        as_planned = [replace(o, start=p.start, end=p.end) for p, o in made]
        undo = availability.plan_undo(plan, as_planned, zone=zone)
        return ApplyResult(
            plan,
            tuple(o for _, o in made),
            messages,
            failed=failed,
            error=clean_text(error, limit=300),
            undo=undo,
            next_step=next_step,
        )

    async def undo(self, undo: UndoPlan) -> Outcome:
        """Delete what a plan made (newest first) and put back what it displaced."""
        self.check_write("overrides_remove")
        io = self._io()
        deleted, recreated, problems = 0, 0, []
        for override in undo.delete:
            try:
                await io.delete_override(override.id)
                deleted += 1
            except ApiError as exc:
                problems.append(f"deleting {override.id}: {exc}")
        for old in undo.recreate:
            try:
                await io.create_override(
                    old.schedule_id,
                    old.rotation_id,
                    old.layer_id,
                    old.start,
                    old.end,
                    old.user if old.user is not None else "NOBODY",
                )
                recreated += 1
            except ApiError as exc:
                problems.append(f"putting back {_who(old.user)}'s override: {exc}")
        text = f"Undone: deleted {deleted} override(s)"
        if undo.recreate:
            text += f", put back {recreated} of {len(undo.recreate)} replaced override(s)"
        if problems:
            raise ActionError(
                text + ". Could not finish: " + "; ".join(problems) + ". Check the schedule "
                "in incident.io (oncall-tui overrides lists what is left)."
            )
        return Outcome(text + ".")

    # -- my overrides ---------------------------------------------------------------

    async def my_overrides(
        self, *, me: User | None = None, now: datetime | None = None
    ) -> tuple[MyOverride, ...]:
        """Overrides that have not ended and involve me (I cover, or I am covered),
        on every schedule, soonest first."""
        now = now or self.clock()
        me = me or await self.me()
        io = self._io()
        schedules = await self.schedules()
        sem = asyncio.Semaphore(PARALLEL_REQUESTS)

        async def one(s: Schedule) -> list[MyOverride]:
            async with sem:
                found = [o for o in await io.list_overrides(s.id) if o.end > now]
            if not found:
                return []
            lo = min(o.start for o in found)
            hi = max(o.end for o in found)
            async with sem:
                entries = await io.schedule_entries(s.id, lo, hi)
            out = []
            for o in found:
                under = _scheduled_under(o, entries.scheduled)
                i_cover = o.user is not None and o.user.id == me.id
                mine_under = under is not None and under.id == me.id
                if not (i_cover or mine_under):
                    continue
                out.append(
                    MyOverride(
                        override=o,
                        schedule_name=s.name,
                        layer_name=s.layer_name(o.rotation_id, o.layer_id),
                        replaces=under,
                        i_cover=i_cover,
                    )
                )
            return out

        try:
            chunks = await asyncio.gather(*(one(s) for s in schedules))
        except ApiError as exc:
            raise ActionError(f"Reading the overrides failed: {exc}") from None
        mine = [m for chunk in chunks for m in chunk]
        mine.sort(key=lambda m: (m.start, m.schedule_name, m.layer_name))
        return tuple(mine)

    async def find_mine(self, override_id: str, *, now: datetime | None = None) -> MyOverride:
        """One of my upcoming overrides by id or a unique prefix; a usage error listing
        mine when none or several match."""
        wanted = override_id.strip()
        if not wanted:
            raise guard.BadInput(
                "Give the id of the override to remove (see `oncall-tui overrides`)."
            )
        mine = await self.my_overrides(now=now)
        hits = [m for m in mine if m.id == wanted] or [
            m for m in mine if m.id.lower().startswith(wanted.lower())
        ]
        if not hits:
            yours = ", ".join(m.id for m in mine[:10]) or "none"
            raise guard.BadInput(
                f"None of your upcoming overrides has the id {wanted!r} (yours: {yours}); "
                "`oncall-tui overrides` lists them."
            )
        if len(hits) > 1:
            ids = ", ".join(m.id for m in hits[:10])
            raise guard.BadInput(
                f"{wanted!r} matches {len(hits)} overrides ({ids}); give more of the id."
            )
        return hits[0]

    async def remove(
        self,
        override: str | MyOverride,
        *,
        now: datetime | None = None,
        zone: timefmt.ZoneLike = None,
    ) -> Outcome:
        """Delete one override: one found by :meth:`find_mine`, or by id (or a unique
        prefix of one of mine)."""
        self.check_write("overrides_remove")
        target = (
            override
            if isinstance(override, MyOverride)
            else await self.find_mine(override, now=now)
        )
        try:
            await self._io().delete_override(target.id)
        except ApiError as exc:
            raise ActionError(f"Removing the override failed: {exc}") from None
        back = (
            f"{_who(target.replaces)} is back on the rota"
            if target.replaces is not None
            else "the rota applies again"
        )
        return Outcome(f"Removed: {target.describe(self._zone(zone))}. {back} for that time.")


def _name_matches(name: str, query: str) -> bool:
    """Every word typed starts a word of the name: "ana" finds Ana Souza, not Yuki
    Tanaka; "ana s" too."""
    words = name.casefold().split()
    return all(any(w.startswith(q) for w in words) for q in query.split())


def _scheduled_under(override: Override, scheduled: Sequence[Shift]) -> User | None:
    """Who the rota has on the override's layer at its middle (None: no one/unknown)."""
    mid = override.start + (override.end - override.start) / 2
    for s in scheduled:
        if (
            (s.schedule_id, s.rotation_id, s.layer_id)
            == (override.schedule_id, override.rotation_id, override.layer_id)
            and s.start <= mid < s.end
            and views.is_person(s.user)
        ):
            return s.user
    return None


__all__ = [
    "WHEN_HELP",
    "ApplyResult",
    "MyOverride",
    "OverrideActions",
    "PlanningData",
    "parse_when",
]
