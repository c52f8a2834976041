"""History in the simulated worlds, for "fired before?".

* Grafana: ``GET /api/v1/rules/history`` and ``GET /api/annotations?type=alert``, from
  each rule's metric: the rule fires whenever its (noise-free) spike is above the
  threshold, so its past firings are those of the same repeating shape, computed exactly
  for any window. ``app.state.history_mode`` plays the Grafana setups: ``"loki"`` (state
  history in Loki: the ``time``/``line``/``labels`` frame), ``"annotations"`` (the
  annotation backend's ``time``/``text``/``prev``/``next``/``data`` frame), ``"off"``
  (history not recorded: a frame with no fields) and ``"missing"`` (a Grafana before
  10.0: 404). 404s and slow answers for tests come from the app's ``Faults``.
* incident.io: :func:`seed_alert_history` adds the demo alerts' earlier firings over the
  past week (resolved alerts with the same deduplication key), which ``GET /v2/alerts``
  with ``deduplication_key[is]`` then lists.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oncall_tui.sim.grafana_am import FLAVOUR_GRAFANA, fingerprint
from oncall_tui.sim.grafana_world import GrafanaWorld, SimRule
from oncall_tui.sim.ids import IdFactory

MODES = ("loki", "annotations", "off", "missing")
DEFAULT_LIMIT = 1000


def _smoothstep_at(level: float) -> float:
    """``x`` in [0, 1] where ``x²(3 − 2x)`` equals ``level`` (bisection)."""
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if mid * mid * (3 - 2 * mid) < level:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def firing_periods(
    world: GrafanaWorld, rule: SimRule, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """When ``rule`` fired (its clean metric above the threshold) within [start, end]."""
    spike = rule.spike
    if spike.amp <= 0:
        return []
    level = (rule.threshold - spike.base) / spike.amp
    if level >= 1:
        return []
    if level < 0:
        return [(start, end)]
    period = spike.period.total_seconds()
    rise, decay = spike.rise.total_seconds(), spike.decay.total_seconds()
    up = _smoothstep_at(level) * rise
    down = rise + _smoothstep_at(1 - level) * decay
    offset = spike.phase_at_start.total_seconds()

    def since(t: datetime) -> float:
        return (t - world.epoch).total_seconds()

    first = math.floor((since(start) + offset) / period) - 1
    last = math.ceil((since(end) + offset) / period)
    out = []
    for k in range(first, last + 1):
        cycle = world.epoch + timedelta(seconds=k * period - offset)
        a, b = cycle + timedelta(seconds=up), cycle + timedelta(seconds=down)
        if b > start and a < end:
            out.append((a, b))
    return out


def _instance_labels(rule: SimRule) -> dict[str, str]:
    """The labels Grafana records in state history (no private ``__…__`` ones)."""
    return {
        "alertname": rule.title,
        "grafana_folder": rule.folder,
        **rule.labels,
        **rule.series_labels,
    }


def transitions(
    world: GrafanaWorld, rule: SimRule, start: datetime, end: datetime
) -> list[tuple[datetime, str, str]]:
    """``(time, previous, current)`` for ``rule`` within [start, end], up to now."""
    end = min(end, world.clock())
    out = []
    for a, b in firing_periods(world, rule, start, end):
        if start <= a <= end:
            out.append((a, "Normal", "Alerting"))
        if start <= b <= end:
            out.append((b, "Alerting", "Normal"))
    return sorted(out, key=lambda t: t[0])


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _seconds(value: str | None, default: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC) if value else default
    except (ValueError, OverflowError, OSError):
        return default


def _limit(request: Request) -> int:
    try:
        return max(1, min(int(request.query_params.get("limit") or DEFAULT_LIMIT), 5000))
    except ValueError:
        return DEFAULT_LIMIT


def _text(rule: SimRule, current: str) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(_instance_labels(rule).items()))
    value = f"B={rule.threshold:g}" if current == "Alerting" else "B=0"
    return f"{rule.title} {{{labels}}} - {value}"


def state_history_frame(
    world: GrafanaWorld, uid: str, start: datetime, end: datetime, limit: int, mode: str
) -> dict[str, Any]:
    """The frame ``/api/v1/rules/history`` answers with, for ``mode``."""
    rule = world.rule(uid)
    changes = transitions(world, rule, start, end)[-limit:] if rule else []
    if mode == "off":
        return {"schema": {"name": "states", "fields": []}, "data": {"values": []}}
    times = [_ms(t) for t, _, _ in changes]
    if mode == "annotations":
        fields = ["time", "text", "prev", "next", "data"]
        values: list[list[Any]] = [
            times,
            [_text(rule, cur) for _, _, cur in changes] if rule else [],
            [prev for _, prev, _ in changes],
            [cur for _, _, cur in changes],
            ["{}" for _ in changes],
        ]
    else:
        labels = _instance_labels(rule) if rule else {}
        fields = ["time", "line", "labels"]
        values = [
            times,
            [
                {
                    "schemaVersion": 1,
                    "previous": prev,
                    "current": cur,
                    "values": {},
                    "condition": "C",
                    "dashboardUID": "",
                    "panelID": 0,
                    "fingerprint": fingerprint(labels),
                    "ruleTitle": rule.title if rule else "",
                    "ruleID": 1,
                    "ruleUID": uid,
                    "labels": labels,
                }
                for _, prev, cur in changes
            ],
            [{"from": "state-history", "orgID": "1", "folderUID": "sim"} for _ in changes],
        ]
    return {
        "schema": {
            "name": "states",
            "fields": [
                {"name": name, "type": "time" if name == "time" else "other"} for name in fields
            ],
        },
        "data": {"values": values},
    }


def alert_annotations(
    world: GrafanaWorld, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    """``/api/annotations?type=alert``: every Grafana rule's transitions, newest first."""
    items: list[dict[str, Any]] = []
    for n, rule in enumerate(r for r in world.rules if r.managed_by == FLAVOUR_GRAFANA):
        for when, prev, cur in transitions(world, rule, start, end):
            items.append(
                {
                    "id": len(items) + 1,
                    "alertId": n + 1,
                    "alertName": rule.title,
                    "dashboardUID": rule.annotations.get("__dashboardUid__", ""),
                    "panelId": int(rule.annotations.get("__panelId__", "0") or 0),
                    "prevState": prev,
                    "newState": cur,
                    "time": _ms(when),
                    "timeEnd": _ms(when),
                    "text": _text(rule, cur),
                    "tags": [],
                    "data": {},
                }
            )
    items.sort(key=lambda item: int(item["time"]), reverse=True)
    return items[:limit]


def routes(world: GrafanaWorld) -> list[Route]:
    """The two history routes of a simulated Grafana."""

    async def rules_history(request: Request) -> Response:
        mode = getattr(request.app.state, "history_mode", "loki")
        if mode == "missing":
            return JSONResponse({"message": "Not found"}, status_code=404)
        now = world.clock()
        q = request.query_params
        start = _seconds(q.get("from"), now - timedelta(hours=6))
        end = _seconds(q.get("to"), now)
        frame = state_history_frame(world, q.get("ruleUID", ""), start, end, _limit(request), mode)
        return JSONResponse(frame)

    async def list_annotations(request: Request) -> Response:
        now = world.clock()
        q = request.query_params
        if q.get("type", "alert") != "alert":
            return JSONResponse([])
        start = _seconds(str(float(q["from"]) / 1000) if q.get("from") else None, now)
        end = _seconds(str(float(q["to"]) / 1000) if q.get("to") else None, now)
        return JSONResponse(alert_annotations(world, start, end, _limit(request)))

    return [
        Route("/api/v1/rules/history", rules_history, methods=["GET"]),
        Route("/api/annotations", list_annotations, methods=["GET"]),
    ]


# ------------------------------------------------------------------ incident.io

# How often each demo alert fired in the days before the story starts.
DEMO_REPEATS = {
    "payments-api-5xx": 3,
    "payments-card-auth-latency": 2,
    "payments-ledger-consumer-lag": 5,
    "search-query-latency": 9,
    "platform-disk-db-replica-2": 1,
}


def seed_alert_history(world: Any, now: datetime, repeats: dict[str, int] | None = None) -> None:
    """Earlier firings of the demo's alerts: for each deduplication key, resolved alerts
    between one and seven days before ``now`` (so nothing new shows as recently
    resolved), at seeded times, each firing for 5 to 90 minutes. Call it before the
    story's own alerts fire (a key that is firing would be refreshed, not fired again)."""
    rng = random.Random(f"{world.seed}:fired-before")
    ids = world.ids
    # Ids from a generator of their own: the rest of the world gets the ids it always had.
    world.ids = IdFactory(rng.getrandbits(32))
    try:
        for key, count in (repeats or DEMO_REPEATS).items():
            for at in _times(rng, now, count):
                alert = world.fire_alert(
                    title=_title_for(key), dedup_key=key, at=at, severity="warning", page=False
                )
                ended = at + timedelta(minutes=rng.randint(5, 90))
                world.resolve_alert(alert.id, at=ended, record=False)
    finally:
        world.ids = ids


def _times(rng: random.Random, now: datetime, count: int) -> Iterable[datetime]:
    week = 6 * 24 * 3600
    offsets = sorted(rng.randint(24 * 3600 + 2 * 3600, week) for _ in range(count))
    return [now - timedelta(seconds=s) for s in reversed(offsets)]


def _title_for(key: str) -> str:
    team, _, rest = key.partition("-")
    return f"{team.capitalize()}: {rest.replace('-', ' ')}"
