"""The simulator over a real loopback socket: what only real HTTP shows (a connection
dropped mid-body, a hang that a client timeout must cut), and the loopback guard."""

from __future__ import annotations

import io
import tomllib
from datetime import UTC, datetime

import httpx
import pytest

from oncall_tui.sim.faults import Faults
from oncall_tui.sim.incidentio import create_app
from oncall_tui.sim.scenario import SimClock, build_world
from oncall_tui.sim.server import config_snippet, is_loopback, run_in_thread, serve

TOKEN = "srv-token"


@pytest.fixture
def served():
    world = build_world(SimClock(datetime(2026, 9, 2, 10, 30, tzinfo=UTC), frozen=True))
    faults = Faults(seed=2)
    url, stop = run_in_thread(create_app(world, token=TOKEN, faults=faults))
    try:
        yield url, world, faults
    finally:
        stop()


def test_real_http_round_trip_and_faults(served):
    url, world, faults = served
    assert url.startswith("http://127.0.0.1:")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=5) as c:
        me = c.get("/v2/users", params={"email": "me@example.com"}).json()["users"]
        assert [u["id"] for u in me] == [world.me.id]

        faults.update(drop_rate=1)
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/v2/schedules")
        faults.clear()

        faults.update(hang_rate=1, hang_seconds=2)
        with pytest.raises(httpx.ReadTimeout):
            c.get("/v1/identity", timeout=0.3)
        faults.clear()
        assert c.get("/v1/identity").status_code == 200


def test_non_loopback_hosts_are_refused():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
    with pytest.raises(ValueError, match="non-loopback"):
        run_in_thread(object(), host="0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        serve(host="0.0.0.0", out=io.StringIO())


def test_config_snippet_is_toml_without_the_token():
    text = config_snippet("http://127.0.0.1:8123", "secret-demo", "me@example.com")
    data = tomllib.loads(text)
    assert data == {
        "user": {"email": "me@example.com"},
        "incident_io": {"base_url": "http://127.0.0.1:8123", "act_as_user": True},
    }
    assert "ONCALL_TUI_INCIDENT_IO__API_KEY=secret-demo" in text  # only as a comment
