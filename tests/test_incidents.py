"""Incident actions on the simulated incident.io: declare, notes through the outbox,
status and severity, hand-over, paging, checklist, close, export, and bad input."""

from __future__ import annotations

import pytest

from oncall_tui.backends.http import RetryPolicy
from oncall_tui.backends.incidentio import CAP_INCIDENT_UPDATES_CREATE, CAP_TIMELINE_ITEMS
from oncall_tui.config import Settings
from oncall_tui.core.actions import ActionError
from oncall_tui.core.incidents import (
    CHECKLIST,
    MAX_NOTE_CHARS,
    DeclareDraft,
    IncidentActions,
    checklist_state,
    draft_from_alert,
    slack_url,
    sort_incidents,
)
from oncall_tui.core.outbox import (
    ROUTE_FALLBACK,
    STATE_DELIVERED,
    STATE_NEEDS_ATTENTION,
    STATE_PENDING,
    Backoff,
    Outbox,
)
from oncall_tui.core.sources import build_backends
from oncall_tui.domain import TIMELINE_NOTE, TIMELINE_UPDATE
from oncall_tui.sim.demo import build_demo


@pytest.fixture
async def world(tmp_path):
    demo = build_demo(Settings.model_construct(), background_alerts=0)
    backends = build_backends(demo.settings, transports=demo.transports, tokens=demo.tokens)
    backends.incidentio.retry = RetryPolicy(attempts=2, base=0.001, cap=0.01, total=1)
    outbox = Outbox(tmp_path / "outbox.sqlite3", backoff=Backoff(base=0.001, cap=0.002, floor=0))
    actions = IncidentActions(backends, outbox)
    yield demo, actions
    outbox.close()
    await backends.aclose()


def faults(demo):
    return demo.transports["incident-io"].app.state.faults


def sim_writes(demo, kind):
    return [w for w in demo.world.writes if w.kind == kind]


async def declare(actions, name="Checkout is failing", severity="major", **kw):
    return (await actions.declare(DeclareDraft(name=name, severity_id=severity, **kw))).incident


async def deliver_all(actions, rounds: int = 20):
    for _ in range(rounds):
        if not actions.outbox.pending():
            return
        await actions.outbox.deliver_due(actions.send, fallback=actions.reroute)


# ------------------------------------------------------------------------ declare


async def test_declare_makes_me_lead_and_a_retry_with_the_same_key_opens_one(world):
    demo, actions = world
    draft = DeclareDraft(name="Checkout is failing", summary="EU only", severity_id="Major")
    first = await actions.declare(draft)
    again = await actions.declare(draft)  # e.g. the answer was lost and Declare pressed again
    assert again.incident.id == first.incident.id
    assert len(sim_writes(demo, "incident.create")) == 1
    incident = first.incident
    assert incident.severity.name == "Major"
    assert incident.lead is not None and incident.lead.email == "me@example.com"
    assert "you lead it" in first.message and incident.reference in first.message


async def test_declare_private_with_a_type_and_without_me_as_lead(world):
    _demo, actions = world
    incident = await declare(actions, severity="minor", type_id="Security", private=True)
    assert incident.visibility == "private" and incident.type.name == "Security"


async def test_declare_refuses_bad_input_before_sending(world):
    demo, actions = world
    with pytest.raises(ActionError, match="name"):
        await declare(actions, name="  \x1b[2J ")
    with pytest.raises(ActionError, match="No severity 'sev-zero': choose one of Minor"):
        await declare(actions, severity="sev-zero")
    with pytest.raises(ActionError, match="No incident type"):
        await declare(actions, type_id="Nope")
    with pytest.raises(ActionError, match="too long"):
        await declare(actions, name="x" * 300)
    assert not sim_writes(demo, "incident.create")


async def test_markup_and_escapes_in_a_name_are_sent_as_text(world):
    demo, actions = world
    incident = await declare(
        actions, name="[bold red]DB[/] \x1b]8;;http://evil\x07down\x1b]8;;\x07"
    )
    assert incident.name == "[bold red]DB[/] down"
    stored = demo.world.incidents[incident.id]
    assert stored.name == "[bold red]DB[/] down"


async def test_declare_fails_in_words_and_keeps_the_key_for_the_retry(world):
    demo, actions = world
    draft = DeclareDraft(name="Search is slow", severity_id="minor")
    await actions.lookups()  # the form has them before the outage
    faults(demo).update(down=True)
    with pytest.raises(ActionError, match="same request key"):
        await actions.declare(draft)
    faults(demo).clear()
    key = draft.key
    declared = await actions.declare(draft)
    assert draft.key == key and declared.incident.name == "Search is slow"


async def test_a_draft_from_an_alert_carries_its_links(world):
    _demo, actions = world
    alerts = await actions.io.list_alerts(("firing",))
    alert = next(a for a in alerts if a.link("runbook").url)
    draft = draft_from_alert(alert)
    assert draft.name == alert.title
    assert alert.link("runbook").url in draft.summary
    assert draft.from_alert == alert.key
    assert draft_from_alert(None).name == ""


async def test_readonly_refuses_every_write(world):
    _demo, actions = world
    incident = await declare(actions)
    actions.readonly = True
    for attempt in (
        lambda: actions.note(incident, "x"),
        lambda: actions.tick(incident, "call"),
        lambda: actions.change(incident, message="x"),
    ):
        with pytest.raises(ActionError, match="Read-only"):
            attempt()
    with pytest.raises(ActionError, match="Read-only"):
        await declare(actions)
    with pytest.raises(ActionError, match="Read-only"):
        await actions.close(incident, "a", "b")
    assert not actions.outbox.items()


# -------------------------------------------------------------------------- notes


async def test_a_note_is_kept_shown_pending_then_delivered_with_its_key(world):
    demo, actions = world
    incident = await declare(actions)
    queued = actions.note(incident, "Rolled back payments-api\nerror rate falling")
    assert actions.outbox.get(queued.item.key).state == STATE_PENDING  # on disk before sending
    data = await actions.load_timeline(incident)
    pending = [e for e in actions.entries(data) if e.pending]
    assert [e.text for e in pending] == ["Rolled back payments-api"]
    await deliver_all(actions)
    item = actions.outbox.get(queued.item.key)
    assert item.state == STATE_DELIVERED
    stored = demo.world.timeline_items[item.remote_id]
    assert stored.idempotency_key == queued.item.key
    assert (stored.title, stored.description) == (
        "Rolled back payments-api",
        "error rate falling\n\n— Robin Ahn",  # incident.io credits the key: the author is named
    )
    entries = actions.entries(await actions.load_timeline(incident))
    assert not any(e.pending for e in entries)
    assert [e.text for e in entries if e.text == "Rolled back payments-api"] == [stored.title]


async def test_an_empty_note_is_refused_politely(world):
    _demo, actions = world
    incident = await declare(actions)
    for text in ("", "   \n\t ", "\x1b[31m\x07"):
        with pytest.raises(ActionError, match="Empty note"):
            actions.note(incident, text)
    assert not actions.outbox.items()


async def test_a_100kb_paste_is_delivered_whole(world):
    demo, actions = world
    incident = await declare(actions)
    lines = [f"{i:05d} GET /api/v1/payments 502 upstream reset" for i in range(2400)]
    paste = "\n".join(lines)
    assert len(paste) > 100_000
    queued = actions.note(incident, paste)
    await deliver_all(actions)
    item = actions.outbox.get(queued.item.key)
    stored = demo.world.timeline_items[item.remote_id]
    assert stored.title == lines[0]
    assert stored.description == "\n".join(lines[1:]) + "\n\n— Robin Ahn"
    with pytest.raises(ActionError, match="limit"):
        actions.note(incident, "y" * (MAX_NOTE_CHARS + 10))


async def test_markup_is_sent_as_typed_and_escape_sequences_are_dropped(world):
    demo, actions = world
    incident = await declare(actions)
    queued = actions.note(incident, "[link=http://x]click[/link] \x1b[2Jcleared \x1b]0;title\x07ok")
    await deliver_all(actions)
    stored = demo.world.timeline_items[actions.outbox.get(queued.item.key).remote_id]
    assert stored.title == "[link=http://x]click[/link] cleared ok"


async def test_notes_typed_while_the_api_is_down_go_out_once_in_order(world):
    demo, actions = world
    incident = await declare(actions)
    faults(demo).update(down=True)
    texts = [f"note {n}: still investigating" for n in range(6)]
    keys = [actions.note(incident, t).item.key for t in texts]
    for _ in range(3):  # several failed rounds while it is down
        await actions.outbox.deliver_due(actions.send, fallback=actions.reroute)
    assert all(actions.outbox.get(k).state == STATE_PENDING for k in keys)
    assert actions.outbox.get(keys[0]).attempts >= 3
    assert actions.outbox.get(keys[1]).attempts == 0  # never sent ahead of the first
    faults(demo).clear()
    await deliver_all(actions)
    created = sim_writes(demo, "timeline_item.create")
    assert [w.data["title"] for w in created] == texts  # once each, in the order typed
    assert all(actions.outbox.get(k).state == STATE_DELIVERED for k in keys)


async def test_without_the_timeline_api_a_note_becomes_an_incident_update(world):
    demo, actions = world
    incident = await declare(actions)
    demo.world.writes.clear()
    actions.io.unavailable.add(CAP_TIMELINE_ITEMS)  # as a probe of such an account finds
    queued = actions.note(incident, "Customer support informed")
    await deliver_all(actions)
    item = actions.outbox.get(queued.item.key)
    assert item.state == STATE_DELIVERED and item.route == ROUTE_FALLBACK
    assert "incident update" in item.status_text
    update = demo.world.incident_updates[item.remote_id]
    assert update.message == "Customer support informed\n\n— Robin Ahn"
    data = await actions.load_timeline(incident)
    assert any("no timeline notes API" in p for p in data.problems)
    shown = [e for e in actions.entries(data) if e.kind == TIMELINE_UPDATE]
    assert any(e.detail == "Customer support informed" and not e.pending for e in shown)


async def test_with_no_notes_api_at_all_the_note_is_kept_and_the_user_told(world):
    demo, actions = world
    incident = await declare(actions)
    faults(demo).update(hide_newer_endpoints=True)
    queued = actions.note(incident, "Paged the DBA")
    await deliver_all(actions)
    item = actions.outbox.get(queued.item.key)
    assert item.state == STATE_NEEDS_ATTENTION
    assert "neither" in item.status_text
    from oncall_tui.core.incidents import delivery_words
    from oncall_tui.core.outbox import OUTCOME_NEEDS_ATTENTION, Delivery

    words, severity = delivery_words(Delivery(item, OUTCOME_NEEDS_ATTENTION, ""))
    assert severity == "error" and "oncall-tui outbox" in words and "kept" in words
    entries = actions.entries(await actions.load_timeline(incident))
    assert any(e.text == "Paged the DBA" and e.state == STATE_NEEDS_ATTENTION for e in entries)


# ---------------------------------------------------------- status, severity, people


async def test_status_and_severity_change_with_a_message(world):
    demo, actions = world
    incident = await declare(actions, severity="minor")
    lookups = await actions.lookups()
    queued = actions.change(
        incident,
        status=lookups.status("Fixing"),
        severity=lookups.severity("major"),
        message="Cause found: a bad deploy",
    )
    outcome = await actions.settle(queued, "done")
    assert outcome.message == "done."
    now = await actions.find(incident.reference)
    assert (now.status.name, now.severity.name) == ("Fixing", "Major")
    [write] = sim_writes(demo, "incident_update.create")
    assert write.data["message"] == "Cause found: a bad deploy"
    with pytest.raises(ActionError, match="Nothing to change"):
        actions.change(now, status=lookups.status("Fixing"))


async def test_without_the_updates_api_a_change_falls_back_to_edit(world):
    demo, actions = world
    incident = await declare(actions)
    lookups = await actions.lookups()
    actions.io.unavailable.add(CAP_INCIDENT_UPDATES_CREATE)
    queued = actions.change(incident, status=lookups.status("Monitoring"), message="Watching")
    outcome = await actions.settle(queued, "moved")
    assert "incident edit" in outcome.message and "timeline note" in outcome.message
    assert (await actions.find(incident.id)).status.name == "Monitoring"
    assert any(w.data["title"] == "Watching" for w in sim_writes(demo, "timeline_item.create"))


async def test_a_forbidden_status_move_shows_the_apis_reason(world):
    _demo, actions = world
    incident = await declare(actions)
    lookups = await actions.lookups()
    await actions.close(incident, "bad cert", "rotated")
    incident = await actions.find(incident.id)
    assert incident.status.category == "learning"
    queued = actions.change(incident, status=lookups.status("Investigating"), message="oops")
    with pytest.raises(ActionError, match="cannot move from Documenting to Investigating"):
        await actions.settle(queued, "moved")
    queued = actions.change(incident, status=lookups.status("Fixing"))  # nothing typed
    with pytest.raises(ActionError, match="refused"):
        await actions.settle(queued, "moved")
    assert actions.outbox.get(queued.item.key).state == "dismissed"  # nothing to keep
    assert actions.outbox.held() == []  # a refused change, told at once, holds nothing


async def test_hand_over_and_page_someone_into_the_incident(world):
    _demo, actions = world
    incident = await declare(actions)
    users = await actions.io.list_users()
    ana = next(u for u in users if u.name == "Ana Souza")
    outcome = await actions.hand_over(incident, ana)
    assert outcome.message.startswith("Ana Souza now leads") and "was Robin" in outcome.message
    assert (await actions.find(incident.id)).lead.id == ana.id
    with pytest.raises(ActionError, match="already leads"):
        await actions.hand_over(await actions.find(incident.id), ana)
    outcome = await actions.page_into(incident, user_ids=[ana.id], names=ana.name)
    assert outcome.message == f"Paged Ana Souza into {incident.reference}."
    pages = await actions.io.list_escalations(None, incident_id=incident.id)
    assert len(pages) == 1 and incident.reference in pages[0].title


# ------------------------------------------------------------------ checklist, close


async def test_the_checklist_is_read_back_from_the_timeline(world):
    _demo, actions = world
    incident = await declare(actions)
    actions.tick(incident, "call")
    actions.tick(incident, "statuspage")
    actions.tick(incident, "call", done=False)
    pending = checklist_state(actions.entries(await actions.load_timeline(incident)))
    assert [s.pending for s in pending if s.item.id == "statuspage"] == [True]
    await deliver_all(actions)
    # Another person's dashboard, with an empty outbox, sees the same state.
    other = IncidentActions(actions.backends, None)
    states = {
        s.item.id: s for s in checklist_state(other.entries(await other.load_timeline(incident)))
    }
    assert states["statuspage"].done and not states["call"].done
    assert not any(states[i.id].done for i in CHECKLIST if i.id not in ("statuspage",))
    with pytest.raises(ActionError, match="No checklist item"):
        actions.tick(incident, "coffee")


async def test_close_posts_root_cause_and_fix_and_moves_on(world):
    demo, actions = world
    incident = await declare(actions)
    with pytest.raises(ActionError, match="give both"):
        await actions.close(incident, "bad cert", "  ")
    outcome = await actions.close(incident, "Expired certificate", "Rotated it; alert added")
    assert (
        outcome.message == f"{incident.reference} moved to Documenting; root cause and fix posted."
    )
    update = sim_writes(demo, "incident_update.create")[-1]
    assert "Root cause: Expired certificate" in update.data["message"]
    assert "Fix in place: Rotated it" in update.data["message"]
    incident = await actions.find(incident.id)
    # From post-incident, closing goes to closed.
    assert (await actions.lookups()).close_status(incident).category == "closed"


async def test_an_unknown_incident_is_a_clear_error(world):
    _demo, actions = world
    with pytest.raises(ActionError, match="No incident INC-99999"):
        await actions.find("INC-99999")
    with pytest.raises(ActionError, match="not an incident reference"):
        await actions.find("DROP TABLE")


# ----------------------------------------------------------------- list and export


async def test_the_list_puts_triage_and_live_before_post_incident(world):
    _demo, actions = world
    incidents = await actions.list_incidents()
    categories = [i.status.category for i in incidents]
    assert categories == sorted(
        categories, key=lambda c: ("triage", "live", "paused", "learning").index(c)
    )
    assert "learning" in categories
    assert sort_incidents(reversed(incidents)) == incidents


async def test_the_timeline_merges_pages_alerts_updates_and_exports_markdown(world):
    _demo, actions = world
    incidents = await actions.list_incidents()
    live = next(i for i in incidents if i.status.category == "live")
    data = await actions.load_timeline(live)
    kinds = {e.kind for e in actions.entries(data)}
    assert {"created", "update", "note", "page", "alert"} <= kinds
    actions.note(live, "# not a heading | [not](a link)")
    text = actions.markdown(data, tz="Europe/Berlin")
    assert text.startswith(f"# {live.reference}: ")
    assert "## What surprised us" in text and "## Timeline" in text
    assert "Times are in Europe/Berlin." in text
    assert "— # not a heading \\| \\[not\\](a link)" in text  # inert, mid-line
    assert "not sent yet" in text
    assert slack_url(live) and slack_url(live) in text


async def test_timeline_entries_keep_kinds_for_notes(world):
    _demo, actions = world
    incident = await declare(actions)
    actions.note(incident, "one")
    entries = actions.entries(await actions.load_timeline(incident))
    assert [e.kind for e in entries if e.text == "one"] == [TIMELINE_NOTE]


# ------------------------------------------------------------------ an honest timeline


async def test_the_timeline_orders_by_the_servers_time_names_authors_and_tells_each_change_once(
    world,
):
    """A machine whose clock is ten minutes slow writes the later note: it is still shown
    (and exported) after the earlier one; both name who wrote them, not the API key; the
    declared entry says the severity at declaration; each change is one entry."""
    from datetime import timedelta

    from oncall_tui.core import timefmt

    demo, actions = world
    incident = await declare(actions, severity="minor")
    lookups = await actions.lookups()
    first = actions.note(incident, "first, from a good clock")
    await deliver_all(actions)
    actions.clock = lambda: demo.world.now() - timedelta(minutes=10)  # a slow clock
    actions.note(incident, "second, from a slow clock")
    await deliver_all(actions)
    actions.clock = demo.world.now
    queued = actions.change(incident, severity=lookups.severity("Major"), message="worse")
    await actions.settle(queued, "moved")
    incident = await actions.find(incident.id)
    data = await actions.load_timeline(incident)
    entries = actions.entries(data)
    notes = [e for e in entries if e.kind == TIMELINE_NOTE and "clock" in e.text]
    assert [e.text for e in notes] == ["first, from a good clock", "second, from a slow clock"]
    assert {e.author for e in notes} == {"Robin Ahn"} and all(not e.detail for e in notes)
    assert entries[0].detail == "Severity: Minor"  # at declaration, not today's Major
    changes = [e for e in entries if "Major" in e.text]
    assert len(changes) == 1 and changes[0].text.endswith("Severity: Major (was Minor)")
    assert not any(e.text.startswith("Incident declared") for e in entries[1:])
    text = actions.markdown(data, tz=timefmt.UTC_ZONE)
    assert text.index("first, from a good clock") < text.index("second, from a slow clock")
    assert "Robin Ahn — first, from a good clock" in text
    assert actions.outbox.get(first.item.key).payload["author"] == "Robin Ahn"
