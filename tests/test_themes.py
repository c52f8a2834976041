"""Themes: the shipped ones load; a broken file is a message and a fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncall_tui.config import Settings
from oncall_tui.ui.app import OnCallApp
from oncall_tui.ui.themes import SEMANTIC, load_themes, parse_theme

THEMES = Path(__file__).resolve().parent.parent / "themes"


def test_shipped_themes():
    found = load_themes([THEMES])
    assert found.problems == []
    assert {"oncall-dark", "oncall-light", "oncall-high-contrast"} <= set(found.themes)
    for theme in found.themes.values():
        assert set(SEMANTIC) <= set(theme.variables)
    assert found.themes["oncall-light"].dark is False


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name = ", "not valid TOML"),
        ('primary = "#fff"', "missing `name`"),
        ('name = "x"\nprimary = "blurple"', "not a colour"),
        ('name = "x"\nprimary = "#fff"\n[variables]\ncritical = "#f00"', "missing semantic"),
        ('name = "x"\nprimary = "#fff"\nsparkle = 1', "unknown keys"),
    ],
)
def test_broken_theme_is_reported(tmp_path, text, reason):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=reason):
        parse_theme(path)
    found = load_themes([tmp_path])
    assert found.themes == {}
    assert reason in found.problems[0] and str(path) in found.problems[0]


async def test_app_switches_and_falls_back():
    app = OnCallApp(Settings(), theme_name="no-such-theme")
    async with app.run_test() as pilot:
        assert app.theme == "oncall-dark"
        notices = [n.message for n in app._notifications]
        assert any("no-such-theme" in m for m in notices)
        await pilot.press("ctrl+t")
        assert app.theme != "oncall-dark"
        assert app.get_css_variables()["critical"]


async def test_help_screen_lists_keys_with_ids():
    app = OnCallApp(Settings())
    async with app.run_test() as pilot:
        await pilot.press("question_mark")
        screen = app.screen
        assert type(screen).__name__ == "HelpScreen"
        from oncall_tui.ui.screens.help import binding_rows

        rows = {
            description: (keys, binding_id)
            for keys, description, binding_id, _ in binding_rows(app, screen._over)
        }
        assert "q" in rows["Quit"][0].split(", ")
        assert rows["Quit"][1] == "quit"
        assert rows["Help"][1] == "help"
        await pilot.press("escape")
        assert type(app.screen).__name__ != "HelpScreen"
