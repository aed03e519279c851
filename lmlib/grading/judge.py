"""Deciding: build inputs and expected answers in the trusted process, judge what came back.

Used by both ``lmlib grade`` (answers from sandboxed workers) and the in-notebook ``check``
(answers from the student's own functions), so both give the same verdict on the same code.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from lmlib.grading import layout, notebook, rules
from lmlib.grading.answers import call_with_grads
from lmlib.grading.labs import checks_sha256, get_lab
from lmlib.grading.outcome import CHECK_SECONDS, Outcome, deadline
from lmlib.grading.report import printable
from lmlib.grading.sandbox import Sandbox
from lmlib.grading.spec import (
    Case,
    Exercise,
    clone_args,
    passes,
    permuted,
    randomize_,
)
from lmlib.grading.verdict import Prepared, assess


@dataclass
class ExerciseScore:
    name: str
    status: str  # passed | failed | error | not_implemented | missing | timeout
    points: float
    max_points: float
    message: str
    submission_sha256: str = ""
    checks_sha256: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    notebook: str
    lab: str
    seed: int
    verdicts: list[ExerciseScore] = field(default_factory=list)
    isolation: dict = field(default_factory=dict)  # isolation.Isolation.as_dict()
    warnings: list[str] = field(default_factory=list)  # e.g. the notebook is a symlink

    @property
    def points(self) -> float:
        return sum(v.points for v in self.verdicts)

    @property
    def max_points(self) -> float:
        return sum(v.max_points for v in self.verdicts)

    def passes(self, pass_mark: float) -> bool:
        return passes(self.points, self.max_points, pass_mark)

    def as_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "lab": self.lab,
            "seed": self.seed,
            "points": self.points,
            "max_points": self.max_points,
            "isolation": self.isolation,
            "warnings": self.warnings,
            "exercises": [asdict(v) for v in self.verdicts],
        }


def _detached(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.detach().clone()
    if isinstance(x, (list, tuple)):
        return type(x)(_detached(i) for i in x)
    return x


def prepare(ex: Exercise, rng: torch.Generator) -> list[Prepared]:
    """Inputs from ``rng``, expected answers from lmlib's reference; each case is followed by its
    twin (same shapes, new values), which a module exercise calls on the same instance."""
    out = []
    for case in ex.cases(rng):
        twin = (ex.twin or permuted)(case, rng)
        ref = randomize_(ex.reference(*case.init), rng).eval() if ex.module else None
        for again, c in enumerate([case] if twin is None else [case, twin]):
            out.append(_prepare_one(ex, c, ref, bool(again)))
    return out


def _prepare_one(ex: Exercise, case: Case, ref: Any, again: bool) -> Prepared:
    wrt = [i for i, a in enumerate(case.args) if isinstance(a, Tensor) and a.is_floating_point()]
    wrt = list(ex.grads) if ex.grads is not None else wrt
    with warnings.catch_warnings():  # float() of a tensor that requires grad, in a reference
        warnings.simplefilter("ignore", UserWarning)
        target = ref if ex.module else ex.reference
        expected, grads = call_with_grads(target, clone_args(case.args), wrt)
    if ex.module:
        state = {k: v.detach().clone() for k, v in ref.state_dict().items()}
        payload = {"init": list(case.init), "args": list(case.args), "state": state}
        payload |= {"again": True} if again else {}
    else:
        payload = {"args": list(case.args)}
    if grads is not None and all(g is None for g in grads):
        grads = None  # the reference's answer carries no gradient: nothing to check
    if grads is not None:
        payload["grads"] = wrt
    return Prepared(case, _detached(expected), payload, _detached(grads), again)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def grade_notebook(
    nb: dict,
    path: str,
    sandbox: Sandbox,
    only: list[str] | None = None,
    seed: int | None = None,
) -> Report:
    """Grade every exercise of the notebook's lab (or those in ``only``) through ``sandbox``."""
    return grade_many([(nb, path, only)], sandbox, seed)[0]


def grade_many(
    notebooks: list[tuple[dict, str, list[str] | None]],
    sandbox: Sandbox,
    seed: int | None = None,
    source_rules: bool = True,
) -> list[Report]:
    """Grade several notebooks in one batch of sandboxed jobs (``jobs`` at a time), e.g. all the
    mutants of a lab. Each exercise still runs in its own process. ``source_rules=False`` sends
    code that breaks ``rules.py`` to the worker anyway: only for testing what isolation alone
    stops."""
    reports, pending, groups = [], [], []
    for k, (nb, path, only) in enumerate(notebooks):
        report, todo = _plan(nb, path, only, seed, source_rules)
        reports.append(report)
        pending += todo
        groups += [k] * len(todo)  # a notebook's exercises share its time budget
    requests = [_request(ex, prepared, program) for _, ex, prepared, _, program, _ in pending]
    outcomes = sandbox.run(requests, groups)
    for (v, ex, prepared, cells, _, dropped), outcome in zip(pending, outcomes, strict=True):
        try:
            with deadline(CHECK_SECONDS, "checking the answer"):
                _settle(v, ex, prepared, outcome)
            if v.status != "passed":
                v.message += layout.explain(v.message, cells, ex.name)
                v.message += "".join(f". Not run: {text}" for text in dropped[:3])
        except TimeoutError as e:  # an answer built to be slow to compare
            v.status, v.points, v.message = "error", 0.0, f"{e}; the answer is refused"
        except Exception as e:  # a bug in a spec must not sink the other exercises
            v.status, v.points, v.message = "error", 0.0, f"grader error: {type(e).__name__}: {e}"
    for report in reports:
        report.isolation = sandbox.isolation.as_dict()
        for v in report.verdicts:
            v.message = printable(v.message)
    return reports


def _plan(
    nb: dict, path: str, only: list[str] | None, seed: int | None, source_rules: bool = True
) -> tuple[Report, list]:
    lab = notebook.lab_id(nb, path)
    exercises = get_lab(lab)  # ValueError for an unknown lab
    seed = int.from_bytes(os.urandom(8), "little") if seed is None else seed
    rng = torch.Generator().manual_seed(seed)
    cells = notebook.code_cells(nb)
    by_name = {c.name: c for c in cells if c.name}  # the last cell of a name wins, as when run
    checks = checks_sha256(lab)
    report, pending = Report(str(path), lab, seed), []
    for ex in exercises.values():
        if only is not None and ex.name not in only:
            continue
        prepared = prepare(ex, rng)
        cell = by_name.get(ex.name)
        v = ExerciseScore(ex.name, "missing", 0.0, ex.points, "", checks_sha256=checks)
        report.verdicts.append(v)
        if cell is None:
            v.message = f"no cell starts with '# EXERCISE: {ex.name}'"
        elif cell.syntax_error:
            v.status, v.message = "error", cell.syntax_error
        else:
            program, refused, dropped = _checked_program(cells, ex.name, source_rules)
            if refused:
                v.status, v.message = "error", refused
            else:
                pending.append((v, ex, prepared, cells, program, dropped))
        if cell is not None:
            v.submission_sha256 = sha256(cell.code)
    return report, pending


def _checked_program(
    cells: list[notebook.Cell], exercise: str, source_rules: bool
) -> tuple[list[notebook.Statement], str, list[str]]:
    """(what the worker runs, why the exercise is refused or '', what of other cells is left
    out): a statement of the exercise's own cell that breaks a rule of ``rules.py`` refuses
    the exercise; one of another cell is not run, and the reason says so if the answer fails."""
    program = notebook.program_for(cells, exercise)
    if not source_rules:
        return program, "", []
    where = {id(st): c.where for c in cells for st in c.statements}
    kept, dropped = [], []
    for st in program:
        found = rules.breaches(st.source, st.line)
        if not found:
            kept.append(st)
        elif st.cell == exercise:
            why = (
                f"refused: the {exercise} cell ({where[id(st)]}), {found[0]}, which graded "
                "code may not use (it could reach torch's internals or the grader's files); "
                "write the exercise with torch, numpy, einops and math"
            )
            return [], why, []
        else:
            dropped.append(f"{where[id(st)]}, {found[0]} (graded code may not use it)")
    return kept, "", dropped


def _request(ex: Exercise, prepared: list[Prepared], program: list[notebook.Statement]) -> dict:
    return {
        "exercise": ex.name,
        "module": ex.module,
        "statements": [
            {
                "source": s.source,
                "line": s.line,
                "cell": s.cell or "setup",
                "own": s.cell == ex.name,
            }
            for s in program
        ],
        "forbidden": dict(ex.forbidden),
        "forbidden_ops": dict(ex.forbidden_ops),
        "warm": list(ex.warm),
        "cases": [p.payload for p in prepared],
    }


def _settle(v: ExerciseScore, ex: Exercise, prepared: list[Prepared], outcome: Outcome) -> None:
    v.seconds = round(outcome.seconds, 3)
    if outcome.result is None:
        v.status = "timeout" if outcome.problem.startswith("timed out") else "error"
        tail = outcome.output.strip().splitlines()[-1:] if outcome.output else []
        v.message = outcome.problem + (f" [last output: {tail[0][:200]}]" if tail else "")
        return
    v.status, v.message = assess(ex, prepared, outcome.result)
    v.points = v.max_points if v.status == "passed" else 0.0
