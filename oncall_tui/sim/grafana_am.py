"""The simulated Alertmanager v2 state behind each Grafana and Alertmanager instance:
alerts pushed or derived from rules, silences and their matchers, status; and the small
helpers the simulated Grafana shares (clock, times, fingerprints)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Clock = Callable[[], datetime]

FLAVOUR_GRAFANA = "grafana"
FLAVOUR_ALERTMANAGER = "alertmanager"
DATASOURCE_UID = "sim-prometheus"
RESOLVE_TIMEOUT = timedelta(minutes=5)


def _now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint: FNV-1a 64 over sorted ``name 0xff value 0xff``."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for chunk in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in chunk:
                h ^= byte
                h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


# ----------------------------------------------------------------- silences


_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$', re.DOTALL)


@dataclass
class _Silence:
    id: str
    matchers: list[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime
    metadata: dict[str, str] | None = None

    def state(self, now: datetime) -> str:
        if now < self.starts_at:
            return "pending"
        if now < self.ends_at:
            return "active"
        return "expired"

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(_matcher_matches(m, labels) for m in self.matchers)


def _matcher_matches(m: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    value = labels.get(str(m.get("name")), "")
    wanted = str(m.get("value", ""))
    if m.get("isRegex"):
        try:
            hit = re.fullmatch(wanted, value) is not None
        except re.error:
            hit = False
    else:
        hit = value == wanted
    is_equal = m.get("isEqual", True)
    return hit if is_equal is not False else not hit


def parse_filter(text: str) -> dict[str, Any]:
    """An Alertmanager ``filter`` matcher (``team="payments"``); ValueError if bad."""
    match = _MATCHER.match(text)
    if not match:
        raise ValueError(f"bad matcher format: {text}")
    name, op, value = match.groups()
    return {"name": name, "value": value, "isRegex": "~" in op, "isEqual": "!" not in op}


class SimAlertmanager:
    """One Alertmanager's alerts and silences, answering like ``flavour`` does."""

    def __init__(
        self,
        flavour: str,
        clock: Clock,
        rule_alerts: Callable[[datetime], list[dict[str, Any]]],
        receiver: str,
    ) -> None:
        self.flavour = flavour
        self.clock = clock
        self._rule_alerts = rule_alerts
        self.receiver = receiver
        self.posted: dict[str, dict[str, Any]] = {}
        self.silences: dict[str, _Silence] = {}

    # alerts ---------------------------------------------------------------

    def add_alert(
        self,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
        *,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        generator_url: str = "",
    ) -> str:
        """Receive one alert as ``POST /api/v2/alerts`` does; return its fingerprint."""
        now = self.clock()
        labels = {str(k): str(v) for k, v in labels.items()}
        fp = fingerprint(labels)
        existing = self.posted.get(fp)
        start = starts_at or now
        if existing and existing["endsAt"] > now:
            start = min(start, existing["startsAt"])
        self.posted[fp] = {
            "labels": labels,
            "annotations": {str(k): str(v) for k, v in (annotations or {}).items()},
            "startsAt": start,
            "endsAt": ends_at or now + RESOLVE_TIMEOUT,
            "updatedAt": now,
            "generatorURL": generator_url,
        }
        return fp

    def _all_alerts(self, now: datetime) -> list[dict[str, Any]]:
        out = []
        for fp, alert in self.posted.items():
            if alert["endsAt"] <= now:
                continue
            out.append({**alert, "fingerprint": fp})
        for alert in self._rule_alerts(now):
            out.append({**alert, "fingerprint": fingerprint(alert["labels"])})
        return out

    def gettable_alerts(
        self,
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        filters: Iterable[dict[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        now = self.clock()
        filters = list(filters)
        active_silences = [s for s in self.silences.values() if s.state(now) == "active"]
        out = []
        for alert in self._all_alerts(now):
            labels = alert["labels"]
            if not all(_matcher_matches(f, labels) for f in filters):
                continue
            silenced_by = sorted(s.id for s in active_silences if s.matches(labels))
            state = "suppressed" if silenced_by else "active"
            if (silenced_by and not silenced) or (not silenced_by and not active):
                continue
            status: dict[str, Any] = {"inhibitedBy": [], "silencedBy": silenced_by, "state": state}
            body = {
                "annotations": alert["annotations"],
                "endsAt": _iso(alert["endsAt"]),
                "fingerprint": alert["fingerprint"],
                "receivers": [{"name": self.receiver}],
                "startsAt": _iso(alert["startsAt"]),
                "status": status,
                "updatedAt": _iso(alert["updatedAt"]),
                "labels": labels,
            }
            if alert.get("generatorURL"):
                body["generatorURL"] = alert["generatorURL"]
            out.append(body)
        out.sort(key=lambda a: a["fingerprint"])
        return out

    # silences -------------------------------------------------------------

    def gettable_silence(self, silence: _Silence) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": silence.id,
            "status": {"state": silence.state(self.clock())},
            "updatedAt": _iso(silence.updated_at),
            "comment": silence.comment,
            "createdBy": silence.created_by,
            "endsAt": _iso(silence.ends_at),
            "matchers": silence.matchers,
            "startsAt": _iso(silence.starts_at),
        }
        if self.flavour == FLAVOUR_GRAFANA and silence.metadata:
            body["metadata"] = silence.metadata
        return body

    def create_silence(self, body: Any) -> tuple[int, Any]:
        """Validate and store a ``postableSilence``; return (status, response body)."""
        if not isinstance(body, Mapping):
            return 400, {"code": 602, "message": "body in body is required"}
        matchers = body.get("matchers")
        if not isinstance(matchers, list) or not matchers:
            return 422, {"code": 612, "message": "matchers in body should have at least 1 items"}
        clean_matchers = []
        for m in matchers:
            if not isinstance(m, Mapping) or not m.get("name") or "value" not in m:
                return 422, {"code": 602, "message": "matchers.name in body is required"}
            clean_matchers.append(
                {
                    "isEqual": m.get("isEqual", True) is not False,
                    "isRegex": bool(m.get("isRegex")),
                    "name": str(m["name"]),
                    "value": str(m["value"]),
                }
            )
        starts = _parse_iso(body.get("startsAt"))
        ends = _parse_iso(body.get("endsAt"))
        if starts is None or ends is None:
            return 422, {"code": 602, "message": "startsAt and endsAt in body are required"}
        now = self.clock()
        if ends < now:
            return 400, "Failed to create silence: end time can't be in the past"
        if starts > ends:
            return 400, "Failed to create silence: start time must be before end time"
        starts = max(starts, now)
        silence_id = body.get("id")
        if silence_id:
            old = self.silences.get(str(silence_id))
            if old is None:
                return 404, "silence not found"
            if old.matchers == clean_matchers and old.state(now) != "expired":
                old.ends_at, old.comment, old.updated_at = ends, str(body.get("comment")), now
                return self._created(old.id)
            old.ends_at = min(old.ends_at, now)
        new_id = str(uuid.uuid4())
        metadata: dict[str, str] | None = None
        if self.flavour == FLAVOUR_GRAFANA:
            rule = next(
                (m["value"] for m in clean_matchers if m["name"] == "__alert_rule_uid__"), ""
            )
            metadata = {"rule_uid": str(rule)} if rule else None
        self.silences[new_id] = _Silence(
            id=new_id,
            matchers=clean_matchers,
            starts_at=starts,
            ends_at=ends,
            created_by=str(body.get("createdBy") or ""),
            comment=str(body.get("comment") or ""),
            updated_at=now,
            metadata=metadata,
        )
        return self._created(new_id)

    def _created(self, silence_id: str) -> tuple[int, Any]:
        return (202 if self.flavour == FLAVOUR_GRAFANA else 200), {"silenceID": silence_id}

    def expire_silence(self, silence_id: str) -> tuple[int, Any]:
        try:
            uuid.UUID(silence_id)
        except ValueError:
            message = f'silenceID in path must be of type uuid: "{silence_id}"'
            return 422, {"code": 601, "message": message}
        silence = self.silences.get(silence_id)
        if silence is None:
            if self.flavour == FLAVOUR_GRAFANA:
                return 404, {"message": "silence not found"}
            return 500, "silence not found"  # Alertmanager 0.25; 0.26+ answers 404
        now = self.clock()
        if silence.state(now) != "expired":
            silence.ends_at = now
            silence.updated_at = now
            if silence.starts_at > now:
                silence.starts_at = now
        if self.flavour == FLAVOUR_GRAFANA:
            return 200, {"message": "silence deleted"}
        return 200, None

    def status(self) -> dict[str, Any]:
        if self.flavour == FLAVOUR_GRAFANA:
            na = dict.fromkeys(("branch", "buildDate", "buildUser", "goVersion", "revision"), "N/A")
            return {
                "cluster": {"peers": [], "status": "disabled"},
                "config": {"route": {"receiver": self.receiver}, "receivers": []},
                "uptime": _iso(self.clock()),
                "versionInfo": {**na, "version": "N/A"},
            }
        return {
            "cluster": {"peers": [], "status": "disabled"},
            "config": {"original": f'route:\n  receiver: "{self.receiver}"\n'},
            "uptime": _iso(self.clock()),
            "versionInfo": {"version": "0.25.0-sim", "branch": "sim", "revision": "sim"},
        }
