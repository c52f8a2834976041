"""A paste is text, never a command.

In a bracketed paste the terminal sends ``ESC [200~``, the pasted bytes, then
``ESC [201~``. Textual's input parser reads an escape character inside the paste as the
start of a key sequence: the bytes after it are taken out of the paste and replayed as
key presses, so a carriage return in a coloured log becomes Enter and sends half a note.

:class:`PasteGuard` sits in front of the parser: inside a bracketed paste every escape
character becomes the visible, inert symbol ``␛`` (U+241B), so the whole paste arrives
as one ``Paste`` event and shows in the note box as it was. When a note is sent, escape
sequences written with that symbol are removed (:func:`restore_escapes` then
:func:`oncall_tui.safety.clean_user_text`); the rest of the text is sent as typed.
"""

from __future__ import annotations

from typing import Any

ESC = "\x1b"
INERT_ESC = "\u241b"  # ␛ SYMBOL FOR ESCAPE
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


def _partial_suffix(text: str, marker: str) -> int:
    """Length of the longest end of ``text`` that starts ``marker`` (0 if none)."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0


class PasteGuard:
    """Rewrites terminal input so escape characters inside a paste stay text."""

    def __init__(self) -> None:
        self.in_paste = False
        self._tail = ""  # the last characters outside a paste (a start marker may span reads)
        self._held = ""  # inside a paste: a possible start of the end marker

    def __call__(self, data: str) -> str:
        out: list[str] = []
        while data:
            if not self.in_paste:
                window = self._tail + data
                found = window.find(PASTE_START)
                if found < 0:
                    out.append(data)
                    self._tail = window[-(len(PASTE_START) - 1) :]
                    break
                end = found + len(PASTE_START) - len(self._tail)
                out.append(data[:end])
                data = data[end:]
                self._tail = ""
                self.in_paste = True
            else:
                data = self._held + data
                self._held = ""
                found = data.find(PASTE_END)
                if found < 0:
                    keep = _partial_suffix(data, PASTE_END)
                    out.append(data[: len(data) - keep].replace(ESC, INERT_ESC))
                    self._held = data[len(data) - keep :]
                    break
                out.append(data[:found].replace(ESC, INERT_ESC))
                out.append(PASTE_END)
                data = data[found + len(PASTE_END) :]
                self.in_paste = False
        return "".join(out)


def restore_escapes(text: str) -> str:
    """The pasted escape characters back, so the sequences they start can be removed."""
    return text.replace(INERT_ESC, ESC)


_installed = False


def install() -> None:
    """Put a :class:`PasteGuard` in front of the input parser of Textual's terminal
    drivers (once per process)."""
    global _installed
    if _installed:
        return
    from textual import _xterm_parser

    base: Any = _xterm_parser.XTermParser

    class GuardedParser(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._paste_guard = PasteGuard()

        def feed(self, data: str) -> Any:
            return super().feed(self._paste_guard(data))

    for name in ("textual.drivers.linux_driver", "textual.drivers.linux_inline_driver"):
        try:
            module = __import__(name, fromlist=["XTermParser"])
        except ImportError:
            continue
        if getattr(module, "XTermParser", None) is base:
            setattr(module, "XTermParser", GuardedParser)  # noqa: B010
    _installed = True
