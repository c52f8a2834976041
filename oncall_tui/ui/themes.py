"""Theme files: a Textual theme plus semantic colours for severity and state.

Each ``*.toml`` in the packaged ``themes/`` folder and in ``<config dir>/oncall-tui/themes``
is one theme. A broken file is reported in words and skipped; the app falls back to the
default theme.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "oncall-dark"
SEMANTIC = ("critical", "major", "minor", "info", "acked", "snoozed", "stale", "mine")
_COLOURS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "warning",
    "error",
    "success",
)


@dataclass
class ThemeSet:
    themes: dict[str, Theme] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def theme_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent.parent
    dirs = [here / "_data" / "themes", here.parent / "themes"]
    try:
        from platformdirs import user_config_path

        dirs.append(user_config_path("oncall-tui") / "themes")
    except Exception:  # pragma: no cover
        pass
    return [d for d in dirs if d.is_dir()]


def parse_theme(path: Path) -> Theme:
    """Read one theme file; raise ValueError with a readable reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("missing `name`")
    if "primary" not in data:
        raise ValueError("missing `primary` colour")
    unknown = set(data) - {"name", "dark", "variables", *_COLOURS}
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
    colours: dict[str, str] = {}
    for key in _COLOURS:
        if key in data:
            colours[key] = _colour(key, data[key])
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError("`variables` must be a table")
    checked = {key: _colour(f"variables.{key}", value) for key, value in variables.items()}
    missing = [key for key in SEMANTIC if key not in checked]
    if missing:
        raise ValueError(f"missing semantic colours: {', '.join(missing)}")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError("`dark` must be true or false")
    named: dict[str, Any] = dict(colours)  # primary, secondary, … each a checked colour
    return Theme(name=name, dark=dark, variables=checked, **named)


def _colour(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f'{key}: a colour must be a string like "#FF0000"')
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{key}: {value!r} is not a colour") from None
    return value


def load_themes(dirs: list[Path] | None = None) -> ThemeSet:
    found = ThemeSet()
    for directory in theme_dirs() if dirs is None else dirs:
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = parse_theme(path)
            except ValueError as exc:
                found.problems.append(f"theme file {path}: {exc}; skipped")
                continue
            found.themes[theme.name] = theme
    return found
