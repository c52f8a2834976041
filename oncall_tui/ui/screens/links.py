"""Quick links: ``L`` on the dashboard lists ``[[ui.links]]`` grouped by region; Enter
opens the highlighted one through the app's link opener (never blocking). Each link is
also in the command palette (:class:`LinkCommands`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from oncall_tui.core.links import QuickLink, by_region, quick_links
from oncall_tui.ui.screens.modals import _MODAL_CSS
from oncall_tui.ui.text import plain_content

if TYPE_CHECKING:
    from oncall_tui.ui.app import OnCallApp


def configured_links(app: Any) -> tuple[QuickLink, ...]:
    return quick_links(app.settings.ui.links)


def open_quick_link(app: Any, link: QuickLink) -> None:
    cast("OnCallApp", app).open_url(link.url, what=link.name)


class LinksScreen(ModalScreen[QuickLink | None]):
    """The quick links by region → the chosen link (None on Esc)."""

    DEFAULT_CSS = (
        _MODAL_CSS.format(name="LinksScreen")
        + """
    LinksScreen OptionList { height: auto; max-height: 24; border: none; padding: 0; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,L", "cancel", "Close", id="links.close"),
    ]

    def __init__(self, links: tuple[QuickLink, ...]) -> None:
        super().__init__()
        self._links = links
        self._by_id: dict[str, QuickLink] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain_content("Quick links"), classes="modal-title")
            options: list[Option] = []
            width = max((len(link.name) for link in self._links), default=0)
            for label, group in by_region(self._links):
                options.append(Option(Content.styled(label, "bold"), disabled=True))
                for link in group:
                    oid = f"link-{len(self._by_id)}"
                    self._by_id[oid] = link
                    prompt = Content(f"  {link.name:<{width}}") + Content.styled(
                        f"  {link.url}", "$foreground-muted"
                    )
                    options.append(Option(prompt, id=oid))
            yield OptionList(*options, id="links-list")
            hint = "↑↓ choose · Enter opens · Esc closes"
            if not self._links:
                hint = "No quick links: add [[ui.links]] (name, url, region) to the config · Esc"
            yield Static(hint, classes="modal-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        for index in range(options.option_count):
            if not options.get_option_at_index(index).disabled:
                options.highlighted = index
                break

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        link = self._by_id.get(event.option.id or "")
        if link is not None:
            self.dismiss(link)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LinkCommands(Provider):
    """Each quick link in the command palette: "Open Grafana US (US)"."""

    def _commands(self) -> list[tuple[str, QuickLink]]:
        out = []
        for link in configured_links(self.app):
            where = f" ({link.region_label})" if link.region else ""
            out.append((f"Open {link.name}{where}", link))
        return out

    def _runner(self, link: QuickLink) -> Callable[[], None]:
        def run() -> None:
            open_quick_link(self.app, link)

        return run

    async def discover(self) -> Hits:
        for title, link in self._commands():
            yield DiscoveryHit(title, self._runner(link), help=link.url)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, link in self._commands():
            score = matcher.match(f"{title} {link.url}")
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._runner(link), help=link.url)
