"""A metric over a time range: a Grafana-managed rule's query through ``/api/ds/query``,
or a Prometheus expression through ``/api/v1/query_range``, parsed into a series."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from oncall_tui.backends import thresholds
from oncall_tui.backends.grafana.alertmanager import (
    _list,
    _mapping,
)
from oncall_tui.backends.grafana.common import (
    EXPRESSION_DATASOURCES,
    MAX_POINTS,
    _str_map,
    grafana_error_parser,
)
from oncall_tui.backends.grafana.links import (
    _ms,
)
from oncall_tui.backends.http import (
    ApiClient,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RequestStats,
    RetryPolicy,
    Secret,
)
from oncall_tui.domain import (
    Series,
    Threshold,
)
from oncall_tui.safety import clean_text

# --------------------------------------------------------------- range queries


@dataclass(frozen=True, slots=True)
class RuleQuery:
    """The data query behind a Grafana-managed alert rule."""

    rule_uid: str
    title: str
    ref_id: str
    datasource_uid: str
    expr: str | None  # PromQL/LogQL for Prometheus-like datasources, else None
    model: Mapping[str, Any]
    threshold: Threshold | None = None  # from the rule's threshold expression


def _labels_match(series_labels: Mapping[str, str], alert_labels: Mapping[str, str]) -> int:
    """How well a series fits an alert: -1 if a label disagrees, else labels shared."""
    shared = 0
    for key, value in series_labels.items():
        if key == "__name__":
            continue
        if key in alert_labels:
            if alert_labels[key] != value:
                return -1
            shared += 1
    return shared


def _pick(
    candidates: list[tuple[dict[str, str], Series]], match: Mapping[str, str] | None
) -> Series:
    if not candidates:
        raise LookupError
    if not match:
        return candidates[0][1]
    scored = [(_labels_match(labels, match), i) for i, (labels, _) in enumerate(candidates)]
    best = max(scored, key=lambda s: (s[0], -s[1]))
    return candidates[best[1]][1]


def _series_name(expr: str, labels: Mapping[str, str]) -> str:
    name = labels.get("__name__") or expr
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if shown and labels.get("__name__"):
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items()))
        name = f"{name}{{{inner}}}"
    return clean_text(name, limit=300)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_prometheus_matrix(body: Any, expr: str, match: Mapping[str, str] | None = None) -> Series:
    """Prometheus ``query_range`` JSON → the series that best fits ``match``.

    Non-finite samples (``NaN``, ``±Inf``) are left out, so they show as gaps.
    """
    if not isinstance(body, Mapping):
        raise MalformedResponse("query_range answer is not a JSON object")
    if body.get("status") == "error":
        raise InvalidRequest(clean_text(body.get("error") or "query failed", limit=500))
    data = _mapping(body, "data")
    result = data.get("result")
    if data.get("resultType") not in (None, "matrix") or not isinstance(result, list):
        raise MalformedResponse("query_range did not answer with a matrix")
    candidates: list[tuple[dict[str, str], Series]] = []
    for entry in result[:1000]:
        if not isinstance(entry, Mapping):
            continue
        labels = _str_map(entry.get("metric"))
        points = []
        values = entry.get("values")
        for pair in (values if isinstance(values, list) else [])[:MAX_POINTS]:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                continue
            ts = _finite(pair[0])
            value = _finite(pair[1])
            if ts is None or value is None:
                continue
            try:
                points.append((datetime.fromtimestamp(ts, UTC), value))
            except (OverflowError, OSError, ValueError):
                continue
        candidates.append((labels, Series(name=_series_name(expr, labels), points=tuple(points))))
    if not candidates:
        return Series(name=clean_text(expr, limit=300))
    return _pick(candidates, match)


def parse_grafana_frames(
    body: Any, expr: str, match: Mapping[str, str] | None = None, ref_id: str = "A"
) -> Series:
    """``/api/ds/query`` data frames → the series that best fits ``match``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), Mapping):
        raise MalformedResponse("the data source answer has no results")
    result = body["results"].get(ref_id)
    if result is None and body["results"]:
        result = next(iter(body["results"].values()))
    if not isinstance(result, Mapping):
        return Series(name=clean_text(expr, limit=300))
    if result.get("error"):
        raise InvalidRequest(f"query {ref_id}: {clean_text(result.get('error'), limit=500)}")
    candidates: list[tuple[dict[str, str], Series]] = []
    frames = result.get("frames")
    for frame in (frames if isinstance(frames, list) else [])[:1000]:
        if not isinstance(frame, Mapping):
            continue
        schema = _mapping(frame, "schema")
        data = _mapping(frame, "data")
        fields = _list(schema, "fields")
        values = _list(data, "values")
        time_index = next(
            (i for i, f in enumerate(fields) if isinstance(f, Mapping) and f.get("type") == "time"),
            None,
        )
        if time_index is None or time_index >= len(values):
            continue
        times = values[time_index] if isinstance(values[time_index], list) else []
        for i, f in enumerate(fields):
            if not isinstance(f, Mapping) or f.get("type") != "number" or i >= len(values):
                continue
            column = values[i] if isinstance(values[i], list) else []
            labels = _str_map(f.get("labels"))
            points = []
            for ts, value in list(zip(times, column, strict=False))[:MAX_POINTS]:
                ms = _finite(ts)
                number = _finite(value)
                if ms is None or number is None:
                    continue
                try:
                    points.append((datetime.fromtimestamp(ms / 1000, UTC), number))
                except (OverflowError, OSError, ValueError):
                    continue
            name = _series_name(expr, labels) if labels else clean_text(expr, limit=300)
            candidates.append((labels, Series(name=name, points=tuple(points))))
    if not candidates:
        return Series(name=clean_text(expr, limit=300))
    return _pick(candidates, match)


def _step_seconds(step: timedelta | float) -> float:
    seconds = step.total_seconds() if isinstance(step, timedelta) else float(step)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("step must be a positive duration")
    return seconds


# How long the ruler's namespace listing (the rule lookup of Grafana before 11.1) is reused.
RULE_LISTING_TTL = 60.0


class GrafanaClient(ApiClient):
    """Grafana's rule lookup and data source queries, for sparklines."""

    def __init__(
        self,
        instance: str,
        url: str,
        token: Secret | str | None,
        org_id: int = 1,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        timeout: float = 15.0,
    ) -> None:
        super().__init__(
            f"grafana:{instance}" if instance else "grafana",
            url,
            token,
            transport=transport,
            timeout=timeout,
            headers={"X-Grafana-Org-Id": str(org_id)},
            retry=retry,
            stats=stats,
            error_parser=grafana_error_parser,
        )
        self.instance = instance
        self.org_id = org_id
        self._single_rule_route_missing = False  # Grafana before 11.1
        self._listing: tuple[float, Mapping[str, Any]] | None = None

    async def rule(self, uid: str) -> RuleQuery | None:
        """The first data query of rule ``uid``; ``None`` if it queries no data source.

        Grafana 11.1 and later answer ``GET /api/ruler/grafana/api/v1/rule/{uid}``; older
        ones 404 it, and the rule is then looked up in the ruler's namespace listing
        (``GET /api/ruler/grafana/api/v1/rules``), which every Grafana with unified
        alerting has. Raises :class:`NotFound` for an unknown rule.
        """
        if not self._single_rule_route_missing:
            try:
                body = await self.request(
                    "GET", f"/api/ruler/grafana/api/v1/rule/{quote(str(uid), safe='')}"
                )
            except NotFound:
                body = await self._rule_from_listing(uid)
                if body is None:
                    raise
                self._single_rule_route_missing = True  # an older Grafana: list from now on
        else:
            body = await self._rule_from_listing(uid)
            if body is None:
                raise NotFound(f"no alert rule {uid!r} in the ruler's listing", source=self.source)
        return self._rule_query(uid, body)

    async def _rule_from_listing(self, uid: str) -> Any:
        """Rule ``uid`` from the namespace listing (read at most once a minute)."""
        now = time.monotonic()
        if self._listing is None or now - self._listing[0] > RULE_LISTING_TTL:
            listing = await self.request("GET", "/api/ruler/grafana/api/v1/rules")
            if not isinstance(listing, Mapping):
                raise MalformedResponse("the rule listing is not a JSON object", source=self.source)
            self._listing = (now, listing)
        for groups in self._listing[1].values():
            for group in groups if isinstance(groups, list) else ():
                rules = group.get("rules") if isinstance(group, Mapping) else None
                for rule in rules if isinstance(rules, list) else ():
                    alert = rule.get("grafana_alert") if isinstance(rule, Mapping) else None
                    if isinstance(alert, Mapping) and alert.get("uid") == uid:
                        return rule
        return None

    def _rule_query(self, uid: str, body: Any) -> RuleQuery | None:
        if not isinstance(body, Mapping):
            raise MalformedResponse("the rule is not a JSON object", source=self.source)
        grafana_alert = body.get("grafana_alert")
        if not isinstance(grafana_alert, Mapping):
            grafana_alert = body  # provisioning API shape: data at the top level
        data = _list(grafana_alert, "data")
        for query in data:
            if not isinstance(query, Mapping):
                continue
            ds_uid = query.get("datasourceUid")
            if not isinstance(ds_uid, str) or not ds_uid or ds_uid in EXPRESSION_DATASOURCES:
                continue
            model = _mapping(query, "model")
            expr = model.get("expr")
            return RuleQuery(
                rule_uid=clean_text(grafana_alert.get("uid") or uid, limit=100),
                title=clean_text(grafana_alert.get("title") or "", limit=300),
                ref_id=clean_text(query.get("refId") or "A", limit=20) or "A",
                datasource_uid=ds_uid,
                expr=expr if isinstance(expr, str) and expr.strip() else None,
                model=dict(model),
                threshold=thresholds.from_rule(grafana_alert),
            )
        return None

    async def query_range(
        self,
        datasource_uid: str,
        expr: str | None,
        start: datetime,
        end: datetime,
        step: timedelta | float,
        *,
        model: Mapping[str, Any] | None = None,
        match: Mapping[str, str] | None = None,
        max_points: int = 200,
    ) -> Series:
        """Run one query over ``[start, end]`` through ``POST /api/ds/query``.

        ``model`` is the rule's query model (copied, then switched to a range query);
        ``expr`` overrides its ``expr``. ``match`` picks the series whose labels fit.
        """
        step_s = _step_seconds(step)
        query: dict[str, Any] = dict(model or {})
        query.update(
            {
                "refId": "A",
                "datasource": {"uid": datasource_uid},
                "range": True,
                "instant": False,
                "intervalMs": int(step_s * 1000),
                "maxDataPoints": max(1, min(max_points, MAX_POINTS)),
            }
        )
        if expr is not None:
            query["expr"] = expr
        payload = {"from": str(_ms(start)), "to": str(_ms(end)), "queries": [query]}
        # A read, so safe to retry even though it is a POST.
        body = await self.request("POST", "/api/ds/query", json_body=payload, idempotent=True)
        return parse_grafana_frames(body, expr or str(query.get("expr") or ""), match)


class PrometheusClient(ApiClient):
    """Prometheus's ``/api/v1/query_range`` (directly, or through Grafana's proxy)."""

    def __init__(
        self,
        url: str,
        token: Secret | str | None = None,
        *,
        source: str = "prometheus",
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        timeout: float = 15.0,
        api_base: str = "/api/v1",
    ) -> None:
        super().__init__(
            source, url, token, transport=transport, timeout=timeout, retry=retry, stats=stats
        )
        self.api_base = "/" + api_base.strip("/")

    async def query_range(
        self,
        expr: str,
        start: datetime,
        end: datetime,
        step: timedelta | float,
        *,
        match: Mapping[str, str] | None = None,
    ) -> Series:
        step_s = _step_seconds(step)
        if (end - start).total_seconds() / step_s > MAX_POINTS:
            raise InvalidRequest(f"more than {MAX_POINTS} points requested; use a larger step")
        form = {
            "query": expr,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step_s:g}",
        }
        body = await self.request("GET", f"{self.api_base}/query_range", params=form)
        return parse_prometheus_matrix(body, expr, match)
