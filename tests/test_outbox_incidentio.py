"""Outbox items sent by the one incident.io sender (:meth:`IncidentActions.send`), and
re-routed by its fallback (:meth:`IncidentActions.reroute`) when endpoints are missing.

These are the functions the dashboard and the command line run."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.backends.http import NetworkError
from oncall_tui.backends.incidentio import CapabilityUnavailable
from oncall_tui.config import Settings
from oncall_tui.core.incidents import IncidentActions
from oncall_tui.core.outbox import (
    KIND_NOTE,
    KIND_UPDATE,
    OUTCOME_DELIVERED,
    OUTCOME_FAILED,
    OUTCOME_NEEDS_ATTENTION,
    OUTCOME_REROUTED,
    OUTCOME_RETRYING,
    ROUTE_FALLBACK,
    Outbox,
    default_path,
    note_payload,
    update_payload,
)
from oncall_tui.core.sources import Backends

T0 = datetime(2026, 3, 4, 14, 2, tzinfo=UTC)


@dataclass
class Obj:
    id: str
    content: str = ""
    created_at: datetime = T0
    summary: str = ""


class FakeIncidentIo:
    """Records calls like the client's methods; endpoints can be switched off."""

    def __init__(self, *, timeline=True, updates=True) -> None:
        self.timeline, self.updates = timeline, updates
        self.calls: list[tuple] = []
        self.keys: dict[str, str] = {}
        self.fail_next: list[BaseException] = []

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    def _keyed(self, key: str) -> str:
        return self.keys.setdefault(key, f"ID{len(self.keys)}")

    async def create_timeline_item(
        self, incident_id, *, title, description, timestamp, idempotency_key
    ):
        self.calls.append(("timeline", incident_id, title, description, idempotency_key))
        if not self.timeline:
            raise CapabilityUnavailable("incident_timeline_items", "no timeline items here")
        self._maybe_fail()
        return Obj(self._keyed(idempotency_key))

    async def create_incident_update(
        self, incident_id, *, message=None, status_id=None, severity_id=None, idempotency_key
    ):
        self.calls.append(("update", incident_id, message, status_id, severity_id))
        if not self.updates:
            raise CapabilityUnavailable("incident_updates.create", "no incident updates here")
        self._maybe_fail()
        return Obj(self._keyed(idempotency_key))

    async def edit_incident(self, incident_id, *, status_id=None, severity_id=None):
        self.calls.append(("edit", incident_id, status_id, severity_id))
        self._maybe_fail()
        return Obj(incident_id)


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3", clock=lambda: T0, rng=random.Random(1))
    yield box
    box.close()


def sender(outbox, api) -> IncidentActions:
    backends = Backends(settings=Settings(), incidentio=api)  # type: ignore[arg-type]
    return IncidentActions(backends, outbox, clock=lambda: T0)


async def deliver(outbox, api, now=T0):
    actions = sender(outbox, api)
    return await outbox.deliver_due(actions.send, now, fallback=actions.reroute)


async def test_a_note_becomes_a_timeline_item_with_its_key(outbox):
    api = FakeIncidentIo()
    item = outbox.enqueue(
        KIND_NOTE, "01INC", note_payload("Rolled back 1234\nerror rate falling", at=T0)
    )
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_DELIVERED
    assert api.calls == [("timeline", "01INC", "Rolled back 1234", "error rate falling", item.key)]
    assert outbox.get(item.key).remote_id == api.keys[item.key]


async def test_an_update_becomes_an_incident_update(outbox):
    api = FakeIncidentIo()
    payload = update_payload(at=T0, message="Fix deployed", status_id="ST3", status_name="M")
    outbox.enqueue(KIND_UPDATE, "01INC", payload)
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_DELIVERED
    assert api.calls == [("update", "01INC", "Fix deployed", "ST3", None)]


async def test_a_lost_answer_is_resent_with_the_same_key(outbox):
    api = FakeIncidentIo()
    item = outbox.enqueue(KIND_NOTE, "01INC", note_payload("Rolled back", at=T0))
    api.fail_next = [NetworkError("connection reset")]
    [first] = await deliver(outbox, api)
    assert first.outcome == OUTCOME_RETRYING
    [second] = await deliver(outbox, api, T0 + timedelta(hours=1))
    assert second.outcome == OUTCOME_DELIVERED
    assert [c[4] for c in api.calls] == [item.key, item.key]


async def test_no_timeline_items_note_goes_as_an_incident_update(outbox):
    api = FakeIncidentIo(timeline=False)
    item = outbox.enqueue(KIND_NOTE, "01INC", note_payload("Rolled back", at=T0))
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_REROUTED
    stored = outbox.get(item.key)
    assert stored.route == ROUTE_FALLBACK and stored.remote_id == api.keys[item.key]
    assert "posted as an incident update" in stored.status_text
    assert "no timeline notes API" in stored.status_text
    assert [c[0] for c in api.calls] == ["timeline", "update"]
    assert api.calls[1][2] == "Rolled back"


async def test_neither_endpoint_the_note_waits_for_the_user(outbox):
    api = FakeIncidentIo(timeline=False, updates=False)
    item = outbox.enqueue(KIND_NOTE, "01INC", note_payload("Rolled back", at=T0))
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_NEEDS_ATTENTION
    stored = outbox.get(item.key)
    assert "neither the usual endpoint nor the fallback" in stored.last_error
    assert stored.payload["text"] == "Rolled back"


async def test_no_incident_updates_a_message_alone_becomes_a_note(outbox):
    api = FakeIncidentIo(updates=False)
    item = outbox.enqueue(KIND_UPDATE, "01INC", update_payload(at=T0, message="Watching"))
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_REROUTED
    assert api.calls[-1][:3] == ("timeline", "01INC", "Watching")
    assert "added as a timeline note" in outbox.get(item.key).status_text


async def test_no_incident_updates_a_change_is_an_edit_plus_a_note(outbox):
    api = FakeIncidentIo(updates=False)
    payload = update_payload(at=T0, message="Mitigated", status_id="ST3", severity_id="SV1")
    item = outbox.enqueue(KIND_UPDATE, "01INC", payload)
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_REROUTED
    assert ("edit", "01INC", "ST3", "SV1") in api.calls
    note = [c for c in api.calls if c[0] == "timeline"][-1]
    assert note[2] == "Mitigated" and note[4] == f"{item.key}:message"
    assert "the message was added as a timeline note" in outbox.get(item.key).status_text


async def test_no_updates_and_no_notes_a_change_says_where_the_message_is(outbox):
    api = FakeIncidentIo(updates=False, timeline=False)
    payload = update_payload(at=T0, message="Mitigated", status_id="ST3")
    item = outbox.enqueue(KIND_UPDATE, "01INC", payload)
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_REROUTED
    assert ("edit", "01INC", "ST3", None) in api.calls
    assert "could not be posted" in outbox.get(item.key).status_text
    assert outbox.path in outbox.get(item.key).status_text


async def test_an_unknown_kind_is_refused_and_kept(outbox):
    item = outbox.enqueue("poll", "01INC", {"question": "?"})
    [result] = await deliver(outbox, FakeIncidentIo())
    assert result.outcome == OUTCOME_FAILED
    assert "cannot send" in outbox.get(item.key).last_error


def test_default_path_is_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "oncall-tui" / "outbox.sqlite3"


async def test_the_whole_text_is_sent_under_its_first_line(outbox):
    api = FakeIncidentIo()
    text = "x" * 400 + "\nsecond"
    outbox.enqueue(KIND_NOTE, "01INC", note_payload(text, at=T0, title="x" * 9 + "…"))
    await deliver(outbox, api)
    [(_, _, title, description, _)] = api.calls
    assert title == "x" * 9 + "…"
    assert description == "x" * 400 + "\nsecond"
