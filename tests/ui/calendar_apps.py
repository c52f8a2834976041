"""A demo-world session with a fixed clock, and an app hosting the calendar screen.

The clock is fixed (Tuesday 24 November 2026, 10:00 UTC) and the display zone is
Europe/London (GMT then), so the views and the snapshots are stable.
"""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App

from oncall_tui.config import Settings, UiConfig, UserConfig
from oncall_tui.core.session import open_session
from oncall_tui.sim.demo import build_demo
from oncall_tui.ui.app import SEMANTIC_DEFAULTS
from oncall_tui.ui.screens.calendar import CalendarScreen
from oncall_tui.ui.themes import DEFAULT_THEME, load_themes

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday; 10:00 GMT in London
ZONE = "Europe/London"


def clock() -> datetime:
    return NOW


def demo_session(
    *,
    readonly: bool = False,
    now=clock,
    zone: str = ZONE,
    ui: UiConfig | None = None,
    wrap_io=None,
):
    """A session on the demo world; ``wrap_io`` wraps the incident.io transport (to
    inject failures)."""
    base = Settings(user=UserConfig(timezone=zone), ui=ui or UiConfig())
    demo = build_demo(base, clock=now, background_alerts=0)
    if wrap_io is not None:
        demo.transports["incident-io"] = wrap_io(demo.transports["incident-io"])
    return open_session(base, demo=demo, readonly=readonly, clock=now)


class CalendarApp(App[None]):
    """The calendar screen alone, under the default oncall theme."""

    def __init__(self, session) -> None:
        super().__init__()
        for theme in load_themes().themes.values():
            self.register_theme(theme)
        if DEFAULT_THEME in self.available_themes:
            self.theme = DEFAULT_THEME
        self.session = session
        self.opened: list[str] = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(SEMANTIC_DEFAULTS)

    def on_mount(self) -> None:
        self.push_screen(CalendarScreen(self.session))

    def open_url(self, url: str, *, new_tab: bool = True, what: str = "link") -> None:
        # never a browser in tests
        self.opened.append(url)

    async def on_unmount(self) -> None:
        await self.session.aclose()
