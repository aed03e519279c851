"""lmlib and the tests follow STYLE.md's formatter and linter (ruff, line length 100)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command):
    beside_python = str(Path(sys.executable).parent)  # the venv's bin, even when not activated
    ruff = shutil.which("ruff", path=beside_python) or shutil.which("ruff")
    ruff = ruff or pytest.skip("ruff is not installed")
    out = subprocess.run(
        [ruff, *command, "lmlib", "tests"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_modules_read_in_one_sitting():
    """STYLE.md: a module reads top to bottom in one sitting (about 300 lines at most)."""
    long = {
        p.relative_to(ROOT).as_posix(): n
        for p in (ROOT / "lmlib").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 330
    }
    assert not long, f"split these modules: {long}"
