"""The declare form: name, summary, severity (with our guidance beside it), type,
visibility, and me as lead.

The form keeps one :class:`~oncall_tui.core.incidents.DeclareDraft`, whose idempotency
key is made when the form opens and kept until incident.io has the incident: pressing
Declare again after a timeout or an error reuses it, so the incident is opened once.
Dismisses with the :class:`~oncall_tui.core.incidents.Declared` result, or ``None``.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
    TextArea,
)

from oncall_tui.core.actions import ActionError
from oncall_tui.core.alert_incident import WHEN_TO_DECLARE, preselect_severity, preselect_words
from oncall_tui.core.incidents import (
    NAME_LIMIT,
    Declared,
    DeclareDraft,
    IncidentActions,
    Lookups,
    severity_guidance,
)
from oncall_tui.ui.text import clean, plain_content

__all__ = ["DeclareScreen"]


class SeverityPicker(RadioSet):
    """The severities, most severe first. Moving the cursor chooses, as in any radio
    group, so the guidance beside it always speaks of the severity under the cursor."""

    def action_previous_button(self) -> None:
        super().action_previous_button()
        self.action_toggle_button()

    def action_next_button(self) -> None:
        super().action_next_button()
        self.action_toggle_button()

    def choose(self, index: int) -> None:
        """Press the button at ``index`` (buttons mounted after the set was) and put the
        cursor on it; -1 chooses nothing."""
        buttons = list(self.query(RadioButton))
        if 0 <= index < len(buttons):
            self._selected = index
            buttons[index].value = True  # the set hears it, and says Changed


class DeclareScreen(ModalScreen[Declared | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="declare.cancel"),
        Binding("ctrl+s", "submit", "Declare", id="declare.submit"),
    ]

    DEFAULT_CSS = """
    DeclareScreen { align: center middle; background: $background 60%; }
    DeclareScreen > VerticalScroll {
        width: 100; max-width: 98%; height: auto; max-height: 95%;
        border: round $error; background: $surface; padding: 0 1;
    }
    DeclareScreen .title { text-style: bold; color: $error; }
    DeclareScreen .from { color: $text-muted; }
    DeclareScreen Label { margin: 1 0 0 0; text-style: bold; }
    DeclareScreen #name { background: $boost; }
    DeclareScreen #summary { height: 5; background: $boost; }
    DeclareScreen #severity-row { height: auto; }
    DeclareScreen #severity { width: 24; height: auto; }
    DeclareScreen #guidance { width: 1fr; height: auto; padding: 0 0 0 2; }
    DeclareScreen #options { height: auto; margin: 1 0 0 0; }
    DeclareScreen #options Checkbox { width: auto; margin: 0 0 0 3; }
    DeclareScreen #type { width: 30; }
    DeclareScreen #error { color: $error; height: auto; margin: 1 0 0 0; }
    DeclareScreen #buttons { height: auto; align-horizontal: right; margin: 1 0 0 0; }
    DeclareScreen #buttons Button { margin: 0 0 0 2; }
    DeclareScreen .hint { color: $text-muted; }
    DeclareScreen #preselect { height: auto; }
    """

    def __init__(
        self,
        actions: IncidentActions,
        guidance: dict[str, str],
        draft: DeclareDraft | None = None,
        *,
        from_what: str = "",
    ) -> None:
        super().__init__()
        self.actions = actions
        self.guidance = dict(guidance)
        self.draft = draft or DeclareDraft()
        self.from_what = from_what
        self.lookups: Lookups | None = None
        self._severity_ids: list[str] = []
        self._busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Declare an incident", classes="title")
            if self.from_what:
                yield Static(plain_content(f"From: {self.from_what}"), classes="from")
            yield Label("Name: what is broken, in a few words")
            yield Input(
                self.draft.name,
                placeholder="e.g. Card payments failing for EU customers",
                id="name",
                max_length=NAME_LIMIT * 4,
                compact=True,
            )
            yield Label("Summary: what we know (links welcome)")
            summary = TextArea(self.draft.summary, id="summary", soft_wrap=True, compact=True)
            summary.placeholder = "Impact, since when, what has been tried"
            yield summary
            yield Label("Severity: when in doubt, declare and adjust later")
            if self.draft.from_alert or self.draft.alert_severity:
                yield Static("", id="preselect", classes="hint")
            with Horizontal(id="severity-row"):
                yield SeverityPicker(id="severity", compact=True)
                yield Static("Loading severities…", id="guidance")
            with Horizontal(id="options"):
                yield Select[str](
                    [], prompt="Type: the default", id="type", allow_blank=True, compact=True
                )
                yield Checkbox("Private incident", self.draft.private, id="private", compact=True)
                yield Checkbox("Me as lead", self.draft.me_as_lead, id="lead", compact=True)
            yield Static("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Declare", id="declare", variant="error", compact=True)
            yield Static("Ctrl+S declares · Tab moves between fields · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self._load()

    @work(group="declare-lookups", exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        try:
            self.lookups = await self.actions.lookups()
        except ActionError as exc:
            self._error(f"{exc} Press Declare to try again.")
            self.query_one("#guidance", Static).update("")
            return
        radio = self.query_one("#severity", SeverityPicker)
        self._severity_ids = []
        wanted = self.draft.severity_id or self._preselect()
        chosen = -1
        for severity in reversed(self.lookups.severities):  # most severe first
            if wanted and wanted in (severity.id, severity.name.casefold()):
                chosen = len(self._severity_ids)
            self._severity_ids.append(severity.id)
            await radio.mount(RadioButton(plain_content(severity.name)))
        radio.choose(chosen)
        types = [(plain_content(t.name), t.id) for t in self.lookups.types]
        select = self.query_one("#type", Select)
        select.set_options(types)
        if self.draft.type_id and any(t.id == self.draft.type_id for t in self.lookups.types):
            select.value = self.draft.type_id
        self._show_guidance()

    # -- guidance ----------------------------------------------------------------

    def _preselect(self) -> str:
        """The severity chosen from the alert's (core's rule), said beside the picker."""
        if self.lookups is None or not self.query("#preselect"):
            return ""
        chosen = preselect_severity(self.draft.alert_severity, self.lookups.severities)
        words = preselect_words(self.draft.alert_severity, chosen)
        self.query_one("#preselect", Static).update(plain_content(f"{words} {WHEN_TO_DECLARE}"))
        return chosen.id if chosen is not None else ""

    def _chosen_severity(self) -> str:
        radio = self.query_one("#severity", RadioSet)
        index = radio.pressed_index
        if 0 <= index < len(self._severity_ids):
            return self._severity_ids[index]
        return ""

    def _show_guidance(self) -> None:
        if self.lookups is None:
            return
        chosen = self._chosen_severity()
        lines: list[Content] = []
        for severity in reversed(self.lookups.severities):
            words = severity_guidance(severity, self.guidance) or "No guidance written."
            style = "bold" if severity.id == chosen else "$text-muted"
            lines.append(
                Content.assemble(
                    plain_content(severity.name, f"bold {style}"),
                    ": ",
                    plain_content(words, style),
                )
            )
        self.query_one("#guidance", Static).update(Content("\n").join(lines))

    @on(RadioSet.Changed, "#severity")
    def _severity_changed(self) -> None:
        self._show_guidance()

    def on_descendant_focus(self) -> None:
        self._show_guidance()

    # -- submit ----------------------------------------------------------------------

    def _error(self, text: str) -> None:
        self.query_one("#error", Static).update(plain_content(text))

    def _collect(self) -> DeclareDraft:
        draft = self.draft  # the same object: its key survives every retry
        draft.name = self.query_one("#name", Input).value
        draft.summary = self.query_one("#summary", TextArea).text
        draft.severity_id = self._chosen_severity()
        value = self.query_one("#type", Select).value
        draft.type_id = value if isinstance(value, str) else ""
        draft.private = self.query_one("#private", Checkbox).value
        draft.me_as_lead = self.query_one("#lead", Checkbox).value
        return draft

    @on(Button.Pressed, "#declare")
    def action_submit(self) -> None:
        if self._busy:
            return
        draft = self._collect()
        if not clean(draft.name).strip():
            self._error("Give the incident a name: what is broken, in a few words.")
            self.query_one("#name", Input).focus()
            return
        if self.lookups is not None and not draft.severity_id:
            self._error("Choose a severity (the guidance is beside each one).")
            self.query_one("#severity", RadioSet).focus()
            return
        self._declare(draft)

    @work(group="declare", exclusive=True, exit_on_error=False)
    async def _declare(self, draft: DeclareDraft) -> None:
        self._busy = True
        button = self.query_one("#declare", Button)
        button.disabled = True
        button.label = "Declaring…"
        self._error("")
        try:
            declared = await self.actions.declare(draft)
        except ActionError as exc:
            self._error(str(exc))
            return
        except Exception as exc:  # never lose the form to a bug
            self._error(f"Unexpected error: {clean(str(exc), limit=300)}. Press Declare to retry.")
            return
        finally:
            self._busy = False
            button.disabled = False
            button.label = "Declare"
        self.dismiss(declared)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
