"""The silence list's moving keys, each by where the cursor lands: Down/Up one silence,
PageDown/PageUp a screenful, End/Home the last and the first."""

from __future__ import annotations

from datetime import timedelta

from factories import until
from test_silences_screen import demo, make_app, open_silences, utcnow  # noqa: F401

from oncall_tui.sim.silences import _add, _matcher
from oncall_tui.ui.widgets.silence_list import SilenceList


def position(listing: SilenceList) -> int:
    current = listing.current
    assert current is not None
    return [(r.source, r.id) for r in listing.silence_rows].index((current.source, current.id))


async def test_down_up_pagedown_pageup_end_home_move_the_cursor(demo):  # noqa: F811
    am = demo.grafana["us"].grafana_am
    now = utcnow()
    for n in range(60):
        _add(am, [_matcher("alertname", f"Noise{n:02d}")], now, now + timedelta(hours=1 + n),
             f"user{n}", f"bulk {n}")  # fmt: skip
    app = make_app(demo)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_silences(app, pilot)
        listing = screen.query_one(SilenceList)
        listing.focus()
        await pilot.press("home")
        await until(pilot, lambda: position(listing) == 0, "Home: the first silence")
        await pilot.press("down")
        await until(pilot, lambda: position(listing) == 1, "Down: the next silence")
        await pilot.press("up")
        await until(pilot, lambda: position(listing) == 0, "Up: back to the first")
        await pilot.press("pagedown")
        await until(pilot, lambda: position(listing) > 5, "PageDown: a screenful down")
        paged = position(listing)
        await pilot.press("pageup")
        await until(pilot, lambda: position(listing) < paged - 5, "PageUp: a screenful up")
        await pilot.press("end")
        last = len(listing.silence_rows) - 1
        await until(pilot, lambda: position(listing) == last, "End: the last silence")
