"""How fast to talk to a backend: request accounting, ``Retry-After`` (bounded), the
``X-RateLimit-*`` headers read into :class:`RateLimit`, and the retry policy."""

from __future__ import annotations

import email.utils
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tenacity import (
    RetryCallState,
)

from oncall_tui.backends.http_errors import (
    ApiError,
)
from oncall_tui.safety import clean_text

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
