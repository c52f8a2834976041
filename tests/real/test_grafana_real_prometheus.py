"""A real Prometheus rule firing from backfilled history, seen through our clients.

Prometheus evaluates ``demo_latency_seconds{service="checkout"} > 0.5`` every second
over an hour of backfilled samples (a spike to 1.2 that has come down to 0.6) and sends
the alert to the real Alertmanager. The Alertmanager client must find it and build its
links; the expression from its ``generatorURL`` must give back the whole series,
threshold stripped, with the spike and its way down.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.backends.grafana import (
    KIND_ALERTMANAGER,
    AlertmanagerClient,
    PrometheusClient,
    sparkline_for,
)
from oncall_tui.backends.http import InvalidRequest, RetryPolicy
from oncall_tui.core.trend import FALLING, summarize
from oncall_tui.domain import ALERT_FIRING, LINK_DASHBOARD, LINK_RULE, LINK_RUNBOOK, LINK_SILENCE

pytestmark = pytest.mark.real

FAST = RetryPolicy(base=0.001, cap=0.01, attempts=2)
EXPR = 'demo_latency_seconds{service="checkout"}'


async def wait_for_alert(client: AlertmanagerClient, timeout: float = 25.0):
    """Prometheus publishes its Alertmanager list every 5 s: poll, do not sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        alerts = await client.list_alerts(filters=['alertname="DemoLatencyHigh"'])
        if alerts and alerts[0].state == ALERT_FIRING:
            return alerts[0]
        await asyncio.sleep(0.25)
    raise AssertionError("DemoLatencyHigh never reached the Alertmanager")


async def test_rule_fires_from_backfill_and_the_sparkline_shows_the_spike(
    real_prometheus, real_alertmanager, backfill
):
    am = AlertmanagerClient(
        "alertmanager", "real", real_alertmanager.url, kind=KIND_ALERTMANAGER, retry=FAST
    )
    prometheus = PrometheusClient(real_prometheus.url, retry=FAST)
    try:
        alert = await wait_for_alert(am)
        assert alert.severity == "critical"
        assert alert.label("team") == "payments"
        assert alert.title == "Checkout latency is 600ms"  # humanize of 0.6
        assert alert.link(LINK_RUNBOOK).url == "https://runbooks.example.com/checkout-latency"
        rule = alert.link(LINK_RULE).url
        assert rule.startswith(f"{real_prometheus.url}/graph?g0.expr=")
        assert alert.link(LINK_SILENCE).url.startswith(f"{real_alertmanager.url}/#/silences/new?")
        # No Grafana dashboard annotations on a plain Prometheus rule: reported missing.
        assert alert.link(LINK_DASHBOARD).problem == "missing"
        assert alert.expression == EXPR
        assert alert.rule_uid is None

        now = datetime.now(UTC)
        series = await sparkline_for(
            alert, grafana=None, prometheus=prometheus, now=now, window=timedelta(hours=1)
        )
        assert series is not None
        values = [v for _, v in series.points]
        assert len(values) >= 55  # one point a minute over the backfilled hour
        assert min(values) == pytest.approx(backfill.baseline, abs=0.01)
        assert max(values) == pytest.approx(backfill.peak, abs=0.05)
        assert values[-1] == pytest.approx(backfill.latest, abs=0.05)
        peak_at = values.index(max(values))
        assert 0 < peak_at < len(values) - 5  # the spike is in the middle, then comes down
        assert all(t.tzinfo is not None for t, _ in series.points)

        trend = summarize(series)
        assert trend.direction == FALLING
        assert trend.words == "falling, 50% below peak"
    finally:
        await am.aclose()
        await prometheus.aclose()


async def test_query_errors_are_readable(real_prometheus):
    prometheus = PrometheusClient(real_prometheus.url, retry=FAST)
    now = datetime.now(UTC)
    try:
        with pytest.raises(InvalidRequest) as err:
            await prometheus.query_range("rate(foo[5m]", now - timedelta(hours=1), now, 60)
        assert "parse error" in str(err.value)
        with pytest.raises(InvalidRequest) as err:
            await prometheus.query_range(EXPR, now - timedelta(days=30), now, 1)
        assert "points" in str(err.value)  # refused before sending
        empty = await prometheus.query_range(
            'no_such_metric{x="y"}', now - timedelta(hours=1), now, 60
        )
        assert empty.points == ()
    finally:
        await prometheus.aclose()
