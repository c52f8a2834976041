"""Draw at once: with the last run's snapshot cached for this configuration, the first
frame is the dashboard drawn from it before the settings, the session, the backends and
their heavy imports are loaded; the dashboard then takes its place. Any other start (no
cache, another configuration) waits for the settings as before."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from factories import until

from oncall_tui.config import Settings
from oncall_tui.core.startup import start_key
from oncall_tui.ui.launch import make_session, start_from_cache
from oncall_tui.ui.widgets.alert_table import AlertTable
from oncall_tui.ui.widgets.shift_panel import ShiftPanel
from oncall_tui.ui.widgets.status_bar import StatusBar

# What the first frame must not wait for.
HEAVY = ("httpx", "pydantic", "pydantic_settings", "keyring", "icalendar", "starlette", "tenacity")


async def write_cache() -> set[str]:
    """A first run of the demo: poll every feed once, close (which saves the snapshot
    with this start's key). The titles it saw."""
    key = start_key(None, demo=True)
    session = make_session(Settings(), demo=True, readonly=False, cache=True, start_key=key)
    await session.engine.poll_due()
    titles = {a.title for a in session.engine.snapshot().alerts}
    await session.aclose()
    return titles


async def test_the_first_frame_shows_the_cache_before_the_settings_are_loaded() -> None:
    titles = await write_cache()
    seen: dict[str, object] = {}

    def settings() -> Settings:
        # Asked for only now: what is on screen is the frame drawn from the cache.
        screen = app.screen
        seen["screen"] = type(screen).__name__
        seen["rows"] = {row.title for row in screen.query_one(AlertTable).rows}
        seen["shifts"] = " ".join(line.plain for line in screen.query_one(ShiftPanel).lines())
        seen["notice"] = screen.query_one(StatusBar).extras_content().plain
        return Settings.model_construct()

    app = start_from_cache(settings, config=None, demo=True, readonly=False, theme=None)
    assert app is not None
    async with app.run_test(size=(150, 45)) as pilot:
        await until(
            pilot,
            lambda: (
                type(app.screen).__name__ == "DashboardScreen"
                and app.screen.query(AlertTable)
                and app.screen.query_one(AlertTable).rows
            ),
        )
        assert seen["screen"] == "FirstFrameScreen"
        assert seen["rows"] & titles, "no cached row in the first frame"
        assert "ON CALL" in str(seen["shifts"])
        assert str(seen["notice"]).startswith("from ") and "refreshing…" in str(seen["notice"])
        # The dashboard that replaces it starts from the same snapshot, and polls.
        shown = {row.title for row in app.screen.query_one(AlertTable).rows}
        assert shown & titles
        assert app.session is not None
        await until(pilot, lambda: app.session.engine.polls > 0)
        await pilot.press("q")


async def test_no_cache_for_this_configuration_means_no_early_frame(tmp_path) -> None:
    await write_cache()
    config = tmp_path / "config.toml"
    config.write_text('[user]\nemail = "me@example.com"\n')
    # Another configuration (a config file with the demo), then none at all.
    assert (
        start_from_cache(Settings, config=str(config), demo=True, readonly=False, theme=None)
        is None
    )
    assert start_from_cache(Settings, config=None, demo=False, readonly=False, theme=None) is None


async def test_nothing_heavy_is_imported_before_the_first_frame() -> None:
    await write_cache()
    script = textwrap.dedent(
        f"""
        import sys
        import oncall_tui.ui.app as app_module

        def first_frame_drawn(app):
            heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
            print("heavy:", ",".join(heavy), "screen:", type(app.screen).__name__)
            app.exit(0)

        app_module.OnCallApp._open = first_frame_drawn
        from oncall_tui.ui.launch import start_from_cache

        app = start_from_cache(None, config=None, demo=True, readonly=False, theme=None)
        assert app is not None, "no early start"
        app.run(headless=True, size=(150, 45))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "heavy:  screen: FirstFrameScreen" in result.stdout, result.stdout
