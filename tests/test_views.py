"""Pure views: who is on call, my shifts, coverage gaps, the alert list and its diff."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import factories
import pytest
from factories import ANA, BEN, CY, ME, alert, page, shift
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall_tui.core import views as v
from oncall_tui.domain import (
    NOBODY,
    EscalationLevel,
    EscalationPath,
    EscalationTarget,
    Layer,
    Link,
    PageEvent,
    Rotation,
    Schedule,
    Shift,
    User,
)

GHOST = User("U_GHOST", "")  # a user the org no longer lists, no name

MON = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MON + timedelta(days=day, hours=hour, minutes=minute)


def schedule(sid: str, name: str, *layers: tuple[str, str, str], tz: str = "UTC") -> Schedule:
    """layers: (rotation_id, layer_id, name), one rotation per layer."""
    rotations = tuple(
        Rotation(id=r, name=n, layers=(Layer(id=lay, name=n),)) for r, lay, n in layers
    )
    return Schedule(id=sid, name=name, timezone=tz, rotations=rotations)


PAY = schedule("S_PAY", "On call: Payments", ("R_WH", "L_WH", "Working hours"), tz="Europe/London")
GLOBAL = schedule(
    "S_GLOBAL",
    "Global on-call",
    ("R_EU", "L_EU", "Europe"),
    ("R_AE", "L_AE", "Americas East"),
    ("R_AW", "L_AW", "Americas West"),
    ("R_EUW", "L_EUW", "Europe Weekend"),
    ("R_AMW", "L_AMW", "Americas Weekend"),
)
ESC = schedule("S_ESC", "Escalators", ("R_ESC", "L_ESC", "Escalators"))
SCHEDULES = (PAY, ESC, GLOBAL)


def global_week() -> list[Shift]:
    """Follow-the-sun layers for one week, as in the design notes."""
    people = [ANA, BEN, CY, ME]
    out: list[Shift] = []
    for d in range(5):
        out.append(shift("S_GLOBAL", "R_EU", "L_EU", at(d, 6), at(d, 16), people[d % 4]))
        out.append(shift("S_GLOBAL", "R_AE", "L_AE", at(d, 14), at(d, 23), people[(d + 1) % 4]))
        out.append(shift("S_GLOBAL", "R_AW", "L_AW", at(d, 0), at(d, 6), people[(d + 2) % 4]))
    for d in (5, 6):
        out.append(shift("S_GLOBAL", "R_EUW", "L_EUW", at(d, 6), at(d, 18), ANA))
        out.append(shift("S_GLOBAL", "R_AMW", "L_AMW", at(d, 18), at(d + 1, 6), BEN))
    return out


# ============================================================== who is on call


def test_on_call_at_reports_every_layer_including_no_one() -> None:
    shifts = global_week()
    slots = v.on_call_at(shifts, [GLOBAL], at(0, 15))  # Mon 15:00: Europe and Am. East overlap
    by_layer = {s.layer_name: s for s in slots}
    assert [s.layer_name for s in slots] == [
        "Europe",
        "Americas East",
        "Americas West",
        "Europe Weekend",
        "Americas Weekend",
    ]
    assert by_layer["Europe"].users == (ANA,)
    assert by_layer["Europe"].until == at(0, 16)
    assert by_layer["Americas East"].users == (BEN,)
    assert not by_layer["Americas West"].covered
    assert by_layer["Americas West"].who == "no one"
    assert by_layer["Americas West"].until is None
    assert not by_layer["Americas West"].nobody_override


def test_on_call_at_half_open_boundaries() -> None:
    shifts = global_week()
    at_end = {s.layer_name: s for s in v.on_call_at(shifts, [GLOBAL], at(0, 16))}
    assert not at_end["Europe"].covered  # the shift ends at 16:00 exactly
    at_start = {s.layer_name: s for s in v.on_call_at(shifts, [GLOBAL], at(0, 6))}
    assert at_start["Europe"].users == (ANA,)
    assert not at_start["Americas West"].covered


def test_on_call_at_nobody_override_and_missing_user() -> None:
    shifts = [
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 0), at(0, 12), NOBODY, entry_id="O1"),
        shift("S_PAY", "R_WH", "L_WH", at(0, 0), at(0, 12), None),
    ]
    slots = {s.schedule_id: s for s in v.on_call_at(shifts, SCHEDULES, at(0, 6))}
    assert not slots["S_ESC"].covered and slots["S_ESC"].nobody_override
    assert slots["S_ESC"].until == at(0, 12)
    assert not slots["S_PAY"].covered and slots["S_PAY"].nobody_override


def test_on_call_at_joins_contiguous_entries_for_until() -> None:
    shifts = [
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 9), at(0, 12), ANA),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 12), at(0, 14), ANA, entry_id="O2"),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 14), at(0, 17), ANA),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 17), at(0, 20), BEN),
    ]
    (slot,) = v.on_call_at(shifts, [ESC], at(0, 10))
    assert slot.users == (ANA,) and slot.until == at(0, 17)


def test_on_call_at_unknown_layers_schedules_and_empty_input() -> None:
    bare = Schedule(id="S_BARE", name="Bare")
    stray = shift("S_BARE", "R_X", "L_X", at(0, 0), at(1, 0), GHOST)
    slots = v.on_call_at([stray], [bare], at(0, 1))
    assert len(slots) == 1
    assert slots[0].layer_name == "L_X" and slots[0].users == (GHOST,)
    assert slots[0].who == "U_GHOST"  # a user without a name is shown by id
    empty = v.on_call_at([], [bare], at(0, 1))
    assert len(empty) == 1 and empty[0].rotation_id == "" and not empty[0].covered
    assert v.on_call_at([], [], at(0, 1)) == ()


def test_on_call_at_filters_schedules_and_ignores_zero_length() -> None:
    shifts = [
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 6), at(0, 6), ANA),
        *global_week(),
    ]
    slots = v.on_call_at(shifts, SCHEDULES, at(0, 6), schedule_ids=["S_ESC"])
    assert [s.schedule_id for s in slots] == ["S_ESC"]
    assert not slots[0].covered


def test_rotation_versions_are_not_counted_twice() -> None:
    twice = replace(
        ESC,
        rotations=(*ESC.rotations, replace(ESC.rotations[0], effective_from=at(7, 0))),
    )
    assert v.schedule_layers(twice) == (("S_ESC", "R_ESC", "L_ESC"),)


# ================================================================ my shifts


def my_world() -> list[Shift]:
    return [
        # Payments: mine 09–12 and 12–17 (split entry), then Ana.
        shift("S_PAY", "R_WH", "L_WH", at(0, 9), at(0, 12), ME),
        shift("S_PAY", "R_WH", "L_WH", at(0, 12), at(0, 17), ME),
        shift("S_PAY", "R_WH", "L_WH", at(0, 17), at(1, 9), ANA),
        shift("S_PAY", "R_WH", "L_WH", at(1, 9), at(1, 17), ME),
        *global_week(),
    ]


def test_my_current_shifts_with_context() -> None:
    now = at(0, 10)
    (mine,) = v.my_current_shifts(my_world(), SCHEDULES, ME, now)
    assert mine.schedule_name == "On call: Payments"
    assert mine.layer_name == "Working hours"
    assert (mine.start, mine.end) == (at(0, 9), at(0, 17))
    assert mine.left == timedelta(hours=7)
    assert mine.next_user == ANA and mine.next_start == at(0, 17)
    assert mine.next_known
    assert mine.others == ()  # a single-layer schedule
    assert len(mine.parts) == 2 and mine.active(now)


def test_my_current_shift_on_global_lists_other_layers_now() -> None:
    now = at(3, 15)  # Thursday 15:00: ME is on Europe (d=3), Ana on Americas East
    (mine,) = v.my_current_shifts(my_world(), SCHEDULES, ME, now)
    assert mine.layer_name == "Europe"
    others = {o.layer_name: o.who for o in mine.others}
    assert others["Americas East"] == "Ana"
    assert others["Americas West"] == "no one"
    assert mine.next_user == ANA  # Friday's Europe
    assert mine.next_start == at(4, 6)


def test_my_shifts_spanning_the_window_edges_and_none_for_nobody() -> None:
    shifts = [shift("S_ESC", "R_ESC", "L_ESC", at(-1, 0), at(9, 0), ME)]
    (mine,) = v.my_current_shifts(shifts, SCHEDULES, ME, at(0, 0))
    assert mine.start == at(-1, 0) and mine.end == at(9, 0)
    assert not mine.next_known and mine.next_user is None and mine.next_start is None
    assert v.my_current_shifts(shifts, SCHEDULES, None, at(0, 0)) == ()
    assert v.my_next_shift(shifts, SCHEDULES, None, at(0, 0)) is None


def test_next_is_no_one_when_a_nobody_override_follows() -> None:
    shifts = [
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 0), at(0, 8), ME),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 8), at(0, 12), NOBODY, entry_id="O1"),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 12), at(0, 20), BEN),
    ]
    (mine,) = v.my_current_shifts(shifts, SCHEDULES, ME, at(0, 1))
    assert mine.next_known and mine.next_user is None and mine.next_start == at(0, 8)


def test_my_next_shift_and_upcoming() -> None:
    shifts = my_world()
    nxt = v.my_next_shift(shifts, SCHEDULES, ME, at(0, 18))
    assert nxt is not None and nxt.start == at(1, 0) and nxt.layer_name == "Americas West"
    assert nxt.starts_in == timedelta(hours=6)
    assert nxt.left == timedelta(hours=12)
    upcoming = v.my_upcoming_shifts(shifts, SCHEDULES, ME, at(0, 18))
    assert [(u.start, u.layer_name) for u in upcoming] == [
        (at(1, 0), "Americas West"),
        (at(1, 9), "Working hours"),
        (at(2, 14), "Americas East"),
        (at(3, 6), "Europe"),
    ]
    assert len(v.my_upcoming_shifts(shifts, SCHEDULES, ME, at(0, 18), limit=2)) == 2
    # While on call, "next" is the next one after the current.
    during = v.my_next_shift(shifts, SCHEDULES, ME, at(0, 10))
    assert during is not None and during.start == at(1, 0)
    assert v.my_next_shift([], SCHEDULES, ME, at(0, 10)) is None


def test_is_on_call() -> None:
    assert v.is_on_call(my_world(), ME, at(0, 9))
    assert not v.is_on_call(my_world(), ME, at(0, 17))
    assert not v.is_on_call(my_world(), None, at(0, 9))


def test_merge_contiguous_and_chain_helpers() -> None:
    parts = [
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 0), at(0, 4), ANA),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 4), at(0, 8), ANA, entry_id="O1"),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 8), at(0, 9), BEN),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 9), at(0, 9), BEN),  # zero-length: dropped
    ]
    merged = v.merge_contiguous(parts)
    assert [(m.start, m.end, m.user) for m in merged] == [
        (at(0, 0), at(0, 8), ANA),
        (at(0, 8), at(0, 9), BEN),
    ]
    assert merged[0].is_override and not merged[1].is_override
    apart = v.merge_contiguous(parts, keep_overrides_apart=True)
    assert [(m.start, m.end, m.is_override) for m in apart] == [
        (at(0, 0), at(0, 4), False),
        (at(0, 4), at(0, 8), True),
        (at(0, 8), at(0, 9), False),
    ]
    assert v.chain_end(parts, parts[0]) == at(0, 8)
    assert v.chain_start(parts, parts[1]) == at(0, 0)
    assert v.merge_contiguous([]) == ()


# ================================================================== at a glance


def test_at_a_glance_for_escalators_and_global() -> None:
    shifts = [
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 9), at(0, 17), ANA),
        shift("S_ESC", "R_ESC", "L_ESC", at(1, 9), at(1, 17), BEN),
        *global_week(),
    ]
    lines = v.at_a_glance(
        shifts, SCHEDULES, at(0, 15), schedule_ids=["S_ESC", "S_GLOBAL"], zone="Europe/Paris"
    )
    assert [g.text for g in lines] == [
        "Escalators: Ana until 18:00 CET",
        "Global on-call: Europe: Ana until 17:00 CET · Americas East: Ben until Tue 00:00 CET",
    ]
    assert lines[1].next_change == at(0, 16)
    night = v.at_a_glance(shifts, SCHEDULES, at(0, 20), schedule_ids=["S_ESC", "S_MISSING"])
    assert len(night) == 1
    assert night[0].text == "Escalators: no one on call now; Ben from Tue 09:00 UTC"
    assert not night[0].covered


# ================================================================ coverage gaps


def test_global_weekday_hole_at_23_utc_is_a_gap() -> None:
    gaps = v.coverage_gaps(global_week(), "S_GLOBAL", at(0, 0), at(5, 0))
    assert [(g.start, g.end) for g in gaps] == [
        (at(0, 23), at(1, 0)),
        (at(1, 23), at(2, 0)),
        (at(2, 23), at(3, 0)),
        (at(3, 23), at(4, 0)),
        (at(4, 23), at(5, 0)),
    ]
    assert all(g.duration == timedelta(hours=1) for g in gaps)


def test_nobody_override_creates_a_gap_and_window_edges_clip() -> None:
    shifts = [
        shift("S_ESC", "R_ESC", "L_ESC", at(-1, 0), at(0, 10), ANA),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 10), at(0, 12), NOBODY, entry_id="O1"),
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 12), at(2, 0), BEN),
    ]
    gaps = v.coverage_gaps(shifts, "S_ESC", at(0, 0), at(1, 0))
    assert [(g.start, g.end) for g in gaps] == [(at(0, 10), at(0, 12))]
    assert v.coverage_gaps([], "S_ESC", at(0, 0), at(1, 0))[0].duration == timedelta(days=1)
    assert v.coverage_gaps(shifts, "S_ESC", at(1, 0), at(0, 0)) == ()


def test_other_layer_covering_a_nobody_override_is_no_gap() -> None:
    shifts = [
        shift("S_GLOBAL", "R_EU", "L_EU", at(0, 6), at(0, 16), NOBODY, entry_id="O1"),
        shift("S_GLOBAL", "R_AE", "L_AE", at(0, 6), at(0, 16), CY),
    ]
    assert v.coverage_gaps(shifts, "S_GLOBAL", at(0, 6), at(0, 16)) == ()


def test_all_coverage_gaps_sorted_across_schedules() -> None:
    shifts = [
        shift("S_ESC", "R_ESC", "L_ESC", at(0, 0), at(0, 5), ANA),
        shift("S_PAY", "R_WH", "L_WH", at(0, 2), at(0, 6), BEN),
        shift("S_GLOBAL", "R_EU", "L_EU", at(0, 0), at(0, 6), CY),
    ]
    gaps = v.all_coverage_gaps(shifts, SCHEDULES, at(0, 0), at(0, 6))
    assert [(g.schedule_name, g.start, g.end) for g in gaps] == [
        ("On call: Payments", at(0, 0), at(0, 2)),
        ("Escalators", at(0, 5), at(0, 6)),
    ]


spans = st.lists(
    st.tuples(st.integers(0, 48), st.integers(0, 12), st.sampled_from([ANA, BEN, NOBODY, None])),
    max_size=12,
)


@settings(max_examples=150)
@given(spans)
def test_gaps_and_coverage_partition_the_window(raw: list) -> None:
    shifts = [
        shift("S_ESC", "R_ESC", f"L{i % 2}", at(0, s), at(0, s + n), u)
        for i, (s, n, u) in enumerate(raw)
    ]
    start, end = at(0, 4), at(0, 40)
    gaps = v.coverage_gaps(shifts, "S_ESC", start, end)
    covered = v.covered_intervals(shifts, start, end)
    total = sum((g.duration for g in gaps), timedelta()) + sum(
        (b - a for a, b in covered), timedelta()
    )
    assert total == end - start
    for g in gaps:
        assert g.start < g.end
        mid = g.start + (g.end - g.start) / 2
        assert not any(s.covers(mid) and v.is_person(s.user) for s in shifts)
    assert all(a.end < b.start for a, b in itertools.pairwise(gaps))


# ============================================================ pages and alerts

NOW = at(0, 3)
assert NOW == factories.NOW  # the alerts and pages below are built at this time


PATH = EscalationPath(
    id="EP1",
    name="Payments",
    levels=(
        EscalationLevel((EscalationTarget("schedule", "S_PAY"),), 300),
        EscalationLevel((EscalationTarget("schedule", "S_ESC"),), 600),
        EscalationLevel((EscalationTarget("schedule", "S_GLOBAL"),), 900),
    ),
)
PATH_ME = replace(PATH, id="EP2", current_responders=(ME,))


def gk(title: str, source: str = "grafana:prod") -> str:
    return v.alert_group_key(source, title)


def keys(rows) -> list[str]:
    return [r.key for r in rows]


def test_page_reaches_me_while_its_latest_round_names_me_or_i_acked_it() -> None:
    assert v.page_reaches_me(page("P1", notified=((5, (ME,)),)), PATH, ME)
    assert not v.page_reaches_me(page("P1"), PATH, ME)
    # Not notified yet: whoever the path pages first.
    assert v.page_reaches_me(page("P1", path="EP2", notified=()), PATH_ME, ME)
    # Once someone else is notified, the path's responders no longer make it mine.
    assert not v.page_reaches_me(page("P1", path="EP2"), PATH_ME, ME)
    assert not v.page_reaches_me(page("P1"), None, ME)
    assert not v.page_reaches_me(page("P1", notified=((5, (ME,)),)), PATH, None)


def test_a_page_that_moved_past_me_is_no_longer_mine_and_says_where_it_went() -> None:
    moved = page("P1", notified=((9, (ME,)), (2, (BEN,))))
    assert not v.page_reaches_me(moved, PATH, ME)
    row = v.alert_rows([moved], [], [PATH], ME)[0]
    assert not row.mine and row.went == f"now paging {BEN.name} (level 2)"
    # Acked by someone else after it left me.
    acked = replace(
        moved,
        status="acked",
        events=(*moved.events, PageEvent("a", "acked", NOW, users=(BEN,))),
    )
    assert v.alert_rows([acked], [], [PATH], ME)[0].went == f"acked by {BEN.name}"
    # Acked by me: mine.
    mine = replace(
        page("P2", notified=((9, (ME,)),)),
        status="acked",
    )
    mine = replace(mine, events=(*mine.events, PageEvent("a", "acked", NOW, users=(ME,))))
    assert v.page_reaches_me(mine, PATH, ME)
    assert v.alert_rows([mine], [], [PATH], ME)[0].went == ""


def test_my_pages_first_then_other_pages_then_alerts() -> None:
    pages = [
        page("P_OTHER", minutes_ago=1),
        page("P_MINE", notified=((5, (ME,)),), minutes_ago=30),
    ]
    alerts = [alert(1, severity="warning"), alert(2, "Disk full", severity="critical")]
    rows = v.alert_rows(pages, alerts, [PATH], ME)
    assert keys(rows) == [
        "page:P_MINE",
        "page:P_OTHER",
        gk("disk full"),
        gk("high error rate"),
    ]
    assert rows[0].mine and not rows[1].mine
    assert rows[0].section == 0 and rows[1].section == 1 and rows[2].section == 2


def test_sort_by_urgency_then_unhandled_then_newest() -> None:
    alerts = [
        alert(1, "old warning", severity="warning", minutes_ago=50),
        alert(2, "new warning", severity="warning", minutes_ago=5),
        alert(3, "old critical", severity="critical", minutes_ago=90),
        alert(4, "silenced critical", severity="critical", minutes_ago=1, silenced_by=("s1",)),
        alert(5, "odd", severity="whatever", minutes_ago=1),
    ]
    rows = v.alert_rows([], alerts, [], ME)
    assert [r.title for r in rows] == [
        "old critical",
        "silenced critical",
        "new warning",
        "old warning",
        "odd",
    ]
    assert rows[1].state == "silenced"
    assert rows[4].severity == "whatever"


def test_duplicates_group_into_one_row_with_a_count() -> None:
    alerts = [
        alert(1, "High CPU", minutes_ago=30, labels=(("instance", "a"),)),
        alert(2, "high cpu", minutes_ago=5, severity="warning", labels=(("instance", "b"),)),
        alert(3, "High CPU", source="alertmanager", instance="am", minutes_ago=1),
        # Same fingerprint as 1, seen again with a different title (a refresh renamed it).
        alert(4, "CPU saturation", fingerprint="fp1", minutes_ago=20),
    ]
    rows = v.alert_rows([], alerts, [], ME)
    assert len(rows) == 2
    grafana = next(r for r in rows if r.source == "grafana:prod")
    assert grafana.count == 3
    assert grafana.key == gk("cpu saturation")  # smallest title token
    assert grafana.title == "High CPU"  # the oldest member's title
    assert grafana.severity == "critical"
    assert grafana.started_at == NOW - timedelta(minutes=30)
    assert grafana.latest_at == NOW - timedelta(minutes=5)
    assert set(grafana.alert_keys) == {"grafana:prod:A1", "grafana:prod:A2", "grafana:prod:A4"}


def test_group_key_is_stable_across_refresh_order_and_membership() -> None:
    a = [alert(i, "Flappy", minutes_ago=i) for i in range(1, 6)]
    k1 = keys(v.alert_rows([], a, [], ME))
    k2 = keys(v.alert_rows([], list(reversed(a[1:])), [], ME))
    assert k1 == k2 == [gk("flappy")]


def test_same_fingerprint_across_sources_groups() -> None:
    alerts = [
        alert(1, "Checkout errors", source="incident.io", instance="", fingerprint="abc"),
        alert(2, "checkout_errors", source="grafana", fingerprint="abc"),
    ]
    (row,) = v.alert_rows([], alerts, [], ME)
    assert row.count == 2 and row.source == "grafana:prod, incident.io"


def test_text_query_over_title_source_labels_and_counts_matches_only() -> None:
    alerts = [
        alert(1, "High CPU", labels=(("instance", "db-1"), ("team", "payments"))),
        alert(2, "High CPU", labels=(("instance", "db-2"), ("team", "payments"))),
        alert(3, "Disk full", source="alertmanager", instance="am", labels=(("team", "search"),)),
    ]
    index = v.AlertIndex(alerts)
    assert [r.count for r in v.alert_rows([], index, [], ME, v.AlertFilter("db-2"))] == [1]
    assert len(v.alert_rows([], index, [], ME, v.AlertFilter("TEAM=payments cpu"))) == 1
    assert len(v.alert_rows([], index, [], ME, v.AlertFilter("alertmanager"))) == 1
    assert len(v.alert_rows([], index, [], ME, v.AlertFilter("critical"))) == 2
    assert v.alert_rows([], index, [], ME, v.AlertFilter("nothing-like-this")) == ()
    assert len(v.alert_rows([], index, [], ME, v.AlertFilter("   "))) == 2


def test_query_matches_pages_by_title_and_by_their_alerts_labels() -> None:
    rows = v.alert_rows([page("P1"), page("P2")], [], [PATH], ME, v.AlertFilter("p2"))
    assert keys(rows) == ["page:P2"]
    linked = page("P3", alert_ids=("A1",))
    alerts = [alert(1, "Checkout down", labels=(("team", "payments"),))]
    rows = v.alert_rows([page("P1"), linked], alerts, [PATH], ME, v.AlertFilter("team=pay"))
    assert keys(rows) == ["page:P3", gk("Checkout down")]


def test_mine_only_hide_acked_critical_only_and_resolved() -> None:
    pages = [
        page("P_MINE", notified=((5, (ME,)),), alert_ids=("A1",)),
        page("P_ACK", status="acked", notified=((5, (ME,)),)),
        page("P_LOW", urgency="low", priority="P4"),
        page("P_DONE", status="resolved"),
    ]
    alerts = [
        alert(1, "Linked to my page"),
        alert(2, "Not mine", severity="warning"),
        alert(3, "Silenced", silenced_by=("s",)),
        alert(4, "Resolved", state="resolved"),
    ]
    index = v.AlertIndex(alerts)
    everything = v.alert_rows(pages, index, [PATH], ME)
    assert "page:P_DONE" not in keys(everything)
    assert gk("resolved") not in keys(everything)
    mine = v.alert_rows(pages, index, [PATH], ME, v.AlertFilter(mine_only=True))
    assert keys(mine) == ["page:P_MINE", "page:P_ACK", gk("linked to my page")]
    unacked = v.alert_rows(pages, index, [PATH], ME, v.AlertFilter(hide_acked=True))
    assert "page:P_ACK" not in keys(unacked)
    assert gk("silenced") not in keys(unacked)
    critical = v.alert_rows(pages, index, [PATH], ME, v.AlertFilter(critical_only=True))
    assert "page:P_LOW" not in keys(critical)
    assert gk("not mine") not in keys(critical)
    assert "page:P_MINE" in keys(critical)
    with_resolved = v.alert_rows(pages, index, [PATH], ME, v.AlertFilter(include_resolved=True))
    assert {"page:P_DONE", gk("resolved")} <= set(keys(with_resolved))


def test_alert_state_follows_its_pages() -> None:
    alerts = [alert(1, "Acked one"), alert(2, "Snoozed one"), alert(3, "Still paging")]
    pages = [
        page("P1", status="acked", alert_ids=("A1",)),
        page("P2", status="snoozed", alert_ids=("A2",)),
        page("P3", status="acked", alert_ids=("A3",)),
        page("P4", status="triggered", alert_ids=("A3",)),
        page("P5", status="resolved", alert_ids=("A3",)),
    ]
    rows = {r.title: r for r in v.alert_rows(pages, alerts, [PATH], ME) if r.kind == "alert"}
    assert rows["Acked one"].state == "acked"
    assert rows["Snoozed one"].state == "snoozed"
    assert rows["Still paging"].state == "firing"
    assert rows["Still paging"].page_ids == ("P3", "P4")


def test_escalation_level_and_time_to_next_level() -> None:
    p = page("P1", notified=((4, (BEN,)),))  # level 1 notified 4 min ago, 300 s to ack
    (row,) = v.alert_rows([p], [], [PATH], ME)
    assert row.level == 1 and row.levels == 3
    assert row.next_level_at == NOW + timedelta(minutes=1)
    assert row.next_level_in(NOW) == "in 1m"
    assert row.age(NOW) == "10m ago"
    two = page("P2", notified=((8, (BEN,)), (3, (ANA,))))
    assert v.escalation_next_at(two, PATH) == NOW - timedelta(minutes=3) + timedelta(seconds=600)
    last = page("P3", notified=((9, (BEN,)), (6, (ANA,)), (2, (CY,))))
    assert v.escalation_next_at(last, PATH) is None  # on the last level
    assert v.escalation_next_at(page("P4", status="acked"), PATH) is None
    assert v.escalation_next_at(page("P5"), None) is None
    no_tta = replace(PATH, levels=(EscalationLevel(()), EscalationLevel(())))
    assert v.escalation_next_at(page("P6"), no_tta) is None
    unknown_path = v.alert_rows([page("P7", path="EP_GONE")], [], [PATH], ME)[0]
    assert unknown_path.levels is None and unknown_path.next_level_at is None
    assert unknown_path.next_level_in(NOW) == ""


def test_page_severity_from_priority_and_urgency() -> None:
    assert v.page_severity(page("P", priority="P1")) == "critical"
    assert v.page_severity(page("P", priority="Urgent")) == "critical"
    assert v.page_severity(page("P")) == "high"
    assert v.page_severity(page("P", urgency="low")) == "low"
    assert v.page_severity(page("P", urgency=None)) == ""
    assert v.page_urgency(page("P", urgency="HIGH")) == "high"
    (row,) = v.alert_rows([page("P", urgency=None)], [], [PATH], ME)
    assert row.severity == "" and row.urgency == v.severity_rank("high")


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("CRITICAL", "critical"),
        ("P1", "critical"),
        ("p2 - high", "major"),
        ("warn", "warning"),
        ("Sev3", "warning"),
        ("info", "info"),
        ("", ""),
        ("bizarre", "bizarre"),
    ],
)
def test_normalise_severity(raw: str, norm: str) -> None:
    assert v.normalise_severity(raw) == norm


def test_link_markers_ok_missing_refused_and_panel_fallback() -> None:
    ok = Link("runbook", url="https://runbooks.example/x")
    refused = Link("dashboard", problem="refused: javascript links are never opened")
    panel = Link("panel", url="https://grafana.example/d/1?viewPanel=2")
    assert v.alert_link_states(alert(1, links=(ok, refused))) == ("ok", "refused")
    assert v.alert_link_states(alert(1, links=(refused, panel))) == ("missing", "ok")
    assert v.alert_link_states(alert(1)) == ("missing", "missing")
    rows = v.alert_rows(
        [page("P1", alert_ids=("A1",)), page("P2", alert_ids=("A_NOT_LOADED",))],
        [alert(1, links=(ok, refused))],
        [PATH],
        ME,
    )
    by = {r.key: r for r in rows}
    assert (by["page:P1"].runbook, by["page:P1"].dashboard) == ("ok", "refused")
    assert (by["page:P2"].runbook, by["page:P2"].dashboard) == ("unknown", "unknown")
    assert by["page:P1"].alert_keys == ("grafana:prod:A1",)


def test_group_takes_the_best_link_among_members() -> None:
    ok = Link("runbook", url="https://runbooks.example/x")
    (row,) = v.alert_rows([], [alert(1), alert(2, links=(ok,))], [], ME)
    assert row.runbook == "ok" and row.dashboard == "missing"


def test_alert_states_from_every_source() -> None:
    cases = {
        "firing": "firing",
        "active": "firing",
        "alerting": "firing",
        "pending": "pending",
        "suppressed": "silenced",
        "inhibited": "silenced",
        "resolved": "resolved",
        "normal": "resolved",
        "": "firing",
        "brand-new-state": "brand-new-state",
    }
    for raw, expected in cases.items():
        rows = v.alert_rows([], [alert(1, state=raw)], [], ME, v.AlertFilter(include_resolved=True))
        assert rows[0].state == expected, raw


def test_empty_inputs() -> None:
    assert v.alert_rows([], [], [], None) == ()
    assert v.alert_rows([page("P")], [], [], None)[0].mine is False
    assert len(v.AlertIndex([])) == 0


# ===================================================================== row diff


def test_diff_rows_added_removed_changed_cells_and_order() -> None:
    a1, a2, a3 = alert(1, "One"), alert(2, "Two"), alert(3, "Three")
    old = v.alert_rows([], [a1, a2], [], ME)
    new = v.alert_rows([], [replace(a1, severity="warning"), a3], [], ME)
    diff = v.diff_rows(old, new)
    assert diff.added == (gk("three"),)
    assert diff.removed == (gk("two"),)
    assert diff.changed == ((gk("one"), ("severity", "urgency", "critical")),)
    assert diff.order == tuple(r.key for r in new)
    assert not diff.empty
    same = v.diff_rows(new, new)
    assert same.empty and same.changed == ()


def test_diff_rows_detects_reordering_of_kept_rows() -> None:
    rows = v.alert_rows(
        [], [alert(1, "One", minutes_ago=1), alert(2, "Two", minutes_ago=2)], [], ME
    )
    diff = v.diff_rows(rows, tuple(reversed(rows)))
    assert diff.order_changed and not diff.changed and not diff.added


def test_row_cells_cover_every_field_but_the_key() -> None:
    assert "key" not in v.ROW_CELLS and "state" in v.ROW_CELLS and "count" in v.ROW_CELLS


@settings(max_examples=60)
@given(
    st.lists(st.sampled_from(range(8)), unique=True),
    st.lists(st.sampled_from(range(8)), unique=True),
)
def test_diff_rows_accounts_for_every_key(old_ids: list[int], new_ids: list[int]) -> None:
    old = v.alert_rows([], [alert(i, f"t{i}") for i in old_ids], [], ME)
    new = v.alert_rows([], [alert(i, f"t{i}", minutes_ago=3) for i in new_ids], [], ME)
    diff = v.diff_rows(old, new)
    old_keys, new_keys = set(keys(old)), set(keys(new))
    assert set(diff.added) == new_keys - old_keys
    assert set(diff.removed) == old_keys - new_keys
    assert {k for k, _ in diff.changed} == old_keys & new_keys
    for _, cells in diff.changed:
        assert set(cells) == {"started_at", "latest_at"}


# ================================================================ large inputs


def test_ten_thousand_alerts_group_and_filter_correctly() -> None:
    alerts = [
        alert(
            i,
            f"Service {i % 500} errors",
            labels=(("instance", f"host-{i}"), ("team", f"team{i % 7}")),
            severity=("critical", "warning")[i % 2],
            minutes_ago=i % 600,
        )
        for i in range(10_000)
    ]
    index = v.AlertIndex(alerts)
    rows = v.alert_rows([], index, [], ME)
    assert len(rows) == 500 and sum(r.count for r in rows) == 10_000
    hit = v.alert_rows([], index, [], ME, v.AlertFilter("host-4242"))
    assert len(hit) == 1 and hit[0].count == 1 and hit[0].title == "Service 242 errors"
    crit = v.alert_rows([], index, [], ME, v.AlertFilter(critical_only=True))
    assert sum(r.count for r in crit) == 5_000


def test_group_keys_are_bounded_and_inert_whatever_the_title() -> None:
    hostile = alert(1, "x" * 4000 + "\x1b]8;;evil\x07")
    (row,) = v.alert_rows([], [hostile], [], ME)
    assert row.key.startswith("alert:") and len(row.key) == len("alert:") + 20
    assert row.key.isprintable()
    assert row.key == gk(hostile.title.upper())  # case-insensitive


def test_an_incident_io_alert_behind_an_open_page_is_shown_once_by_the_page() -> None:
    raised = alert(1, "Ledger lag", source="incident.io", instance="")
    other = alert(2, "Disk full", source="incident.io", instance="")
    open_page = page("P1", alert_ids=(raised.id,), notified=((1, (ME,)),))
    rows = v.alert_rows([open_page], [raised, other], [PATH], ME)
    assert [r.kind for r in rows] == ["page", "alert"]
    assert rows[1].title == "Disk full"
    # Once the page is closed, the alert is a row of its own again.
    closed = replace(open_page, status="resolved")
    rows = v.alert_rows([closed], [raised, other], [PATH], ME, v.AlertFilter())
    assert "Ledger lag" in [r.title for r in rows if r.kind == "alert"]
