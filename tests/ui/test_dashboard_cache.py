"""Draw at once: the last run's snapshot is on screen before any backend answers, marked
with its age, and each part is replaced as its feed answers. The cache file is the
user's only, holds no token, and a damaged or foreign file is ignored."""

from __future__ import annotations

import asyncio
import os
import pickle
import stat
from datetime import UTC, datetime, timedelta

from oncall_tui.config import Settings
from oncall_tui.core import paging, snapcache
from oncall_tui.core.session import cache_identity
from oncall_tui.core.sync import World
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.status_bar import StatusBar


async def write_cache() -> tuple[set[str], str]:
    """A first run: poll every feed once, close (which saves). Returns the titles it
    saw and the shift panel's first text."""
    session = make_session(Settings(), demo=True, readonly=False, cache=True)
    await session.engine.poll_due()
    titles = {a.title for a in session.engine.snapshot().alerts}
    tokens = dict(session.demo.tokens) if session.demo else {}
    await session.aclose()
    return titles, next(iter(tokens.values()), "")


def hang_every_feed(session) -> asyncio.Event:
    """No backend answers until the returned event is set."""
    gate = asyncio.Event()
    for feed in session.engine.feeds:
        fetch = feed.fetch

        async def held(fetch=fetch):
            await gate.wait()
            return await fetch()

        feed.fetch = held
    return gate


async def test_the_cached_snapshot_is_drawn_before_any_backend_answers() -> None:
    titles, token = await write_cache()
    path = snapcache.default_path(demo=True)
    assert path.exists()
    # Only the user may read it, and it holds no token.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token and token.encode() not in path.read_bytes()

    session = make_session(Settings(), demo=True, readonly=False, cache=True)
    gate = hang_every_feed(session)
    app = OnCallApp(session.settings, demo=True, readonly=False, session=session)
    async with app.run_test(size=(150, 45)) as pilot:
        for _ in range(100):
            if app.screen.__class__.__name__ == "DashboardScreen":
                break
            await pilot.pause(0.02)
        await pilot.pause()
        table = app.screen.query_one(AlertTable)
        shown = {row.title for row in table.rows}
        assert shown & titles, "no cached row on screen"
        bar = app.screen.query_one(StatusBar)
        extras = bar.extras_content().plain
        assert "refreshing…" in extras and extras.startswith("from ")
        assert not any(h.last_ok for h in session.engine.snapshot().health)

        # The backends answer: the mark goes once every feed has.
        gate.set()
        for _ in range(200):
            if session.engine.snapshot().cached_from is None:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        assert session.engine.snapshot().cached_from is None
        assert "refreshing" not in app.screen.query_one(StatusBar).extras_content().plain
        await pilot.press("q")


def test_a_damaged_planted_or_foreign_cache_is_ignored(tmp_path) -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    path = tmp_path / "snapshot.cache"
    identity = cache_identity(Settings())
    assert snapcache.save(path, World(), identity, now)
    assert snapcache.load(path, identity, now) is not None
    # Another configuration's cache is not shown, nor a week-old one.
    assert snapcache.load(path, "elsewhere", now) is None
    assert snapcache.load(path, identity, now + timedelta(days=8)) is None
    # A file that would run code when read is refused, not run.
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path.write_bytes(pickle.dumps({"version": 1, "parts": Evil()}))
    assert snapcache.load(path, identity, now) is None
    assert not marker.exists()
    path.write_bytes(b"\x00garbage")
    assert snapcache.load(path, identity, now) is None


async def test_a_page_in_the_cache_is_not_announced_until_live_data_shows_it() -> None:
    """The last run's page to me is drawn from the cache, but only a live poll may ring
    for a page: the cached one was announced then, and may have moved on since."""
    session = make_session(Settings(), demo=True, readonly=False, cache=True)
    for _ in range(80):  # run the demo until a page reaches me, then close (which saves)
        await session.engine.poll_due()
        snap = session.engine.snapshot()
        if paging.new_pages_to_me(snap.pages, snap.paths, snap.me, frozenset()).new:
            break
        await asyncio.sleep(0.25)
    else:
        raise AssertionError("the demo never paged me")
    await session.aclose()

    session = make_session(Settings(), demo=True, readonly=False, cache=True)
    gate = hang_every_feed(session)
    app = OnCallApp(session.settings, demo=True, readonly=False, session=session)
    async with app.run_test(size=(150, 45)) as pilot:
        for _ in range(100):
            if app.screen.__class__.__name__ == "DashboardScreen":
                break
            await pilot.pause(0.02)
        await pilot.pause(0.3)
        table = app.screen.query_one(AlertTable)
        assert any(row.kind == "page" for row in table.rows), "no cached page on screen"
        assert not [n for n in app._notifications if n.title == "New page"]
        gate.set()
    await session.aclose()
