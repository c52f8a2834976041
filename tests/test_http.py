"""The shared HTTP layer: retries, Retry-After, typed errors, size cap, redaction.

Every test talks to an ``httpx.MockTransport`` (or a transport of its own). Retry waits
are recorded by a fake ``sleep`` handed to :class:`RetryPolicy`, so the tests see the
wait the policy chose without spending it.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import pickle
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from oncall_tui.backends import http as http_mod
from oncall_tui.backends.http import (
    NO_RETRY,
    ApiClient,
    ApiError,
    AuthError,
    Conflict,
    FieldError,
    InvalidRequest,
    MalformedResponse,
    NetworkError,
    NotFound,
    RateLimited,
    RequestStats,
    RetryPolicy,
    Secret,
    ServerError,
    parse_retry_after,
)
from oncall_tui.safety import UnsafeUrl

TOKEN = "sk_live_Zq8v3TOKENs3cr3t0123456789"
BASE = "https://api.example.test"


class Sleeps:
    """A stand-in for ``asyncio.sleep`` that only writes the waits down."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(sleeps: Sleeps | None = None, **kw) -> RetryPolicy:
    options = {"attempts": 4, "base": 0.001, "cap": 0.01, **kw}
    return RetryPolicy(sleep=sleeps or Sleeps(), **options)


class Script:
    """A handler that answers from a list of responses (the last one repeats)."""

    def __init__(self, *answers: httpx.Response | Exception | Callable) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if callable(answer) and not isinstance(answer, httpx.Response):
            answer = answer(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def calls(self) -> int:
        return len(self.requests)


def make_client(
    handler,
    *,
    retry: RetryPolicy | None = None,
    stats: RequestStats | None = None,
    source: str = "incident.io",
    **kw,
) -> ApiClient:
    transport = handler if isinstance(handler, httpx.AsyncBaseTransport) else None
    return ApiClient(
        source,
        BASE,
        TOKEN,
        transport=transport or httpx.MockTransport(handler),
        retry=retry or policy(),
        stats=stats if stats is not None else RequestStats(),
        **kw,
    )


async def fail(client: ApiClient, method: str = "GET", path: str = "/v2/alerts", **kw):
    with pytest.raises(ApiError) as info:
        await client.request(method, path, **kw)
    return info.value


def ok(body=None) -> httpx.Response:
    return httpx.Response(200, json={"ok": True} if body is None else body)


# --------------------------------------------------------------------- rate limits


async def test_429_retry_after_seconds_is_waited_then_the_call_succeeds():
    sleeps = Sleeps()
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    client = make_client(script, retry=policy(sleeps))
    assert await client.request("GET", "/v2/alerts") == {"ok": True}
    assert sleeps.waits == [7.0]
    assert script.calls == 2


async def test_429_retry_after_http_date_is_waited():
    sleeps = Sleeps()
    when = datetime.now(UTC) + timedelta(seconds=20)
    date = email.utils.format_datetime(when, usegmt=True)
    script = Script(httpx.Response(429, headers={"Retry-After": date}), ok())
    client = make_client(script, retry=policy(sleeps))
    assert await client.request("GET", "/v2/alerts") == {"ok": True}
    assert len(sleeps.waits) == 1
    # An HTTP date has whole seconds; the wait is what is left until then.
    assert 15.0 <= sleeps.waits[0] <= 20.0


def test_parse_retry_after_reads_seconds_and_dates():
    now = datetime(2025, 4, 17, 11, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Thu, 17 Apr 2025 11:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 17 Apr 2025 10:00:00 GMT", now=now) == 0.0  # past
    for junk in (None, "", "soon", "inf", "nan", "1e999", "Mon, 99 Foo 2020"):
        assert parse_retry_after(junk) is None


async def test_retry_after_longer_than_the_cap_goes_back_to_the_caller():
    sleeps = Sleeps()
    script = Script(httpx.Response(429, headers={"Retry-After": "120"}), ok())
    client = make_client(script, retry=policy(sleeps, max_retry_after=30))
    err = await fail(client)
    assert isinstance(err, RateLimited)
    assert err.retry_after == 120.0
    assert "retry in 120s" in str(err)
    assert script.calls == 1 and sleeps.waits == []


async def test_x_ratelimit_reset_as_unix_time_is_the_fallback():
    sleeps = Sleeps()
    reset = str(int(time.time()) + 5)
    script = Script(httpx.Response(429, headers={"X-RateLimit-Reset": reset}), ok())
    client = make_client(script, retry=policy(sleeps))
    assert await client.request("GET", "/v2/alerts") == {"ok": True}
    assert len(sleeps.waits) == 1 and 3.0 <= sleeps.waits[0] <= 5.0
    assert client.last_rate_limit["x-ratelimit-reset"] == reset


async def test_x_ratelimit_reset_as_seconds_from_now_is_read_as_such():
    sleeps = Sleeps()
    script = Script(httpx.Response(429, headers={"X-RateLimit-Reset": "3"}), ok())
    client = make_client(script, retry=policy(sleeps))
    await client.request("GET", "/v2/alerts")
    assert sleeps.waits == [3.0]


async def test_retry_after_header_wins_over_x_ratelimit_reset():
    sleeps = Sleeps()
    headers = {"Retry-After": "2", "X-RateLimit-Reset": str(int(time.time()) + 25)}
    client = make_client(Script(httpx.Response(429, headers=headers), ok()), retry=policy(sleeps))
    await client.request("GET", "/v2/alerts")
    assert sleeps.waits == [2.0]


async def test_incident_io_rate_limit_body_is_the_last_fallback():
    sleeps = Sleeps()
    when = (datetime.now(UTC) + timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
    body = {
        "type": "too_many_requests",
        "status": 429,
        "request_id": "r-1",
        "errors": [{"code": "too_many_requests", "message": "Too many requests"}],
        "rate_limit": {"name": "api_key", "limit": 1200, "remaining": 0, "retry_after": when},
    }
    client = make_client(Script(httpx.Response(429, json=body), ok()), retry=policy(sleeps))
    await client.request("GET", "/v2/alerts")
    assert len(sleeps.waits) == 1 and 8.0 <= sleeps.waits[0] <= 10.0


async def test_429_without_hints_backs_off_with_jitter_and_is_bounded():
    sleeps = Sleeps()
    script = Script(httpx.Response(429))
    client = make_client(script, retry=policy(sleeps, attempts=3, base=0.5, cap=1.0))
    err = await fail(client)
    assert isinstance(err, RateLimited) and err.retry_after is None
    assert script.calls == 3
    assert len(sleeps.waits) == 2
    assert all(0.0 <= w <= 1.0 for w in sleeps.waits)
    assert str(err) == "incident.io: rate limited"


async def test_429_is_retried_even_for_a_plain_post():
    # 429 means the request was not processed, so sending it again is safe.
    script = Script(httpx.Response(429, headers={"Retry-After": "1"}), ok())
    client = make_client(script)
    assert await client.request("POST", "/v2/incidents", json_body={"a": 1}) == {"ok": True}
    assert script.calls == 2


# ----------------------------------------------------------------------------- 5xx


async def test_5xx_burst_is_retried_for_get():
    sleeps = Sleeps()
    script = Script(httpx.Response(503), httpx.Response(500), httpx.Response(502), ok())
    client = make_client(script, retry=policy(sleeps, attempts=4))
    assert await client.request("GET", "/v2/alerts") == {"ok": True}
    assert script.calls == 4
    assert len(sleeps.waits) == 3 and all(0 <= w <= 0.01 for w in sleeps.waits)


async def test_5xx_is_retried_for_an_idempotent_post():
    script = Script(httpx.Response(502), ok())
    client = make_client(script)
    body = await client.request("POST", "/v2/incidents", json_body={"k": 1}, idempotent=True)
    assert body == {"ok": True} and script.calls == 2
    assert [r.method for r in script.requests] == ["POST", "POST"]
    assert script.requests[0].content == script.requests[1].content


async def test_5xx_is_not_retried_for_a_plain_post():
    script = Script(httpx.Response(500), ok())
    client = make_client(script)
    err = await fail(client, "POST", "/v2/incidents", json_body={"k": 1})
    assert isinstance(err, ServerError) and err.status == 500
    assert script.calls == 1


async def test_5xx_attempts_are_bounded():
    script = Script(httpx.Response(500, json={"message": "boom"}))
    client = make_client(script, retry=policy(attempts=3))
    err = await fail(client)
    assert isinstance(err, ServerError)
    assert str(err) == "incident.io: server error 500: boom"
    assert script.calls == 3


async def test_no_retry_starts_when_its_wait_would_pass_the_total_budget():
    sleeps = Sleeps()
    script = Script(httpx.Response(503, headers={"Retry-After": "20"}), ok())
    client = make_client(script, retry=policy(sleeps, total=10, max_retry_after=30))
    err = await fail(client)
    assert isinstance(err, ServerError) and err.retry_after == 20.0
    assert script.calls == 1 and sleeps.waits == []


async def test_no_retry_policy_sends_once():
    script = Script(httpx.Response(500))
    client = make_client(script, retry=NO_RETRY)
    await fail(client)
    assert script.calls == 1


# ------------------------------------------------------------------ transport errors


async def test_connect_error_becomes_network_error_and_retries_are_bounded():
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"))
    client = make_client(script, retry=policy(attempts=3))
    err = await fail(client)
    assert isinstance(err, NetworkError) and err.retryable
    assert str(err) == (
        "incident.io: cannot reach https://api.example.test: [Errno 111] Connection refused"
    )
    assert script.calls == 3


async def test_a_post_that_never_connected_is_retried():
    script = Script(httpx.ConnectError("refused"), ok())
    client = make_client(script)
    assert await client.request("POST", "/v2/incidents", json_body={}) == {"ok": True}
    assert script.calls == 2


async def test_read_timeout_becomes_network_error():
    script = Script(httpx.ReadTimeout("timed out"))
    client = make_client(script, retry=policy(attempts=2))
    err = await fail(client)
    assert isinstance(err, NetworkError)
    assert str(err) == "incident.io: GET /v2/alerts timed out"
    assert script.calls == 2


async def test_read_timeout_on_a_plain_post_is_not_retried():
    # The server may have acted on it: sending it again could declare twice.
    script = Script(httpx.ReadTimeout("timed out"), ok())
    client = make_client(script)
    err = await fail(client, "POST", "/v2/incidents", json_body={})
    assert isinstance(err, NetworkError) and script.calls == 1


class DropsMidBody(httpx.AsyncByteStream):
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __aiter__(self):
        yield b'{"alerts": [{"id": "01H'
        raise self.error

    async def aclose(self) -> None:
        pass


class DroppingTransport(httpx.AsyncBaseTransport):
    """Sends headers and half a body, then the connection goes."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return httpx.Response(200, stream=DropsMidBody(self.error), request=request)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (httpx.RemoteProtocolError("peer closed connection"), "connection dropped"),
        (httpx.ReadError("reset by peer"), "connection dropped"),
        (httpx.ReadTimeout("slow"), "timed out while reading"),
    ],
)
async def test_a_body_that_drops_midway_becomes_network_error(error, words):
    transport = DroppingTransport(error)
    client = make_client(transport, retry=policy(attempts=3))
    err = await fail(client)
    assert isinstance(err, NetworkError) and words in str(err)
    assert transport.calls == 3


async def test_broken_compression_is_a_malformed_response():
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    stream = httpx.ByteStream(b"not gzip at all")  # given as bytes, httpx would decode now
    script = Script(httpx.Response(200, stream=stream, headers=headers))
    err = await fail(make_client(script))
    assert isinstance(err, MalformedResponse)
    assert "could not be decoded" in str(err)


async def test_gzip_body_is_read():
    body = gzip.compress(json.dumps({"ok": True}).encode())
    script = Script(httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"}))
    assert await make_client(script).request("GET", "/x") == {"ok": True}


# -------------------------------------------------------------------- error bodies

INCIDENT_IO_422 = {
    "type": "validation_error",
    "status": 422,
    "request_id": "631766c4-0b8b-4d4c-a8e3-8e0bd6b6e3a1",
    "errors": [
        {
            "code": "is_required",
            "message": "A severity is required to open an incident",
            "source": {"field": "severity_id", "pointer": "/severity_id"},
        },
        {
            "code": "invalid_value",
            "message": "must be one of: public, private",
            "source": {"field": "visibility"},
        },
    ],
}


async def test_incident_io_validation_error_is_readable_and_keeps_field_errors():
    err = await fail(make_client(Script(httpx.Response(422, json=INCIDENT_IO_422))), "POST")
    assert isinstance(err, InvalidRequest)
    assert err.status == 422 and err.type == "validation_error"
    assert err.request_id == INCIDENT_IO_422["request_id"]
    assert err.errors == (
        FieldError("is_required", "A severity is required to open an incident", "severity_id"),
        FieldError("invalid_value", "must be one of: public, private", "visibility"),
    )
    assert str(err) == (
        "incident.io: A severity is required to open an incident "
        "(visibility: must be one of: public, private) "
        "[request 631766c4-0b8b-4d4c-a8e3-8e0bd6b6e3a1]"
    )


@pytest.mark.parametrize(
    ("response", "kind", "text"),
    [
        (
            httpx.Response(400, json={"message": "bad matcher: unexpected }"}),
            InvalidRequest,
            "grafana: bad matcher: unexpected }",
        ),
        (
            httpx.Response(400, json="silence invalid: start time must be before end time"),
            InvalidRequest,
            "grafana: silence invalid: start time must be before end time",
        ),
        (
            httpx.Response(
                400, text="bad request: parse error", headers={"Content-Type": "text/plain"}
            ),
            InvalidRequest,
            "grafana: bad request: parse error",
        ),
        (
            httpx.Response(
                502,
                text="<html><head><title>502 Bad Gateway</title></head>"
                "<body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>",
                headers={"Content-Type": "text/html"},
            ),
            ServerError,
            "grafana: server error 502: an HTML error page (502 Bad Gateway)",
        ),
        (
            httpx.Response(403, text="<!DOCTYPE html>\n<html><body>Forbidden</body></html>"),
            AuthError,
            "grafana: an HTML error page",
        ),
        (httpx.Response(401), AuthError, "grafana: the credentials were refused"),
        (httpx.Response(403), AuthError, "grafana: the credentials lack permission"),
        (httpx.Response(404), NotFound, "grafana: not found"),
        (httpx.Response(409), Conflict, "grafana: conflict with the current state"),
        (httpx.Response(412), Conflict, "grafana: precondition failed"),
        (httpx.Response(422), InvalidRequest, "grafana: the request was refused"),
        (httpx.Response(500, content=b""), ServerError, "grafana: server error 500: HTTP 500"),
        (
            httpx.Response(404, json={"message": "alert rule not found"}),
            NotFound,
            "grafana: alert rule not found",
        ),
        (
            httpx.Response(409, json={"message": "version conflict", "error": "x"}),
            Conflict,
            "grafana: version conflict",
        ),
    ],
)
async def test_error_bodies_become_typed_one_line_messages(response, kind, text):
    client = make_client(Script(response), retry=NO_RETRY, source="grafana")
    err = await fail(client)
    assert type(err) is kind
    assert str(err) == text
    assert "\n" not in str(err) and "<" not in err.message


async def test_redirects_are_not_followed_and_say_what_happened():
    script = Script(httpx.Response(302, headers={"Location": "https://sso.example/login"}))
    err = await fail(make_client(script))
    assert type(err) is ApiError and err.status == 302
    assert "redirected to https://sso.example/login" in str(err)
    assert script.calls == 1


@pytest.mark.parametrize(
    "body",
    [
        {"errors": 5},
        {"errors": "oops"},
        {"errors": [None, 3, {"source": "x", "message": {"nested": True}}]},
        {"message": {"not": "text"}, "type": ["x"], "request_id": 7},
        [1, 2, 3],
        12,
        None,
        "[" * 50_000,
    ],
)
async def test_odd_error_bodies_still_give_a_typed_error(body):
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    err = await fail(make_client(Script(httpx.Response(400, content=content))))
    assert isinstance(err, InvalidRequest)
    assert str(err).startswith("incident.io: ") and "\n" not in str(err)


async def test_terminal_escapes_in_an_error_body_are_removed():
    body = {"message": "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[2Jbad\u202e"}
    err = await fail(make_client(Script(httpx.Response(400, json=body))))
    assert str(err) == "incident.io: click bad"


async def test_a_broken_custom_error_parser_does_not_hide_the_error():
    def parser(status, body, text):
        raise KeyError("bug")

    client = make_client(Script(httpx.Response(404, json={"message": "gone"})), error_parser=parser)
    err = await fail(client)
    assert isinstance(err, NotFound) and str(err) == "incident.io: gone"


# ------------------------------------------------------------------ success bodies


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"alerts": [{"id": "01H', "malformed or truncated JSON"),
        (b"{'single': 'quotes'}", "malformed or truncated JSON"),
        (b"\xff\xfe\x00garbage", "malformed or truncated JSON"),
        (b"[" * 100_000, "malformed or truncated JSON"),
        (b"<!doctype html><title>Sign in</title>", "HTML (a proxy or login page?)"),
    ],
)
async def test_unreadable_success_bodies_are_malformed_responses(content, words):
    script = Script(httpx.Response(200, content=content))
    err = await fail(make_client(script))
    assert isinstance(err, MalformedResponse)
    assert str(err) == f"incident.io: GET /v2/alerts answered with {words}"
    assert script.calls == 1  # not retried: it would answer the same


async def test_a_body_over_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(http_mod, "MAX_RESPONSE_BYTES", 1024)

    async def chunks():
        for _ in range(10):
            yield b" " * 300

    # No Content-Length: the cap holds while reading.
    script = Script(lambda request: httpx.Response(200, content=chunks()))
    err = await fail(make_client(script))
    assert isinstance(err, MalformedResponse)
    assert "larger than 1 KB" in str(err)


async def test_a_declared_length_over_the_cap_is_refused_before_reading(monkeypatch):
    monkeypatch.setattr(http_mod, "MAX_RESPONSE_BYTES", 1024)
    script = Script(httpx.Response(200, json={"x": "y" * 2000}))
    err = await fail(make_client(script))
    assert isinstance(err, MalformedResponse) and "larger than 1 KB" in str(err)


async def test_a_body_at_the_cap_is_read(monkeypatch):
    monkeypatch.setattr(http_mod, "MAX_RESPONSE_BYTES", 1024)
    body = json.dumps({"x": "y" * 1000}).encode()
    assert len(body) <= 1024
    assert await make_client(Script(httpx.Response(200, content=body))).request("GET", "/x")


@pytest.mark.parametrize(
    ("method", "status", "allow_empty"),
    [
        ("POST", 204, False),
        ("POST", 202, False),
        ("GET", 204, False),
        ("DELETE", 200, False),
        ("PUT", 200, False),
        ("GET", 200, True),
    ],
)
async def test_empty_bodies_are_none_where_they_are_expected(method, status, allow_empty):
    client = make_client(Script(httpx.Response(status)))
    assert await client.request(method, "/x", allow_empty=allow_empty) is None


async def test_an_empty_200_to_a_get_is_not_read_as_nothing():
    # A proxy that swallowed the body must not look like "no alerts".
    err = await fail(make_client(Script(httpx.Response(200, content=b"  \n"))))
    assert isinstance(err, MalformedResponse) and "empty body" in str(err)


async def test_json_is_returned_parsed():
    body = {"alerts": [{"id": "a", "title": "Disk full"}], "pagination_meta": {"after": None}}
    assert await make_client(Script(ok(body))).request("GET", "/v2/alerts") == body


async def test_request_sends_params_json_headers_and_auth():
    script = Script(ok())
    client = make_client(script, headers={"X-Grafana-Org-Id": "3"})
    await client.request(
        "post",
        "/v2/incidents",
        params={"a": "1"},
        json_body={"name": "x"},
        headers={"Idempotency-Key": "k1"},
        idempotent=True,
    )
    sent = script.requests[0]
    assert sent.method == "POST" and sent.url == httpx.URL(f"{BASE}/v2/incidents?a=1")
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["X-Grafana-Org-Id"] == "3"
    assert sent.headers["Idempotency-Key"] == "k1"
    assert sent.headers["User-Agent"].startswith("oncall-tui/")
    assert json.loads(sent.content) == {"name": "x"}


# ---------------------------------------------------------------------- redaction


def echo_auth(status: int, shape: str) -> Callable[[httpx.Request], httpx.Response]:
    """A server that puts our Authorization header in its error body."""

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        if shape == "message":
            return httpx.Response(status, json={"message": f"bad header: {auth}"})
        if shape == "long":  # the token would straddle the cut at 500 characters
            return httpx.Response(status, json={"message": "x" * 480 + " " + auth})
        if shape == "fields":
            errors = [
                {"code": "x", "message": "first"},
                {"code": auth, "message": f"got {auth}", "source": {"field": auth}},
            ]
            return httpx.Response(status, json={"errors": errors, "request_id": auth})
        if shape == "text":
            return httpx.Response(status, text=f"denied for {auth}\n" + "y" * 300)
        if shape == "html":
            return httpx.Response(status, text=f"<html><title>{auth}</title></html>")
        if shape == "string":
            return httpx.Response(status, json=f"token {auth} rejected")
        raise AssertionError(shape)

    return handler


def transport_error_with_token(request: httpx.Request) -> httpx.Response:
    # h11 refuses odd header values and quotes them; pretend it did.
    raise httpx.LocalProtocolError(f"Illegal header value {request.headers['authorization']!r}")


def connect_error_with_token(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("x" * 190 + request.headers["authorization"])


FAILURES = [
    *[(echo_auth(s, shape)) for s in (401, 403, 422, 500) for shape in ("message", "fields")],
    *[echo_auth(401, shape) for shape in ("long", "text", "html", "string")],
    echo_auth(429, "fields"),
    transport_error_with_token,
    connect_error_with_token,
    lambda request: httpx.Response(200, content=b"{" + TOKEN.encode()),
    lambda request: httpx.Response(302, headers={"Location": f"https://x.example/?t={TOKEN}"}),
]


def leaks(err: BaseException) -> list[str]:
    shown = {
        "str": str(err),
        "repr": repr(err),
        "traceback": "".join(traceback.format_exception(err)),
        "traceback with locals": "".join(
            traceback.TracebackException.from_exception(err, capture_locals=True).format()
        ),
        "attributes": repr(vars(err)),
    }
    return [where for where, text in shown.items() if TOKEN in text or TOKEN[:12] in text]


@pytest.mark.parametrize("handler", FAILURES)
async def test_the_token_never_shows_in_any_failure(handler):
    client = make_client(Script(handler), retry=policy(attempts=2))
    with pytest.raises(ApiError) as info:
        await client.request("GET", "/v2/alerts")
    assert leaks(info.value) == []
    assert "***" in str(info.value) or TOKEN not in str(handler)


async def test_the_token_never_shows_in_the_client_repr():
    client = make_client(Script(ok()))
    assert TOKEN not in repr(client) and TOKEN not in str(client)
    assert repr(client) == "ApiClient(source='incident.io', base_url='https://api.example.test')"


def test_credentials_in_the_base_url_are_not_shown():
    transport = httpx.MockTransport(Script(ok()))
    client = ApiClient("am", "https://admin:hunter2@am.example", transport=transport)
    assert "hunter2" not in repr(client)
    assert client.display_url == "https://***@am.example"


def test_secret_never_shows_its_value():
    secret = Secret(TOKEN)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r:>5}", repr([secret])):
        assert TOKEN not in text
    assert secret.reveal() == TOKEN and bool(secret)
    assert not Secret(None) and not Secret("")
    with pytest.raises(TypeError):
        pickle.dumps(secret)


async def test_a_token_with_a_trailing_newline_is_sent_clean():
    script = Script(ok())
    client = ApiClient(
        "x", BASE, f"{TOKEN}\n", transport=httpx.MockTransport(script), stats=RequestStats()
    )
    await client.request("GET", "/x")
    assert script.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


# ----------------------------------------------------------------------- URL policy


@pytest.mark.parametrize(
    "url",
    [
        "https://api.incident.io",
        "https://grafana.example.com/",
        "http://127.0.0.1:9093",
        "http://127.8.0.1",
        "http://[::1]:3000",
        "http://localhost:8080",
    ],
)
def test_https_and_loopback_http_are_allowed(url):
    client = ApiClient("x", url, TOKEN)
    assert client.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.incident.io",
        "http://grafana.internal:3000",
        "http://10.0.0.1",
        "http://127.0.0.1.nip.io",
        "ftp://example.com",
        "api.incident.io",
        "https://",
        "https://host:notaport",
    ],
)
def test_other_base_urls_are_refused(url):
    with pytest.raises(UnsafeUrl):
        ApiClient("x", url, TOKEN)


def test_a_transport_allows_any_base_url():
    transport = httpx.MockTransport(Script(ok()))
    client = ApiClient("sim", "http://incident.sim", TOKEN, transport=transport)
    assert client.base_url == "http://incident.sim"


# ----------------------------------------------------------------------- accounting


async def test_every_attempt_is_counted_per_source_and_endpoint():
    stats = RequestStats()
    flaky = make_client(
        Script(httpx.Response(503), httpx.Response(500), ok()), stats=stats, source="incident.io"
    )
    steady = make_client(Script(ok()), stats=stats, source="grafana")
    await flaky.request("GET", "/v2/alerts?page_size=25")
    await steady.request("GET", "/api/v2/alerts")
    await steady.request("GET", "/api/v2/alerts")
    with pytest.raises(ServerError):
        await make_client(Script(httpx.Response(500)), stats=stats, source="grafana").request(
            "POST", "/api/v2/silences", json_body={}
        )
    assert stats.total == 6
    assert stats.by_source == {"incident.io": 3, "grafana": 3}
    assert stats.by_endpoint == {
        "incident.io GET /v2/alerts": 3,
        "grafana GET /api/v2/alerts": 2,
        "grafana POST /api/v2/silences": 1,
    }


async def test_network_failures_are_counted_too():
    stats = RequestStats()
    client = make_client(Script(httpx.ConnectError("no")), stats=stats, retry=policy(attempts=3))
    await fail(client)
    assert stats.by_endpoint["incident.io GET /v2/alerts"] == 3


async def test_lone_surrogates_in_json_become_replacement_characters():
    # JSON may carry "\ud800"; no terminal, file or URL encoder accepts it.
    content = b'{"title\\ud800": ["a\\udfffb", {"ok": "\\ud83d\\ude00"}], "raw": "\xed\xa0\x80"}'
    body = await make_client(Script(httpx.Response(200, content=content))).request("GET", "/x")
    assert body == {"title\ufffd": ["a\ufffdb", {"ok": "\U0001f600"}], "raw": "\ufffd"}
    json.dumps(body, ensure_ascii=False).encode("utf-8")


async def test_deeply_nested_json_with_surrogates_is_walked_without_recursion():
    depth = 900
    content = ("[" * depth + '"\\ud800"' + "]" * depth).encode()
    body = await make_client(Script(httpx.Response(200, content=content))).request("GET", "/x")
    for _ in range(depth):
        body = body[0]
    assert body == "\ufffd"
