"""Config mistakes end in words, never a traceback; tokens go only to their own host."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from oncall_tui.config import AlertmanagerConfig, Settings
from oncall_tui.core.sources import build_backends
from oncall_tui.domain import Alert
from oncall_tui.secrets import Found, env_name

SCRIPT = Path(sys.executable).parent / "oncall-tui"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("ONCALL_TUI_")}
    base["ONCALL_TUI_NO_KEYRING"] = "1"
    base.update(env or {})
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=base, timeout=60
    )


def test_a_grafana_name_the_keyring_refuses_is_a_config_error(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[user]\nemail = "me@example.com"\n\n[grafana."eu west"]\nurl = "https://g.example.com"\n'
    )
    for args in (("alerts",), ("config", "check"), ("doctor",)):
        done = run(*args, "--config", str(config))
        # doctor lists it as a failed check (exit 1); the others refuse the config (exit 2).
        assert done.returncode == (1 if args == ("doctor",) else 2), (args, done.stderr)
        said = done.stdout + done.stderr
        assert "Traceback" not in said
        assert "'eu west' cannot name an instance" in said
        assert "'eu-west'" in said  # a name that works


def test_bad_json_in_a_nested_environment_variable_is_a_config_error(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[user]\nemail = "me@example.com"\n')
    done = run("alerts", "--config", str(config), env={"ONCALL_TUI_UI__KEYMAP": "{ack: a"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "ONCALL_TUI_UI__KEYMAP is not valid JSON" in done.stderr


class Recorder(httpx.AsyncBaseTransport):
    """Answers every request with an empty Prometheus matrix; remembers the tokens."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.host, request.headers.get("authorization")))
        body = {"status": "success", "data": {"resultType": "matrix", "result": []}}
        return httpx.Response(200, json=body)


async def test_the_alertmanager_token_never_goes_to_prometheus():
    settings = Settings(
        alertmanager={
            "k8s": AlertmanagerConfig(
                url="https://am.example.com", prometheus_url="https://prom.example.org"
            )
        }
    )
    secrets = {"alertmanager:k8s": "am-secret", "alertmanager:k8s:prometheus": "prom-secret"}
    recorder = Recorder()
    alert = Alert(
        key="alertmanager:k8s:abc",
        id="abc",
        source="alertmanager",
        instance="k8s",
        title="Latency",
        state="firing",
        severity="critical",
        started_at=datetime.now(UTC) - timedelta(minutes=5),
        expression="demo_latency_seconds > 0.5",
    )
    for stored, expected in ((secrets, "Bearer prom-secret"), ({"alertmanager:k8s": "x"}, None)):
        backends = build_backends(
            settings,
            transports={"prometheus:k8s": recorder},
            secret=lambda service, stored=stored: Found(service, stored.get(service), "test"),
        )
        await backends.sparkline(alert, datetime.now(UTC))
        await backends.aclose()
        assert recorder.seen[-1] == ("prom.example.org", expected)
        # A Prometheus with no token of its own is normal: not listed as missing.
        assert not any("prometheus" in s for s in backends.missing_secrets)


def test_the_prometheus_secret_has_its_own_name():
    assert env_name("alertmanager:k8s:prometheus") == (
        "ONCALL_TUI_ALERTMANAGER__K8S__PROMETHEUS__TOKEN"
    )
    done = run("auth", "set", "alertmanager:k8s:prometheus")
    assert "unknown service" not in done.stderr
