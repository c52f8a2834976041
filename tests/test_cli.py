"""The command line: exit codes, config commands, auth commands, help everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oncall_tui.cli.main import build_parser, main


def run(*args: str, input: str | None = None, env: dict | None = None):
    import os

    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "oncall_tui", *args],
        capture_output=True,
        text=True,
        input=input,
        env=full_env,
        timeout=60,
    )


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("oncall-tui ")


def test_help_on_every_command():
    parser = build_parser()
    commands = [a for a in parser._subparsers._group_actions[0].choices]
    assert {"config", "auth"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0


def test_usage_error_is_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--no-such-flag"])
    assert info.value.code == 2


def test_config_init_check_path(tmp_path, capsys):
    path = tmp_path / "sub" / "config.toml"
    assert main(["config", "init", "--config", str(path)]) == 0
    text = path.read_text()
    assert "[user]" in text and "auth set incident-io" in text
    assert (path.stat().st_mode & 0o777) == 0o600
    # Never overwrite without --force.
    path.write_text(text + "\n# mine\n")
    assert main(["config", "init", "--config", str(path)]) == 2
    assert "# mine" in path.read_text()
    assert main(["config", "init", "--force", "--config", str(path)]) == 0
    assert "# mine" not in path.read_text()
    assert main(["config", "check", "--config", str(path)]) == 0
    capsys.readouterr()  # what init and check said, so only path's answer is read below
    assert main(["config", "path", "--config", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}  (exists)"


def test_config_check_reports_problems_without_traceback(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[ui]\ntheme = 3\nmood = 'x'\n")
    result = run("config", "check", "--config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "ui.theme" in result.stderr and "ui.mood" in result.stderr
    assert str(path) in result.stderr


def test_missing_config_is_exit_2(tmp_path):
    result = run("config", "check", "--config", str(tmp_path / "missing.toml"))
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_dashboard_without_email_says_what_to_do(tmp_path):
    result = run()
    assert result.returncode == 2
    assert "--demo" in result.stderr


def test_auth_status_never_prints_values():
    result = run("auth", "status", env={"ONCALL_TUI_INCIDENT_IO__API_KEY": "very-secret-value"})
    assert "very-secret-value" not in result.stdout + result.stderr
    assert "present (env ONCALL_TUI_INCIDENT_IO__API_KEY)" in result.stdout


def test_auth_set_headless_points_to_env():
    result = run("auth", "set", "incident-io", input="abc\n")
    assert result.returncode == 1
    assert "ONCALL_TUI_INCIDENT_IO__API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert "abc" not in result.stderr


def test_auth_unknown_service_is_usage_error():
    result = run("auth", "forget", "slack")
    assert result.returncode == 2
