"""Treat every byte from an API as untrusted.

Pure helpers used by every layer: strip terminal control sequences and invisible
direction overrides from text, bound its length, and decide which links may be opened.
Nothing here interprets markup: callers render the result as plain text.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# CSI, OSC (terminated by BEL or ST), DCS/SOS/PM/APC strings and two-byte escapes.
_ANSI = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI ... final byte
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC ... BEL or ST
  | \x1b[PX^_][^\x1b]*(?:\x1b\\)?      # DCS, SOS, PM, APC
  | \x1b[@-Z\\-_]                      # other two-byte escapes
  | \x9b[0-?]*[ -/]*[@-~]              # 8-bit CSI
  | \x9d[^\x07\x9c]*(?:\x07|\x9c)?     # 8-bit OSC
    """,
    re.VERBOSE,
)
# C0 controls except tab and newline, DEL, C1 controls, and the bidi / invisible
# formatting characters that can make text read differently from what it is.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)

MAX_TEXT = 4096
MAX_LONG_TEXT = 65536


def clean_text(value: object, *, limit: int = MAX_TEXT, multiline: bool = False) -> str:
    """Return ``value`` as inert text: no escapes, no controls, bounded length.

    ``None`` becomes ``""``; non-strings are converted with ``str``. Newlines are kept
    only when ``multiline`` is true, otherwise they become spaces.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit * 4:
        text = text[: limit * 4]
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\t", "    ")
    if not multiline:
        text = text.replace("\n", " ")
    text = _CONTROL.sub("", text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def clean_long_text(value: object) -> str:
    """Descriptions and notes: keep newlines, allow more room."""
    return clean_text(value, limit=MAX_LONG_TEXT, multiline=True)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UnsafeUrl(ValueError):
    """A URL we refuse to use, with the reason in words."""


def check_api_url(url: str) -> str:
    """Validate a configured API base URL: https, or http only to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UnsafeUrl(f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise UnsafeUrl(f"{url!r} uses plain http to a host that is not loopback; use https")
    return url.rstrip("/")


def openable_url(url: object) -> tuple[str | None, str | None]:
    """Decide whether a link from an API may be opened in a browser.

    Returns ``(url, None)`` when it is an absolute http(s) URL, else ``(None, reason)``.
    """
    if not isinstance(url, str) or not url.strip():
        return None, "missing"
    text = url.strip()
    if _CONTROL.search(text) or "\x1b" in text or any(c.isspace() for c in text):
        return None, "refused: contains control or space characters"
    try:
        parts = urlsplit(text)
    except ValueError:
        return None, "refused: not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        scheme = clean_text(parts.scheme or "relative", limit=20)
        return None, f"refused: {scheme} links are never opened"
    if not parts.netloc:
        return None, "refused: no host"
    if len(text) > 8192:
        return None, "refused: longer than 8 KB"
    return text, None
