"""Faults the simulator can inject, so clients meet a bad day before production does.

A :class:`Faults` holds the switches; :class:`FaultInjector` is the ASGI middleware that
applies them in front of a simulated API. Switches can be flipped in code or over HTTP
(``/_sim/faults``), and the random draws come from a seeded generator, so "every third
request fails" plays out the same way on every run. Control paths (``/_sim/...``) are
never faulted: you can always switch a broken simulator back on.

Kinds of fault, checked in this order for each request:

``down``            every request answers 503 with an HTML page, like a load balancer
                    with no healthy backend;
``burst``           the next *n* requests answer ``burst_status`` (default 500);
``error_rate``      that share of requests answers 500 with an incident.io-shaped body;
``hang_rate``       that share of requests waits ``hang_seconds`` before answering
                    (a client's timeout should fire first);
``malformed_rate``  a 200 whose body is not JSON at all;
``truncated_rate``  a 200 whose JSON body is cut short;
``drop_rate``       the connection closes mid-body: headers promise more than is sent;
``latency``         added to every request (plus up to ``jitter`` at random).

Switches that change answers rather than replace them:

``retry_after``     the ``Retry-After`` header sent with a ``burst`` or ``error`` answer
                    whose status is 429 or 503: any text, so ``"0"``, ``"-5"``,
                    ``"86400"`` and an HTTP date can all be played ("" sends none);
                    a 429 body names the limit, as incident.io's does;
``rate_remaining``  when 0 or more, every answer says this much of the shared rate limit
                    is left (``X-RateLimit-Remaining``, and ``Used`` to match), so a
                    client meets a budget that runs low without spending it;
``rate_headers``    ``normal``; ``missing`` (no ``X-RateLimit-*`` at all); ``malformed``
                    (values that are not counts); ``several`` (each header lists several
                    limits, as the IETF draft allows);
``trickle``         answers are sent one byte at a time, this many seconds apart: the
                    server never goes quiet long enough for a read timeout, and never
                    finishes.

``paths`` limits the faults to requests whose path starts with one of the prefixes.
``hide_newer_endpoints`` makes the endpoints newer than the vendored spec (escalation
respond/reassign, posting incident updates, timeline items) answer 404, like an
account that does not have them yet.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import httpx

_RATES = ("error_rate", "hang_rate", "malformed_rate", "truncated_rate", "drop_rate")
RATE_HEADER_MODES = ("normal", "missing", "malformed", "several")


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised after a partial body: the server goes away mid-response.

    Over real HTTP (uvicorn) the connection is closed and the client sees an incomplete
    read; in process (``httpx.ASGITransport``) the client sees this transport error.
    """


@dataclass
class Faults:
    down: bool = False
    burst: int = 0
    burst_status: int = 500
    error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 3600.0
    malformed_rate: float = 0.0
    truncated_rate: float = 0.0
    drop_rate: float = 0.0
    latency: float = 0.0
    jitter: float = 0.0
    paths: list[str] = field(default_factory=list)
    hide_newer_endpoints: bool = False
    retry_after: str = ""
    rate_remaining: int = -1
    rate_headers: str = "normal"
    trickle: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}
        self._validate()

    def _validate(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.rate_headers not in RATE_HEADER_MODES:
            raise ValueError(f"rate_headers must be one of {', '.join(RATE_HEADER_MODES)}")
        if len(self.retry_after) > 100:
            raise ValueError("retry_after is too long")
        for name in ("latency", "jitter", "hang_seconds", "trickle"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.burst < 0:
            raise ValueError("burst must not be negative")
        if not 100 <= int(self.burst_status) <= 599:
            raise ValueError("burst_status must be an HTTP status")

    # ----------------------------------------------------------------- control

    def update(self, **changes: Any) -> Faults:
        """Change some switches (unknown names raise ``ValueError``)."""
        known = {f.name: f for f in fields(self)}
        with self._lock:
            before = self.as_dict()
            for name, value in changes.items():
                if name not in known:
                    raise ValueError(f"unknown fault {name!r}")
                if name == "paths":
                    value = [str(p) for p in (value or [])]
                elif name in ("down", "hide_newer_endpoints"):
                    value = bool(value)
                elif name in ("burst", "burst_status", "seed", "rate_remaining"):
                    value = int(value)
                elif name in ("retry_after", "rate_headers"):
                    value = "" if value is None else str(value)
                else:
                    value = float(value)
                setattr(self, name, value)
            try:
                self._validate()
            except ValueError:
                for name, value in before.items():
                    setattr(self, name, value)
                raise
            if "seed" in changes:
                self._rng = random.Random(self.seed)
        return self

    def clear(self) -> Faults:
        """Everything off (the seed stays)."""
        defaults = Faults()
        return self.update(
            **{f.name: getattr(defaults, f.name) for f in fields(self) if f.name != "seed"}
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def active(self) -> bool:
        return (
            self.down
            or self.burst > 0
            or self.latency > 0
            or self.jitter > 0
            or self.trickle > 0
            or self.rate_remaining >= 0
            or self.rate_headers != "normal"
            or any(getattr(self, r) > 0 for r in _RATES)
        )

    @property
    def reshapes(self) -> bool:
        """Whether answers that are not faults are changed on their way out."""
        return self.trickle > 0 or self.rate_remaining >= 0 or self.rate_headers != "normal"

    # ---------------------------------------------------------------- decisions

    def applies_to(self, path: str) -> bool:
        if path.startswith("/_sim"):
            return False
        return not self.paths or any(path.startswith(p) for p in self.paths)

    def decide(self, path: str) -> tuple[str | None, float]:
        """``(fault kind or None, extra latency in seconds)`` for one request."""
        if not self.applies_to(path):
            return None, 0.0
        with self._lock:
            delay = self.latency + (self._rng.uniform(0, self.jitter) if self.jitter else 0.0)
            kind: str | None = None
            if self.down:
                kind = "down"
            elif self.burst > 0:
                self.burst -= 1
                kind = "burst"
            else:
                for name in _RATES:
                    rate = getattr(self, name)
                    if rate > 0 and self._rng.random() < rate:
                        kind = name.removesuffix("_rate")
                        break
            if kind:
                self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind, delay


_DOWN_PAGE = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center><hr>"
    b"<center>simulated load balancer</center></body></html>"
)


class FaultInjector:
    """ASGI middleware applying :class:`Faults` to the app it wraps."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind, delay = self.faults.decide(scope.get("path", ""))
        if delay:
            await asyncio.sleep(delay)
        if self.faults.reshapes and self.faults.applies_to(scope.get("path", "")):
            send = _Reshaper(send, self.faults)
        if kind is None:
            await self.app(scope, receive, send)
            return
        if kind == "down":
            await _send(send, 503, _DOWN_PAGE, b"text/html")
        elif kind in ("burst", "error"):
            status = self.faults.burst_status if kind == "burst" else 500
            doc: dict[str, Any] = {
                "type": "api_error" if status >= 500 else "invalid_request_error",
                "status": status,
                "request_id": str(uuid.uuid4()),
                "errors": [{"code": "simulated_fault", "message": "Injected by the simulator"}],
            }
            extra: list[tuple[bytes, bytes]] = []
            if status == 429:
                doc["type"] = "too_many_requests"
                doc["errors"] = [
                    {"code": "rate_limit_exceeded", "message": "Rate limit exceeded (simulated)"}
                ]
                doc["rate_limit"] = {"name": "organisation", "limit": 1200, "remaining": 0}
            if status in (429, 503) and self.faults.retry_after:
                extra.append((b"retry-after", self.faults.retry_after.encode("latin-1", "replace")))
            await _send(send, status, json.dumps(doc).encode(), extra=extra)
        elif kind == "hang":
            await asyncio.sleep(self.faults.hang_seconds)
            await self.app(scope, receive, send)
        elif kind == "malformed":
            await _send(send, 200, b'{"alerts": [{"id": "01J', b"application/json")
        else:  # truncated, drop: run the real handler, then spoil its body
            captured: dict[str, Any] = {"headers": [], "status": 200, "body": b""}

            async def capture(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    captured["status"] = message["status"]
                    captured["headers"] = message.get("headers", [])
                elif message["type"] == "http.response.body":
                    captured["body"] += message.get("body", b"")

            await self.app(scope, receive, capture)
            body: bytes = captured["body"]
            cut = body[: max(1, len(body) // 2)] if body else b""
            headers = [(k, v) for k, v in captured["headers"] if k.lower() != b"content-length"]
            if kind == "truncated":
                headers.append((b"content-length", str(len(cut)).encode()))
                await send(
                    {
                        "type": "http.response.start",
                        "status": captured["status"],
                        "headers": headers,
                    }
                )
                await send({"type": "http.response.body", "body": cut})
                return
            headers.append((b"content-length", str(max(len(body), 2)).encode()))
            await send(
                {"type": "http.response.start", "status": captured["status"], "headers": headers}
            )
            await send({"type": "http.response.body", "body": cut, "more_body": True})
            raise ConnectionDropped("simulated: connection closed before the body was complete")


async def _send(
    send: Any,
    status: int,
    body: bytes,
    ctype: bytes = b"application/json",
    *,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


_RATE_PREFIX = b"x-ratelimit-"


class _Reshaper:
    """An ASGI ``send`` that rewrites the rate-limit headers and trickles the body."""

    def __init__(self, send: Any, faults: Faults) -> None:
        self.send = send
        self.faults = faults

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": self._headers(list(message.get("headers", [])))}
            await self.send(message)
            return
        gap = self.faults.trickle
        body = message.get("body", b"")
        if message["type"] != "http.response.body" or gap <= 0 or not body:
            await self.send(message)
            return
        more = message.get("more_body", False)
        for index in range(len(body)):
            last = index == len(body) - 1
            chunk = {"type": "http.response.body", "body": body[index : index + 1]}
            await self.send({**chunk, "more_body": more or not last})
            if not last:
                await asyncio.sleep(gap)

    def _headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        mode = self.faults.rate_headers
        if mode == "normal" and self.faults.rate_remaining < 0:
            return headers
        found = {k.lower(): v for k, v in headers if k.lower().startswith(_RATE_PREFIX)}
        kept = [(k, v) for k, v in headers if not k.lower().startswith(_RATE_PREFIX)]
        if mode == "missing":
            return kept
        limit = 1200
        try:
            limit = int(found.get(b"x-ratelimit-limit", b"1200").split(b",")[0])
        except ValueError:
            pass
        remaining = found.get(b"x-ratelimit-remaining", str(limit).encode())
        if self.faults.rate_remaining >= 0:
            remaining = str(min(limit, self.faults.rate_remaining)).encode()
        used = str(max(0, limit - int(remaining))).encode()
        reset = found.get(b"x-ratelimit-reset", b"0")
        if mode == "malformed":
            values = {b"limit": b"lots", b"remaining": b"-3", b"used": b"1e999", b"reset": b"soon"}
        elif mode == "several":
            values = {
                b"limit": b"%d, %d;w=60, %d;w=3600" % (limit, limit, limit * 30),
                b"remaining": remaining + b", " + str(limit * 30).encode(),
                b"used": used,
                b"reset": reset,
            }
        else:
            values = {b"limit": str(limit).encode(), b"remaining": remaining, b"used": used}
            values[b"reset"] = reset
        return kept + [(_RATE_PREFIX + name, value) for name, value in values.items()]
