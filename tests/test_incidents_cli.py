"""The incident commands on the demo world: declare (and its retry), timeline, note, outbox."""

from __future__ import annotations

import json

import pytest

from oncall_tui.cli.main import main
from oncall_tui.sim import demo as demo_module


@pytest.fixture
def shared_demo(monkeypatch):
    """One demo world for several commands (each command otherwise starts a fresh one)."""
    built = {}
    original = demo_module.build_demo

    def once(base=None, **kwargs):
        if "demo" not in built:
            built["demo"] = original(base, **kwargs)
        return built["demo"]

    monkeypatch.setattr(demo_module, "build_demo", once)
    return built


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_declare_and_a_retry_with_the_same_key_give_one_incident(capsys, shared_demo):
    argv = ("declare", "--demo", "--severity", "major", "--summary", "EU only", "--json")
    code, out, _ = run(capsys, *argv, "--key", "retry-me-1", "Checkout failing")
    assert code == 0
    first = json.loads(out)
    code, out, _ = run(capsys, *argv, "--key", "retry-me-1", "Checkout failing")
    assert code == 0 and json.loads(out)["id"] == first["id"]
    world = shared_demo["demo"].world
    assert len([w for w in world.writes if w.kind == "incident.create"]) == 1
    assert first["severity"] == "Major" and first["lead"] and first["key"] == "retry-me-1"


def test_declare_private_prints_words_and_the_link(capsys):
    code, out, _ = run(capsys, "declare", "--demo", "-s", "minor", "--private", "[b]Search[/b]")
    assert code == 0
    assert out.startswith("Declared INC-") and "“[b]Search[/b]”" in out and "you lead it" in out


def test_declare_with_a_bad_severity_says_which_exist(capsys):
    code, _, err = run(capsys, "declare", "--demo", "-s", "sev0", "Broken")
    # A usage error: exit 2 with the allowed values, and no talk of retrying.
    assert code == 2
    assert "No severity 'sev0': choose one of Minor, Major, Critical." in err
    assert "--key" not in err


def test_readonly_refuses_to_declare(capsys):
    code, _, err = run(capsys, "--readonly", "declare", "--demo", "-s", "minor", "x")
    assert code == 2 and "Read-only" in err


def test_an_unknown_incident_exits_1_with_a_clear_message(capsys):
    code, out, err = run(capsys, "timeline", "--demo", "INC-99999")
    assert code == 1 and out == ""
    assert err.strip() == "oncall-tui: No incident INC-99999 on this incident.io account."
    # A reference that cannot be one is a usage error.
    code, _, err = run(capsys, "timeline", "--demo", "not-a-ref!")
    assert code == 2 and "not an incident reference" in err


def test_timeline_markdown_to_a_file(capsys, tmp_path):
    target = tmp_path / "inc.md"
    code, out, _ = run(capsys, "timeline", "--demo", "INC-242", "--output", str(target))
    assert code == 0 and "Wrote the timeline of INC-242" in out
    text = target.read_text()
    assert text.startswith("# INC-242: ") and "## What surprised us" in text
    code, out, _ = run(capsys, "timeline", "--demo", "242", "--markdown", "--utc")
    assert code == 0 and out.startswith("# INC-242") and "Times are in UTC." in out


def test_timeline_plain_lists_entries_in_time_order(capsys):
    code, out, _ = run(capsys, "timeline", "--demo", "INC-242", "--utc")
    assert code == 0
    assert "Incident declared" in out and "Page" in out and "Alert firing" in out


def test_note_then_outbox(capsys, shared_demo):
    code, out, _ = run(capsys, "note", "--demo", "INC-242", "Rolled back the deploy")
    assert code == 0 and out.startswith("Note added to INC-242.")
    code, out, _ = run(capsys, "outbox", "--demo", "--json")
    assert code == 0 and json.loads(out)["items"] == []
    code, out, _ = run(capsys, "outbox", "--demo", "--json", "--all")
    [item] = json.loads(out)["items"]
    assert item["state"] == "delivered" and item["incident"] == "INC-242"
    code, out, _ = run(capsys, "note", "--demo", "INC-242", "   ")
    assert code == 2


def test_outbox_send_delivers_what_waited_through_an_outage(capsys, shared_demo):
    from datetime import UTC, datetime

    from oncall_tui.core.incidents import outbox_path
    from oncall_tui.core.outbox import KIND_NOTE, Outbox, note_payload

    code, out, _ = run(capsys, "incidents", "--demo", "--json")
    incident = next(i for i in json.loads(out) if i["reference"] == "INC-242")
    with Outbox(outbox_path(demo=True)) as box:
        payload = note_payload("typed on the train", at=datetime.now(UTC))
        item = box.enqueue(KIND_NOTE, incident["id"], {**payload, "incident_ref": "INC-242"})
    faults = shared_demo["demo"].transports["incident-io"].app.state.faults
    faults.update(down=True)
    code, out, _ = run(capsys, "outbox", "--demo", "--send")
    assert code == 0 and "pending" in out and "typed on the train" in out
    faults.clear()
    with Outbox(outbox_path(demo=True)) as box:
        box.retry_now()
    code, out, err = run(capsys, "outbox", "--demo", "--send")
    assert code == 0 and out.startswith("Nothing waiting") and "is on INC-242's timeline" in err
    world = shared_demo["demo"].world
    sent = [w for w in world.writes if w.kind == "timeline_item.create"]
    assert [w.data["title"] for w in sent] == ["typed on the train"]
    assert world.timeline_items[sent[0].target_id].idempotency_key == item.key


def test_outbox_lists_what_waits_and_what_was_refused(capsys):
    from datetime import UTC, datetime

    from oncall_tui.core.incidents import outbox_path
    from oncall_tui.core.outbox import KIND_NOTE, Outbox, note_payload

    with Outbox(outbox_path(demo=True)) as box:
        now = datetime.now(UTC)
        waiting = box.enqueue(
            KIND_NOTE, "01ABC", {**note_payload("still here", at=now), "incident_ref": "INC-7"}
        )
        refused = box.enqueue(KIND_NOTE, "01DEF", note_payload("refused one", at=now))
        box.mark_failed(refused.key, "refused: title too long", permanent=True)
    code, out, _ = run(capsys, "outbox", "--demo")
    assert code == 1  # something needs the user
    assert "pending" in out and "INC-7" in out and "still here" in out
    assert "failed" in out and "title too long" in out
    code, out, _ = run(capsys, "outbox", "--demo", "--json")
    rows = {r["key"]: r for r in json.loads(out)["items"]}
    assert rows[waiting.key]["state"] == "pending" and rows[refused.key]["state"] == "failed"
    assert "title too long" in rows[refused.key]["error"]
