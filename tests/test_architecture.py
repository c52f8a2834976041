"""The dependency rule: ui -> core -> backends -> domain; Textual only inside ui/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_core_imports_without_textual():
    code = (
        "import sys, oncall_tui.config, oncall_tui.secrets, oncall_tui.domain, "
        "oncall_tui.backends.http\n"
        "import pkgutil, importlib, oncall_tui.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('oncall_tui.core.' + m.name)\n"
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


MAX_MODULE_LINES = 900  # a module past this mixes jobs: split it by job (issue 12)


def test_no_module_is_over_900_lines():
    """Every module of the package stays small enough to hold one job."""
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted((ROOT / "oncall_tui").rglob("*.py"))
    }
    assert len(sizes) > 50, "the package's modules were not found"
    too_big = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_big, f"over {MAX_MODULE_LINES} lines (split by job): {too_big}"
