"""The files that let others reuse, cite and report on the course parse and agree with lmlib."""

import re
from pathlib import Path

import pytest
import yaml

import lmlib

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / ".github" / "ISSUE_TEMPLATE"
# Citation File Format 1.2.0: the keys every CITATION.cff must have
CFF_REQUIRED = {"cff-version", "message", "title", "authors"}
# GitHub issue forms: the keys of a form, and what each kind of field must carry
FORM_KEYS = {"name", "description", "body"}
FIELD_TYPES = {"markdown", "textarea", "input", "dropdown", "checkboxes"}


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


def _project() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_license_names_mit_for_code_and_cc_by_for_text():
    text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in text and "Permission is hereby granted, free of charge" in text
    assert "Creative Commons Attribution 4.0 International" in text
    assert "https://creativecommons.org/licenses/by/4.0/" in text
    assert _project()["license"] == {"text": "MIT"}
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "MIT License" in readme and "(CC BY 4.0)" in readme


def test_citation_is_valid_cff_at_lmlib_s_version():
    cff = _yaml(ROOT / "CITATION.cff")
    assert CFF_REQUIRED <= set(cff), CFF_REQUIRED - set(cff)
    assert cff["cff-version"] == "1.2.0"
    assert cff["authors"] and all("name" in a or "family-names" in a for a in cff["authors"])
    assert str(cff["version"]) == lmlib.__version__
    # pyproject.toml takes its version from lmlib.__version__, the one place it is written
    assert "version" in _project()["dynamic"] and "version" not in _project()
    assert set(cff["license"]) == {"MIT", "CC-BY-4.0"}
    # the book's _config.yml is where the repository URL is kept; the citation must agree
    assert cff["repository-code"] == _yaml(ROOT / "_config.yml")["repository"]["url"]
    if "date-released" in cff:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"]))


@pytest.mark.parametrize("form", ["bug_report", "errata", "question"])
def test_issue_templates_are_valid_forms(form):
    data = _yaml(TEMPLATES / f"{form}.yml")
    assert FORM_KEYS <= set(data), FORM_KEYS - set(data)
    ids = []
    for field in data["body"]:
        assert field["type"] in FIELD_TYPES, field
        attrs = field["attributes"]
        if field["type"] == "markdown":
            assert attrs["value"].strip()
            continue
        assert attrs["label"].strip() and field["id"]
        if field["type"] == "dropdown":
            assert attrs["options"]
        ids.append(field["id"])
    assert len(ids) == len(set(ids)), f"{form}: repeated field ids {ids}"
    assert any(f.get("validations", {}).get("required") for f in data["body"])


def test_bug_report_asks_for_lmlib_doctor_and_errata_for_the_chapter():
    bug = _yaml(TEMPLATES / "bug_report.yml")
    doctor = next(f for f in bug["body"] if f.get("id") == "doctor")
    assert "lmlib doctor" in doctor["attributes"]["label"]
    assert doctor["validations"]["required"]
    errata = _yaml(TEMPLATES / "errata.yml")
    page = next(f for f in errata["body"] if f.get("id") == "page")
    assert page["validations"]["required"]
    example = re.search(r"\((lectures/\S+\.md)\)", page["attributes"]["placeholder"]).group(1)
    assert (ROOT / example).exists(), f"the errata example names a missing chapter: {example}"
    assert _yaml(TEMPLATES / "config.yml")["blank_issues_enabled"] is False


def test_changelog_lists_lmlib_s_version_under_unreleased():
    text = (ROOT / "CHANGELOG.md").read_text()
    heads = re.findall(r"^## \[([^\]]+)\](?: - (\S+))?$", text, re.M)
    assert heads and heads[0][0] == "Unreleased", heads
    versions = [v for v, _ in heads[1:]]
    assert versions and versions[0] == lmlib.__version__, versions
    for version, date in heads[1:]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
        assert not date or re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), (version, date)
    sections = re.findall(r"^### (\w+)$", text, re.M)
    assert set(sections) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    # every version has entries under it, not just a title (Unreleased may be empty)
    for block in re.split(r"^## ", text, flags=re.M)[2:]:
        assert re.search(r"^- ", block, re.M), block.splitlines()[0]


def test_contributing_covers_adding_a_lab_rerunning_and_releasing():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    steps = ("labs/solutions/", "lmlib/grading/labs/", "tests/mutants/", "lmlib student")
    steps += ("lmlib budget", "lmlib run", "## Releasing a version", "CITATION.cff")
    for needed in steps:
        assert needed in text, needed
    named = re.findall(r"`((?:lmlib|tests|scripts|labs|book)/[\w/.]+\.(?:py|md|sh|json))`", text)
    assert len(named) > 10
    for path in named:
        if "N_M" not in path:  # N_M stands for the new lab's number
            assert (ROOT / path).exists(), f"CONTRIBUTING.md names a missing file: {path}"
