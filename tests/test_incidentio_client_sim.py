"""The incident.io client against the simulator: in process (ASGI) and over real HTTP.

Every request the client sends to the simulator is also checked against the official
spec (or, for newer endpoints, the official SDK models), so the client and the simulator
cannot drift apart together.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import incidentio_payloads as P
import pytest

from oncall_tui.backends.http import RequestStats, RetryPolicy
from oncall_tui.backends.incidentio import CAP_TIMELINE_ITEMS, IncidentIoClient
from oncall_tui.domain import NOBODY
from oncall_tui.sim import incidentio as sim
from oncall_tui.sim import scenario

TOKEN = "sim-token"
NOW = datetime(2026, 9, 2, 10, 30, tzinfo=UTC)  # a Wednesday
ME = "me@example.com"


class Recording(httpx.AsyncBaseTransport):
    """Wraps a transport and keeps every request and answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.log: list[tuple[httpx.Request, int, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.log.append((request, response.status_code, body))
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def build():
    world = scenario.build_world(lambda: NOW, seed=11, background_alerts=20)
    return world, sim.create_app(world, token=TOKEN)


def check_requests(log) -> None:
    for request, _status, _body in log:
        params = list(request.url.params.multi_items())
        body = json.loads(request.content) if request.content else None
        rec = P.Recorded(request.method, request.url.path, params, body, request.headers)
        P.validate_request(rec)


async def test_client_against_the_simulator_in_process():
    _world, app = build()
    transport = Recording(httpx.ASGITransport(app=app))
    async with IncidentIoClient(
        "https://api.incident.io",
        TOKEN,
        transport=transport,
        retry=RetryPolicy(base=0.001, cap=0.01),
        stats=RequestStats(),
    ) as c:
        caps = await c.probe_capabilities()
        assert CAP_TIMELINE_ITEMS in c.known_available
        assert caps["escalate"].usable

        me = await c.find_user_by_email(ME)
        assert me is not None and me.email == ME

        schedules = await c.list_schedules()
        names = {s.name for s in schedules}
        assert "Global on-call" in names and "Escalators" in names
        global_ = next(s for s in schedules if s.name == "Global on-call")
        assert global_.next_shifts, "page_size 25 keeps next_shifts"
        detailed = await c.get_schedule(global_.id)
        layers = {layer.name for r in detailed.rotations for layer in r.layers} | {
            r.name for r in detailed.rotations
        }
        assert any("Europe" in name for name in layers)

        start = NOW.replace(hour=0, minute=0)
        week = await c.schedule_entries(global_.id, start, start + timedelta(days=7))
        assert week.final and week.scheduled
        hole = start.replace(hour=23, minute=30)  # the weekday 23-24 UTC gap
        assert not any(s.covers(hole) and not s.uncovered for s in week.final)

        # mark a layer uncovered with NOBODY, see it in final, then remove it twice
        shift = next(s for s in week.final if s.covers(NOW) and not s.uncovered)
        created = await c.create_override(
            global_.id, shift.rotation_id, shift.layer_id, NOW, NOW + timedelta(hours=1), NOBODY
        )
        after = await c.schedule_entries(global_.id, NOW, NOW + timedelta(hours=1))
        mine = [s for s in after.final if s.layer_id == shift.layer_id and s.covers(NOW)]
        assert mine and all(s.uncovered for s in mine)
        assert any(o.id == created.id for o in await c.list_overrides(global_.id))
        await c.delete_override(created.id)
        await c.delete_override(created.id)

        paths = await c.list_escalation_paths()
        assert paths
        path = await c.get_escalation_path(paths[0].id)
        assert path.levels and path.levels[0].targets

        await c.list_alerts()
        page = await c.create_escalation("Shadow me", user_ids=[me.id], idempotency_key="sim-esc-1")
        again = await c.create_escalation(
            "Shadow me", user_ids=[me.id], idempotency_key="sim-esc-1"
        )
        assert again.id == page.id
        await c.respond_escalation(page.id, "ack")
        assert (await c.get_escalation(page.id)).status == "acked"

        severities = await c.severities()
        incident = await c.create_incident(
            "Checkout down",
            severity_id=severities[-1].id,
            lead_user_id=me.id,
            idempotency_key="sim-inc-1",
        )
        assert incident.lead is not None and incident.lead.id == me.id
        assert (await c.get_incident(incident.reference)).id == incident.id
        await c.create_timeline_item(
            incident.id, title="Rolled back", timestamp=NOW, idempotency_key="sim-tl-1"
        )
        items = await c.list_timeline_items(incident.id)
        assert [i.title for i in items][-1] == "Rolled back"
        await c.create_incident_update(incident.id, message="Fix out", idempotency_key="sim-up-1")
        updates = await c.list_incident_updates(incident.id)
        assert any(u.message == "Fix out" for u in updates)
        assert any(i.id == incident.id for i in await c.list_incidents())
    check_requests(transport.log)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served():
    import uvicorn

    world, app = build()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", world
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_client_against_the_simulator_over_http(served):
    base_url, _world = served
    async with IncidentIoClient(
        base_url, TOKEN, retry=RetryPolicy(base=0.001, cap=0.01), stats=RequestStats()
    ) as c:
        identity = await c.identity()
        assert identity.roles
        schedules, alerts = await asyncio.gather(c.list_schedules(), c.list_alerts())
        assert schedules
        assert all(a.source == "incident.io" for a in alerts)
    async with IncidentIoClient(
        base_url, "wrong-token", retry=RetryPolicy(attempts=1), stats=RequestStats()
    ) as bad:
        with pytest.raises(Exception, match="refused the API key"):
            await bad.list_alerts()
