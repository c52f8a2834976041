"""Lengths of time a person types: "15m", "2h", "1h30m", "90" (minutes), "until 14:00",
"until tomorrow 09:00". One reader for the dialogs and the command line alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from oncall_tui.core import timefmt
from oncall_tui.safety import clean_text

_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![a-z])"
)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_CLOCK = re.compile(r"^(?:until\s+)?(tomorrow\s+)?(\d{1,2})(?::(\d{2}))?\s*$")
MAX_DURATION = timedelta(days=30)
_TRY = "try 30m, 2h, 1h30m or until 14:00"


def parse_duration(
    text: str, *, now: datetime | None = None, zone: timefmt.ZoneLike = None
) -> timedelta:
    """ "15m", "2h", "1h30m", "1h 30m", "90" (minutes), "until 14:00", "until tomorrow
    09:00" → a positive timedelta (at most 30 days). Raises ValueError in words."""
    raw = clean_text(text, limit=100).strip().lower()
    if not raw:
        raise ValueError("type a duration such as 30m, 2h or 1h30m, or a time: until 14:00")
    clock = _CLOCK.match(raw)
    if clock and (raw.startswith("until") or ":" in raw):
        now = now or datetime.now(UTC)
        hour, minute = int(clock.group(2)), int(clock.group(3) or 0)
        if hour > 23 or minute > 59:
            raise ValueError(f"{hour:02d}:{minute:02d} is not a time of day")
        tz = timefmt.resolve_zone(zone)
        local = now.astimezone(tz)
        target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if clock.group(1) or target <= local:
            target += timedelta(days=1)
        delta = target.astimezone(UTC) - now.astimezone(UTC)
    elif raw.isdigit():
        delta = timedelta(minutes=int(raw))
    else:
        pos = 0
        seconds = 0.0
        squeezed = raw.replace(",", " ")
        for match in _PART.finditer(squeezed):
            if squeezed[pos : match.start()].strip():
                raise ValueError(f"cannot read {clean_text(text, limit=40).strip()!r}: {_TRY}")
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)[0]]
            pos = match.end()
        if pos == 0 or squeezed[pos:].strip():
            raise ValueError(f"cannot read {clean_text(text, limit=40).strip()!r}: {_TRY}")
        delta = timedelta(seconds=seconds)
    if delta <= timedelta(0):
        raise ValueError("the duration must be more than zero")
    if delta > MAX_DURATION:
        raise ValueError("at most 30 days")
    return delta


def describe_duration(
    delta: timedelta, *, now: datetime | None = None, zone: timefmt.ZoneLike = None
) -> str:
    """ "2h 30m (until Tue 16:30 CET)"."""
    text = timefmt.format_duration(delta)
    if now is not None:
        text += f" (until {timefmt.format_time(now + delta, zone, now=now)})"
    return text
