"""The form behind "mark me unavailable" and "ask a colleague to cover".

It asks for a range (from/to in my display zone, typed the same way as on the command
line: ``tomorrow``, ``2026-12-24``, ``mon 09:00``…, or set to the day or the week at the
calendar's cursor with one key), which schedules, and for cover, who. It only reads
the answers; the calendar plans, confirms and applies (see ``core/overrides.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, SelectionList, Static

from oncall_tui.core import availability, calendar, timefmt
from oncall_tui.core.overrides import parse_when
from oncall_tui.domain import Schedule, User
from oncall_tui.ui.text import clean, plain_content


@dataclass(frozen=True, slots=True)
class AvailabilityRequest:
    kind: str  # unavailable | cover
    start: datetime
    end: datetime
    schedule_ids: tuple[str, ...]
    colleague: str = ""  # email or name, for cover


def _fmt(t: datetime, zone) -> str:
    return t.astimezone(timefmt.resolve_zone(zone)).strftime("%Y-%m-%d %H:%M")


class AvailabilityScreen(ModalScreen[AvailabilityRequest | None]):
    DEFAULT_CSS = """
    AvailabilityScreen { align: center middle; background: $background 60%; }
    AvailabilityScreen > Vertical {
        width: 76; max-width: 98%; height: auto; max-height: 98%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    AvailabilityScreen .title { text-style: bold; color: $primary; }
    AvailabilityScreen .row { height: 1; }
    AvailabilityScreen .row Static { width: 10; }
    AvailabilityScreen .row Input { width: 1fr; }
    AvailabilityScreen .row Button { width: auto; margin-right: 2; }
    AvailabilityScreen #av-range { color: $text-muted; height: auto; }
    AvailabilityScreen #av-error { color: $error; height: auto; }
    AvailabilityScreen SelectionList { height: auto; max-height: 6; }
    AvailabilityScreen .buttons { height: 1; align-horizontal: right; }
    AvailabilityScreen .buttons Button { margin-left: 2; }
    AvailabilityScreen .hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="availability.cancel"),
        Binding("f2", "preset('day')", "Day at cursor", id="availability.day"),
        Binding("f3", "preset('week')", "Week at cursor", id="availability.week"),
        Binding("ctrl+s", "submit", "Plan", id="availability.submit"),
    ]

    def __init__(
        self,
        kind: str,
        *,
        schedules: Sequence[Schedule],
        selected: Sequence[str],
        people: Sequence[User],
        cursor: datetime,
        now: datetime,
        zone,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.schedules = list(schedules)
        self.preselected = set(selected)
        self.people = list(people)
        self.cursor = cursor
        self.now = now
        self.zone = zone

    def compose(self) -> ComposeResult:
        zone = timefmt.zone_name(self.zone)
        title = (
            "Mark me unavailable (override to no one)"
            if self.kind == availability.KIND_UNAVAILABLE
            else "Ask a colleague to cover (override to them)"
        )
        start, end = calendar.day_bounds(self.cursor, self.zone)
        with Vertical():
            yield Static(title, classes="title", markup=False)
            with Horizontal(classes="row"):
                yield Static("From", markup=False)
                yield Input(_fmt(start, self.zone), id="av-from", compact=True)
            with Horizontal(classes="row"):
                yield Static("To", markup=False)
                yield Input(_fmt(end, self.zone), id="av-to", compact=True)
            if self.kind == availability.KIND_COVER:
                names = [u.name for u in self.people] + [u.email for u in self.people if u.email]
                with Horizontal(classes="row"):
                    yield Static("Who", markup=False)
                    yield Input(
                        placeholder="colleague's email or name",
                        id="av-who",
                        compact=True,
                        suggester=SuggestFromList(names, case_sensitive=False),
                    )
            with Horizontal(classes="row"):
                yield Static("", markup=False)
                yield Button("Day at cursor (F2)", id="av-day", compact=True)
                yield Button("Week at cursor (F3)", id="av-week", compact=True)
            yield Static("", id="av-range", markup=False)
            yield SelectionList[str](
                *[
                    (clean(s.name, limit=80), s.id, s.id in self.preselected)
                    for s in self.schedules
                ],
                id="av-schedules",
                compact=True,
            )
            yield Static("", id="av-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="av-cancel", compact=True)
                yield Button("Plan…", id="av-plan", variant="primary", compact=True)
            yield Static(
                f"Times in {zone}: 2026-12-24 09:00, tomorrow, mon 14:00 · a date alone in To "
                "means the end of that day · Space toggles a schedule · ^S or Enter plans · "
                "Esc cancels",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#av-from", Input).focus()
        self._show_range()

    def _read(self) -> tuple[datetime, datetime]:
        start = parse_when(self.query_one("#av-from", Input).value, now=self.now, zone=self.zone)
        end = parse_when(
            self.query_one("#av-to", Input).value, now=self.now, zone=self.zone, end=True
        )
        return start, end

    def _show_range(self) -> None:
        label = self.query_one("#av-range", Static)
        try:
            start, end = self._read()
        except ValueError as exc:
            label.update(Content.styled(str(exc), "$error"))
            return
        if end <= start:
            label.update(Content.styled("The end must be after the start.", "$error"))
            return
        text = (
            f"{timefmt.format_range(start, end, self.zone)} "
            f"({timefmt.format_duration(end - start)})"
        )
        label.update(plain_content(text))

    @on(Input.Changed, "#av-from")
    @on(Input.Changed, "#av-to")
    def _changed(self) -> None:
        self._show_range()

    @on(Button.Pressed, "#av-day")
    def _day(self) -> None:
        self.action_preset("day")

    @on(Button.Pressed, "#av-week")
    def _week(self) -> None:
        self.action_preset("week")

    def action_preset(self, which: str) -> None:
        if which == "week":
            start, end = calendar.week_bounds(self.cursor, self.zone)
        else:
            start, end = calendar.day_bounds(self.cursor, self.zone)
        self.query_one("#av-from", Input).value = _fmt(start, self.zone)
        self.query_one("#av-to", Input).value = _fmt(end, self.zone)
        self._show_range()

    @on(Input.Submitted)
    @on(Button.Pressed, "#av-plan")
    def action_submit(self) -> None:
        error = self.query_one("#av-error", Static)
        try:
            start, end = self._read()
        except ValueError as exc:
            error.update(str(exc))
            return
        if end <= start:
            error.update(
                "The end is not after the start (a date alone in To means the end of that day)."
            )
            return
        chosen = tuple(self.query_one(SelectionList).selected)
        if not chosen:
            error.update("Pick at least one schedule (Space toggles).")
            return
        who = ""
        if self.kind == availability.KIND_COVER:
            who = self.query_one("#av-who", Input).value.strip()
            if not who:
                error.update("Name the colleague who covers you (email or name).")
                self.query_one("#av-who", Input).focus()
                return
        self.dismiss(AvailabilityRequest(self.kind, start, end, chosen, who))

    @on(Button.Pressed, "#av-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
