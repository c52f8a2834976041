"""The simulated incident.io's routes for people and settings (identity, users,
notification setup, severities, statuses, roles, types) and the rota (schedules, entries,
overrides)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from oncall_tui.sim.incidentio_http import (
    ApiPlumbing,
    _decode_cursor,
    _encode_cursor,
    json_body,
    page_size,
    paged,
    parse_time,
    req_str,
)
from oncall_tui.sim.incidentio_shapes import (
    DEFAULT_ENTRY_WINDOW,
    IDENTITY_ROLES,
    MAX_ENTRY_WINDOW,
)
from oncall_tui.sim.world import (
    SimError,
    invalid,
    iso,
)


class RotaHandlers(ApiPlumbing):
    """People, settings and the rota."""

    # ------------------------------------------------------------ look-ups

    async def identity(self, request: Request) -> Response:
        w = self.world
        return JSONResponse(
            {
                "identity": {
                    "name": w.api_key.name,
                    "roles": IDENTITY_ROLES,
                    "team_roles": [],
                    "teams": [{"id": t.id, "name": t.name} for t in w.teams.values()],
                    "dashboard_url": w.org_url,
                }
            }
        )

    async def users(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=10000)
        email = (q.get("email") or "").strip().lower()
        slack = (q.get("slack_user_id") or "").strip()
        inactive = (q.get("include_inactive") or "").lower() == "true"
        items = [
            u
            for u in self.world.users.values()
            if (inactive or u.is_active)
            and (not email or u.email.lower() == email)
            and (not slack or u.slack_user_id == slack)
        ]
        return paged("users", items, size, q.get("after"), self.shapes.user_with_roles)

    async def user(self, request: Request) -> Response:
        return JSONResponse(
            {"user": self.shapes.user_with_roles(self.world.user(request.path_params["id"]))}
        )

    async def notification_methods(self, request: Request) -> Response:
        methods, _ = self.world.notification_setup(request.path_params["id"])
        out = []
        for m in methods:
            item: dict[str, Any] = {
                "id": m.id,
                "method_type": m.method_type,
                "address": m.address,
                "is_usable": m.is_usable,
            }
            if m.method_type == "phone":
                item["phone_details"] = {"supports_sms": m.sms, "supports_voice": m.voice}
            out.append(item)
        return JSONResponse({"notification_methods": out})

    async def notification_rules(self, request: Request) -> Response:
        _, rules = self.world.notification_setup(request.path_params["id"])
        out = []
        for r in rules:
            target: dict[str, Any] = (
                {"type": "specific", "specific": {"id": r.target}}
                if r.target
                else {"type": "all", "all": {}}
            )
            item: dict[str, Any] = {
                "id": r.id,
                "method_type": r.method_type,
                "method_target": target,
                "rule_type": r.rule_type,
                "delay_seconds": r.delay_seconds,
            }
            if r.channel:
                item["phone"] = {"channel": r.channel}
            if r.criticality:
                item["app"] = {"push_notification_criticality": r.criticality}
            out.append(item)
        return JSONResponse({"notification_rules": out})

    async def severities(self, request: Request) -> Response:
        sevs = sorted(self.world.severities.values(), key=lambda s: s.rank)
        return JSONResponse({"severities": [self.shapes.severity(s) for s in sevs]})

    async def statuses(self, request: Request) -> Response:
        sts = sorted(self.world.statuses.values(), key=lambda s: s.rank)
        return JSONResponse({"incident_statuses": [self.shapes.status(s) for s in sts]})

    async def roles(self, request: Request) -> Response:
        return JSONResponse(
            {"incident_roles": [self.shapes.role(r) for r in self.world.roles.values()]}
        )

    async def types(self, request: Request) -> Response:
        return JSONResponse(
            {
                "incident_types": [
                    self.shapes.incident_type(t) for t in self.world.incident_types.values()
                ]
            }
        )

    # ------------------------------------------------------------ schedules

    async def schedules(self, request: Request) -> Response:
        size = page_size(request, maximum=10000)
        items = list(self.world.schedules.values())
        now = self.world.now()
        return paged(
            "schedules",
            items,
            size,
            request.query_params.get("after"),
            lambda s: self.shapes.schedule(s, now, with_next=size <= 25),
            with_total=True,
        )

    async def schedule(self, request: Request) -> Response:
        sched = self.world.schedules.get(request.path_params["id"])
        if sched is None:
            raise SimError(404, "not_found", "not_found", "Schedule not found")
        return JSONResponse({"schedule": self.shapes.schedule(sched, self.world.now())})

    async def schedule_entries(self, request: Request) -> Response:
        w, q = self.world, request.query_params
        schedule_id = q.get("schedule_id")
        if not schedule_id:
            raise invalid("schedule_id is required", "schedule_id", "is_required")
        sched = w.schedules.get(schedule_id)
        if sched is None:
            raise SimError(404, "not_found", "not_found", "Schedule not found")
        raw_start = q.get("entry_window_start") or ""
        cursor_from: datetime | None = None
        if raw_start.startswith("c1_"):
            cursor_from, window_start = _decode_cursor(raw_start)
        else:
            window_start = parse_time(raw_start, "entry_window_start", required=False) or w.now()
        window_end = parse_time(q.get("entry_window_end"), "entry_window_end", required=False)
        window_end = window_end or window_start + DEFAULT_ENTRY_WINDOW
        if window_end <= window_start:
            raise invalid("entry_window_end must be after entry_window_start", "entry_window_end")
        if window_end - window_start > MAX_ENTRY_WINDOW:
            raise invalid("the entry window may be at most a year long", "entry_window_end")
        scheduled, overrides, final = w.entries(sched, window_start, window_end)
        if cursor_from is not None:  # later pages: entries starting at or after the cut
            scheduled = [e for e in scheduled if e.start >= cursor_from]
            overrides = [e for e in overrides if e.start >= cursor_from]
            final = [e for e in final if e.start >= cursor_from]
        limit = max(1, w.schedule_entries_page_limit)
        cut: datetime | None = None
        if len(final) > limit or len(scheduled) > limit:
            starts = sorted({e.start for e in final} | {e.start for e in scheduled})
            # the first start time that would not fit; everything before it goes now
            counted, cut = 0, None
            for s in starts:
                counted += sum(1 for e in final if e.start == s)
                if counted > limit and s != starts[0]:
                    cut = s
                    break
            if cut is not None:
                scheduled = [e for e in scheduled if e.start < cut]
                overrides = [e for e in overrides if e.start < cut]
                final = [e for e in final if e.start < cut]
        body: dict[str, Any] = {
            "schedule_entries": {
                "scheduled": [self.shapes.entry(e) for e in scheduled],
                "overrides": [self.shapes.entry(e) for e in overrides],
                "final": [self.shapes.entry(e) for e in final],
            }
        }
        if cut is not None:
            token = _encode_cursor(cut, window_start)
            params = {"schedule_id": schedule_id, "entry_window_start": token}
            params["entry_window_end"] = iso(window_end)
            after_url = str(request.url.replace_query_params(**params))
            body["pagination_meta"] = {"after": token, "after_url": after_url}
        return JSONResponse(body)

    async def overrides(self, request: Request) -> Response:
        q = request.query_params
        schedule_id = q.get("schedule_id")
        if not schedule_id:
            raise invalid("schedule_id is required", "schedule_id", "is_required")
        if schedule_id not in self.world.schedules:
            raise SimError(404, "not_found", "not_found", "Schedule not found")
        size = page_size(request, maximum=250)
        items = sorted(
            (
                o
                for o in self.world.overrides.values()
                if o.schedule_id == schedule_id
                and (not q.get("rotation_id") or o.rotation_id == q.get("rotation_id"))
                and (not q.get("layer_id") or o.layer_id == q.get("layer_id"))
            ),
            key=lambda o: (o.start, o.id),
        )
        return paged("overrides", items, size, q.get("after"), self.shapes.override)

    def _override_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        if "user" not in body or not isinstance(body.get("user"), dict):
            raise invalid("user is required", "user", "is_required")
        return {
            "rotation_id": req_str(body, "rotation_id"),
            "layer_id": req_str(body, "layer_id"),
            "start": parse_time(body.get("start_at"), "start_at"),
            "end": parse_time(body.get("end_at"), "end_at"),
            "user_ref": body["user"],
        }

    async def create_override(self, request: Request) -> Response:
        body = await json_body(request)
        schedule_id = req_str(body, "schedule_id")
        fields = self._override_fields(body)
        ov = self.world.create_override(
            schedule_id=schedule_id, actor=self.actor(request), **fields
        )
        return JSONResponse({"override": self.shapes.override(ov)}, status_code=201)

    async def update_override(self, request: Request) -> Response:
        body = await json_body(request)
        fields = self._override_fields(body)
        ov = self.world.update_override(
            request.path_params["id"], actor=self.actor(request), **fields
        )
        return JSONResponse({"override": self.shapes.override(ov)})

    async def delete_override(self, request: Request) -> Response:
        self.world.delete_override(request.path_params["id"], actor=self.actor(request))
        return Response(status_code=204)
