"""The simulated incident.io public API, as a Starlette app over a :class:`IncidentIoWorld`.

Shapes follow the official schema (the ``openapi.json`` of the official SDK incident-io
2.29.0, which the contract tests check every response against; schedule entries name only
their rotation unless the world asks for the older shape with layers): the same envelopes, ID-cursor
pagination (``page_size``/``after`` → ``pagination_meta``), the time-window cursor of
``/v2/schedule_entries`` (``after``/``after_url``), deepObject filters
(``status[one_of]=firing&status[one_of]=resolved``), 201/202/204 where the real API uses
them, idempotency keys, bearer-token auth, a token-bucket rate limit with
``X-RateLimit-*`` and ``Retry-After``, and error bodies of the form
``{type, status, request_id, errors: [{code, message, source: {field}}]}``.

Not part of incident.io: ``/_sim/...`` control endpoints (same bearer token) to read the
write log, set faults, move a controllable clock, page someone, or add bulk data.

By job: response shapes in :mod:`oncall_tui.sim.incidentio_shapes`, request plumbing in
:mod:`oncall_tui.sim.incidentio_http`, the routes in :mod:`oncall_tui.sim.incidentio_rota`,
:mod:`oncall_tui.sim.incidentio_paging` and :mod:`oncall_tui.sim.incidentio_incidents`; this
module adds the simulator's control routes, the route table and :func:`create_app`, and
re-exports every name.
"""

from __future__ import annotations

import uuid

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oncall_tui.sim.faults import FaultInjector, Faults
from oncall_tui.sim.incidentio_http import ApiPlumbing as ApiPlumbing
from oncall_tui.sim.incidentio_http import Handler as Handler
from oncall_tui.sim.incidentio_http import TokenBucket as TokenBucket
from oncall_tui.sim.incidentio_http import _basic_parts as _basic_parts
from oncall_tui.sim.incidentio_http import _date_or_time as _date_or_time
from oncall_tui.sim.incidentio_http import _decode_cursor as _decode_cursor
from oncall_tui.sim.incidentio_http import _encode_cursor as _encode_cursor
from oncall_tui.sim.incidentio_http import _http_error as _http_error
from oncall_tui.sim.incidentio_http import check_ops as check_ops
from oncall_tui.sim.incidentio_http import deep_filters as deep_filters
from oncall_tui.sim.incidentio_http import error_body as error_body
from oncall_tui.sim.incidentio_http import error_response as error_response
from oncall_tui.sim.incidentio_http import json_body as json_body
from oncall_tui.sim.incidentio_http import match_set as match_set
from oncall_tui.sim.incidentio_http import match_time as match_time
from oncall_tui.sim.incidentio_http import meta as meta
from oncall_tui.sim.incidentio_http import nested_filters as nested_filters
from oncall_tui.sim.incidentio_http import opt_str as opt_str
from oncall_tui.sim.incidentio_http import page_size as page_size
from oncall_tui.sim.incidentio_http import paginate as paginate
from oncall_tui.sim.incidentio_http import parse_time as parse_time
from oncall_tui.sim.incidentio_http import req_str as req_str
from oncall_tui.sim.incidentio_http import req_time as req_time
from oncall_tui.sim.incidentio_incidents import IncidentHandlers as IncidentHandlers
from oncall_tui.sim.incidentio_paging import PagingHandlers as PagingHandlers
from oncall_tui.sim.incidentio_rota import RotaHandlers as RotaHandlers
from oncall_tui.sim.incidentio_shapes import DEFAULT_ENTRY_WINDOW as DEFAULT_ENTRY_WINDOW
from oncall_tui.sim.incidentio_shapes import DEFAULT_TOKEN as DEFAULT_TOKEN
from oncall_tui.sim.incidentio_shapes import IDENTITY_ROLES as IDENTITY_ROLES
from oncall_tui.sim.incidentio_shapes import MAX_ENTRY_WINDOW as MAX_ENTRY_WINDOW
from oncall_tui.sim.incidentio_shapes import NEWER_PATHS as NEWER_PATHS
from oncall_tui.sim.incidentio_shapes import SLIM_CATEGORY as SLIM_CATEGORY
from oncall_tui.sim.incidentio_shapes import Shapes as Shapes
from oncall_tui.sim.incidentio_shapes import _weekday as _weekday
from oncall_tui.sim.world import (
    IncidentIoWorld,
    SimError,
    invalid,
    iso,
)


class IncidentIoSim(IncidentHandlers):
    """The routes and their state. :func:`create_app` is the public entry point."""

    # ------------------------------------------------------- simulator control

    def control(self, fn: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            denied = self._auth_error(request)
            if denied is not None:
                return denied
            await request.body()
            try:
                with self.world.lock:
                    return await fn(request)
            except (SimError, ValueError) as exc:
                if isinstance(exc, ValueError):
                    exc = invalid(str(exc))
                return error_response(exc)

        return wrapped

    async def sim_state(self, request: Request) -> Response:
        return JSONResponse({**self.world.summary(), "faults": self.faults.as_dict()})

    async def sim_writes(self, request: Request) -> Response:
        q = request.query_params
        since = int(q.get("since") or 0)
        kind = q.get("kind")
        writes = [
            w.as_dict() for w in self.world.writes if w.seq > since and (not kind or w.kind == kind)
        ]
        return JSONResponse({"writes": writes})

    async def sim_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method in ("POST", "PUT", "PATCH"):
            self.faults.update(**(await json_body(request)))
        return JSONResponse(
            {"faults": self.faults.as_dict(), "injected": dict(self.faults.injected)}
        )

    async def sim_clock(self, request: Request) -> Response:
        clock = self.world.clock
        if request.method == "POST":
            body = await json_body(request)
            seconds = body.get("advance_seconds")
            if not isinstance(seconds, int | float) or seconds < 0:
                raise invalid("advance_seconds must be a non-negative number", "advance_seconds")
            advance = getattr(clock, "advance", None)
            if advance is None:
                raise SimError(
                    409,
                    "conflict",
                    "clock_not_controllable",
                    "This world runs on a clock that cannot be moved; build it with a SimClock",
                )
            advance(float(seconds))
        now = self.world.advance()
        return JSONResponse({"now": iso(now), "controllable": hasattr(clock, "advance")})

    async def sim_page(self, request: Request) -> Response:
        """Page someone now, like an alert route would: ``{"title", "team"|"path_id"|"to_me"}``."""
        body = await json_body(request)
        w = self.world
        title = opt_str(body, "title") or "Drill: please acknowledge this page"
        if body.get("to_me"):
            esc, _ = w.create_escalation(
                idempotency_key=f"sim-page-{uuid.uuid4()}", title=title, user_ids=[w.me.id]
            )
        else:
            path_id = opt_str(body, "path_id")
            team_name = opt_str(body, "team")
            if not path_id:
                team = w.team_by_name(team_name) if team_name else w.teams["payments"]
                if team is None:
                    raise invalid(f"no team called {team_name!r}", "team", "not_found")
                path_id = w.path_by_team[team.id].id
            esc, _ = w.create_escalation(
                idempotency_key=f"sim-page-{uuid.uuid4()}", title=title, path_id=path_id
            )
        return JSONResponse({"escalation": self.shapes.escalation(esc)}, status_code=201)

    async def sim_bulk(self, request: Request) -> Response:
        body = await json_body(request)
        alerts, pages = int(body.get("alerts") or 0), int(body.get("pages") or 0)
        if not 0 <= alerts <= 100_000 or not 0 <= pages <= alerts:
            raise invalid("alerts must be 0–100000 and pages at most alerts", "alerts")
        self.world.add_bulk_alerts(alerts, pages=pages)
        return JSONResponse(self.world.summary(), status_code=201)

    # ----------------------------------------------------------------- routes

    def routes(self) -> list[Route]:
        e, c = self.endpoint, self.control
        return [
            Route("/v1/identity", e(self.identity)),
            Route("/v2/users", e(self.users)),
            Route("/v2/users/{id}", e(self.user)),
            Route("/v2/users/{id}/notification_methods", e(self.notification_methods)),
            Route("/v2/users/{id}/notification_rules", e(self.notification_rules)),
            Route("/v1/severities", e(self.severities)),
            Route("/v1/incident_statuses", e(self.statuses)),
            Route("/v2/incident_roles", e(self.roles)),
            Route("/v1/incident_types", e(self.types)),
            Route("/v2/schedules", e(self.schedules)),
            Route("/v2/schedules/{id}", e(self.schedule)),
            Route("/v2/schedule_entries", e(self.schedule_entries)),
            Route("/v2/schedule_overrides", e(self.overrides), methods=["GET"]),
            Route("/v2/schedule_overrides", e(self.create_override), methods=["POST"]),
            Route("/v2/schedule_overrides/{id}", e(self.update_override), methods=["PUT"]),
            Route("/v2/schedule_overrides/{id}", e(self.delete_override), methods=["DELETE"]),
            Route("/v2/escalation_paths", e(self.paths)),
            Route("/v2/escalation_paths/{id}", e(self.path)),
            Route("/v2/escalations", e(self.escalations), methods=["GET"]),
            Route("/v2/escalations", e(self.create_escalation, limited=True), methods=["POST"]),
            Route("/v2/escalations/{id}", e(self.escalation)),
            Route(
                "/v2/escalations/{id}/actions/cancel", e(self.cancel_escalation), methods=["POST"]
            ),
            Route(
                "/v2/escalations/{id}/actions/respond",
                e(self.respond_escalation, newer=True),
                methods=["POST"],
            ),
            Route(
                "/v2/escalations/{id}/actions/reassign",
                e(self.reassign_escalation, newer=True),
                methods=["POST"],
            ),
            Route("/v2/alerts", e(self.alerts)),
            Route("/v2/alerts/{id}", e(self.alert)),
            Route("/v2/alerts/{id}/actions/resolve", e(self.resolve_alert), methods=["POST"]),
            Route("/v1/alert_notes", e(self.alert_notes), methods=["GET"]),
            Route("/v1/alert_notes", e(self.create_alert_note), methods=["POST"]),
            Route("/v2/incident_alerts", e(self.incident_alerts)),
            Route("/v2/alert_sources", e(self.alert_sources)),
            Route("/v2/alert_events/http/{id}", self.alert_event, methods=["POST"]),
            Route("/v2/incidents", e(self.incidents), methods=["GET"]),
            Route("/v2/incidents", e(self.create_incident), methods=["POST"]),
            Route("/v2/incidents/{id}", e(self.incident)),
            Route("/v2/incidents/{id}/actions/edit", e(self.edit_incident), methods=["POST"]),
            Route("/v2/incident_updates", e(self.incident_updates), methods=["GET"]),
            Route(
                "/v2/incident_updates",
                e(self.create_incident_update, newer=True),
                methods=["POST"],
            ),
            Route(
                "/v2/incident_timeline_items", e(self.timeline_items, newer=True), methods=["GET"]
            ),
            Route(
                "/v2/incident_timeline_items",
                e(self.create_timeline_item, newer=True),
                methods=["POST"],
            ),
            Route(
                "/v2/incident_timeline_items/{id}",
                e(self.update_timeline_item, newer=True),
                methods=["PATCH"],
            ),
            Route("/_sim/state", c(self.sim_state)),
            Route("/_sim/writes", c(self.sim_writes)),
            Route(
                "/_sim/faults",
                c(self.sim_faults),
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
            Route("/_sim/clock", c(self.sim_clock), methods=["GET", "POST"]),
            Route("/_sim/page", c(self.sim_page), methods=["POST"]),
            Route("/_sim/bulk", c(self.sim_bulk), methods=["POST"]),
        ]


def create_app(
    world: IncidentIoWorld,
    *,
    token: str = DEFAULT_TOKEN,
    rate_limit_per_min: int = 1200,
    faults: Faults | None = None,
    escalation_create_limit_per_min: int = 60,
) -> Starlette:
    """The simulated incident.io API over ``world``.

    ``faults`` (shared, so a test can flip switches while the app runs) defaults to a
    fresh all-off :class:`Faults`; it is also reachable as ``app.state.faults``, and the
    world as ``app.state.world``.
    """
    faults = faults if faults is not None else Faults()
    sim = IncidentIoSim(
        world,
        token=token,
        rate_limit_per_min=rate_limit_per_min,
        faults=faults,
        escalation_create_limit_per_min=escalation_create_limit_per_min,
    )
    app = Starlette(routes=sim.routes(), exception_handlers={HTTPException: _http_error})
    app.state.world = world
    app.state.faults = faults
    app.state.sim = sim
    app.add_middleware(FaultInjector, faults=faults)
    return app
