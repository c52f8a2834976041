"""The silences screen (``s``) on the demo world, driven by keys as a person would: it lists
every source's silences, ``e`` extends through the duration dialog, ``x`` expires after
asking, ``g`` opens the silence in Grafana through the app's link opener, Esc goes back;
refusals and failures say so; a thousand silences page without a request per silence;
and a silence about to expire over firing alerts gives one notice, on the dashboard too."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from factories import until

from oncall_tui.config import Settings
from oncall_tui.core.session import open_session
from oncall_tui.sim.demo import build_demo
from oncall_tui.sim.silences import _add, _matcher, silence_for
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.screens import silences as silences_screen
from oncall_tui.ui.screens.silences import SilencesScreen
from oncall_tui.ui.widgets.silence_list import SilenceList


def utcnow() -> datetime:
    return datetime.now(UTC)


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.fixture
def demo():
    return build_demo(Settings(), scenario=False, background_alerts=0)


def make_app(demo, *, readonly: bool = False) -> OnCallApp:
    session = open_session(demo.settings, demo=demo, readonly=readonly)
    return OnCallApp(session.settings, demo=True, readonly=readonly, session=session)


async def open_silences(app, pilot) -> SilencesScreen:
    await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, SilencesScreen) and app.screen.loaded)
    return app.screen


def lines(screen: SilencesScreen) -> list[str]:
    listing = screen.query_one(SilenceList)
    height = listing.scrollable_content_region.height
    return [listing.render_line(y).text for y in range(height)]


def select(screen: SilencesScreen, source: str, silence_id: str) -> None:
    assert screen.query_one(SilenceList).select(source, silence_id)


def one_silence(demo, minutes: int = 30) -> str:
    am = demo.grafana["us"].grafana_am
    return silence_for(am, "X", ends_in=timedelta(minutes=minutes))


async def test_s_lists_the_silences_by_source_and_esc_goes_back(demo):
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        shown = lines(screen)
        headings = [line.strip() for line in shown if not line.startswith("  ")]
        assert headings[:3] == [
            "alertmanager:k8s: 2 silences",
            "grafana:eu: 0 silences (none active or pending)",
            "grafana:us: 2 silences",
        ]
        text = "\n".join(shown)
        assert 'alertname=~"Checkout.*", env!="staging"' in text
        assert re.search(r"starts in 4[34]m", text) and "1 firing" in text
        assert "◆ this tool" in text
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")


async def test_g_opens_the_silence_in_grafana_through_the_link_opener(demo, monkeypatch):
    opened: list[tuple[str, str]] = []
    monkeypatch.setattr(
        OnCallApp, "open_url", lambda self, url, **kw: opened.append((url, kw.get("what", "")))
    )
    sid = one_silence(demo)
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        select(screen, "grafana:us", sid)
        await pilot.press("g")
        await until(pilot, lambda: bool(opened))
    url, what = opened[0]
    assert url == (
        f"https://grafana-us.demo.example.com/alerting/silence/{sid}/edit"
        "?alertmanager=grafana&orgId=1"
    )
    assert what == f"silence {sid[:8]}"


async def test_e_extends_by_the_duration_chosen_and_says_what_changed(demo):
    sid = one_silence(demo, minutes=30)
    before = demo.grafana["us"].grafana_am.silences[sid].ends_at
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        select(screen, "grafana:us", sid)
        await pilot.press("e")
        await until(pilot, lambda: app.screen.__class__.__name__ == "DurationScreen")
        await pilot.press("down", "down", "enter")  # 15m, 30m, 1h: the third preset
        await until(pilot, lambda: any(m.startswith("Extended") for m in notices(app)))
        said = next(m for m in notices(app) if m.startswith("Extended"))
        assert said.startswith(f"Extended silence {sid[:8]} on grafana:us by 1h: it now ends in")
    after = demo.grafana["us"].grafana_am.silences[sid].ends_at
    assert abs(after - before - timedelta(hours=1)) < timedelta(seconds=1)


async def test_x_asks_first_and_expires_only_after_yes(demo):
    sid = one_silence(demo)
    am = demo.grafana["us"].grafana_am
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        select(screen, "grafana:us", sid)
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
        assert am.silences[sid].state(am.clock()) == "active"
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith("Expired") for m in notices(app)))
        assert f"Expired silence {sid[:8]} on grafana:us." in notices(app)
        assert am.silences[sid].state(am.clock()) == "expired"
        await until(pilot, lambda: not any(sid[:8] in line for line in lines(screen)))


async def test_refused_and_failed_actions_say_so(demo):
    sid = one_silence(demo)
    am = demo.grafana["us"].grafana_am
    app = make_app(demo, readonly=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        select(screen, "grafana:us", sid)
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(pilot, lambda: any("Read-only mode" in m for m in notices(app)))
        assert any("Expire a silence is off; nothing was changed" in m for m in notices(app))
        assert am.silences[sid].state(am.clock()) == "active"
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        select(screen, "grafana:us", sid)
        del am.silences[sid]  # gone on the server meanwhile
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        gone = f"No silence {sid[:8]} on grafana:us: it was already gone; nothing changed."
        await until(pilot, lambda: gone in notices(app))
        assert not any(m.startswith("Expired") for m in notices(app))


async def test_a_thousand_silences_page_without_a_request_per_silence(demo):
    am = demo.grafana["us"].grafana_am
    now = utcnow()
    for n in range(1200):
        _add(
            am,
            [_matcher("alertname", f"Noise{n:04d}")],
            now,
            now + timedelta(minutes=30 + n),
            f"user{n}",
            f"bulk {n}",
        )
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        listing = screen.query_one(SilenceList)
        assert len(listing.silence_rows) == 1200 + 4
        await pilot.press("end")
        await until(
            pilot, lambda: listing.current is not None and listing.current.state == "pending"
        )
        await pilot.press("home", "pagedown", "pagedown", "down")
        assert listing.current is not None
        assert screen.query_one("#silence-detail").render()
        per_silence = [k for k in app.session.backends.stats.by_endpoint if "/silence/" in k]
        assert per_silence == []


async def test_a_silence_ending_over_firing_alerts_gives_one_notice_on_the_dashboard(
    demo, monkeypatch
):
    monkeypatch.setattr(silences_screen, "WATCH_FIRST", 0.2)
    monkeypatch.setattr(silences_screen, "WATCH_SECONDS", 0.4)
    am = demo.grafana["us"].grafana_am
    firing = next(a for a in am.gettable_alerts() if a["status"]["state"] == "active")
    name = firing["labels"]["alertname"]
    sid = silence_for(am, name, ends_in=timedelta(minutes=10))
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
        await until(pilot, lambda: any(m.startswith(f"Silence {sid[:8]}") for m in notices(app)))
        assert app.screen.__class__.__name__ == "DashboardScreen"
        said = [m for m in notices(app) if m.startswith(f"Silence {sid[:8]}")]
        assert re.match(
            rf'Silence {sid[:8]} on grafana:us \(alertname="{name}"\) ends in (9|10)m while '
            "1 alert it matches still fires: extend it on the silences screen",
            said[0],
        )
        checks = app.session.backends.stats.by_endpoint
        key = "grafana:us GET /api/alertmanager/grafana/api/v2/silences"
        seen = checks[key]
        await until(pilot, lambda: checks[key] >= seen + 2)  # two more checks
        assert len([m for m in notices(app) if m.startswith(f"Silence {sid[:8]}")]) == 1


async def test_r_reads_again_and_hostile_text_is_shown_as_text(demo):
    am = demo.grafana["us"].grafana_am
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        listing = screen.query_one(SilenceList)
        before = len(listing.silence_rows)
        sid = silence_for(
            am,
            "[b]Disk[/b]",
            ends_in=timedelta(hours=1),
            created_by="[red]mallory[/red]",
            comment="see \x1b[2J[link=javascript:alert(1)]here[/link]",
        )
        await pilot.press("r")
        await until(pilot, lambda: len(listing.silence_rows) == before + 1)
        select(screen, "grafana:us", sid)
        await pilot.press("down", "up")
        assert listing.current is not None and listing.current.id == sid
        await pilot.pause(0.1)
        line = next(text for text in lines(screen) if sid[:8] in text)
        assert 'alertname="[b]Disk[/b]"' in line and "[red]mallory[/red]" in line
        detail = str(screen.query_one("#silence-detail").render())
        assert "[link=javascript:alert(1)]here[/link]" in detail
        assert "\x1b" not in detail


async def test_marked_silences_are_expired_together_and_each_result_is_said(demo):
    us = demo.grafana["us"]
    first = silence_for(us.grafana_am, "A", ends_in=timedelta(hours=1))
    second = silence_for(us.grafana_am, "B", ends_in=timedelta(hours=1))
    other = silence_for(us.plain_am, "C", ends_in=timedelta(hours=1))
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        listing = screen.query_one(SilenceList)
        for source, sid in (
            ("grafana:us", first),
            ("grafana:us", second),
            ("alertmanager:k8s", other),
        ):
            select(screen, source, sid)
            await pilot.press("space")
        assert {r.id for r in listing.marked_rows} == {first, second, other}
        del us.grafana_am.silences[second]  # gone on the server meanwhile
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        summary = "Expired 2 of 3 silences (alertmanager:k8s 1 of 1, grafana:us 1 of 2)."
        await until(pilot, lambda: summary in notices(app))
        said = notices(app)
        assert f"Expired silence {first[:8]} on grafana:us." in said
        assert f"Expired silence {other[:8]} on alertmanager:k8s." in said
        assert (
            f"No silence {second[:8]} on grafana:us: it was already gone; nothing changed." in said
        )
    for am, sid in ((us.grafana_am, first), (us.plain_am, other)):
        assert am.silences[sid].state(am.clock()) == "expired"


async def test_the_palette_finds_the_screens_actions_by_name(demo):
    from textual.command import CommandList, CommandPalette

    sid = one_silence(demo)
    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_silences(app, pilot)
        select(screen, "grafana:us", sid)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Expire")

        def listed() -> bool:
            found = app.screen.query_one(CommandList)
            return found.option_count > 0 and "Expire" in str(found.get_option_at_index(0).prompt)

        await until(pilot, listed)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        assert f"Expire silence {sid[:8]}?" in " ".join(
            str(w.render()) for w in app.screen.query("Static")
        )
