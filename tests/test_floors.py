"""pyproject.toml's lower bounds are the versions lmlib's code needs: each call that exists only
from some release on is listed here with that release and its source, found in lmlib's code,
and checked against the declared floor."""

import re
from pathlib import Path
from typing import NamedTuple

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


class Need(NamedTuple):
    package: str
    version: str
    pattern: str  # a regular expression that finds the call in lmlib's source
    why: str


NEEDS = [
    Need(
        "torch",
        "2.4",
        r"AdamW\((?:[^()]|\([^()]*\))*fused=",  # one level of brackets inside the call
        "fused AdamW on the CPU: its CPU kernel came with pytorch/pytorch#123074 (April 2024), "
        "first released in 2.4; 2.3's fused AdamW takes CUDA tensors only",
    ),
    Need(
        "torch",
        "2.3",
        r"torch\.amp\.GradScaler\(",
        "torch.amp.GradScaler(device): new in 2.3, before it torch.cuda.amp.GradScaler",
    ),
]


def lmlib_source() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "lmlib").rglob("*.py")))


def declared() -> list[str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def floor(req: Requirement) -> Version | None:
    """The lowest version `req` admits by its >=, > or == clauses (None: no lower bound)."""
    bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", ">", "==", "~=")]
    return max(bounds) if bounds else None


def too_low(requirements: list[str], needs: list[Need]) -> list[str]:
    """Each need whose package's declared floor is below the version the code needs."""
    reqs = {canonicalize_name(Requirement(r).name): Requirement(r) for r in requirements}
    problems = []
    for need in needs:
        req = reqs.get(canonicalize_name(need.package))
        low = floor(req) if req else None
        if low is None or low < Version(need.version):
            problems.append(
                f"{need.package}: declared '{req}', the code needs >={need.version} ({need.why})"
            )
    return problems


@pytest.mark.parametrize("need", NEEDS, ids=[n.pattern for n in NEEDS])
def test_each_listed_need_is_in_the_code(need):
    assert re.search(need.pattern, lmlib_source()), (
        f"lmlib no longer matches {need.pattern!r}: drop this need (and maybe lower the floor)"
    )


def test_declared_floors_admit_no_version_the_code_cannot_run_on():
    problems = too_low(declared(), NEEDS)
    assert not problems, "raise these floors in pyproject.toml:\n" + "\n".join(problems)


def test_the_check_names_a_floor_that_is_too_low():
    problems = too_low(["torch>=2.2", "numpy"], NEEDS)
    assert len(problems) == 2 and all("torch>=2.2" in p for p in problems)
    assert "needs >=2.4" in problems[0]
    assert too_low(["torch>=2.4.1"], NEEDS) == []
