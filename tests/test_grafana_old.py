"""Grafana before 11.1: no ``GET /api/ruler/grafana/api/v1/rule/{uid}``.

The simulated Grafana plays an old one (its version below 11.1 404s the single-rule
route); the client then finds the rule in the ruler's namespace listing, so Grafana
alerts still get their sparkline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.backends.grafana import AlertmanagerClient, GrafanaClient, sparkline_for
from oncall_tui.backends.http import NotFound, RetryPolicy
from oncall_tui.core.trend import FALLING, summarize
from oncall_tui.sim.grafana import GrafanaWorld, create_app

TOKEN = "glsa_secret_token_value"
FAST = RetryPolicy(base=0.001, cap=0.01)
GRAFANA = "http://127.0.0.1:3000"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


def _grafana(version: tuple[int, int]):
    world = GrafanaWorld(lambda: NOW, seed=7)
    world.version = version
    return Counting(httpx.ASGITransport(create_app(world, token=TOKEN)))


@pytest.mark.parametrize("version", [(11, 0), (10, 4), (12, 1)])
async def test_the_rule_is_found_on_old_and_new_grafana_alike(version):
    transport = _grafana(version)
    async with GrafanaClient("us", GRAFANA, TOKEN, transport=transport, retry=FAST) as grafana:
        first = await grafana.rule("checkout-latency")
        second = await grafana.rule("api-errors")
        with pytest.raises(NotFound):
            await grafana.rule("no-such-rule")
    assert first is not None and first.expr.startswith("histogram_quantile(0.99")
    assert first.title == "CheckoutLatencyHigh"
    assert second is not None
    listings = transport.paths.count("/api/ruler/grafana/api/v1/rules")
    if version < (11, 1):
        # one 404 of the single-rule route, then the listing, read once and reused
        assert transport.paths.count("/api/ruler/grafana/api/v1/rule/checkout-latency") == 1
        assert "/api/ruler/grafana/api/v1/rule/api-errors" not in transport.paths
        assert listings == 1
    else:
        assert listings == 1  # only for the rule that is not there


async def test_an_old_grafana_alert_still_gets_its_sparkline():
    transport = _grafana((11, 0))
    am = AlertmanagerClient("grafana", "us", GRAFANA, TOKEN, transport=transport, retry=FAST)
    grafana = GrafanaClient("us", GRAFANA, TOKEN, transport=transport, retry=FAST)
    async with am, grafana:
        alerts = await am.list_alerts(now=NOW)
        checkout = next(a for a in alerts if a.rule_uid == "checkout-latency")
        series = await sparkline_for(
            checkout, grafana=grafana, prometheus=None, now=NOW, window=timedelta(hours=1)
        )
    assert series is not None and len(series.points) == 61
    assert summarize(series).direction == FALLING
