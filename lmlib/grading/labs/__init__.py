"""The registry of graded labs: lab id (the notebook's stem) -> {exercise name: Exercise}.

A new lab adds a module here with ``LAB`` (its id) and ``EXERCISES`` (a list of Exercise), and
one line in ``_MODULES``. Nothing else in the grader changes.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect

from lmlib.grading.spec import Exercise

_MODULES = (
    "lab01",
    "lab02",
    "lab03",
    "lab04",
    "lab05",
    "lab06",
    "lab07",
    "lab08",
    "lab09",
    "lab10",
    "lab11",
)


def _load() -> dict[str, object]:
    modules = [importlib.import_module(f"{__name__}.{m}") for m in _MODULES]
    return {m.LAB: m for m in modules}


def lab_ids() -> list[str]:
    return sorted(_load())


def get_lab(lab: str) -> dict[str, Exercise]:
    """The exercises of ``lab`` in notebook order; ValueError naming the known labs otherwise."""
    labs = _load()
    if lab not in labs:
        raise ValueError(f"unknown lab {lab!r}; known labs: {', '.join(sorted(labs))}")
    return {ex.name: ex for ex in labs[lab].EXERCISES}


def checks_sha256(lab: str) -> str:
    """Fingerprint of the checks' source (the lab's spec module and the comparison code)."""
    from lmlib.grading import spec

    source = inspect.getsource(_load()[lab]) + inspect.getsource(spec)
    return hashlib.sha256(source.encode()).hexdigest()
