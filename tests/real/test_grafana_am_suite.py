"""One Alertmanager client test-suite, run against three servers.

* ``real-alertmanager``: Debian's ``prometheus-alertmanager`` 0.25 on loopback;
* ``sim-alertmanager``: the simulator's plain Alertmanager paths (``/api/v2``);
* ``sim-grafana``: the simulator's Grafana embedded Alertmanager
  (``/api/alertmanager/grafana/api/v2``, bearer token, 202 on a new silence).

Each test posts its own alerts with a unique ``test_id`` label and filters on it, so the
tests share one real Alertmanager without seeing each other's alerts. Where the real
Alertmanager and the simulator disagree, the simulator is the one to fix.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.backends.grafana import (
    KIND_ALERTMANAGER,
    KIND_GRAFANA,
    MAX_LABELS,
    AlertmanagerClient,
)
from oncall_tui.backends.http import InvalidRequest, NotFound, RetryPolicy
from oncall_tui.domain import (
    ALERT_FIRING,
    ALERT_SILENCED,
    LINK_DASHBOARD,
    LINK_PANEL,
    LINK_RUNBOOK,
    LINK_SILENCE,
)
from oncall_tui.sim.grafana import GrafanaWorld, create_app, fingerprint

FAST = RetryPolicy(base=0.001, cap=0.01, attempts=2)
GRAFANA_URL = "http://127.0.0.1:3000"
TOKEN = "glsa_sim_token_for_tests"


@dataclass
class Target:
    name: str
    client: AlertmanagerClient
    post: Callable[[Mapping[str, str], Mapping[str, str]], Awaitable[None]]
    kind: str


@pytest.fixture(
    params=[
        "sim-grafana",
        "sim-alertmanager",
        pytest.param("real-alertmanager", marks=pytest.mark.real),
    ]
)
async def target(request) -> AsyncIterator[Target]:
    if request.param == "real-alertmanager":
        real = request.getfixturevalue("real_alertmanager")
        raw = httpx.AsyncClient(base_url=real.url)
        client = AlertmanagerClient(
            "alertmanager",
            "real",
            real.url,
            kind=KIND_ALERTMANAGER,
            grafana_url=GRAFANA_URL,
            retry=FAST,
        )

        async def post(labels, annotations):
            response = await raw.post(
                "/api/v2/alerts", json=[{"labels": labels, "annotations": annotations}]
            )
            assert response.status_code == 200, response.text

        kind = KIND_ALERTMANAGER
    else:
        world = GrafanaWorld(seed=3, rules=[])
        app = create_app(world, token=TOKEN)
        transport = httpx.ASGITransport(app)
        raw = httpx.AsyncClient(
            transport=transport,
            base_url="http://sim",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        if request.param == "sim-grafana":
            kind = KIND_GRAFANA
            client = AlertmanagerClient(
                "grafana", "sim", GRAFANA_URL, TOKEN, transport=transport, retry=FAST
            )

            async def post(labels, annotations):
                world.grafana_am.add_alert(labels, annotations)

        else:
            kind = KIND_ALERTMANAGER
            client = AlertmanagerClient(
                "alertmanager",
                "sim",
                "http://127.0.0.1:9093",
                TOKEN,
                kind=KIND_ALERTMANAGER,
                grafana_url=GRAFANA_URL,
                transport=transport,
                retry=FAST,
            )

            async def post(labels, annotations):
                response = await raw.post(
                    "/api/v2/alerts", json=[{"labels": labels, "annotations": annotations}]
                )
                assert response.status_code == 200, response.text

    try:
        yield Target(request.param, client, post, kind)
    finally:
        await client.aclose()
        await raw.aclose()


def new_test_id() -> str:
    return uuid.uuid4().hex[:12]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll ``check`` until it is true (the real Alertmanager applies silences async)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def mine(target: Target, test_id: str, **flags) -> list:
    return await target.client.list_alerts(filters=[f'test_id="{test_id}"'], **flags)


ANNOTATIONS = {
    "summary": "Checkout is slow",
    "description": "p99 above 500 ms",
    "runbook_url": "https://runbooks.example.com/checkout",
    "__dashboardUid__": "checkout-overview",
    "__panelId__": "4",
    "__orgId__": "1",
}


async def test_lists_a_posted_alert_with_links(target: Target):
    test_id = new_test_id()
    labels = {"alertname": "CheckoutSlow", "severity": "CRIT", "test_id": test_id}
    await target.post(labels, ANNOTATIONS)

    alerts = await mine(target, test_id)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.state == ALERT_FIRING
    assert alert.severity == "critical"
    assert alert.title == "Checkout is slow"
    assert alert.description == "p99 above 500 ms"
    assert alert.key == f"{target.client.alert_source}:{target.client.instance}:{alert.id}"
    assert alert.id == alert.fingerprint and len(alert.fingerprint) == 16
    assert alert.label("test_id") == test_id
    assert alert.link(LINK_RUNBOOK).url == "https://runbooks.example.com/checkout"
    dashboard = alert.link(LINK_DASHBOARD).url
    assert dashboard.startswith(f"{GRAFANA_URL}/d/checkout-overview?orgId=1&from=")
    assert alert.link(LINK_PANEL).url == f"{dashboard}&viewPanel=4"
    assert alert.link(LINK_SILENCE).ok
    # Private annotations feed the links but are not shown as annotations.
    assert not any(k.startswith("__") for k, _ in alert.annotations)
    assert ("runbook_url", "https://runbooks.example.com/checkout") in alert.annotations
    assert datetime.now(UTC) - alert.started_at < timedelta(minutes=5)


async def test_fingerprint_is_alertmanagers(target: Target):
    # Fingerprints key the UI's rows; the simulator computes them as Alertmanager does.
    test_id = new_test_id()
    labels = {"alertname": "Fp", "zone": "eu-west-1", "test_id": test_id}
    await target.post(labels, {})
    (alert,) = await mine(target, test_id)
    assert alert.fingerprint == fingerprint(labels)


async def test_silence_then_unsilence(target: Target):
    test_id = new_test_id()
    await target.post({"alertname": "AckMe", "severity": "warning", "test_id": test_id}, {})
    (alert,) = await mine(target, test_id)

    silence_id = await target.client.silence_alert(
        alert, timedelta(hours=1), "ana (oncall-tui)", "looking into it"
    )
    assert silence_id

    async def silenced() -> bool:
        alerts = await mine(target, test_id)
        return len(alerts) == 1 and alerts[0].state == ALERT_SILENCED

    await eventually(silenced)
    (acked,) = await mine(target, test_id)
    assert acked.silenced_by == (silence_id,)
    assert await mine(target, test_id, silenced=False) == []

    silence = await target.client.get_silence(silence_id)
    assert silence.state == "active"
    assert silence.created_by == "ana (oncall-tui)"
    assert ("test_id", test_id, False, True) in silence.matchers
    assert silence_id in [s.id for s in await target.client.list_silences()]

    await target.client.expire_silence(silence_id)

    async def firing() -> bool:
        alerts = await mine(target, test_id)
        return len(alerts) == 1 and alerts[0].state == ALERT_FIRING

    await eventually(firing)
    assert (await target.client.get_silence(silence_id)).state == "expired"
    assert silence_id not in [s.id for s in await target.client.list_silences()]
    expired = await target.client.list_silences(include_expired=True)
    assert silence_id in [s.id for s in expired]
    # Expiring again is harmless, as in Alertmanager.
    await target.client.expire_silence(silence_id)


async def test_unsilence_alert_expires_its_silences(target: Target):
    test_id = new_test_id()
    await target.post({"alertname": "Unack", "test_id": test_id}, {})
    (alert,) = await mine(target, test_id)
    assert target.client.owns_key(alert.key)
    assert await target.client.unsilence_alert(alert) == ()  # nothing to undo
    first = await target.client.silence_alert(alert, timedelta(hours=1), "ana", "ack")
    second = await target.client.create_silence(
        {"alertname": "Unack", "test_id": test_id},
        datetime.now(UTC),
        datetime.now(UTC) + timedelta(hours=1),
        "bo",
        "me too",
    )

    async def both() -> bool:
        (a,) = await mine(target, test_id)
        return set(a.silenced_by) == {first, second}

    await eventually(both)
    (acked,) = await mine(target, test_id)
    assert set(await target.client.unsilence_alert(acked)) == {first, second}

    async def firing() -> bool:
        (a,) = await mine(target, test_id)
        return a.state == ALERT_FIRING and a.silenced_by == ()

    await eventually(firing)


async def test_silence_matches_only_that_alert(target: Target):
    test_id = new_test_id()
    await target.post({"alertname": "Disk", "host": "db-1", "test_id": test_id}, {})
    await target.post({"alertname": "Disk", "host": "db-2", "test_id": test_id}, {})
    alerts = await mine(target, test_id)
    assert len(alerts) == 2
    one = next(a for a in alerts if a.label("host") == "db-1")
    await target.client.silence_alert(one, timedelta(minutes=30), "ana", "ack")

    async def one_silenced() -> bool:
        states = {a.label("host"): a.state for a in await mine(target, test_id)}
        return states == {"db-1": ALERT_SILENCED, "db-2": ALERT_FIRING}

    await eventually(one_silenced)
    # Firing first: the list puts what needs attention on top.
    assert [a.label("host") for a in await mine(target, test_id)] == ["db-2", "db-1"]


async def test_filters(target: Target):
    test_id = new_test_id()
    await target.post({"alertname": "A", "team": "payments", "test_id": test_id}, {})
    await target.post({"alertname": "B", "team": "platform", "test_id": test_id}, {})
    both = await mine(target, test_id)
    assert {a.label("team") for a in both} == {"payments", "platform"}

    only = await target.client.list_alerts(filters=[f'test_id="{test_id}"', 'team="payments"'])
    assert [a.label("alertname") for a in only] == ["A"]
    regex = await target.client.list_alerts(filters=[f'test_id="{test_id}"', 'team=~"plat.*"'])
    assert [a.label("alertname") for a in regex] == ["B"]
    assert await mine(target, test_id, active=False) == []

    with pytest.raises(InvalidRequest) as err:
        await target.client.list_alerts(filters=["this is not a matcher"])
    assert "matcher" in str(err.value)


async def test_unknown_silence_is_not_found(target: Target):
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound):
        await target.client.expire_silence(unknown)
    with pytest.raises(NotFound):
        await target.client.get_silence(unknown)


async def test_malformed_silence_id_is_refused(target: Target):
    with pytest.raises(InvalidRequest) as err:
        await target.client.expire_silence("not-a-uuid")
    assert "uuid" in str(err.value)


async def test_silence_ending_in_the_past_is_refused(target: Target):
    past = datetime.now(UTC) - timedelta(hours=2)
    with pytest.raises(InvalidRequest) as err:
        await target.client.create_silence(
            [("alertname", "X")], past, past + timedelta(minutes=30), "ana", "too late"
        )
    assert "past" in str(err.value)


async def test_silence_without_matchers_is_refused_before_sending(target: Target):
    now = datetime.now(UTC)
    with pytest.raises(InvalidRequest) as err:
        await target.client.create_silence([], now, now + timedelta(hours=1), "ana", "")
    assert "at least one label" in str(err.value)


async def test_hostile_label_values_are_shown_clean_and_still_silenced(target: Target):
    test_id = new_test_id()
    hostile = "db\x1b[31m-1\x1b]8;;https://evil.example/\x07[link=https://evil.example]x\u202e"
    await target.post(
        {"alertname": "Hostile", "host": hostile, "test_id": test_id},
        {"summary": "\x1b[2Jcleared [bold]screen[/bold]", "runbook_url": "javascript:alert(1)"},
    )
    (alert,) = await mine(target, test_id)
    shown = alert.label("host")
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert alert.title == "cleared [bold]screen[/bold]"  # inert text, rendered as-is
    runbook = alert.link(LINK_RUNBOOK)
    assert runbook.url is None and runbook.problem.startswith("refused: javascript")

    # The silence must carry the raw value, or it would not match the alert.
    await target.client.silence_alert(alert, timedelta(minutes=10), "ana", "ack")

    async def silenced() -> bool:
        alerts = await mine(target, test_id)
        return len(alerts) == 1 and alerts[0].state == ALERT_SILENCED

    await eventually(silenced)


async def test_huge_label_sets_are_bounded_but_silenced_exactly(target: Target):
    test_id = new_test_id()
    labels = {f"label_{i:03d}": "v" * 300 for i in range(150)}
    labels |= {"alertname": "Huge", "test_id": test_id}
    await target.post(labels, {"description": "d" * 20000})
    (alert,) = await mine(target, test_id)
    assert len(alert.labels) == MAX_LABELS + 1
    assert alert.labels[-1][0] == "…"
    assert len(alert.description) <= 4000

    await target.client.silence_alert(alert, timedelta(minutes=10), "ana", "ack")

    async def silenced() -> bool:
        (a,) = await mine(target, test_id)
        return a.state == ALERT_SILENCED

    await eventually(silenced)


async def test_ack_of_an_alert_not_listed_by_this_client_looks_it_up(target: Target):
    test_id = new_test_id()
    await target.post({"alertname": "Other", "test_id": test_id}, {})
    (alert,) = await mine(target, test_id)
    target.client._raw_labels.clear()  # as if another client had listed it
    await target.client.silence_alert(alert, timedelta(minutes=5), "ana", "ack")

    async def silenced() -> bool:
        (a,) = await mine(target, test_id)
        return a.state == ALERT_SILENCED

    await eventually(silenced)


async def test_status_is_a_reachability_probe(target: Target):
    status = await target.client.status()
    assert status["cluster"] == "disabled"
    if target.name == "sim-grafana":
        assert status["version"] == "N/A"
    else:
        assert status["version"].startswith("0.25")
