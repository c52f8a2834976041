"""Has this alert fired before? Each source's answer, read on demand.

* **Grafana state history**: ``GET /api/v1/rules/history?ruleUID=&from=&to=&limit=``
  (Grafana 10 and later; seconds since the epoch). Its answer is a data frame: with Loki
  history on, the fields ``time``, ``line`` (the transition: ``previous``, ``current``,
  the instance ``labels``) and ``labels``; with the annotation backend, ``time``,
  ``text``, ``prev``, ``next``, ``data``. A frame with no fields means history is not
  recorded; 404 means a Grafana without the route.
* **Grafana alert annotations**: ``GET /api/annotations?type=alert&from=&to=&limit=``
  (milliseconds), the older record of the same transitions, matched to the alert by its
  rule's name and labels in the annotation's text.
* **incident.io**: ``GET /v2/alerts`` with ``deduplication_key[is]`` and
  ``created_at[gte]``: each alert with the key is one firing (a resolved key fires as a
  new alert).
* **Alertmanager** keeps no history: all it can say is when the current firing began.

Every answer is a :class:`SourceHistory`: firings, or ``None`` and the reason in words.
API bytes are untrusted: unknown shapes give "not available", never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oncall_tui.backends.grafana import GrafanaClient, parse_time
from oncall_tui.backends.grafana.common import MAX_LABEL_VALUE, _clean_pairs
from oncall_tui.backends.http import NotFound
from oncall_tui.backends.incidentio import IncidentIoClient
from oncall_tui.domain import Alert
from oncall_tui.safety import clean_text

STATE_HISTORY_PATH = "/api/v1/rules/history"
ANNOTATIONS_PATH = "/api/annotations"
MAX_TRANSITIONS = 2000  # per request; a week of a flapping rule fits
MAX_INCIDENT_IO_ALERTS = 100  # two pages of the alert list


@dataclass(frozen=True, slots=True)
class Firing:
    start: datetime
    end: datetime | None = None  # None: still firing (or its end is not known)


@dataclass(frozen=True, slots=True)
class SourceHistory:
    """One source's answer. ``firings`` None: "no history available", ``reason`` says
    why. ``partial`` says what the answer leaves out (Alertmanager: all but the current
    firing), "" when it covers the whole window."""

    source: str
    firings: tuple[Firing, ...] | None
    reason: str = ""
    partial: str = ""

    @property
    def available(self) -> bool:
        return self.firings is not None


def unavailable(source: str, reason: str) -> SourceHistory:
    return SourceHistory(source, None, clean_text(reason, limit=300))


# ---------------------------------------------------------------------- Grafana


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _instance_matches(entry_labels: Mapping[str, Any], alert: Alert) -> bool:
    """The transition is of this alert's instance: every label it names has the alert's
    value (Grafana leaves the private ``__…__`` labels out of its history)."""
    mine = dict(alert.labels)
    theirs = _clean_pairs(
        {str(k): str(v) for k, v in entry_labels.items()}, value_limit=MAX_LABEL_VALUE
    )
    return all(mine.get(key, value) == value for key, value in theirs)


def _when(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_time(value)


def _firing_state(state: Any) -> bool:
    return isinstance(state, str) and state.strip().lower().startswith("alerting")


def firings_from_transitions(
    transitions: Iterable[tuple[datetime, str, str]],
) -> tuple[Firing, ...]:
    """``(time, previous, current)`` state changes, oldest first, as firings: a change
    into Alerting starts one, a change out of it ends it."""
    out: list[Firing] = []
    open_start: datetime | None = None
    for when, previous, current in sorted(transitions, key=lambda t: t[0]):
        if _firing_state(current) and not _firing_state(previous):
            if open_start is not None:
                out.append(Firing(open_start, when))
            open_start = when
        elif _firing_state(previous) and not _firing_state(current):
            if open_start is None:  # it was firing when the window began
                out.append(Firing(when, when))
            else:
                out.append(Firing(open_start, when))
                open_start = None
    if open_start is not None:
        out.append(Firing(open_start))
    return tuple(out)


def _frame_fields(body: Any) -> dict[str, list[Any]] | None:
    """A data frame's columns by field name; None when the body is not a frame."""
    if isinstance(body, Mapping) and isinstance(body.get("results"), Mapping):
        body = body["results"]  # the shape the API's documentation names
    if not isinstance(body, Mapping):
        return None
    schema = body.get("schema")
    data = body.get("data")
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    values = data.get("values") if isinstance(data, Mapping) else None
    if not isinstance(fields, list):
        return None
    if not fields:
        return {}
    if not isinstance(values, list):
        return None
    out: dict[str, list[Any]] = {}
    for n, field in enumerate(fields):
        name = field.get("name") if isinstance(field, Mapping) else None
        column = values[n] if n < len(values) else None
        if isinstance(name, str) and isinstance(column, list):
            out[name] = column[:MAX_TRANSITIONS]
    return out


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def parse_state_history(body: Any, alert: Alert) -> tuple[Firing, ...] | None:
    """The alert's firings from a state-history frame (Loki or annotation backend);
    None when the frame has no fields (history is not recorded)."""
    columns = _frame_fields(body)
    if not columns:
        return None
    times = columns.get("time") or []
    transitions: list[tuple[datetime, str, str]] = []
    if "line" in columns:
        for when, line in zip(times, columns["line"], strict=False):
            entry = _loads(line)
            at = _when(when)
            if not isinstance(entry, Mapping) or at is None:
                continue
            labels = entry.get("labels")
            if isinstance(labels, Mapping) and not _instance_matches(labels, alert):
                continue
            previous, current = entry.get("previous"), entry.get("current")
            transitions.append((at, str(previous or ""), str(current or "")))
    elif "next" in columns:
        for n, when in enumerate(times):
            at = _when(when)
            text = columns.get("text", [])[n] if n < len(columns.get("text", [])) else ""
            if at is None or not _text_names(text, alert):
                continue
            previous = columns.get("prev", [])[n] if n < len(columns.get("prev", [])) else ""
            current = columns["next"][n] if n < len(columns["next"]) else ""
            transitions.append((at, str(previous or ""), str(current or "")))
    else:
        return None
    return firings_from_transitions(transitions)


def _text_names(text: Any, alert: Alert) -> bool:
    """An annotation's text ("Title {a=b, c=d} - B=1.0") names this alert's instance:
    each ``name=value`` label it lists agrees with the alert's."""
    if not isinstance(text, str):
        return False
    start, end = text.find("{"), text.find("}")
    if start < 0 or end < start:
        return True  # no labels to compare: the rule's own annotation
    pairs = (pair.strip().partition("=") for pair in text[start + 1 : end].split(","))
    return _instance_matches({key: value for key, _, value in pairs}, alert)


async def grafana_state_history(
    client: GrafanaClient, alert: Alert, start: datetime, end: datetime
) -> SourceHistory:
    """The rule's state history for this alert's instance (``alert.rule_uid``)."""
    source = f"Grafana state history ({client.instance})" if client.instance else "Grafana"
    params = {
        "ruleUID": alert.rule_uid or "",
        "from": str(int(start.timestamp())),
        "to": str(int(end.timestamp())),
        "limit": str(MAX_TRANSITIONS),
    }
    try:
        body = await client.request("GET", STATE_HISTORY_PATH, params=params)
    except NotFound:
        return unavailable(source, "this Grafana has no state history API (before 10.0)")
    firings = parse_state_history(body, alert)
    if firings is None:
        return unavailable(source, "state history is not recorded in this Grafana")
    return SourceHistory(source, firings)


async def grafana_annotations(
    client: GrafanaClient, alert: Alert, start: datetime, end: datetime
) -> SourceHistory:
    """The alert's firings from Grafana's alert annotations (matched by rule name and
    labels in the annotation's text)."""
    source = f"Grafana annotations ({client.instance})" if client.instance else "Grafana"
    name = dict(alert.labels).get("alertname", "")
    if not name:
        return unavailable(source, "the alert has no rule name to look for")
    params = {
        "type": "alert",
        "from": str(_ms(start)),
        "to": str(_ms(end)),
        "limit": str(MAX_TRANSITIONS),
    }
    try:
        body = await client.request("GET", ANNOTATIONS_PATH, params=params)
    except NotFound:
        return unavailable(source, "this Grafana does not list annotations")
    if not isinstance(body, list):
        return unavailable(source, "Grafana's annotation list was not a list")
    transitions: list[tuple[datetime, str, str]] = []
    for item in body[:MAX_TRANSITIONS]:
        if not isinstance(item, Mapping):
            continue
        text = item.get("text")
        named = item.get("alertName") == name or (
            isinstance(text, str) and text.startswith(f"{name} ")
        )
        at = _when(item.get("time"))
        if not named or at is None or not _text_names(text, alert):
            continue
        transitions.append((at, str(item.get("prevState") or ""), str(item.get("newState") or "")))
    return SourceHistory(source, firings_from_transitions(transitions))


# -------------------------------------------------------------- incident.io


async def incident_io_history(io: IncidentIoClient, alert: Alert, start: datetime) -> SourceHistory:
    """incident.io alerts with this alert's deduplication key created since ``start``:
    one firing each."""
    source = "incident.io alerts"
    key = alert.dedup_key
    if not key:
        return unavailable(source, "the alert has no deduplication key")
    found = await io.list_alerts(
        None, dedup_key=key, created_since=start, limit=MAX_INCIDENT_IO_ALERTS
    )
    same = [a for a in found if a.dedup_key == key]
    if not same and alert.source != "incident.io":
        return unavailable(source, "no incident.io alert has this deduplication key")
    return SourceHistory(
        source,
        tuple(Firing(a.started_at, a.resolved_at) for a in same),
        partial="" if len(found) < MAX_INCIDENT_IO_ALERTS else "the newest 100 only",
    )


# --------------------------------------------------------------- Alertmanager


def alertmanager_view(alert: Alert, name: str) -> SourceHistory:
    """What Alertmanager can tell: only the current firing (it keeps no history)."""
    source = f"Alertmanager ({name})" if name else "Alertmanager"
    # What Alertmanager lists is active now (firing, or silenced or inhibited).
    return SourceHistory(
        source,
        (Firing(alert.started_at, alert.resolved_at),),
        partial="Alertmanager keeps no history of earlier firings",
    )
