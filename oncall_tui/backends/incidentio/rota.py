"""incident.io client: Schedules, their entries and overrides."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from oncall_tui.backends.http import (
    ApiError,
    NotFound,
)
from oncall_tui.backends.incidentio.base import (
    IncidentIoBase,
    _check_window,
    _shift_key,
    _user_reference,
    _with_kind,
)
from oncall_tui.backends.incidentio.operations import MAX_PAGES, PAGE_OVERRIDES, PAGE_SCHEDULES
from oncall_tui.backends.incidentio.parsers import (
    _root,
    _seg,
    format_datetime,
    parse_override,
    parse_schedule,
    parse_shift,
)
from oncall_tui.domain import (
    SHIFT_FINAL,
    SHIFT_OVERRIDE,
    SHIFT_SCHEDULED,
    Override,
    Schedule,
    ScheduleEntries,
    Shift,
    User,
)


class RotaApi(IncidentIoBase):
    """Schedules, their entries and overrides."""

    async def list_schedules(self) -> tuple[Schedule, ...]:
        """Every schedule with its current and next shifts (page size 25 keeps those)."""
        schedules = await self.paginate(
            "schedules.list", "/v2/schedules", "schedules", parse_schedule, page_size=PAGE_SCHEDULES
        )
        for schedule in schedules:
            self._schedules_seen[schedule.id] = schedule
        return schedules

    async def get_schedule(self, schedule_id: str) -> Schedule:
        """One schedule with its rotations and layers."""
        schedule = await self._read(
            "schedules.show",
            "GET",
            f"/v2/schedules/{_seg(schedule_id)}",
            "schedule",
            parse_schedule,
        )
        self._schedules_seen[schedule.id] = schedule
        return schedule

    async def _rota_of(self, schedule_id: str) -> Schedule | None:
        """The schedule's rotations, read once if not seen yet (None if unreadable)."""
        seen = self._schedules_seen.get(schedule_id)
        if seen is not None:
            return seen
        try:
            return await self.get_schedule(schedule_id)
        except ApiError as exc:
            self._warn(f"could not read schedule {schedule_id} to find its layers: {exc}")
            return None

    async def schedule_entries(
        self, schedule_id: str, start: datetime, end: datetime
    ) -> ScheduleEntries:
        """Shifts of one schedule overlapping ``[start, end)``, following the time cursor.

        ``final`` is the effective rota; entries in it that an override produced have
        kind ``override``. ``scheduled`` and ``overrides`` are kept apart.
        """
        path = "/v2/schedule_entries"
        end_text = format_datetime(end)
        cursor = format_datetime(start)
        seen_cursors = {cursor}
        final: dict[tuple[Any, ...], Shift] = {}
        scheduled: dict[tuple[Any, ...], Shift] = {}
        overrides: dict[tuple[Any, ...], Shift] = {}
        for _page in range(MAX_PAGES):
            params = [
                ("schedule_id", schedule_id),
                ("entry_window_start", cursor),
                ("entry_window_end", end_text),
            ]
            body = await self._call("schedule_entries.list", "GET", path, params=params)

            def read_page(body: Any = body) -> tuple[dict[str, list[Shift]], str | None]:
                root = _root(body, "response")
                entries = root.obj("schedule_entries")
                lists = {
                    name: [parse_shift(e, schedule_id, kind) for e in entries.objs(name)]
                    for name, kind in (
                        ("final", SHIFT_FINAL),
                        ("scheduled", SHIFT_SCHEDULED),
                        ("overrides", SHIFT_OVERRIDE),
                    )
                }
                meta = root.opt_obj("pagination_meta")
                after = meta.text("after", limit=500, required=False) if meta else ""
                return lists, after or None

            lists, after = self._parse(read_page, "GET", path)
            for target, name in (
                (final, "final"),
                (scheduled, "scheduled"),
                (overrides, "overrides"),
            ):
                for shift in lists[name]:
                    target.setdefault(_shift_key(shift), shift)
            if after is None:
                break
            if after in seen_cursors:
                self._warn(f"GET {path} repeated the window cursor {after!r}; stopped there")
                break
            seen_cursors.add(after)
            cursor = after
        else:
            self._warn(f"GET {path} had more than {MAX_PAGES} pages; read only those")
        override_marks = {s.fingerprint for s in overrides.values() if s.fingerprint} | {
            s.entry_id for s in overrides.values() if s.entry_id
        }
        marked = []
        for shift in final.values():
            if shift.entry_id or (shift.fingerprint and shift.fingerprint in override_marks):
                shift = _with_kind(shift, SHIFT_OVERRIDE)
            marked.append(shift)

        rota: Schedule | None = None
        if any(
            not s.layer_id
            for group in (marked, scheduled.values(), overrides.values())
            for s in group
        ):
            # Entries name only their rotation (2.29.0 schema): their layer comes from the
            # schedule's rotations. One that cannot be told keeps an empty layer_id, and
            # whoever plans an override on it must refuse it by name.
            rota = await self._rota_of(schedule_id)

        def ordered(shifts: Iterable[Shift]) -> tuple[Shift, ...]:
            shifts = tuple(shifts)
            if rota is not None:
                shifts = rota.with_layers(shifts)
            return tuple(sorted(shifts, key=lambda s: (s.start, s.rotation_id, s.layer_id)))

        return ScheduleEntries(
            schedule_id=schedule_id,
            window_start=start.astimezone(UTC),
            window_end=end.astimezone(UTC),
            final=ordered(marked),
            scheduled=ordered(scheduled.values()),
            overrides=ordered(overrides.values()),
        )

    async def list_overrides(
        self,
        schedule_id: str,
        *,
        rotation_id: str | None = None,
        layer_id: str | None = None,
    ) -> tuple[Override, ...]:
        params = [("schedule_id", schedule_id)]
        if rotation_id:
            params.append(("rotation_id", rotation_id))
        if layer_id:
            params.append(("layer_id", layer_id))
        return await self.paginate(
            "overrides.list",
            "/v2/schedule_overrides",
            "overrides",
            parse_override,
            params=params,
            page_size=PAGE_OVERRIDES,
        )

    async def create_override(
        self,
        schedule_id: str,
        rotation_id: str,
        layer_id: str,
        start: datetime,
        end: datetime,
        user: User | str,
    ) -> Override:
        """Put ``user`` on one layer for ``[start, end)``.

        ``user`` is a :class:`User`, a user id, an email address, or :data:`NOBODY` /
        ``"NOBODY"`` to leave the layer uncovered (pages for it reach no one). The new
        override replaces the overrides it overlaps on that layer.
        """
        if not (rotation_id and layer_id):
            # incident.io requires both; an empty one is a planning mistake, not a request.
            raise ValueError("an override needs its rotation and layer")
        body = {
            "schedule_id": schedule_id,
            "rotation_id": rotation_id,
            "layer_id": layer_id,
            "start_at": format_datetime(start),
            "end_at": format_datetime(end),
            "user": _user_reference(user),
        }
        _check_window(start, end)
        return await self._read(
            "overrides.create",
            "POST",
            "/v2/schedule_overrides",
            "override",
            parse_override,
            json_body=body,
        )

    async def update_override(
        self,
        override_id: str,
        *,
        rotation_id: str,
        layer_id: str,
        start: datetime,
        end: datetime,
        user: User | str,
    ) -> Override:
        """Move an override's window. The user cannot change: delete and recreate."""
        _check_window(start, end)
        body = {
            "rotation_id": rotation_id,
            "layer_id": layer_id,
            "start_at": format_datetime(start),
            "end_at": format_datetime(end),
            "user": _user_reference(user),
        }
        return await self._read(
            "overrides.update",
            "PUT",
            f"/v2/schedule_overrides/{_seg(override_id)}",
            "override",
            parse_override,
            json_body=body,
        )

    async def delete_override(self, override_id: str) -> None:
        """Delete an override; deleting one that is already gone succeeds."""
        try:
            await self._call(
                "overrides.delete", "DELETE", f"/v2/schedule_overrides/{_seg(override_id)}"
            )
        except NotFound:
            return
