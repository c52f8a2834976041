"""Small modal screens. An action asks with them in one style: from a worker, it awaits
``push_screen_wait`` and goes on with the answer (no nested callbacks).

* :class:`ConfirmScreen` → ``bool``: a title, a summary of what will happen, a confirm
  button (red and not focused first when ``danger``).
* :class:`ChooseScreen` → option id or ``None``: a list with type-to-filter.
* :class:`DurationScreen` → ``timedelta`` or ``None``: presets, or typed "15m", "2h",
  "1h30m", "until 14:00" (see :func:`parse_duration`).
* :class:`PromptScreen` → ``str`` or ``None``: one line, or several (Ctrl+S sends).

Everything shown that came from an API goes through :mod:`oncall_tui.ui.text`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from oncall_tui.core import timefmt
from oncall_tui.core.durations import MAX_DURATION as MAX_DURATION  # the reader lives in core
from oncall_tui.core.durations import describe_duration, parse_duration
from oncall_tui.ui.text import clean, plain_content

__all__ = [
    "ChooseScreen",
    "ConfirmScreen",
    "DurationScreen",
    "PromptScreen",
    "describe_duration",
    "parse_duration",
]

Clock = Callable[[], datetime]

_MODAL_CSS = """
{name} {{
    align: center middle;
    background: $background 60%;
    & > Vertical {{
        width: 70; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }}
    & .modal-title {{ text-style: bold; color: $primary; padding: 0 0 1 0; }}
    & .modal-hint {{ color: $foreground-muted; padding: 1 0 0 0; }}
    & .modal-error {{ color: $error; height: auto; }}
    & .modal-buttons {{ height: auto; align-horizontal: right; padding: 1 0 0 0; }}
    & .modal-buttons Button {{ margin: 0 0 0 2; }}
}}
"""

# -------------------------------------------------------------------------- confirm


class ConfirmScreen(ModalScreen[bool]):
    """Ask before something that cannot be undone lightly. Dismisses with a bool."""

    DEFAULT_CSS = (
        _MODAL_CSS.format(name="ConfirmScreen")
        + """
    ConfirmScreen .modal-summary { height: auto; }
    ConfirmScreen.-danger > Vertical { border: round $error; }
    ConfirmScreen.-danger .modal-title { color: $error; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="confirm.cancel"),
        Binding("y", "confirm", "Confirm", id="confirm.yes"),
    ]

    def __init__(
        self,
        title: str,
        summary_lines: Sequence[str] = (),
        confirm_label: str = "Confirm",
        danger: bool = False,
    ) -> None:
        super().__init__(classes="-danger" if danger else None)
        self._title = title
        self._summary = tuple(summary_lines)
        self._confirm_label = confirm_label
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain_content(self._title), classes="modal-title")
            if self._summary:
                yield Static(
                    Content("\n").join(plain_content(line) for line in self._summary),
                    classes="modal-summary",
                )
            with Horizontal(classes="modal-buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button(
                    clean(self._confirm_label, limit=40),
                    id="confirm",
                    variant="error" if self._danger else "primary",
                )
            hint = "y confirms · n or Esc cancels"
            yield Static(hint, classes="modal-hint", markup=False)

    def on_mount(self) -> None:
        # A dangerous action must not be one Enter away.
        self.query_one("#cancel" if self._danger else "#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


# --------------------------------------------------------------------------- choose


class ChooseScreen(ModalScreen[str | None]):
    """Pick one of ``options`` (id, label, detail); typing filters. → id or None."""

    DEFAULT_CSS = (
        _MODAL_CSS.format(name="ChooseScreen")
        + """
    ChooseScreen OptionList { height: auto; max-height: 16; border: none; padding: 0; }
    ChooseScreen Input { margin: 0 0 1 0; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="choose.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="choose.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="choose.up"),
    ]

    def __init__(
        self,
        title: str,
        options: Sequence[tuple[str, str, str]],
        *,
        placeholder: str = "type to filter",
    ) -> None:
        super().__init__()
        self._title = title
        self._options = [
            (str(oid), clean(label, limit=200), clean(detail, limit=400))
            for oid, label, detail in options
        ]
        self._placeholder = placeholder
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain_content(self._title), classes="modal-title")
            yield Input(placeholder=self._placeholder, id="choose-filter")
            yield OptionList(id="choose-options")
            yield Static("", classes="modal-hint", id="choose-hint", markup=False)

    def on_mount(self) -> None:
        self._refill("")
        self.query_one(Input).focus()

    def matching(self, query: str) -> list[tuple[str, str, str]]:
        terms = query.casefold().split()
        return [
            opt
            for opt in self._options
            if all(t in f"{opt[1]}\n{opt[2]}".casefold() for t in terms)
        ]

    def _refill(self, query: str) -> None:
        found = self.matching(query)
        options = self.query_one(OptionList)
        options.clear_options()
        prompts = []
        for oid, label, detail in found:
            prompt = Content(label)
            if detail:
                prompt = prompt + Content.styled(f"\n  {detail}", "$foreground-muted")
            prompts.append(Option(prompt, id=oid))
        options.add_options(prompts)
        self._shown = [oid for oid, _, _ in found]
        if found:
            options.highlighted = 0
        hint = f"{len(found)} of {len(self._options)} · Enter chooses · Esc cancels"
        if not found:
            hint = "Nothing matches · Esc cancels"
        self.query_one("#choose-hint", Static).update(hint)

    @on(Input.Changed, "#choose-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._refill(event.value)

    @on(Input.Submitted, "#choose-filter")
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and 0 <= options.highlighted < len(self._shown):
            self.dismiss(self._shown[options.highlighted])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not self._shown:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(len(self._shown) - 1, current + step))

    def action_cancel(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------------- duration


DEFAULT_PRESETS = (
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)


class DurationScreen(ModalScreen[timedelta | None]):
    """How long (for snooze, silence, override). → timedelta or None."""

    DEFAULT_CSS = (
        _MODAL_CSS.format(name="DurationScreen")
        + """
    DurationScreen OptionList { height: auto; max-height: 8; border: none; padding: 0; }
    DurationScreen Input { margin: 1 0 0 0; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="duration.cancel"),
    ]

    def __init__(
        self,
        title: str,
        presets: Sequence[timedelta] = DEFAULT_PRESETS,
        *,
        clock: Clock | None = None,
        zone: timefmt.ZoneLike = None,
    ) -> None:
        super().__init__()
        self._title = title
        self._presets = tuple(p for p in presets if p > timedelta(0))
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._zone = zone

    def compose(self) -> ComposeResult:
        now = self._clock()
        with Vertical():
            yield Static(plain_content(self._title), classes="modal-title")
            yield OptionList(
                *[
                    Option(describe_duration(p, now=now, zone=self._zone), id=str(n))
                    for n, p in enumerate(self._presets)
                ],
                id="duration-presets",
            )
            yield Input(placeholder="or type: 45m, 1h30m, until 14:00", id="duration-input")
            yield Static("", classes="modal-error", id="duration-error", markup=False)
            yield Static(
                "Enter chooses · Tab switches between list and typing · Esc cancels",
                classes="modal-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        presets = self.query_one(OptionList)
        if self._presets:
            presets.highlighted = 0
            presets.focus()
        else:
            self.query_one(Input).focus()

    @on(OptionList.OptionSelected, "#duration-presets")
    def _preset(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._presets[int(event.option.id or 0)])

    @on(Input.Changed, "#duration-input")
    def _typed(self, event: Input.Changed) -> None:
        error = self.query_one("#duration-error", Static)
        if not event.value.strip():
            error.update("")
            return
        try:
            delta = parse_duration(event.value, now=self._clock(), zone=self._zone)
        except ValueError as exc:
            error.update(Content.styled(str(exc), "$error"))
        else:
            error.update(
                Content.styled(
                    describe_duration(delta, now=self._clock(), zone=self._zone), "$success"
                )
            )

    @on(Input.Submitted, "#duration-input")
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            delta = parse_duration(event.value, now=self._clock(), zone=self._zone)
        except ValueError as exc:
            self.query_one("#duration-error", Static).update(Content.styled(str(exc), "$error"))
            return
        self.dismiss(delta)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --------------------------------------------------------------------------- prompt


class PromptScreen(ModalScreen[str | None]):
    """Ask for text (a note, a reason). → the text, stripped, or None if cancelled.

    One line: Enter sends. Several lines: Ctrl+S sends, Enter is a new line.
    """

    DEFAULT_CSS = (
        _MODAL_CSS.format(name="PromptScreen")
        + """
    PromptScreen TextArea { height: 8; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
        Binding("ctrl+s", "submit", "Send", id="prompt.submit"),
    ]

    def __init__(
        self,
        title: str,
        placeholder: str = "",
        multiline: bool = False,
        *,
        initial: str = "",
        max_length: int = 10_000,
    ) -> None:
        super().__init__()
        self._title = title
        self._placeholder = placeholder
        self._multiline = multiline
        self._initial = initial
        self._max_length = max_length

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain_content(self._title), classes="modal-title")
            if self._multiline:
                area = TextArea(self._initial, id="prompt-text", soft_wrap=True)
                area.placeholder = self._placeholder
                yield area
                hint = "Ctrl+S sends · Esc cancels"
            else:
                yield Input(
                    self._initial,
                    placeholder=self._placeholder,
                    id="prompt-text",
                    max_length=self._max_length,
                )
                hint = "Enter sends · Esc cancels"
            yield Static("", classes="modal-error", id="prompt-error", markup=False)
            yield Static(hint, classes="modal-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#prompt-text").focus()

    def _value(self) -> str:
        widget = self.query_one("#prompt-text")
        return widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]

    @on(Input.Submitted, "#prompt-text")
    def action_submit(self) -> None:
        text = self._value().strip()
        if not text:
            self.query_one("#prompt-error", Static).update("Type something, or Esc to cancel.")
            return
        if len(text) > self._max_length:
            self.query_one("#prompt-error", Static).update(
                f"Too long: {len(text)} characters, at most {self._max_length}."
            )
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
