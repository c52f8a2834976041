"""``oncall-tui unavailable``, ``overrides`` and ``doctor`` on the demo world.

Time is fixed with time-machine at Tuesday 24 November 2026, 10:00 UTC (it keeps
ticking, so timeouts work); the display zone is UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine

from oncall_tui.backends.http import AuthError
from oncall_tui.backends.incidentio import IncidentIoClient
from oncall_tui.cli.main import main

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    with time_machine.travel(NOW, tick=True):
        yield


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_unavailable_dry_run_prints_the_plan_and_changes_nothing(capsys):
    code, out, err = run(
        capsys, "unavailable", "--demo", "--from", "tomorrow", "--to", "tomorrow", "--dry-run"
    )
    assert code == 0, err
    assert "Times in UTC." in out
    assert "Mark you unavailable Wed 00:00–24:00 UTC: 2 overrides." in out
    assert "no one will be paged for this layer" in out
    assert "Dry run: nothing was changed." in out


def test_unavailable_applies_and_says_who_is_on_instead(capsys):
    code, out, err = run(
        capsys,
        "unavailable",
        "--demo",
        "--yes",
        "--from",
        "2026-11-25T08:00",
        "--to",
        "2026-11-25T17:00",
        "--schedule",
        "On call: Payments",
    )
    assert code == 0, err
    assert "Made 1 override." in out
    assert (
        "No one is on call for On call: Payments — Robin (working hours) "
        "from Wed 08:00 UTC until 17:00 UTC"
    ) in out
    assert "To undo: oncall-tui overrides remove ID (ids: " in out


def test_cover_by_a_colleague(capsys):
    code, out, err = run(
        capsys,
        "unavailable",
        "--demo",
        "--yes",
        "--from",
        "wed 08:00",
        "--to",
        "wed 17:00",
        "--schedule",
        "On call: Payments",
        "--cover",
        "ana.souza@example.com",
    )
    assert code == 0, err
    assert "Ask Ana Souza to cover you Wed 08:00–17:00 UTC: 1 override." in out
    assert "Ana Souza is on call for On call: Payments — Robin (working hours) instead" in out


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("2026-11-20", "2026-11-21", "That range is over"),
        ("2026-11-27", "2026-11-26", "--to (Fri 00:00 UTC) is not after --from (Fri 00:00 UTC)"),
        ("2026-11-27T10:00", "2026-11-26T10:00", "is not after --from"),
        ("2026-11-25", "2027-06-01", "plan at most 90 days"),
        ("next week-ish", "tomorrow", "cannot read 'next week-ish'"),
    ],
)
def test_bad_ranges_exit_2_with_the_reason(capsys, start, end, words):
    code, _out, err = run(capsys, "unavailable", "--demo", "--yes", "--from", start, "--to", end)
    assert code == 2
    assert words in err


def test_unknown_colleague_and_schedule_exit_2(capsys):
    code, _, err = run(
        capsys,
        "unavailable",
        "--demo",
        "--yes",
        "--from",
        "tomorrow",
        "--to",
        "tomorrow",
        "--cover",
        "ghost@example.com",
    )
    assert code == 2 and "No incident.io user has the email ghost@example.com" in err
    code, _, err = run(
        capsys,
        "unavailable",
        "--demo",
        "--yes",
        "--from",
        "tomorrow",
        "--to",
        "tomorrow",
        "--schedule",
        "Billing",
    )
    assert code == 2 and "No schedule is called 'Billing'" in err


def test_readonly_refuses(capsys):
    code, _, err = run(
        capsys, "--readonly", "unavailable", "--demo", "--from", "tomorrow", "--to", "tomorrow"
    )
    assert code == 2 and "Read-only" in err
    code, _, err = run(capsys, "--readonly", "overrides", "remove", "01ABC", "--demo")
    assert code == 2 and "Read-only" in err


def test_partial_failure_exits_1_and_prints_the_undo(capsys, monkeypatch):
    real = IncidentIoClient.create_override
    calls = {"n": 0}

    async def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise AuthError("incident.io refused: the key lacks the role", source="incident.io")
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(IncidentIoClient, "create_override", flaky)
    code, _out, err = run(
        capsys, "unavailable", "--demo", "--yes", "--from", "tomorrow", "--to", "tomorrow"
    )
    assert code == 1
    assert "Stopped after 1 of 2 overrides" in err
    assert "Made so far:" in err
    assert "Undo: delete 1 override already made" in err
    assert "  oncall-tui overrides remove 01" in err


def test_overrides_listing_and_remove_unknown(capsys):
    code, out, _ = run(capsys, "overrides", "--demo")
    assert code == 0 and "You have no upcoming overrides." in out
    code, out, _ = run(capsys, "overrides", "--demo", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = run(capsys, "overrides", "remove", "01NOPE", "--demo", "--yes")
    assert code == 2 and "None of your upcoming overrides has the id '01NOPE' (yours: none)" in err


def test_doctor_on_the_demo_world(capsys):
    code, out, err = run(capsys, "doctor", "--demo")
    assert code == 0, out + err
    lines = out.splitlines()
    assert any(line.startswith("PASS  incident.io key") for line in lines)
    assert any(line.startswith("PASS  can override") for line in lines)
    assert any(line.startswith("PASS  my next shift") for line in lines)
    assert not any(line.startswith("FAIL") for line in lines)
    code, out, _ = run(capsys, "doctor", "--demo", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    assert {c["status"] for c in data["checks"]} <= {"pass", "warn"}


def test_doctor_with_a_broken_config_fails_with_the_field(capsys, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[ui]\ntheme = 3\nbogus = "x"\n')
    code, out, _ = run(capsys, "doctor", "--config", str(path))
    assert code == 1
    assert out.startswith("FAIL  config")
    assert "bogus" in out and "fix:" in out


def test_shifts_ics_uids_are_stable_across_exports(capsys, tmp_path):
    from icalendar import Calendar

    uids = []
    for name in ("a.ics", "b.ics"):
        target = tmp_path / name
        code, _out, err = run(capsys, "shifts", "--demo", "--ics", str(target))
        assert code == 0, err
        cal = Calendar.from_ical(target.read_bytes())
        uids.append([str(e["UID"]) for e in cal.walk("VEVENT")])
    assert uids[0] and uids[0] == uids[1]
