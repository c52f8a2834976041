"""Watching a page or alert (``W``) on the running dashboard, demo world, clock stopped:
what W says, the ◎ marker, the palette's list, the file that keeps the list across a
restart, and the notices when the metric passes its last peak or the alert resolves (the
app's one notification path: toast, bell, desktop notification, quiet)."""

from __future__ import annotations

import itertools
import os
import stat
from dataclasses import replace
from datetime import timedelta

import pytest
from demo_session import FrozenDemo, frozen_time
from test_dashboard_effects import Effects
from textual.command import CommandInput, CommandList, CommandPalette

from oncall_tui.config import ActionsConfig, UiConfig
from oncall_tui.core import watch
from oncall_tui.core.metric import format_value
from oncall_tui.core.session import open_app_session

RINGING = UiConfig(bell=True, desktop_notifications=True)
NO_REMINDERS = ActionsConfig(reminder_minutes=0)
CHECKOUT = "Checkout p99 latency is above 500 ms"
SIZE = (150, 45)
_dirs = itertools.count()


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def watch_file():
    return watch.default_path(demo=True)


def ringing(frozen, monkeypatch, tmp_path) -> tuple[FrozenDemo, Effects]:
    demo = FrozenDemo(frozen, scenario=False, background_alerts=0, ui=RINGING, actions=NO_REMINDERS)
    place = tmp_path / f"fx{next(_dirs)}"
    place.mkdir()
    return demo, Effects(demo, monkeypatch, place)


def watches(demo: FrozenDemo) -> dict[str, watch.Watch]:
    return demo.dashboard.watch_keys.list.items


async def watch_checkout(demo: FrozenDemo, pilot) -> watch.Watch:
    await demo.loaded(pilot)
    row = demo.move_to(lambda r: r.title == CHECKOUT)
    await demo.settle(pilot)
    await pilot.press("W")
    await demo.until(pilot, lambda: row.key in watches(demo), "watched")
    return watches(demo)[row.key]


def told(demo: FrozenDemo, words: str) -> list[str]:
    return [n for n in demo.notices() if words in n]


def change_metric(demo: FrozenDemo, **spike) -> None:
    """Change the checkout latency's metric in both simulated Grafanas."""
    for world in demo.demo.grafana.values():
        world.rules = [
            replace(r, spike=replace(r.spike, **spike)) if r.uid == "checkout-latency" else r
            for r in world.rules
        ]


async def test_w_watches_marks_lists_and_keeps_the_item_then_stops(frozen, monkeypatch, tmp_path):
    demo, _ = ringing(frozen, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        watched = await watch_checkout(demo, pilot)
        assert watched.peak is not None and watched.metric_key
        peak = format_value(watched.peak, "")
        said = f"Watching “{CHECKOUT}” — you'll be told when it resolves or passes {peak} again."
        await demo.until(pilot, lambda: said in demo.notices(), "what W says")
        assert demo.watched_rows() == {watched.key}
        # Kept on disk, private.
        assert stat.S_IMODE(os.stat(watch_file()).st_mode) == 0o600
        assert watched.key in watch_file().read_text()
        # The palette lists it; choosing it moves the cursor there.
        demo.move_to(lambda r: r.title != CHECKOUT)
        await pilot.press("ctrl+p")
        await demo.until(pilot, lambda: isinstance(demo.app.screen, CommandPalette), "palette")
        demo.app.screen.query_one(CommandInput).value = "Watched"
        await demo.until(
            pilot,
            lambda: demo.app.screen.query_one(CommandList).option_count == 1,
            "the watched item in the palette",
        )
        await pilot.press("enter")
        await demo.until(pilot, lambda: demo.table.cursor_key == watched.key, "cursor moved")
        # W again: stopped.
        await pilot.press("W")
        await demo.until(pilot, lambda: f"Stopped watching “{CHECKOUT}”." in demo.notices(), "")
        assert demo.watched_rows() == frozenset() and not watches(demo)
        assert watched.key not in watch_file().read_text()


async def test_the_watch_list_outlives_a_restart(frozen, monkeypatch, tmp_path):
    first, _ = ringing(frozen, monkeypatch, tmp_path)
    async with first.app.run_test(size=SIZE) as pilot:
        watched = await watch_checkout(first, pilot)
    session = open_app_session(first.session.settings, demo=first.session.demo)
    again = FrozenDemo(first.traveller, session=session)
    async with again.app.run_test(size=SIZE) as pilot:
        await again.loaded(pilot)
        assert watched.key in watches(again)
        await again.until(pilot, lambda: again.watched_rows() == {watched.key}, "the ◎ again")


async def test_told_when_it_passes_its_last_peak(frozen, monkeypatch, tmp_path):
    demo, effects = ringing(frozen, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        watched = await watch_checkout(demo, pilot)
        assert watched.armed  # the demo opens with the spike coming down
        change_metric(demo, amp=10.0)  # it rises far past its peak
        demo.advance(61)
        await demo.until(pilot, lambda: effects.bells > 0, "the bell for the new peak")
        await demo.until(pilot, lambda: told(demo, "passed its last peak"), "the toast")
        [text] = told(demo, "passed its last peak")
        assert text.startswith(f"“{CHECKOUT}” passed its last peak: now ")
        assert text.endswith(f"the peak was {format_value(watched.peak, '')}.")
        [(title, body)] = effects.desktop()
        assert title == "oncall-tui: watch" and "passed its last peak" in body
        assert watched.key in watches(demo)  # still watched


async def test_told_when_it_resolves_and_the_watch_ends(frozen, monkeypatch, tmp_path):
    demo, effects = ringing(frozen, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        watched = await watch_checkout(demo, pilot)
        change_metric(demo, base=0.0, amp=0.0)  # it stops firing
        demo.advance(61)
        await demo.until(pilot, lambda: not watches(demo), "the watch ended")
        await demo.until(pilot, lambda: effects.bells > 0, "the bell")
        await demo.until(pilot, lambda: told(demo, f"“{CHECKOUT}”"), "the toast")
        [text] = told(demo, f"“{CHECKOUT}”")
        assert text.endswith("It is no longer watched.")
        assert "resolved" in text
        assert watched.key not in watch_file().read_text()


async def test_quiet_holds_the_bell_for_a_watch_too(frozen, monkeypatch, tmp_path):
    demo, effects = ringing(frozen, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await watch_checkout(demo, pilot)
        demo.app.notifier.start_quiet(timedelta(hours=1))
        change_metric(demo, base=0.0, amp=0.0)
        demo.advance(61)
        await demo.until(pilot, lambda: not watches(demo), "the watch ended")
        await demo.until(
            pilot, lambda: any("no longer watched. (no bell" in n for n in demo.notices()), ""
        )
        assert effects.bells == 0 and effects.desktop() == []


async def test_watching_a_page_watches_the_metric_of_the_grafana_alert_behind_it(
    frozen, monkeypatch, tmp_path
):
    demo = FrozenDemo(frozen, background_alerts=0, ui=RINGING, actions=NO_REMINDERS)
    Effects(demo, monkeypatch, tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        demo.advance(6)  # the scripted page reaches me
        await demo.settle(pilot)
        await demo.until(pilot, lambda: demo.my_triggered_page() is not None, "the page")
        row = demo.move_to(lambda r: r.kind == "page" and r.state == "triggered")
        await demo.settle(pilot)
        await pilot.press("W")
        await demo.until(pilot, lambda: row.key in watches(demo), "watched")
        watched = watches(demo)[row.key]
        assert watched.page_ids == row.page_ids
        assert watched.metric_key == row.source_key and watched.metric_key.startswith("grafana")
        assert watched.peak is not None
        await demo.until(pilot, lambda: told(demo, f"Watching “{row.title}”"), "the words")
        [said] = told(demo, f"Watching “{row.title}”")
        assert format_value(watched.peak, watched.unit) in said
