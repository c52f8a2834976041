"""The simulated Grafana's rules and metrics: each metric a baseline, a spike that rises
and decays, a little seeded noise; each alert fires while its metric is above the rule's
threshold, so alerts fire and resolve as the clock moves. Also the faults a drill injects."""

from __future__ import annotations

import math
import random
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from oncall_tui.sim.grafana_am import (
    DATASOURCE_UID,
    FLAVOUR_ALERTMANAGER,
    FLAVOUR_GRAFANA,
    Clock,
    SimAlertmanager,
    _iso,
    _now_utc,
)

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


def grafana_alert_labels(rule: SimRule) -> dict[str, str]:
    """The labels Grafana gives the alert of a Grafana-managed rule (its fingerprint is
    :func:`~oncall_tui.sim.grafana_am.fingerprint` of these)."""
    return {
        "__alert_rule_uid__": rule.uid,
        "__alert_rule_namespace_uid__": f"folder-{rule.folder.lower()}",
        "alertname": rule.title,
        "grafana_folder": rule.folder,
        **rule.labels,
        **rule.series_labels,
    }


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
                labels = grafana_alert_labels(rule)
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
