"""Where the configuration comes from, without loading it: the file's path and the
environment's prefix. Light on purpose (no pydantic): start-up uses it to tell whether
the last run's snapshot was made with this same configuration before the settings are
loaded (:mod:`oncall_tui.core.startup`)."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "oncall-tui"
ENV_PREFIX = "ONCALL_TUI_"
CONFIG_ENV = "ONCALL_TUI_CONFIG"

# Keys that hold secrets. They are refused in the file and taken from the environment
# by secrets.py, never by the settings model.
SECRET_KEYS = frozenset({"api_key", "token", "password", "secret", "bearer", "apikey"})


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def resolve_path(explicit: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The config path and whether it was asked for explicitly (flag or env)."""
    if explicit:
        return Path(explicit).expanduser(), True
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser(), True
    return default_config_path(), False
