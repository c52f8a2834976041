"""``oncall-tui unack`` removes the silence that ``ack`` made, and says so: on the demo
world, one world shared by both commands (each command builds its own otherwise)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from oncall_tui.cli.main import main
from oncall_tui.sim import demo as demo_module


@pytest.fixture
def demo(monkeypatch):
    world = demo_module.build_demo(None, background_alerts=0)
    monkeypatch.setattr(demo_module, "build_demo", lambda *args, **kwargs: world)
    return world


def silences(demo) -> dict:
    """Every silence of every simulated Grafana and Alertmanager, by (instance, id)."""
    return {
        (name, kind, silence_id): silence
        for name, world in demo.grafana.items()
        for kind, am in (("grafana", world.grafana_am), ("alertmanager", world.plain_am))
        for silence_id, silence in am.silences.items()
    }


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main([*argv, "--demo"])
    return code, capsys.readouterr().out


def test_unack_expires_the_silence_ack_made(demo, capsys, monkeypatch):
    monkeypatch.setenv("ONCALL_TUI_NO_KEYRING", "1")
    code, out = run(capsys, "alerts", "--json")
    assert code == 0
    rows = json.loads(out)["rows"]
    row = next(r for r in rows if r["source"].startswith("alertmanager") and r["state"] == "firing")
    before = set(silences(demo))

    code, out = run(capsys, "ack", row["id"])
    assert code == 0, out
    made = [s for key, s in silences(demo).items() if key not in before]
    assert made and all(s.state(datetime.now(UTC)) == "active" for s in made)

    code, out = run(capsys, "unack", row["id"])
    assert code == 0, out
    assert out.startswith("Removed"), out
    assert all(s.state(datetime.now(UTC)) == "expired" for s in made)
