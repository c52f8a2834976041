"""Start the dashboard: build the app for the settings and run it."""

from __future__ import annotations

from oncall_tui.config import Settings


def launch(settings: Settings, *, demo: bool, readonly: bool, theme: str | None) -> int:
    from oncall_tui.ui.app import OnCallApp

    app = OnCallApp(settings, demo=demo, readonly=readonly, theme_name=theme)
    result = app.run()
    return int(result or 0)
