"""The quiet toggle (``Q``, and "Quiet notifications" in the palette): no bell and no
desktop notification for a set time, chosen in the duration dialog; ``Q`` again ends it.
The rule and the memory are :mod:`oncall_tui.core.notify`'s; this only asks and tells."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from oncall_tui.ui.screens.modals import DEFAULT_PRESETS, DurationScreen

# Half an hour to a night's sleep.
QUIET_PRESETS = (*DEFAULT_PRESETS[1:], timedelta(hours=8))

if TYPE_CHECKING:
    from oncall_tui.core.session import Session
    from oncall_tui.ui.screens.base import AppScreen


def quiet_words(session: Session | None) -> str:
    """For the status bar: "quiet until 03:40" while quiet is on, else ""."""
    notifier = getattr(session, "notifier", None)
    return notifier.quiet_words() if notifier is not None else ""


def toggle_quiet(screen: AppScreen) -> None:
    """Quiet on (after asking how long), or off when it is on; each says what it did."""
    app = screen.oncall
    notifier = app.notifier
    if notifier is None:
        app.notify("Nothing to quieten: there is no data source.", severity="warning")
        return
    if notifier.quiet_until() is not None:
        app.notify(notifier.end_quiet(), title="Quiet", timeout=10, markup=False)
        return

    def chosen(duration: timedelta | None) -> None:
        if not duration:
            app.notify("Quiet not started: nothing was changed.", timeout=4, markup=False)
            return
        app.notify(notifier.start_quiet(duration), title="Quiet", timeout=10, markup=False)

    app.push_screen(
        DurationScreen(
            "Quiet notifications for how long?",
            presets=QUIET_PRESETS,
            clock=notifier.clock,
            zone=notifier.zone,
        ),
        chosen,
    )
