"""Fuzz the HTTP layer: any status, headers and body give data or a typed ApiError.

Whatever a server (or a proxy in front of it) answers, ``ApiClient.request`` returns
parsed JSON or raises an :class:`ApiError` subclass whose message is one clean line
that never contains the token. Retry waits are recorded, not spent.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncall_tui.backends.http import (
    ApiClient,
    ApiError,
    RateLimited,
    RequestStats,
    RetryPolicy,
    parse_retry_after,
)

TOKEN = "sk_live_fuzzTOKEN0123456789abcdef"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from([TOKEN, f"Bearer {TOKEN}", "\x1b]0;x\x07", "\u202e", "<html>"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)

error_shaped = st.fixed_dictionaries(
    {},
    optional={
        "type": json_values,
        "status": json_values,
        "request_id": json_values,
        "message": json_values,
        "error": json_values,
        "errors": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "code": json_values,
                    "message": json_values,
                    "source": st.fixed_dictionaries({}, optional={"field": json_values})
                    | json_values,
                },
            )
            | json_values,
            max_size=3,
        )
        | json_values,
        "rate_limit": st.fixed_dictionaries({}, optional={"retry_after": json_values})
        | json_values,
    },
)

bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    error_shaped.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"",
            b"<html><title>502 Bad Gateway</title></html>",
            b'{"alerts": [',
            b"[" * 5000,
            f"denied: Bearer {TOKEN}".encode(),
            b'"\\ud800"',
        ]
    ),
)

header_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    st.sampled_from(
        ["0", "1", "-1", "1e400", "nan", "Wed, 21 Oct 2015 07:28:00 GMT", "99999999999"]
    ),
)
headers = st.dictionaries(
    st.sampled_from(["Retry-After", "X-RateLimit-Reset", "Content-Type", "Location", "X-Other"]),
    header_values,
    max_size=3,
)
statuses = st.one_of(
    st.sampled_from(
        [200, 201, 202, 204, 301, 302, 400, 401, 403, 404, 409, 412, 422, 429, 500, 502, 503]
    ),
    st.integers(100, 599),
)


async def _noop_sleep(seconds: float) -> None:
    assert seconds >= 0


@FUZZ
@given(
    answers=st.lists(st.tuples(statuses, headers, bodies), min_size=1, max_size=4),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
)
def test_any_answer_gives_data_or_a_typed_clean_error(answers, method):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        status, extra, body = answers[min(len(calls), len(answers) - 1)]
        calls.append(request)
        if 100 <= status < 200:
            status = 200  # an interim status cannot be a final answer
        return httpx.Response(status, headers=extra, content=body)

    client = ApiClient(
        "fuzz",
        "https://api.example.test",
        TOKEN,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=3, base=0.001, cap=0.01, sleep=_noop_sleep),
        stats=RequestStats(),
    )

    async def go():
        async with client:
            return await client.request(method, "/v2/things")

    try:
        result = asyncio.run(go())
    except ApiError as err:
        text = str(err)
        assert "\n" not in text and not _UNSAFE.search(text), ascii(text)
        assert TOKEN not in text and TOKEN not in repr(err) and TOKEN not in repr(vars(err))
        if isinstance(err, RateLimited) and err.retry_after is not None:
            assert err.retry_after >= 0
    else:
        json.dumps(result, ensure_ascii=False).encode("utf-8")  # no lone surrogates
    assert 1 <= len(calls) <= 3


@FUZZ
@given(value=st.one_of(st.none(), st.text(max_size=60), header_values))
def test_parse_retry_after_never_raises(value):
    seconds = parse_retry_after(value)
    assert seconds is None or (seconds >= 0 and seconds != float("inf"))
