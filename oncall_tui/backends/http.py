"""One way to talk HTTP to every backend.

``ApiClient`` wraps an ``httpx.AsyncClient`` with what all our backends need:

* timeouts, a user agent, TLS verification, and plain ``http://`` refused except to
  loopback (an in-process ASGI transport is allowed any base URL);
* retries with jittered exponential backoff (tenacity) that honour ``Retry-After`` on
  429 and 503, bounded in attempts and total wait; transport errors and 5xx are retried
  only for idempotent calls (GET/HEAD/PUT/DELETE, or a POST that carries an
  idempotency key);
* error bodies (incident.io's ``{type, status, request_id, errors[]}``, Grafana's
  ``{message}``, Alertmanager's plain strings) mapped to typed :class:`ApiError`;
* a cap on response size, and a readable error for HTML or truncated JSON;
* an overall deadline for each attempt (a server that trickles bytes cannot hold a
  request open for ever: the per-read timeout alone restarts with every byte);
* ``Retry-After`` kept within [1 s, 5 min], and the ``X-RateLimit-*`` headers of every
  response read into :class:`RateLimit` (``client.rate_limit``) so polls can be paced;
* the token kept out of reprs, messages, logs and tracebacks;
* request accounting, so benchmarks and the status bar can tell how chatty we are.

Errors live in :mod:`oncall_tui.backends.http_errors`, pacing (accounting, retry-after,
rate limits, the retry policy) in :mod:`oncall_tui.backends.http_pacing`; both are
re-exported here.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn, Self

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from oncall_tui import __version__
from oncall_tui.backends.http_errors import _HTML_TITLE as _HTML_TITLE
from oncall_tui.backends.http_errors import ApiError as ApiError
from oncall_tui.backends.http_errors import AuthError as AuthError
from oncall_tui.backends.http_errors import Conflict as Conflict
from oncall_tui.backends.http_errors import ErrorParser as ErrorParser
from oncall_tui.backends.http_errors import FieldError as FieldError
from oncall_tui.backends.http_errors import InvalidRequest as InvalidRequest
from oncall_tui.backends.http_errors import MalformedResponse as MalformedResponse
from oncall_tui.backends.http_errors import NetworkError as NetworkError
from oncall_tui.backends.http_errors import NotFound as NotFound
from oncall_tui.backends.http_errors import RateLimited as RateLimited
from oncall_tui.backends.http_errors import ServerError as ServerError
from oncall_tui.backends.http_errors import _Context as _Context
from oncall_tui.backends.http_errors import _ErrorFields as _ErrorFields
from oncall_tui.backends.http_errors import _html_summary as _html_summary
from oncall_tui.backends.http_errors import _text_field as _text_field
from oncall_tui.backends.http_errors import default_error_parser as default_error_parser
from oncall_tui.backends.http_pacing import _RATE_ITEM as _RATE_ITEM
from oncall_tui.backends.http_pacing import _WINDOW_PARAM as _WINDOW_PARAM
from oncall_tui.backends.http_pacing import GLOBAL_STATS as GLOBAL_STATS
from oncall_tui.backends.http_pacing import MAX_RETRY_AFTER as MAX_RETRY_AFTER
from oncall_tui.backends.http_pacing import MIN_RETRY_AFTER as MIN_RETRY_AFTER
from oncall_tui.backends.http_pacing import NO_RETRY as NO_RETRY
from oncall_tui.backends.http_pacing import RATE_WINDOW as RATE_WINDOW
from oncall_tui.backends.http_pacing import RateLimit as RateLimit
from oncall_tui.backends.http_pacing import RequestStats as RequestStats
from oncall_tui.backends.http_pacing import RetryPolicy as RetryPolicy
from oncall_tui.backends.http_pacing import _body_retry_after as _body_retry_after
from oncall_tui.backends.http_pacing import _rate_values as _rate_values
from oncall_tui.backends.http_pacing import _reset_wait as _reset_wait
from oncall_tui.backends.http_pacing import bound_retry_after as bound_retry_after
from oncall_tui.backends.http_pacing import parse_rate_limit as parse_rate_limit
from oncall_tui.backends.http_pacing import parse_retry_after as parse_retry_after
from oncall_tui.safety import check_api_url, clean_text, display_url

USER_AGENT = f"oncall-tui/{__version__}"
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


# ------------------------------------------------------------------ redaction


class Secret:
    """A token that never shows itself in a repr, an f-string or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        # A token read from a file or a keyring often ends with a newline; a header
        # value with one is refused by the HTTP stack with the token in the message.
        self._value = (value or "").strip()

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def redact(self, text: str) -> str:
        return text.replace(self._value, "***") if self._value else text

    def redact_bytes(self, data: bytes) -> bytes:
        if not self._value:
            return data
        try:
            needle = self._value.encode("utf-8")
        except UnicodeEncodeError:  # pragma: no cover - lone surrogates in a token
            return data
        return data.replace(needle, b"***")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or copied")


_SURROGATE_IN_BODY = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    """Replace lone surrogates in every string (keys too) with U+FFFD.

    JSON can carry ``"\\ud800"``; Python keeps it as a string no terminal, file or URL
    encoder accepts. Walked without recursion: the document may be deeply nested.
    """

    def fix(item: Any) -> Any:
        return _SURROGATE.sub("\ufffd", item) if isinstance(item, str) else item

    root = [fix(value)]
    stack: list[list[Any] | dict[str, Any]] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                node[index] = fix(item)
                if isinstance(item, list | dict):
                    stack.append(item)
        else:
            for key in list(node):
                item = node.pop(key)
                node[fix(key)] = fix(item)
                if isinstance(item, list | dict):
                    stack.append(item)
    return root[0]


def _loads(body: bytes) -> Any:
    """``json.loads`` that fails only with ``ValueError`` (deep nesting included) and
    never returns a string with a lone surrogate in it."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if _SURROGATE_IN_BODY.search(body):
        value = _without_surrogates(value)
    return value


_STATUS_TEXT = {
    400: "the request was refused",
    401: "the credentials were refused",
    403: "the credentials lack permission",
    404: "not found",
    405: "method not allowed",
    408: "the request timed out",
    409: "conflict with the current state",
    412: "precondition failed",
    413: "the request was too large",
    422: "the request was refused",
    429: "rate limited",
}


class ApiClient:
    """Base for typed API clients. Subclasses add methods; this does the HTTP."""

    def __init__(
        self,
        source: str,
        base_url: str,
        token: Secret | str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        verify: bool = True,
        stats: RequestStats | None = None,
        error_parser: ErrorParser = default_error_parser,
        auth_scheme: str = "Bearer",
        deadline: float | None = None,
    ) -> None:
        if transport is None:
            base_url = check_api_url(base_url)
        self.source = source
        self.base_url = base_url.rstrip("/")
        # What messages and reprs show: the base URL without any user:password part.
        self.display_url = display_url(self.base_url)
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.retry = retry or RetryPolicy()
        self.stats = stats if stats is not None else GLOBAL_STATS
        self._error_parser = error_parser
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._token:
            all_headers["Authorization"] = f"{auth_scheme} {self._token.reveal()}"
        all_headers.update(headers or {})
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=all_headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            verify=verify,
            follow_redirects=False,
        )
        self.last_rate_limit: dict[str, str] = {}
        # The latest X-RateLimit-* a response carried (None until one does).
        self.rate_limit: RateLimit | None = None
        # The server's own clock: its latest ``Date`` header, and time.monotonic() then.
        self.server_date: tuple[datetime, float] | None = None
        # Each attempt, from sending to the last byte, ends by this many seconds.
        self.deadline = deadline if deadline is not None else deadline_for(timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source={self.source!r}, base_url={self.display_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the one entry point -------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        allow_empty: bool = False,
    ) -> Any:
        """Send a request and return its parsed JSON body.

        ``None`` comes back for an empty body on 202/204, on any method but GET, or when
        ``allow_empty`` is true; an empty 200 to a GET is a :class:`MalformedResponse`
        (a proxy that swallowed the body must not read as "nothing to show").

        ``idempotent`` defaults to the method's nature; pass ``True`` for a POST that
        carries an idempotency key. A request that never left (the connection could
        not be made) is retried whatever the method.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, RateLimited):
                return exc.retry_after is None or exc.retry_after <= self.retry.max_retry_after
            if isinstance(exc, NetworkError) and not getattr(exc, "sent", True):
                return True
            if isinstance(exc, ServerError | NetworkError):
                return idempotent
            return False

        options: dict[str, Any] = {}
        if self.retry.sleep is not None:
            options["sleep"] = self.retry.sleep
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts) | stop_before_delay(self.retry.total),
            wait=self.retry.wait,
            retry=retry_if_exception(should_retry),
            reraise=True,
            **options,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, params, json_body, headers, allow_empty)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        path: str,
        params: Any,
        json_body: Any,
        headers: Mapping[str, str] | None,
        allow_empty: bool,
    ) -> Any:
        self.stats.record(self.source, method, path.split("?")[0])
        context: _Context = {"source": self.source, "method": method, "path": path}
        try:
            request = self._http.build_request(
                method, path, params=params, json=json_body, headers=headers
            )
        except httpx.InvalidURL as exc:
            reason = clean_text(self._token.redact(str(exc)), limit=200)
            raise InvalidRequest(
                f"{method} {path}: not a valid URL ({reason})", **context
            ) from None
        try:
            async with asyncio.timeout(self.deadline):
                return await self._exchange(request, context, allow_empty)
        except TimeoutError:
            raise NetworkError(
                f"{method} {path}: no complete answer within {self.deadline:g} s", **context
            ) from None

    async def _exchange(self, request: httpx.Request, context: _Context, allow_empty: bool) -> Any:
        method, path = context["method"], context["path"]
        try:
            response = await self._http.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            err = NetworkError(f"cannot reach {self.display_url}: {self._reason(exc)}", **context)
            err.sent = False  # nothing reached the server: safe to retry any method
            raise err from None
        except httpx.TimeoutException:
            raise NetworkError(f"{method} {path} timed out", **context) from None
        except httpx.DecodingError:
            raise MalformedResponse(_UNDECODABLE, **context) from None
        except (httpx.HTTPError, OSError) as exc:
            raise NetworkError(
                f"cannot reach {self.display_url}: {self._reason(exc)}", **context
            ) from None
        try:
            # A server may echo our Authorization header back: the token leaves the
            # raw bytes before anything is parsed, cut to length, kept or raised.
            body = self._token.redact_bytes(await self._read_capped(response, context))
        finally:
            await response.aclose()
        self._remember_rate_limit(response.headers)
        self._remember_date(response.headers.get("date"))
        status = response.status_code
        if 200 <= status < 300:
            return self._parse_ok(status, response.headers, body, allow_empty, context)
        raise self._error(status, response.headers, body, context)

    def _reason(self, exc: BaseException) -> str:
        """An exception's text, token removed before it is cut to length."""
        return clean_text(self._token.redact(str(exc)), limit=200) or type(exc).__name__

    async def _read_capped(self, response: httpx.Response, context: _Context) -> bytes:
        too_big = MalformedResponse(
            f"response larger than {_size(MAX_RESPONSE_BYTES)}; ignored",
            status=response.status_code,
            **context,
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    chunks.clear()
                    raise too_big
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise NetworkError("timed out while reading the response", **context) from None
        except httpx.DecodingError:
            raise MalformedResponse(
                _UNDECODABLE,
                status=response.status_code,
                **context,
            ) from None
        except (httpx.HTTPError, OSError):
            raise NetworkError(
                "the connection dropped while reading the response", **context
            ) from None
        return b"".join(chunks)

    def _parse_ok(
        self, status: int, headers: httpx.Headers, body: bytes, allow_empty: bool, context: _Context
    ) -> Any:
        where = f"{context['method']} {context['path']}"
        if not body.strip():
            if allow_empty or status in (202, 204, 205) or context["method"] != "GET":
                return None
            raise MalformedResponse(
                f"{where} answered {status} with an empty body (a proxy in the way?)",
                status=status,
                **context,
            )
        try:
            return _loads(body)
        except (ValueError, UnicodeDecodeError):
            is_html = body.lstrip()[:1] == b"<" or "html" in headers.get("content-type", "")
            kind = "HTML" if is_html else "malformed or truncated JSON"
            hint = " (a proxy or login page?)" if is_html else ""
            raise MalformedResponse(
                f"{where} answered with {kind}{hint}", status=status, **context
            ) from None

    def _remember_date(self, value: str | None) -> None:
        try:
            when = email.utils.parsedate_to_datetime(value) if value else None
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            self.server_date = (when.astimezone(UTC), time.monotonic())

    def _remember_rate_limit(self, headers: httpx.Headers) -> None:
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            if name in headers:
                self.last_rate_limit[name] = clean_text(headers[name], limit=100)
        seen = parse_rate_limit(headers)
        if seen is not None:
            self.rate_limit = seen

    def _error(
        self, status: int, headers: httpx.Headers, body: bytes, context: _Context
    ) -> ApiError:
        try:
            parsed: Any = _loads(body) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        text = body[:2000].decode("utf-8", "replace") if parsed is None else ""
        if text.lstrip().startswith("<"):
            text = _html_summary(body)
        try:
            message, type_, request_id, errors = self._error_parser(status, parsed, text)
        except Exception:  # a client's own parser must not hide the real error
            message, type_, request_id, errors = default_error_parser(status, parsed, text)
        redact = self._token.redact
        message = redact(str(message or ""))
        errors = [
            FieldError(
                code=redact(e.code), message=redact(e.message), field=e.field and redact(e.field)
            )
            for e in errors
        ]
        type_ = redact(type_) if type_ else None
        request_id = redact(request_id) if request_id else None
        if message in ("", f"HTTP {status}") and status in _STATUS_TEXT:
            message = _STATUS_TEXT[status]
        kwargs: _ErrorFields = {
            "status": status,
            "type": type_,
            "request_id": request_id,
            "errors": errors,
            **context,
        }
        if status == 429:
            asked = parse_retry_after(headers.get("retry-after"))
            if asked is None:
                asked = _reset_wait(headers.get("x-ratelimit-reset"))
            if asked is None:
                asked = _body_retry_after(parsed)
            retry_after = bound_retry_after(asked)
            if asked is None or retry_after is None:
                text = message
            elif asked > retry_after:
                text = (
                    f"rate limited; asked to wait {_duration(asked)}, "
                    f"trying again in {_duration(retry_after)}"
                )
            else:
                text = f"rate limited; retry in {math.ceil(retry_after)}s"
            limited = RateLimited(text, retry_after=retry_after, **kwargs)
            limited.asked_retry_after = asked
            return limited
        if 300 <= status < 400:
            location = display_url(clean_text(redact(headers.get("location", "")), limit=200))
            where = f" to {location}" if location else ""
            return ApiError(
                f"redirected{where} (HTTP {status}); check the base URL, or a login proxy "
                "is in the way",
                **kwargs,
            )
        if status in (401, 403):
            return AuthError(message, **kwargs)
        if status == 404:
            return NotFound(message, **kwargs)
        if status in (409, 412):
            return Conflict(message, **kwargs)
        if status >= 500:
            retry_after = (
                bound_retry_after(parse_retry_after(headers.get("retry-after")))
                if status == 503
                else None
            )
            return ServerError(
                f"server error {status}: {message}", retry_after=retry_after, **kwargs
            )
        return InvalidRequest(message, **kwargs)


_UNDECODABLE = "the response body could not be decoded (broken compression)"


def deadline_for(timeout: float) -> float:
    """The overall deadline of one attempt for a per-read ``timeout``: twice it, and
    never under 15 s (a large page on a slow link still arrives)."""
    return max(15.0, 2.0 * timeout)


def _duration(seconds: float) -> str:
    """ "45s", "5m", "2h", "1d 3h" for a message."""
    seconds = max(0, math.ceil(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{round(seconds / 60)}m"
    if seconds < 172800:
        return f"{round(seconds / 3600)}h"
    days, rest = divmod(seconds, 86400)
    return f"{days}d {round(rest / 3600)}h" if rest >= 3600 else f"{days}d"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"
