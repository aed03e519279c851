"""What an exercise is, and how an answer is compared with the reference.

A lab is a dict ``{name: Exercise}``. An exercise says how to build inputs (``cases(rng)``), how
lmlib computes the right answer (``reference``) and which library shortcuts are off limits. The
same spec drives the in-notebook ``check`` and the sandboxed ``lmlib grade``, so both always agree.

Answers are compared as plain data: exact ``torch.Tensor`` (no subclasses), int, float, bool, str,
None, and lists/tuples/dicts of those. Anything else is a wrong answer, never something we call.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from lmlib.grading.answers import UNSUPPORTED


@dataclass(frozen=True)
class Case:
    """One check. Function exercises call ``fn(*args)``; module exercises build ``cls(*init)``
    and call it on ``args``."""

    args: tuple = ()
    init: tuple | None = None


@dataclass(frozen=True)
class Exercise:
    """An exercise spec: inputs, reference, comparison, forbidden shortcuts.

    ``reference(*case.args)`` gives the expected answer of a function exercise. For a module
    exercise (``module=True``) ``reference(*case.init)`` builds lmlib's module; the grader gives
    it random parameters, loads the same state_dict into the submission's module
    (``strict=False``, so extra buffers are fine) and expects the same output on ``case.args``.
    ``forbidden`` maps dotted names (``torch.nn.functional.cross_entropy``) to a hint; they raise
    while the answer runs, whichever route reaches them, as do the aten ops named in
    ``forbidden_ops``. ``grads`` lists argument positions whose gradient is checked too
    (None, the default: every float tensor argument): those tensors require grad, a fixed random
    weighting of the answer's float outputs is backpropagated, and each gradient must match the
    reference's (None where the reference gives none, e.g. a detached teacher). Where the
    reference's answer carries no gradient (an argmax, a Python float) nothing is checked; where
    it does, an answer that does not backpropagate (``no_grad``, ``.item()``) is wrong.

    Every case is followed by its twin, ``twin(case, rng)``: the same shapes with new values
    (default ``permuted``: every float tensor's entries shuffled), so an answer that caches by
    shape fails; a twin of None is skipped. Every call must leave its arguments as they were; an
    exercise that samples (``samples``) takes a seed, and its answer must leave torch's global
    random state untouched (reseeding it would give the same numbers).
    """

    name: str
    cases: Callable[[torch.Generator], list[Case]]
    reference: Callable[..., Any]
    module: bool = False
    points: float = 1.0
    atol: float = 1e-5
    rtol: float = 1e-4
    forbidden: dict[str, str] = field(default_factory=dict)
    forbidden_ops: dict[str, str] = field(default_factory=dict)  # aten op name -> hint
    rules: str = ""
    grads: tuple[int, ...] | None = None
    twin: Callable[[Case, torch.Generator], Case | None] | None = None
    accepts: Callable[[Case, Any, Any], str | None] | None = None  # for ties: see compare
    samples: bool = False  # draws random numbers: from its own generator, never torch's global one
    # modules the worker imports before the answer's clock starts: torch._dynamo, which the
    # first torch.optim optimizer imports, takes seconds that are no fault of the answer
    warm: tuple[str, ...] = ()

    def compare(self, expected: Any, got: Any, case: Case | None = None) -> str | None:
        """None when ``got`` matches ``expected``, else a one-line reason. An exercise with
        several right answers (ties) judges with ``accepts(case, expected, got)`` instead."""
        if self.accepts is not None and case is not None:
            return self.accepts(case, expected, got)
        return compare(expected, got, self.atol, self.rtol)


def dtype_class(t: Tensor) -> str:
    if t.dtype == torch.bool:
        return "bool"
    if t.is_complex():
        return "complex"
    return "float" if t.is_floating_point() else "integer"


def type_name(x: Any) -> str:
    if isinstance(x, dict) and set(x) == {UNSUPPORTED}:
        return str(x[UNSUPPORTED])
    cls = type(x)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
    return f"{name} (a torch.Tensor subclass)" if isinstance(x, Tensor) else name


def compare(
    expected: Any, got: Any, atol: float = 1e-5, rtol: float = 1e-4, where: str = ""
) -> str | None:
    """Compare plain data; calls no method of ``got`` but torch's own on exact Tensors."""
    at = f" at {where}" if where else ""
    if isinstance(expected, Tensor):
        if type(got) is not Tensor:
            return f"expected a torch.Tensor{at}, got {type_name(got)}"
        return _compare_tensors(expected, got, atol, rtol, at)
    if isinstance(expected, (tuple, list)):
        if type(got) not in (tuple, list):
            return f"expected a tuple of {len(expected)}{at}, got {type_name(got)}"
        if len(got) != len(expected):
            return f"expected {len(expected)} items{at}, got {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            if msg := compare(e, g, atol, rtol, f"{where}[{i}]"):
                return msg
        return None
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(got) is not type(expected) or got != expected:
            return f"expected {expected!r}{at}, got {_short(got)}"
        return None
    if isinstance(expected, int) and type(got) is not int:
        return f"expected a Python int{at}, got {_short(got)}"
    if isinstance(expected, (int, float)):
        if type(got) not in (int, float):
            return f"expected a number{at}, got {type_name(got)}"
        if not math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
            digits = next(
                d for d in (6, 10, 17) if f"{expected:.{d}g}" != f"{got:.{d}g}" or d == 17
            )
            return f"expected {expected:.{digits}g}{at}, got {got:.{digits}g}"
        return None
    raise TypeError(f"reference returned {type(expected).__name__}, which specs cannot compare")


def _compare_tensors(
    expected: Tensor, got: Tensor, atol: float, rtol: float, at: str
) -> str | None:
    if got.layout != torch.strided or got.device.type != "cpu":
        return f"expected a dense CPU tensor{at}, got layout {got.layout} on {got.device}"
    if tuple(got.shape) != tuple(expected.shape):
        return f"expected shape {tuple(expected.shape)}{at}, got {tuple(got.shape)}"
    if got.dtype != expected.dtype:
        kind = dtype_class(expected)
        a = "an" if kind == "integer" else "a"
        return f"expected {a} {kind} tensor of dtype {expected.dtype}{at}, got {got.dtype}"
    e, g = expected.detach(), got.detach()
    if dtype_class(expected) in ("bool", "integer"):
        bad = e != g
    else:
        wide = torch.complex128 if e.is_complex() else torch.float64
        e, g = e.to(wide), g.to(wide)
        close = torch.isclose(g, e, rtol=rtol, atol=atol)  # NaN never matches
        bad = ~close
    if not bool(bad.any()):
        return None
    idx = tuple(int(i) for i in bad.nonzero()[0])
    n, total = int(bad.sum()), bad.numel()
    return (
        f"values differ{at} in {n} of {total} entries; first at index {idx}: "
        f"expected {_item(e[idx])}, got {_item(g[idx])}"
    )


def _item(t: Tensor) -> str:
    x = t.item()
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


def _short(x: Any) -> str:
    text = repr(x) if type(x) in (int, float, bool, str, type(None)) else type_name(x)
    return text if len(text) < 80 else text[:77] + "..."


def describe(args: tuple, names: tuple[str, ...] = ()) -> str:
    """Arguments for people: ``x (2, 5, 12) float32, n_heads=3``."""
    parts = []
    for i, a in enumerate(args):
        name = names[i] if i < len(names) else f"arg{i}"
        if isinstance(a, Tensor):
            parts.append(f"{name} {tuple(a.shape)} {str(a.dtype).removeprefix('torch.')}")
        elif isinstance(a, dict) and any(isinstance(v, Tensor) for v in a.values()):
            parts.append(f"{name}=a state_dict of {len(a)} tensors")  # weights: too many to show
        else:
            parts.append(f"{name}={a!r}")
    return ", ".join(parts)


def arg_names(fn: Callable) -> tuple[str, ...]:
    """Parameter names of ``fn`` (for a class: of ``forward``), without ``self``."""
    try:
        target = fn.forward if isinstance(fn, type) else fn
        names = tuple(inspect.signature(target).parameters)
    except (TypeError, ValueError, AttributeError):
        return ()
    return names[1:] if names[:1] == ("self",) else names


@torch.no_grad()
def randomize_(module: nn.Module, rng: torch.Generator) -> nn.Module:
    """Fresh random parameters from ``rng`` (scaled like nn.Linear's init), in place."""
    for p in module.parameters():
        scale = p.shape[-1] ** -0.5 if p.dim() > 1 else 0.5
        p.copy_(torch.randn(p.shape, generator=rng) * scale)
    return module


def predictions(
    N: int, T: int, V: int, right_share: float, rng: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Logits (N, T, V) and targets (N, T); the argmax is right at about right_share of places."""
    targets = torch.randint(0, V, (N, T), generator=rng)
    logits = torch.randn(N, T, V, generator=rng)
    right = torch.rand(N, T, generator=rng) < right_share
    logits[right] += torch.nn.functional.one_hot(targets, V)[right] * 10
    return logits, targets


def draw(rng: torch.Generator, low: int, high: int) -> int:
    """A fresh size from ``rng``, ``low <= n <= high``: cases must not all use the same sizes."""
    return int(torch.randint(low, high + 1, (), generator=rng))


def shuffled(table: dict, rng: torch.Generator) -> dict:
    """The same dict with its keys in a fresh order: an answer must look entries up by key."""
    keys = list(table)
    return {keys[i]: table[keys[i]] for i in torch.randperm(len(keys), generator=rng).tolist()}


def permuted(case: Case, rng: torch.Generator) -> Case | None:
    """The default twin: ``case`` with every float tensor's entries in a fresh random order (a
    one-entry tensor moves towards 0.5 instead), other arguments as they were; None when there
    is no float tensor to change."""
    args, changed = [], False
    for a in case.args:
        if isinstance(a, Tensor) and a.is_floating_point() and a.numel() > 0:
            if a.numel() == 1:
                a = a * 0.5 + 0.25
            else:
                a = a.flatten()[torch.randperm(a.numel(), generator=rng)].reshape(a.shape)
            changed = True
        args.append(a)
    return Case(tuple(args), case.init) if changed else None


def clone_args(args: tuple) -> tuple:
    """Fresh copies, so an answer that writes into its inputs cannot change the reference's."""
    return tuple(a.clone() if isinstance(a, Tensor) else a for a in args)


def passes(points: float, max_points: float, pass_mark: float) -> bool:
    """At or above the pass mark, a fraction of the points. The one place this is decided: 0.56
    of 25 is 14.000000000000002 in floating point, and 14 points must pass it."""
    return points >= pass_mark * max_points - 1e-9
