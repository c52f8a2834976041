"""Outbox items sent with the incident.io client, and re-routed when endpoints are missing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.backends.http import NetworkError
from oncall_tui.backends.incidentio import CapabilityUnavailable
from oncall_tui.core.outbox import (
    KIND_ALERT_NOTE,
    KIND_NOTE,
    KIND_UPDATE,
    OUTCOME_DELIVERED,
    OUTCOME_FAILED,
    OUTCOME_NEEDS_ATTENTION,
    OUTCOME_REROUTED,
    OUTCOME_RETRYING,
    ROUTE_FALLBACK,
    IncidentIoDelivery,
    Outbox,
    default_path,
    note_payload,
    update_payload,
)

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
        self.summary = "Checkout failing."
        self.alert_notes: list[Obj] = []
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
        self.calls.append(("timeline", incident_id, title, description, timestamp))
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

    async def get_incident(self, ref):
        self.calls.append(("get", ref))
        return Obj(ref, summary=self.summary)

    async def edit_incident(
        self,
        incident_id,
        *,
        summary=None,
        status_id=None,
        severity_id=None,
        notify_incident_channel=True,
    ):
        self.calls.append(("edit", incident_id, summary, status_id, severity_id))
        self._maybe_fail()
        if summary is not None:
            self.summary = summary
        return Obj(incident_id, summary=self.summary)

    async def list_alert_notes(self, alert_id):
        self.calls.append(("list_alert_notes", alert_id))
        return tuple(self.alert_notes)

    async def create_alert_note(self, alert_id, content):
        self.calls.append(("alert_note", alert_id, content))
        note = Obj(f"AN{len(self.alert_notes)}", content=content, created_at=T0)
        self.alert_notes.append(note)
        self._maybe_fail()
        return note


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3", clock=lambda: T0, rng=random.Random(1))
    yield box
    box.close()


async def deliver(outbox, api, now=T0):
    delivery = IncidentIoDelivery(api)
    return await outbox.deliver_due(delivery.send, now, fallback=delivery.fallback)


async def test_a_note_becomes_a_timeline_item_with_its_key(outbox):
    api = FakeIncidentIo()
    item = outbox.enqueue(
        KIND_NOTE, "01INC", note_payload("Rolled back 1234\nerror rate falling", at=T0)
    )
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_DELIVERED
    assert api.calls == [("timeline", "01INC", "Rolled back 1234", "error rate falling", T0)]
    assert outbox.get(item.key).remote_id == api.keys[item.key]


async def test_an_update_becomes_an_incident_update(outbox):
    api = FakeIncidentIo()
    payload = update_payload(at=T0, message="Fix deployed", status_id="ST3", status_name="M")
    outbox.enqueue(KIND_UPDATE, "01INC", payload)
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_DELIVERED
    assert api.calls == [("update", "01INC", "Fix deployed", "ST3", None)]


async def test_no_timeline_items_note_goes_as_an_incident_update(outbox):
    api = FakeIncidentIo(timeline=False)
    item = outbox.enqueue(KIND_NOTE, "01INC", note_payload("Rolled back", at=T0))
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_REROUTED
    stored = outbox.get(item.key)
    assert stored.route == ROUTE_FALLBACK and stored.remote_id == api.keys[item.key]
    assert "posted as an incident update" in stored.status_text
    assert "does not offer timeline notes" in stored.status_text
    assert [c[0] for c in api.calls] == ["timeline", "update"]


async def test_neither_endpoint_note_goes_into_the_summary_once(outbox):
    api = FakeIncidentIo(timeline=False, updates=False)
    item = outbox.enqueue(KIND_NOTE, "01INC", note_payload("Rolled back", at=T0))
    api.fail_next = [NetworkError("down")]  # the summary edit fails once…
    [first] = await deliver(outbox, api)
    assert first.outcome == OUTCOME_RETRYING
    [second] = await deliver(outbox, api, T0 + timedelta(hours=1))  # …and is retried
    assert second.outcome == OUTCOME_REROUTED
    assert api.summary == "Checkout failing.\n\n[2026-03-04 14:02 UTC, note] Rolled back"
    assert "incident summary" in outbox.get(item.key).status_text
    # a third attempt (say, after a crash before it was recorded) adds nothing
    delivery = IncidentIoDelivery(api)
    await delivery.fallback(outbox.get(item.key), CapabilityUnavailable("x", "gone"))
    assert api.summary.count("Rolled back") == 1


async def test_no_incident_updates_update_is_an_edit_plus_summary(outbox):
    api = FakeIncidentIo(updates=False)
    payload = update_payload(at=T0, message="Mitigated", status_id="ST3", severity_id="SV1")
    item = outbox.enqueue(KIND_UPDATE, "01INC", payload)
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_REROUTED
    edits = [c for c in api.calls if c[0] == "edit"]
    assert edits[0] == ("edit", "01INC", None, "ST3", "SV1")
    assert api.summary.endswith("[2026-03-04 14:02 UTC, update] Mitigated")
    assert "the message was added to the summary" in outbox.get(item.key).status_text


async def test_alert_notes_are_not_repeated_after_a_lost_answer(outbox):
    api = FakeIncidentIo()
    item = outbox.enqueue(KIND_ALERT_NOTE, "ALERT1", {"text": "looking at it"})
    api.fail_next = [NetworkError("connection reset")]  # made, but the answer was lost
    [first] = await deliver(outbox, api)
    assert first.outcome == OUTCOME_RETRYING
    [second] = await deliver(outbox, api, T0 + timedelta(hours=1))
    assert second.outcome == OUTCOME_DELIVERED
    assert len(api.alert_notes) == 1
    assert outbox.get(item.key).remote_id == "AN0"


async def test_an_unknown_kind_is_refused_and_kept(outbox):
    item = outbox.enqueue("poll", "01INC", {"question": "?"})
    [result] = await deliver(outbox, FakeIncidentIo())
    assert result.outcome == OUTCOME_FAILED
    assert "cannot send" in outbox.get(item.key).last_error


async def test_alert_notes_have_no_fallback(outbox):
    api = FakeIncidentIo()

    async def missing(alert_id, content):
        raise CapabilityUnavailable("alert_notes", "no alert notes")

    api.create_alert_note = missing
    outbox.enqueue(KIND_ALERT_NOTE, "ALERT1", {"text": "x"})
    [result] = await deliver(outbox, api)
    assert result.outcome == OUTCOME_NEEDS_ATTENTION


def test_default_path_is_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "oncall-tui" / "outbox.sqlite3"


def test_long_titles_are_shortened_and_the_whole_text_kept():
    box = Outbox(":memory:")
    item = box.enqueue(KIND_NOTE, "01INC", note_payload("x" * 400, at=T0))
    title, description = IncidentIoDelivery._note_parts(item)
    assert len(title) == 250 and title.endswith("…")
    assert description == "x" * 400
    box.close()
