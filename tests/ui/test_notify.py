"""Notifications that fit on call, through the running dashboard on the demo world with
the wall clock standing still: the bell and the desktop notification for a new page come
by severity, only while I am on call, never twice for one page (also across a restart),
and not at all while quiet is on; every toast says what was held back and why.

Pages reach me through the simulator (``create_escalation`` with my user id, as the
incident.io API would page me); what rang is counted by :class:`Effects` (the app's bell
and a stand-in ``notify-send`` on PATH).
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from demo_session import FrozenDemo, frozen_time
from test_dashboard_effects import Effects

from oncall_tui.config import ActionsConfig, NotificationsConfig, UiConfig
from oncall_tui.core import notify
from oncall_tui.core.session import open_app_session
from oncall_tui.core.shifts import my_current_shifts
from oncall_tui.ui.widgets.status_bar import StatusBar

SIZE = (150, 45)
RINGING = UiConfig(bell=True, desktop_notifications=True)
NO_REMINDERS = ActionsConfig(reminder_minutes=0)
_keys = itertools.count()


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def ringing_demo(frozen, monkeypatch, tmp_path, **options) -> tuple[FrozenDemo, Effects]:
    """A demo dashboard with the bell and desktop notifications on (no shift reminders,
    so only pages ring), and what it rings."""
    demo = FrozenDemo(
        frozen, scenario=False, background_alerts=20, ui=RINGING, actions=NO_REMINDERS, **options
    )
    return demo, Effects(demo, monkeypatch, tmp_path)


def restarted(demo: FrozenDemo, monkeypatch, tmp_path) -> tuple[FrozenDemo, Effects]:
    """The dashboard started again on the same world (a new session, the same state
    directory), and what it rings."""
    session = open_app_session(demo.session.settings, demo=demo.session.demo)
    again = FrozenDemo(demo.traveller, session=session)
    return again, Effects(again, monkeypatch, elsewhere(tmp_path))


async def start_quiet(demo: FrozenDemo, pilot, *keys: str) -> None:
    """``Q``, then pick a duration in the dialog with ``keys``."""
    await pilot.press("Q")
    await demo.until(
        pilot, lambda: demo.screen.__class__.__name__ == "DurationScreen", "the dialog"
    )
    await pilot.press(*keys)


def page_me(demo: FrozenDemo, title: str, priority: str = "P1") -> str:
    """incident.io pages me now, with ``priority``: directly (a direct page is always
    P1), or through the Payments path, whose first level is the schedule I am on call
    for. Returns the page's id."""
    world = demo.demo.world
    if priority == "P1":
        route: dict = {"user_ids": [world.me.id]}
    else:
        route = {"path_id": world.path_by_team[world.teams["payments"].id].id}
    page, _ = world.create_escalation(
        idempotency_key=f"test-page-{next(_keys)}", title=title, priority=priority, **route
    )
    return page.id


async def page_lands(demo: FrozenDemo, pilot, page_id: str) -> None:
    """Move the clock past the pages feed's interval and wait for the page's row."""
    demo.advance(6)
    await demo.settle(pilot)
    await demo.until(
        pilot, lambda: any(page_id in r.page_ids for r in demo.table.rows), "the page's row"
    )


async def page_is_held(
    demo: FrozenDemo, pilot, effects: Effects, title: str, why: str, priority: str = "P1"
) -> None:
    """A page to me now shows its toast, which says why nothing rang; nothing rang."""
    page = page_me(demo, title, priority)
    await page_lands(demo, pilot, page)
    await demo.until(pilot, lambda: bool(toasts(demo)), "the toast for the page")
    assert toasts(demo) == [f"Paged: {title} (no bell or desktop notification: {why})"]
    assert effects.bells == 0
    assert effects.desktop() == []


def toasts(demo: FrozenDemo, title: str = "New page") -> list[str]:
    return [n.message for n in demo.app._notifications if n.title == title]


def elsewhere(tmp_path):
    """A second directory for the second run's stand-in ``notify-send``."""
    path = tmp_path / "again"
    path.mkdir()
    return path


def status_text(demo: FrozenDemo) -> str:
    return demo.dashboard.query_one(StatusBar).extras_content().plain


async def test_a_page_below_the_minimum_severity_shows_without_bell_or_desktop(
    frozen, monkeypatch, tmp_path
):
    demo, effects = ringing_demo(
        frozen, monkeypatch, tmp_path, notifications=NotificationsConfig(min_severity="major")
    )
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        await page_is_held(
            demo,
            pilot,
            effects,
            "Search: reindex slower than usual",
            "warning is below major",
            priority="P3",  # warning
        )

        high = page_me(demo, "Payments: card authorisations failing", "P1")  # critical
        await page_lands(demo, pilot, high)
        await demo.until(pilot, lambda: effects.bells > 0, "the bell for the critical page")
        await demo.until(pilot, lambda: bool(effects.desktop()), "the desktop notification")
        assert effects.bells == 1
        assert effects.desktop() == [
            ("oncall-tui: new page", "Payments: card authorisations failing")
        ]
        assert toasts(demo)[-1] == "Paged: Payments: card authorisations failing"


async def test_a_page_while_i_am_not_on_call_shows_without_bell(frozen, monkeypatch, tmp_path):
    demo, effects = ringing_demo(frozen, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        # Ana covers every shift I hold now (overrides made in incident.io).
        world = demo.demo.world
        snap = demo.session.engine.snapshot()
        now = demo.session.engine.clock()
        mine = my_current_shifts(snap.shifts, snap.schedules, snap.me, now)
        assert mine, "the demo puts me on call"
        ana = world.people["ana.souza"]
        for shift in mine:
            world.create_override(
                schedule_id=shift.schedule_id,
                rotation_id=shift.rotation_id,
                layer_id=shift.layer_id,
                start=now - timedelta(minutes=1),
                end=now + timedelta(hours=2),
                user_ref={"id": ana.id},
            )
        demo.advance(301)  # the schedules feed polls every five minutes
        await demo.settle(pilot)
        engine = demo.session.engine
        await demo.until(
            pilot,
            lambda: notify.on_call_now(engine.snapshot(), engine.clock()) is False,
            "the overrides reach the dashboard",
        )
        await page_is_held(
            demo, pilot, effects, "Payments: settlement file rejected", "you are not on call"
        )


async def test_a_page_is_announced_once_also_across_a_restart(frozen, monkeypatch, tmp_path):
    first, effects = ringing_demo(frozen, monkeypatch, tmp_path)
    async with first.app.run_test(size=SIZE) as pilot:
        await first.loaded(pilot)
        page = page_me(first, "Payments: refunds stuck in pending", "P1")
        await page_lands(first, pilot, page)
        await first.until(pilot, lambda: effects.bells > 0, "the bell for the page")
        assert effects.bells == 1
        assert len(effects.desktop()) == 1
        assert toasts(first) == ["Paged: Payments: refunds stuck in pending"]
    assert json.loads(notify.default_path(demo=True).read_text())["announced"].keys() == {
        f"page:{page}"
    }

    # The dashboard starts again on the same world: the page is still paging me.
    second, effects_again = restarted(first, monkeypatch, tmp_path)
    async with second.app.run_test(size=SIZE) as pilot:
        await second.loaded(pilot)
        await second.settle(pilot)
        assert any(page in r.page_ids and r.mine for r in second.table.rows)
        assert toasts(second) == []
        assert effects_again.bells == 0
        assert effects_again.desktop() == []
        # A page that is new to this run still rings: only the announced one is quiet.
        other = page_me(second, "Payments: payout batch failed", "P1")
        await page_lands(second, pilot, other)
        await second.until(pilot, lambda: effects_again.bells > 0, "the bell for a new page")
        assert toasts(second) == ["Paged: Payments: payout batch failed"]


async def test_quiet_holds_the_bell_for_a_set_time_and_outlives_a_restart(
    frozen, monkeypatch, tmp_path
):
    demo, effects = ringing_demo(frozen, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        await start_quiet(demo, pilot, "down", "enter")  # the second choice: 1 hour
        await demo.until(pilot, lambda: bool(toasts(demo, "Quiet")), "what quiet does")
        # 10:20 in the demo's zone (London), plus an hour.
        assert toasts(demo, "Quiet") == [
            "Quiet until 11:20 (1h): no bell or desktop notification for new pages, "
            "shift reminders or watched items; they still show here."
        ]
        await demo.until(pilot, lambda: "quiet until 11:20" in status_text(demo), "status bar")

        await page_is_held(
            demo, pilot, effects, "Payments: card authorisations failing", "quiet until 11:20"
        )

    # Quiet is still on after a restart, until it ends.
    again, effects_again = restarted(demo, monkeypatch, tmp_path)
    async with again.app.run_test(size=SIZE) as pilot:
        await again.loaded(pilot)
        await again.until(pilot, lambda: "quiet until 11:20" in status_text(again), "status")
        other = page_me(again, "Payments: payout batch failed", "P1")
        await page_lands(again, pilot, other)
        await again.until(pilot, lambda: bool(toasts(again)), "the toast for the page")
        assert effects_again.bells == 0
        # Q again ends it, and says what rings from now on.
        await pilot.press("Q")
        await again.until(pilot, lambda: bool(toasts(again, "Quiet")), "quiet is off")
        assert toasts(again, "Quiet") == [
            "Quiet is off. The bell and a desktop notification again for every new page "
            "while you are on call, and for shift reminders."
        ]
        await again.until(pilot, lambda: "quiet" not in status_text(again), "status bar")
        last = page_me(again, "Payments: ledger drift", "P1")
        await page_lands(again, pilot, last)
        await again.until(pilot, lambda: effects_again.bells > 0, "the bell again")


async def test_quiet_ends_by_itself(frozen, monkeypatch, tmp_path):
    demo, effects = ringing_demo(frozen, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        await start_quiet(demo, pilot, "enter")  # the first choice: 30 minutes
        await demo.until(pilot, lambda: "quiet until 10:50" in status_text(demo), "status bar")
        demo.advance(31 * 60)
        await demo.settle(pilot)
        await demo.until(pilot, lambda: "quiet" not in status_text(demo), "quiet ended")
        page = page_me(demo, "Payments: card authorisations failing", "P1")
        await page_lands(demo, pilot, page)
        await demo.until(pilot, lambda: effects.bells > 0, "the bell once quiet ended")
