"""OnCallApp: the Textual application.

It owns themes, the keymap, notifications and the command palette; screens render state
and send actions. Nothing here talks HTTP directly: the core does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

from oncall_tui import __version__
from oncall_tui.config import Settings
from oncall_tui.ui.screens.help import HelpScreen
from oncall_tui.ui.themes import DEFAULT_THEME, load_themes

# Colours for the semantic variables when a built-in Textual theme is chosen.
SEMANTIC_DEFAULTS = {
    "critical": "#FF5F5A",
    "major": "#F29A3D",
    "minor": "#D9C65A",
    "info": "#7FA7D9",
    "acked": "#6FB98F",
    "snoozed": "#9C8FD9",
    "stale": "#C07A3A",
    "mine": "#F5D76E",
}


class OnCallApp(App[int]):
    TITLE = "oncall-tui"
    SUB_TITLE = f"v{__version__}"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+t", "next_theme", "Theme", show=False, id="theme.next"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        demo: bool = False,
        readonly: bool = False,
        theme_name: str | None = None,
        main_screen: Callable[[OnCallApp], Any] | None = None,
        session: Any = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.demo = demo
        self.readonly = readonly
        self._wanted_theme = theme_name or settings.ui.theme
        self._main_screen = main_screen
        self.session = session
        if session is not None and main_screen is None:
            from oncall_tui.ui.screens.dashboard import DashboardScreen

            self._main_screen = lambda app: DashboardScreen(session)
        self._theme_problems: list[str] = []
        found = load_themes()
        for theme in found.themes.values():
            self.register_theme(theme)
        self._own_themes = sorted(found.themes)
        self._theme_problems.extend(found.problems)
        self._apply_theme(self._wanted_theme)
        if settings.ui.keymap:
            self.set_keymap(dict(settings.ui.keymap))
        if demo:
            self.sub_title = f"v{__version__} · demo world"

    # -- themes ------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(SEMANTIC_DEFAULTS)

    def _apply_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
            return
        choices = ", ".join(self._own_themes or sorted(self.available_themes))
        self._theme_problems.append(
            f"Theme {name!r} not found; using {DEFAULT_THEME}. Available: {choices}."
        )
        if DEFAULT_THEME in self.available_themes:
            self.theme = DEFAULT_THEME

    def action_next_theme(self) -> None:
        names = self._own_themes or sorted(self.available_themes)
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2)

    # -- screens -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True, icon="☎")
        yield Static(
            "No data source yet. Run with --demo to explore the simulated world.",
            id="placeholder",
        )
        yield Footer()

    def on_mount(self) -> None:
        for problem in self._theme_problems:
            self.notify(problem, severity="warning", timeout=8)
        if self._main_screen is not None:
            self.push_screen(self._main_screen(self))

    async def on_unmount(self) -> None:
        if self.session is not None:
            await self.session.aclose()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen, intro=self.help_intro()))

    def help_intro(self) -> str:
        parts = []
        if self.readonly:
            parts.append("Read-only: every write is disabled (started with --readonly).")
        if self.demo:
            parts.append("Demo: a simulated incident.io and Grafana; nothing leaves this machine.")
        return " ".join(parts)
