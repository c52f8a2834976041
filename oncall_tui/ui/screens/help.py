"""The help screen: every key that works here, with its binding id for remapping."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(app, screen) -> list[tuple[str, str, str, bool]]:
    """(keys, description, binding id, enabled) for what is active on ``screen``."""
    grouped: dict[tuple[str, str], tuple[list[str], Binding, bool, int]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description:
            continue
        # The screen's own actions first, then the focused widget's keys, then the app's;
        # Textual's unnamed built-ins (scrolling, focus) last.
        rank = 0 if active.node is screen else 2 if active.node is app else 1
        keys, known, enabled, best = grouped.get(
            (binding.action, binding.description), ([], binding, active.enabled, rank)
        )
        keys.append(app.get_key_display(Binding(key, "")))
        grouped[(binding.action, binding.description)] = (
            keys,
            known if known.id else binding,
            enabled,
            min(best, rank),
        )
    ordered = sorted(grouped.values(), key=lambda g: (not g[1].id, g[3]))
    return [
        (", ".join(keys), binding.description, binding.id or "", enabled)
        for keys, binding, enabled, _ in ordered
    ]


def bindings_table(app, screen) -> Table:
    table = Table(box=None, expand=True, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("Key", no_wrap=True, style="bold")
    table.add_column("Does")
    # A Text header: as a plain string Rich would take "[ui.keymap]" for a style tag.
    table.add_column(Text("Binding id (for [ui.keymap])"), style="dim", no_wrap=True)
    for keys, description, binding_id, enabled in binding_rows(app, screen):
        text = Text(description)
        if not enabled:
            text.append("  (not available now)", style="dim")
        table.add_row(keys, text, binding_id)
    return table


class HelpScreen(ModalScreen[None]):
    """Shows the keys of the screen it was opened over."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen .title { text-style: bold; color: $primary; padding-bottom: 1; }
    HelpScreen .hint { color: $text-muted; padding-top: 1; }
    """

    def __init__(self, over, intro: str = "") -> None:
        super().__init__()
        self._over = over
        self._intro = intro

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"Keys — {self._over.title or 'oncall-tui'}", classes="title")
            if self._intro:
                yield Static(Text(self._intro))
            yield Static(bindings_table(self.app, self._over))
            yield Static(
                Text(
                    "Ctrl+P opens the command palette: every action, searchable. "
                    "Remap any key in the config file under [ui.keymap], e.g. "
                    'ack = "a,space". Esc closes this help.'
                ),
                classes="hint",
            )
