"""Real Prometheus and Alertmanager on loopback, for the Grafana/Alertmanager client tests.

Both start once per session on free 127.0.0.1 ports with temporary config and data
directories, and are stopped by pid at the end (also when a test fails). Prometheus
gets an hour of backfilled history (promtool) for ``demo_latency_seconds``: a baseline,
a spike, and a decline that is still above the alert threshold, so the rule fires at
once from backfilled data and ``query_range`` shows a spike coming back down.

Binaries: Debian's ``prometheus`` and ``prometheus-alertmanager`` packages
(``/usr/bin/prometheus``, ``/usr/bin/promtool``, ``/usr/bin/prometheus-alertmanager``);
upstream's ``alertmanager`` name is accepted too, and ``PROMETHEUS_BIN``,
``PROMTOOL_BIN``, ``ALERTMANAGER_BIN`` override the search. Tests that need a binary
that is missing are skipped with the reason.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT = 15.0
INSTALL_HINT = "apt-get install -y prometheus prometheus-alertmanager"

# The backfilled metric, one sample every 15 s over the last hour (minutes before now).
BASELINE = 0.2
PEAK = 1.2
LATEST = 0.6  # still above THRESHOLD: the rule fires from the backfilled samples
THRESHOLD = 0.5


def backfill_value(minutes_ago: float) -> float:
    """0.2 until 40 min ago, up to 1.2 at 30 min ago, then down to 0.6 by now."""
    if minutes_ago > 40:
        return BASELINE
    if minutes_ago > 30:
        return BASELINE + (PEAK - BASELINE) * (40 - minutes_ago) / 10
    return LATEST + (PEAK - LATEST) * minutes_ago / 30


def find_binary(env: str, *names: str) -> str | None:
    override = os.environ.get(env)
    if override:
        return override if Path(override).is_file() else None
    for name in names:
        path = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
        )
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RealProcess:
    name: str
    url: str
    process: subprocess.Popen
    log: Path
    backfilled_until: datetime | None = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test run itself is killed (no leftovers)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start(name: str, args: list[str], url: str, log: Path) -> RealProcess:
    handle = log.open("wb")
    try:
        process = subprocess.Popen(
            args,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    finally:
        handle.close()
    proc = RealProcess(name, url, process, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{proc.log_tail()}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    _stop(proc)
    raise RuntimeError(f"{name} was not ready within {STARTUP_TIMEOUT:.0f}s:\n{proc.log_tail()}")


def _stop(proc: RealProcess) -> None:
    """Stop one process we started, by its pid."""
    if proc.process.poll() is None:
        proc.process.terminate()
        try:
            proc.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.process.kill()
            proc.process.wait(timeout=5)


@dataclass(frozen=True)
class Backfill:
    baseline: float = BASELINE
    peak: float = PEAK
    latest: float = LATEST
    threshold: float = THRESHOLD


@pytest.fixture(scope="session")
def backfill() -> Backfill:
    """The shape of the backfilled ``demo_latency_seconds`` series."""
    return Backfill()


def _alertmanager(tmp_path_factory, name: str) -> RealProcess:
    binary = find_binary("ALERTMANAGER_BIN", "prometheus-alertmanager", "alertmanager")
    if binary is None:
        pytest.skip(f"Alertmanager binary not found; install it with: {INSTALL_HINT}")
    root = tmp_path_factory.mktemp(name)
    config = root / "alertmanager.yml"
    config.write_text(
        "route:\n"
        '  receiver: "null"\n'
        '  group_by: ["alertname"]\n'
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        '  - name: "null"\n'
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return _start(
        name,
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url={url}",
            "--cluster.listen-address=",  # no gossip port on 0.0.0.0
        ],
        url,
        root / "alertmanager.log",
    )


@pytest.fixture(scope="session")
def real_alertmanager(tmp_path_factory) -> Iterator[RealProcess]:
    proc = _alertmanager(tmp_path_factory, "alertmanager")
    try:
        yield proc
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def second_alertmanager(tmp_path_factory) -> Iterator[RealProcess]:
    """Another real Alertmanager, on its own port and storage (not clustered with the
    first): two instances carrying the same alert, as two regions or two Grafanas do."""
    proc = _alertmanager(tmp_path_factory, "alertmanager-2")
    try:
        yield proc
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def real_prometheus(tmp_path_factory, real_alertmanager: RealProcess) -> Iterator[RealProcess]:
    binary = find_binary("PROMETHEUS_BIN", "prometheus")
    promtool = find_binary("PROMTOOL_BIN", "promtool")
    if binary is None or promtool is None:
        pytest.skip(f"Prometheus or promtool not found; install them with: {INSTALL_HINT}")
    root = tmp_path_factory.mktemp("prometheus")
    data = root / "data"
    data.mkdir()
    now = time.time()
    lines = []
    for i in range(240, -1, -1):  # every 15 s for the last hour, oldest first
        ts = now - i * 15
        value = backfill_value(i * 15 / 60)
        lines.append(f'demo_latency_seconds{{service="checkout"}} {value:.4f} {ts:.3f}')
    lines.append("# EOF")
    (root / "backfill.om").write_text("\n".join(lines) + "\n")
    subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(root / "backfill.om"),
            str(data),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    am_target = real_alertmanager.url.removeprefix("http://")
    (root / "rules.yml").write_text(
        "groups:\n"
        "  - name: oncall-tui-test\n"
        "    interval: 1s\n"
        "    rules:\n"
        "      - alert: DemoLatencyHigh\n"
        f'        expr: demo_latency_seconds{{service="checkout"}} > {THRESHOLD}\n'
        "        for: 0s\n"
        "        labels: {severity: critical, team: payments}\n"
        "        annotations:\n"
        '          summary: "Checkout latency is {{ $value | humanize }}s"\n'
        '          description: "p99 latency for {{ $labels.service }} above 500ms"\n'
        '          runbook_url: "https://runbooks.example.com/checkout-latency"\n'
    )
    (root / "prometheus.yml").write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  evaluation_interval: 1s\n"
        "rule_files: [rules.yml]\n"
        "alerting:\n"
        "  alertmanagers:\n"
        "    - api_version: v2\n"
        "      static_configs:\n"
        f'        - targets: ["{am_target}"]\n'
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(
        "prometheus",
        [
            binary,
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url={url}",
            "--rules.alert.resend-delay=1s",
        ],
        url,
        root / "prometheus.log",
    )
    proc.backfilled_until = datetime.fromtimestamp(now, UTC)
    try:
        yield proc
    finally:
        _stop(proc)
