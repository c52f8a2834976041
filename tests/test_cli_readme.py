"""The README's command table is the parser's: every command, every option, and the
promise that every command takes ``--config``, ``--demo``, ``--readonly`` and ``--help``
(before or after its name) holds for each, ``sim serve`` included."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncall_tui.cli import reference
from oncall_tui.cli.main import build_parser
from tests.simserve import start_sim

README = Path(__file__).resolve().parents[1] / "README.md"
PROMISE = "Every command takes `--config PATH`, `--demo`, `--readonly` and `--help`"
COMMANDS = [words for words, _, _ in reference.commands(build_parser())]


def test_the_readme_table_is_made_from_the_parser():
    text = README.read_text(encoding="utf-8")
    shown = reference.in_readme(text)
    assert shown is not None, "the README has lost its command table markers"
    assert shown == reference.block(build_parser()), (
        "the README's command table is out of date: "
        "run python -m oncall_tui.cli.reference --write README.md"
    )
    assert PROMISE in " ".join(text.split())


def test_every_command_is_in_the_table_with_every_option():
    table = reference.table(build_parser())
    assert len(COMMANDS) >= 20
    for words in COMMANDS:
        assert f"`oncall-tui {' '.join(words)}" in table, words
    assert "--cover EMAIL" in table and "--severity S" in table and "--yes" in table


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w))
def test_every_command_takes_the_common_options_before_or_after(words, capsys):
    parser = build_parser()
    _, child, _ = next(c for c in reference.commands(parser) if c[0] == words)
    after = {o for a in child._actions for o in a.option_strings}
    before = {o for a in parser._actions for o in a.option_strings}
    common = {"--config", "--demo", "--readonly", "--help"}
    assert common <= after and common <= before, words
    with pytest.raises(SystemExit) as shown:
        parser.parse_args([*words, "--help"])
    assert shown.value.code == 0
    capsys.readouterr()


def test_sim_serve_takes_demo_config_and_readonly_like_every_command(tmp_path):
    config = tmp_path / "me.toml"
    config.write_text('[user]\nemail = "robin.ahn@example.com"\n')
    sims = start_sim(tmp_path, "--demo", "--readonly", "--config", str(config))
    sim = next(sims)
    try:
        assert sim.get("/_sim/state")["me"]["email"] == "robin.ahn@example.com"
    finally:
        sims.close()
