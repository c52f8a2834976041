"""Silences as the server keeps them: read one as raw JSON and post it back with a new end.

An extend must send the silence back exactly as the server holds it (matchers, start,
author, comment), with only ``endsAt`` changed; the cleaned :class:`~oncall_tui.domain.Silence`
shown on screen is not good enough for that (a label value with control characters
would no longer match). Alertmanager keeps the id when it can update the silence in place
and otherwise expires it and answers a new id: the caller reports whichever came back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from oncall_tui.backends.grafana import AlertmanagerClient, format_time
from oncall_tui.backends.http import InvalidRequest, MalformedResponse

POSTABLE_FIELDS = ("id", "matchers", "startsAt", "createdBy", "comment")


def _silence_path(client: AlertmanagerClient, silence_id: str) -> str:
    text = str(silence_id).strip()
    if not text or len(text) > 200:
        raise InvalidRequest("that is not a silence id", source=client.source)
    return f"{client.api_base}/silence/{quote(text, safe='')}"


async def raw_silence(client: AlertmanagerClient, silence_id: str) -> Mapping[str, Any]:
    """``GET …/silence/{id}`` as the server sent it."""
    body = await client.request("GET", _silence_path(client, silence_id))
    if not isinstance(body, Mapping) or not isinstance(body.get("matchers"), list):
        raise MalformedResponse(
            "the silence could not be read", source=client.source, path="silence"
        )
    return body


async def post_new_end(client: AlertmanagerClient, raw: Mapping[str, Any], ends: datetime) -> str:
    """Post ``raw`` back with ``endsAt`` = ``ends``; the id the server answers."""
    payload = {name: raw[name] for name in POSTABLE_FIELDS if name in raw}
    payload["endsAt"] = format_time(ends)
    return await client.post_silence(payload)
