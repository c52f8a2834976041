"""What every full screen of the app shares: the app, typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from oncall_tui.ui.app import OnCallApp


class AppScreen(Screen):
    """A full screen of :class:`~oncall_tui.ui.app.OnCallApp`: other screens are opened
    with the app's methods (``self.oncall.open_calendar()``), never looked up by name."""

    @property
    def oncall(self) -> OnCallApp:
        return cast("OnCallApp", self.app)
