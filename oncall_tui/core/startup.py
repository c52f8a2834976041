"""Start-up before the settings: tell, from the configuration's bytes alone, whether the
last run's snapshot cache was made with this same configuration, so the first frame can
be drawn from it before pydantic, the backends, httpx and the rest are imported.

The start key is a digest of what the settings are made of: the config file (its path and
bytes), the ``ONCALL_TUI_*`` environment (the names of secret variables, never their
values) and ``TZ``. The demo without ``--config`` ignores both and has a key of its own.
The cache keeps the key with how to draw it (:func:`start_header`); a different key, and
the first frame waits for the settings as before.
"""

from __future__ import annotations

import os
from typing import Any

from oncall_tui.configpaths import ENV_PREFIX, SECRET_KEYS, resolve_path

DEMO_KEY = "demo"


def _sha256(data: bytes) -> Any:
    """SHA-256 from the built-in module: hashlib would load OpenSSL first, a cost paid
    at every start."""
    try:
        import _sha256  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover (another Python)
        import hashlib as _sha256
    return _sha256.sha256(data)


def start_key(config: str | os.PathLike[str] | None, *, demo: bool) -> str:
    """The digest of what the settings of this start are made of (see module doc)."""
    digest = _sha256(b"oncall-tui start 1\0")
    if demo and not config:
        digest.update(DEMO_KEY.encode())  # the demo's settings are its own
    else:
        path, _ = resolve_path(config)
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0no file\0")
        for name in sorted(os.environ):
            if not name.upper().startswith(ENV_PREFIX):
                continue
            secret = any(word in name.lower() for word in SECRET_KEYS)
            value = "" if secret else os.environ[name]  # a secret only by its presence
            digest.update(f"\0{name}={value}".encode())
    digest.update(f"\0TZ={os.environ.get('TZ', '')}".encode())
    return str(digest.hexdigest())


def start_header(
    key: str, *, zone: str, theme: str, keymap: dict[str, str], readonly: bool, sources: list[str]
) -> dict[str, Any]:
    """How the next start draws the cache before its settings are loaded: the display
    zone (an IANA name), the theme, the keymap, whether the configuration asks for
    read-only mode, and the sources' names."""
    return {
        "key": key,
        "zone": zone,
        "theme": theme,
        "keymap": dict(keymap),
        "readonly": readonly,
        "sources": list(sources),
    }
