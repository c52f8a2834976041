"""The README's command table, made from the parser so the two cannot drift.

``python -m oncall_tui.cli.reference`` prints the table; ``--write README.md`` puts it
between the ``<!-- commands -->`` and ``<!-- /commands -->`` markers. A test fails when
the README's table is not what the parser gives.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

START = "<!-- commands: made by `python -m oncall_tui.cli.reference --write README.md` -->"
END = "<!-- /commands -->"
# On every command; said once under the table instead of in every row.
COMMON = ("--help", "--config", "--demo", "--readonly")


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def commands(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    """Every command that runs something: (its words, its parser, its help)."""
    sub = _subparsers(parser)
    if sub is None:
        return
    helps = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    for name, child in sub.choices.items():
        if child.get_default("handler") is not None:
            yield (*words, name), child, helps.get(name, "")
        yield from commands(child, (*words, name))


def options(parser: argparse.ArgumentParser) -> list[str]:
    """The arguments a command takes besides the common ones, as usage words."""
    shown: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if any(o in COMMON or o == "--version" for o in action.option_strings):
            continue
        value = str(action.metavar or action.dest.upper())
        if not action.option_strings:
            many = {"*": f"[{value}…]", "+": f"{value}…", "?": f"[{value}]"}
            shown.append(many.get(str(action.nargs), value))
            continue
        flag = max(action.option_strings, key=len)
        word = flag if action.nargs == 0 else f"{flag} {value}"
        shown.append(word if action.required else f"[{word}]")
    return shown


def table(parser: argparse.ArgumentParser) -> str:
    top = " ".join(["oncall-tui", *options(parser)])
    rows = [
        "| command | what it does |",
        "|---|---|",
        f"| `{top}` | the dashboard |",
    ]
    for words, child, help_text in commands(parser):
        usage = " ".join(["oncall-tui", *words, *options(child)])
        rows.append(f"| `{usage}` | {help_text} |")
    return "\n".join(rows) + "\n"


def block(parser: argparse.ArgumentParser) -> str:
    return f"{START}\n{table(parser)}{END}"


def in_readme(text: str) -> str | None:
    """The README's table as it stands (None when the markers are missing)."""
    if START not in text or END not in text:
        return None
    return text[text.index(START) : text.index(END) + len(END)]


def main(argv: list[str] | None = None) -> int:
    from oncall_tui.cli.main import build_parser

    args = argv if argv is not None else sys.argv[1:]
    made = block(build_parser())
    if args[:1] == ["--write"] and len(args) == 2:
        path = Path(args[1])
        text = path.read_text(encoding="utf-8")
        old = in_readme(text)
        if old is None:
            print(f"{path} has no {START!r} … {END!r} markers", file=sys.stderr)
            return 2
        path.write_text(text.replace(old, made), encoding="utf-8")
        return 0
    print(made)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
