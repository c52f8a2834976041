"""Availability actions against the demo world: plan, apply, partial failure and undo,
list and remove my overrides, and the bad inputs a person will type.

The world's clock is fixed at Tuesday 24 November 2026, 10:00 UTC; my display zone is
Europe/London. Robin Ahn ("me") works 08:00–17:00 on "On call: Payments" and holds
"Support: Payments" this week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.config import Settings, UserConfig
from oncall_tui.core import availability
from oncall_tui.core.actions import ActionError
from oncall_tui.core.overrides import OverrideActions, parse_when
from oncall_tui.core.sources import build_backends
from oncall_tui.sim.demo import build_demo

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LONDON = "Europe/London"


def make(now: datetime = NOW, *, zone: str = LONDON, readonly: bool = False, wrap=None):
    demo = build_demo(
        Settings(user=UserConfig(timezone=zone)), clock=lambda: now, background_alerts=0
    )
    if wrap is not None:
        demo.transports["incident-io"] = wrap(demo.transports["incident-io"])
    backends = build_backends(demo.settings, transports=demo.transports, tokens=demo.tokens)
    return demo, OverrideActions(backends, readonly=readonly, clock=lambda: now, zone=zone)


def day(text: str, *, end: bool = False, now: datetime = NOW, zone: str = LONDON) -> datetime:
    return parse_when(text, now=now, zone=zone, end=end)


# ---------------------------------------------------------------------- reading times


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-12-24", False, datetime(2026, 12, 24, 0, 0, tzinfo=UTC)),
        ("2026-12-24", True, datetime(2026, 12, 25, 0, 0, tzinfo=UTC)),
        ("2026-12-24T09:30", False, datetime(2026, 12, 24, 9, 30, tzinfo=UTC)),
        ("2026-12-24 09:30", False, datetime(2026, 12, 24, 9, 30, tzinfo=UTC)),
        ("2026-07-01T09:30", False, datetime(2026, 7, 1, 8, 30, tzinfo=UTC)),  # BST
        ("2026-12-24T09:30+01:00", False, datetime(2026, 12, 24, 8, 30, tzinfo=UTC)),
        ("2026-12-24T09:30Z", False, datetime(2026, 12, 24, 9, 30, tzinfo=UTC)),
        ("today 14:00", False, datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
        ("14:00", False, datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
        ("tomorrow", False, datetime(2026, 11, 25, 0, 0, tzinfo=UTC)),
        ("tomorrow", True, datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),
        ("Tomorrow 09:00", False, datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
        ("friday", False, datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),
        ("mon 08:00", False, datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        ("tue", False, datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),  # today is Tuesday
        ("today 24:00", False, datetime(2026, 11, 25, 0, 0, tzinfo=UTC)),
        ("now", False, NOW),
        ("in 2h", False, NOW + timedelta(hours=2)),
        ("in 3 days", False, NOW + timedelta(days=3)),
    ],
)
def test_parse_when(text, end, expected):
    assert parse_when(text, now=NOW, zone=LONDON, end=end) == expected


def test_parse_when_without_zone_uses_my_zone():
    assert parse_when("2026-12-24T09:00", now=NOW, zone="America/New_York") == datetime(
        2026, 12, 24, 14, 0, tzinfo=UTC
    )
    # A wall time skipped by the clock change (01:30 on 29 March 2026 in London) lands
    # just after the jump instead of failing.
    t = parse_when("2026-03-29 01:30", now=NOW, zone=LONDON)
    assert t == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["", "next tuesday-ish", "2026-13-01", "tomorrow 25:00", "tomorrow at 9", "9"]
)
def test_parse_when_refuses_in_words(text):
    with pytest.raises(ValueError) as err:
        parse_when(text, now=NOW, zone=LONDON)
    message = str(err.value)
    assert "cannot read" in message or "not a time" in message or "no time given" in message


# ------------------------------------------------------------------------- planning


async def test_unavailable_tomorrow_is_planned_applied_and_listed():
    demo, actions = make()
    plan, _data = await actions.plan(day("tomorrow"), day("tomorrow", end=True))
    assert plan.ok
    titles = sorted(p.title for p in plan.overrides)
    assert titles == ["On call: Payments — Robin (working hours)", "Support: Payments"]
    assert all(p.nobody for p in plan.overrides)
    text = availability.confirm_summary(plan, LONDON)
    assert "Mark you unavailable Wed 00:00–24:00 GMT: 2 overrides." in text
    assert "still covered by Ana Souza" in text  # another layer of On call: Payments

    result = await actions.apply(plan)
    assert result.complete and len(result.created) == 2
    assert (
        "No one is on call for On call: Payments — Robin (working hours) "
        "from Wed 08:00 GMT until 17:00 GMT"
    ) in (result.summary)
    stored = list(demo.world.overrides.values())
    assert len(stored) == 2 and all(o.user_id in (None, "NOBODY") for o in stored)

    mine = await actions.my_overrides()
    assert [m.id for m in mine] == sorted(
        (o.id for o in result.created), key=lambda i: next(m.start for m in mine if m.id == i)
    )
    assert all(not m.i_cover and m.replaces is not None for m in mine)
    assert "no one instead of you" in mine[0].describe(LONDON)

    with pytest.raises(ActionError, match=r"matches 2 overrides \(01.*\); give more of the id"):
        await actions.remove(mine[0].id[:20])  # both were made in the same millisecond
    with pytest.raises(ActionError, match="None of your upcoming overrides has the id"):
        await actions.remove("01NOPE")
    outcome = await actions.remove(mine[0].id)
    assert outcome.message.startswith("Removed: ")
    assert "Robin Ahn is back on the rota" in outcome.message
    assert len(demo.world.overrides) == 1


async def test_cover_a_single_day_by_a_colleague_and_their_override_is_mine_to_list():
    _demo, actions = make()
    me = await actions.me()
    ana = await actions.colleague("Ana", me)
    assert ana.name == "Ana Souza"  # "ana" is not Yuki Tanaka
    plan, _ = await actions.plan(
        day("wed 08:00"), day("wed 17:00"), colleague=ana, schedules=["On call: Payments"]
    )
    assert plan.ok and len(plan.overrides) == 1
    assert "would hold two layers" in " ".join(plan.warnings)
    result = await actions.apply(plan)
    assert result.messages == (
        "Ana Souza is on call for On call: Payments — Robin (working hours) instead "
        "from Wed 08:00 GMT until 17:00 GMT",
    )
    (mine,) = await actions.my_overrides()
    assert mine.override.user is not None and mine.override.user.id == ana.id
    assert "Ana Souza instead of you" in mine.describe(LONDON)


async def test_cover_plans_around_my_own_nobody_override():
    _demo, actions = make()
    first, _ = await actions.plan(day("wed 12:00"), day("wed 14:00"), schedules=["On call: Pay"])
    await actions.apply(first)
    me = await actions.me()
    ana = await actions.colleague("ana.souza@example.com", me)
    plan, _ = await actions.plan(
        day("wed 08:00"), day("wed 17:00"), colleague=ana, schedules=["On call: Pay"]
    )
    # My working hours that day are now 08–12 and 14–17; the NOBODY override in between
    # is not mine to hand over (no one holds it), so nothing displaces it.
    assert [(p.start.hour, p.end.hour) for p in plan.overrides] == [(8, 12), (14, 17)]


async def test_bad_ranges_are_refused_in_words():
    demo, actions = make()
    plan, _ = await actions.plan(day("yesterday"), day("yesterday", end=True))
    assert "That range is over" in plan.errors[0]
    plan, _ = await actions.plan(day("friday"), day("wednesday"))
    assert "is before the start" in plan.errors[0]
    plan, _ = await actions.plan(day("tomorrow"), day("tomorrow") + timedelta(days=120))
    assert "plan at most 90 days" in plan.errors[0]
    plan, _ = await actions.plan(day("sat 02:00"), day("sat 04:00"), schedules=["On call: Pay"])
    assert "You have no shifts" in plan.errors[0]
    with pytest.raises(ActionError):
        await actions.apply(plan)
    assert not demo.world.overrides


async def test_unknown_colleague_and_schedule_are_refused():
    _demo, actions = make()
    me = await actions.me()
    with pytest.raises(ActionError, match=r"No incident\.io user has the email"):
        await actions.colleague("ghost@example.com", me)
    with pytest.raises(ActionError, match=r"No incident\.io user is called 'Zed'"):
        await actions.colleague("Zed", me)
    with pytest.raises(ActionError, match="cover for yourself"):
        await actions.colleague("me@example.com", me)
    with pytest.raises(ActionError, match=r"No schedule is called 'Nope'\. Schedules: "):
        await actions.plan(day("tomorrow"), day("tomorrow", end=True), schedules=["Nope"])
    with pytest.raises(ActionError, match="matches several schedules"):
        await actions.plan(day("tomorrow"), day("tomorrow", end=True), schedules=["Payments"])


async def test_readonly_refuses_before_sending():
    demo, actions = make(readonly=True)
    plan, _ = await actions.plan(day("tomorrow"), day("tomorrow", end=True))
    with pytest.raises(ActionError, match="Read-only"):
        await actions.apply(plan)
    with pytest.raises(ActionError, match="Read-only"):
        await actions.remove("anything")
    assert not demo.world.overrides


class FailNthCreate(httpx.AsyncBaseTransport):
    def __init__(self, inner, n: int) -> None:
        self.inner, self.n, self.creates = inner, n, 0

    async def handle_async_request(self, request):
        if request.method == "POST" and request.url.path == "/v2/schedule_overrides":
            self.creates += 1
            if self.creates == self.n:
                return httpx.Response(
                    422,
                    json={
                        "type": "validation_error",
                        "status": 422,
                        "request_id": "req-2",
                        "errors": [{"code": "invalid_value", "message": "layer is locked"}],
                    },
                )
        return await self.inner.handle_async_request(request)


async def test_partial_failure_reports_what_was_made_and_undoes_it():
    demo, actions = make(wrap=lambda inner: FailNthCreate(inner, 2))
    plan, _ = await actions.plan(day("tomorrow"), day("tomorrow", end=True))
    assert len(plan.overrides) == 2
    result = await actions.apply(plan)
    assert not result.complete
    assert len(result.created) == 1 and len(demo.world.overrides) == 1
    assert result.failed is plan.overrides[1]
    assert "Stopped after 1 of 2 overrides" in result.summary
    assert "layer is locked" in result.summary
    assert result.undo is not None
    assert result.undo.delete == result.created
    assert result.undo.text.startswith("Undo: delete 1 override already made")
    outcome = await actions.undo(result.undo)
    assert outcome.message == "Undone: deleted 1 override(s)."
    assert not demo.world.overrides


async def test_undo_puts_back_a_displaced_override():
    demo, actions = make()
    me = await actions.me()
    kofi = await actions.colleague("kofi", me)
    cover, _ = await actions.plan(
        day("wed 09:00"), day("wed 11:00"), colleague=kofi, schedules=["On call: Payments"]
    )
    await actions.apply(cover)
    # Kofi's cover is an override on my layer; mark me unavailable over it.
    shifts_plan, _ = await actions.plan(
        day("wed 08:00"), day("wed 17:00"), schedules=["On call: Payments"]
    )
    assert len(demo.world.overrides) == 1
    result = await actions.apply(shifts_plan)
    assert result.complete
    undo = result.undo
    assert undo is not None and len(undo.delete) == len(result.created)
    await actions.undo(undo)
    left = list(demo.world.overrides.values())
    assert all(o.user_id == kofi.id for o in left)


async def test_dst_change_inside_a_shift_and_schedules_in_other_zones():
    # Sunday 28 March 2027: London goes from GMT to BST at 01:00 UTC, inside my weekly
    # support shift (Europe/London). I read times in New York, which changed weeks ago.
    now = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)
    demo, actions = make(now, zone="America/New_York")
    plan, _ = await actions.plan(
        parse_when("2027-03-27", now=now, zone="America/New_York"),
        parse_when("2027-03-29", now=now, zone="America/New_York", end=True),
        schedules=["Support: Payments"],
    )
    assert plan.ok, plan.errors
    text = " ".join(plan.warnings)
    assert "the clocks change in Europe/London at Sun 02:00 BST" in text
    assert "keeps its rota in Europe/London; times here are in America/New_York" in text
    (planned,) = plan.overrides
    # Midnight to midnight in New York (EDT, UTC-4), three days of real time: the
    # override follows the instants, not London's wall clock.
    assert planned.start == datetime(2027, 3, 27, 4, 0, tzinfo=UTC)
    assert planned.end == datetime(2027, 3, 30, 4, 0, tzinfo=UTC)
    result = await actions.apply(plan)
    assert result.complete
    (made,) = demo.world.overrides.values()
    assert (made.start, made.end) == (planned.start, planned.end)


async def test_range_that_started_already_starts_now():
    _demo, actions = make()
    plan, _ = await actions.plan(day("today"), day("today", end=True))
    assert plan.start == NOW
    assert any("started in the past" in w for w in plan.warnings)
    result = await actions.apply(plan)
    assert result.complete
    assert all(o.start >= NOW for o in result.created)
