"""Grafana client paths against the simulator, and bad answers from a MockTransport."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn

from oncall_tui.backends.grafana import (
    KIND_ALERTMANAGER,
    AlertmanagerClient,
    GrafanaClient,
    PrometheusClient,
    parse_grafana_frames,
    parse_prometheus_matrix,
    sparkline_for,
)
from oncall_tui.backends.http import (
    AuthError,
    InvalidRequest,
    MalformedResponse,
    NetworkError,
    NotFound,
    RetryPolicy,
    ServerError,
)
from oncall_tui.core.trend import FALLING, summarize
from oncall_tui.domain import ALERT_FIRING, ALERT_INHIBITED, ALERT_SILENCED, LINK_RUNBOOK
from oncall_tui.sim.grafana import DATASOURCE_UID, Faults, GrafanaWorld, create_app

TOKEN = "glsa_secret_token_value"
FAST = RetryPolicy(base=0.001, cap=0.01)
GRAFANA = "http://127.0.0.1:3000"
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def world(clock) -> GrafanaWorld:
    return GrafanaWorld(clock, seed=7)


@pytest.fixture
def transport(world, faults) -> httpx.ASGITransport:
    return httpx.ASGITransport(create_app(world, token=TOKEN, faults=faults))


@pytest.fixture
async def am(transport):
    client = AlertmanagerClient("grafana", "us", GRAFANA, TOKEN, transport=transport, retry=FAST)
    yield client
    await client.aclose()


@pytest.fixture
async def grafana(transport):
    client = GrafanaClient("us", GRAFANA, TOKEN, transport=transport, retry=FAST)
    yield client
    await client.aclose()


@pytest.fixture
async def prometheus(transport):
    client = PrometheusClient("http://127.0.0.1:9090", TOKEN, transport=transport, retry=FAST)
    yield client
    await client.aclose()


# ---------------------------------------------------------------- rule + query


async def test_rule_gives_the_first_data_query(grafana):
    rule = await grafana.rule("checkout-latency")
    assert rule is not None
    assert rule.datasource_uid == DATASOURCE_UID
    assert rule.ref_id == "A"
    assert rule.expr.startswith("histogram_quantile(0.99")
    assert rule.title == "CheckoutLatencyHigh"


async def test_unknown_rule_is_not_found(grafana):
    with pytest.raises(NotFound):
        await grafana.rule("no-such-rule")


async def test_rule_with_only_expressions_has_no_query():
    body = {
        "grafana_alert": {
            "uid": "x",
            "data": [
                {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "math"}},
                {"refId": "C", "datasourceUid": "-100", "model": {"type": "threshold"}},
            ],
        }
    }
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    async with GrafanaClient("us", GRAFANA, TOKEN, transport=transport, retry=FAST) as client:
        assert await client.rule("x") is None


async def test_grafana_sparkline_shows_the_spike_coming_down(am, grafana, clock):
    alerts = await am.list_alerts(now=clock.now)
    checkout = next(a for a in alerts if a.rule_uid == "checkout-latency")
    series = await sparkline_for(
        checkout, grafana=grafana, prometheus=None, now=clock.now, window=timedelta(hours=1)
    )
    assert series is not None
    assert len(series.points) == 61
    values = [v for _, v in series.points]
    assert max(values) > 1.0 > 0.3 > min(values)
    assert summarize(series).direction == FALLING
    assert series.points[-1][0] == clock.now


async def test_ds_query_error_is_readable(grafana):
    with pytest.raises(InvalidRequest) as err:
        await grafana.query_range(
            DATASOURCE_UID, "rate(x[5m]", START - timedelta(hours=1), START, 60
        )
    assert "query A" in str(err.value) and "parse error" in str(err.value)


async def test_ds_query_unknown_datasource(grafana):
    with pytest.raises(NotFound):
        await grafana.query_range("nope", "up", START - timedelta(hours=1), START, 60)


async def test_prometheus_alert_sparkline_through_prometheus(clock, transport, prometheus):
    plain = AlertmanagerClient(
        "alertmanager", "local", "http://127.0.0.1:9093", TOKEN,
        kind=KIND_ALERTMANAGER, transport=transport, retry=FAST,
    )  # fmt: skip
    async with plain:
        (alert,) = await plain.list_alerts(now=clock.now)
        assert alert.expression == 'payments_consumer_lag_seconds{consumer="settlement"}'
        assert alert.rule_uid is None
        series = await sparkline_for(alert, grafana=None, prometheus=prometheus, now=clock.now)
        assert series is not None and len(series.points) == 61
        assert series.name == 'payments_consumer_lag_seconds{consumer="settlement"}'
        # Without a Prometheus client there is nothing to draw, and we say so with None.
        assert await sparkline_for(alert, grafana=None, prometheus=None, now=clock.now) is None


async def test_sparkline_none_without_a_grafana_client(am, clock):
    (alert, *_) = await am.list_alerts(now=clock.now)
    assert await sparkline_for(alert, grafana=None, prometheus=None, now=clock.now) is None


def test_frames_pick_the_series_of_the_alert():
    def frame(labels, values):
        return {
            "schema": {
                "fields": [
                    {"name": "Time", "type": "time"},
                    {"name": "Value", "type": "number", "labels": labels},
                ]
            },
            "data": {"values": [[1795435200000, 1795435260000, 1795435320000], values]},
        }

    body = {
        "results": {
            "A": {
                "status": 200,
                "frames": [
                    frame({"instance": "web-1"}, [1, 2, 3]),
                    frame({"instance": "web-2"}, [7, None, "NaN"]),
                    "junk",
                    {"schema": {"fields": [{"type": "number"}]}},  # no time field
                ],
            }
        }
    }
    series = parse_grafana_frames(body, "cpu", {"instance": "web-2", "job": "node"})
    assert [v for _, v in series.points] == [7.0]  # null and NaN are gaps
    assert series.name == "cpu"
    first = parse_grafana_frames(body, "cpu", {"instance": "db-9"})
    assert [v for _, v in first.points] == [1.0, 2.0, 3.0]


def test_matrix_parsing_skips_non_finite_and_picks_by_labels():
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {"__name__": "up", "job": "a"}, "values": [[1, "1"], [2, "+Inf"]]},
                {"metric": {"__name__": "up", "job": "b"}, "values": [[1, "NaN"], [2, "0"], "x"]},
            ],
        },
    }
    series = parse_prometheus_matrix(body, "up", {"job": "b"})
    assert series.name == 'up{job="b"}'
    assert [(t.timestamp(), v) for t, v in series.points] == [(2.0, 0.0)]
    with pytest.raises(MalformedResponse):
        parse_prometheus_matrix({"status": "success", "data": {"resultType": "vector"}}, "up")
    assert all(math.isfinite(v) for _, v in series.points)


# ------------------------------------------------------------------- failures


async def test_wrong_token_is_an_auth_error_without_the_token(transport):
    client = AlertmanagerClient("grafana", "us", GRAFANA, "wrong-token", transport=transport)
    async with client:
        with pytest.raises(AuthError) as err:
            await client.list_alerts()
    assert "Unauthorized" in str(err.value)
    assert "wrong-token" not in str(err.value) and "wrong-token" not in repr(client)


async def test_server_error_is_retried_then_reported(am, faults):
    faults.status = 500
    with pytest.raises(ServerError) as err:
        await am.list_alerts()
    assert faults.hits == FAST.attempts  # a GET is retried
    assert "server error 500" in str(err.value)
    assert str(err.value).startswith("grafana:us:")


async def test_failed_silence_post_is_not_retried(am, faults, clock):
    (alert, *_) = await am.list_alerts(now=clock.now)
    faults.status = 503
    with pytest.raises(ServerError):
        await am.silence_alert(alert, timedelta(hours=1), "ana", "ack", now=clock.now)
    assert faults.hits == 1  # a new silence is not idempotent: never sent twice


async def test_login_page_instead_of_json(am, faults):
    faults.html = True
    with pytest.raises(MalformedResponse) as err:
        await am.list_alerts()
    assert "HTML" in str(err.value)


async def test_faults_can_target_one_path(am, grafana, faults):
    faults.status = 500
    faults.path_prefix = "/api/ds/query"
    assert await am.list_alerts()  # the Alertmanager paths still answer
    with pytest.raises(ServerError):
        await grafana.query_range(DATASOURCE_UID, "up", START - timedelta(hours=1), START, 60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_hanging_alertmanager_times_out(world):
    """A real socket: the sim hangs, our timeout fires, the error says so."""
    faults = Faults(hang_seconds=1.0)
    port = _free_port()
    config = uvicorn.Config(
        create_app(world, faults=faults),
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.01)
        client = AlertmanagerClient(
            "alertmanager", "slow", f"http://127.0.0.1:{port}",
            kind=KIND_ALERTMANAGER, timeout=0.2, retry=RetryPolicy(attempts=1),
        )  # fmt: skip
        async with client:
            with pytest.raises(NetworkError) as err:
                await client.list_alerts()
        assert "timed out" in str(err.value)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 5)


# ---------------------------------------------------------- tolerant parsing


def _mock_am(payload, status=200):
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(payload, bytes | str):
            return httpx.Response(status, content=payload)
        return httpx.Response(status, json=payload)

    return AlertmanagerClient(
        "alertmanager", "m", "http://127.0.0.1:9093", kind=KIND_ALERTMANAGER,
        transport=httpx.MockTransport(handler), retry=FAST,
    )  # fmt: skip


async def test_junk_entries_are_skipped_and_odd_fields_tolerated():
    payload = [
        "junk",
        {"labels": {"alertname": "NoFingerprint"}},
        {"fingerprint": "bad fingerprint with spaces", "labels": {}},
        {
            "fingerprint": "aaaa000011112222",
            "labels": ["not", "a", "map"],
            "annotations": {"summary": {"nested": "object"}, "runbook_url": 42},
            "startsAt": "garbage",
            "status": "not-an-object",
        },
        {
            "fingerprint": "bbbb000011112222",
            "labels": {"alertname": "Muted", "severity": "page"},
            "startsAt": "2026-11-23T11:00:00Z",
            "status": {
                "state": "suppressed",
                "silencedBy": [],
                "inhibitedBy": [],
                "mutedBy": ["night"],
            },
            "someNewField": {"x": 1},
        },
        {
            "fingerprint": "cccc000011112222",
            "labels": {"alertname": "Inhibited"},
            "startsAt": "2026-11-23T11:00:00Z",
            "status": {"state": "suppressed", "silencedBy": None, "inhibitedBy": ["dddd"]},
        },
    ]
    async with _mock_am(payload) as client:
        alerts = await client.list_alerts(now=START)
    by_id = {a.id: a for a in alerts}
    assert set(by_id) == {"aaaa000011112222", "bbbb000011112222", "cccc000011112222"}
    odd = by_id["aaaa000011112222"]
    assert odd.state == ALERT_FIRING and odd.started_at == START and odd.labels == ()
    assert odd.title == "aaaa000011112222"
    assert odd.link(LINK_RUNBOOK).problem.startswith("refused")  # 42 is not a URL
    assert by_id["bbbb000011112222"].state == ALERT_SILENCED  # muted by a time interval
    assert by_id["bbbb000011112222"].severity == "critical"
    assert by_id["cccc000011112222"].state == ALERT_INHIBITED


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"not": "a list"}, "not a JSON array"),
        (b'[{"truncated": ', "malformed or truncated JSON"),
        (b"<html>proxy login</html>", "HTML"),
    ],
)
async def test_unreadable_alert_lists(payload, message):
    async with _mock_am(payload) as client:
        with pytest.raises(MalformedResponse) as err:
            await client.list_alerts()
    assert message in str(err.value)


async def test_silence_answer_without_id_is_reported():
    async with _mock_am({"unexpected": True}) as client:
        with pytest.raises(MalformedResponse) as err:
            await client.create_silence(
                {"alertname": "X"}, START, START + timedelta(hours=1), "ana", "ack"
            )
    assert "no silence id" in str(err.value)


async def test_alertmanager_500_on_unknown_silence_is_not_found_without_retries():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(500, content=json.dumps("silence not found"))

    client = AlertmanagerClient(
        "alertmanager", "m", "http://127.0.0.1:9093", kind=KIND_ALERTMANAGER,
        transport=httpx.MockTransport(handler), retry=FAST,
    )  # fmt: skip
    async with client:
        with pytest.raises(NotFound):
            await client.expire_silence("6d9d8bd8-8a3e-4b9b-9a57-9c1b5a2bdc1e")
    assert len(calls) == 1


async def test_grafana_silences_with_metadata_parse(am, clock):
    (alert, *_) = await am.list_alerts(now=clock.now)
    silence_id = await am.silence_alert(alert, timedelta(hours=2), "ana", "ack", now=clock.now)
    (silence,) = await am.list_silences()
    assert silence.id == silence_id
    assert silence.ends_at == clock.now + timedelta(hours=2)
    assert ("__alert_rule_uid__", alert.rule_uid, False, True) in silence.matchers


async def test_request_paths_and_headers(world, clock):
    seen: list[httpx.Request] = []
    app_transport = httpx.ASGITransport(create_app(world, token=TOKEN))

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            seen.append(request)
            return await app_transport.handle_async_request(request)

    client = AlertmanagerClient(
        "grafana", "eu", "http://127.0.0.1:3000", TOKEN,
        org_id=3, transport=Recording(), retry=FAST,
    )  # fmt: skip
    async with client:
        await client.list_alerts(now=clock.now)
    request = seen[0]
    assert request.url.path == "/api/alertmanager/grafana/api/v2/alerts"
    assert "unprocessed" not in request.url.params  # Grafana does not know it
    assert request.headers["X-Grafana-Org-Id"] == "3"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_series_parsers_survive_fields_of_the_wrong_type():
    from oncall_tui.backends import grafana as g

    body = {"status": "success", "data": {"resultType": "matrix", "result": [{"values": True}]}}
    assert g.parse_prometheus_matrix(body, "up").points == ()
