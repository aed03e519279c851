"""The registry of graded labs: lab id (the notebook's stem) -> {exercise name: Exercise}.

A new lab adds a module here with ``LAB`` (its id) and ``EXERCISES`` (a list of Exercise), and
one line in ``_MODULES``. Nothing else in the grader changes.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
from pathlib import Path

from lmlib.grading.spec import Exercise

_LMLIB = Path(__file__).resolve().parents[2]
_MODULES = (
    "lab1_1",
    "lab1_2",
    "lab1_3",
    "lab1_4",
    "lab2_1",
    "lab2_2",
    "lab3_1",
    "lab3_2",
    "lab3_3",
    "lab3_4",
    "lab4_1",
    "lab4_2",
    "lab4_3",
    "lab5_1",
    "lab5_2",
)


def _load() -> dict[str, object]:
    modules = [importlib.import_module(f"{__name__}.{m}") for m in _MODULES]
    return {m.LAB: m for m in modules}


def lab_ids() -> list[str]:
    return sorted(_load())


# Lab ids before the labs were numbered part.position in reading order -> the id today.
RENAMED = {
    "01_next_token_prediction": "1_1_next_token_prediction",
    "02_multihead_attention": "3_1_multihead_attention",
    "03_multitask_learning": "1_2_multitask_learning",
    "04_scaling_and_emergence": "1_3_scaling_and_emergence",
    "05_three_ways_to_read": "2_2_three_ways_to_read",
    "06_mlp": "3_2_mlp",
    "07_incentives": "5_1_incentives",
    "08_driving_force": "2_1_driving_force",
    "09_encoder_decoder": "4_1_encoder_decoder",
    "10_pretraining_objectives": "4_2_pretraining_objectives",
    "11_distillation": "4_3_distillation",
}


def get_lab(lab: str) -> dict[str, Exercise]:
    """The exercises of ``lab`` in notebook order; ValueError naming the known labs otherwise,
    or the new id of a lab that was renamed."""
    labs = _load()
    if lab in RENAMED:
        new = RENAMED[lab]
        raise ValueError(
            f"lab {lab!r} is now {new!r} (the labs are numbered in reading order); fetch "
            f"labs/{new}.ipynb and copy your answers into it, or set the notebook's "
            f'metadata "lmlib": {{"lab": "{new}"}} and save it as {new}.ipynb'
        )
    if lab not in labs:
        raise ValueError(f"unknown lab {lab!r}; known labs: {', '.join(sorted(labs))}")
    return {ex.name: ex for ex in labs[lab].EXERCISES}


def checks_sha256(lab: str) -> str:
    """Fingerprint of everything that decides a grade: the source of every grading module, the
    lab's spec, and every lmlib module the spec imports, followed transitively (the reference
    answers and what they build on). A change to any of them changes the fingerprint."""
    digest = hashlib.sha256()
    for path in checked_sources(lab):
        digest.update(f"{path.relative_to(_LMLIB.parent).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def checked_sources(lab: str) -> list[Path]:
    """The files ``checks_sha256`` covers, sorted."""
    grading = sorted(p for p in (_LMLIB / "grading").rglob("*.py"))
    todo, seen = [Path(inspect.getfile(_load()[lab]))], set()
    while todo:
        path = todo.pop().resolve()
        if path in seen:
            continue
        seen.add(path)
        todo += _lmlib_imports(path)
    return sorted(set(grading) | seen)


def _lmlib_imports(path: Path) -> list[Path]:
    """Files of the lmlib modules that ``path`` imports, absolutely or relatively."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [a.name.split(".") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the file's package, up level - 1 packages
                base = path.parent.parents[node.level - 2] if node.level > 1 else path.parent
                prefix = ["lmlib", *base.relative_to(_LMLIB).parts]
            else:
                prefix = []
            module = prefix + (node.module.split(".") if node.module else [])
            modules = [module] + [module + [a.name] for a in node.names]
        else:
            continue
        for parts in modules:
            if parts[:1] != ["lmlib"]:
                continue
            for candidate in (
                _LMLIB.joinpath(*parts[1:]).with_suffix(".py"),
                _LMLIB.joinpath(*parts[1:], "__init__.py"),
            ):
                if candidate.is_file():
                    found.append(candidate)
    return found
