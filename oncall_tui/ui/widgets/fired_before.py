"""The detail's "Fired before?" section: a strip of firings per day over the last seven
days, when it last fired, which source that came from, and what each source answered.

The rule and the asking are :mod:`oncall_tui.core.history`'s; this widget asks it on
demand for the alert the detail shows (after a short pause, so moving the cursor over
rows asks nothing), in a worker that never holds up the screen, and draws the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from oncall_tui.core import timefmt
from oncall_tui.core.history import HistoryService, HistoryView
from oncall_tui.domain import Alert
from oncall_tui.ui.text import clean

__all__ = ["FiredBefore", "history_content", "strip_cells"]

ASK_AFTER = 0.3  # seconds the cursor rests on a row before its sources are asked
BARS = "▁▂▃▄▅▆▇█"
TITLE = "Fired before? "


def strip_cells(counts: list[int]) -> str:
    """One cell per day: "·" for none, else a bar as high as its share of the busiest."""
    peak = max(counts, default=0)
    return "".join(
        "·" if c <= 0 else BARS[max(0, math.ceil(c / peak * len(BARS)) - 1)] for c in counts
    )


def history_content(view: HistoryView, now: datetime, zone: timefmt.ZoneLike = None) -> Content:
    """The section's text for an answer."""
    parts: list[tuple[str, str] | str] = [(TITLE, "bold $foreground-muted")]
    counts = [c for _, c in view.days]
    if view.available:
        times = "once" if view.total == 1 else f"{view.total} times"
        parts.append((strip_cells(counts), "bold $major" if view.total else "$foreground-muted"))
        parts.append(f"  {times} in 7 days" if view.total else "  not in 7 days")
        days = "".join(d.strftime("%a")[0] for d, _ in view.days)
        parts.append((f"\n{' ' * len(TITLE)}{days}\n", "$foreground-muted"))
        if view.last is not None:
            when = timefmt.format_time(view.last, zone, now=now, with_zone=False)
            parts.append(f"last {when} ({timefmt.ago(view.last, now)}), ")
        source = f"from {clean(view.source, limit=80)}"
        if view.partial:
            source += f": {clean(view.partial, limit=120)}"
        parts.append((source, "$foreground-muted"))
    else:
        parts.append(("no history available", "$warning"))
    for probe in view.probes:
        if probe.used:
            continue
        parts.append(
            (
                f"\n  {clean(probe.source, limit=60)}: {clean(probe.words, limit=300)}",
                "$foreground-muted",
            )
        )
    return Content.assemble(*parts)


class FiredBefore(Static):
    """The section. :meth:`show_for` asks for (or draws the kept answer for) an alert."""

    DEFAULT_CSS = """
    FiredBefore { height: auto; margin: 1 0; }
    FiredBefore.-empty { display: none; }
    """

    def __init__(self) -> None:
        super().__init__(markup=False, classes="-empty")
        self._key: str | None = None  # the alert shown, or asked about
        self._timer: Timer | None = None
        self._asking = False  # a question for ``_key`` is waiting or in flight
        self._clock: Callable[[], datetime] = timefmt.utcnow
        self._zone: timefmt.ZoneLike = None

    def show_nothing(self, reason: str = "") -> None:
        """No alert to ask about ("" hides the section)."""
        self._cancel()
        self._key = None
        self.set_class(not reason, "-empty")
        self.update(
            Content.assemble(
                (TITLE, "bold $foreground-muted"), (f"no history available: {reason}", "$warning")
            )
        )

    def show_for(
        self,
        alert: Alert | None,
        service: HistoryService,
        *,
        also: Alert | None = None,
        reason: str = "",
    ) -> None:
        """Draw ``alert``'s answer if it is kept; else say it is being asked, and ask
        once the cursor has rested (a new alert cancels the question before). ``also``
        is the row's incident.io alert when ``alert`` is the Grafana one behind it."""
        if alert is None:
            self.show_nothing(reason)
            return
        self._clock, self._zone = service.clock, service.zone
        view = service.cached(alert)
        if view is not None:
            self._cancel()
            self._key = alert.key
            self._draw(view)
            return
        if self._key == alert.key and self._asking:
            return  # already asking
        if self._key != alert.key:  # (the same alert keeps its old answer while asked again)
            self._cancel()
            self._key = alert.key
            self.remove_class("-empty")
            self.update(
                Content.assemble(
                    (TITLE, "bold $foreground-muted"), ("asking its sources…", "$foreground-muted")
                )
            )
        self._asking = True
        self._timer = self.set_timer(ASK_AFTER, lambda: self._ask(alert, service, also))

    def _ask(self, alert: Alert, service: HistoryService, also: Alert | None) -> None:
        self._timer = None
        if self._key == alert.key:
            self.run_worker(
                self._fetch(alert, service, also),
                group="history",
                exclusive=True,
                exit_on_error=False,
            )

    async def _fetch(self, alert: Alert, service: HistoryService, also: Alert | None) -> None:
        try:
            view = await service.fetch(alert, also=also)
        except Exception as exc:  # each source's failure is already words; this is a bug's
            if self._key == alert.key:
                self._asking = False
                self.show_nothing(f"the sources could not be asked ({type(exc).__name__})")
            raise
        if self._key == alert.key:
            self._asking = False
            self._draw(view)

    def _draw(self, view: HistoryView) -> None:
        self.remove_class("-empty")
        self.update(history_content(view, self._clock(), self._zone))

    def _cancel(self) -> None:
        self._asking = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
