"""The three descriptions of the environment agree.

pyproject.toml gives ranges (Colab must keep its own torch), requirements/constraints.txt the
exact versions scripts/env.sh installs, environment.yml the same versions for conda users. When
they drift apart these tests name the package and both versions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
ENVIRONMENT = ROOT / "environment.yml"
PYPROJECT = ROOT / "pyproject.toml"

NOT_PINNED = {"python", "pip"}  # listed in environment.yml, not in a pip freeze


def read_constraints(path: Path = CONSTRAINTS) -> dict[str, str]:
    """{canonical name: version} from `name==version` lines; anything else is an error."""
    pins: dict[str, str] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", line)
        if not m:
            raise ValueError(f"{path.name}:{n}: expected 'name==version', got {raw!r}")
        name = canonicalize_name(m[1])
        if name in pins:
            raise ValueError(f"{path.name}:{n}: {name} is pinned twice")
        pins[name] = m[2]
    return pins


def read_environment(path: Path = ENVIRONMENT) -> dict[str, str | None]:
    """{canonical name: version or None} of conda and pip entries; `-e`/`-c` lines are skipped."""
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load(path.read_text())
    found: dict[str, str | None] = {}

    def add(entry: str, sep: str) -> None:
        entry = entry.strip()
        if entry.startswith("-"):  # -e ., -c constraints, --extra-index-url ...
            return
        name, _, version = entry.partition(sep)
        found[canonicalize_name(name.strip())] = version.strip().lstrip("=") or None

    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for pip_entry in dep.get("pip", []):
                add(pip_entry, "==")
        else:
            add(dep, "=")  # conda syntax: name=version (== also accepted by the lstrip above)
    return found


def pyproject_project() -> dict:
    """pyproject.toml's [project] table."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(PYPROJECT.read_text())["project"]


def pyproject_requirements() -> list[Requirement]:
    """The requirements of [project.dependencies] and every optional-dependencies extra."""
    project = pyproject_project()
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


@pytest.mark.parametrize("pin_file", ["constraints.txt", "constraints-py310.txt"])
def test_constraints_are_exact_portable_pins(pin_file):
    pins = read_constraints(CONSTRAINTS.parent / pin_file)
    local = {name: v for name, v in pins.items() if "+" in v}
    assert not local, f"drop the local version labels (pip matches 2.13.0 to 2.13.0+cpu): {local}"
    assert "lmlib" not in pins, "constraints.txt must not pin lmlib itself"
    assert pins.get("torch") == "2.13.0", f"torch must be pinned to 2.13.0, got {pins.get('torch')}"


def test_environment_yml_matches_constraints():
    pins = read_constraints()
    problems = []
    for name, version in sorted(read_environment().items()):
        if name in NOT_PINNED:
            continue
        if name not in pins:
            problems.append(f"{name}: environment.yml has {version}, constraints.txt has no pin")
        elif version != pins[name]:
            problems.append(
                f"{name}: environment.yml has {version}, constraints.txt has {pins[name]}"
            )
    assert not problems, "environment.yml disagrees with constraints.txt:\n" + "\n".join(problems)


def test_environment_yml_python_matches_constraints_header():
    python = read_environment().get("python")
    header = re.search(r"Python (\d+\.\d+)\+?", CONSTRAINTS.read_text())
    assert header, "constraints.txt header should say which Python it was resolved on"
    assert python == header[1], (
        f"python: environment.yml has {python}, constraints.txt was resolved on {header[1]}"
    )


@pytest.mark.parametrize("pin_file", ["constraints.txt", "constraints-py310.txt"])
def test_pyproject_dependencies_are_pinned_within_their_ranges(pin_file):
    pins = read_constraints(CONSTRAINTS.parent / pin_file)
    problems = []
    for req in pyproject_requirements():
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{name}: pyproject.toml asks for '{req}', constraints.txt has no pin")
        elif not req.specifier.contains(Version(pins[name]), prereleases=True):
            wanted = f"pyproject.toml asks for '{req.specifier}'"
            problems.append(f"{name}: {wanted}, constraints.txt has {pins[name]}")
    assert not problems, f"{pin_file} disagrees with pyproject.toml:\n" + "\n".join(problems)


def test_environment_yml_lists_every_direct_dependency():
    listed = read_environment()
    missing = sorted({canonicalize_name(r.name) for r in pyproject_requirements()} - set(listed))
    assert not missing, f"environment.yml lacks these pyproject.toml dependencies: {missing}"


def test_the_readme_command_opens_the_labs_and_the_book_shows_it():
    def command(path: Path) -> str:
        lines = [x for x in path.read_text().splitlines() if "jupyter lab labs/" in x]
        lines = [x for x in lines if '-e ".[lab]"' in x]
        assert len(lines) == 1, f"{path.name} should show one command that installs and opens"
        return lines[0].strip()

    readme = command(ROOT / "README.md")
    assert readme == command(ROOT / "book" / "how_to_use.md")
    assert "-c requirements/constraints.txt" in readme  # the pinned versions
    lab = [Requirement(r) for r in pyproject_project()["optional-dependencies"]["lab"]]
    assert "jupyterlab" in {canonicalize_name(r.name) for r in lab}
