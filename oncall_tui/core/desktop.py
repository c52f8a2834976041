"""The desktop around the terminal: notifications and opening links, never blocking.

* A desktop notification runs ``notify-send`` detached, with ``--`` before any text that
  came from an API (a page titled "-u low" is a title, not an option), titles shortened
  to one plain line, and the body escaped (notification servers read a little HTML).
* A link opens in a graphical browser, as a background process detached from the
  terminal. Where there is none to use (an SSH session with no ``DISPLAY`` or
  ``WAYLAND_DISPLAY``, or a ``$BROWSER`` that runs in the terminal, such as lynx), the link
  is not opened at all: the caller copies it (OSC 52) and shows it to select. A text
  browser is never started inside the dashboard's terminal.
"""

from __future__ import annotations

import html
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from oncall_tui.safety import clean_text

TITLE_LIMIT = 80
BODY_LIMIT = 300

# Browsers that draw in the terminal they are started from.
TEXT_BROWSERS = frozenset(
    {"lynx", "links", "links2", "elinks", "w3m", "www-browser", "browsh", "carbonyl", "netrik"}
)


def plain_line(text: str, limit: int = TITLE_LIMIT) -> str:
    """One line of plain text, at most ``limit`` characters (cut with "…")."""
    line = " ".join(clean_text(text, limit=limit * 4).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def notification_argv(exe: str, title: str, body: str) -> list[str]:
    """The ``notify-send`` command line: options first, then ``--``, then the text."""
    return [
        exe,
        "--app-name=oncall-tui",
        "--",
        plain_line(title, TITLE_LIMIT),
        html.escape(clean_text(body, limit=BODY_LIMIT), quote=False),
    ]


def notify(title: str, body: str) -> bool:
    """Best effort: ``notify-send`` where it exists; never blocks, never raises.
    True when it was started."""
    exe = shutil.which("notify-send")
    if not exe:
        return False
    return _spawn(notification_argv(exe, title, body))


def page_notification(titles: list[str]) -> tuple[str, str]:
    """Title and body of the notification for new pages: each page title shortened."""
    shown = [plain_line(t, TITLE_LIMIT) for t in titles]
    if len(shown) == 1:
        return "oncall-tui: new page", shown[0]
    return f"oncall-tui: {len(shown)} new pages", " · ".join(shown[:5])


# ------------------------------------------------------------------------ links


@dataclass(frozen=True, slots=True)
class LinkOpening:
    """What happened to a link: ``opened`` in a browser (started, detached), or not,
    with the reason in words (then the caller copies and shows it)."""

    opened: bool
    why_not: str = ""


def _browser_words(browser: str) -> list[str]:
    try:
        return shlex.split(browser)
    except ValueError:
        return browser.split()


def _is_text_browser(command: str) -> bool:
    words = _browser_words(command)
    return bool(words) and os.path.basename(words[0]).lower() in TEXT_BROWSERS


def browser_command(
    url: str, env: Mapping[str, str] | None = None, platform: str | None = None
) -> tuple[list[str] | None, str]:
    """The command that opens ``url`` in a graphical browser, or None and why there is
    none to use here."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    chosen = [b for b in env.get("BROWSER", "").split(os.pathsep) if b.strip()]
    graphical = [b for b in chosen if not _is_text_browser(b)]
    if chosen and not graphical:
        name = os.path.basename(_browser_words(chosen[0])[0])
        return None, f"$BROWSER is {name}, a browser that runs in the terminal"
    if platform == "darwin":
        if graphical:
            return _with_url(graphical[0], url), ""
        return ["open", url], ""
    if platform.startswith("win"):
        return ["cmd", "/c", "start", "", url], ""
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        over = " over SSH" if env.get("SSH_CONNECTION") or env.get("SSH_TTY") else ""
        return None, f"no graphical display{over} (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    if graphical:
        return _with_url(graphical[0], url), ""
    for opener in ("xdg-open", "gio", "sensible-browser"):
        exe = shutil.which(opener, path=env.get("PATH"))
        if exe:
            if opener == "gio":
                return [exe, "open", url], ""
            if opener == "sensible-browser" and _is_text_browser(os.path.realpath(exe)):
                continue
            return [exe, url], ""
    return None, "no browser opener (xdg-open) is installed"


def _with_url(browser: str, url: str) -> list[str]:
    words = _browser_words(browser)
    if any("%s" in w for w in words):
        return [w.replace("%s", url) for w in words]
    return [*words, url]


def open_link(url: str, env: Mapping[str, str] | None = None) -> LinkOpening:
    """Open ``url`` (already checked to be http/https) in a graphical browser, detached
    and in the background: this returns at once, whatever the browser does."""
    command, why_not = browser_command(url, env)
    if command is None:
        return LinkOpening(False, why_not)
    if not _spawn(command, env):
        return LinkOpening(False, f"{os.path.basename(command[0])} could not be started")
    return LinkOpening(True)


def _spawn(argv: list[str], env: Mapping[str, str] | None = None) -> bool:
    """Start a program in its own session with no terminal: nothing it does reaches
    ours, and nothing waits for it."""
    try:
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            env=None if env is None else dict(env),
        )
    except OSError:
        return False
    return True
