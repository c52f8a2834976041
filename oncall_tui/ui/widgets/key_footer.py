"""A footer that fits its terminal: Help and Quit always show, the other keys as room allows.

Textual's footer lays every shown key out in one row and lets the row run off the right
edge, where the command palette's key is docked over it: at 80 columns that garbled the
last keys and hid ``?`` and ``q``. This footer measures each key, keeps the pinned ones
(help, quit) at the right end, and drops the other keys from the end of the list until
the row fits; a narrow terminal shows short labels first. The help screen (``?``) still
lists every key.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Always shown, at the right end, in this order.
PINNED = ("help", "quit")
# Shorter labels used when the full ones do not all fit.
SHORT = {
    "Escalate": "Escal",
    "Runbook": "Run",
    "Grafana": "Graf",
    "Calendar": "Cal",
    "Incidents": "Inc",
    "palette": "",
}


class KeyFooter(Footer):
    """The key footer: pinned keys always visible, the rest as the width allows."""

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def _shown(self) -> list[tuple[Binding, bool, str]]:
        """One (binding, enabled, tooltip) per action shown, in the screen's order."""
        seen: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen[binding.action] = (binding, enabled, tooltip)
        return list(seen.values())

    def _cost(self, binding: Binding, description: str) -> int:
        """Columns one key takes, as Footer's styles lay it out."""
        text = self.app.get_key_display(binding)
        if self.compact:  # "key description", then a column of margin
            return len(text) + (1 + len(description) if description else 0) + 1
        # " key " then "description " (no margin)
        return len(text) + 2 + (len(description) + 1 if description else 0)

    def _fit(self, short: bool) -> tuple[list, list, tuple | None] | None:
        """The keys that fit with full (or ``short``) labels, or None if the pinned do not."""

        def label(binding: Binding) -> str:
            return (
                SHORT.get(binding.description, binding.description)
                if short
                else (binding.description)
            )

        shown = self._shown()
        pinned = [b for b in shown if b[0].id in PINNED]
        pinned.sort(key=lambda b: PINNED.index(b[0].id))
        rest = [b for b in shown if b[0].id not in PINNED]
        room = self._width() - sum(self._cost(b[0], label(b[0])) for b in pinned)
        if room < 0:
            return None
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            active = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if active is not None:
                binding, enabled, tooltip = active.binding, active.enabled, active.tooltip
                # Its left border, and right padding when not compact.
                cost = self._cost(binding, label(binding)) + (1 if self.compact else 2)
                if cost <= room:
                    palette = (binding, enabled, tooltip, label(binding))
                    room -= cost
        kept = []
        for shown_binding, shown_enabled, shown_tooltip in rest:
            cost = self._cost(shown_binding, label(shown_binding))
            if cost > room:
                break  # keep the screen's order: drop from the end
            kept.append((shown_binding, shown_enabled, shown_tooltip, label(shown_binding)))
            room -= cost
        return kept, [(*b, label(b[0])) for b in pinned], palette

    def _layout(self) -> tuple[list, list, tuple | None]:
        full = self._fit(short=False)
        if full is not None and len(full[0]) == len(self._shown()) - len(full[1]):
            return full
        short = self._fit(short=True)
        if short is not None and (full is None or len(short[0]) > len(full[0])):
            return short
        return full if full is not None else ([], [], None)

    def _keys(self) -> Iterator[FooterKey]:
        kept, pinned, palette = self._layout()
        for binding, enabled, tooltip, description in [*kept, *pinned]:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip or binding.description,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            binding, enabled, tooltip, description = palette
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    _composed: tuple | None = None  # what the keys on show were made from

    def _signature(self) -> tuple:
        kept, pinned, palette = self._layout()
        return (
            self._width(),
            tuple((b.key, b.action, enabled, tip, text) for b, enabled, tip, text in kept),
            tuple((b.key, b.action, enabled, tip, text) for b, enabled, tip, text in pinned),
            palette and (palette[0].key, palette[1], palette[3]),
        )

    def bindings_changed(self, screen: Screen) -> None:
        """Lay the keys out again only when what they show changed. Every cursor move
        refreshes the bindings (which keys apply depends on the row), and remounting
        every key costs a layout of the whole screen: a held Down key did that on
        every frame."""
        if (
            self._bindings_ready
            and self._composed is not None
            and screen is self.screen
            and self._signature() == self._composed
        ):
            self.recomposes_skipped += 1
            return
        super().bindings_changed(screen)

    recomposes_skipped = 0  # for tests: binding refreshes that changed nothing shown

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._composed = self._signature()
        yield from self._keys()

    def on_resize(self) -> None:
        # What fits depends on the width: lay the keys out again for the new one.
        if self._bindings_ready:
            self.call_after_refresh(self.recompose)
