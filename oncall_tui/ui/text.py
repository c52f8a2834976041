"""The one place where text from an API becomes something Textual draws.

Every string that came from incident.io, Grafana or Alertmanager (titles, names, labels,
descriptions, notes) goes through :func:`plain` / :func:`plain_content` before it is
shown. They never interpret markup (``[bold]``, ``[link=…]`` show as typed) and they
strip terminal escape sequences (CSI, OSC-8 hyperlinks), control characters and bidi
overrides via :func:`oncall_tui.safety.clean_text`, so what is on screen is what the
text says.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.content import Content

from oncall_tui.safety import MAX_LONG_TEXT, MAX_TEXT, clean_text

__all__ = ["clean", "plain", "plain_content", "truncate_cells"]


def clean(value: object, *, multiline: bool = False, limit: int | None = None) -> str:
    """``value`` as inert text (escapes and controls removed, length bounded)."""
    if limit is None:
        limit = MAX_LONG_TEXT if multiline else MAX_TEXT
    return clean_text(value, limit=limit, multiline=multiline)


def plain(
    value: object,
    style: str | Style = "",
    *,
    multiline: bool = False,
    limit: int | None = None,
) -> Text:
    """A Rich :class:`~rich.text.Text` showing ``value`` literally.

    ``Text(...)`` never parses markup (unlike ``Text.from_markup``); the string is
    cleaned first so no escape sequence reaches the terminal. ``style`` applies to the
    whole text and is ours, never the API's.
    """
    return Text(clean(value, multiline=multiline, limit=limit), style=style, end="")


def plain_content(
    value: object,
    style: str = "",
    *,
    multiline: bool = False,
    limit: int | None = None,
) -> Content:
    """A Textual :class:`~textual.content.Content` showing ``value`` literally.

    ``Content(text)`` is plain (``Content.from_markup`` would parse); ``style`` is a
    Textual style string of ours such as ``"bold $critical"``.
    """
    content = Content(clean(value, multiline=multiline, limit=limit))
    return content.stylize(style) if style else content


def truncate_cells(text: str, width: int) -> str:
    """Cut ``text`` (already clean) to ``width`` terminal cells, ending in "…" if cut."""
    from rich.cells import cell_len, set_cell_size

    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width == 1:
        return "…"
    return set_cell_size(text, width - 1) + "…"
