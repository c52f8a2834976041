"""One row per problem: a page and the Grafana or Alertmanager alert behind it.

The rule (core/linking) links an incident.io alert to the alert behind it by
deduplication key, by source link, or by alertname + labels, and says which; the alert
list then shows one row with both states, and says why when nothing matches.
"""

from __future__ import annotations

from factories import alert, page

from oncall_tui.config import AlertmanagerConfig, GrafanaConfig, Settings
from oncall_tui.core.linking import (
    MATCH_DEDUP,
    MATCH_LABELS,
    MATCH_SOURCE_LINK,
    SourceLinks,
    configured_hosts,
    no_match_reason,
)
from oncall_tui.core.views import AlertFilter, AlertIndex, alert_rows
from oncall_tui.domain import LINK_RULE, LINK_SOURCE, Link

GRAFANA = "https://grafana.example.com"


def io_alert(n: int, *, dedup: str = "", source_url: str | None = None, labels=(), **kw):
    links = (Link(LINK_SOURCE, url=source_url),) if source_url else ()
    return alert(
        n,
        "Ledger lag",
        source="incident.io",
        instance="",
        fingerprint=dedup,
        dedup_key=dedup,
        links=links,
        labels=labels,
        **kw,
    )


def grafana_alert(n: int, *, uid: str = "ledger", labels=(), host: str = GRAFANA, **kw):
    rule = Link(LINK_RULE, url=f"{host}/alerting/grafana/{uid}/view?orgId=1")
    return alert(
        n,
        "LedgerConsumerLag",
        source="grafana",
        instance="us",
        rule_uid=uid,
        links=(rule,),
        labels=(("alertname", "LedgerConsumerLag"), *labels),
        **kw,
    )


def settings() -> Settings:
    return Settings(
        grafana={"us": GrafanaConfig(url=GRAFANA)},
        alertmanager={"k8s": AlertmanagerConfig(url="https://am.example.com")},
    )


def test_the_deduplication_key_names_the_fingerprint():
    source = grafana_alert(2, fingerprint="abc123")
    links = SourceLinks([io_alert(1, dedup="abc123"), source])
    match = links.match(["A1"])
    assert match is not None and match.alert is source
    assert match.rule == MATCH_DEDUP
    assert match.words == "matched by deduplication key"


def test_the_source_link_names_the_rule_and_labels_pick_its_series():
    east = grafana_alert(2, labels=(("region", "east"),))
    west = grafana_alert(3, labels=(("region", "west"),))
    io = io_alert(
        1,
        dedup="ledger-lag",
        source_url=f"{GRAFANA}/alerting/grafana/ledger/view",
        labels=(("Region", "West"), ("runbook_url", "https://r.example.com")),
    )
    match = SourceLinks([io, east, west]).match(["A1"])
    assert match is not None and match.alert is west
    assert match.rule == MATCH_SOURCE_LINK
    assert match.words == "matched by source link (region agrees)"


def test_a_rule_link_to_another_grafana_does_not_match():
    other = grafana_alert(2, host="https://grafana.elsewhere.example")
    io = io_alert(1, source_url=f"{GRAFANA}/alerting/grafana/ledger/view")
    assert SourceLinks([io, other]).match(["A1"]) is None


def test_a_prometheus_expression_link_matches_the_alertmanager_alert():
    am = alert(2, "HighLag", source="alertmanager", instance="k8s", expression="lag_seconds")
    url = "https://prom.example.com/graph?g0.expr=lag_seconds+%3E+600&g0.tab=1"
    match = SourceLinks([io_alert(1, source_url=url), am]).match(["A1"])
    assert match is not None and match.alert is am and match.rule == MATCH_SOURCE_LINK


def test_alertname_and_labels_match_only_when_no_label_disagrees():
    source = grafana_alert(2, labels=(("team", "payments"),))
    agrees = io_alert(1, labels=(("alertname", "LedgerConsumerLag"), ("Team", "Payments")))
    match = SourceLinks([agrees, source]).match(["A1"])
    assert match is not None and match.rule == MATCH_LABELS
    assert match.words == "matched by alertname + labels (team agrees)"

    disagrees = io_alert(1, labels=(("alertname", "LedgerConsumerLag"), ("team", "search")))
    assert SourceLinks([disagrees, source]).match(["A1"]) is None


def test_alertname_alone_is_not_enough_when_several_alerts_share_it():
    one, two = grafana_alert(2), grafana_alert(3)
    io = io_alert(1, labels=(("alertname", "LedgerConsumerLag"),))
    assert SourceLinks([io, one, two]).match(["A1"]) is None
    assert SourceLinks([io, one]).match(["A1"]) is not None  # the only one of that name


def test_one_row_per_problem_with_both_states():
    source = grafana_alert(2, fingerprint="abc123")
    io = io_alert(1, dedup="abc123")
    paged = page("P1", status="acked", alert_ids=("A1",))
    rows = alert_rows([paged], AlertIndex([io, source]), [], None, AlertFilter())
    assert [r.key for r in rows] == ["page:P1"]
    (row,) = rows
    assert (row.state, row.source_state, row.source_key) == ("acked", "firing", source.key)
    assert row.matched_by == MATCH_DEDUP


def test_the_source_alert_keeps_its_row_when_its_page_and_alert_are_closed():
    source = grafana_alert(2, fingerprint="abc123")
    io = io_alert(1, dedup="abc123", state="resolved")
    closed = page("P1", status="resolved", alert_ids=("A1",))
    rows = alert_rows([closed], AlertIndex([io, source]), [], None, AlertFilter())
    assert [r.source for r in rows] == ["grafana:us"]


def test_an_incident_io_alert_row_shows_the_alert_behind_it():
    source = grafana_alert(2, fingerprint="abc123")
    io = io_alert(1, dedup="abc123")
    rows = alert_rows([], AlertIndex([io, source]), [], None, AlertFilter())
    assert len(rows) == 1
    assert rows[0].source == "incident.io" and rows[0].source_key == source.key


def test_no_match_says_why():
    hosts = configured_hosts(settings())
    no_link = io_alert(1)
    assert no_match_reason([no_link], hosts).startswith(
        "no Grafana alert matches this page: its alert has no source link"
    )
    elsewhere = io_alert(1, source_url="https://grafana.other.example/alerting/grafana/x/view")
    assert no_match_reason([elsewhere], hosts) == (
        "no Grafana alert matches this page: its source link points to "
        "grafana.other.example, which is not configured here"
    )
    ours = io_alert(1, source_url=f"{GRAFANA}/alerting/grafana/gone/view")
    assert "grafana:us lists no firing alert of rule gone" in no_match_reason([ours], hosts)
    assert "not among the firing alerts fetched" in no_match_reason([], hosts)


def test_a_refresh_keeps_what_is_unchanged_and_matches_again_what_changed():
    from dataclasses import replace

    source = grafana_alert(2, fingerprint="abc123")
    io = io_alert(1, dedup="abc123")
    first = SourceLinks([io, source])
    # Both the same objects: the match is kept.
    again = SourceLinks([io, source], previous=first)
    assert again.match(["A1"]) == first.match(["A1"])
    # The alert behind it changed: matched again, to the new object.
    changed = replace(source, state="silenced")
    refreshed = SourceLinks([io, changed], previous=again)
    found = refreshed.match(["A1"])
    assert found is not None and found.alert is changed
    # It went away: no match is kept for it.
    assert SourceLinks([io], previous=refreshed).match(["A1"]) is None
