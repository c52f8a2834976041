"""Silences across every Grafana and Alertmanager (core.silences), against the simulated
servers of the demo world: who made each, what it matches (regex and negative matchers
as such), how many firing alerts it matches now, time left by each server's own clock,
the tool's marker, "possibly forgotten", the expiry notice, extend and expire, and the
bad cases (a source down or answering 404, a thousand silences, a skewed clock)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.config import ActionsConfig
from oncall_tui.core import guard
from oncall_tui.core.errors import ActionError
from oncall_tui.core.session import open_session
from oncall_tui.core.silences import (
    ExpiryWatch,
    SilenceRow,
    SourceSilences,
    as_json,
    made_here,
    matcher_text,
    matches,
    text_lines,
)
from oncall_tui.sim.demo import DEMO_TOKEN, build_demo
from oncall_tui.sim.grafana import GrafanaWorld, create_app
from oncall_tui.sim.silences import _add, _matcher, silence_for


def utcnow() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def demo():
    return build_demo(scenario=False, background_alerts=0)


async def opened(demo, **options):
    session = open_session(
        demo.settings, demo=demo, services=["grafana", "alertmanager"], **options
    )
    return session


def by_source(found: list[SourceSilences]) -> dict[str, SourceSilences]:
    return {s.source: s for s in found}


def row_of(source: SourceSilences, silence_id: str) -> SilenceRow:
    return next(r for r in source.rows if r.id == silence_id)


async def firing_labels(session, source: str) -> dict[str, str]:
    client = session.backends.alertmanagers[source]
    alerts = await client.list_alerts()
    first = next(a for a in alerts if a.state == "firing")
    return {"alertname": first.label("alertname")}


# ------------------------------------------------------------------------- matchers


def test_matchers_read_as_alertmanager_writes_them():
    assert matcher_text(("alertname", "Disk", False, True)) == 'alertname="Disk"'
    assert matcher_text(("alertname", "Disk.*", True, True)) == 'alertname=~"Disk.*"'
    assert matcher_text(("env", "prod", False, False)) == 'env!="prod"'
    assert matcher_text(("ns", "kube-.*", True, False)) == 'ns!~"kube-.*"'
    assert matcher_text(("q", 'say "hi"', False, True)) == r'q="say \"hi\""'


def test_matching_follows_alertmanager_rules():
    labels = {"alertname": "DiskFull", "env": "prod"}
    assert matches([("alertname", "Disk.*", True, True)], labels)
    assert not matches([("alertname", "Disk", True, True)], labels)  # anchored
    assert not matches([("env", "prod", False, False)], labels)
    assert matches([("env", "staging", False, False)], labels)
    assert matches([("team", "", False, True)], labels)  # a missing label is ""
    assert not matches([("env", "pro.*", True, False)], labels)
    assert not matches([("alertname", "([", True, True)], labels)  # unreadable regex


# ------------------------------------------------------------------------- listing


async def test_every_source_lists_its_silences_with_who_what_and_the_tools_mark(demo):
    session = await opened(demo)
    async with session:
        found = by_source(await session.silences.fetch())
    assert set(found) == {"grafana:us", "grafana:eu", "alertmanager:k8s"}
    assert all(s.available for s in found.values())
    us = found["grafana:us"]
    pending = next(r for r in us.rows if r.state == "pending")
    assert pending.matcher_texts == ('alertname=~"Checkout.*"', 'env!="staging"')
    assert pending.silence.created_by == "Priya Natarajan"
    assert "CHG-2291" in pending.silence.comment
    assert pending.firing == 1  # CheckoutLatencyHigh fires, matched here by the regex
    assert not pending.made_here
    k8s = found["alertmanager:k8s"]
    mine = [r for r in k8s.rows if r.made_here]
    assert [r.silence.created_by for r in mine] == ["Robin Ahn"]
    other = next(r for r in k8s.rows if not r.made_here)
    assert 'namespace!~"kube-.*"' in other.matcher_texts
    assert found["grafana:eu"].rows == ()
    lines = "\n".join(text_lines(list(found.values())))
    assert 'alertname=~"Checkout.*", env!="staging"' in lines
    assert "starts in 4" in lines and "[made with oncall-tui]" in lines


async def test_an_ack_from_this_tool_is_marked_and_a_hand_made_silence_is_not(demo):
    session = await opened(demo)
    async with session:
        client = session.backends.alertmanagers["grafana:eu"]
        alert = next(a for a in await client.list_alerts() if a.state == "firing")
        await session.actions.ack(alert)
        now = utcnow()
        await client.create_silence(
            [("alertname", "SomethingElse")],
            now,
            now + timedelta(hours=1),
            "Kofi",
            "muting the oncall-tui test alerts",
        )
        eu = by_source(await session.silences.fetch())["grafana:eu"]
    marked = {r.silence.created_by: r.made_here for r in eu.rows}
    assert marked == {"me@example.com": True, "Kofi": False}
    acked = next(r for r in eu.rows if r.made_here)
    assert acked.firing == 1  # the server's word: the alert's silencedBy names it


def test_the_marker_is_the_end_of_the_comment():
    from oncall_tui.core.silences import tool_comment
    from oncall_tui.domain import Silence

    def silence(comment: str) -> Silence:
        now = utcnow()
        return Silence("x", (), now, now, "someone", comment, "active")

    assert made_here(silence(tool_comment("Ana")))
    assert not made_here(silence("muting the oncall-tui test alerts"))
    assert not made_here(silence(""))


async def test_an_old_silence_still_holding_firing_alerts_is_possibly_forgotten(demo):
    am = demo.grafana["us"].grafana_am
    session = await opened(demo)
    async with session:
        labels = await firing_labels(session, "grafana:us")
        old = silence_for(
            am,
            labels["alertname"],
            ends_in=timedelta(hours=2),
            started_ago=timedelta(hours=30),
            comment="keep it quiet",
        )
        young = silence_for(
            am,
            labels["alertname"],
            ends_in=timedelta(hours=2),
            started_ago=timedelta(hours=2),
            comment="keep it quiet",
        )
        idle = silence_for(
            am,
            "NotFiringAnywhere",
            ends_in=timedelta(hours=2),
            started_ago=timedelta(days=5),
            comment="old but harmless",
        )
        us = by_source(await session.silences.fetch())["grafana:us"]
        assert row_of(us, old).forgotten and row_of(us, old).firing == 1
        assert not row_of(us, young).forgotten
        assert not row_of(us, idle).forgotten  # old, but nothing fires under it
    # The age is a setting.
    demo.settings = demo.settings.model_copy(
        update={"actions": ActionsConfig(forgotten_silence_hours=48)}
    )
    session = await opened(demo)
    async with session:
        us = by_source(await session.silences.fetch())["grafana:us"]
        assert not row_of(us, old).forgotten


async def test_a_source_that_is_down_or_answers_404_says_so_while_the_others_show(demo):
    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "Not found"})

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    demo.transports["grafana:eu"] = httpx.MockTransport(not_found)
    demo.transports["alertmanager:k8s"] = httpx.MockTransport(down)
    session = await opened(demo)
    async with session:
        found = by_source(await session.silences.fetch())
    assert found["grafana:eu"].problem.startswith("not available: ")
    assert "404" in found["grafana:eu"].problem
    assert found["alertmanager:k8s"].problem.startswith("not available: cannot reach")
    assert found["grafana:us"].available and found["grafana:us"].rows
    lines = text_lines(list(found.values()))
    assert any(line.startswith("grafana:eu: not available: ") for line in lines)
    out = {s["source"]: s for s in as_json(list(found.values()))["sources"]}
    assert out["grafana:eu"]["available"] is False and out["grafana:eu"]["silences"] == []


async def test_time_left_is_by_the_servers_own_clock(demo):
    ahead = timedelta(minutes=10)
    eu = GrafanaWorld(lambda: utcnow() + ahead, seed=8, instance="eu")
    demo.transports["grafana:eu"] = httpx.ASGITransport(create_app(eu, token=DEMO_TOKEN))
    sid = silence_for(eu.grafana_am, "X", ends_in=timedelta(minutes=30))
    session = await opened(demo)
    async with session:
        found = by_source(await session.silences.fetch())
    source = found["grafana:eu"]
    data = {s["source"]: s for s in as_json(list(found.values()))["sources"]}["grafana:eu"]
    (row,) = [s for s in data["silences"] if s["id"] == sid]
    # By this machine's clock it would be 40 minutes; by the server's it is 30.
    assert 25 * 60 < row["seconds_left"] <= 30 * 60
    assert 9 * 60 <= data["clock_skew_seconds"] <= 11 * 60
    assert source.skew_words().endswith("ahead of this machine's")
    assert found["grafana:us"].skew_words() == ""


async def test_a_thousand_silences_take_one_request_per_source(demo):
    am = demo.grafana["us"].grafana_am
    now = utcnow()
    for n in range(1500):
        _add(
            am,
            [_matcher("alertname", f"Noise{n}"), _matcher("team", "t.*", regex=True)],
            now,
            now + timedelta(minutes=30 + n),
            f"user{n}",
            f"bulk {n}",
        )
    session = await opened(demo)
    async with session:
        stats = session.backends.stats
        found = by_source(await session.silences.fetch())
    assert len(found["grafana:us"].rows) == 1500 + 2
    asked = {k: v for k, v in stats.by_endpoint.items() if k.startswith("grafana:us ")}
    assert asked == {
        "grafana:us GET /api/alertmanager/grafana/api/v2/silences": 1,
        "grafana:us GET /api/alertmanager/grafana/api/v2/alerts": 1,
    }


# ------------------------------------------------------------------------- notices


async def test_a_silence_ending_soon_over_firing_alerts_gives_one_notice(demo):
    am = demo.grafana["us"].grafana_am
    session = await opened(demo)
    async with session:
        labels = await firing_labels(session, "grafana:us")
        soon = silence_for(
            am, labels["alertname"], ends_in=timedelta(minutes=10), comment="short one"
        )
        silence_for(
            am,
            "NotFiringAnywhere",
            ends_in=timedelta(minutes=10),
            comment="ends soon, nothing under it",
        )
        silence_for(am, labels["alertname"], ends_in=timedelta(minutes=40), comment="not soon")
        watch = ExpiryWatch()
        first = watch.check(await session.silences.fetch())
        again = watch.check(await session.silences.fetch())
        assert len(first) == 1 and soon[:8] in first[0]
        assert "grafana:us" in first[0] and "1 alert it matches still fires" in first[0]
        assert again == []
        # Extended, and due again later: a new notice then.
        row = row_of(by_source(await session.silences.fetch())["grafana:us"], soon)
        await session.silences.extend(row, timedelta(minutes=1))
        assert len(watch.check(await session.silences.fetch())) == 1


# ------------------------------------------------------------------------- actions


async def test_extend_moves_the_end_on_the_server_and_says_so(demo):
    am = demo.grafana["us"].grafana_am
    now = am.clock()
    sid = silence_for(am, "X", ends_in=timedelta(minutes=30))
    session = await opened(demo)
    async with session:
        row = row_of(by_source(await session.silences.fetch())["grafana:us"], sid)
        said = await session.silences.extend(row, timedelta(hours=1))
    assert re.fullmatch(
        rf"Extended silence {sid[:8]} on grafana:us by 1h: it now ends in 1h (29|30)m\.", said
    )
    silence = am.silences[sid]
    assert abs(silence.ends_at - now - timedelta(minutes=90)) < timedelta(seconds=1)
    assert silence.comment == "c" and silence.created_by == "Ana"


async def test_expire_ends_it_on_the_server_and_gone_or_expired_ones_say_so(demo):
    am = demo.grafana["us"].grafana_am
    sid = silence_for(am, "X", ends_in=timedelta(minutes=30))
    session = await opened(demo)
    async with session:
        row = row_of(by_source(await session.silences.fetch())["grafana:us"], sid)
        said = await session.silences.expire(row)
        assert said == f"Expired silence {sid[:8]} on grafana:us."
        assert am.silences[sid].state(am.clock()) == "expired"
        with pytest.raises(ActionError, match="has already expired; nothing was sent"):
            await session.silences.extend(row, timedelta(hours=1))
        del am.silences[sid]
        with pytest.raises(ActionError, match="it was already gone; nothing changed"):
            await session.silences.expire(row)


async def test_read_only_refuses_extend_and_expire_before_anything_is_sent(demo):
    am = demo.grafana["us"].grafana_am
    now = am.clock()
    sid = silence_for(am, "X", ends_in=timedelta(minutes=30))
    session = await opened(demo, readonly=True)
    async with session:
        row = row_of(by_source(await session.silences.fetch())["grafana:us"], sid)
        sent = session.backends.stats.total
        with pytest.raises(guard.Refused, match="Read-only mode"):
            await session.silences.extend(row, timedelta(hours=1))
        with pytest.raises(guard.Refused, match="Read-only mode"):
            await session.silences.expire(row)
        assert session.backends.stats.total == sent
    assert abs(am.silences[sid].ends_at - now - timedelta(minutes=30)) < timedelta(seconds=1)


async def test_extending_several_says_what_happened_to_each_by_source(demo):
    us = demo.grafana["us"]
    a = silence_for(us.grafana_am, "A", ends_in=timedelta(minutes=30))
    k = silence_for(us.plain_am, "K", ends_in=timedelta(minutes=30))
    session = await opened(demo)
    async with session:
        found = by_source(await session.silences.fetch())
        rows = [row_of(found["grafana:us"], a), row_of(found["alertmanager:k8s"], k)]
        del us.plain_am.silences[k]
        summary, lines = await session.silences.extend_all(rows, timedelta(hours=1))
    assert summary == "Extended 1 of 2 silences (alertmanager:k8s 0 of 1, grafana:us 1 of 1)."
    assert lines[0].startswith(f"Extended silence {a[:8]} on grafana:us by 1h")
    assert lines[1] == f"No silence {k[:8]} on alertmanager:k8s: it is gone; nothing was sent."


def test_a_silence_is_found_by_its_id_prefix_or_source_and_id():
    from oncall_tui.core.silences import find
    from oncall_tui.domain import Silence

    def row(source: str, sid: str) -> SilenceRow:
        now = utcnow()
        silence = Silence(sid, (), now, now + timedelta(hours=1), "a", "c", "active")
        return SilenceRow(source, silence, 0, False, False)

    a = SourceSilences("grafana:us", (row("grafana:us", "1a2b3c4d-1"),))
    b = SourceSilences("alertmanager:k8s", (row("alertmanager:k8s", "1a2b9999-2"),))
    down = SourceSilences("grafana:eu", problem="not available: 404")
    assert find([a, b], "1a2b3").source == "grafana:us"
    assert find([a, b], "alertmanager:k8s:1a2b").id == "1a2b9999-2"
    with pytest.raises(guard.BadInput, match="matches 1a2b3c4d on grafana:us, 1a2b9999 on"):
        find([a, b], "1a2b")
    with pytest.raises(guard.BadInput, match="at least 4 characters"):
        find([a, b], "1a2")
    with pytest.raises(ActionError, match=r"No active or pending silence ffff \(grafana:eu could"):
        find([a, b, down], "ffff")
