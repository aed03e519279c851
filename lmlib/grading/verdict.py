"""The verdict on one exercise: the worker's plain-data result against the prepared cases (the
reference's values and gradients, the arguments as they were sent), the first failing case
explained.

Dims: whatever each exercise's cases use; nothing here depends on a lab.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from lmlib.grading.spec import Case, Exercise, arg_names, compare, describe


@dataclass
class Prepared:
    """One case with its expected answer and the plain-data payload the worker receives."""

    case: Case
    expected: Any
    payload: dict
    grads: list | None = None  # expected gradients, where the reference's answer has them
    again: bool = False  # the twin of the case before it: same shapes, new values


def assess(ex: Exercise, prepared: list[Prepared], result: dict) -> tuple[str, str]:
    """(status, message) for the worker's plain-data result; the first failing case explains."""
    if not result.get("defined"):
        why = "; ".join(str(e) for e in result.get("errors", []))
        return "error", f"no `{ex.name}` is defined" + (f" ({why})" if why else "")
    answers = result.get("cases", [])
    if len(answers) != len(prepared):
        return "error", f"{len(answers)} answers came back for {len(prepared)} cases"
    names = arg_names(ex.reference)
    for i, (p, answer) in enumerate(zip(prepared, answers, strict=True), 1):
        init = f"built with {p.case.init}, called on " if ex.module else ""
        if p.again:
            init = "the module of the case before, called again on " if ex.module else ""
            init = f"the shapes of case {i - 1} with new values: {init}"
        where = f"case {i} of {len(prepared)} ({init}{describe(p.case.args, names)})"
        if type(answer) is not dict:
            return "error", f"{where}: the answer is not readable"
        if "error" in answer:
            if answer.get("not_implemented"):
                return "not_implemented", "not implemented yet (it raises NotImplementedError)"
            return "error", f"{where}: raised {answer['error']}"
        if ex.module and (msg := _state_problem(p.payload["state"], answer.get("state"))):
            return "failed", f"{where}: {msg}"
        # Writing into an argument comes first: it is often why the value is off, too.
        if msg := _input_problem(p.payload["args"], answer.get("inputs"), names):
            return "failed", f"{where}: {msg}"
        if msg := ex.compare(p.expected, answer.get("value"), p.case):
            return "failed", f"{where}: {msg}"
        if p.grads is not None and (msg := _grad_problem(p, answer.get("grads"), names, ex)):
            return "failed", f"{where}: {msg}"
        if ex.samples and answer.get("rng_moved") is not False:
            return "failed", (
                f"{where}: the answer used or reseeded torch's global random generator; "
                "draw from the torch.Generator the exercise describes"
            )
    return "passed", f"all {len(prepared)} cases match"


def _input_problem(sent: list, got: Any, names: tuple) -> str | None:
    """Why the arguments after the call differ from those sent (written in place), or None."""
    if type(got) is not list or len(got) != len(sent):
        return "its arguments could not be read back after the call"
    for i, (e, g) in enumerate(zip(sent, got, strict=True)):
        if not _same(e, g):
            what = names[i] if i < len(names) else f"argument {i}"
            return (
                f"it changed its argument {what} in place; leave the caller's data as it was "
                "(compute into new tensors or lists: x = x + 1, not x += 1 or x.add_(1))"
            )
    return None


def _same(sent: Any, got: Any) -> bool:
    """Exactly the same plain data: tensors of one dtype, shape and values; equal containers."""
    if isinstance(sent, Tensor):
        return (
            type(got) is Tensor
            and got.dtype == sent.dtype
            and got.shape == sent.shape
            and torch.equal(got, sent)
        )
    if isinstance(sent, (list, tuple)):
        return (
            type(got) is type(sent)
            and len(got) == len(sent)
            and all(_same(e, g) for e, g in zip(sent, got, strict=True))
        )
    if isinstance(sent, dict):
        return (
            type(got) is dict
            and list(got) == list(sent)
            and all(_same(v, got[k]) for k, v in sent.items())
        )
    return type(got) is type(sent) and got == sent


def _grad_problem(p: Prepared, got: Any, names: tuple, ex: Exercise) -> str | None:
    """Why the answer's gradients (from a backward pass through it) differ, or None."""
    expected = p.grads
    if type(got) is not list or len(got) != len(expected):
        return (
            "no gradient reached its inputs (is the answer computed from them by torch ops, "
            "not under no_grad, .detach() or .item()?)"
        )
    for i, e, g in zip(p.payload["grads"], expected, got, strict=True):
        if msg := compare(e, g, _grad_atol(ex, e), ex.rtol):
            what = names[i] if i < len(names) else f"argument {i}"
            if e is None:
                hint = " (it should receive none: detach it)"
            elif g is None:
                hint = (
                    " (none reached it: is the answer computed from it by torch ops, not under "
                    "no_grad, .detach() or .item()?)"
                )
            else:
                hint = ""
            return f"the gradient with respect to {what} is wrong{hint}: {msg}"
    return None


def _grad_atol(ex: Exercise, expected: Any) -> float:
    """The absolute tolerance for a gradient: ten times the exercise's, times the gradient's
    largest entry when that is above 1. A float32 backward pass sums many terms per entry, so an
    entry near zero carries the rounding of terms of the size of the largest entries; a wrong
    gradient is off by far more than 1e-4 of them."""
    if isinstance(expected, Tensor) and expected.is_floating_point() and expected.numel():
        return 10 * ex.atol * max(1.0, float(expected.detach().abs().max()))
    return 10 * ex.atol


def _state_problem(sent: dict, got: Any) -> str | None:
    if type(got) is not dict:
        return "its state_dict is not a dict of tensors"
    for key, value in sent.items():
        if key not in got:
            return f"the module has no parameter {key!r}; keep the attribute names of the exercise"
        if type(got[key]) is not Tensor or not torch.equal(got[key], value):
            return f"parameter {key!r} does not hold the values loaded into it"
    return None
