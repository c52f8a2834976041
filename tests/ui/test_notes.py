"""Notes that reach the right incident, whatever happens to the list, the disk, the paste
buffer or the process: the incident screen and the app, driven by keys on the demo world."""

from __future__ import annotations

import functools

import pytest

from oncall_tui.core.outbox import KIND_NOTE, note_payload
from oncall_tui.sim import demo as demo_module
from oncall_tui.ui.screens.dashboard import DashboardScreen
from tests.ui.test_incident_screen import SIZE, make_app, notices, until, writes


@pytest.fixture(autouse=True)
def _small_world(monkeypatch):
    original = demo_module.build_demo
    monkeypatch.setattr(demo_module, "build_demo", functools.partial(original, background_alerts=0))


def sim_incident(app, reference: str):
    world = app.session.demo.world
    return next(i for i in world.incidents.values() if i.reference == reference)


async def test_the_app_delivers_the_outbox_whatever_screen_is_shown():
    """The delivery worker belongs to the app: a note left in the outbox (by the command
    line, or a crash) goes out while only the dashboard is open."""
    app = make_app(dashboard=True)
    target = sim_incident(app, "INC-242")
    app.session.outbox.enqueue(
        KIND_NOTE, target.id, {**note_payload("left by the CLI", at=app.session.engine.clock())}
    )
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await until(pilot, lambda: writes(app, "timeline_item.create"))
        [write] = writes(app, "timeline_item.create")
        assert write.data["title"] == "left by the CLI"
        assert isinstance(app.screen, DashboardScreen)
        await until(pilot, lambda: any("is on the incident's timeline" in m for m in notices(app)))
