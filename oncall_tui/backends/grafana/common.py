"""The pieces every Grafana, Alertmanager and Prometheus module shares: the two
Alertmanager kinds, payload limits, severity names, time and label parsing, Grafana's error
body, and closing clients."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from oncall_tui.backends.http import (
    ApiClient,
    FieldError,
    default_error_parser,
)
from oncall_tui.safety import clean_text

KIND_GRAFANA = "grafana"
KIND_ALERTMANAGER = "alertmanager"

GRAFANA_AM_BASE = "/api/alertmanager/{uid}/api/v2"
PLAIN_AM_BASE = "/api/v2"

# Alert payload bounds: a hostile or broken source must not flood the UI.
MAX_LABELS = 100
MAX_LABEL_NAME = 200
MAX_LABEL_VALUE = 1000
MAX_ANNOTATION_VALUE = 4000
MAX_ALERTS = 5000
MAX_POINTS = 11000  # Prometheus's own per-series limit

# Grafana datasource uids that are server-side expressions, not data.
EXPRESSION_DATASOURCES = frozenset({"__expr__", "-100"})

_SEVERITY_ALIASES = {
    "crit": "critical",
    "critical": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "page": "critical",
    "p1": "critical",
    "sev1": "critical",
    "major": "major",
    "p2": "major",
    "sev2": "major",
    "error": "high",
    "high": "high",
    "warn": "warning",
    "warning": "warning",
    "p3": "warning",
    "sev3": "warning",
    "minor": "minor",
    "medium": "minor",
    "low": "low",
    "p4": "low",
    "info": "info",
    "informational": "info",
    "information": "info",
    "notice": "info",
    "none": "info",
}
SEVERITY_UNKNOWN = "unknown"


def normalize_severity(value: object) -> str:
    """Map a ``severity`` label to the domain's vocabulary; keep unknown text as it is."""
    text = clean_text(value, limit=40).strip().lower()
    if not text:
        return SEVERITY_UNKNOWN
    return _SEVERITY_ALIASES.get(text, text)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time from an API, as aware UTC; ``None`` for absent or Go's zero time."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    # Go prints up to nanoseconds; keep microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
    except OverflowError:  # before the first UTC instant (year 1 with a positive offset)
        return None
    if when.year <= 1:
        return None
    return when


def _strings(value: object) -> list[str]:
    """The strings of a JSON list; anything else (a missing field, ``true``) is none."""
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []


def format_time(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("times sent to an API must be timezone-aware")
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_private(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _str_map(value: object) -> dict[str, str]:
    """A ``{str: str}`` map from untrusted JSON; other shapes become empty."""
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(key, str) and item is not None and not isinstance(item, dict | list):
            out[key] = item if isinstance(item, str) else str(item)
    return out


def _clean_pairs(
    mapping: Mapping[str, str], *, value_limit: int, drop_private: bool = True
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for key in sorted(mapping):
        if drop_private and _is_private(key):
            continue
        name = clean_text(key, limit=MAX_LABEL_NAME)
        if not name:
            continue
        pairs.append((name, clean_text(mapping[key], limit=value_limit)))
        if len(pairs) >= MAX_LABELS:
            pairs.append(("…", f"{len(mapping) - MAX_LABELS} more not shown"))
            break
    return tuple(pairs)


def grafana_error_parser(
    status: int, body: Any, text: str
) -> tuple[str, str | None, str | None, list[FieldError]]:
    """Grafana's ``{message}``, plus the per-query errors ``/api/ds/query`` returns."""
    if isinstance(body, Mapping) and isinstance(body.get("results"), Mapping):
        for ref, result in body["results"].items():
            if isinstance(result, Mapping) and result.get("error"):
                message = clean_text(result.get("error"), limit=500)
                return f"query {clean_text(ref, limit=20)}: {message}", None, None, []
    return default_error_parser(status, body, text)


async def close_all(*clients: ApiClient | None) -> None:
    """Close every client given, ignoring ``None``."""
    await asyncio.gather(*(c.aclose() for c in clients if c is not None))
