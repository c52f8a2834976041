"""What every full screen of the app shares: the app, typed, and the one way an action
runs and says what happened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from textual import events
from textual.notifications import SeverityLevel
from textual.screen import Screen

from oncall_tui.core.actions import ActionError, Outcome
from oncall_tui.safety import clean_text

if TYPE_CHECKING:
    from oncall_tui.ui.app import OnCallApp

SAY_SECONDS = 6  # how long what happened stays on screen
FAIL_SECONDS = 12  # and what did not happen, and why
MAX_DETAILS = 8  # member-by-member lines of a grouped action shown as toasts


class AppScreen(Screen):
    """A full screen of :class:`~oncall_tui.ui.app.OnCallApp`: other screens are opened
    with the app's methods (``self.oncall.open_calendar()``), never looked up by name;
    actions run through :meth:`perform`."""

    @property
    def oncall(self) -> OnCallApp:
        return cast("OnCallApp", self.app)

    def unavailable_reason(self, action: str) -> str | None:
        """Why ``action`` cannot run now, in words (None when it can). A screen's
        ``check_action`` dims such keys in the footer; pressing one says this."""
        return None

    def on_key(self, event: events.Key) -> None:
        """A key that is dimmed right now says why when pressed, instead of nothing."""
        active = self.active_bindings.get(event.key)
        if active is None or active.enabled or active.node is not self:
            return
        reason = self.unavailable_reason(active.binding.action)
        if reason:
            event.stop()
            self.app.notify(reason, severity="warning", timeout=5, markup=False)

    def say(self, message: str, severity: SeverityLevel = "information") -> None:
        self.app.notify(
            clean_text(message, limit=600), severity=severity, timeout=SAY_SECONDS, markup=False
        )

    def fail(self, message: str) -> None:
        self.app.notify(
            clean_text(message, limit=600), severity="error", timeout=FAIL_SECONDS, markup=False
        )

    def report(self, outcome: Outcome) -> None:
        """What an action did, in words: its message, then each member's result."""
        self.say(outcome.message)
        for line in outcome.details[:MAX_DETAILS]:
            self.say(line)

    async def perform(self, action: Callable[[], Awaitable[object]]) -> Outcome | None:
        """Run an action and say what happened: its outcome, or why it did not happen.
        Never raises: an action never ends the screen. The outcome, or None when the
        action was refused or failed (or answers no outcome of its own)."""
        try:
            result = await action()
        except ActionError as exc:
            self.fail(str(exc))
            return None
        except Exception as exc:  # an action never kills the screen
            self.fail(f"Unexpected error: {clean_text(str(exc), limit=300)}")
            return None
        if isinstance(result, Outcome):
            self.report(result)
            return result
        return None
