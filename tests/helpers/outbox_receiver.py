"""A small stand-in for incident.io's timeline-items endpoint, for the outbox tests.

It behaves like the real API where the outbox relies on it: ``POST
/v2/incident_timeline_items`` needs a bearer token and an ``idempotency_key``; the same
key gives back the same object (never a second one); a missing field is a 422 with
incident.io's error body. ``GET /v2/incident_timeline_items?incident_id=…`` lists the
items oldest first. ``delay`` slows each create down (after the item is stored, before
the answer) to widen the window in which a client can be killed having sent a request
whose answer it never reads.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Store:
    items: list[dict] = field(default_factory=list)
    by_key: dict[str, dict] = field(default_factory=dict)
    posts: int = 0  # every POST that reached the handler, replays included
    replays: int = 0  # POSTs whose key was already known
    lock: threading.Lock = field(default_factory=threading.Lock)

    def titles(self, incident_id: str) -> list[str]:
        with self.lock:
            return [i["title"] for i in self.items if i["incident_id"] == incident_id]


def _error(status: int, type_: str, message: str, field_name: str | None = None) -> JSONResponse:
    error: dict = {"code": "invalid", "message": message}
    if field_name:
        error["source"] = {"field": field_name, "pointer": f"/{field_name}"}
    return JSONResponse(
        {"type": type_, "status": status, "request_id": str(uuid.uuid4()), "errors": [error]},
        status_code=status,
    )


def create_receiver(store: Store, *, token: str, delay: float = 0.0) -> Starlette:
    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {token}"

    async def create(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "authentication_error", "missing or wrong API key")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_request_error", "body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "body is not an object")
        for name in ("idempotency_key", "incident_id", "timestamp", "title"):
            if not isinstance(body.get(name), str) or not body[name]:
                return _error(422, "validation_error", f"{name} is required", name)
        with store.lock:
            store.posts += 1
            existing = store.by_key.get(body["idempotency_key"])
            if existing is not None:
                store.replays += 1
                item = existing
            else:
                item = {
                    "id": f"01TL{len(store.items):022d}",
                    "incident_id": body["incident_id"],
                    "timestamp": body["timestamp"],
                    "title": body["title"],
                    "description": body.get("description") or "",
                }
                store.items.append(item)
                store.by_key[body["idempotency_key"]] = item
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse({"incident_timeline_item": item}, status_code=201)

    async def list_items(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "authentication_error", "missing or wrong API key")
        incident_id = request.query_params.get("incident_id")
        if not incident_id:
            return _error(422, "validation_error", "incident_id is required", "incident_id")
        with store.lock:
            items = [i for i in store.items if i["incident_id"] == incident_id]
        return JSONResponse({"incident_timeline_items": items, "pagination_meta": {}})

    return Starlette(
        routes=[
            Route("/v2/incident_timeline_items", create, methods=["POST"]),
            Route("/v2/incident_timeline_items", list_items, methods=["GET"]),
        ]
    )
