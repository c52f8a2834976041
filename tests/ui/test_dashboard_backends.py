"""The dashboard on any subset of backends: with only the Alertmanager (no incident.io),
its alerts are listed and acked, the shift panel says shifts and pages are off and why,
and every key that needs incident.io is dimmed and says so when pressed."""

from __future__ import annotations

from oncall_tui.config import Settings
from oncall_tui.core.session import open_session
from oncall_tui.sim.demo import build_demo
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.shift_panel import ShiftPanel


async def until(pilot, condition, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


def silences(demo) -> int:
    return sum(len(world.plain_am.silences) for world in demo.grafana.values())


async def test_only_an_alertmanager_shows_its_alerts_and_says_what_is_off():
    demo = build_demo(Settings())
    session = open_session(demo.settings, demo=demo, services=["alertmanager"])
    assert session.backends.incidentio is None and session.backends.alertmanagers
    app = OnCallApp(session.settings, demo=True, session=session)
    async with app.run_test(size=(150, 45)) as pilot:
        table = app.screen.query_one(AlertTable)
        await until(pilot, lambda: table.row_count > 0)
        rows = list(table.rows)
        assert rows and all(r.source.startswith("alertmanager") for r in rows)
        panel = app.screen.query_one(ShiftPanel)
        assert panel.lines()[0].plain.startswith(
            "No incident.io configured: shifts and pages are off"
        )
        screen = app.screen
        for action in ("escalate", "decline", "snooze", "declare", "incidents", "calendar"):
            reason = screen.unavailable_reason(action)
            assert reason is not None and reason.startswith("No incident.io configured"), action
        assert screen.unavailable_reason("ack") is None
        app.clear_notifications()
        await pilot.press("i")
        await until(pilot, lambda: any("No incident.io" in n.message for n in app._notifications))
        assert app.screen is screen  # nothing opened
        # Ack works on what is there: a silence on the simulated Alertmanager.
        before = silences(demo)
        await pilot.press("a")
        # What the silence would match is shown first; y makes it.
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: any("Silenced" in n.message for n in app._notifications))
        assert silences(demo) == before + 1
    await session.aclose()
