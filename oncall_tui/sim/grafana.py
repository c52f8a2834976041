"""A simulated Grafana, Alertmanager and Prometheus for ``--demo``, drills and tests.

One Starlette app serves every path the clients in :mod:`oncall_tui.backends.grafana`
use, for both kinds of instance:

* Grafana: the embedded Alertmanager v2 under ``/api/alertmanager/grafana/api/v2``
  (alerts, silences, silence, status), the ruler rule lookup
  ``/api/ruler/grafana/api/v1/rule/{uid}``, ``POST /api/ds/query`` for range queries,
  the Prometheus datasource proxy, and ``/api/health``;
* a plain Alertmanager 0.25 under ``/api/v2`` (also ``POST /api/v2/alerts``) and
  ``/-/ready``;
* a Prometheus ``/api/v1/query_range``.

Each flavour answers the way the real one does where they differ: Grafana returns 202
for a new silence, ``{"message": "silence deleted"}`` on delete and 404 for an unknown
silence; Alertmanager 0.25 returns 200, an empty body, and 500 "silence not found"
(verified against Debian's ``prometheus-alertmanager`` 0.25.0 by the shared client tests).

:class:`GrafanaWorld` holds the rules and metrics. Each metric follows a repeating
shape — a baseline, a spike that rises, then decays back — with a little seeded noise,
and each alert fires while its (noise-free) metric is above the rule's threshold, so
alerts fire and resolve as the injected clock moves, and sparklines show the spike.
It is independent of ``sim/world.py``; it only needs a clock.

This module is the HTTP app; the state it serves is in :mod:`oncall_tui.sim.grafana_am`
(Alertmanager alerts and silences) and :mod:`oncall_tui.sim.grafana_world` (rules,
metrics, faults), re-exported here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from oncall_tui.sim import fired_before
from oncall_tui.sim.grafana_am import _MATCHER as _MATCHER
from oncall_tui.sim.grafana_am import DATASOURCE_UID as DATASOURCE_UID
from oncall_tui.sim.grafana_am import FLAVOUR_ALERTMANAGER as FLAVOUR_ALERTMANAGER
from oncall_tui.sim.grafana_am import FLAVOUR_GRAFANA as FLAVOUR_GRAFANA
from oncall_tui.sim.grafana_am import RESOLVE_TIMEOUT as RESOLVE_TIMEOUT
from oncall_tui.sim.grafana_am import Clock as Clock
from oncall_tui.sim.grafana_am import SimAlertmanager as SimAlertmanager
from oncall_tui.sim.grafana_am import _iso as _iso
from oncall_tui.sim.grafana_am import _matcher_matches as _matcher_matches
from oncall_tui.sim.grafana_am import _now_utc as _now_utc
from oncall_tui.sim.grafana_am import _parse_iso as _parse_iso
from oncall_tui.sim.grafana_am import _Silence as _Silence
from oncall_tui.sim.grafana_am import fingerprint as fingerprint
from oncall_tui.sim.grafana_am import parse_filter as parse_filter
from oncall_tui.sim.grafana_world import HOSTILE_MOUNT as HOSTILE_MOUNT
from oncall_tui.sim.grafana_world import Faults as Faults
from oncall_tui.sim.grafana_world import GrafanaWorld as GrafanaWorld
from oncall_tui.sim.grafana_world import SimRule as SimRule
from oncall_tui.sim.grafana_world import Spike as Spike
from oncall_tui.sim.grafana_world import _balanced as _balanced
from oncall_tui.sim.grafana_world import _ruler_namespaces as _ruler_namespaces
from oncall_tui.sim.grafana_world import _squash as _squash
from oncall_tui.sim.grafana_world import default_rules as default_rules
from oncall_tui.sim.grafana_world import grafana_alert_labels as grafana_alert_labels
from oncall_tui.sim.silences import ServerDate

# --------------------------------------------------------------------- app


class _FaultsMiddleware:
    def __init__(self, app: ASGIApp, faults: Faults | None, token: str | None) -> None:
        self.app = app
        self.faults = faults
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        faults = self.faults
        if faults is not None and faults.applies(path):
            faults.hits += 1
            if faults.hang_seconds:
                await asyncio.sleep(faults.hang_seconds)
            response: Response | None = None
            if faults.html:
                response = Response(
                    "<html><body><h1>Sign in</h1></body></html>",
                    status_code=faults.status or 200,
                    media_type="text/html",
                )
            elif faults.status:
                headers = {"Retry-After": faults.retry_after} if faults.retry_after else None
                response = JSONResponse(
                    {"message": f"simulated failure {faults.status}"},
                    status_code=faults.status,
                    headers=headers,
                )
            if response is not None:
                await response(scope, receive, send)
                return
        if self.token and path not in ("/-/ready", "/-/healthy", "/api/health"):
            sent: dict[bytes, bytes] = dict(scope.get("headers") or [])
            auth = sent.get(b"authorization", b"").decode("latin-1")
            if auth != f"Bearer {self.token}":
                await JSONResponse({"message": "Unauthorized"}, status_code=401)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


def _bool_param(request: Request, name: str, default: bool = True) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    return value.lower() not in ("false", "0")


def _json(status: int, body: Any) -> Response:
    if body is None:
        return Response(status_code=status)
    return JSONResponse(body, status_code=status)


def _prom_error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "error", "errorType": kind, "error": message}, status_code=status
    )


def _parse_step(value: str | None) -> timedelta | None:
    if not value:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", value.strip())
    if not match:
        return None
    number = float(match.group(1))
    unit = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[match.group(2)]
    seconds = number * unit
    return timedelta(seconds=seconds) if seconds > 0 else None


def _parse_when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return _parse_iso(value)


def create_app(
    grafana_world: GrafanaWorld, *, token: str | None = None, faults: Faults | None = None
) -> Starlette:
    """The Starlette app serving Grafana, a plain Alertmanager and Prometheus paths."""
    world = grafana_world

    def am_for(request: Request) -> SimAlertmanager | None:
        uid = request.path_params.get("am_uid")
        if uid is None:
            return world.plain_am
        return world.grafana_am if uid == "grafana" else None

    async def get_alerts(request: Request) -> Response:
        am = am_for(request)
        if am is None:
            return _json(404, {"message": "data source not found"})
        try:
            filters = [parse_filter(f) for f in request.query_params.getlist("filter")]
        except ValueError as err:
            return _json(400, str(err))
        return _json(
            200,
            am.gettable_alerts(
                active=_bool_param(request, "active"),
                silenced=_bool_param(request, "silenced"),
                inhibited=_bool_param(request, "inhibited"),
                filters=filters,
            ),
        )

    async def post_alerts(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _json(400, {"code": 400, "message": "parsing alerts body: invalid JSON"})
        if not isinstance(body, list):
            return _json(422, {"code": 602, "message": "alerts in body must be of type array"})
        for item in body:
            if not isinstance(item, Mapping) or not isinstance(item.get("labels"), Mapping):
                return _json(422, {"code": 602, "message": "labels in body is required"})
            if not item["labels"]:
                return _json(400, {"code": 400, "message": "at least one label pair required"})
        for item in body:
            world.plain_am.add_alert(
                item["labels"],
                item.get("annotations") or {},
                starts_at=_parse_iso(item.get("startsAt")),
                ends_at=_parse_iso(item.get("endsAt")),
                generator_url=str(item.get("generatorURL") or ""),
            )
        return Response(status_code=200)

    async def get_silences(request: Request) -> Response:
        am = am_for(request)
        if am is None:
            return _json(404, {"message": "data source not found"})
        return _json(200, [am.gettable_silence(s) for s in am.silences.values()])

    async def post_silences(request: Request) -> Response:
        am = am_for(request)
        if am is None:
            return _json(404, {"message": "data source not found"})
        try:
            body = await request.json()
        except ValueError:
            return _json(400, {"code": 400, "message": "parsing silence body: invalid JSON"})
        status, answer = am.create_silence(body)
        return _json(status, answer)

    async def silence_by_id(request: Request) -> Response:
        am = am_for(request)
        if am is None:
            return _json(404, {"message": "data source not found"})
        silence_id = request.path_params["silence_id"]
        if request.method == "DELETE":
            status, answer = am.expire_silence(silence_id)
            return _json(status, answer)
        silence = am.silences.get(silence_id)
        if silence is None:
            if am.flavour == FLAVOUR_GRAFANA:
                return _json(404, {"message": "silence not found"})
            return Response(status_code=404)
        return _json(200, am.gettable_silence(silence))

    async def am_status(request: Request) -> Response:
        am = am_for(request)
        if am is None:
            return _json(404, {"message": "data source not found"})
        return _json(200, am.status())

    async def ruler_rule(request: Request) -> Response:
        if world.version < (11, 1):  # the route arrived in Grafana 11.1
            return _json(404, {"message": "Not found"})
        rule = world.ruler_rule(request.path_params["uid"])
        if rule is None:
            return _json(404, {"message": "rule not found"})
        return _json(200, rule)

    async def ruler_rules(request: Request) -> Response:
        return _json(200, _ruler_namespaces(world))

    def _range(expr: str, start: datetime, end: datetime, step: timedelta):
        rule = world.rule_for_expr(expr)
        if rule is None:
            return None, []
        return rule, world.samples(rule, start, end, step)

    async def ds_query(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _json(400, {"message": "bad request data"})
        if not isinstance(body, Mapping) or not isinstance(body.get("queries"), list):
            return _json(400, {"message": "bad request data"})
        start = _parse_when_ms(body.get("from"), world.clock())
        end = _parse_when_ms(body.get("to"), world.clock())
        if start is None or end is None or end < start:
            return _json(400, {"message": "invalid time range"})
        results: dict[str, Any] = {}
        failed = False
        for query in body["queries"]:
            if not isinstance(query, Mapping):
                return _json(400, {"message": "bad request data"})
            ref = str(query.get("refId") or "A")
            ds = query.get("datasource")
            if not isinstance(ds, Mapping) or ds.get("uid") != DATASOURCE_UID:
                return _json(404, {"message": "Data source not found"})
            expr = str(query.get("expr") or "")
            if not expr or not _balanced(expr):
                failed = True
                results[ref] = {
                    "error": "bad_data: invalid parameter 'query': parse error",
                    "errorSource": "downstream",
                    "status": 400,
                }
                continue
            interval_ms = query.get("intervalMs") or 15000
            try:
                step = timedelta(milliseconds=max(1000.0, float(interval_ms)))
            except (TypeError, ValueError):
                step = timedelta(seconds=15)
            rule, samples = _range(expr, start, end, step)
            frames = []
            if rule is not None:
                frames.append(
                    {
                        "schema": {
                            "name": rule.expr,
                            "refId": ref,
                            "meta": {"type": "timeseries-multi", "typeVersion": [0, 1]},
                            "fields": [
                                {
                                    "name": "Time",
                                    "type": "time",
                                    "typeInfo": {"frame": "time.Time"},
                                    "config": {"interval": int(step.total_seconds() * 1000)},
                                },
                                {
                                    "name": "Value",
                                    "type": "number",
                                    "typeInfo": {"frame": "float64", "nullable": True},
                                    "labels": dict(rule.series_labels),
                                },
                            ],
                        },
                        "data": {
                            "values": [
                                [int(t.timestamp() * 1000) for t, _ in samples],
                                [v for _, v in samples],
                            ]
                        },
                    }
                )
            results[ref] = {"status": 200, "frames": frames}
        return _json(400 if failed else 200, {"results": results})

    async def query_range(request: Request) -> Response:
        params: Mapping[str, str] = request.query_params
        if request.method == "POST":
            # Prometheus takes a urlencoded form; parsed here so the sim needs no
            # multipart library.
            body = (await request.body()).decode("utf-8", "replace")
            params = {**request.query_params, **dict(parse_qsl(body))}
        expr = params.get("query") or ""
        start = _parse_when(params.get("start"))
        end = _parse_when(params.get("end"))
        step = _parse_step(params.get("step"))
        if not expr:
            return _prom_error(400, "bad_data", 'invalid parameter "query": empty query')
        if start is None or end is None:
            return _prom_error(400, "bad_data", 'invalid parameter "start": cannot parse')
        if step is None:
            return _prom_error(400, "bad_data", 'invalid parameter "step": cannot parse')
        if end < start:
            return _prom_error(400, "bad_data", "end timestamp must not be before start time")
        if (end - start) / step > 11000:
            return _prom_error(
                400,
                "bad_data",
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)",
            )
        if not _balanced(expr):
            return _prom_error(400, "bad_data", "1:1: parse error: unclosed left parenthesis")
        rule, samples = _range(expr, start, end, step)
        result = []
        if rule is not None and samples:
            result.append(
                {
                    "metric": dict(rule.series_labels),
                    "values": [[round(t.timestamp(), 3), f"{v:.6g}"] for t, v in samples],
                }
            )
        return _json(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})

    async def ready(request: Request) -> Response:
        return PlainTextResponse("OK")

    async def health(request: Request) -> Response:
        return _json(200, {"database": "ok", "version": "sim"})

    grafana_am = "/api/alertmanager/{am_uid}/api/v2"
    routes = [
        Route(f"{grafana_am}/alerts", get_alerts, methods=["GET"]),
        Route(f"{grafana_am}/silences", get_silences, methods=["GET"]),
        Route(f"{grafana_am}/silences", post_silences, methods=["POST"]),
        Route(f"{grafana_am}/silence/{{silence_id}}", silence_by_id, methods=["GET", "DELETE"]),
        Route(f"{grafana_am}/status", am_status, methods=["GET"]),
        Route("/api/ruler/grafana/api/v1/rule/{uid}", ruler_rule, methods=["GET"]),
        Route("/api/ruler/grafana/api/v1/rules", ruler_rules, methods=["GET"]),
        Route("/api/ds/query", ds_query, methods=["POST"]),
        Route(
            f"/api/datasources/proxy/uid/{DATASOURCE_UID}/api/v1/query_range",
            query_range,
            methods=["GET", "POST"],
        ),
        Route("/api/health", health, methods=["GET"]),
        Route("/api/v2/alerts", get_alerts, methods=["GET"]),
        Route("/api/v2/alerts", post_alerts, methods=["POST"]),
        Route("/api/v2/silences", get_silences, methods=["GET"]),
        Route("/api/v2/silences", post_silences, methods=["POST"]),
        Route("/api/v2/silence/{silence_id}", silence_by_id, methods=["GET", "DELETE"]),
        Route("/api/v2/status", am_status, methods=["GET"]),
        Route("/api/v1/query_range", query_range, methods=["GET", "POST"]),
        Route("/-/ready", ready, methods=["GET"]),
        Route("/-/healthy", ready, methods=["GET"]),
        *fired_before.routes(world),
    ]
    app = Starlette(routes=routes)
    app.state.world = world
    app.state.history_mode = "loki"  # see sim/fired_before.py
    app.state.faults = faults
    app.add_middleware(_FaultsMiddleware, faults=faults, token=token)
    app.add_middleware(ServerDate, clock=world.clock)  # its own clock, as real servers do
    return app


def _parse_when_ms(value: Any, now: datetime) -> datetime | None:
    """Grafana's ``from``/``to``: epoch milliseconds, or ``now``/``now-1h``."""
    if value is None:
        return None
    text = str(value).strip()
    match = re.fullmatch(r"now(?:-(\d+)([smhd]))?", text)
    if match:
        if not match.group(1):
            return now
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        return now - timedelta(seconds=int(match.group(1)) * unit)
    try:
        return datetime.fromtimestamp(float(text) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None
