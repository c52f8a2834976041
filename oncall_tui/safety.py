"""Treat every byte from an API as untrusted.

Pure helpers used by every layer: strip terminal control sequences and invisible
direction overrides from text, bound its length, and decide which links may be opened.

Nothing here interprets or removes markup: ``clean_text("[bold red]x[/]")`` returns
the brackets unchanged, because they may be real text (a label value, a regex). Callers
must render API text as plain ``Text``/``Content``, never as Rich or Textual markup.
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
# C0 controls except tab and newline, DEL, C1 controls, the bidi / invisible
# formatting characters that can make text read differently from what it is (Arabic
# letter mark, zero-width characters, direction embeddings, overrides and isolates,
# invisible operators, interlinear annotations, Unicode "tag" characters), and lone
# surrogates, which a terminal cannot encode at all.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)
# Line and paragraph separators: line breaks to some renderers, so treated as ``\n``.
_LINE_BREAKS = str.maketrans({"\u2028": "\n", "\u2029": "\n", "\x85": "\n"})

MAX_TEXT = 4096
# What a [grafana.NAME] or [alertmanager.NAME] table may be called: the name is part of
# the keyring entry and of the environment variable holding its token, so it must fit both.
INSTANCE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_LONG_TEXT = 65536
MAX_URL = 8192


def clean_text(value: object, *, limit: int = MAX_TEXT, multiline: bool = False) -> str:
    """Return ``value`` as inert text: no escapes, no controls, bounded length.

    ``None`` becomes ``""``; non-strings are converted with ``str``. Newlines are kept
    only when ``multiline`` is true, otherwise they become spaces.
    """
    if value is None or limit < 1:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit * 4:
        text = text[: limit * 4]
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS).replace("\t", "    ")
    if not multiline:
        text = text.replace("\n", " ")
    text = _CONTROL.sub("", text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


# What the user typed: only what a terminal would act on goes (C0/C1 controls but tab
# and newline, DEL, lone surrogates); joiners, direction marks and every other
# character of their language stay exactly as typed.
_USER_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_user_text(value: str) -> tuple[str, int]:
    """Text the user typed or pasted, made safe to send: terminal escape sequences
    (colours, cursor moves, title changes) and control characters are removed, carriage
    returns become newlines, and nothing else is touched (zero-width joiners, Persian
    and emoji sequences are kept). Returns the text and how many sequences or control
    characters were removed."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text, escapes = _ANSI.subn("", text)
    text, controls = _USER_CONTROL.subn("", text)
    return text, escapes + controls


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


def display_url(url: str) -> str:
    """``url`` fit to show: any ``user:password@`` part replaced by ``***@``."""
    if not isinstance(url, str) or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an invalid URL>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()


def check_api_url(url: str) -> str:
    """Validate a configured API base URL: https, or http only to a loopback host."""
    shown = repr(clean_text(display_url(url), limit=200))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except (ValueError, TypeError, AttributeError):
        raise UnsafeUrl(f"{shown} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(f"{shown} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise UnsafeUrl(f"{shown} uses plain http to a host that is not loopback; use https")
    return url.rstrip("/")


def openable_url(url: object) -> tuple[str | None, str | None]:
    """Decide whether a link from an API may be opened in a browser.

    Returns ``(url, None)`` when it is an absolute http(s) URL, else ``(None, reason)``.
    """
    if not isinstance(url, str) or not url.strip():
        return None, "missing"
    text = url.strip()
    if len(text) > MAX_URL:
        return None, "refused: longer than 8 KB"
    if _CONTROL.search(text) or "\x1b" in text or any(c.isspace() for c in text):
        return None, "refused: contains control or space characters"
    if "\\" in text:
        # Browsers read a backslash as a slash, Python does not: the host would differ.
        return None, "refused: contains a backslash"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None, "refused: not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        if not scheme:
            return None, "refused: no scheme; only http and https links are opened"
        shown = clean_text(scheme, limit=20)
        return None, f"refused: {shown} links are never opened; only http and https are"
    if not parts.hostname:
        return None, "refused: no host"
    if "@" in parts.netloc:
        # https://bank.example@evil.example reads as one host and goes to another.
        return None, "refused: carries a user name before the host"
    host = parts.hostname
    if not host.isascii():
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None, "refused: the host name has characters that are not valid"
        return None, (
            f"refused: the host name has non-ASCII characters that can imitate another "
            f"site (it is really {ascii_host})"
        )
    if port == 0:
        return None, "refused: not a valid port"
    return text, None
