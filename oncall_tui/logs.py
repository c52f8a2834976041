"""The log file: ``$XDG_STATE_HOME/oncall-tui/oncall-tui.log`` (platformdirs' user state
dir), rotated at 1 MB with three old files kept, never holding a token.

Every message that says "see the log" names :func:`log_path`, which
:func:`setup_logging` creates before anything is written to it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path

LOG_NAME = "oncall-tui.log"
MAX_BYTES = 1024 * 1024
BACKUPS = 3

# Credentials as they may appear in an error or a URL: bearer and basic auth headers,
# key/token/password parameters, user:password@ in URLs.
_SECRETS = (
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:api[_-]?key|token|password|secret|authorization)[\"']?\s*[:=]\s*)[^\s,;&\"']+"
    ),
    re.compile(r"(//[^/@\s:]+):[^/@\s]+@"),
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``***``."""
    text = _SECRETS[0].sub(lambda m: f"{m.group(1)} ***", text)
    text = _SECRETS[1].sub(lambda m: f"{m.group(1)}***", text)
    return _SECRETS[2].sub(lambda m: f"{m.group(1)}:***@", text)


class _Redacting(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_path() -> Path:
    """Where the log is written."""
    from platformdirs import user_state_dir

    return Path(user_state_dir("oncall-tui")) / LOG_NAME


_handler: logging.Handler | None = None


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send warnings and errors of oncall-tui to the rotating log file (once per process).
    Returns the file, or None when it cannot be written (then nothing is logged to it)."""
    global _handler
    path = log_path()
    if _handler is not None:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=False
        )
        os.chmod(path, 0o600)
    except OSError:
        return None
    handler.setFormatter(_Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    logger = logging.getLogger("oncall_tui")
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    _handler = handler
    return path
