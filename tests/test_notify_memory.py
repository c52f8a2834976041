"""The notification memory never stops the app: a damaged file is ignored, a directory
that cannot be written is logged and left, and old keys are forgotten."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta

import pytest

from oncall_tui.core.notify import (
    KEEP_FOR,
    KIND_REMINDER,
    KIND_WATCH,
    Notice,
    NoticeMemory,
    Notifier,
    Rules,
    below_minimum,
)

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def test_a_damaged_file_is_ignored_and_replaced(tmp_path):
    path = tmp_path / "notified.json"
    path.write_bytes(b"\x00not json{")
    memory = NoticeMemory(path)
    assert not memory.seen("page:1") and memory.quiet_until is None
    memory.remember(["page:1"], NOW)
    assert NoticeMemory(path).seen("page:1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_directory_that_cannot_be_written_is_left_alone(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    memory = NoticeMemory(locked / "notified.json")
    memory.remember(["page:1"], NOW)  # no exception
    assert memory.seen("page:1")  # still remembered for this run
    assert not memory.save()


def test_a_file_in_place_of_the_directory_is_survived(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be")
    memory = NoticeMemory(blocker / "notified.json")
    memory.remember(["page:1"], NOW)
    memory.set_quiet(NOW + timedelta(hours=1))
    assert memory.seen("page:1") and not memory.save()


def test_keys_older_than_two_weeks_are_forgotten(tmp_path):
    memory = NoticeMemory(tmp_path / "notified.json")
    memory.remember(["page:old"], NOW - KEEP_FOR - timedelta(hours=1))
    memory.remember(["page:new"], NOW)
    again = NoticeMemory(tmp_path / "notified.json")
    assert again.seen("page:new") and not again.seen("page:old")


@pytest.mark.parametrize(
    ("severity", "minimum", "below"),
    [
        ("warning", "major", True),
        ("critical", "major", False),
        ("major", "major", False),
        ("", "critical", False),  # no severity: never held back by the minimum
        ("sev-unknown", "critical", False),
        ("info", "", False),
    ],
)
def test_the_minimum_severity(severity, minimum, below):
    assert below_minimum(severity, minimum) is below


def test_the_rule_in_words():
    assert Rules(min_severity="major").for_pages() == (
        "new pages of major and above (or with no severity) while you are on call"
    )
    assert Rules(min_severity="critical", only_on_call=False).for_pages() == (
        "new pages of critical (or with no severity)"
    )
    assert Rules().for_pages() == "every new page while you are on call"


class Sink:
    def __init__(self) -> None:
        self.toasts: list[tuple[str, str]] = []
        self.bells = 0

    def toast(self, title: str, text: str, level: str, timeout: float) -> None:
        self.toasts.append((title, text))

    def bell(self) -> None:
        self.bells += 1


def test_quiet_holds_shift_reminders_and_watches_too(tmp_path):
    """Every notice goes the one way: a reminder (or a watch) while quiet toasts, says
    why, and neither rings nor reaches the desktop; once quiet ends it rings."""
    now = [NOW]
    sent: list[tuple[str, str]] = []
    sink = Sink()
    notifier = Notifier(
        Rules(bell=True, desktop=True),
        NoticeMemory(tmp_path / "notified.json"),
        clock=lambda: now[0],
        zone="UTC",
        sink=sink,
        send_desktop=lambda title, body: sent.append((title, body)) or True,
    )
    notifier.start_quiet(timedelta(hours=1))
    reminder = Notice(KIND_REMINDER, "reminder:1", "Shift ending", "Your shift ends at 11:00.")
    watch = Notice(KIND_WATCH, "watch:1", "Watched", "“Disk full” resolved.")
    [r, w] = notifier.send([reminder, watch])
    assert (r.bell, r.desktop, w.bell, w.desktop) == (False, False, False, False)
    assert sink.toasts == [
        (
            "Shift ending",
            "Your shift ends at 11:00. (no bell or desktop notification: quiet until 11:00)",
        ),
        ("Watched", "“Disk full” resolved. (no bell or desktop notification: quiet until 11:00)"),
    ]
    assert sink.bells == 0 and sent == []
    now[0] = NOW + timedelta(hours=1, minutes=1)
    notifier.send([Notice(KIND_REMINDER, "reminder:2", "Shift starting", "Starts at 12:00.")])
    assert sink.bells == 1
    assert sent == [("oncall-tui: shift reminder", "Starts at 12:00.")]
    # The same key again: nothing at all.
    notifier.send([Notice(KIND_REMINDER, "reminder:2", "Shift starting", "Starts at 12:00.")])
    assert sink.bells == 1 and len(sink.toasts) == 3
