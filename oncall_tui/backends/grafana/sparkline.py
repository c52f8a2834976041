"""The metric to draw beside an alert: whichever client can draw it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from oncall_tui.backends import thresholds
from oncall_tui.backends.grafana.query import (
    GrafanaClient,
    PrometheusClient,
)
from oncall_tui.domain import (
    LINK_RULE,
    Alert,
    Series,
)

# ------------------------------------------------------------------- sparkline


async def sparkline_for(
    alert: Alert,
    *,
    grafana: GrafanaClient | None,
    prometheus: PrometheusClient | None,
    now: datetime,
    window: timedelta = timedelta(hours=1),
    points: int = 60,
) -> Series | None:
    """The alert's metric over ``window`` up to ``now``, or ``None`` if nothing can draw it.

    Grafana-managed alerts use their rule's first data query through ``grafana``; alerts
    from Prometheus use the expression from their ``generatorURL`` through
    ``prometheus``. Fetch failures raise :class:`~oncall_tui.backends.http.ApiError`.
    """
    points = max(2, min(points, 2000))
    step = max(1.0, window.total_seconds() / points)
    start = now - window
    match = dict(alert.labels)
    if alert.rule_uid and grafana is not None:
        rule = await grafana.rule(alert.rule_uid)
        if rule is None:
            return None
        series = await grafana.query_range(
            rule.datasource_uid,
            rule.expr,
            start,
            now,
            step,
            model=rule.model,
            match=match,
            max_points=points,
        )
        return replace(series, start=start, end=now, threshold=rule.threshold)
    if alert.expression and prometheus is not None:
        series = await prometheus.query_range(alert.expression, start, now, step, match=match)
        rule_link = thresholds.from_generator_url(alert.link(LINK_RULE).url)
        return replace(series, start=start, end=now, threshold=rule_link)
    return None
