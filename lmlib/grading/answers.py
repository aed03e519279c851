"""Calling an answer safely: forbidden shortcuts refused, results turned into plain data.

Shared by the grading worker (in its sandbox) and the in-notebook ``check``; like ``worker.py`` it
imports nothing from lmlib, so both are copied alone into a bubblewrap job, where lmlib (and its
reference answers) does not exist. A forbidden name is refused two ways: the attribute is
replaced, and a ``TorchFunctionMode`` refuses the function by name whichever route reaches it
(``torch._C._VariableFunctions``, ``torch.ops.aten``, ``torch._VF``), as it does the named aten
ops of a spec (``nll_loss_forward``). (A ``TorchDispatchMode`` would see kernels too, but its
first use costs seconds in every fresh worker.)
"""

from __future__ import annotations

import importlib
import traceback

import torch
from torch.overrides import TorchFunctionMode

UNSUPPORTED = "__unsupported__"  # the stand-in for an answer that is not plain data
MAX_LIST = 10_000
MAX_TEXT = 2_000
# taken before any submission runs, which may patch torch
_Tensor, torch_save = torch.Tensor, torch.save
_detach, _clone, _cpu = torch.Tensor.detach, torch.Tensor.clone, torch.Tensor.cpu
_requires_grad, _grad, _enable_grad = (
    torch.Tensor.requires_grad_,
    torch.autograd.grad,
    torch.enable_grad,
)


class NotAllowed(RuntimeError):
    """Raised by a forbidden library function while an exercise runs."""


class Refuse:
    """Meta-path finder: lmlib holds the reference solutions, so it cannot be imported here."""

    def find_spec(self, name, path=None, target=None):
        if name == "lmlib" or name.startswith("lmlib."):
            raise ImportError(
                "lmlib is not available while grading: the exercise is yours to write"
            )
        return None


class _Guard(TorchFunctionMode):
    """Refuses a forbidden torch function by name, whichever route reaches it: ``torch.lstm_cell``,
    ``torch._C._VariableFunctions.lstm_cell``, ``torch.ops.aten.lstm_cell``, ``torch._VF``..."""

    def __init__(self, names: dict[str, str]):
        super().__init__()
        self.names = names

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "") or ""
        name = name.rsplit("::", 1)[-1].split(".")[0]
        if name in self.names:
            raise NotAllowed(f"{name} is not allowed in this exercise: {self.names[name]}")
        return func(*args, **(kwargs or {}))


def forbid(forbidden: dict[str, str], ops: dict[str, str] | None = None):
    """Replace each dotted name with a function that raises, and refuse the same names (and the
    aten op names in ``ops``) in torch's function mode; returns an undo function."""
    saved = []
    for dotted, hint in forbidden.items():
        parts = dotted.split(".")
        try:
            owner = importlib.import_module(parts[0])
            for p in parts[1:-1]:
                owner = getattr(owner, p)
            saved.append((owner, parts[-1], getattr(owner, parts[-1])))
        except (ImportError, AttributeError):
            continue

        def refuse(*args, _name=dotted, _hint=hint, **kwargs):
            raise NotAllowed(f"{_name} is not allowed in this exercise: {_hint}")

        try:
            setattr(owner, parts[-1], refuse)
        except (AttributeError, TypeError):  # read-only (torch._C._VariableFunctions): the
            saved.pop()  # function mode below still refuses it by name

    names = {d.rsplit(".", 1)[-1]: hint for d, hint in forbidden.items()} | dict(ops or {})
    modes = [_Guard(names)] if names else []
    for m in modes:
        m.__enter__()

    def undo():
        for m in reversed(modes):
            try:
                m.__exit__(None, None, None)
            except Exception:  # the answer tore the mode stack down itself
                pass
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)

    return undo


def type_name(x) -> str:
    try:
        cls = type(x)
        name = f"{cls.__module__}.{cls.__qualname__}".removeprefix("builtins.")
        return f"{name} (a torch.Tensor subclass)" if isinstance(x, _Tensor) else name
    except BaseException:
        return "an unnamed type"


def plain(x, depth: int = 0):
    """The answer as plain data; anything else becomes ``{UNSUPPORTED: type name}``."""
    t = type(x)
    if t is _Tensor:
        if x.layout != torch.strided:
            return {UNSUPPORTED: f"a {x.layout} tensor"}
        return _clone(_cpu(_detach(x)))
    if t in (int, float, bool, type(None)):
        return x
    if t is str:
        return x[:MAX_TEXT]
    if t in (list, tuple) and depth < 4 and len(x) <= MAX_LIST:
        return t(plain(i, depth + 1) for i in x)
    if isinstance(x, dict) and depth < 4 and all(type(k) is str for k in x):
        return {k: plain(v, depth + 1) for k, v in x.items()}
    return {UNSUPPORTED: type_name(x)}


def describe_error(e: BaseException) -> str:
    try:
        text = f"{type(e).__name__}: {e}"
    except BaseException:
        text = type_name(e)
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith("<cell ")]
    if frames:
        text += f" ({frames[-1].filename[6:-1]} cell, line {frames[-1].lineno})"
    return text[:MAX_TEXT]


def call_with_grads(target, args: list, wrt: list[int]) -> tuple:
    """``target(*args)``, and for each position in ``wrt`` the gradient of the answer's sum with
    respect to the float tensor there (None where none reaches it); judge uses it too."""
    args = list(args)
    leaves = [i for i in wrt if type(args[i]) is _Tensor and args[i].is_floating_point()]
    for i in leaves:
        args[i] = _requires_grad(_clone(_detach(args[i])), True)
    with _enable_grad():
        value = target(*args)
        ok = leaves and type(value) is _Tensor and value.requires_grad
        found = _grad(value.sum(), [args[i] for i in leaves], allow_unused=True) if ok else ()
    grads = dict(zip(leaves, found))
    return value, ([grads.get(i) for i in wrt] if wrt else None)


def run_cases(target, cases: list[dict], module: bool) -> list[dict]:
    """Call the answer on every case; never raises. Shared with the in-notebook check."""
    out = []
    for case in cases:
        try:
            if module:
                m = target(*case["init"])
                m.load_state_dict(case["state"], strict=False)  # the grader's random parameters
                m.eval()
                value = m(*case["args"])
                out.append({"state": plain(dict(m.state_dict())), "value": plain(value)})
            else:
                value, grads = call_with_grads(target, case["args"], case.get("grads", []))
                out.append({"value": plain(value), "grads": grads and [plain(g) for g in grads]})
        except BaseException as e:  # SystemExit and KeyboardInterrupt are answers too
            nie = isinstance(e, NotImplementedError)
            out.append({"error": describe_error(e), "not_implemented": nie})
    return out
