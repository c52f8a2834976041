"""Quick links: ``L`` lists ``[[ui.links]]`` by region and Enter opens the chosen one
through the app's link opener; each link is in the command palette."""

from __future__ import annotations

import pytest
from demo_session import FrozenDemo, frozen_time
from textual.command import CommandList, CommandPalette
from textual.widgets import OptionList

from oncall_tui.config import LinkConfig, UiConfig
from oncall_tui.ui.screens.help import HelpScreen, binding_rows
from oncall_tui.ui.screens.links import LinkCommands, LinksScreen

SIZE = (150, 45)
LINKS = [
    LinkConfig(name="Admin US", url="https://admin-us.example.com", region="us"),
    LinkConfig(name="Grafana EU", url="https://grafana-eu.example.com", region="eu"),
    LinkConfig(name="Grafana US", url="https://grafana-us.example.com", region="us"),
    LinkConfig(name="ArgoCD", url="https://argocd.example.com"),
]


@pytest.fixture
def frozen():
    with frozen_time() as traveller:
        yield traveller


def _prompts(screen: LinksScreen) -> list[str]:
    options = screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt).strip() for i in range(options.option_count)]


async def test_L_lists_links_by_region_and_enter_opens_one(frozen, monkeypatch):
    demo = FrozenDemo(frozen, scenario=False, ui=UiConfig(links=LINKS))
    opened: list[tuple[str, str]] = []
    monkeypatch.setattr(
        demo.app, "open_url", lambda url, **kw: opened.append((url, kw.get("what", "")))
    )
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        await pilot.press("L")
        await demo.until(pilot, lambda: isinstance(demo.screen, LinksScreen), "L opens links")
        prompts = _prompts(demo.screen)
        assert [p.split()[0] for p in prompts] == [
            "US", "Admin", "Grafana", "EU", "Grafana", "any", "ArgoCD"
        ]  # fmt: skip
        assert "grafana-us.example.com" in prompts[2]
        # The first link is chosen at once; down moves past the region headings.
        await pilot.press("down", "down")
        await pilot.press("enter")
        await demo.until(pilot, lambda: bool(opened), "enter opens the link")
        assert opened == [("https://grafana-eu.example.com", "Grafana EU")]
        assert not isinstance(demo.screen, LinksScreen)


async def test_help_lists_the_quick_links_key(frozen):
    demo = FrozenDemo(frozen, scenario=False)
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        await pilot.press("question_mark")
        await demo.until(pilot, lambda: isinstance(demo.screen, HelpScreen), "help opens")
        rows = binding_rows(demo.app, demo.dashboard)
        assert ("L", "Quick links", "links", True) in rows


async def test_escape_closes_the_list_and_opens_nothing(frozen, monkeypatch):
    demo = FrozenDemo(frozen, scenario=False, ui=UiConfig(links=LINKS))
    opened: list[str] = []
    monkeypatch.setattr(demo.app, "open_url", lambda url, **kw: opened.append(url))
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        await pilot.press("L")
        await demo.until(pilot, lambda: isinstance(demo.screen, LinksScreen), "L opens links")
        await pilot.press("escape")
        await demo.until(pilot, lambda: not isinstance(demo.screen, LinksScreen), "esc closes")
        assert opened == []


async def test_each_link_is_in_the_command_palette(frozen, monkeypatch):
    demo = FrozenDemo(frozen, scenario=False, ui=UiConfig(links=LINKS))
    opened: list[str] = []
    monkeypatch.setattr(demo.app, "open_url", lambda url, **kw: opened.append(url))
    async with demo.app.run_test(size=SIZE) as pilot:
        await demo.loaded(pilot)
        provider = LinkCommands(demo.dashboard)
        found = [str(hit.text) async for hit in provider.discover()]
        assert found == [
            "Open Admin US (US)", "Open Grafana EU (EU)", "Open Grafana US (US)", "Open ArgoCD"
        ]  # fmt: skip
        # As a person does it: Ctrl+P, type, Enter.
        await pilot.press("ctrl+p")
        await demo.until(pilot, lambda: isinstance(demo.screen, CommandPalette), "palette")
        await pilot.press(*"Open ArgoCD")

        def listed() -> bool:
            found = demo.screen.query_one(CommandList)
            return found.option_count > 0 and "ArgoCD" in str(found.get_option_at_index(0).prompt)

        await demo.until(pilot, listed, "the palette lists the link first")
        await pilot.press("enter")
        await demo.until(pilot, lambda: bool(opened), "the palette opens the link")
        assert opened == ["https://argocd.example.com"]


async def test_the_demo_has_quick_links(frozen):
    demo = FrozenDemo(frozen, scenario=False)
    assert {link.region for link in demo.app.settings.ui.links} >= {"us", "eu", ""}
