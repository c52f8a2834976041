"""The simulated rota: schedule entries computed from the rotation rules for any window,
with overrides merged in, and override writes (create, update, delete, displacing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from oncall_tui.sim.records import (
    NOBODY_ID,
    Actor,
    Entry,
    SimOverride,
    SimSchedule,
    WorkingInterval,
    invalid,
    iso,
    not_found,
)
from oncall_tui.sim.world_org import OrgWorld
from oncall_tui.sim.world_state import _fingerprint


class RotaWorld(OrgWorld):
    """Who is on call when, and the overrides that change it."""

    # --------------------------------------------------------------- schedules

    def scheduled_entries(self, sched: SimSchedule, start: datetime, end: datetime) -> list[Entry]:
        """The rota as the rules produce it, for entries overlapping ``[start, end)``."""
        tz = ZoneInfo(sched.timezone)
        out: list[Entry] = []
        for rot in sched.rotations:
            n, k = len(rot.user_ids), len(rot.layers)
            if not n or not k:
                continue
            period = rot.period
            first = (start - rot.handover_start_at) // period
            last = -((rot.handover_start_at - end) // period)  # ceil
            for i in range(first, last):
                ps = rot.handover_start_at + i * period
                pe = ps + period
                for j, layer in enumerate(rot.layers):
                    uid = rot.user_ids[(i * k + j) % n]
                    if uid == NOBODY_ID:
                        continue
                    windows = (
                        _working_windows(rot.working_intervals, ps, pe, tz)
                        if (rot.working_intervals)
                        else [(ps, pe)]
                    )
                    for ws, we in windows:
                        if we > start and ws < end:
                            out.append(
                                Entry(
                                    ws,
                                    we,
                                    rot.id,
                                    layer.id,
                                    uid,
                                    _fingerprint(rot.id, layer.id, uid, ws, we),
                                )
                            )
        out.sort(key=lambda e: (e.start, e.rotation_id, e.layer_id))
        return out

    def overrides_for(self, schedule_id: str, start: datetime, end: datetime) -> list[SimOverride]:
        return sorted(
            (
                o
                for o in self.overrides.values()
                if o.schedule_id == schedule_id and o.end > start and o.start < end
            ),
            key=lambda o: (o.start, o.id),
        )

    def entries(
        self, sched: SimSchedule, start: datetime, end: datetime
    ) -> tuple[list[Entry], list[Entry], list[Entry]]:
        """``(scheduled, overrides, final)`` for entries overlapping ``[start, end)``.

        ``final`` is the scheduled rota with each override replacing its layer for its
        window; an override to NOBODY appears in ``final`` without a user.
        """
        scheduled = self.scheduled_entries(sched, start, end)
        ovs = self.overrides_for(sched.id, start, end)
        override_entries = [
            Entry(
                o.start,
                o.end,
                o.rotation_id,
                o.layer_id,
                o.user_id,
                _fingerprint(o.id, o.layer_id, o.user_id or NOBODY_ID, o.start, o.end),
                o.id,
            )
            for o in ovs
        ]
        by_layer: dict[tuple[str, str], list[SimOverride]] = {}
        for o in ovs:
            by_layer.setdefault((o.rotation_id, o.layer_id), []).append(o)
        final: list[Entry] = list(override_entries)
        for e in scheduled:
            pieces = [(e.start, e.end)]
            for o in by_layer.get((e.rotation_id, e.layer_id), ()):
                pieces = [p for s, t in pieces for p in _subtract(s, t, o.start, o.end)]
            for s, t in pieces:
                if s == e.start and t == e.end:
                    final.append(e)
                else:
                    final.append(
                        Entry(
                            s,
                            t,
                            e.rotation_id,
                            e.layer_id,
                            e.user_id,
                            _fingerprint(e.rotation_id, e.layer_id, e.user_id, s, t),
                        )
                    )
        final = [f for f in final if f.end > start and f.start < end]
        final.sort(key=lambda f: (f.start, f.rotation_id, f.layer_id))
        return scheduled, override_entries, final

    def on_call(self, schedule_id: str, at: datetime) -> list[Entry]:
        """Final entries covering ``at`` (including uncovered NOBODY entries)."""
        sched = self.schedules[schedule_id]
        _s, _o, final = self.entries(sched, at, at + timedelta(microseconds=1))
        return [f for f in final if f.start <= at < f.end]

    def current_and_next_shifts(
        self, sched: SimSchedule, at: datetime
    ) -> tuple[list[Entry], list[Entry]]:
        """``current_shifts`` (ongoing) and ``next_shifts`` (after the next changeover)."""
        _s, _o, final = self.entries(sched, at, at + timedelta(days=21))
        current = [f for f in final if f.start <= at < f.end]
        changes = [f.end for f in current] + [f.start for f in final if f.start > at]
        if not changes:
            return current, []
        changeover = min(changes)
        upcoming = [f for f in final if f.start <= changeover < f.end]
        return current, upcoming

    def users_on_call(self, schedule_id: str, at: datetime) -> list[str]:
        seen: list[str] = []
        for e in self.on_call(schedule_id, at):
            if e.user_id and e.user_id not in seen:
                seen.append(e.user_id)
        return seen

    # ----------------------------------------------------------------- overrides

    def _check_layer(self, sched: SimSchedule, rotation_id: str, layer_id: str) -> None:
        rot = sched.rotation(rotation_id)
        if rot is None:
            raise invalid("rotation not found on this schedule", "rotation_id", "not_found")
        if all(layer.id != layer_id for layer in rot.layers):
            raise invalid("layer not found on this rotation", "layer_id", "not_found")

    def _displace(self, keep: SimOverride, now: datetime) -> None:
        """Overrides on one layer never overlap: trim, split or drop the neighbours."""
        for other in list(self.overrides.values()):
            if other.id == keep.id or (other.schedule_id, other.rotation_id, other.layer_id) != (
                keep.schedule_id,
                keep.rotation_id,
                keep.layer_id,
            ):
                continue
            if other.end <= keep.start or other.start >= keep.end:
                continue
            left = (other.start, keep.start) if other.start < keep.start else None
            right = (keep.end, other.end) if other.end > keep.end else None
            if left and right:
                other.end = keep.start
                other.updated_at = now
                tail = SimOverride(
                    self.ids.new(now),
                    other.schedule_id,
                    other.rotation_id,
                    other.layer_id,
                    right[0],
                    right[1],
                    other.user_id,
                    now,
                    now,
                )
                self.overrides[tail.id] = tail
            elif left:
                other.end, other.updated_at = keep.start, now
            elif right:
                other.start, other.updated_at = keep.end, now
            else:
                del self.overrides[other.id]

    def create_override(
        self,
        *,
        schedule_id: str,
        rotation_id: str,
        layer_id: str,
        start: datetime,
        end: datetime,
        user_ref: dict[str, Any] | None,
        actor: Actor | None = None,
    ) -> SimOverride:
        with self.lock:
            now = self.now()
            sched = self.schedules.get(schedule_id)
            if sched is None:
                raise invalid("schedule not found", "schedule_id", "not_found")
            self._check_layer(sched, rotation_id, layer_id)
            if end <= start:
                raise invalid("end_at must be after start_at", "end_at")
            user_id = self.resolve_user_ref(user_ref, "user")
            if user_id is None and self.refuse_nobody_overrides:
                raise invalid("user must be a user in your organisation", "user", "not_found")
            ov = SimOverride(
                self.ids.new(now), schedule_id, rotation_id, layer_id, start, end, user_id, now, now
            )
            self.overrides[ov.id] = ov
            self._displace(ov, now)
            self._record(
                "override.create",
                ov.id,
                actor,
                schedule_id=schedule_id,
                rotation_id=rotation_id,
                layer_id=layer_id,
                start_at=iso(start),
                end_at=iso(end),
                user_id=user_id or NOBODY_ID,
            )
            return ov

    def update_override(
        self,
        override_id: str,
        *,
        rotation_id: str,
        layer_id: str,
        start: datetime,
        end: datetime,
        user_ref: dict[str, Any] | None,
        actor: Actor | None = None,
    ) -> SimOverride:
        with self.lock:
            now = self.now()
            ov = self.overrides.get(override_id)
            if ov is None:
                raise not_found("Schedule override", override_id)
            sched = self.schedules[ov.schedule_id]
            self._check_layer(sched, rotation_id, layer_id)
            if end <= start:
                raise invalid("end_at must be after start_at", "end_at")
            if self.resolve_user_ref(user_ref, "user") != ov.user_id:
                raise invalid(
                    "the user of an override cannot be changed; delete it and create another",
                    "user",
                )
            ov.rotation_id, ov.layer_id, ov.start, ov.end, ov.updated_at = (
                rotation_id,
                layer_id,
                start,
                end,
                now,
            )
            self._displace(ov, now)
            self._record("override.update", ov.id, actor, start_at=iso(start), end_at=iso(end))
            return ov

    def delete_override(self, override_id: str, actor: Actor | None = None) -> None:
        with self.lock:
            existed = self.overrides.pop(override_id, None) is not None
            if not existed and override_id not in self._deleted_overrides:
                raise not_found("Schedule override", override_id)
            self._deleted_overrides.add(override_id)
            self._record("override.delete", override_id, actor, existed=existed)


def _subtract(s: datetime, e: datetime, cut_s: datetime, cut_e: datetime) -> list[tuple]:
    if cut_e <= s or cut_s >= e:
        return [(s, e)]
    out = []
    if cut_s > s:
        out.append((s, cut_s))
    if cut_e < e:
        out.append((cut_e, e))
    return out


def _working_windows(
    intervals: list[WorkingInterval], start: datetime, end: datetime, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)`` inside the working intervals (schedule-local times),
    with back-to-back pieces (Saturday 18–24 then Sunday 00–06) joined into one entry."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    pieces: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        for iv in intervals:
            if iv.weekday != day.weekday():
                continue
            a, b = iv.minutes()
            s = _local(day, a, tz)
            e = _local(day, b, tz)
            s, e = max(s, start), min(e, end)
            if s < e:
                pieces.append((s, e))
        day += timedelta(days=1)
    pieces.sort()
    merged: list[tuple[datetime, datetime]] = []
    for s, e in pieces:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _local(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """``day`` at ``minutes`` past local midnight, in UTC ("24:00" is the next midnight)."""
    if minutes >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz).astimezone(UTC)
