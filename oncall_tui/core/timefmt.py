"""Times and durations in words a person reads at 3 a.m.

Everything here is pure: the current time is always a parameter. Times are stored as
aware UTC datetimes and shown in the user's zone with the zone named ("Tue 14:05 CET"),
or in UTC on demand. Durations are measured on the UTC time line, so a shift across a
clock change is as long as it really is; day labels are computed on the calendar of the
zone being shown, so "Tomorrow" means the user's tomorrow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "UTC_ZONE",
    "ago",
    "countdown",
    "day_label",
    "format_clock",
    "format_duration",
    "format_range",
    "format_time",
    "local_midnight",
    "relative",
    "resolve_zone",
    "time_left",
    "utcnow",
    "zone_label",
    "zone_name",
]

UTC_ZONE = ZoneInfo("UTC")

ZoneLike = str | tzinfo | None

_MINUTE = 60
_HOUR = 3600
_DAY = 86400


def utcnow() -> datetime:
    """Now, in UTC: the one wall clock the product reads (tests and the engine pass their
    own clock where time must stand still)."""
    return datetime.now(UTC)


def resolve_zone(zone: ZoneLike) -> tzinfo:
    """Turn an IANA name (or a tzinfo) into a tzinfo; unknown or empty names become UTC.

    An API can send a zone name this machine does not know; showing UTC (and naming it)
    is better than failing to show the schedule.
    """
    if zone is None:
        return UTC_ZONE
    if isinstance(zone, tzinfo):
        return zone
    name = zone.strip()
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC_ZONE


def zone_name(zone: ZoneLike) -> str:
    """The IANA name of a zone ("Europe/London"), or "UTC"."""
    tz = resolve_zone(zone)
    key = getattr(tz, "key", None)
    if key:
        return "UTC" if key in ("UTC", "Etc/UTC", "Etc/Zulu", "Zulu") else key
    return tz.tzname(None) or "UTC"


def _aware(t: datetime) -> datetime:
    # Naive datetimes are taken as UTC: the domain promises aware UTC everywhere, and a
    # naive one slipping through must not be read as local machine time.
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def zone_label(t: datetime, zone: ZoneLike) -> str:
    """The abbreviation in force at ``t`` ("CET", "BST", "EDT", "UTC").

    Zones whose only abbreviation is a number ("-03") are written "UTC-03".
    """
    tz = resolve_zone(zone)
    local = _aware(t).astimezone(tz)
    abbr = local.tzname() or ""
    if not abbr or abbr[0] in "+-" or (abbr.startswith("UTC") and len(abbr) > 3):
        offset = local.utcoffset() or timedelta(0)
        total = int(offset.total_seconds())
        if total == 0:
            return "UTC"
        sign = "+" if total > 0 else "-"
        hours, rem = divmod(abs(total), _HOUR)
        minutes = rem // _MINUTE
        return f"UTC{sign}{hours:02d}" + (f":{minutes:02d}" if minutes else "")
    return abbr


def format_clock(t: datetime, zone: ZoneLike = None, *, with_zone: bool = True) -> str:
    """ "14:05 CET" (or "14:05" without the zone)."""
    local = _aware(t).astimezone(resolve_zone(zone))
    text = local.strftime("%H:%M")
    return f"{text} {zone_label(t, zone)}" if with_zone else text


def format_time(
    t: datetime,
    zone: ZoneLike = None,
    *,
    now: datetime | None = None,
    with_zone: bool = True,
) -> str:
    """ "Tue 14:05 CET".

    With ``now`` given, a time more than six days away also carries the date
    ("Tue 24 Nov 14:05 CET") so a weekday is never ambiguous; a time in another year
    carries the year.
    """
    t = _aware(t)
    tz = resolve_zone(zone)
    local = t.astimezone(tz)
    text = local.strftime("%a %H:%M")
    if now is not None:
        today = _aware(now).astimezone(tz).date()
        delta = abs((local.date() - today).days)
        if local.year != today.year and delta > 6:
            text = local.strftime("%a %d %b %Y %H:%M")
        elif delta > 6:
            text = local.strftime("%a %d %b %H:%M")
    return f"{text} {zone_label(t, tz)}" if with_zone else text


def format_range(start: datetime, end: datetime, zone: ZoneLike = None) -> str:
    """A window in one zone: "Tue 09:00–17:00 CET", or "Tue 22:00 – Wed 06:00 CET".

    When the zone's abbreviation changes inside the window (a clock change), both ends
    are named: "Sat 22:00 GMT – Sun 06:00 BST".
    """
    tz = resolve_zone(zone)
    a = _aware(start).astimezone(tz)
    b = _aware(end).astimezone(tz)
    za, zb = zone_label(start, tz), zone_label(end, tz)
    if za != zb:
        return f"{a.strftime('%a %H:%M')} {za} – {b.strftime('%a %H:%M')} {zb}"
    if a.date() == b.date():
        return f"{a.strftime('%a %H:%M')}–{b.strftime('%H:%M')} {za}"
    if (
        b - a <= timedelta(days=1)
        and b.hour == 0
        and b.minute == 0
        and b.date() == (a.date() + timedelta(days=1))
    ):
        # Ends at midnight: "Tue 18:00–24:00" reads better than "Tue 18:00 – Wed 00:00".
        return f"{a.strftime('%a %H:%M')}–24:00 {za}"
    if (b.date() - a.date()).days > 6:
        return f"{a.strftime('%a %d %b %H:%M')} – {b.strftime('%a %d %b %H:%M')} {za}"
    return f"{a.strftime('%a %H:%M')} – {b.strftime('%a %H:%M')} {za}"


def _seconds(value: timedelta | float | int) -> int:
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


def format_duration(value: timedelta | float | int) -> str:
    """A length of time, two units at most, rounded down: "45s", "5m", "2h 14m",
    "1d 3h", "3 days". Negative lengths are shown as their size."""
    s = abs(_seconds(value))
    if s < _MINUTE:
        return f"{s}s"
    if s < _HOUR:
        return f"{s // _MINUTE}m"
    if s < _DAY:
        hours, rem = divmod(s, _HOUR)
        minutes = rem // _MINUTE
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, rem = divmod(s, _DAY)
    if days < 3:
        hours = rem // _HOUR
        return f"{days}d {hours}h" if hours else f"{days}d"
    return f"{days} days"


def time_left(end: datetime, now: datetime) -> str:
    """ "2h 14m left", "under a minute left", or "ended" once ``end`` has passed."""
    s = _seconds(_aware(end) - _aware(now))
    if s <= 0:
        return "ended"
    if s < _MINUTE:
        return "under a minute left"
    return f"{format_duration(s)} left"


def countdown(t: datetime, now: datetime) -> str:
    """How long until ``t``: "in 5m", "in 2h 14m", "in 3 days", "in under a minute";
    "now" once it has come."""
    s = _seconds(_aware(t) - _aware(now))
    if s <= 0:
        return "now"
    if s < _MINUTE:
        return "in under a minute"
    return f"in {format_duration(s)}"


def ago(t: datetime, now: datetime) -> str:
    """How long since ``t``: "just now", "5m ago", "2h 14m ago", "3 days ago".

    A time slightly in the future (clock skew between us and the API) is "just now".
    """
    s = _seconds(_aware(now) - _aware(t))
    if s < _MINUTE:
        return "just now"
    return f"{format_duration(s)} ago"


def relative(t: datetime, now: datetime) -> str:
    """ "in 2h 14m" for the future, "5m ago" for the past, "just now" around now."""
    s = _seconds(_aware(t) - _aware(now))
    if -_MINUTE < s < _MINUTE:
        return "just now"
    return countdown(t, now) if s > 0 else ago(t, now)


def local_midnight(day: date, zone: ZoneLike) -> datetime:
    """The UTC instant at which ``day`` starts in ``zone``.

    A zone that skips midnight on a clock change (some do) starts the day at the first
    instant that exists.
    """
    tz = resolve_zone(zone)
    # For a wall time inside a gap, fold=0 applies the offset in force before the jump,
    # which lands exactly on the transition: the first instant of that day.
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def day_label(t: datetime, now: datetime, zone: ZoneLike = None) -> str:
    """ "Today", "Tomorrow", "Yesterday", a weekday within the coming week ("Thursday"),
    or a date ("Tue 24 Nov", with the year when it differs)."""
    tz = resolve_zone(zone)
    d = _aware(t).astimezone(tz).date()
    today = _aware(now).astimezone(tz).date()
    delta = (d - today).days
    if delta == 0:
        return "Today"
    if delta == 1:
        return "Tomorrow"
    if delta == -1:
        return "Yesterday"
    if 1 < delta < 7:
        return d.strftime("%A")
    if d.year != today.year:
        return d.strftime("%a %d %b %Y")
    return d.strftime("%a %d %b")
