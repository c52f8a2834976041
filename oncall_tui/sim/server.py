"""Run the simulated incident.io API over real HTTP (uvicorn), for drills and e2e tests.

:func:`serve` is what ``oncall-tui sim serve`` runs: it builds a world, prints the URL,
the alert source's curl line and a config snippet, and serves until interrupted.
:func:`run_in_thread` serves any ASGI app on a free loopback port in a background
thread, for tests that need a real socket (timeouts, dropped connections).

The simulator listens on loopback only unless ``allow_remote=True``: its token is a
well-known demo value and its control endpoints can rewrite the world.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

import uvicorn

from oncall_tui.sim.faults import Faults
from oncall_tui.sim.incidentio import DEFAULT_TOKEN, create_app
from oncall_tui.sim.scenario import SimClock, build_world
from oncall_tui.sim.world import DEFAULT_ME_EMAIL, IncidentIoWorld


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_snippet(base_url: str, token: str, me_email: str) -> str:
    """TOML pointing the dashboard at a running simulator (the token goes in the env)."""
    return (
        "# oncall-tui config for the simulator; the token goes in the environment:\n"
        f"#   export ONCALL_TUI_INCIDENT_IO__API_KEY={token}\n"
        "[user]\n"
        f'email = "{me_email}"\n'
        "\n"
        "[incident_io]\n"
        f'base_url = "{base_url}"\n'
        "# Declining a page is done on behalf of a person: the dashboard acts as me.\n"
        "act_as_user = true\n"
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def run_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False
) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` in a daemon thread. Returns ``(base_url, stop)``; ``stop()`` waits
    for the server to shut down."""
    if not is_loopback(host) and not allow_remote:
        raise ValueError(f"refusing to listen on non-loopback host {host!r}")
    sock = _bind(host, port)
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sim-http", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the simulator server did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return _url(host, sock), stop


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str = DEFAULT_TOKEN,
    speed: float = 1.0,
    seed: int = 7,
    me_email: str = DEFAULT_ME_EMAIL,
    rate_limit_per_min: int = 1200,
    faults: Faults | None = None,
    allow_remote: bool = False,
    world: IncidentIoWorld | None = None,
    out: TextIO | None = None,
    entry_layer_ids: bool = False,
) -> None:
    """Serve the simulated incident.io API until interrupted (Ctrl-C).

    The world's clock is a :class:`SimClock`, so ``POST /_sim/clock`` can skip ahead.
    """
    out = out or sys.stdout
    if not is_loopback(host) and not allow_remote:
        raise ValueError(
            f"refusing to listen on {host!r}: the simulator is for loopback use; "
            "pass allow_remote=True if you really mean it"
        )
    world = world or build_world(
        SimClock(), seed=seed, me_email=me_email, speed=speed, entry_layer_ids=entry_layer_ids
    )
    app = create_app(world, token=token, rate_limit_per_min=rate_limit_per_min, faults=faults)
    sock = _bind(host, port)
    url = _url(host, sock)
    source = world.http_source
    print(f"Simulated incident.io API on {url}  (token: {token})", file=out)
    print(f"Me: {world.me.name} <{world.me.email}>  id {world.me.id}", file=out)
    print("Send an alert:", file=out)
    print(
        f"  curl -X POST '{url}/v2/alert_events/http/{source.id}?token={source.secret_token}' "
        '-H \'Content-Type: application/json\' -d \'{"title": "Disk full on db-1", '
        '"status": "firing", "deduplication_key": "disk-db-1", '
        '"metadata": {"team": "payments", "severity": "critical"}}\'',
        file=out,
    )
    print(f"Control: {url}/_sim/state  /_sim/writes  /_sim/faults  /_sim/clock", file=out)
    print("", file=out)
    print(config_snippet(url, token, world.me.email), file=out, flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
