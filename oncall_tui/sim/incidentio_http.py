"""The simulated incident.io's request and response plumbing: error bodies, deepObject
filters, ID and time-window cursors, page sizes, request bodies, the token-bucket rate limit,
and the base every route handler shares (auth, limits, the acting user)."""

from __future__ import annotations

import base64
import json
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from oncall_tui.sim.faults import Faults
from oncall_tui.sim.incidentio_shapes import (
    Shapes,
)
from oncall_tui.sim.world import (
    Actor,
    IncidentIoWorld,
    SimAlert,
    SimError,
    invalid,
    iso,
)

# ---------------------------------------------------------------------- helpers


def error_body(
    status: int,
    type: str,
    code: str,
    message: str,
    *,
    field: str | None = None,
    rate_limit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["source"] = {"field": field, "pointer": "/" + field.replace(".", "/")}
    body: dict[str, Any] = {
        "type": type,
        "status": status,
        "request_id": str(uuid.uuid4()),
        "errors": [err],
    }
    if rate_limit:
        body["rate_limit"] = rate_limit
    return body


def error_response(exc: SimError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(exc.status, exc.type, exc.code, exc.message, field=exc.field),
        status_code=exc.status,
        headers=headers,
    )


def parse_time(value: Any, field: str, *, required: bool = True) -> datetime | None:
    if value in (None, ""):
        if required:
            raise invalid(f"{field} is required", field, "is_required")
        return None
    if not isinstance(value, str):
        raise invalid(f"{field} must be an RFC 3339 date-time", field)
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{field} must be an RFC 3339 date-time", field) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def req_time(value: Any, field: str) -> datetime:
    """A required RFC 3339 date-time (a 422 when missing or malformed)."""
    parsed = parse_time(value, field)
    assert parsed is not None  # parse_time raises for a missing required time
    return parsed


def deep_filters(request: Request, name: str) -> dict[str, list[str]]:
    """``name[op]=v`` query keys (repeated for several values) → ``{op: [v, …]}``."""
    out: dict[str, list[str]] = {}
    prefix = name + "["
    for key, value in request.query_params.multi_items():
        if key.startswith(prefix) and key.endswith("]"):
            op = key[len(prefix) : -1]
            out.setdefault(op, []).append(value)
    return out


def nested_filters(request: Request, name: str) -> dict[str, dict[str, list[str]]]:
    """``name[id][op]=v`` → ``{id: {op: [v, …]}}`` (incident roles, custom fields)."""
    out: dict[str, dict[str, list[str]]] = {}
    prefix = name + "["
    for key, value in request.query_params.multi_items():
        if key.startswith(prefix) and key.endswith("]") and "][" in key:
            inner = key[len(prefix) : -1]
            ident, op = inner.split("][", 1)
            out.setdefault(ident, {}).setdefault(op, []).append(value)
    return out


def check_ops(name: str, filters: dict[str, list[str]], allowed: tuple[str, ...]) -> None:
    for op in filters:
        if op not in allowed:
            raise invalid(
                f"{name}[{op}] is not a supported filter; use one of "
                + ", ".join(f"{name}[{a}]" for a in allowed),
                name,
                "invalid_filter",
            )


def match_set(filters: dict[str, list[str]], values: set[str] | str | None) -> bool:
    """one_of / not_in / is semantics over one value or a set of values."""
    have = {values} if isinstance(values, str) else set(values or ())
    if "one_of" in filters and not have & set(filters["one_of"]):
        return False
    if "is" in filters and not have & set(filters["is"]):
        return False
    return not ("not_in" in filters and have & set(filters["not_in"]))


def match_time(name: str, filters: dict[str, list[str]], value: datetime) -> bool:
    check_ops(name, filters, ("gte", "lte", "date_range"))
    for op, vals in filters.items():
        for raw in vals:
            if op == "date_range":
                if "~" not in raw:
                    raise invalid(f"{name}[date_range] must look like 2024-12-02~2024-12-08", name)
                lo, hi = raw.split("~", 1)
                start = _date_or_time(lo, name)
                end = _date_or_time(hi, name, end_of_day=True)
                if not start <= value < end:
                    return False
            else:
                bound = _date_or_time(raw, name, end_of_day=op == "lte")
                day_only = len(raw.strip()) == 10
                too_early = op == "gte" and value < bound
                too_late = op == "lte" and (value >= bound if day_only else value > bound)
                if too_early or too_late:
                    return False
    return True


def _date_or_time(raw: str, field: str, *, end_of_day: bool = False) -> datetime:
    raw = raw.strip()
    if len(raw) == 10:
        try:
            day = datetime.fromisoformat(raw).replace(tzinfo=UTC)
        except ValueError:
            raise invalid(f"{field} has an invalid date {raw!r}", field) from None
        return day + timedelta(days=1) if end_of_day else day
    dt = parse_time(raw, field)
    assert dt is not None
    return dt


def page_size(request: Request, *, maximum: int, default: int = 25, required: bool = False) -> int:
    raw = request.query_params.get("page_size")
    if raw is None or raw == "":
        if required:
            raise invalid("page_size is required", "page_size", "is_required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid("page_size must be an integer", "page_size") from None
    if value < 1 or value > maximum:
        raise invalid(f"page_size must be between 1 and {maximum}", "page_size")
    return value


def paginate(items: list[Any], size: int, after: str | None) -> tuple[list[Any], str | None]:
    start = 0
    if after:
        for i, item in enumerate(items):
            if item.id == after:
                start = i + 1
                break
        else:
            raise invalid("the after cursor does not match a record in this list", "after")
    page = items[start : start + size]
    more = start + size < len(items)
    return page, (page[-1].id if more and page else None)


def meta(size: int, after: str | None, total: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"page_size": size}
    if after:
        out["after"] = after
    if total is not None:
        out["total_record_count"] = total
    return out


def paged(
    key: str,
    items: list[Any],
    size: int,
    after: str | None,
    shape: Callable[[Any], dict[str, Any]],
    *,
    with_total: bool = False,
) -> JSONResponse:
    """One page of ``items`` under ``key``, each drawn by ``shape``, with its cursor (and
    the total, where the real API gives it)."""
    page, cursor = paginate(items, size, after)
    total = len(items) if with_total else None
    return JSONResponse(
        {key: [shape(x) for x in page], "pagination_meta": meta(size, cursor, total)}
    )


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise SimError(
            400, "invalid_request_error", "invalid_json", "The request body is not valid JSON"
        ) from None
    if not isinstance(body, dict):
        raise SimError(
            400, "invalid_request_error", "invalid_json", "The request body must be an object"
        )
    return body


def req_str(body: dict[str, Any], field: str, *, path: str | None = None) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{field} is required", path or field, "is_required")
    return value


def opt_str(body: dict[str, Any], field: str, *, path: str | None = None) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{field} must be a string", path or field)
    return value


# --------------------------------------------------------------- rate limiting


class TokenBucket:
    """incident.io's limiter: ``limit`` requests a minute, refilled continuously."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = max(1, int(limit))
        self.rate = self.limit / 60.0
        self.tokens = float(self.limit)
        self.clock = clock
        self.last = clock()
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, float]:
        """``(allowed, seconds until a token is free)``."""
        with self._lock:
            now = self.clock()
            self.tokens = min(self.limit, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                self.used += 1
                return True, 0.0
            return False, (1 - self.tokens) / self.rate

    def headers(self) -> dict[str, str]:
        remaining = int(self.tokens)
        full_in = (self.limit - self.tokens) / self.rate
        return {
            "X-RateLimit-Limit": f"{self.limit}, {self.limit};window=60",
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Used": str(self.limit - max(0, remaining)),
            "X-RateLimit-Reset": str(int(time.time() + full_in)),
        }


def _basic_parts(value: str) -> set[str]:
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return set()
    return {user, password}


def _encode_cursor(cut: datetime, window_start: datetime) -> str:
    """An opaque time-window cursor: where the next page starts, and the original window."""
    return f"c1_{int(cut.timestamp() * 1000)}_{int(window_start.timestamp() * 1000)}"


def _decode_cursor(token: str) -> tuple[datetime, datetime]:
    try:
        _, cut_ms, start_ms = token.split("_")
        cut = datetime.fromtimestamp(int(cut_ms) / 1000, tz=UTC)
        start = datetime.fromtimestamp(int(start_ms) / 1000, tz=UTC)
    except ValueError:
        raise invalid("entry_window_start is not a valid cursor", "entry_window_start") from None
    return cut, start


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    kinds = {404: "not_found", 405: "method_not_allowed"}
    kind = kinds.get(status, "invalid_request_error")
    return JSONResponse(
        error_body(
            status, kind, kind, f"{request.method} {request.url.path}: {getattr(exc, 'detail', '')}"
        ),
        status_code=status,
    )


# ------------------------------------------------------------------------ app


Handler = Callable[[Request], Awaitable[Response]]


class ApiPlumbing:
    """What every route shares: the world, auth, rate limits, faults for newer endpoints,
    the acting user."""

    def __init__(
        self,
        world: IncidentIoWorld,
        *,
        token: str,
        rate_limit_per_min: int,
        faults: Faults,
        escalation_create_limit_per_min: int = 60,
    ) -> None:
        self.world = world
        self.token = token
        self.faults = faults
        self.shapes = Shapes(world)
        self.bucket = TokenBucket(rate_limit_per_min)
        self.escalation_bucket = TokenBucket(escalation_create_limit_per_min)
        self._alerts_sorted: tuple[int, list[SimAlert], dict[str, int]] = (-1, [], {})

    # -------------------------------------------------------------- plumbing

    def _auth_error(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header:
            return JSONResponse(
                error_body(
                    401,
                    "authentication_error",
                    "missing_authorization_material",
                    "No API key was provided: send 'Authorization: Bearer <key>'",
                ),
                status_code=401,
            )
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or value.strip() != self.token:
            return JSONResponse(
                error_body(
                    401,
                    "authentication_error",
                    "invalid_authorization_material",
                    "The API key provided is not valid",
                ),
                status_code=401,
            )
        return None

    def _limited(self, bucket: TokenBucket) -> JSONResponse | None:
        allowed, wait = bucket.take()
        if allowed:
            return None
        retry = max(1, math.ceil(wait))
        headers = {**bucket.headers(), "Retry-After": str(retry)}
        body = error_body(
            429,
            "too_many_requests",
            "rate_limit_exceeded",
            f"Rate limit of {bucket.limit} requests per minute exceeded; retry in {retry}s",
            rate_limit={
                "name": "api_key",
                "limit": bucket.limit,
                "remaining": 0,
                "retry_after": iso(datetime.now(UTC) + timedelta(seconds=retry)),
            },
        )
        return JSONResponse(body, status_code=429, headers=headers)

    def endpoint(self, fn: Handler, *, newer: bool = False, limited: bool = False) -> Handler:
        async def wrapped(request: Request) -> Response:
            denied = self._auth_error(request)
            if denied is not None:
                return denied
            refused = self._limited(self.bucket) or (
                self._limited(self.escalation_bucket) if limited else None
            )
            if refused is not None:
                return refused
            if newer and self.faults.hide_newer_endpoints:
                return self._not_found(request)
            await request.body()  # read (and cache) the body before taking the world's lock
            try:
                with self.world.lock:
                    self.world.advance()
                    response = await fn(request)
            except SimError as exc:
                response = error_response(exc)
            response.headers.update(self.bucket.headers())
            return response

        return wrapped

    def _not_found(self, request: Request) -> JSONResponse:
        return JSONResponse(
            error_body(
                404,
                "not_found",
                "not_found",
                f"No route matches {request.method} {request.url.path}",
            ),
            status_code=404,
        )

    def actor(self, request: Request) -> Actor:
        """The API key, or the user named by ``X-Incident-User`` (acting on their behalf)."""
        uid = request.headers.get("x-incident-user", "").strip()
        if uid:
            if uid not in self.world.users:
                raise invalid("X-Incident-User does not name a user", "X-Incident-User")
            return self.world.actor_for(uid)
        return self.world.api_key

    @staticmethod
    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")
