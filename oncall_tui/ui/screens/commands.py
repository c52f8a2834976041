"""The command palette's provider: every key of the active screen, by its description."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class BindingCommands(Provider):
    """The command palette lists every key of the active screen by its description."""

    def _commands(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        seen: dict[str, tuple[str, str, str]] = {}
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or not binding.id or not active.enabled:
                continue
            if binding.action in seen or active.node is not screen:
                continue
            keys = self.app.get_key_display(Binding(key, ""))
            seen[binding.action] = (binding.description, binding.action, keys)
        return list(seen.values())

    async def discover(self) -> Hits:
        for description, action, keys in self._commands():
            yield DiscoveryHit(description, self._runner(action), help=f"key {keys}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, action, keys in self._commands():
            score = matcher.match(description)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(description), self._runner(action), help=f"key {keys}"
                )

    def _runner(self, action: str) -> Callable[[], Any]:
        screen = self.screen

        async def run() -> None:
            await screen.run_action(action)

        return run
