"""Fault injection over real sockets: timeouts, dropped connections and a refused port.

The simulators are served by uvicorn on loopback (``sim.server.run_in_thread``) so the
clients meet the network as it is: a server that never answers (the client's timeout must
fire), a connection closed halfway through a body, and a server that is merely slow.
The engine runs on a simulated clock; only the HTTP is real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.backends.http import RetryPolicy
from oncall_tui.config import GrafanaConfig, IncidentIoConfig, PollConfig, Settings, UserConfig
from oncall_tui.core.sources import Backends, build_backends, build_engine
from oncall_tui.core.sync import SyncEngine
from oncall_tui.domain import SourceHealth
from oncall_tui.sim.faults import FaultInjector, Faults
from oncall_tui.sim.grafana import Faults as GrafanaFaults
from oncall_tui.sim.grafana import GrafanaWorld
from oncall_tui.sim.grafana import create_app as create_grafana_app
from oncall_tui.sim.incidentio import create_app as create_incidentio_app
from oncall_tui.sim.scenario import build_world
from oncall_tui.sim.server import run_in_thread
from oncall_tui.sim.world import DEFAULT_ME_EMAIL

TOKEN = "network-faults-token"
IO = "incident.io"
EU = "grafana:eu"
TIMEOUT = 0.4  # the clients' timeout here; a hung server must not hold a poll longer
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Net:
    clock: Clock
    io_faults: Faults
    eu_http: GrafanaFaults
    eu_wire: Faults
    backends: Backends
    engine: SyncEngine
    io_url: str
    eu_url: str

    async def tick(self) -> None:
        await self.engine.poll_due()
        self.clock.now += timedelta(seconds=1)

    async def until(self, condition: Callable[[], bool], limit: int) -> float:
        start = self.clock()
        for _ in range(limit + 1):
            if condition():
                return (self.clock() - start).total_seconds()
            await self.tick()
        raise AssertionError(f"not reached within {limit} simulated seconds")

    def health(self, backend: str) -> SourceHealth:
        return next(h for h in self.engine.snapshot().health if h.name == backend)

    def healthy(self, backend: str) -> bool:
        h = self.health(backend)
        return h.error is None and h.last_ok is not None

    def interval(self, backend: str) -> float:
        return min(f.interval(self.engine.world) for f in self.engine.feeds if f.backend == backend)


@pytest.fixture
def servers() -> Iterator[tuple[Clock, Faults, GrafanaFaults, Faults, str, str]]:
    clock = Clock()
    world = build_world(clock, seed=7, background_alerts=10)
    io_faults = Faults(seed=1)
    io_url, stop_io = run_in_thread(create_incidentio_app(world, token=TOKEN, faults=io_faults))
    eu_http, eu_wire = GrafanaFaults(), Faults(seed=2)
    grafana = GrafanaWorld(clock, seed=8, instance="eu", grafana_url="http://grafana-eu.invalid")
    eu_app = FaultInjector(create_grafana_app(grafana, token=TOKEN, faults=eu_http), eu_wire)
    eu_url, stop_eu = run_in_thread(eu_app)
    try:
        yield clock, io_faults, eu_http, eu_wire, io_url, eu_url
    finally:
        # Hung handlers must not keep the servers up: release them before stopping.
        io_faults.clear()
        eu_wire.clear()
        eu_http.hang_seconds = 0.0
        stop_io()
        stop_eu()


@pytest.fixture
async def net(servers) -> Net:
    clock, io_faults, eu_http, eu_wire, io_url, eu_url = servers
    settings = Settings(
        user=UserConfig(email=DEFAULT_ME_EMAIL),
        incident_io=IncidentIoConfig(
            base_url=io_url,
            timeout=TIMEOUT,
            poll=PollConfig(pages=2, pages_when_paged=2, alerts=5, schedules=60, incidents=10),
        ),
        grafana={"eu": GrafanaConfig(url=eu_url, timeout=TIMEOUT)},
    )
    backends = build_backends(settings, tokens={"incident-io": TOKEN, EU: TOKEN})
    for client in (backends.incidentio, *backends.alertmanagers.values()):
        client.retry = RetryPolicy(attempts=2, base=0.001, cap=0.01, max_retry_after=0.0)
    engine = build_engine(backends, clock=clock)
    made = Net(clock, io_faults, eu_http, eu_wire, backends, engine, io_url, eu_url)
    await made.until(lambda: made.healthy(IO) and made.healthy(EU), limit=5)
    yield made
    await backends.aclose()


async def test_a_server_that_never_answers_times_out_and_is_shown(net: Net) -> None:
    pages = dict(net.engine.world.pages)
    eu_alerts = net.engine.world.alerts[EU]
    net.io_faults.update(hang_rate=1.0, hang_seconds=30)
    net.eu_http.hang_seconds = 30
    await net.until(lambda: net.health(IO).error and net.health(EU).error, limit=10)
    assert "timed out" in net.health(IO).error
    assert "timed out" in net.health(EU).error
    assert net.engine.world.pages == pages and net.engine.world.alerts[EU] == eu_alerts
    net.io_faults.clear()
    net.eu_http.hang_seconds = 0.0
    took = await net.until(lambda: net.healthy(IO) and net.healthy(EU), limit=20)
    assert took <= max(net.interval(IO), net.interval(EU)) + 1


async def test_a_connection_dropped_mid_body_is_a_network_error(net: Net) -> None:
    pages = dict(net.engine.world.pages)
    eu_alerts = net.engine.world.alerts[EU]
    net.io_faults.update(drop_rate=1.0)
    net.eu_wire.update(drop_rate=1.0)
    await net.until(lambda: net.health(IO).error and net.health(EU).error, limit=10)
    for backend in (IO, EU):
        assert "dropped" in net.health(backend).error, net.health(backend).error
    assert net.engine.world.pages == pages and net.engine.world.alerts[EU] == eu_alerts
    assert net.io_faults.injected.get("drop") and net.eu_wire.injected.get("drop")
    net.io_faults.clear()
    net.eu_wire.clear()
    took = await net.until(lambda: net.healthy(IO) and net.healthy(EU), limit=20)
    assert took <= max(net.interval(IO), net.interval(EU)) + 1


async def test_a_slow_but_answering_server_is_not_an_error(net: Net) -> None:
    """Latency under the timeout is not a fault: nothing is shown."""
    net.io_faults.update(latency=TIMEOUT / 4)
    for _ in range(6):
        await net.tick()
    assert net.healthy(IO)
    assert net.io_faults.injected == {}
