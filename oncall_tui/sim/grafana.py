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
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

Clock = Callable[[], datetime]

FLAVOUR_GRAFANA = "grafana"
FLAVOUR_ALERTMANAGER = "alertmanager"
DATASOURCE_UID = "sim-prometheus"
RESOLVE_TIMEOUT = timedelta(minutes=5)


def _now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint: FNV-1a 64 over sorted ``name 0xff value 0xff``."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for chunk in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in chunk:
                h ^= byte
                h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


# ------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Spike:
    """A repeating spike: ``base`` most of the time, up to ``base + amp`` and back.

    ``phase_at_start`` is where in the cycle the metric is when the world is created,
    so the demo opens with alerts mid-spike.
    """

    base: float
    amp: float
    period: timedelta
    rise: timedelta
    decay: timedelta
    phase_at_start: timedelta
    noise: float = 0.03  # share of amp

    def shape(self, since_epoch: float) -> float:
        """0..1 without noise."""
        period = self.period.total_seconds()
        phase = (since_epoch + self.phase_at_start.total_seconds()) % period
        rise = self.rise.total_seconds()
        decay = self.decay.total_seconds()
        if phase < rise:
            x = phase / rise
            return x * x * (3 - 2 * x)  # smoothstep up
        if phase < rise + decay:
            x = (phase - rise) / decay
            return 1 - x * x * (3 - 2 * x)  # and back down
        return 0.0


@dataclass(frozen=True)
class SimRule:
    uid: str
    title: str
    expr: str  # the watched query, without threshold
    threshold: float
    spike: Spike
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    series_labels: Mapping[str, str]
    folder: str = "Sim"
    managed_by: str = FLAVOUR_GRAFANA  # or "prometheus" (alerts land in the plain AM)
    for_: str = "1m"


# ----------------------------------------------------------------- silences


_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$', re.DOTALL)


@dataclass
class _Silence:
    id: str
    matchers: list[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime
    metadata: dict[str, str] | None = None

    def state(self, now: datetime) -> str:
        if now < self.starts_at:
            return "pending"
        if now < self.ends_at:
            return "active"
        return "expired"

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(_matcher_matches(m, labels) for m in self.matchers)


def _matcher_matches(m: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    value = labels.get(str(m.get("name")), "")
    wanted = str(m.get("value", ""))
    if m.get("isRegex"):
        try:
            hit = re.fullmatch(wanted, value) is not None
        except re.error:
            hit = False
    else:
        hit = value == wanted
    is_equal = m.get("isEqual", True)
    return hit if is_equal is not False else not hit


def parse_filter(text: str) -> dict[str, Any]:
    """An Alertmanager ``filter`` matcher (``team="payments"``); ValueError if bad."""
    match = _MATCHER.match(text)
    if not match:
        raise ValueError(f"bad matcher format: {text}")
    name, op, value = match.groups()
    return {"name": name, "value": value, "isRegex": "~" in op, "isEqual": "!" not in op}


class SimAlertmanager:
    """One Alertmanager's alerts and silences, answering like ``flavour`` does."""

    def __init__(
        self,
        flavour: str,
        clock: Clock,
        rule_alerts: Callable[[datetime], list[dict[str, Any]]],
        receiver: str,
    ) -> None:
        self.flavour = flavour
        self.clock = clock
        self._rule_alerts = rule_alerts
        self.receiver = receiver
        self.posted: dict[str, dict[str, Any]] = {}
        self.silences: dict[str, _Silence] = {}

    # alerts ---------------------------------------------------------------

    def add_alert(
        self,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
        *,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        generator_url: str = "",
    ) -> str:
        """Receive one alert as ``POST /api/v2/alerts`` does; return its fingerprint."""
        now = self.clock()
        labels = {str(k): str(v) for k, v in labels.items()}
        fp = fingerprint(labels)
        existing = self.posted.get(fp)
        start = starts_at or now
        if existing and existing["endsAt"] > now:
            start = min(start, existing["startsAt"])
        self.posted[fp] = {
            "labels": labels,
            "annotations": {str(k): str(v) for k, v in (annotations or {}).items()},
            "startsAt": start,
            "endsAt": ends_at or now + RESOLVE_TIMEOUT,
            "updatedAt": now,
            "generatorURL": generator_url,
        }
        return fp

    def _all_alerts(self, now: datetime) -> list[dict[str, Any]]:
        out = []
        for fp, alert in self.posted.items():
            if alert["endsAt"] <= now:
                continue
            out.append({**alert, "fingerprint": fp})
        for alert in self._rule_alerts(now):
            out.append({**alert, "fingerprint": fingerprint(alert["labels"])})
        return out

    def gettable_alerts(
        self,
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        filters: Iterable[dict[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        now = self.clock()
        filters = list(filters)
        active_silences = [s for s in self.silences.values() if s.state(now) == "active"]
        out = []
        for alert in self._all_alerts(now):
            labels = alert["labels"]
            if not all(_matcher_matches(f, labels) for f in filters):
                continue
            silenced_by = sorted(s.id for s in active_silences if s.matches(labels))
            state = "suppressed" if silenced_by else "active"
            if (silenced_by and not silenced) or (not silenced_by and not active):
                continue
            status: dict[str, Any] = {"inhibitedBy": [], "silencedBy": silenced_by, "state": state}
            body = {
                "annotations": alert["annotations"],
                "endsAt": _iso(alert["endsAt"]),
                "fingerprint": alert["fingerprint"],
                "receivers": [{"name": self.receiver}],
                "startsAt": _iso(alert["startsAt"]),
                "status": status,
                "updatedAt": _iso(alert["updatedAt"]),
                "labels": labels,
            }
            if alert.get("generatorURL"):
                body["generatorURL"] = alert["generatorURL"]
            out.append(body)
        out.sort(key=lambda a: a["fingerprint"])
        return out

    # silences -------------------------------------------------------------

    def gettable_silence(self, silence: _Silence) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": silence.id,
            "status": {"state": silence.state(self.clock())},
            "updatedAt": _iso(silence.updated_at),
            "comment": silence.comment,
            "createdBy": silence.created_by,
            "endsAt": _iso(silence.ends_at),
            "matchers": silence.matchers,
            "startsAt": _iso(silence.starts_at),
        }
        if self.flavour == FLAVOUR_GRAFANA and silence.metadata:
            body["metadata"] = silence.metadata
        return body

    def create_silence(self, body: Any) -> tuple[int, Any]:
        """Validate and store a ``postableSilence``; return (status, response body)."""
        if not isinstance(body, Mapping):
            return 400, {"code": 602, "message": "body in body is required"}
        matchers = body.get("matchers")
        if not isinstance(matchers, list) or not matchers:
            return 422, {"code": 612, "message": "matchers in body should have at least 1 items"}
        clean_matchers = []
        for m in matchers:
            if not isinstance(m, Mapping) or not m.get("name") or "value" not in m:
                return 422, {"code": 602, "message": "matchers.name in body is required"}
            clean_matchers.append(
                {
                    "isEqual": m.get("isEqual", True) is not False,
                    "isRegex": bool(m.get("isRegex")),
                    "name": str(m["name"]),
                    "value": str(m["value"]),
                }
            )
        starts = _parse_iso(body.get("startsAt"))
        ends = _parse_iso(body.get("endsAt"))
        if starts is None or ends is None:
            return 422, {"code": 602, "message": "startsAt and endsAt in body are required"}
        now = self.clock()
        if ends < now:
            return 400, "Failed to create silence: end time can't be in the past"
        if starts > ends:
            return 400, "Failed to create silence: start time must be before end time"
        starts = max(starts, now)
        silence_id = body.get("id")
        if silence_id:
            old = self.silences.get(str(silence_id))
            if old is None:
                return 404, "silence not found"
            if old.matchers == clean_matchers and old.state(now) != "expired":
                old.ends_at, old.comment, old.updated_at = ends, str(body.get("comment")), now
                return self._created(old.id)
            old.ends_at = min(old.ends_at, now)
        new_id = str(uuid.uuid4())
        metadata: dict[str, str] | None = None
        if self.flavour == FLAVOUR_GRAFANA:
            rule = next(
                (m["value"] for m in clean_matchers if m["name"] == "__alert_rule_uid__"), ""
            )
            metadata = {"rule_uid": str(rule)} if rule else None
        self.silences[new_id] = _Silence(
            id=new_id,
            matchers=clean_matchers,
            starts_at=starts,
            ends_at=ends,
            created_by=str(body.get("createdBy") or ""),
            comment=str(body.get("comment") or ""),
            updated_at=now,
            metadata=metadata,
        )
        return self._created(new_id)

    def _created(self, silence_id: str) -> tuple[int, Any]:
        return (202 if self.flavour == FLAVOUR_GRAFANA else 200), {"silenceID": silence_id}

    def expire_silence(self, silence_id: str) -> tuple[int, Any]:
        try:
            uuid.UUID(silence_id)
        except ValueError:
            message = f'silenceID in path must be of type uuid: "{silence_id}"'
            return 422, {"code": 601, "message": message}
        silence = self.silences.get(silence_id)
        if silence is None:
            if self.flavour == FLAVOUR_GRAFANA:
                return 404, {"message": "silence not found"}
            return 500, "silence not found"  # Alertmanager 0.25; 0.26+ answers 404
        now = self.clock()
        if silence.state(now) != "expired":
            silence.ends_at = now
            silence.updated_at = now
            if silence.starts_at > now:
                silence.starts_at = now
        if self.flavour == FLAVOUR_GRAFANA:
            return 200, {"message": "silence deleted"}
        return 200, None

    def status(self) -> dict[str, Any]:
        if self.flavour == FLAVOUR_GRAFANA:
            na = dict.fromkeys(("branch", "buildDate", "buildUser", "goVersion", "revision"), "N/A")
            return {
                "cluster": {"peers": [], "status": "disabled"},
                "config": {"route": {"receiver": self.receiver}, "receivers": []},
                "uptime": _iso(self.clock()),
                "versionInfo": {**na, "version": "N/A"},
            }
        return {
            "cluster": {"peers": [], "status": "disabled"},
            "config": {"original": f'route:\n  receiver: "{self.receiver}"\n'},
            "uptime": _iso(self.clock()),
            "versionInfo": {"version": "0.25.0-sim", "branch": "sim", "revision": "sim"},
        }


# ------------------------------------------------------------------- world


@dataclass
class Faults:
    """Switches a test flips to make the simulated servers misbehave.

    ``status`` answers every matching request with that code; ``hang_seconds`` delays
    each answer; ``html`` answers with a login page, like a proxy in the way.
    ``path_prefix`` limits the faults to paths that start with it.
    """

    status: int | None = None
    hang_seconds: float = 0.0
    html: bool = False
    path_prefix: str = ""
    retry_after: str | None = None
    hits: int = field(default=0)

    def applies(self, path: str) -> bool:
        return path.startswith(self.path_prefix) and bool(
            self.status or self.hang_seconds or self.html
        )


HOSTILE_MOUNT = "/data\x1b]8;;https://evil.example/\x07[link=https://evil.example]x[/link]\u202e"


def default_rules() -> list[SimRule]:
    minute = timedelta(minutes=1)
    return [
        SimRule(
            uid="checkout-latency",
            title="CheckoutLatencyHigh",
            expr=(
                "histogram_quantile(0.99, sum by (le, service) "
                '(rate(http_request_duration_seconds_bucket{service="checkout"}[5m])))'
            ),
            threshold=0.5,
            spike=Spike(0.2, 1.0, 45 * minute, 5 * minute, 20 * minute, 12 * minute),
            labels={"severity": "critical", "team": "payments", "service": "checkout"},
            annotations={
                "summary": "Checkout p99 latency is above 500 ms",
                "description": "Customers wait too long at checkout.\nCheck the payment "
                "provider's status and the database connection pool.",
                "runbook_url": "https://runbooks.example.com/payments/checkout-latency",
                "__dashboardUid__": "checkout-overview",
                "__panelId__": "4",
                "__orgId__": "1",
            },
            series_labels={"service": "checkout"},
            folder="Payments",
        ),
        SimRule(
            uid="api-errors",
            title="ApiErrorRateHigh",
            expr=(
                'sum by (service) (rate(http_requests_total{service="api",code=~"5.."}[5m]))'
                ' / sum by (service) (rate(http_requests_total{service="api"}[5m]))'
            ),
            threshold=0.05,
            spike=Spike(0.01, 0.09, 30 * minute, 8 * minute, 8 * minute, 5 * minute),
            labels={"severity": "warning", "team": "platform", "service": "api"},
            annotations={
                "summary": "More than 5% of API requests fail",
                "description": "The public API returns 5xx for more than 5% of requests.",
                "runbook_url": "https://runbooks.example.com/platform/api-errors",
                "__dashboardUid__": "api-golden-signals",
                "__panelId__": "2",
                "__orgId__": "1",
            },
            series_labels={"service": "api"},
            folder="Platform",
        ),
        SimRule(
            uid="queue-backlog",
            title="QueueBacklogGrowing",
            expr='sum by (queue) (rabbitmq_queue_messages_ready{queue="emails"})',
            threshold=500,
            spike=Spike(100, 900, 60 * minute, 20 * minute, 15 * minute, 18 * minute),
            labels={"severity": "major", "team": "growth", "queue": "emails"},
            annotations={
                "summary": "The email queue backlog is growing",
                # no runbook on purpose; a dashboard without a panel id
                "__dashboardUid__": "queues",
                "__orgId__": "1",
            },
            series_labels={"queue": "emails"},
            folder="Growth",
        ),
        SimRule(
            uid="disk-full",
            title="DiskAlmostFull",
            expr='max by (mountpoint) (disk_used_ratio{host="db-1"}) * 100',
            threshold=90,
            spike=Spike(80, 15, 90 * minute, 30 * minute, 40 * minute, 40 * minute),
            labels={"severity": "critical", "team": "storage", "mountpoint": HOSTILE_MOUNT},
            annotations={
                "summary": "Disk \x1b[31mdb-1\x1b[0m [bold]almost full[/bold]",
                "runbook_url": "javascript:alert(document.cookie)",
                "__dashboardUid__": "hosts",
                "__panelId__": "12",
                "__orgId__": "1",
            },
            series_labels={"mountpoint": HOSTILE_MOUNT},
            folder="Storage",
        ),
        SimRule(
            uid="settlement-lag",
            title="SettlementConsumerLag",
            expr='payments_consumer_lag_seconds{consumer="settlement"}',
            threshold=30,
            spike=Spike(5, 60, 40 * minute, 6 * minute, 14 * minute, 8 * minute),
            labels={"severity": "major", "team": "payments"},
            annotations={
                "summary": "Settlement consumer is behind",
                "description": "Settlements are delayed; payouts may be late.",
                "runbook_url": "https://runbooks.example.com/payments/settlement-lag",
                "dashboard_url": "https://grafana.example.com/d/settlement?orgId=1",
            },
            series_labels={"consumer": "settlement"},
            managed_by="prometheus",
        ),
    ]


class GrafanaWorld:
    """Rules, metrics and two Alertmanagers (Grafana's own and a plain one)."""

    def __init__(
        self,
        clock: Clock | None = None,
        seed: int = 0,
        instance: str = "us",
        *,
        grafana_url: str = "http://127.0.0.1:3000",
        prometheus_url: str = "http://127.0.0.1:9090",
        rules: Iterable[SimRule] | None = None,
    ) -> None:
        self.clock: Clock = clock or _now_utc
        self.seed = seed
        self.instance = instance
        self.grafana_url = grafana_url.rstrip("/")
        self.prometheus_url = prometheus_url.rstrip("/")
        self.epoch = self.clock()
        self.rules = list(rules if rules is not None else default_rules())
        # Grafana before 11.1 has no GET /api/ruler/grafana/api/v1/rule/{uid}; set to
        # (11, 0) or lower to play one (the namespace listing is still there).
        self.version: tuple[int, int] = (12, 1)
        self.grafana_am = SimAlertmanager(
            FLAVOUR_GRAFANA,
            self.clock,
            lambda now: self._rule_alerts(now, FLAVOUR_GRAFANA),
            receiver="grafana-default-email",
        )
        self.plain_am = SimAlertmanager(
            FLAVOUR_ALERTMANAGER,
            self.clock,
            lambda now: self._rule_alerts(now, "prometheus"),
            receiver="null",
        )

    # metrics ----------------------------------------------------------------

    def rule(self, uid: str) -> SimRule | None:
        return next((r for r in self.rules if r.uid == uid), None)

    def _since(self, when: datetime) -> float:
        return (when - self.epoch).total_seconds()

    def clean_value(self, rule: SimRule, when: datetime) -> float:
        return rule.spike.base + rule.spike.amp * rule.spike.shape(self._since(when))

    def value(self, rule: SimRule, when: datetime) -> float:
        """The metric at ``when``, with seeded noise stable per 15 s bucket."""
        bucket = math.floor(when.timestamp() / 15)
        rng = random.Random(f"{self.seed}:{rule.uid}:{bucket}")
        noise = (rng.random() * 2 - 1) * rule.spike.noise * rule.spike.amp
        return max(0.0, self.clean_value(rule, when) + noise)

    def firing_since(self, rule: SimRule, now: datetime) -> datetime | None:
        """When the current firing began, or ``None`` if the rule is not firing."""
        if self.clean_value(rule, now) <= rule.threshold:
            return None
        step = timedelta(seconds=15)
        t = now
        limit = now - rule.spike.period
        while t > limit and self.clean_value(rule, t - step) > rule.threshold:
            t -= step
        return t

    def rule_for_expr(self, expr: str) -> SimRule | None:
        wanted = _squash(expr)
        return next((r for r in self.rules if _squash(r.expr) == wanted), None)

    def samples(
        self, rule: SimRule, start: datetime, end: datetime, step: timedelta
    ) -> list[tuple[datetime, float]]:
        now = self.clock()
        end = min(end, now)
        out: list[tuple[datetime, float]] = []
        t = start
        while t <= end and len(out) < 11000:
            out.append((t, self.value(rule, t)))
            t += step
        return out

    # alerts -----------------------------------------------------------------

    def _rule_alerts(self, now: datetime, managed_by: str) -> list[dict[str, Any]]:
        out = []
        for rule in self.rules:
            if rule.managed_by != managed_by:
                continue
            since = self.firing_since(rule, now)
            if since is None:
                continue
            if managed_by == FLAVOUR_GRAFANA:
                labels = {
                    "__alert_rule_uid__": rule.uid,
                    "__alert_rule_namespace_uid__": f"folder-{rule.folder.lower()}",
                    "alertname": rule.title,
                    "grafana_folder": rule.folder,
                    **rule.labels,
                    **rule.series_labels,
                }
                generator = f"{self.grafana_url}/alerting/grafana/{rule.uid}/view?orgId=1"
            else:
                labels = {"alertname": rule.title, **rule.labels, **rule.series_labels}
                query = urlencode({"g0.expr": f"{rule.expr} > {rule.threshold:g}", "g0.tab": "1"})
                generator = f"{self.prometheus_url}/graph?{query}"
            value = self.value(rule, now)
            annotations = dict(rule.annotations)
            if managed_by == FLAVOUR_GRAFANA:
                annotations["__value_string__"] = f"[ var='A' value={value:.4g} ]"
            out.append(
                {
                    "labels": labels,
                    "annotations": annotations,
                    "startsAt": since,
                    "endsAt": now + timedelta(minutes=4),
                    "updatedAt": now,
                    "generatorURL": generator,
                }
            )
        return out

    def ruler_rule(self, uid: str) -> dict[str, Any] | None:
        rule = self.rule(uid)
        if rule is None or rule.managed_by != FLAVOUR_GRAFANA:
            return None
        return {
            "expr": "",
            "for": rule.for_,
            "labels": dict(rule.labels),
            "annotations": dict(rule.annotations),
            "grafana_alert": {
                "id": zlib.crc32(rule.uid.encode()) % 10000,
                "orgId": 1,
                "title": rule.title,
                "condition": "C",
                "data": [
                    {
                        "refId": "A",
                        "queryType": "",
                        "relativeTimeRange": {"from": 600, "to": 0},
                        "datasourceUid": DATASOURCE_UID,
                        "model": {
                            "refId": "A",
                            "expr": rule.expr,
                            "datasource": {"type": "prometheus", "uid": DATASOURCE_UID},
                            "instant": True,
                            "range": False,
                            "intervalMs": 1000,
                            "maxDataPoints": 43200,
                        },
                    },
                    {
                        "refId": "B",
                        "datasourceUid": "__expr__",
                        "model": {"type": "reduce", "expression": "A", "reducer": "last"},
                    },
                    {
                        "refId": "C",
                        "datasourceUid": "__expr__",
                        "model": {
                            "type": "threshold",
                            "expression": "B",
                            "conditions": [
                                {"evaluator": {"type": "gt", "params": [rule.threshold]}}
                            ],
                        },
                    },
                ],
                "uid": rule.uid,
                "namespace_uid": f"folder-{rule.folder.lower()}",
                "rule_group": rule.folder.lower(),
                "no_data_state": "NoData",
                "exec_err_state": "Error",
                "intervalSeconds": 60,
                "version": 1,
                "updated": _iso(self.epoch),
            },
        }


def _ruler_namespaces(world: GrafanaWorld) -> dict[str, list[dict[str, Any]]]:
    """``GET /api/ruler/grafana/api/v1/rules``: folder title → rule groups → rules."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for rule in world.rules:
        body = world.ruler_rule(rule.uid)
        if body is None:
            continue
        group = body["grafana_alert"]["rule_group"]
        out.setdefault(rule.folder, {}).setdefault(group, []).append(body)
    return {
        folder: [{"name": name, "interval": "1m", "rules": rules} for name, rules in groups.items()]
        for folder, groups in out.items()
    }


def _squash(expr: str) -> str:
    return re.sub(r"\s+", "", expr)


def _balanced(expr: str) -> bool:
    depth = 0
    for c in expr:
        depth += c in "({["
        depth -= c in ")}]"
        if depth < 0:
            return False
    return depth == 0


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
    ]
    app = Starlette(routes=routes)
    app.state.world = world
    app.state.faults = faults
    app.add_middleware(_FaultsMiddleware, faults=faults, token=token)
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
