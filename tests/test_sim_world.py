"""The simulated world and its scenario, without HTTP: schedules, overrides, pages
climbing their path, responses, incidents and their status rules, determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.sim.ids import IdFactory, encode_ulid, is_ulid, ulid_time
from oncall_tui.sim.scenario import SimClock, build_world
from oncall_tui.sim.world import NOBODY_ID, Actor, IncidentIoWorld, SimError

WED = datetime(2026, 9, 2, 10, 30, tzinfo=UTC)  # a Wednesday


def world_at(start: datetime = WED, **kwargs) -> tuple[IncidentIoWorld, SimClock]:
    clock = SimClock(start, frozen=True)
    kwargs.setdefault("background_alerts", 0)
    return build_world(clock, **kwargs), clock


def user_act(world: IncidentIoWorld, key: str) -> Actor:
    return world.actor_for(world.people[key].id)


# ------------------------------------------------------------------------- ids


def test_ulids_carry_time_sort_in_order_and_repeat_with_the_seed():
    a, b = IdFactory(5), IdFactory(5)
    times = [WED + timedelta(milliseconds=i // 3) for i in range(30)]
    ids = [a.new(t) for t in times]
    assert ids == [b.new(t) for t in times]
    assert ids == sorted(ids) and len(set(ids)) == 30
    assert all(is_ulid(i) and len(i) == 26 for i in ids)
    assert ulid_time(ids[0]) == WED
    assert IdFactory(6).new(WED) != ids[0]
    assert encode_ulid(0, 0) == "0" * 26
    with pytest.raises(ValueError):
        encode_ulid(1 << 48, 0)


def test_same_seed_and_start_build_the_same_world():
    w1, _ = world_at(seed=9)
    w2, _ = world_at(seed=9)
    w3, _ = world_at(seed=10)
    assert w1.summary() == w2.summary()
    assert list(w1.alerts) == list(w2.alerts) and list(w1.incidents) == list(w2.incidents)
    assert w1.me.id != w3.me.id
    assert w1.http_source.secret_token == w2.http_source.secret_token
    later, _ = world_at(WED + timedelta(days=40, hours=7), seed=9)
    assert later.me.id == w1.me.id  # the organisation's ids do not move with the clock
    assert later.summary()["schedules"] == w1.summary()["schedules"]


# ------------------------------------------------------------------- schedules


@pytest.mark.parametrize("hours", range(0, 7 * 24, 5))
def test_me_is_on_call_now_with_shifts_to_come_whenever_the_world_starts(hours):
    start = datetime(2026, 8, 31, tzinfo=UTC) + timedelta(hours=hours, minutes=17)
    world, _ = world_at(start)
    me = world.me.id
    on_now = [s.name for s in world.schedules.values() if me in world.users_on_call(s.id, start)]
    assert on_now, "me should be on call somewhere at the start of a demo"
    coming = [
        e
        for s in world.schedules.values()
        for e in world.entries(s, start, start + timedelta(days=14))[2]
        if e.user_id == me and e.start > start
    ]
    assert coming, "me should have shifts coming"


def test_global_on_call_has_the_weekday_23_to_24_hole_and_nothing_else():
    world, _ = world_at()
    glob = world.schedule_by_name["Global on-call"]
    monday = datetime(2026, 8, 31, tzinfo=UTC)
    _s, _o, final = world.entries(glob, monday, monday + timedelta(days=7))
    layers = {layer.id: r.name for r in glob.rotations for layer in r.layers}
    for day in range(7):
        for minute in range(0, 24 * 60, 30):
            t = monday + timedelta(days=day, minutes=minute)
            covering = [layers[e.layer_id] for e in final if e.start <= t < e.end and e.user_id]
            if day < 5 and t.hour == 23:
                assert covering == [], f"{t:%a %H:%M} should be a gap"
            else:
                assert covering, f"{t:%a %H:%M} should be covered"
    tue = monday + timedelta(days=1)
    assert {layers[e.layer_id] for e in final if e.start <= tue + timedelta(hours=15) < e.end} == {
        "Europe",
        "Americas East",
    }
    sat = monday + timedelta(days=5)
    assert [layers[e.layer_id] for e in final if e.start <= sat + timedelta(hours=23) < e.end] == [
        "Americas Weekend"
    ]


def test_next_shifts_are_the_ones_after_the_next_changeover():
    world, _ = world_at()
    oncall = world.schedule_by_name["On call: Payments"]
    current, upcoming = world.current_and_next_shifts(oncall, WED)
    names = lambda entries: sorted(world.users[e.user_id].name for e in entries)  # noqa: E731
    assert names(current) == ["Ana Souza", "Robin Ahn"]  # 07–16 and 08–17 London time
    assert names(upcoming) == ["Ana Souza", "Kofi Mensah", "Robin Ahn"]  # Kofi from 13:00


def test_a_nobody_override_uncovers_my_layer_and_leaves_the_others():
    world, _ = world_at()
    oncall = world.schedule_by_name["On call: Payments"]
    mine = next(e for e in world.on_call(oncall.id, WED) if e.user_id == world.me.id)
    window = (WED, WED + timedelta(hours=2))
    ov = world.create_override(
        schedule_id=oncall.id,
        rotation_id=mine.rotation_id,
        layer_id=mine.layer_id,
        start=window[0],
        end=window[1],
        user_ref={"id": NOBODY_ID},
    )
    assert ov.user_id is None
    _s, overrides, final = world.entries(oncall, *window)
    assert [o.entry_id for o in overrides] == [ov.id]
    during = [e for e in final if e.start < window[1] and e.end > window[0]]
    assert world.me.id not in {e.user_id for e in during}
    assert world.people["ana.souza"].id in {e.user_id for e in during}
    uncovered = [e for e in during if e.layer_id == mine.layer_id and e.user_id is None]
    assert [(e.start, e.end, e.entry_id) for e in uncovered] == [(*window, ov.id)]
    # my shift resumes after the override
    later = world.on_call(oncall.id, window[1] + timedelta(minutes=1))
    assert world.me.id in {e.user_id for e in later}


def test_overrides_on_one_layer_never_overlap():
    world, _ = world_at()
    sched = world.schedule_by_name["Support: Payments"]
    rot = sched.rotations[0]
    kw = {"schedule_id": sched.id, "rotation_id": rot.id, "layer_id": rot.layers[0].id}
    ana = {"email": "ana.souza@example.com"}
    long = world.create_override(**kw, start=WED, end=WED + timedelta(hours=10), user_ref=ana)
    world.create_override(
        **kw,
        start=WED + timedelta(hours=2),
        end=WED + timedelta(hours=3),
        user_ref={"id": world.people["kofi.mensah"].id},
    )
    spans = sorted((o.start - WED, o.end - WED) for o in world.overrides.values())
    h = timedelta(hours=1)
    assert spans == [(0 * h, 2 * h), (2 * h, 3 * h), (3 * h, 10 * h)]
    assert world.overrides[long.id].end == WED + 2 * h
    world.create_override(**kw, start=WED - h, end=WED + 11 * h, user_ref=ana)
    assert len(world.overrides) == 1
    with pytest.raises(SimError, match="cannot be changed"):
        only = next(iter(world.overrides.values()))
        world.update_override(
            only.id,
            rotation_id=rot.id,
            layer_id=rot.layers[0].id,
            start=WED,
            end=WED + h,
            user_ref={"id": NOBODY_ID},
        )


# ---------------------------------------------------------------------- pages


def ledger_page(world: IncidentIoWorld):
    return next(e for e in world.escalations.values() if "ledger" in e.title)


def notified(world: IncidentIoWorld, esc) -> list[list[str]]:
    return [
        sorted(world.users[u].name for u in ev.user_ids)
        for ev in esc.events
        if ev.event == "notified_users"
    ]


def test_the_demo_page_reaches_me_and_climbs_level_by_level():
    world, clock = world_at()
    assert not any("ledger" in e.title for e in world.escalations.values())
    clock.advance(2)
    world.advance()
    page = ledger_page(world)
    assert page.status == "triggered" and world.me.id in page.events[-1].user_ids
    clock.advance(299)
    world.advance()
    assert len(notified(world, page)) == 1
    clock.advance(2)  # level 1's five minutes are up: Escalators
    world.advance()
    assert notified(world, page)[1] == ["Mei Lin"]
    clock.advance(300)  # then Global on-call (Europe layer on Wednesday morning)
    world.advance()
    assert notified(world, page)[2] == ["Priya Natarajan"]
    clock.advance(600)
    world.advance()
    assert page.status == "expired" and page.events[-1].event == "expired"


def test_speed_makes_the_climb_faster():
    world, clock = world_at(speed=10)
    clock.advance(0.2)
    world.advance()
    page = ledger_page(world)
    clock.advance(31)
    world.advance()
    assert len(notified(world, page)) == 2


def test_ack_stops_the_climb_and_is_recorded_with_the_user():
    world, clock = world_at()
    clock.advance(2)
    world.advance()
    page = ledger_page(world)
    world.respond_escalation(page.id, "ack", actor=world.actor_for(world.me.id))
    clock.advance(3600)
    world.advance()
    assert page.status == "acked"
    assert len(notified(world, page)) == 1
    assert page.events[-1].event == "acked" and page.events[-1].user_ids == [world.me.id]
    (write,) = world.writes_of("escalation.respond")
    assert write.target_id == page.id and write.data["response"] == "ack"
    assert write.actor == "user:Robin Ahn"


def test_snooze_holds_the_page_then_it_comes_back():
    world, clock = world_at()
    clock.advance(2)
    world.advance()
    page = ledger_page(world)
    with pytest.raises(SimError, match="future"):
        world.respond_escalation(page.id, "snooze", snooze_until=WED)
    world.respond_escalation(page.id, "snooze", snooze_until=world.now() + timedelta(minutes=10))
    clock.advance(9 * 60)
    world.advance()
    assert page.status == "snoozed" and len(notified(world, page)) == 1
    clock.advance(61)
    world.advance()
    assert page.status == "triggered"
    assert notified(world, page)[1] == notified(world, page)[0]  # same level again


def test_nack_moves_the_page_up_but_not_for_a_bare_api_key():
    world, clock = world_at()
    clock.advance(2)
    world.advance()
    page = ledger_page(world)
    with pytest.raises(SimError, match="X-Incident-User"):
        world.respond_escalation(page.id, "nack")
    world.respond_escalation(page.id, "nack", actor=world.actor_for(world.me.id))
    assert notified(world, page)[-1] == ["Mei Lin"]


def test_cancel_is_idempotent_but_not_for_finished_pages():
    world, clock = world_at()
    clock.advance(2)
    world.advance()
    page = ledger_page(world)
    world.cancel_escalation(page.id)
    world.cancel_escalation(page.id)
    assert page.status == "cancelled"
    assert [e.event for e in page.events].count("cancelled") == 1
    with pytest.raises(SimError, match="already cancelled"):
        world.respond_escalation(page.id, "ack")
    clock.advance(3600)
    world.advance()
    other, _ = world.create_escalation(idempotency_key="x", title="t", path_id=world.global_path.id)
    clock.advance(3600)
    world.advance()
    assert other.status == "expired"
    with pytest.raises(SimError, match="cannot be cancelled"):
        world.cancel_escalation(other.id)


def test_resolving_the_alert_resolves_its_page():
    world, clock = world_at()
    clock.advance(2)
    world.advance()
    page = ledger_page(world)
    world.resolve_alert(page.alert_ids[0])
    assert page.status == "resolved"
    world.resolve_alert(page.alert_ids[0])  # a no-op the second time
    assert [e.event for e in page.events].count("resolved") == 1


def test_reassign_happens_once():
    world, clock = world_at()
    clock.advance(2)
    world.advance()
    page = ledger_page(world)
    new = world.reassign_escalation(page.id, user_ids=[world.people["kofi.mensah"].id])
    assert new.direct_user_ids == [world.people["kofi.mensah"].id]
    assert new.alert_ids == page.alert_ids and page.status == "resolved"
    with pytest.raises(SimError, match="once"):
        world.reassign_escalation(page.id, path_id=world.global_path.id)


# ------------------------------------------------------------------ incidents


def test_history_has_every_category_and_a_live_incident_with_a_timeline():
    world, _ = world_at()
    by_category = {world.statuses[i.status_id].category: i for i in world.incidents.values()}
    assert set(by_category) == {"triage", "live", "learning", "closed"}
    live = by_category["live"]
    assert world.statuses[live.status_id].name == "Fixing"
    assert world.severities[live.severity_id].name == "Major"
    updates = [u for u in world.incident_updates.values() if u.incident_id == live.id]
    items = [t for t in world.timeline_items.values() if t.incident_id == live.id]
    links = [link for link in world.incident_alerts.values() if link.incident_id == live.id]
    assert len(updates) == 3 and len(items) >= 4 and len(links) == 2
    assert any("acknowledged the page" in t.title for t in items)
    page = next(e for e in world.escalations.values() if live.id in e.incident_ids)
    assert page.status == "acked"


def test_the_script_moves_the_live_incident_to_monitoring_unless_someone_did():
    world, clock = world_at()
    live = next(i for i in world.incidents.values() if i.external_id == 242)
    clock.advance(8 * 60 + 1)
    world.advance()
    assert world.statuses[live.status_id].name == "Monitoring"

    world2, clock2 = world_at()
    live2 = world2.incident("INC-242")
    world2.edit_incident(live2.id, status_id=world2.status_by_name("Documenting").id)
    clock2.advance(8 * 60 + 1)
    world2.advance()
    assert world2.statuses[live2.status_id].name == "Documenting"


def test_the_search_spike_fires_and_comes_back_down():
    world, clock = world_at()
    clock.advance(50)
    world.advance()
    # The newest with its key: the demo's earlier firings of it are resolved ones.
    spike = max(
        (a for a in world.alerts.values() if a.dedup_key == "search-query-latency"),
        key=lambda a: a.created_at,
    )
    assert spike.status == "firing"
    clock.advance(6 * 60)
    world.advance()
    assert spike.status == "resolved"


def test_declare_makes_me_lead_and_is_idempotent():
    world, _ = world_at()
    sev = world.severity_by_name("Critical")
    inc, created = world.declare_incident(
        idempotency_key="k", name="Checkout down", severity_id=sev.id
    )
    again, created_again = world.declare_incident(
        idempotency_key="k", name="other", severity_id=sev.id
    )
    assert created and not created_again and again is inc
    assert inc.roles[world.role_by_type("lead").id] == world.me.id
    assert world.statuses[inc.status_id].category == "live"
    assert world.incident(str(inc.external_id)) is inc and world.incident(inc.reference) is inc
    with pytest.raises(SimError, match="severity is required"):
        world.declare_incident(idempotency_key="k2", name="No severity")
    (write,) = world.writes_of("incident.create")
    assert write.target_id == inc.id


@pytest.mark.parametrize(
    ("start", "target", "reason"),
    [
        ("Closed", "Investigating", "already closed"),
        ("Documenting", "Documenting", None),
        ("Documenting", "In review", "between post-incident statuses"),
        ("Investigating", "Triage", "cannot go back"),
        ("Documenting", "Investigating", "learning incidents cannot move"),
        ("Declined", "Investigating", "already declined"),
    ],
)
def test_forbidden_status_moves_are_refused_in_words(start, target, reason):
    world, _ = world_at()
    current, new = world.status_by_name(start), world.status_by_name(target)
    if reason is None:
        world.check_status_move(current, new)
        return
    with pytest.raises(SimError) as err:
        world.check_status_move(current, new)
    assert err.value.status == 422 and reason in err.value.message
    assert err.value.field == "incident_status_id"


def test_allowed_status_moves():
    world, _ = world_at()
    st = world.status_by_name
    for a, b in [
        ("Triage", "Investigating"),
        ("Investigating", "Fixing"),
        ("Fixing", "Documenting"),
        ("Monitoring", "Closed"),
        ("Documenting", "Closed"),
        ("Triage", "Declined"),
        ("Investigating", "Paused"),
    ]:
        world.check_status_move(st(a), st(b))


def test_updates_change_status_and_severity_and_note_the_timeline():
    world, _ = world_at()
    live = world.incident("242")
    update, _ = world.create_incident_update(
        idempotency_key="u",
        incident_id=live.id,
        message="Monitoring now",
        status_id=world.status_by_name("Monitoring").id,
        severity_id=world.severity_by_name("Critical").id,
        actor=user_act(world, "kofi.mensah"),
    )
    assert live.status_id == update.status_id == world.status_by_name("Monitoring").id
    assert world.severities[live.severity_id].name == "Critical"
    titles = [t.title for t in world.timeline_items.values() if t.incident_id == live.id]
    assert "Status changed to Monitoring" in titles and "Severity changed to Critical" in titles
    with pytest.raises(SimError, match="needs a message"):
        world.create_incident_update(idempotency_key="e", incident_id=live.id)
    world.edit_incident(live.id, status_id=world.status_by_name("Documenting").id)
    with pytest.raises(SimError, match="between post-incident"):
        world.create_incident_update(
            idempotency_key="f", incident_id=live.id, status_id=world.status_by_name("In review").id
        )
    assert world.statuses[live.status_id].name == "Documenting"


def test_timeline_items_only_custom_ones_move_in_time():
    world, _ = world_at()
    live = world.incident("242")
    item, _ = world.create_timeline_item(
        idempotency_key="t", incident_id=live.id, timestamp=WED, title="Note"
    )
    world.update_timeline_item(item.id, timestamp=WED - timedelta(minutes=5), description="")
    assert item.timestamp == WED - timedelta(minutes=5) and item.description is None
    promoted = next(
        t for t in world.timeline_items.values() if t.incident_id == live.id and t.activity_log_id
    )
    with pytest.raises(SimError, match="only custom"):
        world.update_timeline_item(promoted.id, timestamp=WED)


# ----------------------------------------------------------------------- bulk


def test_bulk_alerts_and_pages_for_benchmarks():
    world, clock = world_at()
    before = len(world.alerts)
    world.add_bulk_alerts(10_000, pages=200)
    assert len(world.alerts) == before + 10_000
    firing = sum(1 for a in world.alerts.values() if a.status == "firing")
    assert firing >= 10_000
    assert world.summary()["open_escalations"] >= 200
    clock.advance(3 * 3600)
    world.advance()
    assert world.summary()["open_escalations"] <= 2  # the bulk pages all ran out


def test_background_alerts_fire_and_resolve_over_time():
    world, clock = world_at(background_alerts=5)
    before = set(world.alerts)
    clock.advance(6 * 3600)
    world.advance()
    new = [
        world.alerts[a]
        for a in world.alerts
        if a not in before and "bg-" in world.alerts[a].dedup_key
    ]
    assert len(new) == 5 and all(a.status == "resolved" for a in new)


def test_sim_clock():
    frozen = SimClock(WED, frozen=True)
    assert frozen() == WED and frozen.advance(60) == WED + timedelta(minutes=1)
    with pytest.raises(ValueError):
        frozen.advance(-1)
    ticks = iter([WED, WED + timedelta(seconds=5)])
    running = SimClock(WED - timedelta(days=1), base=lambda: next(ticks))
    assert running() == WED - timedelta(days=1) + timedelta(seconds=5)
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 1, 1))
