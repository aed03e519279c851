"""Colab's runtime as a test: installing lmlib there keeps every package Colab preinstalls, and
the notebooks' setup cell parses on every Python lmlib supports.

The package list is tests/fixtures/colab/pip-freeze.gpu.<date>.txt, Colab's own, unchanged; its
README says where it comes from and how to refresh it.
"""

import ast
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

import lmlib
from lmlib.grading import notebook
from lmlib.grading.student import SETUP, setup_source

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "colab"
COLAB_PYTHON = "3.13"  # the runtime of the package list (see its README)
PYTHONS = [(3, 10), (3, 11), (3, 12), (3, 13)]  # lmlib's requires-python >= 3.10, up to Colab's


def colab_packages() -> dict[str, Version]:
    """{canonical name: version} of Colab's `name==version` lines (URL installs are skipped)."""
    lists = sorted(FIXTURES.glob("pip-freeze.gpu.*.txt"))
    assert len(lists) == 1, f"keep exactly one Colab package list in {FIXTURES}, found {lists}"
    found = {}
    for line in lists[0].read_text().splitlines():
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip())
        if m:
            found[canonicalize_name(m[1])] = Version(m[2])
    return found


def project() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_package_list_is_colab_gpu_runtime():
    colab = colab_packages()
    assert len(colab) > 500  # the whole runtime, not an excerpt
    assert colab["torch"].local and colab["torch"].local.startswith("cu")  # a CUDA build


@pytest.mark.parametrize("req", project()["dependencies"])
def test_every_dependency_range_admits_colab_preinstalled_version(req):
    req = Requirement(req)
    colab = colab_packages()
    name = canonicalize_name(req.name)
    if name not in colab:
        pytest.skip(f"{name} is not preinstalled in Colab: pip adds it, replacing nothing")
    assert req.specifier.contains(colab[name], prereleases=True), (
        f"pyproject.toml asks for '{req}', Colab has {name} {colab[name]}: installing lmlib "
        f"would replace it; widen the range to admit {colab[name]}"
    )


def test_the_check_catches_a_range_that_excludes_colab():
    colab = colab_packages()
    assert not SpecifierSet(">=8").contains(colab["ipywidgets"])  # Colab's is 7.x
    assert not SpecifierSet(">=99").contains(colab["torch"])


def test_requires_python_admits_colab_python():
    assert SpecifierSet(project()["requires-python"]).contains(COLAB_PYTHON)


@pytest.mark.parametrize("python", PYTHONS, ids=[f"{a}.{b}" for a, b in PYTHONS])
def test_setup_cell_parses_on_every_supported_python(python):
    ast.parse(setup_source("https://github.com/o/r", lmlib.__version__), feature_version=python)
    for path in sorted((ROOT / "labs").glob("*.ipynb")):
        cells = [c for c in notebook.read(path)["cells"] if SETUP in c["metadata"].get("tags", [])]
        for cell in cells:
            ast.parse(notebook.source(cell), filename=str(path), feature_version=python)


def test_the_parse_check_refuses_newer_syntax_on_older_pythons():
    with pytest.raises(SyntaxError):  # a match statement: Python 3.10 and later only
        ast.parse("match x:\n    case 1:\n        pass\n", feature_version=(3, 9))
