"""Alertmanager API v2 (Grafana's embedded one, or a plain Alertmanager): firing
alerts, and acks by silence (one per instance, on its identity labels), unacks by expiring it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from oncall_tui.backends.grafana.common import (
    GRAFANA_AM_BASE,
    KIND_ALERTMANAGER,
    KIND_GRAFANA,
    MAX_ALERTS,
    MAX_ANNOTATION_VALUE,
    MAX_LABEL_NAME,
    MAX_LABEL_VALUE,
    PLAIN_AM_BASE,
    _clean_pairs,
    _str_map,
    _strings,
    format_time,
    grafana_error_parser,
    normalize_severity,
    parse_time,
)
from oncall_tui.backends.grafana.links import (
    alert_links,
)
from oncall_tui.backends.grafana.promql import (
    expression_from_generator_url,
)
from oncall_tui.backends.http import (
    ApiClient,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RequestStats,
    RetryPolicy,
    Secret,
    ServerError,
)
from oncall_tui.config import DEFAULT_SILENCE_LABELS as DEFAULT_IDENTITY_LABELS
from oncall_tui.domain import (
    ALERT_FIRING,
    ALERT_INHIBITED,
    ALERT_SILENCED,
    Alert,
    Silence,
    severity_rank,
)
from oncall_tui.safety import clean_long_text, clean_text


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
        return parse_silences(await self.silences_body(), include_expired=include_expired)

    async def silences_body(self) -> list[Any]:
        """``GET …/silences`` as the server sent it (a list), for a caller that parses
        a long one away from the event loop (:func:`parse_silences`)."""
        body = await self.request("GET", self._path("silences"))
        if body is None:
            return []
        if not isinstance(body, list):
            raise MalformedResponse(
                "the silence list is not a JSON array", source=self.source, path="silences"
            )
        return body

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
        return await self.post_silence(payload)

    async def post_silence(self, payload: Mapping[str, Any]) -> str:
        """``POST …/silences`` (a new one, or with ``id`` an update); the id answered.
        Not retried once sent: an update the server could not make in place expires the
        old silence and makes a new one, so a second try would make another."""
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


def parse_silences(body: list[Any], *, include_expired: bool = False) -> list[Silence]:
    """A silence list (either flavour) as domain silences, latest end first."""
    silences = [s for s in (parse_silence(item) for item in body) if s is not None]
    if not include_expired:
        silences = [s for s in silences if s.state != "expired"]
    silences.sort(key=lambda s: s.ends_at, reverse=True)
    return silences


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
