"""The paging path on the command line: ``oncall-tui`` against ``oncall-tui sim serve``.

Every command here is the installed console script, talking HTTP to the simulator
process; the simulator's write log shows what reached incident.io.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.simserve import Sim, start_sim


@pytest.fixture
def sim(tmp_path) -> Iterator[Sim]:
    yield from start_sim(tmp_path)


# ------------------------------------------------------------ decline set-up advice


def test_the_printed_config_makes_decline_work_and_doctor_says_so(sim: Sim):
    assert "act_as_user = true" in sim.snippet
    done = sim.cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["can nack"]["status"] == "pass", checks["can nack"]


def test_doctor_tells_a_missing_act_as_user_apart_from_a_missing_role(sim: Sim, tmp_path):
    config = tmp_path / "no-act-as.toml"
    config.write_text(sim.snippet.replace("act_as_user = true", "act_as_user = false"))
    done = sim.cli("doctor", "--json", config=config)
    nack = {c["name"]: c for c in json.loads(done.stdout)["checks"]}["can nack"]
    assert nack["status"] != "pass"
    assert "act_as_user = true" in nack["fix"]
    # The key has every role in the simulator: no admin needs asking.
    assert "ask an incident.io admin" not in nack["fix"]


# ----------------------------------------------------------------- far-off dates


@pytest.mark.parametrize(
    ("start", "end"),
    [("now", "9999-12-31"), ("in 99999999h", "in 99999999h"), ("0001-01-01", "tomorrow")],
)
def test_far_off_dates_are_refused_with_the_allowed_range(sim: Sim, start, end):
    done = sim.cli("unavailable", "--from", start, "--to", end, "--dry-run")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "too far off" in done.stderr and "are allowed" in done.stderr
    assert not sim.writes("override.create")


# ------------------------------------------------------- acking twice, IDs as printed


def test_ack_by_the_printed_id_then_again_says_already_acked_and_sends_nothing(sim: Sim):
    page = sim.post("/_sim/page", {"to_me": True, "title": "Ledger consumer lag"})["escalation"]
    listed = json.loads(sim.cli("alerts", "--json").stdout)["rows"]
    row = next(r for r in listed if r["title"] == "Ledger consumer lag")
    assert row["id"] == page["id"]
    table = sim.cli("alerts").stdout
    assert any(line.endswith(f"id {row['id']}") for line in table.splitlines())

    first = sim.cli("ack", row["id"])
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Acked “Ledger consumer lag”")
    again = sim.cli("ack", row["id"])
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("“Ledger consumer lag” is already acked")
    assert " at " in again.stdout and "nothing was sent" in again.stdout
    acks = [w for w in sim.writes("escalation.respond") if w["target_id"] == page["id"]]
    assert len(acks) == 1
