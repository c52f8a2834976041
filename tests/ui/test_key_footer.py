"""The key footer lays its keys out again only when what it shows changed."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets._footer import FooterKey

from oncall_tui.ui.widgets.key_footer import KeyFooter


class FooterApp(App[None]):
    BINDINGS = [
        Binding("a", "ack", "Ack"),
        Binding("r", "resolve", "Resolve"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.can_resolve = True

    def compose(self) -> ComposeResult:
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resolve":
            return True if self.can_resolve else None  # None: shown dimmed
        return True

    def action_ack(self) -> None: ...

    def action_resolve(self) -> None: ...

    def action_help(self) -> None: ...


async def test_refreshed_bindings_that_show_the_same_keys_keep_the_footer_as_it_is() -> None:
    app = FooterApp()
    async with app.run_test(size=(100, 10)) as pilot:
        app.app_focus = True  # as in a terminal: Textual's footer only follows with focus
        footer = app.query_one(KeyFooter)
        app.screen.refresh_bindings()
        await pilot.pause()
        keys = list(footer.query(FooterKey))
        assert [k.description for k in keys][:4] == ["Ack", "Resolve", "Help", "Quit"]

        for _ in range(5):  # a held cursor key: the bindings are refreshed on each move
            app.screen.refresh_bindings()
            await pilot.pause()
        assert list(footer.query(FooterKey)) == keys  # the same widgets, not remounted
        assert footer.recomposes_skipped >= 5

        app.can_resolve = False  # the row under the cursor cannot be resolved
        app.screen.refresh_bindings()
        await pilot.pause()
        resolve = [k for k in footer.query(FooterKey) if k.description == "Resolve"]
        assert resolve and resolve[0].has_class("-disabled")  # shown dimmed at once
