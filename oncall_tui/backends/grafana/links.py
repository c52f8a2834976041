"""An alert's links (runbook, dashboard, panel, rule, silence) from its labels and
annotations: unsafe ones kept with the reason, missing ones left out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from oncall_tui.backends.grafana.common import (
    KIND_GRAFANA,
    _is_private,
)
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RULE,
    LINK_RUNBOOK,
    LINK_SILENCE,
    Link,
)
from oncall_tui.safety import clean_text, openable_url

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
