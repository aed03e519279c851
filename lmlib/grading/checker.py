"""``check(fn)`` in a lab notebook: run an exercise's checks in-process and print a verdict.

    from lmlib.grading import checker
    check = checker("3_1_multihead_attention")
    check(split_heads)

It never raises: whatever the answer does (raise, print, patch torch) becomes a verdict, so an
untouched student notebook still runs top to bottom. It is feedback, not the grade: the grade
comes from ``lmlib grade``, which runs the same checks outside the student's kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from lmlib.grading import answers, kernel_view
from lmlib.grading.judge import assess, prepare
from lmlib.grading.labs import get_lab

_SAY = {
    "passed": "passed",
    "failed": "FAILED",
    "error": "ERROR",
    "not_implemented": "not implemented yet",
}


@dataclass(frozen=True)
class CheckResult:
    exercise: str
    status: str  # passed | failed | error | not_implemented
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __str__(self) -> str:
        head = f"{self.exercise}: {_SAY.get(self.status, self.status)}"
        if self.status == "not_implemented":
            return f"{head} (replace the `raise NotImplementedError` with your code)"
        return f"{head} - {self.message}" if self.status != "passed" else f"{head} ({self.message})"


def run_check(fn: Any, lab: str, name: str | None = None, seed: int | None = None) -> CheckResult:
    """The verdict for ``fn`` (a function or an nn.Module class) on the exercise's checks.

    The cases are drawn fresh each time unless ``seed`` fixes them (for tests).
    """
    exercise = name or getattr(fn, "__name__", None) or "?"
    try:
        exercises = get_lab(lab)
        if exercise not in exercises:
            known = ", ".join(exercises)
            return CheckResult(
                exercise, "error", f"lab {lab} has no exercise {exercise!r} ({known})"
            )
        ex = exercises[exercise]
        seed = int.from_bytes(os.urandom(8), "little") if seed is None else seed
        prepared = prepare(ex, torch.Generator().manual_seed(seed))
    except Exception as e:
        return CheckResult(
            exercise, "error", f"the checks could not start: {type(e).__name__}: {e}"
        )
    saved = _torch_state()
    forbidden = answers.forbid(ex.forbidden, ex.forbidden_ops)
    try:
        payloads = [_fresh(p.payload) for p in prepared]
        got = answers.run_cases(fn, payloads, ex.module, forbidden.tampered)
    finally:
        forbidden.undo()
        _restore(saved)
    try:
        status, message = assess(ex, prepared, {"defined": True, "cases": got})
    except Exception as e:  # e.g. an answer too strange to compare
        status, message = "error", f"could not compare the answer: {type(e).__name__}: {e}"
    return CheckResult(exercise, status, message)


def check(fn: Any, lab: str, name: str | None = None) -> None:
    """Print the verdict for ``fn``; the exercise is ``fn.__name__`` unless ``name`` is given.

    Then a warning for each name the code needs that ``lmlib grade`` would not see as this
    kernel does (``kernel_view.warnings``): the check passing here would not be the grade."""
    try:
        verdict = run_check(fn, lab, name)
        print(verdict)
    except BaseException as e:  # check never raises, whatever happens
        print(f"{name or '?'}: ERROR - the check itself failed: {type(e).__name__}: {e}")
        return
    if verdict.status == "not_implemented":
        return
    try:
        found = kernel_view.warnings(fn, lab, verdict.exercise)
    except Exception:  # a notebook too strange to read: the verdict stands alone
        found = []
    for text in found:
        print(f"  warning, lmlib grade differs: {text}")


def checker(lab: str) -> Callable[..., None]:
    """``check = checker("3_1_multihead_attention")``, then ``check(split_heads)``."""

    def check_in_lab(fn: Any, name: str | None = None) -> None:
        check(fn, lab, name)

    check_in_lab.__doc__ = f"Check an exercise of lab {lab}: check(fn) or check(fn, name=...)."
    return check_in_lab


def _fresh(payload: dict) -> dict:
    """Copies of the inputs, so an answer that writes into them cannot change the expected."""

    def copy(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return x.clone()
        if isinstance(x, (list, tuple)):
            return type(x)(copy(i) for i in x)
        if isinstance(x, dict):
            return {k: copy(v) for k, v in x.items()}
        return x

    return copy(payload)


def _torch_state() -> tuple:
    return torch.get_default_dtype(), torch.get_rng_state(), torch.is_grad_enabled()


def _restore(saved: tuple) -> None:
    """Undo global changes an answer made, so later cells run as written."""
    dtype, rng, grad = saved
    torch.set_default_dtype(dtype)
    torch.set_rng_state(rng)
    torch.set_grad_enabled(grad)
