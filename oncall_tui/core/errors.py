"""The error every action raises when it did not happen (imported by the modules below
the actions too: the backends' wiring and who I am)."""

from __future__ import annotations


class ActionError(Exception):
    """An action that did not happen, with the reason and what to do, in words."""
