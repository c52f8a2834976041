"""Pure helpers of the Grafana backend: links, PromQL from generatorURL, severities, times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oncall_tui.backends.grafana import (
    KIND_ALERTMANAGER,
    KIND_GRAFANA,
    alert_links,
    expression_from_generator_url,
    normalize_severity,
    parse_time,
    strip_threshold,
)
from oncall_tui.domain import (
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RULE,
    LINK_RUNBOOK,
    LINK_SILENCE,
    Alert,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(minutes=10)
GRAFANA = "https://grafana.example.com"

GRAFANA_LABELS = {
    "__alert_rule_uid__": "ddlb2ahq1l2bkb",
    "__alert_rule_namespace_uid__": "folder-1",
    "alertname": "HighCPU",
    "grafana_folder": "Infra",
    "instance": "web-1",
}
GRAFANA_ANNOTATIONS = {
    "runbook_url": "https://runbooks.example.com/cpu",
    "__dashboardUid__": "abc123XYZ",
    "__panelId__": "4",
    "__orgId__": "1",
}


def links_for(labels=GRAFANA_LABELS, annotations=GRAFANA_ANNOTATIONS, **kwargs):
    kwargs.setdefault("now", NOW)
    links = alert_links(
        labels,
        annotations,
        kwargs.pop("generator_url", f"{GRAFANA}/alerting/grafana/ddlb2ahq1l2bkb/view"),
        kwargs.pop("grafana_url", GRAFANA),
        kwargs.pop("org_id", 1),
        kwargs.pop("starts_at", STARTED),
        **kwargs,
    )
    return Alert(
        key="k", id="i", source="grafana", instance="us", title="t", state="firing",
        severity="critical", started_at=STARTED, links=links,
    )  # fmt: skip


def ms(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def test_grafana_alert_has_every_link():
    alert = links_for()
    assert alert.link(LINK_RUNBOOK).url == "https://runbooks.example.com/cpu"
    dashboard = alert.link(LINK_DASHBOARD).url
    expected = urlencode({"orgId": "1", "from": ms(STARTED - timedelta(hours=1)), "to": ms(NOW)})
    assert dashboard == f"{GRAFANA}/d/abc123XYZ?{expected}"
    assert alert.link(LINK_PANEL).url == f"{dashboard}&viewPanel=4"
    assert alert.link(LINK_RULE).url == f"{GRAFANA}/alerting/grafana/ddlb2ahq1l2bkb/view"
    silence = urlsplit(alert.link(LINK_SILENCE).url)
    assert silence.path == "/alerting/silence/new"
    query = parse_qs(silence.query)
    assert query["alertmanager"] == ["grafana"]
    # As Grafana builds it: the rule uid, then the other public labels, minus
    # alertname and grafana_folder.
    assert query["matcher"] == ["__alert_rule_uid__=ddlb2ahq1l2bkb", "instance=web-1"]


def test_resolved_alert_dashboard_ends_at_its_end():
    ended = NOW - timedelta(minutes=2)
    dashboard = links_for(ends_at=ended).link(LINK_DASHBOARD).url
    assert f"to={ms(ended)}" in dashboard
    # An endsAt in the future (a firing alert's) means "up to now".
    assert f"to={ms(NOW)}" in links_for(ends_at=NOW + timedelta(minutes=4)).link(LINK_DASHBOARD).url


def test_missing_runbook_is_reported_missing_not_invented():
    annotations = {k: v for k, v in GRAFANA_ANNOTATIONS.items() if k != "runbook_url"}
    alert = links_for(annotations=annotations)
    assert alert.link(LINK_RUNBOOK).problem == "missing"
    assert alert.link(LINK_RUNBOOK).url is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(document.cookie)", "refused: javascript"),
        ("file:///etc/passwd", "refused: file"),
        ("JaVaScRiPt:alert(1)", "refused: javascript"),
        ("/relative/runbook", "refused: no scheme"),
        ("https://ok.example/\x1b]8;;evil\x07", "refused: contains control"),
    ],
)
def test_unsafe_runbook_is_refused_with_reason(url, reason):
    link = links_for(annotations={"runbook_url": url}).link(LINK_RUNBOOK)
    assert link.url is None
    assert link.problem.startswith(reason)


def test_dashboard_without_panel_id_gives_no_panel_link():
    annotations = {"__dashboardUid__": "queues", "__orgId__": "2"}
    alert = links_for(annotations=annotations)
    assert alert.link(LINK_DASHBOARD).url.startswith(f"{GRAFANA}/d/queues?orgId=2&")
    assert alert.link(LINK_PANEL).problem == "missing"


def test_no_dashboard_annotations_means_no_dashboard_link():
    alert = links_for(annotations={})
    assert alert.link(LINK_DASHBOARD).problem == "missing"
    assert alert.link(LINK_PANEL).problem == "missing"


def test_odd_panel_id_and_dashboard_uid_cannot_inject():
    annotations = {"__dashboardUid__": "a/../b?x=1#y", "__panelId__": "4&evil=1"}
    alert = links_for(annotations=annotations)
    assert alert.link(LINK_DASHBOARD).url.startswith(f"{GRAFANA}/d/a%2F..%2Fb%3Fx%3D1%23y?")
    assert alert.link(LINK_PANEL).problem == "refused: panel id is not a number"


def test_dashboard_uid_without_grafana_url_says_why():
    alert = links_for(grafana_url=None)
    assert alert.link(LINK_DASHBOARD).problem.startswith("refused: no Grafana URL")
    assert alert.link(LINK_SILENCE).problem == "missing"


def test_plain_alertmanager_silence_page_and_dashboard_url_convention():
    labels = {"alertname": "Lag", "consumer": 'set"tle', "severity": "major"}
    alert = links_for(
        labels,
        {"dashboard_url": "https://grafana.example.com/d/lag", "runbook_url": "http://rb/x"},
        kind=KIND_ALERTMANAGER,
        grafana_url=None,
        alertmanager_url="http://127.0.0.1:9093",
        generator_url="http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
    )
    assert alert.link(LINK_DASHBOARD).url == "https://grafana.example.com/d/lag"
    silence = alert.link(LINK_SILENCE).url
    assert silence.startswith("http://127.0.0.1:9093/#/silences/new?filter=")
    fil = parse_qs(urlsplit(silence.split("#", 1)[1]).query)["filter"][0]
    assert fil == '{alertname="Lag",consumer="set\\"tle",severity="major"}'


def test_grafana_kind_falls_back_to_no_silence_link_without_any_url():
    alert = links_for(kind=KIND_GRAFANA, grafana_url=None, alertmanager_url=None)
    assert alert.link(LINK_SILENCE).problem == "missing"


# ------------------------------------------------------------- PromQL thresholds


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            'demo_latency_seconds{service="checkout"} > 0.5',
            'demo_latency_seconds{service="checkout"}',
        ),
        ("rate(errors_total[5m]) >= bool 3", "rate(errors_total[5m])"),
        ("up == 0", "up"),
        ("free_bytes < 1e9", "free_bytes"),
        ("x != -Inf", "x"),
        ("sum(rate(a[5m])) / sum(rate(b[5m])) > 0.05", "sum(rate(a[5m])) / sum(rate(b[5m]))"),
        ("lag < on() group_left threshold_metric", "lag"),
        ("lag > ignoring(instance) group_right(team) limits", "lag"),
        ("x > 1 * 2", "x"),
        ("0.5 < rate(x[5m])", "rate(x[5m])"),
        ('count(up{job=~"a|b", x!="<>"} == 0) > 3', 'count(up{job=~"a|b", x!="<>"} == 0)'),
        ('foo{path=">"} > 1 # comment > 2', 'foo{path=">"}'),
        ("plain_metric", "plain_metric"),
        ("a > 1 and b > 2", "a > 1 and b > 2"),  # which side to draw is a guess: kept
        ("a > 1 unless on(x) b", "a > 1 unless on(x) b"),
        ("rate(x[5m] > 1", "rate(x[5m] > 1"),  # unbalanced: kept as it came
    ],
)
def test_strip_threshold(expr, expected):
    assert strip_threshold(expr) == expected


def test_expression_from_prometheus_generator_url():
    url = (
        "http://127.0.0.1:19090/graph?g0.expr=demo_latency_seconds%7Bservice%3D%22checkout%22%7D"
        "+%3E+0.5&g0.tab=1"
    )
    assert expression_from_generator_url(url) == 'demo_latency_seconds{service="checkout"}'


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://grafana.example.com/alerting/grafana/abc/view?orgId=1",
        "http://prom/graph?g0.tab=1",
        "http://prom/graph?g0.expr=",
        "not a url at all",
    ],
)
def test_no_expression(url):
    assert expression_from_generator_url(url) is None


@given(st.text(max_size=300))
def test_strip_threshold_never_raises(text):
    result = strip_threshold(text)
    assert isinstance(result, str)
    assert len(result) <= len(text.strip()) or result == text.strip()


# --------------------------------------------------------------- small helpers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("critical", "critical"),
        ("CRIT", "critical"),
        (" P1 ", "critical"),
        ("warn", "warning"),
        ("error", "high"),
        ("informational", "info"),
        ("", "unknown"),
        (None, "unknown"),
        ("sev-weird", "sev-weird"),
        ("\x1b[31mcritical\x1b[0m", "critical"),
    ],
)
def test_normalize_severity(raw, expected):
    assert normalize_severity(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-23T16:14:09.766Z", datetime(2026, 11, 23, 16, 14, 9, 766000, tzinfo=UTC)),
        ("2026-11-23T16:14:09.123456789Z", datetime(2026, 11, 23, 16, 14, 9, 123456, tzinfo=UTC)),
        ("2026-11-23T17:14:09+01:00", datetime(2026, 11, 23, 16, 14, 9, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),  # Go's zero time
        ("yesterday", None),
        (None, None),
        (12345, None),
    ],
)
def test_parse_time(raw, expected):
    assert parse_time(raw) == expected
