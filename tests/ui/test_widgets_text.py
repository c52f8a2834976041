"""ui/text.py: API text is shown literally, never interpreted."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from oncall_tui.ui.text import plain, plain_content, truncate_cells

HOSTILE = (
    "[bold]B[/bold] [link=https://evil.example]x[/link] "
    "\x1b]8;;https://evil.example\x1b\\osc\x1b]8;;\x1b\\ \x1b[2J\x1b[31mred \u202eabc \x00\x07"
)


def test_plain_keeps_markup_literal_and_strips_escapes():
    text = plain(HOSTILE)
    assert isinstance(text, Text)
    assert "[bold]B[/bold] [link=https://evil.example]x[/link]" in text.plain
    assert "osc" in text.plain and "red" in text.plain and "abc" in text.plain
    for bad in ("\x1b", "\u202e", "\x00", "\x07"):
        assert bad not in text.plain
    assert not text.spans
    console = Console(force_terminal=True, width=200, color_system="truecolor")
    with console.capture() as capture:
        console.print(text)
    out = capture.get()
    assert "\x1b]8;" not in out  # no hyperlink reaches the terminal
    assert "[bold]B[/bold]" in out


def test_plain_style_is_ours_and_newlines_follow_multiline():
    assert plain("a\nb").plain == "a b"
    assert plain("a\nb", multiline=True).plain == "a\nb"
    assert plain("x", "bold").style == "bold"


def test_plain_content_is_not_markup():
    content = plain_content(HOSTILE, "bold")
    assert "[link=https://evil.example]x[/link]" in content.plain
    assert "\x1b" not in content.plain
    assert all(span.style == "bold" for span in content.spans)


def test_truncate_cells_counts_wide_characters():
    assert truncate_cells("abcdef", 4) == "abc…"
    assert truncate_cells("abc", 4) == "abc"
    assert truncate_cells("日本語テキスト", 5) in ("日本…", "日本 …")
    assert truncate_cells("abc", 0) == ""
