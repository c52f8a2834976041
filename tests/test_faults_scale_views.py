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


def make_alert(rng: random.Random, i: int) -> Alert:
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
        dedup_key=rng.choice(("", f"dk{rng.randrange(5)}")),
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
