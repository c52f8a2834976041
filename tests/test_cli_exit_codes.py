"""One exit code rule on the command line: 0 done or already done; 1 the action failed at
the server; 2 usage, configuration or read-only, with the allowed values named. Run as the
installed console script against ``oncall-tui sim serve``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.simserve import Sim, start_sim


@pytest.fixture
def sim(tmp_path) -> Iterator[Sim]:
    yield from start_sim(tmp_path)


def test_an_unknown_severity_is_a_usage_error_naming_the_severities(sim: Sim):
    done = sim.cli("declare", "-s", "sev1", "Checkout is failing")
    assert done.returncode == 2, done.stdout + done.stderr
    severities = [s["name"] for s in sim.get("/v1/severities")["severities"]]
    assert severities and all(name in done.stderr for name in severities), done.stderr
    assert "sev1" in done.stderr and "--key" not in done.stderr
    assert not sim.writes("incident.create")


def test_acking_a_page_twice_is_done_then_already_done(sim: Sim):
    # A page of its own, paging me now (the scenario's pages come and go with the clock).
    page = sim.post("/_sim/page", {"title": "Exit code drill", "to_me": True})["escalation"]["id"]
    first = sim.cli("ack", page)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Acked ")
    acks = len(sim.writes("escalation.respond"))
    again = sim.cli("ack", page)
    assert again.returncode == 0, again.stderr
    assert "is already acked" in again.stdout and "nothing was sent" in again.stdout
    assert len(sim.writes("escalation.respond")) == acks


def test_an_id_that_matches_nothing_is_a_usage_error(sim: Sim):
    done = sim.cli("ack", "no-such-page")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no open page or firing alert matches 'no-such-page'" in done.stderr


def test_a_failure_at_the_server_is_exit_1(sim: Sim):
    sim.post("/_sim/faults", {"error_rate": 1, "paths": ["/v2/incidents"]})
    done = sim.cli("declare", "-s", "minor", "Checkout is failing")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "--key" in done.stderr  # the retry that cannot open a second incident
