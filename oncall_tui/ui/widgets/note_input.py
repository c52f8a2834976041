"""The note box: type, Enter sends; the draft is kept as it is typed, a paste is text,
Ctrl+O opens ``$EDITOR``, Esc leaves."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from oncall_tui.safety import clean_text
from oncall_tui.ui.paste import INERT_ESC


class NoteInput(TextArea):
    """The note box. It belongs to one incident from the moment it opens (its title
    names it) and keeps that target whatever the list does.

    Enter sends; Ctrl+J (or Shift/Alt+Enter where the terminal tells them apart) starts a
    new line; Ctrl+O edits the note in ``$EDITOR``. A paste is inserted as text: carriage
    returns become new lines and never send, escape sequences show as inert ``␛`` and are
    removed when sent. What is typed is saved as a draft as it is typed (and on Esc, on
    leaving the screen, on quitting), and comes back when the box opens again.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Leave the note box", show=False, id="note.leave"),
        Binding("ctrl+o", "editor", "Edit in $EDITOR", show=False, id="note.editor"),
        Binding("ctrl+j", "newline", "New line in the note", show=False, id="note.newline"),
    ]

    DRAFT_DELAY = 0.4  # seconds of quiet before a draft is saved

    class Submitted(Message):
        def __init__(self, note: NoteInput, text: str) -> None:
            super().__init__()
            self.note = note
            self.text = text

    class Left(Message):
        pass

    def __init__(self, save: Callable[[str, str, str], str] | None = None, **kwargs) -> None:
        super().__init__("", soft_wrap=True, show_line_numbers=False, **kwargs)
        self.placeholder = (
            "n: type a note · Enter sends · Ctrl+J new line · Ctrl+O $EDITOR · Esc leaves"
        )
        self.target_id: str | None = None
        self.target_ref = ""
        self._save = save
        self._saved = ""
        self._draft_timer: Any = None
        self._loading = False

    # -- the target ------------------------------------------------------------

    def open_for(self, incident_id: str, reference: str, name: str, draft: str) -> None:
        """Point the box at an incident (saving the draft of the one before)."""
        if self.target_id != incident_id:
            self.save_draft()
            self.target_id = incident_id
            self.target_ref = reference
            self._loading = True
            self.load_text(draft)
            self._loading = False
            self._saved = draft
            self.move_cursor(self.document.end)
        self.border_title = f"Note for {reference} · {clean_text(name, limit=60)}"
        self.border_subtitle = "draft restored" if draft else ""

    def warn(self, words: str) -> None:
        self.border_subtitle = clean_text(words, limit=200)

    # -- drafts ----------------------------------------------------------------

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        if self._loading or self.target_id is None:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(self.DRAFT_DELAY, self.save_draft)

    def save_draft(self) -> None:
        """Save what is in the box as the target's draft, now (if it changed)."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.target_id is None or self._save is None or self.text == self._saved:
            return
        problem = self._save(self.target_id, self.target_ref, self.text)
        if problem:
            self.warn(problem)
        else:
            self._saved = self.text

    def sent(self) -> None:
        """The note is in the outbox: empty the box (its draft is gone with it)."""
        self._loading = True
        self.clear()
        self._loading = False
        self._saved = ""
        self.border_subtitle = ""

    def _on_blur(self, event) -> None:
        self.save_draft()

    def on_unmount(self) -> None:
        self.save_draft()

    # -- keys and paste ----------------------------------------------------------

    async def _on_key(self, event) -> None:
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self.save_draft()
            self.post_message(self.Submitted(self, self.text))
            return
        if event.key in ("ctrl+j", "shift+enter", "alt+enter"):
            event.prevent_default()
            event.stop()
            self.insert("\n")
        # Anything else: TextArea's own handler runs next (Textual dispatches along the MRO).

    async def _on_paste(self, event: events.Paste) -> None:
        """Insert the paste as text: line breaks are new lines, never Enter."""
        event.prevent_default()
        event.stop()
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        inert = text.count(INERT_ESC)
        if self.read_only:
            return
        if result := self._replace_via_keyboard(text, *self.selection):
            self.move_cursor(result.end_location)
        self.focus()
        if inert:
            self.warn(
                f"pasted {inert} escape sequence(s), shown as ␛: they are removed when "
                "the note is sent; the rest is sent as pasted"
            )

    def action_newline(self) -> None:
        self.insert("\n")

    def action_leave(self) -> None:
        self.save_draft()
        self.post_message(self.Left())

    async def action_editor(self) -> None:
        """Edit the note in ``$VISUAL``/``$EDITOR`` (as srepd does); the box gets the
        result back, ready to send with Enter."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        fd, name = tempfile.mkstemp(prefix="oncall-tui-note-", suffix=".md")
        path = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.text)
            try:
                with self.app.suspend():
                    done = subprocess.run([*shlex.split(editor), str(path)], check=False)
            except Exception as exc:  # no terminal to hand over (e.g. a web session)
                self.warn(f"cannot open {editor}: {clean_text(str(exc), limit=120)}")
                return
            if done.returncode != 0:
                self.warn(f"{editor} exited with status {done.returncode}: the box is unchanged")
                return
            text = path.read_text(encoding="utf-8", errors="replace").rstrip("\n")
        except OSError as exc:
            self.warn(f"cannot use a temporary file for {editor}: {exc.strerror or exc}")
            return
        finally:
            path.unlink(missing_ok=True)
        self.load_text(text)
        self.move_cursor(self.document.end)
        self.focus()
        self.warn(f"edited in {editor}: Enter sends")
