"""Tidy rows on the command line (``oncall-tui alerts`` against ``oncall-tui sim serve``):
pages I sent are not rows; they show under what they are about."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from oncall_tui.config import default_data_dir
from oncall_tui.core.sent import KIND_SHADOW, PARENT_PAGE, SENT_FILE, SentLedger
from tests.simserve import Sim, start_sim


@pytest.fixture
def sim(tmp_path) -> Iterator[Sim]:
    yield from start_sim(tmp_path)


def _colleague(sim: Sim, me_id: str) -> dict:
    users = sim.get("/v2/users")["users"]
    return next(u for u in users if u["id"] != me_id)


def _as_me(sim: Sim, me_id: str, body: dict) -> dict:
    """A page made as me in incident.io itself (the web app), not by this tool."""
    answer = httpx.post(
        f"{sim.url}/v2/escalations",
        json=body,
        headers={"Authorization": f"Bearer {sim.token}", "X-Incident-User": me_id},
        timeout=5,
    )
    answer.raise_for_status()
    return answer.json()["escalation"]


def _act(sim: Sim, path: str) -> None:
    answer = httpx.post(
        f"{sim.url}{path}", json={}, headers={"Authorization": f"Bearer {sim.token}"}, timeout=5
    )
    answer.raise_for_status()


def test_pages_i_sent_are_not_rows_and_show_under_the_page_they_are_about(sim: Sim):
    me = sim.get("/_sim/state")["me"]
    colleague = _colleague(sim, me["id"])
    page = sim.post("/_sim/page", {"to_me": True, "title": "Ledger consumer lag"})["escalation"]
    # A shadow request this tool sent about that page (the dashboard's S records it).
    shadow = sim.post(
        "/v2/escalations",
        {
            "idempotency_key": "shadow-1",
            "title": "Shadow request: Ledger consumer lag",
            "user_ids": [colleague["id"]],
        },
    )["escalation"]
    SentLedger(default_data_dir() / SENT_FILE).record(
        shadow["id"], PARENT_PAGE + page["id"], KIND_SHADOW
    )
    # A page I made in incident.io itself, to a colleague, about nothing listed here.
    elsewhere = _as_me(
        sim,
        me["id"],
        {
            "idempotency_key": "web-1",
            "title": "Can you look at this?",
            "user_ids": [colleague["id"]],
        },
    )
    # A drill I sent myself still pages me: it stays a row.
    drill = _as_me(
        sim, me["id"], {"idempotency_key": "web-2", "title": "Drill", "user_ids": [me["id"]]}
    )

    listed = json.loads(sim.cli("alerts", "--json").stdout)
    ids = {r["id"] for r in listed["rows"]}
    assert page["id"] in ids and drill["id"] in ids
    assert shadow["id"] not in ids and elsewhere["id"] not in ids
    row = next(r for r in listed["rows"] if r["id"] == page["id"])
    assert row["sent"] == [shadow["id"]]
    sent = {s["id"]: s for s in listed["sent"]}
    assert sent[shadow["id"]]["kind"] == "shadow request"
    assert sent[shadow["id"]]["belongs_to"][0] == f"page:{page['id']}"
    assert elsewhere["id"] in sent

    table = sim.cli("alerts").stdout.splitlines()
    at = next(i for i, line in enumerate(table) if line.endswith(f"id {page['id']}"))
    under = []  # the indented lines that belong to the page's row
    for line in table[at + 1 :]:
        if not line.startswith("    "):
            break
        under.append(line.strip())
    mine = [line for line in under if line.startswith("↳ sent by me: shadow request")]
    assert len(mine) == 1, under
    assert mine[0].endswith(f"id {shadow['id']}")
    assert f"paged {colleague['name']}" in mine[0]
    assert not any(line.endswith(f"id {shadow['id']}") and "↳" not in line for line in table)
    assert "Sent by me (not alerts):" in table
    assert any("Can you look at this?" in line and "↳" in line for line in table)
    # Its ID is not a row to ack: nothing is sent for it.
    done = sim.cli("ack", shadow["id"])
    assert done.returncode == 2
    assert not [w for w in sim.writes("escalation.respond") if w["target_id"] == shadow["id"]]


def test_what_ended_lately_is_listed_apart_and_acking_it_sends_nothing(sim: Sim):
    page = sim.post("/_sim/page", {"to_me": True, "title": "Ledger consumer lag"})["escalation"]
    before = json.loads(sim.cli("alerts", "--json").stdout)
    alert_row = next(
        r for r in before["rows"] if r["kind"] == "alert" and r["source"] == "incident.io"
    )
    assert not before["recently_resolved"]
    _act(sim, f"/v2/escalations/{page['id']}/actions/cancel")
    for key in alert_row["alert_keys"]:
        _act(sim, f"/v2/alerts/{key.split(':')[-1]}/actions/resolve")

    listed = json.loads(sim.cli("alerts", "--json").stdout)
    # Not among the open rows (scripts that act on rows never act on them)…
    assert page["id"] not in {r["id"] for r in listed["rows"]}
    assert alert_row["id"] not in {r["id"] for r in listed["rows"]}
    # …but listed apart, with when they ended.
    ended = {r["id"]: r for r in listed["recently_resolved"]}
    assert ended[page["id"]]["state"] == "cancelled" and ended[page["id"]]["resolved_at"]
    assert ended[alert_row["id"]]["state"] == "resolved"

    table = sim.cli("alerts").stdout.splitlines()
    heading = table.index("Ended in the last 10 minutes (nothing to do):")
    line = next(x for x in table[heading:] if x.endswith(f"id {page['id']}"))
    assert line.startswith("✓") and "cancelled at " in line

    done = sim.cli("ack", page["id"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("“Ledger consumer lag” already cancelled at ")
    assert done.stdout.strip().endswith("nothing was sent.")
    assert not [w for w in sim.writes("escalation.respond") if w["target_id"] == page["id"]]
