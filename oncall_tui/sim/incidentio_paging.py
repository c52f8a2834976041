"""The simulated incident.io's routes for paging: escalation paths, escalations (create,
cancel, respond, reassign) and alerts (list, resolve, notes, sources, the HTTP event)."""

from __future__ import annotations

import itertools

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from oncall_tui.sim.incidentio_http import (
    _basic_parts,
    check_ops,
    deep_filters,
    error_body,
    error_response,
    json_body,
    match_set,
    match_time,
    meta,
    opt_str,
    page_size,
    paged,
    paginate,
    parse_time,
    req_str,
)
from oncall_tui.sim.incidentio_rota import RotaHandlers
from oncall_tui.sim.world import (
    SimAlert,
    SimError,
    SimEscalation,
    invalid,
)


class PagingHandlers(RotaHandlers):
    """Paths, pages and alerts."""

    # ------------------------------------------------------------ escalation

    async def paths(self, request: Request) -> Response:
        size = page_size(request, maximum=25)
        items = list(self.world.paths.values())
        now = self.world.now()
        return paged(
            "escalation_paths",
            items,
            size,
            request.query_params.get("after"),
            lambda p: self.shapes.path(p, now),
        )

    async def path(self, request: Request) -> Response:
        p = self.world.paths.get(request.path_params["id"])
        if p is None:
            raise SimError(404, "not_found", "not_found", "Escalation path not found")
        return JSONResponse({"escalation_path": self.shapes.path(p, self.world.now())})

    async def escalations(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=50)
        status = deep_filters(request, "status")
        path = deep_filters(request, "escalation_path")
        alert = deep_filters(request, "alert")
        incident = deep_filters(request, "incident")
        key = deep_filters(request, "idempotency_key")
        created = deep_filters(request, "created_at")
        updated = deep_filters(request, "updated_at")
        for name, f in (("status", status), ("escalation_path", path), ("alert", alert),
                        ("incident", incident)):  # fmt: skip
            check_ops(name, f, ("one_of", "not_in"))
        check_ops("idempotency_key", key, ("is", "starts_with"))

        def keep(e: SimEscalation) -> bool:
            if not match_set(status, e.status) or not match_set(path, e.path_id):
                return False
            if not match_set(alert, set(e.alert_ids)) or not match_set(
                incident, set(e.incident_ids)
            ):
                return False
            if "is" in key and e.idempotency_key not in key["is"]:
                return False
            if "starts_with" in key and not any(
                e.idempotency_key.startswith(p) for p in key["starts_with"]
            ):
                return False
            return match_time("created_at", created, e.created_at) and match_time(
                "updated_at", updated, e.updated_at
            )

        items = sorted(
            (e for e in self.world.escalations.values() if keep(e)),
            key=lambda e: (e.created_at, e.id),
            reverse=True,
        )
        return paged(
            "escalations",
            items,
            size,
            q.get("after"),
            self.shapes.escalation,
        )

    async def escalation(self, request: Request) -> Response:
        esc = self.world.escalation(request.path_params["id"])
        return JSONResponse({"escalation": self.shapes.escalation(esc)})

    async def create_escalation(self, request: Request) -> Response:
        body = await json_body(request)
        key = req_str(body, "idempotency_key")
        title = req_str(body, "title")
        user_ids = body.get("user_ids")
        if user_ids is not None and (
            not isinstance(user_ids, list) or not all(isinstance(u, str) for u in user_ids)
        ):
            raise invalid("user_ids must be a list of user ids", "user_ids")
        esc, _created = self.world.create_escalation(
            idempotency_key=key,
            title=title,
            description=opt_str(body, "description") or "",
            path_id=opt_str(body, "escalation_path_id"),
            user_ids=user_ids or None,
            incident_id=opt_str(body, "incident_id"),
            creator=self.actor(request),
        )
        return JSONResponse({"escalation": self.shapes.escalation(esc)}, status_code=201)

    async def cancel_escalation(self, request: Request) -> Response:
        self.world.cancel_escalation(request.path_params["id"], actor=self.actor(request))
        return Response(status_code=200)

    async def respond_escalation(self, request: Request) -> Response:
        body = await json_body(request)
        response = body.get("response")
        if response not in ("ack", "nack", "snooze"):
            raise invalid("response must be one of ack, nack, snooze", "response")
        details = body.get("snooze_details")
        until = reason = None
        if details is not None:
            if not isinstance(details, dict):
                raise invalid("snooze_details must be an object", "snooze_details")
            until = parse_time(details.get("snooze_until"), "snooze_details.snooze_until")
            reason = opt_str(details, "reason", path="snooze_details.reason")
        if self.world.refuse_act_as_on_respond and request.headers.get("x-incident-user"):
            raise SimError(
                403,
                "resource_forbidden",
                "forbidden",
                "X-Incident-User is not accepted when responding to an escalation",
            )
        self.world.respond_escalation(
            request.path_params["id"],
            response,
            snooze_until=until,
            reason=reason,
            actor=self.actor(request),
        )
        return Response(status_code=200)

    async def reassign_escalation(self, request: Request) -> Response:
        body = await json_body(request)
        path_id = opt_str(body, "escalation_path_id")
        user_ids = body.get("user_ids")
        if user_ids is not None and not isinstance(user_ids, list):
            raise invalid("user_ids must be a list of user ids", "user_ids")
        resolve = body.get("resolve_original", True)
        if not isinstance(resolve, bool):
            raise invalid("resolve_original must be a boolean", "resolve_original")
        new = self.world.reassign_escalation(
            request.path_params["id"],
            path_id=path_id,
            user_ids=user_ids or None,
            resolve_original=resolve,
            title=opt_str(body, "title"),
            description=opt_str(body, "description"),
            actor=self.actor(request),
        )
        return JSONResponse({"escalation": self.shapes.escalation(new)}, status_code=201)

    # ---------------------------------------------------------------- alerts

    def _sorted_alerts(self) -> tuple[list[SimAlert], dict[str, int]]:
        """Alerts newest first, and each one's position (rebuilt when alerts are added)."""
        count, cached, positions = self._alerts_sorted
        if count != len(self.world.alerts):
            cached = sorted(
                self.world.alerts.values(), key=lambda a: (a.created_at, a.id), reverse=True
            )
            positions = {a.id: i for i, a in enumerate(cached)}
            self._alerts_sorted = (len(self.world.alerts), cached, positions)
        return cached, positions

    async def alerts(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=50, required=True)
        status = deep_filters(request, "status")
        dedup = deep_filters(request, "deduplication_key")
        source = deep_filters(request, "alert_source")
        group = deep_filters(request, "alert_group_id")
        created = deep_filters(request, "created_at")
        updated = deep_filters(request, "updated_at")
        notes = deep_filters(request, "has_notes")
        check_ops("status", status, ("one_of", "not_in"))
        check_ops("deduplication_key", dedup, ("is",))
        check_ops("alert_source", source, ("one_of", "not_in"))
        check_ops("alert_group_id", group, ("one_of",))
        check_ops("has_notes", notes, ("is",))
        noted = {n.alert_id for n in self.world.alert_notes.values()} if notes else set()
        want_notes = notes.get("is", [""])[0].lower() == "true" if notes else None

        def keep(a: SimAlert) -> bool:
            if status and not match_set(status, a.status):
                return False
            if dedup and not match_set(dedup, a.dedup_key):
                return False
            if source and not match_set(source, a.source_id):
                return False
            if group and not match_set(group, set(a.group_ids)):
                return False
            if want_notes is not None and (a.id in noted) != want_notes:
                return False
            if updated and not match_time("updated_at", updated, a.updated_at):
                return False
            return not created or match_time("created_at", created, a.created_at)

        # Scan from the cursor instead of filtering everything: a page of firing alerts
        # out of ten thousand costs a page, not the whole list.
        ordered, positions = self._sorted_alerts()
        cursor = q.get("after")
        start = 0
        if cursor:
            if cursor not in positions:
                raise invalid("the after cursor does not match a record in this list", "after")
            start = positions[cursor] + 1
        page: list[SimAlert] = []
        for a in itertools.islice(ordered, start, None):
            if keep(a):
                page.append(a)
                if len(page) > size:
                    break
        after = page[size - 1].id if len(page) > size else None
        page = page[:size]
        return JSONResponse(
            {"alerts": [self.shapes.alert(a) for a in page], "pagination_meta": meta(size, after)}
        )

    async def alert(self, request: Request) -> Response:
        return JSONResponse(
            {"alert": self.shapes.alert(self.world.alert(request.path_params["id"]))}
        )

    async def resolve_alert(self, request: Request) -> Response:
        alert = self.world.resolve_alert(request.path_params["id"], actor=self.actor(request))
        return JSONResponse({"alert": self.shapes.alert(alert)})

    async def alert_notes(self, request: Request) -> Response:
        q = request.query_params
        alert_id, group_id = q.get("alert_id"), q.get("alert_group_id")
        if not alert_id and not group_id:
            raise invalid("alert_id or alert_group_id is required", "alert_id", "is_required")
        size = page_size(request, maximum=250)
        items = [
            n
            for n in self.world.alert_notes.values()
            if (alert_id and n.alert_id == alert_id) or (group_id and n.alert_group_id == group_id)
        ]
        items.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return paged("alert_notes", items, size, q.get("after"), self.shapes.note)

    async def create_alert_note(self, request: Request) -> Response:
        body = await json_body(request)
        content = req_str(body, "content")
        alert_id, group_id = opt_str(body, "alert_id"), opt_str(body, "alert_group_id")
        if not alert_id and not group_id:
            raise invalid("alert_id or alert_group_id is required", "alert_id", "is_required")
        note = self.world.add_alert_note(
            alert_id=alert_id, alert_group_id=group_id, content=content, actor=self.actor(request)
        )
        return JSONResponse({"alert_note": self.shapes.note(note)}, status_code=201)

    async def incident_alerts(self, request: Request) -> Response:
        q = request.query_params
        size = page_size(request, maximum=50, required=True)
        alert_id, incident_id = q.get("alert_id"), q.get("incident_id")
        items = [
            link
            for link in self.world.incident_alerts.values()
            if (not alert_id or link.alert_id == alert_id)
            and (not incident_id or link.incident_id == incident_id)
        ]
        page, after = paginate(items, size, q.get("after"))
        w = self.world
        return JSONResponse(
            {
                "incident_alerts": [
                    {
                        "id": link.id,
                        "alert": self.shapes.alert_slim(w.alerts[link.alert_id]),
                        "incident": self.shapes.incident_slim(w.incidents[link.incident_id]),
                        "alert_route_id": link.alert_route_id,
                    }
                    for link in page
                ],
                "pagination_meta": meta(size, after),
            }
        )

    async def alert_sources(self, request: Request) -> Response:
        base = self.base_url(request)
        return JSONResponse(
            {
                "alert_sources": [
                    self.shapes.source(s, base) for s in self.world.alert_sources.values()
                ]
            }
        )

    async def alert_event(self, request: Request) -> Response:
        """HTTP alert source: authenticated by the source's secret token, not the API key."""
        source = self.world.alert_sources.get(request.path_params["id"])
        header = request.headers.get("authorization", "")
        scheme, _, bearer = header.partition(" ")
        offered = {request.query_params.get("token", "")}
        if scheme.lower() == "bearer":
            offered.add(bearer.strip())
        elif scheme.lower() == "basic":  # user or password may carry the token
            offered.update(_basic_parts(bearer.strip()))
        if source is None:
            return self._not_found(request)
        if source.secret_token not in offered:
            return JSONResponse(
                error_body(
                    401,
                    "authentication_error",
                    "invalid_authorization_material",
                    "This alert source expects its secret token as a bearer token or ?token=",
                ),
                status_code=401,
            )
        try:
            body = await json_body(request)
            title = req_str(body, "title")
            status = body.get("status")
            if status not in ("firing", "resolved"):
                raise invalid("status must be firing or resolved", "status")
            key = req_str(body, "deduplication_key")
            if body.get("metadata") is not None and not isinstance(body.get("metadata"), dict):
                raise invalid("metadata must be an object", "metadata")
            with self.world.lock:
                self.world.ingest_alert_event(
                    source.id, {**body, "title": title, "deduplication_key": key}
                )
        except SimError as exc:
            return error_response(exc)
        return JSONResponse(
            {
                "status": "success",
                "message": "Event accepted for processing",
                "deduplication_key": key,
            },
            status_code=202,
        )
