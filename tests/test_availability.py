"""Planning "mark me unavailable" and "ask a colleague to cover"."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from factories import ME, shift
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall_tui.core import availability as av
from oncall_tui.domain import NOBODY, Layer, Override, Rotation, Schedule, Shift, User

ANA = User("U_ANA", "Ana")
BEN = User("U_BEN", "Ben")
STRANGER = User("U_X", "Xavi")

MON = datetime(2026, 11, 23, tzinfo=UTC)
NOW = MON + timedelta(hours=8)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MON + timedelta(days=day, hours=hour, minutes=minute)


PAY = Schedule(
    id="S_PAY",
    name="On call: Payments",
    timezone="Europe/London",
    rotations=(Rotation("R_WH", "Working hours", (Layer("L_WH", "Working hours"),), (ME, ANA)),),
)
GLOBAL = Schedule(
    id="S_GLOBAL",
    name="Global on-call",
    timezone="UTC",
    rotations=(
        Rotation("R_EU", "Europe", (Layer("L_EU", "Europe"),), (ME, ANA)),
        Rotation("R_AE", "Americas East", (Layer("L_AE", "Americas East"),), (ANA, BEN)),
        Rotation("R_AW", "Americas West", (Layer("L_AW", "Americas West"),), (BEN,)),
    ),
)
SEARCH = Schedule(
    id="S_SEARCH",
    name="Support: Search",
    timezone="America/New_York",
    rotations=(Rotation("R_S", "Support", (Layer("L_S", "Support"),)),),
)
SCHEDULES = (PAY, GLOBAL, SEARCH)


def pay(start, end, user=ME, **kw) -> Shift:
    return shift("S_PAY", "R_WH", "L_WH", start, end, user, **kw)


def eu(start, end, user=ME, **kw) -> Shift:
    return shift("S_GLOBAL", "R_EU", "L_EU", start, end, user, **kw)


def ae(start, end, user=ANA, **kw) -> Shift:
    return shift("S_GLOBAL", "R_AE", "L_AE", start, end, user, **kw)


def world() -> list[Shift]:
    return [
        pay(at(1, 9), at(1, 17)),
        pay(at(1, 17), at(2, 9), ANA),
        eu(at(1, 6), at(1, 16)),
        ae(at(1, 14), at(1, 23)),
        eu(at(2, 6), at(2, 16), ANA),
    ]


# ================================================================ unavailable


def test_unavailable_for_a_day_plans_nobody_overrides_on_each_of_my_layers() -> None:
    plan = av.plan_unavailable(world(), SCHEDULES, [], ME, at(1, 0), at(2, 0), now=NOW, zone="UTC")
    assert plan.ok and plan.errors == () and plan.kind == "unavailable"
    assert [(p.schedule_id, p.layer_id, p.start, p.end, p.user) for p in plan.overrides] == [
        ("S_GLOBAL", "L_EU", at(1, 6), at(1, 16), NOBODY),
        ("S_PAY", "L_WH", at(1, 9), at(1, 17), NOBODY),
    ]
    eu_plan, pay_plan = plan.overrides
    assert eu_plan.replaces == ME and eu_plan.nobody
    assert [(c.layer_name, c.user, c.start, c.end) for c in eu_plan.still_covered] == [
        ("Americas East", ANA, at(1, 14), at(1, 16))
    ]
    assert eu_plan.uncovered == ((at(1, 6), at(1, 14)),)
    assert pay_plan.still_covered == () and pay_plan.uncovered == ((at(1, 9), at(1, 17)),)


def test_confirm_summary_in_words() -> None:
    plan = av.plan_unavailable(
        world(), SCHEDULES, [], ME, at(1, 0), at(2, 0), now=NOW, zone="Europe/Paris"
    )
    assert av.confirm_summary(plan, "Europe/Paris") == "\n".join(
        [
            "Mark you unavailable Tue 01:00 – Wed 01:00 CET: 2 overrides.",
            "• Global on-call — Europe, Tue 07:00–17:00 CET: no one will be paged for this "
            "layer; Americas East still covered by Ana; no one at all on Global on-call "
            "Tue 07:00–15:00 CET",
            "• On call: Payments — Working hours, Tue 10:00–18:00 CET: no one will be paged "
            "for this layer; no other layer of On call: Payments has anyone then",
            "",
            "Note: Global on-call keeps its rota in UTC; times here are in Europe/Paris.",
            "Note: On call: Payments keeps its rota in Europe/London; times here are in "
            "Europe/Paris.",
        ]
    )


def test_shifts_spanning_the_range_edges_are_clipped() -> None:
    plan = av.plan_unavailable(world(), SCHEDULES, [], ME, at(1, 12), at(1, 15), now=NOW)
    assert [(p.start, p.end) for p in plan.overrides] == [
        (at(1, 12), at(1, 15)),
        (at(1, 12), at(1, 15)),
    ]


def test_contiguous_parts_become_one_override_and_others_shifts_are_left() -> None:
    shifts = [pay(at(1, 9), at(1, 12)), pay(at(1, 12), at(1, 17)), pay(at(1, 17), at(1, 20), ANA)]
    plan = av.plan_unavailable(shifts, [PAY], [], ME, at(1, 0), at(3, 0), now=NOW)
    assert [(p.start, p.end) for p in plan.overrides] == [(at(1, 9), at(1, 17))]


def test_zero_length_shifts_and_other_peoples_shifts_give_no_overrides() -> None:
    shifts = [
        pay(at(1, 9), at(1, 9)),
        pay(at(1, 10), at(1, 11), ANA),
        pay(at(1, 12), at(1, 13), NOBODY),
    ]
    plan = av.plan_unavailable(shifts, [PAY], [], ME, at(1, 0), at(2, 0), now=NOW, zone="UTC")
    assert not plan.ok
    assert plan.errors == ("You have no shifts Tue 00:00–24:00 UTC: nothing to change.",)


def test_displaced_overrides_are_listed_and_warned() -> None:
    bens = Override("O_BEN", "S_GLOBAL", "R_EU", "L_EU", at(1, 10), at(1, 12), BEN)
    other_layer = Override("O_AE", "S_GLOBAL", "R_AE", "L_AE", at(1, 10), at(1, 12), BEN)
    mine_entry = pay(at(1, 9), at(1, 17), entry_id="O_MINE")  # an override as an entry
    plan = av.plan_unavailable(
        [*world(), mine_entry],
        SCHEDULES,
        [bens, other_layer, mine_entry, pay(at(1, 0), at(1, 1))],  # entries without id: ignored
        ME,
        at(1, 0),
        at(2, 0),
        now=NOW,
        zone="UTC",
    )
    eu_plan, pay_plan = plan.overrides
    assert eu_plan.displaces == (bens,)
    assert [o.id for o in pay_plan.displaces] == ["O_MINE"]
    assert [o.id for o in plan.displaced] == ["O_BEN", "O_MINE"]
    assert (
        "Global on-call — Europe, Tue 06:00–16:00 UTC: replaces Ben's existing override "
        "(Tue 10:00–12:00 UTC)." in plan.warnings
    )
    assert any("replaces your own existing override" in w for w in plan.warnings)


# ==================================================================== validation


def test_validation_in_words() -> None:
    _, errors, _ = av.validate_range(at(2, 0), at(1, 0), now=NOW, zone="UTC")
    assert errors == (
        "The end (Tue 00:00 UTC) is before the start (Wed 00:00 UTC); swap them or pick "
        "another end.",
    )
    _, errors, _ = av.validate_range(at(1, 0), at(1, 0), now=NOW)
    assert errors == ("The range is empty: the start and the end are the same time.",)
    _, errors, _ = av.validate_range(at(-3, 0), at(-2, 0), now=NOW)
    assert errors == (
        "That range is over (it ended 2d 8h ago); overrides only change what is still to come.",
    )
    start, errors, warnings = av.validate_range(at(0, 0), at(1, 0), now=NOW, zone="UTC")
    assert start == NOW and errors == ()
    assert warnings == (
        "The range started in the past (Mon 00:00 UTC); it will start now (08:00 UTC) instead.",
    )
    _, errors, _ = av.validate_range(NOW, NOW + timedelta(days=90), now=NOW)
    assert errors == ()
    _, errors, _ = av.validate_range(NOW, NOW + timedelta(days=91), now=NOW)
    assert errors and errors[0].startswith("That is 91 days; plan at most 90 days at a time")


def test_naive_times_are_read_as_utc() -> None:
    naive = datetime(2026, 11, 24, 0, 0)
    plan = av.plan_unavailable(
        world(), SCHEDULES, [], ME, naive, naive + timedelta(days=1), now=NOW
    )
    assert plan.ok and plan.start.tzinfo is not None


def test_a_plan_with_errors_has_no_overrides() -> None:
    plan = av.plan_unavailable(world(), SCHEDULES, [], ME, at(1, 0), at(0, 0), now=NOW)
    assert not plan.ok and plan.overrides == ()
    assert av.confirm_summary(plan) == plan.errors[0]


def test_a_range_that_started_already_is_moved_to_now() -> None:
    shifts = [pay(at(0, 0), at(0, 12))]
    plan = av.plan_unavailable(shifts, [PAY], [], ME, at(0, 0), at(1, 0), now=NOW, zone="UTC")
    assert plan.start == NOW
    assert [(p.start, p.end) for p in plan.overrides] == [(NOW, at(0, 12))]
    assert plan.warnings[0].startswith("The range started in the past")


def test_clock_change_inside_a_shift_in_london() -> None:
    # Sunday 29 March 2026, 01:00 UTC: London goes from GMT to BST.
    start, end = datetime(2026, 3, 28, 22, tzinfo=UTC), datetime(2026, 3, 29, 6, tzinfo=UTC)
    plan = av.plan_unavailable(
        [pay(start, end)],
        [PAY],
        [],
        ME,
        start,
        end,
        now=start - timedelta(days=1),
        zone="Europe/London",
    )
    assert av.clock_changes(start, end, "Europe/London") == [datetime(2026, 3, 29, 1, tzinfo=UTC)]
    assert (
        "On call: Payments — Working hours, Sat 22:00 GMT – Sun 07:00 BST: the clocks change "
        "in Europe/London at Sun 02:00 BST; the override follows real time and lasts 8h."
    ) in plan.warnings


def test_clock_change_in_new_york_schedule_while_i_am_in_utc() -> None:
    # Sunday 1 November 2026, 06:00 UTC: New York goes from EDT back to EST.
    start, end = datetime(2026, 11, 1, 2, tzinfo=UTC), datetime(2026, 11, 1, 14, tzinfo=UTC)
    shifts = [Shift("S_SEARCH", "R_S", "L_S", start, end, ME)]
    plan = av.plan_unavailable(
        shifts, SCHEDULES, [], ME, start, end, now=start - timedelta(hours=1), zone="UTC"
    )
    assert av.clock_changes(start, end, "America/New_York") == [
        datetime(2026, 11, 1, 6, tzinfo=UTC)
    ]
    assert any("clocks change in America/New_York" in w for w in plan.warnings)
    assert "Support: Search keeps its rota in America/New_York; times here are in UTC." in (
        plan.warnings
    )
    assert av.clock_changes(start, end, "UTC") == []


# ========================================================================= cover


def test_cover_puts_the_colleague_on_my_layers() -> None:
    plan = av.plan_cover(world(), SCHEDULES, [], ME, ANA, at(1, 0), at(2, 0), now=NOW, zone="UTC")
    assert plan.ok and plan.kind == "cover" and plan.colleague == ANA
    assert {p.user for p in plan.overrides} == {ANA}
    assert all(p.uncovered == () for p in plan.overrides)
    assert av.describe(plan.overrides[1], "UTC") == (
        "On call: Payments — Working hours, Tue 09:00–17:00 UTC: Ana will be on call instead of you"
    )
    assert av.confirm_summary(plan, "UTC").splitlines()[0] == (
        "Ask Ana to cover you Tue 00:00–24:00 UTC: 2 overrides."
    )
    # Ana is already on Americas East for part of the Europe window.
    assert (
        "Ana is already on call for Americas East (Tue 14:00–16:00 UTC) and would hold two layers."
        in plan.warnings
    )


def test_cover_errors_and_rota_warning() -> None:
    me_plan = av.plan_cover(world(), SCHEDULES, [], ME, ME, at(1, 0), at(2, 0), now=NOW)
    assert me_plan.errors == ("You cannot cover for yourself; pick a colleague.",)
    nobody = av.plan_cover(world(), SCHEDULES, [], ME, NOBODY, at(1, 0), at(2, 0), now=NOW)
    assert nobody.errors == ("Pick a colleague to cover you (or mark yourself unavailable).",)
    stranger = av.plan_cover(world(), SCHEDULES, [], ME, STRANGER, at(1, 0), at(2, 0), now=NOW)
    assert stranger.ok
    assert "Xavi is not in the rota of On call: Payments; check they can take pages for it." in (
        stranger.warnings
    )


def test_after_messages() -> None:
    plan = av.plan_cover(world(), SCHEDULES, [], ME, ANA, at(1, 0), at(2, 0), now=NOW, zone="UTC")
    eu_plan = plan.overrides[0]
    during = at(1, 7)
    assert av.after_message(eu_plan, now=during, zone="UTC") == (
        "Ana is on call for Global on-call — Europe instead until 16:00 UTC"
    )
    assert av.after_message(eu_plan, now=NOW, zone="UTC") == (
        "Ana is on call for Global on-call — Europe instead from Tue 06:00 UTC until 16:00 UTC"
    )
    off = av.plan_unavailable(world(), SCHEDULES, [], ME, at(1, 0), at(2, 0), now=NOW)
    assert av.after_message(off.overrides[1], now=during, zone="Europe/Paris") == (
        "No one is on call for On call: Payments — Working hours "
        "from Tue 10:00 CET until 18:00 CET; you are off it"
    )
    created = [_created(eu_plan, "O1")]
    assert av.after_messages(plan, created, now=during, zone="UTC") == (
        "Ana is on call for Global on-call — Europe instead until 16:00 UTC",
    )
    long = av.plan_cover(
        [pay(at(1, 9), at(5, 9))], [PAY], [], ME, ANA, at(1, 0), at(9, 0), now=NOW, zone="UTC"
    )
    assert av.after_message(long.overrides[0], now=at(1, 10), zone="UTC") == (
        "Ana is on call for On call: Payments — Working hours instead until Sat 09:00 UTC"
    )


# ========================================================================== undo


def _created(p: av.PlannedOverride, oid: str) -> Override:
    return Override(oid, p.schedule_id, p.rotation_id, p.layer_id, p.start, p.end, p.user)


def test_undo_a_partly_applied_plan() -> None:
    bens = Override("O_BEN", "S_GLOBAL", "R_EU", "L_EU", at(1, 10), at(1, 12), BEN)
    plan = av.plan_unavailable(world(), SCHEDULES, [bens], ME, at(1, 0), at(2, 0), now=NOW)
    eu_plan, _pay_plan = plan.overrides
    made = [_created(eu_plan, "O_NEW1")]  # the second create failed
    undo = av.plan_undo(plan, made, zone="UTC")
    assert [o.id for o in undo.delete] == ["O_NEW1"]
    assert undo.recreate == (bens,)
    assert undo.text == (
        "Undo: delete 1 override already made (Global on-call — Europe Tue 06:00–16:00 UTC), "
        "and put back the overrides they replaced (Ben Tue 10:00–12:00 UTC)."
    )
    assert not undo.empty


def test_undo_everything_deletes_newest_first_and_nothing_made_is_a_no_op() -> None:
    plan = av.plan_unavailable(world(), SCHEDULES, [], ME, at(1, 0), at(2, 0), now=NOW)
    made = [_created(p, f"O{i}") for i, p in enumerate(plan.overrides)]
    stray = Override("O_STRAY", "S_PAY", "R_WH", "L_WH", at(3, 0), at(3, 1), NOBODY)
    undo = av.plan_undo(plan, [*made, stray], zone="UTC")
    assert [o.id for o in undo.delete] == ["O_STRAY", "O1", "O0"]
    assert undo.recreate == ()
    nothing = av.plan_undo(plan, [])
    assert nothing.empty and nothing.text == "Nothing was changed, so there is nothing to undo."


# ============================================================ unknown and empty


def test_unknown_schedule_and_unknown_users() -> None:
    shifts = [
        Shift("S_GONE", "R", "L", at(1, 0), at(1, 4), ME),
        Shift("S_GONE", "R", "L2", at(1, 0), at(1, 4), User("U_Q", "")),
        Shift("S_GONE", "R", "L3", at(1, 0), at(1, 4), None),
    ]
    plan = av.plan_unavailable(shifts, SCHEDULES, [], ME, at(1, 0), at(2, 0), now=NOW, zone="UTC")
    (p,) = plan.overrides
    assert p.schedule_name == "S_GONE" and p.layer_name == "L"
    assert [(c.layer_name, c.user.id) for c in p.still_covered] == [("L2", "U_Q")]
    assert "L2 still covered by U_Q" in av.describe(p, "UTC")


def test_empty_inputs() -> None:
    plan = av.plan_unavailable([], [], [], ME, at(1, 0), at(2, 0), now=NOW, zone="UTC")
    assert not plan.ok and plan.overrides == () and plan.displaced == ()


# ==================================================================== properties

windows = st.lists(
    st.tuples(st.integers(0, 96), st.integers(0, 30), st.sampled_from([ME, ANA, NOBODY, None])),
    max_size=10,
)


@settings(max_examples=150)
@given(windows, st.integers(0, 100), st.integers(1, 100))
def test_planned_overrides_stay_inside_the_range_and_my_shifts(raw, a, length) -> None:
    shifts = []
    for i, (s, n, u) in enumerate(raw):
        layer = ("R_EU", "L_EU") if i % 2 else ("R_AE", "L_AE")
        shifts.append(Shift("S_GLOBAL", *layer, at(1, s), at(1, s + n), u))
    start, end = at(1, a), at(1, a + length)
    plan = av.plan_unavailable(shifts, SCHEDULES, [], ME, start, end, now=NOW)
    mine = [s for s in shifts if s.user == ME]
    for p in plan.overrides:
        assert start <= p.start < p.end <= end
        mid = p.start + (p.end - p.start) / 2
        assert any(s.covers(mid) and s.layer_id == p.layer_id for s in mine)
    by_layer: dict[str, list[av.PlannedOverride]] = {}
    for p in plan.overrides:
        by_layer.setdefault(p.layer_id, []).append(p)
    for items in by_layer.values():
        items.sort(key=lambda p: p.start)
        for x, y in itertools.pairwise(items):
            assert x.end < y.start  # never two overrides touching or overlapping on a layer
    assert plan.ok == bool(plan.overrides)
