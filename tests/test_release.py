"""A release changes one line: lmlib.__version__. Everything that installs lmlib follows it."""

import re
from pathlib import Path

import lmlib

ROOT = Path(__file__).resolve().parents[1]
# Every file a reader copies an install command from, and the notebooks and template.
PLACES = ["README.md", "book/*.md", "lectures/*.md", "labs/*.ipynb", "grading/templates/*"]
PIN = re.compile(r"lmlib @ git\+\S+?@(v[\w.]+)")


def pins() -> list[tuple[str, str]]:
    found = []
    for pattern in PLACES:
        for path in sorted(ROOT.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            found += [(str(path.relative_to(ROOT)), m[1]) for m in PIN.finditer(text)]
    return found


def test_every_lmlib_pin_is_the_tag_of_this_version():
    tag = f"v{lmlib.__version__}"
    found = pins()
    assert {path for path, _ in found} >= {
        "book/instructors.md",
        "grading/templates/github-classroom.yml",
    }
    assert len([p for p, _ in found if p.startswith("labs/")]) == len(
        list(ROOT.glob("labs/*.ipynb"))
    )
    wrong = [f"{path}: {pin}" for path, pin in found if pin != tag]
    assert not wrong, f"these pins are not {tag} (lmlib.__version__); update them:\n" + "\n".join(
        wrong
    )


def test_the_pin_pattern_reads_a_tag_and_nothing_else():
    text = 'pip install "lmlib @ git+https://github.com/o/r@v1.2.3"; "lmlib @ git+https://x/y"'
    assert [m[1] for m in PIN.finditer(text)] == ["v1.2.3"]


def test_the_version_is_written_in_one_place():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]', pyproject, re.M)
    assert 'version = { attr = "lmlib.__version__" }' in pyproject
    assert not re.search(r'^version = "', pyproject, re.M)  # no second copy


def test_changelog_describes_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(lmlib.__version__)}\]", changelog, re.M), (
        f"CHANGELOG.md has no '## [{lmlib.__version__}]' section"
    )
