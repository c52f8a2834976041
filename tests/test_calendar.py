"""Calendar grids (week/day, lanes, gaps, cursor, DST) and the ICS export."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from factories import ME, shift
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from oncall_tui.core import calendar as cal
from oncall_tui.core import timefmt
from oncall_tui.domain import NOBODY, Layer, Rotation, Schedule, Shift, User

GOLDEN = Path(__file__).parent / "golden"

ANA = User("U_ANA", "Ana")
BEN = User("U_BEN", "Ben")

MON = datetime(2026, 11, 23, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MON + timedelta(days=day, hours=hour, minutes=minute)


def one_layer(sid: str, name: str, rid: str, lid: str, layer: str, **kw) -> Schedule:
    return Schedule(
        id=sid, name=name, rotations=(Rotation(rid, layer, (Layer(lid, layer),)),), **kw
    )


PAY = one_layer(
    "S_PAY",
    "On call: Payments",
    "R_WH",
    "L_WH",
    "Working hours",
    timezone="Europe/London",
    permalink="https://app.incident.io/acme/on-call/schedules/S_PAY",
)
SUPPORT = one_layer("S_SUP", "Support: Payments", "R_SUP", "L_SUP", "Support")
ESC = one_layer("S_ESC", "Escalators", "R_ESC", "L_ESC", "Escalators")
GLOBAL = Schedule(
    id="S_GLOBAL",
    name="Global on-call",
    timezone="UTC",
    rotations=(
        Rotation("R_EU", "Europe", (Layer("L_EU", "Europe"),)),
        Rotation("R_AE", "Americas East", (Layer("L_AE", "Americas East"),)),
        Rotation("R_AW", "Americas West", (Layer("L_AW", "Americas West"),)),
    ),
)
SCHEDULES = (ESC, GLOBAL, PAY, SUPPORT)


s = shift


def world() -> list[Shift]:
    out = [
        s("S_PAY", "R_WH", "L_WH", at(0, 9), at(0, 17), ME),
        s("S_PAY", "R_WH", "L_WH", at(1, 9), at(1, 13), ME),
        s("S_PAY", "R_WH", "L_WH", at(1, 13), at(1, 17), ME, entry_id="O_SPLIT"),
        s("S_PAY", "R_WH", "L_WH", at(2, 9), at(2, 17), NOBODY, entry_id="O_PTO"),
        s("S_SUP", "R_SUP", "L_SUP", at(-3, 9), at(4, 9), ANA),  # spans the week's start
        s("S_SUP", "R_SUP", "L_SUP", at(4, 9), at(11, 9), ME),  # spans the week's end
        s("S_ESC", "R_ESC", "L_ESC", at(0, 0), at(7, 0), BEN),
    ]
    for d in range(5):
        out.append(s("S_GLOBAL", "R_EU", "L_EU", at(d, 6), at(d, 16), ANA))
        out.append(s("S_GLOBAL", "R_AE", "L_AE", at(d, 14), at(d, 23), BEN))
        out.append(s("S_GLOBAL", "R_AW", "L_AW", at(d, 0), at(d, 6), ME))
    return out


# ================================================================ bounds and steps


def test_week_and_day_bounds_in_utc_and_paris() -> None:
    assert cal.week_bounds(at(2, 15), "UTC") == (at(0, 0), at(7, 0))
    assert cal.week_bounds(at(0, 0), "UTC") == (at(0, 0), at(7, 0))
    assert cal.week_bounds(at(2, 15), "UTC", week_start=6) == (at(-1, 0), at(6, 0))
    # Sunday 23:30 UTC is already Monday in Paris: the next week there.
    assert cal.week_bounds(at(-1, 23, 30), "Europe/Paris") == (at(-1, 23), at(6, 23))
    assert cal.day_bounds(at(0, 23, 30), "Europe/Paris") == (at(0, 23), at(1, 23))


def test_week_across_london_spring_forward_is_167_hours() -> None:
    start, end = cal.week_bounds(datetime(2026, 3, 27, 12, tzinfo=UTC), "Europe/London")
    assert start == datetime(2026, 3, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 23, tzinfo=UTC)  # Mon 30 Mar 00:00 BST
    assert end - start == timedelta(hours=167)


def test_day_across_new_york_fall_back_is_25_hours() -> None:
    start, end = cal.day_bounds(datetime(2026, 11, 1, 15, tzinfo=UTC), "America/New_York")
    assert start == datetime(2026, 11, 1, 4, tzinfo=UTC)  # 00:00 EDT
    assert end == datetime(2026, 11, 2, 5, tzinfo=UTC)  # 00:00 EST
    view = cal.day_view([], [], ME, anchor=start, zone="America/New_York", now=start)
    assert view.days[0].hours == 25
    assert view.zone_label == "EDT/EST"
    assert view.title == "Sun 01 Nov 2026 (EDT/EST)"


def test_step_keeps_wall_clock_time_across_dst() -> None:
    sat_9 = datetime(2026, 3, 28, 9, tzinfo=UTC)  # 09:00 GMT
    sun_9 = cal.next_day(sat_9, "Europe/London")
    assert sun_9 == datetime(2026, 3, 29, 8, tzinfo=UTC)  # 09:00 BST
    assert cal.prev_day(sun_9, "Europe/London") == sat_9
    assert cal.next_week(sat_9, "Europe/London") == datetime(2026, 4, 4, 8, tzinfo=UTC)
    assert cal.prev_week(cal.next_week(sat_9, "Europe/London"), "Europe/London") == sat_9
    # 01:30 does not exist in London on 29 March: the step lands on a real instant that day.
    moved = cal.next_day(datetime(2026, 3, 28, 1, 30, tzinfo=UTC), "Europe/London")
    assert moved.astimezone(timefmt.resolve_zone("Europe/London")).date() == date(2026, 3, 29)
    assert cal.today(at(3, 3)) == at(3, 3)
    assert cal.move_cursor(at(0, 0), hours=2, minutes=15) == at(0, 2, 15)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Sydney"]),
)
def test_week_bounds_contain_anchor_and_step_by_a_week(anchor: datetime, zone: str) -> None:
    start, end = cal.week_bounds(anchor, zone)
    assert start <= anchor < end
    assert timedelta(hours=166) <= end - start <= timedelta(hours=170)
    assert cal.week_bounds(cal.next_week(anchor, zone), zone)[0] == end


# ======================================================================= views


def test_week_view_lanes_my_schedules_first_and_blocks() -> None:
    view = cal.week_view(world(), SCHEDULES, ME, anchor=at(2, 12), zone="UTC", now=at(2, 12))
    assert [r.name for r in view.schedules] == [
        "Global on-call",
        "On call: Payments",
        "Support: Payments",
        "Escalators",
    ]
    assert [r.mine for r in view.schedules] == [True, True, True, False]
    assert view.kind == "week" and len(view.days) == 7
    assert view.days[2].is_today and not view.days[0].is_today
    assert view.now == at(2, 12)
    assert view.locate(at(2, 12)) == (2, 0.5)
    assert view.locate(at(9, 0)) is None
    assert view.title == "Week of Mon 23 Nov 2026 (UTC)"

    pay = next(r for r in view.schedules if r.schedule_id == "S_PAY")
    (lane,) = pay.lanes
    assert lane.title == "Working hours" and lane.mine
    # Tuesday's afternoon is an override: a block of its own beside the rota part.
    assert [(b.start, b.end, b.who, b.mine, b.override) for b in lane.blocks] == [
        (at(0, 9), at(0, 17), "Mia", True, False),
        (at(1, 9), at(1, 13), "Mia", True, False),
        (at(1, 13), at(1, 17), "Mia", True, True),
        (at(2, 9), at(2, 17), "no one", False, True),
    ]
    assert lane.blocks[3].nobody
    assert lane.blocks[3].label("UTC") == "no one 09:00–17:00 (override)"


def test_blocks_are_clipped_to_the_view_but_keep_real_bounds() -> None:
    view = cal.week_view(world(), SCHEDULES, ME, anchor=at(2, 12), zone="UTC", now=at(2, 12))
    sup = next(r for r in view.schedules if r.schedule_id == "S_SUP").lanes[0]
    first, last = sup.blocks
    assert (first.start, first.shift_start) == (at(0, 0), at(-3, 9))
    assert (last.end, last.shift_end) == (at(7, 0), at(11, 9))


def test_gaps_marked_per_schedule_including_nobody_override() -> None:
    view = cal.week_view(world(), SCHEDULES, ME, anchor=at(2, 12), zone="UTC", now=at(2, 12))
    glob = next(r for r in view.schedules if r.schedule_id == "S_GLOBAL")
    assert (at(0, 23), at(1, 0)) in [(g.start, g.end) for g in glob.gaps]
    assert glob.gaps[-1] == cal.Gap("S_GLOBAL", at(4, 23), at(7, 0), "Global on-call")
    pay = next(r for r in view.schedules if r.schedule_id == "S_PAY")
    # Tuesday 17:00 onwards nobody holds Payments (the NOBODY override on Wednesday too).
    assert pay.gaps[-1] == cal.Gap("S_PAY", at(1, 17), at(7, 0), "On call: Payments")
    assert view.gaps == tuple(sorted(view.gaps, key=lambda g: g.start))


def test_override_block_names_whom_it_replaced() -> None:
    shifts = [s("S_ESC", "R_ESC", "L_ESC", at(0, 9), at(0, 17), ME, entry_id="O1")]
    scheduled = [s("S_ESC", "R_ESC", "L_ESC", at(0, 0), at(1, 0), BEN, kind="scheduled")]
    view = cal.day_view(
        shifts, [ESC], ME, anchor=at(0, 9), zone="UTC", now=at(0, 9), scheduled=scheduled
    )
    block = view.schedules[0].lanes[0].blocks[0]
    assert block.replaces == BEN
    assert block.label("Europe/Paris") == "Mia 10:00–18:00 (covering Ben)"


def test_explicit_schedule_order_and_no_me() -> None:
    view = cal.day_view(
        world(),
        SCHEDULES,
        None,
        anchor=at(0, 9),
        zone="UTC",
        now=at(9, 0),
        schedule_order=["S_ESC", "S_UNKNOWN", "S_GLOBAL"],
    )
    assert [r.schedule_id for r in view.schedules] == ["S_ESC", "S_GLOBAL"]
    assert view.now is None  # now is outside the view: no now line
    assert not any(b.mine for lane in view.lanes for b in lane.blocks)


def test_cursor_lists_who_is_on_every_layer() -> None:
    view = cal.day_view(
        world(), SCHEDULES, ME, anchor=at(0, 15), zone="UTC", now=at(0, 15), cursor=at(0, 15)
    )
    who = {(lay.schedule_name, lay.layer_name): lay.who for lay in view.at_cursor}
    assert who[("Global on-call", "Europe")] == "Ana"
    assert who[("Global on-call", "Americas East")] == "Ben"
    assert who[("Global on-call", "Americas West")] == "no one"
    assert who[("On call: Payments", "Working hours")] == "Mia"
    assert view.at_cursor[0].schedule_id == "S_GLOBAL"  # in the view's order
    assert set(cal.who_is_on_at(world(), SCHEDULES, at(0, 15))) == set(view.at_cursor)


def test_day_view_in_paris_shows_local_day() -> None:
    view = cal.day_view(world(), SCHEDULES, ME, anchor=at(0, 23, 30), zone="Europe/Paris", now=MON)
    assert view.start == at(0, 23) and view.end == at(1, 23)
    assert view.zone == "Europe/Paris" and view.zone_label == "CET"
    assert view.days[0].label == "Tue 24 Nov"


def test_empty_view() -> None:
    view = cal.week_view([], [], ME, anchor=MON, zone="UTC", now=MON)
    assert view.schedules == () and view.lanes == () and view.gaps == ()
    assert len(view.days) == 7


def test_jump_to_my_next_shift() -> None:
    shifts = world()
    assert cal.my_next_shift_start(shifts, ME, at(0, 1)) == at(0, 9)
    # Joined parts count as one shift: Tuesday 13:00 is not a new start.
    assert cal.my_next_shift_start(shifts, ME, at(1, 10)) == at(2, 0)
    assert cal.my_next_shift_start(shifts, ME, at(20, 0)) is None
    assert cal.my_next_shift_start(shifts, None, at(0, 0)) is None


# ======================================================================== ICS


def _normalise(ics: bytes) -> str:
    return re.sub(r"DTSTAMP:[0-9TZ]+", "DTSTAMP:<normalised>", ics.decode("utf-8"))


def test_ics_matches_golden_file() -> None:
    scheduled = [s("S_PAY", "R_WH", "L_WH", at(1, 13), at(1, 17), ANA, kind="scheduled")]
    ics = cal.shifts_to_ics(
        world(),
        SCHEDULES,
        ME,
        calendar_name="Mia's on-call shifts",
        now=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        scheduled=scheduled,
    )
    golden = GOLDEN / "calendar_my_shifts.ics"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(_normalise(ics).encode("utf-8"))
    assert _normalise(ics) == golden.read_bytes().decode("utf-8")


def test_ics_events_are_mine_in_utc_with_stable_uids() -> None:
    ics = cal.shifts_to_ics(world(), SCHEDULES, ME, calendar_name="x", now=MON)
    parsed = Calendar.from_ical(ics)
    events = list(parsed.walk("VEVENT"))
    # Payments Mon, Tue (rota part, override part), support, five Americas West nights;
    # not the NOBODY day.
    assert len(events) == 9
    for event in events:
        assert event.decoded("dtstart").tzinfo is not None
        assert event.decoded("dtstart").utcoffset() == timedelta(0)
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == len(uids)
    # Re-export later, with a shift extended: same UIDs, so calendars update in place.
    later = [
        sh
        if sh.start != at(0, 9) or sh.schedule_id != "S_PAY"
        else s("S_PAY", "R_WH", "L_WH", at(0, 9), at(0, 18), ME)
        for sh in world()
    ]
    again = Calendar.from_ical(
        cal.shifts_to_ics(later, SCHEDULES, ME, calendar_name="x", now=at(1, 0))
    )
    assert [str(e["uid"]) for e in again.walk("VEVENT")] == uids
    override = next(e for e in events if "(override)" in str(e["summary"]))
    assert "override" in override.get("categories").cats
    assert str(override["summary"]) == "On call: Payments — Working hours (override)"
    esc_only = cal.shifts_to_ics(world(), SCHEDULES, ANA, calendar_name="x", now=MON)
    assert b"Americas West" not in esc_only and b"Europe" in esc_only


def test_ics_uid_derivation() -> None:
    a = s("S", "R", "L", at(0, 9), at(0, 17), ME)
    b = s("S", "R", "L", at(0, 9), at(0, 18), ANA, entry_id="O")
    c = s("S", "R", "L2", at(0, 9), at(0, 17), ME)
    assert cal.shift_uid(a) == cal.shift_uid(b)  # end and user do not matter
    assert cal.shift_uid(a) != cal.shift_uid(c)
    assert cal.shift_uid(a).endswith("@oncall-tui")


def test_ics_cleans_hostile_text_and_refuses_bad_links() -> None:
    evil = Schedule(
        id="S_EVIL",
        name="Pay\x1b]8;;http://x\x07ments\u202e",
        timezone="Mars/Olympus",
        permalink="javascript:alert(1)",
        rotations=(Rotation("R", "L", (Layer("L", "L"),)),),
    )
    ics = cal.shifts_to_ics(
        [s("S_EVIL", "R", "L", at(0, 9), at(0, 17), ME)],
        [evil],
        ME,
        calendar_name="n\x1b[31m",
        now=MON,
    )
    text = ics.decode()
    assert "\x1b" not in text and "\u202e" not in text
    assert "javascript" not in text
    assert "Schedule time zone: UTC" in text  # unknown zone falls back to UTC, named
    assert "SUMMARY:On call: Payments — L" in text


def test_ics_without_now_stamps_the_current_time() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    ics = cal.shifts_to_ics(world(), SCHEDULES, ME, calendar_name="x")
    stamps = [e.decoded("dtstamp") for e in Calendar.from_ical(ics).walk("VEVENT")]
    assert stamps and all(stamp >= before for stamp in stamps)


def test_ics_empty_calendar_is_valid() -> None:
    ics = cal.shifts_to_ics([], [], ME, calendar_name="Nothing", now=MON)
    parsed = Calendar.from_ical(ics)
    assert list(parsed.walk("VEVENT")) == []
    assert str(parsed["x-wr-calname"]) == "Nothing"
