"""Text and link safety: what an API string can and cannot do to the terminal.

``clean_text`` removes what a terminal would act on (escape sequences, controls) and
what makes text read differently from what it is (bidi overrides, invisible
characters). It does *not* touch Rich/Textual markup such as ``[bold red]``: that is
ordinary text here, and the UI must render API text as plain ``Text``, never as markup.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall_tui.safety import (
    MAX_LONG_TEXT,
    MAX_TEXT,
    UnsafeUrl,
    check_api_url,
    clean_long_text,
    clean_text,
    display_url,
    is_loopback_host,
    openable_url,
)

# ------------------------------------------------------------------ clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # CSI: colours, cursor moves, clear screen, private modes
        ("\x1b[31mred\x1b[0m alert", "red alert"),
        ("\x1b[1;38;5;196mbold\x1b[m", "bold"),
        ("up\x1b[2A\x1b[10;5Hhere", "uphere"),
        ("\x1b[2Jcleared\x1b[3J", "cleared"),
        ("\x1b[?1049h\x1b[?25lalt screen", "alt screen"),
        # OSC 8 hyperlinks, with ST and with BEL terminators
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("\x1b]8;id=1;https://evil.example\x07click\x1b]8;;\x07", "click"),
        # OSC window title set, BEL and ST terminated
        ("\x1b]0;you have been pwned\x07Disk full", "Disk full"),
        ("\x1b]2;title\x1b\\Disk full", "Disk full"),
        # OSC 52 clipboard write
        ("\x1b]52;c;cm0gLXJmIH4=\x07copy", "copy"),
        # 8-bit C1 forms
        ("\x9b31mred\x9b0m", "red"),
        ("\x9d0;title\x9cshown", "shown"),
        ("\x9d0;title\x07shown", "shown"),
        # DCS / APC / PM strings
        ("\x1bPq#0;2;0;0;0#0~~\x1b\\after", "after"),
        ("\x1b_apc payload\x1b\\after", "after"),
        ("\x1b^pm payload\x1b\\after", "after"),
        # two-byte escapes and a lone ESC
        ("\x1bMreverse index", "reverse index"),
        ("dangling\x1b", "dangling"),
        ("a\x1b", "a"),
        # bidi overrides, embeddings, isolates, marks
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\u202aa\u202bb\u202cc\u202dd", "abcd"),
        ("\u2066x\u2067y\u2068z\u2069", "xyz"),
        ("left\u200eright\u200fmark\u061c", "leftrightmark"),
        # zero-width and invisible characters
        ("zero\u200bwidth\u200cjoin\u200dword\u2060joiner\ufeffbom", "zerowidthjoinwordjoinerbom"),
        ("tag\U000e0041\U000e0042s", "tags"),
        # NUL, bell, backspace, DEL and other controls
        ("nul\x00bell\x07back\x08del\x7f", "nulbellbackdel"),
        # carriage-return overwrite tricks
        ("safe\rEVIL", "safeEVIL"),
        ("line one\r\nline two", "line one line two"),
        # tabs and newlines (single line)
        ("a\tb", "a    b"),
        ("one\ntwo\x0bthree\x0cfour", "one twothreefour"),
        ("para\u2028graph\u2029end\x85", "para graph end "),
        # lone surrogates (valid in JSON "\ud800", not encodable to a terminal)
        ("a\ud800b\udfffc", "abc"),
    ],
)
def test_clean_text_removes_what_a_terminal_would_act_on(raw, clean):
    assert clean_text(raw) == clean


def test_multiline_keeps_newlines_and_nothing_else():
    raw = "first\r\nsecond\rthird\n\x1b[2Kfourth\u2028fifth\tend"
    assert clean_text(raw, multiline=True) == "first\nsecondthird\nfourth\nfifth    end"
    assert clean_long_text(raw) == "first\nsecondthird\nfourth\nfifth    end"


@pytest.mark.parametrize(
    "markup",
    [
        "[bold red]FIRE[/bold red]",
        "[link=https://evil.example]click[/link]",
        "[@click=app.quit]quit[/]",
        "regex [a-z]+ and [/]",
    ],
)
def test_rich_markup_is_returned_unchanged(markup):
    # Not ours to strip: it may be real text. Rendering must treat it as text.
    assert clean_text(markup) == markup


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (42, "42"), (1.5, "1.5"), (True, "True"), ({"a": 1}, "{'a': 1}"), ("", "")],
)
def test_none_and_non_strings(value, text):
    assert clean_text(value) == text


def test_length_is_bounded_with_an_ellipsis():
    assert clean_text("x" * 10_000) == "x" * (MAX_TEXT - 1) + "…"
    assert clean_text("abcdef", limit=4) == "abc…"
    assert clean_text("abcd", limit=4) == "abcd"
    assert clean_text("abc", limit=0) == ""


def test_a_one_megabyte_title_is_bounded():
    huge = "A" * 1_000_000
    assert len(clean_text(huge)) == MAX_TEXT
    assert len(clean_long_text(huge)) == MAX_LONG_TEXT
    hostile = "\x1b[31m\x1b]0;t\x07\u202e\x00" * 100_000
    # Input is cut before it is cleaned, so at most the sequence the cut went through
    # is left, as inert characters.
    for out in (clean_text(hostile), clean_long_text(hostile)):
        assert len(out) < 17 and not _FORBIDDEN_MULTI.search(out)
    unterminated = "\x1b[" + "1;" * 500_000
    out = clean_text(unterminated)
    assert "\x1b" not in out and len(out) <= MAX_TEXT


def test_cleaned_text_can_always_be_written_to_a_utf8_terminal():
    raw = "ok \ud83d broken pair \udca9 end"
    clean_text(raw).encode("utf-8")
    clean_long_text(raw).encode("utf-8")


# ---------------------------------------------------------------- properties

HOSTILE_PIECES = [
    "\x1b",
    "\x1b[",
    "\x1b[31m",
    "\x1b[2J",
    "\x1b]",
    "\x1b]8;;https://evil.example\x07",
    "\x1b]0;title\x1b\\",
    "\x1bP",
    "\x1b\\",
    "\x9b",
    "\x9b1;2H",
    "\x9d",
    "\x9c",
    "\x07",
    "\r",
    "\r\n",
    "\n",
    "\t",
    "\x00",
    "\x85",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u2028",
    "\ud800",
    "\udfff",
    "\U000e0041",
    "[bold]",
    "[/]",
    "…",
]

hostile_text = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(HOSTILE_PIECES),
        st.characters(min_codepoint=0, max_codepoint=0xA0),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.characters(min_codepoint=0x2000, max_codepoint=0x206F),
    ),
    max_size=40,
).map("".join)

_FORBIDDEN_SINGLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ud800-\udfff\U000e0000-\U000e007f]"
)
_FORBIDDEN_MULTI = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ud800-\udfff\U000e0000-\U000e007f]"
)


@settings(max_examples=300, deadline=None)
@given(raw=hostile_text, limit=st.integers(1, 200), multiline=st.booleans())
def test_output_is_always_inert_bounded_and_stable(raw, limit, multiline):
    out = clean_text(raw, limit=limit, multiline=multiline)
    forbidden = _FORBIDDEN_MULTI if multiline else _FORBIDDEN_SINGLE
    assert not forbidden.search(out), ascii(out)
    assert len(out) <= limit
    assert clean_text(out, limit=limit, multiline=multiline) == out
    out.encode("utf-8")
    assert not any(unicodedata.category(c) == "Cc" and c != "\n" for c in out)


@settings(max_examples=200, deadline=None)
@given(raw=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300))
def test_printable_ascii_passes_unchanged(raw):
    assert clean_text(raw) == raw
    assert clean_long_text(raw) == raw


@settings(max_examples=200, deadline=None)
@given(raw=st.text(st.characters(exclude_characters="\x1b\x9b\x9d"), max_size=200))
def test_ordinary_text_survives_apart_from_invisible_characters(raw):
    # (An escape or C1 introducer with no terminator hides the rest of the string,
    # as a terminal would; such text is not "ordinary" and is left out here.)
    out = clean_text(raw, limit=1000)
    visible = [
        c
        for c in raw
        if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
        # the invisible-operator and tag blocks are stripped whole, unassigned members too
        and not 0x2060 <= ord(c) <= 0x206F
        and not 0xE0000 <= ord(c) <= 0xE007F
    ]
    # Nothing visible is lost (tabs become spaces, newlines become spaces).
    assert all(c in out for c in visible)


# ---------------------------------------------------------------- openable_url


@pytest.mark.parametrize(
    "url",
    [
        "https://grafana.example.com/d/abc/disk?orgId=1&from=now-1h&to=now",
        "http://localhost:3000/alerting/grafana/abc/view",
        "HTTPS://Runbooks.Example.COM/disk-full#steps",
        "https://[2001:db8::1]:8443/x",
        "https://xn--e1afmkfd.xn--p1ai/",  # an IDN already in its ASCII form
        "https://example.com/path/ünïcode",  # non-ASCII outside the host is fine
    ],
)
def test_http_and_https_links_are_opened(url):
    assert openable_url(url) == (url, None)


def test_surrounding_whitespace_is_trimmed():
    assert openable_url("  https://example.com/x \n") == ("https://example.com/x", None)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "javascript links are never opened"),
        ("JaVaScRiPt:alert(document.cookie)", "javascript links are never opened"),
        ("file:///etc/passwd", "file links are never opened"),
        ("data:text/html;base64,PHNjcmlwdD4=", "data links are never opened"),
        ("vbscript:msgbox", "vbscript links are never opened"),
        ("ssh://host", "ssh links are never opened"),
        ("/relative/runbook", "no scheme"),
        ("runbooks/disk.md", "no scheme"),
        ("//evil.example/x", "no scheme"),
        ("http:///path-only", "no host"),
        ("https:evil.example", "no host"),
        ("https://exa mple.com", "control or space"),
        ("https://example.com/\nSet-Cookie: x", "control or space"),
        ("https://example.com/\x1b]8;;x\x07", "control or space"),
        ("https://example.com/\u202etxt.exe", "control or space"),
        ("https://example.com/a\tb", "control or space"),
        ("https://exаmple.com/login", "non-ASCII"),  # Cyrillic "а"
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("https://bank.example@evil.example/", "user name"),
        ("https://evil.example\\@bank.example/", "backslash"),
        ("https://[::1/", "not a valid URL"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://example.com/" + "a" * 9000, "longer than 8 KB"),
    ],
)
def test_other_links_are_refused_with_a_reason(url, reason):
    opened, why = openable_url(url)
    assert opened is None
    assert why.startswith("refused: ") and reason in why
    assert clean_text(why) == why


@pytest.mark.parametrize("value", [None, "", "   ", 42, b"https://example.com"])
def test_missing_links(value):
    assert openable_url(value) == (None, "missing")


@settings(max_examples=300, deadline=None)
@given(
    url=st.one_of(
        hostile_text,
        st.builds(
            "{}://{}{}".format,
            st.sampled_from(["http", "https", "HtTpS", "javascript", "file", ""]),
            hostile_text,
            hostile_text,
        ),
    )
)
def test_openable_url_never_raises_and_only_passes_plain_web_links(url):
    opened, why = openable_url(url)
    if opened is None:
        assert why and clean_text(why) == why
        return
    assert why is None
    assert re.match(r"(?i)https?://[^/\\@\s]", opened)
    assert opened.isprintable() and not any(c.isspace() for c in opened)
    assert not _FORBIDDEN_SINGLE.search(opened)
    assert len(opened) <= 8192


# ------------------------------------------------------------ API base URLs


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "api.localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]"],
)
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", [None, "", "example.com", "10.0.0.1", "localhost.example.com", "127.0.0.1.nip.io"]
)
def test_not_loopback_hosts(host):
    assert not is_loopback_host(host)


def test_check_api_url():
    assert check_api_url("https://api.incident.io/") == "https://api.incident.io"
    assert check_api_url("http://127.0.0.1:9093") == "http://127.0.0.1:9093"
    with pytest.raises(UnsafeUrl, match="plain http"):
        check_api_url("http://grafana.example.com")
    with pytest.raises(UnsafeUrl, match="not an http"):
        check_api_url("grafana.example.com")
    with pytest.raises(UnsafeUrl, match="not a valid URL"):
        check_api_url("https://grafana.example.com:port")


def test_check_api_url_does_not_repeat_a_password():
    with pytest.raises(UnsafeUrl) as info:
        check_api_url("http://admin:hunter2@am.example.com")
    assert "hunter2" not in str(info.value)
    assert "***@am.example.com" in str(info.value)


def test_display_url_hides_credentials():
    assert display_url("https://u:p@h.example/x?y=1") == "https://***@h.example/x?y=1"
    assert display_url("https://h.example/x") == "https://h.example/x"
    assert display_url("https://h.example/x?email=a@b") == "https://h.example/x?email=a@b"
