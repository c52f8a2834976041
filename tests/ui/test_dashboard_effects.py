"""Each dashboard key and alarm does what it says: what was opened, copied, rung, run or
polled, on the demo world with the wall clock standing still.

The clock is frozen (see ``demo_session.py``), so nothing polls, pages or reminds unless the
test says so: a key whose action is removed leaves no trace, and its test fails.
"""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from demo_session import FrozenDemo, frozen_time

from oncall_tui.config import ActionsConfig, UiConfig
from oncall_tui.core import views
from oncall_tui.domain import LINK_DASHBOARD, LINK_PANEL, LINK_RUNBOOK, LINK_SOURCE

SIZE = (150, 45)
# The scripted page reaches me 1.5 s into the story (see test_dashboard_snapshots.py).
PAGE_LANDED = 6


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


class Effects:
    """What the app did outside itself: URLs opened, text copied, bells rung, desktop
    notifications sent (through a stand-in ``notify-send`` on PATH)."""

    def __init__(self, demo: FrozenDemo, monkeypatch, tmp_path: Path) -> None:
        self.opened: list[str] = []
        self.copied: list[str] = []
        self.bells = 0
        self._log = tmp_path / "notify-send.log"
        notify_send = tmp_path / "bin" / "notify-send"
        notify_send.parent.mkdir()
        notify_send.write_text(
            f'#!/bin/sh\nfor a in "$@"; do printf "%s\\t" "$a"; done >> {self._log}\n'
            f"echo >> {self._log}\n"
        )
        notify_send.chmod(notify_send.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{notify_send.parent}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setattr(demo.app, "open_url", lambda url, **kw: self.opened.append(url))
        monkeypatch.setattr(demo.app, "copy_to_clipboard", self.copied.append)
        monkeypatch.setattr(demo.app, "bell", self._ring)

    def _ring(self) -> None:
        self.bells += 1

    def desktop(self) -> list[tuple[str, str]]:
        """Each desktop notification sent: notify-send's title and body (the arguments
        after ``--``; the options before it are checked to name the app)."""
        if not self._log.exists():
            return []
        sent = []
        for line in self._log.read_text().splitlines():
            argv = line.rstrip("\t").split("\t")
            options, text = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
            assert "--app-name=oncall-tui" in options
            sent.append((text[0], text[1]))
        return sent


LINKS = (LINK_RUNBOOK, LINK_DASHBOARD, LINK_PANEL, LINK_SOURCE)


def with_link(demo: FrozenDemo, kind: str):
    """A row whose alert has a ``kind`` link unlike its other links (so opening the wrong
    one is caught too)."""

    def fits(row: views.AlertRow) -> bool:
        alert = demo.dashboard._first_alert(row)
        if alert is None or not alert.link(kind).url:
            return False
        return alert.link(kind).url not in {alert.link(k).url for k in LINKS if k != kind}

    return fits


@pytest.mark.parametrize(
    ("key", "kind"),
    [("o", LINK_RUNBOOK), ("g", LINK_DASHBOARD), ("p", LINK_PANEL), ("O", LINK_SOURCE)],
)
async def test_link_keys_open_the_rows_own_link(frozen, monkeypatch, tmp_path, key, kind):
    demo = FrozenDemo(frozen)
    effects = Effects(demo, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        row = demo.move_to(with_link(demo, kind))
        await demo.settle(pilot)
        alert = demo.dashboard._first_alert(row)
        assert alert is not None
        await pilot.press(key)
        await demo.until(pilot, lambda: bool(effects.opened), f"{key} opens a link")
        assert effects.opened == [alert.link(kind).url]
        assert effects.copied == []


async def test_y_copies_the_rows_link(frozen, monkeypatch, tmp_path):
    demo = FrozenDemo(frozen, scenario=False)
    effects = Effects(demo, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        row = demo.move_to(with_link(demo, LINK_RUNBOOK))
        await demo.settle(pilot)
        alert = demo.dashboard._first_alert(row)
        assert alert is not None
        await pilot.press("y")
        await demo.until(pilot, lambda: bool(effects.copied), "y copies a link")
        assert effects.copied == [alert.link(LINK_RUNBOOK).url]
        assert effects.opened == []


async def test_r_polls_every_feed_now(frozen):
    demo = FrozenDemo(frozen, scenario=False)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        engine = demo.session.engine
        feeds = {h.name for h in engine.snapshot().health}
        assert feeds and not engine.due()  # the clock stands still: nothing is due
        polls = engine.polls
        await pilot.press("r")
        await demo.until(pilot, lambda: engine.polls >= polls + len(feeds), "every feed polled")
        await demo.settle(pilot)


async def test_a_new_page_rings_the_bell_and_notifies_the_desktop(frozen, monkeypatch, tmp_path):
    demo = FrozenDemo(
        frozen,
        ui=UiConfig(bell=True, desktop_notifications=True),
        actions=ActionsConfig(reminder_minutes=0),  # no shift reminder rings the bell here
    )
    effects = Effects(demo, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        assert demo.my_triggered_page() is None
        assert effects.bells == 0 and effects.desktop() == []
        demo.advance(PAGE_LANDED)
        await demo.settle(pilot)
        await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page to me")
        page = demo.my_triggered_page()
        assert page is not None
        await demo.until(pilot, lambda: effects.bells > 0, "the bell for the new page")
        await demo.until(pilot, lambda: bool(effects.desktop()), "the desktop notification")
        assert effects.bells == 1
        [(title, body)] = effects.desktop()
        assert title == "oncall-tui: new page"
        assert page.title in body
        assert any(n.title == "New page" for n in demo.app._notifications)


async def test_a_new_page_stays_quiet_when_bell_and_desktop_are_off(frozen, monkeypatch, tmp_path):
    demo = FrozenDemo(
        frozen,
        ui=UiConfig(bell=False, desktop_notifications=False),
        actions=ActionsConfig(reminder_minutes=0),
    )
    effects = Effects(demo, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        demo.advance(PAGE_LANDED)
        await demo.settle(pilot)
        await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page to me")
        await demo.until(
            pilot, lambda: any(n.title == "New page" for n in demo.app._notifications), "toast"
        )
        assert effects.bells == 0
        assert effects.desktop() == []


async def test_a_shift_reminder_toasts_rings_and_notifies_the_desktop(
    frozen, monkeypatch, tmp_path
):
    """Five minutes before my shift ends the running app reminds me, once: a toast, the
    bell and a desktop notification. (The app checks every 15 s, so this takes that long.)"""
    demo = FrozenDemo(
        frozen,
        scenario=False,
        background_alerts=20,
        ui=UiConfig(bell=True, desktop_notifications=True),
        actions=ActionsConfig(reminder_minutes=15),
    )
    effects = Effects(demo, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        engine = demo.session.engine
        snap = engine.snapshot()
        now = engine.clock()
        [shift, *_] = views.my_current_shifts(snap.shifts, snap.schedules, snap.me, now)
        assert shift.end - now > timedelta(minutes=30)  # not yet due when the app starts
        assert effects.bells == 0 and effects.desktop() == []
        demo.advance((shift.end - timedelta(minutes=5) - now).total_seconds())
        await demo.settle(pilot)

        def reminded() -> bool:
            return any(n.title == "Shift ending" for n in demo.app._notifications)

        for _ in range(4):  # up to 40 s: the first check is 15 s after the app starts
            with contextlib.suppress(AssertionError):
                await demo.until(pilot, reminded, "the shift reminder")
                break
        assert reminded()
        await demo.until(pilot, lambda: bool(effects.desktop()), "the desktop notification")
        [toast] = [n for n in demo.app._notifications if n.title == "Shift ending"]
        assert shift.schedule_name in toast.message and "ends" in toast.message
        assert effects.bells == 1
        [(title, body)] = effects.desktop()
        assert title == "oncall-tui: shift reminder"
        assert body == toast.message


QUIET_STATES = ("acked", "snoozed", "silenced")


@pytest.mark.parametrize(
    ("key", "keeps"),
    [
        ("m", lambda row: row.mine),
        ("H", lambda row: row.state not in QUIET_STATES),
        ("c", lambda row: row.critical),
    ],
    ids=["mine-only", "hide-acked", "critical-only"],
)
async def test_filter_toggles_narrow_the_rows_and_restore_them(frozen, key, keeps):
    demo = FrozenDemo(frozen)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        demo.advance(PAGE_LANDED)  # the page to me: a row that is mine and critical
        await demo.settle(pilot)
        await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page to me")
        if key == "H":  # an acked row to hide
            demo.move_to(lambda r: r.kind == "page" and r.mine and r.state == "triggered")
            await pilot.press("a")
            await demo.until(
                pilot, lambda: any(r.state in QUIET_STATES for r in demo.table.rows), "acked"
            )
            await demo.settle(pilot)
        before = list(demo.table.rows)
        kept = {r.key for r in before if keeps(r)}
        assert kept and len(kept) < len(before)  # the toggle has something to show and hide
        await pilot.press(key)
        await demo.settle(pilot)
        assert {r.key for r in demo.table.rows} == kept
        await pilot.press(key)
        await demo.settle(pilot)
        assert {r.key for r in demo.table.rows} == {r.key for r in before}


async def test_filter_box_narrows_the_rows_and_escape_restores_them(frozen):
    demo = FrozenDemo(frozen, scenario=False)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        before = {r.key for r in demo.table.rows}
        word = next(
            w
            for r in demo.table.rows
            for w in r.title.split()
            if len(w) > 4
            and 0 < sum(w.casefold() in x.title.casefold() for x in demo.table.rows) < len(before)
        )
        await pilot.press("slash", *word)
        await demo.settle(pilot)
        during = {r.key for r in demo.table.rows}
        assert during and during < before
        assert all(word.casefold() in r.title.casefold() for r in demo.table.rows)
        await pilot.press("escape")
        await demo.settle(pilot)
        assert {r.key for r in demo.table.rows} == before


async def test_navigation_keys_open_what_they_name(frozen):
    """C opens the calendar, i the incidents, ? the help (listing this screen's keys), D
    the declare form prefilled from the row; Esc comes back each time."""
    from oncall_tui.ui.screens.calendar import CalendarScreen
    from oncall_tui.ui.screens.declare import DeclareScreen
    from oncall_tui.ui.screens.help import HelpScreen
    from oncall_tui.ui.screens.incidents import IncidentsScreen

    demo = FrozenDemo(frozen, scenario=False)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        dashboard = demo.dashboard
        row = demo.move_to(lambda r: r.kind == "alert")
        await demo.settle(pilot)
        for key, screen in (
            ("C", CalendarScreen),
            ("i", IncidentsScreen),
            ("question_mark", HelpScreen),
            ("D", DeclareScreen),
        ):
            await pilot.press(key)
            await demo.until(pilot, lambda s=screen: isinstance(demo.app.screen, s), key)
            if key == "D":
                form = demo.app.screen
                assert isinstance(form, DeclareScreen)
                assert form.draft.name == row.title
            await pilot.press("escape")
            await demo.until(pilot, lambda: demo.app.screen is dashboard, f"back from {key}")


async def test_ctrl_t_moves_to_the_next_theme(frozen):
    demo = FrozenDemo(frozen, scenario=False)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        before = demo.app.theme
        await pilot.press("ctrl+t")
        await demo.until(pilot, lambda: demo.app.theme != before, "another theme")
        assert any(n.startswith("Theme: ") for n in demo.notices())


async def test_w_says_how_every_source_is(frozen):
    demo = FrozenDemo(frozen, scenario=False)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        before = len(demo.notices())
        await pilot.press("w")
        await demo.until(pilot, lambda: len(demo.notices()) > before, "the sources' state")
        assert "Every source is answering." in demo.notices()[before:]
        demo.faults("grafana:eu").status = 503
        await pilot.press("r")
        await demo.until(
            pilot,
            lambda: any(
                h.name == "grafana:eu" and h.error for h in demo.session.engine.snapshot().health
            ),
            "grafana:eu failing",
        )
        before = len(demo.notices())
        await pilot.press("w")
        await demo.until(pilot, lambda: len(demo.notices()) > before, "the failing source")
        said = demo.notices()[before:]
        assert "Every source is answering." not in said
        assert any(line.startswith("grafana:eu") for line in said), said


async def test_escape_closes_the_filter_box_and_the_narrow_detail(frozen):
    demo = FrozenDemo(frozen, scenario=False)
    async with demo.app.run_test(size=(90, 40)) as pilot:  # narrow: the detail opens apart
        await demo.loaded(pilot)
        dashboard = demo.dashboard
        await pilot.press("enter")
        await demo.until(pilot, lambda: dashboard.has_class("detail-open"), "detail open")
        await pilot.press("escape")
        await demo.until(pilot, lambda: not dashboard.has_class("detail-open"), "detail shut")
        await pilot.press("slash", "x")
        box = dashboard.query_one("#filter")
        await demo.until(pilot, lambda: box.has_class("shown"), "filter box shown")
        await pilot.press("escape")
        await demo.until(pilot, lambda: not box.has_class("shown"), "filter box closed")
        assert dashboard.filters.query == ""


async def test_q_quits_at_once_with_nothing_unsent(frozen):
    demo = FrozenDemo(frozen, scenario=False)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        assert demo.app.unsent_words() == []
        await pilot.press("q")
        await demo.until(pilot, lambda: demo.app._exit, "the app exits")
    assert demo.app.return_code == 0
