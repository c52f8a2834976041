"""One row per problem: the Grafana or Alertmanager alert behind an incident.io alert.

incident.io pages come from incident.io alerts, and those usually come from a Grafana or
Alertmanager alert that this tool also lists. :class:`SourceLinks` finds, for each
incident.io alert, the alert behind it, by the first of these rules that holds:

1. **deduplication key**: the incident.io alert's deduplication key is the fingerprint of
   a Grafana or Alertmanager alert (what incident.io's Alertmanager and Grafana sources
   use as the key);
2. **source link**: its source link is the rule page of a Grafana-managed alert
   (``…/alerting/grafana/<rule uid>/view`` on that Grafana's host) or the Prometheus
   expression link (``…/graph?g0.expr=…``) of an Alertmanager alert; when a rule has
   several alerts, the one whose labels agree most with the incident.io attributes;
3. **alertname + labels**: the incident.io alert has an ``alertname`` attribute equal to
   an alert's ``alertname`` label, no attribute contradicts a label of the same name,
   and at least one other attribute agrees (or only one alert has that name).

The match says which rule held, so the screen and the CLI can say so. Where no rule
holds, :func:`no_match_reason` says why, in words ("the page's alert has no source link,
…"; "its source link points to grafana.other.example, which is not configured here").

Pure: no I/O, no clock. Built once per refresh (by the alert index), looked up per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from oncall_tui.domain import (
    ALERT_FIRING,
    ALERT_RESOLVED,
    LINK_RULE,
    LINK_SOURCE,
    SOURCE_INCIDENT_IO,
    Alert,
)
from oncall_tui.promql import expression_from_generator_url

if TYPE_CHECKING:  # the first frame draws rows before the settings exist
    from oncall_tui.config import Settings

MATCH_DEDUP = "deduplication key"
MATCH_SOURCE_LINK = "source link"
MATCH_LABELS = "alertname + labels"

R = TypeVar("R", bound=Any)
_RULE_PATH = "/alerting/grafana/"
# Attributes incident.io sources add that say nothing about which alert it is.
_NOT_IDENTITY = frozenset({"runbook_url", "dashboard_url", "runbook", "dashboard", "summary"})

__all__ = [
    "MATCH_DEDUP",
    "MATCH_LABELS",
    "MATCH_SOURCE_LINK",
    "SourceLinks",
    "SourceMatch",
    "SourceView",
    "configured_hosts",
    "no_match_reason",
    "source_view",
]


@dataclass(frozen=True, slots=True)
class SourceMatch:
    """The alert behind an incident.io alert, and the rule that found it."""

    alert: Alert  # the Grafana or Alertmanager alert
    rule: str  # MATCH_DEDUP | MATCH_SOURCE_LINK | MATCH_LABELS
    detail: str = ""  # e.g. "service, team agree"

    @property
    def words(self) -> str:
        """ "matched by deduplication key", "matched by alertname + labels (team agrees)"."""
        return f"matched by {self.rule}" + (f" ({self.detail})" if self.detail else "")


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https"):
        return ""
    return (parts.hostname or "").lower()


def rule_of_link(url: str | None) -> tuple[str, str] | None:
    """(host, rule uid) of a Grafana rule page link, or None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path
    at = path.find(_RULE_PATH)
    if at < 0:
        return None
    uid = path[at + len(_RULE_PATH) :].split("/", 1)[0]
    return (parts.hostname.lower(), uid) if uid else None


_RULE_LINKS: dict[str, tuple[str, str] | None] = {}


def _rule_link(alert: Alert) -> tuple[str, str] | None:
    """:func:`rule_of_link` of the alert's rule link, remembered per URL (alerts of one
    rule share it), so a refresh parses each URL once."""
    url = alert.link(LINK_RULE).url or ""
    found = _RULE_LINKS.get(url, False)
    if found is False:
        found = rule_of_link(url)
        if len(_RULE_LINKS) > 4096:
            _RULE_LINKS.clear()
        _RULE_LINKS[url] = found
    return found  # type: ignore[return-value]


def _squash(expr: str) -> str:
    return "".join(expr.split())


def _attributes(alert: Alert) -> dict[str, str]:
    """The incident.io alert's attributes by lower-case name (identity ones only), their
    values stripped and case-folded, as labels are compared."""
    out: dict[str, str] = {}
    for name, value in alert.labels:
        key = name.strip().lower()
        if key and key not in _NOT_IDENTITY and key not in out:
            out[key] = value.strip().casefold()
    return out


Labels = dict[str, tuple[str, str]]


def _agreement(
    attrs: Mapping[str, str], alert: Alert, seen: dict[str, Labels]
) -> tuple[int, list[str]]:
    """(-1, []) when an attribute contradicts a label of the same name; else the number
    of labels that agree and their names. ``seen`` keeps each alert's labels by
    lower-case name, (name, value case-folded), for one build: a rule's alerts are
    compared with many incident.io alerts."""
    agree: list[str] = []
    labels = seen.get(alert.key)
    if labels is None:
        labels = seen[alert.key] = {n.lower(): (n, v.strip().casefold()) for n, v in alert.labels}
    for key, mine in attrs.items():
        found = labels.get(key)
        if found is None or key == "alertname":
            continue
        if mine != found[1]:
            return -1, []
        agree.append(found[0])
    return len(agree), agree


def _rank(alert: Alert) -> tuple[int, float]:
    """Firing before anything else, then the newest."""
    return (0 if alert.state == ALERT_FIRING else 1, -alert.started_at.timestamp())


def _best(
    candidates: Sequence[Alert], attrs: Mapping[str, str], seen: dict[str, Labels]
) -> tuple[Alert, list[str]] | None:
    scored = []
    for alert in candidates:
        score, agree = _agreement(attrs, alert, seen)
        if score >= 0:
            scored.append((-score, _rank(alert), alert.key, alert, agree))
    if not scored:
        return None
    scored.sort(key=lambda s: s[:3])
    return scored[0][3], scored[0][4]


def _agree_words(names: Sequence[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(sorted(names)[:4]) + (" …" if len(names) > 4 else "")
    return f"{shown} agree" if len(names) > 1 else f"{shown} agrees"


class SourceLinks:
    """For every incident.io alert among ``alerts``, the alert behind it (if any).

    ``previous`` (the links of the last refresh) makes a refresh cost what changed: an
    incident.io alert that comes back as the same object keeps its match while the
    alert behind it is also the same object; the others are matched again.
    """

    __slots__ = ("_io", "by_id", "folded")

    def __init__(self, alerts: Iterable[Alert], previous: SourceLinks | None = None) -> None:
        fresh: list[Alert] = []
        others: list[Alert] = []
        self.by_id: dict[str, SourceMatch] = {}
        # The source alert's key -> the incident.io alert whose row shows it.
        self.folded: dict[str, Alert] = {}
        self._io: dict[str, Alert] = {}  # id -> the incident.io alert as last seen
        kept: list[tuple[Alert, SourceMatch]] = []
        for alert in alerts:
            if alert.source != SOURCE_INCIDENT_IO:
                others.append(alert)
                continue
            self._io[alert.id] = alert
            before = previous.by_id.get(alert.id) if previous is not None else None
            if before is not None and previous is not None and previous._io.get(alert.id) is alert:
                kept.append((alert, before))
            else:
                fresh.append(alert)
        if kept:
            present = {a.key: a for a in others}
            for alert, before in kept:
                if present.get(before.alert.key) is before.alert:
                    self._keep(alert, before)
                else:
                    fresh.append(alert)
        io = fresh
        if not io or not others:
            return
        # First the deduplication keys (what incident.io's Grafana and Alertmanager
        # sources use): one set look-up per other alert.
        seen: dict[str, Labels] = {}
        want_keys = {a.dedup_key for a in io if a.dedup_key}
        by_fp: dict[str, list[Alert]] = {}
        if want_keys:
            for other in others:
                if other.fingerprint in want_keys:
                    by_fp.setdefault(other.fingerprint, []).append(other)
        left: list[Alert] = []
        for alert in io:
            found = by_fp.get(alert.dedup_key)
            best = _best(found, {}, seen) if found else None
            if best is not None:
                self._keep(alert, SourceMatch(best[0], MATCH_DEDUP))
            else:
                left.append(alert)
        # Then, for the rest only, source links and alertnames: small sets again.
        want_rules: set[str] = set()
        want_exprs: set[str] = set()
        want_names: set[str] = set()
        asks: list[tuple[Alert, tuple[str, str] | None, str | None, str]] = []
        for alert in left:
            url = alert.link(LINK_SOURCE).url
            rule = rule_of_link(url)
            expr = expression_from_generator_url(url) if url and rule is None else None
            name = _attributes(alert).get("alertname", "")
            if rule is not None:
                want_rules.add(rule[1])
            if expr:
                want_exprs.add(_squash(expr))
            if name:
                want_names.add(name)
            if rule is not None or expr or name:
                asks.append((alert, rule, _squash(expr) if expr else None, name))
        if not asks:
            return
        by_rule: dict[str, list[Alert]] = {}
        by_expr: dict[str, list[Alert]] = {}
        by_name: dict[str, list[Alert]] = {}
        for other in others:
            if other.rule_uid is not None and other.rule_uid in want_rules:
                by_rule.setdefault(other.rule_uid, []).append(other)
            if want_exprs and other.expression and _squash(other.expression) in want_exprs:
                by_expr.setdefault(_squash(other.expression), []).append(other)
            if want_names:
                name = other.label("alertname").strip().casefold()
                if name in want_names:
                    by_name.setdefault(name, []).append(other)
        for alert, rule, expr, name in asks:
            match = self._match(alert, rule, expr, name, by_rule, by_expr, by_name, seen)
            if match is not None:
                self._keep(alert, match)

    def _keep(self, alert: Alert, match: SourceMatch) -> None:
        self.by_id[alert.id] = match
        current = self.folded.get(match.alert.key)
        if current is None or _rank(alert) < _rank(current):
            self.folded[match.alert.key] = alert

    @staticmethod
    def _match(
        alert: Alert,
        rule: tuple[str, str] | None,
        expr: str | None,
        name: str,
        by_rule: Mapping[str, list[Alert]],
        by_expr: Mapping[str, list[Alert]],
        by_name: Mapping[str, list[Alert]],
        seen: dict[str, Labels],
    ) -> SourceMatch | None:
        attrs = _attributes(alert)
        if rule is not None:
            on_host = [a for a in by_rule.get(rule[1], ()) if _rule_link(a) == rule]
            best = _best(on_host, attrs, seen)
            if best is not None:
                return SourceMatch(best[0], MATCH_SOURCE_LINK, _agree_words(best[1]))
        if expr is not None and expr in by_expr:
            best = _best(by_expr[expr], attrs, seen)
            if best is not None:
                return SourceMatch(best[0], MATCH_SOURCE_LINK, _agree_words(best[1]))
        if name and name in by_name:
            candidates = by_name[name]
            best = _best(candidates, attrs, seen)
            if best is not None and (best[1] or len(candidates) == 1):
                return SourceMatch(best[0], MATCH_LABELS, _agree_words(best[1]))
        return None

    def __len__(self) -> int:
        return len(self.by_id)

    def match(self, alert_ids: Iterable[str]) -> SourceMatch | None:
        """The first match among incident.io alerts ``alert_ids`` (a page's alerts)."""
        for alert_id in alert_ids:
            found = self.by_id.get(alert_id)
            if found is not None:
                return found
        return None

    def attach(self, row: R, alert_ids: Iterable[str], state_of: Callable[[Alert], str]) -> R:
        """``row`` with the alert behind it (its key, its state by ``state_of``, and the
        rule that matched), or ``row`` itself when none of ``alert_ids`` has a match."""
        found = self.match(alert_ids) if self.by_id else None
        if found is None:
            return row
        return replace(
            row,
            source_key=found.alert.key,
            source_state=state_of(found.alert),
            matched_by=found.rule,
        )

    def shown_by(self, source_key: str) -> Alert | None:
        """The incident.io alert whose row shows the source alert ``source_key``."""
        return self.folded.get(source_key)


def configured_hosts(settings: Settings) -> dict[str, str]:
    """Host -> source label ("grafana:us") of every configured Grafana, Alertmanager and
    Prometheus URL, for :func:`no_match_reason`."""
    hosts: dict[str, str] = {}
    for name, grafana in settings.grafana.items():
        if host := _host(grafana.url):
            hosts.setdefault(host, f"grafana:{name}")
    for name, am in settings.alertmanager.items():
        for url in (am.url, am.prometheus_url):
            if host := _host(url):
                hosts.setdefault(host, f"alertmanager:{name}")
    return hosts


@dataclass(frozen=True, slots=True)
class SourceView:
    """What a row says about the alert behind it: the alert and how it was matched, or
    why there is none (``alert`` None, ``words`` the reason)."""

    alert: Alert | None
    words: str


def source_view(
    row_kind: str,
    source_key: str,
    io_alerts: Sequence[Alert],
    links: SourceLinks,
    alerts_by_key: Mapping[str, Alert],
    hosts: Mapping[str, str],
    *,
    from_alert: bool = True,
) -> SourceView:
    """The alert behind a page or incident.io alert row (``io_alerts``: its incident.io
    alerts; ``source_key``: the row's linked alert, "" for none)."""
    found = links.match(a.id for a in io_alerts)
    alert = alerts_by_key.get(source_key) if source_key else None
    if found is not None and alert is not None:
        return SourceView(alert, found.words)
    if source_key and alert is None:
        return SourceView(None, "the alert behind it is no longer listed (it may have resolved)")
    reason = no_match_reason(io_alerts, hosts, noun=row_kind, from_alert=from_alert)
    return SourceView(None, reason)


def no_match_reason(
    page_alerts: Sequence[Alert],
    hosts: Mapping[str, str],
    *,
    noun: str = "page",
    from_alert: bool = True,
) -> str:
    """Why no Grafana or Alertmanager alert was found behind a page (or an alert), in
    words a person can act on. ``page_alerts``: the page's incident.io alerts that were
    fetched; ``hosts``: :func:`configured_hosts`; ``from_alert``: False for a page that
    names no alert (someone paged by hand)."""
    head = f"no Grafana alert matches this {noun}"
    if not from_alert:
        return f"{head}: it was not raised by an alert (someone paged by hand)"
    if not page_alerts:
        return f"{head}: its incident.io alert is not among the firing alerts fetched"
    alert = page_alerts[0]
    link = alert.link(LINK_SOURCE)
    if link.url is None and link.problem and link.problem.startswith("refused"):
        return f"{head}: its source link was {link.problem}"
    url = link.url
    if not url:
        return (
            f"{head}: its alert has no source link, and neither its deduplication key nor "
            "an alertname attribute names a Grafana or Alertmanager alert"
        )
    host = _host(url)
    label = hosts.get(host)
    if label is None:
        where = host or "an unknown host"
        return f"{head}: its source link points to {where}, which is not configured here"
    if alert.state == ALERT_RESOLVED:
        return f"{head}: the alert resolved, and {label} no longer lists it"
    rule = rule_of_link(url)
    what = f"rule {rule[1]}" if rule else "that source link"
    return f"{head}: {label} lists no firing alert of {what} (resolved there, or not fetched yet)"
