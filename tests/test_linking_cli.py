"""``oncall-tui alerts`` shows one row per problem: a page with the Grafana alert behind it
(its state and the rule that matched), or why there is none; through the installed
console script, on the demo and against ``sim serve``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.simserve import SCRIPT, Sim, start_sim


@pytest.fixture
def sim(tmp_path) -> Iterator[Sim]:
    yield from start_sim(tmp_path)


def test_the_demo_page_lists_the_grafana_alert_behind_it():
    result = subprocess.run(
        [str(SCRIPT), "alerts", "--demo", "--json"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    (page,) = [r for r in rows if r["title"] == "Payments API 5xx rate above 5%"]
    behind = page["source_alert"]
    assert page["kind"] == "page" and page["state"] == "acked"
    assert behind["source"] == "grafana:us" and behind["state"] == "firing"
    assert behind["matched_by"] == "source link"
    assert behind["runbook"] == "https://runbooks.example.com/payments/api-5xx"
    assert "viewPanel=4" in behind["panel"]
    # The Grafana alert is that row, not a second one.
    assert not [r for r in rows if behind["key"] in r["alert_keys"]]

    text = subprocess.run(
        [str(SCRIPT), "alerts", "--demo"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "    ← grafana:us firing, matched by source link (service, severity, team agree)" in text


def test_a_page_whose_grafana_is_not_configured_says_so(sim: Sim):
    listed = json.loads(sim.cli("alerts", "--json").stdout)["rows"]
    (page,) = [r for r in listed if r["title"] == "Payments API 5xx rate above 5%"]
    assert page["source_alert"] is None
    assert page["source_alert_missing"] == (
        "no Grafana alert matches this page: its source link points to "
        "grafana.example.com, which is not configured here"
    )
    assert "    ← no Grafana alert matches this page" in sim.cli("alerts").stdout


def test_a_page_made_by_hand_says_no_alert_raised_it(sim: Sim):
    sim.post("/_sim/page", {"to_me": True, "title": "Please look at the ledger"})
    listed = json.loads(sim.cli("alerts", "--json").stdout)["rows"]
    (page,) = [r for r in listed if r["title"] == "Please look at the ledger"]
    assert page["source_alert"] is None
    assert page["source_alert_missing"] == (
        "no Grafana alert matches this page: it was not raised by an alert (someone paged by hand)"
    )
