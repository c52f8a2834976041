"""A grouped alert acked from the command line silences it on every instance.

Two real Alertmanager processes carry the same alert (as two regions do); the dashboard's
alert list shows it as one row ``×2`` with one ID. ``oncall-tui ack ID`` (the console
script, configured with both, and with ``oncall-tui sim serve`` as incident.io) makes one
silence on each, matching the alert's identity (alertname and the labels that name the
instance), not every label: when the alert comes back from another pod it is still
silenced. A second ack says it is already done. When one instance refuses, the other is
silenced, the failure is reported by instance, and running the command again retries
only what failed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oncall_tui.sim.server import run_in_thread
from tests.simserve import Sim, start_sim

pytestmark = pytest.mark.real


class RefusingProxy:
    """Forwards to a real Alertmanager, but can refuse to create silences (500)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refuse_silences = False
        self.app = Starlette(
            routes=[Route("/{path:path}", self.forward, methods=["GET", "POST", "DELETE"])]
        )

    async def forward(self, request: Request) -> Response:
        if (
            self.refuse_silences
            and request.method == "POST"
            and request.url.path.endswith("/silences")
        ):
            return Response(
                '{"message": "storage unavailable"}', 500, media_type="application/json"
            )
        async with httpx.AsyncClient(base_url=self.upstream) as client:
            answer = await client.request(
                request.method,
                request.url.path,
                params=list(request.query_params.multi_items()),
                content=await request.body(),
                headers={"content-type": request.headers.get("content-type", "application/json")},
            )
        return Response(answer.content, answer.status_code, media_type="application/json")


@pytest.fixture
def sim(tmp_path) -> Iterator[Sim]:
    yield from start_sim(tmp_path)


@pytest.fixture
def proxy(second_alertmanager) -> Iterator[RefusingProxy]:
    proxy = RefusingProxy(second_alertmanager.url)
    url, stop = run_in_thread(proxy.app)
    proxy.url = url  # type: ignore[attr-defined]
    try:
        yield proxy
    finally:
        stop()


def post_alert(url: str, labels: dict[str, str], summary: str) -> None:
    answer = httpx.post(
        f"{url}/api/v2/alerts",
        json=[{"labels": labels, "annotations": {"summary": summary}}],
        timeout=5,
    )
    assert answer.status_code == 200, answer.text


def silences(url: str, alertname: str) -> list[dict]:
    found = httpx.get(f"{url}/api/v2/silences", timeout=5).json()
    return [
        s
        for s in found
        if s["status"]["state"] == "active"
        and any(m["name"] == "alertname" and m["value"] == alertname for m in s["matchers"])
    ]


def wait_for(what: str, condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def configure(sim: Sim, tmp_path, a_url: str, b_url: str):
    config = tmp_path / "two.toml"
    config.write_text(
        sim.snippet + f'\n[alertmanager.a]\nurl = "{a_url}"\n\n[alertmanager.b]\nurl = "{b_url}"\n'
    )
    return config


def grouped_row(sim: Sim, config, summary: str) -> dict:
    def listed():
        done = sim.cli("alerts", "--json", config=config)
        rows = [r for r in json.loads(done.stdout)["rows"] if r["title"] == summary]
        return rows[0] if rows and rows[0]["count"] >= 2 else None

    return wait_for("the alert on both Alertmanagers as one row", listed)


def test_a_grouped_alert_is_silenced_on_both_alertmanagers_by_the_printed_id(
    sim: Sim, real_alertmanager, proxy, tmp_path
):
    a, b = real_alertmanager.url, proxy.url
    config = configure(sim, tmp_path, a, b)
    name = f"CheckoutLatency{uuid.uuid4().hex[:8]}"
    summary = f"Checkout p99 latency above 500 ms ({name})"
    labels = {
        "alertname": name,
        "service": "checkout",
        "pod": "checkout-7f9c-abc12",
        "severity": "critical",
    }
    post_alert(a, labels, summary)
    post_alert(b, labels, summary)
    row = grouped_row(sim, config, summary)
    assert row["source"] == "alertmanager:a, alertmanager:b" and row["count"] == 2

    # The table prints the same one ID.
    table = sim.cli("alerts", config=config).stdout
    line = next(line for line in table.splitlines() if summary in line)
    assert line.endswith(f"id {row['id']}") and "×2" in line

    done = sim.cli("ack", row["id"], config=config)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # Before creating: what each silence would match, per instance.
    assert (
        f'alertmanager:a: alertname="{name}", service="checkout" would match 1 firing alert now'
        in out
    )
    assert (
        f'alertmanager:b: alertname="{name}", service="checkout" would match 1 firing alert now'
        in out
    )
    assert f"Silenced “{summary}” on alertmanager:a" in out
    assert f"Silenced “{summary}” on alertmanager:b" in out
    for url in (a, b):
        made = silences(url, name)
        assert len(made) == 1
        matchers = {m["name"]: m["value"] for m in made[0]["matchers"]}
        assert matchers == {"alertname": name, "service": "checkout"}  # never pod

    # The pod churns: the alert comes back from another pod, still silenced.
    post_alert(a, {**labels, "pod": "checkout-7f9c-zz999"}, summary)

    def new_pod_state():
        found = httpx.get(
            f"{a}/api/v2/alerts", params={"filter": 'pod="checkout-7f9c-zz999"'}
        ).json()
        return found and found[0]["status"]["state"]

    assert wait_for("the new pod's alert", new_pod_state) == "suppressed"

    # Acking again: already done, nothing sent, exit 0.
    wait_for(
        "both members silenced",
        lambda: grouped_row(sim, config, summary)["state"] == "silenced",
    )
    again = sim.cli("ack", row["id"], config=config)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already silenced on alertmanager:a" in again.stdout
    assert "already silenced on alertmanager:b" in again.stdout
    assert len(silences(a, name)) == 1 and len(silences(b, name)) == 1


def test_one_instance_refusing_is_reported_and_retried_alone(
    sim: Sim, real_alertmanager, proxy, tmp_path
):
    a, b = real_alertmanager.url, proxy.url
    config = configure(sim, tmp_path, a, b)
    name = f"QueueBacklog{uuid.uuid4().hex[:8]}"
    summary = f"Email queue backlog growing ({name})"
    labels = {"alertname": name, "service": "mailer", "instance": "mq-1:9100"}
    post_alert(a, labels, summary)
    post_alert(b, labels, summary)
    row = grouped_row(sim, config, summary)

    proxy.refuse_silences = True
    done = sim.cli("ack", row["id"], config=config)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Acked “{summary}”: 1 of 2 done, 1 failed (offered for retry)" in done.stdout
    assert f"Silenced “{summary}” on alertmanager:a" in done.stdout
    assert "alertmanager:b: Silence failed" in done.stdout
    assert "Run the same command again to retry" in done.stdout
    assert len(silences(a, name)) == 1 and silences(b, name) == []

    proxy.refuse_silences = False
    wait_for(
        "alertmanager:a's member silenced",
        lambda: "silenced" in sim.cli("alerts", "--json", config=config).stdout,
    )
    retry = sim.cli("ack", row["id"], config=config)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert "already silenced on alertmanager:a" in retry.stdout
    assert f"Silenced “{summary}” on alertmanager:b" in retry.stdout
    assert len(silences(a, name)) == 1 and len(silences(b, name)) == 1
