"""The simulated incident.io's routes for incidents: list, show, declare, edit, updates and
timeline items."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from oncall_tui.sim.incidentio_http import (
    check_ops,
    deep_filters,
    json_body,
    match_set,
    match_time,
    nested_filters,
    opt_str,
    page_size,
    paged,
    parse_time,
    req_str,
    req_time,
)
from oncall_tui.sim.incidentio_paging import PagingHandlers
from oncall_tui.sim.world import (
    SimIncident,
    invalid,
)


class IncidentHandlers(PagingHandlers):
    """Incidents and what is written on them."""

    # ------------------------------------------------------------ incidents

    async def incidents(self, request: Request) -> Response:
        w, q = self.world, request.query_params
        size = page_size(request, maximum=500)
        sort = q.get("sort_by") or "created_at_newest_first"
        if sort not in ("created_at_newest_first", "created_at_oldest_first"):
            raise invalid(
                "sort_by must be created_at_newest_first or created_at_oldest_first", "sort_by"
            )
        mode_any = (q.get("filter_mode") or "all") == "any"
        status = deep_filters(request, "status")
        category = deep_filters(request, "status_category")
        severity = deep_filters(request, "severity")
        itype = deep_filters(request, "incident_type")
        modes = deep_filters(request, "mode")
        created = deep_filters(request, "created_at")
        updated = deep_filters(request, "updated_at")
        roles = nested_filters(request, "incident_role")
        custom = nested_filters(request, "custom_field")
        check_ops("status", status, ("one_of", "not_in"))
        check_ops("status_category", category, ("one_of", "not_in"))
        check_ops("severity", severity, ("one_of", "not_in", "gte", "lte"))
        check_ops("incident_type", itype, ("one_of", "not_in"))
        check_ops("mode", modes, ("one_of",))
        for cf in custom:
            raise invalid(f"custom field {cf!r} not found", "custom_field", "not_found")
        for role_id, ops in roles.items():
            if role_id not in w.roles:
                raise invalid(f"incident role {role_id!r} not found", "incident_role", "not_found")
            check_ops("incident_role", ops, ("one_of", "is_blank", "is_set"))
        ranks = {s.id: s.rank for s in w.severities.values()}

        def sev_ok(i: SimIncident) -> bool:
            if not severity:
                return True
            if not match_set(
                {k: v for k, v in severity.items() if k in ("one_of", "not_in")}, i.severity_id
            ):
                return False
            rank = ranks.get(i.severity_id or "", -1)
            for op in ("gte", "lte"):
                for sid in severity.get(op, []):
                    if sid not in ranks:
                        raise invalid(f"severity {sid!r} not found", "severity", "not_found")
                    if (op == "gte" and rank < ranks[sid]) or (op == "lte" and rank > ranks[sid]):
                        return False
            return True

        def role_ok(i: SimIncident) -> bool:
            for role_id, ops in roles.items():
                who = i.roles.get(role_id)
                if "one_of" in ops and who not in ops["one_of"]:
                    return False
                if "is_blank" in ops and (who is not None) == (ops["is_blank"][0] == "true"):
                    return False
                if "is_set" in ops and (who is not None) != (ops["is_set"][0] == "true"):
                    return False
            return True

        allowed_modes = set(modes.get("one_of", ["standard", "retrospective"]))

        def keep(i: SimIncident) -> bool:
            if i.mode not in allowed_modes:
                return False
            checks = []
            if status:
                checks.append(match_set(status, i.status_id))
            if category:
                checks.append(match_set(category, w.statuses[i.status_id].category))
            if severity:
                checks.append(sev_ok(i))
            if itype:
                checks.append(match_set(itype, i.type_id))
            if roles:
                checks.append(role_ok(i))
            if created:
                checks.append(match_time("created_at", created, i.created_at))
            if updated:
                checks.append(match_time("updated_at", updated, i.updated_at))
            if not checks:
                return True
            return any(checks) if mode_any else all(checks)

        items = sorted(
            (i for i in w.incidents.values() if keep(i)),
            key=lambda i: (i.created_at, i.id),
            reverse=sort == "created_at_newest_first",
        )
        return paged(
            "incidents",
            items,
            size,
            q.get("after"),
            self.shapes.incident,
            with_total=True,
        )

    async def incident(self, request: Request) -> Response:
        return JSONResponse(
            {"incident": self.shapes.incident(self.world.incident(request.path_params["id"]))}
        )

    def _role_assignments(self, raw: Any, field: str) -> dict[str, str | None]:
        if raw is None:
            return {}
        if not isinstance(raw, list):
            raise invalid("incident_role_assignments must be a list", field)
        out: dict[str, str | None] = {}
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("incident_role_id"), str):
                raise invalid(
                    "each role assignment needs an incident_role_id", field, "is_required"
                )
            assignee = item.get("assignee")
            if not assignee and self.world.refuse_unassign_by_omission:
                raise invalid("assignee is required", f"{field}.assignee", "is_required")
            out[item["incident_role_id"]] = (
                self.world.resolve_user_ref(assignee, f"{field}.assignee") if assignee else None
            )
        return out

    async def create_incident(self, request: Request) -> Response:
        body = await json_body(request)
        key = req_str(body, "idempotency_key")
        visibility = body.get("visibility")
        if visibility not in ("public", "private"):
            raise invalid("visibility must be public or private", "visibility", "is_required")
        mode = body.get("mode") or "standard"
        if mode not in ("standard", "retrospective", "test", "tutorial"):
            raise invalid("mode must be standard, retrospective, test or tutorial", "mode")
        inc, _ = self.world.declare_incident(
            idempotency_key=key,
            name=opt_str(body, "name"),
            summary=opt_str(body, "summary"),
            severity_id=opt_str(body, "severity_id"),
            status_id=opt_str(body, "incident_status_id"),
            type_id=opt_str(body, "incident_type_id"),
            mode=mode,
            visibility=visibility,
            role_assignments=self._role_assignments(
                body.get("incident_role_assignments"), "incident_role_assignments"
            ),
            actor=self.actor(request),
        )
        return JSONResponse({"incident": self.shapes.incident(inc)})

    async def edit_incident(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body.get("notify_incident_channel"), bool):
            raise invalid(
                "notify_incident_channel is required", "notify_incident_channel", "is_required"
            )
        fields = body.get("incident")
        if not isinstance(fields, dict):
            raise invalid("incident is required", "incident", "is_required")
        inc = self.world.edit_incident(
            request.path_params["id"],
            name=opt_str(fields, "name", path="incident.name"),
            summary=opt_str(fields, "summary", path="incident.summary"),
            status_id=opt_str(fields, "incident_status_id", path="incident.incident_status_id"),
            severity_id=opt_str(fields, "severity_id", path="incident.severity_id"),
            call_url=opt_str(fields, "call_url", path="incident.call_url"),
            role_assignments=self._role_assignments(
                fields.get("incident_role_assignments"), "incident.incident_role_assignments"
            )
            or None,
            actor=self.actor(request),
        )
        return JSONResponse({"incident": self.shapes.incident(inc)})

    async def incident_updates(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=250)
        incident_id = q.get("incident_id")
        items = sorted(
            (
                u
                for u in self.world.incident_updates.values()
                if not incident_id or u.incident_id == incident_id
            ),
            key=lambda u: (u.created_at, u.id),
            reverse=True,
        )
        return paged(
            "incident_updates",
            items,
            size,
            q.get("after"),
            self.shapes.update,
        )

    async def create_incident_update(self, request: Request) -> Response:
        body = await json_body(request)
        update, _ = self.world.create_incident_update(
            idempotency_key=req_str(body, "idempotency_key"),
            incident_id=req_str(body, "incident_id"),
            message=opt_str(body, "message"),
            status_id=opt_str(body, "to_incident_status_id"),
            severity_id=opt_str(body, "to_severity_id"),
            actor=self.actor(request),
        )
        return JSONResponse({"incident_update": self.shapes.update(update)}, status_code=201)

    async def timeline_items(self, request: Request) -> Response:
        q = request.query_params
        incident_id = q.get("incident_id")
        if not incident_id:
            raise invalid("incident_id is required", "incident_id", "is_required")
        inc = self.world.incident(incident_id)
        size = page_size(request, maximum=250)
        items = sorted(
            (t for t in self.world.timeline_items.values() if t.incident_id == inc.id),
            key=lambda t: (t.timestamp, t.id),
        )
        return paged(
            "incident_timeline_items",
            items,
            size,
            q.get("after"),
            self.shapes.timeline_item,
        )

    async def create_timeline_item(self, request: Request) -> Response:
        body = await json_body(request)
        item, _ = self.world.create_timeline_item(
            idempotency_key=req_str(body, "idempotency_key"),
            incident_id=req_str(body, "incident_id"),
            timestamp=req_time(body.get("timestamp"), "timestamp"),
            title=req_str(body, "title"),
            description=opt_str(body, "description"),
            actor=self.actor(request),
        )
        return JSONResponse(
            {"incident_timeline_item": self.shapes.timeline_item(item)}, status_code=201
        )

    async def update_timeline_item(self, request: Request) -> Response:
        body = await json_body(request)
        item = self.world.update_timeline_item(
            request.path_params["id"],
            title=opt_str(body, "title"),
            description=opt_str(body, "description"),
            timestamp=parse_time(body.get("timestamp"), "timestamp", required=False),
            actor=self.actor(request),
        )
        return JSONResponse({"incident_timeline_item": self.shapes.timeline_item(item)})
