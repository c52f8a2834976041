"""Grafana, Alertmanager and Prometheus: firing alerts, acks by silence, sparklines.

Three small clients on top of :class:`~oncall_tui.backends.http.ApiClient`:

* :class:`AlertmanagerClient` speaks Alertmanager API v2 under a configurable base
  path, so one class serves Grafana's embedded Alertmanager
  (``{grafana}/api/alertmanager/grafana/api/v2``, or a datasource uid in place of
  ``grafana``) and a plain Alertmanager (``{am}/api/v2``). An ack is a silence with
  equality matchers on the alert's own labels; an unack expires it.
* :class:`GrafanaClient` reads a Grafana-managed rule's query and runs it over a time
  range through ``/api/ds/query``.
* :class:`PrometheusClient` runs ``/api/v1/query_range``.

And pure helpers: :func:`alert_links` (runbook, dashboard, panel, rule and silence
links; missing ones are left out so ``Alert.link(kind)`` reports them missing, unsafe
ones are kept with the reason), :func:`expression_from_generator_url`, and
:func:`sparkline_for`, which picks whichever client can draw an alert's metric.

Both Alertmanager flavours are tolerated field by field: Grafana's answers look like
Alertmanager 0.25 (no ``mutedBy``, no silence ``annotations``, 202 on a new silence,
``{"message": "silence deleted"}`` on delete), newer upstream ones carry more.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from oncall_tui.backends.http import (
    ApiClient,
    FieldError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RequestStats,
    RetryPolicy,
    Secret,
    ServerError,
    default_error_parser,
)
from oncall_tui.config import DEFAULT_SILENCE_LABELS as DEFAULT_IDENTITY_LABELS
from oncall_tui.domain import (
    ALERT_FIRING,
    ALERT_INHIBITED,
    ALERT_SILENCED,
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RULE,
    LINK_RUNBOOK,
    LINK_SILENCE,
    Alert,
    Link,
    Series,
    Silence,
    severity_rank,
)
from oncall_tui.safety import clean_long_text, clean_text, openable_url

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


# -------------------------------------------------------------------------- links


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _check_link(kind: str, raw: str, label: str = "") -> Link:
    url, problem = openable_url(raw)
    if url is None:
        return Link(kind=kind, problem=problem or "refused", label=label)
    return Link(kind=kind, url=url, label=label)


def _base_url(url: str | None) -> str | None:
    """A configured Grafana/Alertmanager root we may build links on, or ``None``."""
    if not url:
        return None
    checked, _ = openable_url(url)
    return checked.rstrip("/") if checked else None


def alert_links(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    generator_url: str | None,
    grafana_url: str | None,
    org_id: int | str | None,
    starts_at: datetime | None,
    *,
    now: datetime,
    ends_at: datetime | None = None,
    kind: str = KIND_GRAFANA,
    alertmanager_url: str | None = None,
    alertmanager_uid: str = "grafana",
) -> tuple[Link, ...]:
    """Every link an alert carries, built the way Grafana builds them for notifications.

    ``labels``/``annotations`` are the alert's raw maps (private ``__x__`` entries
    included). Links the alert does not carry are left out, so ``Alert.link(kind)``
    answers "missing"; links we will not open (``javascript:``, ``file:``, relative)
    are kept with ``problem`` set and no ``url``.

    * runbook: annotation ``runbook_url`` (or ``runbook``);
    * dashboard: ``{grafana}/d/{__dashboardUid__}?orgId=…&from=…&to=…``, an hour before
      the alert started up to its end (or ``now``); a ``dashboard_url`` annotation is
      used when there is no Grafana dashboard uid (plain Prometheus rules);
    * panel: the dashboard link plus ``viewPanel={__panelId__}``, only with a panel id;
    * rule: the alert's ``generatorURL``;
    * silence: Grafana's "new silence" page pre-filled with the alert's matchers, or a
      plain Alertmanager's ``#/silences/new?filter=…``.
    """
    links: list[Link] = []

    runbook = annotations.get("runbook_url") or annotations.get("runbook")
    if runbook is not None and str(runbook).strip():
        links.append(_check_link(LINK_RUNBOOK, str(runbook), "Runbook"))

    grafana = _base_url(grafana_url)
    org = clean_text(annotations.get("__orgId__") or org_id or "", limit=20)
    dashboard_uid = (annotations.get("__dashboardUid__") or "").strip()
    panel_id = (annotations.get("__panelId__") or "").strip()
    if dashboard_uid and grafana:
        query: dict[str, str] = {}
        if org and org.isdigit():
            query["orgId"] = org
        if starts_at is not None:
            query["from"] = str(_ms(starts_at - timedelta(hours=1)))
            query["to"] = str(_ms(ends_at if ends_at is not None and ends_at < now else now))
        dashboard = f"{grafana}/d/{quote(dashboard_uid, safe='')}"
        if query:
            dashboard = f"{dashboard}?{urlencode(query)}"
        links.append(_check_link(LINK_DASHBOARD, dashboard, "Dashboard"))
        if panel_id:
            if panel_id.isdigit() or re.fullmatch(r"panel-\d+", panel_id):
                sep = "&" if "?" in dashboard else "?"
                panel = f"{dashboard}{sep}{urlencode({'viewPanel': panel_id})}"
                links.append(_check_link(LINK_PANEL, panel, "Panel"))
            else:
                problem = "refused: panel id is not a number"
                links.append(Link(kind=LINK_PANEL, problem=problem, label="Panel"))
    elif dashboard_uid:
        links.append(
            Link(
                kind=LINK_DASHBOARD,
                problem="refused: no Grafana URL configured for this instance",
                label="Dashboard",
            )
        )
    elif annotations.get("dashboard_url"):
        links.append(_check_link(LINK_DASHBOARD, annotations["dashboard_url"], "Dashboard"))

    if generator_url:
        links.append(_check_link(LINK_RULE, generator_url, "Alert rule"))

    silence = _silence_page(
        labels,
        kind=kind,
        grafana=grafana,
        org=org,
        alertmanager=_base_url(alertmanager_url),
        alertmanager_uid=alertmanager_uid,
    )
    if silence:
        links.append(_check_link(LINK_SILENCE, silence, "New silence"))
    return tuple(links)


def _silence_page(
    labels: Mapping[str, str],
    *,
    kind: str,
    grafana: str | None,
    org: str,
    alertmanager: str | None,
    alertmanager_uid: str,
) -> str | None:
    usable = {k: v for k, v in labels.items() if v != ""}
    if not usable:
        return None
    if kind == KIND_GRAFANA and grafana:
        params: list[tuple[str, str]] = [("alertmanager", alertmanager_uid)]
        rule_uid = usable.get("__alert_rule_uid__")
        if rule_uid:
            params.append(("matcher", f"__alert_rule_uid__={rule_uid}"))
        for key in sorted(usable):
            if _is_private(key) or (rule_uid and key in ("alertname", "grafana_folder")):
                continue
            params.append(("matcher", f"{key}={usable[key]}"))
        if org.isdigit():
            params.append(("orgId", org))
        return f"{grafana}/alerting/silence/new?{urlencode(params)}"
    if alertmanager:
        body = ",".join(f'{key}="{_escape_matcher(usable[key])}"' for key in sorted(usable))
        return f"{alertmanager}/#/silences/new?{urlencode({'filter': '{' + body + '}'})}"
    return None


def _escape_matcher(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# ------------------------------------------------------- PromQL from generatorURL

_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_SET_OPS = ("and", "or", "unless")
_NUMBER = re.compile(
    r"""[+-]?(?:
        (?:\d+(?:_\d+)*)?\.?\d+(?:_\d+)*(?:[eE][+-]?\d+)?
      | 0[xX][0-9a-fA-F]+
      | [iI][nN][fF]
      | [nN][aA][nN]
    )""",
    re.VERBOSE,
)
_MATCHING = re.compile(
    r"""\s*(?:bool\s*)?
        (?:(?:on|ignoring)\s*\([^()]*\)\s*
           (?:(?:group_left|group_right)\s*(?:\([^()]*\))?\s*)?)?""",
    re.VERBOSE | re.IGNORECASE,
)


def _top_level_tokens(expr: str) -> tuple[list[tuple[int, str]], list[int]] | None:
    """Positions of top-level comparison operators and set operators in ``expr``.

    Skips string literals, comments and anything inside (), {} or []. Returns ``None``
    for an expression whose brackets or quotes do not balance.
    """
    comparisons: list[tuple[int, str]] = []
    set_ops: list[int] = []
    depth = 0
    i = 0
    n = len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            if j >= n:
                return None
            i = j + 1
            continue
        if c == "#":
            while i < n and expr[i] != "\n":
                i += 1
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0:
            two = expr[i : i + 2]
            if two in ("==", "!=", ">=", "<="):
                comparisons.append((i, two))
                i += 2
                continue
            if c in "<>":
                comparisons.append((i, c))
            elif c.isalpha() or c == "_":
                j = i
                while j < n and (expr[j].isalnum() or expr[j] in "_:"):
                    j += 1
                word = expr[i:j]
                if word.lower() in _SET_OPS:
                    set_ops.append(i)
                i = j
                continue
        i += 1
    if depth != 0:
        return None
    return comparisons, set_ops


def strip_threshold(expr: str) -> str:
    """Drop the final top-level comparison from an alerting expression.

    ``rate(x[5m]) > 0.5`` → ``rate(x[5m])``; also ``>= bool 3``, ``< on() group_left
    threshold``, ``x > 1 * 2`` (the left side is what the rule watches, because
    comparisons bind looser than arithmetic) and the reversed form ``0.5 < x``.

    Left unchanged (the sparkline then shows gaps where the condition was false):
    expressions with a top-level ``and``/``or``/``unless`` (which side to draw is a
    guess), expressions without a top-level comparison, and anything whose brackets or
    quotes do not balance.
    """
    text = expr.strip()
    scanned = _top_level_tokens(text)
    if scanned is None:
        return text
    comparisons, set_ops = scanned
    if not comparisons or set_ops:
        return text
    position, op = comparisons[-1]
    left = text[:position].strip()
    if len(comparisons) == 1:
        right = text[position + len(op) :]
        modifier = _MATCHING.match(right)
        rest = right[modifier.end() :].strip() if modifier else right.strip()
        if _NUMBER.fullmatch(left) and not _NUMBER.fullmatch(rest) and rest:
            # "0.5 < rate(x)": the watched side is on the right
            return rest
    return left or text


def expression_from_generator_url(url: str | None) -> str | None:
    """The PromQL behind a Prometheus ``generatorURL``, without its threshold.

    Reads ``g0.expr`` from ``…/graph?g0.expr=…`` (and the new UI's ``/query?g0.expr``).
    Returns ``None`` for a Grafana rule URL or anything without an expression.
    """
    if not url or not isinstance(url, str):
        return None
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    values = parse_qs(query).get("g0.expr")
    if not values or not values[0].strip():
        return None
    expr = values[0]
    if len(expr) > 20000:
        return None
    return strip_threshold(expr)


# -------------------------------------------------------------------- clients


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


class AlertmanagerClient(ApiClient):
    """Alertmanager API v2: Grafana's embedded one, or a plain Alertmanager."""

    def __init__(
        self,
        source: str,
        instance: str,
        base_url: str,
        token: Secret | str | None = None,
        *,
        kind: str = KIND_GRAFANA,
        api_base: str | None = None,
        org_id: int = 1,
        grafana_url: str | None = None,
        alertmanager_uid: str = "grafana",
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        timeout: float = 10.0,
    ) -> None:
        if kind not in (KIND_GRAFANA, KIND_ALERTMANAGER):
            raise ValueError(f"kind must be {KIND_GRAFANA!r} or {KIND_ALERTMANAGER!r}")
        headers = {"X-Grafana-Org-Id": str(org_id)} if kind == KIND_GRAFANA else None
        super().__init__(
            f"{source}:{instance}" if instance else source,
            base_url,
            token,
            transport=transport,
            timeout=timeout,
            headers=headers,
            retry=retry,
            stats=stats,
            error_parser=grafana_error_parser,
        )
        self.alert_source = source
        self.instance = instance
        self.kind = kind
        self.org_id = org_id
        self.alertmanager_uid = alertmanager_uid
        if api_base is None:
            api_base = (
                GRAFANA_AM_BASE.format(uid=quote(alertmanager_uid, safe=""))
                if kind == KIND_GRAFANA
                else PLAIN_AM_BASE
            )
        self.api_base = "/" + api_base.strip("/")
        if grafana_url is None and kind == KIND_GRAFANA:
            grafana_url = self.base_url
        self.grafana_url = grafana_url
        # Raw labels by fingerprint from the last listing: silences must match the
        # alert's real label values, not the cleaned ones shown on screen.
        self._raw_labels: dict[str, dict[str, str]] = {}

    def _path(self, suffix: str) -> str:
        return f"{self.api_base}/{suffix.lstrip('/')}"

    # -- alerts ---------------------------------------------------------------

    async def list_alerts(
        self,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        unprocessed: bool = True,
        *,
        filters: Sequence[str] = (),
        now: datetime | None = None,
    ) -> list[Alert]:
        """Alerts the Alertmanager holds, as domain alerts, most severe first.

        ``filters`` are Alertmanager matcher strings such as ``'team="payments"'``.
        Grafana ignores ``unprocessed``; it is sent only to a plain Alertmanager.
        """
        params: list[tuple[str, str]] = [
            ("active", _flag(active)),
            ("silenced", _flag(silenced)),
            ("inhibited", _flag(inhibited)),
        ]
        if self.kind == KIND_ALERTMANAGER:
            params.append(("unprocessed", _flag(unprocessed)))
        params.extend(("filter", f) for f in filters)
        body = await self.request("GET", self._path("alerts"), params=params)
        if body is None:
            return []
        if not isinstance(body, list):
            raise MalformedResponse(
                "the alert list is not a JSON array", source=self.source, path="alerts"
            )
        when = now or datetime.now(UTC)
        alerts: list[Alert] = []
        raw_labels: dict[str, dict[str, str]] = {}
        for item in body[:MAX_ALERTS]:
            if not isinstance(item, Mapping):
                continue
            alert = self.parse_alert(item, now=when)
            if alert is None:
                continue
            alerts.append(alert)
            raw_labels[alert.fingerprint] = _str_map(item.get("labels"))
        self._raw_labels = raw_labels
        alerts.sort(key=_alert_order)
        return alerts

    def parse_alert(self, item: Mapping[str, Any], *, now: datetime) -> Alert | None:
        """One ``gettableAlert`` as a domain :class:`Alert`; ``None`` if unusable."""
        labels = _str_map(item.get("labels"))
        annotations = _str_map(item.get("annotations"))
        raw_fp = item.get("fingerprint")
        fingerprint = clean_text(raw_fp, limit=64) if isinstance(raw_fp, str) else ""
        if not fingerprint or not re.fullmatch(r"[0-9A-Za-z_.:-]+", fingerprint):
            return None
        status = _mapping(item, "status")
        silenced_by = tuple(clean_text(s, limit=64) for s in _strings(status.get("silencedBy")))
        inhibited_by = _strings(status.get("inhibitedBy"))
        if status.get("state") == "suppressed":
            # Silenced; inhibited by another alert; or muted by a time interval
            # (``mutedBy``, newer Alertmanagers), which reads as silenced too.
            state = ALERT_INHIBITED if inhibited_by and not silenced_by else ALERT_SILENCED
        else:  # active, unprocessed, or a state this version does not know
            state = ALERT_FIRING
        starts_at = parse_time(item.get("startsAt")) or parse_time(item.get("updatedAt")) or now
        updated_at = parse_time(item.get("updatedAt"))
        ends_at = parse_time(item.get("endsAt"))
        generator_url = item.get("generatorURL")
        if not isinstance(generator_url, str):
            generator_url = None
        rule_uid = labels.get("__alert_rule_uid__") or None
        name = labels.get("alertname") or rule_uid or fingerprint
        # The summary, else the rule's name; every candidate cleaned, so an escape in a
        # label never reaches the screen even when the summary cleans to nothing.
        title = (
            clean_text(annotations.get("summary"), limit=300)
            or clean_text(name, limit=300)
            or clean_text(fingerprint, limit=100)
            or "(untitled alert)"
        )
        description = clean_long_text(annotations.get("description") or "")
        if len(description) > MAX_ANNOTATION_VALUE:
            description = description[: MAX_ANNOTATION_VALUE - 1] + "…"
        links = alert_links(
            labels,
            annotations,
            generator_url,
            self.grafana_url,
            self.org_id,
            starts_at,
            now=now,
            ends_at=ends_at,
            kind=self.kind,
            alertmanager_url=self.base_url if self.kind == KIND_ALERTMANAGER else None,
            alertmanager_uid=self.alertmanager_uid,
        )
        return Alert(
            key=f"{self.alert_source}:{self.instance}:{fingerprint}",
            id=fingerprint,
            source=self.alert_source,
            instance=self.instance,
            title=title,
            state=state,
            severity=normalize_severity(labels.get("severity") or labels.get("priority")),
            started_at=starts_at,
            description=description,
            labels=_clean_pairs(labels, value_limit=MAX_LABEL_VALUE),
            annotations=_clean_pairs(
                {k: v for k, v in annotations.items() if k not in ("summary", "description")},
                value_limit=MAX_ANNOTATION_VALUE,
            ),
            links=links,
            updated_at=updated_at,
            silenced_by=silenced_by,
            fingerprint=fingerprint,
            dedup_key=fingerprint,
            rule_uid=clean_text(rule_uid, limit=100) if rule_uid else None,
            expression=None if rule_uid else expression_from_generator_url(generator_url),
        )

    # -- silences -------------------------------------------------------------

    async def list_silences(self, *, include_expired: bool = False) -> list[Silence]:
        body = await self.request("GET", self._path("silences"))
        if body is None:
            return []
        if not isinstance(body, list):
            raise MalformedResponse(
                "the silence list is not a JSON array", source=self.source, path="silences"
            )
        silences = [s for s in (parse_silence(item) for item in body) if s is not None]
        if not include_expired:
            silences = [s for s in silences if s.state != "expired"]
        silences.sort(key=lambda s: s.ends_at, reverse=True)
        return silences

    async def get_silence(self, silence_id: str) -> Silence:
        body = await self.request("GET", self._path(f"silence/{_path_id(silence_id)}"))
        silence = parse_silence(body)
        if silence is None:
            raise MalformedResponse(
                "the silence could not be read", source=self.source, path="silence"
            )
        return silence

    async def create_silence(
        self,
        matchers: Iterable[tuple[str, str]] | Mapping[str, str],
        starts: datetime,
        ends: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """Create a silence with equality matchers; return its id.

        Both 200 (Alertmanager) and 202 (Grafana) count as success.
        """
        pairs = list(matchers.items() if isinstance(matchers, Mapping) else matchers)
        body_matchers = [
            {"name": name, "value": value, "isRegex": False, "isEqual": True}
            for name, value in pairs
            if name and value != ""
        ]
        if not body_matchers:
            raise InvalidRequest("a silence needs at least one label to match", source=self.source)
        if ends <= starts:
            raise InvalidRequest("the silence would end before it starts", source=self.source)
        payload = {
            "matchers": body_matchers,
            "startsAt": format_time(starts),
            "endsAt": format_time(ends),
            "createdBy": created_by or "oncall-tui",
            "comment": comment or "acknowledged from oncall-tui",
        }
        body = await self.request("POST", self._path("silences"), json_body=payload)
        silence_id = body.get("silenceID") if isinstance(body, Mapping) else None
        if not isinstance(silence_id, str) or not silence_id:
            raise MalformedResponse(
                "the silence was sent but no silence id came back; check the silence list",
                source=self.source,
                path="silences",
            )
        return clean_text(silence_id, limit=64)

    async def silence_alert(
        self,
        alert: Alert,
        duration: timedelta,
        created_by: str,
        comment: str,
        *,
        now: datetime | None = None,
    ) -> str:
        """Acknowledge ``alert`` by silencing exactly it for ``duration``; return the id.

        Matches every label the alert carries (including Grafana's
        ``__alert_rule_uid__``, which rule-scoped permissions require), using the raw
        values from the last :meth:`list_alerts`, so labels holding control characters
        still match. If the alert is no longer listed, it is looked up again; failing
        that (it resolved meanwhile), the labels the alert showed are used.
        """
        if duration <= timedelta(0):
            raise InvalidRequest("the ack duration must be positive", source=self.source)
        labels = self._raw_labels.get(alert.fingerprint)
        if labels is None:
            await self.list_alerts(now=now)
            labels = self._raw_labels.get(alert.fingerprint)
        if labels is None:  # resolved meanwhile: silence it should it fire again
            labels = {k: v for k, v in alert.labels if k != "…"}
            if alert.rule_uid:
                labels["__alert_rule_uid__"] = alert.rule_uid
        start = now or datetime.now(UTC)
        return await self.create_silence(
            sorted(labels.items()), start, start + duration, created_by, comment
        )

    def identity_matchers(
        self, alert: Alert, identity_labels: Sequence[str] = DEFAULT_IDENTITY_LABELS
    ) -> tuple[tuple[str, str], ...]:
        """What a silence for ``alert`` matches: its stable identity, never every label.

        Grafana's rule UID (``__alert_rule_uid__``) where there is one, plus those of
        ``identity_labels`` the alert carries (``alertname`` and the labels that name the
        instance). A label that churns (a pod name) is left out, so the silence keeps
        matching the alert when it comes back from another pod. Raw label values from the
        last listing are used (labels holding control characters still match).
        """
        raw = self._raw_labels.get(alert.fingerprint)
        labels = raw if raw is not None else {k: v for k, v in alert.labels if k != "…"}
        pairs: dict[str, str] = {}
        rule_uid = labels.get("__alert_rule_uid__") or alert.rule_uid
        if rule_uid:
            pairs["__alert_rule_uid__"] = rule_uid
        for name in identity_labels:
            value = labels.get(name)
            if value:
                pairs[name] = value
        if not pairs:  # nothing identifies it but its labels: the least churny ones
            pairs = {k: v for k, v in labels.items() if k in ("alertname", "severity") and v}
        return tuple(sorted(pairs.items()))

    async def count_firing(self, matchers: Iterable[tuple[str, str]]) -> int:
        """How many firing alerts (active: not silenced, not inhibited) the equality
        ``matchers`` match now, by Alertmanager's own ``filter`` on ``GET /alerts``."""
        params: list[tuple[str, str]] = [
            ("active", "true"),
            ("silenced", "false"),
            ("inhibited", "false"),
        ]
        params.extend(("filter", f"{name}={json.dumps(value)}") for name, value in matchers)
        body = await self.request("GET", self._path("alerts"), params=params)
        if not isinstance(body, list):
            raise MalformedResponse(
                "the alert list is not a JSON array", source=self.source, path="alerts"
            )
        return len(body)

    async def unsilence_alert(self, alert: Alert) -> tuple[str, ...]:
        """Un-acknowledge ``alert``: expire every silence listed in its ``silenced_by``.

        Returns the ids expired; silences already gone are skipped. An alert that is
        not silenced returns ``()``.
        """
        expired: list[str] = []
        for silence_id in alert.silenced_by:
            try:
                await self.expire_silence(silence_id)
            except NotFound:
                continue
            expired.append(silence_id)
        return tuple(expired)

    def owns_key(self, key: str) -> bool:
        """Whether an ``Alert.key`` came from this client's instance."""
        return key.startswith(f"{self.alert_source}:{self.instance}:")

    async def expire_silence(self, silence_id: str) -> None:
        """Expire (delete) a silence. An unknown id raises :class:`NotFound`.

        Alertmanager before 0.26 answers an unknown id with 500 "silence not found";
        that is reported as NotFound too, without retrying it.
        """
        path = self._path(f"silence/{_path_id(silence_id)}")
        try:
            await self.request("DELETE", path, idempotent=False, allow_empty=True)
        except ServerError as err:
            if "not found" in err.message.lower():
                raise NotFound(
                    f"no silence {clean_text(silence_id, limit=64)}",
                    source=self.source,
                    status=err.status,
                    method="DELETE",
                    path=path,
                ) from None
            raise

    async def status(self) -> dict[str, Any]:
        """``/status`` as a reachability probe: ``{"version", "cluster", "uptime"}``."""
        body = await self.request("GET", self._path("status"))
        if not isinstance(body, Mapping):
            raise MalformedResponse("status is not a JSON object", source=self.source)
        version_info = _mapping(body, "versionInfo")
        cluster = _mapping(body, "cluster")
        return {
            "version": clean_text(version_info.get("version") or "unknown", limit=50),
            "cluster": clean_text(cluster.get("status") or "unknown", limit=50),
            "uptime": parse_time(body.get("uptime")),
        }


def _mapping(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key)
    return value if isinstance(value, Mapping) else {}


def _list(body: Mapping[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    return value if isinstance(value, list) else []


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _path_id(value: str) -> str:
    text = str(value).strip()
    if not text or len(text) > 200:
        raise InvalidRequest("that is not a silence id")
    return quote(text, safe="")


def _alert_order(alert: Alert) -> tuple[int, int, float, str]:
    state_rank = {ALERT_FIRING: 0, ALERT_INHIBITED: 1, ALERT_SILENCED: 2}.get(alert.state, 3)
    return (state_rank, severity_rank(alert.severity), -alert.started_at.timestamp(), alert.key)


def parse_silence(item: Any) -> Silence | None:
    """A ``gettableSilence`` (either flavour) as a domain :class:`Silence`."""
    if not isinstance(item, Mapping):
        return None
    silence_id = item.get("id")
    if not isinstance(silence_id, str) or not silence_id:
        return None
    matchers: list[tuple[str, str, bool, bool]] = []
    raw_matchers = item.get("matchers")
    for m in raw_matchers if isinstance(raw_matchers, list) else ():
        if not isinstance(m, Mapping):
            continue
        is_equal = m.get("isEqual")
        matchers.append(
            (
                clean_text(m.get("name"), limit=MAX_LABEL_NAME),
                clean_text(m.get("value"), limit=MAX_LABEL_VALUE),
                bool(m.get("isRegex")),
                True if is_equal is None else bool(is_equal),
            )
        )
    status = _mapping(item, "status")
    starts = parse_time(item.get("startsAt"))
    ends = parse_time(item.get("endsAt"))
    if starts is None or ends is None:
        return None
    return Silence(
        id=clean_text(silence_id, limit=64),
        matchers=tuple(matchers),
        starts_at=starts,
        ends_at=ends,
        created_by=clean_text(item.get("createdBy"), limit=200),
        comment=clean_text(item.get("comment"), limit=1000),
        state=clean_text(status.get("state") or "unknown", limit=20),
    )


# --------------------------------------------------------------- range queries


@dataclass(frozen=True, slots=True)
class RuleQuery:
    """The data query behind a Grafana-managed alert rule."""

    rule_uid: str
    title: str
    ref_id: str
    datasource_uid: str
    expr: str | None  # PromQL/LogQL for Prometheus-like datasources, else None
    model: Mapping[str, Any]


def _labels_match(series_labels: Mapping[str, str], alert_labels: Mapping[str, str]) -> int:
    """How well a series fits an alert: -1 if a label disagrees, else labels shared."""
    shared = 0
    for key, value in series_labels.items():
        if key == "__name__":
            continue
        if key in alert_labels:
            if alert_labels[key] != value:
                return -1
            shared += 1
    return shared


def _pick(
    candidates: list[tuple[dict[str, str], Series]], match: Mapping[str, str] | None
) -> Series:
    if not candidates:
        raise LookupError
    if not match:
        return candidates[0][1]
    scored = [(_labels_match(labels, match), i) for i, (labels, _) in enumerate(candidates)]
    best = max(scored, key=lambda s: (s[0], -s[1]))
    return candidates[best[1]][1]


def _series_name(expr: str, labels: Mapping[str, str]) -> str:
    name = labels.get("__name__") or expr
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if shown and labels.get("__name__"):
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items()))
        name = f"{name}{{{inner}}}"
    return clean_text(name, limit=300)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_prometheus_matrix(body: Any, expr: str, match: Mapping[str, str] | None = None) -> Series:
    """Prometheus ``query_range`` JSON → the series that best fits ``match``.

    Non-finite samples (``NaN``, ``±Inf``) are left out, so they show as gaps.
    """
    if not isinstance(body, Mapping):
        raise MalformedResponse("query_range answer is not a JSON object")
    if body.get("status") == "error":
        raise InvalidRequest(clean_text(body.get("error") or "query failed", limit=500))
    data = _mapping(body, "data")
    result = data.get("result")
    if data.get("resultType") not in (None, "matrix") or not isinstance(result, list):
        raise MalformedResponse("query_range did not answer with a matrix")
    candidates: list[tuple[dict[str, str], Series]] = []
    for entry in result[:1000]:
        if not isinstance(entry, Mapping):
            continue
        labels = _str_map(entry.get("metric"))
        points = []
        values = entry.get("values")
        for pair in (values if isinstance(values, list) else [])[:MAX_POINTS]:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                continue
            ts = _finite(pair[0])
            value = _finite(pair[1])
            if ts is None or value is None:
                continue
            try:
                points.append((datetime.fromtimestamp(ts, UTC), value))
            except (OverflowError, OSError, ValueError):
                continue
        candidates.append((labels, Series(name=_series_name(expr, labels), points=tuple(points))))
    if not candidates:
        return Series(name=clean_text(expr, limit=300))
    return _pick(candidates, match)


def parse_grafana_frames(
    body: Any, expr: str, match: Mapping[str, str] | None = None, ref_id: str = "A"
) -> Series:
    """``/api/ds/query`` data frames → the series that best fits ``match``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), Mapping):
        raise MalformedResponse("the data source answer has no results")
    result = body["results"].get(ref_id)
    if result is None and body["results"]:
        result = next(iter(body["results"].values()))
    if not isinstance(result, Mapping):
        return Series(name=clean_text(expr, limit=300))
    if result.get("error"):
        raise InvalidRequest(f"query {ref_id}: {clean_text(result.get('error'), limit=500)}")
    candidates: list[tuple[dict[str, str], Series]] = []
    frames = result.get("frames")
    for frame in (frames if isinstance(frames, list) else [])[:1000]:
        if not isinstance(frame, Mapping):
            continue
        schema = _mapping(frame, "schema")
        data = _mapping(frame, "data")
        fields = _list(schema, "fields")
        values = _list(data, "values")
        time_index = next(
            (i for i, f in enumerate(fields) if isinstance(f, Mapping) and f.get("type") == "time"),
            None,
        )
        if time_index is None or time_index >= len(values):
            continue
        times = values[time_index] if isinstance(values[time_index], list) else []
        for i, f in enumerate(fields):
            if not isinstance(f, Mapping) or f.get("type") != "number" or i >= len(values):
                continue
            column = values[i] if isinstance(values[i], list) else []
            labels = _str_map(f.get("labels"))
            points = []
            for ts, value in list(zip(times, column, strict=False))[:MAX_POINTS]:
                ms = _finite(ts)
                number = _finite(value)
                if ms is None or number is None:
                    continue
                try:
                    points.append((datetime.fromtimestamp(ms / 1000, UTC), number))
                except (OverflowError, OSError, ValueError):
                    continue
            name = _series_name(expr, labels) if labels else clean_text(expr, limit=300)
            candidates.append((labels, Series(name=name, points=tuple(points))))
    if not candidates:
        return Series(name=clean_text(expr, limit=300))
    return _pick(candidates, match)


def _step_seconds(step: timedelta | float) -> float:
    seconds = step.total_seconds() if isinstance(step, timedelta) else float(step)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("step must be a positive duration")
    return seconds


# How long the ruler's namespace listing (the rule lookup of Grafana before 11.1) is reused.
RULE_LISTING_TTL = 60.0


class GrafanaClient(ApiClient):
    """Grafana's rule lookup and data source queries, for sparklines."""

    def __init__(
        self,
        instance: str,
        url: str,
        token: Secret | str | None,
        org_id: int = 1,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        timeout: float = 15.0,
    ) -> None:
        super().__init__(
            f"grafana:{instance}" if instance else "grafana",
            url,
            token,
            transport=transport,
            timeout=timeout,
            headers={"X-Grafana-Org-Id": str(org_id)},
            retry=retry,
            stats=stats,
            error_parser=grafana_error_parser,
        )
        self.instance = instance
        self.org_id = org_id
        self._single_rule_route_missing = False  # Grafana before 11.1
        self._listing: tuple[float, Mapping[str, Any]] | None = None

    async def rule(self, uid: str) -> RuleQuery | None:
        """The first data query of rule ``uid``; ``None`` if it queries no data source.

        Grafana 11.1 and later answer ``GET /api/ruler/grafana/api/v1/rule/{uid}``; older
        ones 404 it, and the rule is then looked up in the ruler's namespace listing
        (``GET /api/ruler/grafana/api/v1/rules``), which every Grafana with unified
        alerting has. Raises :class:`NotFound` for an unknown rule.
        """
        if not self._single_rule_route_missing:
            try:
                body = await self.request(
                    "GET", f"/api/ruler/grafana/api/v1/rule/{quote(str(uid), safe='')}"
                )
            except NotFound:
                body = await self._rule_from_listing(uid)
                if body is None:
                    raise
                self._single_rule_route_missing = True  # an older Grafana: list from now on
        else:
            body = await self._rule_from_listing(uid)
            if body is None:
                raise NotFound(f"no alert rule {uid!r} in the ruler's listing", source=self.source)
        return self._rule_query(uid, body)

    async def _rule_from_listing(self, uid: str) -> Any:
        """Rule ``uid`` from the namespace listing (read at most once a minute)."""
        now = time.monotonic()
        if self._listing is None or now - self._listing[0] > RULE_LISTING_TTL:
            listing = await self.request("GET", "/api/ruler/grafana/api/v1/rules")
            if not isinstance(listing, Mapping):
                raise MalformedResponse("the rule listing is not a JSON object", source=self.source)
            self._listing = (now, listing)
        for groups in self._listing[1].values():
            for group in groups if isinstance(groups, list) else ():
                rules = group.get("rules") if isinstance(group, Mapping) else None
                for rule in rules if isinstance(rules, list) else ():
                    alert = rule.get("grafana_alert") if isinstance(rule, Mapping) else None
                    if isinstance(alert, Mapping) and alert.get("uid") == uid:
                        return rule
        return None

    def _rule_query(self, uid: str, body: Any) -> RuleQuery | None:
        if not isinstance(body, Mapping):
            raise MalformedResponse("the rule is not a JSON object", source=self.source)
        grafana_alert = body.get("grafana_alert")
        if not isinstance(grafana_alert, Mapping):
            grafana_alert = body  # provisioning API shape: data at the top level
        data = _list(grafana_alert, "data")
        for query in data:
            if not isinstance(query, Mapping):
                continue
            ds_uid = query.get("datasourceUid")
            if not isinstance(ds_uid, str) or not ds_uid or ds_uid in EXPRESSION_DATASOURCES:
                continue
            model = _mapping(query, "model")
            expr = model.get("expr")
            return RuleQuery(
                rule_uid=clean_text(grafana_alert.get("uid") or uid, limit=100),
                title=clean_text(grafana_alert.get("title") or "", limit=300),
                ref_id=clean_text(query.get("refId") or "A", limit=20) or "A",
                datasource_uid=ds_uid,
                expr=expr if isinstance(expr, str) and expr.strip() else None,
                model=dict(model),
            )
        return None

    async def query_range(
        self,
        datasource_uid: str,
        expr: str | None,
        start: datetime,
        end: datetime,
        step: timedelta | float,
        *,
        model: Mapping[str, Any] | None = None,
        match: Mapping[str, str] | None = None,
        max_points: int = 200,
    ) -> Series:
        """Run one query over ``[start, end]`` through ``POST /api/ds/query``.

        ``model`` is the rule's query model (copied, then switched to a range query);
        ``expr`` overrides its ``expr``. ``match`` picks the series whose labels fit.
        """
        step_s = _step_seconds(step)
        query: dict[str, Any] = dict(model or {})
        query.update(
            {
                "refId": "A",
                "datasource": {"uid": datasource_uid},
                "range": True,
                "instant": False,
                "intervalMs": int(step_s * 1000),
                "maxDataPoints": max(1, min(max_points, MAX_POINTS)),
            }
        )
        if expr is not None:
            query["expr"] = expr
        payload = {"from": str(_ms(start)), "to": str(_ms(end)), "queries": [query]}
        # A read, so safe to retry even though it is a POST.
        body = await self.request("POST", "/api/ds/query", json_body=payload, idempotent=True)
        return parse_grafana_frames(body, expr or str(query.get("expr") or ""), match)


class PrometheusClient(ApiClient):
    """Prometheus's ``/api/v1/query_range`` (directly, or through Grafana's proxy)."""

    def __init__(
        self,
        url: str,
        token: Secret | str | None = None,
        *,
        source: str = "prometheus",
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        timeout: float = 15.0,
        api_base: str = "/api/v1",
    ) -> None:
        super().__init__(
            source, url, token, transport=transport, timeout=timeout, retry=retry, stats=stats
        )
        self.api_base = "/" + api_base.strip("/")

    async def query_range(
        self,
        expr: str,
        start: datetime,
        end: datetime,
        step: timedelta | float,
        *,
        match: Mapping[str, str] | None = None,
    ) -> Series:
        step_s = _step_seconds(step)
        if (end - start).total_seconds() / step_s > MAX_POINTS:
            raise InvalidRequest(f"more than {MAX_POINTS} points requested; use a larger step")
        form = {
            "query": expr,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step_s:g}",
        }
        body = await self.request("GET", f"{self.api_base}/query_range", params=form)
        return parse_prometheus_matrix(body, expr, match)


# ------------------------------------------------------------------- sparkline


async def sparkline_for(
    alert: Alert,
    *,
    grafana: GrafanaClient | None,
    prometheus: PrometheusClient | None,
    now: datetime,
    window: timedelta = timedelta(hours=1),
    points: int = 60,
) -> Series | None:
    """The alert's metric over ``window`` up to ``now``, or ``None`` if nothing can draw it.

    Grafana-managed alerts use their rule's first data query through ``grafana``; alerts
    from Prometheus use the expression from their ``generatorURL`` through
    ``prometheus``. Fetch failures raise :class:`~oncall_tui.backends.http.ApiError`.
    """
    points = max(2, min(points, 2000))
    step = max(1.0, window.total_seconds() / points)
    start = now - window
    match = dict(alert.labels)
    if alert.rule_uid and grafana is not None:
        rule = await grafana.rule(alert.rule_uid)
        if rule is None:
            return None
        return await grafana.query_range(
            rule.datasource_uid,
            rule.expr,
            start,
            now,
            step,
            model=rule.model,
            match=match,
            max_points=points,
        )
    if alert.expression and prometheus is not None:
        return await prometheus.query_range(alert.expression, start, now, step, match=match)
    return None


async def close_all(*clients: ApiClient | None) -> None:
    """Close every client given, ignoring ``None``."""
    await asyncio.gather(*(c.aclose() for c in clients if c is not None))
