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
* the token kept out of reprs, messages, logs and tracebacks;
* request accounting, so benchmarks and the status bar can tell how chatty we are.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from oncall_tui import __version__
from oncall_tui.safety import check_api_url, clean_text

USER_AGENT = f"oncall-tui/{__version__}"
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


# ------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class FieldError:
    code: str
    message: str
    field: str | None = None


class ApiError(Exception):
    """A backend call that failed, described for a person.

    ``str(err)`` is a one-line message; the attributes carry the detail.
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        status: int | None = None,
        type: str | None = None,
        request_id: str | None = None,
        errors: Iterable[FieldError] = (),
        retry_after: float | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.message = clean_text(message, limit=1000)
        self.source = source
        self.status = status
        self.type = type
        self.request_id = request_id
        self.errors = tuple(errors)
        self.retry_after = retry_after
        self.method = method
        self.path = path
        super().__init__(self.describe())

    def describe(self) -> str:
        where = f"{self.source}: " if self.source else ""
        text = self.message
        fields = [
            f"{e.field}: {e.message}" if e.field else e.message
            for e in self.errors
            if e.message and e.message not in text
        ]
        if fields:
            text = f"{text} ({'; '.join(fields)})"
        if self.request_id:
            text = f"{text} [request {self.request_id}]"
        return f"{where}{text}"


class AuthError(ApiError):
    """401/403: the key is wrong, or lacks a role."""


class NotFound(ApiError):
    """404: the object, or (for a newer endpoint) the capability, does not exist."""


class Conflict(ApiError):
    """409/412: the request clashes with the current state."""


class InvalidRequest(ApiError):
    """400/422: the API refused what we sent; ``errors`` says which field and why."""


class RateLimited(ApiError):
    retryable = True


class ServerError(ApiError):
    retryable = True


class NetworkError(ApiError):
    """Could not reach the backend, or it did not answer in time."""

    retryable = True


class MalformedResponse(ApiError):
    """The backend answered, but not with what we can read."""


# ------------------------------------------------------------------- accounting


@dataclass
class RequestStats:
    """Counts of requests sent, by source and by ``METHOD path``."""

    total: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def record(self, source: str, method: str, path: str) -> None:
        self.total += 1
        self.by_source[source] += 1
        self.by_endpoint[f"{source} {method} {path}"] += 1


GLOBAL_STATS = RequestStats()


# ------------------------------------------------------------------ redaction


class Secret:
    """A token that never shows itself in a repr, an f-string or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or ""

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def redact(self, text: str) -> str:
        return text.replace(self._value, "***") if self._value else text


# ---------------------------------------------------------------------- retry


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 30.0  # longer waits are returned to the caller to schedule
    total: float = 45.0

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        # full jitter: uniform in [0, min(cap, base * 2**n)]
        return random.uniform(0, min(self.cap, self.base * 2 ** (state.attempt_number - 1)))


NO_RETRY = RetryPolicy(attempts=1)


# --------------------------------------------------------------------- client


ErrorParser = Callable[[int, Any, str], tuple[str, str | None, str | None, list[FieldError]]]


def default_error_parser(
    status: int, body: Any, text: str
) -> tuple[str, str | None, str | None, list[FieldError]]:
    """Return (message, type, request_id, field errors) from any error body we know."""
    if isinstance(body, Mapping):
        errors: list[FieldError] = []
        for item in body.get("errors") or ():
            if isinstance(item, Mapping):
                source = item.get("source") if isinstance(item.get("source"), Mapping) else {}
                errors.append(
                    FieldError(
                        code=clean_text(item.get("code"), limit=100),
                        message=clean_text(item.get("message"), limit=500),
                        field=clean_text(source.get("field"), limit=200) or None,
                    )
                )
        message = (
            body.get("message")
            or body.get("error")
            or (errors[0].message if errors else None)
            or body.get("type")
            or f"HTTP {status}"
        )
        return (
            clean_text(message, limit=500),
            clean_text(body.get("type"), limit=100) or None,
            clean_text(body.get("request_id"), limit=100) or None,
            errors,
        )
    if isinstance(body, str) and body.strip():
        return clean_text(body, limit=500), None, None, []
    snippet = clean_text(text, limit=200)
    return (snippet or f"HTTP {status}"), None, None, []


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
    ) -> None:
        if transport is None:
            base_url = check_api_url(base_url)
        self.source = source
        self.base_url = base_url.rstrip("/")
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.retry = retry or RetryPolicy()
        self.stats = stats or GLOBAL_STATS
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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source={self.source!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
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
        """Send a request and return its parsed JSON body (``None`` for an empty body).

        ``idempotent`` defaults to the method's nature; pass ``True`` for a POST that
        carries an idempotency key.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, RateLimited):
                return exc.retry_after is None or exc.retry_after <= self.retry.max_retry_after
            if isinstance(exc, ServerError | NetworkError):
                return idempotent
            return False

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts) | stop_after_delay(self.retry.total),
            wait=self.retry.wait,
            retry=retry_if_exception(should_retry),
            reraise=True,
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
        context = {"source": self.source, "method": method, "path": path}
        try:
            request = self._http.build_request(
                method, path, params=params, json=json_body, headers=headers
            )
            response = await self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise NetworkError(f"{method} {path} timed out", **context) from None
        except (httpx.TransportError, OSError) as exc:
            reason = self._token.redact(clean_text(str(exc), limit=200)) or type(exc).__name__
            raise NetworkError(f"cannot reach {self.base_url}: {reason}", **context) from None
        try:
            body = await self._read_capped(response, context)
        finally:
            await response.aclose()
        self._remember_rate_limit(response.headers)
        status = response.status_code
        if 200 <= status < 300:
            return self._parse_ok(status, response.headers, body, allow_empty, context)
        raise self._error(status, response.headers, body, context)

    async def _read_capped(self, response: httpx.Response, context: dict) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise MalformedResponse(
                        f"response larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB; ignored",
                        status=response.status_code,
                        **context,
                    )
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise NetworkError("timed out while reading the response", **context) from None
        except (httpx.TransportError, OSError):
            raise NetworkError(
                "the connection dropped while reading the response", **context
            ) from None
        return b"".join(chunks)

    def _parse_ok(
        self, status: int, headers: httpx.Headers, body: bytes, allow_empty: bool, context: dict
    ) -> Any:
        if not body.strip():
            if allow_empty or status in (202, 204):
                return None
            return None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            kind = "HTML" if body.lstrip()[:1] == b"<" else "malformed or truncated JSON"
            hint = " (a proxy or login page?)" if kind == "HTML" else ""
            raise MalformedResponse(
                f"{context['method']} {context['path']} answered with {kind}{hint}",
                status=status,
                **context,
            ) from None

    def _remember_rate_limit(self, headers: httpx.Headers) -> None:
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            if name in headers:
                self.last_rate_limit[name] = headers[name]

    def _error(self, status: int, headers: httpx.Headers, body: bytes, context: dict) -> ApiError:
        try:
            parsed: Any = json.loads(body) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            parsed = None
        text = body[:2000].decode("utf-8", "replace") if parsed is None else ""
        if text.lstrip().startswith("<"):
            text = "an HTML error page"
        message, type_, request_id, errors = self._error_parser(status, parsed, text)
        message = self._token.redact(message)
        if message in ("", f"HTTP {status}") and status in _STATUS_TEXT:
            message = _STATUS_TEXT[status]
        kwargs = dict(status=status, type=type_, request_id=request_id, errors=errors, **context)
        if status == 429:
            retry_after = parse_retry_after(headers.get("retry-after"))
            if retry_after is None and "x-ratelimit-reset" in headers:
                try:
                    retry_after = max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
                except ValueError:
                    retry_after = None
            return RateLimited(
                f"rate limited; retry in {retry_after:.0f}s" if retry_after else message,
                retry_after=retry_after,
                **kwargs,
            )
        if status in (401, 403):
            return AuthError(message, **kwargs)
        if status == 404:
            return NotFound(message, **kwargs)
        if status in (409, 412):
            return Conflict(message, **kwargs)
        if status >= 500:
            retry_after = parse_retry_after(headers.get("retry-after")) if status == 503 else None
            return ServerError(
                f"server error {status}: {message}", retry_after=retry_after, **kwargs
            )
        return InvalidRequest(message, **kwargs)
