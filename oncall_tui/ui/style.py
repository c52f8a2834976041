"""Display rules, once: how severities and states look (the theme's semantic colours:
``$critical``, ``$major``, ``$minor``, ``$info``, ``$acked``, ``$snoozed``) and how an age
reads in a cell.

Styles name theme variables; :func:`resolve` turns them into colours for widgets that
draw with Rich (the incident list) rather than Textual's content styles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from oncall_tui.core.resolved import STATE_CLOSED
from oncall_tui.core.views import (
    STATE_ACKED,
    STATE_FIRING,
    STATE_RESOLVED,
    STATE_SILENCED,
    STATE_SNOOZED,
    STATE_TRIGGERED,
)
from oncall_tui.domain import PAGE_PENDING_REPEAT

# Severity (as the sources name it, lower case) -> its semantic colour in the theme.
SEVERITY_CLASS = {
    "critical": "critical",
    "major": "major",
    "high": "major",
    "warning": "minor",
    "minor": "minor",
    "low": "info",
    "info": "info",
}
# Row state -> its look (the table's component class names).
STATE_CLASS = {
    STATE_TRIGGERED: "triggered",
    STATE_FIRING: "firing",
    PAGE_PENDING_REPEAT: "triggered",
    STATE_ACKED: "acked",
    STATE_SNOOZED: "snoozed",
    STATE_SILENCED: "snoozed",
    STATE_RESOLVED: "resolved",
    "expired": "resolved",
    "cancelled": "resolved",
    STATE_CLOSED: "resolved",  # a page no longer open (a recently resolved trace)
}
_CLASS_STYLE = {
    "critical": "bold $critical",
    "major": "bold $major",
    "minor": "$minor",
    "info": "$info",
    "triggered": "bold $critical",
    "firing": "$critical",
    "acked": "$acked",
    "snoozed": "$snoozed",
    "resolved": "$foreground-muted",
}


def severity_style(severity: str, default: str = "") -> str:
    """``bold $critical`` for "critical" or "Critical", ``default`` for one not known."""
    name = SEVERITY_CLASS.get(severity.casefold())
    return _CLASS_STYLE[name] if name else default


def state_style(state: str, default: str = "") -> str:
    name = STATE_CLASS.get(state)
    return _CLASS_STYLE[name] if name else default


_VARIABLE = re.compile(r"\$([a-z][a-z0-9-]*)")


def resolve(style: str, variables: Mapping[str, str]) -> str:
    """``style`` with each ``$name`` replaced by the theme's colour (dropped when the
    theme has none), for Rich text."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), ""), style).strip()


def compact_duration(seconds: float) -> str:
    """A short age for a cell: "45s", "12m", "2h05m", "14h", "3d04h", "12d"."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        hours, rest = divmod(s, 3600)
        return f"{hours}h{rest // 60:02d}m" if hours < 10 else f"{hours}h"
    days, rest = divmod(s, 86400)
    return f"{days}d{rest // 3600:02d}h" if days < 10 else f"{days}d"
