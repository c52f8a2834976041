"""The merged incident timeline and its markdown export (golden files)."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from oncall_tui.core.outbox import (
    KIND_NOTE,
    KIND_UPDATE,
    STATE_DELIVERED,
    STATE_DISMISSED,
    STATE_FAILED,
    STATE_PENDING,
    OutboxItem,
    note_payload,
    update_payload,
)
from oncall_tui.core.timeline import (
    md_escape,
    merge_timeline,
    resolution_time,
    timeline_markdown,
)
from oncall_tui.domain import (
    TIMELINE_ALERT,
    TIMELINE_CREATED,
    TIMELINE_NOTE,
    TIMELINE_PAGE,
    TIMELINE_ROLE,
    TIMELINE_UPDATE,
    Alert,
    Incident,
    IncidentRole,
    IncidentStatus,
    IncidentType,
    IncidentUpdate,
    Page,
    PageEvent,
    RoleAssignment,
    RoleChange,
    Severity,
    TimelineItem,
    User,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"

T0 = datetime(2026, 3, 4, 13, 58, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


ANA = User("U1", "Ana Silva", "ana@example.com")
BO = User("U2", "Bo Chen")
CY = User("U3", "Cy | Ops")

INVESTIGATING = IncidentStatus("ST1", "Investigating", "live", 1)
FIXING = IncidentStatus("ST2", "Fixing", "live", 2)
MONITORING = IncidentStatus("ST3", "Monitoring", "live", 3)
POST = IncidentStatus("ST4", "Documenting", "learning", 4)
CLOSED = IncidentStatus("ST5", "Closed", "closed", 5)
MINOR = Severity("SV1", "Minor", 1)
MAJOR = Severity("SV2", "Major", 2)
LEAD = IncidentRole("R1", "Incident Lead", "lead", "lead")

INCIDENT = Incident(
    id="01INC",
    reference="INC-42",
    name="Payments API | returning *500s*",
    status=FIXING,
    created_at=T0,
    updated_at=at(40),
    summary="# Not a heading\nCheckout fails for ~30% of users.\n- not a list item",
    severity=MAJOR,
    type=IncidentType("T1", "Default"),
    permalink="https://app.incident.io/acme/incidents/42",
    call_url="https://meet.example.com/abc-defg-hij",
    slack_channel_id="C042",
    slack_channel_name="inc-42-payments",
    roles=(RoleAssignment(LEAD, BO),),
    creator="Ana Silva",
)

UPDATES = (
    IncidentUpdate("UP1", "01INC", at(0), INVESTIGATING, MINOR, "Declared from an alert.", "Ana"),
    IncidentUpdate("UP2", "01INC", at(9), INVESTIGATING, MAJOR, "Error rate at 30%.", "Ana"),
    IncidentUpdate(
        "UP3",
        "01INC",
        at(21),
        FIXING,
        MAJOR,
        "Rolling back **deploy 1234**.\n## Next\n1. watch the graph\n| a | b |",
        "Bo Chen",
    ),
    IncidentUpdate("UPX", "01OTHER", at(22), CLOSED, None, "another incident", "Zed"),
)

ITEMS = (
    TimelineItem(
        "TL1",
        "01INC",
        at(12),
        "# rollback started",
        "see [the runbook](javascript:alert(1)) <script>x</script>\n```\ncode fence\n```",
        "Bo Chen",
    ),
    TimelineItem("TL2", "01INC", at(12), "second note, same minute", "", "Cy | Ops"),
    TimelineItem("TL3", "01INC", at(30), "Payments \x1b[31mrecovering\x1b[0m", "", "Ana"),
    TimelineItem("TLX", "01OTHER", at(31), "belongs elsewhere", "", "Zed"),
)

PAGE = Page(
    id="P1",
    title="Payments error rate",
    status="acked",
    created_at=at(-3),
    updated_at=at(-1),
    events=(
        PageEvent("E2", "notified_users", at(-3), users=(ANA,)),
        PageEvent("E1", "triggered", at(-3)),
        PageEvent("E3", "acked", at(-1), users=(ANA,)),
        PageEvent("E4", "future_event_kind", at(2)),
    ),
    creator="Alertmanager",
)

ALERT = Alert(
    key="grafana:prod:abc",
    id="abc",
    source="grafana",
    instance="prod",
    title="HighErrorRate [payments]",
    state="resolved",
    severity="critical",
    started_at=at(-4),
    resolved_at=at(33),
)

ROLES = (
    RoleChange(at(1), "Incident Lead", ANA, None, "Ana Silva", "RC1"),
    RoleChange(at(15), "Incident Lead", BO, ANA, "Ana Silva", "RC2"),
    RoleChange(at(16), "Scribe", None, CY, "Bo Chen", "RC3"),
)


def local(
    key: str,
    kind: str,
    payload: dict,
    state: str = STATE_PENDING,
    remote_id: str | None = None,
    target: str = "01INC",
) -> OutboxItem:
    return OutboxItem(
        id=len(key),
        key=key,
        kind=kind,
        target=target,
        payload=payload,
        created_at=at(35),
        state=state,
        remote_id=remote_id,
    )


LOCAL = (
    # delivered and already listed by the server: shown once, as the server's copy
    local("k-delivered", KIND_NOTE, note_payload("x", at=at(30)), STATE_DELIVERED, "TL3"),
    # delivered but not yet listed: shown, not pending
    local("k-sent", KIND_NOTE, note_payload("Sent, not polled yet", at=at(36)), STATE_DELIVERED),
    # typed while the API was down
    local(
        "k-pending",
        KIND_NOTE,
        note_payload("| tried restarting pods\n> still failing\n2) next step", at=at(37)),
    ),
    local(
        "k-update",
        KIND_UPDATE,
        update_payload(
            at=at(38), message="Monitoring now", status_id="ST3", status_name="Monitoring"
        ),
    ),
    local("k-failed", KIND_NOTE, note_payload("too long", at=at(39)), STATE_FAILED),
    local("k-dismissed", KIND_NOTE, note_payload("gone", at=at(39)), STATE_DISMISSED),
    local("k-other", KIND_NOTE, note_payload("other incident", at=at(39)), target="01OTHER"),
    local("k-alert", "alert_note", {"text": "a kind this timeline does not show"}),
)


def full_timeline():
    return merge_timeline(INCIDENT, UPDATES, ITEMS, [PAGE], [ALERT], ROLES, LOCAL, me="Bo Chen")


# ------------------------------------------------------------------- merge


def test_entries_are_time_ordered_and_complete():
    entries = full_timeline()
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    kinds = {e.kind for e in entries}
    assert kinds == {
        TIMELINE_CREATED,
        TIMELINE_UPDATE,
        TIMELINE_NOTE,
        TIMELINE_PAGE,
        TIMELINE_ALERT,
        TIMELINE_ROLE,
    }
    texts = [e.text for e in entries]
    assert "belongs elsewhere" not in texts and "another incident" not in texts
    assert not any(e.author == "Zed" for e in entries)


def test_equal_times_keep_a_stable_order():
    entries = full_timeline()
    same = [e.text for e in entries if e.at == at(12)]
    assert same == ["# rollback started", "second note, same minute"]
    first = [e.kind for e in entries if e.at == at(0)]
    assert first == [TIMELINE_CREATED, TIMELINE_UPDATE]
    # the page events at the same instant keep their recorded order after sorting by time
    paged = [e.text for e in entries if e.at == at(-3)]
    assert paged == ["Paged Ana Silva: Payments error rate", "Page triggered: Payments error rate"]


def test_updates_say_what_changed():
    texts = {e.ref: e for e in full_timeline() if e.kind == TIMELINE_UPDATE}
    assert texts["UP1"].text == "Status: Investigating; Severity: Minor"
    assert texts["UP2"].text == "Severity: Major (was Minor)"
    assert texts["UP3"].text == "Status: Fixing (was Investigating)"
    assert texts["UP3"].author == "Bo Chen"
    assert texts["UP3"].detail.startswith("Rolling back **deploy 1234**.")
    plain = IncidentUpdate("UP9", "01INC", at(50), FIXING, MAJOR, "still fixing")
    [entry] = [e for e in merge_timeline(INCIDENT, (*UPDATES, plain)) if e.ref == "UP9"]
    assert entry.text == "Update" and entry.detail == "still fixing"


def test_pages_alerts_and_roles_in_words():
    entries = full_timeline()
    text = [e.text for e in entries]
    assert "Ana Silva acknowledged the page: Payments error rate" in text
    assert "Page future event kind: Payments error rate" in text
    assert "Alert firing: HighErrorRate [payments]" in text
    assert "Alert resolved: HighErrorRate [payments]" in text
    assert "Ana Silva is now Incident Lead" in text
    assert "Bo Chen is now Incident Lead (was Ana Silva)" in text
    assert "Scribe is unassigned (was Cy | Ops)" in text


def test_local_writes_pending_until_the_server_has_them():
    entries = full_timeline()
    by_ref = {e.ref: e for e in entries}
    assert "k-delivered" not in by_ref  # the server's TL3 stands for it
    assert [e.ref for e in entries].count("TL3") == 1
    assert by_ref["k-sent"].pending is False and by_ref["k-sent"].state == STATE_DELIVERED
    pending = by_ref["k-pending"]
    assert pending.pending and pending.state == STATE_PENDING and pending.author == "Bo Chen"
    assert pending.at == at(37)  # when it was typed, not when it will be sent
    assert pending.text == "| tried restarting pods"
    assert pending.detail == "> still failing\n2) next step"
    update = by_ref["k-update"]
    assert update.kind == TIMELINE_UPDATE and update.text == "Status: Monitoring"
    assert update.detail == "Monitoring now"
    assert by_ref["k-failed"].state == STATE_FAILED and by_ref["k-failed"].pending
    for gone in ("k-dismissed", "k-other", "k-alert"):
        assert gone not in by_ref


def test_a_note_the_server_lists_replaces_the_local_copy():
    pending = local("k1", KIND_NOTE, note_payload("new note", at=at(50)))
    before = merge_timeline(INCIDENT, items=ITEMS, pending_notes=[pending])
    assert [e.ref for e in before if e.text == "new note"] == ["k1"]
    delivered = replace(pending, state=STATE_DELIVERED, remote_id="TL9")
    server_copy = TimelineItem("TL9", "01INC", at(50), "new note", "", "Bo Chen")
    after = merge_timeline(INCIDENT, items=(*ITEMS, server_copy), pending_notes=[delivered])
    assert [e.ref for e in after if e.text == "new note"] == ["TL9"]
    # a note delivered as an incident update (fallback) is matched against updates too
    as_update = IncidentUpdate("UP9", "01INC", at(50), FIXING, MAJOR, "new note", "Bo")
    rerouted = replace(pending, state=STATE_DELIVERED, remote_id="UP9")
    merged = merge_timeline(INCIDENT, (*UPDATES, as_update), pending_notes=[rerouted])
    assert [e.ref for e in merged if "new note" in (e.text + e.detail)] == ["UP9"]


def test_api_text_is_cleaned():
    entries = full_timeline()
    [entry] = [e for e in entries if e.ref == "TL3"]
    assert entry.text == "Payments recovering"
    for e in entries:
        assert "\x1b" not in e.text + e.detail + e.author


def test_a_page_without_events_still_shows():
    bare = Page("P2", "Disk full", "triggered", at(5), at(5), creator="Grafana")
    [entry] = [e for e in merge_timeline(INCIDENT, pages=[bare]) if e.kind == TIMELINE_PAGE]
    assert entry.text == "Page triggered: Disk full" and entry.author == "Grafana"


def test_resolution_time():
    closed = replace(INCIDENT, status=CLOSED)
    ups = (
        *UPDATES[:3],
        IncidentUpdate("UP4", "01INC", at(45), POST, MAJOR),
        IncidentUpdate("UP5", "01INC", at(70), CLOSED, MAJOR),
    )
    assert resolution_time(closed, ups) == at(45)
    assert resolution_time(INCIDENT, ups) is None  # still open
    reopened = (*ups, IncidentUpdate("UP6", "01INC", at(80), FIXING, MAJOR))
    reclosed = (*reopened, IncidentUpdate("UP7", "01INC", at(95), CLOSED, MAJOR))
    assert resolution_time(closed, reclosed) == at(95)
    assert resolution_time(closed, ()) is None


# ---------------------------------------------------------------- markdown


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE_GOLDEN:
            pytest.fail(f"{name} did not exist; written, check it and run again")
    assert text == path.read_text(encoding="utf-8")


def open_markdown() -> str:
    return timeline_markdown(
        INCIDENT,
        full_timeline(),
        tz="Europe/Berlin",
        now=at(41),
        links={
            "Slack channel": "https://acme.slack.com/archives/C042",
            "Dashboard | main": "https://grafana.example.com/d/pay?from=now-1h&to=now",
            "Runbook": "javascript:alert(1)",
        },
    )


def closed_markdown() -> str:
    closed = replace(
        INCIDENT,
        status=CLOSED,
        summary="",
        call_url=None,
        slack_channel_name=None,
        roles=(),
        type=None,
    )
    ups = (*UPDATES[:3], IncidentUpdate("UP4", "01INC", at(63), CLOSED, MAJOR, "", "Bo Chen"))
    entries = merge_timeline(closed, ups, ITEMS[:2], alerts=[ALERT])
    return timeline_markdown(
        closed, entries, tz="UTC", now=at(60 * 24), resolved_at=resolution_time(closed, ups)
    )


def test_golden_open_incident():
    check_golden("timeline_open.md", open_markdown())


def test_golden_closed_incident():
    check_golden("timeline_closed.md", closed_markdown())


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough")


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


@pytest.mark.parametrize("render", [open_markdown, closed_markdown])
def test_api_text_cannot_break_the_structure(render):
    text = render()
    tokens = list(_walk(_parser().parse(text)))
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    # only the headings we write: title, summary, timeline, one per day, the template
    assert headings[0].startswith("INC-42: Payments API")
    assert set(headings[1:]) <= {
        "Summary",
        "Timeline",
        "Wed 4 Mar 2026",
        "What surprised us",
        "What went well",
        "Follow-ups",
    }
    assert sum(t.type == "table_open" for t in tokens) == 1
    assert not [t for t in tokens if t.type in ("html_block", "html_inline", "fence", "hr")]
    # emphasis only where we put it: bold times, the italic prompts of the template
    strong = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "strong_open"]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d (CET|UTC)", s) for s in strong)
    em = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "em_open"]
    assert em == [
        "What did we not expect? What made it harder to notice, understand or fix?",
        "What should we keep doing?",
        "Action, owner, due date",
    ]
    assert not [t for t in tokens if t.type in ("s_open", "code_inline", "image")]
    links = [t.attrs.get("href") for t in tokens if t.type == "link_open"]
    assert all(str(h).startswith("https://") for h in links)
    # one table, two columns per row, whatever the names contain
    cells_per_row: list[int] = []
    for t in tokens:
        if t.type == "tr_open":
            cells_per_row.append(0)
        elif t.type in ("td_open", "th_open"):
            cells_per_row[-1] += 1
    assert cells_per_row and set(cells_per_row) == {2}
    # one list item per timeline entry (+ the follow-up prompt): no list smuggled in
    items = sum(t.type == "list_item_open" for t in tokens)
    assert items == text.count("\n- **") + 1


def test_header_facts_of_an_open_incident():
    text = open_markdown()
    assert "| Duration | 41m so far (open at export) |" in text
    assert "| Lead | Bo Chen |" in text
    assert "| Slack channel | #inc-42-payments <https://acme.slack.com/archives/C042> |" in text
    assert "| Runbook | (not linked: refused: javascript links are never opened" in text
    assert "Times are in Europe/Berlin." in text
    assert "14:58:00 CET" in text  # 13:58 UTC in Berlin in March


def test_header_facts_of_a_closed_incident():
    text = closed_markdown()
    assert "| Duration | 1h 3m (until Wed 4 Mar 2026 15:01:00 UTC) |" in text
    assert "| Lead | nobody |" in text
    assert "| Call | — |" in text


def test_empty_timeline():
    text = timeline_markdown(INCIDENT, [], tz=None, now=at(1))
    assert "Nothing recorded yet." in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a | b", "a \\| b"),
        ("[x](y)", "\\[x\\](y)"),
        ("<b>", "\\<b\\>"),
        ("*em* _u_ `c` ~s~", "\\*em\\* \\_u\\_ \\`c\\` \\~s\\~"),
        ("back\\slash", "back\\\\slash"),
        ("a &amp; b", "a \\&amp; b"),
        ("line\nbreak", "line break"),
    ],
)
def test_md_escape(raw, escaped):
    assert md_escape(raw) == escaped
