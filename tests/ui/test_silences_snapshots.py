"""SVG snapshots of the silences screen (``s``) on the demo world, time standing still.

The demo's own silences (a pending maintenance window with regex and negative matchers,
a long one over an alert that is not firing, one made with this tool, one on the plain
Alertmanager), plus two the night left behind on Grafana US: one 30 hours old that
still holds a firing alert ("possibly forgotten"), and one ending in ten minutes over a
firing alert (its notice shows as a toast). See ``test_dashboard_snapshots.py`` for how
to regenerate and look at them.
"""

from __future__ import annotations

import random
import types
import uuid
from datetime import timedelta

import pytest
from demo_session import FrozenDemo, frozen_time

from oncall_tui.sim import grafana_am
from oncall_tui.sim.silences import silence_for
from oncall_tui.ui.screens.silences import SilencesScreen

WIDE = (160, 48)
SMALL = (80, 24)


@pytest.fixture
def frozen(monkeypatch):
    """Time stands still, and the simulated servers number their silences in order (the
    screen shows each silence's id)."""
    ids = random.Random(16)
    fixed = types.SimpleNamespace(
        uuid4=lambda: uuid.UUID(int=ids.getrandbits(128), version=4), UUID=uuid.UUID
    )
    monkeypatch.setattr(grafana_am, "uuid", fixed)
    with frozen_time() as traveller:
        yield traveller


def night_left_behind(demo: FrozenDemo) -> None:
    am = demo.demo.grafana["us"].grafana_am
    firing = sorted(
        a["labels"]["alertname"] for a in am.gettable_alerts() if a["status"]["state"] == "active"
    )
    silence_for(
        am,
        firing[0],
        started_ago=timedelta(hours=30),
        ends_in=timedelta(hours=18),
        created_by="Kofi Mensah",
        comment="flapping since the DB failover, will look tomorrow",
    )
    silence_for(
        am,
        firing[1],
        ends_in=timedelta(minutes=10),
        created_by="me@example.com",
        comment="Acknowledged by me@example.com with oncall-tui 0.1.0",
    )


async def open_silences(demo: FrozenDemo, pilot) -> None:
    await demo.loaded(pilot)
    await pilot.press("s")
    await demo.until(
        pilot,
        lambda: isinstance(demo.app.screen, SilencesScreen) and demo.app.screen.loaded,
        "the silences",
    )
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["160x48", "80x24"])
def test_silences_screen(snap_compare, frozen, size):
    """Every source, its silences with countdowns, the tool's mark, one possibly
    forgotten, and the notice for the one about to end over a firing alert."""
    demo = FrozenDemo(frozen, scenario=False)
    night_left_behind(demo)

    async def run_before(pilot) -> None:
        await open_silences(demo, pilot)
        assert any(n.startswith("Silence ") for n in demo.notices())

    assert snap_compare(demo.app, run_before=run_before, terminal_size=size)
