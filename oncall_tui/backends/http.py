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
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn, Self, TypedDict

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from oncall_tui import __version__
from oncall_tui.safety import check_api_url, clean_text, display_url

USER_AGENT = f"oncall-tui/{__version__}"
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


# ------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class FieldError:
    code: str
    message: str
    field: str | None = None


class _Context(TypedDict):
    """Where a request went, carried into every error it raises."""

    source: str
    method: str
    path: str


class _ErrorFields(_Context):
    """What an error answer said, beside where the request went."""

    status: int
    type: str | None
    request_id: str | None
    errors: Iterable[FieldError]


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
    """429. ``retry_after`` is the wait we keep to, within [1 s, 5 min];
    ``asked_retry_after`` is what the server asked for, when it said."""

    retryable = True
    asked_retry_after: float | None = None


class ServerError(ApiError):
    retryable = True


class NetworkError(ApiError):
    """Could not reach the backend, or it did not answer in time.

    ``sent`` is false when the request never reached the server (the connection could
    not be made), so repeating it cannot do anything twice.
    """

    retryable = True
    sent = True


class MalformedResponse(ApiError):
    """The backend answered, but not with what we can read."""


# ------------------------------------------------------------------- accounting


RATE_WINDOW = 300.0  # seconds of recent requests kept to tell the request rate


@dataclass
class RequestStats:
    """Counts of requests sent, by source and by ``METHOD path``, and the times of the
    last few minutes' requests per source (for the request rate)."""

    total: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    recent: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def record(self, source: str, method: str, path: str) -> None:
        self.total += 1
        self.by_source[source] += 1
        self.by_endpoint[f"{source} {method} {path}"] += 1
        times = self.recent.setdefault(source, deque())
        now = self.clock()
        times.append(now)
        while times and times[0] < now - RATE_WINDOW:
            times.popleft()

    def per_minute(self, source: str) -> float:
        """Requests a minute to ``source`` over the last five minutes (or since start,
        when that is shorter; at least one minute, so a first burst is not inflated)."""
        now = self.clock()
        times = self.recent.get(source, ())
        count = sum(1 for t in times if t >= now - RATE_WINDOW)
        span = max(60.0, min(RATE_WINDOW, now - self.started))
        return count * 60.0 / span


GLOBAL_STATS = RequestStats()


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


# ---------------------------------------------------------------------- retry


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    try:
        return max(0.0, when.timestamp() - current)
    except (OverflowError, OSError, ValueError):  # pragma: no cover - absurd dates
        return None


def _reset_wait(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``X-RateLimit-Reset``.

    incident.io sends unix seconds; some gateways send seconds from now. A value too
    small to be a recent unix time is read as the latter.
    """
    if not value:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(reset) or reset < 0:
        return None
    if reset < 1_000_000_000:
        return reset
    current = time.time() if now is None else now
    return max(0.0, reset - current)


def _body_retry_after(body: Any, now: float | None = None) -> float | None:
    """incident.io's 429 body: ``{"rate_limit": {"retry_after": "<RFC 3339 time>"}}``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("rate_limit"), Mapping):
        return None
    raw = body["rate_limit"].get("retry_after")
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


MIN_RETRY_AFTER = 1.0  # a Retry-After of 0, negative or in the past waits this long
MAX_RETRY_AFTER = 300.0  # and a longer one is cut to five minutes


def bound_retry_after(seconds: float | None, cap: float = MAX_RETRY_AFTER) -> float | None:
    """A server's wait, kept within ``[1 s, cap]`` (None stays None).

    ``Retry-After: 0`` or a negative value must not make a hot loop, and one huge value
    (``86400``) must not leave a feed or a note waiting for a day."""
    if seconds is None:
        return None
    if not math.isfinite(seconds):
        return cap if seconds > 0 else MIN_RETRY_AFTER
    return min(max(cap, MIN_RETRY_AFTER), max(MIN_RETRY_AFTER, float(seconds)))


# ------------------------------------------------------------------ rate limits


@dataclass(frozen=True, slots=True)
class RateLimit:
    """What one response said about the shared rate limit (``X-RateLimit-*``).

    incident.io's limit is a token bucket shared by every API key of the organisation,
    refilled continuously. ``limit`` is the bucket size per ``window`` seconds (60 when
    the header does not say), ``remaining`` what is left of it. ``problem`` names a
    header that was present but could not be read; the values it would have given are
    None, and pacing by the budget is off until a response carries readable ones.
    """

    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    reset_in: float | None = None  # seconds from ``observed`` until the bucket is full
    window: float = 60.0
    observed: float = 0.0  # time.monotonic() when read
    problem: str | None = None

    @property
    def fraction_left(self) -> float | None:
        """Share of the budget left, 0..1 (None when it cannot be told)."""
        if self.limit is None or self.remaining is None or self.limit <= 0:
            return None
        return min(1.0, max(0.0, self.remaining / self.limit))

    @property
    def per_minute(self) -> float | None:
        """The limit as requests a minute."""
        if self.limit is None or self.limit <= 0:
            return None
        return self.limit * 60.0 / self.window


_RATE_ITEM = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:;(.*))?$")
_WINDOW_PARAM = re.compile(r"(?:^|;)\s*(?:w|window)\s*=\s*\"?(\d+(?:\.\d+)?)\"?\s*(?:;|$)")


def _rate_values(name: str, raw: str) -> tuple[list[tuple[float, float | None]], str | None]:
    """``[(number, window or None), …]`` from a header that may list several limits
    (``"1200, 1200;window=60"``, ``"100, 100;w=60, 5000;w=3600"``), and a problem in
    words when an item is not a non-negative number."""
    values: list[tuple[float, float | None]] = []
    problem = None
    for item in raw.split(",")[:16]:
        if not item.strip():
            continue
        match = _RATE_ITEM.match(item)
        number = float(match.group(1)) if match else math.nan
        if not match or not math.isfinite(number) or number < 0 or number > 1e12:
            shown = clean_text(item.strip(), limit=40)
            problem = f"{name} is not a count ({shown!r})"
            continue
        window = None
        params = _WINDOW_PARAM.search(match.group(2) or "")
        if params:
            window = float(params.group(1)) or None
        values.append((number, window))
    return values, problem


def parse_rate_limit(headers: Mapping[str, str], now: float | None = None) -> RateLimit | None:
    """The ``X-RateLimit-*`` headers of one response (None when it has none).

    When a header lists several limits, the first one is the limit in force and the
    lowest remaining count is what is left. Missing or unreadable values are None, with
    the reason in ``problem``; a remaining count above the limit is taken as all left."""
    lowered = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}
    if not lowered:
        return None
    observed = time.monotonic() if now is None else now
    problems: list[str] = []

    def read(name: str) -> list[tuple[float, float | None]]:
        raw = lowered.get(f"x-ratelimit-{name}")
        if raw is None:
            return []
        values, problem = _rate_values(f"X-RateLimit-{name.capitalize()}", raw)
        if problem:
            problems.append(problem)
        elif not values:
            problems.append(f"X-RateLimit-{name.capitalize()} is empty")
        return values

    limits = read("limit")
    remainings = read("remaining")
    useds = read("used")
    limit = int(limits[0][0]) if limits else None
    window = next((w for _, w in limits if w), 60.0)
    if limit is not None and limit <= 0:
        problems.append(f"X-RateLimit-Limit is {limit}")
        limit = None
    remaining = int(min(v for v, _ in remainings)) if remainings else None
    used = int(useds[0][0]) if useds else None
    reset_in = None
    if "x-ratelimit-reset" in lowered:
        reset_in = _reset_wait(lowered["x-ratelimit-reset"], time.time())
        if reset_in is None:
            shown = clean_text(lowered["x-ratelimit-reset"], limit=40)
            problems.append(f"X-RateLimit-Reset is not a time ({shown!r})")
    if remaining is None and limit is not None and used is not None:
        remaining = max(0, limit - used)
    return RateLimit(
        limit=limit,
        remaining=remaining,
        used=used,
        reset_in=reset_in,
        window=window,
        observed=observed,
        problem="; ".join(problems[:3]) or None,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 30.0  # longer waits are returned to the caller to schedule
    total: float = 45.0  # no retry starts whose wait would end after this many seconds
    # How to wait between attempts (``asyncio.sleep`` when unset). Tests and drills pass
    # a recorder here to see the waits chosen without spending them.
    sleep: Callable[[float], Awaitable[None]] | None = field(
        default=None, repr=False, compare=False
    )

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiError) and exc.retry_after is not None:
            # never less than a second: "Retry-After: 0" must not resend at once
            return min(max(exc.retry_after, MIN_RETRY_AFTER), self.max_retry_after)
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
        items = body.get("errors")
        for item in items[:20] if isinstance(items, list) else ():
            if isinstance(item, Mapping):
                source = item.get("source")
                source = source if isinstance(source, Mapping) else {}
                errors.append(
                    FieldError(
                        code=clean_text(item.get("code"), limit=100),
                        message=clean_text(item.get("message"), limit=500),
                        field=clean_text(source.get("field"), limit=200) or None,
                    )
                )
        message = (
            _text_field(body, "message")
            or _text_field(body, "error")
            or (errors[0].message if errors else None)
            or _text_field(body, "type")
            or f"HTTP {status}"
        )
        return (
            clean_text(message, limit=500),
            clean_text(_text_field(body, "type"), limit=100) or None,
            clean_text(_text_field(body, "request_id"), limit=100) or None,
            errors,
        )
    if isinstance(body, str) and body.strip():
        return clean_text(body, limit=500), None, None, []
    snippet = clean_text(text, limit=200)
    return (snippet or f"HTTP {status}"), None, None, []


def _text_field(body: Mapping[str, Any], key: str) -> str:
    """A message-like field, only if it is plain text (not a nested object)."""
    value = body.get(key)
    return (
        str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""
    )


_HTML_TITLE = re.compile(rb"<title[^>]*>(.{0,300}?)</title", re.IGNORECASE | re.DOTALL)


def _html_summary(body: bytes) -> str:
    """'an HTML error page', with its title when it has one ("502 Bad Gateway")."""
    match = _HTML_TITLE.search(body[:65536])
    title = clean_text(match.group(1).decode("utf-8", "replace"), limit=120) if match else ""
    title = " ".join(title.split())
    return f"an HTML error page ({title})" if title else "an HTML error page"


# A lone UTF-16 surrogate, written as a JSON escape or as raw (invalid) UTF-8 bytes.
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
