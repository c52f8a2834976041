"""The silences screen and ``oncall-tui silences --json`` against two real Alertmanagers.

Both carry the same alert. On the first, a silence made by hand (regex and negative
matchers, another author); on the second, a pending one and one ending in ten minutes;
and on both, the one this tool makes when the alert is acked. The command (the console
script) lists them all by source, with time left and how many firing alerts each matches;
the screen (``s`` on the dashboard, run on the same two servers) shows them with live
countdowns; extend and expire change them on the real servers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from oncall_tui.config import AlertmanagerConfig, Settings, UserConfig
from oncall_tui.core.session import open_session
from oncall_tui.core.silences import SilenceRow
from tests.real.test_grouped_silence import wait_for

pytestmark = pytest.mark.real

SCRIPT = Path(sys.executable).parent / "oncall-tui"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def post_alert(url: str, labels: dict[str, str]) -> None:
    answer = httpx.post(
        f"{url}/api/v2/alerts",
        json=[{"labels": labels, "annotations": {"summary": labels["alertname"]}}],
        timeout=5,
    )
    assert answer.status_code == 200, answer.text


def make_silence(url: str, matchers, starts: datetime, ends: datetime, by: str, comment: str):
    answer = httpx.post(
        f"{url}/api/v2/silences",
        json={
            "matchers": matchers,
            "startsAt": iso(starts),
            "endsAt": iso(ends),
            "createdBy": by,
            "comment": comment,
        },
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["silenceID"]


def silence_on(url: str, silence_id: str) -> dict:
    return httpx.get(f"{url}/api/v2/silence/{silence_id}", timeout=5).json()


def m(name: str, value: str, *, regex: bool = False, equal: bool = True) -> dict:
    return {"name": name, "value": value, "isRegex": regex, "isEqual": equal}


@pytest.fixture
def world(real_alertmanager, second_alertmanager, tmp_path):
    """The alert on both, and the silences a night leaves behind; the config for both."""
    a, b = real_alertmanager.url, second_alertmanager.url
    name = f"CheckoutLatency{uuid.uuid4().hex[:8]}"
    labels = {"alertname": name, "service": "checkout", "env": "prod", "severity": "critical"}
    post_alert(a, labels)
    post_alert(b, labels)
    now = datetime.now(UTC)
    ids = {
        "by_hand": make_silence(
            a,
            [
                m("alertname", f"{name}|{name}Canary.*", regex=True),
                m("env", "staging", equal=False),
            ],
            now,
            now + timedelta(hours=2),
            "Priya (Alertmanager UI)",
            "deploy window, CHG-2291",
        ),
        "pending": make_silence(
            b,
            [m("alertname", name)],
            now + timedelta(minutes=30),
            now + timedelta(minutes=90),
            "Sam",
            "maintenance tonight",
        ),
        "soon": make_silence(
            b,
            [m("alertname", name), m("pod", "gone-.*", regex=True, equal=False)],
            now,
            now + timedelta(minutes=10),
            "Kofi",
            "short one",
        ),
    }
    config = tmp_path / "two.toml"
    config.write_text(
        '[user]\nemail = "me@example.com"\n\n'
        f'[alertmanager.a]\nurl = "{a}"\n\n[alertmanager.b]\nurl = "{b}"\n'
    )
    settings = Settings(
        user=UserConfig(email="me@example.com"),
        alertmanager={"a": AlertmanagerConfig(url=a), "b": AlertmanagerConfig(url=b)},
    )
    return {"a": a, "b": b, "name": name, "ids": ids, "config": config, "settings": settings}


async def ack_with_the_tool(settings: Settings, name: str) -> None:
    """Ack the alert on both servers the way the dashboard and `ack` do."""
    async with open_session(settings) as session:
        for source in ("alertmanager:a", "alertmanager:b"):
            client = session.backends.alertmanagers[source]
            alert = next(x for x in await client.list_alerts() if x.label("alertname") == name)
            outcome = await session.actions.ack(alert)
            assert outcome.message.startswith("Silenced"), outcome.message


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ONCALL_TUI_")}
    env["ONCALL_TUI_NO_KEYRING"] = "1"
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)


def listing(world) -> dict[str, dict]:
    done = cli("silences", "--json", "--config", str(world["config"]))
    assert done.returncode == 0, done.stdout + done.stderr
    return {s["source"]: s for s in json.loads(done.stdout)["sources"]}


async def test_the_command_lists_every_silence_on_both_alertmanagers(world):
    acked = world["name"] + "Acked"  # an alert no silence holds yet, acked with the tool
    for url in (world["a"], world["b"]):
        post_alert(url, {"alertname": acked, "service": "checkout"})
    await ack_with_the_tool(world["settings"], acked)
    ids = world["ids"]

    def settled():
        found = listing(world)
        rows = {s["id"]: s for source in found.values() for s in source["silences"]}
        mine = [s for s in rows.values() if s["made_here"] and s["firing"]]
        ready = rows.get(ids["by_hand"], {}).get("firing") == 1 and len(mine) >= 2
        return (found, rows) if ready else None

    found, rows = wait_for("the alerts to show as silenced", settled)
    assert found["alertmanager:a"]["available"] and found["alertmanager:b"]["available"]

    by_hand = rows[ids["by_hand"]]
    assert by_hand["source"] == "alertmanager:a"
    assert [x["text"] for x in by_hand["matchers"]] == [
        f'alertname=~"{world["name"]}|{world["name"]}Canary.*"',
        'env!="staging"',
    ]
    assert by_hand["created_by"] == "Priya (Alertmanager UI)"
    assert by_hand["comment"] == "deploy window, CHG-2291"
    assert not by_hand["made_here"] and by_hand["state"] == "active"
    assert 110 * 60 < by_hand["seconds_left"] <= 120 * 60

    pending = rows[ids["pending"]]
    assert pending["source"] == "alertmanager:b" and pending["state"] == "pending"
    assert pending["firing"] == 1  # matched here: a pending silence mutes nothing yet
    assert 25 * 60 < pending["seconds_to_start"] <= 30 * 60
    assert pending["left"].startswith("starts in 2")

    soon = rows[ids["soon"]]
    assert soon["firing"] == 1 and soon["expiring_soon"]
    assert 'pod!~"gone-.*"' in [x["text"] for x in soon["matchers"]]

    made = [s for s in rows.values() if s["made_here"]]
    assert {s["source"] for s in made} == {"alertmanager:a", "alertmanager:b"}
    assert all(s["created_by"] == "me@example.com" for s in made)

    text = cli("silences", "--config", str(world["config"])).stdout
    assert text.splitlines()[0].startswith("alertmanager:a: ")
    name = world["name"]
    assert f'alertname=~"{name}|{name}Canary.*", env!="staging"' in text
    assert "starts in 2" in text and "[made with oncall-tui]" in text


async def test_extend_and_expire_change_the_silences_on_the_real_servers(world):
    ids = world["ids"]
    async with open_session(world["settings"]) as session:
        found = {s.source: s for s in await session.silences.fetch()}
        rows: dict[str, SilenceRow] = {r.id: r for source in found.values() for r in source.rows}
        soon = rows[ids["soon"]]
        said = await session.silences.extend(soon, timedelta(hours=1))
        assert said.startswith(f"Extended silence {soon.short_id} on alertmanager:b by 1h")
        # The server may keep the id or replace the silence; the words say which.
        new_id = ids["soon"]
        if "replaced it with silence" in said:
            new_id = next(
                s["id"]
                for s in httpx.get(f"{world['b']}/api/v2/silences", timeout=5).json()
                if s["id"].startswith(said.split("replaced it with silence ")[1][:8])
            )
            assert silence_on(world["b"], ids["soon"])["status"]["state"] == "expired"
        extended = silence_on(world["b"], new_id)
        assert extended["status"]["state"] == "active"
        left = datetime.fromisoformat(extended["endsAt"].replace("Z", "+00:00")) - datetime.now(UTC)
        assert timedelta(minutes=65) < left <= timedelta(minutes=70)
        assert extended["comment"] == "short one" and extended["createdBy"] == "Kofi"

        by_hand = rows[ids["by_hand"]]
        said = await session.silences.expire(by_hand)
        assert said == (
            f"Expired silence {by_hand.short_id} on alertmanager:a; "
            "the firing alert it matched notifies again."
        )
        assert silence_on(world["a"], ids["by_hand"])["status"]["state"] == "expired"
        again = {s.source: s for s in await session.silences.fetch()}
        assert ids["by_hand"] not in {r.id for r in again["alertmanager:a"].rows}


def silence_reads(session) -> int:
    return sum(
        n
        for k, n in session.backends.stats.by_endpoint.items()
        if k.endswith("GET /api/v2/silences")
    )


async def test_the_screen_lists_both_alertmanagers_with_countdowns(world, monkeypatch):
    from oncall_tui.core import silences as core_silences
    from oncall_tui.ui.app import OnCallApp
    from oncall_tui.ui.screens.silences import SilencesScreen
    from oncall_tui.ui.widgets.silence_list import SilenceList

    session = open_session(world["settings"])
    app = OnCallApp(session.settings, session=session)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("s")
        for _ in range(300):
            if isinstance(app.screen, SilencesScreen) and app.screen.loaded:
                break
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, SilencesScreen) and screen.loaded
        listing_widget = screen.query_one(SilenceList)

        def lines() -> list[str]:
            height = listing_widget.scrollable_content_region.height
            return [listing_widget.render_line(y).text for y in range(height)]

        shown = "\n".join(lines())
        assert " alertmanager:a: " in shown and " alertmanager:b: " in shown
        by_hand = next(line for line in lines() if world["ids"]["by_hand"][:8] in line)
        # Made moments ago (a slow machine may take a minute to get here).
        assert re.search(r"1h 5[89]m left", by_hand) and "Priya" in by_hand and "env!=" in by_hand
        pending = next(line for line in lines() if world["ids"]["pending"][:8] in line)
        assert re.search(r"starts in 2[89]m", pending)
        soon = next(line for line in lines() if world["ids"]["soon"][:8] in line)
        assert re.search(r"\b[89]m left", soon) and "1 firing" in soon

        # The countdown is live: two minutes later (on this machine's monotonic clock)
        # the detail of the selected silence reads two minutes less, with no new read.
        assert listing_widget.select("alertmanager:b", world["ids"]["soon"])
        detail = screen.query_one("#silence-detail")

        def detail_text() -> str:
            return str(detail.render())

        def minutes_left() -> int:
            found = re.search(r"· (\d+)m left", detail_text())
            assert found, detail_text()
            return int(found.group(1))

        await pilot.pause(0.1)
        before = minutes_left()
        reads = silence_reads(session)
        real = time.monotonic
        monkeypatch.setattr(core_silences, "monotonic", lambda: real() + 120)
        for _ in range(60):
            if minutes_left() <= before - 2:
                break
            await pilot.pause(0.05)
        assert minutes_left() in (before - 2, before - 3)
        assert silence_reads(session) == reads
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, SilencesScreen)


def test_the_command_extends_and_expires_by_the_printed_id(world):
    ids = world["ids"]
    config = str(world["config"])
    soon = ids["soon"][:8]
    done = cli("silences", "extend", f"alertmanager:b:{soon}", "1h", "--config", config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"Extended silence {soon} on alertmanager:b by 1h: it now ends")
    left = datetime.fromisoformat(
        silence_on(world["b"], ids["soon"])["endsAt"].replace("Z", "+00:00")
    ) - datetime.now(UTC)
    assert timedelta(minutes=65) < left <= timedelta(minutes=70)

    by_hand = ids["by_hand"][:8]
    dry = cli("silences", "expire", by_hand, "--dry-run", "--config", config)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"Expire silence {ids['by_hand']} on alertmanager:a" in dry.stdout
    assert "The firing alert it matches will notify again." in dry.stdout
    assert "Dry run: nothing was changed." in dry.stdout
    assert silence_on(world["a"], ids["by_hand"])["status"]["state"] == "active"

    done = cli("silences", "expire", by_hand, "--yes", "--config", config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == (
        f"Expired silence {by_hand} on alertmanager:a; the firing alert it matched notifies again."
    )
    assert silence_on(world["a"], ids["by_hand"])["status"]["state"] == "expired"

    again = cli("silences", "expire", by_hand, "--yes", "--config", config)
    assert again.returncode == 1
    assert f"No active or pending silence {by_hand}" in again.stderr
