"""What can go wrong talking to a backend, typed: :class:`ApiError` and its kinds (auth,
not found, conflict, invalid request, rate limited, server, network, malformed), and error
bodies (incident.io's, Grafana's, Alertmanager's, an HTML page) read into words."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from oncall_tui.safety import clean_text

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
