"""Calling an answer safely: forbidden shortcuts refused (``forbidden.py``), results turned
into plain data.

Shared by the grading worker (in its sandbox) and the in-notebook ``check``; like ``worker.py`` it
imports nothing from lmlib, so they are copied alone into a bubblewrap job, where lmlib (and its
reference answers) does not exist.
"""

from __future__ import annotations

import os
import sys
import traceback

import torch

if __package__:  # imported as lmlib.grading.answers
    from lmlib.grading.forbidden import Forbidden, NotAllowed, Refuse, forbid  # noqa: F401
else:  # beside worker.py, alone in a bubblewrap job
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from forbidden import Forbidden, NotAllowed, Refuse, forbid  # noqa: F401

    del sys.path[0]

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
_randn, _rand, _Generator = torch.randn, torch.rand, torch.Generator
_rng_state, _equal = torch.get_rng_state, torch.equal
_type, _getattr = type, getattr  # taken before any submission runs
COTANGENT_SEED = 20240607  # the fixed weights the gradient check backpropagates (both sides)


def type_name(x) -> str:
    try:
        cls = type(x)
        name = f"{cls.__module__}.{cls.__qualname__}".removeprefix("builtins.")
        return f"{name} (a torch.Tensor subclass)" if isinstance(x, _Tensor) else name
    except BaseException:
        return "an unnamed type"


def _numpy_scalars() -> tuple:
    """numpy's exact scalar types (bool_, the ints, the floats), if the answer's code loaded it."""
    np = sys.modules.get("numpy")
    if np is None:
        return ()
    names = ("bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
             "float16", "float32", "float64")  # fmt: skip
    return tuple(t for n in names if _type(t := _getattr(np, n, None)) is type)


def plain(x, depth: int = 0):
    """The answer as plain data; anything else becomes ``{UNSUPPORTED: type name}``."""
    t = type(x)
    if t is _Tensor:
        if x.layout != torch.strided:
            return {UNSUPPORTED: f"a {x.layout} tensor"}
        return _clone(_cpu(_detach(x)))
    if t in (int, float, bool, type(None)):
        return x
    if t in _numpy_scalars():  # numpy's own scalar types are numbers: np.float64(0.5) is 0.5
        number = x.item()
        return number if type(number) in (int, float, bool) else {UNSUPPORTED: type_name(x)}
    if t is str:
        return x[:MAX_TEXT]
    if t in (list, tuple) and depth < 4 and len(x) <= MAX_LIST:
        return t(plain(i, depth + 1) for i in x)
    if isinstance(x, dict) and depth < 4 and all(_plain_key(k) for k in x):
        return {k: plain(v, depth + 1) for k, v in x.items()}
    return {UNSUPPORTED: type_name(x)}


def _plain_key(k) -> bool:
    """A dict key that is plain data: a str or int, or a short tuple of them (a BPE merge's
    pair of ids)."""
    if type(k) in (str, int):
        return True
    return type(k) is tuple and len(k) <= 8 and all(type(i) in (str, int) for i in k)


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
    """``target(*args)``, and for each position in ``wrt`` the gradient, with respect to the
    float tensor there, of the answer's float tensors weighted by fixed random numbers (None
    where none reaches it); judge uses it too, so both sides backpropagate the same weights."""
    value, grads, _, _ = call_checked(target, args, wrt)
    return value, grads


def _float_outputs(value, depth: int = 0) -> list:
    """The float tensors of an answer (a tensor, or tuples and lists of them) that need grad."""
    if type(value) is _Tensor:
        return [value] if value.is_floating_point() and value.requires_grad else []
    if type(value) in (tuple, list) and depth < 2:
        return [t for v in value[:16] for t in _float_outputs(v, depth + 1)]
    return []


def call_checked(target, args: list, wrt: list[int], watch_rng: bool = False) -> tuple:
    """(value, grads, the arguments after the call, whether torch's global RNG moved; with
    ``watch_rng`` a reseed to any seed counts as a move).

    The arguments come back as the answer saw them, so the caller can tell whether it wrote into
    them; a weighted sum (not a plain sum, whose gradient through a softmax is zero) of every
    float output is backpropagated for the gradients."""
    args = list(args)
    leaves = [i for i in wrt if type(args[i]) is _Tensor and args[i].is_floating_point()]
    for i in leaves:
        args[i] = _requires_grad(_clone(_detach(args[i])), True)
    if watch_rng:  # one draw: the state is then no freshly seeded one, so a reseed shows
        _rand(1)
    before = _rng_state()
    with _enable_grad():
        value = target(*args)
        moved = not _equal(before, _rng_state())
        outputs = _float_outputs(value) if leaves else []
        found = ()
        if outputs:
            g = _Generator().manual_seed(COTANGENT_SEED)
            total = sum((o * _randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outputs)
            try:
                found = _grad(total, [args[i] for i in leaves], allow_unused=True)
            except RuntimeError:  # an op without a derivative (bincount): no gradient at all
                return value, None, args, moved
    grads = dict(zip(leaves, found))
    return value, ([grads.get(i) for i in wrt] if wrt else None), args, moved


def run_cases(target, cases: list[dict], module: bool, tampered=None) -> list[dict]:
    """Call the answer on every case; never raises. Shared with the in-notebook check.

    Each answer comes back as plain data with its gradients (for the positions in the case's
    ``grads``), the arguments as they were after the call (``inputs``) and whether the call moved
    torch's global random state (``rng_moved``). A module case with ``again`` calls the module
    built for the case before it, so a module that caches by shape shows it.

    ``tampered`` (``Forbidden.tampered``, bound before the submission ran) is asked after every
    case; once it names a refusal the answer switched off, that case and every later one is an
    error, whatever the answer returned."""
    out, switched_off, m = [], "", None
    for case in cases:
        try:
            if module:
                if not (case.get("again") and m is not None):  # "again": the same instance
                    m = None
                    m = target(*case["init"])
                    m.load_state_dict(case["state"], strict=False)  # the grader's parameters
                    m.eval()
                called = call_checked(m, case["args"], case.get("grads", []), True)
            else:
                called = call_checked(target, case["args"], case.get("grads", []), True)
            value, grads, after, moved = called
            answer = {"value": plain(value), "grads": grads and [plain(g) for g in grads]}
            answer |= {"inputs": [plain(a) for a in after], "rng_moved": moved}
            if module:
                answer["state"] = plain(dict(m.state_dict()))
            out.append(answer)
        except BaseException as e:  # SystemExit and KeyboardInterrupt are answers too
            nie = isinstance(e, NotImplementedError)
            out.append({"error": describe_error(e), "not_implemented": nie})
        switched_off = switched_off or (tampered() if tampered is not None else "")
        if switched_off:
            out[-1] = {
                "error": f"NotAllowed: {switched_off}; switching off the guard against forbidden "
                "shortcuts is not allowed in this exercise",
                "not_implemented": False,
            }
    return out
