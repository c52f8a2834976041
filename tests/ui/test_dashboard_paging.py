"""The paging path in the dashboard (Pilot on the demo world): the right item, words that
say what happened, desktop notifications and links that never block or mislead."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest
from factories import until
from httpx import ASGITransport, AsyncClient

from oncall_tui.config import Settings, UiConfig
from oncall_tui.sim.demo import DEMO_TOKEN
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.launch import make_session
from oncall_tui.ui.widgets.alert_table import AlertTable


def make_app(settings: Settings | None = None, *, readonly: bool = False) -> OnCallApp:
    session = make_session(settings or Settings(), demo=True, readonly=readonly)
    return OnCallApp(session.settings, demo=True, readonly=readonly, session=session)


def table(app) -> AlertTable:
    return app.screen.query_one(AlertTable)


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def writes(app, kind: str):
    return [w for w in app.session.demo.world.writes if w.kind == kind]


def move_to(app, predicate) -> None:
    t = table(app)
    for row in t.rows:
        if predicate(row):
            assert t.move_cursor_to_key(row.key)
            return
    raise AssertionError("no such row")


async def loaded(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.screen.__class__.__name__ == "DashboardScreen")
    await until(pilot, lambda: table(app).row_count > 3 and app.session.engine.world.shifts)
    # The demo's scripted page to me has arrived: it takes the cursor from rows that are
    # not paging me, so it must not arrive in the middle of a test's key presses.
    await until(pilot, lambda: any(r.kind == "page" and r.mine for r in table(app).rows))


async def sim_post(app, path: str, body: dict) -> dict:
    transport = app.session.demo.transports["incident-io"]
    assert isinstance(transport, ASGITransport)
    async with AsyncClient(transport=transport, base_url="http://sim") as client:
        answer = await client.post(
            path, json=body, headers={"Authorization": f"Bearer {DEMO_TOKEN}"}
        )
        answer.raise_for_status()
        return answer.json()


def program(directory: Path, name: str, body: str) -> Path:
    """A small shell program on PATH that records how it was called."""
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# ------------------------------------------------------------ desktop notification


async def test_a_page_title_starting_with_a_dash_reaches_notify_send_as_text(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    record = tmp_path / "argv"
    program(bin_dir, "notify-send", f'for a in "$@"; do printf "%s\\n" "$a"; done >> {record}\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    title = "-u low --icon=/etc/passwd " + "Payments API down " * 10
    app = make_app(Settings(ui=UiConfig(desktop_notifications=True, bell=False)))
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        await sim_post(app, "/_sim/page", {"to_me": True, "title": title})
        app.session.engine.poll_soon()
        await until(pilot, lambda: record.exists() and "-u low" in record.read_text())
    argv = record.read_text().splitlines()
    assert "--" in argv
    text = argv[argv.index("--") + 1 :]
    assert not any(
        a.startswith("-") for a in argv[: argv.index("--")] if a != "--app-name=oncall-tui"
    )
    # The page title is after "--", shortened to one plain line.
    body = next(a for a in text if "-u low" in a)
    shown = next(part for part in body.split(" · ") if "-u low" in part)
    assert shown.startswith("-u low --icon=/etc/passwd Payments API down")
    assert len(shown) <= 80 and shown.endswith("…")


# --------------------------------------------------------------------------- links


def _link_env(monkeypatch, tmp_path, *, display: bool, browser: str) -> Path:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    if display:
        monkeypatch.setenv("DISPLAY", ":99")
    else:
        monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22")
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("BROWSER", browser)
    return bin_dir


async def test_a_slow_browser_never_blocks_the_dashboard(tmp_path, monkeypatch):
    bin_dir = _link_env(monkeypatch, tmp_path, display=True, browser="slowbrowser")
    opened = tmp_path / "opened"
    pid_file = tmp_path / "pid"
    # A browser that takes its time (as www-browser or a cold Firefox start does).
    program(bin_dir, "slowbrowser", f'echo $$ > {pid_file}\necho "$1" >> {opened}\nsleep 30\n')
    app = make_app()
    try:
        async with app.run_test(size=(150, 45)) as pilot:
            await loaded(pilot)
            move_to(app, lambda r: r.runbook == "ok")
            await pilot.press("o")
            await until(pilot, lambda: opened.exists() and opened.read_text().strip())
            # The browser is still running, and the dashboard answers keys meanwhile.
            pid = int(pid_file.read_text())
            os.kill(pid, 0)
            await pilot.press("question_mark")
            await until(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
            assert any(
                m.startswith("Opened the runbook in your browser: http") for m in notices(app)
            )
    finally:
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass


@pytest.mark.parametrize(
    ("display", "browser", "why"),
    [
        (False, "firefox", "no graphical display over SSH"),
        (True, "lynx", "$BROWSER is lynx, a browser that runs in the terminal"),
    ],
)
async def test_with_no_graphical_browser_the_link_is_copied_and_shown(
    tmp_path, monkeypatch, display, browser, why
):
    bin_dir = _link_env(monkeypatch, tmp_path, display=display, browser=browser)
    started = tmp_path / "started"
    for name in ("lynx", "firefox", "xdg-open", "www-browser"):
        program(bin_dir, name, f'echo {name} "$@" >> {started}\n')
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        move_to(app, lambda r: r.runbook == "ok")
        await pilot.press("o")
        await until(pilot, lambda: any(m.startswith("Not opened") for m in notices(app)))
        shown = next(m for m in notices(app) if m.startswith("Not opened"))
        assert why in shown
        url = shown.splitlines()[-1]
        assert url.startswith("http") and app.clipboard == url
        assert not any(m.startswith("Opened") for m in notices(app))
        await pilot.pause(0.2)
    assert not started.exists()  # no browser at all, least of all one in our terminal


# ------------------------------------------------------- the right row, true words


def paging_me(row) -> bool:
    return row.kind == "page" and row.mine and row.state == "triggered"


def detail_row(app):
    return app.screen.query_one("AlertDetail").row


async def page_me(app, pilot, title: str) -> str:
    """Page me from the simulator; the key of the new row once it is listed."""
    answer = await sim_post(app, "/_sim/page", {"to_me": True, "title": title})
    key = f"page:{answer['escalation']['id']}"
    app.session.engine.poll_soon()
    await until(pilot, lambda: table(app).get_row(key) is not None)
    return key


async def test_a_new_page_takes_the_cursor_from_an_acked_one_and_a_acts_on_it():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        first = await page_me(app, pilot, "Checkout is failing")
        move_to(app, lambda r: r.key == first)
        await pilot.press("a")
        await until(pilot, lambda: table(app).get_row(first).state == "acked")
        app.session.engine.poll_soon()
        await until(pilot, lambda: app.session.demo.world.escalations[first[5:]].status == "acked")
        assert table(app).cursor_key == first
        # A new page to me arrives: the cursor leaves the acked page for it.
        second = await page_me(app, pilot, "Payments API 5xx rate above 5%")
        await until(pilot, lambda: table(app).cursor_key == second)
        assert detail_row(app).key == second
        await pilot.press("a")
        await until(pilot, lambda: any("Payments API 5xx" in m for m in notices(app)))
        acked = [w for w in writes(app, "escalation.respond") if w.data.get("response") == "ack"]
        assert [w.target_id for w in acked] == [first[5:], second[5:]]
        assert any(m.startswith("Acked “Payments API 5xx rate above 5%”") for m in notices(app))


async def test_acking_an_acked_page_says_who_acked_it_and_sends_nothing():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        key = await page_me(app, pilot, "Ledger consumer lag")
        move_to(app, lambda r: r.key == key)
        await pilot.press("a")
        app.session.engine.poll_soon()
        # Acked as incident.io says (the world), not only as shown at once (optimistic).
        world = app.session.engine.world
        await until(
            pilot,
            lambda: (
                key[5:] in world.pages and world.pages[key[5:]].status in ("acked", "acknowledged")
            ),
        )
        before = len(writes(app, "escalation.respond"))
        move_to(app, lambda r: r.key == key)
        await pilot.press("a")
        await until(pilot, lambda: any("already acked" in m for m in notices(app)))
        said = next(m for m in notices(app) if "already acked" in m)
        me = app.session.demo.world.me.name
        assert said.startswith(f"“Ledger consumer lag” is already acked by {me} at ")
        assert "nothing was sent" in said
        await pilot.pause(0.2)
        assert len(writes(app, "escalation.respond")) == before


async def test_the_cursor_stays_on_a_page_paging_me_and_n_jumps_to_the_newest():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        first = await page_me(app, pilot, "Disk full on db-1")
        move_to(app, lambda r: r.key == first)
        assert paging_me(table(app).get_row(first))
        second = await page_me(app, pilot, "Disk full on db-2")
        await pilot.pause(0.2)
        assert table(app).cursor_key == first
        await pilot.press("n")
        await until(pilot, lambda: table(app).cursor_key == second)
        await until(pilot, lambda: detail_row(app).key == second)


# ------------------------------------------------------------ grouped alert rows


async def test_a_grouped_row_is_silenced_on_every_instance_after_showing_what_it_matches():
    app = make_app()
    async with app.run_test(size=(150, 45)) as pilot:
        await loaded(pilot)
        move_to(
            app,
            lambda r: (
                r.kind == "alert" and r.source == "grafana:eu, grafana:us" and r.state == "firing"
            ),
        )
        row = table(app).cursor_item
        await pilot.pause()
        await pilot.press("a")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        shown = " ".join(str(w.render()) for w in app.screen.query("Static"))
        for instance in ("grafana:eu", "grafana:us"):
            assert f"{instance}: __alert_rule_uid__=" in shown
        assert "would match 1 firing alert now" in shown
        await pilot.press("y")
        await until(
            pilot,
            lambda: any(m.startswith(f"Acked “{row.title}”: 2 of 2 done") for m in notices(app)),
        )
        grafana = app.session.demo.grafana
        for instance in ("eu", "us"):
            silences = grafana[instance].grafana_am.silences.values()
            made = [s for s in silences if "Acknowledged by" in s.comment]
            assert len(made) == 1, instance
            names = {m["name"] for m in made[0].matchers}
            assert "__alert_rule_uid__" in names and "pod" not in names
        await until(pilot, lambda: table(app).get_row(row.key).state == "silenced")


# ------------------------------------------------------------ names in the path


async def test_the_escalation_path_shows_names_who_is_on_call_and_when_it_moves_up():
    import re

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        answer = await sim_post(app, "/_sim/page", {"team": "payments", "title": "Payments down"})
        key = f"page:{answer['escalation']['id']}"
        app.session.engine.poll_soon()
        await until(pilot, lambda: table(app).get_row(key) is not None)
        move_to(app, lambda r: r.key == key)
        detail = app.screen.query_one("AlertDetail")
        await until(pilot, lambda: detail.row is not None and detail.row.key == key)
        text = str(detail.body_content())
        section = text[text.index("Path ") :]
        world = app.session.demo.world
        path = world.paths[answer["escalation"]["escalation_path_id"]]
        names = {s.name for s in world.schedules.values()}
        # Level lines name schedules and who is on call on them now; no bare ids.
        assert "▶ L1 " in section and "on call now: " in section
        assert any(name in section for name in names)
        assert not re.search(r"\b[0-9A-Z]{26}\b", section)
        assert "moves up in " in section
        assert len(path.levels) == section.count("\n")


# ----------------------------------------------------------------- mine is now


async def test_after_a_decline_the_page_is_no_longer_mine_and_says_where_it_went():
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        answer = await sim_post(app, "/_sim/page", {"team": "payments", "title": "Refunds stuck"})
        key = f"page:{answer['escalation']['id']}"
        app.session.engine.poll_soon()
        await until(pilot, lambda: table(app).get_row(key) is not None)
        await until(pilot, lambda: table(app).get_row(key).mine)
        move_to(app, lambda r: r.key == key)
        await pilot.pause()
        await pilot.press("x")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await until(
            pilot, lambda: any(m.startswith("Declined “Refunds stuck”") for m in notices(app))
        )
        app.session.engine.poll_soon()
        await until(pilot, lambda: table(app).get_row(key).went.startswith("now paging "))
        row = table(app).get_row(key)
        assert not row.mine and "(level 2)" in row.went
        detail = app.screen.query_one("AlertDetail")
        move_to(app, lambda r: r.key == key)
        await until(pilot, lambda: detail.row is not None and detail.row.key == key)
        status = str(detail.status_content())
        assert "no longer mine: now paging" in status and "paging me" not in status
        await pilot.press("m")  # mine only
        await until(pilot, lambda: table(app).get_row(key) is None)
