"""Read-only is read-only: every write command, through the installed console script,
against ``oncall-tui sim serve`` and a real Alertmanager, with ``--readonly`` before or
after the command and with ``[ui] readonly = true`` in the config. Each is refused with
exit 2 and words saying it is read-only, and nothing reaches either server: the
simulator's record of writes and the Alertmanager's silences are the same afterwards."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from tests.simserve import Sim, start_sim

pytestmark = pytest.mark.real

# Every write the command line can make; {page}, {alert} and {incident} are filled in.
WRITES = [
    ("ack", "{page}"),
    ("ack", "{alert}"),
    ("unack", "{alert}"),
    ("declare", "--severity", "minor", "Checkout is failing"),
    ("note", "{incident}", "Rolled back the deploy"),
    ("outbox", "--send"),
    ("outbox", "retry", "--all"),
    ("outbox", "skip", "1"),
    ("unavailable", "--from", "tomorrow", "--to", "tomorrow"),
    ("unavailable", "--from", "tomorrow", "--to", "tomorrow", "--cover", "someone@example.com"),
    ("overrides", "remove", "01OVERRIDE"),
]


@pytest.fixture
def sim(tmp_path):
    yield from start_sim(tmp_path)


def post_alert(alertmanager: str, labels: dict[str, str], annotations: dict[str, str]) -> None:
    body = [{"labels": labels, "annotations": annotations}]
    httpx.post(f"{alertmanager}/api/v2/alerts", json=body, timeout=10).raise_for_status()


def wait_for_alert(alertmanager: str, test_id: str) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alerts = httpx.get(
            f"{alertmanager}/api/v2/alerts", params={"filter": f'test_id="{test_id}"'}, timeout=10
        ).json()
        if alerts:
            return alerts[0]
        time.sleep(0.1)
    raise AssertionError(f"Alertmanager never showed the alert {test_id}")


def silences(alertmanager: str) -> list[dict]:
    answer = httpx.get(f"{alertmanager}/api/v2/silences", timeout=10)
    answer.raise_for_status()
    return sorted(answer.json(), key=lambda s: s["id"])


def test_every_write_is_refused_in_readonly_mode_and_nothing_is_written(
    sim: Sim, tmp_path, real_alertmanager
):
    am = real_alertmanager.url
    test_id = uuid.uuid4().hex[:12]
    post_alert(
        am,
        {"alertname": "ReadOnlyProbe", "severity": "critical", "test_id": test_id},
        {"summary": "Read-only probe"},
    )
    fingerprint = wait_for_alert(am, test_id)["fingerprint"]
    config = tmp_path / "both.toml"
    config.write_text(f'{sim.snippet}\n[alertmanager.lab]\nurl = "{am}"\n')
    readonly_config = tmp_path / "readonly.toml"
    readonly_config.write_text(f"{config.read_text()}\n[ui]\nreadonly = true\n")

    # Real ids to act on: a page from the simulator, the Alertmanager's alert, an incident.
    listed = sim.cli("alerts", "--json", config=config)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["rows"]
    page = next(r["page_ids"][0] for r in rows if r["page_ids"])
    assert any(k.endswith(fingerprint) for r in rows for k in r["alert_keys"]), rows
    incidents = sim.cli("incidents", "--json", config=config)
    assert incidents.returncode == 0, incidents.stderr
    incident = json.loads(incidents.stdout)[0]["reference"]
    ids = {"page": page, "alert": fingerprint, "incident": incident}

    writes_before = sim.get("/_sim/writes")["writes"]
    silences_before = silences(am)
    tried = 0
    for n, command in enumerate(WRITES):
        argv = [part.format(**ids) for part in command]
        # Both sources of read-only mode for every command; the flag after the command
        # once here (test_readonly_is_accepted_after_every_command parses the rest).
        for how in ("before", "config", *(("after",) if n == 0 else ())):
            if how == "before":
                result = sim.cli("--readonly", *argv, config=config)
            elif how == "after":
                result = sim.cli(*argv, "--readonly", config=config)
            else:
                result = sim.cli(*argv, config=readonly_config)
            shown = f"{' '.join(argv)} ({how})"
            out, err = result.stdout, result.stderr
            assert result.returncode == 2, f"{shown}: exit {result.returncode}\n{out}{err}"
            assert "Read-only mode" in err and "nothing was changed" in err, f"{shown}: {err}"
            assert out == "", f"{shown}: {out}"
            tried += 1
    assert tried == 2 * len(WRITES) + 1
    assert sim.get("/_sim/writes")["writes"] == writes_before
    assert silences(am) == silences_before

    # Without read-only the same command does write: the test can see a write.
    done = sim.cli("ack", fingerprint, config=config)
    assert done.returncode == 0, done.stderr
    assert len(silences(am)) == len(silences_before) + 1


@pytest.mark.parametrize("command", WRITES, ids=lambda c: " ".join(c[:2]))
def test_readonly_is_accepted_after_every_command(command):
    from oncall_tui.cli.main import build_parser

    argv = [part.format(page="P", alert="A", incident="INC-1") for part in command]
    assert build_parser().parse_args([*argv, "--readonly"]).readonly is True
    assert build_parser().parse_args(["--readonly", *argv]).readonly is True
