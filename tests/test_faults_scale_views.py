"""The alert list's caches at scale give exactly the rows a fresh computation gives.

``AlertIndex`` keeps whole groups' rows between keystrokes and, built with
``previous=``, carries entries and rows over from the last refresh. Whatever happens to
the alerts between two refreshes (titles, states, severities, fingerprints and dedup
keys changing, alerts coming and going, order shuffled, pages acked), and whatever the
filter, the rows must be the ones a fresh ``AlertIndex`` gives.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from oncall_tui.core import liverows
from oncall_tui.core.liverows import LiveRows
from oncall_tui.core.views import AlertFilter, AlertIndex, alert_rows
from oncall_tui.domain import (
    Alert,
    EscalationLevel,
    EscalationPath,
    EscalationTarget,
    Link,
    Page,
    PageEvent,
    User,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ME = User("U-ME", "Me", "me@example.com")
PATH = EscalationPath(
    "P1", "Payments", levels=(EscalationLevel(targets=(EscalationTarget("user", "U-ME"),)),)
)
TITLES = ("Disk full", "disk FULL", "CPU hot", "Latency high", "Queue backlog", "5xx rate")
FILTERS = (
    AlertFilter(),
    AlertFilter(query="d"),
    AlertFilter(query="disk team=pay"),
    AlertFilter(query="critical"),
    AlertFilter(critical_only=True),
    AlertFilter(hide_acked=True),
    AlertFilter(mine_only=True),
    AlertFilter(include_resolved=True),
)


def make_alert(rng: random.Random, i: int, linked: bool = False) -> Alert:
    source, instance = rng.choice((("incident.io", ""), ("grafana", "eu"), ("alertmanager", "k8s")))
    return Alert(
        key=f"{source}:{instance}:{i}",
        id=f"A{i}",
        source=source,
        instance=instance,
        title=rng.choice(TITLES),
        state=rng.choice(("firing", "firing", "resolved", "suppressed")),
        severity=rng.choice(("critical", "warning", "info", "")),
        started_at=NOW - timedelta(minutes=rng.randrange(600)),
        labels=(("team", rng.choice(("payments", "search"))),),
        links=(Link("runbook", url="https://runbooks.example.com/x"),)
        if rng.random() < 0.5
        else (),
        silenced_by=("S1",) if rng.random() < 0.1 else (),
        fingerprint=rng.choice(("", "", f"fp{rng.randrange(5)}")),
        # Linked: an incident.io alert whose dedup key is a fingerprint is linked to the
        # alert with that fingerprint (one row per problem).
        dedup_key=rng.choice(("", f"dk{rng.randrange(5)}", *((f"fp{rng.randrange(5)}",) * linked))),
    )


def change(rng: random.Random, alert: Alert) -> Alert:
    what = rng.randrange(7)
    if what == 0:
        return replace(alert, title=rng.choice(TITLES))
    if what == 1:
        return replace(alert, state=rng.choice(("firing", "resolved", "suppressed")))
    if what == 2:
        return replace(alert, severity=rng.choice(("critical", "warning")))
    if what == 3:
        return replace(alert, fingerprint=f"fp{rng.randrange(5)}")
    if what == 4:
        return replace(alert, description=f"now {rng.random()}")  # not a row fact
    if what == 5:
        return replace(alert, started_at=alert.started_at - timedelta(minutes=1))
    return replace(alert)  # equal, another object: as every poll brings them


def make_pages(rng: random.Random, alerts: list[Alert]) -> tuple[Page, ...]:
    pages = []
    for n in range(rng.randrange(4)):
        alert = rng.choice(alerts)
        notified = (PageEvent(f"E{n}", "notified_users", NOW, users=(ME,)),)
        pages.append(
            Page(
                id=f"PG{n}",
                title=alert.title,
                status=rng.choice(("triggered", "acked")),
                created_at=NOW - timedelta(minutes=n),
                updated_at=NOW,
                path_id="P1",
                alert_ids=(alert.id,),
                events=notified if rng.random() < 0.5 else (),
            )
        )
    return tuple(pages)


def _keyless(rows):
    return [replace(r, key="") for r in rows]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_incremental_index_and_row_cache_match_a_fresh_computation(seed: int) -> None:
    rng = random.Random(seed)
    alerts = [make_alert(rng, i) for i in range(rng.randrange(1, 60))]
    paths = (PATH,)
    pages = make_pages(rng, alerts)
    index = None
    next_id = len(alerts)
    for _ in range(6):
        index = AlertIndex(tuple(alerts), previous=index)
        for filters in (*FILTERS, AlertFilter()):  # the last one hits the warm cache
            expected = alert_rows(pages, AlertIndex(tuple(alerts)), paths, ME, filters)
            got = alert_rows(pages, index, paths, ME, filters)
            # The same rows; only a group's key may differ, as it is kept from the last
            # refresh while the group lives (its first member may have gone).
            assert Counter(_keyless(got)) == Counter(_keyless(expected))
            assert len({r.key for r in got}) == len(got)
        # The next poll: some alerts change, some go, some come, the order shuffles;
        # sometimes the pages change too (a new tuple), sometimes not (the same one).
        alerts = [change(rng, a) if rng.random() < 0.3 else a for a in alerts]
        alerts = [a for a in alerts if rng.random() > 0.1] or alerts[:1]
        for _ in range(rng.randrange(3)):
            alerts.append(make_alert(rng, next_id))
            next_id += 1
        rng.shuffle(alerts)
        if rng.random() < 0.3:
            pages = make_pages(rng, alerts)


def test_a_list_passed_for_pages_is_never_trusted_to_stay_the_same() -> None:
    rng = random.Random(1)
    alerts = tuple(make_alert(rng, i) for i in range(30))
    index = AlertIndex(alerts)
    pages = list(make_pages(random.Random(5), list(alerts)))
    before = alert_rows(pages, index, [PATH], ME)
    pages.clear()  # the same list object, now empty
    after = alert_rows(pages, index, [PATH], ME)
    assert after == alert_rows((), AlertIndex(alerts), (PATH,), ME)
    assert before != after or not any(r.kind == "page" for r in before)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), shuffle=st.booleans())
def test_live_rows_match_a_fresh_computation_whatever_changes(seed: int, shuffle: bool) -> None:
    """The dashboard's rows, kept up to date in proportion to the change, are always the
    rows the alert list gives for the same refreshes, for every filter in turn and back
    again (with alerts linked to the alert behind them: the link, like a group's key, is
    kept from the last refresh while it holds)."""
    rng = random.Random(seed)
    alerts = [make_alert(rng, i, linked=True) for i in range(rng.randrange(1, 60))]
    index = None
    paths = (PATH,)
    pages = make_pages(rng, alerts)
    live = LiveRows()
    next_id = len(alerts)
    for _ in range(6):
        snapshot = tuple(alerts)
        index = AlertIndex(snapshot, previous=index)
        for filters in [*rng.sample(FILTERS, 4), AlertFilter(), AlertFilter(query="di")]:
            expected = alert_rows(pages, index, paths, ME, filters)
            got = live.rows(pages, snapshot, paths, ME, filters)
            # The same rows; only a group's key may differ, as it is kept from the last
            # refresh while the group lives (its first member may have gone).
            assert Counter(_keyless(got)) == Counter(_keyless(expected))
            assert len({r.key for r in got}) == len(got)
        # The next poll, as the incremental sync brings it: unchanged alerts are the same
        # objects in the same order; some change, go or come (and sometimes the whole
        # order moves, as after a full listing); sometimes the pages change too.
        alerts = [change(rng, a) if rng.random() < 0.3 else a for a in alerts]
        alerts = [a for a in alerts if rng.random() > 0.1] or alerts[:1]
        for _ in range(rng.randrange(3)):
            alerts.insert(rng.randrange(len(alerts) + 1), make_alert(rng, next_id, linked=True))
            next_id += 1
        if shuffle and rng.random() < 0.3:
            rng.shuffle(alerts)
        if rng.random() < 0.3:
            pages = make_pages(rng, alerts)


def test_a_refresh_with_one_alert_changed_in_a_thousand_redoes_only_its_row() -> None:
    rng = random.Random(3)
    alerts = [make_alert(rng, i) for i in range(1000)]
    pages = make_pages(rng, alerts)
    live = LiveRows()
    before = live.rows(pages, tuple(alerts), (PATH,), ME)
    assert live.counts["entries"] == 1000
    live.counts.clear()

    alerts[500] = replace(alerts[500], title="Something new", state="firing")
    alerts.append(replace(make_alert(rng, 5000), title="Another new one", state="firing"))
    after = live.rows(pages, tuple(alerts), (PATH,), ME)

    assert after == alert_rows(pages, AlertIndex(tuple(alerts)), (PATH,), ME)
    assert after != before
    # Two alerts prepared; the new alerts' groups and the group the changed one left
    # regrouped and their rows redone: a handful, not a thousand.
    assert live.counts["entries"] == 2
    assert live.counts["rebuilds"] == 0
    assert live.counts["rows"] <= 6
    assert live.counts["groups"] <= 4


def test_a_longer_query_searches_only_what_the_shorter_one_matched() -> None:
    rng = random.Random(4)
    alerts = tuple(make_alert(rng, i) for i in range(300))
    live = LiveRows()
    paths = (PATH,)  # the same objects, as the engine keeps them
    live.rows((), alerts, paths, ME, AlertFilter(query="disk"))
    seen: list[int] = []
    matches = liverows._matches

    def counting(search: str, terms: tuple[str, ...]) -> bool:
        seen.append(1)
        return matches(search, terms)

    liverows._matches = counting
    try:
        rows = live.rows((), alerts, paths, ME, AlertFilter(query="disk f"))
    finally:
        liverows._matches = matches
    disk = sum(1 for a in alerts if "disk" in a.title.casefold())
    assert len(seen) == disk < len(alerts)
    assert rows == alert_rows((), AlertIndex(alerts), paths, ME, AlertFilter(query="disk f"))


def test_a_group_keeps_its_key_in_the_live_rows_when_the_member_that_named_it_goes() -> None:
    first = Alert(
        key="grafana:eu:1",
        id="1",
        source="grafana",
        instance="eu",
        title="Disk full",
        state="firing",
        severity="critical",
        started_at=NOW,
        fingerprint="fp1",
    )
    second = replace(first, key="grafana:us:1", instance="us")  # the same alert elsewhere
    other = replace(first, key="grafana:eu:2", id="2", title="CPU hot", fingerprint="fp2")
    live = LiveRows()
    paths = (PATH,)
    row = next(r for r in live.rows((), (first, second, other), paths, ME) if r.count == 2)
    assert row.count == 2
    after = live.rows((), (second, other), paths, ME)  # the one in eu resolved and left
    assert [r.key for r in after if r.title == "Disk full"] == [row.key]
    assert live.counts["rebuilds"] == 1  # the first build only
