"""Fetch the metric behind an alert, or say in words why there is none.

:func:`fetch_metric` is what the detail's sparkline and the wider chart (``G``) call: the
series over ``window``, or a reason a person can act on ("metric not available:
grafana:us: timed out"; "no metric: no Grafana alert matches this page"). It never
raises, so a slow, missing or broken metric query can only ever show as text.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from oncall_tui.backends.http import ApiError
from oncall_tui.core.sources import Backends
from oncall_tui.domain import SOURCE_INCIDENT_IO, Alert, Series

HOUR = timedelta(hours=1)
POINTS = {HOUR: 120, timedelta(hours=6): 360}

__all__ = ["fetch_metric", "why_no_metric"]


def why_no_metric(alert: Alert | None, backends: Backends) -> str:
    """Why ``alert`` has no metric to draw (before asking any source)."""
    if alert is None:
        return "no metric: no Grafana or Alertmanager alert behind this row"
    if alert.source == SOURCE_INCIDENT_IO:
        return "no metric: incident.io alerts carry none, and no Grafana alert matches this one"
    key = f"{alert.source}:{alert.instance}"
    if alert.rule_uid:
        if key not in backends.grafanas:
            return f"no metric: {alert.source_label} is not a configured Grafana to query"
        return ""
    if alert.expression:
        if key not in backends.prometheus:
            return f"no metric: no Prometheus URL is configured for {alert.source_label}"
        return ""
    return "no metric: the alert names no rule or expression to query"


async def fetch_metric(
    alert: Alert | None, backends: Backends, now: datetime, window: timedelta = HOUR
) -> Series | str:
    """The alert's metric over ``window`` up to ``now``, or the reason there is none."""
    reason = why_no_metric(alert, backends)
    if reason or alert is None:
        return reason
    try:
        series = await backends.sparkline(alert, now, window=window, points=POINTS.get(window, 120))
    except ApiError as exc:
        return f"metric not available: {exc}"
    except Exception as exc:  # a bug must not take the detail pane down with it
        return f"metric not available: {type(exc).__name__}"
    if series is None:
        return "no metric: the alert's rule queries no data source this tool can read"
    return series
