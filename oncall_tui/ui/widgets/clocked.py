"""A widget that reads the time from one injected clock (tests freeze it), never on its own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypedDict

from textual.widget import Widget

from oncall_tui.core.timefmt import utcnow

Clock = Callable[[], datetime]


class ClockedWidget(Widget):
    """A widget whose "now" is ``self._clock()``: the clock given, else the real UTC time."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock: Clock = clock or utcnow


class ClockedOptions(TypedDict, total=False):
    """What a :class:`ClockedWidget` subclass passes on to it."""

    clock: Clock | None
    name: str | None
    id: str | None
    classes: str | None
