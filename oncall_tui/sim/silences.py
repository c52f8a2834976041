"""The demo world's silences: what an on-call engineer finds on a real Grafana.

A planned maintenance window that starts later (regex and negative matchers, made in
Grafana's UI), a long-running silence on an alert that is not firing, and one made with
this tool. None of them is active on an alert that fires, so the dashboard's rows are the
same with or without them; the silences screen (``s``) shows them all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from oncall_tui import __version__

if TYPE_CHECKING:
    from oncall_tui.sim.grafana_am import SimAlertmanager


class ServerDate:
    """ASGI middleware: every answer carries a ``Date`` header from the simulated
    server's own clock, as a real Alertmanager's and Grafana's do (tests give a server a
    clock that is off, to play clock skew)."""

    def __init__(self, app: Any, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Any) -> None:
            if message.get("type") == "http.response.start":
                date = format_datetime(self.clock().astimezone(UTC), usegmt=True)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date.encode())]}
            await send(message)

        await self.app(scope, receive, dated)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _matcher(name: str, value: str, *, regex: bool = False, equal: bool = True) -> dict[str, Any]:
    return {"name": name, "value": value, "isRegex": regex, "isEqual": equal}


def _add(
    am: SimAlertmanager,
    matchers: list[dict[str, Any]],
    starts: datetime,
    ends: datetime,
    created_by: str,
    comment: str,
) -> str:
    status, body = am.create_silence(
        {
            "matchers": matchers,
            "startsAt": _iso(starts),
            "endsAt": _iso(ends),
            "createdBy": created_by,
            "comment": comment,
        }
    )
    assert status in (200, 202), body
    silence_id = str(body["silenceID"])
    # create_silence moves a past start to now; a demo silence may have started earlier.
    am.silences[silence_id].starts_at = min(am.silences[silence_id].starts_at, starts)
    return silence_id


def seed_demo_silences(grafana_am: SimAlertmanager, plain_am: SimAlertmanager) -> None:
    now = grafana_am.clock()
    _add(
        grafana_am,
        [
            _matcher("alertname", "Checkout.*", regex=True),
            _matcher("env", "staging", equal=False),
        ],
        now + timedelta(minutes=45),
        now + timedelta(minutes=105),
        "Priya Natarajan",
        "Checkout deploy window: planned pod restarts (CHG-2291)",
    )
    _add(
        grafana_am,
        [_matcher("alertname", "NightlyBackupSlow")],
        now - timedelta(days=3),
        now + timedelta(days=4),
        "Sam Okafor",
        "Backup job rewrite in progress, see OPS-812",
    )
    _add(
        plain_am,
        [_matcher("alertname", "CanaryProbeFlapping"), _matcher("service", "edge-canary")],
        now - timedelta(minutes=20),
        now + timedelta(minutes=40),
        "Robin Ahn",
        f"Acknowledged by Robin Ahn with oncall-tui {__version__}",
    )
    _add(
        plain_am,
        [
            _matcher("alertname", "KubePodCrashLooping"),
            _matcher("namespace", "kube-.*", regex=True, equal=False),
        ],
        now - timedelta(hours=2),
        now + timedelta(hours=6),
        "alertmanager-ui",
        "Noisy while the node pool is replaced",
    )


def silence_for(
    am: SimAlertmanager,
    alertname: str,
    *,
    ends_in: timedelta,
    started_ago: timedelta = timedelta(0),
    created_by: str = "Ana",
    comment: str = "c",
) -> str:
    """One silence on ``alertname`` by ``am``'s own clock (for tests and drills)."""
    now = am.clock()
    matchers = [_matcher("alertname", alertname)]
    return _add(am, matchers, now - started_ago, now + ends_in, created_by, comment)
