"""Any subset of backends: with only an Alertmanager, only incident.io, or nothing at all
configured, ``alerts``, ``ack``, ``unack`` and ``doctor`` work with what there is and say
what is off. Run as the installed console script against a real Alertmanager process and
``oncall-tui sim serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.simserve import Sim, start_sim

pytestmark = pytest.mark.real

SCRIPT = Path(sys.executable).parent / "oncall-tui"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ONCALL_TUI_")}
    env["ONCALL_TUI_NO_KEYRING"] = "1"
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)


def fire(alertmanager: str, name: str) -> str:
    """Post an alert with a label of its own; its fingerprint once the Alertmanager has it."""
    test_id = uuid.uuid4().hex[:12]
    body = [
        {
            "labels": {"alertname": name, "severity": "critical", "test_id": test_id},
            "annotations": {"summary": f"{name} on the lab"},
        }
    ]
    httpx.post(f"{alertmanager}/api/v2/alerts", json=body, timeout=10).raise_for_status()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alerts = httpx.get(
            f"{alertmanager}/api/v2/alerts", params={"filter": f'test_id="{test_id}"'}, timeout=10
        ).json()
        if alerts:
            return alerts[0]["fingerprint"]
        time.sleep(0.1)
    raise AssertionError(f"the Alertmanager never showed {name}")


def active_silences(alertmanager: str, fingerprint: str) -> list[dict]:
    alert = next(
        a
        for a in httpx.get(f"{alertmanager}/api/v2/alerts", timeout=10).json()
        if a["fingerprint"] == fingerprint
    )
    return alert["status"]["silencedBy"]


def test_only_an_alertmanager_lists_acks_and_unacks_its_alerts(tmp_path, real_alertmanager):
    am = real_alertmanager.url
    fingerprint = fire(am, "OnlyAlertmanager")
    config = tmp_path / "am-only.toml"
    config.write_text(f'[alertmanager.lab]\nurl = "{am}"\n')

    listed = run("alerts", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["rows"]
    mine = [r for r in rows if any(k.endswith(fingerprint) for k in r["alert_keys"])]
    assert [r["title"] for r in mine] == ["OnlyAlertmanager on the lab"]
    assert all(r["source"].startswith("alertmanager") for r in rows)
    shown = run("alerts", "--config", str(config))
    assert shown.returncode == 0 and "OnlyAlertmanager on the lab" in shown.stdout

    acked = run("ack", fingerprint, "--config", str(config))
    assert acked.returncode == 0, acked.stderr
    # What the silence would match is said first, then what was done.
    assert acked.stdout.splitlines()[-1].startswith(
        "Silenced “OnlyAlertmanager on the lab” on alertmanager:lab"
    )
    assert active_silences(am, fingerprint)
    unacked = run("unack", fingerprint, "--config", str(config))
    assert unacked.returncode == 0, unacked.stderr
    deadline = time.monotonic() + 10
    while active_silences(am, fingerprint) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not active_silences(am, fingerprint)

    # What needs incident.io says so, as a usage error.
    declared = run("declare", "-s", "minor", "x", "--config", str(config))
    assert declared.returncode == 2 and "no incident.io configured" in declared.stderr


def test_doctor_warns_about_a_missing_backend_and_fails_only_with_none(tmp_path, real_alertmanager):
    config = tmp_path / "am-only.toml"
    config.write_text(f'[alertmanager.lab]\nurl = "{real_alertmanager.url}"\n')
    done = run("doctor", "--json", "--config", str(config))
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["incident.io"]["status"] == "warn"
    assert "shifts and pages are off" in checks["incident.io"]["detail"]
    assert "backends" not in checks
    assert not [c for c in checks.values() if c["status"] == "fail"], checks
    assert done.returncode == 0, done.stdout

    empty = tmp_path / "empty.toml"
    empty.write_text('[user]\nemail = "me@example.com"\n')
    done = run("doctor", "--json", "--config", str(empty))
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["backends"]["status"] == "fail" and done.returncode == 1
    listed = run("alerts", "--config", str(empty))
    assert listed.returncode == 2 and "nothing is configured" in listed.stderr


@pytest.fixture
def sim(tmp_path):
    yield from start_sim(tmp_path)


def test_only_incident_io_lists_pages_and_doctor_warns_about_alert_sources(sim: Sim):
    listed = sim.cli("alerts", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["rows"]
    assert any(r["page_ids"] for r in rows)
    done = sim.cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["Grafana / Alertmanager"]["status"] == "warn"
