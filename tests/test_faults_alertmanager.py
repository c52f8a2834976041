"""A real Alertmanager stopped and restarted under the dashboard's engine.

Debian's ``prometheus-alertmanager`` runs on a free loopback port with its own storage;
the engine (simulated clock, real HTTP) polls it, then the process is stopped: the port
refuses connections, the engine records the error and keeps the alerts it last saw.
Alertmanager is started again on the same port and storage, the alert is sent again (as
Prometheus would resend it), and the engine is back within one poll interval, with the
silence made before the restart still applied (Alertmanager keeps silences on disk).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from oncall_tui.backends.http import RetryPolicy
from oncall_tui.config import AlertmanagerConfig, IncidentIoConfig, PollConfig, Settings
from oncall_tui.core.sources import build_backends, build_feeds
from oncall_tui.core.sync import SyncEngine, staleness

pytestmark = pytest.mark.real

KEY = "alertmanager:real"
INTERVAL = 5.0
CONFIG = """\
route:
  receiver: "null"
  group_by: ["alertname"]
receivers:
  - name: "null"
"""


def _binary() -> str | None:
    override = os.environ.get("ALERTMANAGER_BIN")
    if override:
        return override if Path(override).is_file() else None
    for name in ("prometheus-alertmanager", "alertmanager"):
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
        )
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealAlertmanager:
    """One Alertmanager process we start, stop and start again, by pid."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (root / "alertmanager.yml").write_text(CONFIG)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.root / "alertmanager.log").open("ab")
        try:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.root / 'alertmanager.yml'}",
                    f"--storage.path={self.root / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    f"--web.external-url={self.url}",
                    "--cluster.listen-address=",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertmanager exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"alertmanager not ready:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log_tail(self) -> str:
        try:
            return (self.root / "alertmanager.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def fire(self, name: str) -> None:
        now = datetime.now(UTC)
        alert = {
            "labels": {"alertname": name, "severity": "critical", "team": "storage"},
            "annotations": {
                "summary": f"{name} on db-1",
                "runbook_url": "https://runbooks.example.com/storage/disk",
            },
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=6)).isoformat(),
            "generatorURL": "http://prometheus.example.com/graph",
        }
        httpx.post(f"{self.url}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()

    def silence(self, name: str) -> str:
        now = datetime.now(UTC)
        body = {
            "matchers": [{"name": "alertname", "value": name, "isRegex": False, "isEqual": True}],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=2)).isoformat(),
            "createdBy": "fault-test",
            "comment": "silenced before the restart",
        }
        answer = httpx.post(f"{self.url}/api/v2/silences", json=body, timeout=5)
        answer.raise_for_status()
        return answer.json()["silenceID"]


@pytest.fixture
def alertmanager(tmp_path) -> Iterator[RealAlertmanager]:
    binary = _binary()
    if binary is None:
        pytest.skip("Alertmanager binary not found; apt-get install prometheus-alertmanager")
    am = RealAlertmanager(binary, tmp_path)
    am.start()
    try:
        yield am
    finally:
        am.stop()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def _until(
    engine: SyncEngine, clock: Clock, condition: Callable[[], bool], limit: int, pause: float = 0
) -> float:
    start = clock()
    for _ in range(limit + 1):
        if condition():
            return (clock() - start).total_seconds()
        await engine.poll_due()
        clock.now += timedelta(seconds=1)
        if pause:
            time.sleep(pause)  # let the real server's group/inhibit timers run
    raise AssertionError(f"not reached within {limit} simulated seconds")


async def test_alertmanager_stopped_and_restarted(alertmanager: RealAlertmanager) -> None:
    settings = Settings(
        incident_io=IncidentIoConfig(poll=PollConfig(alerts=INTERVAL)),
        alertmanager={"real": AlertmanagerConfig(url=alertmanager.url, timeout=2)},
    )
    backends = build_backends(settings, tokens={"incident-io": "unused", KEY: ""})
    client = backends.alertmanagers[KEY]
    client.retry = RetryPolicy(attempts=2, base=0.001, cap=0.01)
    clock = Clock()
    # Only the Alertmanager feed: nothing here talks to incident.io.
    engine = SyncEngine(
        [f for f in build_feeds(backends, clock=clock) if f.backend == KEY], clock=clock
    )

    def health():
        return next(h for h in engine.snapshot().health if h.name == KEY)

    def alerts():
        return engine.world.alerts.get(KEY, ())

    try:
        alertmanager.fire("DiskAlmostFull")
        silence_id = alertmanager.silence("DiskAlmostFull")
        await _until(
            engine,
            clock,
            lambda: any(a.title and a.silenced_by for a in alerts()),
            limit=30,
            pause=0.1,
        )
        seen = alerts()
        assert silence_id in seen[0].silenced_by

        alertmanager.stop()
        stopped_at = clock()
        await _until(engine, clock, lambda: health().error is not None, limit=int(INTERVAL) + 1)
        for _ in range(60):  # a minute of simulated polling against a closed port
            await engine.poll_due()
            clock.now += timedelta(seconds=1)
        h = health()
        assert "cannot reach" in h.error, h.error
        assert h.failures >= 2
        assert h.last_ok is not None and h.last_ok <= stopped_at
        assert staleness(h, clock(), INTERVAL) == "stale"
        assert alerts() == seen  # what it last knew is kept

        alertmanager.start()
        alertmanager.fire("DiskAlmostFull")  # Prometheus resends firing alerts
        back_at = clock()
        took = await _until(engine, clock, lambda: health().error is None, limit=30)
        assert took <= INTERVAL + 1
        assert health().last_ok >= back_at
        await _until(engine, clock, lambda: bool(alerts()), limit=30, pause=0.1)
        # The silence survived the restart (on disk) and still covers the alert.
        await _until(
            engine,
            clock,
            lambda: any(silence_id in a.silenced_by for a in alerts()),
            limit=30,
            pause=0.1,
        )
    finally:
        await backends.aclose()
